"""Hostile input for the breadth decoders: every breadth-corpus packet cut at every 4th byte, mutated
packets, and random bytes on every registered link type never make a decoder raise; tree == fields and
every node lies inside the frame (the checks of test_hostile, on the new protocols)."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniffer.capture.pcapfile import open_capture
from sniffer.decode import engine
from sniffer.decode.core import LINKTYPES
from sniffer.frame import Frame

from .breadth import CAPS, captures
from .test_hostile import _check

ALL_LINKTYPES = sorted(LINKTYPES.map)


@cache
def breadth_frames() -> tuple[Frame, ...]:
    out = []
    for name in captures():
        with open_capture(str(CAPS / name)) as r:
            out.extend(r)
    return tuple(out)


def test_every_truncation_of_every_breadth_packet() -> None:
    """Two packets of each protocol stack (frame.protocols, Protocol column), cut at every 3rd byte."""
    kept: dict[tuple[int, str, str], int] = {}
    for fr in breadth_frames():
        ctx = engine.run(fr, False)
        key = (fr.linktype, ":".join(ctx.protos), ctx.proto)
        if kept.get(key, 0) >= 2:
            continue
        kept[key] = kept.get(key, 0) + 1
        d = fr.data[:160]
        for cut in range(0, len(d), 3):
            _check(Frame(fr.ts_ns, d[:cut], fr.wirelen, fr.linktype))


@st.composite
def mutated(draw: st.DrawFn) -> Frame:
    frames = breadth_frames()
    fr = frames[draw(st.integers(0, len(frames) - 1))]
    data = bytearray(fr.data)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()) and data:
        data = data[: draw(st.integers(0, len(data)))]
    lt = fr.linktype if draw(st.integers(0, 4)) else draw(st.sampled_from(ALL_LINKTYPES))
    wire = len(data) + draw(st.sampled_from([0, 0, 1, 100, -5]))
    return Frame(fr.ts_ns, bytes(data), max(wire, 0), lt)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_breadth_packets_never_raise(fr: Frame) -> None:
    old = engine.DEBUG
    engine.DEBUG = True
    try:
        _check(fr)
    finally:
        engine.DEBUG = old


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_LINKTYPES), st.binary(max_size=120), st.integers(0, 2000))
def test_random_bytes_on_every_link_type_never_raise(lt: int, data: bytes, wire: int) -> None:
    _check(Frame(0, data, wire, lt))
