"""SMB (MS-CIFS) and SMB2/3 (MS-SMB2) headers and the common requests, one packet at a time, under
NetBIOS (sniffer.decode.netbios): SMB1's Transaction carrying a mailslot Browser message (MS-BRWS),
SMB2's header, status, chained commands, the file name of a Create, Read/Write lengths and offsets,
GetInfo classes and the NTLMSSP message of a Session Setup. What Wireshark adds from earlier packets
(the file a later request's id refers to) is not shown: sniffer keeps no state across packets.
"""

from __future__ import annotations

from sniffer.decode.core import HEX2, HEX4, HEX8, Ctx, F, Header

SMB2_COMMANDS = {
    0: "Negotiate Protocol",
    1: "Session Setup",
    2: "Session Logoff",
    3: "Tree Connect",
    4: "Tree Disconnect",
    5: "Create",
    6: "Close",
    7: "Flush",
    8: "Read",
    9: "Write",
    10: "Lock",
    11: "Ioctl",
    12: "Cancel",
    13: "KeepAlive",
    14: "Find",
    15: "Notify",
    16: "GetInfo",
    17: "SetInfo",
    18: "Break",
}
NT_STATUS = {
    0x00000000: "STATUS_SUCCESS",
    0x00000103: "STATUS_PENDING",
    0x0000010C: "STATUS_NOTIFY_ENUM_DIR",
    0x80000005: "STATUS_BUFFER_OVERFLOW",
    0x80000006: "STATUS_NO_MORE_FILES",
    0x8000001A: "STATUS_NO_MORE_ENTRIES",
    0xC000000D: "STATUS_INVALID_PARAMETER",
    0xC0000010: "STATUS_INVALID_DEVICE_REQUEST",
    0xC0000011: "STATUS_END_OF_FILE",
    0xC0000016: "STATUS_MORE_PROCESSING_REQUIRED",
    0xC0000022: "STATUS_ACCESS_DENIED",
    0xC0000033: "STATUS_OBJECT_NAME_INVALID",
    0xC0000034: "STATUS_OBJECT_NAME_NOT_FOUND",
    0xC0000035: "STATUS_OBJECT_NAME_COLLISION",
    0xC000003A: "STATUS_OBJECT_PATH_NOT_FOUND",
    0xC0000043: "STATUS_SHARING_VIOLATION",
    0xC000006D: "STATUS_LOGON_FAILURE",
    0xC00000BB: "STATUS_NOT_SUPPORTED",
    0xC00000CC: "STATUS_BAD_NETWORK_NAME",
    0xC0000128: "STATUS_FILE_CLOSED",
    0xC000019C: "STATUS_FS_DRIVER_REQUIRED",
}
GETINFO_TYPES = {1: "FILE_INFO", 2: "FS_INFO", 3: "SEC_INFO", 4: "QUOTA_INFO"}
FILE_INFO_CLASSES = {
    4: "SMB2_FILE_BASIC_INFO",
    5: "SMB2_FILE_STANDARD_INFO",
    6: "SMB2_FILE_INTERNAL_INFO",
    7: "SMB2_FILE_EA_INFO",
    8: "SMB2_FILE_ACCESS_INFO",
    14: "SMB2_FILE_POSITION_INFO",
    16: "SMB2_FILE_MODE_INFO",
    17: "SMB2_FILE_ALIGNMENT_INFO",
    18: "SMB2_FILE_ALL_INFO",
    22: "SMB2_FILE_STREAM_INFO",
    28: "SMB2_FILE_COMPRESSION_INFO",
    34: "SMB2_FILE_NETWORK_OPEN_INFO",
    35: "SMB2_FILE_ATTRIBUTE_TAG_INFO",
}
FS_INFO_CLASSES = {
    1: "FileFsVolumeInformation",
    3: "FileFsSizeInformation",
    4: "FileFsDeviceInformation",
    5: "FileFsAttributeInformation",
    6: "FileFsControlInformation",
    7: "FileFsFullSizeInformation",
    8: "FileFsObjectIdInformation",
    11: "FileFsSectorSizeInformation",
}
NTLMSSP_TYPES = {1: "NTLMSSP_NEGOTIATE", 2: "NTLMSSP_CHALLENGE", 3: "NTLMSSP_AUTH"}

SMB2_HEADER = Header(
    (
        F("smb2.protocol_id", "ProtocolId", 0, 4, disp=HEX8),
        F("smb2.header_len", "Header Length", 4, 2, "le"),
        F("smb2.credit.charge", "Credit Charge", 6, 2, "le"),
        F("smb2.cmd", "Command", 12, 2, "le", names=SMB2_COMMANDS),
        F("smb2.flags", "Flags", 16, 4, "le", disp=HEX8),
        F("smb2.chain_offset", "Chain Offset", 20, 4, "le", disp=HEX8),
        F("smb2.msg_id", "Message ID", 24, 8, "le"),
    )
)


