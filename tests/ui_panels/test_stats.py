"""Statistics screen: conversation and endpoint tables against tshark's -z conv / -z endp, hierarchy, I/O."""

from __future__ import annotations

import pytest
from textual.widgets import TabbedContent

from sniffer.ui.vtable import VirtualTable

from .conftest import SIZE, WIKIPEDIA, loaded, tshark, wait_until

pytest.importorskip("sniffer.model.stats")  # filters' model/stats.py (until it is on main)


TITLES = {"IPv4 Conversations": "ip", "IPv6 Conversations": "ipv6", "TCP Conversations": "tcp",
          "UDP Conversations": "udp", "IPv4 Endpoints": "endp-ip"}  # fmt: skip


@pytest.fixture(scope="module")
def oracle() -> dict[str, list[list[str]]]:
    """tshark -q -z conv,{ip,ipv6,tcp,udp} -z endpoints,ip in one run: the split rows of each table."""
    out: dict[str, list[list[str]]] = {}
    args = ["-r", str(WIKIPEDIA), "-q", "-z", "endpoints,ip"]
    for k in ("ip", "ipv6", "tcp", "udp"):
        args += ["-z", f"conv,{k}"]
    section = None
    for line in tshark(*args).splitlines():
        if line.strip() in TITLES:
            section = TITLES[line.strip()]
            out[section] = []
        elif section is not None and line.split():
            out[section].append(line.split())
    return out


def tshark_conv(oracle: dict[str, list[list[str]]], kind: str) -> list[tuple[tuple[str, ...], int]]:
    """(sorted (A, B), total frames) per conversation of tshark -q -z conv,KIND."""
    return [(tuple(sorted((t[0], t[2]))), int(t[9])) for t in oracle[kind] if len(t) > 10 and t[1] == "<->"]


def table_rows(table: VirtualTable) -> list[list[str]]:  # type: ignore[type-arg]
    return [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]


async def open_stats(app, pilot):  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.stats import StatisticsScreen

    screen = StatisticsScreen()
    app.push_screen(screen)
    await wait_until(pilot, lambda: screen.stats is not None and screen.hierarchy is not None)
    await pilot.pause()
    return screen


async def test_conversations_equal_tshark(make_app, oracle) -> None:  # type: ignore[no-untyped-def]
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await open_stats(app, pilot)
        tables = {
            k: table_rows(screen.query_one(f"#conv-{k}", VirtualTable)) for k in ("ip", "ipv6", "tcp", "udp")
        }
    for kind, rows in tables.items():
        off = 1 if kind in ("tcp", "udp") else 0  # the stream column
        ours = sorted((tuple(sorted((r[off], r[off + 1]))), int(r[off + 2])) for r in rows)
        theirs = sorted(tshark_conv(oracle, kind))
        assert len(ours) == len(theirs) > 0, kind
        assert ours == theirs, kind
    assert [int(r[0]) for r in tables["tcp"]] == list(range(len(tables["tcp"])))  # tcp.stream numbers


async def test_endpoints_hierarchy_io_and_tabs(make_app, oracle) -> None:  # type: ignore[no-untyped-def]
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await open_stats(app, pilot)
        # endpoints: each IPv4 address of tshark's -z endpoints,ip with the same frame count
        eps = {r[0]: int(r[1]) for r in table_rows(screen.query_one("#ep-ip", VirtualTable))}
        theirs = {t[0]: int(t[1]) for t in oracle["endp-ip"] if t[0].count(".") == 3 and len(t) > 2}
        assert eps == theirs
        # hierarchy: the first level holds every packet
        phs = table_rows(screen.query_one("#phs", VirtualTable))
        assert phs[0][0] == "eth" and int(phs[0][2]) == app.store.count == 136
        assert any(r[0].endswith("tcp") for r in phs)
        # I/O: packets per interval add up to the capture, and a finer interval gives more rows
        io = table_rows(screen.query_one("#io", VirtualTable))
        assert sum(int(r[1]) for r in io) == 136
        await pilot.press("minus")
        io_fine = table_rows(screen.query_one("#io", VirtualTable))
        assert sum(int(r[1]) for r in io_fine) == 136 and len(io_fine) > len(io)
        # tabs switch with the mouse/keyboard like any TabbedContent
        screen.query_one("#stats-tabs", TabbedContent).active = "tab-conv"
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_displayed_only_respects_the_display_filter(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.stats import StatisticsScreen

    app = make_app(WIKIPEDIA, display_filter="tcp")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.view.done and app.plist.count == 78)
        screen = StatisticsScreen(displayed=True)
        app.push_screen(screen)
        await wait_until(pilot, lambda: screen.stats is not None)
        assert screen.stats.frames == len(app.view) == 78
        assert screen.query_one("#conv-udp", VirtualTable).row_count == 0
        first = screen.stats
        await pilot.press("d")  # all packets
        await wait_until(pilot, lambda: screen.stats is not first)
        assert screen.stats.frames == 136


async def test_enter_on_a_conversation_applies_it_as_display_filter(make_app, oracle) -> None:  # type: ignore[no-untyped-def]
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await open_stats(app, pilot)
        screen.query_one("#stats-tabs", TabbedContent).active = "tab-conv"
        screen.query_one("#conv-tabs", TabbedContent).active = "tab-conv-tcp"
        await pilot.pause()
        table = screen.query_one("#conv-tcp", VirtualTable)
        table.focus()
        await pilot.press("down", "down")  # the third TCP conversation
        row = [str(c) for c in table.get_row_at(2)]  # (read first: a closed screen drops its tables)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is not screen
        a, pa = row[1].rsplit(":", 1)
        b, pb = row[2].rsplit(":", 1)
        assert app.view.text == f"ip.addr == {a} && tcp.port == {pa} && ip.addr == {b} && tcp.port == {pb}"
        assert app.filter_input.value == app.view.text
        await wait_until(pilot, lambda: app.view.done and app.plist.count == len(app.view))
        theirs = dict(tshark_conv(oracle, "tcp"))
        assert len(app.view) == int(row[3]) == theirs[tuple(sorted((row[1], row[2])))]
