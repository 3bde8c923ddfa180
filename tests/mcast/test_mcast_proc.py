"""Parsing the kernel's /proc multicast tables (texts copied from a 6.x kernel)."""

from __future__ import annotations

import pytest

from sniffer.gen.mcast import proc as mcast_proc
from sniffer.gen.mcast.proc import parse_igmp, parse_igmp6, parse_mcfilter

IGMP_LE = (
    "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"
    "1\tlo        :     1      V3\n"
    "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
    "7\tvb        :     3      V2\n"
    "\t\t\t\t030303E8     2 1:0000002A\t\t1\n"
    "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
)
IGMP6 = (
    "1    lo              ff020000000000000000000000000001     1 0000000C 0\n"
    "7    vb              ff3e0000000000000000000000030303     1 00000005 37\n"
)
MCFILTER = (
    "Idx Device        MCA        SRC    INC    EXC\n"
    "  7     vb 0xe8030303 0x0a4d0501      1      0\n"
    "  7     vb 0xe8030303 0x0a4d0502      0      1\n"
)
MCFILTER6 = (
    "Idx Device                Multicast Address                   Source Address    INC    EXC\n"
    "  7     vb ff3e0000000000000000000000030303 fd770005000000000000000000000001      1      0\n"
)


def test_igmp_groups_are_host_order_hex_on_little_endian(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mcast_proc.sys, "byteorder", "little")
    rows = parse_igmp(IGMP_LE)
    assert [(r.ifname, r.group, r.users, r.querier) for r in rows] == [
        ("lo", "224.0.0.1", 1, "V3"),
        ("vb", "232.3.3.3", 2, "V2"),
        ("vb", "224.0.0.1", 1, "V2"),
    ]
    assert rows[1].timer_running and rows[1].reporter
    assert rows[1].timer_s == pytest.approx(0x2A / mcast_proc._CLK_TCK)


def test_igmp_on_big_endian_reads_the_same_integer_the_other_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mcast_proc.sys, "byteorder", "big")
    text = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n1\tlo : 1 V3\n\t\t\t\tE0000001     1 0:00000000\t\t0\n"
    assert parse_igmp(text)[0].group == "224.0.0.1"


def test_igmp6_and_flags() -> None:
    rows = parse_igmp6(IGMP6)
    assert [(r.ifindex, r.group, r.users) for r in rows] == [(1, "ff02::1", 1), (7, "ff3e::3:303", 1)]
    assert rows[1].timer_running and not rows[1].reporter  # flags 0x05: timer running | loaded
    assert rows[1].timer_s == pytest.approx(37 / mcast_proc._CLK_TCK)


def test_mcfilter_is_network_order_and_keyed_by_ifindex() -> None:
    f4 = parse_mcfilter(MCFILTER)
    srcs = f4[(7, "232.3.3.3")]
    assert [(s.address, s.include, s.exclude) for s in srcs] == [("10.77.5.1", 1, 0), ("10.77.5.2", 0, 1)]
    f6 = parse_mcfilter(MCFILTER6, v6=True)
    assert [(s.address, s.include) for s in f6[(7, "ff3e::3:303")]] == [("fd77:5::1", 1)]


def test_parsers_tolerate_empty_and_header_only() -> None:
    assert parse_igmp("") == [] and parse_igmp6("") == [] and parse_mcfilter("") == {}
    assert parse_mcfilter(MCFILTER.splitlines()[0]) == {}


def test_mcfilter_listing_hides_sources_before_its_start() -> None:
    """The kernel starts /proc/net/mcfilter at the first interface whose newest group has sources."""
    from sniffer.gen.mcast.proc import mark_sources
    from sniffer.model.multicast import KernelMembership, SourceFilter

    def rows() -> list[KernelMembership]:
        return [
            KernelMembership("ipv4", 1, "lo", "224.0.0.1", 1),
            KernelMembership("ipv4", 5, "vb", "239.6.6.8", 1),  # newest on vb: ASM
            KernelMembership("ipv4", 5, "vb", "232.6.6.7", 1),  # older SSM join: hidden
            KernelMembership("ipv4", 6, "vc", "232.1.1.1", 1),
            KernelMembership("ipv4", 6, "vc", "239.1.1.1", 1),
        ]

    r = rows()
    mark_sources(r, {})
    assert [m.mode for m in r] == ["exclude", "exclude", "unknown", "exclude", "unknown"]  # 224.0.0.1: kernel
    r = rows()
    mark_sources(r, {(6, "232.1.1.1"): [SourceFilter("10.0.0.1", 1, 0)]})  # listing starts at vc
    assert [m.mode for m in r] == ["exclude", "exclude", "unknown", "include", "exclude"]
