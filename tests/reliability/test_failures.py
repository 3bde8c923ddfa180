"""Regression tests for the failures a fuzz campaign, fault injection and a load test found (issue 17)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from helpers.cli import run_sniffer
from helpers.formats_builders import pcap_header, pcap_record

ETH = b"\x00\x11" * 3 + b"\x00\x22" * 3 + b"\x08\x00"
IP = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
TCP = struct.pack("!HHIIHHHH", 1234, 80, 1, 0, 0x5002, 8192, 0, 0)
SYN = ETH + IP + TCP  # 54 bytes: the text fast path's shape


def _one_line_error(r: object) -> str:
    err = r.stderr.decode()  # type: ignore[attr-defined]
    assert r.returncode != 0, err  # type: ignore[attr-defined]
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("sniffer: "), err
    return err


def test_pcap_usec_past_one_second_is_carried(tmp_path: Path) -> None:
    """1: a record whose microseconds field is >= 1,000,000 (damage) raised IndexError in `read`'s
    text fast path; now the fraction carries into the seconds, as Frame.ts (and --json) do."""
    p = tmp_path / "usec.pcap"
    p.write_bytes(pcap_header() + pcap_record("<", 100, 1_500_000, SYN) + pcap_record("<", 100, 2, SYN))
    r = run_sniffer("read", str(p))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert [ln.split()[1] for ln in lines] == ["00:01:41.500000", "00:01:40.000002"]
    js = [json.loads(x) for x in run_sniffer("read", "--json", str(p)).stdout.decode().splitlines()]
    assert [o["frame.time_epoch"] for o in js] == ["101.500000000", "100.000002000"]


def test_caplen_above_len_keeps_the_recorded_len(tmp_path: Path) -> None:
    """6: a record with caplen > len: frame.len is the recorded len (libpcap, tshark), not caplen."""
    p = tmp_path / "caplen.pcap"
    p.write_bytes(pcap_header() + pcap_record("<", 100, 2, SYN, wirelen=40))
    (obj,) = [json.loads(x) for x in run_sniffer("read", "--json", str(p)).stdout.decode().splitlines()]
    assert (obj["frame.len"], obj["frame.cap_len"]) == (40, 54)
    assert obj["tcp.srcport"] == 1234  # every captured byte is still decoded
    r = run_sniffer("read", "-Y", "frame.len == 40", str(p))
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1, r.stderr