def _le(data: bytes, o: int, n: int) -> int:
    return int.from_bytes(data[o : o + n], "little")


def _utf16(b: bytes) -> str:
    return b.decode("utf-16-le", "replace")


def _ntlmssp(ctx: Ctx, data: bytes, s: int, e: int) -> str:
    """The NTLMSSP message inside a security blob (found by its signature): ", NTLMSSP_..." for Info."""
    i = data.find(b"NTLMSSP\x00", s, e)
    if i < 0 or i + 12 > e:
        return ""
    t = _le(data, i + 8, 4)
    ctx.add("ntlmssp.messagetype", t, i + 8, 4, "NTLM Message Type")
    name = NTLMSSP_TYPES.get(t)
    if name is None:
        return ""
    if t == 3 and i + 44 <= e:  # AUTHENTICATE: domain and user names (security buffers)

        def buf(at: int) -> str:
            ln, off = _le(data, at, 2), _le(data, at + 4, 4)
            return _utf16(data[i + off : i + off + ln]) if i + off + ln <= e else ""

        return f", {name}, User: {buf(i + 28)}\\{buf(i + 36)}"
    return f", {name}"


def _smb2_one(ctx: Ctx, o: int, lim: int) -> tuple[str, int]:
    """One SMB2 header and its command at ``o``; returns (Info text, offset of the next chained one or 0)."""
    data = ctx.data
    v = SMB2_HEADER.read(ctx, o, lim)
    if v is None:
        return "", 0
    flags = v["smb2.flags"]
    resp = flags & 1
    ctx.add("smb2.flags.response", resp, o + 16, 4, "Response")
    ctx.add("smb2.flags.async", (flags >> 1) & 1, o + 16, 4, "Async command")
    ctx.add("smb2.flags.chained", (flags >> 2) & 1, o + 16, 4, "Chained")
    ctx.add("smb2.flags.signature", (flags >> 3) & 1, o + 16, 4, "Signing")
    status = _le(data, o + 8, 4)
    if resp:
        ctx.add(
            "smb2.nt_status",
            status,
            o + 8,
            4,
            "NT Status",
            f"NT Status: {NT_STATUS.get(status, 'Unknown')} (0x{status:08x})",
        )
    if flags & 2:
        ctx.add("smb2.aid", _le(data, o + 32, 8), o + 32, 8, "Async Id")
    else:
        ctx.add("smb2.pid", _le(data, o + 32, 4), o + 32, 4, "Process Id", None)
        ctx.add("smb2.tid", _le(data, o + 36, 4), o + 36, 4, "Tree Id", None)
    ctx.add("smb2.sesid", _le(data, o + 40, 8), o + 40, 8, "Session Id")
    ctx.add("smb2.signature", data[o + 48 : o + 64].hex(":"), o + 48, 16, "Signature")
    cmd = v["smb2.cmd"]
    info = f"{SMB2_COMMANDS.get(cmd, f'Unknown ({cmd})')} {'Response' if resp else 'Request'}"
    if resp and status:
        info += f", Error: {NT_STATUS.get(status, f'Unknown (0x{status:08x})')}"
    b = o + 64
    try:
        info += _smb2_body(ctx, o, b, lim, cmd, bool(resp))
    except IndexError:
        pass
    nxt = v["smb2.chain_offset"]
    return info, (o + nxt if nxt else 0)


