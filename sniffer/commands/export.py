"""`sniffer export FILE|DIR|GLOB... --out DATASET`: capture files -> Parquet tables packets and flows."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from sniffer.errors import UsageError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export capture files to a Parquet dataset (packets and flows tables) for SQL engines",
        description="Export pcap/pcapng files into a Parquet dataset hive-partitioned by date and hour: a "
        "packets table (one row per packet, traceable to its file and frame number) and a flows table "
        "(one row per TCP/UDP conversation, like Zeek's conn.log). Re-running skips files already "
        "exported. Query it with `sniffer sql`, DuckDB, Spark, Trino or ClickHouse (docs/dataset.md).",
    )
    p.add_argument("inputs", nargs="+", metavar="FILE|DIR|GLOB", help="capture files, directories or globs")
    p.add_argument("--out", "-o", required=True, metavar="DATASET", help="dataset directory (made if absent)")
    p.add_argument(
        "-e",
        dest="fields",
        action="append",
        default=[],
        metavar="FIELD",
        help="also store this Wireshark field (a string column of that name; repeat for more)",
    )
    p.add_argument(
        "--workers",
        "-j",
        type=int,
        metavar="N",
        help="worker processes on this machine, forked from this one (default: the machine's cores for "
        "64 MiB of input or more, else this process; 1 = this process); with --scheduler local, the "
        "workers of a local Dask cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:8786",
        help="run the tasks on this existing Dask cluster (the workers must see the files and DATASET "
        "at the same paths); local: start a local Dask cluster of --workers processes",
    )
    p.add_argument(
        "--split-size",
        type=_size,
        metavar="BYTES",
        help="pcap files bigger than this are exported as byte ranges, one task each (default 1G; "
        "suffixes K M G)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _size(text: str) -> int:
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower()
    try:
        if t and t[-1] in mult:
            v = int(float(t[:-1]) * mult[t[-1]])
        else:
            v = int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512M)") from None
    if v < 4096:
        raise argparse.ArgumentTypeError("the split size must be at least 4K")
    return v


def run(args: argparse.Namespace) -> int:
    from sniffer.dataset.export import AUTO_CLUSTER_BYTES, SPLIT_BYTES, Runner, export

    if args.workers is not None and args.workers < 1:
        raise UsageError("export: --workers needs N >= 1")
    if args.scheduler and not (
        args.scheduler == "local"
        or args.scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://"))
    ):
        raise UsageError("export: --scheduler takes an address like tcp://HOST:8786, or local")
    for f in args.fields:
        _check_field(f)
    workers = args.workers or os.cpu_count() or 1
    progress = (
        None if args.quiet else (lambda s: print(f"sniffer: exported {s}", file=sys.stderr, flush=True))
    )
    res = export(
        args.inputs,
        args.out,
        args.fields,
        Runner(workers, args.scheduler, 0 if args.workers else AUTO_CLUSTER_BYTES),
        args.split_size or SPLIT_BYTES,
        progress,
    )
    if not args.quiet:
        print(
            f"sniffer: {res.files} files exported ({res.packets} packets, {res.flows} flows) in "
            f"{res.seconds:.1f} s (tasks {res.task_cpu_s:.1f} CPU s), {res.skipped} already in {args.out}",
            file=sys.stderr,
        )
    for e in res.errors or []:
        print(f"sniffer: {e} (the packets before it are exported)", file=sys.stderr)
    return 1 if res.errors else 0


def _check_field(name: str) -> None:
    from sniffer.dataset.schema import packet_columns

    if name in packet_columns():
        raise UsageError(f"export: -e {name}: that is a built-in column already")
    from sniffer.model.filters import _suggest, field_kind

    if field_kind(name) is None:
        raise UsageError(f"export: -e {name}: unknown field{_suggest(name)} (Wireshark names, e.g. ip.ttl)")
