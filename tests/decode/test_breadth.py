"""Breadth: sniffer's Protocol column agrees with tshark's on the breadth corpus (151 public captures,
~120 protocols, tests/corpus-breadth), every file reads to the same packet count, nothing raises.

Issue 13's goal is 90% of packets and 90% per-file mean. The asserts hold the value reached so far
(floored) so the ratchet only goes up: raise them as protocols land. Baseline (before any breadth work):
29.1% of packets, per-file mean 26.6%; Info 7.4%.
"""

from __future__ import annotations

import pytest

from .breadth import CAPS, Score, oracle_cols, score_all

GOAL = 0.90  # issue 13: both the share of packets and the per-file mean
PROTO_SHARE_MIN = 0.97  # above the goal (97.4% now)
PROTO_FILE_MEAN_MIN = 0.96  # above the goal (96.2% now)


@pytest.fixture(scope="module")
def score() -> Score:
    return score_all()


def test_corpus_is_complete() -> None:
    names = sorted(p.name for p in CAPS.iterdir())
    assert len(names) == 151
    for n in names:
        assert len(oracle_cols(n, "cols")) == len(oracle_cols(n, "cols-nodesegment")), n


def test_packet_counts_equal_and_no_exception(score: Score) -> None:
    for f in score.files:
        assert not f.errors, (f.name, f.errors[:3])
        if f.expected:  # tshark 4.0 cannot open 3 of them (link types 281, 284, 285): no count to compare
            assert f.packets == f.expected, f.name
        else:
            assert f.packets > 0, f.name


def test_protocol_column_agrees_with_tshark(score: Score) -> None:
    print()
    print(score.report())
    assert score.proto_share >= PROTO_SHARE_MIN, score.report()
    assert score.proto_file_mean >= PROTO_FILE_MEAN_MIN, score.report()
    assert PROTO_SHARE_MIN >= GOAL and PROTO_FILE_MEAN_MIN >= GOAL  # the floors hold the goal now


def test_fabricpath_inner_frame_ends_before_the_fcs() -> None:
    """Wireshark's FabricPath takes the frame's last 4 bytes as its FCS: inner TCP and UDP headers that
    reach the frame's end are cut (a short segment: the columns up to Win=; a UDP length beyond the
    IP payload) and the packet is malformed. Every TCP and UDP packet's Info is tshark's."""
    from sniffer.capture.pcapfile import open_capture
    from sniffer.decode.summary import summarize

    name = "zeek__cisco-fabric-path.pcap"
    want = oracle_cols(name, "cols-nodesegment")
    with open_capture(str(CAPS / name)) as r:
        frames = list(r)
    checked = 0
    for fr, (proto, info) in zip(frames, want, strict=True):
        if proto not in ("TCP", "UDP"):
            continue
        s = summarize(fr)
        assert (s.protocol, s.info.replace(" -> ", " \u2192 ", 1)) == (proto, info)
        checked += 1
    assert checked == 64
