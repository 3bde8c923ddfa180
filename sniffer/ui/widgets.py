"""The TUI's panes: virtual packet list (Line API), detail tree, hex + ASCII view, filter bar, status bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.suggester import Suggester
from textual.visual import VisualType
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

from sniffer.model.store import PacketStore, Row, View
from sniffer.ui.adapters import DNode
from sniffer.ui.colors import BAD_TCP_STYLE, row_style
from sniffer.ui.columns import BUILTIN as BUILTIN_ORDER
from sniffer.ui.columns import CUSTOM_WIDTH, MAX_WIDTH, MIN_WIDTH, SortedRows, field_text
from sniffer.ui.names import Resolver
from sniffer.ui.timefmt import NO_TIME, TimeFormat

HEADER_STYLE = Style(bold=True, reverse=True)
CURSOR_STYLE = Style(color="#ffffff", bgcolor="#1f5fbf", bold=True)
CURRENT_HEADER_STYLE = Style(bold=True, reverse=True, underline=True, color="#ffd75f")
MARK_STYLE = Style(color="#ffffff", bgcolor="#000000")
MARK_CURSOR_STYLE = Style(color="#ffffff", bgcolor="#1f5fbf", bold=True, underline=True)
NARROW = 100  # a list narrower than this gets the compact column set (Info first, see Columns.fit)
INFO_MIN = 45  # characters of Info the compact set keeps before it shows Source / Destination / Length
ADDR_MIN = 11  # Source / Destination narrower than this are hidden rather than shown cut
NATURAL = {"source": 15, "destination": 15, "length": 5}  # a hidden column shown again (> on it)


@dataclass
class Columns:
    no: int
    time: int
    src: int
    dst: int
    proto: int
    length: int
    info: int
    custom: tuple[int, ...] = ()  # widths of the field columns (between Length and Info)

    @classmethod
    def fit(
        cls,
        width: int,
        count: int,
        time_width: int = 12,
        custom: tuple[int, ...] = (),
        sized: dict[str, int] | None = None,
    ) -> Columns:
        """Widths for a list ``width`` characters wide; ``sized``: columns the user resized (builtin
        name -> width) win over the automatic ones; Info takes what is left.

        Narrower than ``NARROW`` (an 80-column terminal) the compact set: No. as wide as the packet count,
        Time as the caller sized it, Protocol 6, the field columns, then Info keeps ``INFO_MIN``
        characters; Source and Destination get what is left (hidden, width 0, when less than
        ``ADDR_MIN`` each), then Length. A column the user sized is always shown at its size."""
        sized = sized or {}
        if width >= NARROW:
            no, proto, length = max(5, len(str(count))), 9, 7
            src = dst = 22 if width >= 140 else (18 if width >= 110 else 15)
            no, time_width = sized.get("no", no), sized.get("time", time_width)
            src, dst = sized.get("source", src), sized.get("destination", dst)
            proto, length = sized.get("protocol", proto), sized.get("length", length)
            fixed = no + time_width + src + dst + proto + length + 6 + sum(custom) + len(custom)  # separators
            return cls(no, time_width, src, dst, proto, length, max(10, width - fixed), custom)
        no = sized.get("no", max(3, len(str(count))))
        time_width = sized.get("time", time_width)
        proto = sized.get("protocol", 6)
        spare = width - (no + 1) - (time_width + 1) - (proto + 1) - sum(custom) - len(custom) - INFO_MIN
        src, dst, length = sized.get("source", -1), sized.get("destination", -1), sized.get("length", -1)
        spare -= sum(w + 1 for w in (src, dst, length) if w >= 0)
        auto = [name for name, w in (("source", src), ("destination", dst)) if w < 0]
        if auto:
            each = min(NATURAL["source"], spare // len(auto) - 1)
            each = each if each >= ADDR_MIN else 0
            src, dst = (each if src < 0 else src), (each if dst < 0 else dst)
            spare -= (each + 1) * len(auto) if each else 0
        if length < 0:
            length = NATURAL["length"] if spare >= NATURAL["length"] + 1 else 0
            spare -= length + 1 if length else 0
        shown = sum(w + 1 for w in (no, time_width, src, dst, proto, length) if w) + sum(custom) + len(custom)
        return cls(no, time_width, src, dst, proto, length, max(10, width - shown), custom)

    def spans(self) -> list[tuple[str, int]]:
        """(builtin column name or "custom:K", width) in screen order; hidden columns (width 0) left out."""
        out = [("no", self.no), ("time", self.time), ("source", self.src), ("destination", self.dst)]
        out += [("protocol", self.proto), ("length", self.length)]
        out += [(f"custom:{k}", w) for k, w in enumerate(self.custom)]
        return [(name, w) for name, w in out if w > 0] + [("info", self.info)]


def _join(cols: Columns, cells: dict[str, str], custom: list[str]) -> str:
    """One line of the list: the cells of the columns shown (``Columns.spans``), one space apart."""
    return " ".join(
        custom[int(name[7:])] if name.startswith("custom:") else cells[name] for name, _ in cols.spans()
    )


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(0, width - 1)] + "…"


class PacketList(ScrollView, can_focus=True):
    """The packet list: a virtual list that renders only the visible rows of a View."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First packet", show=False),
        Binding("end", "last", "Last packet (autoscroll)", show=False),
    ]

    DEFAULT_CSS = """
    PacketList { overflow-x: hidden; }
    """

    cursor: reactive[int] = reactive(-1, always_update=False, repaint=True)

    class Highlighted(Message):
        """The cursor moved to a packet (store index, -1 for none)."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class SortRequested(Message):
        """A click on a column header: sort by that column (a builtin name or a field name)."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    class ColumnResized(Message):
        """A column was resized (a drag on the header or a key): keep the widths in the profile."""

        def __init__(self, column: str, width: int) -> None:
            super().__init__()
            self.column = column
            self.width = width

    def __init__(self, store: PacketStore, view: View, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.store = store
        self.view = view
        self.count = 0  # rows shown (may lag len(view) while display is paused)
        self.follow = False
        self.marks: set[int] = set()
        self.bad_tcp: set[int] = set()  # store indices of the "Bad TCP" rule (from the expert pass)
        # the conversation state's columns and Bad TCP rule (model.tcpcolumns, fed by the app's thread)
        self.tcpcols: Any = None
        self.timefmt = TimeFormat()
        self._first_ts: int | None = None  # the first packet with a timestamp
        self.custom: list[str] = []  # field names shown as columns (between Length and Info)
        self.names: Resolver | None = None  # name resolution (the app's; off by default)
        self.widths: dict[str, int] = {}  # columns resized by the user (name -> width; kept in the profile)
        self.current_column = "source"  # the column the resize keys act on (underlined in the header)
        self._drag: tuple[str, int, int] | None = None  # (column, start x, start width) while dragging
        self._dragged = False
        self.show_current = False  # underline the current column in the header (after a column key)

    # -- data ----------------------------------------------------------------------------------------
    def set_view(self, view: View) -> None:
        """Switch to another View, keeping the selected packet when it is displayed."""
        selected = self.selected_index
        self.view = view
        self.count = len(view)
        self._update_size()
        if selected >= 0 and self.count:
            row = view.row_of(selected)
            self.cursor = row if row is not None else -1
            if row is not None:
                self.scroll_to_cursor(center=True)
        else:
            self.cursor = -1
        self.post_message(self.Highlighted(self.selected_index))
        self.refresh()

    def update_count(self, count: int) -> None:
        """New rows are available (called by the app's refresh timer)."""
        if count != self.count:
            grew_visible = self.count < self.scroll_y + self.size.height
            self.count = count
            self._update_size()
            if grew_visible:
                self.refresh()
        if self.follow and count and self.size.height and self.scroll_y != self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False)

    def _update_size(self) -> None:
        new = Size(self.size.width, self.count + 1)
        old = self.virtual_size
        height = self.size.height
        if old.width == new.width and old.height > height and new.height > height:
            # only the scrollbar changes: skip the whole-screen relayout a virtual_size change causes
            self.set_reactive(PacketList.virtual_size, new)
            self._scroll_update(new)
        else:
            self.virtual_size = new

    def on_resize(self, event: events.Resize) -> None:
        self._update_size()

    @property
    def selected_index(self) -> int:
        if 0 <= self.cursor < self.count:
            return self.view.packet(self.cursor)
        return -1

    # -- cursor ----------------------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self.post_message(self.Highlighted(self.selected_index))

    def move_to(self, row: int, center: bool = False) -> None:
        if not self.count:
            return
        self.cursor = max(0, min(row, self.count - 1))
        self.scroll_to_cursor(center=center)

    def scroll_to_cursor(self, center: bool = False) -> None:
        rows = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if center:
            top = self.cursor - rows // 2
        elif self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + rows:
            top = self.cursor - rows + 1
        self.scroll_to(y=max(0, top), animate=False)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        if delta < 0:
            self.follow = False
        if self.cursor < 0:
            self.move_to(int(self.scroll_y))
        else:
            self.move_to(self.cursor + delta)

    def action_page(self, delta: int) -> None:
        if delta < 0:
            self.follow = False
        page = max(1, self.size.height - 2)
        self.move_to(max(0, self.cursor) + delta * page)

    def action_first(self) -> None:
        self.follow = False
        self.move_to(0)

    def action_last(self) -> None:
        self.follow = True
        self.move_to(self.count - 1)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.follow = False

    def columns(self) -> Columns:
        sized = self.widths
        widths = tuple(sized.get(n, max(CUSTOM_WIDTH[0], min(CUSTOM_WIDTH[1], len(n)))) for n in self.custom)
        width = self.size.width
        time_width = self.timefmt.width()
        if width < NARROW:  # the compact set: Time as wide as the capture's times need
            count = self.store.count
            span = self.store.ts[count - 1] - self.first_ts() if count else 0
            time_width = self.timefmt.fit_width(span)
        cols = Columns.fit(width, self.store.count, time_width, widths, sized)
        sort_col = self.view.column if isinstance(self.view, SortedRows) else None
        if sort_col in NATURAL and sort_col not in sized and sort_col not in dict(cols.spans()):
            # the column the list is sorted by is always shown (the compact set had left it out)
            sized = {**sized, sort_col: NATURAL[sort_col]}
            cols = Columns.fit(width, self.store.count, time_width, widths, sized)
        return cols

    def column_names(self) -> list[str]:
        """Every column in screen order (builtin names and field names)."""
        return [*BUILTIN_ORDER[:6], *self.custom, "info"]

    def column_at(self, x: int) -> str:
        """The column under screen column ``x`` (builtin name or field name)."""
        edge = 0
        for name, w in self.columns().spans():
            edge += w + 1
            if x < edge:
                return self.custom[int(name[7:])] if name.startswith("custom:") else name
        return "info"

    def column_span(self, column: str, cols: Columns) -> tuple[int, int] | None:
        """Screen columns [start, end) of ``column``."""
        x = 0
        for name, w in cols.spans():
            real = self.custom[int(name[7:])] if name.startswith("custom:") else name
            if real == column:
                return x, x + w
            x += w + 1
        return None

    def step_column(self, step: int) -> str:
        """Make the previous / next column the current one (the one the resize keys act on)."""
        names = self.column_names()
        k = names.index(self.current_column) if self.current_column in names else 0
        self.current_column = names[(k + step) % len(names)]
        self.show_current = True
        self.refresh()
        return self.current_column

    def border_at(self, x: int) -> str | None:
        """The column whose right edge (the separator after it) is at screen column ``x``, if any:
        where a drag on the header resizes (Info, the last column, has none)."""
        edge = 0
        for name, w in self.columns().spans()[:-1]:
            edge += w
            if x == edge:
                return self.custom[int(name[7:])] if name.startswith("custom:") else name
            edge += 1
        return None

    def width_of(self, column: str) -> int:
        """The width ``column`` has on screen now."""
        cols = self.columns()
        for name, w in cols.spans():
            real = self.custom[int(name[7:])] if name.startswith("custom:") else name
            if real == column:
                return w
        return 0

    def resize_column(self, column: str, width: int) -> None:
        """Give ``column`` (not Info: it takes the rest) ``width`` characters."""
        if column == "info" or column not in self.column_names():
            return
        self.widths[column] = max(MIN_WIDTH, min(MAX_WIDTH, width))
        self.refresh()

    # -- header: sorting (a click) and resizing (a drag on a border) -----------------------------------
    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._dragged = False
        pos = event.get_content_offset(self)
        if pos is None or pos.y != 0:
            return
        column = self.border_at(pos.x)
        if column is not None:
            self._drag = (column, pos.x, self.width_of(column))
            self.capture_mouse()
            event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag is None:
            return
        column, x0, w0 = self._drag
        pos = event.get_content_offset_capture(self)
        self.resize_column(column, w0 + pos.x - x0)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drag is None:
            return
        column, x0, w0 = self._drag
        self._drag = None
        self.capture_mouse(False)
        self._dragged = True  # the click that follows this mouse up is no sort request
        self.resize_column(column, w0 + event.get_content_offset_capture(self).x - x0)
        self.post_message(self.ColumnResized(column, self.widths.get(column, 0)))

    def on_click(self, event: events.Click) -> None:
        pos = event.get_content_offset(self)
        if self._dragged:
            self._dragged = False
            return
        if pos is not None and pos.y == 0:
            self.post_message(self.SortRequested(self.column_at(pos.x)))
            return
        if pos is None or pos.y <= 0:
            return
        row = int(self.scroll_y) + pos.y - 1
        if 0 <= row < self.count:
            self.follow = False
            self.cursor = row
            self.focus()

    # -- rendering ------------------------------------------------------------------------------------
    def header_text(self, cols: Columns) -> str:
        sort_col = getattr(self.view, "column", None) if isinstance(self.view, SortedRows) else None
        arrow = " ▼" if getattr(self.view, "reverse", False) else " ▲"

        def label(name: str, text: str) -> str:
            return text + arrow if name == sort_col else text

        cells = {
            "no": label("no", "No.").rjust(cols.no),
            "time": _cut(label("time", "Time"), cols.time),
            "source": _cut(label("source", "Source"), cols.src),
            "destination": _cut(label("destination", "Destination"), cols.dst),
            "protocol": _cut(label("protocol", "Protocol" if cols.proto >= 8 else "Proto"), cols.proto),
            "length": label("length", "Length" if cols.length >= 6 else "Len").rjust(cols.length),
            "info": label("info", "Info"),
        }
        custom = [_cut(label(n, n), w) for n, w in zip(self.custom, cols.custom, strict=False)]
        return _join(cols, cells, custom)

    def custom_cells(self, index: int, cols: Columns) -> list[str]:
        if not self.custom:
            return []
        try:
            fields = self.store.fields(index)
        except Exception:
            fields = {}
        return [_cut(field_text(fields.get(n)), w) for n, w in zip(self.custom, cols.custom, strict=False)]

    def first_ts(self) -> int:
        """Time of the first packet that has one (a pcapng SPB has none), 0 while there is none."""
        if self._first_ts is None:
            ts = self.store.ts
            for i in range(min(self.store.count, 10_000)):
                if ts[i] != NO_TIME:
                    self._first_ts = ts[i]
                    break
        return self._first_ts or 0

    def time_text(self, r: int, index: int) -> str:
        """The Time cell of display row ``r`` (store index ``index``) in the chosen format."""
        ts = self.store.ts
        prev = ts[index - 1] if index > 0 else None
        prev_shown = ts[self.view.packet(r - 1)] if r > 0 else None
        return self.timefmt.text(ts[index], self.first_ts(), prev, prev_shown)

    def row_text(self, index: int, row: Row, cols: Columns, r: int) -> str:
        names = self.names
        cells = {
            "no": str(index + 1).rjust(cols.no),
            "time": _cut(self.time_text(r, index), cols.time),
            "source": _cut(names.address(row.src) if names else row.src, cols.src) if cols.src else "",
            "destination": _cut(names.address(row.dst) if names else row.dst, cols.dst) if cols.dst else "",
            "protocol": _cut(row.protocol, cols.proto),
            "length": str(self.store.wirelen[index]).rjust(cols.length),
            "info": names.info(row.protocol, row.info) if names else row.info,
        }
        return _join(cols, cells, self.custom_cells(index, cols))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        cols = self.columns()
        if y == 0:
            text = _cut(self.header_text(cols), width)
            span = self.column_span(self.current_column, cols) if self.show_current else None
            if span is None:
                return Strip([Segment(text, HEADER_STYLE)], width)
            a, b = span
            return Strip(
                [
                    Segment(text[:a], HEADER_STYLE),
                    Segment(text[a:b], CURRENT_HEADER_STYLE),
                    Segment(text[b:], HEADER_STYLE),
                ],
                width,
            )
        r = int(self.scroll_y) + y - 1
        if r >= self.count or r < 0:
            return Strip.blank(width, self.rich_style)
        index = self.view.packet(r)
        row = self.store.row(index)
        tc = self.tcpcols
        if tc is not None and index < tc.fed:  # "[TCP Retransmission]" prefixes, reassembled PDUs
            proto, info = tc.columns(index, row.protocol, row.info, self.store.frame)
            if proto != row.protocol or info != row.info:
                row = replace(row, protocol=proto, info=info)
        text = _cut(self.row_text(index, row, cols, r), width)
        marked = index in self.marks
        if r == self.cursor:
            style = MARK_CURSOR_STYLE if marked else CURSOR_STYLE
        elif marked:
            style = MARK_STYLE
        elif index in self.bad_tcp or (tc is not None and tc.bad(index)):
            style = self.rich_style + BAD_TCP_STYLE
        else:
            style = self.rich_style + row_style(row)
        return Strip([Segment(text, style)], width)


