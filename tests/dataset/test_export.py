"""`sniffer export`: the packets table equals `sniffer read --json` file by file, flows are conn.log-like,
re-running skips exported files, byte ranges of a big pcap give the same rows as the whole file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.dataset as pads
import pytest

from dataset.helpers import app_capture, read_json
from sniffer import cli
from sniffer.dataset.export import Runner, export
from sniffer.dataset.rows import APP_FIELDS

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "captures"
# the team's shared corpora: beside the repository in CI, two levels up in a helper's worktree
SHARED = next(
    (p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT / "shared"
)


def table(ds: Path, name: str) -> list[dict[str, Any]]:
    d = pads.dataset(str(ds / name), format="parquet", partitioning="hive")
    return d.to_table().to_pylist()


def _first(v: Any) -> Any:
    return v[0] if isinstance(v, list) else v


def _text(v: Any) -> str | None:
    if v is None:
        return None
    return ",".join(str(x) for x in v) if isinstance(v, list) else str(v)


def _by_file(ds: Path) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in table(ds, "packets"):
        rows.setdefault(str(Path(r["file"]).resolve()), []).append(r)  # symlinked dirs too
    for v in rows.values():
        v.sort(key=lambda r: r["frame_number"])
    return rows


def check_against_read(ds: Path, ds_e: Path, files: list[Path]) -> int:
    """Every file's rows equal `sniffer read --json`: count, numbers, lengths, times, columns, addresses,
    ports, flags and the application columns (DNS, TLS, HTTP names). ``ds_e`` (the same files exported
    with ``-e ip.ttl``: every packet dissected in full) has the same rows and flows plus an ip.ttl column
    equal to read's. Returns the packets compared."""
    rows, rows_e = _by_file(ds), _by_file(ds_e)
    key = ("file", "proto", "stream")
    assert sorted(table(ds, "flows"), key=lambda r: [r[k] for k in key]) == sorted(
        table(ds_e, "flows"), key=lambda r: [r[k] for k in key]
    )
    total = 0
    for f in files:
        want = read_json(f)
        got = rows.get(str(f.resolve()), [])
        got_e = rows_e.get(str(f.resolve()), [])
        assert len(got) == len(want) == len(got_e), f.name
        for w, g, ge in zip(want, got, got_e, strict=True):
            ctx = f"{f.name} #{w['frame.number']}"
            assert ge.pop("ip.ttl") == _text(w.get("ip.ttl")), ctx
            assert ge == g, ctx
            assert g["frame_number"] == w["frame.number"], ctx
            assert g["len"] == w["frame.len"] and g["cap_len"] == w["frame.cap_len"], ctx
            sec, ns = w["frame.time_epoch"].split(".")
            assert g["ts_ns"] == int(sec) * 10**9 + int(ns), ctx
            assert g["interface"] == w["frame.interface_id"], ctx
            assert g["protocols"] == w["frame.protocols"], ctx
            assert g["col_protocol"] == w["_ws.col.Protocol"], ctx
            assert g["col_info"] == w["_ws.col.Info"], ctx
            assert g["malformed"] == ("_ws.malformed" in w), ctx
            v6 = "ipv6.src" in w and "ip.src" not in w
            assert g["src"] == _first(w.get("ipv6.src" if v6 else "ip.src")), ctx
            assert g["dst"] == _first(w.get("ipv6.dst" if v6 else "ip.dst")), ctx
            assert g["ip_proto"] == _first(w.get("ipv6.nxt" if v6 else "ip.proto")), ctx
            assert g["ip_version"] == (6 if v6 else 4 if "ip.src" in w else None), ctx
            assert (g["eth_src"], g["eth_dst"]) == (_first(w.get("eth.src")), _first(w.get("eth.dst"))), ctx
            for ours, theirs in (("sport", "srcport"), ("dport", "dstport")):
                if g[ours] is not None and ("tcp." + theirs in w or "udp." + theirs in w):
                    assert g[ours] in (_first(w.get("tcp." + theirs)), _first(w.get("udp." + theirs))), ctx
            if g["tcp_flags"] is not None and "tcp.flags" in w:
                assert g["tcp_flags"] == _first(w["tcp.flags"]), ctx
            for col, name in APP_FIELDS.items():
                assert g[col] == _first(w.get(name)), ctx
            total += 1
    return total


