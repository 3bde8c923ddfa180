"""Snapshots of every panel screen at 120x40 and 80x24 on fixed captures (deterministic: no clock, no kernel table, no RTTs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import IGMP, WIKIPEDIA, loaded, wait_until


def _app(path: Path):  # type: ignore[no-untyped-def]
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.sources import open_file_source

    store, source = open_file_source(str(path))
    return SnifferApp(store, source)


def _run(make_screen, ready, keys=()):  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await loaded(pilot)
        screen = make_screen()
        pilot.app.push_screen(screen)
        await wait_until(pilot, lambda: ready(screen))
        await pilot.press(*keys)
        await pilot.pause()

    return before


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_statistics(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sniffer.model.stats")
    from sniffer.ui.panels.stats import StatisticsScreen

    assert snap_compare(
        _app(WIKIPEDIA),
        terminal_size=size,
        run_before=_run(StatisticsScreen, lambda s: s.hierarchy is not None),
    )


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_follow_stream(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sniffer.model.flows")
    from sniffer.ui.panels.follow import FollowStreamScreen

    assert snap_compare(
        _app(WIKIPEDIA),
        terminal_size=size,
        run_before=_run(lambda: FollowStreamScreen(index=5), lambda s: s.followed is not None),
    )


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_multicast(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.mcast import McastScreen

    assert snap_compare(
        _app(IGMP),
        terminal_size=size,
        run_before=_run(lambda: McastScreen(kernel=None), lambda s: s.loaded, ("down",)),
    )


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_generated_flows(snap_compare, gen_pcap, size) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.genflows import GenFlowsScreen

    assert snap_compare(
        _app(gen_pcap), terminal_size=size, run_before=_run(GenFlowsScreen, lambda s: s.flows is not None)
    )


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_ping_form(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.ping import PingScreen

    assert snap_compare(
        _app(WIKIPEDIA),
        terminal_size=size,
        run_before=_run(lambda: PingScreen(focus_targets=False), lambda s: s.is_mounted),
    )


def _conversations(screen) -> bool:  # type: ignore[no-untyped-def]
    from textual.widgets import TabbedContent

    if screen.stats is None or screen.hierarchy is None:
        return False
    screen.query_one("#stats-tabs", TabbedContent).active = "tab-conv"
    screen.query_one("#conv-tabs", TabbedContent).active = "tab-conv-tcp"
    return True


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_conversations_sorted_and_filtered(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """The virtual TCP conversation table sorted by Packets (">" four times), rows filtered by "/"."""
    from sniffer.ui.panels.stats import StatisticsScreen

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await loaded(pilot)
        screen = StatisticsScreen()
        pilot.app.push_screen(screen)
        await wait_until(pilot, lambda: _conversations(screen))
        await pilot.pause()
        screen.query_one("#conv-tcp").focus()
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign", "greater_than_sign")
        await pilot.press("slash", *"208.80", "enter", "down")
        await pilot.pause()

    assert snap_compare(_app(WIKIPEDIA), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_expert(snap_compare, tmp_path: Path, size) -> None:  # type: ignore[no-untyped-def]
    """Every kind of expert item (errors, warnings, notes, chats of several protocols), grouped."""
    from sniffer.ui.panels.expert import ExpertScreen

    from .test_expert import mixed_capture

    path = mixed_capture(tmp_path / "mixed.pcap")
    assert snap_compare(_app(path), terminal_size=size, run_before=_run(ExpertScreen, lambda s: s.ready))


def _endpoints(screen) -> bool:  # type: ignore[no-untyped-def]
    from textual.widgets import TabbedContent

    if screen.stats is None or screen.hierarchy is None:
        return False
    screen.query_one("#stats-tabs", TabbedContent).active = "tab-ep"
    screen.query_one("#ep-tabs", TabbedContent).active = "tab-ep-ip"
    return True


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_endpoints(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """The IPv4 endpoints table (the virtual table), in its first order."""
    from sniffer.ui.panels.stats import StatisticsScreen

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await loaded(pilot)
        screen = StatisticsScreen()
        pilot.app.push_screen(screen)
        await wait_until(pilot, lambda: _endpoints(screen))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(_app(WIKIPEDIA), terminal_size=size, run_before=before)
