"""Packet-list columns beyond the fixed ones: fields added as columns (kept in a profile), and the list
sorted by any column through a sorted index of rows (never by widgets).

Pure over the model (no Textual): the app computes sort keys in a worker thread and swaps the packet
list's view for a ``SortedRows`` over the same View.
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sniffer.model.store import PacketStore

BUILTIN = ("no", "time", "source", "destination", "protocol", "length", "info")
LABELS = {
    "no": "No.",
    "time": "Time",
    "source": "Source",
    "destination": "Destination",
    "protocol": "Protocol",
    "length": "Length",
    "info": "Info",
}
CUSTOM_WIDTH = (8, 24)  # a field column's width: at least, at most (until the user resizes it)
MIN_WIDTH, MAX_WIDTH = 2, 200  # a column resized by hand (keys or a drag on the header)


def profile_path() -> Path:
    """Where the column profile lives: $SNIFFER_CONFIG_DIR, else $XDG_CONFIG_HOME/sniffer, else ~/.config/sniffer."""
    base = os.environ.get("SNIFFER_CONFIG_DIR")
    if base:
        return Path(base) / "profile.json"
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "sniffer" / "profile.json"


def load_profile() -> dict[str, Any]:
    try:
        data = json.loads(profile_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_columns() -> list[str]:
    cols = load_profile().get("columns", [])
    return [c for c in cols if isinstance(c, str) and c] if isinstance(cols, list) else []


def load_widths() -> dict[str, int]:
    """Column widths the user set (column name -> characters), from the profile."""
    raw = load_profile().get("widths", {})
    if not isinstance(raw, dict):
        return {}
    return {
        k: max(MIN_WIDTH, min(MAX_WIDTH, v))
        for k, v in raw.items()
        if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and k != "info"
    }


def save_columns(columns: list[str]) -> str:
    """Write the columns into the profile (other keys kept); returns '' or an error message."""
    return save_profile(columns=list(columns))


def save_widths(widths: dict[str, int]) -> str:
    """Write the column widths into the profile (other keys kept); returns '' or an error message."""
    return save_profile(widths=dict(widths))


def save_profile(**values: Any) -> str:
    """Set ``values`` in the profile (other keys kept), written whole or not at all; '' or an error."""
    path = profile_path()
    data = load_profile()
    data.update(values)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        return f"cannot save the column profile {path}: {exc.strerror or exc}"
    return ""


def parse_columns(text: str, known: Callable[[], list[str]]) -> list[str]:
    """Field names from ``text`` (comma or space separated); ValueError naming an unknown one."""
    names = [n for n in text.replace(",", " ").split() if n]
    valid = set(known())
    for n in names:
        if valid and n not in valid:
            raise ValueError(f"no field named {n!r} (Tab in the filter bar completes field names)")
    out: list[str] = []
    for n in names:
        if n not in out:
            out.append(n)
    return out


def field_text(value: Any) -> str:
    """A field's value as a cell: lists joined with commas, bytes as hex, booleans as 1/0."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(field_text(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (bytes, bytearray)):
        return value.hex(":")
    return str(value)


def _key(value: Any) -> tuple[int, Any]:
    """A sort key that compares across types: numbers, then text, then missing."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None or value == "":
        return (2, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


ARROW_SORT_MIN = 20_000  # keys from which pyarrow sorts (below, Python's sorted is as quick)
ARROW_CHUNK = 65_536  # keys converted per pyarrow call: the GIL is let go between two chunks


class Strings(Sequence[str]):
    """A text column dictionary-encoded: each distinct string once (``values``) and a 4-byte code per
    row (``codes``). What a big table keeps its address columns as (100k conversations have far fewer
    distinct addresses than rows), and what makes a text sort cheap: the distinct strings are ranked
    once, then pyarrow sorts the rows by rank without the GIL (``sorted_order``), instead of converting
    a million Python strings under the GIL (2.7-3.6 s for 1M rows under load)."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: array[int], values: list[str]) -> None:
        self.codes = codes
        self.values = values

    @classmethod
    def encode(cls, texts: Sequence[str]) -> Strings:
        """Encode ``texts`` (every string kept as is: no copies of the distinct ones)."""
        seen: dict[str, int] = {}
        values: list[str] = []
        codes = array("i")
        add = codes.append
        for t in texts:
            c = seen.get(t)
            if c is None:
                c = seen[t] = len(values)
                values.append(t)
            add(c)
        return cls(codes, values)

    def repeat(self, n: int) -> Strings:
        """The rows repeated to ``n`` (a benchmark's big table)."""
        reps = n // max(1, len(self.codes)) + 1
        return Strings((self.codes * reps)[:n], self.values)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.values[c] for c in self.codes[i]]
        return self.values[self.codes[i]]

    def __iter__(self) -> Any:
        return map(self.values.__getitem__, self.codes)


def sorted_order(keys: Sequence[Any], reverse: bool) -> Sequence[int]:
    """Row numbers ordered by ``keys`` (stable: equal keys keep their order, also when reversed).

    Many keys of one type (numbers, text) are sorted by pyarrow's stable sort (already a dependency for
    Parquet): the keys are converted in chunks, the sort itself runs in C++ without the GIL, and the order
    comes back as an ``array`` by one copy of its buffer. 1M integers: ~0.25 s of CPU instead of
    ~0.5-1.2 s with ``sorted`` and a key function, and a statistics worker or the UI thread can run while
    it sorts. Keys Arrow cannot hold (tuples, mixed types, huge integers) fall back to ``sorted``."""
    n = len(keys)
    if n >= ARROW_SORT_MIN:
        order = _arrow_order(keys, reverse)
        if order is not None:
            return order
    return sorted(range(n), key=keys.__getitem__, reverse=reverse)


