"""Lazy decoding for display filters: the common L2-L4 fields straight from the headers, full decode otherwise.

A filter that reads only fields listed in FAST_FIELDS (``tcp.port == 80``, ``ip.addr == 10.0.0.0/8 and
udp``, ``frame.len > 1000``...) is evaluated on a small dict built from the packet's headers
(a few microseconds) instead of ``decode.fields.frame_fields`` (~100 µs). Only "plain" packets take
this path: Ethernet without VLAN tags, SLL/SLL2/raw/loopback, IPv4 without fragmentation, IPv6 without
extension headers, TCP/UDP/ICMP/ICMPv6/IGMP that is not an ICMP error and not a tunnel. Everything
else goes through the full decoder, so both paths give the same fields (tests/model/test_fastfields.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from sniffer.decode.core import ip4, ip6, mac
from sniffer.decode.layers import dissect_rest, ipv4, ipv6, layer_map, reach, vouched
from sniffer.frame import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_RAW,
    Frame,
)

FAST_FIELDS = frozenset(
    """frame frame.number frame.len frame.cap_len
    eth eth.src eth.dst eth.addr eth.type
    ip ip.src ip.dst ip.addr ip.proto ip.ttl ip.len ip.id ip.version ip.hdr_len
    ipv6 ipv6.src ipv6.dst ipv6.addr ipv6.nxt ipv6.plen ipv6.hlim ipv6.version
    tcp tcp.srcport tcp.dstport tcp.port tcp.flags tcp.flags.fin tcp.flags.syn tcp.flags.reset
    tcp.flags.push tcp.flags.ack tcp.flags.urg tcp.flags.ece tcp.flags.cwr tcp.seq tcp.seq_raw
    tcp.ack tcp.ack_raw tcp.hdr_len tcp.len
    udp udp.srcport udp.dstport udp.port udp.length
    icmp icmp.type icmp.code icmpv6 icmpv6.type icmpv6.code igmp arp""".split()
)

_u16 = struct.Struct("!H").unpack_from
_RAW = (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6)
_L3 = frozenset({"ip", "ipv6"})
_L4 = frozenset({"tcp", "udp"})
_II = struct.Struct("!II").unpack_from
_ICMP_ERRORS = frozenset((3, 4, 5, 11, 12))
#: protocols whose layer, if the rest of a packet may hold one, may repeat a FAST field (a tunnel)
_INNER = frozenset({"eth", "ip", "ipv6"})


def _ip_fields(f: dict[str, Any], h: Any) -> None:
    """The IPv4 or IPv6 header fields of ``h`` (decode.layers.ipv4/ipv6) into ``f``, as frame_fields."""
    if h.version == 4:
        f["ip.version"] = 4
        f["ip.hdr_len"] = h.hlen  # bytes, as Wireshark
        f["ip.len"] = h.length
        f["ip.id"] = h.ident
        f["ip.ttl"] = h.hlim
        f["ip.proto"] = h.proto
        src, dst = ip4(h.src), ip4(h.dst)
        f["ip.src"], f["ip.dst"], f["ip.addr"] = src, dst, [src, dst]
    else:
        f["ipv6.version"] = f["ip.version"] = 6  # Wireshark's IPv6 header has a hidden ip.version too
        f["ipv6.plen"] = h.length - 40
        f["ipv6.nxt"] = h.proto
        f["ipv6.hlim"] = h.hlim
        src, dst = ip6(h.src), ip6(h.dst)
        f["ipv6.src"], f["ipv6.dst"], f["ipv6.addr"] = src, dst, [src, dst]


def _l4_fields(f: dict[str, Any], d: bytes, l4: int, end: int, proto: int) -> None:
    """The TCP (proto 6) or UDP header fields at ``d[l4:]`` into ``f``; the segment ends at ``end``."""
    sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
    if proto == 6:
        seq, ack = _II(d, l4 + 4)
        thl = (d[l4 + 12] >> 4) * 4
        flags = _u16(d, l4 + 12)[0] & 0x0FFF
        f["tcp.srcport"], f["tcp.dstport"], f["tcp.port"] = sport, dport, [sport, dport]
        f["tcp.seq"] = f["tcp.seq_raw"] = seq
        f["tcp.ack"] = f["tcp.ack_raw"] = ack
        f["tcp.hdr_len"] = thl
        f["tcp.flags"] = flags
        f["tcp.flags.fin"] = flags & 1
        f["tcp.flags.syn"] = flags >> 1 & 1
        f["tcp.flags.reset"] = flags >> 2 & 1
        f["tcp.flags.push"] = flags >> 3 & 1
        f["tcp.flags.ack"] = flags >> 4 & 1
        f["tcp.flags.urg"] = flags >> 5 & 1
        f["tcp.flags.ece"] = flags >> 6 & 1
        f["tcp.flags.cwr"] = flags >> 7 & 1
        f["tcp.len"] = end - l4 - thl
    else:
        f["udp.srcport"], f["udp.dstport"], f["udp.port"] = sport, dport, [sport, dport]
        f["udp.length"] = end - l4


def headers(frame: Frame, heads: frozenset[str] | None = None) -> dict[str, Any] | None:
    """The FAST_FIELDS of a plain packet, with values as frame_fields gives them; None if not plain.
    ``heads``: only the fields of these protocols (eth, ip/ipv6, tcp/udp) are needed (default: all).

    Plain: the layer map (sniffer.decode.layers) walks the packet, there is no VLAN tag, and what follows
    the transport cannot hold a second network layer (a tunnel); ICMP and ICMPv6 are not errors."""
    m = layer_map(frame)
    d = frame[1]
    if m is None or m.end > len(d) or not vouched(frame, m):
        return None  # cut by the capture, or the rest may go elsewhere than the map says
    f: dict[str, Any] = {"frame.len": frame[2], "frame.cap_len": len(d)}
    if frame[3] == LINKTYPE_ETHERNET:
        if m.net != 14 and m.version:
            return None  # VLAN tags
        if heads is None or "eth" in heads:
            f["eth.dst"] = edst = mac(d[0:6])
            f["eth.src"] = esrc = mac(d[6:12])
            f["eth.addr"] = [edst, esrc]  # wire order, as Wireshark lists it
            f["eth.type"] = m.et
    elif frame[3] not in _RAW:
        return None  # SLL/SLL2/NULL: rare enough to leave to the full decoder
    h = (ipv4 if m.version == 4 else ipv6)(d, m.net) if m.version else None
    if h is None or h.frag & 0x3FFF:
        if m.et == 0x0806 and m.rest is not None and m.rest.__name__ == "dissect_arp":
            return {**f, "frame.protocols": "eth:ethertype:arp"}
        return None
    if not _INNER.isdisjoint(m.after) and (m.l4 >= 0 or h.proto not in (1, 2, 58)):
        return None  # a tunnel (or anything that may carry another IP layer) ICMP aside: below
    net = m.net
    if heads is None or not heads.isdisjoint(_L3):  # else no IP field is needed
        _ip_fields(f, h)
    protos = m.protos
    l4 = m.l4
    proto = h.proto
    if heads is not None and proto in (6, 17) and heads.isdisjoint(_L4):
        pass  # no TCP/UDP field needed (the stack says which it is)
    elif proto == 6 or proto == 17:
        _l4_fields(f, d, l4, m.end, proto)
    else:
        o, end = net + h.hlen, m.end
        if proto == 1 and h.version == 4:
            if end < o + 4 or d[o] in _ICMP_ERRORS:
                return None
            f["icmp.type"], f["icmp.code"] = d[o], d[o + 1]
            protos += ":icmp"
        elif proto == 58 and h.version == 6:
            if end < o + 4 or 1 <= d[o] <= 4:
                return None
            f["icmpv6.type"], f["icmpv6.code"] = d[o], d[o + 1]
            protos += ":icmpv6"
        elif proto == 2 and h.version == 4:
            protos += ":igmp"
        else:
            return None
    # the stack up to the transport layer: enough for the presence of the protocols above (filters that
    # read frame.protocols itself, which may go on to "data" or "dns", take the full decoder)
    f["frame.protocols"] = protos
    return f


def extractor(needed: frozenset[str]) -> Callable[[Frame], dict[str, Any]]:
    """frame -> fields dict, decoding only what ``needed`` asks for.

    - only FAST_FIELDS: the header fields of the protocols named (``headers``), else the layer fields;
    - no ``frame.*`` / ``_ws.*`` field beyond frame.len / cap_len / protocols: the layer map
      (``decode.layers.layer_map``) tells which protocols the packet has up to its transport layer and
      which ones the rest may add (``reach``). If none the filter names beyond the FAST fields of the
      walked layers can be there, the headers (or the stack alone) are the answer: ``dns`` on a TLS
      segment is false without dissecting. Else only the rest is dissected (``dissect_rest``;
      columns-only when the filter asks only which protocols are present). Packets the walk does not
      vouch for take the layer fields (a dissection without the frame.* and _ws.* fields);
    - anything else: the full ``frame_fields``.
    The cheap paths give the same values as ``frame_fields`` for what ``needed`` names
    (tests/model/test_fastfields.py, tests/decode/test_layers.py)."""
    from sniffer.decode.core import data_layer
    from sniffer.decode.engine import run
    from sniffer.decode.fields import frame_fields, layer_fields

    if not needed:
        return frame_fields
    if needed <= FAST_FIELDS | {"frame"}:
        heads = frozenset(n.split(".", 1)[0] for n in needed)

        def fields(frame: Frame) -> dict[str, Any]:
            f = headers(frame, heads)
            return layer_fields(frame) if f is None else f

        return fields
    extra = needed - FAST_FIELDS - {"frame", "frame.protocols"}
    if any(n.startswith(("frame.", "_ws.")) for n in extra):
        return frame_fields
    tops = frozenset(n.split(".", 1)[0] for n in extra)
    fast_tops = frozenset(n.split(".", 1)[0] for n in needed & FAST_FIELDS) - {"frame"}
    want_headers = bool(fast_tops)
    exact = "frame.protocols" in needed  # read as a value: the whole stack, not a prefix of it
    presence = extra == tops and not want_headers  # only "is protocol X there" (and frame.len...)

    def lazy(frame: Frame) -> dict[str, Any]:
        m = layer_map(frame)
        if m is not None and not vouched(frame, m):
            m = None
        if m is not None and tops.isdisjoint(m.heads) and fast_tops.isdisjoint(m.after):
            rest = m.rest
            if tops.isdisjoint(m.after) and (not exact or rest is None or rest is data_layer):
                # nothing the filter names lies beyond the walked layers
                p = m.protos + ":data" if rest is data_layer else m.protos
                if not want_headers:
                    return {"frame.protocols": p, "frame.len": frame[2], "frame.cap_len": len(frame[1])}
                f = headers(frame)
                if f is not None:
                    f["frame.protocols"] = p
                    return f
            elif m.version and rest is not None:  # dissect only the rest
                h = headers(frame) if want_headers else None
                if h is not None or not want_headers:
                    ctx = dissect_rest(frame, m, presence)
                    p = ":".join(ctx.protos)
                    if presence:
                        return {"frame.protocols": p, "frame.len": frame[2], "frame.cap_len": len(frame[1])}
                    rf: dict[str, Any] = ctx.fields
                    if h is not None:
                        rf.update(h)
                    else:
                        rf["frame.len"], rf["frame.cap_len"] = frame[2], len(frame[1])
                    rf["frame.protocols"] = p
                    return rf
        if presence:
            p = ":".join(run(frame, False, False, True).protos)
            return {"frame.protocols": p, "frame.len": frame[2], "frame.cap_len": len(frame[1])}
        return layer_fields(frame)

    return lazy


def walked(frame: Frame, m: Any, heads: frozenset[str]) -> dict[str, Any] | None:
    """The FAST_FIELDS of the layers the layer map ``m`` walked (link, IP, TCP/UDP header), for the
    protocols in ``heads`` only, with values as frame_fields gives them; None when the walk leaves
    doubt (a link other than Ethernet or raw IP, a packet cut by the capture). Unlike ``headers`` it
    takes every walked packet (VLAN tags, fragments, any IP protocol, anything after the transport):
    what the rest of the packet adds is the caller's (``dissect_rest``), and never a field of these
    layers."""
    d = frame[1]
    if m.end > len(d):
        return None  # cut by the capture
    f: dict[str, Any] = {"frame.len": frame[2], "frame.cap_len": len(d)}
    lt = frame[3]
    if lt == LINKTYPE_ETHERNET:
        if "eth" in heads:
            f["eth.dst"] = edst = mac(d[0:6])
            f["eth.src"] = esrc = mac(d[6:12])
            f["eth.addr"] = [edst, esrc]
            f["eth.type"] = _u16(d, 12)[0]  # the outer type (0x8100 before a VLAN tag), as Wireshark
    elif lt not in _RAW:
        return None
    if not m.version or heads.isdisjoint(_L3L4):
        return f
    h = (ipv4 if m.version == 4 else ipv6)(d, m.net)
    if h is None:
        return None
    if not heads.isdisjoint(_L3):
        _ip_fields(f, h)
    l4 = m.l4
    if l4 < 0 or heads.isdisjoint(_L4):
        return f
    _l4_fields(f, d, l4, m.end, m.proto)
    return f


_L3L4 = _L3 | _L4

#: FAST field -> (layer, code computing it); the layer's prelude (below) sets the names used
_GEN: dict[str, tuple[str, str]] = {
    "eth.dst": ("eth", "edst"),
    "eth.src": ("eth", "esrc"),
    "eth.addr": ("eth", "[edst, esrc]"),
    "eth.type": ("eth", "_u16(d, 12)[0]"),
    "ip.version": ("ip4", "4"),
    "ip.hdr_len": ("ip4", "h.hlen"),
    "ip.len": ("ip4", "h.length"),
    "ip.id": ("ip4", "h.ident"),
    "ip.ttl": ("ip4", "h.hlim"),
    "ip.proto": ("ip4", "h.proto"),
    "ip.src": ("ip4", "src"),
    "ip.dst": ("ip4", "dst"),
    "ip.addr": ("ip4", "[src, dst]"),
    "ipv6.version": ("ip6", "6"),
    "ipv6.plen": ("ip6", "h.length - 40"),
    "ipv6.nxt": ("ip6", "h.proto"),
    "ipv6.hlim": ("ip6", "h.hlim"),
    "ipv6.src": ("ip6", "src"),
    "ipv6.dst": ("ip6", "dst"),
    "ipv6.addr": ("ip6", "[src, dst]"),
    "tcp.srcport": ("tcp", "sport"),
    "tcp.dstport": ("tcp", "dport"),
    "tcp.port": ("tcp", "[sport, dport]"),
    "tcp.seq": ("tcp", "_II(d, l4 + 4)[0]"),
    "tcp.seq_raw": ("tcp", "_II(d, l4 + 4)[0]"),
    "tcp.ack": ("tcp", "_II(d, l4 + 4)[1]"),
    "tcp.ack_raw": ("tcp", "_II(d, l4 + 4)[1]"),
    "tcp.hdr_len": ("tcp", "(d[l4 + 12] >> 4) * 4"),
    "tcp.flags": ("tcp", "_u16(d, l4 + 12)[0] & 0x0FFF"),
    "tcp.flags.fin": ("tcp", "d[l4 + 13] & 1"),
    "tcp.flags.syn": ("tcp", "d[l4 + 13] >> 1 & 1"),
    "tcp.flags.reset": ("tcp", "d[l4 + 13] >> 2 & 1"),
    "tcp.flags.push": ("tcp", "d[l4 + 13] >> 3 & 1"),
    "tcp.flags.ack": ("tcp", "d[l4 + 13] >> 4 & 1"),
    "tcp.flags.urg": ("tcp", "d[l4 + 13] >> 5 & 1"),
    "tcp.flags.ece": ("tcp", "d[l4 + 13] >> 6 & 1"),
    "tcp.flags.cwr": ("tcp", "d[l4 + 13] >> 7 & 1"),
    "tcp.len": ("tcp", "m.end - l4 - (d[l4 + 12] >> 4) * 4"),
    "udp.srcport": ("udp", "sport"),
    "udp.dstport": ("udp", "dport"),
    "udp.port": ("udp", "[sport, dport]"),
    "udp.length": ("udp", "m.end - l4"),
}
_PRELUDE = {
    "eth": "edst, esrc = mac(d[0:6]), mac(d[6:12])",
    "ip4": "src, dst = ip4(h.src), ip4(h.dst)",
    "ip6": "src, dst = ip6(h.src), ip6(h.dst)",
    "tcp": "sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]",
    "udp": "sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]",
}


def walker(names: frozenset[str]) -> Callable[[Frame, Any], dict[str, Any] | None]:
    """``walked`` specialised to the FAST fields in ``names`` (generated code: it computes only those,
    in the same way), for the frame_matcher of one filter; tests/model/test_fastfields.py compares it
    with ``walked``."""
    by: dict[str, list[str]] = {"eth": [], "ip4": [], "ip6": [], "tcp": [], "udp": []}
    for n in sorted(names):
        g = _GEN.get(n)
        if g is not None:
            by[g[0]].append(f"    {'    ' * (g[0] != 'eth')}f[{n!r}] = {g[1]}")
    if "ip.version" in names:  # Wireshark's IPv6 header has a hidden ip.version too
        by["ip6"].append("        f['ip.version'] = 6")
    src = [
        "def walk(frame, m):",
        "    d = frame[1]",
        "    if m.end > len(d):",
        "        return None",
        "    f = {'frame.len': frame[2], 'frame.cap_len': len(d)}",
        "    if frame[3] == LINKTYPE_ETHERNET:",
    ]
    src += (
        (["        " + _PRELUDE["eth"]] + ["    " + x for x in by["eth"]]) if by["eth"] else ["        pass"]
    )
    src += ["    elif frame[3] not in _RAW:", "        return None"]
    if by["ip4"] or by["ip6"] or by["tcp"] or by["udp"]:
        src += [
            "    v = m.version",
            "    if not v:",
            "        return f",
            "    h = (ipv4 if v == 4 else ipv6)(d, m.net)",
            "    if h is None:",
            "        return None",
        ]
        if by["ip4"] or by["ip6"]:
            src += ["    if v == 4:"]
            src += (["        " + _PRELUDE["ip4"]] + by["ip4"]) if by["ip4"] else ["        pass"]
            src += ["    else:"]
            src += (["        " + _PRELUDE["ip6"]] + by["ip6"]) if by["ip6"] else ["        pass"]
        if by["tcp"] or by["udp"]:
            src += ["    l4 = m.l4", "    if l4 < 0:", "        return f", "    if m.proto == 6:"]
            src += (["        " + _PRELUDE["tcp"]] + by["tcp"]) if by["tcp"] else ["        pass"]
            src += ["    else:"]
            src += (["        " + _PRELUDE["udp"]] + by["udp"]) if by["udp"] else ["        pass"]
    src.append("    return f")
    ns: dict[str, Any] = {
        "LINKTYPE_ETHERNET": LINKTYPE_ETHERNET,
        "_RAW": _RAW,
        "mac": mac,
        "ip4": ip4,
        "ip6": ip6,
        "ipv4": ipv4,
        "ipv6": ipv6,
        "_u16": _u16,
        "_II": _II,
    }
    exec(compile("\n".join(src), f"<walker {' '.join(sorted(names))[:60]}>", "exec"), ns)
    fn: Callable[[Frame, Any], dict[str, Any] | None] = ns["walk"]
    return fn


#: FAST field -> (when the walked layers hold it, the code of each occurrence's value as the filter
#: engine normalises it: addresses as ints, MACs as bytes), for filters compiled to struct reads
#: (``quick``); the names the code uses are set by ``quick``'s prelude. tests/model/test_fastfields.py
#: compares each with ``walked`` on every corpus packet.
RAW_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "frame.len": ("True", ("frame[2]",)),
    "frame.cap_len": ("True", ("len(d)",)),
    "eth.dst": ("lt == 1", ("d[0:6]",)),
    "eth.src": ("lt == 1", ("d[6:12]",)),
    "eth.addr": ("lt == 1", ("d[0:6]", "d[6:12]")),
    "eth.type": ("lt == 1", ("_u16(d, 12)[0]",)),
    "ip.version": ("v", ("v",)),  # IPv6 carries Wireshark's hidden ip.version too
    "ip.hdr_len": ("v == 4", ("(d[net] & 15) * 4",)),
    "ip.len": ("v == 4", ("_u16(d, net + 2)[0]",)),
    "ip.id": ("v == 4", ("_u16(d, net + 4)[0]",)),
    "ip.ttl": ("v == 4", ("d[net + 8]",)),
    "ip.proto": ("v == 4", ("d[net + 9]",)),
    "ip.src": ("v == 4", ("_u32(d, net + 12)[0]",)),
    "ip.dst": ("v == 4", ("_u32(d, net + 16)[0]",)),
    "ip.addr": ("v == 4", ("_u32(d, net + 12)[0]", "_u32(d, net + 16)[0]")),
    "ipv6.version": ("v == 6", ("6",)),
    "ipv6.plen": ("v == 6", ("_u16(d, net + 4)[0]",)),
    "ipv6.nxt": ("v == 6", ("d[net + 6]",)),
    "ipv6.hlim": ("v == 6", ("d[net + 7]",)),
    "ipv6.src": ("v == 6", ("_int(d[net + 8 : net + 24], 'big')",)),
    "ipv6.dst": ("v == 6", ("_int(d[net + 24 : net + 40], 'big')",)),
    "ipv6.addr": ("v == 6", ("_int(d[net + 8 : net + 24], 'big')", "_int(d[net + 24 : net + 40], 'big')")),
    "tcp.srcport": ("t", ("_u16(d, l4)[0]",)),
    "tcp.dstport": ("t", ("_u16(d, l4 + 2)[0]",)),
    "tcp.port": ("t", ("_u16(d, l4)[0]", "_u16(d, l4 + 2)[0]")),
    "tcp.len": ("t", ("m.end - l4 - (d[l4 + 12] >> 4) * 4",)),
    "udp.srcport": ("u", ("_u16(d, l4)[0]",)),
    "udp.dstport": ("u", ("_u16(d, l4 + 2)[0]",)),
    "udp.port": ("u", ("_u16(d, l4)[0]", "_u16(d, l4 + 2)[0]")),
    "udp.length": ("u", ("m.end - l4",)),
}
for _n, _g in _GEN.items():  # the TCP header's other fields: the walker's own code
    if _n.startswith("tcp.") and _n not in RAW_FIELDS:
        RAW_FIELDS[_n] = ("t", (_g[1],))
#: protocol -> when the walked layers hold it (its presence in frame.protocols)
RAW_PRESENCE = {"eth": "lt == 1", "ip": "v == 4", "ipv6": "v == 6", "tcp": "t", "udp": "u"}
_u32 = struct.Struct("!I").unpack_from


def quick(expr: str) -> Callable[[Frame, Any], bool | None]:
    """A filter compiled to struct reads of the walked layers: ``expr`` (``filters.raw_source``: the
    filter over RAW_FIELDS' values and RAW_PRESENCE) in a function of (frame, layer map) that decides
    a packet whose rest holds nothing the filter names, as ``pred(walked(...))`` would (no dict, no
    address text); None where ``walked`` gives None (a link other than Ethernet or raw IP, a packet
    cut by the capture)."""
    src = "\n".join(
        [
            "def quick(frame, m):",
            "    d = frame[1]",
            "    if m.end > len(d):",
            "        return None",
            "    lt = frame[3]",
            "    if lt != 1 and lt not in _RAW:",
            "        return None",
            "    v, net, l4, pr = m.version, m.net, m.l4, m.proto",
            "    t = l4 >= 0 and pr == 6",
            "    u = l4 >= 0 and pr == 17",
            f"    return bool({expr})",
        ]
    )
    ns: dict[str, Any] = {"_RAW": _RAW, "_u16": _u16, "_u32": _u32, "_II": _II, "_int": int.from_bytes}
    exec(compile(src, f"<quick {expr[:60]}>", "exec"), ns)
    fn: Callable[[Frame, Any], bool | None] = ns["quick"]
    return fn


#: how many frame.protocols strings a presence filter remembers its answer for (then it starts over)
STACKS_MAX = 4096


def frame_matcher(
    needed: frozenset[str],
    pred: Callable[[dict[str, Any]], bool],
    conjuncts: tuple[tuple[frozenset[str], Callable[[dict[str, Any]], bool]], ...] = (),
    raw: str | None = None,
    raw_parts: tuple[str | None, ...] = (),
) -> Callable[[Frame], bool] | None:
    """frame -> does ``pred`` (a compiled filter reading ``needed``) match, decoding only the layers and
    fields the filter names; None when the filter reads something only a whole dissection gives
    (``frame.*`` other than frame.len / frame.cap_len, ``_ws.*``, ``frame.protocols``).

    From the packet's layer map (``decode.layers.layer_map``):
    - no protocol the filter names is in the walked layers nor in the rest's reach: the answer is the
      filter's on a packet without them, computed once (``dns`` on a TLS segment, on ARP);
    - a filter that only asks which protocols are present (``dns``, ``http or arp``): its answer on
      the stack, remembered per stack string; the stack comes from the walk when nothing the filter
      names can follow, else from a dissection of the rest alone (``dissect_rest``, columns only);
    - fields: those of the walked layers from their headers (``walked``), those of the rest from
      ``dissect_rest`` (only when the rest may hold a protocol the filter names), in packet order;
    - a filter on DNS question names alone (``dns.qry.name contains "x"``) reads them with the DNS
      dissector's own question loop (``dns_query_names``) when the rest is DNS, mDNS or LLMNR;
    - packets the walk does not vouch for (``decode.layers.vouched``: a heuristic, a conversation or
      a refusing port dissector may take the rest) take ``layer_fields`` (or a columns-only dissection).
    ``conjuncts``: (fields read, predicate) of each part of a top-level ``and``. Before dissecting the
    rest, a part that names no protocol the rest can hold is decided on the walked layers: if it is
    false, so is the filter (``ip.addr == 10.0.0.0/8 && tcp.port == 443`` on an SSH segment from
    192.168.1.1 needs no SSH dissection).
    ``raw`` / ``raw_parts``: the filter and its parts as struct reads (``filters.raw_source``, None where
    it cannot be): then the walked layers decide with ``quick``, without a fields dict.
    A packet the walk maps but does not vouch for takes a columns-only dissection first: a part on
    the walked protocols that the stack holds only as often as the walk is decided by the walked
    layers, one naming none of the stack's protocols on the stack, and a false one ends it (a TLS
    segment on a port of its own for ``ip.addr == 10.0.0.0/8 && tcp.port == 443``); only the rest
    take ``layer_fields``.
    tests/model/test_fastfields.py checks it selects what ``matches(frame_fields(frame))`` selects on
    every corpus packet."""
    from sniffer.decode.core import data_layer
    from sniffer.decode.engine import run
    from sniffer.decode.fields import layer_fields

    if not needed or "frame.protocols" in needed:
        return None
    if needed <= _FRAME_OK | {"frame"}:  # frame.len / frame.cap_len: nothing to decode
        return lambda frame: pred({"frame.len": frame[2], "frame.cap_len": len(frame[1])})
    if any(n.startswith("_ws.") or (n.startswith("frame.") and n not in _FRAME_OK) for n in needed):
        return None
    tops = frozenset(n.split(".", 1)[0] for n in needed) - {"frame"}
    names = needed - {"frame"}
    if any(n not in tops and n not in FAST_FIELDS and n.split(".", 1)[0] in _STACK_NAMES for n in names):
        return None  # a field of a walked layer that the walk does not read (tcp.window_size, vlan.id)
    presence = names == tops  # only "is protocol X there"
    heads = tops & _WALKED  # protocols whose fields the walk gives
    walk = walker(needed)
    if presence:
        stacks: dict[str, bool] = {}

        def by_stack(p: str) -> bool:
            r = stacks.get(p)
            if r is None:
                if len(stacks) > STACKS_MAX:
                    stacks.clear()
                r = stacks[p] = pred({"frame.protocols": p})
            return r

    qk = quick(raw) if raw is not None and not presence else None
    parts_q = [quick(r) if r is not None else None for r in raw_parts]
    checks = tuple(
        (frozenset(n.split(".", 1)[0] for n in names_i) - {"frame"}, p_i, parts_q[i] if parts_q else None)
        for i, (names_i, p_i) in enumerate(conjuncts)
    )
    checks = checks if len(checks) > 1 and not presence else ()
    dict_checks = any(q_i is None for _, _, q_i in checks)  # a part the struct reads cannot decide
    # the parts a columns-only stack may decide (the whole filter when it is not an "and")
    by_protos = checks or ((tops, pred, qk),)
    # a columns-only stack can decide a part only if it names walked protocols alone (``on_stack``)
    stack_decides = any(t_i <= _WALKED for t_i, _, _ in by_protos)

    def refuted(frame: Frame, m: Any, w: dict[str, Any] | None) -> bool:
        """True if a conjunct decided on the walked layers alone is false."""
        after = m.after
        if w is not None:
            w["frame.protocols"] = m.protos
        for t_i, p_i, q_i in checks:
            if t_i.isdisjoint(after):
                r = q_i(frame, m) if q_i is not None else None
                if r is None:
                    if w is None:
                        continue
                    r = p_i(w)
                if not r:
                    return True
        return False

    def on_stack(frame: Frame, m: Any, protos: list[str]) -> bool | None:
        """The filter decided from the packet's whole stack ``protos`` (a columns-only dissection)
        and the walked layers of ``m`` (None: no walk), or None when a part needs the fields of the
        rest: a part naming none of the stack's protocols is decided without fields; a part whose
        protocols occur in the stack only as often as in the walk, on the walked layers (the rest
        added none of them: a heuristic took a TCP payload, a PIM message other than a Register)."""
        names = set(protos)
        if "ipv6" in names:
            names.add("ip")  # IPv6 carries Wireshark's hidden ip.version
        bare: dict[str, Any] | None = None
        w: dict[str, Any] | None = None
        mine = m.protos.split(":") if m is not None else ()
        undecided = False
        for t_i, p_i, q_i in by_protos:
            if not t_i <= _WALKED:  # (mdns carries dns.* fields: only the walked layers' own are sure)
                undecided = True
            elif t_i.isdisjoint(names):
                if bare is None:
                    bare = {"frame.protocols": ":".join(protos), "frame.len": frame[2]}
                    bare["frame.cap_len"] = len(frame[1])
                if not p_i(bare):
                    return False
            elif mine and all(
                protos.count(x) == mine.count(x) and (x != "ip" or protos.count("ipv6") == mine.count("ipv6"))
                for x in t_i
            ):
                r = q_i(frame, m) if q_i is not None else None
                if r is None:
                    if w is None:
                        w = walk(frame, m)
                        if w is None:
                            undecided = True
                            continue
                        w["frame.protocols"] = ":".join(protos)
                    r = p_i(w)
                if not r:
                    return False
            else:
                undecided = True
        return None if undecided else True

    def unvouched(frame: Frame, m: Any) -> bool:
        """A packet the walk maps but does not vouch for (a heuristic may take the rest): decided on
        its stack where it can be (``on_stack``), else on ``layer_fields``. (Not for tunnels nor for
        packets the walk cannot map: there the columns-only dissection costs about what the fields
        do, and an undecided packet would pay both; measured on the real-traffic file.)"""
        r = on_stack(frame, m, run(frame, False, False, True).protos)
        return pred(layer_fields(frame)) if r is None else r

    qnames = names == {"dns.qry.name"}  # DNS question names alone: read them, not the whole message
    dns_fns: frozenset[Any] = frozenset()
    if qnames:
        from sniffer.decode import app

        dns_fns = frozenset({app.dissect_dns, app.dissect_mdns, app.dissect_llmnr})
    # the DNS dissector pushes "dns" before anything else and no other protocol the filter names may
    # follow: a presence filter knows the stack of a DNS message from the walk (test_fastfields checks
    # the pushed layer on every corpus DNS message)
    dns_only: Any = None
    if presence and "dns" in tops:
        from sniffer.decode import app

        if not (tops - {"dns"}) & reach(app.dissect_dns):
            dns_only = app.dissect_dns
    absent: list[bool] = []  # the answer on a packet without any protocol the filter names
    frame_ok = bool(needed & _FRAME_OK)

    def none_named() -> bool:
        if not absent:
            absent.append(pred({"frame.protocols": ""}))
        return absent[0]

    def match(frame: Frame) -> bool:
        m = layer_map(frame)
        if m is None or not vouched(frame, m):
            # not walked, or a conversation, a heuristic or a refusing port dissector may take the rest
            if presence:
                return by_stack(":".join(run(frame, False, False, True).protos))
            return pred(layer_fields(frame)) if m is None or not stack_decides else unvouched(frame, m)
        after = m.after
        if tops.isdisjoint(after):  # nothing named beyond the walked layers
            if not frame_ok and tops.isdisjoint(m.heads):
                return absent[0] if absent else none_named()
            if presence:
                return by_stack(m.protos + ":data" if m.rest is data_layer else m.protos)
            if qk is not None:
                r = qk(frame, m)
                if r is not None:
                    return r
            f = walk(frame, m)
            if f is not None:
                f["frame.protocols"] = m.protos  # enough to tell which named protocols are there
                return pred(f)
        elif m.version and m.rest is not None:
            if presence:
                if m.rest is dns_only:  # DNS on its port: the stack is known without the records
                    return by_stack(m.protos + ":dns")
                return by_stack(":".join(dissect_rest(frame, m, True).protos))
            if qnames and m.rest in dns_fns:
                q = dns_query_names(frame[1], m.rest_off, m.end)
                if q is not None:
                    return pred({"dns.qry.name": q[0] if len(q) == 1 else q} if q else {})
            if checks and not dict_checks and refuted(frame, m, None):
                return False
            w = walk(frame, m) if heads or dict_checks else None
            if dict_checks and refuted(frame, m, w):
                return False
            if w is not None or not heads:
                ctx = dissect_rest(frame, m, False)
                f = ctx.fields
                if w:
                    for k, v in w.items():  # the walked layers come first in the packet
                        old = f.get(k)
                        if old is None:
                            f[k] = v
                        else:
                            f[k] = (v if type(v) is list else [v]) + (old if type(old) is list else [old])
                f["frame.protocols"] = ":".join(ctx.protos)
                f["frame.len"], f["frame.cap_len"] = frame[2], len(frame[1])
                return pred(f)
        elif presence:
            return by_stack(":".join(run(frame, False, False, True).protos))
        elif checks and refuted(frame, m, walk(frame, m) if dict_checks else None):
            return False
        return pred(layer_fields(frame))

    return match


_FRAME_OK = frozenset({"frame.len", "frame.cap_len"})
_WALKED = frozenset({"eth", "ip", "ipv6", "tcp", "udp"})
#: every name a layer map's stack can hold (decode.layers: link, VLAN tags, IP, transport)
_STACK_NAMES = frozenset(
    {"eth", "ethertype", "vlan", "ieee8021ad", "sll", "null", "raw", "ip", "ipv6", "tcp", "mptcp", "udp"}
)


def dns_query_names(data: bytes, off: int, end: int) -> list[str] | None:
    """The ``dns.qry.name`` values of the DNS (mDNS, LLMNR) message at ``off``, as the DNS dissector
    (``decode.app._dns``) reads them: its question loop with its name reader, nothing else; None when
    the header is cut (the caller dissects). tests/model/test_fastfields.py compares it with the
    dissector on every corpus DNS message."""
    from sniffer.decode.app import _MAX_RECORDS, dns_name

    lim = min(end, len(data))
    if off + 12 > lim:
        return None
    names: list[str] = []
    o = off + 12
    for _ in range(min(_u16(data, off + 4)[0], _MAX_RECORDS)):
        r = dns_name(data, off, o, lim)
        if r is None or o + r[1] + 4 > lim:
            break
        names.append(r[0])
        o += r[1] + 4
    return names
