"""The generator payload tag: a fixed 28-byte header every generated packet starts with (closed loop).

Wire format (network byte order, struct ``!4sBBHIQQ``), at the start of the L4 payload (UDP/TCP
payload, the data after the IP header for raw IP, after the Ethernet header for AF_PACKET)::

    offset size field
    0      4    magic    b"SnFg" (0x53 0x6e 0x46 0x67)
    4      1    version  1
    5      1    flags    bit 0 ECHO: this is a reply made by a sniffer echo peer (raw IP / packet
                         peers set it so the sender can tell replies from its own looped copies);
                         bit 1 LAST: the last message of the flow (so a matcher knows the count)
    6      2    length   whole message length in bytes, header included (capped at 65535)
    8      4    flow_id  per run (per connection for tcp-conns), random unless --flow is given
    12     8    seq      0, 1, 2, ... per flow; a gap means a lost message
    20     8    ts_ns    sender's CLOCK_REALTIME at send, nanoseconds since the Unix epoch

The rest of the message is filler (bytes ``0x00..0xff`` repeating). Stream sockets (TCP, unix stream,
vsock) carry whole tagged messages back to back, so a segment that starts on a message boundary
matches at offset 0 and ``find_tags`` finds the others.

``parse_tag`` and ``find_tags`` are pure (bytes in, tags out) for the analyzer and the TUI.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from typing import NamedTuple

MAGIC = b"SnFg"
VERSION = 1
FLAG_ECHO = 0x01
FLAG_LAST = 0x02

HEADER = struct.Struct("!4sBBHIQQ")
TAG_LEN = HEADER.size  # 28
MAX_LEN = 0xFFFF

_FILL = bytes(range(256)) * 256


class Tag(NamedTuple):
    """One parsed tag. ``offset`` is where it starts in the buffer given to the matcher."""

    flow_id: int
    seq: int
    ts_ns: int
    flags: int = 0
    length: int = TAG_LEN
    offset: int = 0

    @property
    def is_echo(self) -> bool:
        return bool(self.flags & FLAG_ECHO)

    @property
    def is_last(self) -> bool:
        return bool(self.flags & FLAG_LAST)


def build_tag(
    flow_id: int, seq: int, ts_ns: int | None = None, flags: int = 0, length: int = TAG_LEN
) -> bytes:
    """The 28-byte header alone."""
    ts = time.time_ns() if ts_ns is None else ts_ns
    return HEADER.pack(MAGIC, VERSION, flags, min(length, MAX_LEN), flow_id & 0xFFFFFFFF, seq, ts)


def build_payload(flow_id: int, seq: int, size: int = 64, ts_ns: int | None = None, flags: int = 0) -> bytes:
    """A whole tagged message of ``size`` bytes (at least the header)."""
    size = max(size, TAG_LEN)
    return build_tag(flow_id, seq, ts_ns, flags, size) + _filler(size - TAG_LEN)


def _filler(n: int) -> bytes:
    if n <= len(_FILL):
        return _FILL[:n]
    return (_FILL * (n // len(_FILL) + 1))[:n]


def parse_tag(data: bytes | bytearray | memoryview, offset: int = 0) -> Tag | None:
    """The tag at ``offset`` of ``data``, or None when there is none (never raises)."""
    if len(data) - offset < TAG_LEN or bytes(data[offset : offset + 4]) != MAGIC:
        return None
    _magic, version, flags, length, flow, seq, ts = HEADER.unpack_from(data, offset)
    if version != VERSION or length < TAG_LEN:
        return None
    return Tag(flow, seq, ts, flags, length, offset)


def find_tags(data: bytes | bytearray | memoryview, limit: int = 1 << 16) -> Iterator[Tag]:
    """Every tag anywhere in ``data`` (a whole frame, or a TCP segment carrying several messages)."""
    buf = bytes(data)
    start = 0
    found = 0
    while found < limit:
        i = buf.find(MAGIC, start)
        if i < 0:
            return
        tag = parse_tag(buf, i)
        if tag is not None:
            found += 1
            yield tag
            start = i + TAG_LEN
        else:
            start = i + 1


def find_tag(data: bytes | bytearray | memoryview) -> Tag | None:
    """The first tag anywhere in ``data`` (e.g. a whole Ethernet frame), or None."""
    return next(find_tags(data, 1), None)


def describe(tag: Tag) -> str:
    """A short label for a packet list or detail pane: 'gen flow 0x1234abcd #7 echo last'."""
    extra = (" echo" if tag.is_echo else "") + (" last" if tag.is_last else "")
    return f"gen flow {tag.flow_id:#010x} #{tag.seq}{extra}"


def set_echo(message: bytes | bytearray) -> bytes:
    """The same message with the ECHO flag set (what raw IP and packet echo peers send back)."""
    out = bytearray(message)
    out[5] |= FLAG_ECHO
    return bytes(out)


class PayloadFactory:
    """Fast builder for a run: one preallocated buffer, ``next(seq)`` rewrites only the header.

    The returned memoryview is valid until the next call (copy it to keep it).
    """

    def __init__(self, flow_id: int, size: int) -> None:
        self.flow_id = flow_id & 0xFFFFFFFF
        self.size = max(size, TAG_LEN)
        self._buf = bytearray(build_payload(self.flow_id, 0, self.size, 0))
        self._view = memoryview(self._buf)
        self._len = min(self.size, MAX_LEN)

    def make(self, seq: int, flags: int = 0, ts_ns: int | None = None) -> memoryview:
        HEADER.pack_into(
            self._buf,
            0,
            MAGIC,
            VERSION,
            flags,
            self._len,
            self.flow_id,
            seq,
            time.time_ns() if ts_ns is None else ts_ns,
        )
        return self._view


class FlowTracker:
    """Pure loss/duplicate accounting for one flow's sequence numbers (the matcher's bookkeeping)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.duplicates = 0
        self.last_seq: int | None = None

    def add(self, tag: Tag) -> None:
        if tag.seq in self.seen:
            self.duplicates += 1
        self.seen.add(tag.seq)
        if tag.is_last:
            self.last_seq = tag.seq

    def missing(self, expected: int | None = None) -> list[int]:
        """Sequence numbers never seen, up to ``expected`` (or the LAST tag, or the highest seen)."""
        if expected is None:
            if self.last_seq is not None:
                expected = self.last_seq + 1
            else:
                expected = max(self.seen) + 1 if self.seen else 0
        return [s for s in range(expected) if s not in self.seen]
