"""`sniffer capture -i ssh://[USER@]HOST/IFACE ...`: capture on remote hosts over OpenSSH, merged in time order
into one pcapng (an IDB per remote interface, named HOST/IFACE) or one line per packet."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from sniffer.errors import SnifferError, UsageError


def run_remote(args: argparse.Namespace, bpf: str | None, match: Callable[[Any], bool] | None) -> int:
    from sniffer.capture.remote import RemoteCapture, is_remote, parse_remote

    ifaces = args.interfaces or []
    if not all(is_remote(i) for i in ifaces):
        raise UsageError("capture: give either local interfaces or ssh:// remote ones, not both")
    if args.rotate_seconds is not None or args.rotate_mb is not None:
        raise UsageError("capture: -G/-C rotation is for local interfaces")
    if args.write and args.format != "pcapng":
        raise UsageError("capture: remote interfaces are written as pcapng (an IDB per remote interface)")
    if args.user or args.netns:
        raise UsageError("capture: -Z and --netns are for local interfaces")
    specs = [parse_remote(i) for i in ifaces]
    rc = RemoteCapture(specs, bpf=bpf, snaplen=args.snaplen or 262144)
    writer: Any = None
    lines: Any = None
    if args.write:
        from sniffer.capture.pcapfile import Interface, open_writer

        # an IDB per remote interface from the start (Ethernet, the usual case: a host that sends another
        # link type gets a further IDB when its first packet comes), so even an empty file is valid
        idbs = [Interface(i, 1, args.snaplen or 262144, s.label) for i, s in enumerate(specs)]
        writer = open_writer(
            args.write, "pcapng", interfaces=idbs, buffer_size=0 if args.write == "-" else 65536
        )
    else:
        from sniffer.commands.capture import LineOutput

        lines = LineOutput(args.quiet)
    stop = [False]

    def handler(signum: int, frame: object) -> None:
        stop[0] = True
        rc._stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    for s in specs:
        print(f"capturing on {s.label} over ssh", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    written = 0
    rc.start()
    try:
        last_flush = time.monotonic()
        for _i, fr in rc.frames(until=deadline):
            if match is not None and not match(fr):
                continue
            if writer is not None:
                writer.write(fr)
                now = time.monotonic()
                if now - last_flush > 0.2:
                    writer.flush()
                    last_flush = now
            else:
                lines.write([fr])
            written += 1
            if args.count is not None and written >= args.count:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        rc.stop()
        if writer is not None:
            writer.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print(f"{written} packet{'s' if written != 1 else ''} captured", file=sys.stderr)
    for s, n in zip(specs, rc.counts, strict=True):
        print(f"{n} from {s.label}", file=sys.stderr)
    if rc.errors and not stop[0]:
        raise SnifferError("; ".join(rc.errors))
    return 0
