"""The sniffer TUI: packet list, detail tree and hex view over a PacketStore filled by a file or live source."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

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
from sniffer.ui.sources import Source
from sniffer.ui.widgets import DetailTree, HexView, PacketList, StatusBar, build_filter_bar

REFRESH_HZ = 10

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
]
KEYMAP += PANEL_KEYMAP  # analysis screens (sniffer/ui/panels): S F P I G
LIST_KEYS: list[tuple[str, str]] = [
    ("↑ ↓ / j k", "Previous / next packet (list), field (tree), byte row (hex)"),
    ("PgUp PgDn", "Page up / down"),
    ("Home End", "First / last packet (End also turns autoscroll on)"),
    ("← →", "Tree: collapse / expand; hex: previous / next byte"),
    ("Enter", "Tree: expand / collapse the field"),
    ("mouse", "Click a row, a field or a byte; wheel scrolls"),
]
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
class SearchDone(Message):
    row: int | None
    what: str


class SnifferApp(PanelActions, App[None]):
    """Wireshark-like packet browser for the terminal."""

    TITLE = "sniffer"
    CSS_PATH = "sniffer.tcss"
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
        self.last_search: tuple[str, str] | None = None
        self.selected_field: DNode | None = None
        self.shown_index = -1  # packet whose detail and bytes are shown
        self.layout_mode = "stacked"
        self.last_saved: str | None = None
        self.plist = PacketList(self.store, self.view, id="list")
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
        self.set_interval(1 / REFRESH_HZ, self._tick)
        self._tick()

    def on_unmount(self) -> None:
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

    # -- refresh timer ------------------------------------------------------------------------------------
    def _tick(self) -> None:
        plist = self.plist
        self._ticks += 1
        loading = self.source is not None and not self.live and not self.source.status.done
        screen_full = plist.count > plist.size.height
        # while a file loads behind a full screen, only the scrollbar changes: relayout at 2 Hz
        if not self.display_paused and (not loading or not screen_full or self._ticks % 5 == 0):
            plist.update_count(len(self.view))
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
        self.detail.show(self.store.tree(i, lambda f: dissect(f, i + 1)))
        self.shown_index = i

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
        self.plist.set_view(self.view)
        return True

    def action_focus_filter(self) -> None:
        self.filter_input.focus()

    def action_focus_list(self) -> None:
        self.plist.focus()

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
        rows = sorted(r for r in (self.view.row_of(i) for i in self.plist.marks) if r is not None)
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
        row = self.view.row_of(number - 1)
        if row is None:
            row = self.view.nearest_row(number - 1)
            self.notify(f"packet {number} is hidden by the display filter; showing the next one")
        self.plist.follow = False
        self.plist.update_count(len(self.view))
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
        self._search_worker(match, text, forward, self.plist.cursor, len(self.view))

    def _matcher(self, mode: str, text: str):  # type: ignore[no-untyped-def]
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
    def _search_worker(self, match, text: str, forward: bool, start: int, n: int) -> None:  # type: ignore[no-untyped-def]
        view = self.view
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
        which = "marked" if self.plist.marks else "displayed"
        path = time.strftime("sniffer-%Y%m%d-%H%M%S.pcapng")
        self.push_screen(SaveScreen(path, counts, which), self._save_chosen)

    def _save_chosen(self, result: tuple[str, str] | None) -> None:
        if result is not None:
            self.save(*result)

    def indices_for(self, which: str) -> list[int]:
        if which == "all":
            return list(range(self.store.count))
        if which == "marked":
            return sorted(self.plist.marks)
        view = self.view
        return [view.packet(r) for r in range(len(view))]

    def save(self, which: str, path: str) -> None:
        self._save_worker(self.indices_for(which), str(Path(path).expanduser()))

    @work(thread=True, exclusive=True, group="save")
    def _save_worker(self, indices: list[int], path: str) -> None:
        try:
            n = write_pcapng(path, self.store.frames(indices))
        except SnifferError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        except OSError as exc:
            self.call_from_thread(
                self.notify, f"cannot write {path}: {exc.strerror or exc}", severity="error"
            )
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
        }
        out = [(", ".join(pretty.get(k, k) for k in keys.split(",")), desc) for keys, _, desc in KEYMAP]
        return out + LIST_KEYS

    def action_help(self) -> None:
        from sniffer.ui.screens import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_keys()))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:  # type: ignore[type-arg]
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
