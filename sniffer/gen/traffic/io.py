"""The send/receive loops of every generator, per I/O style.

Every loop is written once, as a sans-IO core: a generator that yields the I/O it needs (an op:
``Connect``, ``SendAll``, ``RecvInto``, ``SendTo``, ``RecvFrom``, ``Sleep``, ``ShutdownWrite``,
``Burst``) and is sent the result (or thrown the error, TimeoutError included). Pacing, sequencing,
tags, statistics and the report live in the cores; the drivers only do I/O:
  _drive         one core on a ``SyncIO``: blocking sockets with timeouts, or non-blocking sockets
                 waited on with select / poll / epoll (the guide's selectors examples)
  _Many          many cores at once on one selector, one non-blocking socket each (servers, tcp-conns)
  _adrive        one core on the asyncio loop's ``sock_*`` methods
  _CoreProtocol  one stream core behind an asyncio BufferedProtocol (the asyncio stream servers)
Cores: ``stream_echo_core`` (guide 5.1), ``stream_bulk_core``, ``dgram_echo_core`` (5.2),
``dgram_blast_core`` (yields a ``Burst`` per batch, sent by one shared non-blocking loop, ``_burst``),
``stream_server_core`` (one connection of an echo/sink server; ``StreamServerState`` holds what the
server keeps across connections) and ``conn_echo_core`` (one connection of tcp-conns). The datagram
servers (one socket, no per-peer state) are one loop per style family.

Every loop is bounded: a deadline always, a count when given. Datagram loops go through a
``Channel`` so UDP, unix datagrams, raw IP and AF_PACKET share them (raw channels add and strip headers
and tell our replies from our own looped-back copies).
"""

from __future__ import annotations

import asyncio
import errno
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from sniffer.gen.core.payload import FLAG_LAST, TAG_LEN, PayloadFactory, parse_tag
from sniffer.gen.core.report import Report
from sniffer.gen.traffic.styles import ASYNCIO, BLOCKING, make_selector

Addr = Any
StopFn = Callable[[], bool]

POLL_S = 0.05  # servers look at their stop condition this often
SINK_BUF = 1 << 20

_now = time.monotonic
_ns = time.perf_counter_ns


class Channel:
    """A datagram endpoint: where to send, and how to wrap and unwrap our tagged messages.

    The base class is plain (UDP, unix datagrams): messages go as they are, replies are echoed verbatim.
    """

    max_recv = 65535

    def __init__(self, sock: socket.socket, dest: Addr | None = None) -> None:
        self.sock = sock
        self.dest = dest  # None: the socket is connected

    def wrap(self, payload: memoryview | bytes) -> memoryview | bytes:
        return payload

    def unwrap(self, data: bytes, addr: Addr) -> bytes | None:
        """Client side: the tagged message inside a received datagram, or None to ignore it."""
        return data

    def reply(self, data: bytes, addr: Addr) -> tuple[bytes, Addr] | None:
        """Server side: what to send back (and where), or None to stay silent."""
        return data, addr

    def count_in(self, data: bytes, addr: Addr) -> bool:
        """Server side sink: whether a datagram counts as ours."""
        return True


# --------------------------------------------------------------------------- synchronous styles


class SyncIO:
    """One socket driven in a synchronous style: blocking with timeouts, or non-blocking + a selector."""

    def __init__(self, sock: socket.socket, style: str) -> None:
        self.sock = sock
        self.blocking = style == BLOCKING
        self.sel: selectors.BaseSelector | None = None
        if self.blocking:
            sock.setblocking(True)
        else:
            sock.setblocking(False)
            self.sel = make_selector(style)
            self.sel.register(sock, selectors.EVENT_READ)
            self._events = selectors.EVENT_READ

    def close(self) -> None:
        if self.sel is not None:
            self.sel.close()

    def _wait(self, events: int, deadline: float) -> None:
        remaining = deadline - _now()
        if remaining <= 0:
            raise TimeoutError
        assert self.sel is not None
        if events != self._events:
            self.sel.modify(self.sock, events)
            self._events = events
        if not self.sel.select(remaining):
            raise TimeoutError

    def _timeout(self, deadline: float) -> None:
        remaining = deadline - _now()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)

    def connect(self, addr: Addr, deadline: float) -> None:
        if self.blocking:
            self._timeout(deadline)
            self.sock.connect(addr)
            return
        err = self.sock.connect_ex(addr)
        if err == 0:
            return
        if err not in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY, errno.EWOULDBLOCK):
            raise OSError(err, os.strerror(err))
        self._wait(selectors.EVENT_WRITE, deadline)
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))

    def send(self, data: Any, dest: Addr | None, deadline: float) -> int:
        if self.blocking:
            self._timeout(deadline)
            return self.sock.send(data) if dest is None else self.sock.sendto(data, dest)
        while True:
            try:
                return self.sock.send(data) if dest is None else self.sock.sendto(data, dest)
            except BlockingIOError:
                self._wait(selectors.EVENT_WRITE, deadline)

    def sendall(self, data: Any, deadline: float) -> None:
        view = memoryview(data).cast("B")
        while view:
            n = self.send(view, None, deadline)
            view = view[n:]

    def recv_into(self, buf: memoryview, deadline: float) -> int:
        if self.blocking:
            self._timeout(deadline)
            return self.sock.recv_into(buf)
        while True:
            try:
                return self.sock.recv_into(buf)
            except BlockingIOError:
                self._wait(selectors.EVENT_READ, deadline)

    def recvfrom(self, n: int, deadline: float) -> tuple[bytes, Addr]:
        if self.blocking:
            self._timeout(deadline)
            return self.sock.recvfrom(n)
        while True:
            try:
                return self.sock.recvfrom(n)
            except BlockingIOError:
                self._wait(selectors.EVENT_READ, deadline)


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


