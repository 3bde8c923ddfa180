"""The clients' sans-IO cores: what one run (or one connection) sends, expects back and counts.

``stream_echo_core`` (guide 5.1), ``stream_bulk_core``, ``dgram_echo_core`` (5.2),
``dgram_blast_core`` (paced or in batches, a ``Burst`` per batch), ``conn_echo_core`` (one
connection of tcp-conns) and ``ConnPlan`` (which connection of tcp-conns comes next). Each core
yields ops (``sniffer.gen.core.ops``) and keeps the ``Report``: messages, bytes, RTTs, losses, notes.
Every loop is bounded: a deadline always, a count when given.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sniffer.gen.core.ops import (
    Addr,
    Burst,
    Channel,
    Connect,
    Core,
    RecvFrom,
    RecvInto,
    SendAll,
    SendTo,
    ShutdownWrite,
    Sleep,
    describe_error,
    now,
    now_ns,
)
from sniffer.gen.core.payload import FLAG_LAST, PayloadFactory, parse_tag
from sniffer.gen.core.report import Report

ECHO, BULK, CONNS, BLAST = "echo", "bulk", "conns", "blast"
BULK_TIMEOUT = 5.0  # a bulk run waits this long for a stalled peer, and for its EOF


@dataclass
class RunSettings:
    """What a client run is asked for (the command line's options); the cores read it."""

    mode: str = ECHO
    style: str = "blocking"
    count: int | None = None
    duration: float = 10.0
    size: int = 64
    interval: float = 0.0
    timeout: float = 1.0
    pps: float | None = None
    total_bytes: int = 0
    conns: int = 0
    parallel: int = 100
    flow_id: int = field(default_factory=lambda: random.getrandbits(32))


def _count_iter(count: int | None) -> range:
    return range(count if count is not None else 1 << 62)


def _last(seq: int, count: int | None) -> int:
    return FLAG_LAST if count is not None and seq == count - 1 else 0


def tag_ok(data: Any, flow: int, seq: int) -> bool:
    """Whether ``data`` starts with our tag for ``flow`` and ``seq`` (the echo is ours, in order)."""
    tag = parse_tag(data)
    return tag is not None and tag.flow_id == flow and tag.seq == seq


def stream_echo_core(rep: Report, rs: RunSettings) -> Core:
    """Send a tagged message, read the same number of bytes back, check the tag, time it (guide 5.1)."""
    factory = PayloadFactory(rs.flow_id, rs.size)
    count, interval, timeout = rs.count, rs.interval, rs.timeout
    size = factory.size
    buf = bytearray(size)
    view = memoryview(buf)
    end = now() + rs.duration
    for seq in _count_iter(count):
        if now() >= end:
            break
        msg = factory.make(seq, _last(seq, count))
        deadline = min(end + timeout, now() + timeout)
        t0 = now_ns()
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
        rtt = now_ns() - t0
        rep.received += 1
        rep.bytes_received += got
        if got == size and tag_ok(buf, factory.flow_id, seq):
            rep.echoed += 1
            rep.rtts_ns.append(rtt)
        else:
            rep.errors += 1
        if interval:
            yield Sleep(interval)


def stream_bulk_core(rep: Report, rs: RunSettings) -> Core:
    """Send ``rs.total_bytes`` (tagged chunks back to back), then half-close and wait for the peer's EOF."""
    factory = PayloadFactory(rs.flow_id, rs.size)
    chunk, total, timeout = factory.size, rs.total_bytes, BULK_TIMEOUT
    end = now() + rs.duration
    seq = sent = 0
    try:
        while sent < total and now() < end:
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
    deadline = now() + timeout
    try:
        while (yield RecvInto(buf, deadline)):
            pass
    except (TimeoutError, OSError):
        rep.notes.append("peer did not close after our EOF")


def dgram_echo_core(ch: Channel, rep: Report, rs: RunSettings) -> Core:
    """Send one tagged datagram, wait for its echo (matching flow and seq), time it (guide 5.2).

    A datagram that gets no echo within ``rs.timeout`` counts as lost and the run goes on.
    """
    factory = PayloadFactory(rs.flow_id, rs.size)
    count, interval, timeout = rs.count, rs.interval, rs.timeout
    end = now() + rs.duration
    flow = factory.flow_id
    for seq in _count_iter(count):
        if now() >= end:
            break
        msg = factory.make(seq, _last(seq, count))
        t0 = now_ns()
        deadline = now() + timeout
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
                if tag_ok(body, flow, seq):
                    rep.echoed += 1
                    rep.rtts_ns.append(now_ns() - t0)
                    break
                # a late echo of an earlier message: keep waiting for ours
        except TimeoutError:
            pass
        if interval:
            yield Sleep(interval)


def dgram_blast_core(ch: Channel, rep: Report, rs: RunSettings) -> Core:
    """Send tagged datagrams as fast as allowed, no replies expected: ``rs.pps`` paces them (each
    datagram due at start + seq / pps; the core sleeps until the next is due), unpaced they go in
    batches of 256. The driver sends a batch while the socket has room; a datagram the full socket
    refused is sent again once there is room (``SendTo``), and the run stops when the socket stays
    full for a second past the end."""
    factory = PayloadFactory(rs.flow_id, rs.size)
    count, pps = rs.count, rs.pps
    start = now()
    end = start + rs.duration
    limit = count if count is not None else 1 << 62
    last = limit - 1 if count is not None else -1
    seq = 0
    while seq < limit:
        t = now()
        if t >= end:
            break
        if pps:
            due = min(limit, int((t - start) * pps) + 1)
            if due <= seq:
                yield Sleep(min((seq + 1) / pps - (t - start), end - t, 0.05))
                continue
        else:
            due = min(limit, seq + 256)
        seq, refused = yield Burst(ch, factory, rep, seq, due, last)
        while refused is not None:
            try:
                yield SendTo(refused, ch.dest, end + 1.0)
            except TimeoutError:
                break
            seq, refused = yield Burst(ch, factory, rep, seq + 1, due, last)
        if refused is not None:
            break  # stalled: the socket stayed full
    rep.sent = seq
    rep.bytes_sent = seq * factory.size


def conn_echo_core(
    rep: Report, index: int, addr: Addr, size: int, flow: int, end: float, timeout: float
) -> Core:
    """Connection ``index`` of tcp-conns: connect, send one tagged message (its own flow id), read the
    echo, check the tag, time it; every failure counts once and the first one is noted."""
    rep.sent += 1
    t0 = now_ns()
    why = ""
    try:
        yield Connect(addr, min(end, now() + timeout))
        deadline = now() + timeout
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
            if tag_ok(buf, flow, 0):
                rep.echoed += 1
                rep.rtts_ns.append(now_ns() - t0)
                return
            why = "bad echo"
    except (OSError, TimeoutError) as exc:
        why = describe_error(exc)
    _failed(rep, index, why)


def _failed(rep: Report, index: int, why: str) -> None:
    rep.errors += 1
    if rep.errors == 1:
        rep.notes.append(f"connection {index}: {why}")


class ConnPlan:
    """tcp-conns (sans-IO): ``rs.conns`` connections, one tagged echo each (flow = rs.flow_id + index),
    within ``rs.duration``; which index comes next, its core, and a socket that could not be made counted as
    a failed connection. The drivers decide how many run at once."""

    def __init__(self, rep: Report, addr: Addr, rs: RunSettings) -> None:
        self.rep = rep
        self.addr = addr
        self.n = rs.conns
        self.size = rs.size
        self.flow_base = rs.flow_id
        self.timeout = rs.timeout
        self.end = now() + rs.duration
        self.next = 0

    def left(self) -> bool:
        """Connections not started yet."""
        return self.next < self.n

    def over(self) -> bool:
        """The run's time is up."""
        return now() >= self.end

    def take(self) -> int:
        index = self.next
        self.next += 1
        return index

    def core(self, index: int) -> Core:
        return conn_echo_core(
            self.rep, index, self.addr, self.size, self.flow_base + index, self.end, self.timeout
        )

    def open(self, index: int, make_sock: Callable[[], Any]) -> Any | None:
        """``make_sock()`` for connection ``index``, or None when it failed (counted and noted)."""
        try:
            return make_sock()
        except OSError as exc:
            self.rep.sent += 1
            _failed(self.rep, index, describe_error(exc))
            return None
