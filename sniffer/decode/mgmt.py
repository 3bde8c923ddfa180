"""Network management and time over UDP: NTP (RFC 5905, with mode 6 control and mode 7 private),
Syslog (RFC 3164/5424) and TFTP (RFC 1350: a request binds the conversation, so the transfer's data and
acknowledgements on the new server port decode as TFTP, as in Wireshark)."""

from __future__ import annotations

import time

from sniffer.decode.core import HEX2, HEX4, UDP_CONVERSATIONS, UDP_PORTS, Ctx, F, Header, data_layer

NTP_PORT = 123
SYSLOG_PORT = 514
TFTP_PORT = 69

NTP_MODES = {
    0: "reserved",
    1: "symmetric active",
    2: "symmetric passive",
    3: "client",
    4: "server",
    5: "broadcast",
    6: "control",
    7: "private",
}
NTP_FLAGS = (
    F("ntp.flags", "Flags", 0, 1, disp=HEX2),
    F("ntp.flags.li", "Leap Indicator", 0, 1, mask=0xC0),
    F("ntp.flags.vn", "Version number", 0, 1, mask=0x38),
    F("ntp.flags.mode", "Mode", 0, 1, mask=0x07, names=NTP_MODES),
)
NTP = Header(
    (
        *NTP_FLAGS,
        F("ntp.stratum", "Peer Clock Stratum", 1, 1),
        F("ntp.ppoll", "Peer Polling Interval", 2, 1),
        F("ntp.precision", "Peer Clock Precision", 3, 1),
        F("ntp.rootdelay", "Root Delay", 4, 4),
        F("ntp.rootdispersion", "Root Dispersion", 8, 4),
        F("ntp.refid", "Reference ID", 12, 4, "bytes"),
    )
)
#: the four timestamps (seconds since 1900 and a 32-bit fraction)
NTP_TIMES = (
    ("ntp.reftime", "Reference Timestamp", 16),
    ("ntp.org", "Origin Timestamp", 24),
    ("ntp.rec", "Receive Timestamp", 32),
    ("ntp.xmt", "Transmit Timestamp", 40),
)
NTP_CTRL = Header(
    (
        *NTP_FLAGS,
        F("ntp.ctrl.flags2", "Flags 2", 1, 1, disp=HEX2),
        F("ntp.ctrl.flags2.r", "Response bit", 1, 1, mask=0x80),
        F("ntp.ctrl.flags2.error", "Error bit", 1, 1, mask=0x40),
        F("ntp.ctrl.flags2.more", "More bit", 1, 1, mask=0x20),
        F("ntp.ctrl.flags2.opcode", "Opcode", 1, 1, mask=0x1F),
        F("ntp.ctrl.sequence", "Sequence", 2, 2),
        F("ntp.ctrl.status", "Status", 4, 2, disp=HEX4),
        F("ntp.ctrl.associd", "AssociationID", 6, 2),
        F("ntp.ctrl.offset", "Offset", 8, 2),
        F("ntp.ctrl.count", "Count", 10, 2),
    )
)
NTP_PRIV = Header(
    (
        F("ntp.flags", "Flags", 0, 1, disp=HEX2),
        F("ntp.priv.flags.r", "Response bit", 0, 1, mask=0x80),
        F("ntp.priv.flags.more", "More bit", 0, 1, mask=0x40),
        F("ntp.flags.vn", "Version number", 0, 1, mask=0x38),
        F("ntp.flags.mode", "Mode", 0, 1, mask=0x07, names=NTP_MODES),
        F("ntp.priv.auth", "Auth bit", 1, 1, mask=0x80),
        F("ntp.priv.seq", "Sequence number", 1, 1, mask=0x7F),
        F("ntp.priv.impl", "Implementation", 2, 1),
        F("ntp.priv.reqcode", "Request code", 3, 1),
    )
)
#: mode 7 request codes (ntpd's ntp_request.h) -> Wireshark's names
NTP_PRIV_REQ = {
    0: "PEER_LIST",
    1: "PEER_LIST_SUM",
    2: "PEER_INFO",
    3: "PEER_STATS",
    4: "SYS_INFO",
    5: "SYS_STATS",
    6: "IO_STATS",
    7: "MEM_STATS",
    8: "LOOP_INFO",
    9: "TIMER_STATS",
    20: "MON_GETLIST",
    42: "MON_GETLIST_1",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NTP_EPOCH = 2208988800  # seconds from 1900 to 1970


def ntp_time(sec: int, frac: int) -> str:
    """An NTP timestamp as Wireshark shows it ("May 26, 2017 13:10:47.476651454 UTC")."""
    if sec == 0 and frac == 0:
        return "NULL"
    ns = (frac * 1_000_000_000) >> 32
    t = time.gmtime(sec - _NTP_EPOCH)
    return f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d}, {t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ns:09d} UTC"


