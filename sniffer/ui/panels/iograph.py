"""I/O graph (Wireshark's Statistics > I/O Graph): packets, bytes, bits/s or SUM/AVG/MAX/MIN/COUNT of a
field per interval over time, one line per graph, each graph all packets or a display filter; a cursor
on an interval (keys or a click) jumps to its packet; zoom in and out around the cursor. Drawn with
textual-plotext (a maintained Textual wrapper of the plotext terminal plotting library)."""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual_plotext import PlotextPlot

from sniffer.model.store import PacketStore, View
from sniffer.ui.panels.common import PanelScreen, filter_text, goto_index

INTERVALS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0)
Y_KINDS = ("packets", "bytes", "bits/s")
CALCS = ("SUM", "AVG", "MAX", "MIN", "COUNT")  # of a field, as Wireshark's Y fields / tshark -z io,stat
LIVE_REFRESH_S = 2.0  # a live capture's graphs take in the new packets this often
NAN = float("nan")
MAX_POINTS = 5000  # intervals drawn at most (a finer interval over a long capture is cut)
_CALC_RE = re.compile(r"^\s*(SUM|AVG|MAX|MIN|COUNT)\s*\(\s*([A-Za-z0-9_.\-]+)\s*\)\s*$", re.IGNORECASE)


def parse_calc(text: str) -> tuple[str, str]:
    """``"SUM(tcp.len)"`` -> ("SUM", "tcp.len"); ValueError with what is accepted."""
    m = _CALC_RE.match(text)
    if m is None:
        raise ValueError(f"{text!r}: write SUM(field), AVG(field), MAX(field), MIN(field) or COUNT(field)")
    return m.group(1).upper(), m.group(2)


class Series:
    """One graph's values per interval, and for each interval the packet a jump goes to (the first
    packet of the interval; for MAX / MIN the packet holding that value), -1 for an empty interval."""

    def __init__(self, xs: list[float], ys: list[float], packets: list[int]) -> None:
        self.xs, self.ys, self.packets = xs, ys, packets

    def __iter__(self) -> Any:  # (xs, ys), as the earlier tuple
        return iter((self.xs, self.ys))

    def __getitem__(self, k: int) -> list[float]:
        return (self.xs, self.ys)[k]


def _numbers(value: Any) -> list[float]:
    """A field's value(s) as numbers (a field repeated in a packet gives several; text gives none)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _numbers(v)]
    if isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (int, float)):
        return [float(value)]
    try:
        return (
            [float(int(value, 0))] if isinstance(value, str) and value[:2] in ("0x", "0X") else [float(value)]
        )
    except (TypeError, ValueError):
        return []


def _occurrences(value: Any) -> list[float]:
    """1.0 per occurrence of a field in a packet, whatever its type (COUNT)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [1.0] * len(value)
    return [1.0]


class FieldValues:
    """The numbers of one field per packet, compact: 9 bytes a packet (the first value as a double, NaN
    for none, and whether the packet was read), the rare further occurrences in a dict. A dict of lists
    per packet took ~200 bytes a packet (200 MB at 1M packets)."""

    def __init__(self) -> None:
        self.first = array("d")
        self.read = bytearray()
        self.extra: dict[int, list[float]] = {}

    def has(self, i: int) -> bool:
        return i < len(self.read) and self.read[i] == 1

    def put(self, i: int, values: list[float]) -> None:
        if i >= len(self.read):
            grow = i + 1 - len(self.read) + 4096
            self.read.extend(bytes(grow))
            self.first.extend([NAN] * grow)
        self.read[i] = 1
        if values:
            self.first[i] = values[0]
            if len(values) > 1:
                self.extra[i] = values[1:]

    def __getitem__(self, i: int) -> list[float]:
        v = self.first[i]
        if v != v:  # NaN: no value
            return []
        more = self.extra.get(i)
        return [v, *more] if more else [v]


