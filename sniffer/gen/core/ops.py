"""The I/O a generator core asks for (ops), how a driver resumes it, and the datagram Channel.

A core is a Python generator: it yields an op (``Connect``, ``SendAll``, ``RecvInto``, ``SendTo``,
``RecvFrom``, ``RecvReady``, ``Sleep``, ``ShutdownWrite``, ``Burst``) and is sent the op's result, or
thrown its error (``TimeoutError`` once the op's deadline passed, any ``OSError``). Pacing,
sequencing, tags and statistics live in the cores (``client.py``, ``server.py``); a driver
(``sniffer.gen.traffic.drive_*``) only performs the ops and hands the outcome back. Nothing here
touches a socket: the tests drive the cores by hand.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from sniffer.gen.core.payload import PayloadFactory
from sniffer.gen.core.report import Report

Addr = Any

POLL_S = 0.05  # servers look at their stop condition this often

now = time.monotonic
now_ns = time.perf_counter_ns


class Channel:
    """A datagram endpoint: where to send, and how to wrap and unwrap our tagged messages.

    The base class is plain (UDP, unix datagrams): messages go as they are, replies are echoed verbatim.
    Raw families (packet.py, rawip.py) add and strip headers and tell our replies from our own
    looped-back copies. ``sock`` is for the drivers; the cores only ask the methods below.
    """

    max_recv = 65535

    def __init__(self, sock: Any, dest: Addr | None = None) -> None:
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

    @property
    def plain(self) -> bool:
        """Every datagram counts as ours (no header to look into): a sink may count bytes only."""
        return type(self).count_in is Channel.count_in


@dataclass(slots=True)
class SendAll:
    data: Any
    deadline: float


@dataclass(slots=True)
class SendTo:
    """Send one datagram (``dest`` None: the socket is connected); the result is the bytes sent."""

    data: Any
    dest: Addr | None
    deadline: float


@dataclass(slots=True)
class RecvInto:
    """Receive into ``view``; the result is the byte count (0: the peer's EOF)."""

    view: memoryview
    deadline: float


@dataclass(slots=True)
class RecvFrom:
    """Receive one datagram; the result is (data, address)."""

    n: int
    deadline: float


@dataclass(slots=True)
class RecvReady:
    """Take the datagrams already queued, at most ``limit``, without waiting: a list of (data, address)."""

    n: int
    limit: int


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
    """Send datagrams ``first`` .. ``end - 1`` of a blast while the socket takes them without waiting
    (``sniffer.gen.traffic.sockops.burst``); the result is (next seq, the datagram a full socket
    refused or None). The core then waits for room with a ``SendTo`` of that datagram."""

    ch: Channel
    factory: PayloadFactory
    rep: Report
    first: int
    end: int
    last: int  # the sequence number that carries FLAG_LAST (-1: none)


Op = SendAll | SendTo | RecvInto | RecvFrom | RecvReady | Sleep | ShutdownWrite | Burst | Connect
Core = Generator[Op, Any, None]


def resume(core: Core, result: Any = None, error: BaseException | None = None) -> Op | None:
    """Hand a core the outcome of its last op (a result, or an error to raise where it yielded);
    its next op, or None once it has ended (the asyncio and many-sockets drivers' step)."""
    try:
        return core.throw(error) if error is not None else core.send(result)
    except StopIteration:
        return None


def describe_error(exc: BaseException) -> str:
    """A failed op in a few words, for a report's notes."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class ConnectFailed(Exception):
    """A client core's first op, the connect, failed: the front turns ``cause`` into one line."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def connect_then(addr: Addr, timeout: float, then: Core, connected: Any = None) -> Core:
    """Connect to ``addr`` (within ``timeout``), call ``connected()``, then run ``then``; a failed
    connect raises ConnectFailed out of the core (and out of the driver)."""
    try:
        yield Connect(addr, now() + timeout)
    except OSError as exc:  # TimeoutError included
        raise ConnectFailed(exc) from None
    if connected is not None:
        connected()
    yield from then
