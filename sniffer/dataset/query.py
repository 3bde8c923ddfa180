"""`sniffer sql`: DuckDB in process over a dataset written by `sniffer export` (views packets and flows)."""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
from collections.abc import Sequence
from typing import Any

from sniffer.errors import SnifferError


def _duckdb() -> Any:
    """DuckDB's engine: the C extension ``_duckdb`` that the ``duckdb`` package re-exports (connect, Error).
    Imported alone it costs ~0.03 CPU s where ``import duckdb`` costs ~0.13 (the package's Python layer:
    relations, expressions, importlib.metadata), a third of a whole `sniffer sql` command; the package
    is the fallback should a release stop shipping the extension under that name."""
    try:
        import _duckdb

        return _duckdb
    except ImportError:  # pragma: no cover
        import duckdb

        return duckdb


def connect(dataset: str) -> Any:
    """A DuckDB connection with views ``packets`` and ``flows`` over ``dataset`` (hive partitions date, hour)."""
    duckdb = _duckdb()

    if not os.path.isfile(os.path.join(dataset, "_dataset.json")):
        raise SnifferError(
            f"sql: {dataset} is not a dataset (no _dataset.json): make one with `sniffer export`"
        )
    with open(os.path.join(dataset, "_dataset.json")) as f:
        extra = json.load(f).get("extra", [])
    con = duckdb.connect()
    for table in ("packets", "flows"):
        pattern = os.path.join(dataset, table, "date=*", "hour=*", "*.parquet")
        if _any(os.path.join(dataset, table)):
            path = pattern.replace("'", "''")
            con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}', hive_partitioning = true, "
                "hive_types = {'date': DATE, 'hour': INTEGER})"
            )
        else:  # no file yet: an empty view with the same columns (pyarrow only loads for this)
            import importlib

            import pyarrow as pa

            importlib.import_module("duckdb")  # sets up the scanning of Arrow tables (_duckdb alone lacks it)

            from sniffer.dataset.schema import FLOWS, packet_schema

            schema = packet_schema(extra) if table == "packets" else FLOWS
            empty = schema.empty_table().append_column("date", pa.array([], pa.date32()))
            empty = empty.append_column("hour", pa.array([], pa.int32()))
            con.register(f"_{table}_empty", empty)
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM _{table}_empty")
    return con


def _any(d: str) -> bool:
    for _root, _dirs, files in os.walk(d):
        if any(f.endswith(".parquet") for f in files):
            return True
    return False


def query(dataset: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql``; returns (column names, rows)."""
    duckdb = _duckdb()
    con = connect(dataset)
    try:
        cur = con.execute(sql)
        if cur.description is None:
            return [], []
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()
    except duckdb.Error as exc:
        msg = str(exc).strip().splitlines()[0]
        raise SnifferError(f"sql: {msg}") from None
    finally:
        con.close()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if v is None or isinstance(v, (int, float, str, bool)):
        return v
    return str(v)


def render(names: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """Rows as an aligned table, CSV (header line first) or JSON Lines."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(names)
        for r in rows:
            w.writerow(["" if v is None else _cell(v) for v in r])
        return buf.getvalue()
    if fmt == "json":
        return "".join(
            json.dumps({n: _json_value(v) for n, v in zip(names, r, strict=True)}, ensure_ascii=False) + "\n"
            for r in rows
        )
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [len(n) for n in names]
    for r in cells:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    numeric = [
        all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) and bool(rows)
        for i in range(len(names))
    ]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(vals, widths, strict=True))
        ).rstrip()

    out = [line(names), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out) + "\n"


def tui_targets(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[tuple[str, str, int]]:
    """(file, display filter, rows) per capture file of a query's result, most rows first: the packets
    of rows with ``file`` and ``frame_number`` (packets) or ``file``, ``proto`` and ``stream`` (flows).

    Raises:
        SnifferError: the result has neither shape.
    """
    col = {n: i for i, n in enumerate(names)}
    if "file" not in col or not ("frame_number" in col or ("proto" in col and "stream" in col)):
        raise SnifferError(
            "sql: --tui needs the columns file and frame_number (packets) or file, proto and stream (flows)"
        )
    per: dict[str, dict[str, set[int]]] = {}
    for r in rows:
        f = r[col["file"]]
        if f is None:
            continue
        d = per.setdefault(str(f), {})
        if "frame_number" in col:
            d.setdefault("frame.number", set()).add(int(r[col["frame_number"]]))
        else:
            d.setdefault(f"{r[col['proto']]}.stream", set()).add(int(r[col["stream"]]))
    out = []
    for f, fields in per.items():
        flt = " or ".join(
            f"{k} in {{{' '.join(str(n) for n in sorted(v))}}}" for k, v in sorted(fields.items())
        )
        out.append((f, flt, sum(len(v) for v in fields.values())))
    out.sort(key=lambda t: (-t[2], t[0]))
    return out
