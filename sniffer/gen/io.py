"""The send/receive loops of every generator, per I/O style.

The echo and bulk client loops are written once, as sans-IO cores (generators that yield the I/O they
need: ``stream_echo_core``, ``stream_bulk_core``, ``dgram_echo_core``), run by two thin drivers:
``_drive`` on ``SyncIO`` (blocking sockets with timeouts, or non-blocking sockets waited on with
select / poll / epoll, the guide's selectors examples) and ``_adrive`` on the asyncio loop's
``sock_*`` methods. The datagram blast is one core too (``dgram_blast_core``: pacing, sequencing, the
last-flag, statistics); it yields a ``Burst`` per batch, which both drivers send with one shared
non-blocking loop (``_burst``) and differ only in how they wait for room. Loops that juggle many
sockets at once (servers, many connections) have one version per style family.

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

from sniffer.gen.payload import FLAG_LAST, TAG_LEN, PayloadFactory, parse_tag
from sniffer.gen.report import Report
from sniffer.gen.styles import ASYNCIO, BLOCKING, make_selector

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
    connections at once, each with its own pending output.
    """
    stats = {"connections": 0, "bytes_received": 0, "bytes_echoed": 0, "messages": 0}
    peers = peers or PeerLog(None)
    if style == BLOCKING:
        lsock.settimeout(POLL_S)
        buf = memoryview(bytearray(SINK_BUF if mode == "sink" else 65536))
        while not stop() and (max_conns is None or stats["connections"] < max_conns):
            try:
                conn, peer = lsock.accept()
            except (TimeoutError, BlockingIOError):
                continue
            stats["connections"] += 1
            peers.connection(stats["connections"], peer)
            with conn:
                conn.settimeout(POLL_S)
                while not stop():
                    try:
                        n = conn.recv_into(buf)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if n == 0:
                        break
                    stats["bytes_received"] += n
                    stats["messages"] += 1
                    if mode == "echo":
                        try:
                            conn.settimeout(5.0)
                            conn.sendall(buf[:n])
                            conn.settimeout(POLL_S)
                        except OSError:
                            break
                        stats["bytes_echoed"] += n
        return stats

    sel = make_selector(style)
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ, None)
    out: dict[socket.socket, bytearray] = {}
    buf = memoryview(bytearray(SINK_BUF if mode == "sink" else 65536))
    done = 0

    def close(conn: socket.socket) -> None:
        nonlocal done
        sel.unregister(conn)
        out.pop(conn, None)
        conn.close()
        done += 1

    try:
        while not stop() and (max_conns is None or done < max_conns):
            for key, events in sel.select(POLL_S):
                if key.data is None:
                    try:
                        conn, peer = lsock.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    stats["connections"] += 1
                    peers.connection(stats["connections"], peer)
                    out[conn] = bytearray()
                    sel.register(conn, selectors.EVENT_READ, "conn")
                    continue
                conn = key.fileobj  # type: ignore[assignment]
                pending = out[conn]
                if events & selectors.EVENT_READ:
                    try:
                        n = conn.recv_into(buf)
                    except BlockingIOError:
                        n = -1
                    except OSError:
                        n = 0
                    if n == 0:
                        close(conn)
                        continue
                    if n > 0:
                        stats["bytes_received"] += n
                        stats["messages"] += 1
                        if mode == "echo":
                            pending += buf[:n]
                if pending:
                    try:
                        sent = conn.send(pending)
                        stats["bytes_echoed"] += sent
                        del pending[:sent]
                    except BlockingIOError:
                        pass
                    except OSError:
                        close(conn)
                        continue
                want = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending else 0)
                if key.events != want:
                    sel.modify(conn, want, "conn")
    finally:
        for conn in list(out):
            conn.close()
        sel.close()
    return stats


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
    stats = {"messages": 0, "bytes_received": 0, "echoed": 0, "ignored": 0}
    peers = peers or PeerLog(None)
    try:
        while not stop() and (max_msgs is None or stats["messages"] < max_msgs):
            try:
                data, addr = io.recvfrom(ch.max_recv, _now() + POLL_S)
            except TimeoutError:
                continue
            except OSError:
                continue
            peers.datagram(addr)
            if mode == "sink":
                if ch.count_in(data, addr):
                    stats["messages"] += 1
                    stats["bytes_received"] += len(data)
                else:
                    stats["ignored"] += 1
                continue
            answer = ch.reply(data, addr)
            if answer is None:
                stats["ignored"] += 1
                continue
            stats["messages"] += 1
            stats["bytes_received"] += len(data)
            try:
                io.send(answer[0], answer[1], _now() + 1.0)
                stats["echoed"] += 1
            except (TimeoutError, OSError):
                pass
    finally:
        io.close()
    return stats


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
    """Open ``n`` connections, one tagged echo on each (flow = flow_base + i), close.

    blocking: one after the other. select / poll / epoll: up to ``parallel`` at once, non-blocking
    connects driven by the selector.
    """
    end = _now() + duration
    if style == BLOCKING:
        for i in range(n):
            if _now() >= end:
                break
            t0 = _ns()
            rep.sent += 1
            try:
                with make_sock() as s:
                    io = SyncIO(s, style)
                    io.connect(addr, min(end, _now() + timeout))
                    f = PayloadFactory(flow_base + i, size)
                    r = Report("one")
                    stream_echo(io, r, f, 1, timeout, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                rep.errors += 1
                if rep.errors == 1:
                    rep.notes.append(f"connection {i}: {_err(exc)}")
                continue
            rep.bytes_sent += r.bytes_sent
            rep.bytes_received += r.bytes_received
            rep.received += r.received
            if r.echoed:
                rep.echoed += 1
                rep.rtts_ns.append(_ns() - t0)
        return

    sel = make_selector(style)
    # per socket: [index, t0, message, sent offset, buffer, received]
    live: dict[socket.socket, list[Any]] = {}
    nxt = 0

    def start_one() -> None:
        nonlocal nxt
        i = nxt
        nxt += 1
        rep.sent += 1
        s = make_sock()
        s.setblocking(False)
        err = s.connect_ex(addr)
        if err not in (0, errno.EINPROGRESS, errno.EAGAIN):
            s.close()
            rep.errors += 1
            if rep.errors == 1:
                rep.notes.append(f"connection {i}: {os.strerror(err)}")
            return
        msg = bytes(PayloadFactory(flow_base + i, size).make(0, FLAG_LAST))
        live[s] = [i, _ns(), msg, 0, bytearray(), _now() + timeout]
        sel.register(s, selectors.EVENT_WRITE)

    def finish(s: socket.socket, ok: bool, why: str = "") -> None:
        st = live.pop(s)
        sel.unregister(s)
        s.close()
        if ok:
            rep.echoed += 1
            rep.rtts_ns.append(_ns() - st[1])
        else:
            rep.errors += 1
            if rep.errors == 1 and why:
                rep.notes.append(f"connection {st[0]}: {why}")

    try:
        while (nxt < n or live) and _now() < end:
            while nxt < n and len(live) < parallel:
                start_one()
            if not live:
                continue
            for key, events in sel.select(POLL_S):
                s = key.fileobj  # type: ignore[assignment]
                st = live.get(s)
                if st is None:
                    continue
                if events & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        finish(s, False, os.strerror(err))
                        continue
                    try:
                        st[3] += s.send(st[2][st[3] :])
                    except BlockingIOError:
                        continue
                    except OSError as exc:
                        finish(s, False, _err(exc))
                        continue
                    if st[3] == len(st[2]):
                        rep.bytes_sent += len(st[2])
                        sel.modify(s, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    try:
                        data = s.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError as exc:
                        finish(s, False, _err(exc))
                        continue
                    if not data:
                        finish(s, False, "peer closed before echoing")
                        continue
                    st[4] += data
                    rep.bytes_received += len(data)
                    if len(st[4]) >= size:
                        rep.received += 1
                        finish(s, _tag_ok(st[4], flow_base + st[0], 0), "bad echo")
            now = _now()
            for s in [s for s, st in live.items() if st[5] < now]:
                finish(s, False, "timed out")
    finally:
        for s in list(live):
            s.close()
        sel.close()


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


Op = SendAll | SendTo | RecvInto | RecvFrom | Sleep | ShutdownWrite | Burst
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
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(parallel)
    end = _now() + duration

    async def one(i: int) -> None:
        async with gate:
            if _now() >= end:
                return
            rep.sent += 1
            t0 = _ns()
            s = make_sock()
            s.setblocking(False)
            try:
                deadline = min(end, _now() + timeout)
                await _within(loop.sock_connect(s, addr), deadline)
                f = PayloadFactory(flow_base + i, size)
                r = Report("one")
                await a_stream_echo(s, r, f, 1, timeout, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                rep.errors += 1
                if rep.errors == 1:
                    rep.notes.append(f"connection {i}: {_err(exc)}")
                return
            finally:
                s.close()
            rep.bytes_sent += r.bytes_sent
            rep.bytes_received += r.bytes_received
            rep.received += r.received
            if r.echoed:
                rep.echoed += 1
                rep.rtts_ns.append(_ns() - t0)

    await asyncio.gather(*(one(i) for i in range(n)))


class _StreamServerProto(asyncio.BufferedProtocol):
    def __init__(self, stats: dict[str, Any], mode: str, closed: Callable[[], None], peers: PeerLog) -> None:
        self.peers = peers
        self.stats = stats
        self.mode = mode
        self.buf = bytearray(SINK_BUF if mode == "sink" else 65536)
        self.view = memoryview(self.buf)
        self.transport: asyncio.Transport | None = None
        self.closed = closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stats["connections"] += 1
        self.peers.connection(self.stats["connections"], transport.get_extra_info("peername"))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        self.stats["bytes_received"] += nbytes
        self.stats["messages"] += 1
        if self.mode == "echo" and self.transport is not None:
            self.transport.write(bytes(self.view[:nbytes]))
            self.stats["bytes_echoed"] += nbytes

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed()


async def a_stream_server(
    lsock: socket.socket, mode: str, stop: StopFn, max_conns: int | None = None, peers: PeerLog | None = None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    stats: dict[str, Any] = {"connections": 0, "bytes_received": 0, "bytes_echoed": 0, "messages": 0}
    done = 0

    def closed() -> None:
        nonlocal done
        done += 1

    plog = peers or PeerLog(None)
    lsock.setblocking(False)
    if lsock.type == socket.SOCK_SEQPACKET:
        return await _a_seqpacket_server(lsock, mode, stop, max_conns, stats, plog)
    if lsock.family == socket.AF_UNIX:
        server = await loop.create_unix_server(
            lambda: _StreamServerProto(stats, mode, closed, plog), sock=lsock
        )
    else:
        server = await loop.create_server(lambda: _StreamServerProto(stats, mode, closed, plog), sock=lsock)
    try:
        while not stop() and (max_conns is None or done < max_conns):
            await asyncio.sleep(POLL_S)
    finally:
        server.close()
    return stats


async def _a_seqpacket_server(
    lsock: socket.socket,
    mode: str,
    stop: StopFn,
    max_conns: int | None,
    stats: dict[str, Any],
    peers: PeerLog,
) -> dict[str, Any]:
    """asyncio transports are byte streams: records keep their bounds with the loop's sock_* calls."""
    loop = asyncio.get_running_loop()
    done = 0
    tasks: set[asyncio.Task[None]] = set()

    async def handle(conn: socket.socket) -> None:
        nonlocal done
        buf = bytearray(SINK_BUF if mode == "sink" else 65536)
        try:
            while True:
                n = await loop.sock_recv_into(conn, buf)
                if n == 0:
                    break
                stats["bytes_received"] += n
                stats["messages"] += 1
                if mode == "echo":
                    await loop.sock_sendall(conn, memoryview(buf)[:n])
                    stats["bytes_echoed"] += n
        except OSError:
            pass
        finally:
            conn.close()
            done += 1

    while not stop() and (max_conns is None or done < max_conns):
        try:
            conn, peer = await asyncio.wait_for(loop.sock_accept(lsock), POLL_S)
        except (TimeoutError, OSError):
            continue
        conn.setblocking(False)
        stats["connections"] += 1
        peers.connection(stats["connections"], peer)
        task = asyncio.ensure_future(handle(conn))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in list(tasks):
        task.cancel()
    return stats


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
    while not stop() and (max_msgs is None or stats["messages"] < max_msgs):
        try:
            data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, ch.max_recv), POLL_S)
        except (TimeoutError, OSError):
            continue
        if peers is not None:
            peers.datagram(addr)
        if mode == "sink":
            if ch.count_in(data, addr):
                stats["messages"] += 1
                stats["bytes_received"] += len(data)
            else:
                stats["ignored"] += 1
            # take whatever else is queued without going round the loop for each datagram
            if type(ch).count_in is Channel.count_in:
                buf = bytearray(65536)
                for _ in range(4096):
                    try:
                        n = sock.recv_into(buf)
                    except (BlockingIOError, OSError):
                        break
                    stats["messages"] += 1
                    stats["bytes_received"] += n
                continue
            while True:
                try:
                    data, addr = sock.recvfrom(ch.max_recv)
                except (BlockingIOError, OSError):
                    break
                if ch.count_in(data, addr):
                    stats["messages"] += 1
                    stats["bytes_received"] += len(data)
            continue
        answer = ch.reply(data, addr)
        if answer is None:
            stats["ignored"] += 1
            continue
        stats["messages"] += 1
        stats["bytes_received"] += len(data)
        try:
            await asyncio.wait_for(loop.sock_sendto(sock, answer[0], answer[1]), 1.0)
            stats["echoed"] += 1
        except (TimeoutError, OSError):
            pass
    return stats


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)


__all__ = [
    "ASYNCIO",
    "TAG_LEN",
    "Channel",
    "SyncIO",
]
