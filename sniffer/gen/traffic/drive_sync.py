"""The synchronous driver: one core on one socket, blocking with timeouts (the guide's first
examples) or non-blocking and waited on with select / poll / epoll (its selectors examples).

``SyncIO`` does the ops of a core (``sniffer.gen.core.ops``; the table ``_OPS``) and ``drive`` runs a
core to its end; ``stream_server_blocking`` serves one connection at a time, ``conns_blocking`` opens the
connections of tcp-conns one after the other, ``sink_fast`` counts a plain datagram sink. What to
send, what to expect and what to count is the cores'; this module only waits and moves bytes.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from sniffer.gen.core import ops
from sniffer.gen.core.client import ConnPlan
from sniffer.gen.core.server import SinkCount, StreamServerState
from sniffer.gen.traffic.sockops import burst, drain, recv_queued
from sniffer.gen.traffic.styles import BLOCKING, make_selector

_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY, errno.EWOULDBLOCK)


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
        remaining = deadline - ops.now()
        if remaining <= 0:
            raise TimeoutError
        assert self.sel is not None
        if events != self._events:
            self.sel.modify(self.sock, events)
            self._events = events
        if not self.sel.select(remaining):
            raise TimeoutError

    def call(self, fn: Callable[[Any], Any], arg: Any, events: int, deadline: float) -> Any:
        """``fn(arg)`` by ``deadline``: a blocking socket with the time left as its timeout, a
        non-blocking one retried each time the selector says it is ready."""
        if self.blocking:
            remaining = deadline - ops.now()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            return fn(arg)
        while True:
            try:
                return fn(arg)
            except BlockingIOError:
                self._wait(events, deadline)

    def connect(self, op: ops.Connect) -> None:
        if self.blocking:
            self.call(self.sock.connect, op.addr, selectors.EVENT_WRITE, op.deadline)
            return
        err = self.sock.connect_ex(op.addr)
        if err == 0:
            return
        if err not in _IN_PROGRESS:
            raise OSError(err, os.strerror(err))
        self._wait(selectors.EVENT_WRITE, op.deadline)
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))

    def sendall(self, op: ops.SendAll) -> None:
        view = memoryview(op.data).cast("B")
        send = self.sock.send
        while view:
            n = self.call(send, view, selectors.EVENT_WRITE, op.deadline)
            view = view[n:]

    def send_to(self, op: ops.SendTo) -> int:
        dest = op.dest
        if dest is None:
            return int(self.call(self.sock.send, op.data, selectors.EVENT_WRITE, op.deadline))
        sendto = self.sock.sendto
        return int(self.call(lambda data: sendto(data, dest), op.data, selectors.EVENT_WRITE, op.deadline))

    def recv_ready(self, op: ops.RecvReady) -> list[tuple[bytes, ops.Addr]]:
        if self.blocking:
            self.sock.settimeout(0.0)  # a socket with a timeout would wait before MSG_DONTWAIT
        return recv_queued(self.sock, op.n, op.limit)

    def shutdown_write(self, op: ops.ShutdownWrite) -> None:
        self.sock.shutdown(socket.SHUT_WR)


#: how SyncIO does each op (what a core may yield)
_OPS: dict[type, Callable[[SyncIO, Any], Any]] = {
    ops.RecvInto: lambda io, op: io.call(io.sock.recv_into, op.view, selectors.EVENT_READ, op.deadline),
    ops.SendAll: SyncIO.sendall,
    ops.SendTo: SyncIO.send_to,
    ops.RecvFrom: lambda io, op: io.call(io.sock.recvfrom, op.n, selectors.EVENT_READ, op.deadline),
    ops.RecvReady: SyncIO.recv_ready,
    ops.Burst: lambda io, op: burst(op),
    ops.Sleep: lambda io, op: time.sleep(op.seconds),
    ops.Connect: SyncIO.connect,
    ops.ShutdownWrite: SyncIO.shutdown_write,
}


def drive(core: ops.Core, io: SyncIO) -> None:
    """Run a core to its end with synchronous I/O (any SyncIO style): each op done as ``_OPS`` says,
    its result sent into the core, its OSError (TimeoutError included) thrown in."""
    table = _OPS
    result: Any = None
    error: OSError | None = None
    while True:
        try:
            op = core.send(result) if error is None else core.throw(error)
        except StopIteration:
            return
        try:
            result, error = table[type(op)](io, op), None
        except OSError as exc:
            result, error = None, exc


def run(core: ops.Core, sock: socket.socket, style: str) -> None:
    """``drive`` on a SyncIO made for ``sock`` (closed again after)."""
    io = SyncIO(sock, style)
    try:
        drive(core, io)
    finally:
        io.close()


def stream_server_blocking(lsock: socket.socket, st: StreamServerState) -> None:
    """One connection at a time, like the guide's first echo server, until the server stops."""
    lsock.settimeout(ops.POLL_S)
    while st.running():
        try:
            conn, peer = lsock.accept()
        except (TimeoutError, BlockingIOError):
            continue
        with conn:
            run(st.connection(peer), conn, BLOCKING)


def conns_blocking(plan: ConnPlan, make_sock: Callable[[], socket.socket]) -> None:
    """tcp-conns one connection after the other."""
    while plan.left() and not plan.over():
        index = plan.take()
        sock = plan.open(index, make_sock)
        if sock is not None:
            with sock:
                run(plan.core(index), sock, BLOCKING)


def sink_fast(sock: socket.socket, style: str, sink: SinkCount, stop: Callable[[], bool]) -> None:
    """Count a plain sink's datagrams with one recv_into each: a blocking socket wakes up for the stop
    check through SO_RCVTIMEO (no poll before each recv), a non-blocking one drains its queue per
    selector wakeup."""
    buf = bytearray(65536)
    sel = None
    if style == BLOCKING:
        sock.setblocking(True)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, int(ops.POLL_S * 1e6)))
    else:
        sock.setblocking(False)
        sel = make_selector(style)
        sel.register(sock, selectors.EVENT_READ)
    try:
        while not sink.full() and not stop():
            if sel is None or sel.select(ops.POLL_S):
                drain(sock.recv_into, buf, sink)
    finally:
        if sel is not None:
            sel.close()