def series(
    store: PacketStore,
    indices: Any,
    interval: float,
    y: str,
    t0: int,
    values: Callable[[int], list[float]] | None = None,
) -> Series:
    """Interval start (seconds from ``t0``), value and jump packet for every interval from the first
    packet to the last of ``indices`` (empty intervals are 0). ``y``: packets, bytes, bits/s, or one of
    CALCS with ``values`` giving a packet's numbers for the field (as tshark -z io,stat: SUM and COUNT
    over every occurrence, AVG of them, MAX / MIN of them, 0 for an interval without one)."""
    step = max(1, round(interval * 1e9))
    ts, wl = store.ts, store.wirelen
    total: dict[int, float] = {}
    count: dict[int, int] = {}
    first: dict[int, int] = {}
    best: dict[int, int] = {}  # MAX / MIN: the packet holding the value
    calc = y if y in CALCS else None
    for i in indices:
        k = (ts[i] - t0) // step
        if k not in first:
            first[k] = i
        if calc is None:
            total[k] = total.get(k, 0) + (1 if y == "packets" else wl[i])
            continue
        for v in values(i) if values is not None else ():
            n = count.get(k, 0)
            count[k] = n + 1
            if calc in ("SUM", "AVG"):
                total[k] = total.get(k, 0.0) + v
            elif calc == "COUNT":
                total[k] = n + 1
            elif n == 0 or (v > total[k] if calc == "MAX" else v < total[k]):
                total[k], best[k] = v, i
    if not first:
        return Series([], [], [])
    last = min(max(first), MAX_POINTS - 1)
    scale = 8 / interval if y == "bits/s" else 1
    xs = [k * interval for k in range(last + 1)]
    if calc == "AVG":
        ys = [total[k] / count[k] if count.get(k) else 0.0 for k in range(last + 1)]
    else:
        ys = [total.get(k, 0) * scale for k in range(last + 1)]
    packets = [best.get(k, first.get(k, -1)) for k in range(last + 1)]
    return Series(xs, ys, packets)


class IOPlot(PlotextPlot):
    """The plot, remembering where plotext drew its canvas so a click maps to a time."""

    class Clicked(Message):
        def __init__(self, x: float) -> None:
            super().__init__()
            self.x = x  # seconds since the first packet under the mouse

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.canvas: tuple[int, int] | None = None  # first and last screen column of the plot area
        self.xlim: tuple[float, float] = (0.0, 1.0)

    def render(self) -> Any:
        text = super().render()
        self.canvas = None
        if isinstance(text, Text):
            for line in text.plain.splitlines():
                a, b = line.find("┌"), line.rfind("┐")
                if 0 <= a < b:
                    self.canvas = (a + 1, b - 1)
                    break
        return text

    def x_at(self, col: int) -> float | None:
        if self.canvas is None:
            return None
        a, b = self.canvas
        if not a <= col <= b or b <= a:
            return None
        x0, x1 = self.xlim
        return x0 + (col - a) * (x1 - x0) / (b - a)

    def on_click(self, event: events.Click) -> None:
        pos = event.get_content_offset(self)
        if pos is None:
            return
        x = self.x_at(pos.x)
        if x is not None:
            self.post_message(self.Clicked(x))


