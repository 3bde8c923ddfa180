"""`sniffer replay FILE -i IFACE`: send a capture back onto an interface with its timing, and report."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from sniffer.errors import SnifferError, UsageError
from sniffer.frame import Frame


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="send the packets of a pcap/pcapng onto an interface, in recorded time or at a set rate",
        description="Send every packet of FILE onto IFACE through AF_PACKET, at the recorded timing "
        "(--multiplier scales it) or at a fixed rate. Frames of Linux SLL/SLL2, raw IP and NULL captures "
        "are converted to Ethernet; other link types, and packets bigger than the MTU, are skipped and "
        "counted. Ends with a report: packets/bytes sent, skipped, failed, rate, timing error.",
    )
    p.add_argument("file", help="capture file (pcap or pcapng), or - for standard input")
    p.add_argument("-i", "--interface", required=True, help="interface to send on (e.g. lo, a veth)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument(
        "--multiplier", "-x", type=float, default=1.0, metavar="X", help="recorded time sped up X times"
    )
    pace.add_argument("--pps", type=float, metavar="N", help="N packets per second, ignoring timestamps")
    pace.add_argument("--mbps", type=float, metavar="N", help="N megabits per second, ignoring timestamps")
    pace.add_argument("--topspeed", "-t", action="store_true", help="as fast as possible")
    p.add_argument(
        "--loop", type=int, default=1, metavar="N", help="replay the file N times (0: until stopped)"
    )
    p.add_argument("--limit", type=int, metavar="N", help="stop after sending N packets")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "-Y", dest="filter", metavar="FILTER", help="replay only packets matching this display filter"
    )
    p.add_argument(
        "--src-mac",
        "--enet-smac",
        metavar="MAC",
        help="source MAC: rewrites Ethernet frames; for converted frames the default is the interface's",
    )
    p.add_argument(
        "--dst-mac",
        "--enet-dmac",
        metavar="MAC",
        help="destination MAC: rewrites Ethernet frames; for converted frames the default is 02:00:00:00:00:02",
    )
    p.add_argument(
        "--srcipmap",
        metavar="NET:NET[,...]",
        help="rewrite source addresses of the first network into the second (10.0.0.0/8:192.168.0.0/16)",
    )
    p.add_argument("--dstipmap", metavar="NET:NET[,...]", help="the same for destination addresses")
    p.add_argument("--pnat", metavar="NET:NET[,...]", help="the same for both source and destination")
    p.add_argument(
        "--fixcsum", action="store_true", help="recompute IP/TCP/UDP/ICMP checksums of every packet"
    )
    p.add_argument(
        "--unique-ip",
        action="store_true",
        help="with --loop: add the pass number to source and destination addresses (new flows each pass)",
    )
    pre = p.add_mutually_exclusive_group()
    pre.add_argument(
        "--preload-pcap",
        action="store_true",
        help="read the whole file into memory before sending (timed modes do it by themselves for "
        "files up to 32 MiB)",
    )
    pre.add_argument(
        "--no-preload",
        dest="preload",
        action="store_false",
        help="never preload: timed modes then read ahead in a thread (bounded), --topspeed as it goes",
    )
    p.add_argument(
        "--stats", type=float, metavar="S", help="print the counters every S seconds while sending"
    )
    p.add_argument(
        "--intf2",
        metavar="IFACE",
        help="second interface: server -> client packets go there (tcpprep's split: --cidr or --server-port)",
    )
    p.add_argument("--cidr", metavar="NET[,NET]", help="--intf2: sources in these networks are the clients")
    p.add_argument(
        "--server-port", metavar="PORT[,PORT]", help="--intf2: TCP/UDP source ports that are the servers'"
    )
    p.add_argument("--netns", metavar="NS", help="the interface lives in this network namespace")
    p.add_argument(
        "--no-realtime",
        dest="realtime",
        action="store_false",
        help="do not raise the sender to SCHED_FIFO priority nor ask for a CPU wake-up latency of 0 "
        "(by default both, when allowed and when the timing matters: they keep the timing error in "
        "microseconds on a busy machine; while the request holds, idle CPUs poll instead of halting)",
    )
    p.add_argument("--json", action="store_true", help="print the final report as one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no report")
    p.set_defaults(func=run)


@dataclass
class ReplayReport:
    """What happened: the numbers of the final report."""

    packets_sent: int = 0
    bytes_sent: int = 0
    skipped: int = 0
    skipped_oversize: int = 0
    skipped_filtered: int = 0
    skipped_unconvertible: int = 0
    truncated_in_capture: int = 0
    failed: int = 0
    loops: int = 0
    elapsed_s: float = 0.0
    rate_pps: float = 0.0
    rate_mbps: float = 0.0
    timing_mean_us: float = 0.0
    timing_max_us: float = 0.0
    timing_over_1ms: int = 0
    mode: str = ""
    refused: dict[str, int] = field(default_factory=dict)
    stopped_by: str = "end of file"
    realtime: bool = False
    cpu_awake: bool = False
    packets_sent_intf2: int = 0
    # short intervals: windows ended under SCHED_OTHER instead of a block, and how often another task
    # took the CPU then (the sender went back to blocks for a second each time); see sniffer/timing.py
    sched_other_windows: int = 0
    sched_other_contended: int = 0
    cpu_moves: int = 0  # moves of the sender to another CPU (sniffer/timing.py, MOVE_EVERY_NS)

    def lines(self) -> list[str]:
        out = [
            f"sent {self.packets_sent} packets ({self.bytes_sent} bytes) in {self.elapsed_s:.3f} s: "
            f"{self.rate_pps:.1f} pps, {self.rate_mbps:.3f} Mbps ({self.mode}; stopped by {self.stopped_by})"
            + (f"; {self.packets_sent_intf2} of them on --intf2" if self.packets_sent_intf2 else ""),
            f"skipped {self.skipped} (oversize {self.skipped_oversize}, not convertible "
            f"{self.skipped_unconvertible}, filtered out {self.skipped_filtered}), failed {self.failed}",
        ]
        if self.mode != "topspeed":
            out.append(
                f"timing error vs schedule: mean {self.timing_mean_us:.1f} us, max {self.timing_max_us:.1f} us, "
                f"{self.timing_over_1ms} packets over 1 ms" + ("" if self.realtime else " (not realtime)")
            )
        if self.truncated_in_capture:
            out.append(f"{self.truncated_in_capture} packets were cut short in the capture: sent as captured")
        out.extend(f"not sent: {why} ({n} packets)" for why, n in sorted(self.refused.items()))
        return out


class Preparer:
    """What each packet of a pass becomes on the wire (sans-IO): the display filter, the link-type
    conversion, the rewriting, the size check; yields (recorded ts ns, frame to send) and counts what
    it leaves out in the report. One generator per pass (the pass number feeds --unique-ip)."""

    def __init__(
        self,
        flt: Any,
        convert: Callable[[Frame], bytes | None],
        rewrite: Callable[[bytes, int], bytes] | None,
        max_len: int,
        fits: Callable[[bytes], bool],
        rep: ReplayReport,
    ) -> None:
        self.flt = flt
        self.convert = convert
        self.rewrite = rewrite
        self.max_len = max_len
        self.fits = fits
        self.rep = rep

    def __call__(self, frames: Iterable[Frame], pass_index: int) -> Generator[tuple[int, bytes], None, None]:
        flt, convert, rewrite, max_len, fits, rep = (
            self.flt,
            self.convert,
            self.rewrite,
            self.max_len,
            self.fits,
            self.rep,
        )
        if flt is None and rewrite is None:  # the common case, with the fewest steps per packet
            for fr in frames:
                data = fr.data if fr.linktype == 1 else convert(fr)
                if data is None:
                    continue
                n = len(data)
                if (n > max_len or n < 14) and not fits(data):
                    rep.skipped_oversize += 1
                    continue
                if len(fr.data) < fr.wirelen:
                    rep.truncated_in_capture += 1
                yield fr.ts_ns, data
            return
        for number, fr in enumerate(frames, 1):
            # decodes only what the filter needs; frame.number counts within each pass of --loop
            if flt is not None and not flt.matches_frame(fr, number):
                rep.skipped_filtered += 1
                continue
            data = fr.data if fr.linktype == 1 else convert(fr)
            if data is None:
                continue
            if rewrite is not None:
                data = rewrite(data, pass_index)
            n = len(data)
            if (n > max_len or n < 14) and not fits(data):
                rep.skipped_oversize += 1
                continue
            if len(fr.data) < fr.wirelen:
                rep.truncated_in_capture += 1
            yield fr.ts_ns, data


AUTO_PRELOAD_BYTES = 32 << 20  # timed modes preload a file up to this size (memory: ~2-4x as Frames)
READ_AHEAD_FRAMES = 1024  # frames per hand-over from the read-ahead thread
READ_AHEAD_DEPTH = 32  # hand-overs queued at most (bounded memory)


def _small_file(path: str) -> bool:
    import os
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size <= AUTO_PRELOAD_BYTES


def read_ahead(
    frames: Iterable[Frame], batch: int = READ_AHEAD_FRAMES, depth: int = READ_AHEAD_DEPTH
) -> Generator[Frame, None, None]:
    """The frames of ``frames``, read by a thread (the edge) up to batch * depth frames ahead: a read
    that blocks (page cache miss, a busy disk) stalls that thread, not the sender. Errors of the reader
    come out here, in order, after the frames before them. The thread hands over whole lists (one
    queue operation per `batch` frames) and the interpreter's switch interval is cut to 0.5 ms while it
    runs, so the sender waits at most that long for the GIL."""
    import queue
    import threading

    q: queue.Queue[list[Frame] | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: list[Frame] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        buf: list[Frame] = []
        try:
            for fr in frames:
                buf.append(fr)
                if len(buf) >= batch:
                    if not put(buf):
                        return
                    buf = []
        except BaseException as exc:  # the frames before it go first; the sender raises it then
            if put(buf):
                put(exc)
            return
        if put(buf):
            put(None)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, 0.0005))
    t = threading.Thread(target=work, name="replay-read-ahead", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        t.join(5)
        sys.setswitchinterval(switch)


RT_PRIORITY = 10


def _set_realtime() -> bool:
    """SCHED_FIFO for this process if allowed (root / CAP_SYS_NICE); False if not."""
    import os

    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
    except (OSError, AttributeError):
        return False
    return True


def _switch_class(fifo: bool) -> None:
    """The sending thread to SCHED_FIFO (True) or SCHED_OTHER (False) and back (~2 us a call here):
    the scheduler's way of leaving the kernel its share at short intervals (sniffer/timing.py)."""
    import os

    try:
        if fifo:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        else:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except OSError:
        pass


