"""Follow-stream reassembly and stream numbering on hand-built TCP/UDP packets (no tshark needed)."""

from __future__ import annotations

import socket
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.frame import LINKTYPE_RAW, Frame
from sniffer.model.flows import FlowIndex, follow, format_follow, stream_of
from sniffer.model.l4 import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, transport
from sniffer.model.stats import Statistics

A, B = "10.0.0.1", "10.0.0.2"


def tcp(
    src: str, dst: str, sport: int, dport: int, seq: int, flags: int, data: bytes = b"", t: int = 0
) -> Frame:
    th = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(th) + len(data),
        1,
        0,
        64,
        6,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    pkt = ip + th + data
    return Frame(t * 1000, pkt, len(pkt), LINKTYPE_RAW)


def udp(src: str, dst: str, sport: int, dport: int, data: bytes) -> Frame:
    uh = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        28 + len(data),
        1,
        0,
        64,
        17,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return Frame(0, ip + uh + data, 28 + len(data), LINKTYPE_RAW)


def handshake(isn_a: int = 1000, isn_b: int = 5000, sport: int = 40000) -> list[Frame]:
    return [
        tcp(A, B, sport, 80, isn_a, TCP_SYN),
        tcp(B, A, 80, sport, isn_b, TCP_SYN | TCP_ACK),
        tcp(A, B, sport, 80, isn_a + 1, TCP_ACK),
    ]


def test_in_order_both_directions() -> None:
    frames = [
        *handshake(),
        tcp(A, B, 40000, 80, 1001, TCP_ACK, b"GET / "),
        tcp(A, B, 40000, 80, 1007, TCP_ACK, b"HTTP/1.0\r\n"),
        tcp(B, A, 80, 40000, 5001, TCP_ACK, b"200 OK"),
    ]
    f = follow(frames, "tcp", 0)
    assert f is not None
    assert f.data(0) == b"GET / HTTP/1.0\r\n" and f.data(1) == b"200 OK"
    assert [d for d, _ in f.chunks] == [0, 0, 1]
    assert f.a == (A, 40000) and f.b == (B, 80)


def test_retransmission_out_of_order_and_overlap() -> None:
    frames = [
        *handshake(),
        tcp(A, B, 40000, 80, 1001, TCP_ACK, b"abc"),
        tcp(A, B, 40000, 80, 1007, TCP_ACK, b"ghi"),  # ahead of a gap: held back
        tcp(A, B, 40000, 80, 1001, TCP_ACK, b"abc"),  # retransmission: dropped
        tcp(A, B, 40000, 80, 1003, TCP_ACK, b"cdef"),  # overlaps "c", fills the gap
        tcp(A, B, 40000, 80, 1010, TCP_ACK, b"jk"),
    ]
    f = follow(frames, "tcp", 0)
    assert f is not None
    assert f.data(0) == b"abcdefghijk"
    assert [c for _, c in f.chunks] == [b"abc", b"def", b"ghi", b"jk"]
    assert f.gaps == [0, 0]


def test_sequence_wraparound() -> None:
    isn = 0xFFFFFFFF - 2
    frames = [
        *handshake(isn_a=isn),
        tcp(A, B, 40000, 80, isn + 1, TCP_ACK, b"xy"),
        tcp(A, B, 40000, 80, isn + 3, TCP_ACK, b"z!"),  # seq wrapped to 0
    ]
    f = follow(frames, "tcp", 0)
    assert f is not None and f.data(0) == b"xyz!"


def test_gap_that_never_fills_is_reported() -> None:
    frames = [
        *handshake(),
        tcp(A, B, 40000, 80, 1001, TCP_ACK, b"ab"),
        tcp(A, B, 40000, 80, 1010, TCP_ACK, b"late"),
    ]
    f = follow(frames, "tcp", 0)
    assert f is not None and f.data(0) == b"ablate" and f.gaps == [7, 0]