def _smb2_body(ctx: Ctx, h: int, b: int, lim: int, cmd: int, resp: bool) -> str:
    """The Info detail of the common commands (``h``: header start, ``b``: body start)."""
    data = ctx.data
    if b + 8 > lim:
        return ""
    if cmd == 5 and not resp and b + 48 <= lim:
        noff, nlen = _le(data, b + 44, 2), _le(data, b + 46, 2)
        if h + noff + nlen <= lim:
            name = _utf16(data[h + noff : h + noff + nlen])
            ctx.add("smb2.filename", name, h + noff, nlen, "Filename")
            return f" File: {name}"
    if cmd == 8 and not resp and b + 16 <= lim:
        n, off = _le(data, b + 4, 4), _le(data, b + 8, 8)
        ctx.add("smb2.read_length", n, b + 4, 4, "Read Length")
        ctx.add("smb2.file_offset", off, b + 8, 8, "File Offset")
        return f" Len:{n} Off:{off}"
    if cmd == 9 and not resp and b + 16 <= lim:
        n, off = _le(data, b + 4, 4), _le(data, b + 8, 8)
        ctx.add("smb2.write_length", n, b + 4, 4, "Write Length")
        ctx.add("smb2.file_offset", off, b + 8, 8, "File Offset")
        return f" Len:{n} Off:{off}"
    if cmd == 16 and not resp and b + 4 <= lim:
        it, cls = data[b + 2], data[b + 3]
        ctx.add("smb2.class", it, b + 2, 1, "Class")
        classes = FILE_INFO_CLASSES if it == 1 else FS_INFO_CLASSES if it == 2 else {}
        default = f"SMB2_{GETINFO_TYPES.get(it, 'UNKNOWN')}_{cls:02x}"
        return f" {GETINFO_TYPES.get(it, f'Unknown ({it})')}/{classes.get(cls, default)}"
    if cmd == 1:
        at = b + 12 if not resp else b + 4
        if at + 4 <= lim:
            soff, slen = _le(data, at, 2), _le(data, at + 2, 2)
            return _ntlmssp(ctx, data, h + soff, min(lim, h + soff + slen))
    return ""


def _smb2(ctx: Ctx, off: int, end: int) -> None:
    lim = min(end, len(ctx.data))
    ctx.push("smb2", "SMB2 (Server Message Block Protocol version 2)", off, lim - off)
    ctx.proto = "SMB2"
    infos = []
    o = off
    for _ in range(32):
        info, nxt = _smb2_one(ctx, o, lim)
        if info:
            infos.append(info)
        if not nxt or nxt <= o or nxt + 64 > lim:
            break
        o = nxt
    ctx.info = ";".join(infos)


SMB1_COMMANDS = {
    0x04: "Close",
    0x25: "Trans",
    0x2E: "Read AndX",
    0x2F: "Write AndX",
    0x32: "Trans2",
    0x71: "Tree Disconnect",
    0x72: "Negotiate Protocol",
    0x73: "Session Setup AndX",
    0x74: "Logoff AndX",
    0x75: "Tree Connect AndX",
    0xA2: "NT Create AndX",
}
SMB1_HEADER = Header(
    (
        F("smb.cmd", "SMB Command", 4, 1, disp=HEX2, names=SMB1_COMMANDS),
        F("smb.error_class", "Error Class", 5, 1, disp=HEX2),
        F("smb.error_code", "Error Code", 7, 2, "le", disp=HEX4),
        F("smb.flags", "Flags", 9, 1, disp=HEX2),
        F("smb.flags.response", "Request/Response", 9, 1, mask=0x80),
        F("smb.flags2", "Flags2", 10, 2, "le", disp=HEX4),
        F("smb.pid.high", "Process ID High", 12, 2, "le"),
        F("smb.tid", "Tree ID", 24, 2, "le"),
        F("smb.pid", "Process ID", 26, 2, "le"),
        F("smb.uid", "User ID", 28, 2, "le"),
        F("smb.mid", "Multiplex ID", 30, 2, "le"),
    )
)
BROWSER_COMMANDS = {
    1: "Host Announcement",
    2: "Request Announcement",
    8: "Browser Election Request",
    9: "Get Backup List Request",
    10: "Get Backup List Response",
    11: "Become Backup Browser",
    12: "Domain/Workgroup Announcement",
    13: "Master Announcement",
    14: "Reset Browser State Announcement",
    15: "Local Master Announcement",
}
#: server type bits in the order Wireshark lists them in Info
SERVER_TYPES = (
    (0x00000001, "Workstation"),
    (0x00000002, "Server"),
    (0x00000004, "SQL"),
    (0x00000008, "Domain Controller"),
    (0x00000010, "Backup Controller"),
    (0x00000020, "Time Source"),
    (0x00000040, "Apple Server"),
    (0x00000080, "Novell"),
    (0x00000100, "Member"),
    (0x00000200, "Print Queue Server"),
    (0x00000400, "Dialin"),
    (0x00000800, "Xenix"),
    (0x00001000, "NT Workstation"),
    (0x00002000, "WfW"),
    (0x00008000, "NT Server"),
    (0x00010000, "Potential Browser"),
    (0x00020000, "Backup Browser"),
    (0x00040000, "Master Browser"),
    (0x00080000, "Domain Master Browser"),
    (0x00100000, "OSF"),
    (0x00200000, "VMS"),
    (0x00400000, "Windows 95+"),
    (0x00800000, "DFS"),
    (0x40000000, "Local"),
    (0x80000000, "Domain Enum"),
)


