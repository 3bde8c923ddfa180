"""Older file-service transports: NetWare Core Protocol over TCP/IP (NCP over IP, TCP 524) and RX, the
RPC transport of AFS (UDP 7000-7009 and 7021). Headers, Wireshark's field names and the Protocol column;
the Info column where it needs no per-call state (NCP replies, RX control packets)."""

from __future__ import annotations

from sniffer.decode.core import COLUMNS, HEX2, HEX4, HEX8, TCP_PORTS, UDP_PORTS, Ctx, F, Header, data_layer

# ---------------------------------------------------------------------------------------------
# NCP over IP

NCPIP = Header(
    (
        F("ncp.ip.signature", "NCP over IP signature", 0, 4, disp=HEX8),
        F("ncp.ip.length", "NCP over IP length", 4, 4, disp=HEX8),
    )
)
NCP_TYPES = {
    0x1111: "Create a service connection",
    0x2222: "Service request",
    0x3333: "Service reply",
    0x5555: "Destroy service connection",
    0x7777: "Burst mode transfer",
    0x9999: "Positive acknowledgement",
}
NCP_HDR = Header(
    (
        F("ncp.type", "Type", 0, 2, disp=HEX4, names=NCP_TYPES),
        F("ncp.seq", "Sequence Number", 2, 1),
        F("ncp.task", "Task Number", 4, 1),
    )
)
_SIG_REQUEST, _SIG_REPLY = b"DmdT", b"tNcP"


@TCP_PORTS.register(524)
def dissect_ncp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    ctx.push("ncp", "NetWare Core Protocol", off, 8)
    ctx.proto = "NCP"
    sig = data[off : off + 4]
    if sig not in (_SIG_REQUEST, _SIG_REPLY):
        ctx.info = "Continuation"
        return
    if NCPIP.read(ctx, off, end) is None:
        return
    o = off + (16 if sig == _SIG_REQUEST else 8)
    lean = ctx.lean  # columns only: the Info's values, no fields
    if sig == _SIG_REQUEST and ctx.has(off, 16, end) and not lean:
        ctx.add("ncp.ip.version", int.from_bytes(data[off + 8 : off + 12], "big"), off + 8, 4, "Version")
        ctx.add(
            "ncp.ip.replybufsize",
            int.from_bytes(data[off + 12 : off + 16], "big"),
            off + 12,
            4,
            "Reply Buffer Size",
        )
    vals = NCP_HDR.read(ctx, o, end)
    if vals is None:
        return
    t = vals["ncp.type"]
    if ctx.has(o, 6, end) and not lean:  # the connection number: low byte at 3, high byte at 5
        ctx.add("ncp.connection", data[o + 5] << 8 | data[o + 3], o + 3, 3, "Connection Number")
    if t == 0x3333 and ctx.has(o + 6, 2, end):
        cc = data[o + 6]
        if not lean:
            ctx.add("ncp.completion_code", cc, o + 6, 1, "Completion Code", f"Completion Code: 0x{cc:02x}")
            ctx.add("ncp.connection_status", data[o + 7], o + 7, 1, "Connection Status")
        ctx.info = "R OK" if cc == 0 else f"R Error (0x{cc:02x})"
    elif t == 0x2222 and ctx.has(o + 6, 1, end):
        fn = data[o + 6]
        ctx.add("ncp.func", fn, o + 6, 1, "Function")
        if lean <= COLUMNS:  # (the request's name and path: Info only)
            ctx.info = f"C {_ncp_request(ctx, fn, o, min(end, len(data)))}"
    else:
        ctx.info = NCP_TYPES.get(t) or f"Type 0x{t:04x}"


