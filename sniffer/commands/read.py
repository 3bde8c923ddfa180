"""`sniffer read FILE`: print a capture file one line per packet, or as JSON Lines of Wireshark fields."""

from __future__ import annotations

import argparse
import os
import stat
import sys
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
    p.add_argument("file", nargs="?", help="capture file, or - for standard input")
    p.add_argument("-r", dest="rfile", metavar="FILE", help="capture file (same as the positional FILE)")
    p.add_argument("-c", dest="count", type=int, metavar="N", help="stop after N packets (after filtering)")
    p.add_argument(
        "--json", action="store_true", help="JSON Lines: one object per packet, Wireshark field names"
    )
    p.add_argument("-Y", dest="filter", metavar="FILTER", help="display filter, e.g. 'tcp.port == 80'")
    p.set_defaults(func=run)


def _compile(text: str) -> Any:
    try:
        from sniffer.model import filters  # type: ignore[attr-defined]
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


def run(args: argparse.Namespace) -> int:
    source = args.rfile or args.file
    if not source:
        raise UsageError("read: give a capture file (or - for standard input)")
    if args.file and args.rfile:
        raise UsageError("read: give the file either as FILE or with -r, not both")
    if args.count is not None and args.count < 0:
        raise UsageError("read: -c needs a count >= 0")
    flt = _compile(args.filter) if args.filter else None
    from sniffer.capture.pcapfile import open_capture

    name = "<stdin>" if source == "-" else source
    try:
        reader = open_capture(source)
    except PcapFormatError as exc:
        raise PcapFormatError(f"{name}: {exc.args[0] if exc.args else exc}", exc.offset) from None
    except OSError as exc:
        raise SnifferError(f"{name}: {exc.strerror or exc}") from None
    out = sys.stdout.buffer
    batch = 1 if _streaming(source) else BATCH
    try:
        with reader:
            if args.json:
                _json(reader, out, args.count, flt, batch)
            else:
                _text(reader, out, args.count, flt, batch)
    except PcapFormatError as exc:
        raise PcapFormatError(f"{name}: {exc.args[0] if exc.args else exc}", exc.offset) from None
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise SnifferError(f"{name}: {exc.strerror or exc}") from None
    return 0


def _text(reader: Any, out: Any, count: int | None, flt: Any, batch: int) -> None:
    from sniffer.decode.summary import format_line

    lines: list[str] = []
    append = lines.append
    n = 0
    if count == 0:
        return
    try:
        if flt is None:
            first = True
            for fr in reader:
                n += 1
                append(format_line(n, fr))
                if first or len(lines) >= batch:
                    first = False
                    out.write(("\n".join(lines) + "\n").encode())
                    out.flush()
                    lines.clear()
                if n == count:
                    break
        else:
            from sniffer.decode.fields import frame_fields

            shown = 0
            for fr in reader:
                n += 1
                if not flt.matches(frame_fields(fr)):
                    continue
                shown += 1
                append(format_line(n, fr))
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


def _json(reader: Any, out: Any, count: int | None, flt: Any, batch: int) -> None:
    import json

    from sniffer.decode.fields import frame_fields

    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    lines: list[str] = []
    n = shown = 0
    if count == 0:
        return
    try:
        for fr in reader:
            n += 1
            f = frame_fields(fr)
            if flt is not None and not flt.matches(f):
                continue
            shown += 1
            lines.append(dumps({"frame.number": n, **f}))
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
