"""`columns.sorted_order`: the order of the big-table sort (pyarrow from ARROW_SORT_MIN keys) equals
Python's stable `sorted`, ties in row order, for every kind of key it takes."""

from __future__ import annotations

import random
from array import array
from typing import Any

import pytest

from sniffer.ui.columns import ARROW_SORT_MIN, sorted_order


def _keys(kind: str) -> list[Any]:
    rnd = random.Random(kind)
    n = ARROW_SORT_MIN * 3
    if kind == "repeated text":  # the dictionary path: few distinct values, many ties
        distinct = [f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}" for _ in range(500)]
        return [rnd.choice(distinct) for _ in range(n)]
    if kind == "distinct text":
        return [f"h{rnd.getrandbits(48):x}" for _ in range(n)]
    if kind == "text with empties":
        return [rnd.choice(("", "a", "B", "b", "é", "z" * 40)) for _ in range(n)]
    return [rnd.randrange(-5, 5) for _ in range(n)]


@pytest.mark.parametrize("kind", ["repeated text", "distinct text", "text with empties", "ints"])
@pytest.mark.parametrize("reverse", [False, True])
def test_sorted_order_equals_stable_sorted(kind: str, reverse: bool) -> None:
    keys = _keys(kind)
    want = sorted(range(len(keys)), key=keys.__getitem__, reverse=reverse)
    assert list(sorted_order(keys, reverse)) == want
    if kind == "ints":
        assert list(sorted_order(array("q", keys), reverse)) == want


def test_mixed_keys_fall_back_to_python() -> None:
    keys: list[Any] = [1, "a", 2.5] * ARROW_SORT_MIN
    with pytest.raises(TypeError):
        sorted_order(keys, False)  # as sorted() itself: the caller gives one type per column
