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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sniffer.dataset.query import query, render

    names, rows = query(args.dataset, args.query)
    if names:
        sys.stdout.write(render(names, rows, args.format))
        sys.stdout.flush()
    return 0
