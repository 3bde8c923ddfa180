"""Shared plumbing of the analysis panels: which packets to scan, marking packets, a base screen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from sniffer.model.store import PacketStore


def packet_indices(app: Any, displayed: bool) -> Sequence[int]:
    """Store indices to analyse: every packet of ``app.store`` (a ``range``: a list of 1M ints took
    44 MB, kept by the worker), or only those the display filter shows."""
    store: PacketStore = app.store
    view = getattr(app, "view", None)
    if not displayed or view is None or view.matched is None:
        return range(store.count)
    return [view.packet(r) for r in range(len(view))]


def filter_text(app: Any) -> str:
    """The active display filter's text ('' without one)."""
    view = getattr(app, "view", None)
    return str(getattr(view, "text", "") or "") if view is not None and view.matched is not None else ""


def mark_packets(app: Any, indices: Iterable[int]) -> int:
    """Mark packets (store indices) in the packet list; returns how many were newly marked.

    Uses the app's ``mark_packets`` hook when it has one, else adds to the packet list's marks (the same
    marks as the ``m`` key: ``]``/``[`` jump between them, ``M`` clears them, save can write them).
    """
    hook = getattr(app, "mark_packets", None)
    if callable(hook):
        return int(hook(list(indices)) or 0)
    plist = getattr(app, "plist", None)
    if plist is None:
        return 0
    marks: set[int] = plist.marks
    before = len(marks)
    marks.update(indices)
    plist.refresh()
    return len(marks) - before


def goto_index(app: Any, index: int) -> bool:
    """Select store index ``index`` in the packet list (via the app's go-to), True when it is shown."""
    goto = getattr(app, "goto_packet", None)
    if goto is None:
        return False
    return bool(goto(str(index + 1)))


class PanelScreen(Screen[None]):
    """A full screen panel over the app: title line, body, footer; Esc/q closes it."""

    BINDINGS = [Binding("escape,q", "close", "Close")]
    DEFAULT_CSS = """
    PanelScreen > #panel-title { height: 1; background: $accent; color: $text; text-style: bold; padding: 0 1; }
    PanelScreen > #panel-status { height: auto; max-height: 2; color: $text-muted; padding: 0 1; }
    """
    TITLE_TEXT = ""

    def compose_title(self) -> ComposeResult:
        yield Static(self.TITLE_TEXT, id="panel-title")

    def compose_footer(self) -> ComposeResult:
        yield Static("", id="panel-status")
        yield Footer()

    def set_status(self, text: str) -> None:
        for status in self.query("#panel-status").results(Static):  # none once the screen is torn down
            status.update(text)

    def action_close(self) -> None:
        self.dismiss(None)