def _browser(ctx: Ctx, o: int, lim: int) -> None:
    data = ctx.data
    if o >= lim:
        return
    ctx.push("browser", "Microsoft Windows Browser Protocol", o, lim - o)
    ctx.proto = "BROWSER"
    cmd = data[o]
    ctx.add(
        "browser.command",
        cmd,
        o,
        1,
        "Command",
        f"Command: {BROWSER_COMMANDS.get(cmd, 'Unknown')} (0x{cmd:02x})",
    )
    info = BROWSER_COMMANDS.get(cmd) or f"Unknown command 0x{cmd:02x}"
    if cmd in (1, 12, 13, 15) and o + 26 <= lim:
        name = data[o + 6 : o + 22].split(b"\0")[0].decode("latin-1")
        ctx.add("browser.server", name, o + 6, 16, "Server Name")
        stype = _le(data, o + 24, 4)
        ctx.add("browser.server_type", stype, o + 24, 4, "Server Type", f"Server Type: 0x{stype:08x}")
        kinds = [n for bit, n in SERVER_TYPES if stype & bit]
        info = ", ".join([f"{info} {name}", *kinds])
    elif cmd == 2 and o + 2 < lim:
        name = data[o + 2 : lim].split(b"\0")[0].decode("latin-1")
        ctx.add("browser.response_computer_name", name, o + 2, len(name) + 1, "Response Computer Name")
        info += f" {name}"
    elif cmd == 8 and o + 14 <= lim:
        name = data[o + 14 : lim].split(b"\0")[0].decode("latin-1")
        ctx.add("browser.server", name, o + 14, len(name) + 1, "Server Name")
    ctx.info = info


def _smb1(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("smb", "SMB (Server Message Block Protocol)", off, lim - off)
    ctx.proto = "SMB"
    v = SMB1_HEADER.read(ctx, off, end)
    if v is None:
        return
    cmd = v["smb.cmd"]
    resp = v["smb.flags.response"]
    ctx.info = f"{SMB1_COMMANDS.get(cmd, f'Unknown (0x{cmd:02x})')} {'Response' if resp else 'Request'}"
    o = off + 32
    if cmd != 0x25 or resp or o + 1 > lim:
        return
    wct = data[o]  # Transaction request: 14 parameter words + setup words, byte count, name, data
    ctx.add("smb.wct", wct, o, 1, "Word Count (WCT)")
    if wct < 14 or o + 1 + 2 * wct + 2 > lim:
        return
    dcount = _le(data, o + 23, 2)
    doff = _le(data, o + 25, 2)
    p = o + 1 + 2 * wct + 2
    if v["smb.flags2"] & 0x8000:  # Unicode: UTF-16LE, aligned to 2 from the SMB header
        p += (p - off) & 1
        e = p
        while e + 1 < lim and data[e : e + 2] != b"\0\0":
            e += 2
        if e + 1 >= lim:
            return
        tname = data[p:e].decode("utf-16-le", "replace")
        ctx.add("smb.trans_name", tname, p, e - p + 2, "Transaction Name")
    else:
        e = data.find(b"\0", p, lim)
        if e < 0:
            return
        tname = data[p:e].decode("latin-1")
        ctx.add("smb.trans_name", tname, p, e - p + 1, "Transaction Name")
    if tname.upper().startswith("\\MAILSLOT\\"):
        ctx.push("mailslot", "SMB MailSlot Protocol", o + 1 + 2 * 14, 2 * (wct - 14))
        ctx.add("mailslot.name", tname, p, e - p + 1, "Mailslot Name")
        if tname.upper() == "\\MAILSLOT\\BROWSE" or tname.upper() == "\\MAILSLOT\\LANMAN":
            _browser(ctx, off + doff, min(lim, off + doff + dcount))
    elif tname.upper() == "\\PIPE\\" and dcount:  # a named pipe transaction: DCE/RPC (as Wireshark)
        from sniffer.decode.dcerpc import dissect_dcerpc

        dissect_dcerpc(ctx, off + doff, min(lim, off + doff + dcount))


def dissect_smb_at(ctx: Ctx, off: int, end: int) -> bool:
    """SMB or SMB2 at ``off`` (by its protocol id); False (nothing recorded) if neither."""
    data = ctx.data
    if off + 32 > min(end, len(data)):
        return False
    magic = data[off : off + 4]
    if magic == b"\xfeSMB" and off + 64 <= min(end, len(data)):
        _smb2(ctx, off, end)
        return True
    if magic == b"\xffSMB":
        _smb1(ctx, off, end)
        return True
    return False


#: names the code builds (for the filter engine's list of what sniffer decodes)
DECLARES = ("smb", "smb2", "mailslot", "browser", "nbss")
