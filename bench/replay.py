"""Benchmark `sniffer replay` against tcpreplay onto the same veth (inside test namespaces).

One command (as root): python bench/replay.py [--rounds 5]
  1. --topspeed: packets/s of each tool (as each reports it), median of the rounds, and the ratio.
  2. --pps N: each tool paces 10,000+ packets; a tcpdump in the peer namespace records them and the
     achieved rate and the inter-packet gap errors are computed from its kernel timestamps.
Everything is sent inside two namespaces joined by a veth pair (removed at the end).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers.netns import Host, netns_pair  # noqa: E402

from sniffer.capture.pcapfile import open_capture, open_writer  # noqa: E402
from sniffer.frame import Frame  # noqa: E402


def make_pcap(path: str, n: int, size: int) -> None:
    eth = bytes.fromhex("020000000002020000000001") + b"\x08\x00"
    ip = bytes.fromhex("4500003200004000401100000a4d00010a4d0002")
    with open_writer(path, format="pcap") as w:
        for i in range(n):
            frame = (eth + ip + i.to_bytes(4, "big") + bytes(size))[:size]
            w.write(Frame(i * 10_000, frame, len(frame), 1))


def sniffer_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sniffer", "replay", *args]


def run_in(host: Host, cmd: list[str]) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run(
        ["ip", "netns", "exec", host.ns, *cmd], capture_output=True, text=True, env=env, timeout=300
    )
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {p.stderr.strip()}")
    return p.stdout


def pps_of(tool: str, out: str) -> float:
    if tool == "tcpreplay":
        m = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", out)
    else:
        m = re.search(r": ([\d.]+) pps", out)
    if not m:
        raise SystemExit(f"cannot parse {tool} output:\n{out}")
    return float(m.group(1))


def slope(xs: list[int], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def captured(b: Host, cmd: list[str], a: Host, pcap_out: str) -> list[tuple[int, int]]:
    """Run cmd in a while tcpdump records vb in b; (sequence number, capture timestamp ns) per packet."""
    dump = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            b.ns,
            "tcpdump",
            "-i",
            "vb",
            "-w",
            pcap_out,
            "-U",
            "--immediate-mode",
            "-B",
            "32768",
            "--time-stamp-precision",
            "nano",
            "-s",
            "128",
            "-n",
            "ether",
            "src",
            "02:00:00:00:00:01",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert dump.stderr is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = dump.stderr.readline()
        if "listening on" in line:
            break
    run_in(a, cmd)
    time.sleep(0.3)
    dump.send_signal(signal.SIGINT)
    dump.wait(10)
    with open_capture(pcap_out) as r:
        return [(int.from_bytes(f.data[34:38], "big"), f.ts_ns) for f in r]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--packets", type=int, default=200_000, help="packets for the --topspeed runs")
    ap.add_argument("--pps", type=int, default=20_000, help="rate asked for in the paced runs")
    ap.add_argument("--paced-packets", type=int, default=10_000)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it creates network namespaces")
    with tempfile.TemporaryDirectory() as d, netns_pair() as (a, b):
        top = os.path.join(d, "top.pcap")
        paced = os.path.join(d, "paced.pcap")
        make_pcap(top, args.packets, 64)
        make_pcap(paced, args.paced_packets, 100)
        print(f"veth pair in namespaces {a.ns} / {b.ns}; {args.rounds} rounds, tools alternating")
        tools = {
            "tcpreplay": lambda *x: ["tcpreplay", "-q", *x],
            "sniffer": lambda *x: sniffer_cmd(*x),
        }
        top_pps: dict[str, list[float]] = {t: [] for t in tools}
        for _ in range(args.rounds):
            for name in tools:
                if name == "tcpreplay":
                    out = run_in(a, ["tcpreplay", "--topspeed", "-i", "va", top])
                else:
                    out = run_in(a, sniffer_cmd(top, "-i", "va", "--topspeed"))
                top_pps[name].append(pps_of(name, out))
        med = {t: statistics.median(v) for t, v in top_pps.items()}
        print(f"\n--topspeed, {args.packets} x 64-byte frames (packets/s as each tool reports)")
        for t, v in top_pps.items():
            print(f"  {t:10s} median {med[t]:10.0f} pps   runs: {', '.join(f'{x:.0f}' for x in v)}")
        print(f"  ratio sniffer/tcpreplay: {med['sniffer'] / med['tcpreplay']:.2f}x")

        print(f"\n--pps {args.pps}, {args.paced_packets} x 100-byte frames, measured by tcpdump on the peer")
        res: dict[str, list[tuple[float, float, float, float]]] = {t: [] for t in tools}
        for _ in range(max(1, args.rounds // 2 + 1)):
            for name in tools:
                if name == "tcpreplay":
                    cmd = ["tcpreplay", f"--pps={args.pps}", "-i", "va", paced]
                else:
                    cmd = sniffer_cmd(paced, "-i", "va", "--pps", str(args.pps), "-q")
                cap = captured(b, cmd, a, os.path.join(d, f"cap-{name}.pcap"))
                if len(cap) < 2:
                    raise SystemExit(f"{name}: nothing captured")
                seqs = [s for s, _ in cap]
                ts = [t for _, t in cap]
                # rate: least-squares slope of capture time against sequence number (every packet
                # counts; drops on the capture side do not bias it); gap error: consecutive packets only
                rate = 1 / slope(seqs, [t / 1e9 for t in ts])
                want = 1e9 / args.pps
                gaps = sorted(
                    abs((t2 - t1) - want) for (s1, t1), (s2, t2) in itertools.pairwise(cap) if s2 == s1 + 1
                )
                res[name].append(
                    (
                        abs(rate - args.pps) / args.pps * 100,
                        statistics.mean(gaps) / 1000,
                        gaps[int(len(gaps) * 0.99)] / 1000,
                        len(ts),
                    )
                )
        for t, rows in res.items():
            err = statistics.median(r[0] for r in rows)
            mean_gap = statistics.median(r[1] for r in rows)
            p99 = statistics.median(r[2] for r in rows)
            print(
                f"  {t:10s} rate error median {err:7.4f} %   gap error mean {mean_gap:7.1f} us  p99 {p99:8.1f} us"
                f"   captured {', '.join(str(int(r[3])) for r in rows)}"
            )
        e_s = statistics.median(r[0] for r in res["sniffer"])
        e_t = statistics.median(r[0] for r in res["tcpreplay"])
        print(f"  rate error sniffer vs tcpreplay: {e_s:.4f} % vs {e_t:.4f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
