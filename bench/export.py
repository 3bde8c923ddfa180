"""Benchmark `sniffer export` and `sniffer sql` side by side with `sniffer read` and tshark.

One command: `python bench/export.py [--packets 5000000] [--files 10] [--runs 1]`. It builds FILES pcaps of
real traffic (every whole Ethernet packet of /work/shared/corpus and corpus-breadth, repeated with new
times, files 10 minutes apart like a capture ring) in bench/out/export/, then times in one run:

- `sniffer read` over every file (the decoder alone: the baseline of the export goal, one worker >= 0.5x);
- `sniffer export --workers 1` (this process), `--workers 2` (two forked workers; goal >= 1.7x one) and
  `--workers 2 --scheduler local` (a local Dask cluster), with the CPU seconds of the tasks themselves
  beside each row's, and, as the yardstick of what the machine gives two processes at that moment, two plain
  `sniffer export --workers 1` processes at once, each on half of the files (no Dask);
- the dataset's size against the pcaps;
- `sniffer sql` top talkers and DNS names (goal <= 1 s each) against `tshark -qz conv,ip` and
  `tshark -Y dns.qry.name` over the same files (what a user runs instead);
- `sniffer read -j 2` (its fork pool) against the same formatting done by a 2-worker local Dask cluster
  (whether Dask should replace the pool).

Prints medians of wall and CPU seconds (user+sys of the process and its children) and the ratios.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "export"
SHARED = next(
    p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared", Path("/work/shared")) if p.is_dir()
)
SNIFFER = [sys.executable, "-m", "sniffer"]

TOP_TALKERS = (
    "SELECT src, count(*) AS packets, sum(len) AS bytes FROM packets WHERE src IS NOT NULL "
    "GROUP BY src ORDER BY bytes DESC LIMIT 10"
)
DNS_NAMES = (
    "SELECT dns_qry_name, count(*) AS n FROM packets WHERE dns_qry_name IS NOT NULL "
    "GROUP BY dns_qry_name ORDER BY n DESC LIMIT 20"
)


def build(files: int, packets: int) -> list[Path]:
    """FILES pcaps of ``packets`` in all, from the shared corpora's whole Ethernet packets."""
    from sniffer.capture.pcapfile import open_capture, open_writer

    OUT.mkdir(parents=True, exist_ok=True)
    per = packets // files
    paths = [OUT / f"ring-{i:02d}-{per}.pcap" for i in range(files)]
    if all(p.exists() for p in paths):
        return paths
    frames = []
    for p in sorted(glob.glob(str(SHARED / "corpus*" / "captures" / "*"))):
        try:
            with open_capture(p) as r:
                frames += [f for f in r if f.linktype == 1 and len(f.data) == f.wirelen <= 1514]
        except Exception:
            continue
    print(f"building {files} x {per} packets from {len(frames)} corpus packets", file=sys.stderr)
    t0 = 1_700_000_000_000_000_000
    gap = 600_000_000_000 // per  # a file holds 10 minutes
    for i, path in enumerate(paths):
        with open_writer(str(path), "pcap") as w:
            base = t0 + i * 600_000_000_000
            for k in range(per):
                w.write(frames[(i * per + k) % len(frames)]._replace(ts_ns=base + k * gap))
    return paths


#: CPU seconds of the export tasks themselves, from each export's summary line ("tasks X CPU s")
TASK_CPU: list[float] = []


