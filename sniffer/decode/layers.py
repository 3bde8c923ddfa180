"""The one L2-L4 walk: a packet's layer map (link, network and transport offsets) from struct reads only.

Every header-only reader of the package builds on these functions instead of walking the headers itself:
the display filters' header fields (model/fastfields.py), flows and statistics (model/l4.py) and ping's
reading of the packet quoted in an ICMP error (gen/ping/icmp.py). Three levels:

- ``link(data, linktype)``: (ethertype, offset of the network header, VLAN tags skipped) for Ethernet
  (802.1Q/802.1ad tags), Linux SLL/SLL2, NULL/loopback and raw IP;
- ``ipv4`` / ``ipv6``: the network header at an offset, as an ``Ip`` tuple (addresses as bytes);
- ``layer_map(frame)``: the whole walk as the dissector would do it, for packets whose L2-L4 layers it
  can vouch for (``LayerMap``: the protocol stack up to the transport, its offsets, and the dissector
  the rest of the packet goes to), with ``reach(dissector)``: every protocol name that dissector can
  add. A display filter that names only protocols outside both is decided without dissecting
  (``dns`` on a TLS segment); tests/decode/test_layers.py checks the stack and ``reach`` against the
  full dissection of every corpus packet.

Where the native accelerator is built (decode/_fastline.c), ``layer_map``'s common case (Ethernet, IPv4
that is not a fragment, TCP/UDP/other protocols, an untagged ethertype with a dissector) runs in C from the
same tables (``Walker.layer_map``; tests/decode/test_native.py compares it with this code on every corpus
frame and on mutated ones): the protocol hierarchy and the display filters start every packet here.
"""

from __future__ import annotations

import dis
import importlib
import struct
import sys
from collections.abc import Callable
from types import CodeType, FunctionType, MethodType, ModuleType
from typing import Any, NamedTuple

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

_u16 = struct.Struct("!H").unpack_from
_IPV4 = struct.Struct("!BxHHHBB2x4s4s")  # version/IHL, total length, id, flags+offset, ttl, proto, src, dst
_IPV6 = struct.Struct(
    "!I H B B 16s16s"
)  # version/class/flow, payload length, next header, hop limit, src, dst


