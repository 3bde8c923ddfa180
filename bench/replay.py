"""Benchmark `sniffer replay` against tcpreplay onto the same veth (inside test namespaces).

One command (as root): python bench/replay.py [--rounds 5] [--baseline DIR]
  1. --topspeed: packets/s of each tool (as each reports it), median of the rounds, and the ratio.
  2. --pps 10000 and 50000 for 3 s each: a tcpdump in the peer namespace records every packet; from its
     kernel timestamps: the achieved rate, each packet's deviation from its place in the schedule
     (mean / p99 / max) and the longest silence between two packets.
Everything is sent inside two namespaces joined by a veth pair (removed at the end). --baseline DIR also
runs sniffer from another source tree (e.g. `git archive main sniffer | tar -x -C DIR`) in the same
rounds, so a change is compared before/after under the same load; CPU seconds of each command too.
--blocks-too also runs this tree with SNIFFER_NO_DEMOTE=1 ("blocks": the forced blocks even on a quiet
CPU, see sniffer/timing.py). Each paced run prints the load average and the CPU pressure (PSI "some
avg10", the quiet test of sniffer's scheduler) before it, and sniffer's own lateness and how many of its
1 ms windows ended under SCHED_OTHER.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


def run_in(
    host: Host, cmd: list[str], tree: Path = ROOT, extra_env: dict[str, str] | None = None
) -> tuple[str, float]:
    """Run cmd in the namespace (sniffer from source tree ``tree``): (its stdout, its CPU seconds)."""
    env = dict(os.environ, PYTHONPATH=str(tree), **(extra_env or {}))
    t0 = os.times()
    # `python -m` puts the working directory first on sys.path: run from the tree itself
    p = subprocess.run(
        ["ip", "netns", "exec", host.ns, *cmd], capture_output=True, text=True, env=env, timeout=300, cwd=tree
    )
    t1 = os.times()
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {p.stderr.strip()}")
    return p.stdout, (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)


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


@dataclass
class Deviation:
    rate_err_pct: float
    mean_us: float
    p99_us: float
    max_us: float
    max_gap_us: float
    captured: int
    max_gap_after: int = 0  # sequence number of the packet before the largest gap


def deviation(cap: list[tuple[int, int]], pps: float) -> Deviation:
    """How far each captured packet is from its place in the schedule: packet k is due at
    t0 + k / pps, t0 chosen so that the median deviation is 0 (the start offset is not an error); the
    largest gap is the longest silence between consecutive captures."""
    seqs = [s for s, _ in cap]
    ts = [t for _, t in cap]
    rate = 1 / slope(seqs, [t / 1e9 for t in ts])
    step = 1e9 / pps
    offs = [t - s * step for s, t in cap]
    t0 = statistics.median(offs)
    dev = sorted(abs(o - t0) for o in offs)
    gaps = [t2 - t1 for t1, t2 in itertools.pairwise(ts)]
    at = max(range(len(gaps)), key=gaps.__getitem__)
    return Deviation(
        abs(rate - pps) / pps * 100,
        statistics.mean(dev) / 1000,
        dev[int(len(dev) * 0.99)] / 1000,
        dev[-1] / 1000,
        gaps[at] / 1000,
        len(cap),
        seqs[at],
    )


def captured(
    b: Host,
    cmd: list[str],
    a: Host,
    pcap_out: str,
    tree: Path = ROOT,
    extra_env: dict[str, str] | None = None,
) -> tuple[list[tuple[int, int]], str]:
    """Run cmd in a while tcpdump records vb in b: (sequence number, capture timestamp ns) per packet,
    and what cmd printed."""
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
    out, _cpu = run_in(a, cmd, tree, extra_env)
    time.sleep(0.3)
    dump.send_signal(signal.SIGINT)
    dump.wait(10)
    with open_capture(pcap_out) as r:
        return [(int.from_bytes(f.data[34:38], "big"), f.ts_ns) for f in r], out


def cpu_pressure() -> float:
    """PSI "some avg10" of the CPU (% of the last 10 s in which some task waited for a CPU)."""
    from sniffer.timing import cpu_pressure as psi

    return psi()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--packets", type=int, default=200_000, help="packets for the --topspeed runs")
    ap.add_argument(
        "--pps", type=int, nargs="*", default=[10_000, 50_000], help="rates asked for in the paced runs"
    )
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each paced run")
    ap.add_argument(
        "--paced-rounds", type=int, default=5
    )  # medians of 5: single 3 s runs at 50k pps vary 4-33 us in p99 on this host
    ap.add_argument("--skip-topspeed", action="store_true")
    ap.add_argument(
        "--sniffer-args",
        default="",
        help="more options for sniffer replay in the paced runs, e.g. --preload-pcap",
    )
    ap.add_argument(
        "--baseline",
        metavar="DIR",
        help="also run sniffer from this source tree (e.g. a `git archive` of main) in the same rounds",
    )
    ap.add_argument(
        "--blocks-too",
        action="store_true",
        help='also run this tree with SNIFFER_NO_DEMOTE=1 ("blocks") in the paced rounds',
    )
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it creates network namespaces")
    trees = {"sniffer": ROOT}
    if args.baseline:
        trees["baseline"] = Path(args.baseline).resolve()
    envs: dict[str, dict[str, str]] = {}
    paced_trees = dict(trees)
    if args.blocks_too:
        paced_trees["blocks"] = ROOT
        envs["blocks"] = {"SNIFFER_NO_DEMOTE": "1"}
    with tempfile.TemporaryDirectory() as d, netns_pair() as (a, b):
        top = os.path.join(d, "top.pcap")
        make_pcap(top, args.packets, 64)
        print(f"veth pair in namespaces {a.ns} / {b.ns}; {args.rounds} rounds, tools alternating")
        tools = ["tcpreplay", *trees]
        top_pps: dict[str, list[float]] = {t: [] for t in tools}
        top_cpu: dict[str, list[float]] = {t: [] for t in tools}
        loads = []
        for _ in range(0 if args.skip_topspeed else args.rounds):
            loads.append(os.getloadavg()[0])
            for name in tools:
                if name == "tcpreplay":
                    out, cpu = run_in(a, ["tcpreplay", "--topspeed", "-i", "va", top])
                else:
                    out, cpu = run_in(a, sniffer_cmd(top, "-i", "va", "--topspeed"), trees[name])
                top_pps[name].append(pps_of(name, out))
                top_cpu[name].append(cpu)
        med = {t: statistics.median(v) if v else 0.0 for t, v in top_pps.items()}
        if not args.skip_topspeed:
            print(
                f"\n--topspeed, {args.packets} x 64-byte frames (packets/s as each tool reports; CPU seconds "
                f"of the whole command; load average {', '.join(f'{x:.1f}' for x in loads)})"
            )
            for t, v in top_pps.items():
                print(
                    f"  {t:10s} median {med[t]:10.0f} pps  {med[t] / med['tcpreplay']:.2f}x  "
                    f"CPU {statistics.median(top_cpu[t]):.2f} s   runs: {', '.join(f'{x:.0f}' for x in v)}"
                )

        for pps in args.pps:
            n = int(pps * args.seconds)
            paced = os.path.join(d, f"paced-{pps}.pcap")
            make_pcap(paced, n, 100)
            print(
                f"\n--pps {pps}, {n} x 100-byte frames ({args.seconds:g} s, so RT-throttling periods of 1 s "
                "are crossed), measured by tcpdump on the peer"
            )
            paced_tools = ["tcpreplay", *paced_trees]
            res: dict[str, list[Deviation]] = {t: [] for t in paced_tools}
            for _ in range(args.paced_rounds):
                for name in paced_tools:
                    if name == "tcpreplay":
                        cmd = ["tcpreplay", f"--pps={pps}", "-i", "va", paced]
                    else:
                        # its JSON report holds its own lateness and its SCHED_OTHER windows
                        cmd = sniffer_cmd(
                            paced, "-i", "va", "--pps", str(pps), "--json", *args.sniffer_args.split()
                        )
                    load, psi = os.getloadavg()[0], cpu_pressure()
                    cap, out = captured(
                        b,
                        cmd,
                        a,
                        os.path.join(d, f"cap-{name}.pcap"),
                        paced_trees.get(name, ROOT),
                        envs.get(name),
                    )
                    if len(cap) < 2:
                        raise SystemExit(f"{name}: nothing captured")
                    dev = deviation(cap, pps)
                    res[name].append(dev)
                    own = ""
                    if name != "tcpreplay":
                        rep = json.loads(out.strip().splitlines()[-1])
                        own = f", its own max lateness {rep['timing_max_us'] / 1000:.1f} ms"
                        if "sched_other_windows" in rep:
                            own += (
                                f", {rep['sched_other_windows']} windows SCHED_OTHER"
                                f" ({rep['sched_other_contended']} taken)"
                            )
                        if rep.get("cpu_moves"):
                            own += f", {rep['cpu_moves']} CPU moves"
                    print(
                        f"    {name:10s} run: p99 {dev.p99_us / 1000:7.3f} ms, largest gap "
                        f"{dev.max_gap_us / 1000:6.2f} ms (after packet {dev.max_gap_after}){own} (load average {load:.1f}, CPU pressure {psi:.0f} %)",
                        flush=True,
                    )
            for t, rows in res.items():
                print(
                    f"  {t:10s} rate error {statistics.median(r.rate_err_pct for r in rows):7.4f} %  "
                    f"deviation from schedule mean {statistics.median(r.mean_us for r in rows):8.1f} us  "
                    f"p99 {statistics.median(r.p99_us for r in rows):8.1f} us  "
                    f"max {statistics.median(r.max_us for r in rows):8.1f} us  "
                    f"largest gap {statistics.median(r.max_gap_us for r in rows):8.1f} us  "
                    f"captured {', '.join(str(r.captured) for r in rows)}"
                )
            worst = {t: max(r.max_gap_us for r in rows) / 1000 for t, rows in res.items()}
            print(
                f"  worst largest gap over the {args.paced_rounds} runs: "
                + ", ".join(f"{t} {w:.2f} ms" for t, w in worst.items())
                + " (goal: none over 10 ms)"
            )
            pt = statistics.median(r.p99_us for r in res["tcpreplay"])
            for t in paced_trees:
                ps = statistics.median(r.p99_us for r in res[t])
                print(f"  p99 deviation {t} / tcpreplay: {ps:.1f} / {pt:.1f} us = {ps / pt:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
