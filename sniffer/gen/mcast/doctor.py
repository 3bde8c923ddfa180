"""`mcast doctor`: check what usually breaks multicast reception, one line each, with the fix."""

from __future__ import annotations

import fcntl
import ipaddress
import json
import re
import shutil
import socket
import struct
import subprocess
from dataclasses import dataclass
from typing import Any

from sniffer.errors import SnifferError, UsageError
from sniffer.gen.mcast.proc import read_memberships, read_sysctl
from sniffer.netns import netns

OK = "OK"
WARN = "WARN"
FAIL = "FAIL"
INFO = "INFO"

SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_RUNNING = 0x40
IFF_MULTICAST = 0x1000

SSM_V4 = ipaddress.ip_network("232.0.0.0/8")


@dataclass
class Check:
    name: str
    status: str  # OK | WARN | FAIL | INFO
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "message": self.message, "fix": self.fix}


def format_checks(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        line = f"{c.status:<4} {c.name:<22} {c.message}"
        if c.fix and c.status in (WARN, FAIL):
            line += f"  -> {c.fix}"
        lines.append(line)
    return "\n".join(lines)


def iface_flags(name: str) -> int | None:
    """SIOCGIFFLAGS of ``name`` in the current thread's namespace (sysfs would show the mounter's)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        res = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, struct.pack("16sH14x", name.encode()[:15], 0))
    except OSError:
        return None
    finally:
        s.close()
    return int(struct.unpack_from("16sH", res)[1])


def _ip_json(*args: str) -> tuple[list[dict[str, Any]] | None, str]:
    """Run `ip -j ARGS` (in the current thread's namespace); (parsed JSON or None, error text)."""
    if shutil.which("ip") is None:
        return None, "iproute2 'ip' is not installed"
    p = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        return None, (p.stderr.strip().splitlines() or ["failed"])[-1]
    try:
        return json.loads(p.stdout or "[]"), ""
    except ValueError:
        return None, "unparsable output"


def _int_sysctl(path: str) -> int | None:
    v = read_sysctl(path)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def run_checks(
    group: str | None = None,
    iface: str | None = None,
    source: str | None = None,
    port: int = 1234,
    listen: float | None = None,
    ns: str | None = None,
) -> list[Check]:
    """Every check, in order. ``listen`` (default 1 s when a group is given) joins the group briefly."""
    v6 = bool(group and ":" in group) or bool(source and ":" in source)
    if group:
        try:
            if not ipaddress.ip_address(group).is_multicast:
                raise UsageError(f"{group} is not a multicast address (224.0.0.0/4 or ff00::/8)")
        except ValueError:
            raise UsageError(f"{group!r} is not an IP address") from None
    ifname = iface or "lo"
    out: list[Check] = []
    with netns(ns):
        out += _check_group(group, source)
        out += _check_iface(ifname, v6, explicit=iface is not None)
        if not v6:
            out += _check_rp_filter(ifname, source)
        out += _check_limits(v6)
        out += _check_version(ifname, v6, bool(source))
        if group:
            out += _check_route(group, ifname)
            out += _check_membership(group, ifname)
        out += _check_port_sharing(port, v6)
        out += _check_firewall(port, v6)
    if group and (listen is None or listen > 0):
        out += _check_arrivals(group, ifname, source, port, 1.0 if listen is None else listen, ns)
    return out


def _check_group(group: str | None, source: str | None) -> list[Check]:
    if not group:
        return [Check("group", INFO, "no GROUP given: checking the host and interface only")]
    ip = ipaddress.ip_address(group)
    if ip.version == 4:
        if ip in SSM_V4 and not source:
            return [
                Check(
                    "group",
                    WARN,
                    f"{group} is in the SSM range 232.0.0.0/8 but no source is given: routers ignore (*,G) joins there",
                    "join with -s SOURCE",
                )
            ]
        if ip in ipaddress.ip_network("224.0.0.0/24"):
            return [
                Check(
                    "group",
                    WARN,
                    f"{group} is link-local (224.0.0.0/24): never routed, always flooded",
                    "use 239.0.0.0/8 (admin-scoped) for tests",
                )
            ]
    else:
        scope = ip.packed[1] & 0x0F
        if scope <= 2:
            return [
                Check(
                    "group",
                    WARN if scope < 2 else INFO,
                    f"{group} has scope {scope} ({'interface' if scope == 1 else 'link'}-local): it stays on one link",
                    "use a site/global scope (ff05::/16, ff0e::/16) to cross routers",
                )
            ]
        if (ip.packed[1] >> 4) & 0x3 == 0x3 and not source:
            return [
                Check(
                    "group", WARN, f"{group} is an SSM group (ff3x::/32) but no source is given", "-s SOURCE"
                )
            ]
    return [Check("group", OK, f"{group} is a usable multicast group")]


def _check_iface(ifname: str, v6: bool, explicit: bool) -> list[Check]:
    flags = iface_flags(ifname)
    if flags is None:
        return [Check("interface", FAIL, f"no interface {ifname!r} here", "see 'ip link'; pass -i IFACE")]
    out = []
    if not flags & IFF_UP:
        out.append(Check("interface up", FAIL, f"{ifname} is down", f"ip link set {ifname} up"))
    elif not flags & IFF_RUNNING:
        out.append(Check("interface up", FAIL, f"{ifname} is up but has no carrier", "check the link / peer"))
    else:
        out.append(Check("interface up", OK, f"{ifname} is up and running"))
    if flags & IFF_MULTICAST:
        out.append(Check("interface multicast", OK, f"{ifname} has the MULTICAST flag"))
    elif flags & IFF_LOOPBACK:
        out.append(
            Check(
                "interface multicast",
                FAIL if v6 else INFO,
                f"{ifname} (loopback) has no MULTICAST flag: IPv4 multicast works locally, IPv6 does not",
                "name a real interface with -i (IPv6)",
            )
        )
    else:
        out.append(
            Check(
                "interface multicast",
                FAIL,
                f"{ifname} has no MULTICAST flag: its driver may drop group traffic and IPv6 has no multicast route",
                f"ip link set {ifname} multicast on",
            )
        )
    if not explicit:
        out.append(
            Check("interface", INFO, "no -i given: checking lo (sniffer never picks a real interface)")
        )
    if not v6 and not flags & IFF_LOOPBACK:
        addrs, _err = _ip_json("-4", "addr", "show", "dev", ifname)
        has = bool(addrs and any(a.get("addr_info") for a in addrs))
        if addrs is not None and not has:
            out.append(
                Check(
                    "interface address",
                    WARN,
                    f"{ifname} has no IPv4 address: IGMP reports go out from 0.0.0.0, which queriers may ignore",
                    f"ip addr add ADDR/LEN dev {ifname}",
                )
            )
    return out


def _check_rp_filter(ifname: str, source: str | None) -> list[Check]:
    vals = {n: _int_sysctl(f"net/ipv4/conf/{n}/rp_filter") for n in ("all", ifname)}
    eff = max(v or 0 for v in vals.values())
    desc = f"all={vals['all']} {ifname}={vals[ifname]} (in force: {eff}, {['off', 'strict', 'loose'][eff] if eff in (0, 1, 2) else '?'})"
    fix = f"sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.{ifname}.rp_filter=2 (loose), or add a route to the source via {ifname}"
    if not source:
        if eff == 1:
            return [
                Check(
                    "rp_filter",
                    WARN,
                    desc + ": strict mode drops multicast from sources not routed back via " + ifname,
                    "give -s SOURCE to check the reverse path; " + fix,
                )
            ]
        return [Check("rp_filter", OK, desc)]
    routes, err = _ip_json("route", "get", source)
    dev = routes[0].get("dev") if routes else None
    if routes is None:
        if eff in (1, 2):
            return [
                Check(
                    "rp_filter",
                    FAIL,
                    f"{desc}: no route back to the source {source} ({err}), so the kernel drops its datagrams",
                    f"ip route add {source} dev {ifname} (or a default route); or sysctl -w "
                    f"net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.{ifname}.rp_filter=0",
                )
            ]
        return [Check("rp_filter", OK, f"{desc}; no route to {source}, but the filter is off")]
    if eff == 1 and dev != ifname:
        return [
            Check(
                "rp_filter",
                FAIL,
                f"{desc}: the route back to {source} leaves via {dev}, not {ifname}: strict mode drops its datagrams",
                fix,
            )
        ]
    return [Check("rp_filter", OK, f"{desc}; reverse path to {source} via {dev}")]


def _check_limits(v6: bool) -> list[Check]:
    out = []
    items = (
        [("net/ipv6/mld_max_msf", "sources per socket filter (MLD)")]
        if v6
        else [
            ("net/ipv4/igmp_max_memberships", "groups per socket"),
            ("net/ipv4/igmp_max_msf", "sources per socket filter"),
        ]
    )
    for path, what in items:
        val = _int_sysctl(path)
        name = path.rsplit("/", 1)[1]
        if val is None:
            out.append(Check(name, INFO, "not available"))
        elif val <= 0:
            out.append(
                Check(
                    name, FAIL, f"{name}={val}: no {what} allowed", f"sysctl -w {path.replace('/', '.')}=20"
                )
            )
        elif val < 10:
            out.append(
                Check(name, WARN, f"{name}={val} {what} (low)", f"sysctl -w {path.replace('/', '.')}=64")
            )
        else:
            out.append(Check(name, OK, f"{name}={val} {what}"))
    return out


def _check_version(ifname: str, v6: bool, ssm: bool) -> list[Check]:
    if v6:
        vals = {n: _int_sysctl(f"net/ipv6/conf/{n}/force_mld_version") for n in ("all", ifname)}
        forced = next((v for v in vals.values() if v), 0)
        desc = f"force_mld_version all={vals['all']} {ifname}={vals[ifname]}"
        if forced == 1:
            return [
                Check(
                    "mld version",
                    FAIL if ssm else WARN,
                    desc
                    + ": MLDv1 is forced"
                    + (
                        ", which cannot carry source-specific (S,G) joins" if ssm else ": no source filtering"
                    ),
                    f"sysctl -w net.ipv6.conf.all.force_mld_version=0 net.ipv6.conf.{ifname}.force_mld_version=0",
                )
            ]
        return [Check("mld version", OK, desc + ": MLDv2 (not forced)")]
    vals = {n: _int_sysctl(f"net/ipv4/conf/{n}/force_igmp_version") for n in ("all", ifname)}
    forced = next((v for v in vals.values() if v), 0)
    querier = None
    try:
        with open("/proc/thread-self/net/igmp") as f:
            text = f.read()
        for line in text.splitlines()[1:]:
            if line and not line.startswith("\t") and line.split()[1:2] == [ifname]:
                querier = line.split(":", 1)[1].split()[1]
    except (OSError, IndexError):
        pass
    desc = f"force_igmp_version all={vals['all']} {ifname}={vals[ifname]}; in force on {ifname}: {querier or '?'}"
    fix = f"sysctl -w net.ipv4.conf.all.force_igmp_version=0 net.ipv4.conf.{ifname}.force_igmp_version=0"
    if forced in (1, 2):
        return [
            Check(
                "igmp version",
                FAIL if ssm else WARN,
                desc
                + f": IGMPv{forced} is forced"
                + (", which cannot carry source-specific (S,G) joins" if ssm else ", no source filtering"),
                fix,
            )
        ]
    if querier in ("V1", "V2"):
        return [
            Check(
                "igmp version",
                FAIL if ssm else WARN,
                desc + f": an IGMP{querier.lower()} querier on the link holds the host at {querier}",
                "upgrade the querier (router/switch) to IGMPv3",
            )
        ]
    return [Check("igmp version", OK, desc)]


def _check_route(group: str, ifname: str) -> list[Check]:
    routes, err = _ip_json("route", "get", group)
    if routes is None:
        return [
            Check(
                "route to group",
                WARN,
                f"no route to {group} ({err}): programs that join or send without naming an interface fail",
                f"ip route add {'ff00::/8' if ':' in group else '224.0.0.0/4'} dev {ifname}",
            )
        ]
    dev = routes[0].get("dev")
    if dev != ifname:
        return [
            Check(
                "route to group",
                WARN,
                f"{group} routes via {dev}, not {ifname}: joins/sends without an interface use {dev}",
                f"ip route add {group} dev {ifname} (sniffer always names the interface)",
            )
        ]
    return [Check("route to group", OK, f"{group} routes via {dev}")]


def _check_membership(group: str, ifname: str) -> list[Check]:
    rows = [m for m in read_memberships(ifname) if m.group == group]
    if not rows:
        return [Check("membership", INFO, f"nothing on this host has joined {group} on {ifname} right now")]
    m = rows[0]
    if not m.sources_known:
        return [
            Check(
                "membership",
                OK,
                f"{group} joined on {ifname}: {m.users} socket(s); any-source or source-specific is not "
                "visible: /proc/net/mcfilter hides this group's sources (it lists an interface's "
                "sources only from the first interface whose newest group has some)",
            )
        ]
    srcs = ",".join(s.address for s in m.sources) or "any source"
    return [Check("membership", OK, f"{group} joined on {ifname}: {m.users} socket(s), {m.mode} {srcs}")]


def _check_port_sharing(port: int, v6: bool) -> list[Check]:
    wild = 0
    for path in ("/proc/thread-self/net/udp", "/proc/thread-self/net/udp6"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 2:
                continue
            addr, _, p = parts[1].partition(":")
            if int(p, 16) == port and set(addr) == {"0"}:
                wild += 1
    if wild:
        return [
            Check(
                "IP_MULTICAST_ALL",
                WARN,
                f"{wild} socket(s) bound to the wildcard address on port {port}: with IP_MULTICAST_ALL=1 "
                "(the default) they receive every group joined on the host, not only their own",
                "set IP_MULTICAST_ALL=0 (IPV6_MULTICAST_ALL) in those programs or bind them to the group "
                "address (sniffer does both)",
            )
        ]
    return [
        Check(
            "IP_MULTICAST_ALL",
            OK,
            f"no wildcard socket on port {port}; sniffer sets IP_MULTICAST_ALL=0 and binds to the group",
        )
    ]


_DROPPY = re.compile(r"\b(drop|reject)\b")


def _check_firewall(port: int, v6: bool) -> list[Check]:
    if shutil.which("nft") is None:
        return [Check("firewall", INFO, "nft not installed: nftables not checked")]
    p = subprocess.run(["nft", "-a", "list", "ruleset"], capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        return [Check("firewall", INFO, f"nft list ruleset failed: {p.stderr.strip()[:80]}")]
    hits: list[tuple[str, str, str, str]] = []  # (rule, "family table", chain, handle)
    policy_drop: list[tuple[str, str, str]] = []  # (chain header, "family table", chain)
    table = chain = ""
    for line in p.stdout.splitlines():
        s = line.strip()
        m = re.match(r"table (\S+ \S+) \{", s)
        if m:
            table, chain = m.group(1), ""
            continue
        m = re.match(r"chain (\S+) \{", s)
        if m:
            chain = m.group(1)
            continue
        rule, _, handle = s.partition("# handle ")
        rule = rule.strip()
        if re.search(rf"\bdport\b[^;]*\b{port}\b", rule) or "igmp" in rule or "mld-listener" in rule:
            hits.append((rule, table, chain, handle.strip()))
        if "policy drop" in rule and ("hook input" in rule or "hook prerouting" in rule):
            policy_drop.append((rule, table, chain))
    droppers = [h for h in hits if _DROPPY.search(h[0])]
    if droppers:
        rule, table, chain, handle = droppers[0]
        return [
            Check(
                "firewall",
                FAIL,
                f"nftables drops matching traffic in {table} {chain}: {rule!r}"
                + (f" (+{len(droppers) - 1} more)" if len(droppers) > 1 else ""),
                f"nft delete rule {table} {chain} handle {handle}"
                if handle
                else "delete that rule (nft -a list ruleset; nft delete rule ... handle N)",
            )
        ]
    if policy_drop:
        rule, table, chain = policy_drop[0]
        return [
            Check(
                "firewall",
                WARN,
                f"chain {chain} of table {table} has policy drop ({rule!r}): make sure udp dport {port} "
                "is accepted there",
                f"nft insert rule {table} {chain} udp dport {port} accept",
            )
        ]
    if hits:
        return [
            Check("firewall", OK, f"nftables mentions port {port}/IGMP/MLD without dropping: {hits[0][0]!r}")
        ]
    return [Check("firewall", OK, "nftables has no rule about this port, IGMP or MLD")]


def _check_arrivals(
    group: str, ifname: str, source: str | None, port: int, seconds: float, ns: str | None
) -> list[Check]:
    from sniffer.gen.mcast.stream import Receiver

    try:
        rx = Receiver([group], port=port, iface=ifname, sources=[source] if source else [], ns=ns)
        with rx:
            rx.run(duration=seconds)
    except SnifferError as exc:
        return [Check("arrivals", FAIL, f"could not join to listen: {exc}", "see the checks above")]
    streams = rx.streams()
    if not streams:
        return [
            Check(
                "arrivals",
                WARN,
                f"nothing arrived for {group} port {port} on {ifname} in {seconds:g} s",
                "is a sender running (sniffer mcast send ... -i IFACE)? fix the FAIL/WARN lines above",
            )
        ]
    total = sum(s.packets for s in streams)
    ttls = sorted({t for s in streams for t in (s.ttl_min, s.ttl_max) if t is not None})
    desc = f"{total} datagram(s) from {len(streams)} sender(s) in {seconds:g} s, TTL {'/'.join(map(str, ttls)) or '?'}"
    if ttls and ttls[0] <= 1:
        return [
            Check(
                "arrivals",
                INFO,
                desc
                + ": TTL 1 reaches this link only (raise the sender's --ttl for receivers behind routers)",
            )
        ]
    return [Check("arrivals", OK, desc)]