def link(data: bytes, linktype: int) -> tuple[int, int, int] | None:
    """(ethertype, offset of the network header, VLAN tags skipped) or None (too short, unknown link).

    For raw IP the ethertype comes from the version nibble (0 when it is neither 4 nor 6); for
    NULL/loopback from the address family."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        et, off, tags = _u16(data, 12)[0], 14, 0
        while et in VLAN_TYPES and len(data) >= off + 4:
            et, off, tags = _u16(data, off + 2)[0], off + 4, tags + 1
        return et, off, tags
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        if not data:
            return None
        v = data[0] >> 4
        return (ETH_IPV4 if v == 4 else ETH_IPV6 if v == 6 else 0), 0, 0
    if linktype == LINKTYPE_LINUX_SLL:
        return (_u16(data, 14)[0], 16, 0) if len(data) >= 16 else None
    if linktype == LINKTYPE_LINUX_SLL2:
        return (_u16(data, 0)[0], 20, 0) if len(data) >= 20 else None
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(data) < 4:
            return None
        fam = int.from_bytes(data[:4], "big" if linktype == LINKTYPE_LOOP else "little")
        if fam > 0xFFFF:
            fam = int.from_bytes(data[:4], "little" if linktype == LINKTYPE_LOOP else "big")
        return (ETH_IPV4 if fam == 2 else ETH_IPV6 if fam in (10, 24, 28, 30) else 0), 4, 0
    return None


class Ip(NamedTuple):
    """One IPv4 or IPv6 header (no extension headers walked): what the readers above need of it."""

    version: int  # 4 or 6
    hlen: int  # header length in bytes (IHL * 4, or 40)
    length: int  # IPv4 total length / IPv6 payload length + 40, as the header says
    ident: int  # IPv4 identification (0 for IPv6)
    frag: int  # IPv4 flags + fragment offset (0 for IPv6)
    hlim: int  # TTL / hop limit
    proto: int  # IPv4 protocol / IPv6 next header
    src: bytes  # 4 or 16 bytes
    dst: bytes
    tos: int  # IPv4 TOS byte / IPv6 traffic class


def ipv4(data: bytes, off: int) -> Ip | None:
    """The IPv4 header at ``off``; None when it is cut before the addresses or is not version 4.
    Options are not read (``hlen`` tells where the payload starts; it may lie past the captured end, or
    be bogus: below 20)."""
    if len(data) < off + 20:
        return None
    vhl, length, ident, frag, ttl, proto, src, dst = _IPV4.unpack_from(data, off)
    if vhl >> 4 != 4:
        return None
    return Ip(4, (vhl & 0x0F) * 4, length, ident, frag, ttl, proto, src, dst, data[off + 1])


def ipv6(data: bytes, off: int) -> Ip | None:
    """The IPv6 fixed header at ``off``; None when cut short or not version 6."""
    if len(data) < off + 40:
        return None
    vtf, plen, nxt, hlim, src, dst = _IPV6.unpack_from(data, off)
    if vtf >> 28 != 6:
        return None
    return Ip(6, 40, plen + 40, 0, 0, hlim, nxt, src, dst, (vtf >> 20) & 0xFF)


def ip(data: bytes, et: int, off: int) -> Ip | None:
    """The IPv4 or IPv6 header at ``off`` chosen by the ethertype ``et`` (None for anything else)."""
    if et == ETH_IPV4:
        return ipv4(data, off)
    if et == ETH_IPV6:
        return ipv6(data, off)
    return None


# ---------------------------------------------------------------------------------------------------------
# the layer map


class LayerMap(NamedTuple):
    """The L2-L4 layers of a packet, as the dissector finds them.

    ``protos``: the protocol stack up to and including the last layer walked ("eth:ethertype:ip:tcp"),
    the same names and order as the dissector's ``frame.protocols``; ``rest``: the dissector the bytes
    at ``rest_off`` go to (an application protocol, ARP, ICMP, a tunnel...; ``core.data_layer`` for a
    payload no one claims), or None when nothing follows. ``ip`` is None without an IP layer; ``l4`` is
    the offset of the transport header (-1 without TCP/UDP) and ``end`` the end of the IP payload.
    A protocol in neither ``heads`` nor ``after`` is not in the packet, nor is any of its fields."""

    protos: str
    heads: frozenset[str]  # the protocols of ``protos``, and "ip" after IPv6 (its hidden ip.version)
    after: frozenset[str]  # every protocol the rest may add (``reach(rest)``; empty when nothing follows)
    et: int
    net: int  # offset of the network header
    version: int  # 4 or 6; 0 without an IP layer
    proto: int  # IPv4 protocol / IPv6 next header (-1 without IP)
    l4: int
    end: int
    rest: Callable[..., None] | None
    rest_off: int


_LINK_NAME = {
    LINKTYPE_ETHERNET: "eth:ethertype",
    LINKTYPE_LINUX_SLL: "sll:ethertype",
    LINKTYPE_LINUX_SLL2: "sll:ethertype",
    LINKTYPE_RAW: "raw",
    LINKTYPE_IPV4: "",
    LINKTYPE_IPV6: "",
    LINKTYPE_NULL: "null",
    LINKTYPE_LOOP: "null",
}

#: ``LayerMap`` without its generated ``__new__`` (a Python call that costs as much as the walk's unpack)
_lm = tuple.__new__

_tables: tuple[Any, ...] = ()
_tcp_map: dict[int, Any] = {}
_eth_map: dict[int, Any] = {}
_ip_map: dict[int, Any] = {}
_udp_map: dict[int, Any] = {}
_data_layer: Any = None
_has_option: Any = None
#: the native accelerator's copy of layer_map's common case (decode/_fastline.c ``Walker.layer_map``: a
#: LayerMap, or 0: _layer_map decides, or 1: the Python code below does), bound with the tables where the
#: walker was built; None: pure Python (SNIFFER_NO_NATIVE=1, no compiler)
_native_map: Any = None


def _dissectors() -> tuple[Any, ...]:
    """(ETHERTYPES, IP_PROTOS, UDP_PORTS, TCP_PORTS, data_layer), filled by the protocol modules."""
    global _tables, _tcp_map, _udp_map, _ip_map, _eth_map, _data_layer, _has_option
    if not _tables:
        from sniffer.decode import engine  # noqa: F401  (imports every protocol module: fills the tables)
        from sniffer.decode.core import ETHERTYPES, IP_PROTOS, TCP_PORTS, UDP_PORTS, data_layer
        from sniffer.decode.inet import _has_option

        _tables = (ETHERTYPES, IP_PROTOS, UDP_PORTS, TCP_PORTS, data_layer)
        _tcp_map, _udp_map, _ip_map, _data_layer = TCP_PORTS.map, UDP_PORTS.map, IP_PROTOS.map, data_layer
        _eth_map = ETHERTYPES.map
        _bind_native()
    return _tables


def _bind_native() -> None:
    """Hand the dissector tables and the reach caches to the native walker's layer_map (if built)."""
    global _native_map
    from sniffer.decode.summary import native_walker

    w = native_walker()
    if w is None or not hasattr(w, "layer_map"):
        _native_map = None
        return
    stacks = (_S_TCP, _H_TCP, _S_UDP, _H_UDP, _S_IP, _H_IP, _NONE, _H_ETH)
    w.layers_setup(
        LayerMap,
        _tcp_map,
        _udp_map,
        _ip_map,
        _eth_map,
        _data_layer,
        _REACH,
        _REACH_ETH,
        stacks,
        _WALKED_TYPES,
    )
    _native_map = w.layer_map