class HexView(ScrollView, can_focus=True):
    """Hex + ASCII dump of the selected packet; the selected field's bytes are highlighted. 16 bytes a
    row, 8 where the pane is narrower than a 16-byte row (the side-by-side layout at 80 columns)."""

    DEFAULT_CSS = """
    HexView { overflow-x: hidden; }
    """
    BINDINGS = [
        Binding("left,h", "move(-1)", "Previous byte", show=False),
        Binding("right,l", "move(1)", "Next byte", show=False),
        Binding("up,k", "move_rows(-1)", "Byte above", show=False),
        Binding("down,j", "move_rows(1)", "Byte below", show=False),
    ]
    HEX_START = 6
    WIDE_ROW = 72  # characters a 16-byte row takes (offset, 16 hex bytes in two groups, ASCII)
    HL_STYLE = Style(color="#000000", bgcolor="#f0c674", bold=True)
    CUR_STYLE = Style(reverse=True)

    class ByteSelected(Message):
        def __init__(self, offset: int) -> None:
            super().__init__()
            self.offset = offset

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.data = b""
        self.hl_start = -1
        self.hl_end = -1
        self.byte_cursor = -1

    @property
    def per_row(self) -> int:
        """Bytes a row shows: 16, or 8 when the pane is too narrow for 16."""
        return 16 if not self.size.width or self.size.width >= self.WIDE_ROW else 8

    def _size_rows(self) -> None:
        n = self.per_row
        self.virtual_size = Size(self.size.width, (len(self.data) + n - 1) // n)

    def on_resize(self, event: events.Resize) -> None:
        self._size_rows()

    def show(self, data: bytes) -> None:
        self.data = data
        self.hl_start = self.hl_end = -1
        self.byte_cursor = -1
        self._size_rows()
        self.scroll_to(y=0, animate=False)
        self.refresh()

    def highlight(self, start: int, length: int) -> None:
        if start < 0 or length <= 0:
            self.hl_start = self.hl_end = -1
        else:
            self.hl_start, self.hl_end = start, min(len(self.data), start + length)
            line = start // self.per_row
            if not (self.scroll_y <= line < self.scroll_y + self.size.height):
                self.scroll_to(y=max(0, line - 1), animate=False)
        self.refresh()

    @staticmethod
    def byte_column(i: int, per_row: int = 16) -> int:
        """Screen column of the i-th byte of a row (16-byte rows have a gap after the 8th)."""
        return HexView.HEX_START + i * 3 + (1 if per_row == 16 and i >= 8 else 0)

    @staticmethod
    def ascii_column(i: int, per_row: int = 16) -> int:
        return HexView.HEX_START + per_row * 3 + (2 if per_row == 16 else 1) + i

    def offset_at(self, x: int, y: int) -> int | None:
        """Byte offset under widget cell (x, y), or None."""
        n = self.per_row
        line = int(self.scroll_y) + y
        for i in range(n):
            bx = self.byte_column(i, n)
            if bx <= x < bx + 2 or x == self.ascii_column(i, n):
                off = line * n + i
                return off if off < len(self.data) else None
        return None

    def on_click(self, event: events.Click) -> None:
        pos = event.get_content_offset(self)
        off = None if pos is None else self.offset_at(pos.x, pos.y)
        if off is not None:
            self.select_byte(off)
            self.focus()

    def select_byte(self, off: int) -> None:
        self.byte_cursor = off
        self.refresh()
        self.post_message(self.ByteSelected(off))

    def action_move(self, delta: int) -> None:
        if not self.data:
            return
        base = self.byte_cursor if self.byte_cursor >= 0 else max(self.hl_start, 0)
        self.select_byte(max(0, min(len(self.data) - 1, base + delta)))

    def action_move_rows(self, rows: int) -> None:
        self.action_move(rows * self.per_row)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        n = self.per_row
        line = int(self.scroll_y) + y
        base = line * n
        if base >= len(self.data) or not self.data:
            return Strip.blank(width, self.rich_style)
        chunk = self.data[base : base + n]
        plain = self.rich_style
        hl, cur = self.HL_STYLE, plain + self.CUR_STYLE
        lo, hi, bc = self.hl_start, self.hl_end, self.byte_cursor

        def style(off: int) -> Style:
            return cur if off == bc else (hl if lo <= off < hi else plain)

        segs = [Segment(f"{base:04x}  ", plain + Style(dim=True))]
        for i in range(n):
            off = base + i
            if i == 8:
                segs.append(Segment(" ", plain))
            if i < len(chunk):
                segs.append(Segment(f"{chunk[i]:02x}", style(off)))
            else:
                segs.append(Segment("  ", plain))
            joined = lo <= off < hi - 1 and i != n - 1 and i != 7
            segs.append(Segment(" ", hl if joined else plain))
        segs.append(Segment(" ", plain))
        for i, b in enumerate(chunk):
            segs.append(Segment(chr(b) if 32 <= b < 127 else ".", style(base + i)))
        return Strip(segs).adjust_cell_length(width, plain)


class DetailTree(Tree[DNode]):
    """Layers and fields of the selected packet; remembers which layers were open."""

    def __init__(self, **kw: object) -> None:
        super().__init__("", **kw)  # type: ignore[arg-type]
        self.show_root = False
        self.auto_expand = True
        self.expanded_keys: set[str] = set()
        self._by_node: dict[int, TreeNode[DNode]] = {}
        self.dnode: DNode | None = None

    @staticmethod
    def _key(d: DNode) -> str:
        return d.field or d.text.split(":")[0].split(",")[0]

    def show(self, root: DNode | None) -> None:
        self.clear()
        self._by_node.clear()
        self.dnode = root
        if root is None:
            return

        def add(parent: TreeNode[DNode], d: DNode) -> None:
            if d.children:
                node = parent.add(d.text, data=d, expand=self._key(d) in self.expanded_keys)
                for c in d.children:
                    add(node, c)
            else:
                node = parent.add_leaf(d.text, data=d)
            self._by_node[id(d)] = node

        for d in root.children:
            add(self.root, d)
        self.root.expand()

    def on_focus(self) -> None:
        if self.cursor_line < 0 and self.dnode is not None and self.dnode.children:
            self.cursor_line = 0

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[DNode]) -> None:
        if event.node.data is not None:
            self.expanded_keys.add(self._key(event.node.data))

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed[DNode]) -> None:
        if event.node.data is not None:
            self.expanded_keys.discard(self._key(event.node.data))

    def node_for_offset(self, off: int) -> TreeNode[DNode] | None:
        """The innermost field covering byte ``off``."""
        if self.dnode is None:
            return None
        best: DNode | None = None
        for d in self.dnode.walk()[1:]:
            if d.start >= 0 and d.length > 0 and d.start <= off < d.end:
                if best is None or d.length <= best.length:
                    best = d
        return None if best is None else self._by_node.get(id(best))

    def reveal(self, node: TreeNode[DNode]) -> None:
        """Expand the ancestors of ``node`` and put the cursor on it."""
        p = node.parent
        while p is not None and p is not self.root:
            p.expand()
            p = p.parent
        self.call_after_refresh(self.move_cursor, node)


