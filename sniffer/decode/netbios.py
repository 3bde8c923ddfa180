"""NetBIOS over TCP/IP (RFC 1001/1002): the name service (NBNS, UDP 137), the datagram service (NBDS,
UDP 138) carrying SMB mailslot messages of the Browser protocol (MS-BRWS), and the session service
(NBSS, TCP 139 and direct SMB on TCP 445) carrying SMB/SMB2 (in sniffer.decode.smb)."""

from __future__ import annotations

from sniffer.decode.core import HEX2, HEX4, TCP_PORTS, UDP_PORTS, Ctx, F, Header, Node, data_layer, ip4

NBNS_PORT = 137
NBDS_PORT = 138
NBSS_PORT = 139
SMB_DIRECT_PORT = 445

NBNS_OPCODES = {
    0: "Name query",
    5: "Registration",
    6: "Release",
    7: "Wait for acknowledgment",
    8: "Refresh",
    9: "Refresh (alternate opcode)",
    15: "Multi-homed registration",
}
NBNS_RCODES = {
    1: "Format error",
    2: "Server failure",
    3: "Name error",
    4: "Unsupported request",
    5: "Refused",
    6: "Active error",
    7: "Name in conflict",
}
NBNS_TYPES = {0x20: "NB", 0x21: "NBSTAT"}
#: name suffix -> what Wireshark calls the service (shown after a resource record's name)
NAME_TYPES = {
    0x00: "Workstation/Redirector",
    0x01: "Browser",
    0x03: "Messenger service",
    0x06: "RAS Server service",
    0x1B: "Domain Master Browser",
    0x1C: "Domain Controllers",
    0x1D: "Local Master Browser",
    0x1E: "Browser Election Service",
    0x1F: "NetDDE service",
    0x20: "Server service",
    0x21: "RAS Client service",
    0xBE: "Network Monitor Agent",
    0xBF: "Network Monitor Application",
}
_NBNS_HEAD = (
    F("nbns.id", "Transaction ID", 0, 2, disp=HEX4),
    F("nbns.flags", "Flags", 2, 2, disp=HEX4),
    F("nbns.flags.response", "Response", 2, 1, mask=0x80),
    F("nbns.flags.opcode", "Opcode", 2, 1, mask=0x78, names=NBNS_OPCODES),
)
_NBNS_COUNTS = (
    F("nbns.count.queries", "Questions", 4, 2),
    F("nbns.count.answers", "Answer RRs", 6, 2),
    F("nbns.count.auth_rr", "Authority RRs", 8, 2),
    F("nbns.count.add_rr", "Additional RRs", 10, 2),
)
NBNS_QUERY = Header(
    (
        *_NBNS_HEAD,
        F("nbns.flags.truncated", "Truncated", 2, 1, mask=0x02),
        F("nbns.flags.recdesired", "Recursion desired", 2, 1, mask=0x01),
        F("nbns.flags.broadcast", "Broadcast", 3, 1, mask=0x10),
        *_NBNS_COUNTS,
    )
)
NBNS_RESPONSE = Header(
    (
        *_NBNS_HEAD,
        F("nbns.flags.authoritative", "Authoritative", 2, 1, mask=0x04),
        F("nbns.flags.truncated", "Truncated", 2, 1, mask=0x02),
        F("nbns.flags.recdesired", "Recursion desired", 2, 1, mask=0x01),
        F("nbns.flags.recavail", "Recursion available", 3, 1, mask=0x80),
        F("nbns.flags.broadcast", "Broadcast", 3, 1, mask=0x10),
        F("nbns.flags.rcode", "Reply code", 3, 1, mask=0x0F, names=NBNS_RCODES),
        *_NBNS_COUNTS,
    )
)


def _show(b: bytes) -> str:
    """A NetBIOS name's bytes as Wireshark shows them: printable as is, others as <xx>."""
    if b.isascii() and b" " not in b and b.decode("ascii").isprintable():  # (the common case, in C)
        return b.decode("ascii")
    return "".join(chr(c) if 32 < c < 127 else f"<{c:02x}>" for c in b)


#: first-level encoding: each half byte as a letter "A" (0) .. "P" (15), read back as hex digits
_HALF_BYTES = bytes.maketrans(b"ABCDEFGHIJKLMNOP", b"0123456789abcdef")