def _count_iter(count: int | None) -> range:
    return range(count if count is not None else 1 << 62)


def _last(seq: int, count: int | None) -> int:
    return FLAG_LAST if count is not None and seq == count - 1 else 0


def _tag_ok(data: Any, flow: int, seq: int) -> bool:
    tag = parse_tag(data)
    return tag is not None and tag.flow_id == flow and tag.seq == seq


class DgramServerCore:
    """What a datagram server does with each datagram, whatever drives it (sans-IO): log a new peer,
    count it (sink) or make the echo (``Channel.reply``), and keep the statistics. The blocking and
    selector loop (``dgram_server_sync``) and the asyncio one (``a_dgram_server``) only receive and send."""

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
        """A datagram arrived from addr: the (data, address) to send back, or None (sink, or not ours).
        The driver adds 1 to ``stats["echoed"]`` once the answer is sent."""
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


def dgram_server_sync(
    ch: Channel,
    style: str,
    mode: str,
    stop: StopFn,
    max_msgs: int | None = None,
    peers: PeerLog | None = None,
) -> dict[str, Any]:
    """Echo (or count) datagrams until ``stop()`` or ``max_msgs``; the sink's fast path reads no
    addresses, so it logs no peers."""
    if mode == "sink" and type(ch).count_in is Channel.count_in:
        return _dgram_sink_fast(ch.sock, style, stop, max_msgs)
    io = SyncIO(ch.sock, style)
    core = DgramServerCore(ch, mode, peers)
    try:
        while not stop() and core.wants_more(max_msgs):
            try:
                data, addr = io.recvfrom(ch.max_recv, _now() + POLL_S)
            except TimeoutError:
                continue
            except OSError:
                continue
            answer = core.datagram(data, addr)
            if answer is None:
                continue
            try:
                io.send(answer[0], answer[1], _now() + 1.0)
                core.stats["echoed"] += 1
            except (TimeoutError, OSError):
                pass
    finally:
        io.close()
    return core.stats


def _dgram_sink_fast(sock: socket.socket, style: str, stop: StopFn, max_msgs: int | None) -> dict[str, Any]:
    """Count datagrams with one recv_into per datagram: blocking sockets wake up for the stop check
    through SO_RCVTIMEO (no poll before each recv), non-blocking ones drain the queue per wakeup."""
    buf = bytearray(65536)
    msgs = nbytes = 0
    limit = max_msgs if max_msgs is not None else 1 << 62
    recv_into = sock.recv_into
    sel = None
    if style == BLOCKING:
        sock.setblocking(True)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, int(POLL_S * 1e6)))
    else:
        sock.setblocking(False)
        sel = make_selector(style)
        sel.register(sock, selectors.EVENT_READ)
    try:
        while msgs < limit and not stop():
            if sel is not None and not sel.select(POLL_S):
                continue
            for _ in range(4096):
                try:
                    n = recv_into(buf)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                msgs += 1
                nbytes += n
                if msgs >= limit:
                    break
    finally:
        if sel is not None:
            sel.close()
    return {"messages": msgs, "bytes_received": nbytes, "echoed": 0, "ignored": 0}


