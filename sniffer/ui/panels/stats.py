"""Statistics screen: protocol hierarchy, conversations, endpoints and I/O rate over the packets in the store."""

from __future__ import annotations

import contextlib
import gc
import heapq
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Sparkline, TabbedContent, TabPane
from textual.worker import get_current_worker

from sniffer.frame import Frame
from sniffer.model.store import PacketStore
from sniffer.ui.columns import Strings
from sniffer.ui.panels.common import PanelScreen, filter_text, packet_indices
from sniffer.ui.vtable import Column, ColumnRows, VirtualTable, measure

CONV_KINDS = (("ip", "IPv4"), ("ipv6", "IPv6"), ("tcp", "TCP"), ("udp", "UDP"))
IO_INTERVALS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0)
LIVE_REFRESH_S = 2.0  # a live capture's tables take in the new packets this often
BAR_WIDTH = 40


SORT_SLICE = 8192  # endpoints sorted per slice (a few ms holding the GIL), then merged


def compute_statistics(
    store: PacketStore,
    indices: Sequence[int],
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    hierarchy: bool = True,
    into: Any = None,
) -> Any:
    """One pass of ``model.stats.Statistics`` over the given packets (store indices, in order).

    With ``hierarchy`` every packet is fully decoded for its frame.protocols (~6k packets/s) and only the
    protocol hierarchy is counted; without, conversations, endpoints and I/O (~100k packets/s). Returns the Statistics object,
    or None when cancelled. Runs in a worker thread. ``into``: a Statistics to add to (a live capture
    counted as it grows) instead of a new one.
    """
    from sniffer.decode.fields import frame_fields
    from sniffer.model.stats import Statistics

    st = into if into is not None else Statistics()
    for k, (i, frame) in enumerate(_frames(store, indices)):
        if k % 512 == 0:
            if cancelled():
                return None
            if progress is not None:
                progress(k)
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
        st.add_hierarchy(frame.wirelen, str(protocols), malformed)
    return st


def _frames(store: PacketStore, indices: Sequence[int]) -> Iterator[tuple[int, Frame]]:
    """(index, frame) for each index: every packet of a file is read in one sequential pass (3x faster
    than reading each packet back), a subset or a spool packet by packet."""
    n = len(indices)
    if (
        n
        and store.spool is None
        and store.path
        and indices[0] == 0
        and indices[-1] == n - 1 <= store.count - 1
    ):
        from sniffer.capture.pcapfile import open_capture

        with open_capture(store.path) as reader:
            for k, frame in enumerate(reader):
                if k >= n:
                    break
                yield k, frame
        return
    for i in indices:
        yield i, store.frame(i)


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


def _f6(v: float) -> str:
    return f"{v:.6f}"


def _f4(v: float) -> str:
    return f"{v:.4f}"


def _f3(v: float) -> str:
    return f"{v:.3f}"


CONV_COLUMNS = [
    Column("Address A"),
    Column("Address B"),
    Column("Packets", True),
    Column("Bytes", True),
    Column("A→B pkts", True),
    Column("A→B bytes", True),
    Column("B→A pkts", True),
    Column("B→A bytes", True),
    Column("Rel start", True, _f6),
    Column("Duration", True, _f4),
]
STREAM_COLUMN = Column("Stream", True)
EP_COLUMNS = [
    Column("Address"),
    Column("Packets", True),
    Column("Bytes", True),
    Column("Tx pkts", True),
    Column("Tx bytes", True),
    Column("Rx pkts", True),
    Column("Rx bytes", True),
]
PHS_COLUMNS = [
    Column("Protocol"),
    Column("% Packets", True),
    Column("Packets", True),
    Column("% Bytes", True),
    Column("Bytes", True),
]


