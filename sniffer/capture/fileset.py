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

    ``paths`` are in the order of the files' first packets (read on opening). Iterate it once for Frames (``frame.interface`` and ``ifname`` stay those of the frame's file).
    ``interfaces`` lists every file's interfaces; ``errors`` the damage met so far.

    Raises:
        PcapFormatError: (on opening) a file is not a capture; (after the last frame) a file was
            damaged part way, its message prefixed with the file's path.
        SnifferError: a file cannot be opened.
    """

    format = "merged"

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        self.name = ", ".join(self.paths)
        self.readers: list[CaptureReader] = []
        self.errors: list[PcapFormatError] = []
        try:
            for p in self.paths:
                try:
                    self.readers.append(open_capture(p))
                except PcapFormatError as exc:
                    raise _named(p, exc) from None
        except BaseException:
            self.close()
            raise
        self.interfaces: list[Interface] = [i for r in self.readers for i in r.interfaces]
        self.linktype = self.readers[0].linktype if self.readers else None
        # each file's first frame, read now: the files in the order of their first packets (a reused
        # ring's oldest file first), which is the order `paths` and `name` give them
        self._iters: list[Iterator[Frame]] = []
        firsts: list[Frame | None] = []
        for i, r in enumerate(self.readers):
            it = iter(r)
            try:
                firsts.append(next(it, None))
            except PcapFormatError as exc:
                self.errors.append(_named(self.paths[i], exc))
                firsts.append(None)
            self._iters.append(it)

        def first_time(i: int) -> tuple[bool, int, int]:
            fr = firsts[i]
            return (fr is None, fr[0] if fr is not None else 0, i)

        order = sorted(range(len(self.readers)), key=first_time)
        self.paths = [self.paths[i] for i in order]
        self.readers = [self.readers[i] for i in order]
        self._iters = [self._iters[i] for i in order]
        self._firsts = [firsts[i] for i in order]
        self.name = ", ".join(self.paths)

    def _frames(self, i: int) -> Iterator[tuple[int, int, Frame]]:
        first = self._firsts[i]
        if first is None:
            return
        yield first[0], i, first
        try:
            for fr in self._iters[i]:
                yield fr[0], i, fr
        except PcapFormatError as exc:  # the packets before the damage stay; the other files go on
            self.errors.append(_named(self.paths[i], exc))

    def __iter__(self) -> Iterator[Frame]:
        # (ts, file index, frame): ties in time keep file order; the frame itself is never compared
        for _ts, _i, fr in heapq.merge(*(self._frames(i) for i in range(len(self.readers)))):
            yield fr
        if self.errors:
            raise self.errors[0]

    def close(self) -> None:
        for r in self.readers:
            r.close()

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
