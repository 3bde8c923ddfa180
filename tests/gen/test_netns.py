"""Broadcast, multicast and AF_PACKET across a veth pair in test namespaces, seen by the capture core."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.cli import run_sniffer, sniffer_argv, sniffer_env
from helpers.gencap import TagCapture
from helpers.netns import Host, netns_pair

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Host, Host]]:
    with netns_pair() as hosts:
        yield hosts


class Server:
    """A `sniffer gen ...-server` in a namespace, started and waited for (its first stderr line)."""

    def __init__(self, host: Host, *args: str) -> None:
        self.proc = host.popen(
            [*sniffer_argv("gen", *args, "--json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=sniffer_env(),
        )
        assert self.proc.stderr is not None
        self.ready = self.proc.stderr.readline().decode()
        assert "for at most" in self.ready, self.ready

    def stats(self) -> dict[str, Any]:
        out, err = self.proc.communicate(timeout=20)
        assert self.proc.returncode == 0, err.decode()
        return json.loads(out)


def client(host: Host, *args: str) -> dict[str, Any]:
    res = run_sniffer("gen", *args, "--json", ns=host.ns, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    return json.loads(res.stdout)


STYLES = ("blocking", "select", "poll", "epoll", "asyncio")


@pytest.mark.parametrize("style", STYLES)
def test_broadcast_reaches_the_other_namespace(pair: tuple[Host, Host], style: str) -> None:
    a, b = pair
    port = str(random.randint(20000, 30000))
    flow = random.getrandbits(32)
    srv = Server(b, "udp-echo-server", "--bind", f"0.0.0.0:{port}", "-c", "3", "-d", "15", "--style", style)
    with TagCapture("vb", ns=b.ns) as cap:
        rep = client(
            a, "broadcast", "-i", "va", "--port", port, "-c", "3", "--style", style, "--flow", str(flow)
        )
    assert rep["echoed"] == 3 and rep["options"]["SO_BROADCAST"] == 1
    subnet = a.ifaces["va"]["subnet"]
    assert rep["peer"] in (f"10.77.{subnet}.255:{port}", f"255.255.255.255:{port}")
    assert srv.stats()["echoed"] == 3
    assert cap.seqs(flow) == {0, 1, 2}
    bcast = [fr for fr in cap.frames if fr.data[:6] == b"\xff" * 6 and b"SnFg" in fr.data]
    assert bcast, "no broadcast frame (ff:ff:ff:ff:ff:ff) carrying our tag was captured"


@pytest.mark.parametrize(
    ("family", "style"), [*(("inet", s) for s in STYLES), ("inet6", "blocking"), ("inet6", "asyncio")]
)
def test_multicast_group_members_echo(pair: tuple[Host, Host], family: str, style: str) -> None:
    a, b = pair
    group = "239.7.7.7" if family == "inet" else "ff15::7777"
    port = random.randint(20000, 30000)
    flow = random.getrandbits(32)
    srv = Server(
        b, "udp-echo-server", "--family", family, "--bind", f"[{'::' if family == 'inet6' else '0.0.0.0'}]:{port}",
        "--group", group, "-i", "vb", "-c", "3", "-d", "15", "--style", style,
    )  # fmt: skip
    to = f"[{group}]:{port}"
    with TagCapture("vb", ns=b.ns) as cap:
        rep = client(
            a, "udp-echo", "--family", family, "--to", to, "-i", "va", "--mcast-ttl", "3", "--mcast-loop", "0",
            "-c", "3", "--flow", str(flow), "--style", style,
        )  # fmt: skip
    assert rep["echoed"] == 3
    assert f"joined group {group} on vb" in srv.ready, srv.ready  # the server says what it joined
    key = "IPV6_MULTICAST_HOPS" if family == "inet6" else "IP_MULTICAST_TTL"
    assert rep["options"][key] == 3
    assert srv.stats()["echoed"] == 3
    assert cap.seqs(flow) == {0, 1, 2}


@pytest.mark.parametrize("ptype", ["raw", "dgram"])
def test_packet_frames_cross_the_veth(pair: tuple[Host, Host], ptype: str) -> None:
    a, b = pair
    flow = random.getrandbits(32)
    srv = Server(b, "packet-server", "--type", ptype, "-i", "vb", "-c", "4", "-d", "15")
    with TagCapture("vb", ns=b.ns) as cap:
        rep = client(a, "packet", "--type", ptype, "-i", "va", "--external", "-c", "4", "--flow", str(flow))
    assert rep["echoed"] == 4
    assert srv.stats()["echoed"] == 4
    assert cap.seqs(flow, echo=False) == {0, 1, 2, 3}
    assert cap.seqs(flow, echo=True) == {0, 1, 2, 3}
    mac_a = a.ifaces["va"]["mac"]
    frames = [fr for fr in cap.frames if b"SnFg" in fr.data]
    # requests are broadcast frames from a's MAC with EtherType 0x88b5
    assert any(fr.data[6:12].hex(":") == mac_a and fr.data[12:14] == b"\x88\xb5" for fr in frames)


def test_rawip_across_namespaces(pair: tuple[Host, Host]) -> None:
    a, b = pair
    flow = random.getrandbits(32)
    addr_b = b.addr4("vb")
    srv = Server(b, "rawip-server", "--bind", addr_b, "-c", "3", "-d", "15")
    with TagCapture("vb", ns=b.ns) as cap:
        rep = client(a, "rawip", "--to", addr_b, "-c", "3", "--flow", str(flow))
    assert rep["echoed"] == 3
    assert srv.stats()["echoed"] == 3
    assert cap.seqs(flow, echo=True) == {0, 1, 2}
