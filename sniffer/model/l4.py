"""A small, fast L2-L4 walk for flows and statistics: addresses, ports, TCP sequence state and payload.

This is deliberately narrow (what conversations, stream numbering and follow-stream need) and pure: it
takes a Frame's bytes and returns a ``Transport`` tuple or None. Full decoding lives in sniffer.decode.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from sniffer.decode.core import ip4, ip6
from sniffer.decode.layers import (  # the constants re-exported: flows and stats name them from here
    ETH_ARP as ETH_ARP,
)
from sniffer.decode.layers import (
    ETH_IPV4 as ETH_IPV4,
)
from sniffer.decode.layers import (
    ETH_IPV6 as ETH_IPV6,
)
from sniffer.decode.layers import (
    PROTO_ICMP as PROTO_ICMP,
)
from sniffer.decode.layers import (
    PROTO_ICMPV6 as PROTO_ICMPV6,
)
from sniffer.decode.layers import (
    PROTO_IGMP as PROTO_IGMP,
)
from sniffer.decode.layers import (
    PROTO_TCP as PROTO_TCP,
)
from sniffer.decode.layers import (
    PROTO_UDP as PROTO_UDP,
)
from sniffer.decode.layers import (
    VLAN_TYPES as VLAN_TYPES,
)
from sniffer.decode.layers import ip, link
from sniffer.frame import LINKTYPE_ETHERNET, Frame

IPV6_EXT = (0, 43, 60, 51)  # hop-by-hop, routing, destination options, AH (fragment 44 handled apart)

ICMP_ERRORS = (3, 4, 5, 11, 12)  # unreachable, source quench, redirect, time exceeded, parameter problem

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10

_u16 = struct.Struct("!H").unpack_from


def _addr(b: bytes) -> str:
    return ip4(b) if len(b) == 4 else ip6(b)


class Transport(NamedTuple):
    """What flows and statistics need of one packet (network byte order values already decoded)."""

    version: int  # 4 or 6, 0 when there is no IP layer (then only eth fields are meaningful)
    src: str  # IP source as text ("" without IP)
    dst: str
    proto: int  # IP protocol number of the transport (-1 when unknown / non-first fragment)
    sport: int  # TCP/UDP ports, 0 otherwise
    dport: int
    seq: int  # TCP raw sequence number
    ack: int
    flags: int  # TCP flags
    payload: bytes  # TCP/UDP payload (captured part)
    eth_src: str  # "" without Ethernet
    eth_dst: str
    frag: tuple[int, int, int, int, int] | None = None  # IPv4 fragment: (flags+offset, proto, l4, end, id)
    quoted: bool = False  # addresses/ports come from the packet quoted in an ICMP error
    window: int = 0  # TCP window field as sent (not scaled)


class Defragmenter:
    """IPv4 reassembly for flow purposes: the fragment that completes a datagram carries its transport."""

    def __init__(self, max_pending: int = 4096) -> None:
        self._pending: dict[tuple[str, str, int, int], dict[int, bytes]] = {}
        self._last: dict[tuple[str, str, int, int], int] = {}
        self._max = max_pending

    def feed(self, frame: Frame, t: Transport) -> Transport:
        """Return ``t`` itself, or for a completed datagram the transport of the reassembled payload."""
        assert t.frag is not None
        flags_off, proto, l4, end, ident = t.frag
        d = frame.data
        if l4 > len(d) or (flags_off & 0x3FFF) == 0:
            return t  # truncated header, not a fragment
        key = (t.src, t.dst, proto, ident)
        parts = self._pending.setdefault(key, {})
        if len(self._pending) > self._max:
            self._pending.pop(next(iter(self._pending)))
        offset = (flags_off & 0x1FFF) * 8
        parts[offset] = d[l4:end]
        if not flags_off & 0x2000:  # MF clear: the last fragment tells the total length
            self._last[key] = offset + len(parts[offset])
        total = self._last.get(key)
        if total is None:
            return t
        buf = bytearray()
        for off in sorted(parts):
            if off > len(buf):
                return t  # a hole: wait for more
            chunk = parts[off]
            if off + len(chunk) > len(buf):
                buf[off:] = chunk
        if len(buf) < total:
            return t
        del self._pending[key], self._last[key]
        whole = bytes(buf[:total])
        r = _l4(t.version, t.src, t.dst, proto, whole, 0, len(whole), t.eth_src, t.eth_dst)
        return r


def _mac(b: bytes) -> str:
    return b.hex(":")


def _link(frame: Frame) -> tuple[int, int, str, str] | None:
    """(ethertype, offset of the network header, eth src, eth dst) or None (the walk of decode.layers)."""
    d = frame.data
    lk = link(d, frame.linktype)
    if lk is None:
        return None
    if frame.linktype == LINKTYPE_ETHERNET:
        return lk[0], lk[1], _mac(d[6:12]), _mac(d[0:6])
    return lk[0], lk[1], "", ""


def network(frame: Frame) -> tuple[str, str, int, str, str] | None:
    """(eth src, eth dst, IP version, IP src, IP dst) of the outermost layers ("" / 0 where absent)."""
    lk = _link(frame)
    if lk is None:
        return None
    et, off, esrc, edst = lk
    d = frame.data
    h = ip(d, et, off)
    if h is None or h.hlen < 20 or len(d) < off + h.hlen:
        return esrc, edst, 0, "", ""
    return esrc, edst, h.version, _addr(h.src), _addr(h.dst)


def transport(frame: Frame) -> Transport | None:
    """Walk link, IP and TCP/UDP headers. None when the frame has no IPv4/IPv6 layer."""
    lk = _link(frame)
    if lk is None:
        return None
    et, off, esrc, edst = lk
    return _ip(et, frame.data, off, esrc, edst, False)


def _ip(et: int, d: bytes, off: int, esrc: str, edst: str, quoted: bool) -> Transport | None:
    h = ip(d, et, off)
    if h is None:
        return None
    src, dst, proto = _addr(h.src), _addr(h.dst), h.proto
    if h.version == 4:
        ihl, total, frag = h.hlen, h.length, h.frag
        end = min(len(d), off + total) if total >= ihl and not quoted else len(d)
        l4 = off + ihl
        if frag & 0x3FFF or ihl < 20 or len(d) < l4:  # a fragment, or a truncated header
            fr = (frag, proto, l4, end, h.ident)
            return Transport(4, src, dst, -1, 0, 0, 0, 0, 0, b"", esrc, edst, None if quoted else fr, quoted)
        version = 4
    else:
        plen = h.length - 40
        end = min(len(d), off + 40 + plen) if plen and not quoted else len(d)
        l4 = off + 40
        version = 6
        while proto in IPV6_EXT or proto == 44:
            if len(d) < l4 + 8:
                return Transport(6, src, dst, -1, 0, 0, 0, 0, 0, b"", esrc, edst, None, quoted)
            nxt = d[l4]
            if proto == 44:
                if _u16(d, l4 + 2)[0] & 0xFFF9:  # a real fragment (not an atomic one): not reassembled
                    return Transport(6, src, dst, -1, 0, 0, 0, 0, 0, b"", esrc, edst, None, quoted)
                l4 += 8
            elif proto == 51:
                l4 += (d[l4 + 1] + 2) * 4
            else:
                l4 += (d[l4 + 1] + 1) * 8
            proto = nxt
    if not quoted and len(d) >= l4 + 8:
        icmp_type = d[l4]
        if (proto == PROTO_ICMP and icmp_type in ICMP_ERRORS) or (
            proto == PROTO_ICMPV6 and 1 <= icmp_type <= 4
        ):
            inner = _ip(ETH_IPV4 if proto == PROTO_ICMP else ETH_IPV6, d, l4 + 8, esrc, edst, True)
            if inner is not None and inner.proto in (PROTO_TCP, PROTO_UDP):
                return inner
    t = _l4(version, src, dst, proto, d, l4, end, esrc, edst)
    return t._replace(quoted=True, payload=b"") if quoted else t


def _l4(
    version: int, src: str, dst: str, proto: int, d: bytes, l4: int, end: int, esrc: str, edst: str
) -> Transport:
    if proto == PROTO_TCP and len(d) >= l4 + 20:
        sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
        seq, ack, offflags, win = struct.unpack_from("!IIHH", d, l4 + 4)
        hl = (offflags >> 12) * 4
        flags = offflags & 0x0FFF
        payload = d[l4 + hl : end] if hl >= 20 else b""
        return Transport(
            version, src, dst, proto, sport, dport, seq, ack, flags, payload, esrc, edst, window=win
        )
    if proto == PROTO_UDP and len(d) >= l4 + 8:
        sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
        ulen = _u16(d, l4 + 4)[0]
        uend = min(end, l4 + ulen) if ulen >= 8 else end
        return Transport(version, src, dst, proto, sport, dport, 0, 0, 0, d[l4 + 8 : uend], esrc, edst)
    if proto in (PROTO_TCP, PROTO_UDP):  # header cut short: no ports to speak of
        proto = -1
    return Transport(version, src, dst, proto, 0, 0, 0, 0, 0, b"", esrc, edst)
