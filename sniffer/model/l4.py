"""A small, fast L2-L4 walk for flows and statistics: addresses, ports, TCP sequence state and payload.

This is deliberately narrow (what conversations, stream numbering and follow-stream need) and pure: it
takes a Frame's bytes and returns a ``Transport`` tuple or None. Full decoding lives in sniffer.decode.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

from sniffer.frame import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    Frame,
)

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)  # 802.1Q, 802.1ad, old QinQ

PROTO_ICMP = 1
PROTO_IGMP = 2
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58
IPV6_EXT = (0, 43, 60, 51)  # hop-by-hop, routing, destination options, AH (fragment 44 handled apart)

ICMP_ERRORS = (3, 4, 5, 11, 12)  # unreachable, source quench, redirect, time exceeded, parameter problem

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10

_u16 = struct.Struct("!H").unpack_from


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
    """(ethertype, offset of the network header, eth src, eth dst) or None."""
    d, lt = frame.data, frame.linktype
    if lt == LINKTYPE_ETHERNET:
        if len(d) < 14:
            return None
        et, off = _u16(d, 12)[0], 14
        while et in VLAN_TYPES and len(d) >= off + 4:
            et, off = _u16(d, off + 2)[0], off + 4
        return et, off, _mac(d[6:12]), _mac(d[0:6])
    if lt in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        if not d:
            return None
        v = d[0] >> 4
        return (ETH_IPV4 if v == 4 else ETH_IPV6 if v == 6 else 0), 0, "", ""
    if lt == LINKTYPE_LINUX_SLL:
        return (_u16(d, 14)[0], 16, "", "") if len(d) >= 16 else None
    if lt == LINKTYPE_LINUX_SLL2:
        return (_u16(d, 0)[0], 20, "", "") if len(d) >= 20 else None
    if lt in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(d) < 4:
            return None
        fam = int.from_bytes(d[:4], "big" if lt == LINKTYPE_LOOP else "little")
        if fam > 0xFFFF:
            fam = int.from_bytes(d[:4], "little" if lt == LINKTYPE_LOOP else "big")
        return (ETH_IPV4 if fam == 2 else ETH_IPV6 if fam in (10, 24, 28, 30) else 0), 4, "", ""
    return None


def network(frame: Frame) -> tuple[str, str, int, str, str] | None:
    """(eth src, eth dst, IP version, IP src, IP dst) of the outermost layers ("" / 0 where absent)."""
    link = _link(frame)
    if link is None:
        return None
    et, off, esrc, edst = link
    d = frame.data
    if (
        et == ETH_IPV4
        and len(d) >= off + 20
        and d[off] >> 4 == 4
        and len(d) >= off + (d[off] & 0x0F) * 4 >= off + 20
    ):
        return (
            esrc,
            edst,
            4,
            socket.inet_ntoa(d[off + 12 : off + 16]),
            socket.inet_ntoa(d[off + 16 : off + 20]),
        )
    if et == ETH_IPV6 and len(d) >= off + 40 and d[off] >> 4 == 6:
        src = socket.inet_ntop(socket.AF_INET6, d[off + 8 : off + 24])
        return esrc, edst, 6, src, socket.inet_ntop(socket.AF_INET6, d[off + 24 : off + 40])
    return esrc, edst, 0, "", ""


def transport(frame: Frame) -> Transport | None:
    """Walk link, IP and TCP/UDP headers. None when the frame has no IPv4/IPv6 layer."""
    link = _link(frame)
    if link is None:
        return None
    et, off, esrc, edst = link
    return _ip(et, frame.data, off, esrc, edst, False)


def _ip(et: int, d: bytes, off: int, esrc: str, edst: str, quoted: bool) -> Transport | None:
    if et == ETH_IPV4:
        if len(d) < off + 20 or d[off] >> 4 != 4:
            return None
        ihl = (d[off] & 0x0F) * 4
        total = _u16(d, off + 2)[0]
        proto = d[off + 9]
        frag = _u16(d, off + 6)[0]
        src, dst = socket.inet_ntoa(d[off + 12 : off + 16]), socket.inet_ntoa(d[off + 16 : off + 20])
        end = min(len(d), off + total) if total >= ihl and not quoted else len(d)
        l4 = off + ihl
        if frag & 0x3FFF or ihl < 20 or len(d) < l4:  # a fragment, or a truncated header
            fr = (frag, proto, l4, end, _u16(d, off + 4)[0])
            return Transport(4, src, dst, -1, 0, 0, 0, 0, 0, b"", esrc, edst, None if quoted else fr, quoted)
        version = 4
    elif et == ETH_IPV6:
        if len(d) < off + 40 or d[off] >> 4 != 6:
            return None
        plen = _u16(d, off + 4)[0]
        proto = d[off + 6]
        src = socket.inet_ntop(socket.AF_INET6, d[off + 8 : off + 24])
        dst = socket.inet_ntop(socket.AF_INET6, d[off + 24 : off + 40])
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
    else:
        return None
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
        seq, ack = struct.unpack_from("!II", d, l4 + 4)
        hl = (d[l4 + 12] >> 4) * 4
        flags = _u16(d, l4 + 12)[0] & 0x0FFF
        payload = d[l4 + hl : end] if hl >= 20 else b""
        return Transport(version, src, dst, proto, sport, dport, seq, ack, flags, payload, esrc, edst)
    if proto == PROTO_UDP and len(d) >= l4 + 8:
        sport, dport = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
        ulen = _u16(d, l4 + 4)[0]
        uend = min(end, l4 + ulen) if ulen >= 8 else end
        return Transport(version, src, dst, proto, sport, dport, 0, 0, 0, d[l4 + 8 : uend], esrc, edst)
    if proto in (PROTO_TCP, PROTO_UDP):  # header cut short: no ports to speak of
        proto = -1
    return Transport(version, src, dst, proto, 0, 0, 0, 0, 0, b"", esrc, edst)