_ETH_IP4 = struct.Struct("!12xHBxHxxHxB")  # ethertype, version/IHL, total length, flags+offset, protocol
_PORTS_LEN = struct.Struct("!HHH")  # TCP/UDP ports, UDP length


def layer_map(frame: Frame) -> LayerMap | None:
    """The layer map of ``frame``, or None when the walk cannot vouch for what the dissector would do
    (odd lengths, a first fragment, a transport header cut by the capture, 802.3/LLC, an unknown link
    type): callers then dissect. Walks Ethernet (802.1Q/802.1ad tags before IP), SLL/SLL2,
    NULL/loopback and raw IP; IPv4 (options allowed; a non-first fragment is data) and IPv6; TCP (an
    MPTCP option adds "mptcp", as the dissector does) and UDP. A packet cut by the capture is walked as
    far as its bytes go, as the dissector does."""
    if not _tables:
        _dissectors()
    if _native_map is not None:
        m = _native_map(frame)
        if type(m) is not int:
            return m  # type: ignore[no-any-return]
        if not m:
            return _layer_map(frame)
    data = frame[1]
    lt = frame[3]
    n = len(data)
    if lt == LINKTYPE_ETHERNET and n >= 34:  # the common case in one unpack: Ethernet, IPv4
        et, vhl, tlen, frag, proto = _ETH_IP4.unpack_from(data)
        if et == ETH_IPV4 and vhl >> 4 == 4 and not frag & 0x3FFF:
            l4 = 14 + (vhl & 0x0F) * 4  # (options, such as IGMP's router alert, are only skipped)
            end = 14 + tlen
            if l4 < 34 or end < l4 or end > n:
                return _layer_map(frame)  # a bogus or cut header, TSO: the slow walk decides
            if proto == PROTO_TCP and end >= l4 + 20:
                thl = (data[l4 + 12] >> 4) * 4
                if 20 <= thl <= end - l4:
                    st, hd = (
                        (_S_MPTCP, _H_MPTCP)
                        if thl > 20 and _has_mptcp(data, l4 + 20, l4 + thl)
                        else (_S_TCP, _H_TCP)
                    )
                    if end == l4 + thl:
                        return _lm(LayerMap, (st, hd, _NONE, et, 14, 4, 6, l4, end, None, end))
                    sp, dp, _ = _PORTS_LEN.unpack_from(data, l4)
                    m = _tcp_map or _dissectors()[3].map
                    fn = m.get(sp if sp < dp else dp) or m.get(dp if sp < dp else sp) or _data_layer
                    after = _REACH.get(fn) or reach(fn)
                    return _lm(LayerMap, (st, hd, after, et, 14, 4, 6, l4, end, fn, l4 + thl))
            elif proto != PROTO_TCP and proto != PROTO_UDP:
                fn = (_ip_map or _dissectors()[1].map).get(proto)
                if fn is None:
                    fn = _data_layer if end > l4 else None
                after = _NONE if fn is None else _REACH.get(fn) or reach(fn)
                return _lm(LayerMap, (_S_IP, _H_IP, after, et, 14, 4, proto, -1, end, fn, l4))
            elif proto == PROTO_UDP and end >= l4 + 8:
                sp, dp, ulen = _PORTS_LEN.unpack_from(data, l4)
                if ulen >= 8 and l4 + ulen <= end:
                    uend = l4 + ulen
                    if ulen == 8:
                        return _lm(LayerMap, (_S_UDP, _H_UDP, _NONE, et, 14, 4, 17, l4, uend, None, uend))
                    m = _udp_map or _dissectors()[2].map
                    fn = m.get(sp if sp < dp else dp) or m.get(dp if sp < dp else sp) or _data_layer
                    return _lm(
                        LayerMap,
                        (_S_UDP, _H_UDP, _REACH.get(fn) or reach(fn), et, 14, 4, 17, l4, uend, fn, l4 + 8),
                    )
        elif et > 1500 and et not in _WALKED_TYPES:  # an untagged ethertype with a dissector (ARP, PTP...)
            fn = (_eth_map or _dissectors()[0].map).get(et)
            if fn is not None:
                wire = frame[2] if frame[2] > n else n
                after = _REACH_ETH.get(fn) or _reach_eth(fn)
                return _lm(LayerMap, ("eth", _H_ETH, after, et, 14, 0, -1, -1, wire, fn, 14))
    return _layer_map(frame)


