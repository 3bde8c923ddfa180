"""Socket work the drivers share, whatever waits for them: a blast batch, the datagrams already
queued, a plain sink's drain. None of these waits: each returns when the socket would block."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from sniffer.gen.core.ops import Burst, Channel
from sniffer.gen.core.payload import FLAG_LAST
from sniffer.gen.core.server import SinkCount

DRAIN_MAX = 4096  # datagrams taken per wakeup, so a flood cannot starve the stop check


def burst(op: Burst) -> tuple[int, Any]:
    """Send ``op.first`` .. ``op.end - 1`` without waiting: (next seq, the datagram a full socket
    refused, or None). A refused datagram is not counted: the core sends it again once there is room."""
    ch, rep, end, last = op.ch, op.rep, op.end, op.last
    make = op.factory.make
    wrap = None if type(ch).wrap is Channel.wrap else ch.wrap
    dest = ch.dest
    send = ch.sock.send
    sendto = ch.sock.sendto
    seq = op.first
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


def recv_queued(sock: socket.socket, n: int, limit: int) -> list[tuple[bytes, Any]]:
    """The datagrams already queued on ``sock`` (at most ``limit``), taken without waiting."""
    out: list[tuple[bytes, Any]] = []
    recvfrom = sock.recvfrom
    while len(out) < limit:
        try:
            out.append(recvfrom(n, socket.MSG_DONTWAIT))
        except OSError:  # BlockingIOError: the queue is empty
            break
    return out


def drain(recv_into: Callable[[bytearray], int], buf: bytearray, sink: SinkCount) -> None:
    """A plain sink's wakeup: count datagrams (one recv_into each) until the queue is empty, the
    limit is reached or DRAIN_MAX were taken."""
    for _ in range(DRAIN_MAX):
        try:
            n = recv_into(buf)
        except OSError:  # BlockingIOError / InterruptedError: nothing more now
            return
        if sink.add(n):
            return
