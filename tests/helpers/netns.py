"""Test network namespaces: create hosts joined by veth pairs, run commands in them, remove them.

Every address used here lives only inside namespaces the test created (the network rule): nothing
is ever sent on the host's real interfaces.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

_counter = itertools.count(1)


def sh(
    *cmd: str, check: bool = True, ns: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside namespace ``ns`` if given) and return its completed process."""
    argv: list[str] = list(cmd)
    if ns:
        argv = ["ip", "netns", "exec", ns, *argv]
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)


@dataclass
class Host:
    """One namespace with its interfaces."""

    ns: str
    ifaces: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {"v4":..., "v6":..., "mac":...}

    def run(self, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return sh(*cmd, check=check, ns=self.ns, timeout=timeout)

    def popen(self, cmd: Sequence[str], **kw: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.ns, *cmd], **kw)  # type: ignore[call-overload]

    def addr4(self, iface: str) -> str:
        return self.ifaces[iface]["v4"]

    def addr6(self, iface: str) -> str:
        return self.ifaces[iface]["v6"]


@dataclass
class Topology:
    hosts: list[Host]
    links: list[tuple[str, str]]  # (iface in hosts[i], iface in hosts[i+1])


def _name(tag: str) -> str:
    return f"snf{tag}{os.getpid() % 10000}{next(_counter)}{uuid.uuid4().hex[:3]}"[:14]


@contextmanager
def netns_pair(mtu: int = 1500, forward: bool = False) -> Iterator[tuple[Host, Host]]:
    """Two namespaces ``a`` and ``b`` joined by a veth pair ``va`` <-> ``vb``.

    a: va 10.77.N.1/24, fd77:N::1/64; b: vb 10.77.N.2/24, fd77:N::2/64 (N unique per pair). IPv6 DAD
    is off so addresses are usable at once. Removed on exit, whatever happens.
    """
    with netns_chain(2, mtu=mtu, forward=forward) as hosts:
        yield hosts[0], hosts[1]


@contextmanager
def netns_chain(n: int, mtu: int = 1500, forward: bool = True) -> Iterator[list[Host]]:
    """``n`` namespaces in a line, h0 - h1 - ... - h(n-1), each link its own /24 and /64.

    Link k joins h(k) iface ``r{k}`` (10.77.S.1) and h(k+1) iface ``l{k}`` (10.77.S.2), where S is a
    unique subnet number; for n == 2 the ifaces are called ``va`` and ``vb``. With ``forward`` every
    middle host routes, and the end hosts get default routes toward their neighbour.
    """
    names = [_name(chr(ord("a") + i)) for i in range(n)]
    hosts = [Host(ns) for ns in names]
    created: list[str] = []
    try:
        for h in hosts:
            sh("ip", "netns", "add", h.ns)
            created.append(h.ns)
            h.run("ip", "link", "set", "lo", "up")
            h.run("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0")
            h.run("sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
            if forward:
                h.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
                h.run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        for k in range(n - 1):
            left, right = hosts[k], hosts[k + 1]
            subnet = (os.getpid() * 7 + next(_counter) * 13) % 250 + 2
            li, ri = ("va", "vb") if n == 2 else (f"r{k}", f"l{k}")
            tmp_l, tmp_r = _name("x"), _name("y")
            sh(
                "ip",
                "link",
                "add",
                tmp_l,
                "mtu",
                str(mtu),
                "type",
                "veth",
                "peer",
                "name",
                tmp_r,
                "mtu",
                str(mtu),
            )
            sh("ip", "link", "set", tmp_l, "netns", left.ns, "name", li)
            sh("ip", "link", "set", tmp_r, "netns", right.ns, "name", ri)
            for host, iface, last in ((left, li, 1), (right, ri, 2)):
                v4, v6 = f"10.77.{subnet}.{last}", f"fd77:{subnet:x}::{last}"
                host.run("sysctl", "-qw", f"net.ipv6.conf.{iface}.accept_dad=0")
                host.run("ip", "addr", "add", f"{v4}/24", "dev", iface)
                host.run("ip", "-6", "addr", "add", f"{v6}/64", "dev", iface, "nodad")
                host.run("ip", "link", "set", iface, "up")
                mac = host.run("cat", f"/sys/class/net/{iface}/address").stdout.strip()
                host.ifaces[iface] = {"v4": v4, "v6": v6, "mac": mac, "subnet": str(subnet)}
        if forward and n > 2:
            first, last_h = hosts[0], hosts[-1]
            first.run("ip", "route", "add", "default", "via", hosts[1].addr4("l0"))
            first.run("ip", "-6", "route", "add", "default", "via", hosts[1].addr6("l0"))
            last_h.run("ip", "route", "add", "default", "via", hosts[-2].addr4(f"r{n - 2}"))
            last_h.run("ip", "-6", "route", "add", "default", "via", hosts[-2].addr6(f"r{n - 2}"))
        yield hosts
    finally:
        for ns in created:
            sh("ip", "netns", "pids", ns, check=False)
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)
