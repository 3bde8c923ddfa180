"""Without CAP_NET_RAW: the unprivileged ICMP datagram socket when ping_group_range allows it, else one line."""

from __future__ import annotations

import json
import subprocess

import pytest
from helpers.cli import ROOT, sniffer_argv, sniffer_env
from helpers.netns import Host, netns_chain

pytestmark = pytest.mark.root
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def as_nobody(host: Host, *args: str) -> subprocess.CompletedProcess[bytes]:
    argv = ["ip", "netns", "exec", host.ns, *NOBODY, *sniffer_argv("ping", *args)]
    return subprocess.run(argv, capture_output=True, env=sniffer_env(), cwd=ROOT, timeout=60)


def test_unprivileged_fallback_and_the_one_line_message() -> None:
    with netns_chain(3) as (a, r, b):
        r.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        r.run("sysctl", "-qw", "net.ipv6.icmp.ratelimit=0")
        v4, v6 = b.addr4("l1"), b.addr6("l1")

        # namespaces start with ping_group_range "1 0": nobody has neither raw nor datagram ICMP
        p = as_nobody(a, "-c", "1", v4)
        err = p.stderr.decode()
        assert p.returncode == 2 and p.stdout == b""  # iputils: 2 for an error
        assert err.count("\n") == 1 and err.startswith("sniffer: opening a raw ICMP socket"), err
        assert "ping_group_range='1 0'" in err and "CAP_NET_RAW" in err and "Traceback" not in err

        a.run("sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
        p = as_nobody(
            a, "--json", "-c", "3", "-i", "0.01", "--id", "5000", v4, v6
        )  # ids 5000, 5001: bound ports
        assert p.returncode == 0, p.stderr.decode()
        assert "unprivileged ICMP datagram socket" in p.stderr.decode()
        doc = json.loads(p.stdout)
        assert doc["socket"] == "dgram"
        for t in doc["targets"]:
            assert (t["transmitted"], t["received"]) == (3, 3)
            assert [q["seq"] for q in t["probes"] if q["status"] == "reply"] == [1, 2, 3]

        # ICMP errors reach the datagram socket through its error queue (IP_RECVERR)
        p = as_nobody(a, "--json", "-c", "2", "-i", "0.01", "-t", "1", "-W", "1", v4, v6)
        doc = json.loads(p.stdout)
        for t, router in zip(doc["targets"], (r.addr4("l0"), r.addr6("l0")), strict=True):
            assert (t["received"], t["errors"]) == (0, 2)
            assert {q["from"] for q in t["probes"]} == {router}
            assert {q["error"] for q in t["probes"]} <= {"Time to live exceeded", "Time exceeded: Hop limit"}

        p = as_nobody(a, "--trace", "--json", "-W", "1", v4)
        doc = json.loads(p.stdout)
        assert doc["reached"] and [h["probes"][0]["from"] for h in doc["hops"]] == [r.addr4("l0"), v4]

        # what stays privileged says so in one line
        for args, needle in (
            (("--type", "13", "-c", "1", v4), "--type needs one"),
            (("-i", "0.001", "-c", "2", v4), "-i 0.001"),
        ):
            p = as_nobody(a, *args)
            err = p.stderr.decode()
            assert (
                p.returncode != 0
                and needle in err
                and err.strip().count("\n") <= 1
                and "Traceback" not in err
            ), err
