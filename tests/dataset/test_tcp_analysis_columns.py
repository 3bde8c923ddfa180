"""`sniffer export`'s tcp_analysis (packets) and tcp_analysis_count (flows) columns: the tcp.analysis.*
flags `sniffer read --json` gives each packet (the TCP analysis compared with tshark in
tests/model/test_tcpanalysis.py), and per TCP stream the packets with one."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from dataset.helpers import read_json
from dataset.test_export import table
from sniffer.dataset.export import export
from sniffer.model.tcpanalysis import ANALYSIS_FLAGS

TCP = Path(__file__).resolve().parents[1] / "corpus" / "tcp"
FILES = ["zeek__pppoe-over-qinq.pcap", "zeek__ldap__aduser1.pcap", "zeek__workshop_2011_browse.pcap"]


def test_tcp_analysis_columns_equal_read_json(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    export([str(TCP / f) for f in FILES], str(ds))
    packets, flows = table(ds, "packets"), table(ds, "flows")
    flagged_total = 0
    for name in FILES:
        want = read_json(TCP / name, "--no-reassembly")
        got = sorted((r for r in packets if Path(r["file"]).name == name), key=lambda r: r["frame_number"])
        assert len(got) == len(want)
        per_stream: Counter[int] = Counter()
        for g, w in zip(got, want, strict=True):
            flags = [f[13:] for f in ANALYSIS_FLAGS if f in w]
            analysed = "tcp.time_relative" in w  # (only the analysis gives it)
            assert g["tcp_analysis"] == (flags if analysed else None), (name, g["frame_number"])
            if flags:
                flagged_total += 1
                per_stream[g["tcp_stream"]] += 1
        for f in flows:
            if Path(f["file"]).name == name:
                assert f["tcp_analysis_count"] == (per_stream[f["stream"]] if f["proto"] == "tcp" else None)
    assert flagged_total >= 30  # retransmissions, duplicate ACKs, window updates... in these captures
