"""The packet index: a few fixed-width columns per packet in arrays; bytes stay on disk, details on demand.

Per packet the index holds the record offset (q), timestamp in ns (q), captured length (I), wire length
(I) and an index into a small table of (linktype, interface, direction, ifname) tuples (H): 26 bytes.
The packet bytes are read back from the capture file (``frame_at`` / pread) or, for live capture and
pipes, from an append-only spool file, so memory stays flat however long the capture runs. Summaries,
field dicts and dissection trees are computed when a row is shown and kept in small LRU caches.

Threading: one producer thread (file loader or live capture) calls ``append``/``append_batch``; any
thread may read. ``count`` is published last, so readers never see a half-written row.
"""

from __future__ import annotations

import os
import tempfile
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sniffer.frame import Frame

K = TypeVar("K", bound=Hashable)
_TS_LIMIT = (1 << 63) - 1  # the ts column is an int64 of ns
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe least-recently-used cache."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._d: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            try:
                self._d.move_to_end(key)
                return self._d[key]
            except KeyError:
                pass
        value = make()
        with self._lock:
            self._d[key] = value
            if len(self._d) > self.maxsize:
                self._d.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._d.clear()

    def __len__(self) -> int:
        return len(self._d)


@dataclass(frozen=True, slots=True)
class Row:
    """The packet-list columns of one packet (computed on demand)."""

    src: str
    dst: str
    protocol: str
    info: str
    malformed: bool = False


def _summarize(frame: Frame) -> Row:
    """Adapter to ``decode.summary.summarize`` (the decoder owns the columns)."""
    from sniffer.decode.summary import summarize

    try:
        s = summarize(frame)
    except Exception as exc:  # a decoder bug must not take the UI down; show it as malformed
        return Row("", "", "?", f"[decoder error: {type(exc).__name__}: {exc}]", True)
    return Row(
        str(getattr(s, "src", "") or ""),
        str(getattr(s, "dst", "") or ""),
        str(getattr(s, "protocol", "") or ""),
        str(getattr(s, "info", "") or ""),
        bool(getattr(s, "malformed", False)),
    )


def _fields(frame: Frame) -> dict[str, Any]:
    from sniffer.decode.fields import frame_fields

    return frame_fields(frame)