@UDP_PORTS.register(NTP_PORT)
def dissect_ntp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ntp", "Network Time Protocol", off, min(end, len(ctx.data)) - off)
    ctx.proto = "NTP"
    data = ctx.data
    if not ctx.has(off, 1, end):
        return
    mode = data[off] & 7
    vn = (data[off] >> 3) & 7
    head = f"NTP Version {vn}, {NTP_MODES[mode]}"
    ctx.info = head
    if mode == 6:
        v = NTP_CTRL.read(ctx, off, end)
        if v and v["ntp.ctrl.flags2.r"] and v["ntp.ctrl.flags2.opcode"] == 1 and not v["ntp.ctrl.associd"]:
            # read status of every association: (association id, peer status) pairs
            o = off + 12
            stop = min(o + v["ntp.ctrl.count"], end, len(data))
            while o + 4 <= stop:
                ctx.add("ntp.ctrl.associd", int.from_bytes(data[o : o + 2], "big"), o, 2, "AssociationID")
                st = int.from_bytes(data[o + 2 : o + 4], "big")
                ctx.add("ntp.ctrl.status", st, o + 2, 2, "Peer Status", f"Peer Status: 0x{st:04x}")
                o += 4
        return
    if mode == 7:
        v = NTP_PRIV.read(ctx, off, end)
        if v is not None:
            rc = v["ntp.priv.reqcode"]
            kind = "Response" if v["ntp.priv.flags.r"] else "Request"
            ctx.info = f"{head}, {kind}, {NTP_PRIV_REQ.get(rc, f'Unknown ({rc})')}"
        return
    if NTP.read(ctx, off, end) is None:
        return
    for name, label, o in NTP_TIMES:
        if not ctx.has(off + o, 8, end):
            return
        sec = int.from_bytes(data[off + o : off + o + 4], "big")
        frac = int.from_bytes(data[off + o + 4 : off + o + 8], "big")
        s = ntp_time(sec, frac)
        ctx.add(name, s, off + o, 8, label, f"{label}: {s}")
    lim = min(end, len(data))
    o = off + 48
    if lim - o >= 20:  # key identifier and message digest (MD5: 16, SHA-1: 20 bytes)
        ctx.add("ntp.keyid", data[o : o + 4].hex(":"), o, 4, "Key ID")
        ctx.add("ntp.mac", data[o + 4 : lim].hex(":"), o + 4, lim - o - 4, "Message Authentication Code")


SYSLOG_FACILITIES = (
    "KERN USER MAIL DAEMON AUTH SYSLOG LPR NEWS UUCP CRON AUTHPRIV FTP NTP AUDIT ALERT CRON2 "
    "LOCAL0 LOCAL1 LOCAL2 LOCAL3 LOCAL4 LOCAL5 LOCAL6 LOCAL7"
).split()
SYSLOG_LEVELS = "EMERG ALERT CRIT ERR WARNING NOTICE INFO DEBUG".split()


def _escape(b: bytes) -> str:
    """Text as Wireshark's columns show it: printable ASCII as is, the rest as \\ooo octal escapes."""
    return "".join(chr(c) if 32 <= c < 127 else f"\\{c:03o}" for c in b)