def _layer_map(frame: Frame) -> LayerMap | None:
    data = frame[1]
    lt = frame[3]
    name = _LINK_NAME.get(lt)
    if name is None:
        return None
    lk = link(data, lt)
    if lk is None:
        return None
    et, net, tags = lk
    if tags:
        if et != ETH_IPV4 and et != ETH_IPV6:
            return None  # a tagged frame that carries no IP: the dissector's
        name = _vlan_stack(data, tags)
    elif lt == LINKTYPE_ETHERNET and et <= 1500:
        return None  # 802.3 length + LLC: the dissector's
    ethertypes, ip_protos, udp_ports, tcp_ports, data_layer = _tables or _dissectors()
    n = len(data)
    wire = frame[2] if frame[2] > n else n  # the dissector's end: the recorded length
    if et == ETH_IPV4:
        h = ipv4(data, net)
        if h is None or h.hlen < 20 or h.length < h.hlen or net + h.hlen > n:
            return None  # cut, bogus or TSO (length 0) headers: the dissector's
        end = net + h.length
        stack = f"{name}:ip" if name else "ip"
        if h.frag & 0x3FFF:
            if h.frag & 0x1FFF == 0:
                return None  # a first fragment: its transport is decoded in a special way
            l4 = net + h.hlen
            fn = data_layer if min(end, n) > l4 else None  # later fragments are data
            return _lm(
                LayerMap, (stack, _heads(stack), _DATA if fn else _NONE, et, net, 4, h.proto, -1, end, fn, l4)
            )
    elif et == ETH_IPV6:
        h = ipv6(data, net)
        if h is None or h.length == 40:
            return None  # no payload length (a jumbogram?)
        end = net + h.length
        stack = f"{name}:ipv6" if name else "ipv6"
    else:
        if lt != LINKTYPE_ETHERNET:
            return None
        fn = ethertypes.map.get(et)
        if fn is None:  # no dissector: the payload is data
            fn = data_layer if n > net else None
            stack = "eth:ethertype"
            return _lm(
                LayerMap, (stack, _heads(stack), _DATA if fn else _NONE, et, net, 0, -1, -1, wire, fn, net)
            )
        # a dissector of the ethertype may rework the Ethernet layer (FabricPath: eth:cfp:eth...)
        return _lm(LayerMap, ("eth", _heads("eth"), _reach_eth(fn), et, net, 0, -1, -1, wire, fn, net))
    if end > wire:
        return None  # longer than the frame: the dissector's
    v = h.version
    lim = end if end < n else n  # what was captured of the IP payload
    l4 = net + h.hlen
    proto = h.proto
    if proto == PROTO_TCP:
        if lim < l4 + 20:
            return None
        thl = (data[l4 + 12] >> 4) * 4
        if thl < 20 or l4 + thl > lim:
            return None
        stack += ":tcp:mptcp" if thl > 20 and _has_mptcp(data, l4 + 20, l4 + thl) else ":tcp"
        if end <= l4 + thl or lim <= l4 + thl:
            return _lm(LayerMap, (stack, _heads(stack), _NONE, et, net, v, proto, l4, end, None, end))
        sp, dp = _u16(data, l4)[0], _u16(data, l4 + 2)[0]
        m = tcp_ports.map
        fn = m.get(sp if sp < dp else dp) or m.get(dp if sp < dp else sp) or data_layer
        after = _REACH.get(fn) or reach(fn)
        return _lm(LayerMap, (stack, _heads(stack), after, et, net, v, proto, l4, end, fn, l4 + thl))
    if proto == PROTO_UDP:
        if lim < l4 + 8:
            return None
        ulen = _u16(data, l4 + 4)[0]
        if ulen < 8 or l4 + ulen > end:
            return None
        stack += ":udp"
        uend = l4 + ulen
        if (uend if uend < n else n) <= l4 + 8:
            return _lm(LayerMap, (stack, _heads(stack), _NONE, et, net, v, proto, l4, uend, None, uend))
        sp, dp = _u16(data, l4)[0], _u16(data, l4 + 2)[0]
        m = udp_ports.map
        fn = m.get(sp if sp < dp else dp) or m.get(dp if sp < dp else sp) or data_layer
        after = _REACH.get(fn) or reach(fn)
        return _lm(LayerMap, (stack, _heads(stack), after, et, net, v, proto, l4, uend, fn, l4 + 8))
    fn = ip_protos.map.get(proto)
    if fn is None:
        fn = data_layer if lim > l4 else None
    after = _NONE if fn is None else _REACH.get(fn) or reach(fn)
    return _lm(LayerMap, (stack, _heads(stack), after, et, net, v, proto, -1, end, fn, l4))


_TCP_HEADS: frozenset[bytes] | None = None
_UDP_REFUSING: frozenset[Any] = frozenset()
_UDP_CONV: Any = None  # core.UDP_CONVERSATIONS and core.UDP_HEURISTICS, bound with _TCP_HEADS
_UDP_HEUR: Any = None


