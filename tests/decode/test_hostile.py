"""Hostile input: mutated and truncated corpus packets never make a decoder raise, and the internal
safety net (a decoder bug reported as malformed) never fires either."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniffer.capture.frame import Frame
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import format_line, summarize
from sniffer.decode.tree import dissect

from .corpus_frames import corpus_frames

LINKTYPES = [0, 1, 101, 108, 113, 228, 229, 276, 147]


def _check(fr: Frame) -> None:
    s = summarize(fr)
    assert isinstance(s.info, str)
    assert format_line(7, fr).startswith("7 ")
    f = frame_fields(fr)
    assert "dissector bug" not in str(f.get("_ws.malformed", "")), f["_ws.malformed"]
    root = dissect(fr)
    assert root.to_fields() == f
    for node in root.walk():
        assert 0 <= node.offset and node.offset + node.length <= len(fr.data), node


@st.composite
def mutated(draw: st.DrawFn) -> Frame:
    frames = corpus_frames()
    _, fr = frames[draw(st.integers(0, len(frames) - 1))]
    data = bytearray(fr.data)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()) and data:
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0:
        data += draw(st.binary(max_size=40))
    lt = fr.linktype if draw(st.integers(0, 4)) else draw(st.sampled_from(LINKTYPES))
    wire = len(data) + draw(st.sampled_from([0, 0, 0, 1, 100, -5]))
    return Frame(fr.ts_ns, bytes(data), max(wire, 0), lt)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_corpus_packets_never_raise(fr: Frame) -> None:
    _check(fr)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LINKTYPES), st.binary(max_size=120), st.integers(0, 2000))
def test_random_bytes_never_raise(lt: int, data: bytes, wire: int) -> None:
    _check(Frame(0, data, wire, lt))


def test_every_truncation_of_every_corpus_packet() -> None:
    """Cut each distinct corpus packet at every length: decoding goes as far as the bytes go."""
    seen: set[bytes] = set()
    for _, fr in corpus_frames():
        d = fr.data[:128]
        if d in seen:
            continue
        seen.add(d)
        for cut in range(0, len(d), 4):
            _check(Frame(fr.ts_ns, d[:cut], fr.wirelen, fr.linktype))
