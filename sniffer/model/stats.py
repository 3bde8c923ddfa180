"""Capture statistics like Wireshark's Statistics menu: hierarchy, conversations, endpoints, I/O rate."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sniffer.frame import LINKTYPE_ETHERNET, Frame
from sniffer.model.flows import FlowIndex
from sniffer.model.l4 import PROTO_UDP, Transport, network, transport

CONV_KINDS = ("eth", "ip", "ipv6", "tcp", "udp")
VXLAN_PORT = 4789

# frame.protocols entries that Wireshark's hierarchy statistics do not show as their own level
_PHS_SKIP = frozenset({"ethertype", "frame", "mptcp"})
# ICMP errors: the quoted headers sit inside the ICMP subtree (not shown), what they carry is shown;
# ICMP echo data sits inside the ICMP subtree too
_PHS_ICMP = frozenset({"icmp", "icmpv6"})
_PHS_QUOTED = frozenset({"ip", "ipv6", "udp", "tcp"})


def phs_path(protocols: str) -> list[str]:
    """The protocol hierarchy path of one packet from its frame.protocols, as tshark -z io,phs counts it."""
    names: list[str] = []
    prev = ""
    for name in protocols.split(":"):
        if not name or name == prev or name in _PHS_SKIP or name.startswith("ipv6."):
            prev = name
            continue  # ethertype, IPv6 extension headers, a protocol repeated in a row (igmp:igmp)
        prev = name
        names.append(name)
    for i, name in enumerate(names):
        if name in _PHS_ICMP:
            rest = names[i + 1 :]
            if not rest or rest[0] not in ("ip", "ipv6"):
                return names[: i + 1]
            j = 0
            while j < len(rest) and rest[j] in _PHS_QUOTED:
                j += 1
            return names[: i + 1] + rest[j:]
    return names


@dataclass(slots=True)
class Conversation:
    """Traffic between two endpoints. Direction 0 is A -> B (A sent the first packet seen)."""

    kind: str
    a: str
    b: str
    frames: list[int] = field(default_factory=lambda: [0, 0])
    bytes: list[int] = field(default_factory=lambda: [0, 0])
    first_ns: int = 0
    last_ns: int = 0
    stream: int | None = None  # tcp.stream / udp.stream for tcp and udp

    @property
    def total_frames(self) -> int:
        return self.frames[0] + self.frames[1]

    @property
    def total_bytes(self) -> int:
        return self.bytes[0] + self.bytes[1]

    @property
    def duration(self) -> float:
        return (self.last_ns - self.first_ns) / 1e9


@dataclass(slots=True)
class Endpoint:
    """One address (or address:port): what it sent (tx) and received (rx)."""

    kind: str
    address: str
    tx_frames: int = 0
    tx_bytes: int = 0
    rx_frames: int = 0
    rx_bytes: int = 0

    @property
    def frames(self) -> int:
        return self.tx_frames + self.rx_frames

    @property
    def bytes(self) -> int:
        return self.tx_bytes + self.rx_bytes


@dataclass(slots=True)
class PhsNode:
    """A protocol hierarchy level: frames and bytes of the packets whose stack passes through it."""

    name: str
    frames: int = 0
    bytes: int = 0
    children: dict[str, PhsNode] = field(default_factory=dict)

    def walk(self, depth: int = 0) -> Iterable[tuple[int, PhsNode]]:
        for child in self.children.values():
            yield depth, child
            yield from child.walk(depth + 1)


class _Pairs:
    """One kind's address conversations by column (what ``_pair`` counts into): the pair's row, the
    addresses of its first packet (A, B), frames and bytes A -> B and B -> A, first and last time. About
    280 bytes a conversation instead of ~600 as ``Conversation`` objects in a dict (1M packets, 100k
    conversations: 60 -> ~28 MB)."""

    __slots__ = ("a", "b", "b0", "b1", "f0", "f1", "first", "last", "row")

    def __init__(self) -> None:
        self.row: dict[tuple[str, str], int] = {}
        self.a: list[str] = []
        self.b: list[str] = []
        self.f0, self.f1, self.b0, self.b1 = array("q"), array("q"), array("q"), array("q")
        self.first, self.last = array("q"), array("q")


def _hostport(addr: str, port: int) -> str:
    return f"{addr}:{port}"  # as tshark's conversation tables write it, IPv6 without brackets


class Statistics:
    """Single pass over a capture. ``add`` each frame in order (with ``frame.protocols`` when the
    decoder gives it), then read ``conversations()``, ``endpoints()``, ``hierarchy`` and ``io()``."""

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.first_ns: int | None = None
        self.last_ns = 0
        self.flows = FlowIndex(keep_numbers=False)
        self._conv: dict[str, _Pairs] = {k: _Pairs() for k in ("eth", "ip", "ipv6")}
        self.hierarchy = PhsNode("frame")
        #: (frame.protocols, malformed) -> the hierarchy nodes its path passes through (a capture has a
        #: few hundred distinct stacks: each is split and looked up once)
        self._paths: dict[tuple[str, str | None], tuple[PhsNode, ...]] = {}
        self._io: dict[int, list[int]] = {}  # second -> [frames, bytes]

    def add(
        self, number: int, frame: Frame, protocols: str | None = None, malformed: str | None = None
    ) -> Transport | None:
        """Account one frame.

        Args:
            protocols: its frame.protocols (colon-separated) from the decoder, for the hierarchy.
            malformed: "_ws.malformed" or "_ws.short" when the decoder flagged the frame.
        """
        ts, size = frame.ts_ns, frame.wirelen
        self.frames += 1
        self.bytes += size
        if self.first_ns is None:
            self.first_ns = ts
        self.last_ns = ts
        io = self._io.get(ts // 1_000_000)
        if io is None:
            self._io[ts // 1_000_000] = [1, size]
        else:
            io[0] += 1
            io[1] += size
        t = self._layers(number, frame, ts, size, 0)
        if protocols is not None:
            self._phs(protocols, size, malformed)
        return t

    def _layers(self, number: int, frame: Frame, ts: int, size: int, depth: int) -> Transport | None:
        t = transport(frame)
        if t is not None and not t.quoted and t.proto >= 0:  # one header walk: addresses and ports
            esrc, edst, version, src, dst = t.eth_src, t.eth_dst, t.version, t.src, t.dst
        else:  # no IP, a fragment, or an ICMP error (its transport is the quoted packet): outer addresses
            net = network(frame)
            if net is None:
                return None
            esrc, edst, version, src, dst = net
        if esrc:
            self._pair("eth", esrc, edst, ts, size)
        if not version:
            return None
        self._pair("ip" if version == 4 else "ipv6", src, dst, ts, size)
        if t is None:
            return None
        r = self.flows.add(number, frame, t)
        if r is not None:
            t = r[2]
            if t.proto == PROTO_UDP and t.dport == VXLAN_PORT and len(t.payload) > 8 and depth < 4:
                inner = Frame(ts, t.payload[8:], size, LINKTYPE_ETHERNET)
                self._layers(number, inner, ts, size, depth + 1)  # the tunnelled layers count too
        return t

    def _pair(self, kind: str, src: str, dst: str, ts: int, size: int) -> None:
        t = self._conv[kind]
        key = (src, dst) if src <= dst else (dst, src)
        k = t.row.get(key)
        if k is None:
            k = t.row[key] = len(t.a)
            t.a.append(src)
            t.b.append(dst)
            t.f0.append(0)
            t.f1.append(0)
            t.b0.append(0)
            t.b1.append(0)
            t.first.append(ts)
            t.last.append(ts)
        if src == t.a[k]:
            t.f0[k] += 1
            t.b0[k] += size
        else:
            t.f1[k] += 1
            t.b1[k] += size
        t.last[k] = ts

    def add_hierarchy(self, size: int, protocols: str, malformed: str | None = None) -> None:
        """Account one frame in the protocol hierarchy only (no conversations, endpoints or I/O): a
        second pass that decodes every packet does not need a second set of flow tables."""
        self._phs(protocols, size, malformed)

    def add_phs(self, frame: Frame, protocols: str, malformed: str | None = None) -> None:
        """Account one frame in the totals (frames, bytes, duration, I/O) and the protocol hierarchy,
        without the conversations (``stats --phs``: no walk of the addresses and ports)."""
        ts, size = frame.ts_ns, frame.wirelen
        self.frames += 1
        self.bytes += size
        if self.first_ns is None:
            self.first_ns = ts
        self.last_ns = ts
        io = self._io.get(ts // 1_000_000)
        if io is None:
            self._io[ts // 1_000_000] = [1, size]
        else:
            io[0] += 1
            io[1] += size
        self._phs(protocols, size, malformed)

    def add_hierarchy_frames(
        self, frames: Iterable[Frame], protocols_of: Callable[[Frame], tuple[str, str]], io: bool = True
    ) -> None:
        """``add_phs`` of every frame of ``frames`` (``stats --phs``), with ``protocols_of(frame)`` giving
        its (frame.protocols, malformed reason or ""): one loop that counts frames and bytes per distinct
        stack (a capture has a few hundred) and adds them to the hierarchy's levels at the end.
        ``io=False``: the I/O intervals are not counted (``io()`` stays empty; the totals, the first and
        last times and the hierarchy are)."""
        per: dict[tuple[str, str], list[int]] = {}  # (stack, malformed reason) -> [frames, bytes]
        buckets = self._io
        ms: int | None = None
        cur = [0, 0]
        first = self.first_ns
        last: Frame | None = None
        try:
            if io:
                for last in frames:
                    ts, size = last[0], last[2]
                    k = ts // 1_000_000
                    if k != ms:
                        if first is None:
                            first = ts
                        ms = k
                        c = buckets.get(k)
                        if c is None:
                            c = buckets[k] = [0, 0]
                        cur = c
                    cur[0] += 1
                    cur[1] += size
                    pw = protocols_of(last)
                    acc = per.get(pw)
                    if acc is None:
                        acc = per[pw] = [0, 0]
                    acc[0] += 1
                    acc[1] += size
            else:
                for last in frames:
                    if first is None:
                        first = last[0]
                    pw = protocols_of(last)
                    acc = per.get(pw)
                    if acc is None:
                        acc = per[pw] = [0, 0]
                    acc[0] += 1
                    acc[1] += last[2]
        finally:  # (what was counted stays counted if the reader fails part way)
            self.frames += sum(c[0] for c in per.values())
            self.bytes += sum(c[1] for c in per.values())
            self.first_ns = first
            if last is not None:
                self.last_ns = last[0]
            for (p, why), (n, b) in per.items():  # (in order of first appearance, as add_phs makes them)
                for node in self._path_nodes(p, "_ws.malformed" if why else None):
                    node.frames += n
                    node.bytes += b

    def _phs(self, protocols: str, size: int, malformed: str | None) -> None:
        nodes = self._paths.get((protocols, malformed))
        if nodes is None:
            nodes = self._path_nodes(protocols, malformed)
        for node in nodes:
            node.frames += 1
            node.bytes += size

    def _path_nodes(self, protocols: str, malformed: str | None) -> tuple[PhsNode, ...]:
        node = self.hierarchy
        out = [node]
        path = phs_path(protocols)
        if malformed:
            path.append(malformed)
        for name in path:
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = PhsNode(name)
            out.append(child)
            node = child
        if len(self._paths) > 65536:  # a capture of ever new stacks: start over
            self._paths.clear()
        r = self._paths[(protocols, malformed)] = tuple(out)
        return r

    def conversations(self, kind: str) -> list[Conversation]:
        """Conversations of one kind (eth, ip, ipv6, tcp, udp) in order of first appearance."""
        out = []
        for stream, a, b, f0, f1, b0, b1, first, last in self.iter_conversations(kind):
            c = Conversation(kind, a, b, first_ns=first, last_ns=last, stream=stream)
            c.frames, c.bytes = [f0, f1], [b0, b1]
            out.append(c)
        return out

    def iter_conversations(
        self, kind: str
    ) -> Iterator[tuple[int | None, str, str, int, int, int, int, int, int]]:
        """``conversations(kind)`` as tuples, made one at a time: (stream or None, A, B, frames A -> B,
        B -> A, bytes A -> B, B -> A, first and last time in ns)."""
        if kind in ("tcp", "udp"):
            for fl in self.flows.flows(kind):
                fr, by = fl.frames, fl.bytes
                if not fr[0] + fr[1]:
                    continue  # only ever seen quoted in ICMP errors
                yield (
                    fl.index,
                    _hostport(*fl.a),
                    _hostport(*fl.b),
                    fr[0],
                    fr[1],
                    by[0],
                    by[1],
                    fl.first_ns,
                    fl.last_ns,
                )
            return
        if kind not in self._conv:
            raise ValueError(f"unknown conversation kind {kind!r}; use one of {', '.join(CONV_KINDS)}")
        t = self._conv[kind]
        first = t.first
        for k in sorted(range(len(first)), key=first.__getitem__):
            yield None, t.a[k], t.b[k], t.f0[k], t.f1[k], t.b0[k], t.b1[k], first[k], t.last[k]

    def forget(self, kind: str) -> None:
        """Drop the conversations of ``kind`` (``conversations(kind)`` is empty after; the totals, I/O and
        hierarchy stay): a screen that took a finished capture's tables into its rows frees them instead
        of holding two copies. "tcp" and "udp" share the flow index: forgetting either drops both."""
        if kind in ("tcp", "udp"):
            self.flows = FlowIndex(keep_numbers=False)
        else:
            self._conv[kind] = _Pairs()

    def endpoints(self, kind: str) -> list[Endpoint]:
        """Endpoints of one kind, most bytes first."""
        eps: dict[str, Endpoint] = {}
        for c in self.conversations(kind):
            for addr, d in ((c.a, 0), (c.b, 1)):
                e = eps.get(addr)
                if e is None:
                    e = eps[addr] = Endpoint(kind, addr)
                e.tx_frames += c.frames[d]
                e.tx_bytes += c.bytes[d]
                e.rx_frames += c.frames[1 - d]
                e.rx_bytes += c.bytes[1 - d]
        return sorted(eps.values(), key=lambda e: (-e.bytes, e.address))

    def io(self, interval: float = 1.0, max_rows: int = 100_000) -> list[tuple[float, int, int]]:
        """(interval start in seconds after the earliest packet, frames, bytes) per interval.

        Every interval is listed, empty ones too, unless that would be more than ``max_rows``; then
        only the intervals with packets are.
        """
        if not self._io:
            return []
        step_ms = max(1, round(interval * 1000))
        first_ms = min(self._io)
        sparse: dict[int, list[int]] = {}
        for ms, (fr, by) in self._io.items():
            b = sparse.setdefault((ms - first_ms) // step_ms, [0, 0])
            b[0] += fr
            b[1] += by
        last = max(sparse)
        keys = range(last + 1) if last < max_rows else sorted(sparse)
        return [(k * step_ms / 1000, *sparse.get(k, (0, 0))) for k in keys]

    @property
    def duration(self) -> float:
        return 0.0 if self.first_ns is None else (self.last_ns - self.first_ns) / 1e9


# ---------------------------------------------------------------------------------------------------------
# Text output (shaped like tshark -q -z ...)


def format_hierarchy(stats: Statistics) -> str:
    lines = ["Protocol Hierarchy Statistics", ""]
    for depth, node in stats.hierarchy.walk():
        lines.append(f"{'  ' * depth + node.name:<40} frames:{node.frames} bytes:{node.bytes}")
    return "\n".join(lines) + "\n"


def format_conversations(stats: Statistics, kind: str) -> str:
    convs = stats.conversations(kind)
    title = {"eth": "Ethernet", "ip": "IPv4", "ipv6": "IPv6", "tcp": "TCP", "udp": "UDP"}[kind]
    w = max([len(c.a) for c in convs] + [len(c.b) for c in convs] + [8])
    first = stats.first_ns or 0
    head = (
        f"{'A':<{w}}     {'B':<{w}}  {'A->B frames':>11} {'bytes':>10}  {'B->A frames':>11} {'bytes':>10}"
        f"  {'frames':>8} {'bytes':>11}  {'rel start':>12} {'duration':>10}"
    )
    lines = [f"{title} Conversations ({len(convs)})", head]
    if kind in ("tcp", "udp"):
        lines[1] = f"{'stream':>6}  " + head
    for c in convs:
        row = (
            f"{c.a:<{w}} <-> {c.b:<{w}}  {c.frames[0]:>11} {c.bytes[0]:>10}  {c.frames[1]:>11} {c.bytes[1]:>10}"
            f"  {c.total_frames:>8} {c.total_bytes:>11}  {(c.first_ns - first) / 1e9:>12.6f} {c.duration:>10.4f}"
        )
        lines.append(f"{c.stream:>6}  " + row if c.stream is not None else row)
    return "\n".join(lines) + "\n"


def format_endpoints(stats: Statistics, kind: str) -> str:
    eps = stats.endpoints(kind)
    title = {"eth": "Ethernet", "ip": "IPv4", "ipv6": "IPv6", "tcp": "TCP", "udp": "UDP"}[kind]
    w = max([len(e.address) for e in eps] + [8])
    lines = [
        f"{title} Endpoints ({len(eps)})",
        f"{'Address':<{w}}  {'frames':>8} {'bytes':>11}  {'tx frames':>9} {'tx bytes':>11}  {'rx frames':>9} {'rx bytes':>11}",
    ]
    for e in eps:
        lines.append(
            f"{e.address:<{w}}  {e.frames:>8} {e.bytes:>11}  {e.tx_frames:>9} {e.tx_bytes:>11}  "
            f"{e.rx_frames:>9} {e.rx_bytes:>11}"
        )
    return "\n".join(lines) + "\n"


def format_io(stats: Statistics, interval: float = 1.0) -> str:
    lines = [
        f"I/O rate, interval {interval:g} s",
        f"{'start':>10} {'frames':>8} {'bytes':>11} {'bits/s':>13}",
    ]
    for start, fr, by in stats.io(interval):
        lines.append(f"{start:>10.3f} {fr:>8} {by:>11} {by * 8 / interval:>13.0f}")
    return "\n".join(lines) + "\n"
