"""The packet list's columns with the conversation state (model.tcpcolumns): on every frame of TCP corpus
captures (prefixes, relative numbers, segments of reassembled PDUs, reassembled PDUs, tunnels, PPPoE, IP
fragments) the line `sniffer read --analysis` prints (which tests/model/test_tcpanalysis.py compares
with tshark), from the per-packet summary plus a few bytes per frame; bounded memory."""

from __future__ import annotations

import contextlib
import io
import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.capture.pcapfile import open_capture
from sniffer.cli import main
from sniffer.decode.summary import format_time, summarize
from sniffer.model.tcpcolumns import PDU, TcpColumns

TESTS = Path(__file__).resolve().parents[1]
CAPTURES = [
    TESTS / "corpus" / "tcp" / name
    for name in (
        "zeek__pppoe-over-qinq.pcap",  # retransmissions, dup ACKs, TLS segments, PPPoE in QinQ
        "zeek__workshop_2011_browse.pcap",  # HTTP over many segments
        "zeek__smb__smb2readwrite.pcap",  # SMB2 PDUs across segments
        "zeek__tunnels__gre-sample.pcap",  # TCP in GRE
        "zeek__mysql__mysql.pcap",
        "zeek__ssh__single-conn.pcap",
    )
] + [
    TESTS / "corpus" / "captures" / name
    for name in (
        "zeek__ipv4__fragmented-1.pcap",  # IP fragments
        "zeek__ipv4__fragmented-syn.pcap",  # a fragmented TCP SYN
        "zeek__ipv6-http-atomic-frag.pcap",
    )
]


def _read_analysis(path: Path) -> list[str]:
    buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(buf):
        assert main(["read", "--analysis", str(path)]) == 0
        buf.flush()
    return buf.buffer.getvalue().decode().splitlines()  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_lines_are_read_analysis(path: Path) -> None:
    want = _read_analysis(path)
    tc = TcpColumns()
    got = []
    with open_capture(str(path)) as reader:
        for i, fr in enumerate(reader):
            tc.feed(fr)
            s = summarize(fr)
            proto, info = tc.columns(i, s[2], s[3], fr)
            got.append(f"{i + 1} {format_time(fr[0])} {s[0]} -> {s[1]} {proto} {fr[2]} {info}")
    assert got == want


def test_kinds_seen_and_bounded_memory() -> None:
    """The prefixes, segments and PDUs of a capture are there; the per-frame cost is a byte, plus 21 for
    each TCP segment or fragment (its slot), and the kept columns stay within max_pdus (the oldest go
    back to the per-packet view)."""
    path = CAPTURES[1]
    tc = TcpColumns()
    small = TcpColumns(max_pdus=3)
    frames = []
    with open_capture(str(path)) as reader:
        for fr in reader:
            tc.feed(fr)
            small.feed(fr)
            frames.append(fr)
    texts = [tc.columns(i, *summarize(fr)[2:4], fr)[1] for i, fr in enumerate(frames)]
    assert any("[TCP segment of a reassembled PDU]" in t for t in texts)
    assert sum(1 for k in tc.kind if k & 0x7F == PDU) >= 10
    assert len(small.pdus) == 3 and len(tc.pdus) > 10
    n = tc.fed
    assert n == len(frames)
    slots = sum(1 for k in tc.kind if k)
    assert 0 < slots <= n
    arrays = (tc.seq, tc.ack, tc.win, tc.prev, tc.later)
    assert all(len(a) == slots and a.itemsize == 4 for a in arrays) and len(tc.pcode) == slots
    assert len(tc._base) == (n + 255) // 256
    assert len(tc.prefixes) < 20 and not tc.frags
    # an evicted PDU shows the per-packet columns again (with the prefix and relative numbers)
    evicted = next(i for i in tc.pdus if i not in small.pdus and tc.kind[i] & 0x7F == PDU)
    s = summarize(frames[evicted])
    assert small.columns(evicted, s[2], s[3], frames[evicted])[0] == s[2]


