"""`sniffer gen verify`: the closed loop over a capture file finds our flows and what went missing."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from helpers.cli import run_sniffer
from helpers.gencap import TagCapture

from sniffer.capture.pcapfile import open_writer
from sniffer.gen.core.payload import find_tag


@pytest.mark.root
def test_verify_reports_the_packets_we_dropped(tmp_path: Path) -> None:
    flow = random.getrandbits(32)
    with TagCapture("lo") as cap:
        res = run_sniffer("gen", "udp-blast", "-c", "50", "--pps", "5000", "--flow", str(flow), "--json")
    assert res.returncode == 0, res.stderr.decode()
    pcap = tmp_path / "cut.pcapng"
    w = open_writer(str(pcap), "pcapng", linktype=cap.frames[0].linktype)
    kept = 0
    for fr in cap.frames:
        tag = find_tag(fr.data)
        if tag is not None and tag.flow_id == flow and tag.seq in (7, 20):
            continue  # "lost" on the way
        w.write(fr)
        kept += 1
    w.close()
    out = run_sniffer("gen", "verify", str(pcap), "--flow", str(flow), "--json")
    assert out.returncode == 1, out.stderr.decode()  # missing sequence numbers: a failed verification
    (row,) = json.loads(out.stdout)["flows"]
    assert row["flow_id"] == flow and row["expected"] == 50
    assert row["missing"] == [7, 20] and row["distinct_seqs"] == 48
    assert row["delay_us"]["min"] >= 0
    p = run_sniffer("gen", "verify", str(pcap), "--flow", str(flow))
    assert p.returncode == 1 and "48/50 sequence numbers, missing 2 [7, 20]" in p.stdout.decode()
    # the whole capture: complete, rc 0; a flow that is not there: rc 1
    whole = tmp_path / "whole.pcapng"
    w = open_writer(str(whole), "pcapng", linktype=cap.frames[0].linktype)
    for fr in cap.frames:
        w.write(fr)
    w.close()
    assert run_sniffer("gen", "verify", str(whole), "--flow", str(flow)).returncode == 0
    assert run_sniffer("gen", "verify", str(whole), "--flow", str(flow ^ 1)).returncode == 1
