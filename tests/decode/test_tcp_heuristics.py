"""TCP's heuristic dissectors (decode.tcpheur: TLS, HTTP, DCE/RPC on any port, as tshark 4.0's enabled
heuristics): what they take and refuse, and the read fast path sends exactly those segments to them (its
columns and its text loops equal the full dissector's)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.summary import _fast, format_line, iter_text, slow_summary, summarize
from sniffer.decode.tcpheur import TCP_HEURISTICS
from sniffer.frame import Frame

from .breadth import CAPS
from .httptls import http_payloads, ip4_tcp_frame, pcap, tls_payloads


def _bind() -> bytes:
    """A DCE/RPC Bind: the payload of zeek's dce_rpc_netlogon capture's first packet."""
    with open_capture(str(CAPS / "zeek__dce-rpc__dce_rpc_netlogon.pcapng")) as r:
        data = next(iter(r))[1]
    return data[data.index(b"\x05\x00\x0b") :]


_BIND = _bind()

#: (payload on an unregistered port, the Protocol column)
CASES: list[tuple[bytes, str]] = [
    (b"GET /announce?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "HTTP"),
    (b"GET /x\r\n\r\n", "TCP"),  # the line neither starts nor ends with HTTP/1.1
    (b"HTTP/1.0 200 OK\r\n\r\n", "TCP"),
    (b"POST / HTTP/1.1", "TCP"),  # no line end
    (b"\x17\x03\x03\x00\x05hello", "TLSv1.2"),
    (b"\x17\x03\x03\x00\x00", "TCP"),  # record length 0
    (b"\x14\x03\x03\x00\x01\x01", "TCP"),  # change cipher spec: not one of the heuristic's types
    (b"\x17\x03\x04\x00\x05hello", "TCP"),  # version 3.4 on the wire: no
    (b"\x05\x00\x0b\x03", "TCP"),  # DCE/RPC header cut
    (_BIND, "DCERPC"),
    (b"\x05\x00\x0b\x03\x10\x00\x00\x00\x0f\x00\x00\x00\x02\x00\x00\x00", "TCP"),  # frag_len < 16
]


def _frames(raws: list[bytes]) -> list[Frame]:
    return [Frame(1_700_000_000_000_000_000 + i * 1000, r, len(r), 1) for i, r in enumerate(raws)]


@pytest.mark.parametrize(("payload", "proto"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_heuristics_take_what_tshark_takes(payload: bytes, proto: str) -> None:
    for sp, dp in ((40001, 50002), (50002, 40001)):
        fr = _frames([ip4_tcp_frame(sp, dp, payload)])[0]
        assert slow_summary(fr).protocol == proto
        assert summarize(fr) == slow_summary(fr)


def _synthetic() -> list[bytes]:
    rnd = random.Random(13)
    prefixes = sorted(TCP_HEURISTICS.prefixes())
    out = []
    for p, _ in CASES:
        out.append(ip4_tcp_frame(rnd.randrange(1024, 65536), rnd.randrange(1024, 65536), p))
    for p in http_payloads() + tls_payloads():
        out.append(ip4_tcp_frame(rnd.randrange(1024, 65536), rnd.randrange(1024, 65536), p))
    for _ in range(400):  # each heuristic's prefixes followed by random bytes, cut anywhere
        body = rnd.choice(prefixes) + rnd.randbytes(rnd.randrange(0, 60))
        out.append(ip4_tcp_frame(rnd.randrange(1024, 65536), rnd.randrange(1024, 65536), body))
    return out


def test_fast_path_agrees_with_the_dissector() -> None:
    for fr in _frames(_synthetic()):
        s = _fast(fr)
        assert s is None or s == slow_summary(fr), fr[1].hex()


def test_text_loops_equal_format_line(tmp_path: Path) -> None:
    raws = _synthetic()
    want = "".join(f"{format_line(i + 1, fr)}\n" for i, fr in enumerate(_frames(raws)))
    assert "".join(iter_text(_frames(raws), 1, None, 64)) == want  # the Frame loop
    p = tmp_path / "h.pcap"
    p.write_bytes(pcap(raws))
    with open_capture(str(p)) as r:
        got = "".join(iter_text(r, 1, None, 64))  # the raw read-buffer loop
    with open_capture(str(p)) as r:
        want = "".join(f"{format_line(i + 1, fr)}\n" for i, fr in enumerate(r))
    assert got == want


@pytest.mark.parametrize(
    ("name", "protos"),
    [
        ("zeek__dce-rpc__cs_window7-join_stream092.pcap", {"DCERPC"}),
        ("zeek__tls__tls13_wolfssl.pcap", {"TLSv1.2", "TLSv1.3"}),
        ("zeek__bittorrent__tracker.pcap", {"HTTP"}),
    ],
)
def test_corpus_segments_on_unregistered_ports(name: str, protos: set[str]) -> None:
    with open_capture(str(CAPS / name)) as r:
        frames = list(r)
    seen = set()
    for fr in frames:
        s = summarize(fr)
        assert s == slow_summary(fr)
        seen.add(s.protocol)
    assert protos <= seen, seen


def test_sslv2_on_tls_ports() -> None:
    """SSLv2 records on a TLS port (decode.sslv2): the fast path sends exactly the prefixes it takes."""
    rnd = random.Random(5)
    with open_capture(str(CAPS / "zeek__tls__ssl-v2.pcap")) as r:
        hello = next(fr for fr in r if b"\x80\x2e\x01" in fr[1])[1]
    payloads = [hello[hello.index(b"\x80\x2e\x01") :], b"\x80\x00\x00" + bytes(20)]
    payloads += [
        bytes((rnd.randrange(0x80, 0x100), rnd.randrange(256), rnd.randrange(10))) for _ in range(300)
    ]
    seen = set()
    for p in payloads:
        fr = _frames([ip4_tcp_frame(40000, 443, p + rnd.randbytes(rnd.randrange(0, 40)))])[0]
        s = _fast(fr)
        slow = slow_summary(fr)
        assert s is None or s == slow, p.hex()
        seen.add(slow.protocol)
    assert seen == {"SSLv2", "TCP"}
    assert slow_summary(_frames([ip4_tcp_frame(40000, 443, payloads[0])])[0]).info == "Client Hello"


#: the TCP ports of the decoders added for issue 13's TCP side, and an unregistered one (the heuristics)
_NEW_PORTS = [6379, 79, 43, 514, 6346, 135, 5222, 102, 3389, 1883, 502, 6653, 80, 443, 48000]
_SEEDS = [
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
    b"+OK\r\n",
    b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00",
]
_SEEDS += [b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64"]
_SEEDS += [b"\x00\x00\x05\x01\x05\x00\x00\x00\x01\x82\x86\x84\x41\x01", b"\x04\x06\x00\x20\x00\x00\x00\x02"]
_SEEDS += [b"<stream:stream to='x'>", b"\x10\x14\x00\x04MQTT\x04\x02\x00\x3c\x00\x08client-1", _BIND]
_SEEDS += [
    b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a",
    b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10",
]


def _check(fr: Frame) -> None:
    from sniffer.decode.fields import frame_fields
    from sniffer.decode.tree import dissect

    f = frame_fields(fr)
    assert "dissector bug" not in str(f.get("_ws.malformed", "")), f["_ws.malformed"]
    root = dissect(fr)
    assert root.to_fields() == f
    for node in root.walk():
        assert 0 <= node.offset and node.offset + node.length <= len(fr.data), node
    s = _fast(fr)
    assert s is None or s == slow_summary(fr)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_NEW_PORTS),
    st.sampled_from(_SEEDS),
    st.binary(max_size=60),
    st.integers(0, 80),
    st.booleans(),
)
def test_new_tcp_decoders_on_hostile_payloads(
    port: int, seed: bytes, junk: bytes, cut: int, to_server: bool
) -> None:
    """Seeds of each new protocol, cut anywhere and followed by random bytes, on every new port (both
    directions): no exception, tree == fields, every node inside the frame, fast path == dissector."""
    payload = (seed + junk)[: max(cut, 1)] if cut < len(seed) + len(junk) else seed + junk
    raw = ip4_tcp_frame(40000, port, payload) if to_server else ip4_tcp_frame(port, 40000, payload)
    _check(_frames([raw])[0])
    _check(Frame(0, raw[: len(raw) - len(payload) // 2], len(raw), 1))  # snapped by the capture
