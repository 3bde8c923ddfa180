"""Benchmark `sniffer read` against tcpdump, tshark, dpkt and scapy on two 1M-packet captures.

One command: `python bench/read.py [--packets N] [--runs R] [--files both|synthetic|real]`. The files:
bench/out/mixed-<N>.pcap (synthetic TCP/UDP/ICMP over Ethernet on non-application ports, written with
struct) and the real-traffic file of bench/realtraffic.py (every Ethernet capture of the public corpora
that tshark reads, concatenated and repeated). For each it times every tool side by side and prints
packets/s, the ratio of sniffer to each tool (CPU seconds, medians of R runs), peak memory (max RSS of the
child) and time to the first line, then the goals met or missed. Three "floor" rows time the cheapest
`read`-shaped loops CPython can run on the same file (our pcap reader and one numbered, timed line per
packet, no decoding; then with the L2-L4 layer map): what a pure-Python `read` cannot go below.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

from sniffer.checksum import checksum as _csum

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
OUT = ROOT / "bench" / "out"


def _ip(proto: int, src: bytes, dst: bytes, payload: bytes, ident: int) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return hdr + payload


def _templates(n: int, seed: int = 1) -> list[bytes]:
    """n distinct Ethernet frames: 60% TCP, 30% UDP, 10% ICMP echo, among 200 hosts."""
    rnd = random.Random(seed)
    hosts = [bytes([10, 0, rnd.randrange(256), rnd.randrange(1, 255)]) for _ in range(200)]
    macs = [bytes([2, 0, 0, 0, rnd.randrange(256), rnd.randrange(256)]) for _ in range(200)]
    out = []
    for i in range(n):
        a, b = rnd.sample(range(200), 2)
        eth = macs[b] + macs[a] + b"\x08\x00"
        r = rnd.random()
        if r < 0.6:
            flags = rnd.choice((0x02, 0x12, 0x10, 0x18, 0x11))
            body = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 0, 32, 200))))
            tcp = (
                struct.pack(
                    "!HHIIBBHHH",
                    rnd.randrange(1024, 65535),
                    rnd.choice((80, 443, 22, 8080)),
                    rnd.getrandbits(32),
                    rnd.getrandbits(32),
                    5 << 4,
                    flags,
                    65535,
                    0,
                    0,
                )
                + body
            )
            pkt = eth + _ip(6, hosts[a], hosts[b], tcp, i & 0xFFFF)
        elif r < 0.9:
            body = bytes(rnd.randrange(256) for _ in range(rnd.choice((16, 64, 512))))
            udp = (
                struct.pack(
                    "!HHHH", rnd.randrange(1024, 65535), rnd.choice((123, 514, 4000, 9999)), 8 + len(body), 0
                )
                + body
            )
            pkt = eth + _ip(17, hosts[a], hosts[b], udp, i & 0xFFFF)
        else:
            icmp = (
                struct.pack("!BBHHH", rnd.choice((0, 8)), 0, 0, rnd.randrange(65536), i & 0xFFFF) + b"x" * 56
            )
            icmp = icmp[:2] + struct.pack("!H", _csum(icmp)) + icmp[4:]
            pkt = eth + _ip(1, hosts[a], hosts[b], icmp, i & 0xFFFF)
        out.append(pkt)
    return out


def generate(path: Path, count: int) -> None:
    """Write a classic pcap (LE, usec) of ``count`` frames cycling through 4096 templates."""
    if path.exists() and path.stat().st_size > 24:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tpl = _templates(4096)
    rec = struct.Struct("<IIII")
    t0 = 1_700_000_000
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        chunk: list[bytes] = []
        for i in range(count):
            p = tpl[i & 4095]
            us = i * 37
            chunk.append(rec.pack(t0 + us // 1_000_000, us % 1_000_000, len(p), len(p)))
            chunk.append(p)
            if len(chunk) >= 65536:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))


def slice_pcap(src: Path, dst: Path, count: int) -> None:
    """The first ``count`` records of ``src`` (our own fixed-layout file) into ``dst`` (a link to ``src``
    when it has no more)."""
    if dst.exists():
        return
    if count >= count_records(src):
        dst.symlink_to(src.name)
        return
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read(24))
        for _ in range(count):
            h = f.read(16)
            if len(h) < 16:
                break
            n = struct.unpack("<I", h[8:12])[0]
            g.write(h + f.read(n))


def timed(
    argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None
) -> tuple[float, float, int]:
    """Wall time, CPU time (user+sys of the child and its children) and peak RSS (KiB) of one run,
    stdout to /dev/null."""
    cmd = ["/usr/bin/time", "-f", "%U %S %M", *argv]
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd, check=False)
    dt = time.perf_counter() - t
    try:
        u, s, m = p.stderr.decode().strip().splitlines()[-1].split()
        cpu, rss = float(u) + float(s), int(m)
    except (ValueError, IndexError):
        cpu, rss = dt, 0
    if p.returncode != 0:
        print(f"  ! {' '.join(argv[:3])} exited {p.returncode}: {p.stderr.decode()[-300:]}", file=sys.stderr)
    return dt, cpu, rss


def first_line(argv: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert p.stdout is not None
    p.stdout.readline()
    dt = time.perf_counter() - t
    p.kill()
    p.wait()
    return dt


DPKT = """
import sys, dpkt
n = 0
with open(sys.argv[1], 'rb') as f:
    for ts, buf in dpkt.pcap.Reader(f):
        try:
            eth = dpkt.ethernet.Ethernet(buf)
        except dpkt.UnpackError:
            continue
        ip = eth.data
        l4 = getattr(ip, 'data', None)
        n += 1
