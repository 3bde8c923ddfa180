"""Benchmark display filters, statistics and follow: sniffer vs tshark side by side on one generated capture.

usage: python bench/filters.py [--packets N] [--runs R]

Builds a pcap of N packets (default 200,000) by repeating the Ethernet corpus captures (HTTP, DNS,
nmap probes, ICMP), then prints medians over R runs (default 3) and ratios:
  1. in-process: frame_fields per packet vs the compiled filter per packet (the filter's share);
  2. `sniffer read -Y EXPR` vs `tshark -n -r FILE -Y EXPR -T fields -e frame.number` (wall time);
  3. `sniffer stats --conv tcp` vs `tshark -q -z conv,tcp`; `sniffer follow` vs `tshark -z follow`;
  4. on the real-traffic file of bench/realtraffic.py (--real-packets, default 1,000,000; 0 skips it):
     `sniffer read -Y EXPR` vs `tshark -n -r FILE -Y EXPR` for the filters of REAL_EXPRESSIONS, and
     `sniffer stats --phs` vs `tshark -qz io,phs`, CPU seconds (user+sys), medians of R runs.
`--only-real` runs section 4 alone. `--only-fields` times frame_fields alone on the real-traffic file, with
the native L2-L4 walk (decode/_fastfields.c) and without it (SNIFFER_NO_NATIVE=1), in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
SOURCES = ("zeek__wikipedia.pcap", "zeek__nmap-vsn.pcap", "dpkt__dns_icmp.pcap", "zeek__icmp__5-pings.pcap")
EXPRESSIONS = (
    "tcp.port == 80",
    "ip.addr == 208.80.152.0/24 and tcp.flags.syn == 1",
    'dns.qry.name contains "wiki" or icmp',
    "frame.len > 1000 || udp.port in {53, 5353}",
)

#: the filters of issue #12, timed on the real-traffic file
REAL_EXPRESSIONS = (
    "dns",
    'dns.qry.name contains "a"',
    "http.request",
    "tls.handshake.type == 1",
    "ip.addr == 10.0.0.0/8 && tcp.port == 443",
)


def build(path: Path, packets: int) -> None:
    from sniffer.capture.pcapfile import open_capture, open_writer
    from sniffer.frame import Frame

    frames: list[Frame] = []
    for name in SOURCES:
        with open_capture(str(ROOT / "tests" / "corpus" / "captures" / name)) as r:
            frames.extend(r)
    ts = frames[0].ts_ns
    with open_writer(str(path), format="pcap", linktype=1) as w:
        for i in range(packets):
            fr = frames[i % len(frames)]
            ts += 10_000
            w.write(fr._replace(ts_ns=ts))


def wall(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--real-packets", type=int, default=1_000_000)
    ap.add_argument("--only-real", action="store_true")
    ap.add_argument("--only-fields", action="store_true")
    ap.add_argument("--baseline", metavar="DIR", help="section 4 also times sniffer from this source tree")
    args = ap.parse_args()
    if args.only_fields:
        only_fields(args)
        return 0
    if not args.only_real:
        synthetic(args)
    if args.real_packets:
        real(args)
    return 0


def real(args: argparse.Namespace) -> None:
    """Section 4: the issue's filters and the protocol hierarchy on the real-traffic file, CPU seconds."""
    sys.path.insert(0, str(ROOT / "bench"))
    from read import count_records, timed
    from realtraffic import real_traffic

    cap = real_traffic(args.real_packets)
    n = count_records(cap)
    env = dict(ENV, TZ="UTC")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(ROOT / "bench" / "out" / "pycache")
    py = [sys.executable, "-m", "sniffer"]
    print(f"\n4. real traffic ({cap.name}, {n:,} packets), CPU s (user+sys), median of {args.runs}:")
    frame_fields_bench(cap)
    base_env = dict(env, PYTHONPATH=str(Path(args.baseline).resolve())) if args.baseline else None
    print(f"   {'task':<45} {'sniffer':>8} {'tshark':>8} {'sniffer/tshark speed':>21}")
    cases = [
        (f"read -Y '{e}'", [*py, "read", str(cap), "-Y", e], ["tshark", "-n", "-r", str(cap), "-Y", e])
        for e in REAL_EXPRESSIONS
    ]
    cases.append(
        ("stats --phs", [*py, "stats", str(cap), "--phs"], ["tshark", "-n", "-r", str(cap), "-qz", "io,phs"])
    )
    for label, ours, theirs in cases:
        s = statistics.median(timed(ours, env)[1] for _ in range(args.runs))
        t = statistics.median(timed(theirs, env)[1] for _ in range(args.runs))
        ok = "PASS" if t / s >= 2 else "MISS"
        base = ""
        if base_env is not None:
            b = statistics.median(timed(ours, base_env, base_env["PYTHONPATH"])[1] for _ in range(args.runs))
            base = f"  (baseline {b:.2f} s: {t / b:.2f}x)"
        print(f"   {label:<45} {s:>8.2f} {t:>8.2f} {t / s:>20.2f}x  {ok} (goal >= 2x){base}", flush=True)


