"""The compiled header readers (core._compile_reader) give exactly what the declared field loop gives."""

from __future__ import annotations

import gc
import random

from sniffer.decode import engine  # noqa: F401  (loads every protocol module)
from sniffer.decode.core import Ctx, Header


def _headers() -> list[Header]:
    # the TUI's statistics panel gc.freeze()s what it has loaded; frozen objects are not in get_objects()
    gc.unfreeze()
    return [o for o in gc.get_objects() if isinstance(o, Header)]


def test_every_header_compiled_reader_matches_the_field_loop() -> None:
    rnd = random.Random(7)
    hs = _headers()
    assert len(hs) > 30
    for h in hs:
        for _ in range(30):
            data = bytes(rnd.randrange(256) for _ in range(h.size + 8))
            base = rnd.randrange(0, 8)
            fast, slow = Ctx(data, False), Ctx(data, True)
            fast.fields["pre"] = slow.fields["pre"] = 1
            for ctx in (fast, slow):  # twice: the second read appends to the names the first put
                v1 = h.read(ctx, base, len(data))
                v2 = h.read(ctx, base, len(data))
                assert v1 == v2
            assert h.read(Ctx(data, False), base, len(data)) == h.read(Ctx(data, True), base, len(data))
            assert fast.fields == slow.fields
            assert list(fast.fields) == list(slow.fields)
