"""`sniffer sql "SELECT ..." [DATASET]`: query a dataset made by `sniffer export` with DuckDB in process."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

#: the dataset used when none is named
DEFAULT_DATASET = os.environ.get("SNIFFER_DATASET", "sniffer-dataset")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sql",
        help="run SQL over a dataset made by `sniffer export` (DuckDB, in process)",
        description="Run a SQL query (DuckDB dialect) over the tables packets and flows of a dataset made "
        "by `sniffer export`; the partition columns date and hour are there too. Examples in docs/dataset.md.",
    )
    p.add_argument(
        "query", metavar="SQL", help='the query, e.g. "SELECT src, count(*) FROM packets GROUP BY 1"'
    )
    p.add_argument(
        "dataset",
        nargs="?",
        default=DEFAULT_DATASET,
        metavar="DATASET",
        help=f"the dataset directory (default: $SNIFFER_DATASET or {DEFAULT_DATASET})",
    )
    p.add_argument(
        "--format",
        "-f",
        choices=("table", "csv", "json"),
        default="table",
        help="output format (default table)",
    )
    p.add_argument(
        "--tui",
        action="store_true",
        help="open the packets of the result in the TUI (needs columns file and frame_number, or file, "
        "proto and stream): the file with most rows, filtered to them",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sniffer.dataset.query import query, render

    names, rows = query(args.dataset, args.query)
    if args.tui:
        return _tui(names, rows)
    if names:
        sys.stdout.write(render(names, rows, args.format))
        sys.stdout.flush()
    return 0


def _tui(names: list[str], rows: list[tuple[Any, ...]]) -> int:
    from sniffer.dataset.query import tui_targets
    from sniffer.errors import SnifferError

    targets = tui_targets(names, rows)
    if not targets:
        raise SnifferError("sql: the query returned no packets to show")
    for f, flt, _n in targets[1:]:
        print(f"sniffer: also: sniffer tui -r {f} -Y '{flt}'", file=sys.stderr)
    app = tui_app(*targets[0][:2])
    app.run()
    return 0


def tui_app(file: str, display_filter: str) -> Any:
    """The TUI on ``file`` with ``display_filter`` applied (what --tui opens)."""
    from sniffer.commands.tui import build_app

    ns = argparse.Namespace(
        interface=None,
        read=file,
        follow=False,
        speed=None,
        capture_filter=None,
        display_filter=display_filter,
        snaplen=262144,
        netns=None,
    )
    return build_app(ns)
