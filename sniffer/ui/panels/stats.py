"""Statistics screen: protocol hierarchy, conversations, endpoints and I/O rate over the packets in the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Sparkline, TabbedContent, TabPane
from textual.worker import get_current_worker

from sniffer.model.store import PacketStore
from sniffer.ui.panels.common import PanelScreen, filter_text, packet_indices

CONV_KINDS = (("ip", "IPv4"), ("ipv6", "IPv6"), ("tcp", "TCP"), ("udp", "UDP"))
IO_INTERVALS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0)
BAR_WIDTH = 40


def compute_statistics(
    store: PacketStore,
    indices: Sequence[int],
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    hierarchy: bool = True,
) -> Any:
    """One pass of ``model.stats.Statistics`` over the given packets (store indices, in order).

    With ``hierarchy`` every packet is fully decoded for its frame.protocols (~6k packets/s); without,
    only conversations, endpoints and I/O are counted (~45k packets/s). Returns the Statistics object,
    or None when cancelled. Runs in a worker thread.
    """
    from sniffer.decode.fields import frame_fields
    from sniffer.model.stats import Statistics

    st = Statistics()
    for k, i in enumerate(indices):
        if k % 512 == 0:
            if cancelled():
                return None
            if progress is not None:
                progress(k)
        frame = store.frame(i)
        if not hierarchy:
            st.add(i + 1, frame)
            continue
        try:
            f = frame_fields(frame)
        except Exception:  # a decoder bug: the packet still counts, as malformed
            f = {"frame.protocols": "", "_ws.malformed": True}
        protocols = f.get("frame.protocols", "")
        if isinstance(protocols, list):
            protocols = ":".join(str(p) for p in protocols)
        malformed = "_ws.malformed" if "_ws.malformed" in f else ("_ws.short" if "_ws.short" in f else None)
        st.add(i + 1, frame, str(protocols), malformed)
    return st


def _split_hostport(text: str) -> tuple[str, str]:
    host, _, port = text.rpartition(":")
    return (host, port) if host and port.isdigit() else (text, "")


def conversation_filter(kind: str, a: str, b: str | None = None) -> str:
    """Display filter for a conversation (A, B) or an endpoint (A) of ``kind``, like Wireshark's
    "Apply as Filter": ``ip.addr == A && ip.addr == B``, plus ``tcp.port``/``udp.port`` for TCP/UDP."""
    addrs = [a] if b is None else [a, b]
    if kind in ("tcp", "udp"):
        parts = []
        for hp in addrs:
            host, port = _split_hostport(hp)
            field = "ipv6.addr" if ":" in host else "ip.addr"
            parts.append(f"{field} == {host}")
            if port:
                parts.append(f"{kind}.port == {port}")
        return " && ".join(parts)
    field = {"ip": "ip.addr", "ipv6": "ipv6.addr"}.get(kind, f"{kind}.addr")
    return " && ".join(f"{field} == {x}" for x in addrs)


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}" if whole else "0.0"


def _bar(value: int, peak: int, width: int = BAR_WIDTH) -> str:
    if not peak or not value:
        return ""
    eighths = round(8 * width * value / peak)
    full, rest = divmod(max(1, eighths), 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[rest]


class StatisticsScreen(PanelScreen):
    """Wireshark's Statistics menu in one screen: hierarchy, conversations, endpoints, I/O rate."""

    TITLE_TEXT = "Statistics"
    BINDINGS = [
        Binding("d", "toggle_displayed", "All / displayed"),
        Binding("r", "rescan", "Rescan"),
        Binding("plus,equals_sign", "interval(1)", "I/O interval +"),
        Binding("minus", "interval(-1)", "I/O interval -"),
    ]
    # Enter on a conversation or endpoint row applies it as the display filter and closes the screen
    DEFAULT_CSS = """
    StatisticsScreen TabbedContent { height: 1fr; }
    StatisticsScreen #io-spark { height: 3; margin: 0 1; }
    StatisticsScreen DataTable { height: 1fr; }
    """

    def __init__(self, displayed: bool = False, interval: float = 1.0) -> None:
        super().__init__()
        self.displayed = displayed
        self.interval = interval
        self.stats: Any = None  # model.stats.Statistics of the last scan (no hierarchy)
        self.hierarchy: Any = None  # its PhsNode root, once the second pass is done
        self.scanned = 0

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        with TabbedContent(id="stats-tabs"):
            with TabPane("Hierarchy", id="tab-hierarchy"):
                yield DataTable(id="phs", cursor_type="row", zebra_stripes=True)
            with TabPane("Conversations", id="tab-conv"), TabbedContent(id="conv-tabs"):
                for kind, label in CONV_KINDS:
                    with TabPane(label, id=f"tab-conv-{kind}"):
                        yield DataTable(id=f"conv-{kind}", cursor_type="row", zebra_stripes=True)
            with TabPane("Endpoints", id="tab-ep"), TabbedContent(id="ep-tabs"):
                for kind, label in CONV_KINDS:
                    with TabPane(label, id=f"tab-ep-{kind}"):
                        yield DataTable(id=f"ep-{kind}", cursor_type="row", zebra_stripes=True)
            with TabPane("I/O rate", id="tab-io"):
                yield Sparkline([], id="io-spark")
                yield DataTable(id="io", cursor_type="row")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.action_rescan()

    # -- scanning ----------------------------------------------------------------------------------------
    def action_rescan(self) -> None:
        indices = packet_indices(self.app, self.displayed)
        flt = filter_text(self.app)
        scope = f"displayed (filter: {flt})" if self.displayed and flt else "all"
        self.query_one("#panel-title").update(f"Statistics — {len(indices)} packets, {scope}")  # type: ignore[attr-defined]
        self.set_status(f"Scanning {len(indices)} packets…")
        self._scan(indices)

    def action_toggle_displayed(self) -> None:
        self.displayed = not self.displayed
        self.action_rescan()

    def action_interval(self, step: int) -> None:
        pos = min(range(len(IO_INTERVALS)), key=lambda k: abs(IO_INTERVALS[k] - self.interval))
        self.interval = IO_INTERVALS[max(0, min(len(IO_INTERVALS) - 1, pos + step))]
        if self.stats is not None:
            self._fill_io()

    @work(thread=True, exclusive=True, group="stats")
    def _scan(self, indices: list[int]) -> None:
        """Two passes: conversations, endpoints and I/O first (fast), then the hierarchy (full decode)."""
        worker = get_current_worker()
        total = len(indices)
        store = self.app.store  # type: ignore[attr-defined]

        def progress(what: str) -> Callable[[int], None]:
            def report(k: int) -> None:
                if total > 5000:
                    text = f"{what}: {100 * k // max(1, total)}% of {total} packets…"
                    self.app.call_from_thread(self.set_status, text)

            return report

        st = compute_statistics(store, indices, progress("Counting"), lambda: worker.is_cancelled, False)
        if st is None or worker.is_cancelled:
            return
        self.app.call_from_thread(self._apply_stats, st, total)
        hier = compute_statistics(store, indices, progress("Protocol hierarchy"), lambda: worker.is_cancelled)
        if hier is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._apply_hierarchy, hier)

    # -- display -------------------------------------------------------------------------------------------
    def _apply_stats(self, st: Any, total: int) -> None:
        self.stats = st
        self.hierarchy = None
        self.scanned = total
        for kind, _ in CONV_KINDS:
            self._fill_conversations(kind)
            self._fill_endpoints(kind)
        self._fill_io()
        t = self.query_one("#phs", DataTable)
        t.clear(columns=True)
        t.add_columns("Protocol hierarchy: decoding every packet…")
        self.set_status(self._summary())

    def _apply_hierarchy(self, hier: Any) -> None:
        self.hierarchy = hier.hierarchy
        self._fill_hierarchy()
        self.set_status(self._summary())

    def _summary(self) -> str:
        st = self.stats
        if st is None:
            return "Scanning…"
        counts = ", ".join(f"{label} {len(st.conversations(kind))}" for kind, label in CONV_KINDS)
        return f"{st.frames} packets, {st.bytes} bytes, {st.duration:.3f} s · conversations: {counts}"

    def _fill_hierarchy(self) -> None:
        t = self.query_one("#phs", DataTable)
        t.clear(columns=True)
        t.add_columns("Protocol", "% Packets", "Packets", "% Bytes", "Bytes")
        root = self.hierarchy
        for depth, node in root.walk():
            t.add_row(
                Text("· " * depth + node.name),
                _pct(node.frames, root.frames),
                node.frames,
                _pct(node.bytes, root.bytes),
                node.bytes,
            )

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        table_id = event.data_table.id or ""
        table, _, kind = table_id.partition("-")
        if self.stats is None or table not in ("conv", "ep") or kind not in dict(CONV_KINDS):
            return
        row = [str(c) for c in event.data_table.get_row_at(event.cursor_row)]
        if table == "conv":
            off = 1 if kind in ("tcp", "udp") else 0
            text = conversation_filter(kind, row[off], row[off + 1])
        else:
            text = conversation_filter(kind, row[0])
        self.apply_as_filter(text)

    def apply_as_filter(self, text: str) -> None:
        """Close the screen and show only the packets matching ``text`` in the packet list."""
        app: Any = self.app
        self.dismiss(None)
        if hasattr(app, "apply_filter") and app.apply_filter(text):
            inp = getattr(app, "filter_input", None)
            if inp is not None:
                inp.value = text
            self.notify(f"display filter: {text}")

    def _fill_conversations(self, kind: str) -> None:
        st = self.stats
        t = self.query_one(f"#conv-{kind}", DataTable)
        t.clear(columns=True)
        cols = [
            "Address A",
            "Address B",
            "Packets",
            "Bytes",
            "A→B pkts",
            "A→B bytes",
            "B→A pkts",
            "B→A bytes",
        ]
        if kind in ("tcp", "udp"):
            cols.insert(0, "Stream")
        t.add_columns(*cols, "Rel start", "Duration")
        first = st.first_ns or 0
        for c in st.conversations(kind):
            row: list[object] = [c.a, c.b, c.total_frames, c.total_bytes, c.frames[0], c.bytes[0]]
            row += [c.frames[1], c.bytes[1]]
            if kind in ("tcp", "udp"):
                row.insert(0, c.stream)
            t.add_row(*row, f"{(c.first_ns - first) / 1e9:.6f}", f"{c.duration:.4f}")
        tab = self.query_one("#conv-tabs", TabbedContent)
        tab.get_tab(f"tab-conv-{kind}").label = f"{dict(CONV_KINDS)[kind]} · {t.row_count}"

    def _fill_endpoints(self, kind: str) -> None:
        t = self.query_one(f"#ep-{kind}", DataTable)
        t.clear(columns=True)
        t.add_columns("Address", "Packets", "Bytes", "Tx pkts", "Tx bytes", "Rx pkts", "Rx bytes")
        for e in self.stats.endpoints(kind):
            t.add_row(e.address, e.frames, e.bytes, e.tx_frames, e.tx_bytes, e.rx_frames, e.rx_bytes)
        tab = self.query_one("#ep-tabs", TabbedContent)
        tab.get_tab(f"tab-ep-{kind}").label = f"{dict(CONV_KINDS)[kind]} · {t.row_count}"

    def _fill_io(self) -> None:
        rows = self.stats.io(self.interval)
        t = self.query_one("#io", DataTable)
        t.clear(columns=True)
        t.add_columns("Start (s)", "Packets", "Bytes", "bits/s", f"Packets per {self.interval:g} s")
        peak = max((fr for _, fr, _ in rows), default=0)
        for start, fr, by in rows[:10_000]:
            t.add_row(f"{start:.3f}", fr, by, f"{by * 8 / self.interval:.0f}", _bar(fr, peak))
        self.query_one("#io-spark", Sparkline).data = [fr for _, fr, _ in rows[:2000]] or [0]
