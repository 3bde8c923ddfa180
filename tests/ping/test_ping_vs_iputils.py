"""`sniffer ping` side by side with iputils ping, in namespaces this test creates (a - router - b):
same counts, same exit status, and the same output line by line once times are masked."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest
from helpers.cli import ROOT, sniffer_argv, sniffer_env
from helpers.netns import Host, netns_chain

pytestmark = pytest.mark.root

MASKS = [
    (re.compile(r"time=[\d.]+ ms"), "time=T ms"),
    (re.compile(r"time \d+ms"), "time Tms"),
    (re.compile(r"= [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms"), "= R ms"),
    (re.compile(r"ipg/ewma [\d.]+/[\d.]+ ms"), "ipg/ewma R ms"),
    (re.compile(r"^\[\d+\.\d{6}\] ", re.M), "[TS] "),
    # -T: the stamps (ms since midnight UT, then differences) move; the addresses and slots stay
    (re.compile(r"\t-?\d+( absolute)?( not-standard)?$", re.M), r"\tN\1\2"),
]


def mask(text: str) -> list[str]:
    for rx, repl in MASKS:
        text = rx.sub(repl, text)
    return text.splitlines()


@pytest.fixture(scope="module")
def chain() -> Iterator[list[Host]]:
    if shutil.which("ping") is None:
        pytest.fail("iputils ping is missing: run scripts/bootstrap.sh")
    with netns_chain(3) as hosts:
        for h in hosts:
            h.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
            h.run("sysctl", "-qw", "net.ipv6.icmp.ratelimit=0")
        b = hosts[2]
        # lose the even sequence numbers on b, the same for both tools (they both start at 1)
        b.run("nft", "add", "table", "inet", "t")
        b.run("nft", "add chain inet t in { type filter hook input priority 0 ; }")
        b.run("nft", "add rule inet t in icmp type echo-request icmp sequence { 2, 4, 6, 8, 10 } drop")
        # the router answers 10.99.99.0/24 with net unreachable from nftables: the kernel's own answer
        # for a missing route is rate-limited per source (net.ipv4.route.error_cost), nft's is not
        r = hosts[1]
        r.run("ip", "route", "add", "10.99.99.0/24", "via", b.addr4("l1"))
        r.run("nft", "add", "table", "inet", "t")
        r.run("nft", "add chain inet t fw { type filter hook forward priority 0 ; }")
        r.run("nft", "add rule inet t fw ip daddr 10.99.99.0/24 reject with icmp type net-unreachable")
        yield hosts


def run(host: Host, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", host.ns, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=sniffer_env(),
        cwd=ROOT,
    )


def both(host: Host, *args: str) -> tuple[tuple[int, list[str]], tuple[int, list[str]]]:
    real = run(host, ["ping", *args])
    ours = run(host, sniffer_argv("ping", *args))
    return (real.returncode, mask(real.stdout)), (ours.returncode, mask(ours.stdout))


def lossy(b: Host) -> str:
    return b.addr4("l1")


@pytest.mark.parametrize(
    "case",
    [
        "v4 replies",
        "v6 replies",
        "v4 ttl exceeded",
        "v6 hop limit exceeded",
        "net unreachable",
        "quiet",
        "timestamps",
        "v6 big payload",
        "flood",
        "preload",
        "adaptive",
        "user latency",
        "identifier",
        "verbose",
        "v6 verbose",
        "mark",
        "interface",
        "v6 source address",
        "record route",
        "record route, one hop",
        "timestamps only",
        "timestamps only, one hop",
        "timestamps and addresses",
        "timestamps and addresses, one hop",
        "prespecified timestamps",
        "prespecified timestamps, one hop named",
    ],
)
def test_same_lines_and_status(chain: list[Host], case: str) -> None:
    a, r, b = chain
    v4, v6 = b.addr4("l1"), b.addr6("l1")
    args = {
        "v4 replies": ("-c", "3", "-i", "0.2", r.addr4("r1")),
        "v6 replies": ("-c", "3", "-i", "0.2", r.addr6("r1")),
        "v4 ttl exceeded": ("-c", "2", "-i", "0.2", "-t", "1", v4),
        "v6 hop limit exceeded": ("-c", "2", "-i", "0.2", "-t", "1", v6),
        "net unreachable": ("-c", "1", "-W", "1", "10.99.99.99"),
        "quiet": ("-c", "2", "-i", "0.2", "-q", r.addr4("r1")),
        "timestamps": ("-c", "2", "-i", "0.2", "-D", r.addr4("r1")),
        "v6 big payload": ("-c", "2", "-i", "0.2", "-s", "3000", r.addr6("r1")),
        "flood": ("-f", "-c", "50", r.addr4("r1")),
        "preload": ("-c", "5", "-l", "3", "-i", "0.2", r.addr4("r1")),
        "adaptive": ("-A", "-c", "5", r.addr4("r1")),
        "user latency": ("-U", "-c", "2", "-i", "0.2", r.addr4("r1")),
        "identifier": ("-e", "4321", "-c", "2", "-i", "0.2", r.addr4("r1")),
        "verbose": ("-v", "-e", "4321", "-c", "2", "-i", "0.2", r.addr4("r1")),
        "v6 verbose": ("-v", "-e", "4322", "-c", "2", "-i", "0.2", r.addr6("r1")),
        "mark": ("-m", "7", "-c", "2", "-i", "0.2", r.addr4("r1")),
        "interface": ("-I", "r0", "-c", "2", "-i", "0.2", r.addr4("r1")),
        "v6 source address": ("-I", a.addr6("r0"), "-c", "2", "-i", "0.2", r.addr6("r1")),
        "record route": ("-R", "-c", "3", "-i", "0.2", b.addr4("l1")),
        "record route, one hop": ("-R", "-c", "1", r.addr4("l0")),
        "timestamps only": ("-T", "tsonly", "-c", "3", "-i", "0.2", v4),
        "timestamps only, one hop": ("-T", "tsonly", "-c", "2", "-i", "0.2", r.addr4("l0")),
        "timestamps and addresses": ("-T", "tsandaddr", "-c", "3", "-i", "0.2", v4),
        "timestamps and addresses, one hop": ("-T", "tsandaddr", "-c", "2", "-i", "0.2", r.addr4("l0")),
        "prespecified timestamps": ("-T", "tsprespec", r.addr4("l0"), v4, "-c", "1", v4),
        "prespecified timestamps, one hop named": ("-T", "tsprespec", r.addr4("l0"), "-c", "1", v4),
    }[case]
    real, ours = both(a, *args)
    assert ours == real, f"\niputils: {real}\nsniffer: {ours}"


@pytest.mark.parametrize(
    ("args", "sent", "received", "rc"),
    [
        # with -w, -c counts replies: seqs 1..5 go out in the second, 1, 3, 5 come back: short, rc 1
        (("-c", "4", "-w", "1", "-i", "0.2"), 5, 3, 1),
        # a longer deadline: the 4th reply (seq 7) ends the run, rc 0
        (("-c", "4", "-w", "3", "-i", "0.2"), 7, 4, 0),
        # without -w, -c counts probes; some reply came back: rc 0
        (("-c", "4", "-i", "0.2"), 4, 2, 0),
        # -w alone: probes until the deadline (at 0, 0.4 and 0.8 s: 200 ms of margin for a loaded machine;
        # -i 0.3 put the 4th probe 100 ms before it, and a CI run under load 10 sent 3)
        (("-w", "1", "-i", "0.4"), 3, 2, 0),
    ],
)
def test_count_and_deadline_counts_as_iputils(
    chain: list[Host], args: tuple[str, ...], sent: int, received: int, rc: int
) -> None:
    a, _r, b = chain
    real, ours = both(a, *args, lossy(b))
    for status, lines in (real, ours):
        summary = next(ln for ln in lines if "packets transmitted" in ln)
        assert (status, summary.split()[0], summary.split()[3]) == (rc, str(sent), str(received)), lines
    assert ours == real


@pytest.mark.parametrize(
    "args",
    [
        ("-c", "1", "nosuch.invalid"),
        ("-c", "1", "-I", "nosuchif0", "127.0.0.1"),
        ("-c", "1", "-T", "tsnever", "127.0.0.1"),
        ("-c", "1", "-R", "-T", "tsonly", "127.0.0.1"),
        ("-c", "1", "-T", "tsprespec", *(f"127.0.0.{i}" for i in range(1, 6)), "127.0.0.1"),
    ],
)
def test_errors_exit_as_iputils(chain: list[Host], args: tuple[str, ...]) -> None:
    real = run(chain[0], ["ping", *args])
    ours = run(chain[0], sniffer_argv("ping", *args))
    assert (ours.returncode, real.returncode) == (2, 2), (ours.stderr, real.stderr)
    assert ours.stdout == "" and ours.stderr.startswith("sniffer: ") and ours.stderr.count("\n") == 1


def counter(host: Host, table: str) -> int:
    out = host.run("nft", "list", "table", "inet", table).stdout
    return int(re.search(r"counter packets (\d+)", out).group(1))  # type: ignore[union-attr]


def test_mark_and_flow_label_are_on_the_wire(chain: list[Host]) -> None:
    a, r, _b = chain
    a.run("nft", "add", "table", "inet", "mk")
    a.run("nft", "add chain inet mk out { type filter hook output priority 0 ; }")
    a.run("nft", "add rule inet mk out meta mark 7 icmp type echo-request counter")
    r.run("nft", "add", "table", "inet", "fl")
    r.run("nft", "add chain inet fl in { type filter hook input priority 0 ; }")
    r.run("nft", "add rule inet fl in ip6 flowlabel 0xabcde icmpv6 type echo-request counter")
    try:
        assert run(a, sniffer_argv("ping", "-m", "7", "-c", "3", "-i", "0.05", r.addr4("r1"))).returncode == 0
        assert counter(a, "mk") == 3
        p = run(a, sniffer_argv("ping", "-F", "abcde", "-c", "3", "-i", "0.05", r.addr6("r1")))
        assert p.returncode == 0, p.stderr
        assert counter(r, "fl") == 3
    finally:
        a.run("nft", "delete", "table", "inet", "mk")
        r.run("nft", "delete", "table", "inet", "fl")


def test_broadcast_needs_b_and_a_named_interface(chain: list[Host]) -> None:
    a, r, _b = chain
    r.run("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_broadcasts=0")
    bcast = a.addr4("r0").rsplit(".", 1)[0] + ".255"
    real = run(a, ["ping", "-c", "1", bcast])
    ours = run(a, sniffer_argv("ping", "-c", "1", bcast))
    assert (real.returncode, ours.returncode) == (2, 2) and "-b" in ours.stderr, ours.stderr
    assert "broadcast" in real.stderr and "broadcast" in ours.stderr
    ours = run(a, sniffer_argv("ping", "-b", "-c", "1", bcast))
    assert ours.returncode == 2 and "-I" in ours.stderr
    args = ("-b", "-I", "r0", "-c", "2", "-i", "0.2", bcast)
    real, ours = run(a, ["ping", *args]), run(a, sniffer_argv("ping", *args))
    assert (ours.returncode, mask(ours.stdout)) == (real.returncode, mask(real.stdout))
    assert "WARNING: pinging broadcast address" in ours.stderr
    assert f"64 bytes from {r.addr4('l0')}: icmp_seq=1" in ours.stdout


def test_sigquit_prints_a_status_line_and_goes_on(chain: list[Host]) -> None:
    a, r, _b = chain
    lines = []
    for argv in (["stdbuf", "-oL", "ping"], sniffer_argv("ping")):
        p = subprocess.Popen(
            ["ip", "netns", "exec", a.ns, *argv, "-c", "5", "-i", "0.4", r.addr4("r1")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=sniffer_env(),
            cwd=ROOT,
        )
        assert p.stdout is not None
        out = ""
        while "icmp_seq=3 " not in out:
            out += p.stdout.readline()
        p.send_signal(signal.SIGQUIT)  # right after the 3rd reply, 0.4 s before the 4th probe
        rest, err = p.communicate(timeout=20)
        assert p.returncode == 0 and "5 packets transmitted, 5 received" in rest, (out, rest, err)
        lines.append(re.sub(r"[\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", "R ms", err.strip()))
    assert lines[0] == lines[1] == "3/3 packets, 0% loss, min/avg/ewma/max = R ms", lines


def test_message_too_long_names_the_mtu(chain: list[Host]) -> None:
    a, r, _b = chain
    real = run(a, ["ping", "-c", "1", "-s", "2000", "-M", "do", r.addr4("r1")])
    ours = run(a, sniffer_argv("ping", "-c", "1", "-s", "2000", "-M", "do", r.addr4("r1")))
    assert "local error: message too long, mtu=1500" in real.stderr
    assert "local error: message too long, mtu=1500" in ours.stdout + ours.stderr
    assert ours.returncode == real.returncode == 1
