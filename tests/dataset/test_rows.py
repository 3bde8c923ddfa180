"""export's one-walk fast path (sniffer.dataset.rows._walk) gives what the two walks it replaces give:
``model.l4.transport`` (flows, addresses) and ``model.tcpanalysis.fast_segment`` (the TCP analysis)."""

from __future__ import annotations

from pathlib import Path

from sniffer.capture.pcapfile import open_capture
from sniffer.dataset.rows import _walk
from sniffer.errors import SnifferError
from sniffer.model.l4 import transport
from sniffer.model.tcpanalysis import fast_segment

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def test_walk_equals_transport_and_fast_segment() -> None:
    seen = walked = 0
    for path in sorted([*(CORPUS / "captures").iterdir(), *(CORPUS / "tcp").iterdir()]):
        frames = []
        try:
            with open_capture(str(path)) as rd:
                for fr in rd:
                    frames.append(fr)
        except (SnifferError, OSError):
            pass  # (the damaged files: their good packets)
        for fr in frames:
            seen += 1
            w = _walk(fr)
            if w is not None:
                walked += 1
                assert w == (transport(fr), fast_segment(fr)), (path.name, seen)
    assert walked > seen // 2 > 1000


class _Never(dict):  # type: ignore[type-arg]
    """A PacketRows._full_first that never remembers: every unplaced frame takes the columns-only
    dissection first, as before the full-first rule."""

    def get(self, key: object, default: object = None) -> None:
        return None


def test_full_first_gives_the_same_rows() -> None:
    """PacketRows' full-first rule (a frame of a kind whose last one needed the full dissection gets it
    first) changes no row: every corpus capture with and without it (PPPoE, MPLS, GRE, Geneve, AYIYA...)."""
    from sniffer.dataset.rows import PacketRows
    from sniffer.decode.core import UDP_CONVERSATIONS

    firsts = 0
    for path in sorted(p for d in ("captures", "tcp") for p in (CORPUS / d).iterdir()):
        records = []
        try:
            with open_capture(str(path)) as rd:
                for rec in rd.iter_with_offsets():
                    records.append(rec)
        except (SnifferError, OSError):
            pass  # (the damaged files: their good packets)
        got = []
        for never in (False, True):
            UDP_CONVERSATIONS.clear()
            r = PacketRows(path.name)
            if never:
                r._full_first = _Never()
            for off, fr in records:
                r.add(off, fr)
            got.append((r._rows, r.flow_columns()))
            if not never:
                firsts += sum(1 for v in r._full_first.values() if v)
        assert got[0] == got[1], path.name
    assert firsts > 5
