"""`sniffer read FILE`: print a capture file one line per packet, or as JSON Lines of Wireshark fields."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable
from typing import Any

from sniffer.errors import PcapFormatError, SnifferError, UsageError

#: lines collected before one write to stdout (the first line is written at once)
BATCH = 2048


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "read",
        help="print a pcap/pcapng file, one line per packet (or --json)",
        description="Print a pcap or pcapng capture one line per packet (number, time, source -> destination, "
        "protocol, length, info), or with --json one JSON object per packet keyed by Wireshark field names.",
    )
    p.add_argument(
        "file",
        nargs="*",
        help="capture file, or - for standard input; several files, a DIR or a quoted GLOB (a ring of "
        "capture -C/-G files) are read as one capture in time order",
    )
    p.add_argument(
        "-r", dest="rfile", action="append", metavar="FILE", help="capture file (same as the positional FILE)"
    )
    p.add_argument("-c", dest="count", type=int, metavar="N", help="stop after N packets (after filtering)")
    p.add_argument(
        "--json", action="store_true", help="JSON Lines: one object per packet, Wireshark field names"
    )
    p.add_argument("-Y", dest="filter", metavar="FILTER", help="display filter, e.g. 'tcp.port == 80'")
    p.add_argument(
        "--analysis",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="conversation state like Wireshark's defaults: IPv4/IPv6 defragmentation and TCP analysis "
        "(relative tcp.seq/ack, tcp.analysis.*, '[TCP ...]' Info prefixes, expert items): on by default with "
        "--json or when -Y names its fields; --no-analysis gives the per-packet view (raw sequence numbers)",
    )
    p.add_argument(
        "--no-reassembly",
        dest="reassembly",
        action="store_false",
        help="with the conversation state, leave TCP payloads per packet: no reassembly of application PDUs "
        "(HTTP messages, TLS records, DNS... that span segments) in the frame that completes them",
    )
    p.add_argument(
        "-2",
        dest="two_pass",
        action="store_true",
        help="two passes like tshark -2: the earlier fragments and segments name the frame they were "
        "reassembled in (ip.reassembled_in, ipv6.reassembled.in, tcp.reassembled_in); a file, not a pipe",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        metavar="N",
        help="processes formatting a big file in parallel (default: as many as idle CPUs, up to 4; 1 = none)",
    )
    p.set_defaults(func=run)


def _compile(text: str) -> Any:
    try:
        from sniffer.model import filters
    except ImportError:
        raise UsageError("display filters (-Y) are not available in this build yet") from None
    return filters.compile_filter(text)


def _streaming(source: str) -> bool:
    """True when the input may be a live stream (a pipe or FIFO): then every line is flushed at once."""
    if source != "-":
        try:
            return stat.S_ISFIFO(os.stat(source).st_mode)
        except OSError:
            return False
    try:
        return not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError):
        return True


def _sources(args: argparse.Namespace) -> list[str]:
    """The files named (positional and -r); strings too, as older callers pass them."""
    out: list[str] = []
    for v in (args.rfile, args.file):
        if v:
            out.extend([v] if isinstance(v, str) else v)
    return out


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def run(args: argparse.Namespace) -> int:
    sources = _sources(args)
    if not sources:
        raise UsageError("read: give a capture file (or - for standard input)")
    if args.file and args.rfile:
        raise UsageError("read: give the file either as FILE or with -r, not both")
    if args.count is not None and args.count < 0:
        raise UsageError("read: -c needs a count >= 0")
    flt = _compile(args.filter) if args.filter else None
    source = sources[0]
    merged = len(sources) > 1 or os.path.isdir(source) or (not os.path.exists(source) and _is_glob(source))
    if args.two_pass and (merged or source == "-" or _streaming(source)):
        raise UsageError(
            "read: -2 reads the file twice: give one file, not standard input, a pipe or a ring of files"
        )
    if merged:  # a ring of files (several, a DIR, a GLOB): one capture in time order
        from sniffer.capture.fileset import open_captures

        reader = open_captures(sources, "read")
        source = getattr(reader, "name", source)
        name = ""
    else:
        from sniffer.capture.pcapfile import open_capture

        name = "<stdin>" if source == "-" else source
        try:
            reader = open_capture(source)
        except PcapFormatError as exc:
            raise PcapFormatError(f"{name}: {exc.args[0] if exc.args else exc}", exc.offset) from None
        except OSError as exc:
            raise SnifferError(f"{name}: {exc.strerror or exc}") from None
    from sniffer.commands import warn_unknown_linktypes

    warn_unknown_linktypes(reader, name or source)
    out = sys.stdout.buffer
    streaming = False if merged else _streaming(source)
    batch = 1 if streaming else BATCH
    analysis = args.analysis
    if args.two_pass:
        if analysis is False:
            raise UsageError("read: -2 gives the conversation state in two passes: drop --no-analysis")
        analysis = True
    if analysis is None:
        analysis = bool(args.json or (flt is not None and flt.needs_tcp_analysis))
    jobs = 1 if analysis or merged else _jobs(args, source, streaming, flt)
    if jobs > 1:
        reader.close()
        try:
            _text_parallel(source, out, args.count, jobs)
        except PcapFormatError as exc:
            raise PcapFormatError(f"{name}: {exc.args[0] if exc.args else exc}", exc.offset) from None
        return 0
    try:
        with reader:
            if analysis:
                later = None
                if args.two_pass:
                    from sniffer.model.reassembly import first_pass

                    with open_capture(source) as again:
                        later = first_pass(again)
                _analysed(reader, out, args.count, flt, batch, args.json, args.reassembly, later)
            elif args.json:
                _json(reader, out, args.count, flt, batch)
            else:
                _text(reader, out, args.count, flt, batch)
    except PcapFormatError as exc:
        if not name:  # merged files: the message names the file
            raise
        raise PcapFormatError(f"{name}: {exc.args[0] if exc.args else exc}", exc.offset) from None
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise SnifferError(f"{name or source}: {exc.strerror or exc}") from None
    return 0


#: files smaller than this are formatted by one process (forking costs more than it saves)
PARALLEL_MIN_BYTES = 16 << 20
#: packets per block handed round-robin to the formatting processes
BLOCK = 4096


def _jobs(args: argparse.Namespace, source: str, streaming: bool, flt: Any) -> int:
    if args.jobs is not None:
        if args.jobs < 1:
            raise UsageError("read: --jobs needs N >= 1")
        want = args.jobs
    else:
        # only spare CPUs help: on a busy machine extra processes just compete for the same cores
        cpus = os.cpu_count() or 1
        try:
            idle = cpus - os.getloadavg()[0]
        except OSError:
            idle = 0
        want = max(1, min(int(idle), 4))
    if want < 2 or args.json or flt is not None or streaming or source == "-" or not hasattr(os, "fork"):
        return 1
    try:
        st = os.stat(source)
    except OSError:
        return 1
    if not stat.S_ISREG(st.st_mode) or (args.jobs is None and st.st_size < PARALLEL_MIN_BYTES):
        return 1
    return want


def _text_parallel(source: str, out: Any, count: int | None, jobs: int) -> None:
    """Format a big capture file with ``jobs`` processes: each reads the whole file (reading is cheap)
    but formats only every jobs-th block of BLOCK packets; this process writes the blocks in order."""
    import signal
    import struct

    from sniffer.capture.pcapfile import open_capture
    from sniffer.decode.summary import iter_blocks

    out.flush()
    pipes: dict[int, Any] = {}
    pids = []
    for which in range(1, jobs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # a formatting child: its blocks go to the pipe as (length, text)
            os.close(r)
            for f in pipes.values():
                f.close()
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
                with open_capture(source) as rd, os.fdopen(w, "wb", buffering=1 << 20) as wf:
                    try:
                        for _b, text in iter_blocks(rd, count, BLOCK, jobs, which):
                            data = text.encode()
                            wf.write(struct.pack("!Q", len(data)))
                            wf.write(data)
                    except Exception:
                        code = 1  # the parent meets the same damage and reports it
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        pids.append(pid)
        pipes[which] = os.fdopen(r, "rb", buffering=1 << 20)

    def child_block(j: int) -> bytes | None:
        f = pipes[j % jobs]
        head = f.read(8)
        if len(head) < 8:
            return None
        (n,) = struct.unpack("!Q", head)
        return f.read(n)

    nxt = 0  # the next block to write
    try:
        with open_capture(source) as rd:
            try:
                for b, text in iter_blocks(rd, count, BLOCK, jobs, 0):
                    while nxt < b:
                        theirs = child_block(nxt)
                        if theirs is None:
                            return
                        out.write(theirs)
                        nxt += 1
                    out.write(text.encode())
                    out.flush()
                    nxt = b + 1
            except Exception:
                _drain(child_block, nxt, out, jobs)
                raise
            _drain(child_block, nxt, out, jobs)
    finally:
        out.flush()
        for f in pipes.values():
            f.close()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _drain(child_block: Any, nxt: int, out: Any, jobs: int) -> None:
    """Write the children's blocks from ``nxt`` on, in order, until one has no more (or it is ours:
    this process has none left, so nothing follows)."""
    while nxt % jobs:
        data = child_block(nxt)
        if data is None:
            return
        out.write(data)
        nxt += 1


def _text(reader: Any, out: Any, count: int | None, flt: Any, batch: int) -> None:
    from sniffer.decode.summary import format_line, iter_text

    if count == 0:
        return
    if flt is None:
        for chunk in iter_text(reader, 1, count, batch):
            out.write(chunk.encode())
            out.flush()
        return
    _lines(reader, out, count, flt, batch, lambda n, fr, f: format_line(n, fr))


def _json(reader: Any, out: Any, count: int | None, flt: Any, batch: int) -> None:
    import json

    from sniffer.decode.fields import frame_fields

    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    if count == 0:
        return
    _lines(reader, out, count, flt, batch, lambda n, fr, f: dumps({"frame.number": n, **frame_fields(fr)}))


def _analysed(
    reader: Any,
    out: Any,
    count: int | None,
    flt: Any,
    batch: int,
    as_json: bool,
    reassembly: bool = True,
    later: Any = None,
) -> None:
    """Text or JSON with the conversation state (IPv4 defragmentation, the TCP analysis, then TCP
    reassembly unless not ``reassembly``), fed every frame in order; ``later`` (a first pass's
    model.reassembly.Later) adds where earlier fragments and segments were reassembled (tshark -2)."""
    import json

    from sniffer.decode.fields import frame_fields
    from sniffer.decode.summary import format_time, summarize
    from sniffer.model.defrag import Defragmenter
    from sniffer.model.expert import add as add_expert
    from sniffer.model.expert import items as expert_items
    from sniffer.model.reassembly import TcpReassembler, apply_fields
    from sniffer.model.tcpanalysis import (
        TcpAnalyzer,
        apply,
    )

    if count == 0:
        return
    if not as_json and later is None:  # text: the TCP header from the bytes, the columns from the walker
        st = AnalysedText(reassembly)
        if flt is None and st.native:
            from itertools import islice

            lines: list[str] = []
            n = 0  # frames done
            size = 1  # (the first line at once)
            frames_in = iter(reader)
            try:
                while count is None or n < count:
                    chunk = list(islice(frames_in, size if count is None else min(size, count - n)))
                    if not chunk:
                        break
                    lines += st.lines(chunk, n + 1)
                    n += len(chunk)
                    out.write(("\n".join(lines) + "\n").encode())
                    out.flush()
                    lines.clear()
                    size = batch
            finally:
                if lines:
                    out.write(("\n".join(lines) + "\n").encode())
                out.flush()
            return
        # the filter keeps its own analysis (it sees the same frames in the same order)
        _lines(reader, out, count, flt, batch, st.text, st.cols, pass_fields=False)
        return
    an = TcpAnalyzer()
    dfr = Defragmenter()
    ra = TcpReassembler(two_pass=later is not None) if reassembly else None

    def prepare(n: int, fr: Any) -> dict[str, Any]:
        f = dfr.apply(n, fr, frame_fields(fr))
        extra = an.feed(n, f, fr[0])
        if ra is not None and extra is not None:
            f = apply_fields(f, ra.feed(n, fr, extra), fr)
        f = add_expert(apply(f, extra), expert_items(f, fr))
        return later.apply(n, f) if later is not None else f

    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode

    def render(n: int, fr: Any, f: Any) -> str:
        if not as_json:  # (two passes: the text line from the fields)
            s = summarize(fr)
            return f"{n} {format_time(fr[0])} {s[0]} -> {s[1]} {f['_ws.col.Protocol']} {fr[2]} {f['_ws.col.Info']}"
        return dumps({"frame.number": n, **f})

    _lines(reader, out, count, flt, batch, render, prepare)


class AnalysedText:
    """`read --analysis`' text view as a state (sans-IO): give it every frame, in order, in lists
    (``lines``), and it gives their lines: IPv4/IPv6 defragmentation, the TCP analysis, TCP reassembly
    unless not ``reassembly``, each frame's columns from the native walker's line where it was built (the
    core's ``text_batch`` runs the common frames through the native parts), else from the summary. Also
    `sniffer capture --analysis`' printer (live batches)."""

    def __init__(self, reassembly: bool = True) -> None:
        from sniffer.decode.summary import native_walker
        from sniffer.model.defrag import Defragmenter
        from sniffer.model.reassembly import TcpReassembler
        from sniffer.model.tcpanalysis import TcpAnalyzer, native_line

        self.an = TcpAnalyzer()
        self.dfr = Defragmenter()
        self.ra = TcpReassembler() if reassembly else None
        walker = native_walker()
        self.wline = walker.line if walker is not None else None
        # (columns() made to the walker's line, in C)
        self.aline = native_line() if self.wline is not None else None

    @property
    def native(self) -> bool:
        """True when the common frames go through the native parts (``lines``' fast loop)."""
        return self.wline is not None and self.aline is not None and self.an.native

    def cols(self, n: int, fr: Any) -> tuple[Any, str, str, Any, Any] | None:
        # (one walk of the headers: fragment or not, the TCP header)
        return self.cols_of(n, fr, self.an.feed_fast(n, fr))

    def cols_of(self, n: int, fr: Any, extra: Any) -> tuple[Any, str, str, Any, Any] | None:
        """The frame's (analysis, protocol, info, reassembly verdict, decoded columns), given its
        ``feed_fast``."""
        from sniffer.decode.fields import frame_fields
        from sniffer.model.tcpanalysis import FRAGMENT, apply

        if extra is not FRAGMENT:
            s = self.an.last_columns  # a frame the analysis decoded whole: its columns, not a 2nd decode
            if extra is None:
                return None if s is None else (None, s[2], s[3], None, s)
            return extra, "", "", self.ra.feed(n, fr, extra) if self.ra is not None else None, s
        ff = self.dfr.fast_fragment(n, fr)  # a later fragment completing nothing: from its bytes
        if ff is not None:
            return None, "IPv4", ff[2], None, (ff[0], ff[1], "IPv4", ff[2])
        f = self.dfr.apply(n, fr, frame_fields(fr))
        apply(f, self.an.feed(n, f, fr[0]))
        # the addresses of the fragment's own IP layer, or of the reassembled datagram's innermost
        # (a tunnel in fragments: the per-packet decode's would be the other way round)
        v4 = "ip.src" in f
        src, dst = f.get("ip.src" if v4 else "ipv6.src"), f.get("ip.dst" if v4 else "ipv6.dst")
        src, dst = src[-1] if type(src) is list else src, dst[-1] if type(dst) is list else dst
        proto, info = f["_ws.col.Protocol"], f["_ws.col.Info"]
        return None, proto, info, None, None if src is None else (src, dst, proto, info)

    def text(self, n: int, fr: Any, c: Any) -> str:
        # an Ethernet frame goes to the native walker first, in order (as `read` without the state
        # does: its per-process state sees every frame): its line is the per-packet one, and its
        # columns are the summary's where the analysis keeps or rewrites them
        wline = self.wline
        t = wline(n, fr[0], fr[1], fr[2]) if wline is not None and fr[3] == 1 else None
        return self.line_of(n, fr, c, t)

    def line_of(self, n: int, fr: Any, c: Any, t: str | None) -> str:
        """The frame's line given ``cols`` and the walker's per-packet line ``t`` (None: none)."""
        from sniffer.decode.summary import format_time, summarize
        from sniffer.model.reassembly import apply_columns
        from sniffer.model.tcpanalysis import NO_SUBDISSECTOR, columns

        if c is None and t is not None:
            return t
        aline = self.aline
        if aline is not None and t is not None and c[0] is not None and c[3] is None and c[4] is None:
            r = aline(t, n, fr[2], c[0], NO_SUBDISSECTOR)
            if r is not None:
                return r
        s = (
            (_line_columns(t, n, fr[2]) if t is not None else summarize(fr))
            if c is None or c[4] is None
            else c[4]
        )
        if c is None:
            proto, info = s[2], s[3]
        elif c[0] is None:
            proto, info = c[1], c[2]
        else:
            proto, info = columns(*apply_columns(s[2], s[3], c[3], fr), c[0])
        return f"{n} {format_time(fr[0])} {s[0]} -> {s[1]} {proto} {fr[2]} {info}"

    def lines(self, chunk: list[Any], base: int) -> list[str]:
        """The lines of the frames ``chunk`` (``chunk[i]`` is frame number ``base + i``; the frames before
        were given before)."""
        from sniffer.model.tcpanalysis import NO_SUBDISSECTOR

        if not self.native:
            return [self.text(base + i, fr, self.cols(base + i, fr)) for i, fr in enumerate(chunk)]
        an, wline, aline = self.an, self.wline, self.aline
        assert aline is not None
        feed_fast, rafeed = an.feed_fast, self.ra.feed if self.ra is not None else None
        text_batch = an.text_batch
        lines: list[str] = []
        i = 0  # (chunk[i] is frame number base + i)
        while i < len(chunk):
            done, i, pend = text_batch(chunk, i, base, wline, rafeed, NO_SUBDISSECTOR)
            lines += done
            if pend is None:
                break
            fr = chunk[i]
            n = base + i
            i += 1
            if pend is ...:  # not an Ethernet frame: no walker line
                lines.append(self.line_of(n, fr, self.cols(n, fr), None))
            elif len(pend) == 3:  # analysed and fed: the line from Python
                lines.append(self.line_of(n, fr, (pend[1], "", "", pend[2], None), pend[0]))
            else:
                t = pend[0]
                e = feed_fast(n, fr)
                if t is not None and self.an.last_columns is None and (e is None or type(e) is dict):
                    if e is None:
                        r: str | None = t
                    else:
                        v = rafeed(n, fr, e) if rafeed is not None else None
                        r = aline(t, n, fr[2], e, NO_SUBDISSECTOR) if v is None else None
                        if r is None:
                            r = self.line_of(n, fr, (e, "", "", v, None), t)
                else:
                    r = self.line_of(n, fr, self.cols_of(n, fr, e), t)
                lines.append(r)  # type: ignore[arg-type]
        return lines


def _line_columns(line: str, n: int, wirelen: int) -> tuple[str, str, str, str]:
    """(source, destination, protocol, info) of a per-packet text line ``n TIME SRC -> DST PROTO LEN
    INFO`` (the native walker's): the time is 15 characters, the addresses have no space, the protocol
    ends before the length (no protocol name holds a lone number)."""
    k = len(str(n)) + 17
    i = line.index(" -> ", k)
    j = line.index(" ", i + 4)
    m = line.index(f" {wirelen} ", j)
    return line[k:i], line[i + 4 : j], line[j + 1 : m], line[m + len(str(wirelen)) + 2 :]


def _lines(
    reader: Any,
    out: Any,
    count: int | None,
    flt: Any,
    batch: int,
    render: Callable[[int, Any, Any], str],
    prepare: Callable[[int, Any], Any] | None = None,
    pass_fields: bool = True,
) -> None:
    """Write ``render(number, frame, fields)`` for every frame the filter keeps (``fields`` from
    ``prepare(number, frame)``, None without it; given to the filter too unless not ``pass_fields``),
    in batches (the first line at
    once). The filter sees every frame in order (matches_frame: header-only fields where it can, and
    frame.number, tcp.stream, udp.stream and frame.time_* as Wireshark numbers them)."""
    lines: list[str] = []
    n = shown = 0
    try:
        for fr in reader:
            n += 1
            f = prepare(n, fr) if prepare is not None else None  # every frame, in order
            if flt is not None and not flt.matches_frame(fr, n, f if pass_fields else None):
                continue
            shown += 1
            lines.append(render(n, fr, f))
            if shown == 1 or len(lines) >= batch:
                out.write(("\n".join(lines) + "\n").encode())
                out.flush()
                lines.clear()
            if shown == count:
                break
    finally:
        if lines:
            out.write(("\n".join(lines) + "\n").encode())
        out.flush()
