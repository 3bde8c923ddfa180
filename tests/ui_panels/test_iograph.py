"""I/O graph (issue 15): packets per interval for all packets and for a display filter, plotted with
textual-plotext; the counts equal tshark -z io,stat on the bundled capture."""

from __future__ import annotations

import pytest

from .conftest import SIZE, WIKIPEDIA, loaded, wait_until

# tshark -r captures/zeek__wikipedia.pcap -q -z io,stat,1,tcp : frames per 1 s interval, all and tcp
TSHARK_ALL = [5, 102, 7, 3, 8, 3, 8]
TSHARK_TCP = [0, 74, 4]


async def test_io_graph_counts_equal_tshark(make_app) -> None:  # type: ignore[no-untyped-def]
    from textual_plotext import PlotextPlot

    from sniffer.ui.panels.iograph import IOGraphScreen

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("W")
        await wait_until(pilot, lambda: isinstance(app.screen, IOGraphScreen) and app.screen.ready)
        screen = app.screen
        assert [int(v) for v in screen.points[""][1]] == TSHARK_ALL
        # a second graph from a display filter
        await pilot.press("a")
        app.screen.query_one("#prompt").value = "tcp"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.ready and "tcp" in screen.points)
        _xs, ys = screen.points["tcp"]
        assert [int(v) for v in ys] == TSHARK_TCP and sum(ys) == 78
        # Y in bytes, and a finer interval gives more points with the same total
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.ready and screen.y == "bytes")
        assert sum(screen.points[""][1]) == 25260
        await pilot.press("minus")
        await wait_until(pilot, lambda: screen.ready and screen.interval == 0.1)
        assert len(screen.points[""][0]) > 7 and sum(screen.points[""][1]) == 25260
        assert screen.query_one(PlotextPlot).plt is not None
        await pilot.press("d")  # drop the tcp graph
        await wait_until(pilot, lambda: screen.ready and list(screen.points) == [""])


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_io_graph(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.panels.iograph import IOGraphScreen
    from sniffer.ui.sources import open_file_source

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await loaded(pilot)
        app.apply_filter("tcp")
        await wait_until(pilot, lambda: app.view.done)
        await pilot.press("W")
        await wait_until(pilot, lambda: isinstance(app.screen, IOGraphScreen) and app.screen.ready)
        await pilot.press("minus")
        await wait_until(pilot, lambda: app.screen.ready and app.screen.interval == 0.1)
        await pilot.pause()

    store, source = open_file_source(str(WIKIPEDIA))
    assert snap_compare(SnifferApp(store, source), terminal_size=size, run_before=before)
