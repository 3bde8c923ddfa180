"""Benchmark the cost of the TCP analysis and reassembly in `sniffer read` / `-Y` / `stats --expert`, next to tshark.

One command: `python bench/analysis.py [--repeat K] [--runs R] [--real PACKETS | --file F]`. It builds bench/out/real-tcp.pcapng
from the TCP captures of /work/shared/corpus and /work/shared/corpus-breadth (the copies in
tests/corpus; mergecap -a, the list repeated K times: real traffic of ~45 protocols and link types, every
conversation several times over), then times each command side by side (CPU seconds of the child,
user + system; median of R runs) and prints the ratio of each analysed run to the same run without
analysis, and of sniffer to tshark doing the same job. The "reassembly" rows compare the analysed runs
with and without TCP reassembly (`--no-reassembly`): its own cost. `--real PACKETS`: the real-traffic file
of bench/realtraffic.py instead (every Ethernet capture of the corpora, ~45% TCP), e.g. --real 100000.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SNIFFER = [sys.executable, "-m", "sniffer"]


def build(repeat: int) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from model.test_tcpanalysis import _tcp_captures  # the same files the tests compare

    files = [str(p) for p in _tcp_captures()]
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"real-tcp-x{repeat}.pcapng"
    if not out.exists():
        subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", str(out), *(files * repeat)], check=True)
    return out


def cpu(argv: list[str]) -> float:
    """CPU seconds (user + system) of one run of ``argv`` (output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--real", type=int, metavar="PACKETS", help="the real-traffic file (bench/realtraffic.py)"
    )
    ap.add_argument("--file", help="this capture instead (e.g. a slice of the real-traffic file)")
    ap.add_argument("--only", help="only the jobs whose name contains this (e.g. expert)")
    args = ap.parse_args()
    if shutil.which("mergecap") is None or shutil.which("tshark") is None:
        print("bench/analysis.py needs mergecap and tshark (apt-get install tshark)", file=sys.stderr)
        return 1
    if args.file:
        path = args.file
    elif args.real:
        sys.path.insert(0, str(ROOT / "bench"))
        from realtraffic import real_traffic

        path = str(real_traffic(args.real))
    else:
        path = str(build(args.repeat))
    npk = sum(
        1
        for _ in subprocess.run(
            ["tshark", "-r", path, "-T", "fields", "-e", "frame.number"], capture_output=True, text=True
        ).stdout.splitlines()
    )
    tsh = ["tshark", "-n", "-r", path]
    rows = [
        # (name, sniffer without analysis, sniffer with it, tshark doing the analysed job)
        (
            "read --json",
            [*SNIFFER, "read", path, "--json", "--no-analysis"],
            [*SNIFFER, "read", path, "--json"],
            [*tsh, "-T", "ek"],
        ),
        (
            "read (text lines)",
            [*SNIFFER, "read", path],
            [*SNIFFER, "read", path, "--analysis"],
            tsh,
        ),
        # the TCP reassembly's share of the above (the analysis on in both; tshark with its defaults)
        (
            "reassembly --json",
            [*SNIFFER, "read", path, "--json", "--no-reassembly"],
            [*SNIFFER, "read", path, "--json"],
            [*tsh, "-T", "ek"],
        ),
        (
            "reassembly (text)",
            [*SNIFFER, "read", path, "--analysis", "--no-reassembly"],
            [*SNIFFER, "read", path, "--analysis"],
            tsh,
        ),
        (
            "-Y filter",
            [*SNIFFER, "read", path, "-Y", "tcp.port == 80"],
            [*SNIFFER, "read", path, "-Y", "tcp.analysis.flags"],
            [*tsh, "-Y", "tcp.analysis.flags"],
        ),
        (
            "stats --expert",
            [*SNIFFER, "stats", "--conv", "tcp", path],
            [*SNIFFER, "stats", "--expert", path],
            [*tsh, "-q", "-z", "expert"],
        ),
    ]
    if args.only:
        rows = [r for r in rows if args.only in r[0]]
    load = os.getloadavg()[0]
    print(
        f"file: {path} ({npk} packets), median CPU seconds of {args.runs} runs (user+system), load {load:.1f}"
    )
    print(
        f"{'job':20} {'sniffer':>9} {'+analysis':>10} {'cost':>7} {'us/pkt':>7} {'tshark':>8} {'sniffer/tshark':>15}"
    )
    for name, plain, analysed, theirs in rows:
        a, b, c = [], [], []
        for _ in range(args.runs):  # interleaved: the three see the same machine load
            a.append(cpu(plain))
            b.append(cpu(analysed))
            c.append(cpu(theirs))
        ma, mb, mc = statistics.median(a), statistics.median(b), statistics.median(c)
        print(
            f"{name:20} {ma:9.2f} {mb:10.2f} {mb / ma:6.2f}x {(mb - ma) / npk * 1e6:7.1f} {mc:8.2f} {mb / mc:14.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