class Spool:
    """Append-only spool of raw frame bytes in an unlinked temp file (live capture, pipes)."""

    def __init__(self, directory: str | None = None) -> None:
        fd, path = tempfile.mkstemp(prefix="sniffer-spool-", dir=directory)
        os.unlink(path)
        self.fd = fd
        self.size = 0

    def append(self, chunks: list[bytes]) -> int:
        """Write ``chunks`` back to back; return the offset of the first one."""
        start = self.size
        blob = b"".join(chunks)
        view = memoryview(blob)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.size += len(blob)
        return start

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class PacketStore:
    """Index of every packet of one source. Packet numbers shown to the user are ``index + 1``."""

    def __init__(self, path: str | None = None, *, spool: bool = False, cache_rows: int = 8192) -> None:
        """Args:
        path: capture file whose records ``append`` refers to by offset (read back with frame_at).
        spool: keep the bytes in a spool file instead (live capture, FIFOs, stdin).
        """
        if path is None and not spool:
            raise ValueError("PacketStore needs a file path or spool=True")
        self.path = path
        self.spool: Spool | None = Spool() if spool else None
        self.offset = array("q")
        self.ts = array("q")
        self.caplen = array("I")
        self.wirelen = array("I")
        self.meta = array("H")
        self._meta_table: list[tuple[int, int, int, str]] = []
        self._meta_index: dict[tuple[int, int, int, str], int] = {}
        self.count = 0
        self.total_bytes = 0
        #: called (from the producer thread) when the first packets are indexed
        self.on_first: Callable[[], None] | None = None
        self._reader: Any = None
        self._reader_lock = threading.Lock()
        self._rows: LRU[int, Row] = LRU(cache_rows)
        self._fields: LRU[int, dict[str, Any]] = LRU(256)
        self._trees: LRU[int, Any] = LRU(64)

    # -- producer side -------------------------------------------------------------------------
    def _meta_id(self, frame: Frame) -> int:
        key = (frame.linktype, frame.interface, frame.direction, frame.ifname)
        mid = self._meta_index.get(key)
        if mid is None:
            mid = len(self._meta_table)
            if mid > 0xFFFF:
                mid = 0xFFFF
            else:
                self._meta_table.append(key)
                self._meta_index[key] = mid
        return mid

    def append_batch(self, items: Iterable[tuple[int, Frame]] | Iterable[Frame]) -> int:
        """Index a batch: ``(record_offset, frame)`` pairs for files, frames for a spool store.

        Returns the number of packets added.
        """
        off, ts, cl, wl, meta = array("q"), array("q"), array("I"), array("I"), array("H")
        nbytes = 0
        mid = self._meta_id
        if self.spool is not None:
            frames: list[Frame] = list(items)  # type: ignore[arg-type]
            pos = self.spool.append([f.data for f in frames])
            for f in frames:
                off.append(pos)
                pos += len(f.data)
                try:
                    ts.append(f.ts_ns)
                except OverflowError:
                    ts.append(_TS_LIMIT if f.ts_ns > 0 else -_TS_LIMIT)
                cl.append(len(f.data))
                wl.append(f.wirelen)
                meta.append(mid(f))
                nbytes += f.wirelen
        else:
            pairs: Iterable[tuple[int, Frame]] = items  # type: ignore[assignment]
            for o, f in pairs:
                off.append(o)
                try:
                    ts.append(f.ts_ns)
                except OverflowError:  # a damaged 64-bit pcapng timestamp (past 2262): clamped
                    ts.append(_TS_LIMIT if f.ts_ns > 0 else -_TS_LIMIT)
                cl.append(len(f.data))
                wl.append(f.wirelen)
                meta.append(mid(f))
                nbytes += f.wirelen
        self.offset.extend(off)
        self.ts.extend(ts)
        self.caplen.extend(cl)
        self.wirelen.extend(wl)
        self.meta.extend(meta)
        self.total_bytes += nbytes
        first = self.count == 0 and len(off) > 0
        self.count += len(off)  # published last
        if first and self.on_first is not None:
            self.on_first()
        return len(off)

    # -- reader side ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.count

    def frame(self, i: int) -> Frame:
        """The full frame of packet index ``i`` (read back from disk)."""
        linktype, interface, direction, ifname = self._meta_table[self.meta[i]]
        if self.spool is not None:
            data = self.spool.read(self.offset[i], self.caplen[i])
            return Frame(self.ts[i], data, self.wirelen[i], linktype, interface, direction, ifname)
        with self._reader_lock:
            reader = self._open_reader()
            frame_at = getattr(reader, "frame_at", None)
            if frame_at is not None:
                return frame_at(self.offset[i])  # type: ignore[no-any-return]
            # reader without random access (classic pcap): record header is 16 bytes
            data = os.pread(reader._f.fileno(), self.caplen[i], self.offset[i] + 16)
        return Frame(self.ts[i], data, self.wirelen[i], linktype, interface, direction, ifname)

    #: bytes one batched read of ``frame_range`` may span (then it reads the rest in further blocks)
    BLOCK_BYTES = 4 << 20

    def frame_range(self, start: int, end: int) -> Iterator[Frame]:
        """The frames of packets ``start`` to ``end - 1``, in order, equal to ``frame(i)`` each; from a
        classic pcap file they are read in blocks of consecutive records (one ``pread`` per block instead
        of two per packet: a filter scanning a million packets spent ~3 s of CPU in the reads)."""
        from sniffer.capture.pcapfile import PcapReader

        i = start
        while i < end:
            block = None
            if self.spool is None:
                with self._reader_lock:
                    reader = self._open_reader()
                    if type(reader) is PcapReader:
                        hdr = reader._hdrsize
                        base = top = self.offset[i]
                        j = i
                        while j < end:  # consecutive records only
                            o = self.offset[j]
                            if o != top or (j > i and o + hdr + self.caplen[j] - base > self.BLOCK_BYTES):
                                break
                            top = o + hdr + self.caplen[j]
                            j += 1
                        block = os.pread(reader._f.fileno(), top - base, base)
            if block is None or len(block) < top - base:
                yield self.frame(i)  # a live spool, pcapng, or a file cut short: one at a time
                i += 1
                continue
            table, meta, ts, caplen, wirelen, offset = (
                self._meta_table,
                self.meta,
                self.ts,
                self.caplen,
                self.wirelen,
                self.offset,
            )
            for k in range(i, j):
                linktype, interface, direction, ifname = table[meta[k]]
                o = offset[k] - base + hdr
                yield Frame(
                    ts[k], block[o : o + caplen[k]], wirelen[k], linktype, interface, direction, ifname
                )
            i = j

    def keep_open(self) -> None:
        """Open the capture file now: packets stay readable from this inode even when the path is
        replaced (saving over the open file writes a new file and renames it over the old one)."""
        if self.spool is None and self.path is not None:
            with self._reader_lock:
                self._open_reader()

    def _open_reader(self) -> Any:
        if self._reader is None:
            from sniffer.capture.pcapfile import open_capture

            assert self.path is not None
            self._reader = open_capture(self.path)
        return self._reader

    def row(self, i: int) -> Row:
        """Packet-list columns of packet index ``i`` (LRU cached)."""
        return self._rows.get(i, lambda: _summarize(self.frame(i)))

    def fields(self, i: int) -> dict[str, Any]:
        """Wireshark-named fields of packet index ``i`` (for display filters and search)."""
        return self._fields.get(i, lambda: _fields(self.frame(i)))

    def tree(self, i: int, dissect: Callable[[Frame], Any]) -> Any:
        """Dissection tree of packet index ``i`` (LRU cached)."""
        return self._trees.get(i, lambda: dissect(self.frame(i)))

    def frames(self, indices: Iterable[int]) -> Iterator[Frame]:
        for i in indices:
            yield self.frame(i)

    def index_bytes(self) -> int:
        """Memory held by the per-packet columns (bytes), without the fixed-size caches."""
        cols = (self.offset, self.ts, self.caplen, self.wirelen, self.meta)
        return sum(c.buffer_info()[1] * c.itemsize for c in cols)

    def close(self) -> None:
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        if self.spool is not None:
            self.spool.close()

    def __enter__(self) -> PacketStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class View:
    """The displayed packets: every packet, or those matching a display filter (evaluated lazily).

    The filter runs through ``DisplayFilter.matches_frame`` (decodes only what it needs), fed every packet
    once and in order from the first, so ``frame.number``, ``tcp.stream`` and ``frame.time_delta`` work;
    the view keeps its own compiled copy of the filter, as that state belongs to one scan.

    With a filter, ``matched`` (4 bytes per displayed packet) grows as ``advance`` scans the store;
    a background thread calls ``advance`` so live capture keeps flowing while the filter catches up.
    """

    def __init__(self, store: PacketStore, flt: Any = None, text: str = "") -> None:
        self.store = store
        if flt is not None and hasattr(flt, "matches_frame"):
            # matches_frame is stateful (stream table, frame.time_delta...): this view owns a fresh copy,
            # fed every packet once, in order, from the first one
            from sniffer.model.filters import compile_filter

            flt = compile_filter(flt.text)
        self.filter = flt
        self.text = text
        self.matched: array[int] | None = array("I") if flt is not None else None
        self.scanned = 0
        self.errors = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.store.count if self.matched is None else len(self.matched)

    @property
    def done(self) -> bool:
        return self.matched is None or self.scanned >= self.store.count

    def packet(self, row: int) -> int:
        """Store index of displayed row ``row``."""
        return row if self.matched is None else self.matched[row]

    def row_of(self, index: int) -> int | None:
        """Displayed row of store index ``index``, or None when it is filtered out (or not yet scanned)."""
        if self.matched is None:
            return index if 0 <= index < self.store.count else None
        from bisect import bisect_left

        pos = bisect_left(self.matched, index)
        if pos < len(self.matched) and self.matched[pos] == index:
            return pos
        return None

    def nearest_row(self, index: int) -> int:
        """Displayed row of the first displayed packet at or after ``index`` (clamped)."""
        if self.matched is None:
            return max(0, min(index, self.store.count - 1))
        from bisect import bisect_left

        return max(0, min(bisect_left(self.matched, index), len(self.matched) - 1))

    def advance(self, budget: int = 2000) -> int:
        """Evaluate the filter on up to ``budget`` more packets; returns how many were scanned."""
        if self.matched is None:
            return 0
        with self._lock:  # the UI thread and the filter thread may both advance
            return self._advance(budget)

    def _advance(self, budget: int) -> int:
        assert self.matched is not None
        end = min(self.store.count, self.scanned + budget)
        start = self.scanned
        matches_frame = getattr(self.filter, "matches_frame", None)
        if matches_frame is None:  # a plain predicate over the field dict
            matches = self.filter.matches

            def matches_frame(fr: Frame, n: int) -> bool:
                return bool(matches(_fields(fr)))

        frames = self.store.frame_range(start, end)  # read in blocks, not two preads per packet
        for i in range(start, end):
            try:
                fr = next(frames)
            except Exception:  # a failed read ends the generator: go on after that packet
                frames = self.store.frame_range(i + 1, end)
                self.errors += 1
                self.scanned = i + 1
                continue
            try:
                # header fields only when the filter needs no more; frame.number, tcp.stream,
                # udp.stream and frame.time_* from the packets passed in order
                ok = matches_frame(fr, i + 1)
            except Exception:
                self.errors += 1
                ok = False
            if ok:
                self.matched.append(i)
            self.scanned = i + 1
        return end - start
