"""TUI benchmark: 1M-packet file (first screen, fully indexed, memory) vs tshark -r; key latency under live load.

    python bench/tui.py [--packets 1000000] [--runs 3] [--rate 25000] [--seconds 8]
    python bench/tui.py --filter [--packets 1000000] [--old-packets 100000]   # display filter scan times
    python bench/tui.py --skip-live --baseline DIR   # also the TUI from DIR (a checkout: before/after)
    python bench/tui.py --stats [--packets 1000000] [--flows 100000]   # Statistics screen vs tshark -z conv
    python bench/tui.py --stats --keep-files DIR   # the same files for runs of two trees (before/after)
    python bench/tui.py --stats --after-state --baseline DIR   # S once the list's TCP state covers the
                                                 # file; this tree and DIR's alternately, in one run
    python bench/tui.py --state [--packets 1000000] [--runs 1]   # the list's TCP analysis + reassembly on/off

Part 1 runs each tool in its own process on the same generated capture: the sniffer TUI (headless
Textual driver, 120x40) reports when the first packet rows are painted and when the file is fully
indexed; tshark -r is timed to its first output line and to its end. Peak RSS from wait4().
Part 2 runs the TUI live on lo (root) while a generator sends >= 20k UDP packets/s to 127.0.0.1
(bounded in count and time), presses keys and times each key to the end of the redraw; tcpdump
captures the same traffic side by side and both report kernel drops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

# -- part 1: the child that runs the TUI on a file -------------------------------------------------------
CHILD = r"""
import asyncio, json, os, sys, time
T0 = float(sys.argv[2])
sys.path.insert(0, sys.argv[3])
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
from sniffer.ui.app import SnifferApp
from sniffer.ui.sources import open_file_source
from sniffer.ui import widgets
marks = {"imports": time.time() - T0}
orig = widgets.PacketList.render_line
def render_line(self, y):
    strip = orig(self, y)
    if y >= 1 and self.count and "first" not in marks:
        marks["first"] = time.time() - T0
    return strip