class FieldSuggester(Suggester):
    """Completes the last word of a display filter from the known field names."""

    def __init__(self, names: Callable[[], list[str]]) -> None:
        super().__init__(use_cache=True, case_sensitive=True)
        self._load = names
        self._names: list[str] | None = None

    @property
    def names(self) -> list[str]:
        """The field names, loaded on first use (keeps the filter engine out of start-up)."""
        if self._names is None:
            self._names = self._load()
        return self._names

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value[-1] in " ()!=<>&|{}\"'":
            return None
        start = max(value.rfind(c) for c in " ()!=<>&|{}") + 1
        word = value[start:]
        if not word or word[0].isdigit():
            return None
        for n in self.names:
            if n.startswith(word) and n != word:
                return value[:start] + n
        return None


class FilterInput(Input):
    """The filter bar's input: Tab completes the field name under the cursor (it does not leave the bar),
    Ctrl-U clears the whole line."""

    BINDINGS = [
        Binding("tab", "complete", "Complete the field name", show=False),
        Binding("ctrl+u", "clear_line", "Clear", show=False),
    ]

    def action_complete(self) -> None:
        if self._suggestion and self.cursor_position >= len(self.value):
            self.value = self._suggestion
            self.cursor_position = len(self.value)
            return
        suggester = self.suggester
        if not isinstance(suggester, FieldSuggester):
            return
        # no single suggestion: the longest prefix the matching names share
        value = self.value[: self.cursor_position]
        start = max(value.rfind(c) for c in " ()!=<>&|{}") + 1
        word = value[start:]
        if not word:
            return
        matches = [n for n in suggester.names if n.startswith(word)]
        if matches:
            common = min(matches)
            last = max(matches)
            k = 0
            while k < len(common) and common[k] == last[k]:
                k += 1
            common = common[:k]  # the prefix all matches share (that of the first and last in order)
            if len(common) > len(word):
                self.value = value[:start] + common + self.value[self.cursor_position :]
                self.cursor_position = start + len(common)

    def action_clear_line(self) -> None:
        self.value = ""
        self.cursor_position = 0


