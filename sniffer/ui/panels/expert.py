"""Expert information (Wireshark's Analyze > Expert Information): every expert item of the capture
(bad checksums, malformed packets, protocol warnings, IPv4 TTL notes, HTTP chats, reassembly notes and
the TCP analysis' retransmissions, duplicate ACKs, zero windows...) grouped by severity, group, protocol
and message with their counts, or every item with its packet; Enter jumps to the packet. The same pass
finds the packets of Wireshark's "Bad TCP" colouring rule (``tcp.analysis.flags &&
!tcp.analysis.window_update && !tcp.analysis.keep_alive && !tcp.analysis.keep_alive_ack``), which the
packet list then colours.

The pass is ``model.expert.ExpertScan`` (the code ``sniffer stats --expert`` runs): every frame of the
capture fed through it in capture order, in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from sniffer.model.store import PacketStore
from sniffer.model.tcpanalysis import PI_CHAT, PI_ERROR, PI_NOTE, PI_WARN, ExpertTally, group_name
from sniffer.ui.panels.common import PanelScreen, goto_index
from sniffer.ui.vtable import Column, VirtualTable, measure

SEVERITY_NAMES = {PI_ERROR: "Error", PI_WARN: "Warning", PI_NOTE: "Note", PI_CHAT: "Chat"}
SEVERITY_ORDER = (PI_ERROR, PI_WARN, PI_NOTE, PI_CHAT)
NOT_BAD = ("tcp.analysis.window_update", "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack")
SUMMARY_WIDTH = 64
MAX_ITEMS = 1_000_000  # per-item rows kept at most (the counts go on)


@dataclass
class ExpertResult:
    """What one pass over a capture found."""

    tally: ExpertTally = field(default_factory=ExpertTally)
    first: dict[tuple[int, int, str, str], int] = field(default_factory=dict)  # key -> store index
    items: list[tuple[int, int, int, str, str]] = field(
        default_factory=list
    )  # (index, sev, group, proto, msg)
    bad_tcp: set[int] = field(default_factory=set)  # store indices matching the Bad TCP rule
    frames: int = 0


def analyse(store: PacketStore, count: int, cancelled: Callable[[], bool] = lambda: False) -> ExpertResult:
    """Feed packets 0..count-1 of ``store`` through an ExpertScan in order (as ``stats --expert``)."""
    from sniffer.model.expert import ExpertScan

    res = ExpertResult()
    scan = ExpertScan()
    counts, first, items = res.tally.counts, res.first, res.items
    for i in range(count):
        if i % 4096 == 0 and cancelled():
            break
        found, extra = scan.feed(i + 1, store.frame(i))
        res.frames = i + 1
        if extra is not None and "tcp.analysis.flags" in extra and not any(k in extra for k in NOT_BAD):
            res.bad_tcp.add(i)
        for m, s, g, proto in found:
            key = (s, g, proto, m)
            n = counts.get(key)
            if n is None:
                counts[key] = 1
                first[key] = i
            else:
                counts[key] = n + 1
            if len(items) < MAX_ITEMS:
                items.append((i, s, g, proto, m))
    return res


GROUPED_COLUMNS = [
    Column("Severity"),
    Column("Group"),
    Column("Protocol"),
    Column("Summary", flex=True),
    Column("Count", numeric=True),
    Column("First", numeric=True),
]
ITEM_COLUMNS = [
    Column("No.", numeric=True),
    Column("Severity"),
    Column("Group"),
    Column("Protocol"),
    Column("Summary", flex=True),
]


def grouped_rows(res: ExpertResult) -> list[tuple[Any, ...]]:
    """One row per (severity, group, protocol, message), errors first, then by count."""
    rows = []
    for sev in SEVERITY_ORDER:
        keys = sorted((k for k in res.tally.counts if k[0] == sev), key=lambda k: -res.tally.counts[k])
        for k in keys:
            s, g, proto, msg = k
            rows.append(
                (
                    SEVERITY_NAMES.get(s, str(s)),
                    group_name(g),
                    proto,
                    msg,
                    res.tally.counts[k],
                    res.first[k] + 1,
                )
            )
    return rows


def item_rows(res: ExpertResult) -> list[tuple[Any, ...]]:
    return [
        (i + 1, SEVERITY_NAMES.get(s, str(s)), group_name(g), proto, msg) for i, s, g, proto, msg in res.items
    ]


class ExpertScreen(PanelScreen):
    """Expert items grouped with counts (``p``: every item with its packet); Enter goes to the packet."""

    TITLE_TEXT = "Expert information"
    BINDINGS = [
        Binding("p", "toggle_items", "Grouped / every item"),
    ]
    DEFAULT_CSS = """
    ExpertScreen VirtualTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.result: ExpertResult | None = None
        self.per_item = False
        self.ready = False

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield VirtualTable(GROUPED_COLUMNS, id="expert-table")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        app: Any = self.app
        cached = getattr(app, "expert_result", None)
        if cached is not None and cached.frames == app.store.count:
            self._show(cached)
        else:
            self.set_status("Analysing…")
            self._work(app.store, app.store.count)
        self.query_one(VirtualTable).focus()

    @work(thread=True, exclusive=True, group="expert")
    def _work(self, store: PacketStore, count: int) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        res = analyse(store, count, lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._done, res)

    def _done(self, res: ExpertResult) -> None:
        app: Any = self.app
        hook = getattr(app, "set_expert_result", None)
        if callable(hook):
            hook(res)
        self._show(res)

    def _show(self, res: ExpertResult) -> None:
        self.result = res
        self.ready = True
        self._fill()

    def _fill(self) -> None:
        res = self.result
        if res is None:
            return
        table = self.query_one(VirtualTable)
        columns = ITEM_COLUMNS if self.per_item else GROUPED_COLUMNS
        rows = item_rows(res) if self.per_item else grouped_rows(res)
        widths = measure(columns, rows)
        k = [c.label for c in columns].index("Summary")  # messages are long: up to 64 columns
        widths[k] = min(SUMMARY_WIDTH, max([widths[k], *(len(r[k]) for r in rows[:2000])]))
        table.set_data(columns, rows, widths)
        total = sum(res.tally.counts.values())
        per = {s: sum(n for k, n in res.tally.counts.items() if k[0] == s) for s in SEVERITY_ORDER}
        parts = [f"{n} {SEVERITY_NAMES[s].lower()}s" for s, n in per.items() if n]
        self.set_status(
            f"{total} items ({', '.join(parts) or 'none'}) in {res.frames} packets · {len(res.bad_tcp)} Bad TCP"
            f" · p: {'grouped' if self.per_item else 'every item'} · Enter: go to it"
        )

    def action_toggle_items(self) -> None:
        self.per_item = not self.per_item
        self._fill()

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        number = int(event.row[0] if self.per_item else event.row[5])
        self.dismiss(None)
        if not goto_index(self.app, number - 1):
            self.app.notify(f"packet {number} is not shown (display filter)", severity="warning")
