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
from sniffer.decode.layers import dissect_rest, ipv4, ipv6, layer_map
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


def headers(frame: Frame, heads: frozenset[str] | None = None) -> dict[str, Any] | None:
    """The FAST_FIELDS of a plain packet, with values as frame_fields gives them; None if not plain.
    ``heads``: only the fields of these protocols (eth, ip/ipv6, tcp/udp) are needed (default: all).

    Plain: the layer map (sniffer.decode.layers) walks the packet, there is no VLAN tag, and what follows
    the transport cannot hold a second network layer (a tunnel); ICMP and ICMPv6 are not errors."""
    m = layer_map(frame)
    d = frame[1]
    if m is None or m.end > len(d):
        return None  # cut by the capture
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
    if heads is not None and heads.isdisjoint(_L3):
        pass  # no IP field needed
    elif h.version == 4:
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
    protos = m.protos
    l4 = m.l4
    proto = h.proto
    if heads is not None and proto in (6, 17) and heads.isdisjoint(_L4):
        pass  # no TCP/UDP field needed (the stack says which it is)
    elif proto == 6:
        sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
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
        f["tcp.len"] = m.end - l4 - thl
    elif proto == 17:
        sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
        f["udp.srcport"], f["udp.dstport"], f["udp.port"] = sport, dport, [sport, dport]
        f["udp.length"] = m.end - l4
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
