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


def _many_idbs(n: int, packets: int = 10) -> bytes:
    from helpers.formats_builders import epb, idb, shb

    return shb() + idb() * n + b"".join(epb("<", i * (n // packets), 10**6 * i, SYN) for i in range(packets))


def test_pcapng_with_many_interfaces_reads_in_linear_time() -> None:
    """2: 100k Interface Description Blocks took 147 s (quadratic: the per-interface state list was
    rebuilt for every block). Reading 40k IDBs must cost about 4x reading 10k, not 16x."""
    import io
    import time

    from sniffer.capture.pcapfile import open_capture

    def cost(n: int) -> float:
        data = _many_idbs(n)
        best = 1e9
        for _ in range(3):
            t = time.process_time()
            r = open_capture(io.BytesIO(data))
            assert sum(1 for _ in r) == 10 and len(r.interfaces) == n
            best = min(best, time.process_time() - t)
        return best

    small, big = cost(10_000), cost(40_000)
    assert big < 8 * small, (small, big)


def test_pcapng_100k_interfaces_cli_within_twice_tshark(tmp_path: Path) -> None:
    """2: every command on a 100k-IDB file in at most 2x tshark's CPU time (plus interpreter start)."""
    import resource
    import shutil
    import subprocess

    from helpers.cli import sniffer_argv, sniffer_env

    p = tmp_path / "idb100k.pcapng"
    p.write_bytes(_many_idbs(100_000))

    def cpu(argv: list[str]) -> float:
        a = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(argv, capture_output=True, env=sniffer_env(), timeout=120)
        b = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert r.returncode == 0, r.stderr
        return b.ru_utime - a.ru_utime + b.ru_stime - a.ru_stime

    tshark = shutil.which("tshark")
    assert tshark, "tshark (the oracle) is not installed"
    base = min(cpu([tshark, "-r", str(p)]) for _ in range(2))
    start = min(cpu(sniffer_argv("--help")) for _ in range(2))
    for args in (["read"], ["read", "--json"], ["stats"], ["read", "-Y", "tcp"]):
        t = min(cpu(sniffer_argv(*args, str(p))) for _ in range(2))
        assert t <= 2 * base + start, (args, t, base, start)
