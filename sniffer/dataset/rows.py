"""Sans-IO core of `sniffer export`: (offset, Frame) pairs in, column batches of the two tables out.

Nothing here reads files or writes Parquet: ``PacketRows`` takes the records of one capture in file order
and fills plain Python lists (one per column of ``schema.PACKETS``); ``flow_rows`` turns the FlowIndex
of the same pass into the ``flows`` table's columns. The decoding is the decoder's own: the packet-list
columns from ``decode.summary`` (its struct fast path, the full dissector for the rest), the protocol
stack from ``summary.fast_protocols`` or the dissector, addresses/ports/flags from ``model.l4.transport``
and the stream numbers from ``model.flows.FlowIndex`` (tcp.stream / udp.stream as Wireshark numbers them).
Wireshark fields named with ``-e`` come from ``decode.fields.frame_fields``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sniffer.decode import engine
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import fast_protocols, summarize
from sniffer.frame import Frame
from sniffer.model.flows import Flow, FlowIndex
from sniffer.model.l4 import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, transport
from sniffer.model.tcpanalysis import ANALYSIS_FLAGS, TcpAnalyzer

#: the application columns every packets row has, filled from the dissector's fields (only packets
#: that leave the summary's fast path can carry them: the fast path takes no application payload)
APP_FIELDS: dict[str, str] = {
    "dns_qry_name": "dns.qry.name",
    "tls_handshake_version": "tls.handshake.version",
    "tls_sni": "tls.handshake.extensions_server_name",
    "http_host": "http.host",
}

_S, _SA, _F, _R, _DATA = 1, 2, 4, 8, 16  # per-direction flag bits kept for conn_state


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
    """

    def __init__(self, file: str, extra: Sequence[str] = (), first_number: int = 1) -> None:
        self.file = file
        self.extra = list(extra)
        self.number = first_number - 1
        self.flows = FlowIndex(keep_numbers=False)
        self.tcp = TcpAnalyzer()  # tcp.analysis.* of each TCP packet (from this file's or range's start)
        self._flow_flagged: dict[tuple[str, int], int] = {}
        self.cols: dict[str, list[Any]] = {}
        self._flow_bits: dict[tuple[str, int], list[int]] = {}
        self._flow_service: dict[tuple[str, int], str] = {}
        self._flow_frames: dict[tuple[str, int], list[int]] = {}
        self.clear()

    def clear(self) -> None:
        from sniffer.dataset.schema import packet_columns

        self.cols = {name: [] for name in packet_columns(self.extra)}

    def __len__(self) -> int:
        return len(self.cols["frame_number"])

    def add(self, offset: int, fr: Frame) -> None:
        """Account one record (in file order)."""
        self.number += 1
        n = self.number
        c = self.cols
        fields: dict[str, Any] | None = None
        protos = fast_protocols(fr)
        if protos is None:
            ctx = engine.run(fr, False)
            fields = ctx.fields
            protos = ":".join(ctx.protos)
            csrc, cdst, cproto, info, malformed = ctx.src, ctx.dst, ctx.proto, ctx.info, bool(ctx.malformed)
        else:
            csrc, cdst, cproto, info, malformed = summarize(fr)
        t = transport(fr)
        r = self.flows.add(n, fr, t)
        if r is not None:
            t = r[2]
        c["file"].append(self.file)
        c["frame_number"].append(n)
        c["offset"].append(offset)
        ts = fr[0]
        c["ts"].append(ts // 1000)
        c["ts_ns"].append(ts)
        c["cap_len"].append(len(fr[1]))
        c["len"].append(fr[2])
        c["linktype"].append(fr[3])
        c["interface"].append(fr[4])
        c["ifname"].append(fr[6] or None)
        if fields is not None:  # the dissector's own view (it knows where a header is broken)
            v6 = "ipv6.src" in fields and "ip.src" not in fields
            c["eth_src"].append(_first(fields.get("eth.src")))
            c["eth_dst"].append(_first(fields.get("eth.dst")))
            c["ip_version"].append(6 if v6 else 4 if "ip.src" in fields else None)
            c["src"].append(_first(fields.get("ipv6.src" if v6 else "ip.src")))
            c["dst"].append(_first(fields.get("ipv6.dst" if v6 else "ip.dst")))
            c["ip_proto"].append(_first(fields.get("ipv6.nxt" if v6 else "ip.proto")))
        elif t is not None:
            c["eth_src"].append(t.eth_src or None)
            c["eth_dst"].append(t.eth_dst or None)
            c["ip_version"].append(t.version or None)
            c["src"].append(t.src or None)
            c["dst"].append(t.dst or None)
            c["ip_proto"].append(t.proto if t.proto >= 0 else None)
        else:
            for k in ("eth_src", "eth_dst", "ip_version", "src", "dst", "ip_proto"):
                c[k].append(None)
        c["protocols"].append(protos)
        c["col_source"].append(csrc)
        c["col_destination"].append(cdst)
        c["col_protocol"].append(cproto)
        c["col_info"].append(info)
        c["malformed"].append(malformed)
        if r is not None:
            flow, d, t = r
            c["sport"].append(t.sport)
            c["dport"].append(t.dport)
            key = (flow.proto, flow.index)
            tcp = flow.proto == "tcp"
            c["tcp_stream"].append(flow.index if tcp else None)
            c["udp_stream"].append(None if tcp else flow.index)
            c["tcp_flags"].append(t.flags if tcp else None)
            if not t.quoted:
                self._flow_account(key, d, t.flags if tcp else 0, bool(t.payload), tcp, n, cproto)
        else:
            c["sport"].append(None)
            c["dport"].append(None)
            c["tcp_stream"].append(None)
            c["udp_stream"].append(None)
            c["tcp_flags"].append(None)
        extra = self.tcp.feed_frame(n, fr, fields)  # the fields of the decode above: not decoded twice
        if extra is None:
            c["tcp_analysis"].append(None)
        else:  # the flags Wireshark sets, by the short name (retransmission, duplicate_ack, ...)
            flagged = [name[13:] for name in ANALYSIS_FLAGS if name in extra]
            c["tcp_analysis"].append(flagged)
            if flagged and r is not None and r[0].proto == "tcp":
                key = (r[0].proto, r[0].index)
                self._flow_flagged[key] = self._flow_flagged.get(key, 0) + 1
        if fields is None:
            for k in APP_FIELDS:
                c[k].append(None)
        else:
            for k, name in APP_FIELDS.items():
                c[k].append(_first(fields.get(name)))
        if self.extra:
            ff = frame_fields(fr) if fields is None else fields
            for name in self.extra:
                c[name].append(field_text(ff.get(name)))

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
