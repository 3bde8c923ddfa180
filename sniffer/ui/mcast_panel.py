"""Multicast panel: per group the kernel's memberships joined with IGMP/MLD seen on the wire, and streams."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from sniffer.model.multicast import GroupState, KernelMembership, MembershipView

COLUMNS = ("Group", "Kernel (iface/users)", "Mode", "Members", "Ver", "Last report", "Timers", "Streams", "Pkts",
           "Lost", "pps")  # fmt: skip


def _age(ts_ns: int | None, now_ns: int) -> str:
    if ts_ns is None:
        return "-"
    s = max(0.0, (now_ns - ts_ns) / 1e9)
    return f"{s:.1f}s ago" if s < 120 else f"{s / 60:.0f}m ago"


class McastPanel(Vertical):
    """A table of groups and, below it, the highlighted group's members, querier, streams and timeline.

    ``view`` is fed elsewhere (capture thread via the app, on the UI thread); ``kernel`` (optional) is
    polled every ``refresh_s`` for a fresh /proc snapshot (sniffer.gen.mcast_proc.read_memberships).
    """

    DEFAULT_CSS = """
    McastPanel { height: 1fr; }
    McastPanel DataTable { height: 2fr; }
    McastPanel #mcast-detail { height: 1fr; border-top: solid $accent; padding: 0 1; }
    """

    def __init__(
        self,
        view: MembershipView,
        kernel: Callable[[], list[KernelMembership]] | None = None,
        refresh_s: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
        **kw: object,
    ) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.view = view
        self._kernel = kernel
        self._refresh_s = refresh_s
        self._clock = clock
        self._keys: list[str] = []

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="mcast-groups", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="mcast-detail")

    def on_mount(self) -> None:
        self.refresh_view()
        if self._refresh_s > 0:
            self.set_interval(self._refresh_s, self.refresh_view)

    def refresh_view(self) -> None:
        now = self._clock()
        if self._kernel is not None:
            self.view.update_kernel(self._kernel(), now)
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        self._keys = []
        for row in self.view.rows(now):
            self._keys.append(row["group"])
            table.add_row(
                row["group"],
                " ".join(row["kernel"]) or "-",
                row["mode"] or "-",
                str(len(row["members"])),
                f"v{row['version']}" if row["version"] else "-",
                _age(row["last_report_ns"], now),
                " ".join(f"{t:.1f}s" for t in row["timers"]) or "-",
                str(row["streams"]),
                str(row["packets"]),
                str(row["lost"]),
                f"{row['rate_pps']:.0f}",
                key=row["group"],
            )
        if self._keys:
            table.move_cursor(row=min(max(keep, 0), len(self._keys) - 1))
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def selected(self) -> GroupState | None:
        table = self.query_one(DataTable)
        if not self._keys or table.cursor_row < 0:
            return None
        return self.view.group(self._keys[min(table.cursor_row, len(self._keys) - 1)])

    def detail_text(self) -> Text:
        g = self.selected()
        now = self._clock()
        out = Text()
        if g is None:
            out.append("no multicast groups yet (joins in the kernel table or IGMP/MLD on the wire)")
            return out
        out.append(f"{g.group}", style="bold")
        out.append(f"  reports {g.reports}  leaves {g.leaves}  last query {_age(g.last_query_ns, now)}\n")
        for m in sorted(g.members.values(), key=lambda m: m.address):
            srcs = ",".join(sorted(m.sources)) or "any"
            out.append(
                f"  member {m.address} v{m.version} {m.mode} {{{srcs}}} {_age(m.last_report_ns, now)}\n"
            )
        for q in self.view.queriers():
            if q.family == g.family:
                out.append(
                    f"  querier {q.address} v{q.version} qrv={q.qrv} qqic={q.qqic} max_resp={q.max_resp} "
                    f"{_age(q.last_query_ns, now)}\n"
                )
        for s in self.view.streams(g.group):
            d = s.to_dict(now)
            out.append(
                f"  stream {s.source}:{s.sport} -> {s.port}: {d['packets']} pkts, lost {d['lost']} "
                f"({d['loss_pct']}%), gaps {d['gaps']}, dup {d['duplicates']}, {d['rate_pps']:.0f} pps\n"
            )
        for e in list(g.timeline)[-8:]:
            t = time.strftime("%H:%M:%S", time.localtime(e.ts_ns / 1e9))
            out.append(f"  {t} {e.event:<12} {e.who} {e.detail}\n")
        return out

    def _show_detail(self) -> None:
        self.query_one("#mcast-detail", Static).update(self.detail_text())
