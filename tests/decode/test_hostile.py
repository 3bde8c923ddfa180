"""Hostile input: mutated and truncated corpus packets never make a decoder raise, and the internal
safety net (a decoder bug reported as malformed) never fires either."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import format_line, summarize
from sniffer.decode.tree import dissect
from sniffer.frame import Frame

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


def _http_tls_seeds() -> list[Frame]:
    from .httptls import cases, ip4_tcp_frame

    return [Frame(0, f, len(f), 1) for f in (ip4_tcp_frame(*c) for c in cases())]


@st.composite
def mutated_http_tls(draw: st.DrawFn) -> Frame:
    """An HTTP/TLS seed segment with bytes of its payload changed, cut, or extended."""
    seeds = _http_tls_seeds()
    fr = seeds[draw(st.integers(0, len(seeds) - 1))]
    data = bytearray(fr.data)
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(54, len(data) - 1)) if len(data) > 54 else 0
        data[i] = draw(st.sampled_from([0, 1, 3, 10, 13, 20, 22, 23, 32, 58, 255, draw(st.integers(0, 255))]))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 4)) == 0:
        data += draw(st.binary(max_size=40))
    wire = len(data) + draw(st.sampled_from([0, 0, 0, 1, 100, -5]))
    return Frame(fr.ts_ns, bytes(data), max(wire, 0), 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_http_tls())
def test_mutated_http_and_tls_segments_never_raise(fr: Frame) -> None:
    _check(fr)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([80, 443, 8080, 993]), st.binary(max_size=120))
def test_random_payloads_on_http_and_tls_ports_never_raise(port: int, payload: bytes) -> None:
    from sniffer.decode.summary import slow_summary

    from .httptls import ip4_tcp_frame

    f = ip4_tcp_frame(40000, port, payload)
    fr = Frame(0, f, len(f), 1)
    _check(fr)
    assert summarize(fr) == slow_summary(fr)


def test_every_truncation_of_every_http_and_tls_seed() -> None:
    for fr in _http_tls_seeds():
        for cut in range(54, len(fr.data) + 1):
            _check(Frame(fr.ts_ns, fr.data[:cut], fr.wirelen, 1))
            _check(Frame(fr.ts_ns, fr.data[:cut], cut, 1))