def test_port_reuse_after_close_is_a_new_stream() -> None:
    frames = [
        *handshake(),
        tcp(A, B, 40000, 80, 1001, TCP_FIN | TCP_ACK),
        tcp(B, A, 80, 40000, 5001, TCP_RST),
        *handshake(isn_a=90000, isn_b=7000),  # same ports, new connection
        tcp(A, B, 40000, 80, 90001, TCP_ACK, b"second"),
        *handshake(isn_a=1, isn_b=2, sport=40001),
    ]
    idx = FlowIndex()
    streams = [r[0].index for n, fr in enumerate(frames, 1) if (r := idx.add(n, fr)) is not None]
    assert streams == [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    assert idx.tcp[1].numbers == [6, 7, 8, 9]
    f = follow(frames, "tcp", 1)
    assert f is not None and f.data(0) == b"second"


def test_syn_retransmission_is_the_same_stream() -> None:
    frames = [tcp(A, B, 40000, 80, 1000, TCP_SYN), tcp(A, B, 40000, 80, 1000, TCP_SYN), *handshake()]
    idx = FlowIndex()
    assert {idx.add(n, fr)[0].index for n, fr in enumerate(frames, 1)} == {0}  # type: ignore[index]


def test_udp_follow_and_format() -> None:
    frames = [
        udp(A, B, 5353, 53, b"q1"),
        udp(B, A, 53, 5353, b"a1\x00"),
        udp(A, "10.0.0.3", 5353, 53, b"other"),
    ]
    f = follow(frames, "udp", 0)
    assert f is not None and f.chunks == [(0, b"q1"), (1, b"a1\x00")]
    text = format_follow(f, "ascii")
    assert "Node 0: 10.0.0.1:5353\nNode 1: 10.0.0.2:53\n2\nq1\n\t3\na1.\n" in text
    assert follow(frames, "udp", 1) is not None and follow(frames, "udp", 2) is None


def test_transport_never_raises_on_garbage() -> None:
    import random

    rnd = random.Random(7)
    base = tcp(A, B, 1, 2, 3, TCP_ACK, b"payload").data
    for _ in range(3000):
        data = bytearray(base[: rnd.randrange(len(base) + 1)])
        for _ in range(rnd.randrange(4)):
            if data:
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        for lt in (LINKTYPE_RAW, 1, 0, 113, 276):
            transport(Frame(0, bytes(data), len(data), lt))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([LINKTYPE_RAW, 1, 113, 276, 0]), st.binary(max_size=120), st.integers(0, 2**40)
        ),
        max_size=30,
    )
)
def test_statistics_and_follow_survive_any_bytes(packets: list[tuple[int, bytes, int]]) -> None:
    """Hostile input: random frames (and mutated real ones) never make flows or statistics raise."""
    base = tcp(A, B, 40000, 80, 1001, TCP_ACK, b"hello").data
    frames = [Frame(ts, data, len(data), lt) for lt, data, ts in packets]
    frames += [Frame(0, base[:cut] + data, len(base), LINKTYPE_RAW) for _, data, cut in packets]
    stats = Statistics()
    for n, fr in enumerate(frames, 1):
        stats.add(n, fr, "eth:ethertype:ip:icmp:ip:udp:dns")
    for kind in ("eth", "ip", "ipv6", "tcp", "udp"):
        assert sum(c.total_frames for c in stats.conversations(kind)) <= len(frames)
        stats.endpoints(kind)
    assert sum(r[1] for r in stats.io(0.001)) == len(frames)
    for proto in ("tcp", "udp"):
        for i in range(len(stats.flows.flows(proto))):
            f = follow(frames, proto, i)
            assert f is not None
            format_follow(f, "hex")


def test_stream_of_selected_packet() -> None:
    frames = [*handshake(), *handshake(sport=40001), udp(A, B, 1, 2, b"x")]
    assert [stream_of(frames, n) for n in (1, 3, 4, 6, 7)] == [
        ("tcp", 0),
        ("tcp", 0),
        ("tcp", 1),
        ("tcp", 1),
        ("udp", 0),
    ]
    assert stream_of(frames, 99) is None