def vouched(frame: Frame, m: LayerMap, refusing: bool = False) -> bool:
    """False when the transport may hand the rest of ``frame`` to another dissector than ``m.rest``, as
    the TCP/UDP dissectors do beyond the port tables: a UDP conversation an earlier packet bound (a TFTP
    transfer), a heuristic dissector whose probe matches a payload no port claims (TLS, HTTP, DCE/RPC on
    any TCP port; DTLS, STUN, WireGuard on UDP), a UDP port dissector that may refuse the payload (then
    the other port, the heuristics, data come next). Callers then dissect the packet in full; on the
    real-traffic file ~1% of the packets. A new function beside ``layer_map`` (which picks the rest from
    the port tables alone), so that readers that trust ``m.rest`` and ``m.after`` can check."""
    global _TCP_HEADS, _UDP_REFUSING, _UDP_CONV, _UDP_HEUR
    rest = m.rest
    if m.l4 < 0 or rest is None:
        return True
    data = frame[1]
    off = m.rest_off
    if _TCP_HEADS is None:
        from sniffer.decode.core import UDP_CONVERSATIONS, UDP_HEURISTICS
        from sniffer.decode.tcpheur import TCP_HEURISTICS

        _dissectors()
        _UDP_CONV, _UDP_HEUR = UDP_CONVERSATIONS, UDP_HEURISTICS
        _TCP_HEADS = TCP_HEURISTICS.prefixes()
        _UDP_REFUSING = frozenset(fn for fn in _udp_map.values() if _may_refuse(fn))
    if m.proto == PROTO_TCP:
        return rest is not _data_layer or data[off : off + 3] not in _TCP_HEADS
    conv = _UDP_CONV
    if conv.map:
        net, l4 = m.net, m.l4
        sd = _u32(data, l4)[0]
        sp, dp = sd >> 16, sd & 0xFFFF
        ports = conv.ports  # (the bound client ports: most datagrams use none of them)
        if sp in ports or dp in ports:
            src, dst = (
                (data[net + 12 : net + 16], data[net + 16 : net + 20])
                if m.version == 4
                else (data[net + 8 : net + 24], data[net + 24 : net + 40])
            )
            if conv.find(src, sp, dst, dp) is not None:
                return False
    if rest is _data_layer:
        for _fn, o, v in _UDP_HEUR.entries:
            if data[off + o : off + o + len(v)] == v:
                return False
        return True
    return refusing or rest not in _UDP_REFUSING


