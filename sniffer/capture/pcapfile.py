"""pcap and pcapng readers and writers. PLACEHOLDER (classic pcap only); being replaced by the
full implementation (pcapng, validation like libpcap, streaming from pipes, writers).

Contract other layers rely on:
  open_capture(source) -> CaptureReader  # source: path, "-" (stdin), or a binary file object
  CaptureReader: iterable of Frame; .format ("pcap"|"pcapng"); .linktype; .close(); context manager;
                 .iter_with_offsets() -> (record_offset, Frame); .frame_at(record_offset) (seekable files)
  Errors: PcapFormatError(message, offset) raised after every good frame before the damage was yielded.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from typing import BinaryIO

from sniffer.capture.frame import Frame
from sniffer.errors import PcapFormatError


class CaptureReader:
    def __init__(self, f: BinaryIO, close: bool) -> None:
        self._f = f
        self._close = close
        hdr = f.read(24)
        if len(hdr) < 24:
            raise PcapFormatError("truncated dump file", 0)
        magic = hdr[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            self._e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            self._e = ">"
        else:
            raise PcapFormatError("not a pcap file", 0)
        self._nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        _, _, _, _, _, self.snaplen, lt = struct.unpack(self._e + "IHHiIII", hdr)
        self.linktype = lt & 0xFFFF
        self.format = "pcap"
        self._off = 24

    def iter_with_offsets(self) -> Iterator[tuple[int, Frame]]:
        rec = struct.Struct(self._e + "IIII")
        mult = 1 if self._nsec else 1000
        while True:
            h = self._f.read(16)
            if not h:
                return
            if len(h) < 16:
                raise PcapFormatError("truncated record header", self._off)
            sec, frac, caplen, wirelen = rec.unpack(h)
            data = self._f.read(caplen)
            if len(data) < caplen:
                raise PcapFormatError("truncated record", self._off)
            off = self._off
            self._off += 16 + caplen
            yield off, Frame(sec * 1_000_000_000 + frac * mult, data, wirelen, self.linktype)

    def __iter__(self) -> Iterator[Frame]:
        for _, fr in self.iter_with_offsets():
            yield fr

    def close(self) -> None:
        if self._close:
            self._f.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_capture(source: str | BinaryIO) -> CaptureReader:
    if isinstance(source, str):
        if source == "-":
            return CaptureReader(sys.stdin.buffer, close=False)
        return CaptureReader(open(source, "rb"), close=True)
    return CaptureReader(source, close=False)
