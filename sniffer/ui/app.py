"""The sniffer TUI: packet list, detail tree and hex view over a PacketStore filled by a file or live source."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Tree

from sniffer.errors import SnifferError
from sniffer.model.store import PacketStore, View
from sniffer.ui.adapters import DNode, compile_display_filter, dissect, field_names, write_pcapng
from sniffer.ui.panels import PANEL_KEYMAP, PanelActions
from sniffer.ui.sources import LiveCaptureSource, Source
from sniffer.ui.widgets import DetailTree, HexView, PacketList, StatusBar, build_filter_bar

REFRESH_HZ = 10
UI_SWITCH_INTERVAL = 0.001  # seconds: sys.setswitchinterval while the app runs (see on_mount)

# (keys, action, description): the one key map; BINDINGS and the help screen are built from it
KEYMAP: list[tuple[str, str, str]] = [
    ("q,ctrl+q", "quit", "Quit"),
    ("question_mark,f1", "help", "Help: this list of keys"),
    ("slash", "focus_filter", "Edit the display filter (Tab/→ completes a field, Enter applies)"),
    ("escape", "focus_list", "Back to the packet list (from the filter bar)"),
    ("ctrl+p", "command_palette", "Command palette"),
    ("tab,shift+tab", "", "Move between panes"),
    ("1,2,3", "focus_pane", "Focus the packet list / detail tree / hex view"),
    ("v", "layout", "Layout: stacked <-> list above detail|hex side by side"),
    ("z", "zoom", "Zoom the focused pane (again to restore)"),
    ("m", "toggle_mark", "Mark / unmark the selected packet"),
    ("right_square_bracket", "next_mark", "Next marked packet"),
    ("left_square_bracket", "prev_mark", "Previous marked packet"),
    ("M", "clear_marks", "Clear all marks"),
    ("g,ctrl+g", "goto", "Go to packet number"),
    ("ctrl+f", "search", "Search: string, hex bytes, or field value (display filter)"),
    ("n", "search_next", "Find next"),
    ("N", "search_prev", "Find previous"),
    ("ctrl+s,w", "save", "Save all / displayed / marked packets to pcapng"),
    ("space", "pause", "Pause / resume (live: freeze the list; playback: the clock)"),
    ("full_stop", "step", "Playback: step one packet"),
    ("f", "follow", "Autoscroll: follow the newest packet (scrolling up stops it)"),
    ("t", "time_format", "Time format: relative, of day, date, UTC, epoch, deltas"),
    ("T", "time_precision", "Time precision: auto, 0, 1, 2, 3, 6, 9 decimals"),
    ("c", "edit_columns", "Columns: fields shown as columns (add, remove, reorder; kept)"),
    ("a", "add_column", "Detail tree: add the selected field as a column"),
    ("ctrl+e", "capture_toggle", "Live capture: stop / start again (packets kept)"),
    ("ctrl+r", "capture_restart", "Live capture: restart (packets discarded)"),
    ("ctrl+k", "capture_options", "Live capture: change interfaces and capture filter, restart"),
    ("r", "resolve_names", "Name resolution on/off: MAC vendors, host names from DNS answers, ports"),
    ("x", "field_menu", "Detail tree: field menu (apply/prepare as filter, and/or/not, copy, expand all)"),
    ("left_curly_bracket", "column_prev", "Previous column: the one < > resize (underlined)"),
    ("right_curly_bracket", "column_next", "Next column: the one < > resize (underlined)"),
    ("less_than_sign", "column_narrower", "Narrow the current column (or drag a header border)"),
    ("greater_than_sign", "column_wider", "Widen the current column (widths kept in the profile)"),
    ("o", "sort_next", "Sort the list by the next column (header click: that column)"),
    ("O", "sort_reverse", "Reverse the sort order"),
]
KEYMAP += PANEL_KEYMAP  # analysis screens (sniffer/ui/panels): S F P I G W E
LIST_KEYS: list[tuple[str, str]] = [
    ("↑ ↓ / j k", "Previous / next packet (list), field (tree), byte row (hex)"),
    ("PgUp PgDn", "Page up / down"),
    ("Home End", "First / last packet (End also turns autoscroll on)"),
    ("← →", "Tree: collapse / expand; hex: previous / next byte"),
    ("Enter", "Tree: expand / collapse the field"),
    ("mouse", "Click a row, a field or a byte; wheel scrolls"),
]
EXPERT_AUTO_MAX = 200_000  # files up to this many packets get the expert pass (Bad TCP colours) on load
SHOWN = {
    "quit": "Quit",
    "help": "Help",
    "focus_filter": "Filter",
    "goto": "Go to",
    "search": "Find",
    "save": "Save",
    "layout": "Layout",
    "pause": "Pause",
}


@dataclass
class SourceDone(Message):
    """The source thread ended (file fully indexed, or capture stopped)."""


@dataclass
class FirstRows(Message):
    """The first packets were indexed."""


@dataclass
class Sorted(Message):
    """A sort worker finished: the packet list shows ``rows`` (None: the natural order)."""

    rows: object | None
    column: str


@dataclass
class SearchDone(Message):
    row: int | None
    what: str


class SnifferApp(PanelActions, App[None]):
    """Wireshark-like packet browser for the terminal."""

    TITLE = "sniffer"
    CSS_PATH = "sniffer.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # the screens' classes (sniffer.tcss)
    #: the packet list's conversation state (model.tcpcolumns); False: the per-packet view (bench/tui.py)
    TCP_STATE = True
    TCP_REASSEMBLY = True  # (False: the analysis without TCP reassembly; bench/tui.py --state times both)
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        *(
            Binding(keys, action, SHOWN.get(action, desc), show=action in SHOWN)
            for keys, action, desc in KEYMAP
            if action and action not in ("command_palette", "focus_pane")
        ),
        Binding("1", "focus_pane('list')", "List", show=False),
        Binding("2", "focus_pane('detail')", "Detail", show=False),
        Binding("3", "focus_pane('hex')", "Hex", show=False),
    ]

    def __init__(
        self,
        store: PacketStore,
        source: Source | None = None,
        *,
        display_filter: str = "",
        notice: str = "",
        live: bool = False,
        owned: Iterable[object] = (),
    ) -> None:
        super().__init__()
        self.store = store
        self.source = source
        self.notice = notice
        self.live = live
        self.owned = list(owned)  # things to stop on exit (demo traffic)
        self.view = View(store)
        self._initial_filter = display_filter
        self.display_paused = False
        self._selected_once = False
        self._rate_t = time.monotonic()
        self._rate_n = 0
        self._rate_b = 0
        self.pkt_rate = 0.0
        self.byte_rate = 0.0
        self._error_shown = ""
        self._status_last = ""
        self._ticks = 0
        self._stop = threading.Event()
        self._filter_wake = threading.Event()
        # set unless a foreground pass (Statistics) holds the background state threads (held_background)
        self._background_go = threading.Event()
        self._background_go.set()
        self._background_holds = 0
        self._background_lock = threading.Lock()
        self.last_search: tuple[str, str] | None = None
        self.selected_field: DNode | None = None
        self.shown_index = -1  # packet whose detail and bytes are shown
        self.layout_mode = "stacked"
        self.last_saved: str | None = None
        self.notice_sort = ""  # "Sorting by …: 40%" while a sort worker runs
        self.notice_column = ""  # "Column Source: 18 wide …" while resizing with the keys
        self._switch_interval = sys.getswitchinterval()
        self.expert_result: Any = None  # the expert pass over the file (panels/expert.py)
        self.plist = PacketList(self.store, self.view, id="list")
        from sniffer.ui.columns import load_columns, load_widths

        cols = load_columns()
        # columns the source asks for (remote ssh:// interfaces: which HOST/IFACE each packet came from)
        self.plist.custom = [*(c for c in getattr(source, "columns", ()) if c not in cols), *cols]
        self.plist.widths = load_widths()
        from sniffer.ui.names import Resolver

        self.names = Resolver()
        self.plist.names = self.names
        self._names_thread: threading.Thread | None = None
        self.sort_column = "no"
        self.sort_reverse = False
        self.detail = DetailTree(id="detail")
        self.hexview = HexView(id="hex")
        self.status_bar = StatusBar("", id="status")

    # -- composition ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        self.filter_bar, self.filter_input, self.filter_msg = build_filter_bar(field_names)
        yield self.filter_bar
        with Vertical(id="panes", classes="stacked"):
            yield self.plist
            with Container(id="lower"):
                yield self.detail
                yield self.hexview
        yield self.status_bar
        yield Footer()

    def on_mount(self) -> None:
        # the UI thread waits at most 1 ms (not CPython's 5 ms) for the GIL when a worker holds it:
        # a key -> redraw takes several such hand-overs while statistics, a filter or a sort compute
        # (bench/tui.py --stats: max key latency 67-84 ms instead of 91-154 ms while counting 1M packets)
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(UI_SWITCH_INTERVAL)
        self.plist.border_title = "Packets"
        self.detail.border_title = "Details"
        self.hexview.border_title = "Bytes"
        self.plist.follow = self.live
        self.plist.focus()
        if self._initial_filter:
            inp = self.filter_input
            inp.value = self._initial_filter
            self.apply_filter(self._initial_filter)
        # the first rows are painted as soon as they exist, not at the next timer tick
        self.store.on_first = lambda: self._post(FirstRows())
        if self.source is not None:
            self.source.on_done = lambda: self._post(SourceDone())
            self.source.first_shown = threading.Event()  # set once the first rows are on screen
            self.source.start()
        threading.Thread(target=self._filter_loop, name="sniffer-filter", daemon=True).start()
        # the conversation state of the list (files and live): "[TCP ...]" prefixes, Bad TCP colours
        if self.TCP_STATE:
            threading.Thread(target=self._tcp_columns_loop, name="sniffer-tcp-columns", daemon=True).start()
        self.set_interval(1 / REFRESH_HZ, self._tick)
        self._tick()

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)
        self._stop.set()
        self._filter_wake.set()
        for thing in self.owned:
            stop = getattr(thing, "stop", None)
            if stop is not None:
                stop()
        if self.source is not None:
            self.source.stop()

    # -- background filter ---------------------------------------------------------------------------------
    def _filter_loop(self) -> None:
        """Evaluates the active display filter over new packets, never on the UI thread."""
        while not self._stop.is_set():
            view = self.view
            if view.matched is not None and view.scanned < self.store.count:
                view.advance(256)
            else:
                self._filter_wake.wait(0.05)
                self._filter_wake.clear()

    def _tcp_columns_loop(self) -> None:
        """Feeds each new packet (a file as it loads, a live capture as it arrives) through the
        conversation state (model.tcpcolumns: TCP analysis and reassembly), in order, off the UI thread:
        the packet list then shows Wireshark's "[TCP ...]" prefixes, relative Seq/Ack, "[TCP segment of
        a reassembled PDU]", the reassembled PDUs' columns and the "Bad TCP" colours (repainted as the
        state reaches the rows). A restarted capture (a new store) starts a new state."""
        from sniffer.model.tcpcolumns import TcpColumns

        store: PacketStore | None = None
        cols = TcpColumns(self.TCP_REASSEMBLY)
        while not self._stop.is_set():
            if self.store is not store:
                store, cols = self.store, TcpColumns(self.TCP_REASSEMBLY)
                self.plist.tcpcols = cols
            count = store.count
            fed = cols.fed
            if fed >= count or not self._background_go.is_set():
                self._stop.wait(0.1)
                continue
            go = self._background_go
            upto = min(count, fed + 4096)
            for i in range(fed, upto):
                if i & 511 == 0 and not go.is_set():
                    upto = i
                    break  # a foreground pass began: it has the core to itself
                cols.feed(store.frame(i))
            if not self._stop.is_set() and store is self.store:
                try:
                    self.call_from_thread(self.plist.refresh)
                    if fed <= self.shown_index < upto:  # the detail shown per packet: now with the state
                        self.call_from_thread(self._state_reached, self.shown_index)
                except Exception:  # the app is closing
                    return

    @contextmanager
    def held_background(self) -> Iterator[None]:
        """While a foreground pass runs (the Statistics screen counting, from its worker thread), the
        background threads that build the packet list's state (TCP analysis and reassembly, names from
        DNS) wait: the two would share the GIL and one core, and the state's work (as costly as the
        counting) would double the time to the tables. The list is covered by the Statistics screen
        meanwhile; the state goes on where it stopped once the pass ends (bench/tui.py --stats)."""
        with self._background_lock:
            self._background_holds += 1
            self._background_go.clear()
        try:
            yield
        finally:
            with self._background_lock:
                self._background_holds -= 1
                if self._background_holds == 0:
                    self._background_go.set()

    def _post(self, message: Message) -> None:
        self.post_message(message)

    @on(FirstRows)
    def _first_rows(self) -> None:
        self._tick()
        src = self.source
        if src is not None and src.first_shown is not None:
            self.call_after_refresh(src.first_shown.set)  # the loader goes on once they are painted

    @on(SourceDone)
    def _source_done(self) -> None:
        self._tick()
        # a file of moderate size: run the expert pass now so the packet list shows "Bad TCP" colours
        # (bigger files: when the Expert panel (E) is opened)
        if not self.live and self.expert_result is None and 0 < self.store.count <= EXPERT_AUTO_MAX:
            self._expert_worker(self.store, self.store.count)

    @work(thread=True, exclusive=True, group="expert-auto")
    def _expert_worker(self, store: PacketStore, count: int) -> None:
        from textual.worker import get_current_worker

        from sniffer.ui.panels.expert import analyse

        worker = get_current_worker()
        res = analyse(store, count, lambda: worker.is_cancelled)
        if not worker.is_cancelled and store is self.store:
            self.call_from_thread(self.set_expert_result, res)

    # -- refresh timer ------------------------------------------------------------------------------------
    def _tick(self) -> None:
        plist = self.plist
        self._ticks += 1
        loading = self.source is not None and not self.live and not self.source.status.done
        screen_full = plist.count > plist.size.height
        # while a file loads behind a full screen, only the scrollbar changes: relayout at 2 Hz
        if not self.display_paused and (not loading or not screen_full or self._ticks % 5 == 0):
            plist.update_count(len(plist.view))
        if not self._selected_once and plist.count and not self.live:
            self._selected_once = True
            plist.move_to(0)
        self._update_rates()
        text = self.status_text()
        if text != self._status_last:
            self._status_last = text
            self.status_bar.update(text)
        src = self.source
        if src is not None and src.status.error and src.status.error != self._error_shown:
            self._error_shown = src.status.error
            self.notify(src.status.error, severity="error", timeout=10)

    def _update_rates(self) -> None:
        now = time.monotonic()
        dt = now - self._rate_t
        if dt >= 1.0:
            self.pkt_rate = (self.store.count - self._rate_n) / dt
            self.byte_rate = (self.store.total_bytes - self._rate_b) / dt
            self._rate_t, self._rate_n, self._rate_b = now, self.store.count, self.store.total_bytes

    def status_text(self) -> str:
        st = self.store
        parts: list[str] = []
        src = self.source
        if src is not None:
            label = {"live": "Live", "file": "File", "playback": "Playback"}.get(src.status.kind, "")
            name = src.status.name if src.status.kind == "live" else os.path.basename(src.status.name)
            parts.append(f"{label} {name}")
        if self.notice:
            parts.append(self.notice)
        shown = self.plist.count if self.plist.is_mounted else len(self.view)
        pct = (
            f" ({100 * len(self.view) / st.count:.0f}%)" if st.count and self.view.matched is not None else ""
        )
        parts.append(f"Packets {st.count} · Displayed {shown}{pct}")
        if self.plist.marks:
            parts.append(f"Marked {len(self.plist.marks)}")
        if self.notice_column:
            parts.append(self.notice_column)
        if self.notice_sort:
            parts.append(self.notice_sort)
        elif self.sort_column != "no" or self.sort_reverse:
            parts.append(f"Sorted by {self.sort_column}{' ↓' if self.sort_reverse else ''}")
        if self.view.matched is not None and not self.view.done:
            parts.append(f"Filtering {100 * self.view.scanned / max(1, st.count):.0f}%")
        if src is not None and src.status.kind in ("live", "playback"):
            parts.append(f"{self.pkt_rate:.0f} pkt/s · {_human(self.byte_rate)}/s")
            stats = src.stats()
            if stats is not None:
                parts.append(
                    f"Drops kernel {stats.kernel_dropped} · backpressure {stats.backpressure_dropped}"
                )
        if src is not None and src.status.progress is not None and not src.status.done:
            parts.append(f"Loading {100 * src.status.progress:.0f}%")
        if self.names.enabled:
            parts.append(f"Names on ({len(self.names.hosts)} hosts)")
        if src is not None and src.status.kind == "live" and src.status.done and not src.status.error:
            parts.append("STOPPED (ctrl+e starts again)")
        if self.display_paused or (src is not None and src.status.paused):
            parts.append("PAUSED")
        if self.live and not self.display_paused and self.plist.is_mounted and self.plist.follow:
            parts.append("autoscroll")
        return " " + " │ ".join(parts)

    # -- selection: list -> detail + hex, detail <-> hex ---------------------------------------------------
    @on(PacketList.Highlighted)
    def _packet_highlighted(self, event: PacketList.Highlighted) -> None:
        i = event.index
        self.selected_field = None
        self.shown_index = i
        if i < 0:
            self.detail.show(None)
            self.hexview.show(b"")
            return
        try:
            frame = self.store.frame(i)
        except (OSError, SnifferError) as exc:
            self.notify(f"cannot read packet {i + 1}: {exc}", severity="error")
            return
        self.hexview.show(frame.data)
        state = self._conversation_state(i)
        if state is not None:  # the detail with the conversation state (model.tcptree)
            self.detail.show(dissect(frame, i + 1, state))
        else:
            self.detail.show(self.store.tree(i, lambda f: dissect(f, i + 1)))
        self.shown_index = i

    def _state_reached(self, i: int) -> None:
        """The list's conversation state reached packet ``i``, whose detail was shown per packet."""
        if i != self.shown_index or i < 0:
            return
        state = self._conversation_state(i)
        if state is not None:
            self.detail.show(dissect(state.frame, i + 1, state))

    def _conversation_state(self, i: int) -> Any:
        """Packet ``i``'s conversation state (model.tcpcolumns.FrameState) once the list's state has
        reached it, else None (the per-packet tree)."""
        tc = self.plist.tcpcols
        if tc is None:
            return None
        try:
            return tc.state(i, self.store.frame)
        except (OSError, SnifferError):
            return None

    @on(Tree.NodeHighlighted, "#detail")
    def _field_highlighted(self, event: Tree.NodeHighlighted[DNode]) -> None:
        d = event.node.data
        self.selected_field = d
        if d is not None:
            self.hexview.highlight(d.start, d.length)

    @on(HexView.ByteSelected)
    def _byte_selected(self, event: HexView.ByteSelected) -> None:
        node = self.detail.node_for_offset(event.offset)
        if node is not None:
            self.detail.reveal(node)
            self.selected_field = node.data
            if node.data is not None:
                self.hexview.hl_start = node.data.start
                self.hexview.hl_end = node.data.end
                self.hexview.refresh()

    # -- filter bar ---------------------------------------------------------------------------------------
    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        msg = self.filter_msg
        inp = event.input
        inp.remove_class("-ok", "-bad")
        if not event.value.strip():
            msg.update("")
            return
        try:
            compile_display_filter(event.value)
        except SnifferError as exc:
            inp.add_class("-bad")
            msg.update(str(exc))
        else:
            inp.add_class("-ok")
            msg.update("")

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self.apply_filter(event.value):
            self.plist.focus()

    def apply_filter(self, text: str) -> bool:
        """Apply a display filter (empty: show everything); False with a message when it is invalid."""
        try:
            flt = compile_display_filter(text)
        except SnifferError as exc:
            self.filter_msg.update(str(exc))
            self.filter_input.add_class("-bad")
            self.notify(str(exc), title="Display filter", severity="error")
            return False
        self.view = View(self.store, flt, text.strip()) if flt is not None else View(self.store)
        if flt is not None:
            self.view.advance(2000)  # the first screen at once on small captures
        self._filter_wake.set()
        self.sort_column, self.sort_reverse = "no", False  # a new filter shows capture order
        self.plist.set_view(self.view)
        return True

    def action_focus_filter(self) -> None:
        inp = self.filter_input
        inp.focus()
        inp.cursor_position = len(inp.value)  # at the end, whoever set the text (a panel, a follow)

    def action_focus_list(self) -> None:
        self.plist.focus()
        if self.plist.show_current:  # done with the column keys: the header as usual
            self.plist.show_current = False
            self.notice_column = ""
            self.plist.refresh()

    def action_focus_pane(self, which: str) -> None:
        {"list": self.plist, "detail": self.detail, "hex": self.hexview}[which].focus()

    # -- layout ---------------------------------------------------------------------------------------------
    def action_layout(self) -> None:
        panes = self.plist.parent
        assert panes is not None
        self.layout_mode = "side" if self.layout_mode == "stacked" else "stacked"
        panes.set_classes(self.layout_mode)

    def action_zoom(self) -> None:
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
        else:
            focused = screen.focused
            target = focused if isinstance(focused, (PacketList, DetailTree, HexView)) else self.plist
            screen.maximize(target, container=False)

    # -- marks / goto -----------------------------------------------------------------------------------------
    def action_toggle_mark(self) -> None:
        i = self.plist.selected_index
        if i < 0:
            return
        marks = self.plist.marks
        if i in marks:
            marks.discard(i)
        else:
            marks.add(i)
        self.plist.refresh()

    def action_clear_marks(self) -> None:
        self.plist.marks.clear()
        self.plist.refresh()

    def _jump_mark(self, forward: bool) -> None:
        view = self.plist.view
        rows = sorted(r for r in (view.row_of(i) for i in self.plist.marks) if r is not None)
        if not rows:
            self.notify("no marked packets displayed")
            return
        cur_row = self.plist.cursor
        if forward:
            nxt = next((r for r in rows if r > cur_row), rows[0])
        else:
            nxt = next((r for r in reversed(rows) if r < cur_row), rows[-1])
        self.plist.follow = False
        self.plist.move_to(nxt, center=True)

    def action_next_mark(self) -> None:
        self._jump_mark(True)

    def action_prev_mark(self) -> None:
        self._jump_mark(False)

    def action_goto(self) -> None:
        from sniffer.ui.screens import PromptScreen

        self.push_screen(PromptScreen("Go to packet number", f"1..{self.store.count}"), self._goto_done)

    def _goto_done(self, text: str | None) -> None:
        if text is None:
            return
        self.goto_packet(text)

    def goto_packet(self, text: str) -> bool:
        try:
            number = int(text.strip())
        except ValueError:
            self.notify(f"not a packet number: {text!r}", severity="error")
            return False
        if not 1 <= number <= self.store.count:
            self.notify(f"no packet {number} (there are {self.store.count})", severity="error")
            return False
        view = self.plist.view
        row = view.row_of(number - 1)
        if row is None:
            row = view.nearest_row(number - 1)
            self.notify(f"packet {number} is hidden by the display filter; showing the next one")
        self.plist.follow = False
        self.plist.update_count(len(view))
        self.plist.move_to(row, center=True)
        self.plist.focus()
        return True

    # -- search ---------------------------------------------------------------------------------------------
    def action_search(self) -> None:
        from sniffer.ui.screens import SearchScreen

        mode, value = self.last_search or ("string", "")
        self.push_screen(SearchScreen(mode, value), self._search_chosen)

    def _search_chosen(self, result: tuple[str, str] | None) -> None:
        if result is None or not result[1]:
            return
        self.last_search = result
        self.start_search(result[0], result[1], forward=True)

    def action_search_next(self) -> None:
        if self.last_search is None:
            self.action_search()
        else:
            self.start_search(*self.last_search, forward=True)

    def action_search_prev(self) -> None:
        if self.last_search is not None:
            self.start_search(*self.last_search, forward=False)

    def start_search(self, mode: str, text: str, forward: bool = True) -> None:
        try:
            match = self._matcher(mode, text)
        except (SnifferError, ValueError) as exc:
            self.notify(f"search: {exc}", severity="error")
            return
        self.last_search = (mode, text)
        self._search_worker(match, text, forward, self.plist.cursor, len(self.plist.view))

    def _matcher(self, mode: str, text: str):
        store = self.store
        if mode == "hex":
            cleaned = text.replace(" ", "").replace(":", "").replace("0x", "")
            try:
                needle = bytes.fromhex(cleaned)
            except ValueError:
                raise ValueError(f"not hex bytes: {text!r}") from None
            return lambda i: needle in store.frame(i).data
        if mode == "filter":
            flt = compile_display_filter(text)
            if flt is None:
                raise ValueError("empty filter")
            from sniffer.model.filters import CONTEXT_FIELDS, STREAM_FIELDS

            if (
                flt.fields_needed & (STREAM_FIELDS | CONTEXT_FIELDS - {"frame.number"})
                or flt.needs_tcp_analysis
            ):
                # tcp.stream, frame.time_delta, tcp.analysis.*...: known only from a scan in capture order
                scan = View(store, flt, text)

                def match_scanned(i: int) -> bool:
                    while scan.scanned <= i and not scan.done:
                        scan.advance(4096)
                    return scan.row_of(i) is not None

                return match_scanned
            # header fields only (when that is all the filter reads); frame.number is the packet number
            return lambda i: bool(flt.matches_frame(store.frame(i), i + 1))
        raw = text.encode()
        low = text.lower()
        return lambda i: raw in store.frame(i).data or low in store.row(i).info.lower()

    @work(thread=True, exclusive=True, group="search")
    def _search_worker(self, match, text: str, forward: bool, start: int, n: int) -> None:
        view = self.plist.view
        step = 1 if forward else -1
        found: int | None = None
        for k in range(1, n + 1):
            row = (start + step * k) % n
            try:
                if match(view.packet(row)):
                    found = row
                    break
            except Exception:
                continue
        self.post_message(SearchDone(found, text))

    @on(SearchDone)
    def _search_done(self, msg: SearchDone) -> None:
        if msg.row is None:
            self.notify(f"not found: {msg.what}", severity="warning")
            return
        self.plist.follow = False
        self.plist.move_to(msg.row, center=True)

    # -- save ---------------------------------------------------------------------------------------------
    def action_save(self) -> None:
        from sniffer.ui.screens import SaveScreen

        counts = {"all": self.store.count, "displayed": len(self.view), "marked": len(self.plist.marks)}
        # what the user is looking at: the filtered packets, else the marked ones, else everything
        which = "displayed" if self.view.matched is not None else ("marked" if self.plist.marks else "all")
        path = time.strftime("sniffer-%Y%m%d-%H%M%S.pcapng")
        self.push_screen(SaveScreen(path, counts, which), self._save_chosen)

    def _save_chosen(self, result: tuple[str, str] | None) -> None:
        if result is None:
            return
        which, path = result
        full = str(Path(path).expanduser())
        if os.path.exists(full):
            from sniffer.ui.screens import ConfirmScreen

            def answered(yes: bool | None) -> None:
                if yes:
                    self.save(which, full)
                else:
                    self.notify(f"not saved: {full} exists")

            self.push_screen(ConfirmScreen(f"{full} exists. Overwrite it?"), answered)
            return
        self.save(which, full)

    def indices_for(self, which: str) -> list[int]:
        if which == "all":
            return list(range(self.store.count))
        if which == "marked":
            return sorted(self.plist.marks)
        view = self.view
        return [view.packet(r) for r in range(len(view))]

    def save(self, which: str, path: str) -> None:
        """Save packets to ``path`` (no question asked: the dialog asks before overwriting)."""
        self.store.keep_open()  # saving over the open file must not pull its packets away
        self._save_worker(self.indices_for(which), str(Path(path).expanduser()))

    @work(thread=True, exclusive=True, group="save")
    def _save_worker(self, indices: list[int], path: str) -> None:
        # a temporary file renamed over the target: the target is whole or untouched, and a reader of
        # the old file (this app, when saving over the open capture) keeps its inode
        folder, name = os.path.split(os.path.abspath(path))
        tmp = os.path.join(folder, f".{name}.sniffer-{os.getpid()}.tmp")
        try:
            n = write_pcapng(tmp, self.store.frames(indices))
            os.replace(tmp, path)
        except (SnifferError, OSError) as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            text = (
                str(exc) if isinstance(exc, SnifferError) else f"cannot write {path}: {exc.strerror or exc}"
            )
            self.call_from_thread(self.notify, text.replace(tmp, path), severity="error")
            return
        self.last_saved = path
        self.call_from_thread(self.notify, f"saved {n} packets to {path}")

    # -- live / playback --------------------------------------------------------------------------------------
    def action_pause(self) -> None:
        src = self.source
        if src is not None and src.status.kind == "playback":
            src.set_paused(not src.status.paused)
        else:
            self.display_paused = not self.display_paused
            if not self.display_paused:
                self.plist.update_count(len(self.view))
        self._tick()

    def action_step(self) -> None:
        src = self.source
        if src is not None and src.status.kind == "playback":
            if not src.status.paused:
                src.set_paused(True)
            src.step()
        else:
            self.notify("step works when playing a file back (--speed)")

    def action_follow(self) -> None:
        self.plist.follow = not self.plist.follow
        if self.plist.follow:
            self.plist.move_to(self.plist.count - 1)

    # -- time column ----------------------------------------------------------------------------------
    def action_time_format(self) -> None:
        self.plist.timefmt.next_kind()
        self._time_changed()

    def action_time_precision(self) -> None:
        self.plist.timefmt.next_precision()
        self._time_changed()

    def _time_changed(self) -> None:
        self.plist.refresh()
        self.clear_notifications()  # one toast for a run of presses, not a stack
        self.notify(f"Time: {self.plist.timefmt.label}", timeout=2)

    # -- capture control (ctrl+e, ctrl+r, ctrl+k) ----------------------------------------------------------
    def _live_source(self) -> LiveCaptureSource | None:
        src = self.source
        if isinstance(src, LiveCaptureSource):
            return src
        self.notify("capture control works on a live capture (sniffer tui -i IFACE)", severity="warning")
        return None

    def action_capture_toggle(self) -> None:
        src = self._live_source()
        if src is None:
            return
        if not src.status.done:
            src.stop()
            src.status.done = True
            self.notify(f"capture stopped on {src.status.name} ({self.store.count} packets kept)")
            self._tick()
        else:
            self.start_capture(src.live.interfaces, src.live.bpf, keep=True)

    def action_capture_restart(self) -> None:
        src = self._live_source()
        if src is not None:
            self.start_capture(src.live.interfaces, src.live.bpf, keep=False)

    def action_capture_options(self) -> None:
        from sniffer.ui.screens import PromptScreen

        src = self._live_source()
        if src is None:
            return

        def got_interfaces(text: str | None) -> None:
            if text is None or not text.replace(",", " ").split():
                return
            interfaces = text.replace(",", " ").split()

            def got_filter(bpf: str | None) -> None:
                if bpf is not None:
                    self.start_capture(interfaces, bpf.strip() or None, keep=False)

            self.push_screen(
                PromptScreen("Capture filter (BPF; empty: none)", "udp port 53", src.live.bpf or ""),
                got_filter,
            )

        self.push_screen(
            PromptScreen("Capture on interfaces (space separated)", "lo", " ".join(src.live.interfaces)),
            got_interfaces,
        )

    def start_capture(self, interfaces: list[str], bpf: str | None, keep: bool) -> bool:
        """(Re)start the live capture on ``interfaces`` with capture filter ``bpf``: into the same store
        (``keep``), or into a new one (restart: the packets so far are discarded). A capture that cannot
        open (no such interface, bad filter) leaves the running one as it was."""
        old = self.source
        assert isinstance(old, LiveCaptureSource)
        store = self.store if keep else PacketStore(spool=True)
        new = LiveCaptureSource(interfaces, store, bpf=bpf, snaplen=old.live.snaplen, netns=old.live.netns)
        try:
            new.open()
        except SnifferError as exc:
            self.notify(str(exc), title="Capture", severity="error")
            if store is not self.store:
                store.close()
            return False
        if not old.status.done:
            old.stop()
            old.status.done = True
        if not keep:
            old_store, text = self.store, self.view.text if self.view.matched is not None else ""
            self.store = store
            self.plist.store = store
            self.plist.marks.clear()
            self.plist._first_ts = None
            self.names.hosts.clear()
            self.names.scanned = 0
            self._rate_n, self._rate_b = 0, 0
            self.view = View(store)
            self.plist.set_view(self.view)
            self.plist.update_count(0)
            if text:
                self.apply_filter(text)
            self.expert_result = None
            self.plist.bad_tcp = set()
            # the old store is not closed here: a panel's worker may still be reading it; its spool
            # file goes when the last reference does
            del old_store
        new.on_done = lambda: self._post(SourceDone())
        self.source = new
        self._error_shown = ""
        new.start()
        self.plist.follow = True
        what = ", ".join(interfaces) + (f" with filter '{bpf}'" if bpf else "")
        self.notify(f"capturing on {what}" + (" (packets kept)" if keep else ""))
        self._tick()
        return True

    # -- name resolution (r) ----------------------------------------------------------------------------
    def action_resolve_names(self) -> None:
        names = self.names
        names.enabled = not names.enabled
        if names.enabled and self._names_thread is None:
            self._names_thread = threading.Thread(target=self._names_loop, name="sniffer-names", daemon=True)
            self._names_thread.start()
        self.plist.refresh()
        if names.enabled:
            vendors = "MAC vendors" if names.has_manuf else "no MAC vendors (no Wireshark manuf file)"
            self.notify(f"name resolution on: host names from DNS answers in the capture, {vendors}, ports")
        else:
            self.notify("name resolution off")

    def _names_loop(self) -> None:
        """Learns host names from the DNS answers of every packet, as they arrive; never on the UI thread."""
        names = self.names
        while not self._stop.is_set():
            store = self.store  # a capture restart swaps it
            if names.scanned >= store.count or not self._background_go.is_set():
                self._stop.wait(0.2)
                continue
            end = min(store.count, names.scanned + 2048)
            before = len(names.hosts)
            for i in range(names.scanned, end):
                try:
                    names.feed(store.frame(i))
                except (OSError, SnifferError):
                    pass
            names.scanned = end
            if len(names.hosts) != before and names.enabled:
                try:
                    self.call_from_thread(self.plist.refresh)
                except RuntimeError:  # the app is closing
                    return

    # -- the field menu (x) ------------------------------------------------------------------------------
    def action_field_menu(self) -> None:
        from sniffer.ui.fieldactions import MENU
        from sniffer.ui.screens import MenuScreen

        d = self.selected_field
        if d is None or self.shown_index < 0:
            self.notify("select a field in the detail tree first (2, then ↑↓)", severity="warning")
            return
        title = f"{d.field or 'line'}: {d.text}"
        self.push_screen(MenuScreen(title[:66], MENU), self.field_action)

    def field_action(self, action: str | None) -> None:
        """Do one entry of the field menu on the selected field."""
        from sniffer.ui.fieldactions import combine, field_filter, field_value, tree_text, value_text

        d, i = self.selected_field, self.shown_index
        if action is None or d is None or i < 0:
            return
        if action == "expand_all":
            self.detail.root.expand_all()
            return
        if action == "collapse_all":
            self.detail.root.collapse_all()
            return
        if action == "copy_tree":
            root = self.detail.dnode
            if root is not None:
                self.copy(tree_text(root), "the detail tree")
            return
        if action == "copy_bytes":
            data = self.store.frame(i).data[d.start : d.end] if d.start >= 0 else b""
            self.copy(data.hex(), f"{len(data)} bytes as hex")
            return
        if not d.field:
            self.notify("this line is not a field", severity="warning")
            return
        if action == "copy_field":
            self.copy(d.field, "the field name")
            return
        if action == "column":
            self.action_add_column()
            return
        fields = self.store.fields(i)
        value = field_value(fields, d, self.detail.dnode)
        if action == "copy_value":
            self.copy("" if value is None else value_text(value), "the value")
            return

        def matches(text: str) -> bool:
            flt = compile_display_filter(text)
            return flt is not None and bool(flt.matches(fields))

        expr = field_filter(d.field, value, matches)
        current = self.view.text if self.view.matched is not None else ""
        text = combine(action, str(current or ""), expr)
        self.filter_input.value = text
        if action == "prepare":
            self.action_focus_filter()
            return
        if self.apply_filter(text):
            self.plist.focus()

    def copy(self, text: str, what: str) -> None:
        """Copy to the terminal's clipboard (OSC 52) and say so."""
        self.copy_to_clipboard(text)
        shown = text if len(text) <= 60 else text[:57] + "…"
        self.notify(f"copied {what} to the clipboard (OSC 52): {shown}", timeout=3)

    # -- columns and sorting ------------------------------------------------------------------------------
    def action_edit_columns(self) -> None:
        from sniffer.ui.screens import PromptScreen

        self.push_screen(
            PromptScreen(
                "Columns: field names, in order (e.g. ip.ttl tcp.window_size); empty: none",
                "ip.ttl tcp.stream dns.qry.name",
                " ".join(self.plist.custom),
            ),
            self._columns_given,
        )

    def _columns_given(self, text: str | None) -> None:
        if text is None:
            return
        from sniffer.ui.columns import parse_columns

        try:
            cols = parse_columns(text, field_names)
        except ValueError as exc:
            self.notify(str(exc), title="Columns", severity="error")
            return
        self.set_columns(cols)

    def action_add_column(self) -> None:
        d = self.selected_field
        if d is None or not d.field or d.field == "frame":
            self.notify("select a field in the detail tree first (2, then ↑↓)", severity="warning")
            return
        if d.field in self.plist.custom:
            self.notify(f"{d.field} is already a column")
            return
        self.set_columns([*self.plist.custom, d.field])

    def set_columns(self, cols: list[str]) -> None:
        """Show ``cols`` as field columns and keep them in the profile."""
        from sniffer.ui.columns import profile_path, save_columns

        self.plist.custom = list(cols)
        self.plist.refresh()
        error = save_columns(cols)
        if error:
            self.notify(error, severity="warning")
        else:
            shown = ", ".join(cols) or "none"
            self.notify(f"columns: {shown} (saved in {profile_path()})", timeout=3)

    def action_column_prev(self) -> None:
        self._column_notice(self.plist.step_column(-1))

    def action_column_next(self) -> None:
        self._column_notice(self.plist.step_column(1))

    def action_column_narrower(self) -> None:
        self.resize_column(self.plist.current_column, -1)

    def action_column_wider(self) -> None:
        self.resize_column(self.plist.current_column, 1)

    def resize_column(self, column: str, delta: int) -> None:
        """Make ``column`` ``delta`` characters wider (narrower when negative) and keep it in the profile."""
        plist = self.plist
        plist.show_current = True
        if column == "info":
            self.notify("Info takes the width the other columns leave: resize those", timeout=3)
            plist.refresh()
            return
        width = plist.width_of(column)
        if width == 0 and delta < 0:  # hidden by the compact column set (a narrow list): stays so
            self._column_notice(column)
            plist.refresh()
            return
        from sniffer.ui.widgets import NATURAL

        plist.resize_column(
            column, width + delta if width else NATURAL.get(column, 8)
        )  # > shows a hidden one
        self._save_widths()
        self._column_notice(column)

    def _column_notice(self, column: str) -> None:
        from sniffer.ui.columns import LABELS

        label = LABELS.get(column, column)
        width = "the rest" if column == "info" else str(self.plist.width_of(column))
        if width == "0":  # the compact column set of a narrow list left it out
            self.notice_column = f"{label} hidden at this width (> shows it)"
            return
        self.notice_column = f"{label} {width} wide (< > {{ }} Esc)"

    @on(PacketList.ColumnResized)
    def _column_dragged(self, event: PacketList.ColumnResized) -> None:
        self.plist.current_column = event.column
        self._save_widths()

    def _save_widths(self) -> None:
        from sniffer.ui.columns import save_widths

        error = save_widths(self.plist.widths)
        if error:
            self.notify(error, severity="warning")

    def sort_columns(self) -> list[str]:
        names = ["no", "time", "source", "destination", "protocol", "length"]
        return [*names, *self.plist.custom, "info"]

    def action_sort_next(self) -> None:
        cols = self.sort_columns()
        cur = cols.index(self.sort_column) if self.sort_column in cols else 0
        self.sort_by(cols[(cur + 1) % len(cols)], reverse=False)

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    @on(PacketList.SortRequested)
    def _header_clicked(self, event: PacketList.SortRequested) -> None:
        same = event.column == self.sort_column
        self.sort_by(event.column, reverse=not self.sort_reverse if same else False)

    def sort_by(self, column: str, reverse: bool = False) -> None:
        """Show the list ordered by ``column`` (a sorted index computed in a worker; No. ascending is
        the capture order itself)."""
        self.sort_column, self.sort_reverse = column, reverse
        if column == "no" and not reverse:
            self.plist.set_view(self.view)
            self.post_message(Sorted(None, column))
            return
        if not self.view.done or (self.source is not None and not self.source.status.done and not self.live):
            self.notify(
                "sorting waits for the file to be indexed and the filter to finish", severity="warning"
            )
            return
        self.notice_sort = f"Sorting by {column}…"
        self._sort_worker(self.view, column, reverse)

    @work(thread=True, exclusive=True, group="sort")
    def _sort_worker(self, view: View, column: str, reverse: bool) -> None:
        from textual.worker import get_current_worker

        from sniffer.ui.columns import SortedRows, sort_order

        worker = get_current_worker()

        def progress(k: int, n: int) -> None:
            self.notice_sort = f"Sorting by {column}: {100 * k // max(1, n)}%"

        order = sort_order(self.store, view, column, reverse, progress, lambda: worker.is_cancelled)
        if order is None or worker.is_cancelled:
            return
        self.post_message(Sorted(SortedRows(view, order, column, reverse), column))

    @on(Sorted)
    def _sorted(self, msg: Sorted) -> None:
        self.notice_sort = ""
        if msg.rows is not None and getattr(msg.rows, "base", None) is self.view:
            self.plist.set_view(msg.rows)  # type: ignore[arg-type]
        self.plist.refresh()

    # -- help / palette ------------------------------------------------------------------------------------
    def help_keys(self) -> list[tuple[str, str]]:
        pretty = {
            "question_mark": "?",
            "slash": "/",
            "right_square_bracket": "]",
            "left_square_bracket": "[",
            "full_stop": ".",
            "space": "Space",
            "escape": "Esc",
            "left_curly_bracket": "{",
            "right_curly_bracket": "}",
            "less_than_sign": "<",
            "greater_than_sign": ">",
        }
        out = [(", ".join(pretty.get(k, k) for k in keys.split(",")), desc) for keys, _, desc in KEYMAP]
        return out + LIST_KEYS

    def action_help(self) -> None:
        from sniffer.ui.screens import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_keys()))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for _, action, desc in KEYMAP:
            if action and action not in ("command_palette", "focus_pane", "focus_list", "quit"):
                yield SystemCommand(
                    desc.split(" (")[0].split(":")[0], desc, getattr(self, f"action_{action}")
                )
        yield SystemCommand("Clear display filter", "Show every packet", lambda: self.apply_filter(""))


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