def test_mixed_frames_across_rank_blocks(tmp_path: Path) -> None:
    """TCP and UDP frames mixed over many 256-frame blocks (the slots are found by rank): every line is
    `sniffer read --analysis`'s, non-TCP frames cost a byte, and a conversation's previous-frame links
    reach back across blocks (the detail pane's replay of a conversation)."""
    from helpers.tui_pcapgen import many_flows_frames, write_frames

    path = write_frames(tmp_path / "mixed.pcap", many_flows_frames(3000, 40))
    want = _read_analysis(path)
    tc = TcpColumns()
    got = []
    frames = []
    with open_capture(str(path)) as reader:
        for i, fr in enumerate(reader):
            tc.feed(fr)
            frames.append(fr)
            s = summarize(fr)
            proto, info = tc.columns(i, s[2], s[3], fr)
            got.append(f"{i + 1} {format_time(fr[0])} {s[0]} -> {s[1]} {proto} {fr[2]} {info}")
    assert got == want
    assert len(tc.seq) == 1500 and len(tc.kind) == 3000  # (half the frames are TCP)
    chain = []
    j = 2999 if tc.kind[2999] else 2998
    while j >= 0:
        chain.append(j)
        j = tc.prev_of(j) - 1
    assert len(chain) == 3000 // 40 and all(a - b == 40 for a, b in itertools.pairwise(chain))
    st = tc.state(chain[0], frames.__getitem__)
    assert st is not None and st.extra is not None  # the replay gives what the list shows
    assert st.extra["tcp.seq"] & 0xFFFFFFFF == tc.seq[tc._slot(chain[0])]


@settings(max_examples=200)
@given(st.lists(st.tuples(st.binary(max_size=120), st.sampled_from([1, 101, 113, 276, 0])), max_size=8))
def test_any_bytes_never_raise(frames: list[tuple[bytes, int]]) -> None:
    """Random frames (half with a TCP/IPv4 header in front): feed and columns never raise, one entry a
    frame (SNIFFER_DECODE_DEBUG's mode: exceptions go through)."""
    from sniffer.frame import LINKTYPE_RAW, Frame
    from sniffer.model import tcpcolumns

    tcpcolumns.DEBUG = True
    try:
        tc = TcpColumns()
        for n, (data, linktype) in enumerate(frames, 1):
            if data and data[0] & 1:
                hdr = bytes.fromhex("4500002800010000400600007f0000017f000002")  # IPv4, TCP, 40 bytes
                tcp = (1234).to_bytes(2, "big") + (80).to_bytes(2, "big") + data[:8].ljust(8, b"\0")
                data, linktype = hdr + tcp + bytes([0x50, data[-1]]) + data, LINKTYPE_RAW
            fr = Frame(n, data, len(data), linktype, 0)
            tc.feed(fr)
            assert tc.fed == n
            tc.columns(n - 1, "X", "1 -> 2 [ACK] Seq=5 Ack=6 Win=7 Len=0", fr)
    finally:
        tcpcolumns.DEBUG = False


def test_a_bug_leaves_the_frame_per_packet() -> None:
    """An exception in the reassembly (a bug) leaves that frame per packet and the state going on."""
    tc = TcpColumns()
    with open_capture(str(CAPTURES[0])) as reader:
        frames = list(reader)
    tc.feed(frames[0])
    real = tc._ra.feed

    def broken(*a: object) -> None:
        raise ValueError("bug")

    tc._ra.feed = broken
    tc.feed(frames[1])
    tc._ra.feed = real
    tc.feed(frames[2])
    assert tc.errors == 1 and tc.fed == 3 and tc.kind[1] == 0
    assert len(tc.seq) == len(tc.ack) == len(tc.win) == len(tc.prev) == len(tc.pcode) == 2
    s = summarize(frames[1])
    assert tc.columns(1, s[2], s[3], frames[1]) == (s[2], s[3])
