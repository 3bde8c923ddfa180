"""ICMP and ICMPv6: echo, errors with the quoted packet decoded, neighbour discovery, MLDv1/v2."""

from __future__ import annotations

import struct

from sniffer.checksum import verify
from sniffer.decode.core import (
    HEX2,
    HEX4,
    IP_PROTOS,
    Ctx,
    F,
    Header,
    Node,
    data_layer,
    ip4,
    ip6,
    mac,
)

# ICMP types (RFC 792)
ICMP_ECHOREPLY = 0  # echo reply
ICMP_UNREACH = 3  # destination unreachable
ICMP_SOURCEQUENCH = 4  # source quench
ICMP_REDIRECT = 5  # redirect
ICMP_ECHO = 8  # echo request
ICMP_ROUTERADVERT = 9
ICMP_ROUTERSOLICIT = 10
ICMP_TIMXCEED = 11  # time exceeded
ICMP_PARAMPROB = 12  # parameter problem
ICMP_TSTAMP = 13
ICMP_TSTAMPREPLY = 14

ICMP_TYPES = {
    0: "Echo (ping) reply",
    3: "Destination unreachable",
    4: "Source quench (flow control)",
    5: "Redirect",
    8: "Echo (ping) request",
    9: "Router advertisement",
    10: "Router solicitation",
    11: "Time-to-live exceeded",
    12: "Parameter problem",
    13: "Timestamp request",
    14: "Timestamp reply",
    15: "Information request",
    16: "Information reply",
    17: "Address mask request",
    18: "Address mask reply",
}
ICMP_CODES = {
    3: {
        0: "Network unreachable",
        1: "Host unreachable",
        2: "Protocol unreachable",
        3: "Port unreachable",
        4: "Fragmentation needed",
        5: "Source route failed",
        6: "Destination network unknown",
        7: "Destination host unknown",
        8: "Source host isolated",
        9: "Network administratively prohibited",
        10: "Host administratively prohibited",
        11: "Network unreachable for TOS",
        12: "Host unreachable for TOS",
        13: "Communication administratively filtered",
        14: "Host precedence violation",
        15: "Precedence cutoff in effect",
    },
    5: {
        0: "Redirect for network",
        1: "Redirect for host",
        2: "Redirect for TOS and network",
        3: "Redirect for TOS and host",
    },
    11: {0: "Time to live exceeded in transit", 1: "Fragment reassembly time exceeded"},
    12: {0: "Pointer indicates the error", 1: "Required option missing", 2: "Bad length"},
}
ICMP_ERRORS = frozenset((3, 4, 5, 11, 12))

ICMP = Header(
    (
        F("icmp.type", "Type", 0, 1, names=ICMP_TYPES),
        F("icmp.code", "Code", 1, 1),
        F("icmp.checksum", "Checksum", 2, 2, disp=HEX4),
    )
)
ICMP_ECHO_HDR = Header(
    (
        F("icmp.ident", "Identifier (BE)", 4, 2, disp=lambda v: f"{v} (0x{v:04x})"),
        F("icmp.ident_le", "Identifier (LE)", 4, 2, "le", disp=lambda v: f"{v} (0x{v:04x})"),
        F("icmp.seq", "Sequence Number (BE)", 6, 2),
        F("icmp.seq_le", "Sequence Number (LE)", 6, 2, "le"),
    )
)

CKSUM_STATUS = {0: "Bad", 1: "Good", 2: "Unverified"}


def _cksum_status(ctx: Ctx, proto: str, off: int, end: int, pseudo: int = -1) -> int:
    """Verify the checksum of [off, end) like Wireshark (*.checksum.status 0 bad, 1 good, 2 unverified)."""
    if ctx.lean:  # the status is a field and the warning expert info: no column shows either
        return 2
    data = ctx.data
    if ctx.frag or end > len(data) or ctx.quote:
        status = 2
    else:
        init = 0
        if pseudo >= 0:
            src, dst = ctx.pseudo
            ph = src + dst + struct.pack("!IxxxB", end - off, pseudo)
            init = sum(struct.unpack(f"!{len(ph) // 2}H", ph))
        status = 1 if verify(data[off:end], init) else 0
    ctx.add(
        f"{proto}.checksum.status",
        status,
        off + 2,
        2,
        "Checksum Status",
        f"[Checksum Status: {CKSUM_STATUS[status]}]",
    )
    if status == 0:
        ctx.warn(f"{proto.upper()} checksum bad")
    return status


