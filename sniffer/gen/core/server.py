"""The servers' sans-IO cores: what an echo or sink server does with what comes in, and counts.

``StreamServerState`` (what a stream server keeps across connections) starts a
``stream_server_core`` per connection; ``DgramServer`` decides for each datagram (log a new peer,
count it, or make the echo) and ``DgramServer.core`` is its receive/answer loop; ``SinkCount`` is
the byte counter of the drivers' fast datagram sinks; ``PeerLog`` tells each connection and each
new peer. The drivers (``sniffer.gen.traffic.drive_*``) only accept, receive and send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sniffer.gen.core.ops import (
    POLL_S,
    Addr,
    Channel,
    Core,
    RecvFrom,
    RecvInto,
    RecvReady,
    SendAll,
    SendTo,
    now,
)

StopFn = Callable[[], bool]

SINK_BUF = 1 << 20
UNLIMITED = 1 << 62


class PeerLog:
    """Servers tell each connection and each new datagram peer to ``log`` (the CLI prints to stderr),
    at most ``limit`` lines, then one line saying the rest go unlogged."""

    def __init__(self, log: Callable[[str], None] | None, limit: int = 64) -> None:
        self.log = log
        self.limit = limit
        self.seen: set[Any] = set()
        self.lines = 0

    def say(self, text: str) -> None:
        if self.log is None or self.lines > self.limit:
            return
        self.lines += 1
        self.log(
            text if self.lines <= self.limit else f"more than {self.limit} peers: the rest are not logged"
        )

    def connection(self, n: int, peer: Addr) -> None:
        self.say(f"connection {n} from {_fmt_peer(peer)}")

    def datagram(self, peer: Addr) -> None:
        if self.log is None or peer in self.seen or len(self.seen) > self.limit:
            return
        self.seen.add(peer)
        self.say(f"first datagram from {_fmt_peer(peer)}")


def _fmt_peer(peer: Addr) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2 and isinstance(peer[0], str):
        return f"[{peer[0]}]:{peer[1]}" if ":" in peer[0] else f"{peer[0]}:{peer[1]}"
    if peer in ("", b"", None):
        return "an unnamed socket"
    return str(peer)


# --- stream servers ----------------------------------------------------------------------------------


class StreamServerState:
    """What a stream server keeps across its connections: the statistics, the peer log, the
    connections done; ``connection(peer)`` starts the core of a new one."""

    def __init__(self, mode: str, stop: StopFn, max_conns: int | None, peers: PeerLog | None) -> None:
        self.mode = mode
        self.stop = stop
        self.max_conns = max_conns
        self.peers = peers or PeerLog(None)
        self.stats: dict[str, Any] = {"connections": 0, "bytes_received": 0, "bytes_echoed": 0, "messages": 0}
        self.done = 0

    def running(self) -> bool:
        return not self.stop() and (self.max_conns is None or self.done < self.max_conns)

    def connection(self, peer: Addr) -> Core:
        self.stats["connections"] += 1
        self.peers.connection(self.stats["connections"], peer)
        return stream_server_core(self)


def stream_server_core(st: StreamServerState) -> Core:
    """One connection of an echo or sink server (guide 5.1 / 5.2): read what comes, count it, echo it
    back in echo mode; ends at the peer's EOF, an error, or the server's stop."""
    stats = st.stats
    echo = st.mode == "echo"
    view = memoryview(bytearray(SINK_BUF if not echo else 65536))
    try:
        while not st.stop():
            try:
                n = yield RecvInto(view, now() + POLL_S)
            except TimeoutError:
                continue  # look at stop() again
            except OSError:
                return
            if n == 0:
                return
            stats["bytes_received"] += n
            stats["messages"] += 1
            if echo:
                try:
                    yield SendAll(view[:n], now() + 5.0)
                except (TimeoutError, OSError):
                    return
                stats["bytes_echoed"] += n
    finally:
        st.done += 1


# --- datagram servers --------------------------------------------------------------------------------


class DgramServer:
    """What a datagram server does with each datagram: log a new peer, count it (sink) or make the
    echo (``Channel.reply``), and keep the statistics; ``core(stop, max_msgs)`` is the loop."""

    def __init__(self, ch: Channel, mode: str, peers: PeerLog | None = None) -> None:
        self.ch = ch
        self.sink = mode == "sink"
        self.peers = peers or PeerLog(None)
        self.stats = {"messages": 0, "bytes_received": 0, "echoed": 0, "ignored": 0}

    def wants_more(self, max_msgs: int | None) -> bool:
        return max_msgs is None or self.stats["messages"] < max_msgs

    def count(self, data: Any, addr: Addr) -> None:
        """A sink's datagram: counted when it is ours (``Channel.count_in``), else ignored."""
        if self.ch.count_in(data, addr):
            self.stats["messages"] += 1
            self.stats["bytes_received"] += len(data)
        else:
            self.stats["ignored"] += 1

    def datagram(self, data: Any, addr: Addr) -> tuple[Any, Addr] | None:
        """A datagram arrived from addr: the (data, address) to send back, or None (sink, or not ours)."""
        self.peers.datagram(addr)
        if self.sink:
            self.count(data, addr)
            return None
        answer = self.ch.reply(data, addr)
        if answer is None:
            self.stats["ignored"] += 1
            return None
        self.stats["messages"] += 1
        self.stats["bytes_received"] += len(data)
        return answer

    def core(self, stop: StopFn, max_msgs: int | None = None) -> Core:
        """Echo (or count) datagrams until ``stop()`` or ``max_msgs``. A sink takes what else is
        queued after each datagram without waiting (``RecvReady``); an echo that cannot be sent
        within a second is dropped."""
        limit = max_msgs if max_msgs is not None else UNLIMITED
        n = self.ch.max_recv
        while not stop() and self.wants_more(max_msgs):
            try:
                data, addr = yield RecvFrom(n, now() + POLL_S)
            except OSError:  # TimeoutError included: look at stop() again
                continue
            answer = self.datagram(data, addr)
            if self.sink:
                try:
                    queued = yield RecvReady(n, limit - self.stats["messages"])
                except OSError:
                    continue
                for data, addr in queued:
                    self.count(data, addr)
                continue
            if answer is None:
                continue
            try:
                yield SendTo(answer[0], answer[1], now() + 1.0)
            except OSError:
                continue
            self.stats["echoed"] += 1


class SinkCount:
    """A plain datagram sink's statistics (no address, no look inside: ``Channel.plain``); ``add``
    says when ``max_msgs`` is reached. The drivers read with one recv_into per datagram."""

    def __init__(self, max_msgs: int | None) -> None:
        self.limit = max_msgs if max_msgs is not None else UNLIMITED
        self.msgs = 0
        self.nbytes = 0

    def add(self, nbytes: int) -> bool:
        self.msgs += 1
        self.nbytes += nbytes
        return self.msgs >= self.limit

    def full(self) -> bool:
        return self.msgs >= self.limit

    @property
    def stats(self) -> dict[str, Any]:
        return {"messages": self.msgs, "bytes_received": self.nbytes, "echoed": 0, "ignored": 0}
