"""Streams, follow and statistics against tshark on every readable corpus capture."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.filters_oracle import (
    StatsOracle,
    have_tshark,
    merged_capture,
    readable_captures,
    stats_oracle,
    tshark_follow,
)

from sniffer.capture.pcapfile import open_capture
from sniffer.model.flows import FlowIndex, follow, format_follow
from sniffer.model.stats import Statistics

pytestmark = pytest.mark.skipif(not have_tshark(), reason="tshark not installed")

# Protocol hierarchy levels tshark takes from its dissection tree, which frame.protocols does not show
PHS_KNOWN = {
    "zeek__trunc__trunc-hdr.pcap": "tshark shows only _ws.short when the Ethernet header itself is cut",
    "zeek__vlan-qinqinq.pcap": "tshark adds a tcp.segments level under reassembled HTTP bodies",
}
# every classic pcap tshark reads cleanly, concatenated into one pcapng (one tshark run); mergecap gives
# pcapng inputs IDBs our strict reader rejects (caplen > snaplen), so those are not merged
CAPTURES = [p for p in readable_captures() if p.name not in PHS_KNOWN and p.suffix == ".pcap"]
CORPUS = readable_captures()[0].parent


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StatsOracle]:
    path = merged_capture(tmp_path_factory.mktemp("stats"), tuple(p.name for p in CAPTURES))
    return path, stats_oracle(path)


@pytest.fixture(scope="module")
def ours(merged: tuple[Path, StatsOracle]) -> Statistics:
    path, oracle = merged
    st = Statistics()
    with open_capture(str(path)) as reader:
        for n, (fr, row) in enumerate(zip(reader, oracle.rows, strict=True), 1):
            row = [*row, "", "", "", "", ""]
            malformed = "_ws.malformed" if row[1] else "_ws.short" if row[2] else None
            st.add(n, fr, row[0], malformed)
    return st


def test_corpus_is_big_enough(merged: tuple[Path, StatsOracle]) -> None:
    assert len(CAPTURES) >= 50 and len(merged[1].rows) > 1500
    assert len(merged[1].conv["tcp"]) >= 20 and len(merged[1].conv["udp"]) >= 20


def test_stream_numbers(merged: tuple[Path, StatsOracle]) -> None:
    """tcp.stream / udp.stream of every packet, as tshark numbers them."""
    path, oracle = merged
    idx = FlowIndex(keep_numbers=False)
    with open_capture(str(path)) as reader:
        got = []
        for n, fr in enumerate(reader, 1):
            r = idx.add(n, fr)
            got.append(None if r is None else (r[0].proto, r[0].index))
    expected = []
    for row in oracle.rows:
        row = [*row, "", "", "", "", ""]
        expected.append(("tcp", int(row[3])) if row[3] else ("udp", int(row[4])) if row[4] else None)
    bad = [(n, e, g) for n, (e, g) in enumerate(zip(expected, got, strict=True), 1) if e != g]
    assert bad == []


@pytest.mark.parametrize("kind", ["eth", "ip", "ipv6", "tcp", "udp"])
def test_conversations(kind: str, merged: tuple[Path, StatsOracle], ours: Statistics) -> None:
    """Conversations: endpoints (A sent first), frames and bytes each way."""
    expected = merged[1].conv.get(kind, set())
    sizes = {(a, b): (ab, ba) for a, b, _, ab, _, ba in expected}
    got = set()
    for c in ours.conversations(kind):
        ab, ba = sizes.get((c.a, c.b), (0, 0))
        got.add(
            (
                c.a,
                c.b,
                c.frames[0],
                None if ab is None else c.bytes[0],
                c.frames[1],
                None if ba is None else c.bytes[1],
            )
        )
    assert sorted(got - expected) == [] and sorted(expected - got) == []


def test_endpoints_add_up(ours: Statistics) -> None:
    for kind in ("ip", "tcp"):
        eps = ours.endpoints(kind)
        convs = ours.conversations(kind)
        assert sum(e.tx_frames for e in eps) == sum(c.total_frames for c in convs)
        assert sum(e.rx_bytes for e in eps) == sum(c.total_bytes for c in convs)


def test_protocol_hierarchy(merged: tuple[Path, StatsOracle], ours: Statistics) -> None:
    """Given tshark's frame.protocols, the hierarchy equals tshark -z io,phs."""
    got = [
        f"{'  ' * d + n.name:<40} frames:{n.frames} bytes:{n.bytes}".rstrip()
        for d, n in ours.hierarchy.walk()
    ]
    assert got == merged[1].phs