class IOGraphScreen(PanelScreen):
    """One line per graph over the capture; keys change the interval, the Y unit and the graphs."""

    TITLE_TEXT = "I/O graph"
    BINDINGS = [
        Binding("plus,equals_sign", "interval(1)", "Interval+"),
        Binding("minus", "interval(-1)", "Interval-"),
        Binding("y", "y_kind", "Y unit"),
        Binding("f", "y_field", "Y field"),
        Binding("a", "add_graph", "Add graph"),
        Binding("d", "drop_graph", "Drop graph"),
        Binding("left,h", "cursor(-1)", "Cursor ←", show=False),
        Binding("right,l", "cursor(1)", "Cursor →", show=False),
        Binding("z", "zoom(1)", "Zoom"),
        Binding("Z", "zoom(-1)", "Unzoom"),
        Binding("enter", "jump", "Go to packet"),
    ]
    DEFAULT_CSS = """
    IOGraphScreen IOPlot { height: 1fr; }
    """

    def __init__(self, interval: float = 1.0, graphs: list[str] | None = None) -> None:
        super().__init__()
        self.interval = interval
        self.y = "packets"  # one of Y_KINDS or CALCS (then of self.field)
        self.field = ""  # the Y field of SUM/AVG/MAX/MIN/COUNT
        self.calc = ""  # the calculation last chosen with f (y cycles back to it)
        self.graphs: list[str] = list(graphs) if graphs is not None else [""]  # "" = all packets
        self.views: dict[str, View] = {}  # filter text -> its View (advanced as a live capture grows)
        self.counted = 0  # packets in the store when the graphs were last computed
        self.field_values: dict[str, FieldValues] = {}  # field -> its numbers per store index
        self.points: dict[str, Series] = {}
        self.cursor = 0  # interval under the cursor
        self.zoom = 0  # 0: the whole capture; k: 1/2**k of it, around the cursor
        self.window: tuple[float, float] = (0.0, 1.0)  # seconds shown
        self.ready = False

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield IOPlot(id="io-plot")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        shown = filter_text(self.app)
        if shown and shown not in self.graphs:
            self.graphs.append(shown)
        self.refresh_graphs()
        app: Any = self.app
        if getattr(app, "live", False) and getattr(app, "source", None) is not None:
            # a live capture (or a growing file, or playback): the graphs follow it
            self.set_interval(LIVE_REFRESH_S, self._grow)

    def _grow(self) -> None:
        """Redraw with the packets that arrived (filters and field values go on from where they were)."""
        if self.ready and self.app.store.count != self.counted:  # type: ignore[attr-defined]
            self.refresh_graphs(quiet=True)

    # -- data -------------------------------------------------------------------------------------------
    def refresh_graphs(self, quiet: bool = False) -> None:
        self.ready = False
        if not quiet:
            self.set_status("Counting…")
        self._compute(list(self.graphs), self.interval, self.y, self.field)

    @work(thread=True, exclusive=True, group="iograph")
    def _compute(self, graphs: list[str], interval: float, y: str, field: str) -> None:
        from textual.worker import get_current_worker

        from sniffer.ui.adapters import compile_display_filter

        worker = get_current_worker()
        store: PacketStore = self.app.store  # type: ignore[attr-defined]
        n = store.count
        t0 = store.ts[0] if n else 0
        points: dict[str, Series] = {}
        for text in graphs:
            idx: Any = range(n)
            if text:
                view = self.views.get(text)
                if view is None:
                    try:
                        view = View(store, compile_display_filter(text), text)
                    except Exception as exc:
                        self.app.call_from_thread(self.notify, f"{text}: {exc}", severity="error")
                        continue
                    self.views[text] = view
                while view.scanned < n:  # the packets the View has not seen yet (all, the first time)
                    if worker.is_cancelled:
                        return
                    view.advance(min(8192, n - view.scanned))
                matched = view.matched if view.matched is not None else array("I")
                idx = matched[: bisect_left(matched, n)]
            values = None
            if y in CALCS:
                got = self._values(store, field, idx, worker, count=y == "COUNT")
                if got is None:
                    return
                values = got.__getitem__
            points[text] = series(store, idx, interval, y, t0, values)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._draw, points, n)

    def _values(
        self, store: PacketStore, field: str, indices: Sequence[int], worker: Any, count: bool = False
    ) -> FieldValues | None:
        """The numbers of ``field`` in each packet of ``indices`` (decoded once per field and packet: the
        header fast path for common L2-L4 fields, else a full decode), None when cancelled."""
        from sniffer.model.fastfields import extractor

        # COUNT counts every occurrence, text values too (dns.qry.name): 1 per occurrence
        got = self.field_values.setdefault(("#" if count else "") + field, FieldValues())
        convert = _occurrences if count else _numbers
        todo = [i for i in indices if not got.has(i)]
        if not todo:
            return got
        fields_of = extractor(frozenset((field,)))
        total = len(todo)
        for k, i in enumerate(todo):
            if k % 2048 == 0:
                if worker.is_cancelled:
                    return None
                if total > 5000:
                    pct = 100 * k // total
                    self.app.call_from_thread(self.set_status, f"Reading {field}: {pct}% of {total} packets…")
            try:
                got.put(i, convert(fields_of(store.frame(i)).get(field)))
            except Exception:  # a decoder error: the packet has no value
                got.put(i, [])
        return got

    # -- drawing ----------------------------------------------------------------------------------------
    def y_label(self) -> str:
        return f"{self.y}({self.field})" if self.y in CALCS else self.y

    def _draw(self, points: dict[str, Series] | None = None, counted: int | None = None) -> None:
        if points is not None:
            self.points = points
        if counted is not None:
            self.counted = counted
        n = max((len(s.xs) for s in self.points.values()), default=0)
        self.cursor = max(0, min(self.cursor, n - 1))
        span = max(self.interval, n * self.interval)
        width = span / (2**self.zoom)
        if self.zoom == 0:
            x0 = 0.0
        else:  # the cursor in the middle, inside the capture
            mid = (self.cursor + 0.5) * self.interval
            x0 = max(0.0, min(span - width, mid - width / 2))
        self.window = (x0, x0 + width)
        widget = self.query_one(IOPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        lo = int(x0 / self.interval)
        hi = int((x0 + width) / self.interval) + 1
        for text, s in self.points.items():
            if s.xs:
                plt.plot(s.xs[lo:hi], s.ys[lo:hi], label=text or "all packets", marker="braille")
        if n:
            plt.vline(self.cursor * self.interval, "red")
        plt.xlim(*self.window)
        widget.xlim = self.window
        plt.title(f"{self.y_label()} per {self.interval:g} s")
        plt.xlabel("seconds since the first packet")
        widget.refresh()
        self.ready = True
        self.set_status(self._status())

    def _status(self) -> str:
        parts = [f"interval {self.interval:g} s", f"Y {self.y_label()}"]
        if self.zoom:
            parts.append(f"zoom x{2**self.zoom} ({self.window[0]:g}-{self.window[1]:g} s)")
        k = self.cursor
        at = []
        for text, s in self.points.items():
            if k < len(s.ys):
                v = s.ys[k]
                at.append(f"{text or 'all'} {v:.6g}")
        if at:
            parts.append(f"at {k * self.interval:g} s: " + ", ".join(at))
        if self.y in ("packets", "bytes"):
            total = {t or "all": int(sum(s.ys)) for t, s in self.points.items()}
            parts.append("total " + ", ".join(f"{t} {v}" for t, v in total.items()))
        return " · ".join(parts)

    def jump_packet(self, k: int) -> int:
        """The packet a jump at interval ``k`` goes to: of the first graph with one there."""
        for s in self.points.values():
            if 0 <= k < len(s.packets) and s.packets[k] >= 0:
                return s.packets[k]
        return -1

    # -- keys and mouse ---------------------------------------------------------------------------------
    def action_interval(self, step: int) -> None:
        pos = min(range(len(INTERVALS)), key=lambda k: abs(INTERVALS[k] - self.interval))
        new = INTERVALS[max(0, min(len(INTERVALS) - 1, pos + step))]
        self.cursor = int(self.cursor * self.interval / new)  # the same moment
        self.interval = new
        self.refresh_graphs()

    def action_y_kind(self) -> None:
        kinds = [*Y_KINDS, *((self.calc,) if self.calc else ())]
        cur = kinds.index(self.y) if self.y in kinds else -1
        self.y = kinds[(cur + 1) % len(kinds)]
        self.refresh_graphs()

    def action_y_field(self) -> None:
        from sniffer.ui.screens import PromptScreen

        now = f"{self.y}({self.field})" if self.y in CALCS else ""
        self.app.push_screen(
            PromptScreen("Y field: SUM, AVG, MAX, MIN or COUNT of a field", "SUM(tcp.len)", now),
            self._y_given,
        )

    def _y_given(self, text: str | None) -> None:
        if not text or not text.strip():
            return
        try:
            calc, field = parse_calc(text)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        from sniffer.ui.adapters import field_names

        known = field_names()
        if known and field not in known:
            self.notify(f"no field named {field!r}", severity="error")
            return
        self.y, self.calc, self.field = calc, calc, field
        self.refresh_graphs()

    def action_cursor(self, step: int) -> None:
        n = max((len(s.xs) for s in self.points.values()), default=0)
        if n:
            self.cursor = max(0, min(n - 1, self.cursor + step * max(1, 1 if self.zoom else n // 100)))
            self._draw()

    def action_zoom(self, step: int) -> None:
        self.zoom = max(0, min(16, self.zoom + step))
        self._draw()

    def action_jump(self) -> None:
        i = self.jump_packet(self.cursor)
        if i < 0:
            self.notify("no packet in this interval", severity="warning")
            return
        self.dismiss(None)
        if not goto_index(self.app, i):
            self.app.notify(f"packet {i + 1} is hidden by the display filter", severity="warning")

    @on(IOPlot.Clicked)
    def _clicked(self, event: IOPlot.Clicked) -> None:
        """A click on the plot: the cursor to that interval, and to its packet in the list."""
        n = max((len(s.xs) for s in self.points.values()), default=0)
        if not n:
            return
        self.cursor = max(0, min(n - 1, int(event.x / self.interval)))
        self.action_jump()

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