#: the first 3 bytes of every message the syslog dissector takes: "<" PRI ">" with PRI 1-3 digits
SYSLOG_PREFIXES = frozenset(b"<%d>" % d for d in range(10)) | frozenset(b"<%02d" % d for d in range(100))


@UDP_PORTS.register(SYSLOG_PORT, prefixes=SYSLOG_PREFIXES)
def dissect_syslog(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    gt = data.find(b">", off, min(lim, off + 5))
    if not data.startswith(b"<", off, lim) or gt < 0 or not data[off + 1 : gt].isdigit():
        data_layer(ctx, off, end)
        return
    ctx.push("syslog", "Syslog message", off, lim - off)
    ctx.proto = "Syslog"
    pri = int(data[off + 1 : gt])
    fac, lvl = pri >> 3, pri & 7
    fname = SYSLOG_FACILITIES[fac] if fac < len(SYSLOG_FACILITIES) else str(fac)
    ctx.add("syslog.facility", fac, off + 1, gt - off - 1, "Facility", f"Facility: {fname.lower()} ({fac})")
    ctx.add(
        "syslog.level", lvl, off + 1, gt - off - 1, "Level", f"Level: {SYSLOG_LEVELS[lvl].lower()} ({lvl})"
    )
    m = gt + 1
    msg = data[m:lim]
    ctx.add("syslog.msg", msg.rstrip(b"\0").decode("latin-1"), m, lim - m, "Message")
    ctx.info = f"{fname}.{SYSLOG_LEVELS[lvl]}: {_escape(msg)}"


TFTP_OPCODES = {
    1: "Read Request",
    2: "Write Request",
    3: "Data Packet",
    4: "Acknowledgement",
    5: "Error Code",
    6: "Option Acknowledgement",
}


@UDP_PORTS.register(TFTP_PORT)
def dissect_tftp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("tftp", "Trivial File Transfer Protocol", off, lim - off)
    ctx.proto = "TFTP"
    if not ctx.has(off, 2, end):
        return
    op = int.from_bytes(data[off : off + 2], "big")
    ctx.add("tftp.opcode", op, off, 2, "Opcode", f"Opcode: {TFTP_OPCODES.get(op, 'Unknown')} ({op})")
    name = TFTP_OPCODES.get(op) or f"Unknown (0x{op:04x})"
    ctx.info = name
    o = off + 2
    if op in (1, 2):
        parts = data[o:lim].split(b"\0")
        if len(parts) >= 2:
            fname = parts[0].decode("latin-1")
            mode = parts[1].decode("latin-1")
            field = "tftp.source_file" if op == 1 else "tftp.destination_file"
            ctx.add(field, fname, o, len(parts[0]) + 1, "Source File" if op == 1 else "Destination File")
            ctx.add("tftp.type", mode, o + len(parts[0]) + 1, len(parts[1]) + 1, "Type")
            ctx.info = f"{name}, File: {fname}, Transfer type: {mode}"
            if not ctx.quote and off >= 8:  # the transfer goes on between the client's port (in the UDP
                sp = data[off - 8] << 8 | data[off - 7]  # header before us) and a new server port
                UDP_CONVERSATIONS.bind(ctx.pseudo[0], sp, ctx.pseudo[1], dissect_tftp)
    elif op in (3, 4) and ctx.has(o, 2, end):
        blk = int.from_bytes(data[o : o + 2], "big")
        ctx.add("tftp.block", blk, o, 2, "Block")
        ctx.info = f"{name}, Block: {blk}"
        if op == 3:
            if lim - o - 2 < 512:
                ctx.info += " (last)"
            data_layer(ctx, o + 2, end)
    elif op == 5 and ctx.has(o, 2, end):
        code = int.from_bytes(data[o : o + 2], "big")
        ctx.add("tftp.error.code", code, o, 2, "Error code")
        msg = data[o + 2 : lim].split(b"\0")[0].decode("latin-1")
        ctx.add("tftp.error.message", msg, o + 2, len(msg) + 1, "Error message")
        ctx.info = f"{name}, Code: {code}, Message: {msg}"
