"""The one packet scheduler, shared by `sniffer replay` and the TUI's playback: when is each packet due.

Pacing modes (one at a time):
  recorded  due = origin + (ts - first_ts) / multiplier        (--multiplier X, X=1 is recorded time;
            a timestamp earlier than the previous packet's: due right after it)
  pps       due = origin + k / pps                             (k = packets already scheduled)
  mbps      due = origin + bits scheduled before / (mbps * 1e6)
  topspeed  due = now (no waiting)

Waiting is hybrid: sleep until ``spin_ns`` before the due time (with the timer slack at 1 ns, see
precise_sleeps(), the kernel wakes us up some 10-60 us late, more under load), then spin on the
monotonic clock, so packets leave within a few microseconds of their due time when the CPU is ours.
The sender stays off the CPU 8 % of each 150 us window (wall time less its CPU time; when its sleeps
fall short it blocks, waking as near the next due time as it can): a real-time spinner would
otherwise be throttled by the kernel for 50 ms each second. The schedule is absolute (every due time derives from one
origin), so errors never accumulate: a late packet does not delay the ones after it.

Pausing keeps the schedule: resume() moves the origin by the time spent paused, so nothing rushes.
set_multiplier() re-anchors at the current packet, so a speed change applies from there on.
Everything here is stdlib and thread-safe for one sending thread plus any number of controllers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

NS = 1_000_000_000
DEFAULT_SPIN_NS = 80_000  # spin the last 80 us: above the wake-up latency with no timer slack
MAX_SLEEP_SLICE = 0.05  # sleep in slices so pause/stop are noticed within 50 ms
# The sender stays off the CPU OFF_SHARE of the time, measured every RUN_LIMIT_NS window as wall time
# less its own CPU time (time.thread_time_ns): a SCHED_FIFO task that spins without pause is throttled
# by the kernel for 50 ms of every second (sched_rt_runtime_us 950000 of sched_rt_period_us 1000000;
# measured: 52 ms silences once a second at --pps 10000 when it spun through), and under SCHED_OTHER a
# task that never sleeps loses its CPU for whole time slices to the others. The sleeps before each spin
# count; when they fall short the sender blocks at the end of the window, asking for what is left until
# the due time less what a sleep costs beyond its length (learnt: ~25 us on this nested VM, where a
# 1-5 us sleep costs ~24 us of wall time and ~1 us off the CPU, and a 10 us one ~36 us wall and ~18 us
# off), at least MIN_ASK_NS and at least the shortfall, so the block ends as near the due time as it
# can: the packet due next is late by what the block overran, not by the whole block. Until session 6
# it blocked 30 us (100 us before session 5) in all per 300 us counted as the sleeps' wall time, which
# overstated the time off the CPU: at --pps 50000 each forced block took ~60 us and ~15 % of the
# packets left 40-60 us late (the p99).
RUN_LIMIT_NS = 150_000
OFF_SHARE = 0.08  # the kernel throttles below 5 %
MIN_ASK_NS = 10_000  # a shorter sleep costs as much wall time and gives ~1 us off the CPU
WAKE_GUESS_NS = 25_000  # a sleep's cost beyond what it asks, until measured
# Short intervals (session 8): at DEMOTE_BELOW_NS or less between packets (--pps 25000 and up) every
# forced block makes a packet late (a sleep costs >= 25 us of wall time here, more than the interval),
# so at least OFF_SHARE of the packets leave late and the p99 is a block's length (the idle 50k pps
# p99 of session 7: 46.6 us vs tcpreplay's 26.6 us). There, while the machine is quiet, the sender
# leaves the kernel its share differently: it spins on, but the last OFF_SHARE of each
# DEMOTE_WINDOW_NS runs under SCHED_OTHER (set_realtime(False), then back to SCHED_FIFO, ~2 us a
# switch): the RT throttle counts only SCHED_FIFO time, and the kernel's fair server counts any CFS
# task's run time, ours too; a task that waited for this CPU runs then. Quiet means the CPU pressure
# (PSI, /proc/pressure/cpu "some avg10", read every PRESSURE_EVERY_NS) at most QUIET_PRESSURE_PCT:
# under load another task takes a CPU from a SCHED_OTHER sender for a whole slice (measured at load
# ~4: 3-6 ms silences, p99 30-180 us against 13-25 us with the blocks), so there the blocks stay.
# Should another task still take the CPU (a packet late by CONTENDED_NS while SCHED_OTHER), the
# sender goes back to the blocks for CONTENDED_BACKOFF_NS, twice as long after each time.
# Session 9: with two CPUs or more allowed, the sender leaves the kernel its share without any spell or
# block: the RT throttle counts each CPU's SCHED_FIFO time separately (950 ms of every 1 s per CPU), so
# a sender that moves to another allowed CPU every MOVE_EVERY_NS spins at most about half of any period
# on either CPU, and neither is throttled. Measured on this 2-vCPU machine (3 s of SCHED_FIFO spinning,
# the largest gap between consecutive clock reads): on one CPU 46-50 ms once a second (the throttle);
# moving every 400 ms, 0.39 ms. A move (sched_setaffinity of the sending thread, a few us) happens in
# the slack before a packet's spin. Tasks bound to the CPU being spun on run on the kernel's fair
# server (CFS gets its 50 ms per second there), the same guarantee as under the throttle; and while
# the CPU is busy (pressure above QUIET_PRESSURE_PCT) or another task took the CPU from us, the
# forced blocks stay, as with the spells. With one allowed CPU the SCHED_OTHER spells below remain.
MOVE_EVERY_NS = 100_000_000
# While moving, only a packet this late means another task had the CPU (the fair server runs starved
# tasks for up to 50 ms): the host's own stalls of the virtual CPU (0.1-1 ms often, 6.4-6.5 ms a few
# times a run here; session 8's perf trace showed the sender never switched out during them) are not
# helped by the blocks, and going back to the blocks after one cost a run its p99 (72 us).
MOVING_CONTENDED_NS = 8_000_000
DEMOTE_BELOW_NS = 40_000
DEMOTE_WINDOW_NS = 1_000_000
QUIET_PRESSURE_PCT = 10.0
PRESSURE_EVERY_NS = 100_000_000
CONTENDED_NS = 100_000
CONTENDED_BACKOFF_NS = 1_000_000_000
CPU_PRESSURE = "/proc/pressure/cpu"
PR_SET_TIMERSLACK = 29
CPU_DMA_LATENCY = "/dev/cpu_dma_latency"


def precise_sleeps() -> bool:
    """Timer slack 1 ns for this thread (default 50 us: sleeps may end that much later). True if set."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def hold_cpu_awake() -> BinaryIO | None:
    """Ask the kernel for a CPU wake-up latency of 0 while the returned file is open (PM QoS, as
    cyclictest does): idle CPUs then poll instead of halting. None if not allowed (root only).

    On a VM a halted virtual CPU runs again only when the host gets round to it, so the timer that ends
    a sleep fires late. Measured on this 2-vCPU VM (perf: each hrtimer_expire_entry's time against the
    timer's expiry, 120-packet replays at SCHED_FIFO): the sender's timer interrupt came p50 30 us late
    and 1-3 times a run 0.3-2.4 ms late, the CPU idle every time, while the guest then ran the sender
    within ~50 us; holding this request: p50 15 us and none over 250 us in 9 of 9 quiet runs. When the
    host itself is saturated even a polling vCPU waits (1.3-1.9 ms seen): that no guest can avoid.
    The request ends when the file is closed (or the process ends, however): nothing is left behind.
    """
    import struct

    try:
        f = open(CPU_DMA_LATENCY, "wb", buffering=0)
    except OSError:
        return None
    try:
        f.write(struct.pack("=i", 0))
    except OSError:
        f.close()
        return None
    return f