def conversation_rows(st: Any, kind: str) -> ColumnRows:
    """Rows of the conversation table of ``kind``, by column (built in the worker, shown virtually):
    (stream for tcp/udp,) A, B, packets, bytes, A→B packets, bytes, B→A packets, bytes, start, duration."""
    first = st.first_ns or 0
    stream = kind in ("tcp", "udp")
    streams, a, b = array("q"), [], []
    nums = [array("q") for _ in range(6)]
    times = [array("d"), array("d")]
    pk, by, abp, abb, bap, bab = nums
    for s, ca, cb, f0, f1, b0, b1, t0, t1 in st.iter_conversations(kind):
        if stream:
            streams.append(s)
        a.append(ca)
        b.append(cb)
        pk.append(f0 + f1)
        by.append(b0 + b1)
        abp.append(f0)
        abb.append(b0)
        bap.append(f1)
        bab.append(b1)
        times[0].append((t0 - first) / 1e9)
        times[1].append((t1 - t0) / 1e9)
    cols: list[Any] = [Strings.encode(a), Strings.encode(b), *nums, *times]
    return ColumnRows([streams, *cols] if stream else cols)


def endpoint_rows(conv: ColumnRows, stream: bool) -> ColumnRows:
    """Rows of the endpoint table, by column (address, packets, bytes, Tx/Rx packets, bytes; most bytes
    first), summed from the conversation rows of the same kind (``stream``: they start with the stream
    column) as ``Statistics.endpoints`` sums its conversations: no second walk of the flow table, and
    the addresses are the conversation rows' own strings."""
    off = 1 if stream else 0
    ca, cb, abp, abb, bap, bab = (conv.cols[off + k] for k in (0, 1, 4, 5, 6, 7))
    a, b = list(ca), list(cb)  # the addresses as plain lists for the loop below (the same str objects)
    eps: dict[str, list[int]] = {}
    get = eps.get
    for i in range(len(conv)):
        f0, b0, f1, b1 = abp[i], abb[i], bap[i], bab[i]
        e = get(a[i])
        if e is None:
            e = eps[a[i]] = [0, 0, 0, 0]
        e[0] += f0
        e[1] += b0
        e[2] += f1
        e[3] += b1
        e = get(b[i])
        if e is None:
            e = eps[b[i]] = [0, 0, 0, 0]
        e[0] += f1
        e[1] += b1
        e[2] += f0
        e[3] += b0
    # most bytes first, then by address: sorted in slices of SORT_SLICE and merged. One ``sorted`` of
    # 100k+ endpoints holds the GIL for its whole C sort (~0.2-0.3 s under load): keys typed meanwhile
    # waited. A slice sorts in a few ms and the merge is a Python generator the GIL switches out of.
    # (Not pyarrow: importing it here costs ~90 MB and its own pause when no column sort loaded it yet.)
    keys = [(-(e[1] + e[3]), k) for k, e in eps.items()]
    slices = [sorted(keys[i : i + SORT_SLICE]) for i in range(0, len(keys), SORT_SLICE)]
    addr = [k for _, k in heapq.merge(*slices)]
    nums = [array("q") for _ in range(6)]
    fr, by, txf, txb, rxf, rxb = nums
    for k in addr:
        tf, tb, rf, rb = eps[k]
        fr.append(tf + rf)
        by.append(tb + rb)
        txf.append(tf)
        txb.append(tb)
        rxf.append(rf)
        rxb.append(rb)
    return ColumnRows([Strings.encode(addr), *nums])


def build_tables(
    st: Any, final: bool = False, cancelled: Callable[[], bool] = lambda: False
) -> dict[str, tuple[list[Column], Sequence[tuple[Any, ...]], list[int]]] | None:
    """The conversation and endpoint tables of every kind ("conv-tcp": (columns, rows, widths)) from
    a counted ``Statistics``; None when cancelled. ``final``: the counts will not grow (a file, not a
    live capture): each conversation table of ``st`` is dropped once its rows are made (``forget``),
    so that the counted tables and their rows are not held at once (1M packets, 100k conversations:
    the pass peaked ~45 MB lower); the endpoint rows are made after, from the conversation rows."""
    tables: dict[str, tuple[list[Column], Sequence[tuple[Any, ...]], list[int]]] = {}
    conv: dict[str, ColumnRows] = {}
    if final:
        st.forget("eth")  # (counted by the model, no table here)
    for kind, _ in CONV_KINDS:
        conv[kind] = conversation_rows(st, kind)
        if final and kind != "tcp":  # (tcp and udp share the flow index: dropped after udp's rows)
            st.forget(kind)
        if cancelled():
            return None
    for kind, _ in CONV_KINDS:
        stream = kind in ("tcp", "udp")
        cols = [STREAM_COLUMN, *CONV_COLUMNS] if stream else CONV_COLUMNS
        tables[f"conv-{kind}"] = (cols, conv[kind], measure(cols, conv[kind]))
        rows = endpoint_rows(conv[kind], stream)
        tables[f"ep-{kind}"] = (EP_COLUMNS, rows, measure(EP_COLUMNS, rows))
        if cancelled():
            return None
    return tables


