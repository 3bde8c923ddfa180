"""Benchmark: `sniffer gen` (epoll and asyncio styles) vs iperf3 on loopback, side by side in one run.

TCP bulk throughput (same total bytes, same write size) and UDP packets per second (same datagram
size, same duration), each measured ROUNDS times interleaved, medians and ratios printed.

    python bench/gen.py [--rounds 3] [--tcp-bytes 1G] [--udp-seconds 2] [--udp-size 64] [--json]

Only 127.0.0.1 is used. Every run is bounded (bytes or seconds, and a subprocess timeout).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STYLES = ("epoll", "asyncio")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sniffer(*args: str, timeout: float = 120) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run(
        [sys.executable, "-m", "sniffer", "gen", *args, "--json"],
        capture_output=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    if res.returncode != 0:
        raise SystemExit(f"sniffer gen {' '.join(args)} failed: {res.stderr.decode().strip()}")
    return json.loads(res.stdout)


def iperf3(*client_args: str, timeout: float = 120) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        ["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _attempt in range(20):  # the one-off server may not listen yet: retry the client
            time.sleep(0.1)
            res = subprocess.run(
                ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-J", *client_args],
                capture_output=True,
                timeout=timeout,
            )
            out = json.loads(res.stdout or b"{}")
            if res.returncode == 0 and "error" not in out:
                return out
        raise SystemExit(f"iperf3 {' '.join(client_args)} failed: {out.get('error', res.stderr.decode())}")
    finally:
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def parse_size(text: str) -> int:
    t = text.upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t.rstrip("KMG")) * mult)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tcp-bytes", default="1G")
    ap.add_argument(
        "--tcp-chunk", default="128K", help="write size for both (iperf3 -l); default iperf3's 128K"
    )
    ap.add_argument("--udp-seconds", type=int, default=2, help="whole seconds (iperf3 -t takes integers)")
    ap.add_argument("--udp-size", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.udp_seconds < 1:
        raise SystemExit("--udp-seconds must be at least 1")
    if not shutil.which("iperf3"):
        raise SystemExit("iperf3 is not installed (apt-get install iperf3)")
    nbytes = parse_size(args.tcp_bytes)
    chunk = args.tcp_chunk

    tcp: dict[str, list[float]] = {"iperf3": [], **{s: [] for s in STYLES}}
    udp_sent: dict[str, list[float]] = {"iperf3": [], **{s: [] for s in STYLES}}
    udp_recv: dict[str, list[float]] = {"iperf3": [], **{s: [] for s in STYLES}}
    for r in range(args.rounds):
        d = iperf3("-n", str(nbytes), "-l", chunk)
        tcp["iperf3"].append(d["end"]["sum_received"]["bits_per_second"] / 1e9)
        for style in STYLES:
            rep = sniffer("tcp-bulk", "--bytes", str(nbytes), "--chunk", chunk, "--style", style, "-d", "60")
            assert rep["server"]["bytes_received"] == nbytes, rep
            tcp[style].append(rep["bytes_sent"] * 8 / rep["duration_s"] / 1e9)
        d = iperf3(
            "-u",
            "-b",
            "0",
            "-l",
            str(args.udp_size),
            "-t",
            str(args.udp_seconds),
            timeout=args.udp_seconds + 30,
        )
        sent, recv = d["end"]["sum_sent"], d["end"]["sum_received"]
        udp_sent["iperf3"].append(sent["packets"] / sent["seconds"])
        udp_recv["iperf3"].append((recv["packets"] - recv["lost_packets"]) / recv["seconds"])
        for style in STYLES:
            rep = sniffer(
                "udp-blast", "--size", str(args.udp_size), "-d", str(args.udp_seconds), "-c", "1000000000",
                "--style", style,
            )  # fmt: skip
            udp_sent[style].append(rep["send_pps"])
            udp_recv[style].append(rep["recv_pps"])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    med = {k: statistics.median(v) for k, v in tcp.items()}
    ms = {k: statistics.median(v) for k, v in udp_sent.items()}
    mr = {k: statistics.median(v) for k, v in udp_recv.items()}
    result = {
        "rounds": args.rounds,
        "tcp_bulk_gbit_s": med,
        "tcp_ratio_vs_iperf3": {s: round(med[s] / med["iperf3"], 2) for s in STYLES},
        "udp_sent_pps": ms,
        "udp_sent_ratio_vs_iperf3": {s: round(ms[s] / ms["iperf3"], 2) for s in STYLES},
        "udp_received_pps": mr,
        "udp_received_ratio_vs_iperf3": {
            s: round(mr[s] / mr["iperf3"], 2) if mr["iperf3"] else None for s in STYLES
        },
        "settings": {
            "tcp_bytes": nbytes,
            "tcp_chunk": chunk,
            "udp_size": args.udp_size,
            "udp_seconds": args.udp_seconds,
        },
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"sniffer gen vs iperf3 on 127.0.0.1, median of {args.rounds} interleaved rounds (load {os.getloadavg()[0]:.1f})"
    )
    print(f"TCP bulk, {args.tcp_bytes} in {chunk} writes:")

    def spread(v: list[float], fmt: str) -> str:
        return f"(runs {format(min(v), fmt)}..{format(max(v), fmt)})"

    print(f"  iperf3            {med['iperf3']:8.2f} Gbit/s                {spread(tcp['iperf3'], '.2f')}")
    for s in STYLES:
        print(
            f"  sniffer {s:<9} {med[s]:8.2f} Gbit/s   ratio {med[s] / med['iperf3']:.2f}x   {spread(tcp[s], '.2f')}"
        )
    print(
        f"UDP blast, {args.udp_size}-byte datagrams for {args.udp_seconds:g} s (sent / received packets per second):"
    )
    print(
        f"  iperf3            {ms['iperf3']:10.0f} / {mr['iperf3']:10.0f}   sent {spread(udp_sent['iperf3'], '.0f')}"
    )
    for s in STYLES:
        rr = f"{mr[s] / mr['iperf3']:.2f}x" if mr["iperf3"] else "n/a"
        print(
            f"  sniffer {s:<9} {ms[s]:10.0f} / {mr[s]:10.0f}   ratio sent {ms[s] / ms['iperf3']:.2f}x, "
            f"received {rr}   sent {spread(udp_sent[s], '.0f')}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
