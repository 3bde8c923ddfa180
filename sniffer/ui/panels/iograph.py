"""I/O graph (Wireshark's Statistics > I/O Graph): packets, bytes or bits/s per interval over time, one
line per graph, each graph all packets or a display filter; drawn with textual-plotext (a maintained
Textual wrapper of the plotext terminal plotting library) rather than hand-drawn bars."""

from __future__ import annotations

from array import array
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual_plotext import PlotextPlot

from sniffer.model.store import PacketStore, View
from sniffer.ui.panels.common import PanelScreen, filter_text

INTERVALS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0)
Y_KINDS = ("packets", "bytes", "bits/s")
MAX_POINTS = 5000  # intervals drawn at most (a finer interval over a long capture is cut)


def series(
    store: PacketStore, indices: Any, interval: float, y: str, t0: int
) -> tuple[list[float], list[float]]:
    """(interval start in seconds from ``t0``, value) for every interval from the first packet to the
    last of ``indices`` (empty intervals are 0)."""
    step = max(1, round(interval * 1e9))
    ts, wl = store.ts, store.wirelen
    buckets: dict[int, int] = {}
    for i in indices:
        k = (ts[i] - t0) // step
        buckets[k] = buckets.get(k, 0) + (1 if y == "packets" else wl[i])
    if not buckets:
        return [], []
    last = min(max(buckets), MAX_POINTS - 1)
    scale = 8 / interval if y == "bits/s" else 1
    xs = [k * interval for k in range(last + 1)]
    return xs, [buckets.get(k, 0) * scale for k in range(last + 1)]


class IOGraphScreen(PanelScreen):
    """One line per graph over the capture; keys change the interval, the Y unit and the graphs."""

    TITLE_TEXT = "I/O graph"
    BINDINGS = [
        Binding("plus,equals_sign", "interval(1)", "Interval +"),
        Binding("minus", "interval(-1)", "Interval -"),
        Binding("y", "y_kind", "Y: packets / bytes / bits/s"),
        Binding("a", "add_graph", "Add graph (display filter)"),
        Binding("d", "drop_graph", "Remove last graph"),
    ]
    DEFAULT_CSS = """
    IOGraphScreen PlotextPlot { height: 1fr; }
    """

    def __init__(self, interval: float = 1.0, graphs: list[str] | None = None) -> None:
        super().__init__()
        self.interval = interval
        self.y = "packets"
        self.graphs: list[str] = list(graphs) if graphs is not None else [""]  # "" = all packets
        self.matched: dict[str, Any] = {}  # filter text -> store indices (array), "" -> range
        self.points: dict[str, tuple[list[float], list[float]]] = {}
        self.ready = False

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield PlotextPlot(id="io-plot")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        shown = filter_text(self.app)
        if shown and shown not in self.graphs:
            self.graphs.append(shown)
        self.refresh_graphs()

    # -- data -------------------------------------------------------------------------------------------
    def refresh_graphs(self) -> None:
        self.ready = False
        self.set_status("Counting…")
        self._compute(list(self.graphs), self.interval, self.y)

    @work(thread=True, exclusive=True, group="iograph")
    def _compute(self, graphs: list[str], interval: float, y: str) -> None:
        from sniffer.ui.adapters import compile_display_filter

        store: PacketStore = self.app.store  # type: ignore[attr-defined]
        n = store.count
        t0 = store.ts[0] if n else 0
        points: dict[str, tuple[list[float], list[float]]] = {}
        for text in graphs:
            idx = self.matched.get(text)
            if idx is None or (text == "" and len(idx) != n):
                if not text:
                    idx = range(n)
                else:
                    try:
                        view = View(store, compile_display_filter(text), text)
                    except Exception as exc:
                        self.app.call_from_thread(self.notify, f"{text}: {exc}", severity="error")
                        continue
                    while not view.done:
                        view.advance(8192)
                    idx = view.matched if view.matched is not None else array("I")
                self.matched[text] = idx
            points[text] = series(store, idx, interval, y, t0)
        self.app.call_from_thread(self._draw, points)

    # -- drawing ----------------------------------------------------------------------------------------
    def _draw(self, points: dict[str, tuple[list[float], list[float]]]) -> None:
        self.points = points
        widget = self.query_one(PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        for text, (xs, ys) in points.items():
            if xs:
                plt.plot(xs, ys, label=text or "all packets", marker="braille")
        unit = {"packets": "packets", "bytes": "bytes", "bits/s": "bits/s"}[self.y]
        plt.title(f"{unit} per {self.interval:g} s")
        plt.xlabel("seconds since the first packet")
        widget.refresh()
        self.ready = True
        total = {t or "all": int(sum(ys)) for t, (_, ys) in points.items()} if self.y != "bits/s" else {}
        summary = " · ".join(f"{k}: {v}" for k, v in total.items())
        self.set_status(f"interval {self.interval:g} s · Y {self.y}" + (f" · {summary}" if summary else ""))

    # -- keys -------------------------------------------------------------------------------------------
    def action_interval(self, step: int) -> None:
        pos = min(range(len(INTERVALS)), key=lambda k: abs(INTERVALS[k] - self.interval))
        self.interval = INTERVALS[max(0, min(len(INTERVALS) - 1, pos + step))]
        self.refresh_graphs()

    def action_y_kind(self) -> None:
        self.y = Y_KINDS[(Y_KINDS.index(self.y) + 1) % len(Y_KINDS)]
        self.refresh_graphs()

    def action_add_graph(self) -> None:
        from sniffer.ui.screens import PromptScreen

        self.app.push_screen(PromptScreen("Add a graph: display filter", "tcp.port == 80"), self._added)

    def _added(self, text: str | None) -> None:
        if text and text.strip() and text.strip() not in self.graphs:
            from sniffer.errors import SnifferError
            from sniffer.ui.adapters import compile_display_filter

            try:
                compile_display_filter(text.strip())
            except SnifferError as exc:
                self.notify(str(exc), severity="error")
                return
            self.graphs.append(text.strip())
            self.refresh_graphs()

    def action_drop_graph(self) -> None:
        if len(self.graphs) > 1:
            self.graphs.pop()
            self.refresh_graphs()
