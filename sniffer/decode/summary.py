"""Per-packet summary (the packet-list columns) and the one-line text that `read` and `capture` print.

The common cases (Ethernet with or without VLAN tags / Linux SLL / NULL / raw IP carrying IPv4 or IPv6
with TCP, UDP or ICMP echo, whole packets, no options that change the columns) take a fast path on
decode.layers' header walk (_walk); everything else goes through the full dissector
(sniffer.decode.engine). A test checks both paths give the same columns.

`read`'s text loops (iter_text, iter_blocks) first offer each record to the native walker
(sniffer/decode/_fastline.c, see native_walker) where it was built: it writes the same line for the
packets it knows and hands every other record back to the Python code below (tests/decode/test_native.py).
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, NamedTuple

from sniffer.decode import (
    aaa,
    app,
    db,
    dcerpc,
    engine,
    http,
    icmp,
    ics,
    igmp,
    inet,
    l2ctl,
    legacyfs,
    link,
    mgmt,
    netbios,
    routing,
    rpc,
    sctp,
    smb,
    snmp,
    ssh,
    text,
    tls,
    tunnels,
    voip,
)
from sniffer.decode.core import (
    _NUMS,
    ETHERTYPES,
    HTTP_TCP_PORTS,
    IP_PROTOS,
    LINKTYPES,
    LLC_SAPS,
    LLC_SNAP,
    TCP_PORTS,
    TLS_TCP_PORTS,
    UDP_CONVERSATIONS,
    UDP_HEURISTICS,
    UDP_PORTS,
    ip4,
    ip6,
    num_strs,
)
from sniffer.decode.inet import tcp_flag_table, tcp_info
from sniffer.decode.layers import ipv4, ipv6
from sniffer.decode.layers import link as link_of
from sniffer.decode.tcpheur import TCP_HEURISTICS
from sniffer.frame import Frame


class Summary(NamedTuple):
    """What the packet list shows for one frame (Wireshark's Source, Destination, Protocol, Info)."""

    src: str
    dst: str
    protocol: str
    info: str
    malformed: bool


_TCP = struct.Struct("!HHIIHH")  # ports, seq, ack, data offset + flags, window
_UDP = struct.Struct("!HHH")
_U32 = struct.Struct("!I").unpack_from
_ICMP_ECHO = struct.Struct("!BB2xHH")

_FLAGS: list[str] = []  # tcp_flags_str of every 12-bit flags value (bound on first use)


def fast_path_ports() -> tuple[
    frozenset[int], frozenset[int], frozenset[bytes], bytes, frozenset[int], frozenset[int]
]:
    """The fast path's port sets, derived from the dissector tables (engine imports every protocol module):
    (every TCP port with a dissector, the TCP ports whose dissector is not heuristic, the 3-byte payload
    prefixes of the heuristic ones of both tables, a 256-byte table: 1 where a prefix starts with that
    byte, every UDP port with a dissector, the UDP ports whose dissector is not heuristic). A segment or
    datagram with payload on a port of the first (TCP) or fifth (UDP) set takes the full dissector if its
    port is in the second (sixth) set or its payload starts with one of the prefixes (anything else stays
    plain TCP / UDP, whose line the fast path gives). (A 64 KiB per-port table instead of the set tests
    ran ~4 % slower: cache misses.)"""
    # (each distinct set once: the TLS ports share one set of ~3 600 prefixes)
    sets = {id(p): p for p in (*TCP_PORTS.prefixes.values(), *UDP_PORTS.prefixes.values())}
    prefixes: frozenset[bytes] = frozenset().union(*sets.values())
    firsts = {p[0] for p in prefixes}
    return (
        frozenset(TCP_PORTS.map),
        frozenset(k for k in TCP_PORTS.map if k not in TCP_PORTS.prefixes),
        prefixes,
        bytes(int(b in firsts) for b in range(256)),
        frozenset(UDP_PORTS.map),
        frozenset(k for k in UDP_PORTS.map if k not in UDP_PORTS.prefixes),
    )


_SLOW_TCP, _ALWAYS_TCP, _PREFIXES, _FIRST, _SLOW_UDP, _ALWAYS_UDP = fast_path_ports()
#: the UDP heuristics' probes (core.Heuristics): a datagram whose payload byte 1 is in the first set, or
#: whose payload bytes 0-3 or 4-7 (big-endian numbers) are in the second or third, takes the full dissector
_UDP_B1, _UDP_W0, _UDP_W4 = (
    UDP_HEURISTICS.probes(1, 1),
    UDP_HEURISTICS.probes(0, 4),
    UDP_HEURISTICS.probes(4, 4),
)
#: the client ports of the conversations dissectors bound (core.Conversations): a live set, empty but for
#: captures with e.g. a TFTP transfer; a datagram from or to one of them takes the full dissector
_BOUND = UDP_CONVERSATIONS.ports
#: TCP's heuristic dissectors (decode.tcpheur: TLS, HTTP, DCE/RPC on any port): a segment with payload on a
#: port no dissector has takes the full dissector when its first 3 bytes are one of their prefixes
_HPREFIXES, _HFIRST = TCP_HEURISTICS.prefixes(), TCP_HEURISTICS.first_bytes()


def _flags() -> list[str]:
    if not _FLAGS:
        _FLAGS.extend(tcp_flag_table())
    return _FLAGS


_ECHO_NAMES = {0: "Echo (ping) reply", 8: "Echo (ping) request"}
_ECHO6_NAMES = {129: "Echo (ping) reply", 128: "Echo (ping) request"}


def _l4(data: bytes, o: int, end: int, proto: int, src: str, dst: str, hlim: int, v6: bool) -> Summary | None:
    """Columns for the transport header at ``o`` (IP payload ends at ``end``), or None for the slow path."""
    if proto == 6:
        if o + 20 > end:
            return None
        sp, dp, seq, ack, offfl, win = _TCP.unpack_from(data, o)
        hl = (offfl >> 10) & 0x3C
        if hl < 20 or o + hl > end or (hl > 20 and 30 in data[o + 20 : o + hl]):  # 30: maybe MPTCP
            return None
        seglen = end - o - hl
        if (
            seglen
            and (sp in _SLOW_TCP or dp in _SLOW_TCP)
            and (
                (_FIRST[data[o + hl]] and data[o + hl : o + hl + 3] in _PREFIXES)
                or sp in _ALWAYS_TCP
                or dp in _ALWAYS_TCP
            )
        ):
            return None
        if (
            seglen
            and _HFIRST[data[o + hl]]
            and data[o + hl : o + hl + 3] in _HPREFIXES
            and sp not in _SLOW_TCP
            and dp not in _SLOW_TCP
        ):
            return None
        return Summary(src, dst, "TCP", tcp_info(sp, dp, offfl & 0xFFF, seq, ack, win, seglen), False)
    if proto == 17:
        if o + 8 > end:
            return None
        sp, dp, ulen = _UDP.unpack_from(data, o)
        if ulen < 8 or o + ulen > end:
            return None
        if (sp in _SLOW_UDP or dp in _SLOW_UDP) and (
            sp in _ALWAYS_UDP
            or dp in _ALWAYS_UDP
            or (ulen > 8 and _FIRST[data[o + 8]] and data[o + 8 : o + 11] in _PREFIXES)
        ):
            return None
        if (
            (ulen > 9 and data[o + 9] in _UDP_B1)
            or (ulen >= 12 and _U32(data, o + 8)[0] in _UDP_W0)
            or (ulen >= 16 and _U32(data, o + 12)[0] in _UDP_W4)
        ):
            return None
        if _BOUND and (sp in _BOUND or dp in _BOUND):
            return None
        n = _NUMS or num_strs()
        return Summary(src, dst, "UDP", f"{n[sp]} -> {n[dp]} Len={n[ulen - 8]}", False)
    if proto == 1 and not v6:
        if o + 8 > end:
            return None
        t, _code, ident, seq = _ICMP_ECHO.unpack_from(data, o)
        name = _ECHO_NAMES.get(t)
        if name is None:
            return None
        return Summary(
            src,
            dst,
            "ICMP",
            f"{name} id=0x{ident:04x}, seq={seq}/{(seq >> 8) | ((seq & 0xFF) << 8)}, ttl={hlim}",
            False,
        )
    if proto == 58 and v6:
        if o + 8 > end:
            return None
        t, _code, ident, seq = _ICMP_ECHO.unpack_from(data, o)
        name = _ECHO6_NAMES.get(t)
        if name is None:
            return None
        return Summary(src, dst, "ICMPv6", f"{name} id=0x{ident:04x}, seq={seq}, hop limit={hlim}", False)
    return None


def _walk(frame: Frame) -> tuple[Summary, tuple[int, int, int, int, bool]] | None:
    """The fast path: (columns, the packet's shape) for the packets it takes, else None. The shape is
    (link type, VLAN tags, IP version, transport protocol, whether a payload follows the transport
    header): within the fast path the protocol stack depends on nothing else (fast_protocols).
    Headers are read by decode.layers (the one L2-L4 walk)."""
    data = frame[1]
    n = len(data)
    if frame[2] != n:
        return None
    lk = link_of(data, frame[3])
    if lk is None:
        return None
    et, o, tags = lk
    if et == 0x0800:
        h = ipv4(data, o)
        if h is None or h.hlen != 20 or h.frag & 0x3FFF or h.length < 20 or o + h.length > n:
            return None
        proto = h.proto
        if proto != 6 and proto != 17 and proto != 1:
            return None
        l4, end = o + 20, o + h.length
        s = _l4(data, l4, end, proto, ip4(h.src), ip4(h.dst), h.hlim, False)
    elif et == 0x86DD:
        h = ipv6(data, o)
        if h is None:
            return None
        proto = h.proto
        end = o + h.length
        if h.length == 40 or end > n or (proto != 6 and proto != 17 and proto != 58):
            return None
        l4 = o + 40
        s = _l4(data, l4, end, proto, ip6(h.src), ip6(h.dst), h.hlim, True)
    else:
        return None
    if s is None:
        return None
    # (TCP: the header length _l4 checked; UDP and ICMP/ICMPv6 echo: 8-byte headers)
    payload = end > l4 + ((data[l4 + 12] >> 4) << 2 if proto == 6 else 8)
    return s, (frame[3], tags, h.version, proto, payload)


def _fast(frame: Frame) -> Summary | None:
    w = _walk(frame)
    return None if w is None else w[0]


def summarize(frame: Frame) -> Summary:
    """The packet-list columns of ``frame``. Never raises."""
    try:
        w = _walk(frame)
    except Exception:
        w = None
    if w is not None:
        return w[0]
    ctx = engine.run(frame, False, False, True)  # (slow_summary, inlined)
    return Summary(ctx.src, ctx.dst, ctx.proto, ctx.info, bool(ctx.malformed))


#: frame.protocols learned from the full dissector, per packet shape of the fast path
_shape_protocols: dict[tuple[int, int, int, int, bool], str] = {}


def fast_protocols(frame: Frame) -> str | None:
    """``frame.protocols`` (e.g. "eth:ethertype:ip:tcp:data") without the full dissector, for the packets
    the summary's fast path takes (no application-layer decoder, not malformed); None for the rest.

    Within the fast path the protocol stack depends only on the packet's shape (_walk): the first packet
    of each shape is dissected in full and its answer kept (so the names are the dissector's own; a test
    checks every corpus packet)."""
    try:
        w = _walk(frame)
    except Exception:
        return None
    if w is None:
        return None
    key = w[1]
    p = _shape_protocols.get(key)
    if p is None:
        ctx = engine.run(frame, False, False, True)
        if ctx.malformed:
            return None
        p = _shape_protocols[key] = ":".join(ctx.protos)
    return p


def slow_summary(frame: Frame) -> Summary:
    """The columns from the full dissector (used when the fast path does not apply, and by tests)."""
    ctx = engine.run(frame, False, False, True)
    return Summary(ctx.src, ctx.dst, ctx.proto, ctx.info, bool(ctx.malformed))


_tcache: dict[int, str] = {}


def format_time(ts_ns: int) -> str:
    """Local wall-clock time of ``ts_ns`` as HH:MM:SS.ffffff (like tcpdump; TZ applies)."""
    sec, ns = divmod(ts_ns, 1_000_000_000)
    hms = _tcache.get(sec)
    if hms is None:
        if len(_tcache) > 4096:
            _tcache.clear()
        try:
            hms = time.strftime("%H:%M:%S", time.localtime(sec))
        except (OverflowError, OSError, ValueError):
            hms = "??:??:??"
        _tcache[sec] = hms
    us = ns // 1000
    return f"{hms}.{_D3[us // 1000]}{_D3[us % 1000]}"  # (table lookups: cheaper than a :06d format)


def format_line(number: int, frame: Frame) -> str:
    """One line per packet: number, time, source -> destination, protocol, length, info."""
    s = summarize(frame)
    return f"{number} {format_time(frame[0])} {s[0]} -> {s[1]} {s[2]} {frame[2]} {s[3]}"


def _slow_line(number: int, frame: Frame) -> str:
    """``format_line`` for an Ethernet frame the native walker declined: ``_walk`` would decline it too
    (the walker takes every packet the fast path takes), so the dissector's columns straight away (a test
    checks both lines agree)."""
    ctx = engine.run(frame, False, False, True)
    wl = frame[2]
    return (
        f"{number} {format_time(frame[0])} {ctx.src} -> {ctx.dst} {ctx.proto} "
        f"{(_NUMS or num_strs())[wl] if wl < 65600 else wl} {ctx.info}"
    )


_D3 = [f"{i:03d}" for i in range(1000)]


_nums = num_strs


def _hms(sec: int) -> str:
    """ "HH:MM:SS." of a Unix second (local time, as format_time)."""
    return format_time(sec * 1_000_000_000)[:-6]


_walker: list[Any] = []  # [Walker or None], made on first use


def _native_ext() -> dict[str, Any]:
    """The walker's session-8 tables (see _fastline.c's ext_tables), each given only while the
    dissector whose columns the walker copies is the registered one: one 802.1Q tag, IPv6 without
    extension headers (TCP/UDP/ICMPv6 echo as _l4 gives them), MPTCP's Protocol column, SSH's
    encrypted packets (the message codes ssh._plain_packets knows), NCP over IP's replies and
    fixed-text requests, RX and AFS over it, ONC RPC replies, DNS and MDNS messages, DHCP, BFD, NTP, FTP/POP/SMTP's first lines, PIM, VRRP, OSPF, EIGRP and ESP over
    IPv4/IPv6, PTPv2 and DECnet (routing control, NSP) over Ethernet: their type names as the dissectors print them, unknown ones too."""
    v4 = ETHERTYPES.map.get(0x0800) is inet.dissect_ipv4
    v6 = ETHERTYPES.map.get(0x86DD) is inet.dissect_ipv6
    ip = IP_PROTOS.map.get
    ext: dict[str, Any] = {
        "vlan": ETHERTYPES.map.get(link.ETH_P_8021Q) is link.dissect_vlan,
        # 802.1ad S-tags and old QinQ tags: their columns are 802.1Q's (session 11)
        "qinq": ETHERTYPES.map.get(link.ETH_P_8021AD) is link.dissect_8021ad
        and ETHERTYPES.map.get(link.ETH_P_QINQ1) is link.dissect_vlan,
        # PBB (802.1ah) carrying IPv4/IPv6: the inner packet's columns (session 9)
        "pbb": ETHERTYPES.map.get(0x88E7) is tunnels.dissect_pbb,
        # Cisco FabricPath: the inner frame's columns, cut by the FCS Wireshark takes off (session 12)
        # Arista's AVSP timestamp header before IPv4/IPv6/MPLS, Cisco's VN-Tag before 802.1Q and IPv4/IPv6:
        # the inner packet's columns (session 12)
        "avsp": ETHERTYPES.map.get(0xD28B) is tunnels.dissect_avsp,
        "vntag": ETHERTYPES.map.get(0x8926) is tunnels.dissect_vntag,
        "cfp": ETHERTYPES.map.get(0x8903) is tunnels.dissect_cfp
        and ETHERTYPES.map.get(0x0800) is inet.dissect_ipv4,
        # STP BPDUs after an 802.3 LLC header (session 9)
        "stp": LLC_SAPS.map.get(0x42) is l2ctl.dissect_stp,
        # Cisco PVST+ BPDUs after SNAP (session 11)
        "pvst": LLC_SNAP.map.get(l2ctl.CISCO | 0x010B) is l2ctl.dissect_stp,
        "ipv6": v6,
        "echo6": _ECHO6_NAMES,
    }
    if LLC_SAPS.map.get(0xE0) is l2ctl.dissect_ipx and ETHERTYPES.map.get(0x8137) is l2ctl.dissect_ipx:
        ext["ipx"] = {  # IPX: SAP, RIP, NBIPX (session 11)
            "sap": l2ctl.IPX_SAP_TYPES,
            "rip": l2ctl.IPX_RIP_TYPES,
            "nbipx": {t: l2ctl.NBIPX_TYPES.get(t, "Unknown") for t in range(256)},
        }
    if ETHERTYPES.map.get(0x88CC) is l2ctl.dissect_lldp:  # LLDP (session 11)
        ext["lldp"] = True
        ext["lldp_chassis"] = l2ctl.CHASSIS_ABBR
        ext["lldp_port"] = l2ctl.PORT_ABBR
    if LLC_SNAP.map.get(l2ctl.CISCO | 0x0111) is l2ctl.dissect_udld:  # UDLD in SNAP (session 11)
        ext["udld"] = True
    if ETHERTYPES.map.get(0x888E) is l2ctl.dissect_eapol:  # EAPOL and EAP (session 11)
        ext["eapol_types"] = {t: l2ctl.EAPOL_TYPES.get(t) or f"Unknown Type (0x{t:02X})" for t in range(256)}
        ext["eap_codes"] = {c: l2ctl.EAP_CODES.get(c) or f"Unknown code ({c})" for c in range(256)}
        ext["eap_types"] = {t: l2ctl.EAP_TYPES.get(t, f"Unknown type ({t})") for t in range(256)}
    isis_cols = {15: "HELLO", 16: "HELLO", 17: "HELLO", 18: "LSP", 20: "LSP"}
    isis_cols |= {24: "CSNP", 25: "CSNP", 26: "PSNP", 27: "PSNP"}
    if (
        LLC_SAPS.map.get(0xFE) is l2ctl.dissect_osi
        and {t: c for t, (_, c, _) in l2ctl.ISIS_TYPES.items()} == isis_cols
    ):  # IS-IS after 802.3 + LLC: the PDU types' names (session 11; the walker knows each kind)
        ext["isis"] = {t: name for t, (name, _, _) in l2ctl.ISIS_TYPES.items()}
    if not (v4 and v6):  # (the rest is for both IP versions: one condition)
        return ext
    ext["mptcp"] = ip(6) is inet.dissect_tcp
    ext["bogus_ip"] = True  # IPv4's bogus versions and header lengths, IPv6's cut headers (session 11)
    from sniffer.decode.ipproto import IP_PROTO_DESCRIPTIONS

    # the IP protocols no dissector takes: their description as the Info (session 11)
    ext["ip_unknown"] = {p: IP_PROTO_DESCRIPTIONS.get(p, "Unknown") for p in range(256) if ip(p) is None}
    if (
        ip(6) is inet.dissect_tcp
        and ip(17) is inet.dissect_udp
        and TCP_PORTS.map.get(routing.LDP_PORT) is routing.dissect_ldp
        and UDP_PORTS.map.get(routing.LDP_PORT) is routing.dissect_ldp
    ):
        ext["ldp"] = (routing.LDP_PORT, routing.LDP_MSGS)  # LDP over UDP and TCP (session 11)
    if ip(17) is inet.dissect_udp and UDP_PORTS.map.get(netbios.NBDS_PORT) is netbios.dissect_nbds:
        ext["nbds"] = {  # NBDS, SMB1 in it, the Browser protocol in a mailslot (session 11)
            "port": netbios.NBDS_PORT,
            "types": netbios.NBDS_TYPES,
            "smb1": smb.SMB1_COMMANDS,
            "browser": smb.BROWSER_COMMANDS,
            "server_types": smb.SERVER_TYPES,
        }
    if ip(17) is inet.dissect_udp and all(
        UDP_PORTS.map.get(p) is aaa.dissect_radius for p in aaa.RADIUS_PORTS
    ):
        ext["radius"] = (aaa.RADIUS_PORTS, aaa.RADIUS_CODES)  # RADIUS (session 11)
    if (
        ip(17) is inet.dissect_udp
        and ip(6) is inet.dissect_tcp
        and UDP_PORTS.map.get(aaa.KERBEROS_PORT) is aaa.dissect_kerberos_udp
        and TCP_PORTS.map.get(aaa.KERBEROS_PORT) is aaa.dissect_kerberos_tcp
    ):
        ext["krb"] = (aaa.KERBEROS_PORT, aaa.KRB_TYPES)  # Kerberos' message types (session 11)
    if ip(17) is inet.dissect_udp and UDP_PORTS.map.get(tunnels.ISAKMP_PORT) is tunnels.dissect_isakmp:
        encap = (
            UDP_PORTS.map.get(tunnels.UDPENCAP_PORT) is tunnels.dissect_udpencap
            and ip(50) is inet.dissect_esp
        )
        ext["isakmp"] = (  # ISAKMP, IPsec over UDP (session 11)
            tunnels.ISAKMP_PORT,
            tunnels.UDPENCAP_PORT if encap else 0,
            tunnels.ISAKMP_EXCHANGES,
        )
    if ip(113) is routing.dissect_pgm:  # PGM (session 11)
        ext["pgm_types"] = {t: routing.PGM_TYPES.get(t, "Unknown") for t in range(256)}
        ext["pgm_poll"] = routing.PGM_POLL_SUBTYPES
    if ip(2) is igmp.dissect_igmp:  # IGMPv3 queries and reports (session 11)
        ext["igmp3"] = {
            "report": igmp.IGMP_TYPES[igmp.IGMP_V3_REPORT],
            "records": {t: igmp.RECORD_INFO.get(t) or f"Record type {t}" for t in range(256)},
        }
    not_dce = frozenset().union(*(p for p, fn in TCP_HEURISTICS.entries if fn is not dcerpc.heuristic_dcerpc))
    if (
        TCP_PORTS.map.get(dcerpc.EPM_PORT) is dcerpc.dissect_dcerpc_port
        and any(fn is dcerpc.heuristic_dcerpc for _, fn in TCP_HEURISTICS.entries)
        and not not_dce & dcerpc.DCERPC_PREFIXES
        and ip(6) is inet.dissect_tcp
    ):
        ext[
            "dcerpc"
        ] = {  # DCE/RPC on its port and by its heuristic, the only one for its prefixes (session 11)
            "port": dcerpc.EPM_PORT,
            "ptypes": dcerpc.PTYPES,
            "results": dcerpc.RESULTS,
            "uuids": tuple(dcerpc.UUID_NAMES.items()),
        }
    if (
        len(text.IRC_PORTS) == 1
        and TCP_PORTS.map.get(text.IRC_PORTS[0]) is text.dissect_irc
        and ip(6) is inet.dissect_tcp
    ):
        ext["irc_port"] = text.IRC_PORTS[0]  # IRC (session 11)
    if TCP_PORTS.map.get(routing.BGP_PORT) is routing.dissect_bgp and ip(6) is inet.dissect_tcp:
        ext["bgp"] = routing.BGP_TYPES  # BGP (session 11)
        ext["bgp_port"] = routing.BGP_PORT
    if TCP_PORTS.map.get(db.MYSQL_PORT) is db.dissect_mysql and ip(6) is inet.dissect_tcp:
        ext["mysql"] = db.MYSQL_COMMANDS  # MySQL (session 11)
        ext["mysql_port"] = db.MYSQL_PORT
    if all(TCP_PORTS.map.get(p) is netbios.dissect_nbss for p in (139, 445)):
        ext["smb2"] = {  # SMB2 in NBSS session messages (session 10)
            "cmds": smb.SMB2_COMMANDS,
            "status": smb.NT_STATUS,
            "getinfo": smb.GETINFO_TYPES,
            "file": smb.FILE_INFO_CLASSES,
            "fs": smb.FS_INFO_CLASSES,
            "ntlmssp": smb.NTLMSSP_TYPES,
        }
    others = [p for p, fn in TCP_HEURISTICS.entries if fn is not tls.heuristic_tls]
    if (
        ip(6) is inet.dissect_tcp
        and all(TCP_PORTS.map.get(p) is tls.dissect_tls_port for p in TLS_TCP_PORTS)
        and any(fn is tls.heuristic_tls for _p, fn in TCP_HEURISTICS.entries)
        and not any(p & tls.TLS_HEURISTIC_PREFIXES for p in others)
        and all(v >> 8 == 3 for v in tls.VERSIONS)
    ):  # TLS records but handshake messages (session 10)
        ext["tls"] = {
            "ports": tuple(sorted(TLS_TCP_PORTS)),
            "versions": {v & 0xFF: n for v, n in tls.VERSIONS.items()},
            "levels": tls.ALERT_LEVELS,
            "alerts": tls.ALERT_DESCRIPTIONS,
            "handshakes": tls.HANDSHAKE_TYPES,
            "supported_versions": tls.EXT_SUPPORTED_VERSIONS,  # (handshake messages: session 11)
        }
        if TCP_PORTS.map.get(aaa.LDAP_PORT) is aaa.dissect_ldap:  # LDAP after StartTLS (session 11)
            ext["tls"]["ldap_port"] = aaa.LDAP_PORT
    if UDP_PORTS.map.get(netbios.NBNS_PORT) is netbios.dissect_nbns:  # NBNS (session 10)
        ext["nbns"] = {
            "ops": netbios.NBNS_OPCODES,
            "rcodes": netbios.NBNS_RCODES,
            "types": netbios.NBNS_TYPES,
        }
    if all(UDP_PORTS.map.get(p) is snmp.dissect_snmp for p in (161, 162)):
        ext["snmp"] = snmp.PDU_TYPES  # SNMP v1/v2c: the PDU types (session 10)
    heads = {"cseq": "CSeq", "content-type": "Content-Type", "expires": "Expires", "contact": "Contact"}
    if (
        UDP_PORTS.map.get(voip.SIP_PORT) is voip.dissect_sip
        and all(voip.SIP_HEADERS.get(k) == v for k, v in heads.items())
        and {c for c, n in voip._COMPACT.items() if n in heads.values()} == {"c", "m"}
        and voip._COMPACT["c"] == "Content-Type"
    ):
        ext["sip_methods"] = tuple(sorted(voip.SIP_METHODS))  # SIP over UDP 5060 (session 10)
    ext["v6ext"] = ip(0) is inet.dissect_hopopts and ip(60) is inet.dissect_dstopts  # (session 10)
    if ip(58) is icmp.dissect_icmpv6 and not any(t in icmp.ICMPV6_CODES for t in (130, 131, 132, 143)):
        ext["mld"] = {t: icmp.ICMPV6_TYPES[t] for t in (130, 131, 132, 143)}  # MLD's Info (session 10)
        ext["mld_records"] = icmp.MLD_RECORD_INFO
    if ip(58) is icmp.dissect_icmpv6 and not any(t in icmp.ICMPV6_CODES for t in range(133, 138)):
        ext["nd"] = {t: icmp.ICMPV6_TYPES[t] for t in range(133, 138)}  # ND's Info (session 10)
    # tunnels whose inner IPv4/IPv6 packet gives the columns, one level (session 10)
    ext["pppoe"] = (
        ETHERTYPES.map.get(0x8864) is tunnels.dissect_pppoes
        and tunnels.PPP_PROTOS.map.get(0x0021) is tunnels._ppp_ip
        and tunnels.PPP_PROTOS.map.get(0x0057) is tunnels._ppp_ipv6
    )
    ext["mpls"] = ETHERTYPES.map.get(0x8847) is tunnels.dissect_mpls is ETHERTYPES.map.get(0x8848)
    gre = ip(47) is inet.dissect_gre and not any(k in inet.GRE_PROTOS.map for k in (0x0800, 0x86DD, 0x6558))
    ext["gre"] = gre
    ext["gre_udp"] = gre and UDP_PORTS.map.get(4754) is tunnels.dissect_gre_in_udp
    ext["geneve"] = UDP_PORTS.map.get(6081) is tunnels.dissect_geneve
    ext["ayiya"] = (
        UDP_PORTS.map.get(5072) is tunnels.dissect_ayiya
        and ip(4) is inet.dissect_ipv4
        and ip(41) is inet.dissect_ipv6
    )
    if ip(6) is inet.dissect_tcp and TCP_PORTS.map.get(ssh.SSH_PORT) is ssh.dissect_ssh:
        ext["ssh"] = bytes(int(c in ssh.MESSAGES or 30 <= c <= 33) for c in range(256))
        # banners and key exchange messages (session 11)
        ext["ssh_kex"] = (
            ssh.MESSAGES,
            ssh.KEX_NAMES,
            ssh.HOST_KEY_PREFIXES,
            bytes(int(n in ssh.EC_POINT_SIZES) for n in range(256)),
        )
    if ip(6) is inet.dissect_tcp and TCP_PORTS.map.get(524) is legacyfs.dissect_ncp:
        # NCP over IP: the requests whose Info is a fixed text (or one with the file handle after " - ")
        # (and those with the request's path after ": ")
        ext["ncp"] = [
            (fn, -1 if sub is None else sub, t.split("{")[0].removesuffix(" - ").removesuffix(": "), kind)
            for (fn, sub), t in legacyfs.NCP_REQUESTS.items()
            for kind in (
                0
                if "{" not in t
                else 1
                if t.endswith(" - {handle}")
                else 2
                if t.endswith(": {path}")
                else -1,
            )
            if kind >= 0 and t.count("{") <= 1
        ]
    if ip(17) is inet.dissect_udp and all(
        UDP_PORTS.map.get(p) is legacyfs.dissect_rx for p in legacyfs.AFS_SERVICES
    ):  # RX, and AFS's requests and replies (the live call map: a reply names its request's operation)
        from sniffer.decode.afsops import AFS_OPCODES

        ext["rx"] = (
            {
                port: (svc, AFS_OPCODES.get("backup" if svc == "BKUP" else svc.lower(), {}))
                for port, svc in legacyfs.AFS_SERVICES.items()
            },
            legacyfs._RX_CALLS,
            {t: legacyfs.RX_TYPES.get(t, "Unknown") for t in range(256)},
            {r: f"ACK {legacyfs.RX_ACK_REASONS.get(r, 'Unknown')}" for r in range(256)},
        )
    if (
        ip(6) is inet.dissect_tcp
        and ip(17) is inet.dissect_udp
        and all(TCP_PORTS.map.get(p) is rpc.dissect_rpc_tcp for p in rpc.PORT_PROGRAMS)
        and all(UDP_PORTS.map.get(p) is rpc.dissect_rpc_udp for p in rpc.PORT_PROGRAMS)
    ):  # ONC RPC's replies: the Protocol column of the program the server port names ("RPC" for others)
        ext["rpc"] = {p: rpc.PROGRAMS.get(prog, ("RPC",))[0] for p, prog in rpc.PORT_PROGRAMS.items()}
        numbers = (rpc.PROG_PORTMAP, rpc.PROG_NFS, rpc.PROG_MOUNT, rpc.PROG_NFSACL)
        if numbers == (100000, 100003, 100005, 100227) and [b for b, _ in rpc._ACCESS_BITS] == [
            1 << i for i in range(6)
        ]:
            # and their calls (session 10): the programs' columns, procedures and the arguments' names
            ext["rpc_calls"] = {
                "progs": {p: col for p, (col, _layer) in rpc.PROGRAMS.items()},
                "procs": rpc.PROCS,
                "access": dict(enumerate(n for _b, n in rpc._ACCESS_BITS)),
                "stable": rpc._STABLE,
                "create": rpc._CREATE_MODES,
                "ipproto": rpc._IPPROTO,
            }
    if (
        ip(17) is inet.dissect_udp
        and UDP_PORTS.map.get(53) is app.dissect_dns
        and UDP_PORTS.map.get(5353) is app.dissect_mdns
    ):  # DNS and MDNS messages: the opcodes', reply codes' and record types' names
        ext["dns"] = (
            53,
            5353,
            {op: app.DNS_OPCODES.get(op) or f"Unknown operation ({op})" for op in range(16)},
            {rc: app.DNS_RCODES.get(rc, f"Unknown error ({rc})") for rc in range(16)},
            app.DNS_TYPES,
        )
        if UDP_PORTS.map.get(app.LLMNR_PORT) is app.dissect_llmnr:  # LLMNR: DNS's Info (session 11)
            ext["llmnr_port"] = app.LLMNR_PORT
    if ip(17) is inet.dissect_udp and all(UDP_PORTS.map.get(p) is routing.dissect_bfd for p in (3784, 4784)):
        ext["bfd"] = ({d: routing.BFD_DIAG.get(d, "Unknown") for d in range(32)}, routing.BFD_STATES)
    if ip(17) is inet.dissect_udp and all(UDP_PORTS.map.get(p) is app.dissect_dhcp for p in (67, 68)):
        ext["dhcp"] = {t: str(app.DHCP_TYPES.get(t, t)) for t in range(256)}
    if ip(17) is inet.dissect_udp and UDP_PORTS.map.get(mgmt.NTP_PORT) is mgmt.dissect_ntp:
        ext["ntp"] = (
            mgmt.NTP_PORT,
            mgmt.NTP_MODES,
            {rc: mgmt.NTP_PRIV_REQ.get(rc, f"Unknown ({rc})") for rc in range(256)},
        )
    if ip(6) is inet.dissect_tcp:  # the line protocols whose Info is their first line
        ext["text"] = [
            (port, proto, style)
            for port, fn, proto, style in (
                (text.FTP_PORT, text.dissect_ftp, "FTP", 0),
                (text.POP_PORT, text.dissect_pop, "POP", 1),
                *((p, text.dissect_smtp, "SMTP", 1) for p in text.SMTP_PORTS),
            )
            if TCP_PORTS.map.get(port) is fn
        ]
    ext["vrrp"] = ip(112) is routing.dissect_vrrp
    if (
        ip(6) is inet.dissect_tcp
        and ip(17) is inet.dissect_udp
        and TCP_PORTS.map.get(ics.DNP3_PORT) is ics.dissect_dnp3
        and UDP_PORTS.map.get(ics.DNP3_PORT) is ics.dissect_dnp3
    ):  # DNP3's link and application functions
        ext["dnp3_pri"] = {f: ics.LINK_PRI.get(f, f"Unknown ({f})") for f in range(16)}
        ext["dnp3_sec"] = {f: ics.LINK_SEC.get(f, f"Unknown ({f})") for f in range(16)}
        ext["dnp3_app"] = {f: ics.APP_FUNCS.get(f) or f"Unknown function ({f})" for f in range(256)}
    hp = [port for port in HTTP_TCP_PORTS if TCP_PORTS.map.get(port) is http.dissect_http_port]
    if ip(6) is inet.dissect_tcp and hp:  # HTTP on its ports: the request/status line, the body's type
        bits = bytearray(8192)
        for port in hp:
            bits[port >> 3] |= 1 << (port & 7)
        ext["http"] = (
            bytes(bits),
            tuple(sorted(http._METHODS)),
            tuple((m, proto, suffix) for m, (_layer, proto, suffix) in http._BODY.items()),
        )
    if (
        ip(1) is icmp.dissect_icmp
        and ip(inet.IPPROTO_IPIP) is inet.dissect_ipv4
        and ip(17) is inet.dissect_udp
    ):
        # ICMP errors quoting a whole plain UDP datagram: the Info per type and code (16: any code past 15)
        err: dict[int, str] = {}
        for slot, t in enumerate((3, 4, 5, 11, 12)):
            tname = icmp.ICMP_TYPES.get(t) or f"Unknown ICMP (obsolete or malformed?) (type {t})"
            for code in range(17):
                cname = icmp.ICMP_CODES.get(t, {}).get(code) if code < 16 else None
                err[slot * 256 + code] = f"{tname} ({cname})" if cname else tname
        ext["icmp_err"] = err
    if ip(132) is sctp.dissect_sctp:  # SCTP's chunk list; a DATA payload with a dissector stays Python's
        ext["sctp"] = {t: sctp.SCTP_CHUNKS.get(t) or f"UNKNOWN({t})" for t in range(256)}
        bits = bytearray(8192)
        for port in sctp.SCTP_PORTS.map:
            bits[port >> 3] |= 1 << (port & 7)
        ext["sctp_ports"] = bytes(bits)
        ext["sctp_ppids"] = tuple(sctp.SCTP_PPIDS.map)
    ext["esp"] = ip(inet.IPPROTO_ESP) is inet.dissect_esp
    ext["ah"] = ip(inet.IPPROTO_AH) is inet.dissect_ah  # (its next header's columns)
    if ip(103) is routing.dissect_pim:
        ext["pim"] = {t: routing.PIM_TYPES.get(t) or f"Unknown ({t})" for t in range(16)}
    if ip(89) is routing.dissect_ospf:
        ext["ospf"] = {t: routing.OSPF_TYPES.get(t) or f"Unknown ({t})" for t in range(256)}
    if ip(88) is routing.dissect_eigrp:
        ext["eigrp"] = {t: routing.EIGRP_OPCODES.get(t) or f"Unknown ({t})" for t in range(256)}
    if ETHERTYPES.map.get(0x6003) is l2ctl.dissect_dec_dna:  # DECnet routing control and NSP messages
        ext["dec"] = (
            {c: l2ctl.DEC_CONTROL.get(c, "Unknown control message") for c in range(8)},
            l2ctl.DEC_NSP,
            l2ctl.DEC_SEGMENTS,
            {m: l2ctl.DEC_FCMOD.get(m, "reserved") for m in range(4)},
        )
    if ETHERTYPES.map.get(0x88F7) is l2ctl.dissect_ptp:
        ext["ptp"] = {t: l2ctl.PTP_TYPES.get(t) or f"Unknown message (0x{t:x})" for t in range(16)}
    return ext


def native_walker() -> Any | None:
    """The native accelerator of the text loops (sniffer/decode/_fastline.c, docs/decode.md), or None
    where it was not built (no compiler at install) or SNIFFER_NO_NATIVE=1 is set: then the pure-Python
    loops below run alone (same text; tests/decode/test_native.py compares them packet for packet).

    It is given what "known" means from the declarations this module derives (the dissected port sets,
    the heuristics' prefixes and probes, the live set of conversation ports, the TCP flag texts, the echo
    names, the local-time formatter) and formats the packets the fast path (_walk) takes and those of the
    dissectors it copies (_native_ext); every other record comes back to Python."""
    if not _walker:
        w = None
        if os.environ.get("SNIFFER_NO_NATIVE", "") in ("", "0"):
            try:
                from sniffer.decode import _fastline
            except ImportError:
                pass
            else:
                ports = bytearray(65536)
                for bit, portset in ((1, _SLOW_TCP), (2, _ALWAYS_TCP), (4, _SLOW_UDP), (8, _ALWAYS_UDP)):
                    for port in portset:
                        ports[port] |= bit
                w = _fastline.Walker(
                    bytes(ports),
                    _PREFIXES,
                    _FIRST,
                    _HPREFIXES,
                    _HFIRST,
                    _UDP_B1,
                    _UDP_W0,
                    _UDP_W4,
                    _BOUND,
                    _flags(),
                    _ECHO_NAMES,
                    _hms,
                    # Ethernet's ARP requests and replies: while these two dissectors are the ones registered
                    ETHERTYPES.map.get(0x0806) is link.dissect_arp
                    and LINKTYPES.map.get(1) is link.dissect_eth,
                    # IGMPv1/v2 over IPv4: their type names, while IPv4 and IGMP are the registered dissectors
                    {t: igmp.IGMP_TYPES[t] for t in (0x11, 0x12, 0x16, 0x17)}
                    if ETHERTYPES.map.get(0x0800) is inet.dissect_ipv4
                    and IP_PROTOS.map.get(2) is igmp.dissect_igmp
                    and LINKTYPES.map.get(1) is link.dissect_eth
                    else {},
                    # IPv4 fragments past the first: the IP protocols' names, while IPv4 is the dissector
                    {p: inet.PROTO_NAMES.get(p, "Unknown") for p in range(256)}
                    if ETHERTYPES.map.get(0x0800) is inet.dissect_ipv4
                    and LINKTYPES.map.get(1) is link.dissect_eth
                    else {},
                    _native_ext() if LINKTYPES.map.get(1) is link.dissect_eth else {},
                )
        _walker.append(w)
    return _walker[0]


def iter_text(
    frames: Iterable[Frame], start: int = 1, count: int | None = None, batch: int = 2048
) -> Iterator[str]:
    """Yield the one-line text of ``frames`` (numbered from ``start``, at most ``count`` lines) in chunks
    of ``batch`` lines, each chunk a str ending in a newline; the first chunk holds only the first line
    (so it shows at once). If ``frames`` raises (a damaged file), the lines before the damage are
    yielded, then the error propagates.

    Same text as ``format_line(n, frame)`` for each frame (tests check it): this is the loop behind
    ``sniffer read``. Ethernet frames go to the native walker first where it was built; a classic pcap
    reader (one with ``raw_layout()``) is walked by it in its read buffer directly, without a Frame per
    record. Without the walker each frame takes ``format_line`` (the fast path _walk, else the dissector).
    """
    if count == 0:
        return iter(())
    raw_layout = getattr(frames, "raw_layout", None)
    layout = raw_layout() if raw_layout is not None else None
    if layout is not None:
        return _text_raw(frames, layout, start, count, batch)
    return _text_frames(frames, start, count, batch)


def _chunked(
    pieces: Iterator[tuple[str, int]], budget: list[int], start: int, count: int | None, batch: int
) -> Iterator[str]:
    """iter_text's chunks from ``pieces``, (text of k lines, k) in order, each piece at most ``budget[0]``
    lines (the lines until the next chunk, which this keeps and the producer reads; the first chunk is
    a single line). Stops after ``count`` lines; if ``pieces`` raises, the lines before the damage are
    yielded, then the error propagates."""
    lines: list[str] = []
    append = lines.append
    n = start - 1
    stop = n + count if count is not None else -1
    budget[0] = 1
    try:
        for text, k in pieces:
            append(text)
            n += k
            left = budget[0] - k
            if left:
                budget[0] = left
                continue
            append("")
            yield "\n".join(lines)
            lines.clear()
            if n == stop:
                return
            budget[0] = batch if stop < 0 else min(batch, stop - n)
    except Exception:
        if lines:  # the lines before the damage, then the error
            append("")
            yield "\n".join(lines)
        raise
    if lines:
        append("")
        yield "\n".join(lines)


def _text_frames(frames: Iterable[Frame], start: int, count: int | None, batch: int) -> Iterator[str]:
    budget = [1]
    return _chunked(_frame_lines(frames, start), budget, start, count, batch)


def _frame_lines(frames: Iterable[Frame], start: int) -> Iterator[tuple[str, int]]:
    fmt_line = format_line
    slow_line = _slow_line
    walker = native_walker()
    wline = walker.line if walker is not None else None
    n = start - 1
    for fr in frames:
        n += 1
        if wline is not None and fr[3] == 1:  # Ethernet: the walker's, or (declined) the dissector's
            t = wline(n, fr[0], fr[1], fr[2])
            yield (t if t is not None else slow_line(n, fr)), 1
        else:
            yield fmt_line(n, fr), 1


def _text_raw(reader: Any, layout: Any, start: int, count: int | None, batch: int) -> Iterator[str]:
    """iter_text over a pcap or pcapng reader, walking the records in its read buffer (see
    CaptureReader.raw_buffer and RawLayout) without a Frame per record where the native walker formats
    them. For pcapng it walks the Enhanced Packet Blocks of the current section, checked as the reader
    checks them; any other block, and whatever the checks refuse, goes through reader.raw_next()."""
    budget = [1]
    return _chunked(_raw_lines(reader, layout, start, budget), budget, start, count, batch)


def _raw_lines(reader: Any, layout: Any, start: int, budget: list[int]) -> Iterator[tuple[str, int]]:
    hdr = struct.Struct(layout.endian + "IIII").unpack_from
    png = layout.pcapng
    epb = u32 = hdr
    ifs: list[tuple[int, int, int, int, Any]] = []
    nif = maxblock = 0
    nsec = layout.nanosecond or png  # pcapng: frac is ns (converted from the interface's resolution)
    lt = layout.linktype
    maxcap = layout.maxcap
    mul = 1 if nsec else 1000
    fmt_line = format_line
    new = tuple.__new__
    F = Frame
    n = start - 1
    walker = native_walker() if lt == 1 and not png else None
    walk = walker.walk if walker is not None else None  # (classic Ethernet pcap: the records it knows)
    # a record the walker declined: _walk would decline it too (the same checks), so the dissector's line
    line = _slow_line if walk is not None else fmt_line
    bigend = layout.endian == ">"
    buf, pos = reader.raw_buffer()
    blen = len(buf)
    while True:
        if png:  # (again) after raw_next: a new section or interface may have come
            e, states, maxblock = reader.raw_section()
            epb = struct.Struct(e + "IIIIIII").unpack_from
            u32 = struct.Struct(e + "I").unpack_from
            ifs = [(st.linktype, st.snapshot, st.mul, st.off, st.conv) for st in states]
            nif = len(ifs)
        while blen - pos >= 16:
            if walk is not None:
                b = budget[0]
                text, pos, k = walk(buf, pos, n, b, bigend, nsec, maxcap)
                if k:
                    n += k
                    yield text, k
                    if k == b:  # the chunk is full: the walker again from the next record
                        continue
                    if blen - pos < 16:
                        break
            if png:
                if blen - pos < 28:
                    break
                btype, bl, ifid, tsh, tsl, caplen, wl = epb(buf, pos)
                nxt = pos + bl
                if btype != 6 or bl & 3 or bl > maxblock or nxt > blen or ifid >= nif:
                    break
                lt, snap, tmul, toff, conv = ifs[ifid]
                s = pos + 28
                end = s + caplen
                if caplen > snap or end > nxt - 4 or u32(buf, nxt - 4)[0] != bl:
                    break
                t = tsh << 32 | tsl
                ts = t * tmul + toff if tmul else conv(t)
            else:
                sec, frac, caplen, wl = hdr(buf, pos)
                s = pos + 16
                nxt = end = s + caplen
                if nxt > blen or caplen > maxcap:
                    break
                ts = sec * 1_000_000_000 + frac * mul
            pos = nxt
            n += 1
            yield line(n, new(F, (ts, buf[s:end], wl, lt, 0, 0, "", None))), 1
        fr = reader.raw_next(pos)  # a record across the buffer's end, or damage, or the end
        if fr is None:
            return
        n += 1
        yield fmt_line(n, fr), 1
        buf, pos = reader.raw_buffer()
        blen = len(buf)


def iter_blocks(
    frames: Iterable[Frame], count: int | None, block: int, ways: int, which: int
) -> Iterator[tuple[int, str]]:
    """Split the numbered text of ``frames`` into blocks of ``block`` packets and yield (block index, text)
    for the blocks with ``index % ways == which``, only stepping over the frames of the others.

    Several processes running this over the same capture, each with its own ``which``, make the whole
    text between them (``sniffer read`` on big files). If ``frames`` raises, the lines of an own block
    before the damage are yielded first.
    """
    it = iter(frames)
    n = 0
    b = 0
    while True:
        want = block if count is None else min(block, count - n)
        if want <= 0:
            return
        if b % ways == which:
            parts: list[str] = []
            try:
                for chunk in iter_text(islice(it, want), n + 1, None, want + 1):
                    parts.append(chunk)
            except Exception:
                if parts:
                    yield b, "".join(parts)
                raise
            text = "".join(parts)
            got = text.count("\n")
            if got:
                yield b, text
        else:
            got = 0
            for _ in islice(it, want):
                got += 1
        if got < want:
            return
        n += got
        b += 1
