"""The selectors driver for many cores at once (select / poll / epoll), one non-blocking socket each:
a stream server's connections (``stream_server_many``) and tcp-conns (``conns_many``).

A core's op is tried at once and, when its socket is not ready, again each time the selector says
it is; an op past its deadline gets TimeoutError thrown in. The socket is closed when its core ends.
Ops: Connect, SendAll, RecvInto, ShutdownWrite (the stream cores').
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
from collections.abc import Callable
from typing import Any

from sniffer.gen.core import ops
from sniffer.gen.core.client import ConnPlan
from sniffer.gen.core.server import StreamServerState
from sniffer.gen.traffic.styles import make_selector


class Many:
    """Many cores on one selector."""

    def __init__(self, style: str) -> None:
        self.sel = make_selector(style)
        # socket -> [core, pending op, progress: bytes of a SendAll sent / 1 once a connect started]
        self.tasks: dict[socket.socket, list[Any]] = {}

    def add(self, sock: socket.socket, core: ops.Core) -> None:
        sock.setblocking(False)
        task: list[Any] = [core, None, 0]
        self.tasks[sock] = task
        self.sel.register(sock, selectors.EVENT_READ, task)
        self._step(sock, task, None, None)

    def _step(self, sock: socket.socket, task: list[Any], result: Any, error: BaseException | None) -> None:
        """Resume the core with a result (or an error) and run its ops until one has to wait."""
        while True:
            op = ops.resume(task[0], result, error)
            if op is None:
                self._drop(sock)
                return
            task[1], task[2] = op, 0
            try:
                done, result = self._try(sock, task)
                error = None
            except OSError as exc:
                done, result, error = True, None, exc
            if not done:
                want = selectors.EVENT_READ if isinstance(op, ops.RecvInto) else selectors.EVENT_WRITE
                if self.sel.get_key(sock).events != want:
                    self.sel.modify(sock, want, task)
                return

    @staticmethod
    def _try(sock: socket.socket, task: list[Any]) -> tuple[bool, Any]:
        """Do the pending op without blocking: (done, its result)."""
        op = task[1]
        if isinstance(op, ops.RecvInto):
            try:
                return True, sock.recv_into(op.view)
            except BlockingIOError:
                return False, None
        if isinstance(op, ops.SendAll):
            data = op.data if isinstance(op.data, memoryview) else memoryview(op.data)
            while task[2] < len(data):
                try:
                    task[2] += sock.send(data[task[2] :])
                except BlockingIOError:
                    return False, None
            return True, None
        if isinstance(op, ops.Connect):
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
        if isinstance(op, ops.ShutdownWrite):
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
        t = ops.now()
        for sock, task in list(self.tasks.items()):
            if task[1] is not None and task[1].deadline < t and sock in self.tasks:
                self._step(sock, task, None, TimeoutError())

    def close(self) -> None:
        """Close every socket (their cores are closed too: their ``finally`` blocks run)."""
        for sock, task in list(self.tasks.items()):
            task[0].close()
            self.sel.unregister(sock)
            sock.close()
        self.tasks.clear()
        self.sel.close()


def stream_server_many(lsock: socket.socket, style: str, st: StreamServerState) -> None:
    """All connections at once on one selector, until the server stops."""
    many = Many(style)
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
            many.poll(ops.POLL_S, accept)
    finally:
        many.sel.unregister(lsock)
        many.close()


def conns_many(plan: ConnPlan, make_sock: Callable[[], socket.socket], style: str, parallel: int) -> None:
    """tcp-conns with up to ``parallel`` connections at once on one selector."""
    many = Many(style)
    try:
        while (plan.left() or many.tasks) and not plan.over():
            while plan.left() and len(many.tasks) < parallel:
                index = plan.take()
                sock = plan.open(index, make_sock)
                if sock is not None:
                    many.add(sock, plan.core(index))
            if many.tasks:
                many.poll(ops.POLL_S)
    finally:
        many.close()
