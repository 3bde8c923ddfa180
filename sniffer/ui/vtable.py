"""A virtual table for big result sets (conversations, endpoints, I/O): rows are plain tuples, only the
visible lines are rendered (Line API), sorting and filtering reorder an index of row numbers.

A DataTable makes a widget-side row object per row and lays them all out; at 100k conversations that
froze the Statistics screen for minutes and took gigabytes. Here a row costs its tuple and one int in
the display order, whatever the number of rows.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from sniffer.ui.columns import Strings, row_of, sorted_order

HEADER_STYLE = Style(bold=True, reverse=True)
SORTED_HEADER_STYLE = Style(bold=True, reverse=True, underline=True)
CURSOR_STYLE = Style(color="#ffffff", bgcolor="#1f5fbf", bold=True)
ZEBRA_STYLE = Style(bgcolor="#1c1c1c")
SAMPLE_ROWS = 2000  # rows looked at to size text columns (numbers are sized from their maximum)
MAX_TEXT_WIDTH = 48
FLEX_MIN = 16  # a flex column is narrowed to fit the table's width down to this
BIG_TABLE = 50_000  # rows from which the rows filter runs in a thread (the UI thread stays free)


class ColumnRows(Sequence[tuple[Any, ...]]):
    """Rows kept by column (what a table of 100k+ conversations is built as): numbers in typed arrays,
    8 bytes a value instead of a Python int or float and a tuple slot each (a statistics table takes a
    third of the memory of tuples); a row's tuple is made when it is drawn. A numeric column is
    handed to the sort as is (``columns.sorted_order`` reads an array's buffer without a copy)."""

    __slots__ = ("cols", "n")

    def __init__(self, cols: Sequence[Sequence[Any]]) -> None:
        self.cols = list(cols)
        self.n = len(self.cols[0]) if self.cols else 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [tuple(c[j] for c in self.cols) for j in range(*i.indices(self.n))]
        return tuple(c[i] for c in self.cols)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self.cols, strict=True)

    def column(self, k: int) -> Sequence[Any]:
        return self.cols[k]

    def repeat(self, n: int) -> ColumnRows:
        """The rows repeated to ``n`` rows (a benchmark's million-row table)."""
        reps = n // max(1, self.n) + 1
        cols: list[Any] = self.cols
        return ColumnRows([c.repeat(n) if isinstance(c, Strings) else (c * reps)[:n] for c in cols])


def sort_keys(columns: Sequence[Column], rows: Sequence[tuple[Any, ...]], k: int) -> Sequence[Any]:
    """Column ``k`` of every row, a missing value as -1 (numbers) or "" (text)."""
    if isinstance(rows, ColumnRows):
        col = rows.column(k)
        if isinstance(col, (array, Strings)):
            return col  # numbers or encoded text, never missing
        keys = list(col)
    else:
        keys = [r[k] for r in rows]
    if any(v is None for v in keys):
        fill: Any = -1 if columns[k].numeric else ""
        keys = [fill if v is None else v for v in keys]
    return keys


def display_order(
    columns: Sequence[Column],
    rows: Sequence[tuple[Any, ...]],
    sort_column: int | None,
    reverse: bool,
    needle: str,
    haystack: list[str] | None,
    cache: dict[tuple[int, bool], Sequence[int]] | None = None,
) -> tuple[Sequence[int], list[str] | None]:
    """(display row -> data row, the per-row text the filter searched) for a sort column and a filter.

    ``cache``: sorted orders already computed for these rows, by (column, reverse); a new one is added."""
    n = len(rows)
    order: Sequence[int]
    if sort_column is None:
        order = range(n)  # no list: 1M rows cost nothing to show in data order
    elif cache is not None and (sort_column, reverse) in cache:
        order = cache[sort_column, reverse]
    else:
        order = sorted_order(sort_keys(columns, rows, sort_column), reverse)
        if cache is not None:
            cache[sort_column, reverse] = order
    if needle:
        if haystack is None:
            haystack = ["\t".join(c.text(v) for c, v in zip(columns, r, strict=False)).lower() for r in rows]
        hay = haystack
        order = [i for i in order if needle in hay[i]]
    return order, haystack


