"""Packet sources for the TUI: file loader (streamed, growing files, FIFOs), playback in recorded time, live.

Each source runs in its own thread and only appends to a PacketStore; the UI reads the store on a
timer, so a source never waits for the UI.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sniffer.errors import SnifferError
from sniffer.frame import Frame
from sniffer.model.store import PacketStore
from sniffer.ui.adapters import LiveSource, LiveStats

BATCH = 4096
BATCH_SECONDS = 0.05
#: longest a file loader waits, after its first rows, for the UI to paint them (see Source.first_shown)
FIRST_PAINT_WAIT = 1.0


@dataclass
class SourceStatus:
    """What the status bar shows about a source."""

    kind: str  # "file" | "live" | "playback"
    name: str
    done: bool = False
    progress: float | None = None  # 0..1 while loading a file
    error: str = ""
    paused: bool = False


class TailFile:
    """A read-only file object over a growing file: reads wait for more data until stopped."""

    def __init__(
        self, path: str, stop: threading.Event, poll: float = 0.1, on_idle: Callable[[], None] | None = None
    ) -> None:
        self._f = open(path, "rb", buffering=0)
        self._stop = stop
        self._poll = poll
        self._on_idle = on_idle

    def read1(self, n: int = -1) -> bytes:
        """Whatever is available (up to ``n``), waiting while there is nothing; b"" once stopped."""
        while True:
            chunk = self._f.read(n if n and n > 0 else 1 << 16)
            if chunk:
                return chunk
            if self._on_idle is not None:
                self._on_idle()  # at the end of the file: hand over what was read so far
            if self._stop.wait(self._poll):
                return b""

    read = read1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._f.close()


class Source:
    """Base: a thread that fills ``store``; ``status`` is read by the UI."""

    #: field columns the packet list shows first for this source (besides the user's profile)
    columns: tuple[str, ...] = ()

    def __init__(self, store: PacketStore, status: SourceStatus) -> None:
        self.store = store
        self.status = status
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_done: Callable[[], None] | None = None
        #: when set up by the UI, a file loader pauses after its first rows until the UI sets this
        #: event (at most FIRST_PAINT_WAIT): the first paint does not compete with indexing for the GIL
        self.first_shown: threading.Event | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._guarded, name=f"sniffer-{self.status.kind}", daemon=True)
        self._thread.start()

    def _guarded(self) -> None:
        try:
            self.run()
        except SnifferError as exc:
            self.status.error = str(exc)
        except OSError as exc:
            self.status.error = f"{self.status.name}: {exc.strerror or exc}"
        finally:
            self.status.done = True
            self.status.progress = None
            if self.on_done is not None:
                self.on_done()

    def run(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        if self.first_shown is not None:
            self.first_shown.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def stats(self) -> LiveStats | None:
        return None

    # playback controls (no-ops for other sources)
    def set_paused(self, paused: bool) -> None:
        self.status.paused = paused

    def step(self) -> None:
        pass


def _is_stream(path: str) -> bool:
    if path == "-":
        return True
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode) or stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def make_store(path: str) -> PacketStore:
    """The right store for ``path``: offsets into the file, or a spool for pipes and stdin."""
    return PacketStore(spool=True) if _is_stream(path) else PacketStore(path)


class FileSource(Source):
    """Index a capture file, streamed in batches; with ``follow``, keep reading as it grows."""

    def __init__(self, path: str, store: PacketStore, follow: bool = False) -> None:
        super().__init__(store, SourceStatus("file", path, progress=0.0))
        self.path = path
        self.follow = follow
        self.size = 0 if _is_stream(path) else os.path.getsize(path)
        self._batch: list[tuple[int, Frame]] = []

    def _open(self) -> Any:
        from sniffer.capture.pcapfile import open_capture

        if self.follow and not _is_stream(self.path):
            self._tail = TailFile(self.path, self._stop, on_idle=self._flush)
            return open_capture(self._tail)  # type: ignore[arg-type]
        return open_capture(self.path)

    def run(self) -> None:
        store = self.store
        reader = self._open()
        try:
            if store.spool is not None or self.follow:
                if store.spool is None:  # growing file: offsets are valid in the file itself
                    self._run_offsets(reader)
                else:
                    self._run_frames(reader)
            else:
                self._run_offsets(reader)
        finally:
            reader.close()
            if getattr(self, "_tail", None) is not None:
                self._tail.close()

    def _flush(self) -> None:
        if self._batch:
            self.store.append_batch(self._batch)
            self.status.progress = min(1.0, self._batch[-1][0] / max(self.size, 1))
            self._batch = []

    def _run_offsets(self, reader: Any) -> None:
        self._batch = []
        t0 = time.monotonic()
        try:
            for item in reader.iter_with_offsets():
                self._batch.append(item)
                # the first rows go out at once (first screen), then big batches
                limit = 64 if self.store.count == 0 else BATCH
                if len(self._batch) >= limit or (time.monotonic() - t0) > BATCH_SECONDS:
                    first = self.store.count == 0
                    self._flush()
                    if first and self.first_shown is not None:
                        self.first_shown.wait(FIRST_PAINT_WAIT)  # let the UI paint the first screen
                    t0 = time.monotonic()
                    if self._stop.is_set():
                        return
        finally:
            # a truncated or damaged file raises after its last good packet: those packets stay
            self._flush()

    def _run_frames(self, reader: Any) -> None:
        batch: list[Frame] = []
        t0 = time.monotonic()
        try:
            for frame in reader:
                batch.append(frame)
                if len(batch) >= BATCH or (time.monotonic() - t0) > BATCH_SECONDS:
                    self.store.append_batch(batch)
                    batch = []
                    t0 = time.monotonic()
                    if self._stop.is_set():
                        return
        finally:
            # a pipe closed in the middle of a packet raises after the last good one: those stay
            if batch:
                self.store.append_batch(batch)


class MergedFileSource(FileSource):
    """Several capture files (a ring of `capture -C/-G` files) as one capture in time order, copied
    into a spool store (offsets would point into different files)."""

    def __init__(self, paths: list[str], store: PacketStore) -> None:
        """``paths`` in time order (MergedReader.paths): the status bar names the oldest file."""
        Source.__init__(
            self, store, SourceStatus("file", f"{paths[0]} (+{len(paths) - 1} files)", progress=None)
        )
        self.paths = paths
        self.path = paths[0]
        self.follow = False
        self.size = 0
        self._batch = []

    def _open(self) -> Any:
        from sniffer.capture.fileset import MergedReader

        return MergedReader(self.paths)


class PlaybackSource(Source):
    """Play a capture file into the store in recorded time (``speed`` x, 0 = as fast as possible), with
    pause and single step, paced by the shared scheduler (sniffer/timing.py)."""

    def __init__(self, path: str, store: PacketStore, speed: float) -> None:
        super().__init__(store, SourceStatus("playback", path))
        self.path = path
        self.speed = speed
        self._steps = 0
        self._lock = threading.Lock()
        self._sched = self._new_scheduler()

    def _new_scheduler(self) -> Any:
        from sniffer.timing import Scheduler

        # no spinning: a UI does not need microsecond pacing, and must not burn a core
        return Scheduler(multiplier=self.speed or 1.0, topspeed=self.speed == 0, spin_ns=0)

    def set_paused(self, paused: bool) -> None:
        self.status.paused = paused
        if paused:
            self._sched.pause()
        else:
            self._sched.resume()

    def step(self) -> None:
        with self._lock:
            self._steps += 1
        self._sched.stop()  # end a wait in progress; run() starts a fresh schedule

    def stop(self) -> None:
        self._stop.set()
        if self.first_shown is not None:
            self.first_shown.set()
        self._sched.stop()
        super().stop()

    def _hold(self) -> bool:
        """While paused, wait for a step (True) or resume (True); False when stopping."""
        while self.status.paused:
            with self._lock:
                if self._steps > 0:
                    self._steps -= 1
                    return True
            if self._stop.wait(0.02):
                return False
        return True

    def run(self) -> None:
        from sniffer.capture.pcapfile import open_capture

        with open_capture(self.path) as reader:
            for off, frame in reader.iter_with_offsets():
                while True:
                    if self._stop.is_set():
                        return
                    if self.status.paused:
                        if not self._hold():
                            return
                        # stepped (still paused) or resumed: the schedule restarts at the next packet
                        self._sched = self._new_scheduler()
                        if self.status.paused:
                            break
                    sched = self._sched
                    sched.wait(frame.ts_ns, len(frame.data))
                    if sched.stopped:  # a step or stop ended the wait: decide again
                        if self._sched is sched:
                            self._sched = self._new_scheduler()
                        continue
                    break
                self.store.append_batch([(off, frame)])


class LiveCaptureSource(Source):
    """Live capture into a spool store through the capture engine."""

    def __init__(
        self,
        interfaces: list[str],
        store: PacketStore,
        bpf: str | None = None,
        snaplen: int = 262144,
        netns: str | None = None,
    ) -> None:
        super().__init__(store, SourceStatus("live", ",".join(interfaces)))
        self.live = LiveSource(
            interfaces, store.append_batch, bpf=bpf, snaplen=snaplen, on_error=self._error, netns=netns
        )

    def _error(self, exc: BaseException) -> None:
        self.status.error = str(exc) if isinstance(exc, SnifferError) else f"capture stopped: {exc}"
        self.status.done = True

    def open(self) -> None:
        self.live.open()

    def start(self) -> None:
        self.live.start()

    def stats(self) -> LiveStats:
        return self.live.stats()

    def stop(self) -> None:
        self.live.stop()


def open_file_source(
    path: str | list[str], follow: bool = False, speed: float | None = None
) -> tuple[PacketStore, Source]:
    """Store and source for ``-r PATH`` (``speed``: playback in recorded time, 0 = max). Several
    paths, a directory or a glob (a ring of files) give one capture in time order."""
    paths = [path] if isinstance(path, str) else list(path)
    if (
        len(paths) > 1
        or os.path.isdir(paths[0])
        or (not os.path.exists(paths[0]) and any(c in paths[0] for c in "*?["))
    ):
        from sniffer.capture.fileset import MergedReader, expand_inputs
        from sniffer.errors import UsageError

        if follow or speed is not None:
            raise UsageError("--follow and --speed take one file, not several")
        files = expand_inputs(paths)
        if not files:
            raise SnifferError(f"{' '.join(paths)}: no capture files there")
        if len(files) > 1:
            with MergedReader(files) as rd:  # checks every file's header now, before the UI starts
                files = rd.paths  # oldest first
            spool = PacketStore(spool=True)
            return spool, MergedFileSource(files, spool)
        paths = files
    path = paths[0]
    if path != "-" and not os.path.exists(path):
        raise SnifferError(f"{path}: no such file")
    if path != "-" and os.path.isdir(path):
        raise SnifferError(f"{path}: is a directory, give a capture file")
    if path != "-" and not _is_stream(path) and not (follow and os.path.getsize(path) == 0):
        from sniffer.capture.pcapfile import open_capture

        with open_capture(path):  # checks the file header now: a bad file fails before the UI starts
            pass
    if speed is not None and not _is_stream(path):
        store = PacketStore(path)
        return store, PlaybackSource(path, store, speed)
    store = make_store(path)
    return store, FileSource(path, store, follow=follow)
