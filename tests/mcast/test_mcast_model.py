"""The pure multicast model: stream header, per-stream statistics, membership view."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.model.multicast import (
    FLAG_LAST,
    HEADER_LEN,
    KernelMembership,
    MembershipView,
    SourceFilter,
    StreamHeader,
    StreamStats,
    membership_message,
    pack_header,
    parse_header,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "captures"


def hdr(seq: int, ts: int = 1000, start: int = 500, count: int = 0, flags: int = 0) -> StreamHeader:
    return StreamHeader(sender=7, seq=seq, ts_ns=ts, start_ns=start, count=count, flags=flags)


def test_header_round_trip_and_layout() -> None:
    h = StreamHeader(sender=0xDEADBEEF, seq=2**40 + 3, ts_ns=1_700_000_000_123_456_789, start_ns=5, count=9)
    raw = pack_header(h, 100)
    assert len(raw) == 100 and raw[:4] == b"SNMC" and raw[HEADER_LEN:] == bytes(60)
    assert raw[8:12] == bytes.fromhex("deadbeef")  # sender id, network order, at offset 8
    assert parse_header(raw) == h
    assert parse_header(raw[: HEADER_LEN - 1]) is None
    assert parse_header(b"XXXX" + raw[4:]) is None
    assert parse_header(raw[:4] + b"\x02" + raw[5:]) is None  # unknown version


@given(st.binary(max_size=80))
def test_parse_header_never_raises(data: bytes) -> None:
    parse_header(data)


def feed(seqs: list[int], joined_ns: int | None = None, start: int = 500, count: int = 0) -> StreamStats:
    s = StreamStats("239.1.1.1", 1234, "10.0.0.1", 999, joined_ns=joined_ns)
    for i, q in enumerate(seqs):
        s.add(10_000 + i * 1000, 40, hdr(q, ts=9_000 + i * 1000, start=start, count=count))
    return s


def test_in_order_stream_has_no_loss_and_measures_delay() -> None:
    s = feed(list(range(10)))
    d = s.to_dict()
    assert (d["packets"], d["lost"], d["gaps"], d["duplicates"], d["reordered"]) == (10, 0, 0, 0, 0)
    assert d["delay_ms"]["min"] == d["delay_ms"]["max"] == 0.001  # 1000 ns


def test_loss_gaps_duplicates_reordering() -> None:
    s = feed([0, 1, 2, 5, 6, 4, 6, 9, 10])
    # missing 3 (gap), 4 arrives late (reordered), 6 twice (duplicate), 7-8 missing (second gap)
    assert s.packets == 8
    assert s.lost() == 3 and s.gaps() == 2
    assert s.duplicates == 1 and s.reordered == 1
    assert sorted(s.missing) == [3, 7, 8]


def test_head_loss_counts_only_when_joined_before_the_stream_started() -> None:
    assert feed([3, 4, 5], joined_ns=100, start=500).lost() == 3  # listening since before seq 0
    assert feed([3, 4, 5], joined_ns=900, start=500).lost() == 0  # joined late: not a loss


def test_tail_loss_after_idle_or_last_flag() -> None:
    s = feed([0, 1, 2], count=6)
    assert s.lost() == 0  # stream may still be running
    assert s.lost(now_ns=s.last_rx_ns + 2_000_000_000) == 3  # idle > 1 s: the tail was lost
    s.add(20_000, 40, hdr(5, count=6, flags=FLAG_LAST))
    assert s.last_seen and s.lost() == 2 and s.gaps() == 1


def test_sender_restart_is_a_reset_not_a_loss() -> None:
    s = feed([0, 1, 2, 5_000_000])
    assert s.resets == 1 and s.lost() == 0


def test_foreign_datagrams_count_without_sequence_stats() -> None:
    v = MembershipView()
    st1 = v.observe_datagram(1, "10.0.0.1", 5, "239.9.9.9", 1234, b"not ours")
    v.observe_datagram(2, "10.0.0.1", 5, "239.9.9.9", 1234, b"again")
    assert st1.packets == 2 and st1.lost() == 0 and st1.sender is None


@settings(max_examples=200)
@given(st.integers(1, 300), st.data())
def test_loss_and_duplicates_are_exact_under_shuffle(n: int, data: st.DataObject) -> None:
    kept = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    kept[0] = kept[-1] = True
    seqs = [i for i in range(n) if kept[i]]
    dups = data.draw(st.lists(st.sampled_from(seqs), max_size=5))
    order = seqs + dups
    random.Random(data.draw(st.integers(0, 2**16))).shuffle(order)
    s = StreamStats("239.1.1.1", 1, "10.0.0.1", 1)
    for q in order:
        s.add(1, 40, hdr(q))
    # everything between the lowest and the highest seq that never arrived is lost, exactly
    assert s.lost() == n - len(seqs)
    assert s.packets == len(seqs)
    assert s.duplicates == len(dups)


def _kernel(group: str, users: int = 1, sources: list[SourceFilter] | None = None) -> KernelMembership:
    return KernelMembership("ipv4", 2, "vb", group, users, sources=sources or [])


def test_kernel_mode_from_source_counts() -> None:
    assert _kernel("239.1.1.1").mode == "exclude"
    assert _kernel("232.1.1.1", sources=[SourceFilter("10.0.0.1", 1, 0)]).mode == "include"
    assert _kernel("239.1.1.1", sources=[SourceFilter("10.0.0.1", 0, 1)]).mode == "exclude"


def test_view_joins_kernel_table_wire_reports_and_streams() -> None:
    v = MembershipView()
    v.update_kernel([_kernel("239.1.1.1")], ts_ns=1)
    join = {"ip.src": "10.0.0.2", "igmp.type": "0x22", "igmp.version": "3", "igmp.record_type": "4",
            "igmp.num_src": "0", "igmp.maddr": "239.1.1.1"}  # fmt: skip
    msg = v.observe(2, join)
    assert msg is not None and msg.kind == "report" and msg.records[0].record_type == 4
    v.observe(3, {"ip.src": "10.0.0.1", "igmp.type": 0x11, "igmp.maddr": "0.0.0.0", "igmp.qrv": 2,
                  "igmp.qqic": 125, "igmp.max_resp": 100})  # fmt: skip
    v.observe_datagram(4, "10.0.0.9", 4000, "239.1.1.1", 1234, pack_header(hdr(0)))
    v.observe_datagram(5, "10.0.0.9", 4000, "239.1.1.1", 1234, pack_header(hdr(2)))
    g = v.group("239.1.1.1")
    assert g is not None
    assert list(g.members) == ["10.0.0.2"] and g.members["10.0.0.2"].mode == "exclude"
    assert g.version == 3 and g.last_report_ns == 2
    (q,) = v.queriers()
    assert (q.address, q.version, q.qrv, q.qqic) == ("10.0.0.1", 3, 2, 125)
    (row,) = v.rows()
    assert row["kernel"] == ["vb(1)"] and row["packets"] == 2 and row["lost"] == 1
    # leave (TO_IN {}) on the wire, then the kernel table drops it
    v.observe(6, {**join, "igmp.record_type": "3"})
    v.update_kernel([], ts_ns=7)
    assert g.members == {} and g.leaves == 1
    assert [e.event for e in g.timeline] == ["kernel-join", "join", "leave", "kernel-leave"]
    v.update_kernel([_kernel("239.1.1.1", users=2)], ts_ns=8)
    assert g.timeline[-1].event == "kernel-join" and g.kernel[0].users == 2


def test_first_kernel_snapshot_event_name_is_configurable() -> None:
    v = MembershipView()
    v.first_kernel_event = "kernel-present"
    v.update_kernel([_kernel("239.1.1.1")], ts_ns=1)
    v.update_kernel([_kernel("239.1.1.1"), _kernel("239.2.2.2")], ts_ns=2)
    g1, g2 = v.group("239.1.1.1"), v.group("239.2.2.2")
    assert g1 is not None and g2 is not None
    assert [e.event for e in g1.timeline] == ["kernel-present"]
    assert [e.event for e in g2.timeline] == ["kernel-join"]


def test_view_ssm_allow_block_and_v2_leave() -> None:
    v = MembershipView()
    base = {"ip.src": "10.0.0.2", "igmp.type": "0x22", "igmp.maddr": "232.1.1.1"}
    v.observe(
        1, {**base, "igmp.record_type": "5", "igmp.num_src": "2", "igmp.saddr": ["10.9.0.1", "10.9.0.2"]}
    )
    g = v.group("232.1.1.1")
    assert g is not None and g.members["10.0.0.2"].sources == {"10.9.0.1", "10.9.0.2"}
    v.observe(2, {**base, "igmp.record_type": "6", "igmp.num_src": "1", "igmp.saddr": "10.9.0.1"})
    assert g.members["10.0.0.2"].sources == {"10.9.0.2"}
    v.observe(3, {**base, "igmp.record_type": "6", "igmp.num_src": "1", "igmp.saddr": "10.9.0.2"})
    assert g.members == {}
    assert [e.event for e in g.timeline] == ["join", "change", "leave"]
    v.observe(4, {"ip.src": "10.0.0.3", "igmp.type": "0x16", "igmp.maddr": "239.5.5.5"})
    v.observe(5, {"ip.src": "10.0.0.3", "igmp.type": "0x17", "igmp.maddr": "239.5.5.5"})
    g2 = v.group("239.5.5.5")
    assert g2 is not None and g2.version == 2 and [e.event for e in g2.timeline] == ["join", "leave"]


def test_multi_record_report_splits_sources_by_count() -> None:
    f = {"ip.src": "10.0.0.2", "igmp.type": "0x22", "igmp.record_type": ["1", "2", "5"],
         "igmp.num_src": ["2", "0", "1"], "igmp.maddr": ["232.1.1.1", "239.1.1.1", "232.2.2.2"],
         "igmp.saddr": ["1.1.1.1", "2.2.2.2", "3.3.3.3"]}  # fmt: skip
    msg = membership_message(f)
    assert msg is not None
    assert [(r.group, r.record_type, r.sources) for r in msg.records] == [
        ("232.1.1.1", 1, ["1.1.1.1", "2.2.2.2"]),
        ("239.1.1.1", 2, []),
        ("232.2.2.2", 5, ["3.3.3.3"]),
    ]


def test_mld_messages() -> None:
    v = MembershipView()
    r = {"ipv6.src": "fe80::1", "icmpv6.type": "143", "icmpv6.mldr.mar.record_type": "4",
         "icmpv6.mldr.mar.nb_sources": "0", "icmpv6.mldr.mar.multicast_address": "ff3e::1"}  # fmt: skip
    v.observe(1, r)
    v.observe(2, {"ipv6.src": "fe80::1", "icmpv6.type": "132", "icmpv6.mld.multicast_address": "ff3e::1"})
    v.observe(3, {"ipv6.src": "fe80::9", "icmpv6.type": "130", "icmpv6.mld.multicast_address": "::",
                  "icmpv6.mld.flag.qrv": "2", "icmpv6.mld.qqi": "125"})  # fmt: skip
    g = v.group("ff3e::1")
    assert g is not None and [e.event for e in g.timeline] == ["join", "leave"]
    assert [(q.address, q.version) for q in v.queriers()] == [("fe80::9", 2)]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark (the oracle) is not installed")
@pytest.mark.parametrize(
    "name",
    [
        "zeek__igmp__igmp.pcap",
        "zeek__igmp__igmp-many-groups.pcap",
        "tcpdump__igmpv3-queries.pcap",
        "zeek__icmp__icmp6-mldv1.pcap",
        "tcpdump__IGMP_V1.pcap",
    ],
)
def test_corpus_membership_messages_follow_the_oracle(name: str) -> None:
    """Every IGMP/MLD packet of the corpus, given as the oracle's fields, becomes the right message."""
    from helpers.mcast_wire import tshark_fields

    v = MembershipView()
    n = 0
    for f in tshark_fields(CORPUS / name):
        if "igmp.type" not in f and str(f.get("icmpv6.type")) not in ("130", "131", "132", "143"):
            continue
        msg = v.observe(0, f)
        if msg is None:
            continue  # e.g. mtrace / DVMRP share IGMP's protocol number
        n += 1
        t = int(str(f.get("igmp.type", f.get("icmpv6.type"))), 0)
        kind = {0x11: "query", 130: "query", 0x17: "leave", 132: "leave"}.get(t, "report")
        assert msg.kind == kind
        if "igmp.version" in f:
            assert msg.version == int(f["igmp.version"])
        if msg.kind != "query":
            groups = (
                f.get("igmp.maddr")
                or f.get("icmpv6.mldr.mar.multicast_address")
                or f.get("icmpv6.mld.multicast_address")
            )
            assert [r.group for r in msg.records] == (groups if isinstance(groups, list) else [groups])
    assert n > 0
    assert v.groups() or v.queriers()


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark (the oracle) is not installed")
@pytest.mark.parametrize(
    "name",
    [
        "zeek__igmp__igmp.pcap",
        "zeek__igmp__igmp-many-groups.pcap",
        "zeek__igmp__igmp-many-sources.pcap",
        "tcpdump__igmpv3-queries.pcap",
        "zeek__icmp__icmp6-mldv1.pcap",
        "tcpdump__IGMP_V1.pcap",
        "zeek__tunnels__vxlan-encapsulated-igmp-v2.pcap",
    ],
)
def test_corpus_messages_from_our_decoder_equal_the_oracles(name: str) -> None:
    """Our decoder's fields and tshark's give the same membership messages, packet by packet."""
    from helpers.mcast_wire import tshark_fields

    from sniffer.capture.pcapfile import open_capture
    from sniffer.decode.fields import frame_fields

    with open_capture(str(CORPUS / name)) as reader:
        ours = [membership_message(frame_fields(f)) for f in reader]
    theirs = [membership_message(f) for f in tshark_fields(CORPUS / name)]
    assert len(ours) == len(theirs)
    assert sum(m is not None for m in theirs) > 0
    assert ours == theirs
