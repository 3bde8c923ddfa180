"""A ring of capture files read as one capture in time order (sniffer/capture/fileset.py, `sniffer read`
with several files, a DIR or a GLOB), and the ring `capture -C -W` really writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.capture_cli import start_capture
from helpers.capture_traffic import ETH_P_EXPERIMENTAL, experimental_frames, tshark_bytes
from helpers.cli import run_sniffer

from sniffer.capture.afpacket import PacketSender
from sniffer.capture.fileset import MergedReader, expand_inputs, open_captures
from sniffer.capture.pcapfile import open_capture, open_writer
from sniffer.errors import PcapFormatError, UsageError
from sniffer.frame import Frame
from sniffer.netns import netns

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "captures"
WIKIPEDIA = CORPUS / "zeek__wikipedia.pcap"


def _write(path: Path, frames: list[Frame], fmt: str = "pcap") -> None:
    with open_writer(str(path), fmt) as w:
        for f in frames:
            w.write(f)


def _ring(tmp_path: Path) -> tuple[list[Frame], Path]:
    """The wikipedia capture as a reused ring of 3 files: ring.pcap0 holds the newest third (the ring
    came round), ring.pcap1 the oldest, ring.pcap2 the middle (name order is not time order)."""
    frames = list(open_capture(WIKIPEDIA))
    k = len(frames) // 3
    d = tmp_path / "ring"
    d.mkdir()
    _write(d / "ring.pcap1", frames[:k])
    _write(d / "ring.pcap2", frames[k : 2 * k])
    _write(d / "ring.pcap0", frames[2 * k :], "pcapng")  # a ring may mix formats after a restart
    return frames, d


def test_merged_reader_gives_the_ring_in_time_order(tmp_path: Path) -> None:
    frames, d = _ring(tmp_path)
    with MergedReader(expand_inputs([str(d)])) as rd:
        got = list(rd)
    assert [(f.ts_ns, f.data, f.wirelen) for f in got] == [(f.ts_ns, f.data, f.wirelen) for f in frames]


def test_overlapping_files_interleave_by_time_and_ties_keep_file_order(tmp_path: Path) -> None:
    with open_capture(CORPUS / "tcpdump__dns_udp.pcap") as rd:
        base = next(iter(rd))
    a = [base._replace(ts_ns=t, ifname="") for t in (10, 30, 30, 50)]
    b = [base._replace(ts_ns=t, data=base.data[:-1] + b"B", wirelen=base.wirelen) for t in (20, 30, 40)]
    _write(tmp_path / "a.pcap", a)
    _write(tmp_path / "b.pcap", b)
    with MergedReader([str(tmp_path / "a.pcap"), str(tmp_path / "b.pcap")]) as rd:
        got = [(f.ts_ns, f.data[-1:] == b"B") for f in rd]
    assert got == [(10, False), (20, True), (30, False), (30, False), (30, True), (40, True), (50, False)]


def test_sniffer_read_of_a_ring_equals_the_capture_it_was_cut_from(tmp_path: Path) -> None:
    _frames, d = _ring(tmp_path)
    whole = run_sniffer("read", str(WIKIPEDIA))
    assert whole.returncode == 0
    files = [str(d / n) for n in ("ring.pcap0", "ring.pcap1", "ring.pcap2")]
    for args in ([str(d)], [str(d / "ring.pcap*")], files, ["-r", files[2], "-r", files[0], "-r", files[1]]):
        res = run_sniffer("read", *args)
        assert res.returncode == 0, res.stderr
        assert res.stdout == whole.stdout, args  # frame numbers run on across the files
    js = run_sniffer("read", "--json", "-c", "3", str(d))
    assert js.returncode == 0 and js.stdout.count(b'"frame.number"') == 3


def test_a_damaged_file_keeps_the_others_and_is_one_error_line(tmp_path: Path) -> None:
    frames, d = _ring(tmp_path)
    mid = d / "ring.pcap2"
    data = mid.read_bytes()
    mid.write_bytes(data[: len(data) - 50])  # its last packet cut in half
    res = run_sniffer("read", str(d))
    assert res.returncode != 0
    err = res.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(f"sniffer: {mid}: ") and "Traceback" not in err
    assert res.stdout.count(b"\n") == len(frames) - 1  # every packet but the cut one
    seen: list[Frame] = []
    with pytest.raises(PcapFormatError, match=r"ring\.pcap2"), MergedReader(expand_inputs([str(d)])) as rd:
        seen.extend(rd)
    assert len(seen) == len(frames) - 1
    (d / "junk.pcap").write_bytes(b"not a capture at all")
    res = run_sniffer("read", str(d / "*.pcap*"))
    assert res.returncode != 0 and res.stderr.decode().count("\n") == 1 and b"junk.pcap" in res.stderr
    with pytest.raises(UsageError, match="no such file"):
        open_captures([str(tmp_path / "nothing*")])
    with pytest.raises(UsageError, match="standard input"):
        open_captures(["-", str(WIKIPEDIA)])


@pytest.mark.root
def test_the_ring_capture_writes_reads_back_in_time_order(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`capture -C -W 3` reuses its files (ring.pcapng0 is overwritten by the 4th); `sniffer read DIR`
    gives the packets the ring still holds, in the order they were sent."""
    a, b = netns_pair
    base = tmp_path / "ring.pcapng"
    frames = experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 80, size=1000)
    expr = f"ether proto {ETH_P_EXPERIMENTAL:#x}"
    proc = start_capture(
        "--netns", b.ns, "-i", "vb", "-w", str(base), "-C", "0.02", "-W", "3", "-c", "80", expr
    )
    with netns(a.ns):
        sender = PacketSender("va")
    with sender:
        for f in frames:
            sender.send(f)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    files = sorted(os.listdir(tmp_path))
    assert files == ["ring.pcapng0", "ring.pcapng1", "ring.pcapng2"]
    res = run_sniffer("read", "-r", str(tmp_path / "ring.pcapng*"))
    assert res.returncode == 0, res.stderr
    kept = res.stdout.count(b"\n")
    assert 20 < kept < 80  # the ring came round: the oldest packets are gone
    merged = tmp_path / "merged.pcapng"
    with MergedReader(expand_inputs([str(tmp_path)])) as rd, open_writer(str(merged), "pcapng") as w:
        for fr in rd:
            w.write(fr)
    assert tshark_bytes(merged, tmp_path) == frames[-kept:]  # the newest packets, in the order sent


def test_a_long_ring_keeps_few_files_open(tmp_path: Path) -> None:
    """A day of `capture -G 60` is 1440 files: the merge opens a file when it reaches its first packet
    and closes it when read, so a ring (files one after another) never holds more than one open."""
    with open_capture(CORPUS / "tcpdump__dns_udp.pcap") as rd:
        base = next(iter(rd))
    n = 300
    for i in range(n):  # names in reverse time order
        _write(tmp_path / f"r{n - i:04d}.pcap", [base._replace(ts_ns=i * 10 + j) for j in range(3)])
    most = 0
    with MergedReader(expand_inputs([str(tmp_path)])) as rd:
        assert len(rd._open) == 0
        times = []
        for fr in rd:
            times.append(fr.ts_ns)
            most = max(most, len(rd._open))
    assert times == [i * 10 + j for i in range(n) for j in range(3)]
    assert most == 1 and not rd._open