def _may_refuse(fn: Any) -> bool:
    """True unless every ``return`` of the dissector's code returns None: one that may return a value
    may return False ("not mine"; SNMP returns what its BER check says)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return True
    prev = None
    for ins in dis.get_instructions(code):
        if ins.opname == "RETURN_VALUE" and not (
            prev is not None and prev.opname == "LOAD_CONST" and prev.argval is None
        ):
            return True
        if ins.opname == "RETURN_CONST" and ins.argval is not None:
            return True
        prev = ins
    return False


def _vlan_stack(data: bytes, tags: int) -> str:
    """ "eth:ethertype" and a "vlan:ethertype" (802.1ad: "ieee8021ad:ethertype") per tag."""
    parts = ["eth:ethertype"]
    for i in range(tags):
        parts.append("ieee8021ad:ethertype" if _u16(data, 12 + 4 * i)[0] == 0x88A8 else "vlan:ethertype")
    return ":".join(parts)


_NONE: frozenset[str] = frozenset()
_DATA = frozenset({"data"})
_S_IP, _S_TCP, _S_UDP = "eth:ethertype:ip", "eth:ethertype:ip:tcp", "eth:ethertype:ip:udp"
_H_IP = frozenset(_S_IP.split(":"))
_H_TCP, _H_UDP = frozenset(_S_TCP.split(":")), frozenset(_S_UDP.split(":"))
_H_ETH = frozenset({"eth"})
_WALKED_TYPES = frozenset({ETH_IPV4, ETH_IPV6, *VLAN_TYPES})  # the ethertypes the walk goes into
_S_MPTCP = _S_TCP + ":mptcp"  # an MPTCP option in the TCP header: the dissector adds the layer
_H_MPTCP = frozenset(_S_MPTCP.split(":"))
_HEADS: dict[str, frozenset[str]] = {}


def _heads(stack: str) -> frozenset[str]:
    r = _HEADS.get(stack)
    if r is None:
        names = set(stack.split(":"))
        if "ipv6" in names:
            names.add("ip")  # IPv6 carries Wireshark's hidden ip.version
        r = _HEADS[stack] = frozenset(names)
    return r


_REACH_ETH: dict[Any, frozenset[str]] = {}


def _reach_eth(fn: Any) -> frozenset[str]:
    """reach(fn) and the Ethernet layer's names, built once per dissector (a union of ~5,000 names
    per packet cost ~15 us on every non-IP Ethernet frame)."""
    r = _REACH_ETH.get(fn)
    if r is None:
        r = _REACH_ETH[fn] = (reach(fn) if fn is not None else _NONE) | {"eth", "ethertype"}
    return r


def _has_mptcp(data: bytes, off: int, oend: int) -> bool:
    """True if the TCP options in data[off:oend] hold a Multipath TCP option (kind 30): the TCP dissector's
    own option walk (inet._has_option), bound with the tables."""
    if data.find(b"\x1e", off, oend) < 0:  # (no byte 30 at all: no such option, no walk)
        return False
    return bool(_has_option(data, off, oend, 30))


# ---------------------------------------------------------------------------------------------------------
# what a dissector can add

_REACH: dict[Any, frozenset[str]] = {}


def reach(fn: Any) -> frozenset[str]:
    """Every protocol name ``fn`` (a dissector) or anything it may call can put in a packet: the first
    dotted part of every string constant reachable from its code (its constants, the globals, closures,
    tables and modules it names, what it imports inside its body) and of its modules' ``DECLARES``,
    but for the fields dissectors only read back (``core.READ_BACK``, the transport ports).
    A superset by construction (a name never written in the code cannot be pushed); the test compares
    it with the dissection of every corpus packet."""
    r = _REACH.get(fn)
    if r is None:
        strings: set[str] = set()
        met: dict[int, Any] = {}
        _walk(fn, strings, met=met)
        names = _tops(strings)
        for t in met.values():
            names |= _table_reach(t)
        r = _REACH[fn] = frozenset(names)
    return r


def _tops(strings: set[str]) -> set[str]:
    """The first dotted part of each string, except the names dissectors only read back
    (``core.READ_BACK``: SSH, RPC, XMPP... read ``tcp.srcport`` to tell the direction; the layer that
    writes it has its own strings: TCP pushes "tcp")."""
    from sniffer.decode.core import READ_BACK

    return {s.split(".", 1)[0] for s in strings if s not in READ_BACK}


#: id(next-layer table) -> every protocol name its dissectors (and the tables they reach) can add
_TABLES_REACH: dict[int, frozenset[str]] = {}


def _table_reach(table: Any) -> frozenset[str]:
    """What a next-layer table (``core.Table``) reaches: its own walk stops at the other tables it meets,
    and the tables are then closed over each other (a fixpoint: IP carries Ethernet carries IP...), so
    a dissector that names one table reaches what that table's dissectors reach, not every table's
    (IGMP's table of DVMRP and PIMv1 reaches no IP layer)."""
    r = _TABLES_REACH.get(id(table))
    if r is not None:
        return r
    direct: dict[int, set[str]] = {}
    edges: dict[int, dict[int, Any]] = {}
    todo = [table]
    while todo:
        t = todo.pop()
        if id(t) in direct or id(t) in _TABLES_REACH:
            continue
        strings: set[str] = set()
        met: dict[int, Any] = {}
        _walk(t, strings, met=met)
        direct[id(t)] = _tops(strings)
        edges[id(t)] = met
        todo.extend(met.values())
    reached = {k: set(v) for k, v in direct.items()}
    changed = True
    while changed:
        changed = False
        for k, met in edges.items():
            mine = reached[k]
            size = len(mine)
            for j in met:
                mine |= reached[j] if j in reached else _TABLES_REACH[j]
            changed |= len(mine) != size
    for k, v in reached.items():
        _TABLES_REACH[k] = frozenset(v)
    return _TABLES_REACH[id(table)]


_CODE_NAMES: dict[CodeType, tuple[frozenset[str], tuple[tuple[str, list[str]], ...]]] = {}


def _code_names(code: CodeType) -> tuple[frozenset[str], tuple[tuple[str, list[str]], ...]]:
    r = _CODE_NAMES.get(code)
    if r is None:
        names: set[str] = set()
        imports: list[tuple[str, list[str]]] = []
        _names(code, names, imports)
        r = _CODE_NAMES[code] = (frozenset(names), tuple(imports))
    return r


def _names(code: CodeType, out: set[str], imports: list[tuple[str, list[str]]]) -> None:
    """Global names ``code`` (and the code nested in it) loads, and its in-body imports (module, names)."""
    out.update(code.co_names)
    if "sniffer" in " ".join(code.co_names):
        cur: tuple[str, list[str]] | None = None
        for ins in dis.get_instructions(code):
            if ins.opname == "IMPORT_NAME":
                cur = (str(ins.argval), [])
                imports.append(cur)
            elif ins.opname == "IMPORT_FROM" and cur is not None:
                cur[1].append(str(ins.argval))
    for c in code.co_consts:
        if isinstance(c, CodeType):
            _names(c, out, imports)


#: module globals that dissection fills at run time (value caches, compiled readers): not walked, so
#: that ``reach`` does not depend on what was dissected before (they only hold values, never a name a
#: dissector pushes; tests/decode/test_layers.py checks reach is the same after dissecting the corpus);
#: _c4/_c6/_cm: the address caches core's generated header readers hold
#: globals that hold no protocol a dissector can add: caches filled at run time, and core.READ_BACK (the
#: names the columns-only mode keeps: read, never pushed, by the generated header readers)
_RUNTIME_NAMES = frozenset(
    {"_READERS", "_LAYERS", "_FLAG_STRS", "_FLAG_LISTS", "_keys", "_c4", "_c6", "_cm", "READ_BACK"}
)


def _runtime(name: str, value: Any) -> bool:
    return isinstance(value, (dict, list, set, frozenset)) and (
        name in _RUNTIME_NAMES or "cache" in name.lower()
    )


def _walk(root: Any, strings: set[str], met: dict[int, Any] | None = None) -> None:
    """Collect into ``strings`` every string reachable from ``root``. A next-layer table
    (``core.Table``) other than ``root`` is not walked but put in ``met`` (``_table_reach`` closes the
    tables over each other)."""
    from sniffer.decode.core import Table

    seen: set[int] = set()
    stack = [root]
    while stack:
        o = stack.pop()
        if id(o) in seen or o is None or isinstance(o, (int, float, bytes, bytearray)):
            continue
        seen.add(id(o))
        if isinstance(o, Table) and o is not root:
            if met is not None:
                met[id(o)] = o
            continue
        if isinstance(o, str):
            strings.add(o)
        elif isinstance(o, FunctionType):
            stack.append(o.__code__)
            g = o.__globals__
            names, imports = _code_names(o.__code__)
            stack.extend(g[k] for k in names if k in g and not _runtime(k, g[k]))
            for modname, froms in imports:
                if modname.startswith("sniffer"):
                    mod = importlib.import_module(modname)
                    stack.extend(getattr(mod, k) for k in froms if hasattr(mod, k))
                    if not froms:
                        stack.append(mod)
            for cell in o.__closure__ or ():
                try:
                    stack.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    pass
            stack.extend(o.__defaults__ or ())
            stack.extend((o.__kwdefaults__ or {}).values())
            home = sys.modules.get(o.__module__)
            if home is not None:
                strings.update(getattr(home, "DECLARES", ()))
        elif isinstance(o, CodeType):
            stack.extend(o.co_consts)
        elif isinstance(o, ModuleType):
            if o.__name__.startswith("sniffer."):
                stack.extend(v for k, v in vars(o).items() if not _runtime(k, v))
                strings.update(getattr(o, "DECLARES", ()))
        elif isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (tuple, list, set, frozenset)):
            stack.extend(o)
        elif isinstance(o, MethodType):
            stack.append(o.__func__)
            stack.append(o.__self__)
        elif isinstance(o, (staticmethod, classmethod)):
            stack.append(o.__func__)
        elif isinstance(o, type):
            if o.__module__.startswith("sniffer."):
                stack.extend(vars(o).values())
        elif type(o).__module__.startswith("sniffer."):  # a table, a header, a helper object
            stack.append(type(o))
            if hasattr(o, "__dict__"):
                stack.extend(vars(o).values())
            for slot in getattr(type(o), "__slots__", ()):
                stack.append(getattr(o, slot, None))
            if isinstance(o, tuple):  # a NamedTuple (F)
                stack.extend(o)
        elif hasattr(o, "func") and hasattr(o, "args"):  # functools.partial
            stack.append(o.func)
            stack.extend(o.args)
            stack.extend(o.keywords.values())