def test_corpus_export_equals_read_json(tmp_path: Path) -> None:
    ds, ds_e = tmp_path / "ds", tmp_path / "ds-e"
    files = sorted(CORPUS.iterdir())
    res = export([str(CORPUS)], str(ds))
    assert export([str(CORPUS)], str(ds_e), ["ip.ttl"]).packets == res.packets
    assert res.files == len(files)
    assert check_against_read(ds, ds_e, files) == res.packets > 1000
    # damaged files are reported, their good packets kept
    assert res.errors and all(
        "pr1704" in e or "invalid" in e or "test002" in e or "reserved" in e for e in res.errors
    )


@pytest.mark.slow
def test_shared_corpora_export_equals_read_json(tmp_path: Path) -> None:
    dirs = [SHARED / "corpus" / "captures", SHARED / "corpus-breadth" / "captures"]
    if not all(d.is_dir() for d in dirs):
        if os.environ.get("CI"):
            pytest.fail(f"the shared corpora are missing beside the repository ({SHARED})")
        pytest.skip("no ../shared corpora here")
    ds, ds_e = tmp_path / "ds", tmp_path / "ds-e"
    res = export([str(d) for d in dirs], str(ds))
    assert export([str(d) for d in dirs], str(ds_e), ["ip.ttl"]).packets == res.packets
    files = sorted(p for d in dirs for p in d.iterdir() if p.is_file())
    assert res.files == len(files)
    assert check_against_read(ds, ds_e, files) == res.packets


def test_flows_are_conn_log_like(tmp_path: Path) -> None:
    pcap = tmp_path / "app.pcap"
    app_capture(pcap)
    ds = tmp_path / "ds"
    export([str(pcap)], str(ds))
    flows = sorted(table(ds, "flows"), key=lambda r: (r["proto"], r["stream"]))
    got = [(r["proto"], r["stream"], r["orig_p"], r["resp_p"], r["conn_state"], r["service"]) for r in flows]
    assert got == [
        ("tcp", 0, 40001, 443, "SF", "TLSv1"),
        ("tcp", 1, 40002, 443, "SF", "TLSv1"),
        ("tcp", 2, 40003, 9999, "RSTR", None),
        ("udp", 0, 50000, 53, "S0", "DNS"),
        ("udp", 1, 50001, 53, "S0", "DNS"),
        ("udp", 2, 50002, 53, "S0", "DNS"),
    ]
    tls10 = flows[0]
    assert (tls10["orig_h"], tls10["resp_h"]) == ("127.0.0.1", "127.0.0.2")
    assert (tls10["orig_pkts"], tls10["resp_pkts"], tls10["first_frame"], tls10["last_frame"]) == (5, 3, 1, 8)
    assert tls10["history"] == "ShDFf"
    assert tls10["orig_bytes"] == 54 * 4 + 178 and tls10["resp_bytes"] == 54 * 3
    packets = table(ds, "packets")
    assert [p["tls_handshake_version"] for p in packets if p["tls_handshake_version"]] == [0x0301, 0x0303]
    assert {p["tls_sni"] for p in packets if p["tls_sni"]} == {"old.example", "new.example"}
    # the flows' frames are the packets of that stream
    s0 = [p["frame_number"] for p in packets if p["tcp_stream"] == 0]
    assert (min(s0), max(s0), len(s0)) == (1, 8, 8)
    # hive partitions by date and hour of the packet time (UTC)
    assert {
        (p["date"].isoformat() if hasattr(p["date"], "isoformat") else str(p["date"]), p["hour"])
        for p in packets
    } == {("2023-11-14", 22)}


