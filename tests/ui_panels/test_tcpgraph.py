"""TCP stream graph (issue 15): the Stevens points (relative sequence number, length, time) and the RTT
samples equal tshark's tcp.seq / tcp.len / tcp.analysis.ack_rtt for the stream; the screen opens on the
selected packet's stream and direction (tcptrace: segments, ACK and receive-window lines; zoom), switches graphs and directions, and a click goes to a packet."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT, SIZE, WIKIPEDIA, loaded, tshark, wait_until

NCP = ROOT / "tests" / "corpus" / "tcp" / "zeek__ncp.pcap"  # one NCP stream of 474 packets, no SYN
NFS = ROOT / "tests" / "corpus" / "tcp" / "zeek__nfs__nfs_write.pcap"  # stream 3: SYN, 108 packets
RESP = ROOT / "tests" / "corpus" / "tcp" / "tcpdump__resp_1_benchmark.pcap"  # stream 0: window scale 7


def _tshark_stream(
    path: Path, stream: int
) -> dict[int, tuple[str, int, int, int, int | None, str, str, float, int]]:
    if shutil.which("tshark") is None and os.environ.get("CI"):
        pytest.fail("tshark is needed as the oracle of this test")
    out = tshark(
        "-r", str(path), "-Y", f"tcp.stream=={stream}", "-T", "fields",
        *("-e", "frame.number", "-e", "ip.src", "-e", "tcp.srcport", "-e", "tcp.seq", "-e", "tcp.len"),
        *("-e", "tcp.ack", "-e", "tcp.flags.ack", "-e", "tcp.analysis.ack_rtt"),
        *("-e", "tcp.analysis.acks_frame", "-e", "frame.time_relative", "-e", "tcp.window_size"),
    )  # fmt: skip
    rows = {}
    for line in out.splitlines():
        n, src, sport, seq, ln, ack, has_ack, rtt, acked, rel, win = line.split("\t")
        ack_v = int(ack) if has_ack in ("1", "True") else None
        rows[int(n)] = (src, int(sport), int(seq), int(ln), ack_v, rtt, acked, float(rel), int(win))
    return rows


@pytest.mark.parametrize(("path", "stream"), [(NCP, 0), (NFS, 3), (WIKIPEDIA, 2), (RESP, 0)])
def test_stream_graph_equals_tshark(path: Path, stream: int) -> None:
    from sniffer.capture.pcapfile import open_capture
    from sniffer.model.tcpgraph import stream_graph

    want = _tshark_stream(path, stream)
    with open_capture(str(path)) as reader:
        g = stream_graph(enumerate(reader, 1), stream)
    assert g is not None
    first = min(want)
    got = {}
    for d, side in enumerate(g.segments):
        for s in side:
            ep = g.a if d == 0 else g.b
            got[s.number] = (ep[0], ep[1], s.seq, s.length, s.ack)
            assert s.win == want[s.number][8], s.number  # the receive window, scaled as tshark's
            assert abs(s.t - (want[s.number][7] - want[first][7])) < 1e-6
    assert got == {n: r[:5] for n, r in want.items()}
    for d in (0, 1):  # RTT of each direction's data: the ACKs the other side sent
        acker = g.b if d == 0 else g.a
        rtt = {n: (float(r[5]), int(r[6])) for n, r in want.items() if r[5] and r[:2] == acker}
        mine = {s.number: (s.rtt, s.acked) for s in g.rtt(d)}
        assert mine.keys() == rtt.keys() and len(mine) > 0
        for n, (v, acked) in rtt.items():
            assert abs(mine[n][0] - v) < 1e-6 and mine[n][1] == acked
    # throughput: every payload byte of the direction in some interval
    _xs, ys = g.throughput(0, 0.1)
    assert round(sum(ys) * 0.1) == sum(s.length for s in g.segments[0])


async def test_tcp_graph_screen(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.iograph import IOPlot
    from sniffer.ui.panels.tcpgraph import TcpGraphScreen

    app = make_app(NCP)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("g", *"2", "enter")  # packet 2: 10.46.131.227:2195 -> 10.43.1.105:524
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TcpGraphScreen) and app.screen.ready)
        screen = app.screen
        assert screen.stream == 0 and screen.direction == 1  # the selected packet's direction (B -> A)
        status = str(screen.query_one("#panel-status").render())
        assert status.startswith("10.46.131.227:2195 → 10.43.1.105:524 · 234 data segments, 11256 bytes")
        await pilot.press("d")
        assert screen.direction == 0 and "234 data segments, 16641 bytes" in str(
            screen.query_one("#panel-status").render()
        )
        await pilot.press("g")
        assert screen.kind == "throughput" and "16641 bytes" in str(
            screen.query_one("#panel-status").render()
        )
        await pilot.press("g")
        assert screen.kind == "rtt" and "234 samples" in str(screen.query_one("#panel-status").render())
        # a click in the middle of the plot: the RTT sample (an ACK of B) nearest that time
        plot = screen.query_one(IOPlot)
        await pilot.pause()
        assert plot.canvas is not None
        a, b = plot.canvas
        t = plot.x_at((a + b) // 2)
        assert t is not None
        want = screen.packet_at(t)
        await pilot.click(IOPlot, offset=((a + b) // 2, 8))
        await pilot.pause()
        assert not isinstance(app.screen, TcpGraphScreen)
        assert app.plist.selected_index == want >= 0
        assert app.store.row(want).src == "10.46.131.227"


async def test_tcp_graph_needs_a_tcp_packet(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.tcpgraph import TcpGraphScreen

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("g", "1", "enter")  # MDNS over UDP
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TcpGraphScreen) and app.screen.ready)
        assert app.screen.graph is None
        assert "select a TCP packet" in str(app.screen.query_one("#panel-status").render())


async def test_tcptrace_graph_and_zoom(make_app) -> None:  # type: ignore[no-untyped-def]
    """g reaches the tcptrace graph (segments, the other side's ACK and window lines); z zooms in around
    the middle, arrows pan, a click inside the zoomed window goes to the packet at that time, Z unzooms."""
    from sniffer.ui.panels.iograph import IOPlot
    from sniffer.ui.panels.tcpgraph import TcpGraphScreen

    app = make_app(RESP)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("g", "4", "enter", "ctrl+t")  # packet 4: the client's first request
        await wait_until(pilot, lambda: isinstance(app.screen, TcpGraphScreen) and app.screen.ready)
        screen = app.screen
        await pilot.press("g", "g", "g")
        assert screen.kind == "tcptrace"
        g, d = screen.graph, screen.direction
        acks = [s for s in g.segments[1 - d] if s.ack is not None]
        wins = [s.win for s in acks]
        assert max(wins) == 43776  # 342 << 7: scaled as tshark's tcp.window_size
        status = str(screen.query_one("#panel-status").render())
        assert (
            f"{len(g.data(d))} data segments, {len(acks)} ACKs, window {min(wins)}-{max(wins)} bytes"
            in status
        )
        whole = screen.window
        await pilot.press("z", "z")
        assert screen.zoom == 2 and "zoom x4" in str(screen.query_one("#panel-status").render())
        x0, x1 = screen.window
        assert abs((x1 - x0) - (whole[1] - whole[0]) / 4) < 1e-9
        await pilot.press("right")
        assert screen.window[0] > x0
        await pilot.press(*["left"] * 8)
        assert screen.window[0] == 0.0  # not before the stream's first packet
        plot = screen.query_one(IOPlot)
        await pilot.pause()
        assert plot.canvas is not None and plot.xlim == screen.window
        a, b = plot.canvas
        t = plot.x_at((a + b) // 2)
        assert t is not None and screen.window[0] <= t <= screen.window[1]
        await pilot.press("Z", "Z")
        assert screen.zoom == 0 and screen.window == whole
        await pilot.press("z")
        await pilot.pause()
        a, b = plot.canvas
        want = screen.packet_at(plot.x_at((a + b) // 2))
        await pilot.click(IOPlot, offset=((a + b) // 2, 8))
        await pilot.pause()
        assert not isinstance(app.screen, TcpGraphScreen)
        assert app.plist.selected_index == want >= 0


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_tcptrace_zoomed(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """The tcptrace graph of the NFS write stream (packet 49's direction: client -> server), zoomed x2."""
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.panels.tcpgraph import TcpGraphScreen
    from sniffer.ui.sources import open_file_source

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await loaded(pilot)
        await pilot.press("g", "4", "9", "enter", "ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TcpGraphScreen) and app.screen.ready)
        await pilot.press("g", "g", "g", "z")
        await pilot.pause()

    store, source = open_file_source(str(NFS))
    assert snap_compare(SnifferApp(store, source), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_tcp_graph(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """The Stevens graph of the NCP stream, direction of packet 3 (A -> B)."""
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.panels.tcpgraph import TcpGraphScreen
    from sniffer.ui.sources import open_file_source

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await loaded(pilot)
        await pilot.press("g", "3", "enter", "ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TcpGraphScreen) and app.screen.ready)
        await pilot.pause()

    store, source = open_file_source(str(NCP))
    assert snap_compare(SnifferApp(store, source), terminal_size=size, run_before=before)


async def test_tcp_graph_follows_a_growing_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a live source (here a file being written, --follow) the graph takes in the stream's new
    packets, fed to the same builder (no pass from the first packet)."""
    from sniffer.model.store import PacketStore
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.panels import tcpgraph
    from sniffer.ui.panels.tcpgraph import TcpGraphScreen
    from sniffer.ui.sources import FileSource

    data = NCP.read_bytes()
    records = []  # (offset, end) of each record in the NCP capture
    off = 24
    while off < len(data):
        caplen = int.from_bytes(data[off + 8 : off + 12], "little")
        records.append((off, off + 16 + caplen))
        off += 16 + caplen
    cut = records[200][0]
    path = tmp_path / "grow.pcap"
    path.write_bytes(data[:cut])
    store = PacketStore(str(path))
    app = SnifferApp(store, FileSource(str(path), store, follow=True), live=True)
    monkeypatch.setattr(tcpgraph, "LIVE_REFRESH_S", 0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.plist.count == 200)
        app.plist.move_to(2)  # packet 3: A -> B
        await pilot.pause()
        screen = TcpGraphScreen()
        app.push_screen(screen)
        await wait_until(pilot, lambda: screen.ready and screen.graph is not None)
        first = len(screen.graph.data(0))
        builder = screen.builder
        assert 0 < first < 234
        with open(path, "ab") as f:
            f.write(data[cut:])
        await wait_until(pilot, lambda: screen.ready and len(screen.graph.data(0)) == 234, timeout=30)
        assert screen.builder is builder and builder.fed == len(records)
        assert "234 data segments, 16641 bytes" in str(screen.query_one("#panel-status").render())
