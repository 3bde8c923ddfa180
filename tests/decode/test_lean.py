"""The columns-only ("lean") dissection gives the columns and the stack of the full dissection for every
packet of both corpora, also when mutated (engine.run's ``lean``: what ``read``, the packet list and
the filters' protocol checks use; dissectors skip there whatever only makes fields)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.engine import run
from sniffer.decode.summary import slow_summary, summarize
from sniffer.errors import PcapFormatError
from sniffer.frame import Frame

from .test_hostile import mutated

TESTS = Path(__file__).resolve().parents[1]


def _frames() -> list[Frame]:
    out: list[Frame] = []
    for d in ("corpus", "corpus-breadth"):
        for p in sorted((TESTS / d / "captures").iterdir()):
            try:
                with open_capture(str(p)) as r:
                    out.extend(r)
            except PcapFormatError:
                pass  # the good frames before the damage are kept
    return out


def _same(fr: Frame) -> None:
    full = run(fr, False, True, False)
    lean = run(fr, False, False, True)
    cols = (lean.src, lean.dst, lean.proto, lean.info, lean.malformed, lean.protos)
    assert cols == (full.src, full.dst, full.proto, full.info, full.malformed, full.protos), fr
    s = summarize(fr)
    assert s == slow_summary(fr), fr
    assert s == (full.src, full.dst, full.proto, full.info, bool(full.malformed)), fr


def test_lean_columns_are_the_full_columns_on_both_corpora() -> None:
    frames = _frames()
    assert len(frames) > 5000
    for fr in frames:
        _same(fr)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_lean_columns_of_mutated_packets(fr: Frame) -> None:
    _same(fr)
