"""`sniffer mcast` argument errors: one line on stderr, the right exit status, nothing sent."""

from __future__ import annotations

import pytest
from helpers.cli import run_sniffer


@pytest.mark.parametrize(
    ("args", "status", "start"),
    [
        (("join", "10.1.2.3"), 2, "sniffer: 10.1.2.3 is not a multicast address"),
        (("join", "239.1.1.1", "ff15::1"), 2, "sniffer: mixing IPv4 and IPv6 groups"),
        (("join", "239.1.1.1", "-s", "fd00::1"), 2, "sniffer: source fd00::1 and the groups"),
        (("join", "239.1.1.1", "-s", "239.2.2.2"), 2, "sniffer: source 239.2.2.2 must be a unicast address"),
        (("join", "ff15::1"), 2, "sniffer: IPv6 multicast needs an interface"),
        (("join", "239.1.1.1", "-i", "nosuchif0"), 1, "sniffer: no interface named 'nosuchif0'"),
        (("send", "239.1.1.1", "-c", "0"), 2, "sniffer: bound the stream"),
        (("send", "239.1.1.1", "--size", "12"), 2, "sniffer: --size must be 40..65507"),
        (("send", "239.1.1.1", "--rate", "0"), 2, "sniffer: --rate must be > 0"),
        (("send", "239.1.1.1", "--ttl", "300"), 2, "sniffer: --ttl must be 0..255"),
        (("send", "not-an-ip"), 2, "sniffer: 'not-an-ip' is not an IP address"),
        (("doctor", "10.0.0.1", "--listen", "0"), 2, "sniffer: 10.0.0.1 is not a multicast address"),
    ],
)
def test_bad_arguments_give_one_line(args: tuple[str, ...], status: int, start: str) -> None:
    r = run_sniffer("mcast", *args, timeout=30)
    err = r.stderr.decode()
    assert r.returncode == status, err
    assert err.startswith(start) and err.count("\n") == 1 and "Traceback" not in err
    assert r.stdout == b""


def test_mcast_without_subcommand_prints_help() -> None:
    r = run_sniffer("mcast")
    assert r.returncode == 2 and b"join" in r.stderr and b"doctor" in r.stderr