def _err(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- asyncio


async def _within(aw: Any, deadline: float) -> Any:
    """Await ``aw`` in this task, cancelled at ``deadline`` (loop.time() is time.monotonic()).

    asyncio.timeout_at costs one timer; wait_for would wrap every send in a new task and push the
    send itself to the next turn of the loop.
    """
    if deadline - _now() <= 0:
        aw.close()
        raise TimeoutError
    async with asyncio.timeout_at(deadline):
        return await aw


# --------------------------------------------------------------------------- sans-IO cores
#
# Each loop below is written once, as a generator that yields the I/O it needs (an op) and is sent
# the result (or thrown the exception, TimeoutError included). ``_drive`` runs one with a blocking /
# selectors / poll / epoll SyncIO, ``_adrive`` with asyncio: pacing, sequencing, tag checks and the
# report live in the core; the drivers only do I/O.


@dataclass(slots=True)
class SendAll:
    data: Any
    deadline: float


@dataclass(slots=True)
class SendTo:
    data: Any
    dest: Addr | None
    deadline: float


@dataclass(slots=True)
class RecvInto:
    view: memoryview
    deadline: float


@dataclass(slots=True)
class RecvFrom:
    n: int
    deadline: float


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class ShutdownWrite:
    pass


@dataclass(slots=True)
class Connect:
    addr: Addr
    deadline: float


@dataclass(slots=True)
class Burst:
    """Send datagrams ``first`` .. ``end - 1`` of a blast; the driver answers (next seq, stalled):
    stalled when the socket stayed full until ``deadline``."""

    ch: Channel
    factory: PayloadFactory
    rep: Report
    first: int
    end: int
    last: int  # the sequence number that carries FLAG_LAST (-1: none)
    deadline: float


Op = SendAll | SendTo | RecvInto | RecvFrom | Sleep | ShutdownWrite | Burst | Connect
Core = Generator[Op, Any, None]


def _drive(core: Core, io: SyncIO) -> None:
    """Run a core with blocking-style I/O (any SyncIO style)."""
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = core.throw(error) if error is not None else core.send(result)
        except StopIteration:
            return
        result, error = None, None
        try:
            if isinstance(op, RecvInto):
                result = io.recv_into(op.view, op.deadline)
            elif isinstance(op, SendAll):
                io.sendall(op.data, op.deadline)
            elif isinstance(op, SendTo):
                result = io.send(op.data, op.dest, op.deadline)
            elif isinstance(op, RecvFrom):
                result = io.recvfrom(op.n, op.deadline)
            elif isinstance(op, Burst):
                result = _burst_sync(op, io)
            elif isinstance(op, Sleep):
                time.sleep(op.seconds)
            elif isinstance(op, Connect):
                io.connect(op.addr, op.deadline)
            else:
                io.sock.shutdown(socket.SHUT_WR)
        except (TimeoutError, OSError) as exc:
            error = exc


async def _adrive(core: Core, sock: socket.socket) -> None:
    """Run a core on the asyncio event loop (the socket must be non-blocking)."""
    loop = asyncio.get_running_loop()
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = core.throw(error) if error is not None else core.send(result)
        except StopIteration:
            return
        result, error = None, None
        try:
            if isinstance(op, RecvInto):
                result = await _within(loop.sock_recv_into(sock, op.view), op.deadline)
            elif isinstance(op, SendAll):
                await _within(loop.sock_sendall(sock, op.data), op.deadline)
            elif isinstance(op, SendTo):
                if op.dest is None:
                    await _within(loop.sock_sendall(sock, op.data), op.deadline)
                else:
                    await _within(loop.sock_sendto(sock, op.data, op.dest), op.deadline)
            elif isinstance(op, RecvFrom):
                result = await _within(loop.sock_recvfrom(sock, op.n), op.deadline)
            elif isinstance(op, Burst):
                result = await _burst_async(op)
                await asyncio.sleep(0)  # every batch yields to the loop
            elif isinstance(op, Sleep):
                await asyncio.sleep(op.seconds)
            elif isinstance(op, Connect):
                await _within(loop.sock_connect(sock, op.addr), op.deadline)
            else:
                sock.shutdown(socket.SHUT_WR)
        except (TimeoutError, OSError) as exc:
            error = exc


def stream_echo_core(
    rep: Report,
    factory: PayloadFactory,
    count: int | None,
    duration: float,
    interval: float = 0.0,
    timeout: float = 2.0,
) -> Core:
    """Send a tagged message, read the same number of bytes back, check the tag, time it (guide 5.1)."""
    size = factory.size
    buf = bytearray(size)
    view = memoryview(buf)
    end = _now() + duration
    for seq in _count_iter(count):
        if _now() >= end:
            break
        msg = factory.make(seq, _last(seq, count))
        deadline = min(end + timeout, _now() + timeout)
        t0 = _ns()
        try:
            yield SendAll(msg, deadline)
        except TimeoutError:
            rep.notes.append(f"send of message {seq} timed out")
            break
        rep.sent += 1
        rep.bytes_sent += size
        got = 0
        try:
            while got < size:
                n = yield RecvInto(view[got:], deadline)
                if n == 0:
                    break
                got += n
        except TimeoutError:
            rep.notes.append(f"no echo for message {seq} within {timeout} s")
            break
        if got == 0:
            rep.notes.append("peer closed the connection")
            break
        rtt = _ns() - t0
        rep.received += 1
        rep.bytes_received += got
        if got == size and _tag_ok(buf, factory.flow_id, seq):
            rep.echoed += 1
            rep.rtts_ns.append(rtt)
        else:
            rep.errors += 1
        if interval:
            yield Sleep(interval)


def stream_bulk_core(
    rep: Report, factory: PayloadFactory, total: int, duration: float, timeout: float = 5.0
) -> Core:
    """Send ``total`` bytes (tagged chunks back to back), then half-close and wait for the peer's EOF."""
    chunk = factory.size
    end = _now() + duration
    seq = sent = 0
    try:
        while sent < total and _now() < end:
            n = min(chunk, total - sent)
            yield SendAll(factory.make(seq)[:n], end + timeout)
            sent += n
            seq += 1
    except TimeoutError:
        rep.notes.append("peer stopped reading (send timed out)")
    rep.sent = seq
    rep.bytes_sent = sent
    try:
        yield ShutdownWrite()
    except OSError:
        return
    buf = memoryview(bytearray(65536))
    deadline = _now() + timeout
    try:
        while (yield RecvInto(buf, deadline)):
            pass
    except (TimeoutError, OSError):
        rep.notes.append("peer did not close after our EOF")


def dgram_echo_core(
    ch: Channel,
    rep: Report,
    factory: PayloadFactory,
    count: int | None,
    duration: float,
    interval: float = 0.0,
    timeout: float = 1.0,
) -> Core:
    """Send one tagged datagram, wait for its echo (matching flow and seq), time it (guide 5.2).

    A datagram that gets no echo within ``timeout`` counts as lost and the run goes on.
    """
    end = _now() + duration
    flow = factory.flow_id
    for seq in _count_iter(count):
        if _now() >= end:
            break
        msg = factory.make(seq, _last(seq, count))
        t0 = _ns()
        deadline = _now() + timeout
        try:
            yield SendTo(ch.wrap(msg), ch.dest, deadline)
        except TimeoutError:
            rep.errors += 1
            continue
        rep.sent += 1
        rep.bytes_sent += factory.size
        try:
            while True:
                data, addr = yield RecvFrom(ch.max_recv, deadline)
                body = ch.unwrap(data, addr)
                if body is None:
                    continue
                rep.received += 1
                rep.bytes_received += len(body)
                tag = parse_tag(body)
                if tag is not None and tag.flow_id == flow and tag.seq == seq:
                    rep.echoed += 1
                    rep.rtts_ns.append(_ns() - t0)
                    break
                # a late echo of an earlier message: keep waiting for ours
        except TimeoutError:
            pass
        if interval:
            yield Sleep(interval)


def dgram_blast_core(
    ch: Channel,
    rep: Report,
    factory: PayloadFactory,
    count: int | None,
    duration: float,
    pps: float | None,
) -> Core:
    """Send tagged datagrams as fast as allowed, no replies expected: ``pps`` paces them (each
    datagram due at start + seq / pps; the core sleeps until the next is due), unpaced they go in
    batches of 256; the drivers send each batch without waiting while the socket has room."""
    start = _now()
    end = start + duration
    limit = count if count is not None else 1 << 62
    last = limit - 1 if count is not None else -1
    seq = 0
    while seq < limit:
        now = _now()
        if now >= end:
            break
        if pps:
            due = min(limit, int((now - start) * pps) + 1)
            if due <= seq:
                yield Sleep(min((seq + 1) / pps - (now - start), end - now, 0.05))
                continue
        else:
            due = min(limit, seq + 256)
        seq, stalled = yield Burst(ch, factory, rep, seq, due, last, end + 1.0)
        if stalled:
            break
    rep.sent = seq
    rep.bytes_sent = seq * factory.size


def _burst(op: Burst, seq: int) -> tuple[int, Any]:
    """Send from ``seq`` without waiting: (next seq, the datagram a full socket refused, or None)."""
    ch, rep, end, last = op.ch, op.rep, op.end, op.last
    make = op.factory.make
    wrap = None if type(ch).wrap is Channel.wrap else ch.wrap
    dest = ch.dest
    send = ch.sock.send
    sendto = ch.sock.sendto
    while seq < end:
        data: memoryview | bytes = make(seq, FLAG_LAST if seq == last else 0)
        if wrap is not None:
            data = wrap(data)
        try:
            if dest is None:
                send(data)
            else:
                sendto(data, dest)
        except BlockingIOError:
            return seq, data
        except ConnectionRefusedError:
            rep.errors += 1  # ICMP port unreachable from an earlier datagram: nobody listens (yet)
        seq += 1
    return seq, None


def _burst_sync(op: Burst, io: SyncIO) -> tuple[int, bool]:
    seq = op.first
    while True:
        seq, refused = _burst(op, seq)
        if refused is None:
            return seq, False
        if io.blocking:
            op.rep.errors += 1  # a blocking socket with a timeout that ran out: counted, skipped
        else:
            try:
                io.send(refused, op.ch.dest, op.deadline)  # wait (select/poll/epoll) until there is room
            except TimeoutError:
                return seq, True
        seq += 1


async def _burst_async(op: Burst) -> tuple[int, bool]:
    loop = asyncio.get_running_loop()
    sock, dest = op.ch.sock, op.ch.dest
    seq = op.first
    while True:
        seq, refused = _burst(op, seq)
        if refused is None:
            return seq, False
        try:  # the loop waits for writability
            if dest is None:
                await _within(loop.sock_sendall(sock, refused), op.deadline)
            else:
                await _within(loop.sock_sendto(sock, refused, dest), op.deadline)
        except TimeoutError:
            return seq, True
        seq += 1


class _Many:
    """The selectors driver for many cores at once (select / poll / epoll), each core on its own
    non-blocking socket: a core's op is tried at once and, when its socket is not ready, again each
    time the selector says it is; an op past its deadline gets TimeoutError thrown in. The socket is
    closed when its core ends. Ops: Connect, SendAll, RecvInto, ShutdownWrite (the stream cores')."""

    def __init__(self, style: str) -> None:
        self.sel = make_selector(style)
        # socket -> [core, pending op, progress: bytes of a SendAll sent / 1 once a connect started]
        self.tasks: dict[socket.socket, list[Any]] = {}

    def add(self, sock: socket.socket, core: Core) -> None:
        sock.setblocking(False)
        task: list[Any] = [core, None, 0]
        self.tasks[sock] = task
        self.sel.register(sock, selectors.EVENT_READ, task)
        self._step(sock, task, None, None)

    def _step(self, sock: socket.socket, task: list[Any], result: Any, error: BaseException | None) -> None:
        """Resume the core with a result (or an error) and run its ops until one has to wait."""
        core = task[0]
        while True:
            try:
                op = core.throw(error) if error is not None else core.send(result)
            except StopIteration:
                self._drop(sock)
                return
            task[1], task[2] = op, 0
            try:
                done, result = self._try(sock, task)
                error = None
            except OSError as exc:
                done, result, error = True, None, exc
            if not done:
                want = selectors.EVENT_READ if isinstance(op, RecvInto) else selectors.EVENT_WRITE
                if self.sel.get_key(sock).events != want:
                    self.sel.modify(sock, want, task)
                return

    @staticmethod
    def _try(sock: socket.socket, task: list[Any]) -> tuple[bool, Any]:
        """Do the pending op without blocking: (done, its result)."""
        op = task[1]
        if isinstance(op, RecvInto):
            try:
                return True, sock.recv_into(op.view)
            except BlockingIOError:
                return False, None
        if isinstance(op, SendAll):
            data = op.data if isinstance(op.data, memoryview) else memoryview(op.data)
            while task[2] < len(data):
                try:
                    task[2] += sock.send(data[task[2] :])
                except BlockingIOError:
                    return False, None
            return True, None
        if isinstance(op, Connect):
            if task[2] == 0:
                task[2] = 1
                err = sock.connect_ex(op.addr)
                if err in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
                    return False, None
            else:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
            return True, None
        if isinstance(op, ShutdownWrite):
            sock.shutdown(socket.SHUT_WR)
            return True, None
        raise TypeError(f"{type(op).__name__} is not a stream op")

    def _drop(self, sock: socket.socket) -> None:
        if self.tasks.pop(sock, None) is not None:
            self.sel.unregister(sock)
            sock.close()

    def poll(self, timeout: float, accept: Callable[[], None] | None = None) -> None:
        """Wait up to ``timeout`` for ready sockets and advance their cores; then time out late ops.
        A socket registered with data None (a server's listening socket) calls ``accept``."""
        for key, _events in self.sel.select(timeout):
            if key.data is None:
                if accept is not None:
                    accept()
                continue
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            task = self.tasks.get(sock)
            if task is None:
                continue
            try:
                done, result = self._try(sock, task)
            except OSError as exc:
                self._step(sock, task, None, exc)
                continue
            if done:
                self._step(sock, task, result, None)
        now = _now()
        for sock, task in list(self.tasks.items()):
            if task[1] is not None and task[1].deadline < now and sock in self.tasks:
                self._step(sock, task, None, TimeoutError())

    def close(self) -> None:
        """Close every socket (their cores are closed too: their ``finally`` blocks run)."""
        for sock, task in list(self.tasks.items()):
            task[0].close()
            self.sel.unregister(sock)
            sock.close()
        self.tasks.clear()
        self.sel.close()


class _CoreProtocol(asyncio.BufferedProtocol):
    """The asyncio transports driver of a stream core: the core's RecvInto view is the protocol's
    buffer and buffer_updated() sends the count in; SendAll goes to transport.write (copied: the
    transport may keep it while the core reuses its buffer); EOF sends 0; the core ending closes."""

    def __init__(self, start: Callable[[Addr], Core]) -> None:
        self.start = start
        self.core: Core | None = None
        self.view = memoryview(bytearray(1))
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.core = self.start(transport.get_extra_info("peername"))
        self._advance(None)

    def _advance(self, result: Any) -> None:
        core, transport = self.core, self.transport
        if core is None or transport is None:
            return
        try:
            op = core.send(result)
            while not isinstance(op, RecvInto):
                if isinstance(op, SendAll):
                    transport.write(bytes(op.data))
                elif isinstance(op, ShutdownWrite):
                    transport.write_eof()
                op = core.send(None)
        except StopIteration:
            self.core = None
            transport.close()
            return
        self.view = op.view

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        self._advance(nbytes)

    def eof_received(self) -> bool:
        self._advance(0)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.core is not None:
            self.core.close()  # its finally: the connection counts as done
            self.core = None


# --- stream servers: one core per connection, driven blocking / by a selector / by asyncio ----------


class StreamServerState:
    """What a stream server keeps across its connections (sans-IO): the statistics, the peer log, the
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
                n = yield RecvInto(view, _now() + POLL_S)
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
                    yield SendAll(view[:n], _now() + 5.0)
                except (TimeoutError, OSError):
                    return
                stats["bytes_echoed"] += n
    finally:
        st.done += 1


def stream_server_sync(
    lsock: socket.socket,
    style: str,
    mode: str,
    stop: StopFn,
    max_conns: int | None = None,
    peers: PeerLog | None = None,
) -> dict[str, Any]:
    """Echo or sink on a listening socket until ``stop()`` or ``max_conns`` connections are done.

    blocking: one connection at a time, like the guide's first echo server. select / poll / epoll: all
    connections at once (the _Many driver). The per-connection loop is stream_server_core either way.
    """
    st = StreamServerState(mode, stop, max_conns, peers)
    if style == BLOCKING:
        lsock.settimeout(POLL_S)
        while st.running():
            try:
                conn, peer = lsock.accept()
            except (TimeoutError, BlockingIOError):
                continue
            with conn:
                sio = SyncIO(conn, BLOCKING)
                _drive(st.connection(peer), sio)
                sio.close()
        return st.stats
    many = _Many(style)
    lsock.setblocking(False)
    many.sel.register(lsock, selectors.EVENT_READ, None)

    def accept() -> None:
        try:
            conn, peer = lsock.accept()
        except (BlockingIOError, InterruptedError):
            return
        many.add(conn, st.connection(peer))

    try:
        while st.running():
            many.poll(POLL_S, accept)
    finally:
        many.sel.unregister(lsock)
        many.close()
    return st.stats


async def a_stream_server(
    lsock: socket.socket, mode: str, stop: StopFn, max_conns: int | None = None, peers: PeerLog | None = None
) -> dict[str, Any]:
    """The asyncio driver: stream_server_core behind a BufferedProtocol (SOCK_SEQPACKET: the loop's
    sock_* calls, which keep the records' bounds)."""
    loop = asyncio.get_running_loop()
    st = StreamServerState(mode, stop, max_conns, peers)
    lsock.setblocking(False)
    if lsock.type == socket.SOCK_SEQPACKET:
        tasks: set[asyncio.Task[None]] = set()
        while st.running():
            try:
                conn, peer = await asyncio.wait_for(loop.sock_accept(lsock), POLL_S)
            except (TimeoutError, OSError):
                continue
            conn.setblocking(False)
            task = asyncio.ensure_future(_a_serve_one(st.connection(peer), conn))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        for task in list(tasks):
            task.cancel()
        return st.stats
    if lsock.family == socket.AF_UNIX:
        server = await loop.create_unix_server(lambda: _CoreProtocol(st.connection), sock=lsock)
    else:
        server = await loop.create_server(lambda: _CoreProtocol(st.connection), sock=lsock)
    try:
        while st.running():
            await asyncio.sleep(POLL_S)
    finally:
        server.close()
    return st.stats


async def _a_serve_one(core: Core, conn: socket.socket) -> None:
    try:
        await _adrive(core, conn)
    finally:
        core.close()
        conn.close()


# --- tcp-conns: one core per connection (connect, one tagged echo, close) ----------------------------


def conn_echo_core(
    rep: Report, index: int, addr: Addr, size: int, flow: int, end: float, timeout: float
) -> Core:
    """Connection ``index`` of tcp-conns: connect, send one tagged message (its own flow id), read the
    echo, check the tag, time it; every failure counts once and the first one is noted."""
    rep.sent += 1
    t0 = _ns()
    why = ""
    try:
        yield Connect(addr, min(end, _now() + timeout))
        deadline = _now() + timeout
        yield SendAll(PayloadFactory(flow, size).make(0, FLAG_LAST), deadline)
        rep.bytes_sent += size
        buf = bytearray(size)
        view = memoryview(buf)
        got = 0
        while got < size:
            n = yield RecvInto(view[got:], deadline)
            if n == 0:
                break
            got += n
            rep.bytes_received += n
        if got < size:
            why = "peer closed before echoing"
        else:
            rep.received += 1
            if _tag_ok(buf, flow, 0):
                rep.echoed += 1
                rep.rtts_ns.append(_ns() - t0)
                return
            why = "bad echo"
    except (OSError, TimeoutError) as exc:
        why = _err(exc)
    rep.errors += 1
    if rep.errors == 1:
        rep.notes.append(f"connection {index}: {why}")


def _new_socket(make_sock: Callable[[], socket.socket], rep: Report, index: int) -> socket.socket | None:
    try:
        return make_sock()
    except OSError as exc:
        rep.sent += 1
        rep.errors += 1
        if rep.errors == 1:
            rep.notes.append(f"connection {index}: {_err(exc)}")
        return None


def stream_conns_sync(
    make_sock: Callable[[], socket.socket],
    addr: Addr,
    style: str,
    rep: Report,
    n: int,
    size: int,
    flow_base: int,
    duration: float,
    parallel: int = 100,
    timeout: float = 3.0,
) -> None:
    """Open ``n`` connections, one tagged echo on each (flow = flow_base + i), close (conn_echo_core).

    blocking: one after the other. select / poll / epoll: up to ``parallel`` at once (_Many).
    """
    end = _now() + duration
    if style == BLOCKING:
        for i in range(n):
            if _now() >= end:
                break
            s = _new_socket(make_sock, rep, i)
            if s is None:
                continue
            with s:
                sio = SyncIO(s, BLOCKING)
                _drive(conn_echo_core(rep, i, addr, size, flow_base + i, end, timeout), sio)
        return
    many = _Many(style)
    nxt = 0
    try:
        while (nxt < n or many.tasks) and _now() < end:
            while nxt < n and len(many.tasks) < parallel:
                s = _new_socket(make_sock, rep, nxt)
                if s is not None:
                    many.add(s, conn_echo_core(rep, nxt, addr, size, flow_base + nxt, end, timeout))
                nxt += 1
            if many.tasks:
                many.poll(POLL_S)
    finally:
        many.close()


async def a_stream_conns(
    make_sock: Callable[[], socket.socket],
    addr: Addr,
    rep: Report,
    n: int,
    size: int,
    flow_base: int,
    duration: float,
    parallel: int = 100,
    timeout: float = 3.0,
) -> None:
    """The asyncio driver of conn_echo_core: up to ``parallel`` connections at once."""
    gate = asyncio.Semaphore(parallel)
    end = _now() + duration

    async def one(i: int) -> None:
        async with gate:
            if _now() >= end:
                return
            s = _new_socket(make_sock, rep, i)
            if s is None:
                return
            s.setblocking(False)
            try:
                await _adrive(conn_echo_core(rep, i, addr, size, flow_base + i, end, timeout), s)
            finally:
                s.close()

    await asyncio.gather(*(one(i) for i in range(n)))


def dgram_blast(
    io: SyncIO,
    ch: Channel,
    rep: Report,
    factory: PayloadFactory,
    count: int | None,
    duration: float,
    pps: float | None,
) -> None:
    _drive(dgram_blast_core(ch, rep, factory, count, duration, pps), io)


def stream_echo(
    io: SyncIO,
    rep: Report,
    factory: PayloadFactory,
    count: int | None,
    duration: float,
    interval: float = 0.0,
    timeout: float = 2.0,
) -> None:
    _drive(stream_echo_core(rep, factory, count, duration, interval, timeout), io)


def stream_bulk(
    io: SyncIO, rep: Report, factory: PayloadFactory, total: int, duration: float, timeout: float = 5.0
) -> None:
    _drive(stream_bulk_core(rep, factory, total, duration, timeout), io)


def dgram_echo(
    io: SyncIO,
    ch: Channel,
    rep: Report,
    factory: PayloadFactory,
    count: int | None,
    duration: float,
    interval: float = 0.0,
    timeout: float = 1.0,
) -> None:
    _drive(dgram_echo_core(ch, rep, factory, count, duration, interval, timeout), io)


async def a_stream_echo(
    sock: socket.socket,
    rep: Report,
    factory: PayloadFactory,
    count: int | None,
    duration: float,
    interval: float = 0.0,
    timeout: float = 2.0,
) -> None:
    await _adrive(stream_echo_core(rep, factory, count, duration, interval, timeout), sock)


async def a_stream_bulk(
    sock: socket.socket,
    rep: Report,
    factory: PayloadFactory,
    total: int,
    duration: float,
    timeout: float = 5.0,
) -> None:
    await _adrive(stream_bulk_core(rep, factory, total, duration, timeout), sock)


async def a_dgram_echo(
    ch: Channel,
    rep: Report,
    factory: PayloadFactory,
    count: int | None,
    duration: float,
    interval: float = 0.0,
    timeout: float = 1.0,
) -> None:
    await _adrive(dgram_echo_core(ch, rep, factory, count, duration, interval, timeout), ch.sock)


async def a_dgram_blast(
    ch: Channel, rep: Report, factory: PayloadFactory, count: int | None, duration: float, pps: float | None
) -> None:
    ch.sock.setblocking(False)
    await _adrive(dgram_blast_core(ch, rep, factory, count, duration, pps), ch.sock)


async def a_dgram_server(
    ch: Channel, mode: str, stop: StopFn, max_msgs: int | None = None, peers: PeerLog | None = None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    sock = ch.sock
    sock.setblocking(False)
    stats = {"messages": 0, "bytes_received": 0, "echoed": 0, "ignored": 0}
    if mode == "sink" and type(ch).count_in is Channel.count_in:
        # a reader callback drains the queue whenever the loop sees the socket readable
        buf = bytearray(65536)
        limit = max_msgs if max_msgs is not None else 1 << 62

        def drain() -> None:
            for _ in range(4096):
                try:
                    n = sock.recv_into(buf)
                except (BlockingIOError, OSError):
                    return
                stats["messages"] += 1
                stats["bytes_received"] += n

        loop.add_reader(sock, drain)
        try:
            while not stop() and stats["messages"] < limit:
                await asyncio.sleep(POLL_S)
        finally:
            loop.remove_reader(sock)
        return stats
    core = DgramServerCore(ch, mode, peers)
    while not stop() and core.wants_more(max_msgs):
        try:
            data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, ch.max_recv), POLL_S)
        except (TimeoutError, OSError):
            continue
        answer = core.datagram(data, addr)
        if mode == "sink":
            # take whatever else is queued without going round the loop for each datagram
            while True:
                try:
                    data, addr = sock.recvfrom(ch.max_recv)
                except (BlockingIOError, OSError):
                    break
                core.count(data, addr)
            continue
        if answer is None:
            continue
        try:
            await asyncio.wait_for(loop.sock_sendto(sock, answer[0], answer[1]), 1.0)
            core.stats["echoed"] += 1
        except (TimeoutError, OSError):
            pass
    return core.stats


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)


__all__ = [
    "ASYNCIO",
    "TAG_LEN",
    "Channel",
    "SyncIO",
]