def cpu_pressure(path: str = CPU_PRESSURE) -> float:
    """% of the last 10 s in which some task waited for a CPU (PSI "some avg10"); 100.0 when the
    kernel does not say (no PSI): then the machine counts as busy."""
    try:
        with open(path, "rb") as f:
            line = f.readline()
        return float(line.split(b"avg10=", 1)[1].split(None, 1)[0])
    except (OSError, IndexError, ValueError):
        return 100.0


@dataclass
class TimingStats:
    """How well the schedule was kept: lateness of each packet's actual time vs its due time."""

    packets: int = 0
    total_abs_ns: int = 0
    max_abs_ns: int = 0
    late_over_1ms: int = 0

    def add(self, error_ns: int) -> None:
        a = abs(error_ns)
        self.packets += 1
        self.total_abs_ns += a
        if a > self.max_abs_ns:
            self.max_abs_ns = a
        if a > 1_000_000:
            self.late_over_1ms += 1

    @property
    def mean_abs_ns(self) -> float:
        return self.total_abs_ns / self.packets if self.packets else 0.0


@dataclass
class Scheduler:
    """Decides when each packet is due and waits for it.

    Args:
        multiplier: recorded-time speed (2.0 = twice as fast); used when pps/mbps/topspeed are unset.
        pps: packets per second, ignoring recorded timestamps.
        mbps: megabits per second (10^6), counting each packet's bytes as given to wait()/due().
        topspeed: never wait.
        spin_ns: how long before the due time sleeping stops and spinning starts.
        clock: monotonic nanosecond clock (injectable for tests).
        cpu_clock: the sending thread's CPU time in ns (injectable for tests).
        set_realtime: switches the sending thread between SCHED_FIFO (True) and SCHED_OTHER (False);
            given when the sender runs SCHED_FIFO: at --pps rates with intervals up to DEMOTE_BELOW_NS
            it then spends OFF_SHARE of the time under SCHED_OTHER instead of blocking while the CPU
            is quiet (see use_class_switch()).
        pressure: the CPU pressure, % of time some task waited for a CPU (default cpu_pressure()).
        move_cpu: moves the sending thread to its next allowed CPU (given with set_realtime when two
            or more CPUs are allowed): at those intervals, while quiet, the sender then moves every
            MOVE_EVERY_NS instead of taking SCHED_OTHER spells (see MOVE_EVERY_NS).
    """

    multiplier: float = 1.0
    pps: float | None = None
    mbps: float | None = None
    topspeed: bool = False
    spin_ns: int = DEFAULT_SPIN_NS
    clock: Callable[[], int] = time.monotonic_ns
    cpu_clock: Callable[[], int] = time.thread_time_ns
    set_realtime: Callable[[bool], object] | None = None
    pressure: Callable[[], float] | None = None
    move_cpu: Callable[[], object] | None = None
    stats: TimingStats = field(default_factory=TimingStats)

    def __post_init__(self) -> None:
        modes = sum(x is not None for x in (self.pps, self.mbps)) + bool(self.topspeed)
        if modes > 1:
            raise ValueError("choose one of pps, mbps, topspeed")
        if self.pps is not None and self.pps <= 0:
            raise ValueError("pps must be > 0")
        if self.mbps is not None and self.mbps <= 0:
            raise ValueError("mbps must be > 0")
        if not self.multiplier > 0:
            raise ValueError("multiplier must be > 0")
        self._origin_wall: int | None = None  # monotonic ns of the schedule's origin
        self._origin_ts = 0  # recorded ts (ns) at the origin
        self._count = 0  # packets scheduled since the origin (pps)
        self._bits = 0  # bits scheduled since the origin (mbps)
        self._last_due = 0
        self._paused_at: int | None = None
        self._shift = 0  # total ns spent paused
        self._due_shift = 0  # _shift when the last due() was computed
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # CPU given back: OFF_SHARE of each window of RUN_LIMIT_NS, off the CPU (see _give_back)
        self._win_start = self.clock()
        self._win_cpu = self.cpu_clock()
        self._balance = 0  # ns off the CPU beyond (> 0) or short of (< 0) OFF_SHARE, carried over
        self._wake_ns = WAKE_GUESS_NS
        self._demote = False
        self._fifo = True  # the sender's class as we set it last
        self._quiet = False  # the CPU pressure was low at the last reading
        self._next_pressure = 0  # when to read it again
        self._contended_until = 0  # blocks (not SCHED_OTHER) until then: another task wanted the CPU
        self.demotions = 0  # windows ended under SCHED_OTHER
        self.contended = 0  # times another task took the CPU while we were SCHED_OTHER (or moving)
        self.moves = 0  # moves to another CPU (move_cpu)
        self.use_class_switch(self.set_realtime, self.pressure, self.move_cpu)

    def use_class_switch(
        self,
        set_realtime: Callable[[bool], object] | None,
        pressure: Callable[[], float] | None = None,
        move_cpu: Callable[[], object] | None = None,
    ) -> None:
        """The sender runs SCHED_FIFO and set_realtime(fifo) switches it (None: it does not): at --pps
        rates with intervals up to DEMOTE_BELOW_NS it then ends each window under SCHED_OTHER instead
        of blocking, while the CPU pressure (``pressure``, default cpu_pressure()) is low; or, given
        ``move_cpu``, moves to another CPU every MOVE_EVERY_NS and spins through."""
        self.set_realtime = set_realtime
        self.pressure = pressure or cpu_pressure
        self.move_cpu = move_cpu
        self._demote = (
            set_realtime is not None
            and self.pps is not None
            and NS / self.pps <= DEMOTE_BELOW_NS
            and self.spin_ns > 0
        )

    @property
    def mode(self) -> str:
        if self.topspeed:
            return "topspeed"
        if self.pps is not None:
            return "pps"
        if self.mbps is not None:
            return "mbps"
        return "recorded"

    # -- the schedule -----------------------------------------------------------------------------
    def due(self, ts_ns: int, size: int = 0) -> int:
        """Monotonic ns at which the next packet (recorded at ts_ns, `size` bytes) is due; advances
        the schedule by one packet. The first packet is due now."""
        with self._lock:
            if self._origin_wall is None:
                self._origin_wall = self._win_start = self.clock()
                self._win_cpu = self.cpu_clock()
                self._balance = 0
                self._origin_ts = ts_ns
                self._count = 0
                self._bits = 0
            origin = self._origin_wall
            if self.topspeed:
                d = self.clock()
            elif self.pps is not None:
                d = origin + int(self._count * NS / self.pps)
            elif self.mbps is not None:
                d = origin + int(self._bits * 1000 / self.mbps)  # bits / (mbps*1e6) s, in ns
            else:
                d = origin + int((ts_ns - self._origin_ts) / self.multiplier)
                if d < self._last_due:
                    # recorded time going backwards (merged captures, pcapng SPBs without a
                    # timestamp): right after the previous packet, never "late" by the difference
                    d = self._last_due
            self._count += 1
            self._bits += size * 8
            self._last_due = d
            self._due_shift = self._shift
            return d

    def wait_until(self, due_ns: int) -> int:
        """Sleep, then spin, until monotonic time due_ns (honouring pause and stop).

        Returns the lateness in ns (>= 0 unless stopped early); the caller sends right after.
        """
        clock = self.clock
        base = due_ns - self._due_shift
        while True:
            if not self._resume.is_set():
                while not self._resume.wait(MAX_SLEEP_SLICE):
                    if self._stop.is_set():
                        return 0
                self._win_start, self._win_cpu, self._balance = clock(), self.cpu_clock(), 0
            if self._stop.is_set():
                return 0
            due_ns = base + self._shift  # a pause moves every due time by its length
            remaining = due_ns - clock()
            if remaining <= self.spin_ns:
                break
            self._sleep((remaining - self.spin_ns) / NS)
        now = clock()
        if self._demote and self._may_demote(now):
            if self.move_cpu is not None:
                self._move_step(now)
            else:
                self._demote_step(now)
        elif self.spin_ns and now - self._win_start >= RUN_LIMIT_NS:
            now = self._give_back(now, due_ns)
        while now < due_ns:
            now = clock()
        late = now - due_ns
        if not self._fifo:
            if late > CONTENDED_NS:
                self._taken(now)
        elif late > MOVING_CONTENDED_NS and self._quiet and self._demote and self.move_cpu is not None:
            self._taken(now)
        return late

    def _taken(self, now: int) -> None:
        """Another task ran while we were SCHED_OTHER: back to SCHED_FIFO and the forced blocks, for
        longer each time."""
        self._set_fifo(True)
        self.contended += 1
        self._contended_until = now + (CONTENDED_BACKOFF_NS << min(self.contended - 1, 10))
        self._next_pressure, self._quiet = self._contended_until, False
        self._win_start, self._win_cpu, self._balance = now, self.cpu_clock(), 0

    def _set_fifo(self, fifo: bool) -> None:
        assert self.set_realtime is not None
        self.set_realtime(fifo)
        self._fifo = fifo

    def _may_demote(self, now: int) -> bool:
        """Whether this window may end under SCHED_OTHER: the CPU is quiet and was not taken from us
        lately. On a change either way the window starts afresh (its accounting differs)."""
        if now >= self._next_pressure:
            assert self.pressure is not None
            self._next_pressure = now + PRESSURE_EVERY_NS
            quiet = now >= self._contended_until and self.pressure() <= QUIET_PRESSURE_PCT
            if quiet != self._quiet:
                self._quiet = quiet
                if not self._fifo:
                    self._set_fifo(True)
                self._win_start, self._win_cpu, self._balance = now, self.cpu_clock(), 0
        return self._quiet

    def _move_step(self, now: int) -> None:
        """To the next allowed CPU every MOVE_EVERY_NS (no spell, no block: see MOVE_EVERY_NS)."""
        if now - self._win_start >= MOVE_EVERY_NS:
            assert self.move_cpu is not None
            self.move_cpu()
            self.moves += 1
            self._win_start = now

    def _demote_step(self, now: int) -> None:
        """SCHED_OTHER for the last OFF_SHARE of each DEMOTE_WINDOW_NS, SCHED_FIFO the rest."""
        into = now - self._win_start
        if self._fifo:
            if into >= DEMOTE_WINDOW_NS * (1 - OFF_SHARE):
                self._set_fifo(False)
                self.demotions += 1
        elif into >= DEMOTE_WINDOW_NS + CONTENDED_NS:  # the spell overran: the CPU was taken
            self._taken(now)
        elif into >= DEMOTE_WINDOW_NS:
            self._set_fifo(True)
            self._win_start = now

    def _give_back(self, now: int, due_ns: int) -> int:
        """At the end of a window: count its time off the CPU against OFF_SHARE of it (a shortfall
        is carried over, a surplus up to one window's share) and, while short, block so as to wake
        at due_ns (see RUN_LIMIT_NS). Returns the clock after it."""
        cpu = self.cpu_clock()
        window = now - self._win_start
        need = int(window * OFF_SHARE)
        balance = min(self._balance + window - (cpu - self._win_cpu) - need, need)
        self._win_start, self._win_cpu = now, cpu  # the block below counts in the next window
        if balance < 0:
            ask = max(due_ns - now - self._wake_ns, -balance, MIN_ASK_NS)
            time.sleep(ask / NS)
            after = self.clock()
            self._wake_ns += (after - now - ask - self._wake_ns) // 8
            now = after
        self._balance = balance
        return now

    def _sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, MAX_SLEEP_SLICE))

    def wait(self, ts_ns: int, size: int = 0) -> int:
        """due() then wait_until(); records and returns the lateness (ns)."""
        if self.topspeed:
            self.due(ts_ns, size)
            return 0
        late = self.wait_until(self.due(ts_ns, size))
        self.stats.add(late)
        return late

    # -- control (any thread) ---------------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            if self._paused_at is None:
                self._paused_at = self.clock()
                self._resume.clear()

    def resume(self) -> None:
        with self._lock:
            if self._paused_at is not None:
                delta = self.clock() - self._paused_at
                self._shift += delta
                if self._origin_wall is not None:
                    self._origin_wall += delta
                self._paused_at = None
                self._resume.set()

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def stop(self) -> None:
        """Make any wait return at once (for shutting down)."""
        self._stop.set()
        self._resume.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def restart(self) -> None:
        """Forget the origin: the next packet is due at once and becomes the new origin (a new loop,
        a seek, or resuming after a single step)."""
        with self._lock:
            self._origin_wall = None

    def continue_from_last(self, ts_ns: int) -> None:
        """Re-anchor so that a packet recorded at ts_ns is due at the last due time (seamless loops)."""
        with self._lock:
            if self._origin_wall is None or self.pps is not None or self.mbps is not None:
                return  # a rate knows no recorded time: the next loop simply goes on at that rate
            self._origin_wall = self._last_due
            self._origin_ts = ts_ns
            self._count = 0
            self._bits = 0

    def set_multiplier(self, multiplier: float, ts_ns: int) -> None:
        """Change the recorded-time speed from the packet recorded at ts_ns on (due now)."""
        if not multiplier > 0:
            raise ValueError("multiplier must be > 0")
        with self._lock:
            self.multiplier = multiplier
            if self._origin_wall is not None:
                self._origin_wall = self.clock()
                self._origin_ts = ts_ns
