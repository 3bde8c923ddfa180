"""Lazy decoding for display filters: the common L2-L4 fields straight from the headers, full decode otherwise.

A filter that reads only fields listed in FAST_FIELDS (``tcp.port == 80``, ``ip.addr == 10.0.0.0/8 and
udp``, ``frame.len > 1000``...) is evaluated on a small dict built from the packet's headers
(a few microseconds) instead of ``decode.fields.frame_fields`` (~100 µs). Only "plain" packets take
this path: Ethernet without VLAN tags, SLL/SLL2/raw/loopback, IPv4 without fragmentation, IPv6 without
extension headers, TCP/UDP/ICMP/ICMPv6/IGMP that is not an ICMP error and not a tunnel. Everything
else goes through the full decoder, so both paths give the same fields (tests/model/test_fastfields.py).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any

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
_ntoa = socket.inet_ntoa
_ICMP_ERRORS = frozenset((3, 4, 5, 11, 12))
_VXLAN = 4789


def _mac(b: bytes) -> str:
    return b.hex(":")


def headers(frame: Frame) -> dict[str, Any] | None:
    """The FAST_FIELDS of a plain packet, with values as frame_fields gives them; None if not plain."""
    d, lt = frame.data, frame.linktype
    f: dict[str, Any] = {"frame.len": frame.wirelen, "frame.cap_len": len(d)}
    if lt == LINKTYPE_ETHERNET:
        if len(d) < 14:
            return None
        et = _u16(d, 12)[0]
        f["eth.dst"] = edst = _mac(d[0:6])
        f["eth.src"] = esrc = _mac(d[6:12])
        f["eth.addr"] = [edst, esrc]  # wire order, as Wireshark lists it
        f["eth.type"] = et
        off, protos = 14, "eth:ethertype"
    elif lt in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        if not d:
            return None
        et = {4: 0x0800, 6: 0x86DD}.get(d[0] >> 4, 0)
        off, protos = 0, "raw"
    else:
        return None  # SLL/SLL2/NULL: rare enough to leave to the full decoder
    if et == 0x0806:
        return None if lt != LINKTYPE_ETHERNET else {**f, "frame.protocols": protos + ":arp"}
    if et == 0x0800:
        if len(d) < off + 20:
            return None
        vhl = d[off]
        ihl = (vhl & 0x0F) * 4
        total = _u16(d, off + 2)[0]
        if vhl >> 4 != 4 or ihl < 20 or total < ihl or off + total > len(d) or _u16(d, off + 6)[0] & 0x3FFF:
            return None  # truncated, odd lengths or a fragment
        proto = d[off + 9]
        f["ip.version"] = 4
        f["ip.hdr_len"] = ihl  # bytes, as Wireshark
        f["ip.len"] = total
        f["ip.id"] = _u16(d, off + 4)[0]
        f["ip.ttl"] = d[off + 8]
        f["ip.proto"] = proto
        src, dst = _ntoa(d[off + 12 : off + 16]), _ntoa(d[off + 16 : off + 20])
        f["ip.src"], f["ip.dst"], f["ip.addr"] = src, dst, [src, dst]
        l4, end = off + ihl, off + total
        protos += ":ip"
    elif et == 0x86DD:
        if len(d) < off + 40 or d[off] >> 4 != 6:
            return None
        plen = _u16(d, off + 4)[0]
        proto = d[off + 6]
        if plen == 0 or off + 40 + plen > len(d):
            return None  # jumbogram or truncated
        f["ipv6.version"] = f["ip.version"] = 6  # Wireshark's IPv6 header has a hidden ip.version too
        f["ipv6.plen"] = plen
        f["ipv6.nxt"] = proto
        f["ipv6.hlim"] = d[off + 7]
        src = socket.inet_ntop(socket.AF_INET6, d[off + 8 : off + 24])
        dst = socket.inet_ntop(socket.AF_INET6, d[off + 24 : off + 40])
        f["ipv6.src"], f["ipv6.dst"], f["ipv6.addr"] = src, dst, [src, dst]
        l4, end = off + 40, off + 40 + plen
        protos += ":ipv6"
    else:
        return None
    if proto == 6:
        if end < l4 + 20:
            return None
        thl = (d[l4 + 12] >> 4) * 4
        if thl < 20 or end < l4 + thl:
            return None
        sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
        seq, ack = struct.unpack_from("!II", d, l4 + 4)
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
        protos += ":tcp"
    elif proto == 17:
        if end < l4 + 8:
            return None
        sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
        ulen = _u16(d, l4 + 4)[0]
        if ulen != end - l4 or _VXLAN in (sport, dport):
            return None  # length mismatch (malformed) or a tunnel
        f["udp.srcport"], f["udp.dstport"], f["udp.port"] = sport, dport, [sport, dport]
        f["udp.length"] = ulen
        protos += ":udp"
    elif proto == 1 and et == 0x0800:
        if end < l4 + 4 or d[l4] in _ICMP_ERRORS:
            return None
        f["icmp.type"], f["icmp.code"] = d[l4], d[l4 + 1]
        protos += ":icmp"
    elif proto == 58 and et == 0x86DD:
        if end < l4 + 4 or 1 <= d[l4] <= 4:
            return None
        f["icmpv6.type"], f["icmpv6.code"] = d[l4], d[l4 + 1]
        protos += ":icmpv6"
    elif proto == 2 and et == 0x0800:
        protos += ":igmp"
    else:
        return None
    # the stack up to the transport layer: enough for the presence of the protocols above (filters that
    # read frame.protocols itself, which may go on to "data" or "dns", take the full decoder)
    f["frame.protocols"] = protos
    return f


def extractor(needed: frozenset[str]) -> Callable[[Frame], dict[str, Any]]:
    """frame -> fields dict, decoding only what ``needed`` asks for.

    - only FAST_FIELDS: the header fast path, else the layer fields;
    - no ``frame.*`` / ``_ws.*`` field beyond frame.len / cap_len / protocols: when the summary's fast
      path takes the packet its protocol stack is known without dissecting (``fast_protocols``); if no
      needed field belongs to a protocol of that stack, the headers (or nothing) are enough; else the
      layer fields (a dissection without the frame.* and _ws.* fields and columns);
    - anything else: the full ``frame_fields``.
    Both cheap paths give the same values as ``frame_fields`` for what ``needed`` names
    (tests/model/test_fastfields.py)."""
    from sniffer.decode.fields import frame_fields, layer_fields
    from sniffer.decode.summary import fast_protocols

    if not needed:
        return frame_fields
    if needed <= FAST_FIELDS | {"frame"}:

        def fields(frame: Frame) -> dict[str, Any]:
            f = headers(frame)
            return layer_fields(frame) if f is None else f

        return fields
    extra = needed - FAST_FIELDS - {"frame", "frame.protocols"}
    if any(n.startswith(("frame.", "_ws.")) for n in extra):
        return frame_fields
    tops = frozenset(n.split(".", 1)[0] for n in extra)
    want_headers = bool(needed & FAST_FIELDS)

    def lazy(frame: Frame) -> dict[str, Any]:
        p = fast_protocols(frame)
        if p is not None and tops.isdisjoint(p.split(":")):
            if not want_headers:
                return {"frame.protocols": p}
            f = headers(frame)
            if f is not None:
                f["frame.protocols"] = p
                return f
        return layer_fields(frame)

    return lazy
