"""Benchmark: `sniffer mcast join` against socat as multicast receivers of the same stream, same run.

Two namespaces joined by a veth (created and removed here; nothing leaves them). In namespace b both
receivers join the same group and port; `sniffer mcast send` in namespace a sends N datagrams at a
given rate. Per rate, 5 runs: datagrams each receiver got (socat: bytes / size) and its CPU time
(rusage of the process), medians and ratios. Run as root: python bench/mcast.py [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from helpers.cli import sniffer_argv, sniffer_env  # noqa: E402
from helpers.netns import netns_pair  # noqa: E402

from sniffer.gen.mcast.proc import read_memberships  # noqa: E402

GROUP, PORT, SIZE = "239.77.7.7", 5555, 100


def wait4(p: subprocess.Popen[bytes], timeout: float = 60) -> float:
    """Reap ``p`` and return its user+system CPU seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid, _status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = 0
            return ru.ru_utime + ru.ru_stime
        time.sleep(0.01)
    p.kill()
    raise TimeoutError(p.args)


def one_run(a, b, rate: int, count: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    dur = count / rate + 3.0
    ours = b.popen(
        sniffer_argv(
            "mcast", "join", GROUP, "-i", "vb", "-p", str(PORT), "--duration", f"{dur:.2f}", "--json"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=sniffer_env(),
        cwd=ROOT,
    )
    sink = Path(tempfile.gettempdir()) / f"snf-bench-socat-{os.getpid()}.bin"
    socat = b.popen(
        [
            "timeout",
            "-s",
            "INT",
            f"{dur:.2f}",
            "socat",
            "-u",
            "-b",
            "65536",
            f"UDP4-RECV:{PORT},bind={GROUP},ip-add-membership={GROUP}:vb,reuseaddr",
            f"OPEN:{sink},creat,trunc",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    end = time.monotonic() + 5
    while time.monotonic() < end:
        m = [x for x in read_memberships("vb", b.ns) if x.group == GROUP]
        if m and m[0].users >= 2:
            break
        time.sleep(0.02)
    time.sleep(0.2)
    sent = subprocess.run(
        ["ip", "netns", "exec", a.ns, *sniffer_argv(
            "mcast", "send", GROUP, "-i", "va", "-p", str(PORT), "--rate", str(rate), "-c", str(count),
            "--size", str(SIZE), "--json",
        )],
        capture_output=True, env=sniffer_env(), cwd=ROOT, check=True,
    )  # fmt: skip
    sres = json.loads(sent.stdout)
    assert ours.stdout is not None
    out = ours.stdout.read()
    cpu_ours = wait4(ours)
    cpu_socat = wait4(socat)
    socat_bytes = sink.stat().st_size
    sink.unlink()
    rep = json.loads(out)
    streams = rep["groups"][0]["streams"]
    return {
        "sent": sres["sent"],
        "send_pps": sres["rate_pps"],
        "ours": sum(s["packets"] for s in streams),
        "ours_lost": sum(s["lost"] for s in streams),
        "socat": socat_bytes / SIZE,
        "cpu_ours": cpu_ours,
        "cpu_socat": cpu_socat,
    }


def main() -> int:
    if os.geteuid() != 0:
        print("bench/mcast.py needs root (network namespaces)", file=sys.stderr)
        return 1
    quick = "--quick" in sys.argv
    rates = [5000, 20000, 50000] if not quick else [5000, 20000]
    runs = 5 if not quick else 3
    print(
        f"receivers of one multicast stream over a veth, {SIZE}-byte datagrams, {runs} runs per rate (medians)"
    )
    print(f"{'rate':>7} {'sent':>7} {'send pps':>9} {'sniffer rx':>10} {'socat rx':>9} {'rx ratio':>8} "
          f"{'sniffer cpu s':>13} {'socat cpu s':>11} {'cpu ratio':>9} {'sniffer lost':>12}")  # fmt: skip
    with netns_pair() as (a, b):
        for rate in rates:
            count = rate * 2
            res = [one_run(a, b, rate, count) for _ in range(runs)]
            med = {k: statistics.median(r[k] for r in res) for k in res[0]}
            print(
                f"{rate:>7} {med['sent']:>7.0f} {med['send_pps']:>9.0f} {med['ours']:>10.0f} {med['socat']:>9.0f} "
                f"{med['ours'] / max(1, med['socat']):>8.3f} {med['cpu_ours']:>13.3f} {med['cpu_socat']:>11.3f} "
                f"{med['cpu_ours'] / max(1e-6, med['cpu_socat']):>9.1f} {med['ours_lost']:>12.0f}",
                flush=True,
            )
    print("sniffer's 'lost' comes from sequence numbers; socat cannot tell loss (it only counts bytes).")
    print("CPU includes each receiver's start-up (python interpreter for sniffer).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
