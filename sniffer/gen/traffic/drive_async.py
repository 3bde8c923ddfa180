"""The asyncio driver: a core on the event loop's ``sock_*`` methods (``adrive``), a stream server's
connections behind a BufferedProtocol (``CoreProtocol``), tcp-conns as tasks, a plain datagram sink
as a reader callback. Each entry point is run with ``asyncio.run`` by ``run``; the cores decide, this
module only awaits.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from sniffer.gen.core import ops
from sniffer.gen.core.client import ConnPlan
from sniffer.gen.core.server import SinkCount, StreamServerState
from sniffer.gen.traffic.sockops import burst, drain, recv_queued


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def _within(aw: Any, deadline: float) -> Any:
    """Await ``aw`` in this task, cancelled at ``deadline`` (loop.time() is time.monotonic()).

    asyncio.timeout_at costs one timer; wait_for would wrap every send in a new task and push the
    send itself to the next turn of the loop.
    """
    if deadline - ops.now() <= 0:
        aw.close()
        raise TimeoutError
    async with asyncio.timeout_at(deadline):
        return await aw


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


class AsyncIO:
    """One non-blocking socket on the running loop."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.loop = asyncio.get_running_loop()

    async def _recv(self, fn: Callable[[Any], Any], arg: Any, deadline: float) -> Any:
        """``fn(arg)`` (a receive) once the socket is readable, by ``deadline``. The receive runs in
        this task after the wakeup: a deadline that passes while a datagram is being taken cannot
        drop it (a cancelled ``loop.sock_recvfrom`` whose reader callback had already read can)."""
        while True:
            try:
                return fn(arg)
            except (BlockingIOError, InterruptedError):
                pass
            if deadline - ops.now() <= 0:
                raise TimeoutError
            ready = self.loop.create_future()
            self.loop.add_reader(self.sock, _wake, ready)
            try:
                async with asyncio.timeout_at(deadline):
                    await ready
            finally:
                self.loop.remove_reader(self.sock)

    async def _send_to(self, op: ops.SendTo) -> Any:
        if op.dest is None:
            return await _within(self.loop.sock_sendall(self.sock, op.data), op.deadline)
        return await _within(self.loop.sock_sendto(self.sock, op.data, op.dest), op.deadline)

    async def _burst(self, op: ops.Burst) -> tuple[int, Any]:
        result = burst(op)
        await asyncio.sleep(0)  # every batch yields to the loop
        return result

    async def _other(self, op: ops.Op) -> Any:
        if isinstance(op, ops.Sleep):
            await asyncio.sleep(op.seconds)
        elif isinstance(op, ops.RecvReady):
            return recv_queued(self.sock, op.n, op.limit)
        elif isinstance(op, ops.ShutdownWrite):
            self.sock.shutdown(socket.SHUT_WR)
        return None

    def awaitable(self, op: ops.Op) -> Any:
        """What to await to do ``op``."""
        loop, sock = self.loop, self.sock
        if isinstance(op, ops.RecvInto):
            return self._recv(sock.recv_into, op.view, op.deadline)
        if isinstance(op, ops.SendAll):
            return _within(loop.sock_sendall(sock, op.data), op.deadline)
        if isinstance(op, ops.RecvFrom):
            return self._recv(sock.recvfrom, op.n, op.deadline)
        if isinstance(op, ops.Connect):
            return _within(loop.sock_connect(sock, op.addr), op.deadline)
        if isinstance(op, ops.SendTo):
            return self._send_to(op)
        if isinstance(op, ops.Burst):
            return self._burst(op)
        return self._other(op)


async def adrive(core: ops.Core, sock: socket.socket) -> None:
    """Run a core to its end on the running loop (the socket is made non-blocking): each op's result
    sent into the core, its OSError (TimeoutError included) thrown in."""
    aio = AsyncIO(sock)
    op = ops.resume(core)
    while op is not None:
        try:
            result = await aio.awaitable(op)
        except OSError as exc:
            op = ops.resume(core, None, exc)
        else:
            op = ops.resume(core, result)


class CoreProtocol(asyncio.BufferedProtocol):
    """A stream core behind an asyncio BufferedProtocol: the core's RecvInto view is the protocol's
    buffer and buffer_updated() sends the count in; SendAll goes to transport.write (copied: the
    transport may keep it while the core reuses its buffer); EOF sends 0; the core ending closes."""

    def __init__(self, start: Callable[[ops.Addr], ops.Core]) -> None:
        self.start = start
        self.core: ops.Core | None = None
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
        op = ops.resume(core, result)
        while op is not None and not isinstance(op, ops.RecvInto):
            if isinstance(op, ops.SendAll):
                transport.write(bytes(op.data))
            elif isinstance(op, ops.ShutdownWrite):
                transport.write_eof()
            op = ops.resume(core)
        if op is None:
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


async def stream_server(lsock: socket.socket, st: StreamServerState) -> None:
    """Serve until the server stops: stream sockets behind CoreProtocol, SOCK_SEQPACKET on the loop's
    sock_* calls (which keep the records' bounds), a task per connection."""
    loop = asyncio.get_running_loop()
    lsock.setblocking(False)
    if lsock.type == socket.SOCK_SEQPACKET:
        tasks: set[asyncio.Task[None]] = set()
        while st.running():
            try:
                conn, peer = await asyncio.wait_for(loop.sock_accept(lsock), ops.POLL_S)
            except (TimeoutError, OSError):
                continue
            task = asyncio.ensure_future(_serve_one(st.connection(peer), conn))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        for task in list(tasks):
            task.cancel()
        return
    if lsock.family == socket.AF_UNIX:
        server = await loop.create_unix_server(lambda: CoreProtocol(st.connection), sock=lsock)
    else:
        server = await loop.create_server(lambda: CoreProtocol(st.connection), sock=lsock)
    try:
        while st.running():
            await asyncio.sleep(ops.POLL_S)
    finally:
        server.close()


async def _serve_one(core: ops.Core, conn: socket.socket) -> None:
    try:
        await adrive(core, conn)
    finally:
        core.close()
        conn.close()


async def conns(plan: ConnPlan, make_sock: Callable[[], socket.socket], parallel: int) -> None:
    """tcp-conns with up to ``parallel`` connections at once, a task each."""
    gate = asyncio.Semaphore(parallel)

    async def one(index: int) -> None:
        async with gate:
            if plan.over():
                return
            sock = plan.open(index, make_sock)
            if sock is None:
                return
            try:
                await adrive(plan.core(index), sock)
            finally:
                sock.close()

    await asyncio.gather(*(one(plan.take()) for _ in range(plan.n)))


async def sink_fast(sock: socket.socket, sink: SinkCount, stop: Callable[[], bool]) -> None:
    """Count a plain sink's datagrams: a reader callback drains the queue whenever the loop sees the
    socket readable."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    buf = bytearray(65536)
    loop.add_reader(sock, drain, sock.recv_into, buf, sink)
    try:
        while not stop() and not sink.full():
            await asyncio.sleep(ops.POLL_S)
    finally:
        loop.remove_reader(sock)
