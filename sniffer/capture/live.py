"""Live capture: TPACKET_V3 rings read by one thread, frames handed over in batches with backpressure.

Usage (the TUI, `sniffer capture`, anything that wants live frames)::

    from sniffer.capture.live import LiveCapture

    cap = LiveCapture(["eth0"], bpf="udp port 53", netns=None)   # or "any", or ["va", "vb"]
    cap.open()        # sockets + rings + filter; raises PrivilegeError / CaptureError / FilterError
    cap.start()       # the capture thread starts filling the queue
    try:
        for batch in cap.batches():        # list[Frame], ends after stop() once everything is handed over
            for frame in batch: ...        # decode here, never in the capture thread
            if enough: cap.stop()          # from any thread (or a signal handler)
    finally:
        cap.stop()
    print(cap.stats())   # CaptureStats(received, kernel_dropped, backpressure_dropped, captured)

For an event loop, poll instead of iterating: ``cap.get_batch(timeout=0)`` returns a list (maybe
empty) or ``None`` once the capture has ended; or pass ``callback=fn``: a delivery thread then calls
``fn(batch)`` (from that thread: use ``call_from_thread``/``post_message`` to reach a UI). Errors met
by the capture thread (the interface vanished: InterfaceGoneError) are raised by ``batches()`` /
``get_batch()`` after the frames captured before it, and kept in ``.error``. ``get_blocks()`` hands
the blocks over unparsed (``RingBlock``), for ``capture.ringfile.write_block`` (`capture -w`).

The capture thread only copies whole blocks out of the ring (one memcpy each) and gives the block
back to the kernel at once: the kernel never waits for a slow consumer. Blocks wait in a queue
bounded by ``buffer_bytes``; when it is full, new blocks are dropped and counted as
``backpressure_dropped`` (never silently). Frames are parsed from blocks on the consumer side.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sniffer.capture import bpf as bpfmod
from sniffer.capture.afpacket import (
    ARPHRD_LOOPBACK,
    DEFAULT_SNAPLEN,
    BlockParser,
    Interface,
    KernelStats,
    RingConfig,
    RxRing,
    interface_arphrd,
    interface_names,
    interface_state,
    lookup_interface,
)
from sniffer.errors import CaptureError, InterfaceGoneError, SnifferError, UsageError
from sniffer.frame import Frame
from sniffer.netns import netns as enter_netns

DEFAULT_BUFFER_BYTES = 256 << 20
_GONE = (errno.ENETDOWN, errno.ENXIO, errno.ENODEV)


class RingBlock(NamedTuple):
    """One block copied out of a capture ring, not parsed yet: ``parser.frames(data, packets)`` gives its
    Frames (``packets`` includes loopback's outgoing duplicates, which parsing skips)."""

    parser: BlockParser
    packets: int
    data: bytes


@dataclass(frozen=True)
class CaptureStats:
    """Counters of one live capture.

    received: packets that passed the kernel filter (PACKET_STATISTICS tp_packets, drops included;
        tcpdump's "received by filter").
    kernel_dropped: packets the kernel dropped because the ring was full (tcpdump's "dropped by kernel").
    backpressure_dropped: packets copied out of the ring but dropped because the consumer's queue was full.
    captured: packets handed to the consumer so far.
    """

    received: int = 0
    kernel_dropped: int = 0
    backpressure_dropped: int = 0
    captured: int = 0


class LiveCapture:
    """Capture on one or more interfaces (``"any"`` for all) in a background thread.

    Args:
        interfaces: an interface name or a list of names; ``"any"`` captures every interface with a
            LINUX_SLL2 header carrying each packet's interface and direction.
        bpf: capture filter in tcpdump syntax (compiled by libpcap, run in the kernel).
        snaplen: bytes kept per packet.
        promisc: put the interfaces in promiscuous mode (PACKET_ADD_MEMBERSHIP).
        netns: name of a network namespace (/run/netns) to open the sockets in; by default the
            namespace of the thread creating the LiveCapture (so it may be made inside ``with netns(...)``).
        ring: ring geometry per interface (default 256 x 256 KiB blocks = 64 MiB, 20 ms block timeout).
        buffer_bytes: bound of the queue between the capture thread and the consumer.
        callback: if given, a delivery thread calls ``callback(batch)`` for every batch.
    """

    def __init__(
        self,
        interfaces: str | Sequence[str] = "any",
        bpf: str | None = None,
        snaplen: int = DEFAULT_SNAPLEN,
        promisc: bool = True,
        *,
        netns: str | None = None,
        ring: RingConfig | None = None,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        callback: Callable[[list[Frame]], object] | None = None,
    ) -> None:
        names = [interfaces] if isinstance(interfaces, str) else list(interfaces)
        if not names:
            raise UsageError("no interface to capture on")
        if "any" in names and len(names) > 1:
            raise UsageError("'-i any' already captures every interface; give it alone")
        if len(set(names)) != len(names):
            raise UsageError("the same interface is given twice")
        if not 1 <= snaplen <= DEFAULT_SNAPLEN:
            raise UsageError(f"snap length must be 1..{DEFAULT_SNAPLEN}")
        self._ns_fd = -1
        if netns is None:
            self._remember_netns()
        self.names = names
        self.bpf = bpf or ""
        self.snaplen = snaplen
        self.promisc = promisc
        self.netns = netns
        self.ring = ring or RingConfig()
        self.buffer_bytes = buffer_bytes
        self.callback = callback
        self.interfaces: list[Interface] = []
        self.error: BaseException | None = None
        self._rings: list[RxRing] = []
        self._parsers: list[BlockParser] = []
        self._queue: deque[tuple[int, int, bytes]] = deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()
        self._exit = threading.Event()
        self._done = False
        self._thread: threading.Thread | None = None
        self._delivery: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._kstats = KernelStats()
        self._kstats_lock = threading.Lock()
        self._bp_dropped = 0
        self._captured = 0

    # -- setup -------------------------------------------------------------------------------------
    def _remember_netns(self) -> None:
        """Hold the creating thread's namespace: a LiveCapture made inside ``with netns(...)`` captures
        there even if opened from another thread (no setns, so no privilege, when it is the same)."""
        try:
            self._ns_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            self._ns_ino = os.fstat(self._ns_fd).st_ino
        except OSError:
            self._ns_fd = -1

    def _open_netns(self) -> str | None:
        if self.netns is not None or self._ns_fd < 0:
            return self.netns
        try:
            if os.stat("/proc/thread-self/ns/net").st_ino == self._ns_ino:
                return None
        except OSError:
            return None
        return f"/proc/self/fd/{self._ns_fd}"

    def __del__(self) -> None:
        if getattr(self, "_ns_fd", -1) >= 0:
            try:
                os.close(self._ns_fd)
            except OSError:
                pass

    def open(self) -> LiveCapture:
        """Open the sockets and rings and attach the filter (needs CAP_NET_RAW). Idempotent."""
        if self._rings:
            return self
        ns = self._open_netns()
        try:
            with enter_netns(ns):
                self.interfaces = [lookup_interface(n) for n in self.names]
                names = interface_names()
                loopbacks = {i for i, n in names.items() if _is_loopback(n)}
                programs: dict[int, list[bpfmod.Insn]] = {}
                for iface in self.interfaces:
                    if iface.linktype not in programs:
                        programs[iface.linktype] = self._program(iface)
                for iface in self.interfaces:
                    ring = RxRing(iface, promisc=self.promisc, ring=self.ring)
                    self._rings.append(ring)
                    ring.set_filter(programs[iface.linktype])
                    parser = BlockParser(iface, self.snaplen, dict(names), netns=ns)
                    parser.loopbacks |= loopbacks if iface.index == 0 else set()
                    self._parsers.append(parser)
        except BaseException:
            self._close_rings()
            raise
        return self

    def _program(self, iface: Interface) -> list[bpfmod.Insn]:
        prog = bpfmod.compile_bpf(self.bpf, iface.linktype, self.snaplen)
        if iface.cooked:
            prog = bpfmod.for_cooked_socket(prog, iface.linktype)
        return prog

    @property
    def linktype(self) -> int:
        """Link type of the first interface (all frames of a one-interface capture have it)."""
        if not self.interfaces:
            raise CaptureError("capture not opened")
        return self.interfaces[0].linktype

    def start(self) -> LiveCapture:
        """Open (if needed) and start the capture thread (and the delivery thread with a callback)."""
        self.open()
        if self._thread is not None:
            return self
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._run, name="sniffer-capture", daemon=True)
        self._thread.start()
        if self.callback is not None:
            self._delivery = threading.Thread(target=self._deliver, name="sniffer-delivery", daemon=True)
            self._delivery.start()
        return self

    def __enter__(self) -> LiveCapture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the capture thread ------------------------------------------------------------------------
    def _run(self) -> None:
        poller = select.poll()
        by_fd: dict[int, int] = {}
        for i, ring in enumerate(self._rings):
            poller.register(ring.fileno(), select.POLLIN | select.POLLERR)
            by_fd[ring.fileno()] = i
        poller.register(self._wake_r, select.POLLIN)
        last_stats = time.monotonic()
        try:
            while not self._exit.is_set():
                events = poller.poll(250)
                for fd, ev in events:
                    if fd == self._wake_r:
                        continue
                    i = by_fd[fd]
                    if ev & select.POLLERR:
                        self._check_error(i)
                    self._drain(i)
                # blocks may be ready on a ring poll did not report (several rings): drain all
                for i in range(len(self._rings)):
                    self._drain(i)
                now = time.monotonic()
                if now - last_stats > 1.0:
                    self._poll_stats()
                    last_stats = now
            self._final_drain()
        except BaseException as exc:  # kept and re-raised to the consumer
            self.error = exc
            try:
                for i in range(len(self._rings)):
                    self._drain(i)
            except BaseException:
                pass
        finally:
            self._poll_stats()
            self._close_rings()
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def _drain(self, i: int) -> None:
        limit = self.buffer_bytes
        cond = self._cond
        queue = self._queue
        for count, block in self._rings[i].blocks():
            if not count:
                continue
            with cond:
                if self._queued_bytes + len(block) > limit and queue:
                    self._bp_dropped += count
                    continue
                queue.append((i, count, block))
                self._queued_bytes += len(block)
                cond.notify()

    def _final_drain(self) -> None:
        # packets in the block the kernel is still filling are handed over at its next timeout
        deadline = time.monotonic() + self.ring.block_timeout_ms / 1000 * 2 + 0.05
        while time.monotonic() < deadline:
            for i in range(len(self._rings)):
                self._drain(i)
            if not any(r.pending_in_current_block() for r in self._rings):
                break
            time.sleep(0.005)
        for i in range(len(self._rings)):
            self._drain(i)

    def _check_error(self, i: int) -> None:
        ring = self._rings[i]
        err = ring.socket_error()
        if not err:
            return
        name = ring.iface.name
        if err in _GONE:
            state = interface_state(ring.sock, ring.iface.index) if not ring.closed else None
            why = "was removed" if state is None else "went down"
            raise InterfaceGoneError(f"interface {name!r} {why} ({os.strerror(err)}); capture stopped")
        raise CaptureError(f"capture on {name!r} failed: {os.strerror(err)}")

    def _poll_stats(self) -> None:
        with self._kstats_lock:
            for ring in self._rings:
                if not ring.closed:
                    self._kstats = self._kstats + ring.read_stats()

    def _close_rings(self) -> None:
        with self._kstats_lock:
            for ring in self._rings:
                ring.close()

    # -- the consumer side -------------------------------------------------------------------------
    def get_batch(self, timeout: float | None = None) -> list[Frame] | None:
        """The next batch of frames; ``[]`` if none came within ``timeout`` seconds; ``None`` at the end.

        Raises the capture thread's error (e.g. InterfaceGoneError) once every frame before it was returned.
        """
        blocks = self.get_blocks(timeout)
        if blocks is None:
            return None
        if not blocks:
            return []
        parser, count, block = blocks[0]
        frames = parser.frames(block, count)
        self._captured += len(frames)
        return frames

    def get_blocks(self, timeout: float | None = None) -> list[RingBlock] | None:
        """Like ``get_batch`` but unparsed: the next ring block as ``[RingBlock]`` (``[]`` if none came
        within ``timeout``, ``None`` at the end), for consumers that turn blocks into records themselves
        (``capture.ringfile.write_block``). They report what they kept with ``count_captured``."""
        with self._cond:
            if not self._queue and not self._done:
                self._cond.wait(timeout)
            if not self._queue:
                if self._done:
                    if self.error is not None and not getattr(self, "_raised", False):
                        self._raised = True
                        raise self.error
                    return None
                return []
            i, count, block = self._queue.popleft()
            self._queued_bytes -= len(block)
        return [RingBlock(self._parsers[i], count, block)]

    def count_captured(self, n: int) -> None:
        """Add ``n`` packets taken from ``get_blocks`` blocks to ``stats().captured``."""
        self._captured += n

    def batches(self, timeout: float | None = 0.25) -> Iterator[list[Frame]]:
        """Yield non-empty batches until the capture has stopped and everything was handed over."""
        if self._thread is None:
            self.start()
        while True:
            batch = self.get_batch(timeout)
            if batch is None:
                return
            if batch:
                yield batch

    def _deliver(self) -> None:
        assert self.callback is not None
        try:
            for batch in self.batches():
                self.callback(batch)
        except BaseException as exc:
            if self.error is None:
                self.error = exc
            self._exit.set()

    def stop(self, wait: bool = True) -> None:
        """Ask the capture thread to stop (safe from any thread, idempotent). Frames still queued
        stay available to ``batches()``/``get_batch()``; with a callback, waiting also means every batch
        was delivered. Sockets are closed when the thread ends."""
        self._exit.set()
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        if self._thread is None:
            self._close_rings()
            with self._cond:
                self._done = True
                self._cond.notify_all()
            return
        if wait and threading.current_thread() is not self._thread:
            self._thread.join()
            # with a callback, stop() returns only once every captured batch was delivered to it
            if self._delivery is not None and threading.current_thread() is not self._delivery:
                self._delivery.join()
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._wake_r = self._wake_w = -1

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the capture thread to end; True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stats(self) -> CaptureStats:
        """Counters so far (kernel counters are read live while the capture runs)."""
        if self.running:
            self._poll_stats()
        with self._kstats_lock:
            k = self._kstats
        return CaptureStats(k.received, k.dropped, self._bp_dropped, self._captured)


def _is_loopback(name: str) -> bool:
    try:
        return interface_arphrd(name) == ARPHRD_LOOPBACK
    except SnifferError:
        return False
