"""Network and transport layers: IPv4 (options, fragments), IPv6 (extension headers), AH, TCP, UDP,
GRE (PPTP), VXLAN, IP-in-IP."""

from __future__ import annotations

from sniffer.decode.core import (
    _NUMS,
    ETHERTYPES,
    HEX2,
    HEX4,
    HEX8,
    IP_PROTOS,
    TCP_PORTS,
    UDP_CONVERSATIONS,
    UDP_HEURISTICS,
    UDP_PORTS,
    Ctx,
    F,
    Header,
    Table,
    _put,
    call,
    data_layer,
    ip4,
    ip6,
    num_strs,
)
from sniffer.decode.tcpheur import TCP_HEURISTICS

# IP protocol numbers (IANA)
IPPROTO_HOPOPTS = 0  # IPv6 hop-by-hop options
IPPROTO_ICMP = 1
IPPROTO_IGMP = 2
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_GRE = 47
IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60
IPPROTO_SCTP = 132

PROTO_NAMES = {
    0: "IPv6 Hop-by-Hop Option",
    1: "ICMP",
    2: "IGMP",
    4: "IPIP",
    6: "TCP",
    17: "UDP",
    41: "IPv6",
    43: "Routing Header for IPv6",
    44: "Fragment Header for IPv6",
    47: "Generic Routing Encapsulation",
    50: "Encapsulating Security Payload",
    51: "Authentication Header",
    58: "ICMPv6",
    59: "IPv6 No Next Header",
    60: "Destination Options for IPv6",
    132: "SCTP",
}

IPV4 = Header(
    (
        F("ip.version", "Version", 0, 1, mask=0xF0),
        F("ip.hdr_len", "Header Length", 0, 1, mask=0x0F, disp=lambda v: f"{v} bytes ({v // 4})", scale=4),
        F("ip.dsfield", "Differentiated Services Field", 1, 1, disp=HEX2),
        F("ip.dsfield.dscp", "Differentiated Services Codepoint", 1, 1, mask=0xFC),
        F("ip.dsfield.ecn", "Explicit Congestion Notification", 1, 1, mask=0x03),
        F("ip.len", "Total Length", 2, 2),
        F("ip.id", "Identification", 4, 2, disp=lambda v: f"0x{v:04x} ({v})"),
        F("ip.flags", "Flags", 6, 1, mask=0xE0, disp=lambda v: f"0x{v:x}"),
        F("ip.flags.rb", "Reserved bit", 6, 1, mask=0x80),
        F("ip.flags.df", "Don't fragment", 6, 1, mask=0x40),
        F("ip.flags.mf", "More fragments", 6, 1, mask=0x20),
        F("ip.frag_offset", "Fragment Offset", 6, 2, mask=0x1FFF),
        F("ip.ttl", "Time to Live", 8, 1),
        F("ip.proto", "Protocol", 9, 1, names=PROTO_NAMES),
        F("ip.checksum", "Header Checksum", 10, 2, disp=HEX4),
        F("ip.src", "Source Address", 12, 4, "ip4"),
        F("ip.dst", "Destination Address", 16, 4, "ip4"),
    )
)
IPV4_FIRST = Header(IPV4.fields[:2])
IPV4_TO_SRC = Header(IPV4.fields[:-1])
#: ip.dst, then ip.addr for the source and the destination (in the tree: "Source or Destination Address")
IPV4_DST = Header(
    (
        *IPV4.fields[-1:],
        F("ip.addr", "Source or Destination Address", 12, 4, "ip4"),
        F("ip.addr", "Source or Destination Address", 16, 4, "ip4"),
    )
)
IPV4_ALL = Header(IPV4_TO_SRC.fields + IPV4_DST.fields)  # both, when the whole header is captured
#: what the columns-only dissection (Ctx.lean) reads of a whole IPv4 header
_IPV4_COLS = IPV4.unpacker(
    "ip.len", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.ttl", "ip.proto", "ip.src", "ip.dst"
)