def _quote(ctx: Ctx, fn_key: int, off: int, end: int) -> None:
    """Dissect the packet quoted in an ICMP error under the ICMP layer (its fields become lists)."""
    fn = IP_PROTOS.map.get(fn_key)
    if fn is None or off >= min(end, len(ctx.data)):
        return
    saved = (ctx.parent, ctx.layer, ctx.proto, ctx.info, ctx.frag, ctx.pseudo, ctx.hlim)
    ctx.parent = ctx.layer
    ctx.quote += 1
    try:
        fn(ctx, off, end)
    finally:
        ctx.quote -= 1
        ctx.parent, ctx.layer, ctx.proto, ctx.info, ctx.frag, ctx.pseudo, ctx.hlim = saved


@IP_PROTOS.register(1)
def dissect_icmp(ctx: Ctx, off: int, end: int) -> None:
    layer = ctx.push("icmp", "Internet Control Message Protocol", off, 8)
    ctx.proto = "ICMP"
    vals = ICMP.read(ctx, off, end)
    if vals is None:
        return
    t, code = vals["icmp.type"], vals["icmp.code"]
    tname = ICMP_TYPES.get(t) or f"Unknown ICMP (obsolete or malformed?) (type {t})"
    cname = ICMP_CODES.get(t, {}).get(code)
    info = f"{tname} ({cname})" if cname else tname
    if not ctx.quote:
        _cksum_status(ctx, "icmp", off, end)
    if t in (ICMP_ECHO, ICMP_ECHOREPLY):
        e = ICMP_ECHO_HDR.read(ctx, off, end)
        ctx.proto, ctx.info = "ICMP", tname
        if e is None:
            ctx.info = f"{tname} [Packet size limited during capture]" if ctx.truncated else tname
            return
        info = f"{tname} id=0x{e['icmp.ident']:04x}, seq={e['icmp.seq']}/{e['icmp.seq'] >> 8 | (e['icmp.seq'] & 0xFF) << 8}"
        if ctx.hlim >= 0 and not ctx.quote:
            info += f", ttl={ctx.hlim}"
        ctx.info = info
        _payload(ctx, off + 8, end)
        return
    if t in ICMP_ERRORS:
        if not ctx.has(off, 8, end):
            ctx.info = info
            return
        data = ctx.data
        if t == ICMP_REDIRECT:
            ctx.add("icmp.redir_gw", ip4(data[off + 4 : off + 8]), off + 4, 4, "Gateway Address")
        elif t == ICMP_UNREACH and code == 4:
            ctx.add("icmp.mtu", int.from_bytes(data[off + 6 : off + 8], "big"), off + 6, 2, "MTU of next hop")
        elif t == ICMP_PARAMPROB:
            ctx.add("icmp.pointer", data[off + 4], off + 4, 1, "Pointer")
        ctx.info = info
        if ctx.tree:
            layer.text = f"Internet Control Message Protocol ({info})"
        _quote(ctx, 4, off + 8, end)
        ctx.proto, ctx.info = "ICMP", info
        return
    ctx.info = info
    _payload(ctx, off + 8, end)


_payload = data_layer


# ---------------------------------------------------------------------------------------------
# ICMPv6 (RFC 4443), ND (RFC 4861), MLDv1 (RFC 2710), MLDv2 (RFC 3810)

