"""Byte ranges of a big pcap file: find the first record boundary at or after an offset (resynchronise),
and read the records whose headers start inside a range. Pure where it can be: ``resync`` works on bytes.

A classic pcap file has no index and no sync marker, so a range that starts mid-record looks for the first
offset where a chain of plausible record headers begins (time fraction in range, seconds within 20 years of
the file's first record, caplen <= snaplen and <= the original length, each header followed by another such header or the end of the file). Every
record belongs to exactly one range: the one its header starts in.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from typing import NamedTuple

from sniffer.errors import PcapFormatError
from sniffer.frame import Frame

#: headers that must chain from a candidate offset before it is taken as a record boundary
CHAIN = 16
#: the largest original length believed (bigger than any link's MTU with offloads)
MAX_ORIGLEN = 1 << 20

_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}


class PcapHeader(NamedTuple):
    raw: bytes  # the 24-byte file header
    endian: str
    frac: int  # 10^6 (usec) or 10^9 (nsec)
    snaplen: int
    first_sec: int = -1  # seconds of the file's first record (-1: not known)


def pcap_header(head: bytes) -> PcapHeader | None:
    """The file header of a classic pcap file, or None for anything else (pcapng, damaged)."""
    if len(head) < 24 or head[:4] not in _MAGICS:
        return None
    e, frac = _MAGICS[head[:4]]
    snaplen = struct.unpack_from(e + "I", head, 16)[0]
    return PcapHeader(bytes(head[:24]), e, frac, snaplen)


#: a record's time must lie within this many seconds of the file's first record (20 years: merged files
#: of different years pass, the zero bytes of padding do not)
SPAN = 20 * 366 * 86400


def with_first_time(path: str, h: PcapHeader) -> PcapHeader:
    """``h`` with the time of the file's first record (the anchor of the plausibility test)."""
    with open(path, "rb") as f:
        f.seek(24)
        b = f.read(4)
    return h._replace(first_sec=struct.unpack(h.endian + "I", b)[0]) if len(b) == 4 else h


def _plausible(h: PcapHeader, buf: bytes, p: int) -> int | None:
    """Length of the record at ``p`` if its header looks like one, else None."""
    sec, sub, caplen, origlen = struct.unpack_from(h.endian + "IIII", buf, p)
    if sub >= h.frac or caplen > max(h.snaplen, 262144) or caplen > origlen or origlen > MAX_ORIGLEN:
        return None
    if h.first_sec >= 0 and abs(sec - h.first_sec) > SPAN:
        return None
    return 16 + caplen


def resync(h: PcapHeader, buf: bytes, base: int, file_size: int) -> int | None:
    """The file offset of the first record boundary in ``buf`` (which holds the file from ``base`` on):
    the first offset where CHAIN headers chain (or the chain reaches the end of the file exactly).
    None if there is none in ``buf`` (only possible for the file's last bytes or a damaged file)."""
    n = len(buf)
    for p in range(0, max(0, n - 15)):
        q, ok = p, 0
        while ok < CHAIN:
            if base + q == file_size:
                ok = CHAIN
                break
            if q + 16 > n:
                break
            size = _plausible(h, buf, q)
            if size is None:
                break
            q += size
            ok += 1
        if ok >= CHAIN:
            return base + p
    return None


#: bytes read past a range's start to find its first boundary (many records of the largest size)
WINDOW = 4 << 20


def first_record(path: str, h: PcapHeader, start: int) -> int:
    """The offset of the first record whose header starts at or after ``start`` (>= 24)."""
    size = os.path.getsize(path)
    if h.first_sec < 0:
        h = with_first_time(path, h)
    if start <= 24:
        return 24
    if start >= size:
        return size
    with open(path, "rb") as f:
        f.seek(start)
        buf = f.read(WINDOW)
    p = resync(h, buf, start, size)
    if p is None:
        raise PcapFormatError(f"{path}: no pcap record boundary found after byte {start}", start)
    return p


class _Spliced(io.RawIOBase):
    """The 24-byte header followed by the file from ``start`` on: what a PcapReader reads for a range."""

    def __init__(self, path: str, header: bytes, start: int) -> None:
        self._f = open(path, "rb", buffering=0)
        self._f.seek(start)
        self._head = header
        self.name = path

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        mv = memoryview(b).cast("B")
        if self._head:
            k = min(len(mv), len(self._head))
            mv[:k] = self._head[:k]
            self._head = self._head[k:]
            return k
        return self._f.readinto(mv) or 0

    def close(self) -> None:
        self._f.close()
        super().close()


def records(path: str, h: PcapHeader, start: int, end: int) -> Iterator[tuple[int, Frame]]:
    """(file offset, Frame) of every record whose header starts in [start, end); start is a boundary."""
    from sniffer.capture.pcapfile import open_capture

    src = _Spliced(path, h.raw, start)
    try:
        with open_capture(io.BufferedReader(src, 1 << 20)) as rd:
            shift = start - 24
            for off, fr in rd.iter_with_offsets():
                off += shift
                if off >= end:
                    return
                yield off, fr
    finally:
        src.close()


def count(path: str, h: PcapHeader, start: int, end: int) -> int:
    """Records whose headers start in [start, end) (start a boundary): a hop over record headers."""
    n = 0
    unpack = struct.Struct(h.endian + "8xI4x").unpack_from
    with open(path, "rb") as f:
        pos = base = start
        buf = b""
        while pos < end:
            i = pos - base
            if i + 16 > len(buf):
                if i >= len(buf):
                    f.seek(pos)
                    buf = f.read(1 << 20)
                else:
                    buf = buf[i:] + f.read(1 << 20)
                base, i = pos, 0
                if len(buf) < 16:
                    break
            (caplen,) = unpack(buf, i)
            n += 1
            pos += 16 + caplen
    return n
