"""`sniffer capture`: live capture to the terminal (one line per packet) or to pcapng/pcap files."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sniffer.errors import SnifferError, UsageError

if TYPE_CHECKING:
    from sniffer.capture.live import RingBlock

LINKTYPE_NAMES = {
    1: "EN10MB (Ethernet)",
    101: "RAW (Raw IP)",
    113: "LINUX_SLL (Linux cooked v1)",
    276: "LINUX_SLL2 (Linux cooked v2)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "capture",
        help="capture live packets (AF_PACKET ring, kernel BPF filter) to the terminal or a file",
        description="Capture packets on one or more interfaces with a TPACKET_V3 ring. Prints one line per "
        "packet, or writes pcapng (-w FILE, '-w -' for stdout). Stop with Ctrl-C, -c or --duration; "
        "kernel statistics are printed on stderr at the end, like tcpdump.",
    )
    p.add_argument(
        "-i",
        "--interface",
        action="append",
        dest="interfaces",
        metavar="IFACE",
        help="interface to capture on (repeat for several; 'any' for all; ssh://[USER@]HOST/IFACE captures "
        "on a remote host over OpenSSH). Default: lo",
    )
    p.add_argument("-f", "--filter", dest="bpf", metavar="FILTER", help="capture filter, tcpdump syntax")
    p.add_argument("expression", nargs="*", help="capture filter (as with tcpdump, instead of -f)")
    p.add_argument("-w", dest="write", metavar="FILE", help="write packets to FILE ('-' for stdout)")
    p.add_argument("-F", dest="format", choices=("pcapng", "pcap"), default="pcapng", help="file format")
    p.add_argument("-c", dest="count", type=int, metavar="N", help="stop after N packets")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("-G", dest="rotate_seconds", type=float, metavar="SECONDS", help="new file every SECONDS")
    p.add_argument(
        "-C", dest="rotate_mb", type=float, metavar="MB", help="new file once it exceeds MB (10^6 B)"
    )
    p.add_argument(
        "-W",
        dest="max_files",
        type=int,
        metavar="FILES",
        help="with -C: reuse FILES files; with -G: stop after FILES files",
    )
    p.add_argument(
        "-s",
        dest="snaplen",
        type=int,
        default=262144,
        metavar="SNAPLEN",
        help="bytes kept per packet (0 = 262144)",
    )
    p.add_argument(
        "-p", dest="no_promisc", action="store_true", help="do not put the interface in promiscuous mode"
    )
    p.add_argument(
        "-Z", dest="user", metavar="USER", help="drop root privileges to USER once the sockets are open"
    )
    p.add_argument(
        "-q",
        dest="quiet",
        action="store_true",
        help="no per-packet lines (count only; the banner and statistics still go to stderr)",
    )
    p.add_argument(
        "-Y",
        dest="display_filter",
        metavar="DISPLAYFILTER",
        help="only show/write packets matching a display filter",
    )
    p.add_argument(
        "-B",
        dest="buffer_kib",
        type=int,
        metavar="KiB",
        help="ring size per interface in KiB (default 65536)",
    )
    p.add_argument("--netns", metavar="NAME", help="capture inside network namespace NAME (ip netns)")
    p.add_argument(
        "--analysis",
        action="store_true",
        help="print the lines `sniffer read --analysis` prints: IPv4/IPv6 defragmentation, the TCP analysis "
        "(relative Seq/Ack, '[TCP Retransmission]'-style prefixes) and TCP reassembly over every captured "
        "packet, in order (with -Y the state still sees every packet; the lines keep their capture numbers)",
    )
    p.add_argument(
        "--no-reassembly",
        dest="reassembly",
        action="store_false",
        help="with --analysis: the analysis without TCP reassembly",
    )
    p.set_defaults(func=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from sniffer.capture.afpacket import RingConfig
    from sniffer.capture.live import LiveCapture

    bpf = _filter_text(args)
    _check_args(args)
    if any(i.startswith("ssh://") for i in args.interfaces or ()):  # remote hosts over OpenSSH
        if args.analysis:
            raise UsageError(
                "--analysis: local interfaces only here (write the remote packets with -w, then read --analysis)"
            )
        from sniffer.commands._remote import run_remote

        return run_remote(args, bpf, _display_filter(args.display_filter))
    snaplen = args.snaplen or 262144
    ring = RingConfig()
    if args.buffer_kib:
        blocks = max(2, (args.buffer_kib * 1024) // ring.block_size)
        ring = RingConfig(ring.block_size, blocks, ring.block_timeout_ms)
    match = _display_filter(args.display_filter)
    cap = LiveCapture(
        args.interfaces or ["lo"],
        bpf=bpf,
        snaplen=snaplen,
        promisc=not args.no_promisc,
        netns=args.netns,
        ring=ring,
    )
    cap.open()
    try:
        if args.user:
            drop_privileges(args.user)
        out: Output = (
            FileOutput(args, cap, snaplen)
            if args.write
            else AnalysedLineOutput(args.quiet, args.reassembly, match)
            if args.analysis
            else LineOutput(args.quiet)
        )
    except BaseException:
        cap.stop()
        raise
    for iface in cap.interfaces:
        lt = LINKTYPE_NAMES.get(iface.linktype, str(iface.linktype))
        _err(f"listening on {iface.name}, link-type {lt}, snapshot length {snaplen} bytes")
    _install_signals(cap)
    deadline = time.monotonic() + args.duration if args.duration else None
    written = 0
    signal.signal(signal.SIGUSR1, lambda *_: _print_stats(cap, written))
    error: BaseException | None = None
    # -w without -Y: records are built straight from the ring blocks (capture.ringfile), no Frames
    raw = isinstance(out, FileOutput) and match is None
    cap.start()
    try:
        while True:
            try:
                blocks = cap.get_blocks(0.1) if raw else None
                batch = None if raw else cap.get_batch(0.1)
            except SnifferError as exc:  # the interface vanished: finish the file, then report
                error = exc
                break
            if blocks is None and batch is None:
                break
            if deadline is not None and time.monotonic() >= deadline:
                cap.stop(wait=False)
                deadline = None
            out.tick()
            if out.finished:
                cap.stop(wait=False)
                break
            left = None if args.count is None else args.count - written
            if blocks:
                assert isinstance(out, FileOutput)
                taken = out.write_block(blocks[0], left)
                cap.count_captured(taken)
                written += taken
            elif batch and isinstance(out, AnalysedLineOutput):  # (its state sees every packet)
                written += out.write_upto(batch, left)
            elif batch:
                if match is not None:
                    batch = [f for f in batch if match(f)]
                if left is not None and len(batch) > left:
                    batch = batch[:left]
                written += out.write(batch)
            else:
                continue
            if args.count is not None and written >= args.count:
                cap.stop(wait=False)
                break
            if out.finished:  # -G with -W: the last file is done
                cap.stop(wait=False)
                break
    except BaseException as exc:
        error = exc
    finally:
        cap.stop()
        try:
            out.close()
        except SnifferError as exc:
            error = error or exc
        if isinstance(out, FileOutput):
            written = out.packets_written
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    _print_stats(cap, written)
    if error is not None:
        raise error
    return 0


def _print_stats(cap: Any, written: int) -> None:
    """The tcpdump-style statistics block (also printed live on SIGUSR1, as tcpdump does)."""
    st = cap.stats()
    _err(f"{written} packet{'s' if written != 1 else ''} captured")
    _err(f"{st.received} packets received by filter")
    _err(f"{st.kernel_dropped} packets dropped by kernel")
    _err(f"{st.backpressure_dropped} packets dropped by backpressure (consumer too slow)")


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _filter_text(args: argparse.Namespace) -> str:
    if args.bpf and args.expression:
        raise UsageError("give the capture filter either with -f or as trailing words, not both")
    return args.bpf or " ".join(args.expression)


def _check_args(args: argparse.Namespace) -> None:
    if args.count is not None and args.count <= 0:
        raise UsageError("-c needs a positive count")
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--duration needs a positive number of seconds")
    if args.snaplen < 0 or args.snaplen > 262144:
        raise UsageError("-s must be 0..262144")
    rotating = args.rotate_seconds is not None or args.rotate_mb is not None
    if rotating and (not args.write or args.write == "-"):
        raise UsageError("-G/-C rotate files: give a file name with -w")
    if args.rotate_seconds is not None and args.rotate_mb is not None:
        raise UsageError("use either -G or -C, not both")
    if args.max_files is not None and (not rotating or args.max_files <= 0):
        raise UsageError("-W needs -G or -C and a positive number of files")
    if (args.rotate_seconds is not None and args.rotate_seconds <= 0) or (
        args.rotate_mb is not None and args.rotate_mb <= 0
    ):
        raise UsageError("-G/-C need a positive value")
    if args.analysis and args.write:
        raise UsageError(
            "--analysis changes the printed lines only: drop -w (the file keeps every packet as captured)"
        )
    if args.buffer_kib is not None and not 2048 <= args.buffer_kib <= _MAX_BUFFER_KIB:
        raise UsageError(f"-B must be between 2048 and {_MAX_BUFFER_KIB} KiB (4 GiB, the ring's limit)")


_MAX_BUFFER_KIB = 4 * 1024 * 1024  # the TPACKET_V3 request's 32-bit sizes


def _display_filter(text: str | None) -> Callable[[Any], bool] | None:
    if not text:
        return None
    from sniffer.model.filters import compile_filter

    flt = compile_filter(text)
    # every captured frame passes here once, in order: frame.number, tcp.stream... as Wireshark counts them
    return lambda frame: bool(flt.matches_frame(frame))


def drop_privileges(user: str) -> None:
    """setgroups/setgid/setuid to ``user`` (after the sockets are open), like tcpdump -Z."""
    import pwd

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise UsageError(f"-Z: no such user {user!r}") from None
    try:
        os.setgroups([])
        os.initgroups(pw.pw_name, pw.pw_gid)
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    except PermissionError:
        raise SnifferError(f"-Z {user}: cannot change user (only root can); run without -Z") from None
    if os.geteuid() != pw.pw_uid or os.getegid() != pw.pw_gid:
        raise SnifferError(f"-Z {user}: privileges were not dropped")


def _install_signals(cap: Any) -> Callable[[], bool]:
    hit = [False]

    def handler(signum: int, frame: object) -> None:
        hit[0] = True
        cap.stop(wait=False)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)  # a closed terminal: stop and report, as tcpdump does
    return lambda: hit[0]


class Output:
    finished = False

    def write(self, batch: list[Any]) -> int:
        """Write or print ``batch``; return how many frames were taken."""
        raise NotImplementedError

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


class LineOutput(Output):
    """One line per packet on stdout, numbered from 1 (the same lines as `sniffer read`).

    A batch is formatted by decode.summary.iter_text (the inlined fast loop behind `read`) and written
    as one bytes write and one flush, not one format_line call and write per packet.
    """

    def __init__(self, quiet: bool) -> None:
        from sniffer.decode.summary import iter_text

        self.iter_text = iter_text
        self.quiet = quiet
        self.number = 0
        sys.stdout.flush()  # lines go to the binary buffer below: nothing may wait in the text layer
        self.out = getattr(sys.stdout, "buffer", None)

    def write(self, batch: list[Any]) -> int:
        if self.quiet or not batch:
            self.number += len(batch)
            return len(batch)
        text = "".join(self.iter_text(batch, self.number + 1, None, len(batch) + 1))
        self.number += len(batch)
        self._emit(text)
        return len(batch)

    def _emit(self, text: str) -> None:
        """One write and one flush of ``text``."""
        if self.out is not None:
            self.out.write(text.encode())
            self.out.flush()
        else:  # stdout replaced by a text-only stream
            sys.stdout.write(text)
            sys.stdout.flush()


class AnalysedLineOutput(LineOutput):
    """--analysis: the lines of `sniffer read --analysis` (commands.read.AnalysedText: defragmentation,
    the TCP analysis and reassembly over every captured packet, in order, across batches). With -Y the
    state still sees every packet and only the matching ones are printed, numbered by their place in
    the capture (as `read -Y` numbers them)."""

    def __init__(self, quiet: bool, reassembly: bool, match: Callable[[Any], bool] | None) -> None:
        from sniffer.commands.read import AnalysedText

        super().__init__(quiet)
        self.state = AnalysedText(reassembly)
        self.match = match

    def write(self, batch: list[Any]) -> int:
        return self.write_upto(batch, None)

    def write_upto(self, batch: list[Any], left: int | None) -> int:
        """Analyse every frame of ``batch``; print the lines of those -Y keeps (at most ``left``); return
        how many were printed."""
        if not batch:
            return 0
        lines = self.state.lines(batch, self.number + 1)
        self.number += len(batch)
        if self.match is not None:
            lines = [line for line, fr in zip(lines, batch, strict=True) if self.match(fr)]
        if left is not None:
            lines = lines[:left]
        if self.quiet or not lines:
            return len(lines)
        self._emit("\n".join(lines) + "\n")
        return len(lines)


class FileOutput(Output):
    """pcapng/pcap output through sniffer.capture.pcapfile.open_writer, with -C/-G/-W rotation."""

    def __init__(self, args: argparse.Namespace, cap: Any, snaplen: int) -> None:
        self.base = args.write
        self.fmt = args.format
        self.snaplen = snaplen
        self.rotate_seconds = args.rotate_seconds
        self.rotate_bytes = int(args.rotate_mb * 1_000_000) if args.rotate_mb else None
        self.max_files = args.max_files
        self.interfaces = cap.interfaces
        if self.fmt == "pcap" and len({i.linktype for i in cap.interfaces}) > 1:
            raise UsageError("-F pcap holds one link type; these interfaces differ (use pcapng)")
        self.file_no = 0
        self.writer: Any = None
        self.size = 0  # bytes of the current file: header, IDBs, records
        self.file_packets = 0
        self.opened_at = 0.0
        self.finished = False
        self.closed_packets = 0  # packets in the files already closed
        self._open()

    @property
    def packets_written(self) -> int:
        """Packets the files really hold (the writers' counts of flushed whole records): what the
        statistics line reports, also after a full disk cut a batch short."""
        return self.closed_packets + (self.writer.count if self.writer is not None else 0)

    def _name(self) -> str:
        if self.base == "-":
            return "-"
        name = self.base
        if self.rotate_seconds is not None:
            name = time.strftime(name) if "%" in name else name
            if "%" not in self.base and self.file_no:
                name = f"{name}{self.file_no}"
        elif self.rotate_bytes is not None:
            if self.max_files:
                width = len(str(self.max_files - 1))
                name = f"{name}{self.file_no % self.max_files:0{width}d}"
            elif self.file_no:
                name = f"{name}{self.file_no}"
        return name

    def _open(self) -> None:
        from sniffer.capture.pcapfile import Interface, open_writer

        self.path = self._name()
        declared = [
            Interface(i.index, i.linktype, self.snaplen, i.name) for i in self.interfaces if i.index != 0
        ]  # with -i any, an IDB is added per interface as its first packet arrives
        self.writer = open_writer(
            self.path,
            format=self.fmt,
            linktype=self.interfaces[0].linktype,
            snaplen=self.snaplen,
            interfaces=declared,
        )
        self.size = 0 if self.path == "-" else os.path.getsize(self.path)
        self.file_packets = 0
        self.opened_at = time.monotonic()

    def _rotate_due(self) -> bool:
        if self.rotate_bytes is not None:  # every file gets at least one packet, however small -C is
            return self.file_packets > 0 and self.size >= self.rotate_bytes
        if self.rotate_seconds is not None:
            return time.monotonic() - self.opened_at >= self.rotate_seconds
        return False

    def _next_file(self) -> bool:
        """Close the current file and open the next; False (and finished) once -G -W files are done."""
        self._close_current()
        self.file_no += 1
        if self.rotate_seconds is not None and self.max_files and self.file_no >= self.max_files:
            self.finished = True
            return False
        self._open()
        return True

    def write(self, batch: list[Any]) -> int:
        """Write ``batch`` with the writer's write_batch (one join and one write per file chunk).

        -C: the batch is split where the file reaches the size (the frame that crosses it is the
        last in that file, as tcpdump); -G: the time is checked per chunk.
        """
        from sniffer.capture.pcapfile import record_length

        if self.finished:
            return 0
        n = 0
        total = len(batch)
        limit = self.rotate_bytes
        while n < total:
            if self._rotate_due() and not self._next_file():
                return n
            if limit is None:
                end = total
            else:
                size = self.size
                end = n
                while end < total and size < limit:
                    size += record_length(self.fmt, len(batch[end][1]), batch[end][5])
                    end += 1
                self.size = size
            self.writer.write_batch(batch[n:end] if n or end < total else batch)
            self.file_packets += end - n
            n = end
        if self.writer is not None:
            self.writer.flush()
        return n

    def write_block(self, block: RingBlock, max_packets: int | None = None) -> int:
        """Write the packets of an unparsed ring block (at most ``max_packets``), rotating as ``write``
        does; the records are built straight from the block (capture.ringfile). Returns packets written."""
        from sniffer.capture.ringfile import write_block

        if self.finished:
            return 0
        written = 0
        i = 0
        while i < block.packets:
            if self._rotate_due() and not self._next_file():
                break
            left = None if max_packets is None else max_packets - written
            if left is not None and left <= 0:
                break
            budget = None if self.rotate_bytes is None else max(1, self.rotate_bytes - self.size)
            n, nbytes, i = write_block(
                self.writer,
                block.parser,
                block.data,
                block.packets,
                skip=i,
                max_packets=left,
                max_bytes=budget,
            )
            written += n
            self.file_packets += n
            self.size += nbytes
        if self.writer is not None:
            self.writer.flush()
        return written

    def tick(self) -> None:
        """Rotate on time even when no packet arrives (-G), and stop after -W files."""
        if self.rotate_seconds is None or self.finished or not self._rotate_due():
            return
        self._next_file()

    def _close_current(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                writer.close()
            finally:
                self.closed_packets += writer.count

    def close(self) -> None:
        self._close_current()