ICMPV6_TYPES = {
    1: "Destination Unreachable",
    2: "Packet Too Big",
    3: "Time Exceeded",
    4: "Parameter Problem",
    128: "Echo (ping) request",
    129: "Echo (ping) reply",
    130: "Multicast Listener Query",
    131: "Multicast Listener Report",
    132: "Multicast Listener Done",
    133: "Router Solicitation",
    134: "Router Advertisement",
    135: "Neighbor Solicitation",
    136: "Neighbor Advertisement",
    137: "Redirect",
    143: "Multicast Listener Report Message v2",
}
ICMPV6_CODES = {
    1: {
        0: "no route to destination",
        1: "Administratively prohibited",
        2: "beyond scope of source address",
        3: "Address unreachable",
        4: "Port unreachable",
        5: "Source address failed ingress/egress policy",
        6: "Reject route to destination",
    },
    3: {0: "hop limit exceeded in transit", 1: "fragment reassembly time exceeded"},
    4: {
        0: "erroneous header field encountered",
        1: "unrecognized Next Header type encountered",
        2: "unrecognized IPv6 option encountered",
    },
}
MLD_RECORD_TYPES = {
    1: "Mode Is Include",
    2: "Mode Is Exclude",
    3: "Change To Include Mode",
    4: "Change To Exclude Mode",
    5: "Allow New Sources",
    6: "Block Old Sources",
}

ICMPV6 = Header(
    (
        F("icmpv6.type", "Type", 0, 1, names=ICMPV6_TYPES),
        F("icmpv6.code", "Code", 1, 1),
        F("icmpv6.checksum", "Checksum", 2, 2, disp=HEX4),
    )
)
ICMPV6_ECHO_HDR = Header(
    (
        F("icmpv6.echo.identifier", "Identifier", 4, 2, disp=HEX4),
        F("icmpv6.echo.sequence_number", "Sequence", 6, 2),
    )
)
MLD_V1 = Header(
    (
        F("icmpv6.mld.maximum_response_delay", "Maximum Response Delay [ms]", 4, 2),
        F("icmpv6.reserved", "Reserved", 6, 2, "bytes"),
        F("icmpv6.mld.multicast_address", "Multicast Address", 8, 16, "ip6"),
    )
)
MLD_V2_QUERY = Header(
    (
        F("icmpv6.mld.maximum_response_code", "Maximum Response Code", 4, 2),
        F("icmpv6.reserved", "Reserved", 6, 2, "bytes"),
        F("icmpv6.mld.multicast_address", "Multicast Address", 8, 16, "ip6"),
        F("icmpv6.mld.flag", "Flags", 24, 1, disp=HEX2),
        F("icmpv6.mld.flag.s", "Suppress Router-Side Processing", 24, 1, mask=0x08),
        F("icmpv6.mld.flag.qrv", "QRV (Querier's Robustness Variable)", 24, 1, mask=0x07),
        F("icmpv6.mld.qqi", "QQIC (Querier's Query Interval Code)", 25, 1),
        F("icmpv6.mld.nb_sources", "Number of Sources", 26, 2),
    )
)
MLD_V2_REPORT = Header(
    (
        F("icmpv6.reserved", "Reserved", 4, 2, "bytes"),
        F("icmpv6.mldr.nb_mcast_records", "Number of Multicast Address Records", 6, 2),
    )
)
MLD_RECORD = Header(
    (
        F("icmpv6.mldr.mar.record_type", "Record Type", 0, 1, names=MLD_RECORD_TYPES),
        F("icmpv6.mldr.mar.aux_data_len", "Aux Data Len", 1, 1),
        F("icmpv6.mldr.mar.nb_sources", "Number of Sources", 2, 2),
        F("icmpv6.mldr.mar.multicast_address", "Multicast Address", 4, 16, "ip6"),
    )
)
NA_FLAGS = Header(
    (
        F("icmpv6.nd.na.flag", "Flags", 4, 4, disp=lambda v: f"0x{v:08x}"),
        F("icmpv6.nd.na.flag.r", "Router", 4, 1, mask=0x80),
        F("icmpv6.nd.na.flag.s", "Solicited", 4, 1, mask=0x40),
        F("icmpv6.nd.na.flag.o", "Override", 4, 1, mask=0x20),
        F("icmpv6.nd.na.target_address", "Target Address", 8, 16, "ip6"),
    )
)
RA_HDR = Header(
    (
        F("icmpv6.nd.ra.cur_hop_limit", "Cur hop limit", 4, 1),
        F("icmpv6.nd.ra.flag", "Flags", 5, 1, disp=HEX2),
        F("icmpv6.nd.ra.flag.m", "Managed address configuration", 5, 1, mask=0x80),
        F("icmpv6.nd.ra.flag.o", "Other configuration", 5, 1, mask=0x40),
        F("icmpv6.nd.ra.flag.h", "Home Agent", 5, 1, mask=0x20),
        F("icmpv6.nd.ra.flag.prf", "Prf (Default Router Preference)", 5, 1, mask=0x18),
        F("icmpv6.nd.ra.router_lifetime", "Router lifetime (s)", 6, 2),
        F("icmpv6.nd.ra.reachable_time", "Reachable time (ms)", 8, 4),
        F("icmpv6.nd.ra.retrans_timer", "Retrans timer (ms)", 12, 4),
    )
)
NS_HDR = Header(
    (
        F("icmpv6.reserved", "Reserved", 4, 4, "bytes"),
        F("icmpv6.nd.ns.target_address", "Target Address", 8, 16, "ip6"),
    )
)
RS_HDR = Header((F("icmpv6.reserved", "Reserved", 4, 4, "bytes"),))
RD_HDR = Header(
    (
        F("icmpv6.reserved", "Reserved", 4, 4, "bytes"),
        F("icmpv6.nd.rd.target_address", "Target Address", 8, 16, "ip6"),
        F("icmpv6.nd.rd.destination_address", "Destination Address", 24, 16, "ip6"),
    )
)
ND_OPT_NAMES = {
    1: "Source link-layer address",
    2: "Target link-layer address",
    3: "Prefix information",
    4: "Redirected header",
    5: "MTU",
    25: "Recursive DNS Server",
    31: "DNS Search List",
}


