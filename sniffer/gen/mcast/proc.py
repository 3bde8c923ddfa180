"""The kernel's multicast membership table from /proc/net/igmp, igmp6, mcfilter and mcfilter6."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable

from sniffer.errors import SnifferError
from sniffer.model.multicast import KernelMembership, SourceFilter
from sniffer.netns import netns

# /proc/net/igmp6 flags (include/net/if_inet6.h)
MAF_TIMER_RUNNING = 0x01
MAF_LAST_REPORTER = 0x02
MAF_LOADED = 0x04
MAF_NOREPORT = 0x08
MAF_GSQUERY = 0x10

ALL_HOSTS = ("224.0.0.1", "ff02::1")
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _v4_from_host_hex(text: str) -> str:
    """/proc/net/igmp prints the __be32 group as a host-order integer ("%08X"): 224.0.0.1 is 010000E0
    on little-endian machines and E0000001 on big-endian ones."""
    return str(ipaddress.IPv4Address(int(text, 16).to_bytes(4, sys.byteorder)))


def _v4_from_net_hex(text: str) -> str:
    """/proc/net/mcfilter prints ntohl(addr) ("0x%08x"): already in reading order."""
    return str(ipaddress.IPv4Address(int(text, 16)))


def _v6_from_hex(text: str) -> str:
    """%pi6: 32 hex digits in network order, no colons."""
    return str(ipaddress.IPv6Address(bytes.fromhex(text)))


def parse_igmp(text: str) -> list[KernelMembership]:
    """Parse /proc/net/igmp.

    Interface lines: ``Idx\\tDevice    : Count Querier`` (querier is V1/V2/V3, the version in force);
    group lines: ``\\t\\t\\t\\tGroup Users Timer-running:Timer(clock_t, hex)\\t\\tReporter``.
    """
    out: list[KernelMembership] = []
    ifindex, ifname, querier = 0, "", None
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        if not line.startswith("\t"):
            head, _, rest = line.partition(":")
            parts = head.split()
            if len(parts) < 2:
                raise ValueError(f"bad /proc/net/igmp interface line: {line!r}")
            ifindex, ifname = int(parts[0]), parts[1]
            tail = rest.split()
            querier = tail[1] if len(tail) > 1 else None
            continue
        parts = line.split()
        if len(parts) < 4:
            raise ValueError(f"bad /proc/net/igmp group line: {line!r}")
        running, _, timer = parts[2].partition(":")
        out.append(
            KernelMembership(
                family="ipv4",
                ifindex=ifindex,
                ifname=ifname,
                group=_v4_from_host_hex(parts[0]),
                users=int(parts[1]),
                timer_running=running == "1",
                timer_s=int(timer or "0", 16) / _CLK_TCK,
                reporter=parts[3] == "1",
                querier=querier,
            )
        )
    return out


def parse_igmp6(text: str) -> list[KernelMembership]:
    """Parse /proc/net/igmp6: ``idx dev group(hex) users flags(hex) timer(clock_t, decimal)``."""
    out: list[KernelMembership] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6:
            continue
        flags = int(parts[4], 16)
        out.append(
            KernelMembership(
                family="ipv6",
                ifindex=int(parts[0]),
                ifname=parts[1],
                group=_v6_from_hex(parts[2]),
                users=int(parts[3]),
                timer_running=bool(flags & MAF_TIMER_RUNNING),
                timer_s=int(parts[5]) / _CLK_TCK,
                reporter=bool(flags & MAF_LAST_REPORTER),
                flags=flags,
            )
        )
    return out


def parse_mcfilter(text: str, v6: bool = False) -> dict[tuple[int, str], list[SourceFilter]]:
    """Parse /proc/net/mcfilter (or mcfilter6): (ifindex, group) -> sources with include/exclude counts.

    The device column is cut to 6 characters by the kernel, so entries are keyed by ifindex.
    """
    conv: Callable[[str], str] = _v6_from_hex if v6 else _v4_from_net_hex
    out: dict[tuple[int, str], list[SourceFilter]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6 or not parts[0].isdigit():
            continue
        # the device name may be empty or contain no spaces; the last 4 columns are fixed
        group, src, inc, exc = parts[-4:]
        out.setdefault((int(parts[0]), conv(group)), []).append(
            SourceFilter(conv(src), include=int(inc), exclude=int(exc))
        )
    return out


def mark_sources(rows: list[KernelMembership], filters: dict[tuple[int, str], list[SourceFilter]]) -> None:
    """Give each membership its sources, and say where /proc/net/mcfilter cannot tell.

    The kernel's listing (igmp_mcf_get_first / igmp6_mcf_get_first) starts at the first interface whose
    *newest* group (the head of its list, the first one /proc/net/igmp shows) has sources, then walks
    everything after it. So for an interface before that one, only its newest group is known to have no
    sources; an older SSM join there shows no sources at all, which is not "any source". ``rows`` is
    in /proc/net/igmp (igmp6) order: interfaces in the kernel's order, groups newest first.
    """
    order: dict[int, int] = {}
    heads: set[int] = set()
    for i, m in enumerate(rows):
        if m.ifindex not in order:
            order[m.ifindex] = len(order)
            heads.add(i)
    listed = [order[ifx] for ifx, _g in filters if ifx in order]
    start = min(listed) if listed else None
    for i, m in enumerate(rows):
        m.sources = filters.get((m.ifindex, m.group), [])
        m.sources_known = (
            bool(m.sources)
            or i in heads
            or m.group in ALL_HOSTS  # joined by the kernel itself, any source
            or (start is not None and order[m.ifindex] >= start)
        )


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def read_sysctl(path: str) -> str | None:
    """The value of /proc/sys/<path> (slash-separated, e.g. net/ipv4/conf/all/rp_filter); None if absent."""
    try:
        with open("/proc/sys/" + path) as f:
            return f.read().strip()
    except OSError:
        return None


def _forced(family: str, ifname: str) -> int:
    key = "ipv4/conf/{}/force_igmp_version" if family == "ipv4" else "ipv6/conf/{}/force_mld_version"
    vals = [read_sysctl("net/" + key.format(n)) for n in ("all", ifname)]
    nums = [int(v) for v in vals if v and v.lstrip("-").isdigit()]
    # the kernel honours "all" first, then the interface (IGMP_V1_SEEN / IGMP_V2_SEEN)
    return next((n for n in nums if n), 0)


def read_memberships(iface: str | None = None, ns: str | None = None) -> list[KernelMembership]:
    """The membership table of namespace ``ns`` (current one if None), optionally for one interface."""
    with netns(ns):
        base = "/proc/thread-self/net/"
        if not os.path.exists(base + "igmp") and not os.path.exists(base + "igmp6"):
            raise SnifferError("/proc/net/igmp is missing: is /proc mounted and multicast built in?")
        v4 = parse_igmp(_read(base + "igmp"))
        v6 = parse_igmp6(_read(base + "igmp6"))
        f4 = parse_mcfilter(_read(base + "mcfilter"))
        f6 = parse_mcfilter(_read(base + "mcfilter6"), v6=True)
        mark_sources(v4, f4)
        mark_sources(v6, f6)
        rows = v4 + v6
        forced_cache: dict[tuple[str, str], int] = {}
        for m in rows:
            k = (m.family, m.ifname)
            if k not in forced_cache:
                forced_cache[k] = _forced(m.family, m.ifname)
            m.forced_version = forced_cache[k]
    if iface:
        rows = [m for m in rows if m.ifname == iface]
    return rows


def format_table(rows: list[KernelMembership]) -> str:
    """Human-readable membership table, one line per (interface, group)."""
    lines = [f"{'IFACE':<10} {'GROUP':<28} {'USERS':>5} {'VER':<6} {'MODE':<8} {'TIMER':>7} SOURCES"]
    for m in sorted(rows, key=lambda r: (r.ifindex, r.family, r.group)):
        if m.family == "ipv4":
            ver = m.querier or "?"
            if m.forced_version:
                ver = f"V{m.forced_version}!"
        else:
            ver = f"MLDv{m.forced_version}!" if m.forced_version else "MLD"
        timer = f"{m.timer_s:.2f}s" if m.timer_running else "-"
        srcs = ",".join(s.address + ("" if m.mode == "include" or s.exclude else "(inc)") for s in m.sources)
        lines.append(
            f"{m.ifname:<10} {m.group:<28} {m.users:>5} {ver:<6} {m.mode:<8} {timer:>7} {srcs or ('-' if m.sources_known else '?')}"
        )
    return "\n".join(lines)
