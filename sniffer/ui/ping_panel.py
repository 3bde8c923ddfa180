"""Ping panel: per-target RTT sparkline and loss counter, driven by a PingSession running in its own thread."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, Sparkline

from sniffer.gen.ping.engine import PingEvent, PingSession, ProbeError, ProbeSent, ProbeTimeout, Reply


@dataclass
class _Row:
    """What the panel shows for one target, updated from events on the UI thread."""

    name: str
    sent: int = 0
    received: int = 0
    lost: int = 0
    errors: int = 0
    dups: int = 0
    last_ms: float | None = None
    last_note: str = ""


class PingPanel(Vertical):
    """One line per target: name, RTT sparkline of the last ``history`` replies, counters.

    The session runs in its own thread; events are queued there and applied on the UI thread every
    ``refresh_s`` seconds (batched: a fast ping never floods the message queue). Each batch is also
    posted as ``PingPanel.Probes`` so the packet list can mark probes and replies (match by the
    target's identifier ``session.endpoints[i].ident`` and ``seq``).
    """

    DEFAULT_CSS = """
    PingPanel { height: auto; border: round $accent; padding: 0 1; }
    PingPanel .ping-row { height: 1; }
    PingPanel .ping-name { width: 22; }
    PingPanel Sparkline { width: 1fr; height: 1; margin: 0 1; }
    PingPanel .ping-stats { width: 52; }
    """

    class Probes(Message):
        """A batch of ping events (ProbeSent / Reply / ProbeError / ProbeTimeout), in order."""

        def __init__(self, panel: PingPanel, events: list[PingEvent]) -> None:
            super().__init__()
            self.panel = panel
            self.events = events

    def __init__(
        self, session: PingSession, *, history: int = 60, refresh_s: float = 0.1, **kw: object
    ) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.session = session
        self.history = history
        self.refresh_s = refresh_s
        self.rows = [_Row(t.name) for t in session.targets]
        self._rtts: list[deque[float]] = [deque(maxlen=history) for _ in session.targets]
        self._pending: deque[PingEvent] = deque()
        self._lock = threading.Lock()

    def compose(self) -> ComposeResult:
        for i, t in enumerate(self.session.targets):
            with Horizontal(classes="ping-row"):
                yield Label(t.name if t.name == t.address else f"{t.name} ({t.address})", classes="ping-name")
                yield Sparkline([], id=f"ping-spark-{i}")
                yield Label("", id=f"ping-stats-{i}", classes="ping-stats")

    def on_mount(self) -> None:
        self.set_interval(self.refresh_s, self._drain)
        self.session.start(self._queue)

    def on_unmount(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the session (idempotent); counters stay."""
        self.session.stop()
        self.session.join(2)

    # runs in the session's thread: only queue
    def _queue(self, ev: PingEvent) -> None:
        with self._lock:
            self._pending.append(ev)

    def _drain(self) -> None:
        with self._lock:
            if not self._pending:
                return
            batch = list(self._pending)
            self._pending.clear()
        touched: set[int] = set()
        for ev in batch:
            row = self.rows[ev.target]
            touched.add(ev.target)
            if isinstance(ev, ProbeSent):
                row.sent += 1
            elif isinstance(ev, Reply):
                if ev.dup:
                    row.dups += 1
                    continue
                row.received += 1
                row.last_ms = ev.rtt_ns / 1e6
                row.last_note = (
                    "late" if ev.late else ("damaged" if ev.checksum_ok is False or ev.payload_error else "")
                )
                if ev.late:
                    row.lost -= 1
                self._rtts[ev.target].append(row.last_ms)
            elif isinstance(ev, ProbeError):
                row.errors += 1
                row.last_note = f"{ev.src} {ev.text}".strip()
            elif isinstance(ev, ProbeTimeout):
                row.lost += 1
        for i in touched:
            self.query_one(f"#ping-spark-{i}", Sparkline).data = list(self._rtts[i])
            self.query_one(f"#ping-stats-{i}", Label).update(self.stats_text(i))
        self.post_message(self.Probes(self, batch))

    def stats_text(self, i: int) -> str:
        """'sent 10 recv 9 loss 10% last 0.041 ms' (+ dup/err/note)."""
        r = self.rows[i]
        loss = 100.0 * (r.lost + r.errors) / r.sent if r.sent else 0.0
        text = f"sent {r.sent} recv {r.received} loss {loss:.0f}%"
        if r.dups:
            text += f" dup {r.dups}"
        if r.errors:
            text += f" err {r.errors}"
        if r.last_ms is not None:
            text += f" last {r.last_ms:.3f} ms"
        if r.last_note:
            text += f" {r.last_note}"
        return text