@IP_PROTOS.register(58)
def dissect_icmpv6(ctx: Ctx, off: int, end: int) -> None:
    layer = ctx.push("icmpv6", "Internet Control Message Protocol v6", off, 4)
    ctx.proto = "ICMPv6"
    if end <= off and not ctx.quote:  # zero-length payload: Wireshark reports it malformed
        ctx.set_malformed("ICMPv6")
        return
    vals = ICMPV6.read(ctx, off, end)
    if vals is None:
        return
    t, code = vals["icmpv6.type"], vals["icmpv6.code"]
    tname = ICMPV6_TYPES.get(t) or f"Unknown ICMPv6 type {t}"
    if not ctx.quote:
        _cksum_status(ctx, "icmpv6", off, end, 58)
    info = tname
    cname = ICMPV6_CODES.get(t, {}).get(code)
    if cname:
        info = f"{tname} ({cname})"
    ctx.info = info
    layer.length = max(4, min(end, len(ctx.data)) - off)
    data = ctx.data
    if t in (128, 129):
        e = ICMPV6_ECHO_HDR.read(ctx, off, end)
        if e is None:
            return
        info = f"{tname} id=0x{e['icmpv6.echo.identifier']:04x}, seq={e['icmpv6.echo.sequence_number']}"
        if ctx.hlim >= 0 and not ctx.quote:
            info += f", hop limit={ctx.hlim}"
        ctx.info = info
        _payload(ctx, off + 8, end)
    elif t in (1, 2, 3, 4):
        if not ctx.has(off, 8, end):
            return
        if t == 2:
            ctx.add("icmpv6.mtu", int.from_bytes(data[off + 4 : off + 8], "big"), off + 4, 4, "MTU")
        elif t == 4:
            ctx.add("icmpv6.pointer", int.from_bytes(data[off + 4 : off + 8], "big"), off + 4, 4, "Pointer")
        else:
            ctx.add("icmpv6.reserved", data[off + 4 : off + 8].hex(":"), off + 4, 4, "Reserved")
        _quote(ctx, 41, off + 8, end)
        ctx.proto, ctx.info = "ICMPv6", info
    elif t == 130:
        v = _mld_query_v2(ctx, off, end) if end - off >= 28 else MLD_V1.read(ctx, off, end)
        ctx.info = info
        if v is not None:
            g = v["icmpv6.mld.multicast_address"]
            ver = "v2" if end - off >= 28 else "v1"
            ctx.info = f"{info} {ver}, general" if g == "::" else f"{info} {ver}, specific for group {g}"
    elif t in (131, 132):
        v = MLD_V1.read(ctx, off, end)
        ctx.info = info if v is None else f"{info} group {v['icmpv6.mld.multicast_address']}"
    elif t == 143:
        parts = _mld_report_v2(ctx, off, end)
        ctx.info = f"{info} / " + " / ".join(parts) if parts else info
    elif t == 133:
        if RS_HDR.read(ctx, off, end) is not None:
            _nd_options(ctx, off + 8, end, tname)
    elif t == 134:
        if RA_HDR.read(ctx, off, end) is not None:
            _nd_options(ctx, off + 16, end, tname)
    elif t == 135:
        v = NS_HDR.read(ctx, off, end)
        if v is not None:
            ctx.info = f"{tname} for {v['icmpv6.nd.ns.target_address']}"
            _nd_options(ctx, off + 24, end, ctx.info)
    elif t == 136:
        v = NA_FLAGS.read(ctx, off, end)
        if v is not None:
            fl = [
                n
                for n, k in (
                    ("rtr", "icmpv6.nd.na.flag.r"),
                    ("sol", "icmpv6.nd.na.flag.s"),
                    ("ovr", "icmpv6.nd.na.flag.o"),
                )
                if v[k]
            ]
            ctx.info = f"{tname} {v['icmpv6.nd.na.target_address']}" + (f" ({', '.join(fl)})" if fl else "")
            _nd_options(ctx, off + 24, end, ctx.info)
    elif t == 137:
        if RD_HDR.read(ctx, off, end) is not None:
            _nd_options(ctx, off + 40, end, tname)