class StatisticsScreen(PanelScreen):
    """Wireshark's Statistics menu in one screen: hierarchy, conversations, endpoints, I/O rate.

    Counting runs in one pass in a worker thread; the tables are virtual (sniffer/ui/vtable.py): at a
    million packets and 100k conversations the screen stays responsive and only visible rows are drawn.
    """

    TITLE_TEXT = "Statistics"
    AUTO_FOCUS = "VirtualTable"  # keys go to the table (the rows filter takes them after /)
    BINDINGS = [
        Binding("d", "toggle_displayed", "All / displayed"),
        Binding("r", "rescan", "Rescan"),
        Binding("slash", "focus_rows_filter", "Filter rows"),
        Binding("plus,equals_sign", "interval(1)", "I/O interval +"),
        Binding("minus", "interval(-1)", "I/O interval -"),
    ]
    # Enter on a conversation or endpoint row applies it as the display filter and closes the screen
    DEFAULT_CSS = """
    StatisticsScreen TabbedContent { height: 1fr; }
    StatisticsScreen #io-spark { height: 3; margin: 0 1; }
    StatisticsScreen VirtualTable { height: 1fr; }
    StatisticsScreen #rows-filter { height: 1; border: none; padding: 0 1; }
    """

    def __init__(self, displayed: bool = False, interval: float = 1.0) -> None:
        super().__init__()
        self.displayed = displayed
        self.interval = interval
        self.stats: Any = None  # model.stats.Statistics of the last scan (no hierarchy)
        self.hierarchy: Any = None  # its PhsNode root, once the second pass is done
        self.scanned = 0
        self.counts: dict[str, int] = {}  # rows per table ("conv-tcp": 12)
        self.scanning = False  # a pass is running (the live refresh waits for it)
        self._acc: Any = None  # the Statistics the worker adds to (owned by the worker while it runs)
        self._acc_hier: Any = None
        self._tables: list[VirtualTable] = []
        self._froze = False  # a pass froze the objects alive (gc.freeze), this screen among them
        self._grows = False  # a live capture (or a growing file): its counts are added to, not final

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield Input(placeholder="/ filter the rows of this table (text in any column)", id="rows-filter")
        with TabbedContent(id="stats-tabs"):
            with TabPane("Hierarchy", id="tab-hierarchy"):
                yield VirtualTable(PHS_COLUMNS, sortable=False, id="phs")
            with TabPane("Conversations", id="tab-conv"), TabbedContent(id="conv-tabs"):
                for kind, label in CONV_KINDS:
                    with TabPane(label, id=f"tab-conv-{kind}"):
                        yield VirtualTable(id=f"conv-{kind}")
            with TabPane("Endpoints", id="tab-ep"), TabbedContent(id="ep-tabs"):
                for kind, label in CONV_KINDS:
                    with TabPane(label, id=f"tab-ep-{kind}"):
                        yield VirtualTable(id=f"ep-{kind}")
            with TabPane("I/O rate", id="tab-io"):
                yield Sparkline([], id="io-spark")
                yield VirtualTable(id="io", sortable=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self._tables = list(self.query(VirtualTable))
        app: Any = self.app
        self._grows = getattr(app, "live", False) and getattr(app, "source", None) is not None
        self.action_rescan()
        if self._grows:  # a live capture (or a growing file, or playback): the tables follow it
            self.set_interval(LIVE_REFRESH_S, self._grow)

    def on_unmount(self) -> None:
        """The counts and tables go now, by reference count (the screen itself is cyclic garbage, and
        it was alive when the counting froze what was alive: ``gc.unfreeze`` lets a later collection
        take it). Without this every closed Statistics screen stayed, with its tables."""
        self.stats = self.hierarchy = self._acc = self._acc_hier = None
        for t in self._tables:
            t.release()
        if self._froze:
            self._froze = False
            gc.unfreeze()

    def _grow(self) -> None:
        """Count the packets that arrived since the last pass into the same tables (not from scratch)."""
        if self.scanning or self.stats is None:
            return
        indices = packet_indices(self.app, self.displayed)
        if len(indices) > self.scanned:
            self.scanning = True
            self._scan(indices, self.scanned)

    # -- scanning ----------------------------------------------------------------------------------------
    def action_rescan(self) -> None:
        indices = packet_indices(self.app, self.displayed)
        flt = filter_text(self.app)
        scope = f"displayed (filter: {flt})" if self.displayed and flt else "all"
        self.query_one("#panel-title").update(f"Statistics — {len(indices)} packets, {scope}")  # type: ignore[attr-defined]
        self.set_status(f"Scanning {len(indices)} packets…")
        self.scanning = True
        self._scan(indices, 0)

    def action_toggle_displayed(self) -> None:
        self.displayed = not self.displayed
        self.action_rescan()

    def action_interval(self, step: int) -> None:
        pos = min(range(len(IO_INTERVALS)), key=lambda k: abs(IO_INTERVALS[k] - self.interval))
        self.interval = IO_INTERVALS[max(0, min(len(IO_INTERVALS) - 1, pos + step))]
        if self.stats is not None and not self.scanning:  # (a pass in progress draws it when done)
            self._fill_io()

    @work(thread=True, exclusive=True, group="stats")
    def _scan(self, indices: Sequence[int], start: int = 0) -> None:
        """Two passes: conversations, endpoints and I/O first (fast), then the hierarchy (full decode).

        The table rows are built here too, off the UI thread; the UI only swaps them in. ``start`` > 0:
        ``indices[:start]`` are already counted (a live capture grew): only the rest is added. The app's
        background state threads (the packet list's TCP analysis) wait meanwhile (``held_background``)."""
        held = getattr(self.app, "held_background", None)
        with held() if held is not None else contextlib.nullcontext():
            self._scan_passes(indices, start)

    def _scan_passes(self, indices: Sequence[int], start: int) -> None:
        worker = get_current_worker()
        total = len(indices)
        store = self.app.store  # type: ignore[attr-defined]
        if start == 0 or self._acc is None:
            from sniffer.model.stats import Statistics

            start, self._acc, self._acc_hier = 0, Statistics(), Statistics()
        acc, acc_hier = self._acc, self._acc_hier
        new = indices[start:]

        def progress(what: str) -> Callable[[int], None]:
            def report(k: int) -> None:
                if total > 5000 and k % 8192 == 0:
                    text = f"{what}: {100 * k // max(1, total)}% of {total} packets…"
                    self.app.call_from_thread(self.set_status, text)

            return report

        # the counting makes millions of small objects that hold no cycles: a full garbage collection
        # over them (about a second at 1M packets, holding the GIL) would freeze the UI thread
        gc.disable()
        try:
            tables = self._count(store, new, acc, worker, progress)
        finally:
            if not worker.is_cancelled and self.is_attached:
                gc.freeze()  # what is alive now stays out of later full collections (on_unmount: back)
                self._froze = True
            gc.enable()
        if tables is None:
            self._acc = None  # partly counted: the next pass starts over
            return
        st, rows = tables
        io_rows = st.io(self.interval)
        self.app.call_from_thread(self._apply_stats, st, total, rows, io_rows)
        hier = compute_statistics(
            store, new, progress("Protocol hierarchy"), lambda: worker.is_cancelled, into=acc_hier
        )
        if hier is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._apply_hierarchy, hier)
        else:
            self._acc = None

    def _count(
        self,
        store: PacketStore,
        indices: Sequence[int],
        acc: Any,
        worker: Any,
        progress: Callable[[str], Any],
    ) -> tuple[Any, dict[str, Any]] | None:
        st = compute_statistics(store, indices, progress("Counting"), lambda: worker.is_cancelled, False, acc)
        if st is None or worker.is_cancelled:
            return None
        if len(indices) > 5000:
            self.app.call_from_thread(self.set_status, "Building the tables…")
        tables = build_tables(st, not self._grows, lambda: worker.is_cancelled)
        if tables is None:
            return None
        return st, tables

    # -- display -------------------------------------------------------------------------------------------
    def _apply_stats(self, st: Any, total: int, tables: dict[str, Any], io_rows: Any = None) -> None:
        first = self.stats is None or self.hierarchy is None
        self.stats = st
        self.scanned = total
        self.counts = {}
        for kind, label in CONV_KINDS:
            for table in ("conv", "ep"):
                cols, rows, widths = tables[f"{table}-{kind}"]
                self._set(f"{table}-{kind}", cols, rows, widths)
                self.counts[f"{table}-{kind}"] = len(rows)
                tabs = self.query_one(f"#{table}-tabs", TabbedContent)
                tabs.get_tab(f"tab-{table}-{kind}").label = f"{label} · {len(rows)}"
        self._fill_io(io_rows)
        if first:
            self.hierarchy = None
            self._set("phs", [Column("Protocol hierarchy: decoding every packet…")], [])
        self.set_status(self._summary())

    def _set(
        self,
        table_id: str,
        columns: list[Column],
        rows: Sequence[tuple[Any, ...]],
        widths: list[int] | None = None,
    ) -> None:
        t = self.query_one(f"#{table_id}", VirtualTable)
        t.set_data(columns, rows, widths)
        if t is self.current_table():
            t.set_filter(self.query_one("#rows-filter", Input).value)

    def _apply_hierarchy(self, hier: Any) -> None:
        self.hierarchy = hier.hierarchy
        self.scanning = False
        self._fill_io()  # at the interval chosen now (keys during the pass did not redraw it)
        self._fill_hierarchy()
        self.set_status(self._summary())

    def _summary(self) -> str:
        st = self.stats
        if st is None:
            return "Scanning…"
        counts = ", ".join(f"{label} {self.counts.get('conv-' + kind, 0)}" for kind, label in CONV_KINDS)
        return f"{st.frames} packets, {st.bytes} bytes, {st.duration:.3f} s · conversations: {counts}"

    def _fill_hierarchy(self) -> None:
        root = self.hierarchy
        rows = [
            (
                "· " * depth + node.name,
                _pct(node.frames, root.frames),
                node.frames,
                _pct(node.bytes, root.bytes),
                node.bytes,
            )
            for depth, node in root.walk()
        ]
        self._set("phs", PHS_COLUMNS, rows)

    # -- the rows filter and the table in view ----------------------------------------------------------
    def current_table(self) -> VirtualTable | None:
        """The table of the tab in view."""
        active = self.query_one("#stats-tabs", TabbedContent).active
        if active == "tab-hierarchy":
            return self.query_one("#phs", VirtualTable)
        if active == "tab-io":
            return self.query_one("#io", VirtualTable)
        inner = self.query_one("#conv-tabs" if active == "tab-conv" else "#ep-tabs", TabbedContent).active
        if not inner:
            return None
        return self.query_one("#" + inner.removeprefix("tab-"), VirtualTable)

    def action_focus_rows_filter(self) -> None:
        self.query_one("#rows-filter", Input).focus()

    @on(Input.Changed, "#rows-filter")
    def _rows_filter_changed(self, event: Input.Changed) -> None:
        t = self.current_table()
        if t is not None:
            t.set_filter(event.value)

    @on(Input.Submitted, "#rows-filter")
    def _rows_filter_done(self) -> None:
        t = self.current_table()
        if t is not None:
            t.focus()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        t = self.current_table()
        text = self.query_one("#rows-filter", Input).value
        if t is not None and t.filter_text != text:
            t.set_filter(text)

    @on(VirtualTable.RowSelected)
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        table_id = event.table.id or ""
        table, _, kind = table_id.partition("-")
        if self.stats is None or table not in ("conv", "ep") or kind not in dict(CONV_KINDS):
            return
        row = event.row
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
                inp.cursor_position = len(text)
            self.notify(f"display filter: {text}")

    def _fill_io(self, rows: Any = None) -> None:
        if rows is None:
            rows = self.stats.io(self.interval)
        peak = max((fr for _, fr, _ in rows), default=0)
        iv = self.interval
        cols = [
            Column("Start (s)", True, _f3),
            Column("Packets", True),
            Column("Bytes", True),
            Column("bits/s", True),
            Column(f"Packets per {iv:g} s"),
        ]
        self._set("io", cols, [(start, fr, by, round(by * 8 / iv), _bar(fr, peak)) for start, fr, by in rows])
        self.query_one("#io-spark", Sparkline).data = [fr for _, fr, _ in rows[:2000]] or [0]