# ---------------------------------------------------------------------------------------------------------
# dissecting only the rest

_u32 = struct.Struct("!I").unpack_from


def dissect_rest(frame: Frame, m: LayerMap, lean: int = True) -> Any:
    """Dissect only what follows the layers ``m`` walked (``m.rest`` at ``m.rest_off``) and return the
    dissection context (``sniffer.decode.core.Ctx``): ``protos`` is the whole stack, as the full
    dissection gives it; ``fields`` holds the fields of the rest only; ``malformed`` its verdict.

    The context is set up as the walked layers' dissectors leave it for the next one (the transport
    ports the application dissectors read, the IP addresses and hop limit, the last layer; for a non-IP
    Ethernet frame (``m.version`` 0, ``m.protos`` "eth") the Ethernet layer and the "ethertype" its
    dissector names before the ethertype's); ``lean``: ``core.COLUMNS`` (True), nothing reads the
    fields; ``core.PROTOS``, only the stack and the verdict are read (``frame_protocols``). Only for a
    stack with a rest; the test compares it with the full dissection of every corpus packet."""
    if not _CORE:
        _bind_core()
    stacks, ctx_t, lean_t, _run = _CORE
    data = frame[1]
    if type(data) is not bytes:
        data = bytes(data)
    ctx = lean_t(data, False, lean) if lean else ctx_t(data, False)
    protos, _h, _a, _et, net, v, proto, l4, end, fn, rest_off = m  # (one unpack, not eleven lookups)
    st = stacks.get(protos) or _stack(protos)
    ctx.layer = st[1]
    assert fn is not None
    if v == 4:
        ctx.protos = list(st[0])
        ctx.depth = st[2]
        ctx.pseudo = (data[net + 12 : net + 16], data[net + 16 : net + 20])
        ctx.hlim = data[net + 8]
    elif v:
        ctx.protos = list(st[0])
        ctx.depth = st[2]
        ctx.pseudo = (data[net + 8 : net + 24], data[net + 24 : net + 40])
        ctx.hlim = data[net + 7]
    else:  # what the Ethernet dissector does before it calls the ethertype's (link.dissect_eth)
        ctx.protos = ["eth", "ethertype"]
        ctx.depth = 1
        ctx.proto = "Ethernet"
        if lean < _PROTOS:
            ctx.dst, ctx.src = _mac(data[0:6]), _mac(data[6:12])
    if l4 < 0:
        try:
            fn(ctx, rest_off, end)
        except Exception as exc:  # a decoder bug must never take the pipeline down (as engine.run)
            _dissector_bug(ctx, exc)
        return ctx
    ports = _TCP_PORT_NAMES if proto == PROTO_TCP else _UDP_PORT_NAMES
    sd = _u32(data, l4)[0]
    f = ctx.fields = {ports[0]: sd >> 16, ports[1]: sd & 0xFFFF}
    try:
        fn(ctx, rest_off, end)
    except Exception as exc:  # a decoder bug must never take the pipeline down (as engine.run)
        _dissector_bug(ctx, exc)
    if lean == _PROTOS:  # no one reads the fields
        return ctx
    for k in ports:  # the ports were the walked layer's: only what the rest added stays
        v = f[k]
        if type(v) is list:
            v.pop(0)
            if len(v) == 1:
                f[k] = v[0]
        else:
            del f[k]
    return ctx


