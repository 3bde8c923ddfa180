"""Multicast panel: the kernel's membership table joined with the IGMP/MLD messages and group streams in the store."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from sniffer.errors import SnifferError
from sniffer.model.multicast import KernelMembership, MembershipView
from sniffer.model.store import PacketStore
from sniffer.ui.panels.common import PanelScreen

REFRESH_S = 1.0
KernelReader = Callable[[], list[KernelMembership]]


@lru_cache(maxsize=4096)
def _is_multicast(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_multicast
    except ValueError:
        return False


def read_kernel() -> list[KernelMembership]:
    """This namespace's membership table (/proc/net/igmp, igmp6, mcfilter, mcfilter6)."""
    from sniffer.gen.mcast.proc import read_memberships

    return read_memberships()


def observe_packets(
    view: MembershipView,
    store: PacketStore,
    indices: Sequence[int],
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """Feed packets to ``view``: IGMP/MLD messages to the membership side, UDP to a group to the streams.

    Returns how many packets were fed (stops early when cancelled).
    """
    from sniffer.decode.fields import frame_fields

    try:
        from sniffer.model.l4 import transport
    except ImportError:  # the flow layer is not there yet: no per-stream view
        transport = None  # type: ignore[assignment]
    for k, i in enumerate(indices):
        if k % 1024 == 0 and cancelled():
            return k
        row = store.row(i)
        proto = row.protocol.upper()
        if proto.startswith(("IGMP", "ICMPV6", "MLD")):
            frame = store.frame(i)
            view.observe(frame.ts_ns, frame_fields(frame))
        elif transport is not None and _is_multicast(row.dst):
            frame = store.frame(i)
            t = transport(frame)
            if t is not None and t.proto == 17 and not t.quoted and t.frag is None:
                view.observe_datagram(frame.ts_ns, t.src, t.sport, t.dst, t.dport, t.payload)
    return len(indices)


def _members_text(members: Sequence[str], limit: int = 2, count: bool = True) -> str:
    if not members:
        return "-"
    text = " ".join(members[:limit]) + (f" +{len(members) - limit}" if len(members) > limit else "")
    return f"{len(members)}: {text}" if count else text


class McastScreen(PanelScreen):
    """Per group: kernel memberships, members and version on the wire, last report, querier, timers,
    join/leave timeline; per stream: rate, loss, gaps (sequence-numbered `sniffer mcast send` datagrams)."""

    TITLE_TEXT = "Multicast groups"
    BINDINGS = [
        Binding("k", "toggle_kernel", "Kernel table on/off"),
        Binding("r", "rescan", "Rescan"),
    ]
    DEFAULT_CSS = """
    McastScreen #mc-queriers { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    McastScreen #mc-groups { height: 1fr; }
    McastScreen #mc-lower { height: 1fr; }
    McastScreen #mc-timeline { width: 1fr; height: 1fr; border: round $accent; }
    McastScreen #mc-streams { width: 1fr; height: 1fr; border: round $accent; }
    McastScreen.-narrow #mc-timeline { width: 3fr; }
    McastScreen.-narrow #mc-streams { width: 2fr; }
    """
    # below 100 columns the timeline gets 3/5 of the width (its Detail column fits at 80; the streams
    # table scrolls sideways)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(self, kernel: KernelReader | None = read_kernel, refresh_s: float = REFRESH_S) -> None:
        """Args:
        kernel: reads the kernel's membership table (None: leave it out, e.g. for another host's capture).
        """
        super().__init__()
        self.kernel_reader = kernel
        self.kernel_on = kernel is not None
        self.refresh_s = refresh_s
        self.mview = MembershipView()
        self.scanned = 0  # store packets fed so far
        self.loaded = False
        self.kernel_error = ""
        self._group_order: list[str] = []
        self._selected: str | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield Static("", id="mc-queriers")
        yield DataTable(id="mc-groups", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="mc-lower"):
            yield DataTable(id="mc-timeline", cursor_type="row")
            yield DataTable(id="mc-streams", cursor_type="row")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#mc-groups", DataTable).add_columns(
            "Group", "Kernel (users)", "Mode", "Members", "Ver", "Last rep", "Rep", "Lv", "Timer", "Str", "Pkts", "pps", "Lost"
        )  # fmt: skip
        tl = self.query_one("#mc-timeline", DataTable)
        tl.add_columns("Time", "Event", "Who", "Detail")
        tl.border_title = "Timeline"
        st = self.query_one("#mc-streams", DataTable)
        st.add_columns("Sender", "Port", "Pkts", "pps", "Lost", "Gaps", "Dup", "Reord", "Delay ms")
        st.border_title = "Streams"
        self.action_rescan()
        self.set_interval(self.refresh_s, self._refresh_data)

    # -- data ----------------------------------------------------------------------------------------------
    def action_rescan(self) -> None:
        self.mview = MembershipView()
        self.scanned = 0
        self._refresh_data()

    def action_toggle_kernel(self) -> None:
        if self.kernel_reader is None:
            self.notify("no kernel table reader for this view")
            return
        self.kernel_on = not self.kernel_on
        if not self.kernel_on:
            self.mview.update_kernel([], time.time_ns())
        self._refresh_data()

    def _refresh_data(self) -> None:
        if self._busy:
            return
        self._busy = True
        self._feed(self.scanned, self.app.store.count)  # type: ignore[attr-defined]

    @work(thread=True, exclusive=True, group="mcast")
    def _feed(self, start: int, end: int) -> None:
        worker = get_current_worker()
        try:
            n = observe_packets(self.mview, self.app.store, range(start, end), lambda: worker.is_cancelled)  # type: ignore[attr-defined]
            error = ""
            if self.kernel_on and self.kernel_reader is not None:
                try:
                    self.mview.update_kernel(self.kernel_reader(), time.time_ns())
                except (SnifferError, OSError) as exc:
                    error = f"kernel table: {exc}"
            self.scanned = start + n
        finally:
            self._busy = False
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply_view, start + n, error)

    # -- display -------------------------------------------------------------------------------------------
    def _ts(self, ts_ns: int | None, event: str = "") -> str:
        if ts_ns is None:
            return "-"
        store = self.app.store  # type: ignore[attr-defined]
        if event.startswith("kernel") or not store.count:
            return time.strftime("%H:%M:%S", time.localtime(ts_ns / 1e9))
        return f"{(ts_ns - store.ts[0]) / 1e9:.3f}"

    def _apply_view(self, scanned: int, error: str) -> None:
        self.loaded = True
        self.kernel_error = error
        v = self.mview
        table = self.query_one("#mc-groups", DataTable)
        rows = v.rows()
        cursor = table.cursor_row
        table.clear()
        self._group_order = []
        for r in rows:
            g = v.group(r["group"])
            assert g is not None
            ver = f"v{r['version']}" if r["version"] else "-"
            if g.kernel and g.kernel[0].querier:
                ver += f" (k {g.kernel[0].querier})"
            table.add_row(
                r["group"], _members_text(r["kernel"], 2, count=False), r["mode"] or "-", _members_text(r["members"]), ver,
                self._ts(r["last_report_ns"]), r["reports"], r["leaves"],
                " ".join(f"{t:.1f}s" for t in r["timers"]) or "-", r["streams"] or "-",
                r["packets"] or "-", f"{r['rate_pps']:.1f}" if r["streams"] else "-", r["lost"] if r["streams"] else "-",
            )  # fmt: skip
            self._group_order.append(r["group"])
        if self._group_order:
            table.move_cursor(row=min(max(0, cursor), len(self._group_order) - 1))
        qs = v.queriers()
        qtext = (
            "Queriers: "
            + "; ".join(
                f"{q.address} {'IGMP' if q.family == 'ipv4' else 'MLD'}v{q.version} queries {q.queries} last {self._ts(q.last_query_ns)}"
                + (f" qrv {q.qrv}" if q.qrv is not None else "")
                + (f" qqic {q.qqic}" if q.qqic is not None else "")
                + (f" max-resp {q.max_resp}" if q.max_resp is not None else "")
                for q in qs
            )
            if qs
            else "Queriers: none seen"
        )
        self.query_one("#mc-queriers", Static).update(qtext)
        kernel = "kernel table off" if not self.kernel_on else (error or "kernel table on")
        self.set_status(
            f"{len(rows)} groups · {len(v.streams())} streams · {scanned} packets scanned · {kernel}"
        )
        order = self._group_order
        self._show_group(self._selected if self._selected in order else (order[0] if order else None))

    @on(DataTable.RowHighlighted, "#mc-groups")
    def _group_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self._group_order):
            self._show_group(self._group_order[event.cursor_row])

    def _show_group(self, group: str | None) -> None:
        self._selected = group
        tl = self.query_one("#mc-timeline", DataTable)
        st = self.query_one("#mc-streams", DataTable)
        tl.clear()
        st.clear()
        if group is None:
            return
        g = self.mview.group(group)
        if g is None:
            return
        tl.border_title = f"Timeline of {group}"
        for ev in reversed(g.timeline):
            tl.add_row(self._ts(ev.ts_ns, ev.event), ev.event, ev.who, ev.detail)
        st.border_title = f"Streams to {group}"
        for s in self.mview.streams(group):
            d = s.to_dict()
            delay = d["delay_ms"]
            st.add_row(
                f"{s.source}:{s.sport}" + (f" #{s.sender:08x}" if s.sender is not None else ""), s.port, s.packets,
                f"{s.rate_pps():.1f}", d["lost"], d["gaps"], s.duplicates, s.reordered,
                f"{delay['avg']:.3f}" if delay else "-",
            )  # fmt: skip

    def group_rows(self) -> list[dict[str, Any]]:
        """The rows shown in the group table (for tests and scripting)."""
        return self.mview.rows()
