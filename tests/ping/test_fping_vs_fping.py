"""`sniffer fping` side by side with fping, in namespaces this test creates (a - router - b, with a
silent address behind the router): same lines (times masked), same exit status."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from helpers.cli import ROOT, sniffer_argv, sniffer_env
from helpers.netns import Host, netns_chain

from sniffer.errors import UsageError
from sniffer.gen.ping.fping import generate

pytestmark = pytest.mark.root
SILENT = "10.98.0.1"
MASKS = [
    (re.compile(r"\d+\.\d{3}"), "T"),  # every time fping prints has 3 decimals
]


def mask(text: str) -> list[str]:
    for rx, repl in MASKS:
        text = rx.sub(repl, text)
    return text.splitlines()


@pytest.fixture(scope="module")
def chain() -> Iterator[list[Host]]:
    if shutil.which("fping") is None:
        pytest.fail("fping is missing: run scripts/bootstrap.sh")
    with netns_chain(3) as (a, r, b):
        r.run("ip", "route", "add", "10.98.0.0/24", "via", b.addr4("l1"))
        r.run("nft", "add", "table", "inet", "t")
        r.run("nft", "add chain inet t fw { type filter hook forward priority 0 ; }")
        r.run("nft", "add rule inet t fw ip daddr 10.98.0.0/24 drop")
        yield [a, r, b]


def run(host: Host, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", host.ns, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=sniffer_env(),
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    "case", ["alive", "unreachable list", "alive list", "count", "matrix", "quiet count", "stats", "range"]
)
def test_same_lines_and_status(chain: list[Host], case: str) -> None:
    a, r, _b = chain
    alive, alive6 = r.addr4("r1"), r.addr6("r1")
    args = {
        "alive": ("-r", "1", "-t", "200", alive, SILENT, alive6),
        "unreachable list": ("-u", "-r", "0", "-t", "200", alive, SILENT),
        "alive list": ("-a", "-r", "0", "-t", "200", alive, SILENT, alive6),
        "count": ("-c", "3", "-p", "200", "-t", "300", alive, SILENT),
        "matrix": ("-C", "3", "-p", "200", "-t", "300", alive, SILENT),
        "quiet count": ("-q", "-c", "2", "-p", "100", "-t", "200", alive, SILENT),
        "stats": ("-s", "-c", "2", "-p", "100", alive6),
        # a /30 the test names: its two hosts, a's own address and the router's
        "range": ("-a", "-r", "0", "-t", "200", "-g", a.addr4("r0").rsplit(".", 1)[0] + ".0/30"),
    }[case]
    real = run(a, ["fping", *args])
    ours = run(a, sniffer_argv("fping", *args))
    # a timeout line and the next reply of another target may swap places on a busy machine (both
    # tools print each when it happens): the same lines, and each target's own lines in order
    assert (ours.returncode, sorted(mask(ours.stdout))) == (real.returncode, sorted(mask(real.stdout))), (
        real,
        ours,
    )
    for name in (alive, SILENT):
        mine = [ln for ln in mask(ours.stdout) if ln.startswith(name + " ")]
        assert mine == [ln for ln in mask(real.stdout) if ln.startswith(name + " ")]
    if case != "stats":  # the elapsed time of -s is the only line that may differ once masked
        assert mask(ours.stderr) == mask(real.stderr), (real.stderr, ours.stderr)
    else:
        assert mask(ours.stderr)[:-3] == mask(real.stderr)[:-3], (real.stderr, ours.stderr)


def test_unknown_name_exit_2(chain: list[Host]) -> None:
    a, r, _b = chain
    real = run(a, ["fping", "nosuch.invalid", r.addr4("r1")])
    ours = run(a, sniffer_argv("fping", "nosuch.invalid", r.addr4("r1")))
    assert ours.returncode == real.returncode == 2
    assert ours.stdout == real.stdout and "nosuch.invalid" in ours.stderr


def test_ranges_are_bounded() -> None:
    assert generate(["10.0.0.0/30"]) == ["10.0.0.1", "10.0.0.2"]
    assert generate(["10.0.0.5", "10.0.0.7"]) == ["10.0.0.5", "10.0.0.6", "10.0.0.7"]
    for bad in (["10.0.0.0/8"], ["10.0.0.9", "10.0.0.1"], ["10.0.0.1", "::1"], ["x"]):
        with pytest.raises(UsageError):
            generate(bad)