#: the requests Wireshark names in the Info (function, subfunction or None) -> name (those of the corpus
#: capture, checked against tshark; others show the numbers); "{handle}" is the
#: 6-byte file handle after a reserved byte, "{path}" the request's path components joined by "/"
NCP_REQUESTS = {
    (0x42, None): "Close File - {handle}",
    (0x48, None): "Read From File - {handle}",
    (0x57, 34): "Open CallBack Control (Op-Lock)",
    (0x57, 66): "Get Current Size of File",
    (0x59, 1): "Open or Create File or Subdirectory: {path}",
    (0x59, 2): "Set Search Pointer to: {path}",
    (0x59, 3): "Search for File or Subdirectory",
    (0x59, 6): "Obtain File or SubDirectory Information",
    (0x59, 32): "Open or Create with Op-Lock: {path}",
}


def _ncp_path(data: bytes, p: int, lim: int, wide: bool) -> str | None:
    """The path of an enhanced file system request: a component count, then (length, name) pairs that
    end the request (16-bit little-endian lengths for function 89, one byte otherwise). Found by trying
    each count byte from the back: the one whose components end exactly at ``lim``."""
    step = 2 if wide else 1
    for q in range(lim - 1 - step, p - 1, -1):
        n = data[q]
        if not 0 < n <= 32:
            continue
        r, parts = q + 1, []
        for _ in range(n):
            if r + step > lim:
                break
            ln = int.from_bytes(data[r : r + step], "little")
            r += step
            parts.append(data[r : r + ln].decode("latin-1"))
            r += ln
        if r == lim and len(parts) == n and all(parts):
            return "/".join(parts)
    return None


def _ncp_request(ctx: Ctx, fn: int, o: int, lim: int) -> str:
    data = ctx.data
    sub = data[o + 7] if fn in (0x57, 0x59) and o + 8 <= lim else None
    if sub is not None:
        ctx.add("ncp.subfunc", sub, o + 7, 1, "SubFunction")
    text = NCP_REQUESTS.get((fn, sub))
    if text is None:
        return (
            f"Function {fn} (0x{fn:02x})" if sub is None else f"Function {fn}/{sub} (0x{fn:02x}/0x{sub:02x})"
        )
    if "{handle}" in text:
        if o + 14 > lim:
            return text.split(" - ")[0]
        return text.format(handle=f"0x{data[o + 8 : o + 14].hex()}")
    if "{path}" in text:
        path = _ncp_path(data, o + 8, lim, fn == 0x59)
        return text.format(path=path) if path is not None else text.split(":")[0]
    return text


# ---------------------------------------------------------------------------------------------
# RX (AFS)

RX_TYPES = {
    1: "DATA",
    2: "ACK",
    3: "BUSY",
    4: "ABORT",
    5: "ACKALL",
    6: "CHALLENGE",
    7: "RESPONSE",
    8: "DEBUG",
    9: "PARAMS",
    13: "VERSION",
}
RX_ACK_REASONS = {
    1: "Ack Requested",
    2: "Duplicate Packet",
    3: "Out Of Sequence",
    4: "Exceeds Window",
    5: "No Buffer Space",
    6: "Ping",
    7: "Ping Response",
    8: "Delay",
    9: "Idle",
}
RX = Header(
    (
        F("rx.cid", "CallID", 4, 4),
        F("rx.callnumber", "Call Number", 8, 4),
        F("rx.seq", "Sequence Number", 12, 4),
        F("rx.serial", "Serial", 16, 4),
        F("rx.type", "Type", 20, 1, names=RX_TYPES),
        F("rx.flags", "Flags", 21, 1, disp=HEX2),
        F("rx.userstatus", "User Status", 22, 1),
        F("rx.securityindex", "Security Index", 23, 1),
        F("rx.spare", "Spare/Checksum", 24, 2),
        F("rx.serviceid", "Service ID", 26, 2),
    )
)
#: the AFS service of each RX port (Wireshark's names in the Info column)
AFS_SERVICES = {
    7000: "FS",
    7001: "CB",
    7002: "PROT",
    7003: "VLDB",
    7004: "KAUTH",
    7005: "VOL",
    7006: "ERROR",
    7007: "BOS",
    7008: "UPDATE",
    7009: "RMTSYS",
    7021: "BKUP",
}