widgets.PacketList.render_line = render_line
async def main():
    base = rss_kb()
    store, source = open_file_source(sys.argv[1])
    app = SnifferApp(store, source)
    async with app.run_test(size=(120, 40)) as pilot:
        while not source.status.done:
            await pilot.pause(0.01)
        marks["indexed"] = time.time() - T0
        await pilot.pause(0.2)
        # page through the whole list: 10 jumps, every screen painted
        t = time.perf_counter()
        for frac in range(10):
            app.plist.move_to(store.count * frac // 10)
            await pilot.pause()
        marks["page_ms"] = (time.perf_counter() - t) * 100
        marks["count"] = store.count
        marks["index_bytes_per_packet"] = store.index_bytes() / store.count
        marks["rss_delta_per_packet"] = (rss_kb() - base) * 1024 / store.count
asyncio.run(main())
print(json.dumps(marks))
"""


FLOOR = r"""
import asyncio, json, sys, time
T0 = float(sys.argv[1])
from textual.app import App
from textual.widgets import Static
marks = {}
class Floor(Static):
    def render_line(self, y):
        marks.setdefault("first", time.time() - T0)
        return super().render_line(y)
class Hello(App):
    def compose(self):
        yield Floor("hello")
async def main():
    async with Hello().run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
asyncio.run(main())
print(json.dumps(marks))
"""


def run_floor() -> float:
    """First paint of a one-widget Textual app: the floor any Textual UI starts from."""
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", FLOOR, repr(t0)], capture_output=True, check=True).stdout
    return float(json.loads(out.decode().strip().splitlines()[-1])["first"])


def run_tui_file(path: Path, root: Path = ROOT) -> dict[str, float]:
    t0 = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), repr(t0), str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, ru = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"TUI child failed: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    res = json.loads(out.decode().strip().splitlines()[-1])
    res["peak_rss_mb"] = ru.ru_maxrss / 1024
    return res


def run_tshark(path: Path) -> dict[str, float]:
    t0 = time.time()
    proc = subprocess.Popen(
        ["tshark", "-n", "-r", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    t_first = time.time() - t0
    lines = 1 if first else 0
    while True:
        chunk = proc.stdout.read(1 << 20)
        if not chunk:
            break
        lines += chunk.count(b"\n")
    _, _status, ru = os.wait4(proc.pid, 0)
    return {"first": t_first, "indexed": time.time() - t0, "count": lines, "peak_rss_mb": ru.ru_maxrss / 1024}


def part1(packets: int, runs: int, workdir: Path, baseline: Path | None = None) -> None:
    from helpers.tui_pcapgen import write_pcap

    path = workdir / f"bench-{packets}.pcap"
    t = time.perf_counter()
    write_pcap(path, packets)
    print(
        f"generated {packets} packets ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s"
    )
    have_tshark = shutil.which("tshark") is not None
    tui: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    tsh: list[dict[str, float]] = []
    floors: list[float] = []
    for _ in range(runs):  # interleaved, so that every tool sees the same machine load
        tui.append(run_tui_file(path))
        if baseline is not None:
            base.append(run_tui_file(path, baseline))
        floors.append(run_floor())
        if have_tshark:
            tsh.append(run_tshark(path))
    floor = statistics.median(floors)

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"\n== {packets} packets, median of {runs} runs (load average {os.getloadavg()[0]:.1f}) ==")
    print(f"{'':32}{'sniffer tui':>14}{'tshark -r':>14}{'ratio':>10}")
    for label, key, unit in (
        ("first screen of packets", "first", "s"),
        ("fully indexed / read", "indexed", "s"),
        ("peak RSS", "peak_rss_mb", "MB"),
    ):
        a = med(tui, key)
        b = med(tsh, key) if tsh else float("nan")
        print(f"{label:32}{a:>12.3f}{unit:>2}{b:>12.3f}{unit:>2}{a / b if tsh else float('nan'):>10.2f}")
    print(f"{'  of which start-up + imports':32}{med(tui, 'imports'):>12.3f} s")
    if base:
        print(f"baseline sniffer tree {baseline} (same runs):")
        for label, key in (
            ("  first screen", "first"),
            ("  start-up + imports", "imports"),
            ("  fully indexed", "indexed"),
        ):
            a, b = med(tui, key), med(base, key)
            print(f"{label:32}{a:>12.3f} s now{b:>10.3f} s before  ratio {a / b:.2f}")
        print(f"{'  first screens, now':32}" + " ".join(f"{r['first']:.3f}" for r in tui))
        print(f"{'  first screens, before':32}" + " ".join(f"{r['first']:.3f}" for r in base))
    print(f"{'(Textual hello-world first paint)':32}{floor:>12.3f} s   <- the floor for any Textual app here")
    print(f"{'index bytes/packet (arrays)':32}{med(tui, 'index_bytes_per_packet'):>12.1f} B")
    print(f"{'RSS growth/packet while loading':32}{med(tui, 'rss_delta_per_packet'):>12.1f} B")
    print(f"{'jump + repaint (10 jumps)':32}{med(tui, 'page_ms'):>12.1f} ms each")
    assert all(r["count"] == packets for r in tui), tui
    if tsh:
        print(
            f"(tshark printed {int(med(tsh, 'count'))} lines; the TUI indexed {int(med(tui, 'count'))} packets)"
        )
    goals = {
        "first screen <= 0.5 s": med(tui, "first") <= 0.5,
        "index <= 64 B/packet": med(tui, "index_bytes_per_packet") <= 64,
    }
    print("goals: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()))


# -- part 2: key latency under live load -----------------------------------------------------------------
def _udp_pcap(path: Path, port: int, n: int = 1000) -> Path:
    """``n`` UDP datagrams 127.0.0.1 -> 127.0.0.1:port on loopback (Ethernet header with zero MACs)."""
    from helpers.tui_pcapgen import PCAP_HDR, REC, ipv4, udp

    with open(path, "wb") as f:
        f.write(PCAP_HDR)
        for i in range(n):
            frame = (
                b"\0" * 12
                + b"\x08\x00"
                + ipv4("127.0.0.1", "127.0.0.1", 17, udp(40000, port, b"bench%06d" % i), i)
            )
            f.write(REC.pack(1_700_000_000, i, len(frame), len(frame)) + frame)
    return path


async def _latencies(app, n: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Key -> redraw in ms for ``n`` presses of j/k, as a terminal would send them (driver input).

    Returns (list row redrawn, all panes redrawn): the time from the key event to the first screen
    update showing the new cursor, and to the first one also showing its detail tree and bytes.
    """
    from textual import events

    displays: list[tuple[float, int, int]] = []
    orig = app._display

    def display(screen, renderable) -> None:  # type: ignore[no-untyped-def]
        if renderable is not None:
            displays.append((time.perf_counter(), app.plist.cursor, app.shown_index))
        orig(screen, renderable)

    app._display = display
    first, settled = [], []
    try:
        for i in range(n):
            key = "k" if i % 2 else "j"
            old = app.plist.cursor
            target_row = old + (1 if key == "j" else -1)
            displays.clear()
            t = time.perf_counter()
            app._driver.send_message(events.Key(key, key))
            deadline = t + 5
            while time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
                rows = [d for d in displays if d[1] == target_row]
                done = [d for d in rows if d[2] == app.plist.view.packet(target_row)]
                if rows and done:
                    first.append((rows[0][0] - t) * 1000)
                    settled.append((done[0][0] - t) * 1000)
                    break
            await asyncio.sleep(0.03)
    finally:
        app._display = orig
    return first, settled


def part2(rate: int, seconds: float, workdir: Path) -> None:
    if os.geteuid() != 0:
        print("\n(part 2 skipped: live capture needs root)")
        return
    from sniffer.model.store import PacketStore
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.sources import LiveCaptureSource

    port = 47000 + os.getpid() % 1000
    bpf = f"udp port {port}"
    pcap = _udp_pcap(workdir / "udp.pcap", port)

    async def main() -> dict[str, object]:
        store = PacketStore(spool=True)
        src = LiveCaptureSource(["lo"], store, bpf=bpf)
        src.open()
        app = SnifferApp(store, src, live=True)
        res: dict[str, object] = {}
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:  # a first screen of rows
                for i in range(100):
                    tx.sendto(b"warmup%d" % i, ("127.0.0.1", port))
            while store.count < 100:
                await pilot.pause(0.05)
            await pilot.pause(0.3)
            app.plist.follow = False
            app.plist.move_to(10)
            await pilot.pause(0.3)
            res["idle"] = await _latencies(app, 40)
            app.plist.follow = False
            tcpdump = subprocess.Popen(
                ["tcpdump", "-i", "lo", "-n", "-w", "/dev/null", bpf],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            await pilot.pause(1.0)
            before = store.count
            loops = max(1, int(rate * seconds) // 1000)
            gen = subprocess.Popen(
                ["tcpreplay", "-i", "lo", f"--pps={rate}", f"--loop={loops}", str(pcap)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            t = time.monotonic()
            await pilot.pause(1.0)
            res["loaded"] = await _latencies(app, 80)
            while gen.poll() is None:
                await pilot.pause(0.1)
            elapsed = time.monotonic() - t
            report = gen.stdout.read().decode()  # type: ignore[union-attr]
            sent = int(re.search(r"Actual: (\d+) packets", report).group(1))  # type: ignore[union-attr]
            await pilot.pause(1.0)
            st = src.stats()
            tcpdump.terminate()
            err = tcpdump.communicate(timeout=10)[1].decode()
            res.update(
                sent=sent,
                captured=store.count - before,
                rate=sent / elapsed,
                kernel_dropped=st.kernel_dropped,
                backpressure_dropped=st.backpressure_dropped,
                tcpdump=" / ".join(line for line in err.splitlines() if "packets" in line),
            )
        return res

    r = asyncio.run(main())
    (idle, idle_s), (loaded, loaded_s) = r["idle"], r["loaded"]  # type: ignore[misc]

    def p95(xs: list[float]) -> float:
        return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]

    print(
        f"\n== key press -> redraw, live capture on lo at {r['rate']:.0f} pkt/s offered "
        f"(load average {os.getloadavg()[0]:.1f}) =="
    )
    print(f"{'':40}{'idle':>10}{'under load':>12}{'ratio':>8}")
    for label, a, b in (
        ("list redrawn, median (ms)", statistics.median(idle), statistics.median(loaded)),
        ("list redrawn, p95 (ms)", p95(idle), p95(loaded)),
        ("list+detail+bytes redrawn, median", statistics.median(idle_s), statistics.median(loaded_s)),
    ):
        print(f"{label:40}{a:>10.1f}{b:>12.1f}{b / a:>8.2f}")
    loaded = loaded
    print(
        f"sent {r['sent']}, sniffer TUI captured {r['captured']}, kernel drops {r['kernel_dropped']}, "
        f"backpressure drops {r['backpressure_dropped']}"
    )
    print(f"tcpdump on the same traffic: {r['tcpdump']}")
    ok_lat = statistics.median(loaded) <= 100
    print(
        f"goals: key latency <= 100 ms: {'met' if ok_lat else 'MISSED'}, zero kernel drops: "
        f"{'met' if r['kernel_dropped'] == 0 else 'MISSED'}"
    )


# -- part 3: display filtering in the TUI's View ---------------------------------------------------------
FILTERS = ("tcp.port == 80", "tcp.stream == 3", "frame.number > 10 and udp", "icmp.type == 8")


def _filter_time(store, expr: str, old: bool) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Seconds for the store's View to scan every packet with ``expr`` (old: full decode per packet)."""
    from sniffer.model.filters import compile_filter
    from sniffer.model.store import View, _fields

    flt = compile_filter(expr)
    if old:  # what View did before: frame_fields for every packet, then matches (no stream/number)
        t = time.perf_counter()
        n = sum(1 for i in range(store.count) if flt.matches(_fields(store.frame(i))))
        return time.perf_counter() - t, n
    view = View(store, flt, expr)
    t = time.perf_counter()
    while not view.done:
        view.advance(4096)
    return time.perf_counter() - t, len(view)


def part3(packets: int, old_packets: int, workdir: Path) -> None:
    from helpers.tui_pcapgen import write_pcap

    from sniffer.capture.pcapfile import open_capture
    from sniffer.model.store import PacketStore

    for n, with_old in ((old_packets, True), (packets, False)):
        path = workdir / f"filter-{n}.pcap"
        write_pcap(path, n)
        store = PacketStore(str(path))
        with open_capture(str(path)) as r:
            store.append_batch(r.iter_with_offsets())
        print(f"\n== display filter over {n} indexed packets (load average {os.getloadavg()[0]:.1f}) ==")
        print(
            f"{'filter':28}{'before (decode all)':>20}{'View now':>12}{'tshark -Y':>12}{'speedup':>9}{'vs tshark':>10}"
        )
        for expr in FILTERS:
            old_s = _filter_time(store, expr, True)[0] if with_old and "stream" not in expr else float("nan")
            new_s, hits = _filter_time(store, expr, False)
            t = time.perf_counter()
            out = subprocess.run(
                ["tshark", "-n", "-r", str(path), "-Y", expr, "-T", "fields", "-e", "frame.number"],
                capture_output=True,
                check=True,
            ).stdout
            tsh = time.perf_counter() - t
            assert out.count(b"\n") == hits, (expr, hits, out.count(b"\n"))
            print(
                f"{expr:28}{old_s:>18.2f} s{new_s:>10.2f} s{tsh:>10.2f} s{old_s / new_s:>8.1f}x{new_s / tsh:>9.2f}x"
            )
        store.close()
        path.unlink()


def part3_real(packets: int, baseline: str | None) -> None:
    """The issue-12 goal: the TUI's View applies ``dns`` to the 1M real-traffic file (bench/realtraffic.py)
    in <= 10 s; tshark -Y dns on the same file side by side (CPU seconds of its process)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from read import timed
    from realtraffic import real_traffic

    cap = real_traffic(packets)
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1])\n"
        "from sniffer.capture.pcapfile import open_capture\n"
        "from sniffer.model.store import PacketStore, View\n"
        "from sniffer.model.filters import compile_filter\n"
        "store = PacketStore(sys.argv[2])\n"
        "with open_capture(sys.argv[2]) as r:\n"
        "    store.append_batch(r.iter_with_offsets())\n"
        "view = View(store, compile_filter(sys.argv[3]), sys.argv[3])\n"
        "c, t = time.process_time(), time.perf_counter()\n"
        "while not view.done:\n"
        "    view.advance(4096)\n"
        "print(len(view), time.process_time() - c, time.perf_counter() - t)\n"
    )
    print(f"\n== the TUI's View filtering {cap.name} (load average {os.getloadavg()[0]:.1f}) ==")
    trees = [("sniffer", str(ROOT))] + ([("baseline", str(Path(baseline).resolve()))] if baseline else [])
    for expr in ("dns",):
        for label, tree in trees:
            out = subprocess.run(
                [sys.executable, "-c", code, tree, str(cap), expr], capture_output=True, text=True, check=True
            ).stdout.split()
            hits, cpu, wall = int(out[0]), float(out[1]), float(out[2])
            ok = "PASS" if cpu <= 10 else "MISS"
            print(
                f"   {label:9} {expr!r}: {hits:,} packets, {cpu:.2f} s CPU, {wall:.2f} s wall  {ok} (goal <= 10 s)"
            )
        tsh = timed(["tshark", "-n", "-r", str(cap), "-Y", expr], dict(os.environ))[1]
        print(f"   tshark -Y {expr!r}: {tsh:.2f} s CPU")


# -- part 5: the packet list's conversation state (issue 14) --------------------------------------------
STATE_CHILD = r"""
import asyncio, json, os, sys, time
sys.path.insert(0, sys.argv[3])
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
from sniffer.ui.app import SnifferApp
from sniffer.ui.sources import open_file_source
SnifferApp.TCP_STATE = sys.argv[2] != "off"
SnifferApp.TCP_REASSEMBLY = sys.argv[2] != "noreass"
marks = {}
async def main():
    base = rss_kb()
    t0 = time.perf_counter()
    store, source = open_file_source(sys.argv[1])
    app = SnifferApp(store, source)
    async with app.run_test(size=(120, 40)) as pilot:
        while not source.status.done:
            await pilot.pause(0.05)
        marks["indexed_s"] = time.perf_counter() - t0
        if app.TCP_STATE:  # until the state covers every packet
            while app.plist.tcpcols is None or app.plist.tcpcols.fed < store.count:
                await pilot.pause(0.05)
            marks["state_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        for frac in range(10):  # page through the list: every screen painted (with the state's columns)
            app.plist.move_to(store.count * frac // 10)
            await pilot.pause()
        marks["page_ms"] = (time.perf_counter() - t) * 100
        marks["count"] = store.count
        marks["rss_mb"] = rss_kb() / 1024
        marks["rss_delta_per_packet"] = (rss_kb() - base) * 1024 / store.count
asyncio.run(main())
print(json.dumps(marks))
"""


def part5(packets: int, runs: int, baseline: str | None) -> None:
    """The TUI on the real-traffic file (bench/realtraffic.py) with the packet list's conversation state
    (TCP analysis + reassembly: prefixes, PDUs, Bad TCP colours), with the analysis alone (no reassembly)
    and without either (the per-packet view),
    side by side: CPU seconds of the child (median of ``runs``), its cost per packet, peak RSS and
    the ratio (issue 14: within 2x)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from realtraffic import real_traffic

    cap = real_traffic(packets)
    trees = [("sniffer", str(ROOT))] + ([("baseline", str(Path(baseline).resolve()))] if baseline else [])
    print(
        f"\n== the TUI on {cap.name}: the list's conversation state on/off (load {os.getloadavg()[0]:.1f}) =="
    )
    for label, tree in trees:
        res: dict[str, list[dict[str, float]]] = {"on": [], "off": [], "noreass": []}
        for _ in range(runs):
            for mode in ("off", "noreass", "on"):  # interleaved: all see the same machine load
                proc = subprocess.Popen(
                    [sys.executable, "-c", STATE_CHILD, str(cap), mode, tree],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=ROOT,
                )
                out = proc.stdout.read()  # type: ignore[union-attr]
                _, status, ru = os.wait4(proc.pid, 0)
                if status != 0:
                    raise SystemExit(f"TUI child failed: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
                r = json.loads(out.decode().strip().splitlines()[-1])
                r["cpu_s"] = ru.ru_utime + ru.ru_stime
                r["peak_rss_mb"] = ru.ru_maxrss / 1024
                res[mode].append(r)
        med = {m: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for m, rs in res.items()}
        off, on, noreass = med["off"], med["on"], med["noreass"]
        n = on["count"]
        print(
            f"   {label}: {int(n):,} packets; per-packet view {off['cpu_s']:.1f} CPU s, peak RSS "
            f"{off['peak_rss_mb']:.0f} MB; with the state {on['cpu_s']:.1f} CPU s (state ready after "
            f"{on['state_s']:.1f} s wall), peak RSS {on['peak_rss_mb']:.0f} MB"
        )
        print(
            f"   file indexed after {off['indexed_s']:.1f} s wall (per-packet view) vs {on['indexed_s']:.1f} s (with the"
            f" state running beside the loader)"
        )
        print(
            f"   cost of analysis + reassembly in the TUI: {(on['cpu_s'] - off['cpu_s']) / n * 1e6:.1f} us/packet, "
            f"of which reassembly {(on['cpu_s'] - noreass['cpu_s']) / n * 1e6:.1f} us/packet; "
            f"memory {on['peak_rss_mb'] / off['peak_rss_mb']:.2f}x the per-packet view's (goal <= 2x); "
            f"paging {off['page_ms']:.0f} -> {on['page_ms']:.0f} ms per screen"
        )


# -- part 4: statistics at scale (issue 15) --------------------------------------------------------------
STATS_CHILD = r"""
import asyncio, faulthandler, json, signal, sys, time, resource
sys.path.insert(0, sys.argv[2])
faulthandler.register(signal.SIGUSR1, all_threads=True)  # the driver asks for every thread's stack on a timeout
PHASE_S = float(sys.argv[3])  # longest wait of any one phase: a hang fails the run, with the stacks
AFTER_STATE = sys.argv[4] == "1"  # S only once the list's TCP state covers the file

def phase(name):
    print(f"phase: {name} at {time.strftime('%H:%M:%S')}", file=sys.stderr, flush=True)
    return time.perf_counter() + PHASE_S

APP = []

def check(deadline, what):
    if APP and (APP[0]._exception is not None or not APP[0].is_running):  # the app died: say why
        print(f"sniffer bench: the app stopped while {what}: {APP[0]._exception!r}", file=sys.stderr, flush=True)
        import os
        os._exit(4)
    if time.perf_counter() > deadline:
        faulthandler.dump_traceback(all_threads=True)
        print(f"sniffer bench: {what} took more than {PHASE_S:.0f} s", file=sys.stderr, flush=True)
        import os
        os._exit(3)
from textual import events
from sniffer.ui.app import SnifferApp
from sniffer.ui.sources import open_file_source
from sniffer.ui.panels.stats import StatisticsScreen
from sniffer.ui.vtable import ColumnRows, VirtualTable

def hwm_mb(what="VmHWM:"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(what):
                return int(line.split()[1]) / 1024
    return 0.0

def rss_mb():
    return hwm_mb("VmRSS:")

async def main():
    store, source = open_file_source(sys.argv[1])
    app = SnifferApp(store, source)
    APP.append(app)
    out = {}
    async with app.run_test(size=(120, 40)) as pilot:
        end = phase("loading")
        while not source.status.done:
            check(end, "loading the file")
            await asyncio.sleep(0.05)
        out["packets"] = store.count
        if AFTER_STATE:  # S opened once the packet list's TCP state has covered the whole file
            end = phase("the list's TCP state")
            t = time.perf_counter()
            while app.plist.tcpcols is None or app.plist.tcpcols.fed < store.count:
                check(end, "waiting for the list's TCP state")
                await asyncio.sleep(0.1)
            out["state_wait_s"] = time.perf_counter() - t
        out["rss_before_mb"] = rss_mb()
        end = phase("statistics")
        screen = StatisticsScreen()
        cpu0, t0 = time.process_time(), time.perf_counter()
        app.push_screen(screen)
        await pilot.pause()
        # key latency while the worker counts: a key typed into the rows filter, to the screen update showing it
        inp = screen.query_one("#rows-filter")
        inp.focus()
        await pilot.pause()
        displays = []
        orig = app._display
        def display(scr, renderable):
            if renderable is not None:
                displays.append((time.perf_counter(), inp.value))
            orig(scr, renderable)
        app._display = display
        lat = []
        k = 0
        while screen.stats is None:
            check(end, "counting the statistics")
            key, want = ("x", "x") if k % 2 == 0 else ("backspace", "")
            k += 1
            displays.clear()
            t = time.perf_counter()
            app._driver.send_message(events.Key(key, key if key == "x" else None))
            while time.perf_counter() < t + 10:
                await asyncio.sleep(0.0005)
                hit = [d for d in displays if d[1] == want]
                if hit:
                    lat.append((hit[0][0] - t) * 1000)
                    break
            await asyncio.sleep(0.1)
        app._display = orig
        out["stats_s"] = time.perf_counter() - t0
        out["stats_cpu_s"] = time.process_time() - cpu0
        out["key_ms"] = lat
        out["conversations"] = {k: v for k, v in screen.counts.items()}
        out["peak_rss_mb"] = hwm_mb()
        cols = app.plist.tcpcols
        out["state_fed"] = cols.fed if cols is not None else 0
        # sort of 1M rows by a column: the TCP conversation rows repeated to 1M, in a VirtualTable
        inp.value = ""  # no rows filter left by the keys above: the sort alone is timed
        await pilot.pause()
        table = screen.query_one("#conv-tcp", VirtualTable)
        rows = table.rows
        reps = 1_000_000 // max(1, len(rows)) + 1
        if isinstance(rows, ColumnRows):  # the statistics tables keep their rows by column
            big = rows.repeat(1_000_000)
        else:
            big = (list(rows) * reps)[:1_000_000]
        table.set_data(table.columns, big)
        await pilot.pause()
        table.focus()
        await pilot.pause()
        sort_lat = []

        async def sorted_by(col):
            # the sort runs in a thread for a big table: cursor keys meanwhile, each timed to its redraw
            shown = []
            orig = app._display
            def display3(scr, renderable):
                if renderable is not None:
                    shown.append((time.perf_counter(), table.cursor))
                orig(scr, renderable)
            app._display = display3
            table.sort_by(col)
            end = phase(f"sorting 1M rows by column {col}")
            while getattr(table, "sorting", False):
                check(end, "sorting 1M rows")
                want = table.cursor + 1
                shown.clear()
                t = time.perf_counter()
                app._driver.send_message(events.Key("down", None))
                # (the sort ending meanwhile moves the cursor to the kept row: that key is not timed)
                while time.perf_counter() < t + 10 and table.sorting:
                    await asyncio.sleep(0.0005)
                    if any(cur == want for _, cur in shown):
                        sort_lat.append((next(ts for ts, cur in shown if cur == want) - t) * 1000)
                        break
                await asyncio.sleep(0.02)
            await pilot.pause()
            app._display = orig

        t, c = time.perf_counter(), time.process_time()
        await sorted_by(4)  # Bytes
        out["sort_1m_s"], out["sort_1m_cpu"] = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        await sorted_by(1)  # Address A (text)
        out["sort_1m_text_s"], out["sort_1m_text_cpu"] = time.perf_counter() - t, time.process_time() - c
        out["sort_key_ms"] = sort_lat
        # the same two sorts once the hierarchy pass (a full decode in a thread, minutes at 1M packets)
        # is cancelled: the sort alone, its order not cached (new data)
        hier = [w for w in app.workers if w.group == "stats"]
        for w in hier:
            w.cancel()
        end = phase("waiting for the hierarchy pass to stop")
        while any(not w.is_finished for w in hier):
            check(end, "cancelling the hierarchy pass")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        for col, key in ((4, "alone"), (1, "alone_text")):
            table.set_data(table.columns, big)
            await pilot.pause()
            t, c = time.perf_counter(), time.process_time()
            await sorted_by(col)
            out[f"sort_1m_{key}_s"], out[f"sort_1m_{key}_cpu"] = time.perf_counter() - t, time.process_time() - c
        table.set_data(table.columns, [])
        await pilot.press("escape")
        await pilot.pause()
        # the packet list (1M rows) sorted by Length, then a field added as a column
        t, c = time.perf_counter(), time.process_time()
        app.sort_by("length", reverse=True)
        end = phase("sorting the packet list")
        while app.plist.view is app.view:
            check(end, "sorting the packet list")
            await asyncio.sleep(0.005)
        await pilot.pause()
        out["list_sort_s"], out["list_sort_cpu"] = time.perf_counter() - t, time.process_time() - c
        shown = []
        orig = app._display
        def display2(scr, renderable):
            if renderable is not None:
                shown.append(time.perf_counter())
            orig(scr, renderable)
        app._display = display2
        t = time.perf_counter()
        app.set_columns(["ip.ttl", "tcp.stream"])
        while not shown and time.perf_counter() < t + 10:
            await asyncio.sleep(0.001)
        out["add_column_s"] = (shown[0] if shown else float("nan")) - t
        app._display = orig
        # the floor: keys typed into the filter bar while a separate process burns one core as long as
        # the counting took (what moving the counting to a worker process would give: no GIL shared,
        # the same CPU load); after the hierarchy pass (a thread) ended or was cancelled
        app.workers.cancel_all()
        screen.workers.cancel_all()
        await asyncio.sleep(1.0)
        inp = app.filter_input
        inp.focus()
        await pilot.pause()
        import subprocess
        burn = subprocess.Popen([sys.executable, "-c",
            "import time\nt = time.time() + %f\nwhile time.time() < t: pass" % min(out["stats_s"], 20)])
        floor = []
        displays = []
        def display4(scr, renderable):
            if renderable is not None:
                displays.append((time.perf_counter(), inp.value))
            orig(scr, renderable)
        app._display = display4
        k = 0
        end = phase("floor")
        while burn.poll() is None:
            check(end, "the floor measurement")
            key, want = ("x", "x") if k % 2 == 0 else ("backspace", "")
            k += 1
            displays.clear()
            t = time.perf_counter()
            app._driver.send_message(events.Key(key, key if key == "x" else None))
            while time.perf_counter() < t + 10:
                await asyncio.sleep(0.0005)
                hit = [d for d in displays if d[1] == want]
                if hit:
                    floor.append((hit[0][0] - t) * 1000)
                    break
            await asyncio.sleep(0.1)
        app._display = orig
        out["floor_key_ms"] = floor
        APP.clear()
        phase("closing the app")
    print(json.dumps(out), flush=True)
    phase("done")

asyncio.run(main())
"""

CONV_ARGS = [f"-z{k},{p}" for k in ("conv", "endpoints") for p in ("ip", "ipv6", "tcp", "udp")]


def real_traffic(path: Path, packets: int) -> Path:
    """A >= ``packets`` capture of real traffic: every Ethernet frame of the /work/shared corpora, repeated,
    each repetition with other IPv4 source addresses (last two bytes xor the repetition): real protocols
    and sizes, and conversations that grow with the file."""
    from helpers.tui_pcapgen import PCAP_HDR, REC

    from sniffer.capture.pcapfile import open_capture
    from sniffer.frame import LINKTYPE_ETHERNET

    frames: list[bytes] = []
    for d in (Path("/work/shared/corpus/captures"), Path("/work/shared/corpus-breadth/captures")):
        for f in sorted(d.glob("*")):
            try:
                with open_capture(str(f)) as r:
                    for fr in r:
                        if fr.linktype == LINKTYPE_ETHERNET and len(fr.data) >= 34:
                            frames.append(fr.data)
            except Exception:
                continue
    with open(path, "wb") as out:
        out.write(PCAP_HDR)
        n, rep = 0, 0
        while n < packets:
            chunk = []
            for data in frames:
                if data[12:14] == b"\x08\x00" and rep:
                    b = bytearray(data)
                    b[28] ^= (rep >> 8) & 0xFF
                    b[29] ^= rep & 0xFF
                    data = bytes(b)
                t = n * 10
                chunk.append(
                    REC.pack(1_700_000_000 + t // 1_000_000, t % 1_000_000, len(data), len(data)) + data
                )
                n += 1
            out.write(b"".join(chunk))
            rep += 1
    return path


def run_tshark_conv(path: Path) -> dict[str, float]:
    t = time.perf_counter()
    proc = subprocess.Popen(["tshark", "-n", "-q", "-r", str(path), *CONV_ARGS], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    _, status, ru = os.wait4(proc.pid, 0)
    assert status == 0, "tshark failed"
    return {
        "wall_s": time.perf_counter() - t,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "peak_rss_mb": ru.ru_maxrss / 1024,
    }


PHASE_S = 600.0  # the child fails a phase (loading, counting, a sort ...) that takes longer than this


def run_tui_stats(path: Path, root: Path = ROOT, after_state: bool = False) -> dict[str, object]:
    """The TUI child on ``path``. Every phase of the child is bounded (PHASE_S); past the bound it
    prints every thread's stack and fails; the driver gives the whole run 4 bounds, then asks the
    child for its stacks (SIGUSR1, faulthandler) and kills it: a hang is reported, never waited for."""
    with tempfile.TemporaryDirectory(prefix="sniffer-profile-") as conf:  # never the user's column profile
        env = {**os.environ, "SNIFFER_CONFIG_DIR": conf}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                STATS_CHILD,
                str(path),
                str(root),
                str(PHASE_S),
                "1" if after_state else "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        try:
            out, err = proc.communicate(timeout=4 * PHASE_S)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)
            time.sleep(2)
            proc.kill()
            out, err = proc.communicate()
            raise SystemExit(f"TUI child hung; its threads:\n{err.decode()[-6000:]}") from None
    if proc.returncode != 0:
        raise SystemExit(f"TUI child failed ({proc.returncode}): {err.decode()[-6000:]}")
    res: dict[str, object] = json.loads(out.decode().strip().splitlines()[-1])
    res["load"] = os.getloadavg()[0]
    return res


def part4(
    packets: int,
    flows: int,
    workdir: Path,
    real: bool,
    keep: Path | None = None,
    after_state: bool = False,
    baseline: Path | None = None,
    runs: int = 1,
) -> None:
    """``keep``: a folder where the two capture files are kept and reused by the next run (before/after
    runs of two trees on the same files); else they are made in ``workdir`` and deleted. ``after_state``:
    S is opened once the list's TCP state has covered the file. ``baseline``: another tree's TUI too,
    alternating with this one's (``runs`` each), memory and times side by side."""
    from helpers.tui_pcapgen import many_flows_frames, write_frames

    where = keep or workdir
    gen, realf = where / f"flows-{packets}-{flows}.pcap", where / f"real-{packets}.pcap"
    if not gen.exists():
        write_frames(gen, many_flows_frames(packets, flows))
    files = [("generated TCP/UDP", gen)]
    if real:
        files.append(
            ("real traffic (corpus, repeated)", realf if realf.exists() else real_traffic(realf, packets))
        )
    for label, path in files:
        print(f"\n== statistics: {label}, load average {os.getloadavg()[0]:.1f} ==")
        ts = run_tshark_conv(path)
        if baseline is not None:
            pairs = []
            for _ in range(runs):
                pairs.append(
                    (run_tui_stats(path, baseline, after_state), run_tui_stats(path, ROOT, after_state))
                )
            print(f"{'S ' + ('after the TCP state covered the file' if after_state else 'as the file loads'):44}"
                  f"{'baseline':>14}{'this tree':>14}")  # fmt: skip
            for b, a in pairs:
                for what, key, fmt in (
                    ("  RSS before S, MB", "rss_before_mb", "{:.0f}"),
                    ("  peak RSS, MB", "peak_rss_mb", "{:.0f}"),
                    ("  conversations + endpoints, CPU s", "stats_cpu_s", "{:.2f}"),
                    ("  conversations + endpoints, wall s", "stats_s", "{:.2f}"),
                    ("  key -> redraw while counting, max ms", "key_max", "{:.1f}"),
                    ("  sort 1M rows by Bytes / Address A, s", "sorts", "{}"),
                    ("  add two columns, ms", "add_ms", "{:.0f}"),
                    ("  load average after the run", "load", "{:.1f}"),
                ):
                    vals = []
                    for r in (b, a):
                        r = dict(r)
                        r["key_max"] = max(r["key_ms"] or [float("nan")])  # type: ignore[type-var]
                        r["sorts"] = f"{r['sort_1m_s']:.2f}/{r['sort_1m_text_s']:.2f}"
                        r["add_ms"] = r["add_column_s"] * 1000  # type: ignore[operator]
                        vals.append(fmt.format(r[key]))
                    print(f"{what:44}{vals[0]:>14}{vals[1]:>14}")
                print(f"  (TCP state fed {b['state_fed']:,} / {a['state_fed']:,} packets before S)")
            ours = pairs[-1][1]
        else:
            ours = run_tui_stats(path, ROOT, after_state)
        key = sorted(ours["key_ms"]) or [float("nan")]  # type: ignore[type-var]
        conv = ours["conversations"]
        print(f"packets {ours['packets']}, conversations: " + ", ".join(f"{k} {v}" for k, v in conv.items()))  # type: ignore[union-attr]
        print(f"{'':44}{'sniffer tui':>14}{'tshark -qz':>14}{'ratio':>8}")
        print(f"{'conversations + endpoints, CPU s':44}{ours['stats_cpu_s']:>14.2f}{ts['cpu_s']:>14.2f}"
              f"{ours['stats_cpu_s'] / ts['cpu_s']:>8.2f}")  # type: ignore[operator]  # fmt: skip
        print(f"{'conversations + endpoints, wall s':44}{ours['stats_s']:>14.2f}{ts['wall_s']:>14.2f}"
              f"{ours['stats_s'] / ts['wall_s']:>8.2f}")  # type: ignore[operator]  # fmt: skip
        print(f"{'peak RSS, MB (TUI: the whole app + index)':44}{ours['peak_rss_mb']:>14.0f}{ts['peak_rss_mb']:>14.0f}"
              f"{ours['peak_rss_mb'] / ts['peak_rss_mb']:>8.2f}")  # type: ignore[operator]  # fmt: skip
        print(f"  (TUI: {ours['rss_before_mb']:.0f} MB before S: the app, the index and the list's TCP state "
              f"for its first {ours['state_fed']:,} packets; that state waits while Statistics counts)")  # fmt: skip
        print(f"key -> redraw while counting, ms: median {statistics.median(key):.1f}, "
              f"p95 {key[int(0.95 * (len(key) - 1))]:.1f}, max {key[-1]:.1f} ({len(key)} keys)")  # fmt: skip
        fl = sorted(ours.get("floor_key_ms") or [])  # type: ignore[type-var]
        if fl:
            print(f"  floor: the same keys while another process burns a core, ms: median {statistics.median(fl):.1f}, "
                  f"p95 {fl[int(0.95 * (len(fl) - 1))]:.1f}, max {fl[-1]:.1f} ({len(fl)} keys)")  # fmt: skip
        print(f"statistics table, sort 1,000,000 rows by Bytes: {ours['sort_1m_s']:.2f} s wall "
              f"({ours['sort_1m_cpu']:.2f} s CPU), by Address A: {ours['sort_1m_text_s']:.2f} s "
              f"({ours['sort_1m_text_cpu']:.2f} s CPU), while the hierarchy pass decodes in a thread")  # fmt: skip
        print(f"  the same, the hierarchy pass cancelled: by Bytes {ours['sort_1m_alone_s']:.2f} s wall "
              f"({ours['sort_1m_alone_cpu']:.2f} s CPU), by Address A: {ours['sort_1m_alone_text_s']:.2f} s "
              f"({ours['sort_1m_alone_text_cpu']:.2f} s CPU)")  # fmt: skip
        sk = sorted(ours.get("sort_key_ms") or [])  # type: ignore[type-var]
        if sk:  # a sort run in a thread (none since the sort went back to the UI thread)
            print(f"  key -> redraw while the table sorts, ms: median {statistics.median(sk):.1f}, "
                  f"max {sk[-1]:.1f} ({len(sk)} keys)")  # fmt: skip
        print(f"packet list, sort {ours['packets']} rows by Length: {ours['list_sort_s']:.2f} s wall "
              f"({ours['list_sort_cpu']:.2f} s CPU); add two field columns -> redrawn: "
              f"{ours['add_column_s'] * 1000:.0f} ms")  # fmt: skip
        if keep is None:
            path.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=int, default=30000, help="live load, packets/s (bounded)")
    ap.add_argument("--seconds", type=float, default=8.0, help="live load duration (bounded)")
    ap.add_argument("--skip-file", action="store_true")
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument(
        "--baseline", type=Path, help="part 1: also time the TUI from this tree (e.g. a git archive of main)"
    )
    ap.add_argument("--filter", action="store_true", help="only part 3: display filter scan times")
    ap.add_argument(
        "--filter-real",
        action="store_true",
        help="only: the View applies dns to the real-traffic file (--packets; bench/realtraffic.py)",
    )
    ap.add_argument("--stats", action="store_true", help="only part 4: conversations/endpoints vs tshark -z")
    ap.add_argument(
        "--state",
        action="store_true",
        help="only part 5: the list's conversation state (analysis + reassembly) on/off, real-traffic file",
    )
    ap.add_argument("--flows", type=int, default=100_000, help="part 4: conversations in the generated file")
    ap.add_argument("--no-real", action="store_true", help="part 4: skip the real-traffic file")
    ap.add_argument(
        "--after-state",
        action="store_true",
        help="part 4: open S once the packet list's TCP state has covered the whole file",
    )
    ap.add_argument(
        "--keep-files", type=Path, help="part 4: keep the capture files in this folder and reuse them"
    )
    ap.add_argument(
        "--old-packets", type=int, default=100_000, help="part 3: file size for the before column"
    )
    args = ap.parse_args()
    if args.filter_real:
        part3_real(args.packets, str(args.baseline) if args.baseline else None)
        return
    if args.state:
        part5(args.packets, args.runs, str(args.baseline) if args.baseline else None)
        return
    with tempfile.TemporaryDirectory(prefix="sniffer-bench-") as d:
        if args.filter:
            part3(args.packets, args.old_packets, Path(d))
            return
        if args.stats:
            part4(
                args.packets,
                args.flows,
                Path(d),
                not args.no_real,
                args.keep_files,
                args.after_state,
                args.baseline,
                args.runs if args.baseline else 1,
            )
            return
        if not args.skip_file:
            part1(args.packets, args.runs, Path(d), args.baseline)
        if not args.skip_live:
            part2(args.rate, args.seconds, Path(d))


if __name__ == "__main__":
    main()