def _nd_options(ctx: Ctx, off: int, end: int, info: str) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.info = info
    while off < end:
        if off >= lim:
            ctx.short(off + 1, end)
            break
        node = ctx.sub("ICMPv6 Option", "icmpv6.opt", off, 8)
        if not ctx.has(off, 2, end):
            break
        t, ln = data[off], data[off + 1]
        ctx.add("icmpv6.opt.type", t, off, 1, "Type", f"Type: {ND_OPT_NAMES.get(t, 'Unknown')} ({t})", node)
        ctx.add("icmpv6.opt.length", ln, off + 1, 1, "Length", f"Length: {ln} ({ln * 8} bytes)", node)
        if node is not None:
            node.text = f"ICMPv6 Option ({ND_OPT_NAMES.get(t, t)})"
            node.length = max(2, ln * 8)
        if ln == 0:
            ctx.warn("Invalid option length (Zero)")
            ctx.set_malformed("ICMPv6")
            break
        size = ln * 8
        if t in (1, 2) and ln == 1:
            if not ctx.has(off + 2, 6, end):
                break
            a = mac(data[off + 2 : off + 8])
            name = "icmpv6.opt.src_linkaddr" if t == 1 else "icmpv6.opt.target_linkaddr"
            ctx.add("icmpv6.opt.linkaddr", a, off + 2, 6, "Link-layer address", None, node)
            ctx.add(name, a, off + 2, 6, "Link-layer address", None, node)
            # tshark: a source address "from", a target address "is at" (packet-icmpv6.c)
            said = " from " if t == 1 else " is at "
            if said not in ctx.info:
                ctx.info = f"{ctx.info}{said}{a}"
        elif t == 3 and ln == 4:
            if not ctx.has(off, 32, end):
                break
            ctx.add("icmpv6.opt.prefix.length", data[off + 2], off + 2, 1, "Prefix Length", None, node)
            ctx.add(
                "icmpv6.opt.prefix.valid_lifetime",
                int.from_bytes(data[off + 4 : off + 8], "big"),
                off + 4,
                4,
                "Valid Lifetime",
                None,
                node,
            )
            ctx.add(
                "icmpv6.opt.prefix.preferred_lifetime",
                int.from_bytes(data[off + 8 : off + 12], "big"),
                off + 8,
                4,
                "Preferred Lifetime",
                None,
                node,
            )
            ctx.add("icmpv6.opt.prefix", ip6(data[off + 16 : off + 32]), off + 16, 16, "Prefix", None, node)
        elif t == 5 and ln == 1:
            if not ctx.has(off, 8, end):
                break
            ctx.add(
                "icmpv6.opt.mtu",
                int.from_bytes(data[off + 4 : off + 8], "big"),
                off + 4,
                4,
                "MTU",
                None,
                node,
            )
        elif t == 25 and ln >= 3:
            if not ctx.has(off, size, end):
                break
            ctx.add(
                "icmpv6.opt.rdnss.lifetime",
                int.from_bytes(data[off + 4 : off + 8], "big"),
                off + 4,
                4,
                "Lifetime",
                None,
                node,
            )
            for o in range(off + 8, off + size - 15, 16):
                ctx.add("icmpv6.opt.rdnss", ip6(data[o : o + 16]), o, 16, "Recursive DNS Servers", None, node)
        if off + size > end:
            ctx.short(off + size, end)
            break
        off += size
    if ctx.malformed and " from " not in ctx.info and " is at " not in ctx.info:
        ctx.info = info


