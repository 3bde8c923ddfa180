"""Benchmark the pcap/pcapng readers: sniffer's vs dpkt's and scapy's raw readers, side by side.

One command: python bench/pcapfile.py [--packets 1000000]
Generates a pcap and a pcapng of mixed-size Ethernet frames, then iterates every record with each
reader (no decoding: the reader layer only), several rounds alternating, and prints the median
records/s (CPU time of this process, so other load on the machine skews it less) and the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sniffer.capture.pcapfile import open_capture, open_writer
from sniffer.frame import Frame


def generate(path: str, fmt: str, n: int) -> None:
    sizes = (60, 74, 98, 150, 590, 1514)
    payloads = [bytes(range(256)) * 6 for _ in sizes]
    with open_writer(path, format=fmt) as w:
        t = 1_700_000_000 * 10**9
        for i in range(n):
            size = sizes[i % 6]
            t += 12_345
            w.write(Frame(t, payloads[i % 6][:size], size, 1))


def sniffer_iter(path: str) -> int:
    n = 0
    with open_capture(path) as r:
        for _ in r:
            n += 1
    return n


def sniffer_offsets(path: str) -> int:
    n = 0
    with open_capture(path) as r:
        for _ in r.iter_with_offsets():
            n += 1
    return n


def dpkt_iter(path: str) -> int:
    import dpkt

    n = 0
    with open(path, "rb") as f:
        reader = dpkt.pcapng.Reader(f) if path.endswith("ng") else dpkt.pcap.Reader(f)
        for _ in reader:
            n += 1
    return n


def scapy_iter(path: str) -> int:
    from scapy.utils import RawPcapNgReader, RawPcapReader

    n = 0
    reader = RawPcapNgReader(path) if path.endswith("ng") else RawPcapReader(path)
    for _ in reader:
        n += 1
    reader.close()
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scapy-packets", type=int, default=100_000, help="scapy reads a slice (it is slow)")
    args = ap.parse_args()
    readers: dict[str, Callable[[str], int]] = {
        "sniffer": sniffer_iter,
        "sniffer+offsets": sniffer_offsets,
        "dpkt": dpkt_iter,
        "scapy (raw)": scapy_iter,
    }
    with tempfile.TemporaryDirectory() as d:
        for fmt in ("pcap", "pcapng"):
            path = os.path.join(d, f"bench.{fmt}")
            small = os.path.join(d, f"small.{fmt}")
            generate(path, fmt, args.packets)
            generate(small, fmt, args.scapy_packets)
            rates: dict[str, list[float]] = {k: [] for k in readers}
            for _ in range(args.rounds):
                for name, fn in readers.items():
                    p = small if name.startswith("scapy") else path
                    t0 = time.process_time()
                    n = fn(p)
                    rates[name].append(n / (time.process_time() - t0))
            med = {k: statistics.median(v) for k, v in rates.items()}
            size_mb = os.path.getsize(path) / 1e6
            print(
                f"\n{fmt}: {args.packets} records ({size_mb:.0f} MB), median of {args.rounds} rounds (CPU time)"
            )
            for name, r in med.items():
                print(f"  {name:16s} {r / 1e6:6.2f} M records/s   sniffer is {med['sniffer'] / r:5.2f}x")
            with open_capture(path) as r:
                frames = [f for _, f in zip(range(200_000), r, strict=False)]
            wrates: dict[str, list[float]] = {"sniffer": [], "sniffer batch": [], "dpkt": []}
            out = os.path.join(d, f"out.{fmt}")
            for _ in range(args.rounds):
                for name in wrates:
                    t0 = time.process_time()
                    write(name, fmt, out, frames)
                    wrates[name].append(len(frames) / (time.process_time() - t0))
            wmed = {k: statistics.median(v) for k, v in wrates.items()}
            print(f"  writing {len(frames)} records ({fmt}):")
            for name, r in wmed.items():
                print(
                    f"  {name:16s} {r / 1e6:6.2f} M records/s   sniffer is {wmed['sniffer'] / r:5.2f}x,"
                    f" sniffer batch is {wmed['sniffer batch'] / r:5.2f}x"
                )
    return 0


def write(tool: str, fmt: str, path: str, frames: list[Frame]) -> None:
    if tool == "sniffer":
        with open_writer(path, format=fmt) as w:
            for f in frames:
                w.write(f)
        return
    if tool == "sniffer batch":  # as `sniffer capture -w` writes: one write_batch + flush per ring block
        with open_writer(path, format=fmt) as w:
            for i in range(0, len(frames), 256):
                w.write_batch(frames[i : i + 256])
                w.flush()
        return
    import dpkt

    with open(path, "wb") as fh:
        if fmt == "pcap":
            pw = dpkt.pcap.Writer(fh, nano=True)
        else:
            pw = dpkt.pcapng.Writer(fh)
        for f in frames:
            pw.writepkt(f.data, ts=f.ts_ns / 1e9)


if __name__ == "__main__":
    raise SystemExit(main())