print(n)
"""

# The pure-Python floor of a `read`-shaped loop (docs/decode.md, "What CPython can reach"): our own pcap
# reader, one line per packet with the frame number, the time (HH:MM:SS.ffffff, cached per millisecond as
# `read` does) and the length, joined 2048 lines at a time and written to stdout's buffer as `read` writes.
# No decoding. FLOOR_RAW walks the reader's buffer itself (no Frame per record: the way `read`'s own loop
# reads a classic pcap); FLOOR iterates the reader's Frames; FLOOR_MAP adds the L2-L4 layer map
# (decode.layers.layer_map) of each packet to FLOOR.
_FLOOR_HEAD = """
import sys
from sniffer.capture.pcapfile import open_capture
from sniffer.decode.summary import _hms, _D3 as d3
out = sys.stdout.buffer
lines = []
append = lines.append
n = 0
last_sec = last_ms = -1
hms = msstr = ""
"""
_FLOOR_LINE = """
        ms = ts // 1_000_000
        if ms != last_ms:
            last_ms = ms
            if ms // 1000 != last_sec:
                last_sec = ms // 1000
                hms = _hms(last_sec)
            msstr = hms + d3[ms % 1000]
        append(f"{n} {msstr}{d3[(ts // 1000) % 1000]} {wl}")
        if len(lines) >= 2048:
            append("")
            out.write("\\n".join(lines).encode())
            out.flush()
            lines.clear()
"""
_FLOOR_TAIL = """
append("")
out.write("\\n".join(lines).encode())
"""


def _floor_frames(per_frame: str = "") -> str:
    """The floor program over the reader's Frames, with ``per_frame`` (one statement) run on each."""
    loop = """
with open_capture(sys.argv[1]) as rd:
    for fr in rd:
        n += 1
        ts = fr[0]
        wl = fr[2]
"""
    return _FLOOR_HEAD + loop + (f"        {per_frame}\n" if per_frame else "") + _FLOOR_LINE + _FLOOR_TAIL


FLOOR = _floor_frames()
FLOOR_MAP = _floor_frames("m = layer_map(fr)").replace(
    "from sniffer.capture", "from sniffer.decode.layers import layer_map\nfrom sniffer.capture"
)
FLOOR_RAW = (
    _FLOOR_HEAD
    + """
import struct
with open_capture(sys.argv[1]) as rd:
    lay = rd.raw_layout()
    hdr = struct.Struct(lay.endian + "IIII").unpack_from
    mul = 1 if lay.nanosecond else 1000
    buf, pos = rd.raw_buffer()
    blen = len(buf)
    while True:
        while blen - pos >= 16:
            sec, frac, caplen, wl = hdr(buf, pos)
            nxt = pos + 16 + caplen
            if nxt > blen or caplen > lay.maxcap:
                break
            pos = nxt
            n += 1
            ts = sec * 1_000_000_000 + frac * mul
"""
    + _FLOOR_LINE.replace("\n        ", "\n            ")
    + """
        fr = rd.raw_next(pos)
        if fr is None:
            break
        n += 1
        ts = fr[0]
        wl = fr[2]
"""
    + _FLOOR_LINE
    + """
        buf, pos = rd.raw_buffer()
        blen = len(buf)
"""
    + _FLOOR_TAIL
)