@dataclass(frozen=True)
class Column:
    """One column: its label, whether it holds numbers (right-aligned, sorted largest first), how a
    value is written (``str`` when no format is given) and whether it gives up width (``flex``: a long
    text column, e.g. a message, narrowed down to ``FLEX_MIN`` so the columns after it stay on a narrow
    screen instead of past its right edge)."""

    label: str
    numeric: bool = False
    fmt: Callable[[Any], str] | None = None
    flex: bool = False

    def text(self, value: Any) -> str:
        if value is None:
            return ""
        return self.fmt(value) if self.fmt is not None else str(value)


def _cut(text: str, width: int, right: bool) -> str:
    if len(text) > width:
        return text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


def measure(columns: Sequence[Column], rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Column widths: numbers from their largest and smallest value, text from the first rows."""
    widths = []
    sample = rows[:SAMPLE_ROWS]
    for k, col in enumerate(columns):
        w = len(col.label) + 2  # room for the sort arrow
        if col.numeric and rows and col.fmt is None:
            if isinstance(rows, ColumnRows) and isinstance(rows.column(k), array):
                values: Sequence[Any] = rows.column(k)
            else:
                values = [r[k] for r in rows if r[k] is not None]
            if values:
                w = max(w, len(str(max(values))), len(str(min(values))))
        else:
            for r in sample:
                w = max(w, len(col.text(r[k])))
        widths.append(min(w, MAX_TEXT_WIDTH))
    return widths


class VirtualTable(ScrollView, can_focus=True):
    """Columns over a list of row tuples; sort by any column, filter by a substring, Enter selects.

    Keys: ↑↓ PgUp PgDn Home End move, ←→ scroll sideways, ``<`` ``>`` sort by the previous / next column,
    ``s`` reverses the order; a click on a header sorts by that column (again: reversed).
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First row", show=False),
        Binding("end", "last", "Last row", show=False),
        Binding("left,h", "side(-8)", "Scroll left", show=False),
        Binding("right,l", "side(8)", "Scroll right", show=False),
        Binding("less_than_sign", "sort_step(-1)", "Sort: previous column"),
        Binding("greater_than_sign", "sort_step(1)", "Sort: next column"),
        Binding("s", "reverse", "Reverse sort"),
        Binding("enter", "select", "Select", show=False),
    ]
    DEFAULT_CSS = """
    VirtualTable { height: 1fr; }
    """

    cursor: reactive[int] = reactive(0, repaint=True)

    class RowSelected(Message):
        """Enter (or a double click) on a row: ``row`` is its tuple, ``index`` its position in the data."""

        def __init__(self, table: VirtualTable, index: int, row: tuple[Any, ...]) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, columns: Sequence[Column] = (), *, sortable: bool = True, **kw: Any) -> None:
        super().__init__(**kw)
        self.columns: list[Column] = list(columns)
        self.rows: Sequence[tuple[Any, ...]] = []
        self.order: Sequence[int] = range(0)  # display row -> data row (sorted and filtered)
        self.sortable = sortable
        self.sort_column: int | None = None
        self.sort_reverse = False
        self.filter_text = ""
        self.widths: list[int] = []
        self._haystack: list[str] | None = (
            None  # per row, its cells as lowercase text (built on first filter)
        )
        self.sorting = False  # a big table's order is being computed in a thread
        self._orders: dict[tuple[int, bool], Sequence[int]] = {}  # sorted orders of these rows, kept
        self._generation = 0  # bumped by every new order asked for (a late thread result is dropped)

    # -- data -------------------------------------------------------------------------------------------
    def set_data(
        self, columns: Sequence[Column], rows: Sequence[tuple[Any, ...]], widths: list[int] | None = None
    ) -> None:
        """Replace columns and rows (the sort column and filter are kept when the columns are the same).

        ``widths``: from ``measure(columns, rows)``, computed beforehand off the UI thread for big tables.
        """
        same = [c.label for c in columns] == [c.label for c in self.columns]
        self.columns = list(columns)
        self.rows = rows
        self._haystack = None
        self._orders = {}
        if not same:
            self.sort_column, self.sort_reverse = None, False
        self.widths = widths if widths is not None else measure(self.columns, rows)
        self.order = range(len(rows))  # until the sorted order is there (a big table: a thread)
        self._reorder()
        self.cursor = 0
        self.scroll_to(0, 0, animate=False)

    def clear(self) -> None:
        self.set_data(self.columns, [])

    def release(self) -> None:
        """Drop the rows and everything derived from them (a closed screen's table), without a redraw."""
        self._generation += 1  # a sort or filter still running in a thread is dropped when it ends
        self.rows, self.order, self._orders, self._haystack = [], range(0), {}, None

    @property
    def row_count(self) -> int:
        return len(self.order)

    def get_row_at(self, row: int) -> list[str]:
        """The cells of display row ``row`` as shown (formatted)."""
        data = self.rows[self.order[row]]
        return [c.text(v) for c, v in zip(self.columns, data, strict=False)]

    def _reorder(self, keep: int | None = None) -> None:
        """Display order from the sort column and the filter; ``keep``: the data row to keep under the
        cursor. A big table is sorted and filtered in a thread: writing every row as text to search it is
        Python work (seconds at 1M rows), and the sort runs in pyarrow without the GIL
        (``columns.sorted_order``), so keys keep being answered meanwhile. Each column's order is kept:
        sorting by it again (or back) costs nothing."""
        needle = self.filter_text.lower()
        self._generation += 1
        sort = (self.sort_column, self.sort_reverse)
        quick = self.sort_column is None or sort in self._orders
        if len(self.rows) < BIG_TABLE or (quick and not needle):
            self.sorting = False
            order, self._haystack = display_order(
                self.columns, self.rows, *sort, needle, self._haystack, self._orders
            )
            self._set_order(order, keep)
            return
        self.sorting = True
        self.refresh()
        gen = self._generation
        rows = self.rows
        cache = self._orders
        args = (list(self.columns), rows, *sort, needle, self._haystack, cache)
        if not needle and self.sort_column is not None:
            # a sort alone: the keys are read here (tens of ms of Python for 1M rows), so that the thread
            # runs only pyarrow's sort, without the GIL: a Python thread would wait behind the other
            # workers (the statistics passes) for seconds
            column, reverse = self.sort_column, self.sort_reverse
            keys = sort_keys(self.columns, rows, column)

            def work() -> None:
                order = sorted_order(keys, reverse)
                cache[column, reverse] = order
                self.app.call_from_thread(self._sorted, gen, rows, order, None, keep)

        else:

            def work() -> None:
                order, hay = display_order(*args)
                self.app.call_from_thread(self._sorted, gen, rows, order, hay, keep)

        self.run_worker(work, thread=True, exclusive=True, group=f"vtable-{id(self)}")

    def _sorted(
        self, gen: int, rows: Sequence[Any], order: Sequence[int], hay: list[str] | None, keep: int | None
    ) -> None:
        if rows is self.rows and hay is not None and self._haystack is None:
            self._haystack = hay  # the text of these rows: kept for the next filter, even from a late thread
        if gen != self._generation:  # a newer sort or filter was asked for meanwhile
            return
        self.sorting = False
        if keep is not None and 0 <= self.cursor < len(self.order):
            keep = self.order[self.cursor]  # the row the cursor moved to while the thread ran
        self._set_order(order, keep)

    def shown_widths(self) -> list[int]:
        """The widths drawn: ``widths`` with the flex columns narrowed to fit the table's width."""
        widths = self.widths
        over = sum(widths) + len(widths) - self.size.width
        flex = [k for k, c in enumerate(self.columns[: len(widths)]) if c.flex]
        if over <= 0 or not flex or not self.size.width:
            return widths
        out = list(widths)
        for k in flex:
            cut = max(0, min(over, out[k] - max(FLEX_MIN, len(self.columns[k].label) + 2)))
            out[k] -= cut
            over -= cut
        return out

    def _set_order(self, order: Sequence[int], keep: int | None) -> None:
        self.order = order
        self._size_content()
        if keep is not None:
            self._restore(keep)
        self.refresh()

    # -- sorting and filtering --------------------------------------------------------------------------
    def sort_by(self, column: int, reverse: bool | None = None) -> None:
        """Sort by ``column`` (numbers largest first unless ``reverse`` says otherwise), keeping the row
        under the cursor selected."""
        if not self.sortable or not 0 <= column < len(self.columns):
            return
        keep = self.order[self.cursor] if 0 <= self.cursor < len(self.order) else None
        self.sort_column = column
        self.sort_reverse = self.columns[column].numeric if reverse is None else reverse
        self._reorder(keep if keep is not None else -1)

    def set_filter(self, text: str) -> None:
        """Show only rows whose text contains ``text`` (case-insensitive; empty: every row)."""
        keep = self.order[self.cursor] if 0 <= self.cursor < len(self.order) else None
        self.filter_text = text
        self._reorder(keep if keep is not None else -1)

    def _restore(self, keep: int) -> None:
        """The cursor to data row ``keep`` (-1, or a row filtered out: the first row)."""
        row = row_of(self.order, keep) if keep >= 0 else 0
        self.move_to(max(0, row), center=True)

    def action_sort_step(self, step: int) -> None:
        cur = self.sort_column if self.sort_column is not None else (-1 if step > 0 else len(self.columns))
        self.sort_by((cur + step) % len(self.columns))

    def action_reverse(self) -> None:
        if self.sort_column is None:
            self.sort_by(0, reverse=True)
        else:
            self.sort_by(self.sort_column, not self.sort_reverse)

    # -- cursor -----------------------------------------------------------------------------------------
    def move_to(self, row: int, center: bool = False) -> None:
        if not self.order:
            self.cursor = 0
            return
        self.cursor = max(0, min(row, len(self.order) - 1))
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
        self.move_to(self.cursor + delta)

    def action_page(self, delta: int) -> None:
        self.move_to(self.cursor + delta * max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.order) - 1)

    def action_side(self, delta: int) -> None:
        self.scroll_to(x=max(0, self.scroll_x + delta), animate=False)

    def action_select(self) -> None:
        if 0 <= self.cursor < len(self.order):
            i = self.order[self.cursor]
            self.post_message(self.RowSelected(self, i, self.rows[i]))

    def on_click(self, event: events.Click) -> None:
        pos = event.get_content_offset(self)
        if pos is None:
            return
        if pos.y == 0:  # a header: sort by it (again: the other way)
            x = pos.x + int(self.scroll_x)
            edge = 0
            for k, w in enumerate(self.shown_widths()):
                edge += w + 1
                if x < edge:
                    if self.sort_column == k:
                        self.sort_by(k, not self.sort_reverse)
                    else:
                        self.sort_by(k)
                    break
            return
        row = int(self.scroll_y) + pos.y - 1
        if 0 <= row < len(self.order):
            self.focus()
            if row == self.cursor and event.chain >= 2:
                self.action_select()
            self.cursor = row

    # -- rendering --------------------------------------------------------------------------------------
    def _line(self, cells: Sequence[str]) -> str:
        return " ".join(
            _cut(text, w, col.numeric)
            for text, w, col in zip(cells, self.shown_widths(), self.columns, strict=False)
        )

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        x0 = int(self.scroll_x)
        if y == 0:
            segs = []
            widths = self.shown_widths()
            for k, (col, w) in enumerate(zip(self.columns, widths, strict=False)):
                label = col.label
                style = HEADER_STYLE
                if k == self.sort_column:
                    label += " …" if self.sorting else (" ▼" if self.sort_reverse else " ▲")
                    style = SORTED_HEADER_STYLE
                segs.append(Segment(_cut(label, w, col.numeric) + " ", style))
            total = sum(widths) + len(widths)
            if total < width + x0:
                segs.append(Segment(" " * (width + x0 - total), HEADER_STYLE))
            return Strip(segs).crop(x0, x0 + width)
        r = int(self.scroll_y) + y - 1
        if not 0 <= r < len(self.order):
            return Strip.blank(width, self.rich_style)
        text = self._line(self.get_row_at(r))
        if r == self.cursor:
            style = CURSOR_STYLE if self.has_focus else Style(reverse=True)
        else:
            style = self.rich_style + ZEBRA_STYLE if r % 2 else self.rich_style
        text = text[x0 : x0 + width].ljust(width)
        return Strip([Segment(text, style)], width)

    def _size_content(self) -> None:
        widths = self.shown_widths()
        self.virtual_size = Size(sum(widths) + len(widths), len(self.order) + 1)

    def on_resize(self, event: events.Resize) -> None:
        self._size_content()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