def netbios_name(data: bytes, o: int, lim: int, base: int = -1) -> tuple[str, int, int] | None:
    """The first-level encoded name at ``o`` (RFC 1001 14.1, with a DNS-style scope; a compression
    pointer is followed from ``base``, the start of the message): (name as Wireshark shows it, its suffix
    byte, bytes used at ``o``) or None."""
    if o >= lim:
        return None
    if data[o] & 0xC0 == 0xC0:
        if base < 0 or o + 2 > lim:
            return None
        target = base + ((data[o] & 0x3F) << 8 | data[o + 1])
        if target >= o:
            return None
        r = netbios_name(data, target, lim)
        return None if r is None else (r[0], r[1], 2)
    n = data[o]
    if n != 32 or o + 1 + n > lim:
        return None
    raw = data[o + 1 : o + 33]
    if raw.translate(None, b"ABCDEFGHIJKLMNOP"):  # a byte outside "A".."P"
        return None
    b = bytes.fromhex(raw.translate(_HALF_BYTES).decode("ascii"))
    p = o + 33
    scope = []
    while p < lim and data[p]:
        ln = data[p]
        if ln & 0xC0 or p + 1 + ln > lim:
            return None
        scope.append(data[p + 1 : p + 1 + ln].decode("latin-1"))
        p += 1 + ln
    if p >= lim:
        return None
    name = _show(b[:15].rstrip(b" ")) + f"<{b[15]:02x}>"
    if scope:
        name += "." + ".".join(scope)
    return name, b[15], p + 1 - o


def _nbns_rr(ctx: Ctx, base: int, o: int, lim: int, into: Node | None) -> tuple[int, str] | None:
    data = ctx.data
    r = netbios_name(data, o, lim, base)
    if r is None:
        return None
    name, suffix, used = r
    p = o + used
    if p + 10 > lim:
        return None
    rtype = int.from_bytes(data[p : p + 2], "big")
    what = NAME_TYPES.get(suffix)
    ctx.add("nbns.name", f"{name} ({what})" if what else name, o, used, "Name", None, into)
    ctx.add("nbns.type", rtype, p, 2, "Type", None, into)
    ctx.add("nbns.class", int.from_bytes(data[p + 2 : p + 4], "big"), p + 2, 2, "Class", None, into)
    ctx.add("nbns.ttl", int.from_bytes(data[p + 4 : p + 8], "big"), p + 4, 4, "Time to live", None, into)
    dlen = int.from_bytes(data[p + 8 : p + 10], "big")
    ctx.add("nbns.data_length", dlen, p + 8, 2, "Data length", None, into)
    d = p + 10
    shown = NBNS_TYPES.get(rtype, str(rtype))
    if rtype == 0x20:
        q = d
        while q + 6 <= min(d + dlen, lim):
            ctx.add("nbns.nb_flags", int.from_bytes(data[q : q + 2], "big"), q, 2, "Name flags", None, into)
            ctx.add("nbns.nb_flags.group", data[q] >> 7, q, 2, "Group", None, into)
            ctx.add("nbns.nb_flags.ont", (data[q] >> 5) & 3, q, 2, "ONT", None, into)
            a = ip4(data[q + 2 : q + 6])
            ctx.add("nbns.addr", a, q + 2, 4, "Addr", None, into)
            shown += f" {a}"
            q += 6
    return d + dlen, shown