FILTER_HINT = "display filter, e.g. tcp.port == 80 or icmp  (/ to edit, Tab completes, Enter applies)"
FILTER_HINT_SHORT = "e.g. tcp.port == 80 or icmp  (/ edit, Tab complete, Enter apply)"  # fits at 80


class FilterBar(Horizontal):
    """Display filter input, checked as you type."""

    def on_resize(self, event: events.Resize) -> None:
        for inp in self.query(Input):  # the whole hint where it fits, a shorter one at 80 columns
            inp.placeholder = FILTER_HINT if event.size.width >= NARROW else FILTER_HINT_SHORT

    DEFAULT_CSS = """
    FilterBar { height: 1; }
    FilterBar > #filter-label { width: 8; }
    FilterBar > Input { width: 1fr; min-width: 30; height: 1; border: none; padding: 0; }
    FilterBar > Input.-ok { background: #1d3b1d; }
    FilterBar > Input.-bad { background: #4a1616; }
    FilterBar > #filter-msg { width: auto; max-width: 80; color: $text-warning; padding-left: 1; }
    """


class FilterMessage(Static):
    """Why the filter typed is invalid (empty while it is valid). Below 100 columns it takes a second
    line of the filter bar when it has something to say (sniffer.tcss: ``Screen.-narrow``)."""

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(content, layout=layout)
        self.set_class(not str(content), "-empty")


class StatusBar(Static):
    """One line: counts, rates, drops, source."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; }
    """


def build_filter_bar(names: Callable[[], list[str]]) -> tuple[FilterBar, Input, Static]:
    """The filter bar, its input and its message line."""
    inp = FilterInput(
        placeholder=FILTER_HINT,
        id="filter",
        suggester=FieldSuggester(names),
        select_on_focus=False,
    )
    msg = FilterMessage("", id="filter-msg", classes="-empty")
    return FilterBar(Static("Filter: ", id="filter-label"), inp, msg), inp, msg
