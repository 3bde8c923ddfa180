"""Benchmark `sniffer ping` against iputils ping and scapy sr1 on loopback, side by side in one run.

usage: python bench/ping.py [--runs N] [--count N]   (root; sends only to 127.0.0.1 and ::1)

Per configuration and tool it runs N times and prints medians: rtt avg / mdev / p50 (us) and probes/s,
then the ratios against the goals (avg rtt within 1.5x of iputils, back-to-back p50 <= 20 us,
>= 50x scapy's probe rate).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def sniffer_run(count: int, interval: str, target: str) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sniffer",
            "ping",
            "--json",
            "-q",
            "-c",
            str(count),
            "-i",
            interval,
            "-W",
            "2",
            target,
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=120,
        check=True,
    ).stdout
    doc = json.loads(out)
    t = doc["targets"][0]
    rtts = [p["rtt_ms"] * 1000 for p in t["probes"] if "rtt_ms" in p]
    return {
        "avg": t["rtt_ms"]["avg"] * 1000,
        "mdev": t["rtt_ms"]["mdev"] * 1000,
        "p50": pct(rtts, 0.5),
        "pps": t["transmitted"] / (doc["time_ms"] / 1000),
        "recv": t["received"],
    }


def iputils_run(count: int, interval: str, target: str) -> dict[str, float]:
    argv = ["ping", "-n", "-c", str(count), "-W", "2"]
    argv += ["-f"] if interval == "0" else ["-i", interval]
    out = subprocess.run([*argv, target], capture_output=True, text=True, timeout=120).stdout
    rtts = [float(x) * 1000 for x in re.findall(r"time=([\d.]+) ms", out)]
    m = re.search(r"(\d+) received.*time (\d+)ms", out)
    s = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", out)
    assert m and s, out
    elapsed = max(int(m.group(2)), 1) / 1000
    return {
        "avg": float(s.group(2)) * 1000,
        "mdev": float(s.group(4)) * 1000,
        "p50": pct(rtts, 0.5) if rtts else float("nan"),  # -f prints no per-reply lines
        "pps": count / elapsed,
        "recv": int(m.group(1)),
    }


def scapy_run(count: int, target: str) -> dict[str, float]:
    code = f"""
import time, json
from scapy.all import sr1, conf
from scapy.layers.inet import IP, ICMP
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest
conf.verb = 0
v6 = ":" in {target!r}
rtts = []
t0 = time.perf_counter()
for i in range({count}):
    p = (IPv6(dst={target!r}) / ICMPv6EchoRequest(seq=i)) if v6 else (IP(dst={target!r}) / ICMP(seq=i))
    r = sr1(p, timeout=1, verbose=0)
    if r is not None:
        rtts.append((r.time - p.sent_time) * 1e6)
el = time.perf_counter() - t0
print(json.dumps({{"rtts": rtts, "el": el}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    ).stdout
    d = json.loads(out.strip().splitlines()[-1])
    r = d["rtts"]
    mean = statistics.fmean(r) if r else float("nan")
    return {
        "avg": mean,
        "mdev": statistics.pstdev(r) if r else float("nan"),
        "p50": pct(r, 0.5),
        "pps": count / d["el"],
        "recv": len(r),
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--scapy-count", type=int, default=100)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/ping.py needs root (raw sockets, -i 0.001, -f)", file=sys.stderr)
        return 2
    rows: list[tuple[str, str, dict[str, float]]] = []
    results: dict[tuple[str, str], dict[str, float]] = {}
    configs = [
        ("-i 0.001", "0.001", "127.0.0.1"),
        ("-i 0.001", "0.001", "::1"),
        ("back-to-back", "0", "127.0.0.1"),
        ("back-to-back", "0", "::1"),
    ]
    for label, interval, target in configs:
        runs: dict[str, list[dict[str, float]]] = {"sniffer": [], "iputils": []}
        for _ in range(a.runs):  # the tools alternate run by run, so load changes hit both alike
            runs["sniffer"].append(sniffer_run(a.count, interval, target))
            runs["iputils"].append(iputils_run(a.count, interval, target))
        for tool, tool_runs in runs.items():
            m = median_of(tool_runs)
            results[(f"{label} {target}", tool)] = m
            rows.append((f"{label} {target}", tool, m))
    for target in ("127.0.0.1", "::1"):
        m = median_of([scapy_run(a.scapy_count, target) for _ in range(max(1, a.runs // 2))])
        results[(f"scapy sr1 {target}", "scapy")] = m
        rows.append((f"sr1 x{a.scapy_count} {target}", "scapy", m))

    print(
        f"sniffer ping vs iputils ping vs scapy sr1 (loopback, medians of {a.runs} runs, {a.count} probes; "
        f"scapy {a.scapy_count} probes)"
    )
    print(f"{'config':<28}{'tool':<9}{'avg us':>9}{'mdev us':>9}{'p50 us':>9}{'probes/s':>11}{'recv':>6}")
    for cfg, tool, m in rows:
        print(
            f"{cfg:<28}{tool:<9}{m['avg']:>9.1f}{m['mdev']:>9.1f}{m['p50']:>9.1f}{m['pps']:>11.0f}{m['recv']:>6.0f}"
        )
    print()
    ok = True
    for target in ("127.0.0.1", "::1"):
        s, i = results[(f"-i 0.001 {target}", "sniffer")], results[(f"-i 0.001 {target}", "iputils")]
        r = s["avg"] / i["avg"]
        ok &= r <= 1.5
        print(
            f"-i 0.001 {target:<10} avg rtt sniffer/iputils = {r:.2f}x (goal <= 1.5x) {'PASS' if r <= 1.5 else 'MISS'};"
            f" p50 {s['p50'] / i['p50']:.2f}x"
        )
        b = results[(f"back-to-back {target}", "sniffer")]
        ok &= b["p50"] <= 20
        print(
            f"back-to-back {target:<6} sniffer p50 rtt = {b['p50']:.1f} us (goal <= 20 us) "
            f"{'PASS' if b['p50'] <= 20 else 'MISS'}; iputils -f avg {results[(f'back-to-back {target}', 'iputils')]['avg']:.1f} us"
        )
        sc = results[(f"scapy sr1 {target}", "scapy")]
        rr = b["pps"] / sc["pps"]
        ok &= rr >= 50
        print(
            f"probe rate {target:<12} sniffer back-to-back / scapy sr1 = {rr:.0f}x (goal >= 50x) "
            f"{'PASS' if rr >= 50 else 'MISS'}; sniffer -i 0 / iputils -f = {b['pps'] / results[(f'back-to-back {target}', 'iputils')]['pps']:.2f}x"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
