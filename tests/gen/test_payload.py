"""The payload tag: fixed header, pure matcher that never raises, stream scanning, loss accounting."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from sniffer.gen.core.payload import (
    FLAG_ECHO,
    FLAG_LAST,
    MAGIC,
    TAG_LEN,
    FlowTracker,
    PayloadFactory,
    build_payload,
    build_tag,
    find_tag,
    find_tags,
    parse_tag,
    set_echo,
)


def test_header_is_28_bytes_in_documented_order() -> None:
    raw = build_tag(0x01020304, 5, ts_ns=0x1122334455667788, flags=FLAG_LAST, length=100)
    assert len(raw) == TAG_LEN == 28
    assert raw[:4] == MAGIC == b"SnFg"
    assert raw[4] == 1 and raw[5] == FLAG_LAST
    assert struct.unpack("!H", raw[6:8])[0] == 100
    assert raw[8:12] == bytes([1, 2, 3, 4])
    assert struct.unpack("!Q", raw[12:20])[0] == 5
    assert struct.unpack("!Q", raw[20:28])[0] == 0x1122334455667788


def test_round_trip() -> None:
    msg = build_payload(77, 9, size=200, ts_ns=123)
    assert len(msg) == 200
    tag = parse_tag(msg)
    assert tag is not None
    assert (tag.flow_id, tag.seq, tag.ts_ns, tag.length, tag.is_echo, tag.is_last) == (
        77,
        9,
        123,
        200,
        False,
        False,
    )
    echoed = parse_tag(set_echo(msg))
    assert echoed is not None and echoed.is_echo and echoed.seq == 9


def test_factory_rewrites_only_the_header() -> None:
    f = PayloadFactory(5, 100)
    a = bytes(f.make(1, ts_ns=10))
    b = bytes(f.make(2, ts_ns=20))
    assert a[TAG_LEN:] == b[TAG_LEN:] and a != b
    ta, tb = parse_tag(a), parse_tag(b)
    assert ta is not None and tb is not None
    assert (ta.seq, ta.ts_ns, tb.seq, tb.ts_ns) == (1, 10, 2, 20)


def test_size_below_header_is_raised_to_header() -> None:
    assert len(build_payload(1, 1, size=3)) == TAG_LEN


def test_truncated_and_foreign_data_do_not_match() -> None:
    msg = build_payload(1, 2, 64)
    for cut in range(TAG_LEN):
        assert parse_tag(msg[:cut]) is None
    assert parse_tag(msg[:TAG_LEN]) is not None
    assert parse_tag(b"x" + msg) is None
    bad_version = msg[:4] + b"\x02" + msg[5:]
    assert parse_tag(bad_version) is None


def test_find_tags_in_a_frame_and_a_stream() -> None:
    frame = b"\x00" * 14 + b"\x45" + b"\x00" * 27 + build_payload(3, 0, 64)
    tag = find_tag(frame)
    assert tag is not None and tag.offset == 42 and tag.flow_id == 3
    stream = b"".join(build_payload(4, i, 50) for i in range(5))
    assert [t.seq for t in find_tags(stream)] == [0, 1, 2, 3, 4]
    assert [t.offset for t in find_tags(stream)] == [0, 50, 100, 150, 200]
    # a message cut at a segment boundary: the whole ones still match
    assert [t.seq for t in find_tags(stream[60:])] == [2, 3, 4]


@given(st.binary(max_size=300))
def test_matcher_never_raises(data: bytes) -> None:
    parse_tag(data)
    list(find_tags(data))
    list(find_tags(MAGIC + data))


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(28, 2000))
def test_round_trip_any_values(flow: int, seq: int, ts: int, size: int) -> None:
    tag = parse_tag(build_payload(flow, seq, size, ts))
    assert tag is not None and (tag.flow_id, tag.seq, tag.ts_ns, tag.length) == (
        flow,
        seq,
        ts,
        min(size, 65535),
    )


def test_flow_tracker_reports_missing_and_duplicates() -> None:
    tr = FlowTracker()
    for seq in (0, 1, 3, 3, 5):
        tag = parse_tag(build_payload(1, seq, flags=FLAG_LAST if seq == 5 else 0))
        assert tag is not None
        tr.add(tag)
    assert tr.missing() == [2, 4]
    assert tr.duplicates == 1
    assert tr.missing(expected=8) == [2, 4, 6, 7]
    assert FLAG_ECHO != FLAG_LAST


def test_describe_labels_a_tag() -> None:
    from sniffer.gen.core.payload import describe

    tag = parse_tag(set_echo(build_payload(0xABC, 7, flags=FLAG_LAST)))
    assert tag is not None
    assert describe(tag) == "gen flow 0x00000abc #7 echo last"