def row_of(order: Sequence[int], value: int) -> int:
    """Position of ``value`` in ``order`` (-1 when absent). A sorted order of many rows (an ``array``) is
    searched by pyarrow without the GIL: ``array.index`` makes a Python int per element while holding
    it (70 ms for 1M rows idle, hundreds under load: the key after a sort waited that long)."""
    if isinstance(order, range):
        return order.index(value) if value in order else -1
    if isinstance(order, array) and len(order) >= ARROW_SORT_MIN and order.typecode in ("Q", "q"):
        import pyarrow as pa
        import pyarrow.compute as pc

        kind = pa.uint64() if order.typecode == "Q" else pa.int64()
        if value < 0:
            return -1
        arr = pa.Array.from_buffers(kind, len(order), [None, pa.py_buffer(order)])  # no copy
        return int(pc.index(arr, pa.scalar(value, kind)).as_py())
    try:
        return order.index(value)
    except ValueError:
        return -1


def _arrow_order(keys: Sequence[Any], reverse: bool) -> array[int] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if isinstance(keys, Strings):
            # rank the distinct strings (a small array), give every row its string's rank (C++, no GIL),
            # then sort the ranks like any integer column
            codes = pa.Array.from_buffers(pa.int32(), len(keys.codes), [None, pa.py_buffer(keys.codes)])
            rank = pc.rank(pa.array(keys.values, pa.string()), sort_keys="ascending", tiebreaker="first")
            arr = pc.take(rank, codes)
        elif isinstance(keys, array) and keys.typecode in ("q", "Q", "l", "L", "i", "I", "d"):
            kind = {"q": pa.int64(), "l": pa.int64(), "i": pa.int32(), "d": pa.float64()}.get(
                keys.typecode, pa.uint64() if keys.itemsize == 8 else pa.uint32()
            )
            arr = pa.Array.from_buffers(kind, len(keys), [None, pa.py_buffer(keys)])  # no copy
        else:
            chunks = [pa.array(keys[i : i + ARROW_CHUNK]) for i in range(0, len(keys), ARROW_CHUNK)]
            if len({c.type for c in chunks}) != 1:
                return None  # e.g. ints in one chunk, floats in another: let Python compare them
            arr = pa.chunked_array(chunks).combine_chunks()
        if arr.null_count or not (
            pa.types.is_integer(arr.type)
            or pa.types.is_floating(arr.type)
            or pa.types.is_string(arr.type)
            or pa.types.is_boolean(arr.type)
        ):
            return None
        order = "descending" if reverse else "ascending"
        if pa.types.is_string(arr.type):
            # Text columns repeat (addresses, protocols: 100k distinct of 1M rows in bench/tui.py): sort
            # the distinct values only and then the rows by their rank, an integer sort (0.18 s of CPU
            # instead of 0.6 there). With few repeats a direct string sort is quicker.
            enc = arr.dictionary_encode()
            if len(enc.dictionary) * 2 <= len(arr):
                inverse = pc.array_sort_indices(pc.array_sort_indices(enc.dictionary))
                arr = pc.take(inverse, enc.indices)  # each row's rank among the distinct values
        idx = pc.array_sort_indices(arr, order=order)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    out: array[int] = array("Q")
    out.frombytes(idx.buffers()[1].to_pybytes()[idx.offset * 8 : (idx.offset + len(idx)) * 8])
    return out


def sort_order(
    store: PacketStore,
    view: Any,
    column: str,
    reverse: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> array[int] | None:
    """Store indices of the view's rows ordered by ``column`` (stable: ties stay in capture order).

    No., Time and Length sort from the index arrays (1M rows in about a second); Source, Destination,
    Protocol, Info and field columns summarise or decode each packet (about 100 µs each). None when
    cancelled.
    """
    n = len(view)
    rows = (
        array("I", (view.packet(r) for r in range(n))) if getattr(view, "matched", None) is not None else None
    )
    indices: Any = rows if rows is not None else range(n)
    if column == "no":
        keys: Any = None
    elif column == "time":
        ts = store.ts
        keys = ts[:n] if rows is None else array("q", (ts[i] for i in indices))
    elif column == "length":
        wl = store.wirelen
        keys = wl[:n] if rows is None else array("I", (wl[i] for i in indices))
    else:
        keys = []
        attr = {"source": "src", "destination": "dst", "protocol": "protocol", "info": "info"}.get(column)
        for k, i in enumerate(indices):
            if k % 2048 == 0:
                if cancelled():
                    return None
                if progress is not None:
                    progress(k, n)
            try:
                if attr is not None:
                    keys.append(_key(getattr(store.row(i), attr)))
                else:
                    keys.append(_key(store.fields(i).get(column)))
            except Exception:
                keys.append((2, ""))
    order: Sequence[int]
    if keys is None:
        order = range(n - 1, -1, -1) if reverse else range(n)
    else:
        order = sorted_order(keys, reverse)
    if rows is None:
        return array("I", order)
    return array("I", (rows[r] for r in order))


class SortedRows:
    """A View's rows in another order: what the packet list shows while sorted by a column."""

    def __init__(self, view: Any, order: array[int], column: str, reverse: bool) -> None:
        self.base = view
        self.order = order
        self.column = column
        self.reverse = reverse
        self._rows: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.order)

    def __getattr__(self, name: str) -> Any:  # matched, done, text, scanned, store... of the View
        return getattr(self.base, name)

    def packet(self, row: int) -> int:
        return self.order[row]

    def row_of(self, index: int) -> int | None:
        if self._rows is None:
            self._rows = {i: r for r, i in enumerate(self.order)}
        return self._rows.get(index)

    def nearest_row(self, index: int) -> int:
        row = self.row_of(index)
        return row if row is not None else 0