def _cpu_mover() -> tuple[Callable[[], None], Callable[[], None]] | None:
    """(move, restore) for the sending thread when it may run on two CPUs or more: move() takes it to
    the next of its allowed CPUs in turn, restore() gives back the mask it had (sniffer/timing.py,
    MOVE_EVERY_NS); None with a single allowed CPU."""
    import os

    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        return None
    if len(allowed) < 2:
        return None
    state = [0]

    def move() -> None:
        state[0] = (state[0] + 1) % len(allowed)
        try:
            os.sched_setaffinity(0, {allowed[state[0]]})
        except OSError:
            pass

    def restore() -> None:
        try:
            os.sched_setaffinity(0, allowed)
        except OSError:
            pass

    return move, restore


def run(args: argparse.Namespace) -> int:
    import ipaddress
    import os

    from sniffer.capture.pcapfile import open_capture
    from sniffer.capture.rewrite import Rewriter, Splitter, parse_map
    from sniffer.capture.tx import DEFAULT_DST_MAC, LINKTYPE_NAMES, LinkConverter, Transmitter, parse_mac
    from sniffer.timing import Scheduler, hold_cpu_awake, precise_sleeps

    if args.multiplier is not None and not args.multiplier > 0:
        raise UsageError("--multiplier must be > 0")
    for name in ("pps", "mbps"):
        v = getattr(args, name)
        if v is not None and not v > 0:
            raise UsageError(f"--{name} must be > 0")
    if args.loop < 0:
        raise UsageError("--loop must be >= 0 (0: until stopped)")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be >= 1")
    if args.duration is not None and not args.duration > 0:
        raise UsageError("--duration must be > 0 seconds")
    if args.file == "-" and args.loop != 1:
        raise UsageError("--loop needs a file, not standard input")
    if args.unique_ip and args.loop == 1:
        raise UsageError("--unique-ip changes addresses from one --loop pass to the next: add --loop N")
    if args.stats is not None and not args.stats > 0:
        raise UsageError("--stats must be > 0 seconds")
    if args.intf2 and bool(args.cidr) == bool(args.server_port):
        raise UsageError("--intf2 splits by --cidr CLIENT-NETS or by --server-port PORTS: give one of them")
    if (args.cidr or args.server_port) and not args.intf2:
        raise UsageError("--cidr / --server-port split the traffic between -i and --intf2: add --intf2 IFACE")
    flt = None
    if args.filter:
        from sniffer.model.filters import compile_filter

        flt = compile_filter(args.filter)
    sched = Scheduler(
        multiplier=args.multiplier or 1.0, pps=args.pps, mbps=args.mbps, topspeed=bool(args.topspeed)
    )
    reader = open_capture(args.file)  # check the file before touching the interface
    if reader.format == "pcap" and not LinkConverter.supported(reader.linktype or 0):
        reader.close()
        raise SnifferError(
            f"{args.file}: link type {reader.linktype} cannot be replayed onto an Ethernet interface "
            f"(supported: {', '.join(sorted(LINKTYPE_NAMES.values()))})"
        )
    preloaded = None
    timed = not sched.topspeed
    if args.preload_pcap or (timed and args.preload and _small_file(args.file)):
        # every pass (and the first packet) from memory: a read that blocks would delay packets (timed
        # modes preload files up to AUTO_PRELOAD_BYTES by themselves; --topspeed reads as it goes,
        # like tcpreplay, unless --preload-pcap)
        with reader:
            preloaded = list(reader)
    tx = Transmitter(args.interface, netns=args.netns)
    tx2 = None
    splitter = None
    if args.intf2:
        try:
            splitter = Splitter(
                [
                    ipaddress.ip_network(c.strip(), strict=False)
                    for c in (args.cidr or "").split(",")
                    if c.strip()
                ],
                frozenset(int(x) for x in (args.server_port or "").split(",") if x.strip()),
            )
        except ValueError as exc:
            tx.close()
            raise UsageError(f"--cidr / --server-port: {exc}") from None
        try:
            tx2 = Transmitter(args.intf2, netns=args.netns)
        except BaseException:
            tx.close()
            raise
    src_mac = parse_mac(args.src_mac) if args.src_mac else None
    dst_mac = parse_mac(args.dst_mac) if args.dst_mac else None
    conv = LinkConverter(src_mac or tx.mac, dst_mac or DEFAULT_DST_MAC)
    # Ethernet captures keep their addresses unless --src-mac / --dst-mac name new ones
    rw = Rewriter(
        src_mac,
        dst_mac,
        parse_map(args.srcipmap, "--srcipmap") if args.srcipmap else [],
        parse_map(args.dstipmap, "--dstipmap") if args.dstipmap else [],
        unique_ip=args.unique_ip,
        fixcsum=args.fixcsum,
    )
    if args.pnat:
        both = parse_map(args.pnat, "--pnat")
        rw.srcmap += both
        rw.dstmap += both
    rewrite = rw.apply if rw.active else None
    rep = ReplayReport(mode=sched.mode if sched.mode != "recorded" else f"multiplier {sched.multiplier:g}")
    if not sched.topspeed:
        precise_sleeps()
    awake = None
    restore_cpus: Callable[[], None] | None = None
    if args.realtime and not sched.topspeed:
        rep.realtime = _set_realtime()
        # at short intervals on a quiet machine: SCHED_OTHER spells instead of blocks (sniffer/timing.py;
        # SNIFFER_NO_DEMOTE=1 keeps the blocks, for comparing the two in one tree)
        # with two CPUs or more: moves between them instead (SNIFFER_NO_MOVE=1 keeps the spells)
        if rep.realtime and not os.environ.get("SNIFFER_NO_DEMOTE"):
            mover = None if os.environ.get("SNIFFER_NO_MOVE") else _cpu_mover()
            if mover is not None:
                restore_cpus = mover[1]
            sched.use_class_switch(_switch_class, None, mover[0] if mover is not None else None)
        # idle CPUs poll instead of halting while we send: a halted (virtual) CPU wakes up late
        awake = hold_cpu_awake()
        rep.cpu_awake = awake is not None
    limit = args.limit if args.limit is not None else -1
    deadline = None if args.duration is None else time.monotonic_ns() + int(args.duration * 1e9)
    raw_send = tx.sock.send
    wait = sched.wait
    # --topspeed: batches through a PACKET_TX_RING; timed modes send each packet when it is due
    ring = not timed and tx2 is None and tx.use_ring()
    batched = ring and args.stats is None  # --stats prints between packets: per packet
    queue = tx.queue if ring else None
    nsent = nbytes = attempts = 0
    # the loop makes no reference cycles: a full garbage collection (milliseconds with everything
    # imported) in the middle of a timed run would only delay packets
    gc.freeze()
    gc.disable()
    first_ns = last_ns = -1  # monotonic ns of the first and the last send: the rate is theirs alone
    stats_ns = int(args.stats * 1e9) if args.stats else 0
    next_stats = time.monotonic_ns() + stats_ns
    sent_bytes = 0
    last_len = 0
    loop = 0
    ahead: Generator[Frame, None, None] | None = None
    prepare = Preparer(flt, conv.convert, rewrite, tx.max_len, tx.fits, rep)
    try:
        while True:
            loop += 1
            rep.loops = loop
            first = True
            if preloaded is not None:
                frames: Iterable[Frame] = preloaded
            elif timed:  # a bigger file: read ahead in a thread, so no read ever holds the sender up
                frames = ahead = read_ahead(reader)
            else:
                frames = reader
            packets = prepare(frames, loop - 1)
            if batched:  # --topspeed: copy up to a ring batch into the ring, one send() for it
                while True:
                    want = 256 if limit < 0 else min(256, limit - attempts)
                    batch = [data for _ts, data in islice(packets, want)]
                    if not batch:
                        break
                    if first_ns < 0:
                        first_ns = time.monotonic_ns()
                    tx.send_batch(batch)
                    attempts += len(batch)
                    if attempts == limit:
                        rep.stopped_by = "--limit"
                        break
                    if deadline is not None and time.monotonic_ns() >= deadline:
                        rep.stopped_by = "--duration"
                        break
            for ts_ns, data in packets if not batched else ():
                n = len(data)
                if timed:
                    if first and loop > 1:
                        sched.continue_from_last(ts_ns)
                    wait(ts_ns, n)
                first = False
                attempts += 1
                last_ns = time.monotonic_ns()
                if first_ns < 0:
                    first_ns = last_ns
                last_len = n
                if splitter is not None and tx2 is not None and splitter.side(data):
                    tx2.send(data)
                elif queue is not None:
                    queue(data)
                else:
                    try:
                        raw_send(data)
                        nsent += 1
                        nbytes += n
                    except OSError as exc:
                        tx.send_after_error(data, exc)
                if stats_ns and last_ns >= next_stats:
                    next_stats = last_ns + stats_ns
                    span = max(last_ns - first_ns, 1) / 1e9
                    print(
                        f"{attempts} packets ({sent_bytes + n} bytes) sent in {span:.3f} s: "
                        f"{(attempts - 1) / span:.1f} pps, {sent_bytes * 8 / span / 1e6:.3f} Mbps",
                        flush=True,
                    )
                if stats_ns:
                    sent_bytes += n
                if attempts == limit:
                    rep.stopped_by = "--limit"
                    break
                if deadline is not None and (attempts & 63 == 0 or timed) and time.monotonic_ns() >= deadline:
                    rep.stopped_by = "--duration"
                    break
            packets.close()
            if ahead is not None:
                ahead.close()  # the thread stops before its reader is closed
                ahead = None
            reader.close()
            if rep.stopped_by != "end of file" or (args.loop and loop >= args.loop):
                break
            if preloaded is None:
                reader = open_capture(args.file)
    except KeyboardInterrupt:
        rep.stopped_by = "interrupt"
    finally:
        gc.enable()
        if ahead is not None:
            ahead.close()
        reader.close()
        try:
            tx.flush()
            if not timed:
                last_ns = time.monotonic_ns()  # the ring is flushed: the last packet is out
        finally:
            tx.close()
            if tx2 is not None:
                tx2.close()
            if awake is not None:
                awake.close()
            if restore_cpus is not None:
                restore_cpus()
        tx.sent += nsent
        tx.sent_bytes += nbytes
    if tx2 is not None:  # the report counts both interfaces; the second one's share is its own field
        rep.packets_sent_intf2 = tx2.sent
        tx.sent += tx2.sent
        tx.sent_bytes += tx2.sent_bytes
        tx.failed += tx2.failed
    # Timed modes: packet k leaves at its due time, so N packets span N - 1 intervals: the rate is
    # (N - 1) packets (and the bytes before the last) over the time from the first send to the last,
    # which is exactly what a capture on the far side measures. Opening the file and the socket before,
    # and closing them after, are not sending. --topspeed: N packets from the first send to the flush.
    elapsed = (last_ns - first_ns) / 1e9 if first_ns >= 0 else 0.0
    if timed and tx.sent > 1:
        rate_packets, rate_bytes = tx.sent - 1, tx.sent_bytes - last_len
    else:
        rate_packets, rate_bytes = tx.sent, tx.sent_bytes
    rep.packets_sent = tx.sent
    rep.bytes_sent = tx.sent_bytes
    rep.failed = tx.failed
    rep.skipped_unconvertible = sum(conv.refused.values())
    rep.skipped = rep.skipped_oversize + rep.skipped_unconvertible + rep.skipped_filtered
    rep.refused = dict(conv.refused)
    if rep.skipped_oversize:
        rep.refused[f"bigger than {args.interface}'s MTU {tx.mtu} + Ethernet header"] = rep.skipped_oversize
    rep.elapsed_s = elapsed
    rep.rate_pps = rate_packets / elapsed if elapsed > 0 else 0.0
    rep.rate_mbps = rate_bytes * 8 / elapsed / 1e6 if elapsed > 0 else 0.0
    st = sched.stats
    rep.timing_mean_us = st.mean_abs_ns / 1000
    rep.timing_max_us = st.max_abs_ns / 1000
    rep.timing_over_1ms = st.late_over_1ms
    rep.sched_other_windows = sched.demotions
    rep.sched_other_contended = sched.contended
    rep.cpu_moves = sched.moves
    if args.json:
        print(json.dumps(asdict(rep)), flush=True)
    elif not args.quiet:
        for line in rep.lines():
            print(line, file=sys.stdout, flush=True)
    if tx.sent == 0 and (rep.skipped or rep.failed):
        raise SnifferError(
            "nothing was sent: " + "; ".join(f"{why} ({n})" for why, n in sorted(rep.refused.items()))
            if rep.refused
            else "nothing was sent"
        )
    return 0 if tx.failed == 0 else 1