def protocols(frame: Frame) -> tuple[str, str]:
    """(``frame.protocols``, the ``_ws.malformed`` reason or "") of ``frame``, the protocols-only
    dissection (``core.PROTOS``): the layer map gives the stack when nothing or plain data follows the
    walked layers; else only the rest is dissected (``dissect_rest``); else the whole frame
    (``engine.run``), protocols only either way."""
    m = layer_map(frame)
    if m is not None:
        protos, _h, _a, _et, _net, version, proto, l4, _end, rest, rest_off = m
        if rest is None:
            return protos, ""
        if proto != PROTO_TCP or l4 < 0 or _TCP_HEADS is None:
            ok = vouched(frame, m, True)  # (a UDP port dissector that may refuse: its answer, below)
        else:  # vouched, inlined for TCP: a heuristic dissector may take a segment no port claims
            ok = rest is not _data_layer or frame[1][rest_off : rest_off + 3] not in _TCP_HEADS
        if ok:
            if rest is _data_layer:
                p = _WITH_DATA.get(protos)
                if p is None:
                    p = _WITH_DATA[protos] = protos + ":data"
                return p, ""
            if version or protos == "eth":
                ctx = dissect_rest(frame, m, _PROTOS)
                # a port dissector that refused records nothing: then UDP tries the other port, the
                # heuristics, data (the whole dissection below); one that took the datagram named itself
                if rest not in _UDP_REFUSING or len(ctx.protos) > protos.count(":") + 1:
                    return ":".join(ctx.protos), ctx.malformed
    if not _CORE:
        _bind_core()
    ctx = _CORE[3](frame, False, False, _PROTOS)
    return ":".join(ctx.protos), ctx.malformed


_WITH_DATA: dict[str, str] = {}  # a walked stack -> the stack and "data" (a few dozen stacks)
_STACKS: dict[str, tuple[tuple[str, ...], Any, int]] = {}  # a walked stack -> (its names, last layer, depth)
_PROTOS = 2  # core.PROTOS (layers imports no decoder module at import time)


def _stack(protos: str) -> tuple[tuple[str, ...], Any, int]:
    from sniffer.decode.core import _LAYERS, _layer

    names = tuple(protos.split(":"))
    r = _STACKS[protos] = (names, _LAYERS.get(names[-1]) or _layer(names[-1]), len(names))
    return r


_CORE: list[Any] = []  # (_STACKS, Ctx, LeanCtx, engine.run), bound on first use
_TCP_PORT_NAMES = ("tcp.srcport", "tcp.dstport")
_UDP_PORT_NAMES = ("udp.srcport", "udp.dstport")
_mac: Callable[[bytes], str] = bytes.hex  # core.mac, bound with _CORE


def _bind_core() -> None:
    from sniffer.decode.core import PROTOS, Ctx, LeanCtx, mac
    from sniffer.decode.engine import run

    global _mac
    assert PROTOS == _PROTOS
    _mac = mac
    _CORE[:] = [_STACKS, Ctx, LeanCtx, run]


def _dissector_bug(ctx: Any, exc: Exception) -> None:
    from sniffer.decode.engine import DEBUG

    if DEBUG:
        raise exc
    ctx.set_malformed(f"dissector bug: {type(exc).__name__}: {exc}")
