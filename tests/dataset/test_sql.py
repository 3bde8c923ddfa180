"""`sniffer sql`: every documented example runs on a dataset and gives the expected rows; the formats."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dataset.helpers import app_capture
from sniffer import cli
from sniffer.dataset.examples import EXAMPLES
from sniffer.dataset.export import export
from sniffer.dataset.query import query

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dataset.md"


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sql")
    app_capture(d / "app.pcap")
    export([str(d / "app.pcap")], str(d / "ds"))
    return d / "ds"


EXPECTED = {
    "top talkers": [("127.0.0.1", 16, 1650), ("127.0.0.2", 8, 432)],
    "DNS names": [("a.example", 2), ("b.example", 1)],
    "TLS versions": [("127.0.0.1", "0x0301", "old.example", 1), ("127.0.0.1", "0x0303", "new.example", 1)],
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_documented_example(ds: Path, name: str) -> None:
    _names, rows = query(str(ds), EXAMPLES[name])
    if name in EXPECTED:
        assert rows == EXPECTED[name]
    elif name.startswith("conversations"):
        assert [(r[0], r[2], r[4], r[5]) for r in rows] == [
            ("tcp", 40001, 443, "SF"),
            ("tcp", 40002, 443, "SF"),
            ("udp", 50000, 53, "S0"),
            ("udp", 50001, 53, "S0"),
            ("udp", 50002, 53, "S0"),
            ("tcp", 40003, 9999, "RSTR"),
        ]
        assert [r[-1] for r in rows] == [1, 9, 17, 18, 19, 20]
    else:
        assert [r[1] for r in rows] == list(range(1, 9))
        assert rows[3][2] == "Client Hello"
    # the docs show this very query
    assert EXAMPLES[name] in re.sub(r"\s*\n\s*", " ", DOCS.read_text())


def test_formats(ds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q = EXAMPLES["top talkers"]
    assert cli.main(["sql", q, str(ds)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["src", "packets", "bytes"] and lines[2].split() == ["127.0.0.1", "16", "1650"]
    assert cli.main(["sql", q, str(ds), "-f", "csv"]) == 0
    assert list(csv.reader(io.StringIO(capsys.readouterr().out)))[1] == ["127.0.0.1", "16", "1650"]
    assert cli.main(["sql", "SELECT ts, date, hour FROM packets LIMIT 1", str(ds), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row == {"ts": "2023-11-14T22:13:20+00:00", "date": "2023-11-14", "hour": 22}


def test_empty_dataset_has_the_tables(tmp_path: Path) -> None:
    export([], str(tmp_path / "ds"))
    _names, rows = query(str(tmp_path / "ds"), "SELECT count(*) FROM packets, flows")
    assert rows == [(0,)]


def test_tui_targets_of_packets_and_flows(ds: Path) -> None:
    from sniffer.dataset.query import tui_targets

    names, rows = query(str(ds), "SELECT file, frame_number FROM packets WHERE dns_qry_name = 'a.example'")
    [(f, flt, n)] = tui_targets(names, rows)
    assert f.endswith("app.pcap") and flt == "frame.number in {17 19}" and n == 2
    names, rows = query(str(ds), "SELECT file, proto, stream FROM flows WHERE conn_state = 'SF'")
    assert tui_targets(names, rows)[0][1] == "tcp.stream in {0 1}"
    r = subprocess.run(
        [sys.executable, "-m", "sniffer", "sql", "SELECT 1 AS x", str(ds), "--tui"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and r.stderr.startswith("sniffer: sql: --tui needs the columns file")


async def test_query_rows_open_as_a_filtered_packet_list(ds: Path) -> None:
    """The TUI opened by `sniffer sql ... --tui` shows exactly the packets of the result rows."""
    from sniffer.commands.sql import tui_app
    from sniffer.dataset.query import tui_targets

    names, rows = query(str(ds), "SELECT file, frame_number FROM packets WHERE tcp_stream = 1")
    f, flt, _n = tui_targets(names, rows)[0]
    app = tui_app(f, flt)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.source.status.done and app.view.done and app.plist.count == 8:
                break
        assert app.plist.count == len(app.view) == 8
        assert [app.view.packet(i) + 1 for i in range(8)] == list(range(9, 17))  # frame numbers


@pytest.mark.parametrize("table", ["packets", "flows"])
def test_docs_table_is_the_schema(table: str) -> None:
    """docs/dataset.md's column table of each table names every column, in order, with its Arrow type
    (the stable schema users write Spark/Trino/ClickHouse tables against)."""
    from sniffer.dataset.schema import FLOWS, PACKETS

    text = DOCS.read_text().split(f"## Table `{table}`", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", text, re.M)
    schema = PACKETS if table == "packets" else FLOWS
    assert documented == [(f.name, str(f.type)) for f in schema]
