"""TCP analysis on live-made captures: a transfer between two test namespaces through nftables rules
that drop and duplicate random segments, captured by `sniffer capture`, compared with tshark."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import sniffer_argv, sniffer_env
from helpers.tcp_oracle import compare

pytestmark = pytest.mark.root

SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # small: zero windows and window updates
s.bind((sys.argv[1], 5001)); s.listen(1); print('ready', flush=True)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(4096)
    if not b: break
    n += len(b)
c.sendall(b'done %d' % n); c.close()
"""

CLIENT = """
import socket, sys, time
s = socket.create_connection((sys.argv[1], 5001), timeout=20)
for i in range(150):
    s.sendall(bytes([i % 256]) * 2000)
    if i % 25 == 0: time.sleep(0.05)
s.shutdown(socket.SHUT_WR); print(s.recv(100).decode(), flush=True); s.close()
"""


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_loss_and_duplication_against_tshark(netns_pair, tmp_path: Path, family: str) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    dst = b.addr4("vb") if family == "v4" else b.addr6("vb")
    fam = "ip" if family == "v4" else "ip6"
    rules = tmp_path / "loss.nft"
    rules.write_text(
        f"table {fam} sniffertest {{\n chain out {{\n  type filter hook output priority 0;\n"
        "  tcp dport 5001 numgen random mod 12 == 0 counter drop\n"
        f"  tcp dport 5001 numgen random mod 15 == 0 counter dup to {dst}\n }}\n}}\n"
    )
    a.run("nft", "-f", str(rules))
    pcap = tmp_path / "live.pcap"
    cap = b.popen(
        [*sniffer_argv("capture", "-i", "vb", "-w", str(pcap), "-f", "tcp port 5001")],
        env=sniffer_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # beside it, the live printed view with the state (sniffer capture --analysis): read --analysis' lines
    live = b.popen(
        [*sniffer_argv("capture", "-i", "vb", "--analysis", "-f", "tcp port 5001")],
        env=sniffer_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    server = b.popen([sys.executable, "-c", SERVER, dst], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline().startswith(b"ready")
        time.sleep(0.5)  # the capture socket is open by now
        done = a.run(sys.executable, "-c", CLIENT, dst, timeout=60)
        assert done.stdout.startswith("done 300000"), done
        time.sleep(0.3)
    finally:
        for p in (cap, live):
            p.send_signal(signal.SIGINT)
        try:
            cap.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cap.kill()
        try:
            printed, _ = live.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            live.kill()
            printed, _ = live.communicate()
        server.kill()
        server.wait()
    assert pcap.exists() and pcap.stat().st_size > 100_000
    t = compare(pcap)
    print(
        f"\n{family}: {t.tcp} frames, tshark flagged {t.flagged}, same flags {t.flags_agree}, extra {t.extra}"
    )
    assert t.tcp > 150 and t.decoded == t.tcp
    # the live lines are the file's read --analysis lines (but the time column: the two sockets' clocks)
    want = subprocess.run(
        [*sniffer_argv("read", "--analysis", str(pcap))], env=sniffer_env(), capture_output=True, check=True
    ).stdout.decode()

    def cut(text: str) -> list[str]:
        return [(ln.split(" ", 2)[0] + " " + ln.split(" ", 2)[2]) for ln in text.splitlines()]

    got = cut(printed.decode())
    assert got == cut(want) and len(got) > 150
    assert any("[TCP Retransmission]" in ln or "[TCP Dup ACK" in ln for ln in got)
    assert t.flagged >= 5  # the drops and duplicates did happen: retransmissions, dup ACKs, lost segments
    assert t.flags_agree >= 0.95 * t.flagged, t.diffs[:10]
    assert t.extra <= 0.01 * t.tcp, t.diffs[:10]
    assert t.numbers_agree >= 0.99 * t.tcp, t.diffs[:10]
    assert t.all_agree >= 0.99 * t.tcp, t.diffs[:10]
