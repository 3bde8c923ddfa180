"""Capture benchmark: tcpdump -B 65536 -w, sniffer capture -w and scapy sniff side by side on one UDP blast.

One command, as root:  python bench/capture.py            (about 4-5 minutes; --repeat 3 for medians)
                       python bench/capture.py --quick    (fewer steps, ~2 minutes)

A veth pair joins two fresh namespaces. A paced sender sends UDP to an address in b's subnet whose MAC
is not b's, so b drops each datagram right after the capture taps (cheap for the receiver, and captured
since all tools are promiscuous): by default tcpreplay (C; `--pps N` or `--topspeed`, bounded by `--limit`
and `--duration`) replaying a generated pcap on va from namespace a, ~500k pkt/s at full speed here;
`--sender python` uses the Python sendmmsg sender (ctypes, bounded in count and time, ~100-140k pkt/s). For each
payload size and each rate step, all three capture the same blast at once; a tool "holds" a rate when
it captured every packet sent with zero drops. Then sniffer with its decoder in the same process
(`sniffer capture` printing one decoded line per packet) runs alone at the top rates.
Printed: per step, packets/s achieved, each tool's captured/dropped and CPU %; per tool the highest
zero-drop rate; the ratios sniffer/tcpdump and sniffer/scapy.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

PORT = 9000
FILTER = f"udp port {PORT}"
CLK = os.sysconf("SC_CLK_TCK")
#: the blast pcaps by payload size when tcpreplay is the sender (set in main)
SENDER: dict[str, dict[int, Path] | None] = {"pcap": None}


# -- the sender (runs inside namespace a as `python bench/capture.py --send ...`) ---------------------
class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(_Iovec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


def send_blast(dst: str, size: int, rate: float, count: int, max_seconds: float) -> None:
    """Send ``count`` UDP datagrams of ``size`` bytes to dst:PORT at ``rate``/s (0 = as fast as possible)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.connect((dst, PORT))
    batch = 64
    payload = ctypes.create_string_buffer(b"\xa5" * size, size)
    iovs = (_Iovec * batch)(*[_Iovec(ctypes.addressof(payload), size) for _ in range(batch)])
    msgs = (_Mmsghdr * batch)()
    for i in range(batch):
        msgs[i].hdr.iov = ctypes.pointer(iovs[i])
        msgs[i].hdr.iovlen = 1
    sent = 0
    t0 = time.perf_counter()
    while sent < count:
        now = time.perf_counter() - t0
        if now > max_seconds:
            break
        due = count if rate <= 0 else min(count, int(rate * now) + 1)
        if due <= sent:
            time.sleep(min(0.0005, (sent + 1) / rate - now))
            continue
        n = libc.sendmmsg(s.fileno(), msgs, min(batch, due - sent), 0)
        if n < 0:
            if ctypes.get_errno() in (11, 105):  # EAGAIN, ENOBUFS: retry
                continue
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        sent += n
    print(f"{sent} {time.perf_counter() - t0:.6f}", flush=True)


# -- the capturers ---------------------------------------------------------------------------------
SCAPY_SNIFF = """
import sys
from scapy.all import sniff
n = 0
def count(_pkt):
    global n
    n += 1
try:
    sniff(iface=sys.argv[1], filter=sys.argv[2], prn=count, store=False,
          started_callback=lambda: print("listening on", sys.argv[1], file=sys.stderr, flush=True))
except KeyboardInterrupt:
    pass
print(f"{n} packets captured", file=sys.stderr, flush=True)
"""


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK


class Capturer:
    def __init__(self, name: str, ns: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            bufsize=0,
            cwd=ROOT,
        )
        self.header = b""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 60
        while b"listening on" not in self.header:
            line = self.proc.stderr.readline()
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {self.header!r}")
            self.header += line
        self.cpu0 = 0.0

    def mark(self) -> None:
        self.cpu0 = cpu_seconds(self.proc.pid)
        self.t0 = time.monotonic()

    def cpu_now(self) -> float:
        return cpu_seconds(self.proc.pid) - self.cpu0

    def stop(self) -> dict[str, int]:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # scapy can sit on a backlog long after SIGINT: it dropped
            self.proc.kill()
            _, err = self.proc.communicate(timeout=30)
        text = err.decode(errors="replace")

        def num(pattern: str) -> int:
            m = re.search(r"(\d+) packets? " + pattern, text)
            return int(m.group(1)) if m else -1

        return {
            "captured": num("captured"),
            "kernel_dropped": num("dropped by kernel"),
            "backpressure": num("dropped by backpressure"),
        }


