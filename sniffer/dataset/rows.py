"""Sans-IO core of `sniffer export`: (offset, Frame) pairs in, column batches of the two tables out.

Nothing here reads files or writes Parquet: ``PacketRows`` takes the records of one capture in file order
and keeps one row tuple per packet (``table()`` converts them to an Arrow table of ``schema.PACKETS``);
``flow_columns`` turns the FlowIndex of the same pass into the ``flows`` table's columns. The decoding is
the decoder's own: the packet-list columns and the protocol stack from ``decode.summary`` (its struct fast
path) or the columns-only dissection `sniffer read` runs, the full dissection only for the packets whose
columns need its fields (DNS/TLS/HTTP names, -e fields, an IP layer past the link walk, the TCP analysis
of a tunnel); addresses/ports/flags from ``model.l4.transport`` and the TCP header from
``model.tcpanalysis.fast_segment`` (both in one walk for the common Ethernet frames: ``_walk``), the
stream numbers from ``model.flows.FlowIndex`` (tcp.stream / udp.stream as Wireshark numbers them), the
tcp.analysis flags from ``model.tcpanalysis.TcpAnalyzer.feed_flags`` (its flags-only mode).
Wireshark fields named with ``-e`` come from ``decode.fields.frame_fields``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

from sniffer.decode import engine
from sniffer.decode.core import READ_BACK, LeanCtx, Node, _put, ip4, ip6, mac
from sniffer.decode.fields import frame_fields
from sniffer.decode.layers import VLAN_TYPES, ip, ipv4, ipv6, link
from sniffer.decode.summary import fast_protocols, summarize
from sniffer.frame import LINKTYPE_ETHERNET, Frame
from sniffer.model.fastfields import dns_query_names
from sniffer.model.flows import Flow, FlowIndex
from sniffer.model.l4 import ICMP_ERRORS, IPV6_EXT, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Transport, transport
from sniffer.model.tcpanalysis import (
    _NOT_IP_ETHERTYPES,
    _NOT_TCP,
    _UNKNOWN,
    FRAGMENT,
    TUNNEL_UDP_PORTS,
    TcpAnalyzer,
    fast_segment,
    flag_names,
    tcp_options,
)

#: the application columns every packets row has, filled from the dissector's fields (only packets
#: that leave the summary's fast path can carry them: the fast path takes no application payload)
APP_FIELDS: dict[str, str] = {
    "dns_qry_name": "dns.qry.name",
    "tls_handshake_version": "tls.handshake.version",
    "tls_sni": "tls.handshake.extensions_server_name",
    "http_host": "http.host",
}

#: the protocols whose dissectors give APP_FIELDS (mDNS and LLMNR have dns.* fields, SSDP http.*): a
#: packet with one of them in its stack is dissected in full, the others columns-only (tests check the
#: corpora's packets against `sniffer read --json`)
APP_PROTOS = frozenset({"dns", "mdns", "llmnr", "tls", "http", "ssdp"})
_DNS = frozenset({"dns", "mdns", "llmnr"})
#: what _AppCtx keeps of the fields: the dissectors' READ_BACK and the names of TLS and HTTP (their
#: dissectors add them in a columns-only dissection too; DNS's do not)
_KEEP = READ_BACK | {APP_FIELDS[k] for k in ("tls_handshake_version", "tls_sni", "http_host")}


class _AppCtx(LeanCtx):
    """The context of the columns-only dissection (``engine.run(..., lean=True)``) that also keeps the TLS
    and HTTP names of APP_FIELDS."""

    __slots__ = ()

    def add(
        self,
        name: str,
        value: Any,
        off: int,
        length: int,
        label: str = "",
        text: str | None = None,
        into: Node | None = None,
    ) -> Node | None:
        if name in _KEEP:
            _put(self.fields, name, value)
        return None


#: the transports the summary's fast path takes (TCP, UDP, ICMP, ICMPv6: decode.summary._fast)
_FAST_L4 = frozenset({6, 17, 1, 58})
#: the tcp_analysis column's value (the short names of model.tcpanalysis.flag_names) per A_* bits
_SHORT: dict[int, list[str]] = {}

_S, _SA, _F, _R, _DATA = 1, 2, 4, 8, 16  # per-direction flag bits kept for conn_state

#: the packets columns in the order of a row tuple (``file`` and ``ts`` are made by ``table()``)
_ROW = (
    "frame_number",
    "offset",
    "ts_ns",
    "cap_len",
    "len",
    "linktype",
    "interface",
    "ifname",
    "eth_src",
    "eth_dst",
    "ip_version",
    "src",
    "dst",
    "ip_proto",
    "sport",
    "dport",
    "tcp_stream",
    "udp_stream",
    "tcp_flags",
    "protocols",
    "col_source",
    "col_destination",
    "col_protocol",
    "col_info",
    "malformed",
    "tcp_analysis",
    *APP_FIELDS,
)
_NO_NET = (None,) * 6
_NO_L4 = (None,) * 5
_NO_APP = (None,) * len(APP_FIELDS)
_TCPHDR = struct.Struct("!HHIIHH")
_UDPHDR = struct.Struct("!HHH")
_NOT_IP = _NOT_IP_ETHERTYPES


def _walk(fr: Frame) -> tuple[Transport | None, tuple[Any, ...] | None] | None:
    """(``model.l4.transport(fr)``, ``model.tcpanalysis.fast_segment(fr)``) in one walk, for the common
    Ethernet frames (VLAN tags skipped): IPv4 without options, IPv6 without extension
    headers (not a jumbogram), an ethertype that never carries IP; None for the rest (and for ICMP errors,
    cut transport headers), which take the two walks. A test checks both answers against the two walks
    on every corpus packet."""
    if fr[3] != LINKTYPE_ETHERNET:
        return None
    d = fr[1]
    n = len(d)
    lk = link(d, LINKTYPE_ETHERNET)  # (decode.layers: the one header walk)
    if lk is None:
        return None
    et, off, _ = lk
    if et == 0x0800:
        h = ipv4(d, off)
        if h is None or h.hlen != 20 or h.length < 20:
            return None
        v = 4
        name = "ip"
        proto = h.proto
        src, dst = ip4(h.src), ip4(h.dst)
        l4 = off + 20
        end = off + h.length
        cut = end if end <= n else n
        if h.frag & 0x3FFF:
            fr4 = (h.frag, proto, l4, cut, h.ident)
            return Transport(4, src, dst, -1, 0, 0, 0, 0, 0, b"", mac(d[6:12]), mac(d[0:6]), fr4), FRAGMENT
    elif et == 0x86DD:
        h = ipv6(d, off)
        if h is None or h.length == 40 or h.proto in IPV6_EXT or h.proto == 44:
            return None
        v = 6
        name = "ipv6"
        proto = h.proto
        src, dst = ip6(h.src), ip6(h.dst)
        l4 = off + 40
        end = off + h.length
        cut = end if end <= n else n
    elif et in _NOT_IP:
        return None, None
    else:
        return None
    if proto == 6:
        if n < l4 + 20:
            return None
        sport, dport, seq, ack, offflags, win = _TCPHDR.unpack_from(d, l4)
        hl = (offflags >> 12) * 4
        flags = offflags & 0x0FFF
        payload = d[l4 + hl : cut] if hl >= 20 else b""
        t = Transport(
            v, src, dst, 6, sport, dport, seq, ack, flags, payload, mac(d[6:12]), mac(d[0:6]), window=win
        )
        if hl < 20 or l4 + hl > n:
            return t, _UNKNOWN
        wscale: int | None = None
        sack: tuple[tuple[int, int], ...] | None = None
        if hl > 20:
            opts = tcp_options(d, l4 + 20, l4 + hl)
            if opts is None:
                return t, _UNKNOWN
            wscale, sack = opts
        seglen = end - l4 - hl
        return t, ((name, src), (name, dst), sport, dport, seq, ack, flags, win, max(seglen, 0), wscale, sack)
    if proto == 17:
        if n < l4 + 8:
            return None
        sport, dport, ulen = _UDPHDR.unpack_from(d, l4)
        uend = min(cut, l4 + ulen) if ulen >= 8 else cut
        t = Transport(v, src, dst, 17, sport, dport, 0, 0, 0, d[l4 + 8 : uend], mac(d[6:12]), mac(d[0:6]))
        return t, _UNKNOWN if sport in TUNNEL_UDP_PORTS or dport in TUNNEL_UDP_PORTS else None
    if n >= l4 + 8 and (
        (proto == 1 and v == 4 and d[l4] in ICMP_ERRORS) or (proto == 58 and v == 6 and 1 <= d[l4] <= 4)
    ):
        return None  # an ICMP error: the transport is the quoted packet's
    t = Transport(v, src, dst, proto, 0, 0, 0, 0, 0, b"", mac(d[6:12]), mac(d[0:6]))
    return t, None if proto in _NOT_TCP else _UNKNOWN


_native: list[Any] = []  # [the native walker's columns and headers methods, or None], found on first use
#: the protocol stack of each shape the native walker answers (learned from the columns-only dissection
#: of the first packet of that shape, as decode.summary.fast_protocols learns its shapes)
_native_stacks: dict[int, str] = {}


def _native_walker() -> Any:
    if not _native:
        from sniffer.decode.summary import native_walker

        w = native_walker()
        if w is not None and hasattr(w, "columns") and hasattr(w, "headers"):
            w.export_setup(
                Transport,
                FRAGMENT,
                _UNKNOWN,
                VLAN_TYPES,
                _NOT_IP,
                TUNNEL_UDP_PORTS,
                IPV6_EXT,
                _NOT_TCP,
                ICMP_ERRORS,
            )
        else:
            w = None
        _native.append(w)
    return _native[0]


def native_columns() -> Any:
    """``Walker.columns`` of `read`'s native walker (decode/_fastline.c: the Source, Destination, Protocol
    and Info columns and the stack's shape of the packets it knows), or None where it was not built or
    SNIFFER_NO_NATIVE=1 is set (then every packet takes the Python path: same rows, a test compares)."""
    w = _native_walker()
    return None if w is None else w.columns


def native_walk() -> Any:
    """``Walker.headers``: ``_walk`` in C (the same answers: a test compares them on every corpus frame and
    on mutated ones), or None where the walker was not built."""
    w = _native_walker()
    return None if w is None else w.headers


def _native_stack(shape: int, fr: Frame) -> str | None:
    """The protocol stack of a packet of this native shape; None if its first packet was malformed to the
    dissector (then the Python path takes it)."""
    p = _native_stacks.get(shape)
    if p is None:
        ctx = engine.run(fr, False, False, True)
        if ctx.malformed:
            return None
        p = _native_stacks[shape] = ":".join(ctx.protos)
    return p


def _refused(protos: Sequence[str], t0: Transport | None) -> bool:
    """Whether ``PacketRows.add`` refuses the columns-only dissection of a frame whose TCP segment the
    header walk could not place, whatever else its stack holds: an IP layer the walk did not reach, or a
    TCP header (whose analysis needs the decoder's fields)."""
    return "tcp" in protos or (t0 is None and ("ip" in protos or "ipv6" in protos))


def _frag_fields(t0: Transport) -> dict[str, Any]:
    """What the TCP analysis' Defragmenter reads of an IPv4 fragment's fields (the datagram it completes,
    TCP or a tunnel carrying TCP, is decoded whole by the Defragmenter itself)."""
    f4 = t0.frag
    assert f4 is not None
    return {
        "ip.flags": f4[0] >> 13,
        "ip.frag_offset": f4[0] & 0x1FFF,
        "ip.proto": f4[1],
        "ip.id": f4[4],
        "ip.src": t0.src,
        "ip.dst": t0.dst,
    }


def _native_as_dissected(t0: Transport | None, seg: Any, fr: Frame) -> bool:
    """Whether a packet of the native ARP, IGMPv2 or fragment shapes would take the columns-only
    dissection alone on the Python path (``PacketRows.add``): not a quoted packet, an IPv4 fragment
    known as one, and a sane outer IP header where the TCP analysis cannot place the transport."""
    if t0 is not None and t0.quoted:
        return False
    if seg is FRAGMENT:
        return t0 is not None and t0.frag is not None
    if seg is _UNKNOWN:
        return _sane_ip(fr, t0)
    return True


def _sane_ip(fr: Frame, t0: Transport | None) -> bool:
    """The outermost IP header is whole and its lengths agree (IPv4: 20 <= header length <= total length;
    IPv6: not a jumbogram), and the header walk found its transport: the dissector then reads the same
    addresses and protocol as the walk (a bogus header's are the dissector's business)."""
    if t0 is None or t0.proto < 0 or t0.quoted:
        return False
    lk = link(fr[1], fr[3])
    h = None if lk is None else ip(fr[1], lk[0], lk[1])
    if h is None:
        return False
    return 20 <= h.hlen <= h.length if h.version == 4 else h.length > 40


def _ip_proto(fr: Frame) -> int | None:
    """ip.proto / ipv6.nxt of the outermost IP header (the walk of decode.layers)."""
    lk = link(fr[1], fr[3])
    h = None if lk is None else ip(fr[1], lk[0], lk[1])
    return None if h is None else h.proto


def _first(v: Any) -> Any:
    return v[0] if isinstance(v, list) else v


def field_text(v: Any) -> str | None:
    """A -e column's value: occurrences joined with "," (tshark -T fields' default), None when absent."""
    if v is None:
        return None
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


class PacketRows:
    """Accumulates the packets table of one capture file (or one byte range of it).

    Args:
        file: the file's path as stored in the ``file`` column.
        extra: Wireshark field names (``-e``), each stored in a string column of that name.
        first_number: frame number of the first record given (1 unless this is a later byte range).

    Per packet: the summary's struct fast path, else the columns-only dissection `sniffer read` runs
    (``engine.run(..., lean=True)``), else (a column needs a field: DNS/TLS/HTTP names, an IP layer the
    link walk does not reach, -e fields, the TCP analysis of a fragment or tunnel) the full dissection.
    Each packet is kept as one row tuple (in ``_ROW`` order); ``table()`` converts them.
    """

    def __init__(
        self, file: str, extra: Sequence[str] = (), first_number: int = 1, native: bool = True
    ) -> None:
        self.file = file
        self.extra = list(extra)
        self.number = first_number - 1
        self.flows = FlowIndex(keep_numbers=False)
        self.tcp = TcpAnalyzer()  # the tcp.analysis flags (feed_flags) from the task's start
        self._flow_flagged: dict[tuple[str, int], int] = {}
        self._rows: list[tuple[Any, ...]] = []
        self._names = _ROW + tuple(self.extra)  # the columns of a row tuple, in order
        self._row_type: Any = None  # their Arrow struct type (made on the first table())
        self._flow_bits: dict[tuple[str, int], list[int]] = {}
        self._flow_service: dict[tuple[str, int], str] = {}
        self._flow_frames: dict[tuple[str, int], list[int]] = {}
        # the native walker's columns (decode/_fastline.c, as `read` uses it) when it was built; not with
        # -e fields (those packets take the full dissection)
        self._native = native_columns() if native and not self.extra else None
        self._walk = (native_walk() if native else None) or _walk
        self._full_first: dict[Any, bool] = {}  # per kind of unplaced frame: the last one needed fields

    def clear(self) -> None:
        """Forget the rows (after ``table()`` was written); the flows and the TCP analysis go on."""
        self._rows = []

    def __len__(self) -> int:
        return len(self._rows)

    def table(self) -> Any:
        """The packets table (a pyarrow Table of ``schema.packet_schema``) of the rows added since the
        last ``clear()``: the row tuples converted in one go (as an Arrow struct array)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from sniffer.dataset.schema import TS, packet_schema

        schema = packet_schema(self.extra)
        if self._row_type is None:
            self._row_type = pa.struct(
                [
                    pa.field(name, pa.int64() if name == "ts_ns" else schema.field(name).type)
                    for name in self._names
                ]
            )
        rows = self._rows
        batch = pa.RecordBatch.from_struct_array(pa.array(rows, type=self._row_type))
        cols = dict(zip(self._names, batch.columns, strict=True))
        cols["file"] = pa.array([self.file] * len(rows), pa.string())
        cols["ts"] = pc.divide(cols["ts_ns"], 1000).cast(TS)
        return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)

    def add(self, offset: int, fr: Frame) -> None:
        """Account one record (in file order)."""
        self.number += 1
        n = self.number
        data = fr[1]
        fields: dict[str, Any] | None = None  # the full dissection's, when a column needs them
        app: tuple[Any, ...] = _NO_APP  # the APP_FIELDS columns
        afields: dict[str, Any] | None = None  # what the TCP analysis needs of them (a fragment's IP fields)
        w = self._walk(fr)  # the common Ethernet frames: transport and TCP segment in one walk
        if w is None:
            seg = fast_segment(fr)  # the TCP header for the analysis (FRAGMENT/_UNKNOWN: it needs fields)
            t0 = transport(fr)
        else:
            t0, seg = w
        nat = self._native
        c = nat(data, fr[2]) if nat is not None and fr[3] == LINKTYPE_ETHERNET else None
        if c and c[4] < 16 and not _native_as_dissected(t0, seg, fr):
            c = None  # (ARP, IGMPv2, a later fragment whose analysis needs the Python path's fields)
        if c and (protos := _native_stacks.get(c[4]) or _native_stack(c[4], fr)) is not None:
            # a packet the native walker knows: the summary's fast path (shapes >= 16), or ARP, IGMPv2, a
            # later IPv4 fragment, which the Python path gives the columns-only dissection: its columns
            # and, by its shape, its protocol stack; the TCP analysis gets what that path gives it
            csrc, cdst, cproto, info, _shape = c
            malformed = False
            if c[4] < 16 and t0 is not None:
                if seg is FRAGMENT and t0.frag is not None and t0.frag[1] not in _NOT_TCP:
                    afields = _frag_fields(t0)  # TCP, or a tunnel (GTP, GRE...) that may carry it
                else:  # a fragment of ICMP, IGMP...: no TCP header to analyse
                    seg = None
        else:
            protos = (
                None
                if self.extra
                or c == 0  # (the walker declined it for the summary's fast path: so does the fast path)
                or (w is not None and (t0 is None or t0.proto not in _FAST_L4))
                else fast_protocols(fr)
            )
            c = None
        if c is None and protos is not None:
            csrc, cdst, cproto, info, malformed = summarize(fr)
        elif c is None:
            ctx = full = None
            frag4 = t0.frag if seg is FRAGMENT and t0 is not None else None  # (an IPv4 fragment)
            lean = (
                not self.extra
                and (seg is not FRAGMENT or frag4 is not None)
                and (t0 is None or not t0.quoted)
            )  # the columns-only dissection (what `sniffer read` runs), unless a column needs a field
            key: Any = None
            if lean and seg is _UNKNOWN:
                # a frame whose transport the header walk cannot place (PPPoE, MPLS, a tunnel...): when
                # the last one of its kind (outer ethertypes, or outer protocol and ports) needed the full
                # dissection after the columns-only one, take the full one first; it is kept only when its
                # stack shows the columns-only one would have been refused (the rule below), else the
                # columns-only one runs after all
                key = (
                    data[12:14] + data[16:18] + data[20:22] if t0 is None else (t0.proto, t0.sport, t0.dport)
                )
                if self._full_first.get(key):
                    full = engine.run(fr, False)
                    lean = not _refused(full.protos, t0)
            if lean:
                ctx = engine.run(fr, False, False, True, _AppCtx)
                p = ctx.protos
                if key is not None:
                    if len(self._full_first) > 4096:
                        self._full_first.clear()
                    self._full_first[key] = _refused(p, t0)
                if ctx.malformed or (t0 is None and ("ip" in p or "ipv6" in p)):
                    ctx = None
                elif not APP_PROTOS.isdisjoint(p):
                    if _DNS.isdisjoint(p):  # TLS, HTTP: their names are in the fields _AppCtx keeps
                        f = ctx.fields
                        app = tuple(_first(f.get(name)) for name in APP_FIELDS.values())
                    elif (  # a DNS message in a plain UDP datagram: its names without the full dissection
                        p[-1] in _DNS
                        and p[-2] == "udp"
                        and t0 is not None
                        and t0.proto == 17
                        and p.count("udp") == 1
                        and p.count("ip") + p.count("ipv6") == 1
                        and (names := dns_query_names(t0.payload, 0, len(t0.payload))) is not None
                    ):
                        app = (names[0] if names else None, None, None, None)
                    else:
                        ctx = None
                elif frag4 is not None and t0 is not None:  # decoded no further than its IP header?
                    if p.count("ip") != 1 or "ipv6" in p:
                        ctx = None
                    elif frag4[1] not in _NOT_TCP:  # TCP, or a tunnel (GTP, GRE...) that may carry it
                        afields = _frag_fields(t0)
                    else:  # a fragment of ICMP, IGMP...: no TCP header to analyse
                        seg = None
                if ctx is not None and seg is _UNKNOWN:  # (a tunnel, GRE, an IPv6 AH... or a bogus header)
                    if "tcp" in p or not _sane_ip(fr, t0):  # the full dissection's fields
                        ctx = None
                    else:  # no TCP header in the stack: nothing to analyse, no full dissection for it
                        seg = None
            if ctx is None:  # (the full dissection made above, if it was)
                ctx = engine.run(fr, False) if full is None else full
                fields = afields = ctx.fields
            protos = ":".join(ctx.protos)
            csrc, cdst, cproto, info, malformed = ctx.src, ctx.dst, ctx.proto, ctx.info, bool(ctx.malformed)
        # (no transport: FlowIndex.add would walk the frame again to find none)
        r = None if t0 is None else self.flows.add(n, fr, t0)
        if fields is not None:  # the dissector's own view (it knows where a header is broken)
            v6 = "ipv6.src" in fields and "ip.src" not in fields
            net: tuple[Any, ...] = (
                _first(fields.get("eth.src")),
                _first(fields.get("eth.dst")),
                6 if v6 else 4 if "ip.src" in fields else None,
                _first(fields.get("ipv6.src" if v6 else "ip.src")),
                _first(fields.get("ipv6.dst" if v6 else "ip.dst")),
                _first(fields.get("ipv6.nxt" if v6 else "ip.proto")),
            )
        elif t0 is not None:  # the outermost headers (an ICMP error's quoted packet went the way above;
            # _walk's IPv6 has no extension headers: its transport is ipv6.nxt)
            net = (
                t0.eth_src or None,
                t0.eth_dst or None,
                t0.version or None,
                t0.src or None,
                t0.dst or None,
                t0.proto if t0.proto >= 0 and (t0.version == 4 or w is not None) else _ip_proto(fr),
            )
        elif fr[3] == LINKTYPE_ETHERNET and len(data) >= 14:
            net = (mac(data[6:12]), mac(data[0:6]), None, None, None, None)
        else:
            net = _NO_NET
        if r is not None:
            flow, d, t = r
            tcp = flow.proto == "tcp"
            l4: tuple[Any, ...] = (
                t.sport,
                t.dport,
                flow.index if tcp else None,
                None if tcp else flow.index,
                t.flags if tcp else None,
            )
            if not t.quoted:
                self._flow_account(
                    (flow.proto, flow.index), d, t.flags if tcp else 0, bool(t.payload), tcp, n, cproto
                )
        else:
            l4 = _NO_L4
        # the flags-only analysis, given the fields of the decode above (a frame is not decoded twice)
        af = None if seg is None else self.tcp.feed_flags(n, fr, seg, afields)  # (None: no TCP header)
        if af is None:
            flagged = None
        else:  # the flags Wireshark sets, by the short name (retransmission, duplicate_ack, ...)
            flagged = _SHORT.get(af)
            if flagged is None:
                flagged = _SHORT[af] = [name[13:] for name in flag_names(af)]
            if flagged and r is not None and r[0].proto == "tcp":
                key = (r[0].proto, r[0].index)
                self._flow_flagged[key] = self._flow_flagged.get(key, 0) + 1
        if fields is not None:
            app = tuple(_first(fields.get(name)) for name in APP_FIELDS.values())
        row = (
            n,
            offset,
            fr[0],
            len(data),
            fr[2],
            fr[3],
            fr[4],
            fr[6] or None,
            *net,
            *l4,
            protos,
            csrc,
            cdst,
            cproto,
            info,
            malformed,
            flagged,
            *app,
        )
        if self.extra:
            ff = frame_fields(fr) if fields is None else fields
            row += tuple(field_text(ff.get(name)) for name in self.extra)
        self._rows.append(row)

    def _flow_account(
        self, key: tuple[str, int], d: int, flags: int, payload: bool, tcp: bool, n: int, cproto: str
    ) -> None:
        bits = self._flow_bits.get(key)
        if bits is None:
            bits = self._flow_bits[key] = [0, 0]
            self._flow_frames[key] = [n, n]
        else:
            self._flow_frames[key][1] = n
        b = _DATA if payload else 0
        if tcp:
            if flags & TCP_SYN:
                b |= _SA if flags & TCP_ACK else _S
            if flags & TCP_FIN:
                b |= _F
            if flags & TCP_RST:
                b |= _R
        bits[d] |= b
        if key not in self._flow_service and cproto not in ("TCP", "UDP"):
            self._flow_service[key] = cproto

    def extend(self, records: Iterable[tuple[int, Frame]]) -> None:
        for off, fr in records:
            self.add(off, fr)

    def flow_columns(self) -> dict[str, list[Any]]:
        """The flows table of everything added so far (conn.log-like, one row per tcp/udp stream)."""
        from sniffer.dataset.schema import FLOWS

        cols: dict[str, list[Any]] = {f.name: [] for f in FLOWS}
        for flow in (*self.flows.tcp, *self.flows.udp):
            key = (flow.proto, flow.index)
            bits = self._flow_bits.get(key)
            if bits is None:  # only ICMP-quoted packets: no conversation of its own
                continue
            _flow_row(cols, self.file, flow, bits, self._flow_service.get(key), self._flow_frames[key])
            cols["tcp_analysis_count"][-1] = self._flow_flagged.get(key, 0) if flow.proto == "tcp" else None
        return cols


def conn_state(proto: str, orig: int, resp: int) -> str:
    """Zeek's conn_state from the flags each side sent (orig = the side that sent the first packet)."""
    if proto != "tcp":
        return "SF" if resp else "S0"
    if not orig & _S:
        return "OTH"
    if not resp & _SA:
        if resp & _R:
            return "REJ"
        if resp:
            return "OTH"
        return "SH" if orig & _F else "S0"
    if orig & _R:
        return "RSTO"
    if resp & _R:
        return "RSTR"
    if orig & _F and resp & _F:
        return "SF"
    if orig & _F:
        return "S2"
    if resp & _F:
        return "S3"
    return "S1"


def _history(orig: int, resp: int) -> str:
    """A Zeek-like history: one letter per kind of packet seen (upper case from orig, lower from resp)."""
    out = []
    for letter, bit in (("s", _S), ("h", _SA), ("d", _DATA), ("f", _F), ("r", _R)):
        if orig & bit:
            out.append(letter.upper())
        if resp & bit:
            out.append(letter)
    return "".join(out)


def _flow_row(
    cols: dict[str, list[Any]], file: str, flow: Flow, bits: list[int], service: str | None, frames: list[int]
) -> None:
    o, r = bits
    cols["file"].append(file)
    cols["proto"].append(flow.proto)
    cols["stream"].append(flow.index)
    cols["orig_h"].append(flow.a[0])
    cols["orig_p"].append(flow.a[1])
    cols["resp_h"].append(flow.b[0])
    cols["resp_p"].append(flow.b[1])
    cols["ts"].append(flow.first_ns // 1000)
    cols["ts_ns"].append(flow.first_ns)
    cols["last_ts_ns"].append(flow.last_ns)
    cols["duration"].append((flow.last_ns - flow.first_ns) / 1e9)
    cols["orig_pkts"].append(flow.frames[0])
    cols["orig_bytes"].append(flow.bytes[0])
    cols["resp_pkts"].append(flow.frames[1])
    cols["resp_bytes"].append(flow.bytes[1])
    cols["conn_state"].append(conn_state(flow.proto, o, r))
    cols["history"].append(_history(o, r))
    cols["service"].append(service)
    cols["first_frame"].append(frames[0])
    cols["last_frame"].append(frames[1])
    cols["tcp_analysis_count"].append(None)
