"""Generated flows screen: flows found by the `sniffer gen` payload tag in the store, with missing sequence numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable
from textual.worker import get_current_worker

from sniffer.gen.core.payload import MAGIC, find_tags
from sniffer.model.store import PacketStore
from sniffer.ui.panels.common import PanelScreen, goto_index, mark_packets, packet_indices


@dataclass
class GenFlow:
    """One generated flow seen in the capture (all packets carrying its flow id)."""

    flow_id: int
    protocol: str = ""
    src: str = ""
    dst: str = ""
    packets: list[int] = field(default_factory=list)  # store indices, in order
    messages: int = 0  # tags seen (a TCP segment may carry several)
    echoes: int = 0  # tags with the ECHO flag (replies of raw IP / packet echo peers)
    seq_at: dict[int, int] = field(default_factory=dict)  # seq -> store index of its first packet
    last_seq: int | None = None  # seq of the tag flagged LAST
    first_ns: int = 0
    last_ns: int = 0

    @property
    def expected(self) -> int:
        """How many sequence numbers the flow should have: up to the LAST tag, or the highest seen."""
        if self.last_seq is not None:
            return self.last_seq + 1
        return max(self.seq_at) + 1 if self.seq_at else 0

    def missing(self) -> list[int]:
        """Sequence numbers never seen (0 .. expected-1)."""
        seen = self.seq_at
        return [s for s in range(self.expected) if s not in seen]

    def gaps(self) -> list[tuple[int, int, int | None, int | None]]:
        """Runs of missing seqs: (first, last, store index of the packet before, of the packet after)."""
        out: list[tuple[int, int, int | None, int | None]] = []
        for s in self.missing():
            if out and out[-1][1] == s - 1:
                first, _, before, after = out[-1]
                out[-1] = (first, s, before, after)
            else:
                out.append((s, s, self.seq_at.get(s - 1), None))
        return [(a, b, before, self.seq_at.get(b + 1)) for a, b, before, _ in out]


def ranges_text(seqs: Sequence[int], limit: int = 8) -> str:
    """'3-4, 7, 10-12' (at most ``limit`` runs, then '…')."""
    runs: list[list[int]] = []
    for s in seqs:
        if runs and runs[-1][1] == s - 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        parts.append(f"… ({len(runs) - limit} more runs)")
    return ", ".join(parts)


def scan_generated(
    store: PacketStore,
    indices: Sequence[int],
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[int, GenFlow] | None:
    """Find every tagged packet (gen/core/payload.py) among ``indices``; flows by id, or None when cancelled."""
    flows: dict[int, GenFlow] = {}
    for k, i in enumerate(indices):
        if k % 1024 == 0 and cancelled():
            return None
        frame = store.frame(i)
        if MAGIC not in frame.data:
            continue
        for tag in find_tags(frame.data):
            fl = flows.get(tag.flow_id)
            if fl is None:
                row = store.row(i)
                fl = flows[tag.flow_id] = GenFlow(
                    tag.flow_id, row.protocol, row.src, row.dst, first_ns=frame.ts_ns
                )
            if not fl.packets or fl.packets[-1] != i:
                fl.packets.append(i)
            fl.last_ns = frame.ts_ns
            fl.messages += 1
            if tag.is_echo:
                fl.echoes += 1
                continue
            fl.seq_at.setdefault(tag.seq, i)
            if tag.is_last:
                fl.last_seq = tag.seq
    return flows


def generated_indices(flows: dict[int, GenFlow]) -> set[int]:
    """Store indices of every generated packet (for marking them in the packet list)."""
    return {i for fl in flows.values() for i in fl.packets}


def gap_markers(flows: dict[int, GenFlow]) -> dict[int, list[str]]:
    """For the packet list: store index of the packet after which messages went missing -> notes."""
    out: dict[int, list[str]] = {}
    for fl in flows.values():
        for a, b, before, after in fl.gaps():
            at = before if before is not None else after
            if at is not None:
                n = b - a + 1
                out.setdefault(at, []).append(
                    f"flow {fl.flow_id:08x}: {n} missing (seq {ranges_text(range(a, b + 1))})"
                )
    return out


class GenFlowsScreen(PanelScreen):
    """Flows made by `sniffer gen` (tagged payloads): packets, missing sequence numbers, where the gaps are."""

    TITLE_TEXT = "Generated flows"
    BINDINGS = [
        Binding("m", "mark", "Mark generated packets"),
        Binding("x", "mark_gaps", "Mark gap edges"),
        Binding("d", "toggle_displayed", "All / displayed"),
        Binding("r", "rescan", "Rescan"),
    ]
    DEFAULT_CSS = """
    GenFlowsScreen #gen-flows { height: 1fr; }
    GenFlowsScreen #gen-gaps { height: 1fr; border-top: solid $accent; }
    """

    def __init__(self, displayed: bool = False) -> None:
        super().__init__()
        self.displayed = displayed
        self.flows: dict[int, GenFlow] | None = None
        self._order: list[int] = []
        self._gap_rows: list[int | None] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield DataTable(id="gen-flows", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="gen-gaps", cursor_type="row")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        t = self.query_one("#gen-flows", DataTable)
        t.add_columns(
            "Flow id",
            "Protocol",
            "Source",
            "Destination",
            "Packets",
            "Msgs",
            "Echo",
            "Seqs",
            "Missing",
            "Missing seqs",
        )
        g = self.query_one("#gen-gaps", DataTable)
        g.add_columns("Missing seqs", "Count", "After packet", "Before packet")
        self.action_rescan()

    def action_rescan(self) -> None:
        indices = packet_indices(self.app, self.displayed)
        self.set_status(f"Scanning {len(indices)} packets for generator tags…")
        self._scan(indices)

    def action_toggle_displayed(self) -> None:
        self.displayed = not self.displayed
        self.action_rescan()

    @work(thread=True, exclusive=True, group="genflows")
    def _scan(self, indices: Sequence[int]) -> None:
        worker = get_current_worker()
        flows = scan_generated(self.app.store, indices, lambda: worker.is_cancelled)  # type: ignore[attr-defined]
        if flows is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._apply_flows, flows, len(indices))

    def _apply_flows(self, flows: dict[int, GenFlow], scanned: int) -> None:
        self.flows = flows
        t = self.query_one("#gen-flows", DataTable)
        t.clear()
        self._order = sorted(flows, key=lambda f: (flows[f].packets[0], f))
        for fid in self._order:
            fl = flows[fid]
            miss = fl.missing()
            t.add_row(
                f"{fid:08x}", fl.protocol, fl.src, fl.dst, len(fl.packets), fl.messages, fl.echoes,
                f"0-{fl.expected - 1}" if fl.expected else "-", len(miss), ranges_text(miss) or "none",
            )  # fmt: skip
        total = sum(len(fl.packets) for fl in flows.values())
        lost = sum(len(fl.missing()) for fl in flows.values())
        self.set_status(
            f"{len(flows)} generated flows, {total} tagged packets of {scanned}, {lost} messages missing"
        )
        if self._order:
            self._show_gaps(self._order[0])

    @on(DataTable.RowHighlighted, "#gen-flows")
    def _flow_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.flows is not None and 0 <= event.cursor_row < len(self._order):
            self._show_gaps(self._order[event.cursor_row])

    def _show_gaps(self, fid: int) -> None:
        assert self.flows is not None
        g = self.query_one("#gen-gaps", DataTable)
        g.clear()
        self._gap_rows = []
        for a, b, before, after in self.flows[fid].gaps():
            g.add_row(
                f"{a}" if a == b else f"{a}-{b}", b - a + 1,
                "-" if before is None else before + 1, "-" if after is None else after + 1,
            )  # fmt: skip
            self._gap_rows.append(before if before is not None else after)
        g.border_title = f"Gaps of flow {fid:08x}"

    @on(DataTable.RowSelected, "#gen-gaps")
    def _gap_selected(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self._gap_rows):
            at = self._gap_rows[event.cursor_row]
            if at is not None:
                self.dismiss(None)
                goto_index(self.app, at)

    @on(DataTable.RowSelected, "#gen-flows")
    def _flow_selected(self, event: DataTable.RowSelected) -> None:
        if self.flows is not None and 0 <= event.cursor_row < len(self._order):
            self.dismiss(None)
            goto_index(self.app, self.flows[self._order[event.cursor_row]].packets[0])

    def action_mark_gaps(self) -> None:
        """Mark the last packet before every gap (the first after it when the gap is at the start)."""
        if self.flows is None:
            return
        n = mark_packets(self.app, sorted(gap_markers(self.flows)))
        self.notify(f"marked {n} packets where generated messages went missing (] / [ jump, M clears)")

    def action_mark(self) -> None:
        if self.flows is None:
            return
        n = mark_packets(self.app, sorted(generated_indices(self.flows)))
        self.notify(f"marked {n} generated packets (] / [ jump between marks, M clears)")


__all__ = ["GenFlow", "GenFlowsScreen", "gap_markers", "generated_indices", "ranges_text", "scan_generated"]