def start_capturers(ns: str, iface: str, tmp: Path, which: list[str]) -> list[Capturer]:
    from helpers.cli import sniffer_argv, sniffer_env

    caps = []
    for name in which:
        if name == "tcpdump":
            argv = [
                "tcpdump",
                "-n",
                "-B",
                "65536",
                "-Z",
                "root",
                "-i",
                iface,
                "-w",
                str(tmp / "t.pcap"),
                FILTER,
            ]
            caps.append(Capturer(name, ns, argv))
        elif name == "sniffer":
            argv = sniffer_argv("capture", "-i", iface, "-w", str(tmp / "s.pcapng"), FILTER)
            caps.append(Capturer(name, ns, argv, sniffer_env()))
        elif name == "scapy":
            caps.append(Capturer(name, ns, [sys.executable, "-c", SCAPY_SNIFF, iface, FILTER]))
        elif name == "sniffer+decode":
            argv = sniffer_argv("capture", "-i", iface, FILTER)
            caps.append(Capturer(name, ns, argv, sniffer_env()))
    return caps


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def make_blast_pcap(path: Path, src_mac: str, src: str, dst: str, size: int, n: int = 10000) -> Path:
    """A pcap of ``n`` Ethernet/IPv4/UDP frames to dst:PORT (MAC 02:00:00:00:00:99, not b's) for tcpreplay."""
    mac = bytes(int(x, 16) for x in src_mac.split(":"))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            udp = struct.pack("!HHHH", 40000 + i % 1000, PORT, 8 + size, 0) + bytes([i & 0xFF]) * size
            ip = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                socket.inet_aton(src), socket.inet_aton(dst),
            )  # fmt: skip
            ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
            frame = b"\x02\x00\x00\x00\x00\x99" + mac + b"\x08\x00" + ip + udp
            f.write(struct.pack("<IIII", i // 1000, i % 1000, len(frame), len(frame)) + frame)
    return path


def blast_tcpreplay(a_ns: str, pcap: Path, rate: float, seconds: float) -> tuple[int, float]:
    """tcpreplay (C) on va in namespace a: ``rate`` pkt/s (0 = --topspeed) for ``seconds``, bounded by
    --limit (packets) and --duration; (packets sent, seconds) as tcpreplay reports them."""
    count = int(rate * seconds) if rate > 0 else int(500_000 * seconds)
    speed = ["--pps", str(int(rate))] if rate > 0 else ["--topspeed"]
    argv = ["tcpreplay", "-q", "-K", "-i", "va", "--loop", str(count // 10000 + 1), "--limit", str(count)]
    argv += ["--duration", str(int(seconds * 3) + 1), *speed, str(pcap)]
    proc = subprocess.run(
        ["ip", "netns", "exec", a_ns, *argv], capture_output=True, text=True, timeout=seconds * 5 + 30
    )
    m = re.search(r"Actual: (\d+) packets .* sent in ([\d.]+) seconds", proc.stdout)
    if not m:
        raise RuntimeError(f"tcpreplay failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return int(m.group(1)), float(m.group(2))


def blast(a_ns: str, dst: str, size: int, rate: float, seconds: float, senders: int = 1) -> tuple[int, float]:
    """Run ``senders`` paced sender processes in namespace a; (packets sent, seconds) of the blast."""
    if SENDER["pcap"] is not None:
        return blast_tcpreplay(a_ns, SENDER["pcap"][size], rate, seconds)
    count = int(rate * seconds / senders) if rate > 0 else int(300_000 * seconds / senders)
    argv = [
        sys.executable,
        __file__,
        "--send",
        dst,
        str(size),
        str(rate / senders),
        str(count),
        str(seconds * 3),
    ]
    procs = [
        subprocess.Popen(["ip", "netns", "exec", a_ns, *argv], stdout=subprocess.PIPE, text=True)
        for _ in range(senders)
    ]
    t0 = time.monotonic()
    sent = 0
    for p in procs:
        out, _ = p.communicate(timeout=seconds * 5 + 30)
        sent += int(out.split()[0])
    return sent, time.monotonic() - t0


def run_step(  # type: ignore[no-untyped-def]
    a, b, dst: str, size: int, rate: float, seconds: float, which: list[str], senders: int = 1
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="sniffer-bench-") as d:
        caps = start_capturers(b.ns, "vb", Path(d), which)
        time.sleep(0.3)
        for c in caps:
            c.mark()
        sent, elapsed = blast(a.ns, dst, size, rate, seconds, senders)
        time.sleep(1.5)  # tcpdump hands over a ring block after up to 1 s; let every tool catch up
        cpu = {c.name: c.cpu_now() / elapsed * 100 for c in caps}
        t_stop = time.monotonic()
        results = {c.name: c.stop() for c in caps}
        tail = time.monotonic() - t_stop
    row: dict[str, object] = {"size": size, "target": rate, "sent": sent, "pps": sent / elapsed, "tail": tail}
    for name, r in results.items():
        dropped = sent - r["captured"]
        row[name] = {**r, "cpu": cpu[name], "ok": r["captured"] == sent and r["kernel_dropped"] in (0, -1)}
        row[name]["missing"] = dropped  # type: ignore[index]
    return row


def fmt_tool(
    r: dict[str, float], failed_runs: int = 0, runs: int = 1, worst: dict[str, float] | None = None
) -> str:
    """One cell: the (median) run's counts; with --repeat, "DROP k/n" if k of the n runs dropped,
    and what the worst run lost when the median run lost nothing."""
    extra = ""
    if worst is not None and r["ok"] and not worst["ok"]:
        extra += f" (worst: missing {int(worst['missing'])}, kdrop {int(worst['kernel_dropped'])})"
    if r.get("kernel_dropped", -1) > 0:
        extra += f" kdrop={int(r['kernel_dropped'])}"
    if r.get("backpressure", -1) > 0:
        extra += f" bp={int(r['backpressure'])}"
    if runs > 1:
        mark = f"ok {runs}/{runs}" if not failed_runs else f"DROP{failed_runs}/{runs}"
    else:
        mark = "ok " if r["ok"] else "DROP"
    return f"{mark} {int(r['captured']):>7}{extra} cpu {r['cpu']:5.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--send", nargs=5, metavar=("DST", "SIZE", "RATE", "COUNT", "MAXSEC"), help=argparse.SUPPRESS
    )
    parser.add_argument("--quick", action="store_true", help="fewer rate steps")
    parser.add_argument(
        "--sender",
        choices=("tcpreplay", "python"),
        default="tcpreplay",
        help="tcpreplay (C, ~500k pkt/s on a veth; default) or the Python sendmmsg sender (~100-140k pkt/s)",
    )
    parser.add_argument(
        "--tools", default="tcpdump,sniffer,scapy", help="capturers side by side (default all three)"
    )
    parser.add_argument("--decode-rates", help="rate steps of the decoder-in-process run (comma-separated)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each blast (default 2 s)")
    parser.add_argument("--sizes", default="64,1400")
    parser.add_argument("--repeat", type=int, default=1, help="repeat each step N times (median reported)")
    parser.add_argument(
        "--rates",
        help="comma-separated paced rate steps in pkt/s, 0 = unpaced (e.g. 40000,60000,80000,100000,0)",
    )
    args = parser.parse_args()
    if args.send:
        dst, size, rate, count, max_seconds = args.send
        send_blast(dst, int(size), float(rate), int(count), float(max_seconds))
        return 0
    if os.geteuid() != 0:
        print("bench/capture.py needs root (namespaces, capture)", file=sys.stderr)
        return 1
    from helpers.netns import netns_pair

    replay = args.sender == "tcpreplay"
    if replay and shutil.which("tcpreplay") is None:
        print("tcpreplay is not installed: use --sender python", file=sys.stderr)
        return 1
    if replay:
        rates = [250, 500, 1000, 2000, 10000, 50000, 100000, 150000, 200000, 300000, 0]
        quick_rates = [500, 2000, 100000, 200000, 0]
        decode_rates: tuple[int, ...] = (100000, 150000, 200000, 300000, 0)
        if args.quick:
            decode_rates = (100000, 150000, 200000)
    else:
        rates = [250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 0]
        quick_rates = [250, 1000, 50000, 0]
        decode_rates = (50000, 100000, 0) if not args.quick else (0,)
    if args.quick:
        rates = quick_rates
    if args.rates:
        rates = [int(r) for r in args.rates.split(",")]
    if args.decode_rates is not None:
        decode_rates = tuple(int(r) for r in args.decode_rates.split(",") if r)
    all_tools = [t for t in args.tools.split(",") if t]
    summary: dict[tuple[int, str], float] = {}
    with netns_pair() as (a, b), tempfile.TemporaryDirectory(prefix="sniffer-blast-") as blast_dir:
        dst = f"10.77.{b.ifaces['vb']['subnet']}.99"
        a.run("ip", "neigh", "add", dst, "lladdr", "02:00:00:00:00:99", "dev", "va")  # not vb's MAC
        if replay:
            SENDER["pcap"] = {
                size: make_blast_pcap(
                    Path(blast_dir) / f"udp{size}.pcap", a.ifaces["va"]["mac"], a.addr4("va"), dst, size
                )
                for size in [int(x) for x in args.sizes.split(",")]
            }
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        sender = "tcpreplay -K (C)" if replay else "Python sendmmsg"
        print(
            f"# {os.cpu_count()} CPUs, load average {load}; {args.seconds:.0f} s blasts on a veth pair by "
            f"{sender}; rate 0 = as fast as the sender goes"
        )
        for size in [int(s) for s in args.sizes.split(",")]:
            print(
                f"\n## UDP payload {size} B   (each cell: ok = every packet captured; count; CPU % of one core)"
            )
            print(f"{'target':>8} {'sent pps':>9}  " + "".join(f"{t:<38}" for t in all_tools))
            tools = list(all_tools)
            failures = dict.fromkeys(all_tools, 0)
            for rate in rates:
                senders = 2 if rate == 0 else 1
                runs = [
                    run_step(a, b, dst, size, rate, args.seconds, tools, senders) for _ in range(args.repeat)
                ]
                runs.sort(key=lambda r: float(r["pps"]))  # type: ignore[arg-type]
                row = runs[len(runs) // 2]  # the median run by rate achieved: its cells are printed
                pps = statistics.median(float(r["pps"]) for r in runs)  # type: ignore[arg-type]
                cells = "".join(
                    f"{fmt_tool(row[t], sum(not r[t]['ok'] for r in runs), len(runs), max((r[t] for r in runs), key=lambda x: x['missing'])) if t in tools else '(out: dropped twice)':<38}"  # type: ignore[index, arg-type, misc]
                    for t in all_tools
                )  # type: ignore[arg-type]
                print(f"{rate or 'max':>8} {pps:>9.0f}  {cells}", flush=True)
                for t in list(tools):
                    if all(r[t]["ok"] for r in runs):  # type: ignore[index]
                        summary[(size, t)] = max(summary.get((size, t), 0), pps)
                    else:
                        failures[t] += 1
                        if failures[t] >= 2 and t == "scapy":
                            tools.remove(t)  # its zero-drop rate is known; free the CPU for the others
            both = ("tcpdump", "sniffer")
            summary[(size, "held_all")] = float(all(t in failures and not failures[t] for t in both))
            print(
                "  sniffer with the decoder in the same process (one decoded line per packet to /dev/null), alone:"
            )
            summary[(size, "decode_pps")] = 0.0
            for rate in decode_rates:
                decs = [
                    run_step(
                        a, b, dst, size, rate, args.seconds, ["sniffer+decode"], senders=1 if rate else 2
                    )
                    for _ in range(args.repeat)
                ]
                decs.sort(key=lambda d: float(d["pps"]))  # type: ignore[arg-type]
                dec = decs[len(decs) // 2]
                r = dec["sniffer+decode"]
                failed = sum(not d["sniffer+decode"]["ok"] for d in decs)  # type: ignore[index]
                print(
                    f"{rate or 'max':>8} {dec['pps']:>9.0f}  "
                    f"{fmt_tool(r, failed, len(decs), max((d['sniffer+decode'] for d in decs), key=lambda x: x['missing'])):<38} "  # type: ignore[arg-type, index, misc]
                    f"(backlog decoded {dec['tail']:.1f} s after SIGINT)",
                    flush=True,
                )
                if not failed:
                    summary[(size, "decode_pps")] = max(summary[(size, "decode_pps")], float(dec["pps"]))  # type: ignore[arg-type]
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            "\n## highest zero-drop rate (pkt/s achieved by the sender; 0 = dropped even at the lowest step); "
            f"load average at the end {load}"
        )
        for size in [int(s) for s in args.sizes.split(",")]:
            z = {t: summary.get((size, t), 0.0) for t in ("tcpdump", "sniffer", "scapy")}
            vs_td = f"{z['sniffer'] / z['tcpdump']:.2f}x" if z["tcpdump"] else "n/a"
            if "scapy" not in all_tools:
                vs_sc = "n/a"
            elif z["scapy"]:
                vs_sc = f"{z['sniffer'] / z['scapy']:.0f}x"
            else:  # scapy dropped even at the lowest step
                vs_sc = f">{z['sniffer'] / (min(r for r in rates if r) if any(rates) else 1):.0f}x"
            held_all = summary.get((size, "held_all"), 0.0)
            capped = (
                " (both held every step: sender-limited)"
                if z["sniffer"] == z["tcpdump"] > 0 and held_all
                else ""
            )
            print(
                f"{size:>5} B: tcpdump {z['tcpdump']:.0f}  sniffer {z['sniffer']:.0f}  scapy {z['scapy']:.0f}  "
                f"-> sniffer/tcpdump {vs_td}{capped}, sniffer/scapy {vs_sc}; "
                f"decoder in-process: 0 drops up to {summary.get((size, 'decode_pps'), 0.0):.0f} pkt/s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