def _mld_query_v2(ctx: Ctx, off: int, end: int) -> dict[str, object] | None:
    v = MLD_V2_QUERY.read(ctx, off, end)
    if v is None:
        return None
    n = v["icmpv6.mld.nb_sources"]
    data = ctx.data
    for i in range(n):
        o = off + 28 + 16 * i
        if not ctx.has(o, 16, end):
            break
        ctx.add("icmpv6.mld.source_address", ip6(data[o : o + 16]), o, 16, "Source Address")
    return v


# how each record reads in the Info column (same words as for IGMPv3)
MLD_RECORD_INFO = {
    1: "Mode is include",
    2: "Mode is exclude",
    3: "Leave group",
    4: "Join group",
    5: "Allow new sources",
    6: "Block old sources",
}


def _mld_report_v2(ctx: Ctx, off: int, end: int) -> list[str]:
    """The records of an MLDv2 report; returns one Info phrase per record."""
    parts: list[str] = []
    v = MLD_V2_REPORT.read(ctx, off, end)
    if v is None:
        return parts
    data = ctx.data
    o = off + 8
    for _ in range(v["icmpv6.mldr.nb_mcast_records"]):
        if not ctx.has(o, 20, end):
            return parts
        rtype, aux, ns = data[o], data[o + 1], int.from_bytes(data[o + 2 : o + 4], "big")
        size = 20 + 16 * ns + 4 * aux
        maddr = ip6(data[o + 4 : o + 20])
        node: Node | None = ctx.sub(
            f"Multicast Address Record {maddr}: {MLD_RECORD_TYPES.get(rtype, rtype)}",
            "icmpv6.mldr.mar",
            o,
            size,
        )
        MLD_RECORD.read(ctx, o, end, node)
        srcs = []
        for i in range(ns):
            so = o + 20 + 16 * i
            if not ctx.has(so, 16, end):
                return parts
            srcs.append(ip6(data[so : so + 16]))
            ctx.add("icmpv6.mldr.mar.source_address", srcs[-1], so, 16, "Source Address", None, node)
        what = MLD_RECORD_INFO.get(rtype) or f"Record type {rtype}"
        if srcs:
            parts.append(f"{what} {maddr} for source {{{', '.join(srcs)}}}")
        else:
            parts.append(f"{what} {maddr}" + (" for any sources" if rtype == 4 else ""))
        if aux:
            ao = o + 20 + 16 * ns
            if not ctx.has(ao, 4 * aux, end):
                return parts
            ctx.add(
                "icmpv6.mldr.mar.auxiliary_data",
                data[ao : ao + 4 * aux].hex(":"),
                ao,
                4 * aux,
                "Aux Data",
                None,
                node,
            )
        o += size
    return parts
