"""Several capture files read as one capture, in time order: the ring of files that `capture -C/-G`
writes (``ring.pcapng0``..``4``, reused out of name order; ``hour-%H%M.pcapng``), or files of several
sensors.

``expand_inputs`` turns FILE, DIR (every pcap/pcapng under it, recognised by its magic number) and GLOB
arguments into a sorted list of paths. ``MergedReader`` reads the files like one reader: its frames come
in time order, merged by timestamp (a ring's files follow each other, so this is their first-packet
order; files that overlap, as several sensors' do, are interleaved). Equal timestamps keep file order.
A file damaged part way gives its packets up to the damage; the other files go on, and the damage is
raised (PcapFormatError naming the file) after the last frame.
"""

from __future__ import annotations

import glob
import heapq
import os
from collections.abc import Iterator, Sequence
from typing import Any

from sniffer.capture.pcapfile import CaptureReader, Interface, open_capture
from sniffer.errors import PcapFormatError, UsageError
from sniffer.frame import Frame

_MAGIC = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x34\xcd\xb2\xa1",
    b"\xa1\xb2\xcd\x34",
    b"\x0a\x0d\x0d\x0a",
)


def is_capture(path: str) -> bool:
    """True if ``path`` starts like a pcap or pcapng file."""
    try:
        with open(path, "rb") as f:
            return f.read(4) in _MAGIC
    except OSError:
        return False


def expand_inputs(inputs: Sequence[str], what: str = "") -> list[str]:
    """FILE, DIR (every pcap/pcapng file under it, by magic number) or GLOB -> absolute paths, in the
    order given (a DIR's and a GLOB's files sorted by name), each once.

    Raises:
        UsageError: an argument names nothing (``what`` prefixes the message, e.g. "export").
    """
    found: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs.sort()
                found.extend(
                    os.path.join(root, f) for f in sorted(files) if is_capture(os.path.join(root, f))
                )
        elif os.path.exists(item):
            found.append(item)
        else:
            hits = sorted(glob.glob(item, recursive=True))
            if not hits:
                where = f"{what}: " if what else ""
                raise UsageError(f"{where}{item}: no such file, directory or matching file")
            found.extend(h for h in hits if os.path.isfile(h))
    seen: dict[str, None] = {}
    for p in found:
        seen.setdefault(os.path.abspath(p), None)
    return list(seen)


def _named(path: str, exc: PcapFormatError) -> PcapFormatError:
    msg = exc.args[0] if exc.args else str(exc)
    return PcapFormatError(msg if msg.startswith(path) else f"{path}: {msg}", exc.offset)


class MergedReader:
    """The frames of several capture files as one capture, in time order (see the module docstring).

    Opening reads each file's header and first packet (then closes it): ``paths`` are in the order of
    the files' first packets, ``interfaces`` lists every file's interfaces. Iterate it once for Frames
    (``frame.interface`` and ``ifname`` stay those of the frame's file). A file is opened again only when
    the merge reaches its first packet and closed when it is read, so a ring of thousands of files
    keeps one or two open (files that overlap in time are open together). ``errors``: damage met so far.

    Raises:
        PcapFormatError: (on opening) a file is not a capture; (after the last frame) a file was
            damaged part way, its message prefixed with the file's path.
        SnifferError: a file cannot be opened.
    """

    format = "merged"

    def __init__(self, paths: Sequence[str]) -> None:
        self.errors: list[PcapFormatError] = []
        self.interfaces: list[Interface] = []
        firsts: list[int | None] = []
        linktypes: list[int | None] = []
        for p in paths:
            try:
                with open_capture(p) as rd:
                    it = iter(rd)
                    try:
                        fr = next(it, None)
                    except PcapFormatError as exc:  # damaged before its first packet: nothing to give
                        self.errors.append(_named(p, exc))
                        fr = None
                    self.interfaces.extend(rd.interfaces)
                    linktypes.append(rd.linktype)
            except PcapFormatError as exc:
                raise _named(p, exc) from None
            firsts.append(None if fr is None else fr[0])
        # files without a packet last; ties in time keep the order given
        order = sorted(range(len(paths)), key=lambda i: (firsts[i] is None, firsts[i] or 0, i))
        self.paths = [paths[i] for i in order]
        self._firsts = [firsts[i] for i in order]
        self.linktype = linktypes[order[0]] if order else None
        self.name = ", ".join(self.paths)
        self._open: dict[int, CaptureReader] = {}

    def __iter__(self) -> Iterator[Frame]:
        # heap of (ts, file rank, frame, frames of that file): equal times keep file order and the
        # frame itself is never compared (ranks differ between files)
        heap: list[tuple[int, int, Frame, Iterator[Frame]]] = []
        pending = [(t, k) for k, t in enumerate(self._firsts) if t is not None]
        nxt = 0
        try:
            while True:
                # a file joins once the merge reaches its first packet (nothing earlier can come from it)
                while nxt < len(pending) and (not heap or pending[nxt][0] <= heap[0][0]):
                    k = pending[nxt][1]
                    nxt += 1
                    it = self._reopen(k)
                    fr = self._read(k, it) if it is not None else None
                    if fr is not None and it is not None:
                        heapq.heappush(heap, (fr[0], k, fr, it))
                if not heap:
                    break
                _ts, k, fr, it = heap[0]
                yield fr
                fr = self._read(k, it)
                if fr is None:
                    heapq.heappop(heap)
                else:
                    heapq.heapreplace(heap, (fr[0], k, fr, it))
        finally:
            self.close()
        if self.errors:
            raise self.errors[0]

    def _reopen(self, k: int) -> Iterator[Frame] | None:
        try:
            rd = open_capture(self.paths[k])
        except PcapFormatError as exc:  # changed since it was opened first
            self.errors.append(_named(self.paths[k], exc))
            return None
        self._open[k] = rd
        return iter(rd)

    def _read(self, k: int, it: Iterator[Frame]) -> Frame | None:
        """File ``k``'s next frame; None at its end or damage (then the file is closed)."""
        try:
            fr = next(it, None)
        except PcapFormatError as exc:  # the packets before the damage stay; the other files go on
            self.errors.append(_named(self.paths[k], exc))
            fr = None
        if fr is None:
            rd = self._open.pop(k, None)
            if rd is not None:
                rd.close()
        return fr

    def close(self) -> None:
        for rd in self._open.values():
            rd.close()
        self._open = {}

    def __enter__(self) -> MergedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_captures(inputs: Sequence[str], what: str = "") -> Any:
    """A reader for ``inputs`` (FILE, DIR, GLOB, several): the file's own reader when they name one
    file, else a MergedReader of all of them.

    Raises:
        UsageError: nothing named, or '-' (standard input) among several.
    """
    if list(inputs) == ["-"]:
        return open_capture("-")
    if "-" in inputs:
        raise UsageError(f"{what + ': ' if what else ''}'-' (standard input) cannot be merged with files")
    paths = expand_inputs(inputs, what)
    if not paths:
        raise UsageError(f"{what + ': ' if what else ''}{' '.join(inputs)}: no capture files there")
    if len(paths) == 1:
        try:
            return open_capture(paths[0])
        except PcapFormatError as exc:
            raise _named(paths[0], exc) from None
    return MergedReader(paths)
