"""TCP/UDP streams numbered like Wireshark's tcp.stream/udp.stream, and follow-stream reassembly."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sniffer.frame import Frame
from sniffer.model.l4 import (
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_FIN,
    TCP_RST,
    TCP_SYN,
    Defragmenter,
    Transport,
    transport,
)

Endpoint = tuple[str, int]  # (address text, port)
PROTO_NAMES = {PROTO_TCP: "tcp", PROTO_UDP: "udp"}


@dataclass(slots=True)
class Flow:
    """One TCP or UDP conversation. Direction 0 is A -> B, where A sent the first packet seen."""

    proto: str  # "tcp" or "udp"
    index: int  # Wireshark's tcp.stream / udp.stream
    a: Endpoint
    b: Endpoint
    frames: list[int] = field(default_factory=lambda: [0, 0])
    bytes: list[int] = field(default_factory=lambda: [0, 0])
    first_ns: int = 0
    last_ns: int = 0
    numbers: list[int] = field(default_factory=list)  # frame numbers (1-based) in this stream
    # TCP state for Wireshark-like port-reuse detection
    isn: list[int | None] = field(default_factory=lambda: [None, None])
    closed: bool = False

    @property
    def duration(self) -> float:
        return (self.last_ns - self.first_ns) / 1e9

    def label(self) -> str:
        return f"{_ep(self.a)} <-> {_ep(self.b)}"


def _ep(e: Endpoint) -> str:
    addr, port = e
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


class FlowIndex:
    """Assigns stream numbers as packets arrive (in file order) and keeps per-stream counters."""

    def __init__(self, keep_numbers: bool = True) -> None:
        self.tcp: list[Flow] = []
        self.udp: list[Flow] = []
        self._live: dict[tuple[int, Endpoint, Endpoint], Flow] = {}
        self._keep = keep_numbers
        self._defrag = Defragmenter()

    def add(
        self, number: int, frame: Frame, t: Transport | None = None
    ) -> tuple[Flow, int, Transport] | None:
        """Account one frame; returns (flow, direction, transport) for TCP/UDP packets, else None.

        The transport returned is the reassembled one when this frame completed an IPv4 datagram.
        """
        if t is None:
            t = transport(frame)
        if t is not None and t.frag is not None:
            t = self._defrag.feed(frame, t)
        if t is None or t.proto not in PROTO_NAMES:
            return None
        src: Endpoint = (t.src, t.sport)
        dst: Endpoint = (t.dst, t.dport)
        key = (t.proto, src, dst) if src <= dst else (t.proto, dst, src)
        flow = self._live.get(key)
        syn_only = t.proto == PROTO_TCP and (t.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN
        if flow is not None and syn_only:
            d = 0 if src == flow.a else 1
            isn = flow.isn[d]
            if flow.closed and isn is not None and isn != t.seq:
                flow = None  # the ports were reused for a new connection: a new stream
        if flow is None:
            table = self.tcp if t.proto == PROTO_TCP else self.udp
            flow = Flow(PROTO_NAMES[t.proto], len(table), src, dst, first_ns=frame.ts_ns)
            table.append(flow)
            self._live[key] = flow
        d = 0 if src == flow.a else 1
        if not t.quoted:  # an ICMP error quoting a packet gets its stream number but is not counted
            flow.frames[d] += 1
            flow.bytes[d] += frame.wirelen
            flow.last_ns = frame.ts_ns
        if self._keep:
            flow.numbers.append(number)
        if t.proto == PROTO_TCP and not t.quoted:
            if t.flags & TCP_SYN and flow.isn[d] is None:
                flow.isn[d] = t.seq
            if t.flags & (TCP_FIN | TCP_RST):
                flow.closed = True
        return flow, d, t

    def flows(self, proto: str) -> list[Flow]:
        return self.tcp if proto == "tcp" else self.udp


def stream_numbers(frames: Iterable[Frame]) -> Iterator[tuple[int, str, int] | None]:
    """For each frame: ("tcp"|"udp", stream index) with its frame number, or None (like tcp.stream)."""
    idx = FlowIndex(keep_numbers=False)
    for n, fr in enumerate(frames, 1):
        r = idx.add(n, fr)
        yield None if r is None else (n, r[0].proto, r[0].index)


def stream_of(frames: Iterable[Frame], number: int) -> tuple[str, int] | None:
    """("tcp"|"udp", stream index) of frame ``number`` (1-based), reading frames up to it; None if it
    is not TCP/UDP (for "follow the stream of the selected packet")."""
    idx = FlowIndex(keep_numbers=False)
    for n, fr in enumerate(frames, 1):
        r = idx.add(n, fr)
        if n == number:
            return None if r is None else (r[0].proto, r[0].index)
    return None


# ---------------------------------------------------------------------------------------------------------
# Follow stream


@dataclass(slots=True)
class Followed:
    """A followed stream: the two nodes and the payload chunks in the order they became contiguous."""

    proto: str
    index: int
    a: Endpoint  # node 0 (sent the first packet)
    b: Endpoint  # node 1
    chunks: list[tuple[int, bytes]] = field(default_factory=list)  # (direction, data); 0 = from a
    gaps: list[int] = field(default_factory=lambda: [0, 0])  # bytes missing (never captured) per direction

    def data(self, direction: int) -> bytes:
        return b"".join(c for d, c in self.chunks if d == direction)


class _Reassembler:
    """One direction of a TCP stream: in-order bytes, duplicates dropped, out-of-order held back."""

    __slots__ = ("isn", "next", "pending")

    def __init__(self) -> None:
        self.isn: int | None = None
        self.next = 0  # relative sequence number expected next
        self.pending: dict[int, bytes] = {}

    def segment(self, seq: int, flags: int, payload: bytes) -> list[bytes]:
        if self.isn is None:
            self.isn = seq
            self.next = 1 if flags & TCP_SYN else 0
        elif flags & TCP_SYN and not payload:
            return []
        if not payload:
            return []
        rel = (seq - self.isn) & 0xFFFFFFFF
        if flags & TCP_SYN:
            rel += 1
        out: list[bytes] = []
        if rel > self.next:
            old = self.pending.get(rel)
            if old is None or len(payload) > len(old):
                self.pending[rel] = payload
            return out
        end = rel + len(payload)
        if end <= self.next:
            return out  # retransmission of bytes already delivered
        out.append(payload[self.next - rel :])
        self.next = end
        while self.pending:
            ready = [s for s in self.pending if s <= self.next]
            if not ready:
                break
            for s in sorted(ready):
                data = self.pending.pop(s)
                if s + len(data) > self.next:
                    out.append(data[self.next - s :])
                    self.next = s + len(data)
        return out

    def flush(self) -> tuple[list[bytes], int]:
        """Deliver what is still held back (after gaps), returning the chunks and the bytes missing."""
        out, missing = [], 0
        for s in sorted(self.pending):
            data = self.pending[s]
            if s + len(data) <= self.next:
                continue
            if s > self.next:
                missing += s - self.next
                out.append(data)
            else:
                out.append(data[self.next - s :])
            self.next = s + len(data)
        self.pending.clear()
        return out, missing


def follow(frames: Iterable[Frame], proto: str, index: int) -> Followed | None:
    """Reassemble stream ``index`` ("tcp" or "udp") from the frames of a capture; None if it does not exist."""
    flows = FlowIndex(keep_numbers=False)
    result: Followed | None = None
    rs = (_Reassembler(), _Reassembler())
    for n, fr in enumerate(frames, 1):
        r = flows.add(n, fr)
        if r is None:
            continue
        flow, d, t = r
        if flow.proto != proto or flow.index != index:
            if result is not None and proto == "tcp" and flow.proto == proto and flow.index > index + 10_000:
                break
            continue
        if result is None:
            result = Followed(proto, index, flow.a, flow.b)
        if t.quoted:
            continue
        if proto == "udp":
            if t.payload:
                result.chunks.append((d, t.payload))
            continue
        for chunk in rs[d].segment(t.seq, t.flags, t.payload):
            result.chunks.append((d, chunk))
    if result is not None and proto == "tcp":
        for d in (0, 1):
            rest, missing = rs[d].flush()
            result.chunks.extend((d, c) for c in rest)
            result.gaps[d] = missing
    return result


def format_follow(f: Followed, mode: str = "ascii") -> str:
    """Text like `tshark -q -z follow,PROTO,MODE,N` (mode: ascii, hex or raw)."""
    lines = [
        "=" * 67,
        f"Follow: {f.proto},{mode}",
        f"Filter: {f.proto}.stream eq {f.index}",
        f"Node 0: {_ep(f.a)}",
        f"Node 1: {_ep(f.b)}",
    ]
    offsets = [0, 0]
    for d, data in f.chunks:
        indent = "\t" if d == 1 else ""
        if mode == "raw":
            lines.append(indent + data.hex())
        elif mode == "hex":
            for i in range(0, len(data), 16):
                row = data[i : i + 16]
                hx = " ".join(f"{b:02x}" for b in row)
                hx = hx[:23] + " " + hx[23:] if len(row) > 8 else hx
                asc = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
                asc = asc[:8] + " " + asc[8:] if len(row) > 8 else asc
                lines.append(f"{indent}{offsets[d] + i:08X}  {hx:<48}  {asc}".rstrip(" "))
            offsets[d] += len(data)
        else:
            lines.append(f"{indent}{len(data)}")
            text = "".join(chr(b) if 32 <= b < 127 or b in (10, 13) else "." for b in data)
            lines.append(text)
    lines.append("=" * 67)
    return "\n".join(lines) + "\n"