def only_fields(args: argparse.Namespace) -> None:
    """frame_fields per packet with the native walk (when built) and with SNIFFER_NO_NATIVE=1, one run."""
    sys.path.insert(0, str(ROOT / "bench"))
    from realtraffic import real_traffic

    from sniffer.decode.engine import native_fields

    cap = real_traffic(args.real_packets)
    if os.environ.get("SNIFFER_NO_NATIVE", "") not in ("", "0"):  # (the child of the run below)
        frame_fields_bench(cap)
        return
    print(f"frame_fields on {cap.name}, load average {os.getloadavg()[0]:.2f}:")
    print(f"  native walk {'built' if native_fields() else 'NOT built'}:", flush=True)
    frame_fields_bench(cap)
    print(f"  SNIFFER_NO_NATIVE=1 (pure Python), load average {os.getloadavg()[0]:.2f}:", flush=True)
    argv = [sys.executable, __file__, "--only-fields", "--real-packets", str(args.real_packets)]
    subprocess.run(argv, env=dict(ENV, SNIFFER_NO_NATIVE="1"), check=False)
    print(f"  load average at the end {os.getloadavg()[0]:.2f}")


def frame_fields_bench(cap: Path) -> None:
    """Full dissection (frame_fields) per packet over one round of the real-traffic mix: median, mean
    and 90th percentile of the per-packet time (each packet timed 5 times, its best kept)."""
    from sniffer.capture.pcapfile import open_capture
    from sniffer.decode.fields import frame_fields

    with open_capture(str(cap)) as r:
        frames = [fr for _, fr in zip(range(20_000), r, strict=False)]
    for fr in frames:  # warm the caches and the compiled readers
        frame_fields(fr)
    clock = time.perf_counter
    per = []
    for fr in frames:
        best = 1.0
        for _ in range(5):
            t0 = clock()
            frame_fields(fr)
            best = min(best, clock() - t0)
        per.append(best)
    per.sort()
    med, p90, mean = per[len(per) // 2], per[len(per) * 9 // 10], sum(per) / len(per)
    ok = "PASS" if med <= 5e-6 else "MISS"
    print(
        f"   frame_fields on {len(per):,} packets: median {med * 1e6:.1f} us, mean {mean * 1e6:.1f} us, "
        f"90th percentile {p90 * 1e6:.1f} us  {ok} (goal: median <= 5 us)"
    )


def synthetic(args: argparse.Namespace) -> None:

    from sniffer.capture.pcapfile import open_capture
    from sniffer.decode.fields import frame_fields
    from sniffer.model.filters import compile_filter

    with tempfile.TemporaryDirectory() as tmp:
        cap = Path(tmp) / "bench.pcap"
        build(cap, args.packets)
        print(f"capture: {args.packets:,} packets, {cap.stat().st_size / 1e6:.1f} MB")

        sample = 50_000
        with open_capture(str(cap)) as r:
            frames = [fr for _, fr in zip(range(sample), r, strict=False)]
        t0 = time.perf_counter()
        dicts = [frame_fields(fr) for fr in frames]
        t_fields = (time.perf_counter() - t0) / len(frames)
        print(f"\n1. in process, {len(frames):,} packets: frame_fields {t_fields * 1e6:.1f} us/packet")
        print(
            f"   {'filter':<55} {'ns/packet':>10} {'share of decode':>16} {'matches_frame us':>17} {'speedup':>8}"
        )
        for expr in EXPRESSIONS:
            flt = compile_filter(expr)
            m = flt.matches
            runs, lazy = [], []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                for d in dicts:
                    m(d)
                runs.append((time.perf_counter() - t0) / len(dicts))
                t0 = time.perf_counter()
                for fr in frames:
                    flt.matches_frame(fr)
                lazy.append((time.perf_counter() - t0) / len(frames))
            t, lz = statistics.median(runs), statistics.median(lazy)
            print(
                f"   {expr:<55} {t * 1e9:>10.0f} {t / t_fields:>15.1%} {lz * 1e6:>17.1f} "
                f"{(t_fields + t) / lz:>7.1f}x"
            )
        print("   (matches_frame: decode only what the filter needs; speedup vs frame_fields + matches)")

        py = [sys.executable, "-m", "sniffer"]
        print(f"\n2. read -Y, {args.packets:,} packets, median of {args.runs} (s):")
        print(f"   {'filter':<55} {'sniffer':>8} {'tshark':>8} {'tshark/sniffer':>15}")
        for expr in EXPRESSIONS:
            s = wall([*py, "read", str(cap), "-Y", expr], args.runs)
            t = wall(
                ["tshark", "-n", "-r", str(cap), "-Y", expr, "-T", "fields", "-e", "frame.number"], args.runs
            )
            print(f"   {expr:<55} {s:>8.2f} {t:>8.2f} {t / s:>14.2f}x")

        print(f"\n3. statistics and follow, median of {args.runs} (s):")
        print(f"   {'task':<30} {'sniffer':>8} {'tshark':>8} {'tshark/sniffer':>15}")
        cases = [
            ("conversations tcp", [*py, "stats", str(cap), "--conv", "tcp"], ["-q", "-z", "conv,tcp"]),
            ("protocol hierarchy", [*py, "stats", str(cap), "--phs"], ["-q", "-z", "io,phs"]),
            ("follow tcp 1", [*py, "follow", str(cap), "tcp", "1"], ["-q", "-z", "follow,tcp,ascii,1"]),
        ]
        for label, ours, theirs in cases:
            s = wall(ours, args.runs)
            t = wall(["tshark", "-n", "-r", str(cap), *theirs], args.runs)
            print(f"   {label:<30} {s:>8.2f} {t:>8.2f} {t / s:>14.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
