"""`sniffer fping`: fping's modes and output (alive lists, -c / -C results, -g ranges, -s statistics)."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

EPILOG = """examples (loopback):
  sniffer fping 127.0.0.1 ::1                   (is alive / is unreachable, exit 1 if one is not)
  sniffer fping -c 3 -p 200 127.0.0.1 ::1       (a line per probe, the summary on stderr)
  sniffer fping -C 5 -q 127.0.0.1               (per-probe matrix on stderr)
  sniffer fping -a -g 127.0.0.0/29              (the alive addresses of a range you name)
exit status (as fping): 0 all alive, 1 some unreachable, 2 an unknown name, 3 bad arguments
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "fping",
        help="fping's modes: many targets, alive/unreachable lists, per-probe matrix, address ranges",
        description="Ping many targets at once with fping's options, output and exit status.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("targets", nargs="*", metavar="TARGET")
    p.add_argument("-a", dest="alive", action="store_true", help="show the targets that are alive")
    p.add_argument("-u", dest="unreach", action="store_true", help="show the targets that are unreachable")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-c", dest="count", type=int, help="COUNT probes per target, a line per reply")
    g.add_argument("-C", dest="matrix", type=int, help="like -c, and every probe's rtt on stderr at the end")
    p.add_argument("-q", dest="quiet", action="store_true", help="no per-probe lines")
    p.add_argument("-s", dest="stats", action="store_true", help="cumulative statistics on stderr at the end")
    p.add_argument("-r", dest="retry", type=int, default=3, help="retries in the default mode (default 3)")
    p.add_argument("-t", dest="timeout", type=float, default=500, help="initial timeout, ms (default 500)")
    p.add_argument("-p", dest="period", type=float, default=1000, help="ms between probes to one target")
    p.add_argument("-b", dest="size", type=int, default=56, help="payload bytes (default 56)")
    p.add_argument(
        "-g",
        dest="generate",
        action="store_true",
        help="the targets are a CIDR network or a start and an end address (at most 4096 addresses)",
    )
    p.add_argument("-I", dest="source", metavar="IFACE", help="bind to this interface")
    fam = p.add_mutually_exclusive_group()
    fam.add_argument("-4", dest="family", action="store_const", const=4, default=0)
    fam.add_argument("-6", dest="family", action="store_const", const=6)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sniffer.errors import SnifferError

    try:
        return _run(args)
    except SnifferError as exc:
        exc.exit_status = 3 if exc.exit_status == 2 else 4  # fping: 3 bad arguments, 4 system call failure
        raise


def _run(args: argparse.Namespace) -> int:
    from sniffer.errors import NetworkError, UsageError
    from sniffer.gen.ping import fping
    from sniffer.gen.ping.engine import PingOptions, resolve

    if not args.targets:
        raise UsageError("fping needs targets (or -g NETWORK)")
    if (args.count is not None and args.count < 1) or (args.matrix is not None and args.matrix < 1):
        raise UsageError("-c / -C must be at least 1")
    if not 0 <= args.retry <= 20 or args.timeout <= 0 or args.period <= 0:
        raise UsageError("-r must be 0..20, -t and -p > 0")
    names = fping.generate(args.targets) if args.generate else list(args.targets)
    known: list[str] = []
    unknown = 0
    for n in names:
        try:
            resolve(n, args.family)
            known.append(n)
        except NetworkError:
            print(f"{n}: Name or service not known", file=sys.stderr, flush=True)
            unknown += 1
    if not known:
        return 2
    count = args.count or args.matrix
    opts = PingOptions(
        count=count,
        interval=args.period / 1e3,
        timeout=args.timeout / 1e3,
        size=args.size,
        source=args.source,
        family=args.family,
    )
    width = max(len(n) for n in known)
    out = sys.stdout
    addr = {n: resolve(n, args.family).address for n in known}

    def on_error(ti: int, ev: Any) -> None:
        if not args.quiet:
            print(fping.error_line(ev, addr[known[ti]]), file=sys.stderr, flush=True)

    if count is None:
        results, elapsed, errors = fping.run_alive(known, opts, args.retry)
        for ti, ev in errors:
            on_error(ti, ev)
        # fping prints a target as alive when it answers, and as unreachable once its retries ran out
        for r in sorted(results, key=lambda r: not r.alive):
            if args.alive or args.unreach:
                if (args.alive and r.alive) or (args.unreach and not r.alive):
                    out.write(r.name + "\n")
            elif not args.quiet:
                out.write(f"{r.name} is {'alive' if r.alive else 'unreachable'}\n")
    else:
        per_probe = not args.quiet and not args.alive and not args.unreach

        def on_reply(ti: int, r: fping.Result, ev: Any) -> None:
            if per_probe:
                i = (ev.seq - opts.first_seq) & 0xFFFF
                out.write(fping.probe_line(r.name, width, i, ev.nbytes, ev.rtt_ns / 1e6, r) + "\n")
                out.flush()

        def on_lost(ti: int, r: fping.Result, i: int) -> None:
            if per_probe:
                out.write(fping.timeout_line(r.name, width, i, r) + "\n")
                out.flush()

        def on_stop(session: Any) -> None:
            signal.signal(signal.SIGINT, lambda *_: session.stop())

        results, elapsed = fping.run_count(known, opts, on_reply, on_lost, on_error, on_stop)
        out.flush()
        if args.alive or args.unreach:
            for r in results:
                if (args.alive and r.alive) or (args.unreach and not r.alive):
                    out.write(r.name + "\n")
            out.flush()
        if per_probe:
            print(file=sys.stderr)
        for r in results:
            line = fping.matrix_line(r, width) if args.matrix else fping.summary_line(r, width)
            print(line, file=sys.stderr)
    out.flush()
    if args.stats:
        sys.stderr.write(fping.stats_block(results, elapsed, unknown))
    sys.stderr.flush()
    if unknown:
        return 2
    return 0 if all(r.alive for r in results) else 1