def test_io_rate_adds_up(ours: Statistics) -> None:
    rows = ours.io(0.25)
    assert sum(r[1] for r in rows) == ours.frames and sum(r[2] for r in rows) == ours.bytes


FOLLOW_CASES = [("zeek__wikipedia.pcap", "tcp", s, "ascii") for s in range(10)] + [
    ("zeek__wikipedia.pcap", "tcp", 1, "hex"),
    ("zeek__wikipedia.pcap", "tcp", 5, "raw"),
    ("zeek__wikipedia.pcap", "udp", 0, "ascii"),
    ("zeek__wikipedia.pcap", "udp", 3, "hex"),
    ("zeek__nmap-vsn.pcap", "tcp", 3, "raw"),
    ("zeek__nmap-vsn.pcap", "tcp", 10, "ascii"),
    ("zeek__vlan-qinqinq.pcap", "tcp", 0, "raw"),
    ("tcpdump__mptcp-v1.pcap", "tcp", 0, "raw"),
    ("zeek__tcp__option-sack.pcap", "tcp", 0, "raw"),
    ("dpkt__dns_icmp.pcap", "udp", 2, "hex"),
]


@pytest.mark.parametrize(("name", "proto", "stream", "mode"), FOLLOW_CASES)
def test_follow_like_tshark(name: str, proto: str, stream: int, mode: str) -> None:
    path = CORPUS / name
    expected = tshark_follow(path, proto, stream, mode)
    with open_capture(str(path)) as reader:
        result = follow(reader, proto, stream)
    assert result is not None
    assert "\n" + format_follow(result, mode) == expected


def test_cli_hierarchy_equals_full_decoding(merged: tuple[Path, StatsOracle]) -> None:
    """`stats --phs` takes frame.protocols from the summary's fast path where it can: the same table as
    full decoding of every packet gives (with and without a display filter)."""
    from helpers.cli import run_sniffer

    from sniffer.decode.fields import frame_fields
    from sniffer.model.filters import compile_filter
    from sniffer.model.stats import format_hierarchy

    path = merged[0]
    for expr in (None, "tcp or icmp"):
        st = Statistics()
        flt = compile_filter(expr) if expr else None
        with open_capture(str(path)) as reader:
            for n, fr in enumerate(reader, 1):
                if flt is not None and not flt.matches_frame(fr, n):
                    continue
                f = frame_fields(fr)
                p = f["frame.protocols"]
                st.add(
                    n,
                    fr,
                    ":".join(p) if isinstance(p, list) else p,
                    "_ws.malformed" if "_ws.malformed" in f else None,
                )
        out = run_sniffer("stats", str(path), "--phs", *(["-Y", expr] if expr else []))
        assert out.returncode == 0, out.stderr
        assert out.stdout.decode() == format_hierarchy(st)


def test_add_phs_equals_add(merged: tuple[Path, StatsOracle]) -> None:
    """`stats --phs` alone accounts frames with add_phs (no conversation walk), or with -Y absent
    add_hierarchy_frames (one loop, counts per stack): the same totals, I/O and hierarchy as add, the
    path nodes remembered per stack."""
    from sniffer.decode.fields import frame_protocols
    from sniffer.model.stats import format_hierarchy, format_io

    full, lean = Statistics(), Statistics()
    with open_capture(str(merged[0])) as reader:
        for n, fr in enumerate(reader, 1):
            p, why = frame_protocols(fr)
            full.add(n, fr, p, "_ws.malformed" if why else None)
            lean.add_phs(fr, p, "_ws.malformed" if why else None)
    assert (lean.frames, lean.bytes, lean.duration) == (full.frames, full.bytes, full.duration)
    assert format_hierarchy(lean) == format_hierarchy(full) and format_io(lean) == format_io(full)
    assert lean.conversations("ip") == [] and len(lean._paths) < lean.frames
    batch = Statistics()  # the whole capture in one loop (stats --phs without -Y)
    with open_capture(str(merged[0])) as reader:
        batch.add_hierarchy_frames(reader, frame_protocols)
    assert (batch.frames, batch.bytes, batch.first_ns, batch.last_ns) == (
        full.frames,
        full.bytes,
        full.first_ns,
        full.last_ns,
    )
    assert format_hierarchy(batch) == format_hierarchy(full) and format_io(batch) == format_io(full)
    bare = Statistics()  # what stats --phs alone shows: no I/O intervals counted
    with open_capture(str(merged[0])) as reader:
        bare.add_hierarchy_frames(reader, frame_protocols, io=False)
    assert format_hierarchy(bare) == format_hierarchy(full) and bare.io() == []
    assert (bare.frames, bare.bytes, bare.duration) == (full.frames, full.bytes, full.duration)