#: (epoch, connection id, call number) -> the opcode of the request: a reply names its call's operation,
#: as Wireshark's (state across packets, like core.Conversations: bounded, per process)
_RX_CALLS: dict[tuple[bytes, int, int], int] = {}


@UDP_PORTS.register(*AFS_SERVICES)
def dissect_rx(ctx: Ctx, off: int, end: int) -> None:
    if min(end, len(ctx.data)) - off < 28:  # shorter than an RX header: Wireshark leaves it to UDP
        data_layer(ctx, off, end)
        return
    ctx.push("rx", "RX Protocol", off, 28)
    ctx.proto = "RX"
    vals = RX.read(ctx, off, end)
    if vals is None:
        return
    data = ctx.data
    if not ctx.lean:  # an absolute time, shown as Wireshark shows one (a field only; the header is there)
        import time

        ep = int.from_bytes(data[off : off + 4], "big")
        ctx.add(
            "rx.epoch", time.strftime("%b %e, %Y %H:%M:%S.000000000 UTC", time.gmtime(ep)), off, 4, "Epoch"
        )
    t = vals["rx.type"]
    sp, dp = ctx.fields.get("udp.srcport"), ctx.fields.get("udp.dstport")
    if isinstance(sp, list):
        sp, dp = sp[-1], dp[-1]  # type: ignore[index]
    protos_only = ctx.lean > COLUMNS  # (no Info: the stack and the verdict alone are read)
    name = RX_TYPES.get(t, "Unknown")
    if t == 2 and ctx.has(off + 44, 1, end):
        ctx.add("rx.serial", int.from_bytes(data[off + 40 : off + 44], "big"), off + 40, 4, "Serial")
        reason = data[off + 44]
        ctx.add("rx.reason", reason, off + 44, 1, "Reason")
        name = f"ACK {RX_ACK_REASONS.get(reason, 'Unknown')}"
    if not protos_only:
        ctx.info = f"{name}  Seq: {vals['rx.seq']}  Call: {vals['rx.callnumber']}  Source Port: {sp}  Destination Port: {dp}  "
    if t == 1 and isinstance(sp, int) and isinstance(dp, int):
        svc_port = dp if vals["rx.flags"] & 1 else sp  # client-initiated: the server is the destination
        svc = AFS_SERVICES.get(svc_port)
        if svc is not None:
            ctx.push("afs", "Andrew File System (AFS)", off + 28, max(0, min(end, len(data)) - off - 28))
            ctx.proto = "AFS (RX)"
            from sniffer.decode.afsops import AFS_OPCODES  # (loads on first use)

            name = "backup" if svc == "BKUP" else svc.lower()
            call_key = (data[off : off + 4], vals["rx.cid"], vals["rx.callnumber"])
            if vals["rx.flags"] & 1 and vals["rx.seq"] > 1 and call_key in _RX_CALLS:
                op = _RX_CALLS[call_key]  # a later packet of a long request: the call's operation
                ctx.add(f"afs.{name}.opcode", op, off + 28, 0, "Operation")
                ctx.info = f"{svc} Request: {AFS_OPCODES.get(name, {}).get(op, 'opcode')} ({op})"
            elif vals["rx.flags"] & 1 and ctx.has(off + 28, 4, end):
                op = int.from_bytes(data[off + 28 : off + 32], "big")
                ctx.add(f"afs.{name}.opcode", op, off + 28, 4, "Operation")
                ctx.info = f"{svc} Request: {AFS_OPCODES.get(name, {}).get(op, 'opcode')} ({op})"
                if len(_RX_CALLS) >= 4096:
                    _RX_CALLS.clear()
                _RX_CALLS[call_key] = op
            else:
                op = _RX_CALLS.get(call_key, -1)  # the request of this call, if it was decoded before
                if op >= 0:
                    ctx.add(f"afs.{name}.opcode", op, off + 28, 0, "Operation")
                opname = AFS_OPCODES.get(name, {}).get(op)
                ctx.info = f"{svc} Reply: {opname} ({op})" if opname else f"{svc} Reply"


__all__ = ["dissect_ncp", "dissect_rx"]
