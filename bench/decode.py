"""Benchmark the decoder per packet on the real-traffic file: the columns (what `read` and the packet list
show) and the full dissection (``frame_fields``), in process, optionally side by side with another tree.

One command: `python bench/decode.py [--packets N] [--runs R] [--baseline DIR]`. It takes the first N
packets (default 100,000) of bench/realtraffic.py's file (built if missing) and prints, for each of
``summarize`` (the columns: the fast path or the columns-only dissection), ``engine.run(lean)`` (the
columns-only dissection alone) and ``frame_fields`` (every field), the mean and the median CPU
microseconds per packet (the median of per-packet times over R passes, each packet's best pass) and
the load average. ``--baseline DIR`` runs the same in a child process from another source tree (e.g. a
`git archive` of main) and prints its figures beside them. Issue #12's goal: frame_fields median
<= 5 us per packet.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def measure(path: str, packets: int, runs: int) -> dict[str, tuple[float, float]]:
    """{name: (mean us, median us)} per packet of each view, this process's sniffer."""
    from sniffer.capture.pcapfile import open_capture
    from sniffer.decode import engine, summary
    from sniffer.decode.fields import frame_fields

    frames = []
    with open_capture(path) as r:
        for fr in r:
            frames.append(fr)
            if len(frames) >= packets:
                break
    views = {
        "summarize": summary.summarize,
        "engine.run(lean)": lambda f: engine.run(f, False, False, True),
        "frame_fields": frame_fields,
    }
    clock = time.process_time_ns
    out: dict[str, tuple[float, float]] = {}
    for name, fn in views.items():
        for f in frames[:5000]:  # warm: lazy imports, generated readers, caches
            fn(f)
        best = [1 << 62] * len(frames)
        total = []
        for _ in range(runs):
            t0 = clock()
            for i, f in enumerate(frames):
                t = clock()
                fn(f)
                d = clock() - t
                if d < best[i]:
                    best[i] = d
            total.append(clock() - t0)
        # (the per-packet clock reads cost too: the mean is the loop's own time per packet)
        out[name] = (min(total) / len(frames) / 1000, statistics.median(best) / 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", metavar="DIR", help="also measure this source tree (before/after)")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # (the baseline child)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.json:
        print(json.dumps(measure(a.file, a.packets, a.runs)))
        return 0
    from realtraffic import real_traffic

    big = real_traffic(1_000_000)
    rows = {"this tree": measure(str(big), a.packets, a.runs)}
    if a.baseline:
        env = dict(os.environ, PYTHONPATH=str(Path(a.baseline).resolve()))
        argv = [sys.executable, str(Path(__file__).resolve()), "--json", "--file", str(big)]
        argv += ["--packets", str(a.packets), "--runs", str(a.runs)]
        res = subprocess.run(argv, env=env, cwd=env["PYTHONPATH"], capture_output=True, text=True, check=True)
        rows["baseline"] = json.loads(res.stdout)
    load = os.getloadavg()[0]
    print(f"{big.name}: first {a.packets:,} packets, CPU us per packet (load average {load:.1f})")
    print(f"{'view':<20}" + "".join(f"{k + ' mean':>18}{k + ' median':>20}" for k in rows))
    for view in rows["this tree"]:
        cells = "".join(f"{rows[k][view][0]:>18.2f}{rows[k][view][1]:>20.2f}" for k in rows)
        print(f"{view:<20}{cells}")
    med = rows["this tree"]["frame_fields"][1]
    print(f"  {'PASS' if med <= 5 else 'MISS'} frame_fields median <= 5 us per packet ({med:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