@ETHERTYPES.register(0x0800)
@IP_PROTOS.register(IPPROTO_IPIP)
def dissect_ipv4(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    layer = ctx.push("ip", "Internet Protocol Version 4", off, 20)
    ctx.proto = "IPv4"
    if (off >= end or off >= len(data)) and not ctx.has(off, 1, end):  # (has(), inlined)
        return
    ihl = (data[off] & 0x0F) * 4
    if data[off] >> 4 != 4 or ihl < 20:
        IPV4_FIRST.read(ctx, off, end)
        if data[off] >> 4 != 4:
            ctx.info = f"Bogus IP version ({data[off] >> 4})"
        else:
            ctx.info = f"Bogus IP header length ({ihl}, must be at least 20)"
        ctx.warn(ctx.info)
        layer.length = 1
        return
    layer.length = ihl
    if off + ihl <= end and off + ihl <= len(data):  # the whole header is there: one read
        if ctx.lean:  # columns only: the values, no fields
            tlen, ident, mf, foff, ttl, proto, src, dst = _IPV4_COLS(data, off)
        else:
            vals = IPV4_ALL.read(ctx, off, end)
            assert vals is not None
            dst = vals["ip.dst"]
            tlen, ident, mf, foff = vals["ip.len"], vals["ip.id"], vals["ip.flags.mf"], vals["ip.frag_offset"]
            ttl, proto, src = vals["ip.ttl"], vals["ip.proto"], vals["ip.src"]
    else:
        vals = IPV4_TO_SRC.read(ctx, off, end)
        if vals is None:
            return
        # Wireshark scans the options (for a source route) before it adds ip.dst: a cut header stops there
        if not ctx.has(off, ihl, end):
            return
        dvals = IPV4_DST.read(ctx, off, end)
        if dvals is None:
            return
        dst = dvals["ip.dst"]
        tlen, ident, mf, foff = vals["ip.len"], vals["ip.id"], vals["ip.flags.mf"], vals["ip.frag_offset"]
        ttl, proto, src = vals["ip.ttl"], vals["ip.proto"], vals["ip.src"]
    if ctx.tree:
        layer.text = f"Internet Protocol Version 4, Src: {src}, Dst: {dst}"
    if not ctx.quote:
        ctx.src, ctx.dst = src, dst
    if tlen == 0:  # TCP segmentation offload: the length is the frame's, as Wireshark presumes
        tlen = end - off
        ctx.set_last(
            "ip.len", tlen, f"Total Length: {tlen} bytes (reported as 0, presumed to be because of TSO)"
        )
    elif tlen < ihl:
        ctx.info = f"Bogus IP length ({tlen}, less than header length {ihl})"
        ctx.warn(ctx.info)
        return
    if off + tlen < end:
        end = off + tlen
    if ihl > 20:
        _ipv4_options(ctx, off + 20, off + ihl, end)
    ctx.frag = bool(mf or foff)
    ctx.hlim = ttl
    ctx.pseudo = (data[off + 12 : off + 16], data[off + 16 : off + 20])
    if foff:
        name = PROTO_NAMES.get(proto, "Unknown")
        ctx.info = f"Fragmented IP protocol (proto={name} {proto}, off={foff * 8}, ID={ident:04x})"
        data_layer(ctx, off + ihl, end)
        return
    ipv4_next(ctx, off + ihl, end, proto)


def ipv4_next(ctx: Ctx, off: int, end: int, proto: int) -> None:
    """IPv4's payload at ``off`` to the dissector of IP protocol ``proto`` (also where the native L2-L4
    walk, decode/_fastfields.c, hands an IPv4 packet on)."""
    fn = IP_PROTOS.map.get(proto)
    if fn is not None and ctx.depth < 160:  # call(), inlined
        ctx.depth += 1
        fn(ctx, off, end)
    elif not call(ctx, IP_PROTOS, proto, off, end) and not ctx.info:
        from sniffer.decode.ipproto import IP_PROTO_DESCRIPTIONS  # (loads on first use)

        ctx.info = f"{IP_PROTO_DESCRIPTIONS.get(proto, 'Unknown')} ({proto})"


IPOPT_NAMES = {
    0: "End of Options List",
    1: "No-Operation",
    7: "Record Route",
    68: "Time Stamp",
    130: "Security",
    131: "Loose Source Route",
    137: "Strict Source Route",
    148: "Router Alert",
}


def _ipv4_options(ctx: Ctx, off: int, oend: int, end: int) -> None:
    node = ctx.sub("Options", "ip.options", off, oend - off)
    data = ctx.data
    while off < oend:
        if not ctx.has(off, 1, end):
            return
        t = data[off]
        ctx.add("ip.opt.type", t, off, 1, "Type", f"Type: {IPOPT_NAMES.get(t, t)} ({t})", node)
        if t == 0:
            return
        if t == 1:
            off += 1
            continue
        if not ctx.has(off + 1, 1, end):
            return
        ln = data[off + 1]
        ctx.add("ip.opt.len", ln, off + 1, 1, "Length", None, node)
        if ln < 2 or off + ln > oend:
            ctx.warn("IPv4 option length bogus")
            return
        if not ctx.has(off, ln, end):
            return
        if t == 148 and ln == 4:
            ctx.add(
                "ip.opt.ra",
                int.from_bytes(data[off + 2 : off + 4], "big"),
                off + 2,
                2,
                "Router Alert",
                None,
                node,
            )
        off += ln


# ---------------------------------------------------------------------------------------------
# IPv6

IPV6 = Header(
    (
        F("ipv6.version", "Version", 0, 1, mask=0xF0),
        F("ipv6.tclass", "Traffic Class", 0, 2, mask=0x0FF0, disp=HEX2),
        F("ipv6.tclass.dscp", "Differentiated Services Codepoint", 0, 2, mask=0x0FC0),
        F("ipv6.tclass.ecn", "Explicit Congestion Notification", 1, 1, mask=0x30),
        F("ipv6.flow", "Flow Label", 1, 3, mask=0x0FFFFF, disp=lambda v: f"0x{v:05x}"),
        F("ipv6.plen", "Payload Length", 4, 2),
        F("ipv6.nxt", "Next Header", 6, 1, names=PROTO_NAMES),
        F("ipv6.hlim", "Hop Limit", 7, 1),
        F("ipv6.src", "Source Address", 8, 16, "ip6"),
        F("ipv6.dst", "Destination Address", 24, 16, "ip6"),
    )
)
_IPV6_COLS = IPV6.unpacker("ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst")


@ETHERTYPES.register(0x86DD)
@IP_PROTOS.register(IPPROTO_IPV6)
def dissect_ipv6(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    layer = ctx.push("ipv6", "Internet Protocol Version 6", off, 40)
    ctx.proto = "IPv6"
    if ctx.lean and off + 40 <= end and off + 40 <= len(data):  # columns only: the values, no fields but
        plen, nxt, hlim, src, dst = _IPV6_COLS(data, off)  # the payload length (a jumbogram's hop-by-hop
        _put(ctx.fields, "ipv6.plen", plen)  # option reads it)
    else:
        vals = IPV6.read(ctx, off, end)
        if vals is None:
            if ctx.malformed:
                avail = min(end, len(data)) - off
                ctx.info = f"Invalid IPv6 header ({avail} bytes, need exactly 40)"
            return
        src, dst = vals["ipv6.src"], vals["ipv6.dst"]
        ctx.add("ip.version", 6, off, 1, "Version")
        ctx.add("ipv6.addr", src, off + 8, 16, "Source or Destination Address")
        ctx.add("ipv6.addr", dst, off + 24, 16, "Source or Destination Address")
        plen, nxt, hlim = vals["ipv6.plen"], vals["ipv6.nxt"], vals["ipv6.hlim"]
    if ctx.tree:
        layer.text = f"Internet Protocol Version 6, Src: {src}, Dst: {dst}"
    if not ctx.quote:
        ctx.src, ctx.dst = src, dst
    if plen or nxt != IPPROTO_HOPOPTS:
        if off + 40 + plen < end:
            end = off + 40 + plen
    ctx.frag = False
    ctx.hlim = hlim
    ctx.pseudo = (data[off + 8 : off + 24], data[off + 24 : off + 40])
    ipv6_next(ctx, off + 40, end, nxt)


def ipv6_next(ctx: Ctx, off: int, end: int, nxt: int) -> None:
    """IPv6's payload at ``off`` to the dissector of next header ``nxt`` (also the native walk's)."""
    if not call(ctx, IP_PROTOS, nxt, off, end) and not ctx.info:
        from sniffer.decode.ipproto import IP_PROTO_DESCRIPTIONS

        ctx.info = f"Unknown IP Protocol: {IP_PROTO_DESCRIPTIONS.get(nxt, 'Unknown')} ({nxt})"


@IP_PROTOS.register(IPPROTO_NONE)
def dissect_no_next_header(ctx: Ctx, off: int, end: int) -> None:
    """IPv6's No Next Header (59), directly or after extension headers: nothing follows (Wireshark's Info)."""
    if len(ctx.pseudo[0]) == 16:
        ctx.info = ctx.info or "IPv6 no next header"
    else:
        ctx.info = ctx.info or f"No Next Header for IPv6 ({IPPROTO_NONE})"


def _ext_common(ctx: Ctx, proto: str, label: str, off: int, end: int) -> tuple[int, int] | None:
    ctx.push(proto, label, off, 8)
    if not ctx.has(off, 2, end):
        return None
    nxt, ln = ctx.data[off], ctx.data[off + 1]
    size = (ln + 1) * 8
    ctx.layer.length = size
    ctx.add(f"{proto}.nxt", nxt, off, 1, "Next Header", f"Next Header: {PROTO_NAMES.get(nxt, nxt)} ({nxt})")
    ctx.add(f"{proto}.len", ln, off + 1, 1, "Length", f"Length: {ln} ({size} bytes)")
    return nxt, size


IPV6_OPT_NAMES = {0: "Pad1", 1: "PadN", 5: "Router Alert", 0xC2: "Jumbo Payload"}


def _ext_options(ctx: Ctx, off: int, oend: int, end: int) -> None:
    data = ctx.data
    while off < oend:
        if not ctx.has(off, 1, end):
            return
        t = data[off]
        node = ctx.sub(IPV6_OPT_NAMES.get(t) or f"Option {t}", "ipv6.opt", off, 1)
        ctx.add(
            "ipv6.opt.type", t, off, 1, "Type", f"Type: {IPV6_OPT_NAMES.get(t, 'Unknown')} (0x{t:02x})", node
        )
        if t == 0:
            off += 1
            continue
        if not ctx.has(off + 1, 1, end):
            return
        ln = data[off + 1]
        if node is not None:
            node.length = 2 + ln
        ctx.add("ipv6.opt.length", ln, off + 1, 1, "Length", None, node)
        if off + 2 + ln > oend:
            ctx.warn("IPv6 option runs past its header")
            return
        if t == 0xC2 and ln == 4:
            ctx.add(
                "ipv6.opt.jumbo",
                int.from_bytes(data[off + 2 : off + 6], "big"),
                off + 2,
                4,
                "Payload Length",
                None,
                node,
            )
        elif t == 5 and ln == 2:
            ctx.add(
                "ipv6.opt.router_alert",
                int.from_bytes(data[off + 2 : off + 4], "big"),
                off + 2,
                2,
                "Router Alert",
                None,
                node,
            )
        off += 2 + ln


@IP_PROTOS.register(IPPROTO_HOPOPTS)
def dissect_hopopts(ctx: Ctx, off: int, end: int) -> None:
    r = _ext_common(ctx, "ipv6.hopopts", "IPv6 Hop-by-Hop Option", off, end)
    if r is None:
        return
    nxt, size = r
    if not ctx.has(off, size, end):
        # a jumbogram: payload length 0 and the real length in the option
        pass
    _ext_options(ctx, off + 2, off + size, end)
    jumbo = ctx.fields.get("ipv6.opt.jumbo")
    if isinstance(jumbo, int) and ctx.fields.get("ipv6.plen") == 0:
        base = off - 40
        if base + 40 + jumbo < end:
            end = base + 40 + jumbo
    call(ctx, IP_PROTOS, nxt, off + size, end)


@IP_PROTOS.register(IPPROTO_DSTOPTS)
def dissect_dstopts(ctx: Ctx, off: int, end: int) -> None:
    r = _ext_common(ctx, "ipv6.dstopts", "Destination Options for IPv6", off, end)
    if r is None:
        return
    nxt, size = r
    _ext_options(ctx, off + 2, off + size, end)
    call(ctx, IP_PROTOS, nxt, off + size, end)


ROUTING = Header(
    (
        F("ipv6.routing.type", "Type", 2, 1),
        F("ipv6.routing.segleft", "Segments Left", 3, 1),
    )
)


@IP_PROTOS.register(IPPROTO_ROUTING)
def dissect_routing(ctx: Ctx, off: int, end: int) -> None:
    r = _ext_common(ctx, "ipv6.routing", "Routing Header for IPv6", off, end)
    if r is None:
        return
    nxt, size = r
    vals = ROUTING.read(ctx, off, end)
    if vals is None:
        return
    if vals["ipv6.routing.type"] == 0:
        n = (size - 8) // 16
        for i in range(n):
            o = off + 8 + 16 * i
            if not ctx.has(o, 16, end):
                return
            ctx.add(
                "ipv6.routing.src_addr" if False else "ipv6.routing.addr",
                ip6(ctx.data[o : o + 16]),
                o,
                16,
                "Address",
            )
        if n and vals["ipv6.routing.segleft"]:
            last = off + 8 + 16 * (n - 1)
            ctx.pseudo = (ctx.pseudo[0], ctx.data[last : last + 16])
    if not ctx.has(off, size, end):
        return
    call(ctx, IP_PROTOS, nxt, off + size, end)


FRAGHDR = Header(
    (
        F("ipv6.fraghdr.nxt", "Next header", 0, 1, names=PROTO_NAMES),
        F("ipv6.fraghdr.reserved_octet", "Reserved octet", 1, 1, disp=HEX2),
        F("ipv6.fraghdr.offset", "Offset", 2, 2, mask=0xFFF8),
        F("ipv6.fraghdr.reserved_bits", "Reserved bits", 3, 1, mask=0x06),
        F("ipv6.fraghdr.more", "More Fragments", 3, 1, mask=0x01),
        F("ipv6.fraghdr.ident", "Identification", 4, 4, disp=HEX8),
    )
)


@IP_PROTOS.register(IPPROTO_FRAGMENT)
def dissect_fraghdr(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ipv6.fraghdr", "Fragment Header for IPv6", off, 8)
    vals = FRAGHDR.read(ctx, off, end)
    if vals is None:
        return
    foff, more = vals["ipv6.fraghdr.offset"], vals["ipv6.fraghdr.more"]
    ctx.frag = bool(foff or more)
    if foff:
        ctx.info = (
            f"IPv6 fragment (off={foff * 8} more={'y' if more else 'n'} ident=0x{vals['ipv6.fraghdr.ident']:08x} "
            f"nxt={vals['ipv6.fraghdr.nxt']})"
        )
        data_layer(ctx, off + 8, end)
        return
    call(ctx, IP_PROTOS, vals["ipv6.fraghdr.nxt"], off + 8, end)


AH = Header(
    (
        F("ah.next_header", "Next header", 0, 1, names=PROTO_NAMES),
        F("ah.length", "Length", 1, 1),
        F("ah.reserved", "Reserved", 2, 2, disp=HEX4),
        F("ah.spi", "AH SPI", 4, 4, disp=HEX8),
        F("ah.sequence", "AH Sequence", 8, 4),
    )
)


@IP_PROTOS.register(IPPROTO_AH)
def dissect_ah(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ah", "Authentication Header", off, 12)
    ctx.proto = "AH"
    vals = AH.read(ctx, off, end)
    if vals is None:
        return
    size = (vals["ah.length"] + 2) * 4
    ctx.layer.length = size
    ctx.info = f"AH (SPI=0x{vals['ah.spi']:08x})"
    if size > 12 and ctx.has(off, size, end):
        ctx.add("ah.icv", ctx.data[off + 12 : off + size].hex(":"), off + 12, size - 12, "AH ICV")
    call(ctx, IP_PROTOS, vals["ah.next_header"], off + size, end)


ESP = Header((F("esp.spi", "ESP SPI", 0, 4, disp=HEX8), F("esp.sequence", "ESP Sequence", 4, 4)))


@IP_PROTOS.register(IPPROTO_ESP)
def dissect_esp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("esp", "Encapsulating Security Payload", off, 8)
    ctx.proto = "ESP"
    vals = ESP.read(ctx, off, end)
    if vals is not None:
        ctx.info = f"ESP (SPI=0x{vals['esp.spi']:08x})"


# ---------------------------------------------------------------------------------------------
# TCP

TCP_FLAG_NAMES = (
    (0x001, "FIN"),
    (0x002, "SYN"),
    (0x004, "RST"),
    (0x008, "PSH"),
    (0x010, "ACK"),
    (0x020, "URG"),
    (0x040, "ECE"),
    (0x080, "CWR"),
    (0x100, "AE"),
)

TCP = Header(
    (
        F("tcp.srcport", "Source Port", 0, 2),
        F("tcp.dstport", "Destination Port", 2, 2),
        F("tcp.seq", "Sequence Number", 4, 4),
        F("tcp.seq_raw", "Sequence Number (raw)", 4, 4),
        F("tcp.ack", "Acknowledgment Number", 8, 4),
        F("tcp.ack_raw", "Acknowledgment number (raw)", 8, 4),
        F("tcp.hdr_len", "Header Length", 12, 1, mask=0xF0, disp=lambda v: f"{v} bytes ({v // 4})", scale=4),
        F("tcp.flags", "Flags", 12, 2, mask=0x0FFF, disp=lambda v: f"0x{v:03x}"),
        F("tcp.flags.res", "Reserved", 12, 1, mask=0x0E),
        F("tcp.flags.ae", "Accurate ECN", 12, 1, mask=0x01),
        F("tcp.flags.cwr", "Congestion Window Reduced", 13, 1, mask=0x80),
        F("tcp.flags.ece", "ECN-Echo", 13, 1, mask=0x40),
        F("tcp.flags.urg", "Urgent", 13, 1, mask=0x20),
        F("tcp.flags.ack", "Acknowledgment", 13, 1, mask=0x10),
        F("tcp.flags.push", "Push", 13, 1, mask=0x08),
        F("tcp.flags.reset", "Reset", 13, 1, mask=0x04),
        F("tcp.flags.syn", "Syn", 13, 1, mask=0x02),
        F("tcp.flags.fin", "Fin", 13, 1, mask=0x01),
        F("tcp.window_size_value", "Window", 14, 2),
        F("tcp.checksum", "Checksum", 16, 2, disp=HEX4),
        F("tcp.urgent_pointer", "Urgent Pointer", 18, 2),
        F("tcp.port", "Source or Destination Port", 0, 2),
        F("tcp.port", "Source or Destination Port", 2, 2),
    )
)
_TCP_COLS = TCP.unpacker(
    "tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.ack", "tcp.hdr_len", "tcp.flags", "tcp.window_size_value"
)


# Wireshark's tcp.flags.str: one character per bit of the 12, '·' when clear
_FLAG_STRS: dict[int, str] = {}


def _flag_str(f: int) -> str:
    s = _FLAG_STRS.get(f)
    if s is None:
        s = _FLAG_STRS[f] = "".join(
            c if f >> (11 - i) & 1 else "\u00b7" for i, c in enumerate("RRRNCEUAPRSF")
        )
    return s


def tcp_flags_str(flags: int) -> str:
    return ", ".join(n for b, n in TCP_FLAG_NAMES if flags & b)


_FLAG_LISTS: list[str] = []  # tcp_flags_str of every 12-bit flags value (built on first use)


def tcp_flag_table() -> list[str]:
    """``tcp_flags_str(f)`` for ``f`` in 0..0xFFF, as a list (the text loops index it)."""
    if not _FLAG_LISTS:
        _FLAG_LISTS.extend(tcp_flags_str(f) for f in range(0x1000))
    return _FLAG_LISTS


def tcp_info(sp: int, dp: int, flags: int, seq: int, ack: int, win: int, seglen: int) -> str:
    """The Info column of a TCP segment (before options and analysis): the one formatter, which the
    dissector and the summary's fast path call (the text loops inline the same f-strings: a test
    checks they agree)."""
    names = (_FLAG_LISTS or tcp_flag_table())[flags & 0xFFF]
    n = _NUMS or num_strs()  # (table lookups: cheaper than formatting the numbers)
    ln = n[seglen] if 0 <= seglen < 65600 else seglen
    if flags & 0x10:
        return f"{n[sp]} -> {n[dp]} [{names}] Seq={seq} Ack={ack} Win={n[win]} Len={ln}"
    return f"{n[sp]} -> {n[dp]} [{names}] Seq={seq} Win={n[win]} Len={ln}"


@IP_PROTOS.register(IPPROTO_TCP)
def dissect_tcp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    layer = ctx.push("tcp", "Transmission Control Protocol", off, 20)
    ctx.proto = "TCP"
    lean = ctx.lean
    if lean and off + 20 <= end and off + 20 <= len(data):  # columns only: the values, no fields but the
        sp, dp, seq, ack, hl, flags, win = _TCP_COLS(data, off)  # ports (the payload's dissectors read them)
        f = ctx.fields
        if "tcp.srcport" in f:
            _put(f, "tcp.srcport", sp)
            _put(f, "tcp.dstport", dp)
        else:
            f["tcp.srcport"], f["tcp.dstport"] = sp, dp
    else:
        vals = TCP.read(ctx, off, end)
        if vals is None:
            if off + 16 <= min(end, len(data)):  # cut after the window (a short segment): Wireshark's
                sp, dp, seq, ack, hl, flags, win = _TCP_COLS(data, off)  # columns up to Win=
                ack_s = f" Ack={ack}" if flags & 0x10 else ""
                ctx.info = f"{sp} -> {dp} [{tcp_flags_str(flags)}] Seq={seq}{ack_s} Win={win}"
            elif "tcp.dstport" in vals_partial(ctx):
                ctx.info = f"{_last(ctx, 'tcp.srcport')} -> {_last(ctx, 'tcp.dstport')}"
            return
        sp, dp, seq, ack = vals["tcp.srcport"], vals["tcp.dstport"], vals["tcp.seq"], vals["tcp.ack"]
        hl, flags, win = vals["tcp.hdr_len"], vals["tcp.flags"], vals["tcp.window_size_value"]
        ctx.add("tcp.flags.str", _flag_str(flags), off + 12, 2, "TCP Flags")
    layer.length = hl if hl >= 20 else 20
    lim = min(end, len(data))
    if hl < 20:
        ctx.info = (
            f"{sp} -> {dp} [{tcp_flags_str(flags)}] Bogus TCP header length ({hl}, must be at least 20)"
        )
        ctx.warn(ctx.info)
        return
    seglen = end - off - hl
    if seglen < 0:
        seglen = 0
    if not lean:
        ctx.add("tcp.len", seglen, off + hl, max(0, min(lim, end) - off - hl), "TCP Segment Len")
    info = tcp_info(sp, dp, flags, seq, ack, win, seglen)
    if ctx.tree:
        layer.text = (
            f"Transmission Control Protocol, Src Port: {sp}, Dst Port: {dp}, Seq: {seq}, Len: {seglen}"
        )
    if hl > 20:
        if off + hl > end:  # e.g. a first fragment that cuts the options: Wireshark only warns
            ctx.warn(f"Bogus TCP header length ({hl}, beyond the end of the packet)")
            ctx.info = info
            return
        if not lean or off + hl > lim:  # lean, options all captured: they give only fields/warnings
            _tcp_options(ctx, off + 20, off + hl, end)
        oend = off + hl if off + hl < lim else lim
        # (no byte 30 among the options: no option of kind 30 either, without walking them)
        if (
            not ctx.quote
            and data.find(b"\x1e", off + 20, oend) >= 0
            and _has_option(data, off + 20, oend, 30)
        ):
            ctx.protos.append("mptcp")  # Wireshark's MPTCP analysis (on by default) takes the column
            ctx.proto = "MPTCP"
    ctx.info = info
    if seglen > 0 and off + hl < lim:
        if not lean:
            ctx.add(
                "tcp.payload",
                data[off + hl : lim].hex(":"),
                off + hl,
                lim - off - hl,
                "TCP payload",
                f"TCP payload ({lim - off - hl} bytes)",
            )
        tcp_payload(ctx, off + hl, end, sp, dp)


def tcp_payload(ctx: Ctx, off: int, end: int, sp: int, dp: int) -> None:
    """A TCP segment's payload at ``off`` to the dissector of its lower port, then of its higher, then
    the heuristics, then data (also where the native walk hands a segment on)."""
    ports = TCP_PORTS.map
    fn = ports.get(sp if sp < dp else dp) or ports.get(dp if sp < dp else sp)
    if fn is not None and not ctx.quote:
        fn(ctx, off, end)
    elif ctx.quote or not TCP_HEURISTICS.run(ctx, off, end):  # (TLS, HTTP, DCE/RPC on any port)
        data_layer(ctx, off, end)


def vals_partial(ctx: Ctx) -> dict[str, object]:
    return ctx.fields


def _last(ctx: Ctx, name: str) -> object:
    v = ctx.fields.get(name)
    return v[-1] if isinstance(v, list) else v


TCPOPT_NAMES = {
    0: "End of Option List (EOL)",
    1: "No-Operation (NOP)",
    2: "Maximum segment size",
    3: "Window scale",
    4: "SACK permitted",
    5: "SACK",
    8: "Timestamps",
    30: "Multipath TCP",
    34: "TCP Fast Open Cookie",
}


_TCPOPT_FIELDS = {2: "mss", 3: "wscale", 4: "sack_perm", 5: "sack", 8: "timestamp", 30: "mptcp", 34: "tfo"}


def _has_option(data: bytes, off: int, oend: int, want: int) -> bool:
    """True if the TCP options in data[off:oend] hold one of kind ``want`` (walked as TCP walks them)."""
    while off < oend:
        kind = data[off]
        if kind == want:
            return True
        if kind == 0:
            return False
        if kind == 1:
            off += 1
            continue
        if off + 1 >= oend or data[off + 1] < 2:
            return False
        off += data[off + 1]
    return False


def _tcp_options(ctx: Ctx, off: int, oend: int, end: int) -> None:
    data = ctx.data
    if ctx.has(off, oend - off, end):
        ctx.add("tcp.options", data[off:oend].hex(":"), off, oend - off, "Options")
    top = ctx.sub("Options", "tcp.options", off, oend - off)
    tree = ctx.tree  # (the node labels and texts only with a tree)
    while off < oend:
        if not ctx.has(off, 1, end):
            return
        kind = data[off]
        node = (
            ctx.sub(TCPOPT_NAMES.get(kind) or f"Unknown option {kind}", "tcp.option", off, 1, None, top)
            if tree
            else None
        )
        ctx.add(
            "tcp.option_kind",
            kind,
            off,
            1,
            "Kind",
            f"Kind: {TCPOPT_NAMES.get(kind, kind)} ({kind})" if tree else None,
            node,
        )
        if kind == 0:
            return
        if kind == 1:
            off += 1
            continue
        if off + 1 >= oend and oend <= end and oend <= len(data):
            # the last byte of whole options: tshark's expert note, not a malformed packet
            ctx.warn(f"{TCPOPT_NAMES.get(kind) or f'Option {kind}'} (length byte past end of options)")
            return
        if not ctx.has(off + 1, 1, end):
            return
        ln = data[off + 1]
        ctx.add("tcp.option_len", ln, off + 1, 1, "Length", None, node)
        if node is not None:
            node.length = ln
        if ln < 2 or off + ln > oend:
            ctx.warn(f"TCP option {kind} length {ln} bogus")
            return
        if not ctx.has(off, ln, end):
            return
        o = off + 2
        ctx.add(
            f"tcp.options.{_TCPOPT_FIELDS.get(kind, 'unknown')}",
            data[off : off + ln].hex(":"),
            off,
            ln,
            (TCPOPT_NAMES.get(kind) or f"Option {kind}") if tree else "",
            None,
            node,
        )
        if kind == 2 and ln == 4:
            ctx.add(
                "tcp.options.mss_val", int.from_bytes(data[o : o + 2], "big"), o, 2, "MSS Value", None, node
            )
        elif kind == 3 and ln == 3:
            ctx.add("tcp.options.wscale.shift", data[o], o, 1, "Shift count", None, node)
            ctx.add("tcp.options.wscale.multiplier", 1 << min(data[o], 14), o, 1, "Multiplier", None, node)
        elif kind == 5:
            for i in range(o, off + ln - 7, 8):
                ctx.add(
                    "tcp.options.sack_le",
                    int.from_bytes(data[i : i + 4], "big"),
                    i,
                    4,
                    "left edge",
                    None,
                    node,
                )
                ctx.add(
                    "tcp.options.sack_re",
                    int.from_bytes(data[i + 4 : i + 8], "big"),
                    i + 4,
                    4,
                    "right edge",
                    None,
                    node,
                )
        elif kind == 8 and ln == 10:
            ctx.add(
                "tcp.options.timestamp.tsval",
                int.from_bytes(data[o : o + 4], "big"),
                o,
                4,
                "Timestamp value",
                None,
                node,
            )
            ctx.add(
                "tcp.options.timestamp.tsecr",
                int.from_bytes(data[o + 4 : o + 8], "big"),
                o + 4,
                4,
                "Timestamp echo reply",
                None,
                node,
            )
        off += ln


# ---------------------------------------------------------------------------------------------
# UDP

UDP = Header(
    (
        F("udp.srcport", "Source Port", 0, 2),
        F("udp.dstport", "Destination Port", 2, 2),
        F("udp.length", "Length", 4, 2),
        F("udp.checksum", "Checksum", 6, 2, disp=HEX4),
        F("udp.port", "Source or Destination Port", 0, 2),
        F("udp.port", "Source or Destination Port", 2, 2),
    )
)
_UDP_COLS = UDP.unpacker("udp.srcport", "udp.dstport", "udp.length")


@IP_PROTOS.register(IPPROTO_UDP)
def dissect_udp(ctx: Ctx, off: int, end: int) -> None:
    layer = ctx.push("udp", "User Datagram Protocol", off, 8)
    ctx.proto = "UDP"
    if ctx.lean and off + 8 <= end and off + 8 <= len(ctx.data):  # columns only: no fields but the ports
        sp, dp, ulen = _UDP_COLS(ctx.data, off)  # (the payload's dissectors read them)
        f = ctx.fields
        if "udp.srcport" in f:
            _put(f, "udp.srcport", sp)
            _put(f, "udp.dstport", dp)
        else:
            f["udp.srcport"], f["udp.dstport"] = sp, dp
    else:
        vals = UDP.read(ctx, off, end)
        if vals is None:
            sp, dp = ctx.fields.get("udp.srcport"), ctx.fields.get("udp.dstport")
            if sp is not None and dp is not None:
                ctx.info = f"{_last(ctx, 'udp.srcport')} -> {_last(ctx, 'udp.dstport')}"
                # the length read, the checksum cut: Wireshark's column says the length is bad
                if off + 6 <= min(end, len(ctx.data)):
                    ulen = int.from_bytes(ctx.data[off + 4 : off + 6], "big")
                    if ulen >= 8 and off + ulen > end and not ctx.quote and not ctx.frag:
                        ctx.info += f" [BAD UDP LENGTH {ulen} > IP PAYLOAD LENGTH] Len={ulen - 8}"
            return
        sp, dp, ulen = vals["udp.srcport"], vals["udp.dstport"], vals["udp.length"]
    if ctx.tree:
        layer.text = f"User Datagram Protocol, Src Port: {sp}, Dst Port: {dp}"
    if ulen < 8:
        if ulen == 0 and ctx.pseudo and len(ctx.pseudo[0]) == 16:  # IPv6 jumbogram
            ulen = end - off
        else:
            ctx.info = f"{sp} -> {dp} Bogus UDP length ({ulen}, must be at least 8)"
            ctx.warn(ctx.info)
            return
    if off + ulen > end and not ctx.quote and not ctx.frag:  # (a first fragment: the rest comes later)
        # as Wireshark: flagged, then the payload up to the IP payload's end goes on to the port's dissector
        ctx.warn(f"Bad length value {ulen} > IP payload length")
        ctx.info = f"{sp} -> {dp} [BAD UDP LENGTH {ulen} > IP PAYLOAD LENGTH] Len={ulen - 8}"
    else:
        if off + ulen < end:
            end = off + ulen
        n = _NUMS or num_strs()  # (table lookups: cheaper than formatting the numbers)
        ctx.info = f"{n[sp]} -> {n[dp]} Len={n[ulen - 8]}"
    lim = min(end, len(ctx.data))
    if off + 8 >= lim:
        return
    if not ctx.lean:
        ctx.add(
            "udp.payload",
            ctx.data[off + 8 : lim].hex(":"),
            off + 8,
            lim - off - 8,
            "UDP payload",
            f"UDP payload ({lim - off - 8} bytes)",
        )
    udp_payload(ctx, off + 8, end, sp, dp)


def udp_payload(ctx: Ctx, off: int, end: int, sp: int, dp: int) -> None:
    """A UDP datagram's payload at ``off`` to its dissector (also where the native walk hands it on)."""
    # as Wireshark: a bound conversation, the lower port's dissector, then the higher's (either may refuse: False), then the
    # heuristic dissectors, then data
    if UDP_CONVERSATIONS.map and not ctx.quote:  # a conversation a dissector bound comes first
        fn0 = UDP_CONVERSATIONS.find(ctx.pseudo[0], sp, ctx.pseudo[1], dp)
        if fn0 is not None and fn0(ctx, off, end) is not False:
            return
    lo, hi = (sp, dp) if sp < dp else (dp, sp)
    fn = UDP_PORTS.map.get(lo)
    if fn is not None and fn(ctx, off, end) is not False:
        return
    fn2 = UDP_PORTS.map.get(hi)
    if fn2 is not None and fn2 is not fn and fn2(ctx, off, end) is not False:
        return
    if not UDP_HEURISTICS.run(ctx, off, end):
        data_layer(ctx, off, end)


# ---------------------------------------------------------------------------------------------
# GRE (RFC 2784/2890, and the enhanced GRE of PPTP, RFC 2637) and VXLAN (RFC 7348)

GRE = Header(
    (
        F("gre.flags_and_version", "Flags and Version", 0, 2, disp=HEX4),
        F("gre.flags.checksum", "Checksum Bit", 0, 1, mask=0x80),
        F("gre.flags.key", "Key Bit", 0, 1, mask=0x20),
        F("gre.flags.sequence_number", "Sequence Number Bit", 0, 1, mask=0x10),
        F("gre.flags.ack", "Acknowledgment Bit", 1, 1, mask=0x80),
        F("gre.flags.version", "Version", 1, 1, mask=0x07),
        F("gre.proto", "Protocol Type", 2, 2, disp=HEX4),
    )
)


#: GRE protocol types that are not ethertypes (Aruba's 802.11 tunnels): tried before the ethertype table
GRE_PROTOS = Table("GRE protocol")


@IP_PROTOS.register(IPPROTO_GRE)
def dissect_gre(ctx: Ctx, off: int, end: int) -> None:
    layer = ctx.push("gre", "Generic Routing Encapsulation", off, 4)
    ctx.proto = "GRE"
    vals = GRE.read(ctx, off, end)
    if vals is None:
        return
    data = ctx.data
    o = off + 4
    ver = vals["gre.flags.version"]
    if vals["gre.flags.checksum"]:
        if not ctx.has(o, 4, end):
            return
        ctx.add("gre.checksum", int.from_bytes(data[o : o + 2], "big"), o, 2, "Checksum")
        o += 4
    if vals["gre.flags.key"]:
        if not ctx.has(o, 4, end):
            return
        if ver == 1:
            ctx.add("gre.key.payload_length", int.from_bytes(data[o : o + 2], "big"), o, 2, "Payload Length")
            ctx.add("gre.key.call_id", int.from_bytes(data[o + 2 : o + 4], "big"), o + 2, 2, "Call ID")
        else:
            ctx.add("gre.key", int.from_bytes(data[o : o + 4], "big"), o, 4, "Key")
        o += 4
    if vals["gre.flags.sequence_number"]:
        if not ctx.has(o, 4, end):
            return
        ctx.add("gre.sequence_number", int.from_bytes(data[o : o + 4], "big"), o, 4, "Sequence Number")
        o += 4
    if ver == 1 and vals["gre.flags.ack"]:
        if not ctx.has(o, 4, end):
            return
        ctx.add("gre.ack_number", int.from_bytes(data[o : o + 4], "big"), o, 4, "Acknowledgment Number")
        o += 4
    layer.length = o - off
    proto = vals["gre.proto"]
    ctx.info = f"Encapsulated {'PPP' if proto == 0x880B else f'0x{proto:04x}'}"
    if proto == 0x6558:  # transparent Ethernet bridging
        from sniffer.decode.link import dissect_eth

        dissect_eth(ctx, o, end)
        return
    if not call(ctx, GRE_PROTOS, proto, o, end, fallback=False):
        call(ctx, ETHERTYPES, proto, o, end)


VXLAN = Header(
    (
        F("vxlan.flags", "Flags", 0, 2, disp=HEX4),
        F("vxlan.vni", "VXLAN Network Identifier (VNI)", 4, 3),
        F("vxlan.reserved_8", "Reserved", 7, 1),
    )
)


@UDP_PORTS.register(4789)
def dissect_vxlan(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("vxlan", "Virtual eXtensible Local Area Network", off, 8)
    ctx.proto = "VXLAN"
    if VXLAN.read(ctx, off, end) is None:
        return
    from sniffer.decode.link import dissect_eth

    dissect_eth(ctx, off + 8, end)


__all__ = ["HEX2", "dissect_ipv4", "dissect_ipv6", "dissect_tcp", "dissect_udp", "ip4", "tcp_flags_str"]