@UDP_PORTS.register(NBNS_PORT)
def dissect_nbns(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("nbns", "NetBIOS Name Service", off, lim - off)
    ctx.proto = "NBNS"
    resp = off + 2 < lim and data[off + 2] & 0x80
    v = (NBNS_RESPONSE if resp else NBNS_QUERY).read(ctx, off, end)
    if v is None:
        return
    op = v["nbns.flags.opcode"]
    info = NBNS_OPCODES.get(op) or f"Unknown operation ({op})"
    if resp:
        info += " response"
        rc = v["nbns.flags.rcode"]
        if rc:
            info += f", {NBNS_RCODES.get(rc, f'Unknown error ({rc})')}"
    o = off + 12
    for _ in range(min(v["nbns.count.queries"], 64)):
        r = netbios_name(data, o, lim)
        if r is None or o + r[2] + 4 > lim:
            ctx.short(lim + 1, end)
            break
        name, _suffix, used = r
        qtype = int.from_bytes(data[o + used : o + used + 2], "big")
        ctx.add("nbns.name", name, o, used, "Name")
        ctx.add("nbns.type", qtype, o + used, 2, "Type")
        ctx.add(
            "nbns.class", int.from_bytes(data[o + used + 2 : o + used + 4], "big"), o + used + 2, 2, "Class"
        )
        info += f" {NBNS_TYPES.get(qtype, qtype)} {name}"
        o += used + 4
    for count in ("nbns.count.answers", "nbns.count.auth_rr", "nbns.count.add_rr"):
        for _ in range(min(v[count], 64)):
            rec = _nbns_rr(ctx, off, o, lim, None)
            if rec is None:
                break
            o = rec[0]
            if count == "nbns.count.answers":
                info += f" {rec[1]}"
    ctx.info = info


NBDS_TYPES = {
    0x10: "Direct_unique datagram",
    0x11: "Direct_group datagram",
    0x12: "Broadcast datagram",
    0x13: "Datagram error",
    0x14: "Datagram query request",
    0x15: "Datagram positive query response",
    0x16: "Datagram negative query response",
}
NBDS = Header(
    (
        F("nbdgm.type", "Message Type", 0, 1, names=NBDS_TYPES),
        F("nbdgm.flags", "Flags", 1, 1, disp=HEX2),
        F("nbdgm.node_type", "Node Type", 1, 1, mask=0x0C),
        F("nbdgm.first", "First fragment", 1, 1, mask=0x02),
        F("nbdgm.next", "More fragments follow", 1, 1, mask=0x01),
        F("nbdgm.dgram_id", "Datagram ID", 2, 2, disp=HEX4),
        F("nbdgm.src.ip", "Source IP", 4, 4, "ip4"),
        F("nbdgm.src.port", "Source Port", 8, 2),
    )
)


@UDP_PORTS.register(NBDS_PORT)
def dissect_nbds(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("nbdgm", "NetBIOS Datagram Service", off, lim - off)
    ctx.proto = "NBDS"
    v = NBDS.read(ctx, off, end)
    if v is None:
        return
    t = v["nbdgm.type"]
    ctx.info = NBDS_TYPES.get(t) or f"Unknown message type (0x{t:02x})"
    if t not in (0x10, 0x11, 0x12) or not ctx.has(off + 10, 4, end):
        return
    ctx.add(
        "nbdgm.dgram_len", int.from_bytes(data[off + 10 : off + 12], "big"), off + 10, 2, "Datagram length"
    )
    ctx.add(
        "nbdgm.pkt_offset", int.from_bytes(data[off + 12 : off + 14], "big"), off + 12, 2, "Packet offset"
    )
    o = off + 14
    for field, label in (
        ("nbdgm.source_name", "Source name"),
        ("nbdgm.destination_name", "Destination name"),
    ):
        r = netbios_name(data, o, lim)
        if r is None:
            return
        ctx.add(field, r[0], o, r[2], label)
        o += r[2]
    ctx.layer.length = o - off
    from sniffer.decode.smb import dissect_smb_at

    if not dissect_smb_at(ctx, o, end):
        data_layer(ctx, o, end)


@TCP_PORTS.register(NBSS_PORT, SMB_DIRECT_PORT)
def dissect_nbss(ctx: Ctx, off: int, end: int) -> None:
    """NetBIOS session messages (and SMB over TCP 445, which keeps the 4-byte header): a session
    message carries SMB or SMB2; the rest are session requests, keep-alives..."""
    from sniffer.decode.smb import dissect_smb_at

    data = ctx.data
    lim = min(end, len(data))
    if off + 4 > lim:
        data_layer(ctx, off, end)
        return
    mtype = data[off]
    length = int.from_bytes(data[off + 1 : off + 4], "big")
    ctx.push("nbss", "NetBIOS Session Service", off, 4)
    ctx.proto = "NBSS"
    ctx.add("nbss.type", mtype, off, 1, "Message Type")
    ctx.add("nbss.length", length, off + 1, 3, "Length")
    names = {
        0: "Session message",
        0x81: "Session request",
        0x82: "Positive session response",
        0x83: "Negative session response",
        0x84: "Retarget session response",
        0x85: "Session keep-alive",
    }
    ctx.info = names.get(mtype, f"Unknown NBSS message type 0x{mtype:02x}")
    if mtype == 0 and not dissect_smb_at(ctx, off + 4, min(end, off + 4 + length)):
        ctx.info = "NBSS Continuation Message"
        data_layer(ctx, off + 4, end)
