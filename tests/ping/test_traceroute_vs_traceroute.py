"""`sniffer traceroute` side by side with traceroute 2.1 (-I, -U, -T and the default UDP) across a
chain of 4 test namespaces (a - r1 - r2 - b: 3 hops): the same hops, lines and annotations."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from helpers.cli import ROOT, sniffer_argv, sniffer_env
from helpers.netns import Host, netns_chain

pytestmark = pytest.mark.root


def mask(text: str) -> list[str]:
    return re.sub(r"\d+\.\d{3} ms", "T ms", text).splitlines()


def net(addr: str) -> str:
    return addr.rsplit(".", 1)[0] + ".0/24" if ":" not in addr else addr.rsplit("::", 1)[0] + "::/64"


@pytest.fixture(scope="module")
def chain() -> Iterator[list[Host]]:
    if shutil.which("traceroute") is None:
        pytest.fail("traceroute is missing: run scripts/bootstrap.sh")
    with netns_chain(4) as hosts:
        a, r1, r2, b = hosts
        for h in hosts:
            h.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
            h.run("sysctl", "-qw", "net.ipv6.icmp.ratelimit=0")
        for v6 in (False, True):
            ip = ["ip", "-6"] if v6 else ["ip"]
            addr = Host.addr6 if v6 else Host.addr4
            r1.run(*ip, "route", "add", net(addr(b, "l2")), "via", addr(r2, "l1"))
            r2.run(*ip, "route", "add", net(addr(a, "r0")), "via", addr(r1, "r1"))
        # r2 answers UDP to port 40000 with host unreachable: traceroute's !H
        r2.run("nft", "add", "table", "inet", "t")
        r2.run("nft", "add chain inet t fw { type filter hook forward priority 0 ; }")
        r2.run(
            "nft",
            "add rule inet t fw meta l4proto udp udp dport 40000 reject with icmpx type host-unreachable",
        )
        # ICMP echo of 100 bytes: net unreachable from r2 (traceroute -I ... 100 shows !N)
        r2.run("nft", "add rule inet t fw meta nfproto ipv4 ip length 100 icmp type echo-request "
               "reject with icmp type net-unreachable")  # fmt: skip
        # a smaller MTU on r2's link to b: probes with DF (-F) of 1400 bytes get !F-1280 from r2
        r2.run("ip", "link", "set", "r2", "mtu", "1280")
        # and the other destination-unreachable codes of IPv4: !N, !P, !X
        for port, code in (
            (40001, "net-unreachable"),
            (40002, "prot-unreachable"),
            (40003, "admin-prohibited"),
        ):
            r2.run(
                "nft", f"add rule inet t fw meta nfproto ipv4 udp dport {port} reject with icmp type {code}"
            )
        yield hosts


def run(host: Host, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", host.ns, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=sniffer_env(),
        cwd=ROOT,
    )


@pytest.mark.parametrize("method", ["udp", "-I", "-U", "-T"])
@pytest.mark.parametrize("v6", [False, True], ids=["v4", "v6"])
def test_same_hops_and_lines(chain: list[Host], method: str, v6: bool) -> None:
    a, r1, r2, b = chain
    dst = b.addr6("l2") if v6 else b.addr4("l2")
    args = ["-n", "-w", "2", *([] if method == "udp" else [method]), dst]
    real, ours = run(a, ["traceroute", *args]), run(a, sniffer_argv("traceroute", *args))
    assert ours.returncode == real.returncode == 0, (real.stderr, ours.stderr)
    assert mask(ours.stdout) == mask(real.stdout), (real.stdout, ours.stdout)
    hops = [ln.split()[1] for ln in mask(ours.stdout)[1:]]
    want = [r1.addr6("l0"), r2.addr6("l1"), dst] if v6 else [r1.addr4("l0"), r2.addr4("l1"), dst]
    assert hops == want


@pytest.mark.parametrize(
    "args",
    [
        ("-f", "2", "-m", "2", "-q", "1"),  # only the 2nd hop, one probe
        ("-U", "-p", "40000"),  # r2 rejects: !H, and the trace stops there
        ("-U", "-p", "40001", "-q", "1"),  # !N
        ("-U", "-p", "40002", "-q", "1"),  # !P
        ("-U", "-p", "40003", "-q", "1"),  # !X
        # DF on 1400-byte probes (the packet length follows the host): !F-1280 from r2, UDP and ICMP
        ("-F", "-q", "1", "-m", "3", "+1400"),
        ("-F", "-I", "-q", "1", "-m", "3", "+1400"),
        ("-I", "-q", "1", "-m", "3", "+100"),  # ICMP too writes traceroute's short notes (!N)
        ("-I", "-q", "2", "-m", "2"),
    ],
)
def test_options_and_annotations(chain: list[Host], args: tuple[str, ...]) -> None:
    a, _r1, _r2, b = chain
    after = [x[1:] for x in args if x.startswith("+")]  # arguments after the host
    argv = ["-n", "-w", "2", *(x for x in args if not x.startswith("+")), b.addr4("l2"), *after]
    real, ours = run(a, ["traceroute", *argv]), run(a, sniffer_argv("traceroute", *argv))
    assert (ours.returncode, mask(ours.stdout)) == (real.returncode, mask(real.stdout)), (
        real.stdout,
        ours.stdout,
    )


def test_json(chain: list[Host]) -> None:
    a, r1, r2, b = chain
    p = run(a, sniffer_argv("traceroute", "-T", "--json", "-w", "2", b.addr4("l2")))
    doc = json.loads(p.stdout)
    assert doc["reached"] is True and doc["method"] == "tcp"
    assert [h["probes"][0]["from"] for h in doc["hops"]] == [r1.addr4("l0"), r2.addr4("l1"), b.addr4("l2")]


@pytest.mark.parametrize("method", ["udp", "-I", "-T"])
def test_parallel_probes_same_hops_sooner(chain: list[Host], method: str) -> None:
    """-N: probes of several TTLs in flight at once (traceroute's default 16). With both routers
    silent (their time-exceeded dropped), 6 probes go unanswered: one at a time that is 6 waits,
    16 at a time about one; the lines are traceroute's either way."""
    import time

    a, r1, r2, b = chain
    for r in (r1, r2):
        r.run("nft", "add", "table", "inet", "silent")
        r.run("nft", "add chain inet silent out { type filter hook output priority 0 ; }")
        r.run("nft", "add rule inet silent out icmp type time-exceeded drop")
    try:
        argv = ["-n", "-w", "1", *([] if method == "udp" else [method]), b.addr4("l2")]
        real = run(a, ["traceroute", *argv])
        took = {}
        for n in ("1", "16"):
            t0 = time.monotonic()
            ours = run(a, sniffer_argv("traceroute", "-N", n, *argv))
            took[n] = time.monotonic() - t0
            assert (ours.returncode, mask(ours.stdout)) == (real.returncode, mask(real.stdout)), (
                real.stdout,
                ours.stdout,
            )
        lines = mask(real.stdout)[1:]
        assert [ln.split()[1] for ln in lines] == ["*", "*", b.addr4("l2")], lines
        assert took["1"] >= 6.0 and took["16"] < took["1"] - 3.0, took
    finally:
        for r in (r1, r2):
            r.run("nft", "delete", "table", "inet", "silent")
