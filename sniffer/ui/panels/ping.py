"""Ping panel screen: PingPanel + PingSession with targets typed by the user; probes and replies marked in the list."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label

from sniffer.errors import SnifferError
from sniffer.gen.ping.engine import PingOptions, PingSession, ProbeError, ProbeSent, ProbeTimeout, Reply
from sniffer.model.store import PacketStore
from sniffer.ui.panels.common import PanelScreen, mark_packets
from sniffer.ui.ping_panel import PingPanel

DEFAULT_TARGETS = "127.0.0.1 ::1"
MAX_LOG = 200
DEADLINE_S = 600.0  # every run is bounded in time as well as in count
SCAN_BUDGET = 20_000  # store packets examined per refresh for marking


def echo_key(store: PacketStore, i: int) -> tuple[int, int, int] | None:
    """(ICMP type, identifier, sequence) of packet ``i`` when it is an ICMP/ICMPv6 echo, else None."""
    row = store.row(i)
    if not row.protocol.upper().startswith("ICMP"):
        return None
    f = store.fields(i)
    if "icmp.ident" in f:
        return int(f.get("icmp.type", -1)), int(f["icmp.ident"]), int(f.get("icmp.seq", -1))
    if "icmpv6.echo.identifier" in f:
        return (
            int(f.get("icmpv6.type", -1)),
            int(f["icmpv6.echo.identifier"]),
            int(f.get("icmpv6.echo.sequence_number", -1)),
        )
    return None


class PingScreen(PanelScreen):
    """Type targets, start and stop a ping; RTT sparkline and loss per target; probes marked in the packet list."""

    TITLE_TEXT = "Ping"
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("f2", "start", "Start"),
        Binding("f3", "stop", "Stop"),
        Binding("escape", "close", "Close (stops)"),
    ]
    DEFAULT_CSS = """
    PingScreen #ping-form { height: auto; padding: 0 1; }
    PingScreen #ping-form Label { padding: 1 1 0 0; }
    PingScreen #ping-targets { width: 1fr; }
    PingScreen #ping-interval, PingScreen #ping-count { width: 12; }
    PingScreen #ping-area { height: auto; }
    PingScreen #ping-log { height: 1fr; }
    PingScreen.-narrow #ping-form { layout: grid; grid-size: 6 2; grid-columns: auto 1fr auto 1fr auto auto;
        grid-rows: 3 3; height: 6; }
    PingScreen.-narrow #ping-targets { column-span: 5; width: 1fr; }
    PingScreen.-narrow #ping-interval, PingScreen.-narrow #ping-count { width: 1fr; }
    PingScreen.-narrow Button { min-width: 8; width: auto; }
    """
    # below 100 columns the form takes two rows (targets alone on the first): on one row at 80 columns
    # the targets box had no width left and the Stop button was cut
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(
        self,
        targets: str = DEFAULT_TARGETS,
        interval: float = 0.2,
        count: int | None = 100,
        focus_targets: bool = True,
    ) -> None:
        super().__init__()
        self.focus_targets = focus_targets
        self.targets_text = targets
        self.interval = interval
        self.count = count
        self.session: PingSession | None = None
        self.panel: PingPanel | None = None
        self.wanted: set[tuple[int, int]] = set()  # (ident, seq) of the probes sent
        self.marked = 0
        self.events = 0
        self.replies = 0
        self._scan_from = 0

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        with Horizontal(id="ping-form"):
            yield Label("Targets")
            yield Input(
                self.targets_text, placeholder="127.0.0.1 ::1 (loopback by default)", id="ping-targets"
            )
            yield Label("Interval s")
            yield Input(str(self.interval), id="ping-interval")
            yield Label("Count")
            yield Input("" if self.count is None else str(self.count), placeholder="∞", id="ping-count")
            yield Button("Start", id="ping-start", variant="success")
            yield Button("Stop", id="ping-stop", variant="error")
        yield Vertical(id="ping-area")
        yield DataTable(id="ping-log", cursor_type="row")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#ping-log", DataTable).add_columns(
            "Target", "Seq", "Event", "From", "RTT ms", "TTL", "Note"
        )
        store = getattr(self.app, "store", None)
        self._scan_from = store.count if store is not None else 0
        self.set_status("Enter or F2 starts, F3 stops; probes and replies captured by the app get marked")
        self.query_one("#ping-targets" if self.focus_targets else "#ping-log").focus()
        self.set_interval(0.5, self._check_done)

    def _check_done(self) -> None:
        """Mark what the capture stored since the last look (a probe's packets can reach the store after
        its last event: nothing else would scan them); when the session ends by itself (count or
        deadline): say so, with the totals."""
        self._mark_new()
        session = self.session
        thread = getattr(session, "_thread", None)
        if session is None or thread is None or thread.is_alive():
            return
        if self.panel is not None:
            self.panel._drain()  # the last events
        parts = [f"{st.name}: {st.transmitted} sent, {st.received} received" for st in session.stats]
        exc = session.exception
        note = f" · error: {exc}" if exc is not None else ""
        self.set_status("finished · " + "; ".join(parts) + f" · {self.marked} packets marked{note}")
        session.close()
        self.session = None

    # -- control ---------------------------------------------------------------------------------------------
    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    @on(Button.Pressed, "#ping-start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#ping-stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    def action_start(self) -> None:
        targets = self.query_one("#ping-targets", Input).value.split()
        try:
            interval = float(self.query_one("#ping-interval", Input).value or "1")
            count_text = self.query_one("#ping-count", Input).value.strip()
            count = int(count_text) if count_text else None
        except ValueError:
            self.notify("interval and count must be numbers", severity="error")
            return
        self.action_stop()
        try:
            session = PingSession(
                targets, PingOptions(count=count, interval=interval, timeout=2.0, deadline=DEADLINE_S)
            )
        except SnifferError as exc:
            self.notify(str(exc), title="ping", severity="error")
            self.set_status(f"ping: {exc}")
            return
        self.session = session
        self.panel = PingPanel(session)
        area = self.query_one("#ping-area", Vertical)
        area.remove_children()
        area.mount(self.panel)
        kind = "raw sockets" if session.kind == "raw" else "unprivileged ICMP datagram sockets"
        names = ", ".join(
            f"{t.name} (id {ep.ident})" for t, ep in zip(session.targets, session.endpoints, strict=True)
        )
        self.set_status(f"pinging {names} with {kind}")

    def action_stop(self) -> None:
        if self.panel is not None and self.session is not None:
            self.panel.stop()
            self.session.close()
            self.set_status("stopped")
        self.session = None

    def action_close(self) -> None:
        self.action_stop()
        self.dismiss(None)

    def on_unmount(self) -> None:
        self.action_stop()

    # -- events ------------------------------------------------------------------------------------------------
    @on(PingPanel.Probes)
    def _probes(self, msg: PingPanel.Probes) -> None:
        session = msg.panel.session
        log = self.query_one("#ping-log", DataTable)
        for ev in msg.events:
            self.events += 1
            name = session.targets[ev.target].name
            ident = session.endpoints[ev.target].ident
            if isinstance(ev, ProbeSent):
                self.wanted.add((ident, ev.seq))
                row = (name, ev.seq, "sent", "", "", ev.ttl if ev.ttl is not None else "", "")
            elif isinstance(ev, Reply):
                self.replies += 1
                note = "dup" if ev.dup else ("late" if ev.late else "")
                if ev.checksum_ok is False or ev.payload_error:
                    note = (note + " damaged").strip()
                row = (name, ev.seq, "reply", ev.src, f"{ev.rtt_ns / 1e6:.3f}", ev.ttl or "", note)
            elif isinstance(ev, ProbeError):
                row = (name, ev.seq, "error", ev.src, "", "", ev.text)
            elif isinstance(ev, ProbeTimeout):
                row = (name, ev.seq, "timeout", "", "", "", "")
            else:
                continue
            log.add_row(*(str(c) for c in row))
        while log.row_count > MAX_LOG:
            log.remove_row(next(iter(log.rows)))
        if log.row_count:
            log.move_cursor(row=log.row_count - 1)
        self._mark_new()

    def _mark_new(self) -> None:
        """Mark the captured echo requests and replies of our probes (the app's store, new packets only)."""
        store = getattr(self.app, "store", None)
        if store is None or not self.wanted:
            return
        end = min(store.count, self._scan_from + SCAN_BUDGET)
        hits = []
        for i in range(self._scan_from, end):
            key = echo_key(store, i)
            if key is not None and key[0] in (0, 8, 128, 129) and (key[1], key[2]) in self.wanted:
                hits.append(i)
        self._scan_from = end
        if hits:
            self.marked += mark_packets(self.app, hits)