def _task_cpu(stderr: bytes) -> None:
    m = re.search(rb"\(tasks ([0-9.]+) CPU s\)", stderr)
    if m:
        TASK_CPU.append(float(m.group(1)))


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child and its children), stdout discarded."""
    before = os.times()
    t = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    dt = time.perf_counter() - t
    after = os.times()
    if p.returncode not in (0,):
        print(f"  ! {' '.join(argv[:4])} exited {p.returncode}: {p.stderr.decode()[-300:]}", file=sys.stderr)
    _task_cpu(p.stderr)
    return dt, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def timed_together(argvs: list[list[str]]) -> tuple[float, float]:
    """(wall s, CPU s) of the commands run at the same time."""
    before = os.times()
    t = time.perf_counter()
    procs = [subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for a in argvs]
    for p in procs:
        _out, err = p.communicate()
        _task_cpu(err)
        if p.returncode:
            print(f"  ! exited {p.returncode}: {err.decode()[-300:]}", file=sys.stderr)
    dt = time.perf_counter() - t
    after = os.times()
    return dt, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def median_run(runs: int, argvs: list[list[str]], prep: object = None) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        if callable(prep):
            prep()
        w = c = 0.0
        for a in argvs:
            dw, dc = timed(a)
            w += dw
            c += dc
        walls.append(w)
        cpus.append(c)
    return statistics.median(walls), statistics.median(cpus)


def dask_read(path: str, jobs: int) -> None:
    """`sniffer read`'s text made by a local Dask cluster of ``jobs`` workers (the fork pool's job):
    each task formats every jobs-th block; this process writes the blocks in order to stdout."""
    from distributed import Client, LocalCluster

    def part(which: int) -> list[tuple[int, str]]:
        from sniffer.capture.pcapfile import open_capture
        from sniffer.decode.summary import iter_blocks

        with open_capture(path) as rd:
            return list(iter_blocks(rd, None, 4096, jobs, which))

    with LocalCluster(n_workers=jobs, threads_per_worker=1, dashboard_address=None) as cl, Client(cl) as c:
        blocks = sorted(
            b for got in c.gather([c.submit(part, w, pure=False) for w in range(jobs)]) for b in got
        )
    out = sys.stdout.buffer
    for _b, text in blocks:
        out.write(text.encode())


def sql_rows(ds: Path, runs: int, row: Any) -> None:
    """The two queries as whole commands (medians of at least 3), and the query alone in this process."""
    from sniffer.dataset.query import query

    for name, q in (("top talkers", TOP_TALKERS), ("DNS names", DNS_NAMES)):
        row(f"sniffer sql {name}", *median_run(max(3, runs), [[*SNIFFER, "sql", q, str(ds)]]))
        walls = []
        for _ in range(3):
            t = time.perf_counter()
            query(str(ds), q)
            walls.append(time.perf_counter() - t)
        print(f"  (the query itself, in process: {statistics.median(walls):.3f} s)")


def _autogroup() -> str:
    """Whether the kernel shares the CPU per session (autogroup) rather than per process: then the processes
    of one command share one session's share, and a loaded machine gives two workers no more than one."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            on = f.read().strip() == "1"
    except OSError:
        return "autogroup unknown"
    return (
        "sched_autogroup on: under load, this command's processes share one session's CPU share"
        if on
        else "sched_autogroup off"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=5_000_000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument(
        "--sql-only", action="store_true", help="only the sql rows, on the dataset a previous run left"
    )
    ap.add_argument("--dask-read", metavar="FILE", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.dask_read:
        dask_read(a.dask_read, 2)
        return 0
    paths = build(a.files, a.packets)
    files = [str(p) for p in paths]
    pcap_bytes = sum(p.stat().st_size for p in paths)
    print(
        f"{len(files)} files, {a.packets} packets, {pcap_bytes / 1e6:.0f} MB; load {os.getloadavg()[0]:.1f}; "
        f"{_autogroup()}"
    )
    rows: list[tuple[str, float, float]] = []

    def task_cpu_row() -> None:
        """The tasks' own CPU (median per run; the rest of the row's CPU is start-up and coordination)."""
        if TASK_CPU:
            per_run = len(TASK_CPU) // a.runs if len(TASK_CPU) >= a.runs else 1
            runs = [sum(TASK_CPU[i : i + per_run]) for i in range(0, len(TASK_CPU), per_run)]
            cpu = rows[-1][2]
            print(
                f"  (the export tasks themselves: {statistics.median(runs):.2f} CPU s = "
                f"{statistics.median(runs) / cpu:.0%} of the row's CPU; the rest is start-up and coordination)",
                flush=True,
            )
            TASK_CPU.clear()

    def row(name: str, wall: float, cpu: float) -> None:
        rows.append((name, wall, cpu))
        print(
            f"{name:<46} wall {wall:8.2f} s  cpu {cpu:8.2f} s  {a.packets / wall / 1e3:8.1f} kpkt/s wall  "
            f"(load {os.getloadavg()[0]:.1f})",
            flush=True,
        )

    ds = {n: OUT / f"ds-{n}" for n in (1, 2)}
    if a.sql_only:
        sql_rows(ds[1], a.runs, row)
        return 0
    row(
        "sniffer read (each file, -j 1)",
        *median_run(a.runs, [[*SNIFFER, "read", "-j", "1", f] for f in files]),
    )
    for n, how in ((1, []), (2, []), (2, ["--scheduler", "local"])):
        d = ds[n] if not how else OUT / "ds-dask"
        row(
            f"sniffer export --workers {n}" + (" --scheduler local" if how else ""),
            *median_run(
                a.runs,
                [[*SNIFFER, "export", *files, "--out", str(d), "--workers", str(n), *how]],
                lambda d=d: shutil.rmtree(d, ignore_errors=True),
            ),
        )
        task_cpu_row()
    halves = [files[: len(files) // 2], files[len(files) // 2 :]]
    walls, cpus = [], []
    for _ in range(a.runs):
        dirs = [OUT / f"ds-half{i}" for i in (0, 1)]
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
        w, c = timed_together(
            [
                [*SNIFFER, "export", *h, "--out", str(d), "--workers", "1"]
                for h, d in zip(halves, dirs, strict=True)
            ]
        )
        walls.append(w)
        cpus.append(c)
    row("2 plain export processes, half the files each", statistics.median(walls), statistics.median(cpus))
    task_cpu_row()
    size = sum(p.stat().st_size for p in ds[1].rglob("*.parquet"))
    print(f"dataset {size / 1e6:.1f} MB = {size / pcap_bytes:.3f} x the pcaps ({pcap_bytes / 1e6:.0f} MB)")
    sql_rows(ds[1], a.runs, row)
    if shutil.which("tshark"):
        row(
            "tshark -qz conv,ip (each file)",
            *median_run(a.runs, [["tshark", "-n", "-qz", "conv,ip", "-r", f] for f in files]),
        )
        row(
            "tshark -Y dns.qry.name -e dns.qry.name",
            *median_run(
                a.runs,
                [
                    ["tshark", "-n", "-r", f, "-Y", "dns.qry.name", "-T", "fields", "-e", "dns.qry.name"]
                    for f in files
                ],
            ),
        )
    big = files[0]
    row("sniffer read -j 2 (fork pool, one file)", *median_run(a.runs, [[*SNIFFER, "read", "-j", "2", big]]))
    row(
        "the same text by a 2-worker Dask cluster",
        *median_run(a.runs, [[sys.executable, __file__, "--dask-read", big]]),
    )
    r = {n: (w, c) for n, w, c in rows}
    one, two = r["sniffer export --workers 1"], r["sniffer export --workers 2"]
    read = r["sniffer read (each file, -j 1)"]
    print()
    plain = r["2 plain export processes, half the files each"]
    print(
        f"export 2 workers vs 1 (wall): {one[0] / two[0]:.2f}x  (goal >= 1.7x); two plain processes at once "
        f"(what the machine gave two processes in this run): {one[0] / plain[0]:.2f}x; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    dsk = r["sniffer export --workers 2 --scheduler local"]
    print(
        f"CPU of 2 workers / CPU of 1 (the cost of a second worker beyond its share of the work): fork pool "
        f"{two[1] / one[1]:.2f}x, local Dask cluster {dsk[1] / one[1]:.2f}x; Dask 2 workers vs 1 (wall) "
        f"{one[0] / dsk[0]:.2f}x"
    )
    print(
        f"export 1 worker vs sniffer read (wall): {read[0] / one[0]:.2f}x, cpu {read[1] / one[1]:.2f}x  (goal >= 0.5x)"
    )
    print("load " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" (1, 5, 15 min); {_autogroup()}")
    for name, theirs in (
        ("top talkers", "tshark -qz conv,ip (each file)"),
        ("DNS names", "tshark -Y dns.qry.name -e dns.qry.name"),
    ):
        ours = r[f"sniffer sql {name}"]
        if theirs in r:
            print(
                f"sql {name}: {ours[0]:.2f} s (goal <= 1 s); tshark {r[theirs][0]:.1f} s = {r[theirs][0] / ours[0]:.0f}x"
            )
    fork, dask = r["sniffer read -j 2 (fork pool, one file)"], r["the same text by a 2-worker Dask cluster"]
    print(
        f"read -j 2: fork pool {fork[0]:.2f} s wall / {fork[1]:.2f} s cpu; Dask {dask[0]:.2f} s / {dask[1]:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