def test_partitions_split_by_hour_and_rerun_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    app_capture(a, start_ns=1_700_000_000_000_000_000 + 2_799_990_000_000)  # crosses 23:00 UTC
    app_capture(b)
    ds = tmp_path / "ds"
    assert cli.main(["export", str(a), "--out", str(ds), "-q"]) == 0
    parts = sorted(p.relative_to(ds).as_posix() for p in ds.rglob("*.parquet"))
    assert [p.rsplit("/", 1)[0] for p in parts] == [
        "flows/date=2023-11-14/hour=22",
        "flows/date=2023-11-14/hour=23",
        "packets/date=2023-11-14/hour=22",
        "packets/date=2023-11-14/hour=23",
    ]
    assert cli.main(["export", str(tmp_path / "*.pcap"), "--out", str(ds)]) == 0
    err = capsys.readouterr().err
    assert "1 files exported (24 packets, 6 flows)" in err and "1 already in" in err
    # a file that changed is exported again (its old parts replaced), nothing doubles
    app_capture(a, start_ns=1_700_000_000_000_000_000)
    os.utime(a, ns=(1, 1))
    assert cli.main(["export", str(tmp_path), "--out", str(ds), "-q"]) == 0
    rows = table(ds, "packets")
    assert len(rows) == 48 and len({(r["file"], r["frame_number"]) for r in rows}) == 48
    manifest = [json.loads(x) for x in (ds / "_manifest.jsonl").read_text().splitlines()]
    assert [Path(m["path"]).name for m in manifest] == ["a.pcap", "b.pcap", "a.pcap"]
    # another -e set is refused (one schema per dataset)
    assert cli.main(["export", str(a), "--out", str(ds), "-e", "ip.ttl"]) == 1
    assert "was made with no -e fields" in capsys.readouterr().err


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    good = tmp_path / "good.pcap"
    frames = app_capture(good)
    bad.write_bytes(good.read_bytes()[:-30])  # the last record cut short
    cmd = [sys.executable, "-m", "sniffer", "export", str(bad), "--out", str(tmp_path / "ds"), "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("sniffer: ") and "Traceback" not in r.stderr
    assert len(table(tmp_path / "ds", "packets")) == len(frames) - 1
    for args, msg in (
        (["export", str(tmp_path / "nothing*"), "--out", "x"], "no such file"),
        (["export", str(good), "--out", "x", "-e", "ip.tttl"], 'unknown field; did you mean "ip.ttl"'),
        (["sql", "SELECT 1", str(tmp_path)], "is not a dataset"),
        (["sql", "SELECT nope FROM packets", str(tmp_path / "ds")], "sql: Binder Error"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "sniffer", *args], capture_output=True, text=True, timeout=60
        )
        assert r.returncode != 0 and r.stderr.startswith("sniffer: ") and msg in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") == 1


def test_byte_ranges_of_a_big_pcap_give_the_whole_files_rows(tmp_path: Path) -> None:
    """A pcap cut into ranges at arbitrary byte offsets: each record exported once, with its frame number
    and offset; only the stream numbers and flows are per range (documented)."""
    big = tmp_path / "big.pcap"
    # several corpus captures of one link type merged into one pcap (mergecap is not needed: our writer)
    from sniffer.capture.pcapfile import open_capture, open_writer

    with open_writer(str(big), "pcap", nanosecond=False) as w:
        for _ in range(3):
            for name in ("zeek__wikipedia.pcap", "dpkt__dns_icmp.pcap", "tcpdump__mptcp-v1.pcap"):
                with open_capture(str(CORPUS / name)) as r:
                    for fr in r:
                        if fr.linktype == 1:
                            w.write(fr)
    whole, split = tmp_path / "whole", tmp_path / "split"
    export([str(big)], str(whole))
    res = export([str(big)], str(split), runner=Runner(1), split_bytes=7001)
    man = json.loads((split / "_manifest.jsonl").read_text())
    assert man["ranges"] > 10 and res.packets == man["packets"]
    skip = {"tcp_stream", "udp_stream", "tcp_analysis"}  # (per range: the analysis starts at each)

    def key(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(tuple(v for k, v in r.items() if k not in skip) for r in rows)

    a, b = table(whole, "packets"), table(split, "packets")
    assert len(a) == len(b) > 500
    assert key(a) == key(b)
    offsets = sorted(r["offset"] for r in b)
    assert offsets[0] == 24 and len(set(offsets)) == len(offsets)


def test_commands_do_not_load_the_engines_for_help() -> None:
    code = "import sys\nfrom sniffer.cli import build_parser\nbuild_parser()\nprint([m for m in ('pyarrow', 'duckdb', '_duckdb', 'dask', 'distributed') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert shutil.which("true")


def test_offset_points_at_the_packets_record(tmp_path: Path) -> None:
    """A row traces back to its packet: `offset` is where its record starts (the pcap record header or the
    pcapng packet block), whose lengths are the row's cap_len and len; the frame numbers run 1..N."""
    import struct

    files = [
        CORPUS / "zeek__wikipedia.pcap",
        CORPUS / "tcpdump__tcp-handshake-nano.pcap",
        CORPUS / "pcapng-tg__output_be__basic__test006.pcapng",
        CORPUS / "pcapng-tg__output_le__advanced__test100.pcapng",
    ]
    ds = tmp_path / "ds"
    export([str(f) for f in files], str(ds))
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in table(ds, "packets"):
        rows.setdefault(r["file"], []).append(r)
    checked = 0
    for f in files:
        data = f.read_bytes()
        got = sorted(rows[str(f)], key=lambda r: r["frame_number"])
        assert [r["frame_number"] for r in got] == list(range(1, len(got) + 1)), f.name
        if f.suffix == ".pcap":
            e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
            for r in got:
                _s, _f, incl, orig = struct.unpack_from(e + "IIII", data, r["offset"])
                assert (incl, orig) == (r["cap_len"], r["len"]), (f.name, r["frame_number"])
                checked += 1
            continue
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        for r in got:
            btype, _blen = struct.unpack_from(e + "II", data, r["offset"])
            assert btype in (2, 3, 6), (f.name, r["frame_number"], btype)
            if btype == 6:  # enhanced packet block: captured and original length after if id and time
                incl, orig = struct.unpack_from(e + "II", data, r["offset"] + 20)
                assert (incl, orig) == (r["cap_len"], r["len"]), (f.name, r["frame_number"])
            checked += 1
    assert checked > 100


def test_tasks_start_biggest_first(tmp_path: Path) -> None:
    """The workers are handed the biggest files first, so the last tasks to start are the short ones."""
    from collections.abc import Callable, Iterator, Sequence

    from sniffer.dataset.export import run_task

    class Recording(Runner):
        order: list[str] = []

        def map(self, fn: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
            if fn is run_task:
                self.order = [a[0].path for a in args]
            return super().map(fn, args)

    files = [CORPUS / n for n in ("dpkt__dns_icmp.pcap", "zeek__wikipedia.pcap", "tcpdump__mptcp-v1.pcap")]
    r = Recording()
    export([str(f) for f in files], str(tmp_path / "ds"), runner=r)
    assert r.order == [str(f) for f in sorted(files, key=lambda f: -f.stat().st_size)]


def test_a_file_decodes_as_if_read_alone(tmp_path: Path) -> None:
    """The decoder's one cross-packet state (a TFTP request binds the transfer's new server port) does not
    leak from one exported file into the next one the same worker exports: each file's rows are its own
    `sniffer read --json`."""
    from sniffer.capture.pcapfile import open_writer
    from sniffer.gen.traffic.synth import udp_frame

    rrq = b"\x00\x01boot.img\x00octet\x00"
    data = b"\x00\x03\x00\x01" + b"x" * 100
    start = 1_700_000_000_000_000_000
    for name, frames in (
        # (the bigger file: exported first)
        ("a-request.pcap", [udp_frame(True, 40000, 69, rrq, 1), udp_frame(True, 40001, 9, bytes(1000), 4)]),
        (
            "b-transfer.pcap",
            [udp_frame(False, 40000, 50123, data, 2), udp_frame(True, 40000, 50123, b"\x00\x04\x00\x01", 3)],
        ),
    ):
        with open_writer(str(tmp_path / name), "pcap") as w:
            for i, fr in enumerate(frames):
                w.write(fr._replace(ts_ns=start + i))
    ds = tmp_path / "ds"
    export([str(tmp_path / "a-request.pcap"), str(tmp_path / "b-transfer.pcap")], str(ds))
    rows = [r for r in table(ds, "packets") if r["file"].endswith("b-transfer.pcap")]
    want = read_json(tmp_path / "b-transfer.pcap")
    assert (
        [r["col_protocol"] for r in sorted(rows, key=lambda r: r["frame_number"])]
        == [w["_ws.col.Protocol"] for w in want]
        == ["UDP", "UDP"]
    )
    # (the request file itself: TFTP, then the padding datagram to the discard port)
    first = sorted(
        (r for r in table(ds, "packets") if r["file"].endswith("a-request.pcap")),
        key=lambda r: r["frame_number"],
    )
    assert [r["col_protocol"] for r in first] == ["TFTP", "UDP"]
