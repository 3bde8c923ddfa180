"""TCP stream graphs (Wireshark's Statistics > TCP Stream Graphs) for one stream: the Stevens
time/sequence graph, throughput and round-trip time, in each direction.

Pure over frames (sans-IO): ``stream_graph`` takes (frame number, frame) pairs in capture order and the
``tcp.stream`` number; it numbers streams as ``model.flows.FlowIndex`` does (so the same as tcp.stream)
and keeps the one asked for. Sequence numbers are relative like Wireshark's (0 at the SYN, 1 for the first
byte; a stream caught without its SYN starts at 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sniffer.frame import Frame
from sniffer.model.flows import FlowIndex
from sniffer.model.l4 import PROTO_TCP

TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10


@dataclass
class Segment:
    """One TCP packet of the stream in one direction."""

    number: int  # frame number (1-based)
    t: float  # seconds since the stream's first packet
    seq: int  # relative sequence number
    length: int  # payload bytes (captured)
    ack: int | None  # relative acknowledgement number (None without ACK)
    flags: int
    win: int = 0  # receive window it advertises, in bytes (scaled when both SYNs carried a window scale)


@dataclass
class RttSample:
    number: int  # the acknowledging packet
    t: float  # its time (seconds since the stream's first packet)
    seq: int  # relative sequence number of the segment it acknowledges
    rtt: float  # seconds from that segment to this ACK
    acked: int  # frame number of that segment


@dataclass
class TcpGraph:
    stream: int
    a: tuple[str, int]  # endpoint A (sent the first packet), direction 0 is A -> B
    b: tuple[str, int]
    first_ns: int = 0
    segments: tuple[list[Segment], list[Segment]] = field(default_factory=lambda: ([], []))

    def data(self, direction: int) -> list[Segment]:
        """Segments of ``direction`` that carry payload (the points of the Stevens graph)."""
        return [s for s in self.segments[direction] if s.length > 0]

    def throughput(self, direction: int, interval: float) -> tuple[list[float], list[float]]:
        """(interval start, payload bytes per second) for every interval from the stream's first packet."""
        step = max(interval, 1e-9)
        buckets: dict[int, int] = {}
        for s in self.segments[direction]:
            if s.length:
                k = int(s.t / step)
                buckets[k] = buckets.get(k, 0) + s.length
        if not buckets:
            return [], []
        last = max(buckets)
        return [k * step for k in range(last + 1)], [buckets.get(k, 0) / step for k in range(last + 1)]

    def rtt(self, direction: int) -> list[RttSample]:
        """Round-trip times of ``direction``'s data, from the other direction's ACKs, as Wireshark's
        tcp.analysis.ack_rtt: an ACK that covers outstanding segments gives one sample, from the last
        segment it covers fully; a retransmitted segment gives none (Karn)."""
        other = 1 - direction
        events = sorted(
            [(s.number, direction, s) for s in self.segments[direction]]
            + [(s.number, other, s) for s in self.segments[other]],
            key=lambda e: e[0],
        )
        pending: list[tuple[int, Segment, bool]] = []  # (end seq, segment, retransmitted) by end
        high = None  # highest end sent
        out: list[RttSample] = []
        for _, d, s in events:
            if d == direction:
                end = s.seq + s.length + (1 if s.flags & (TCP_SYN | TCP_FIN) else 0)
                if end == s.seq:
                    continue
                if high is not None and end <= high:  # a retransmission: no sample for that range
                    pending = [(e, p, True if p.seq < end and e > s.seq else r) for e, p, r in pending]
                    continue
                pending.append((end, s, False))
                high = end
            elif s.ack is not None and pending:
                k = 0
                while k < len(pending) and pending[k][0] <= s.ack:
                    k += 1
                if k:
                    end, seg, retrans = pending[k - 1]
                    if not retrans:
                        out.append(RttSample(s.number, s.t, seg.seq, s.t - seg.t, seg.number))
                    del pending[:k]
        return out


class StreamGraphBuilder:
    """Feeds packets in capture order and keeps the segments of TCP stream ``stream``: a live capture
    goes on feeding the packets that arrive, the graph grows without a new pass from the first packet."""

    def __init__(self, stream: int) -> None:
        self.stream = stream
        self.graph: TcpGraph | None = None
        self.fed = 0  # packets fed so far
        self._flows = FlowIndex(keep_numbers=False)
        self._target: object = None
        self._base: list[int | None] = [None, None]  # per direction: the sequence number that is 0
        self._shift: list[int | None] = [None, None]  # per direction: window scale from its SYN (None: none)
        self._syn = [False, False]  # per direction: its SYN was seen

    def feed(self, number: int, frame: Frame) -> None:
        self.fed += 1
        hit = self._flows.add(number, frame)
        if hit is None:
            return
        flow, d, t = hit
        if flow.proto != "tcp" or flow.index != self.stream or t.proto != PROTO_TCP or t.quoted:
            return
        if self.graph is None:
            self._target, self.graph = flow, TcpGraph(self.stream, flow.a, flow.b, frame.ts_ns)
        graph, base = self.graph, self._base
        if base[d] is None:
            base[d] = t.seq if t.flags & TCP_SYN else (t.seq - 1) & 0xFFFFFFFF
        seq = (t.seq - (base[d] or 0)) & 0xFFFFFFFF
        ack = None
        if t.flags & TCP_ACK:
            if base[1 - d] is None:  # the other side has sent nothing yet: this ACK is its byte 1
                base[1 - d] = (t.ack - 1) & 0xFFFFFFFF
            ack = (t.ack - (base[1 - d] or 0)) & 0xFFFFFFFF
        win = t.window
        if t.flags & TCP_SYN:  # its window is never scaled; its options say the scale of later ones
            self._syn[d] = True
            self._shift[d] = _wscale(frame)
        elif all(self._syn) and self._shift[0] is not None and self._shift[1] is not None:
            win <<= self._shift[d] or 0
        graph.segments[d].append(
            Segment(number, (frame.ts_ns - graph.first_ns) / 1e9, seq, len(t.payload), ack, t.flags, win)
        )


def _wscale(frame: Frame) -> int | None:
    """The window scale shift a SYN carries (None without the option): decoded by the full decoder,
    only for the two SYNs of the stream."""
    from sniffer.decode.fields import frame_fields

    try:
        shift = frame_fields(frame).get("tcp.options.wscale.shift")
    except Exception:  # a decoder bug: the window stays unscaled
        return None
    if isinstance(shift, list):
        shift = shift[0] if shift else None
    return min(int(shift), 14) if isinstance(shift, int) else None


def stream_graph(frames: Iterable[tuple[int, Frame]], stream: int) -> TcpGraph | None:
    """The packets of TCP stream ``stream`` from ``frames`` ((number, frame) in capture order), or None
    when the capture has no such stream."""
    builder = StreamGraphBuilder(stream)
    for number, frame in frames:
        builder.feed(number, frame)
    return builder.graph
