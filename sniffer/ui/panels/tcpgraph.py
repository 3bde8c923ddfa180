"""TCP stream graph (Wireshark's Statistics > TCP Stream Graphs) of the selected packet's stream: Stevens
(sequence number over time), throughput, round-trip time and tcptrace (each segment's first and last
byte, with the ACK and receive-window lines of the other side), one direction at a time; zoom in and
out around the middle and pan; a click goes to the segment there. The numbers come from ``model/tcpgraph.py``; drawn with textual-plotext."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding

from sniffer.model.store import PacketStore
from sniffer.ui.panels.common import PanelScreen, goto_index
from sniffer.ui.panels.iograph import IOPlot

KINDS = ("stevens", "throughput", "rtt", "tcptrace")
TITLES = {
    "stevens": "Stevens: sequence number over time",
    "tcptrace": "tcptrace: segments (start and end), the other side's ACK and receive window",
    "throughput": "Throughput: payload bytes/s per interval",
    "rtt": "Round-trip time (ms) of the data, from the ACKs",
}
INTERVALS = (0.001, 0.01, 0.1, 1.0, 10.0)
LIVE_REFRESH_S = 2.0  # a live capture's graph takes in the new packets this often


def _ep(ep: tuple[str, int]) -> str:
    addr, port = ep
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


class TcpGraphScreen(PanelScreen):
    """The graphs of one TCP stream; ``g`` changes the graph, ``d`` the direction."""

    TITLE_TEXT = "TCP stream graph"
    BINDINGS = [
        Binding("g", "kind", "Graph"),
        Binding("d", "direction", "Direction"),
        Binding("plus,equals_sign", "interval(1)", "Interval+"),
        Binding("minus", "interval(-1)", "Interval-", show=False),
        Binding("z", "zoom(1)", "Zoom"),
        Binding("Z", "zoom(-1)", "Unzoom", show=False),
        Binding("left", "pan(-1)", "Pan left", show=False),
        Binding("right", "pan(1)", "Pan right", show=False),
        Binding("n", "stream(1)", "Next stream"),
        Binding("p", "stream(-1)", "Previous stream", show=False),
    ]
    DEFAULT_CSS = """
    TcpGraphScreen IOPlot { height: 1fr; }
    """

    def __init__(self, index: int | None = None, stream: int | None = None, kind: str = "stevens") -> None:
        """Args:
        index: store index of a packet of the stream (default: the packet selected in the list).
        stream: the tcp.stream number to show instead.
        """
        super().__init__()
        self.index = index
        self.stream = stream
        self.kind = kind
        self.direction = 0
        self.interval = 0.1
        self.zoom = 0  # 0: the whole stream; k: 1/2**k of its time
        self.center = 0.5  # middle of the time window shown, as a fraction of the stream's duration
        self.window = (0.0, 1.0)  # seconds shown
        self.graph: Any = None  # model.tcpgraph.TcpGraph
        self.builder: Any = (
            None  # the model.tcpgraph.StreamGraphBuilder it came from (fed as a capture grows)
        )
        self.ready = False

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield IOPlot(id="tcp-plot")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        app: Any = self.app
        index = self.index if self.index is not None else app.plist.selected_index
        self.set_status("Finding the stream…")
        self._load(index, self.stream)
        if getattr(app, "live", False) and getattr(app, "source", None) is not None:
            self.set_interval(LIVE_REFRESH_S, self._grow)  # a live capture: the graph follows it

    @work(thread=True, exclusive=True, group="tcpgraph")
    def _load(self, index: int, stream: int | None) -> None:
        from textual.worker import get_current_worker

        from sniffer.model.tcpgraph import StreamGraphBuilder
        from sniffer.ui.panels.follow import stream_of
        from sniffer.ui.panels.stats import _frames

        worker = get_current_worker()
        store: PacketStore = self.app.store  # type: ignore[attr-defined]
        if stream is None:
            hit = stream_of(store, index) if 0 <= index < store.count else None
            if hit is None or hit[0] != "tcp":
                self.app.call_from_thread(self._none, "select a TCP packet in the list first")
                return
            stream = hit[1]
            if index >= 0:  # the direction of the selected packet, as Wireshark graphs it
                self.direction = -1
        if worker.is_cancelled:
            return
        builder = StreamGraphBuilder(stream)
        for k, fr in _frames(store, range(store.count)):
            if k % 4096 == 0 and worker.is_cancelled:
                return
            builder.feed(k + 1, fr)
        self.builder = builder
        graph = builder.graph
        if graph is None:
            self.app.call_from_thread(self._none, f"no TCP stream {stream} in this capture")
            return
        if self.direction == -1:
            number = index + 1
            self.direction = 1 if any(s.number == number for s in graph.segments[1]) else 0
        self.app.call_from_thread(self._loaded, graph)

    def _grow(self) -> None:
        """A live capture grew: feed the new packets to the same builder (no pass from the first)."""
        if self.ready and self.builder is not None and self.app.store.count > self.builder.fed:  # type: ignore[attr-defined]
            self.ready = False
            self._feed(self.builder)

    @work(thread=True, exclusive=True, group="tcpgraph")
    def _feed(self, builder: Any) -> None:
        store: PacketStore = self.app.store  # type: ignore[attr-defined]
        start, end = builder.fed, store.count
        for i in range(start, end):
            builder.feed(i + 1, store.frame(i))
        if builder.graph is not None:
            self.app.call_from_thread(self._loaded, builder.graph)
        else:
            self.app.call_from_thread(setattr, self, "ready", True)

    def _none(self, text: str) -> None:
        self.graph = None
        self.ready = True
        self.set_status(text)

    def _loaded(self, graph: Any) -> None:
        self.graph = graph
        self.stream = graph.stream
        self._draw()

    # -- drawing ----------------------------------------------------------------------------------------
    def _draw(self) -> None:
        g = self.graph
        if g is None:
            return
        src, dst = (g.a, g.b) if self.direction == 0 else (g.b, g.a)
        self.query_one("#panel-title").update(  # type: ignore[attr-defined]
            f"TCP stream graph — tcp.stream eq {g.stream}: {_ep(src)} → {_ep(dst)}"
        )
        widget = self.query_one(IOPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        d = self.direction
        status = ""
        xmax = max((s.t for side in g.segments for s in side), default=0.0) or 1e-6
        width = xmax / 2**self.zoom
        x0 = max(0.0, min(xmax - width, self.center * xmax - width / 2))
        x1 = x0 + width
        self.window = (x0, x1)

        def shown(xs: list[Any]) -> list[Any]:  # the points inside the window (the Y range follows them)
            return [s for s in xs if x0 <= s.t <= x1] if self.zoom else xs

        if self.kind == "stevens":
            data = shown(g.data(d))
            if data:
                plt.scatter([s.t for s in data], [s.seq for s in data], marker="braille", label="segments")
            plt.ylabel("relative sequence number")
            sent = sum(s.length for s in data)
            status = f"{len(data)} data segments, {sent} bytes"
        elif self.kind == "tcptrace":
            data = shown(g.data(d))
            acks = shown([s for s in g.segments[1 - d] if s.ack is not None])
            if acks:  # the lines first: the segments are drawn over them
                ts = [s.t for s in acks]
                plt.plot(ts, [s.ack for s in acks], marker="braille", label="ACK", color="green")
                plt.plot(
                    ts, [s.ack + s.win for s in acks], marker="braille", label="receive window", color="red"
                )
            if data:  # each segment as its first and last byte: a bar once zoomed in
                ts = [s.t for s in data]
                plt.scatter(
                    ts + ts,
                    [s.seq for s in data] + [s.seq + s.length for s in data],
                    marker="braille",
                    label="segments",
                    color="cyan",
                )
            plt.ylabel("relative sequence number")
            wins = [s.win for s in acks]
            status = f"{len(data)} data segments, {len(acks)} ACKs" + (
                f", window {min(wins)}-{max(wins)} bytes" if wins else ""
            )
        elif self.kind == "throughput":
            xs, ys = g.throughput(d, self.interval)
            if self.zoom:
                keep = [k for k, x in enumerate(xs) if x0 - self.interval <= x <= x1]
                xs, ys = [xs[k] for k in keep], [ys[k] for k in keep]
            if xs:
                plt.plot(xs, ys, marker="braille", label=f"bytes/s per {self.interval:g} s")
            plt.ylabel("bytes/s")
            total = sum(s.length for s in g.segments[d])
            span = max((s.t for s in g.segments[d]), default=0.0)
            avg = total / span if span > 0 else 0.0
            status = f"interval {self.interval:g} s, {total} bytes, {avg:.0f} bytes/s on average"
        else:
            samples = shown(g.rtt(d))
            if samples:
                plt.scatter(
                    [s.t for s in samples], [s.rtt * 1000 for s in samples], marker="braille", label="RTT"
                )
                ms = [s.rtt * 1000 for s in samples]
                status = f"{len(ms)} samples, RTT min {min(ms):.3f} / avg {sum(ms) / len(ms):.3f} / max {max(ms):.3f} ms"
            else:
                status = "no RTT sample (no data acknowledged in this direction)"
            plt.ylabel("ms")
        if self.zoom:
            status += f" · zoom x{2**self.zoom} ({x0:.3f}-{x1:.3f} s)"
        plt.xlim(x0, x1)
        widget.xlim = (x0, x1)
        plt.title(TITLES[self.kind])
        plt.xlabel("seconds since the stream's first packet")
        widget.refresh()
        self.ready = True
        self.set_status(f"{_ep(src)} → {_ep(dst)} · {status}")

    # -- keys and mouse ---------------------------------------------------------------------------------
    def action_kind(self) -> None:
        self.kind = KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)]
        self._draw()

    def action_direction(self) -> None:
        self.direction = 1 - self.direction
        self._draw()

    def action_interval(self, step: int) -> None:
        pos = min(range(len(INTERVALS)), key=lambda k: abs(INTERVALS[k] - self.interval))
        self.interval = INTERVALS[max(0, min(len(INTERVALS) - 1, pos + step))]
        self._draw()

    def action_zoom(self, step: int) -> None:
        self.zoom = max(0, min(16, self.zoom + step))
        if self.zoom == 0:
            self.center = 0.5
        self._draw()

    def action_pan(self, step: int) -> None:
        """Move the zoomed window by a quarter of its width."""
        if self.zoom:
            half = 0.5 / 2**self.zoom
            self.center = max(half, min(1.0 - half, self.center + step * half / 2))
            self._draw()

    def action_stream(self, step: int) -> None:
        if self.stream is None:
            return
        self.ready = False
        self.builder = None
        self.direction = 0
        self.set_status("Reading the stream…")
        self._load(-1, max(0, self.stream + step))

    def packet_at(self, t: float) -> int:
        """Store index of the packet of the direction shown nearest to ``t`` (seconds), -1 for none."""
        g = self.graph
        if g is None:
            return -1
        side = g.data(self.direction) or g.segments[self.direction]
        if self.kind == "rtt":
            samples = g.rtt(self.direction)
            if samples:
                return min(samples, key=lambda s: abs(s.t - t)).number - 1
        if not side:
            return -1
        return min(side, key=lambda s: abs(s.t - t)).number - 1

    @on(IOPlot.Clicked)
    def _clicked(self, event: IOPlot.Clicked) -> None:
        i = self.packet_at(event.x)
        if i < 0:
            return
        self.dismiss(None)
        if not goto_index(self.app, i):
            self.app.notify(f"packet {i + 1} is hidden by the display filter", severity="warning")