SCAPY = """
import sys
from scapy.all import PcapReader
n = 0
for p in PcapReader(sys.argv[1]):
    p.summary()
    n += 1
print(n)
"""


def bench_file(
    label: str, big: Path, packets: int, a: argparse.Namespace, env: dict[str, str]
) -> list[tuple[str, bool]]:
    """Time every tool on ``big`` side by side; print the table; return the goal checks."""
    small = big.with_name(f"{big.stem}-first{a.slow_slice}.pcap")
    tiny = big.with_name(f"{big.stem}-first{a.scapy_slice}.pcap")
    slice_pcap(big, small, a.slow_slice)
    if a.scapy_slice:
        slice_pcap(big, tiny, a.scapy_slice)
    slow_n = min(a.slow_slice, packets)
    py = sys.executable
    tools = [
        ("sniffer read", [py, "-m", "sniffer", "read", str(big)], packets, a.runs),
        ("sniffer read -j1", [py, "-m", "sniffer", "read", "-j", "1", str(big)], packets, a.runs),
        # the same without the native accelerator (sniffer/decode/_fastline.c): what runs where no compiler was
        ("sniffer -j1 pure", [py, "-m", "sniffer", "read", "-j", "1", str(big)], packets, a.runs),
        ("TZ=UTC tcpdump -nr", ["tcpdump", "-nr", str(big)], packets, a.runs),
        ("tshark -n -r", ["tshark", "-n", "-r", str(small)], slow_n, a.slow_runs),
        ("dpkt full decode", [py, "-c", DPKT, str(small)], slow_n, a.slow_runs),
    ]
    if a.scapy_slice:
        tools.append(("scapy summary", [py, "-c", SCAPY, str(tiny)], min(a.scapy_slice, packets), 1))
    # the pure-Python floor (no decoding), on the whole file like `read`
    tools.append(("floor: raw walk+line", [py, "-c", FLOOR_RAW, str(big)], packets, a.runs))
    tools.append(("floor: Frames+line", [py, "-c", FLOOR, str(big)], packets, a.runs))
    tools.append(("floor: +layer_map", [py, "-c", FLOOR_MAP, str(big)], packets, a.runs))
    if not a.no_state:  # the conversation state's cost (TCP analysis, defragmentation; then reassembly)
        tools.append(
            (
                "sniffer --analysis",
                [py, "-m", "sniffer", "read", "--analysis", str(small)],
                slow_n,
                a.slow_runs,
            )
        )
        tools.append(
            (
                "sniffer --no-reass",
                [py, "-m", "sniffer", "read", "--analysis", "--no-reassembly", str(small)],
                slow_n,
                a.slow_runs,
            )
        )
    envs = {name: env for name, *_ in tools}
    envs["sniffer -j1 pure"] = dict(env, SNIFFER_NO_NATIVE="1")
    if a.baseline:  # the same commands from another source tree (e.g. a `git archive` of main), same run
        base_env = dict(env, PYTHONPATH=str(Path(a.baseline).resolve()))
        tools.insert(
            2, ("baseline read -j1", [py, "-m", "sniffer", "read", "-j", "1", str(big)], packets, a.runs)
        )
        envs["baseline read -j1"] = base_env
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    rows = []
    for name, argv, n, runs in tools:
        # `python -m` puts the working directory first on sys.path: the baseline runs from its own tree
        cwd = envs[name]["PYTHONPATH"] if name.startswith("baseline") else None
        res = [timed(argv, envs[name], cwd) for _ in range(runs)]
        dt = statistics.median(r[0] for r in res)
        ct = statistics.median(r[1] for r in res)
        rss = max(r[2] for r in res)
        wall[name], cpu[name] = n / dt, n / ct
        rows.append((name, n, dt, ct, rss))
    fl_s = statistics.median(first_line([py, "-m", "sniffer", "read", str(big)], env) for _ in range(5))
    fl_t = statistics.median(first_line(["tcpdump", "-nr", str(big)], env) for _ in range(3))
    load = os.getloadavg()[0]
    print(f"\n== {label}: {big.name}, {packets:,} packets (load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"native accelerator: {_native_state(env)}")
    print(
        f"{'tool':<20}{'packets':>9}{'wall s':>8}{'CPU s':>8}{'pkt/s wall':>12}{'pkt/s CPU':>12}"
        f"{'peak RSS':>10}{'sniffer/x wall':>16}{'sniffer-j1/x CPU':>18}"
    )
    me_w, me_c = wall["sniffer read"], cpu["sniffer read -j1"]
    for name, n, dt, ct, rss in rows:
        rw = "" if name.startswith(("sniffer", "baseline")) else f"{me_w / wall[name]:.2f}x"
        rc = "" if name.startswith("sniffer") else f"{me_c / cpu[name]:.2f}x"
        print(
            f"{name:<20}{n:>9}{dt:>8.2f}{ct:>8.2f}{wall[name]:>12,.0f}{cpu[name]:>12,.0f}{rss / 1024:>8.0f}MB{rw:>16}{rc:>18}"
        )
    print(f"time to first line: sniffer read {fl_s * 1000:.0f} ms, tcpdump {fl_t * 1000:.0f} ms")
    if not a.no_state:
        plain, state, noreass = cpu["sniffer read -j1"], cpu["sniffer --analysis"], cpu["sniffer --no-reass"]
        print(
            f"conversation state (read --analysis, -j1 CPU): {1e6 / state - 1e6 / plain:.1f} us/packet over "
            f"the per-packet read, of which TCP reassembly {1e6 / state - 1e6 / noreass:.1f} us/packet"
        )
        # tshark -n -r analyses and reassembles by default: the engine's goals with the state on too
        ts_state = state / cpu["tshark -n -r"]
        td_state = state / cpu["TZ=UTC tcpdump -nr"]
        print(
            f"with the state on (read --analysis vs tshark -n -r, which analyses by default): {ts_state:.2f}x "
            f"tshark (goal 4x: {'met' if ts_state >= 4 else 'missed'}), {td_state:.2f}x tcpdump (goal "
            f"{0.5 if label == 'real traffic' else 0.7}x: "
            f"{'met' if td_state >= (0.5 if label == 'real traffic' else 0.7) else 'missed'})"
        )
    tcpdump_goal = 0.5 if label == "real traffic" else 0.7
    us = {k: 1e6 / v for k, v in cpu.items()}
    goal_us = min(us["tshark -n -r"] / 4, us["TZ=UTC tcpdump -nr"] / tcpdump_goal)
    print(
        f"CPU us/packet: sniffer read -j1 {us['sniffer read -j1']:.2f} (pure Python "
        f"{us['sniffer -j1 pure']:.2f}); pure-Python floor (no decoding): raw "
        f"walk + line {us['floor: raw walk+line']:.2f}, Frames + line {us['floor: Frames+line']:.2f}, + "
        f"layer_map {us['floor: +layer_map']:.2f}; goal (4x tshark, {tcpdump_goal}x tcpdump) <= {goal_us:.2f}"
    )
    mem_n = min(100_000, packets)
    mem = big.with_name(f"{big.stem}-first{mem_n}.pcap")
    slice_pcap(big, mem, mem_n)
    _, _, rss_small = timed([py, "-m", "sniffer", "read", "-j", "1", str(mem)], env)
    print(
        f"memory (-j1): peak RSS {rss_small / 1024:.0f} MB on {mem_n} packets, "
        f"{rows[1][4] / 1024:.0f} MB on {packets}"
    )
    share = native_share(mem, env)
    if share is not None:
        base = ""
        if a.baseline:
            bshare = native_share(mem, envs["baseline read -j1"], envs["baseline read -j1"]["PYTHONPATH"])
            base = f" (baseline: {bshare:.1%})" if bshare is not None else ""
        print(f"native walker: formats {share:.1%} of the first {mem_n} packets{base}; Python the rest")
    goals = [
        (
            f"{label}: sniffer >= {tcpdump_goal}x TZ=UTC tcpdump -nr (CPU)",
            me_c / cpu["TZ=UTC tcpdump -nr"] >= tcpdump_goal,
        ),
        (f"{label}: sniffer >= 4x tshark -n -r (CPU)", me_c / cpu["tshark -n -r"] >= 4),
        (f"{label}: first line <= 0.15 s", fl_s <= 0.15),
        (f"{label}: memory flat (peak RSS on all <= 1.2x on the slice)", rows[1][4] <= 1.2 * rss_small),
    ]
    return goals


#: the share of a file's packets the native walker formats itself (the rest go back to Python, whose
#: dissector runs on them as in `read`, so the per-process state, e.g. AFS's call map, is read's)
SHARE = r"""
import sys
from sniffer.capture.pcapfile import open_capture
from sniffer.decode import summary
w = summary.native_walker()
took = n = 0
with open_capture(sys.argv[1]) as r:
    for fr in r:
        n += 1
        if w is not None and fr[3] == 1 and w.line(n, fr[0], fr[1], fr[2]) is not None:
            took += 1
        else:
            summary.summarize(fr)
print(took / max(n, 1))
"""


def native_share(path: Path, env: dict[str, str], cwd: str | None = None) -> float | None:
    """The share of the packets of ``path`` the native walker formats (None if it is not in use)."""
    p = subprocess.run(
        [sys.executable, "-c", SHARE, str(path)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return float(p.stdout.strip())
    except ValueError:
        return None


def _native_state(env: dict[str, str]) -> str:
    """Whether `sniffer read` runs with the native accelerator here (built, not switched off)."""
    probe = "from sniffer.decode.summary import native_walker; print(native_walker() is not None)"
    p = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    return (
        "in use"
        if p.stdout.strip() == "True"
        else "NOT in use (not built, or SNIFFER_NO_NATIVE=1): pure Python"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--slow-runs", type=int, default=3, help="runs of tshark and dpkt")
    ap.add_argument(
        "--slow-slice", type=int, default=1_000_000_000, help="packets for tshark and dpkt (scaled)"
    )
    ap.add_argument("--scapy-slice", type=int, default=5_000, help="0: no scapy")
    ap.add_argument("--files", choices=("both", "synthetic", "real"), default="both")
    ap.add_argument("--no-state", action="store_true", help="skip the read --analysis rows")
    ap.add_argument(
        "--baseline", metavar="DIR", help="also time `read -j1` from this source tree (before/after)"
    )
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TZ="UTC")
    # Like an installed package, run from compiled bytecode: with PYTHONDONTWRITEBYTECODE set (as in this
    # project's sandboxes) every start would recompile the modules (~45 ms CPU before the first line).
    # The cache goes under bench/out so the source tree stays clean.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    goals: list[tuple[str, bool]] = []
    if a.files in ("both", "synthetic"):
        big = OUT / f"mixed-{a.packets}.pcap"
        t = time.perf_counter()
        generate(big, a.packets)
        print(
            f"synthetic: {big} ({big.stat().st_size / 1e6:.0f} MB, made in {time.perf_counter() - t:.1f} s)"
        )
        goals += bench_file("synthetic", big, a.packets, a, env)
    if a.files in ("both", "real"):
        from realtraffic import real_traffic

        t = time.perf_counter()
        big = real_traffic(a.packets)
        n = count_records(big)
        print(
            f"real traffic: {big} ({big.stat().st_size / 1e6:.0f} MB, {n:,} packets, {time.perf_counter() - t:.1f} s)"
        )
        print("  " + big.with_suffix(".files.txt").read_text().splitlines()[0])
        goals += bench_file("real traffic", big, n, a, env)
    fl_py = statistics.median(first_line([sys.executable, "-c", "print(1)"], env) for _ in range(3))
    print(f"\n(a bare `python -c print(1)` takes {fl_py * 1000:.0f} ms to its first line here)")
    print("CPU rates (packets per CPU-second, user+sys) are the fair single-process comparison.")
    for g, ok in goals:
        print(f"  {'PASS' if ok else 'MISS'} {g}")
    return 0


def count_records(path: Path) -> int:
    """Records of a classic LE pcap (ours)."""
    n = 0
    with open(path, "rb") as f:
        f.seek(24)
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            f.seek(struct.unpack("<I", h[8:12])[0], 1)
            n += 1


if __name__ == "__main__":
    raise SystemExit(main())
