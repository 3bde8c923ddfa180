"""I/O graph (issue 15): packets per interval for all packets and for a display filter, plotted with
textual-plotext; the counts and SUM/AVG/MAX/MIN/COUNT of fields equal tshark -z io,stat on the bundled
capture; zoom, the cursor and a click go to the interval's packet."""

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


# tshark -r captures/zeek__wikipedia.pcap -q -z io,stat,1,"SUM(tcp.len)tcp.len","AVG(frame.len)frame.len",
#   "MAX(ip.ttl)ip.ttl","MIN(frame.len)frame.len","COUNT(tcp.len)tcp.len","MAX(frame.len)frame.len"
TSHARK_FIELDS = {
    "SUM(tcp.len)": [0, 13807, 0, 0, 0, 0, 0],
    "AVG(frame.len)": [122, 219, 68, 70, 80, 81, 84],  # tshark truncates an integer field's average
    "MAX(ip.ttl)": [255, 64, 255, 128, 128, 128, 128],
    "MIN(frame.len)": [60, 66, 60, 60, 60, 60, 60],
    "COUNT(tcp.len)": [0, 74, 4, 0, 0, 0, 0],
    "MAX(frame.len)": [213, 665, 99, 92, 95, 92, 95],
    # COUNT of a text field counts its occurrences: io,stat,1,"COUNT(dns.qry.name)dns.qry.name",...
    "COUNT(dns.qry.name)": [1, 28, 1, 0, 4, 0, 4],
    "COUNT(http.request.method)": [0, 15, 0, 0, 0, 0, 0],
}


async def _y_field(pilot, screen, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("f")
    pilot.app.screen.query_one("#prompt").value = text
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.ready and screen.y_label() == text)


async def test_io_graph_field_calcs_equal_tshark_zoom_and_jump(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.iograph import IOGraphScreen, IOPlot

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("W")
        await wait_until(pilot, lambda: isinstance(app.screen, IOGraphScreen) and app.screen.ready)
        screen = app.screen
        for text, want in TSHARK_FIELDS.items():
            await _y_field(pilot, screen, text)
            ys = screen.points[""].ys
            assert [int(v) for v in ys] == want, text
        await _y_field(pilot, screen, "MAX(frame.len)")
        # a bad Y field is refused with a message, the graph stays
        await pilot.press("f")
        app.screen.query_one("#prompt").value = "MEDIAN(frame.len)"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.y_label() == "MAX(frame.len)"
        # y cycles packets / bytes / bits/s and back to the field
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.ready and screen.y == "packets")
        for want in ("bytes", "bits/s", "MAX"):
            await pilot.press("y")
            await wait_until(pilot, lambda want=want: screen.ready and screen.y == want)  # type: ignore[misc]
        # the cursor on interval 1 (1-2 s), Enter: the packet with MAX(frame.len) there (665 bytes)
        await pilot.press("right")
        assert screen.cursor == 1 and "at 1 s: all 665" in str(screen.query_one("#panel-status").render())
        # zoom in twice around the cursor: a quarter of the capture, the cursor inside
        await pilot.press("z", "z")
        x0, x1 = screen.window
        assert x1 - x0 == 7 / 4 and x0 <= 1 < x1
        await pilot.press("Z", "Z", "Z")  # out, and no further than the whole capture
        assert screen.zoom == 0 and screen.window == (0.0, 7.0)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, IOGraphScreen)
        index = app.plist.selected_index
        assert app.store.wirelen[index] == 665 and 1 <= (app.store.ts[index] - app.store.ts[0]) / 1e9 < 2
        # a click on the plot: to the first packet of the interval under the mouse (Y packets)
        await pilot.press("W")
        await wait_until(pilot, lambda: isinstance(app.screen, IOGraphScreen) and app.screen.ready)
        screen = app.screen
        plot = screen.query_one(IOPlot)
        await pilot.pause()
        assert plot.canvas is not None
        a, b = plot.canvas
        col = a + round((b - a) * 3.5 / 7)  # 3.5 s: the interval 3-4 s, its first packet is number 115
        await pilot.click(IOPlot, offset=(col, 5))
        await pilot.pause()
        assert not isinstance(app.screen, IOGraphScreen)
        assert app.plist.selected_index == 114


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_io_graph_field_zoomed(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """AVG(frame.len) per 0.1 s, zoomed in twice, the cursor 12 intervals in."""
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.panels.iograph import IOGraphScreen
    from sniffer.ui.sources import open_file_source

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await loaded(pilot)
        await pilot.press("W")
        await wait_until(pilot, lambda: isinstance(app.screen, IOGraphScreen) and app.screen.ready)
        screen = app.screen
        await pilot.press("minus")
        await wait_until(pilot, lambda: screen.ready and screen.interval == 0.1)
        await _y_field(pilot, screen, "AVG(frame.len)")
        await pilot.press(*["right"] * 12, "z", "z")
        await pilot.pause()

    store, source = open_file_source(str(WIKIPEDIA))
    assert snap_compare(SnifferApp(store, source), terminal_size=size, run_before=before)


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


async def test_io_graph_follows_a_growing_capture(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On a live source (here a file being written, --follow) the graphs take in new packets: all
    packets, a display filter (its View goes on from where it was) and a field calculation."""
    from helpers.tui_pcapgen import PCAP_HDR, REC, many_flows_frames

    from sniffer.model.store import PacketStore
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.panels import iograph
    from sniffer.ui.panels.iograph import IOGraphScreen
    from sniffer.ui.sources import FileSource

    frames = list(many_flows_frames(60, 30))  # TCP and UDP, alternating conversations

    def records(part: list[bytes], start: int) -> bytes:
        return b"".join(
            REC.pack(1_700_000_000 + (start + k) // 10, 0, len(f), len(f)) + f for k, f in enumerate(part)
        )

    path = tmp_path / "grow.pcap"
    path.write_bytes(PCAP_HDR + records(frames[:20], 0))
    store = PacketStore(str(path))
    app = SnifferApp(store, FileSource(str(path), store, follow=True), live=True)
    monkeypatch.setattr(iograph, "LIVE_REFRESH_S", 0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.plist.count == 20)
        screen = IOGraphScreen(graphs=["", "tcp"])
        app.push_screen(screen)
        await wait_until(pilot, lambda: screen.ready and screen.counted == 20)
        tcp20 = sum(screen.points["tcp"].ys)
        assert sum(screen.points[""].ys) == 20 and 0 < tcp20 < 20
        await _y_field(pilot, screen, "SUM(frame.len)")
        assert sum(screen.points[""].ys) == sum(len(f) for f in frames[:20])
        view = screen.views["tcp"]
        with open(path, "ab") as f:
            f.write(records(frames[20:], 20))
        await wait_until(pilot, lambda: screen.ready and screen.counted == 60, timeout=30)
        assert screen.views["tcp"] is view  # went on, not rescanned
        assert sum(screen.points[""].ys) == sum(len(f) for f in frames)
        assert len(screen.points[""].xs) == 6  # 10 packets a second
        await pilot.press("y")  # packets
        await wait_until(pilot, lambda: screen.ready and screen.y == "packets")
        assert sum(screen.points[""].ys) == 60 and sum(screen.points["tcp"].ys) > tcp20
