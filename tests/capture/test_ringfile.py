"""`capture -w` records built straight from ring blocks (capture.ringfile) are byte for byte the ones the
Frame path writes: pcap and pcapng, loopback duplicates, VLAN tags put back, cooked `any`, snap length,
and -c / -C / -G boundaries. Blocks are laid out as the kernel lays them out (no root needed here);
test_cli.py checks the same path on real captures against tshark and tcpdump."""

from __future__ import annotations

import argparse
import io
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.capture.afpacket import (
    ARPHRD_LOOPBACK,
    PACKET_BROADCAST,
    PACKET_HOST,
    PACKET_OUTGOING,
    TP_STATUS_USER,
    TP_STATUS_VLAN_TPID_VALID,
    TP_STATUS_VLAN_VALID,
    BlockParser,
    Interface,
)
from sniffer.capture.live import RingBlock
from sniffer.capture.pcapfile import PcapngWriter, PcapWriter, open_capture
from sniffer.capture.ringfile import write_block
from sniffer.commands.capture import FileOutput
from sniffer.frame import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2

BLOCK_HDR = 48  # ALIGN(sizeof(struct tpacket_block_desc), 8)
TP_HDRLEN = 68  # TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) + sizeof(struct sockaddr_ll)


@dataclass
class RingPacket:
    """One packet as the ring holds it: ``data`` from the MAC header (VLAN tag already stripped)."""

    data: bytes
    sec: int = 1_700_000_000
    nsec: int = 0
    wirelen: int | None = None
    pkttype: int = PACKET_HOST
    ifindex: int = 2
    vlan: tuple[int, int] | None = None  # (tci, tpid or 0 when the kernel gave no TPID)
    proto: int = 0x0800
    hatype: int = 1
    addr: bytes = b"\x02\x00\x00\x00\x00\x01"


def _align16(n: int) -> int:
    return (n + 15) & ~15


def ring_block(packets: list[RingPacket], cooked: bool = False) -> bytes:
    """A retired block holding ``packets`` (mac offsets as the kernel computes them for 14-byte headers)."""
    body = b""
    off = BLOCK_HDR
    macoff = 96 if cooked else _align16(TP_HDRLEN + 16) - 14
    for k, p in enumerate(packets):
        caplen = len(p.data)
        size = _align16(macoff + caplen)
        status = TP_STATUS_USER
        tci = tpid = 0
        if p.vlan is not None:
            tci, tpid = p.vlan
            status |= TP_STATUS_VLAN_VALID | (TP_STATUS_VLAN_TPID_VALID if tpid else 0)
        nxt = size if k < len(packets) - 1 else 0
        hdr = struct.pack(
            "=IIIIIIHH4xIH2x8x",
            nxt,
            p.sec,
            p.nsec,
            caplen,
            p.wirelen if p.wirelen is not None else caplen,
            status,
            macoff,
            macoff + (0 if cooked else 14),
            tci,
            tpid,
        )
        sll = (
            struct.pack("=H", 17)
            + struct.pack(">H", p.proto)
            + struct.pack("=iHBB", p.ifindex, p.hatype, p.pkttype, len(p.addr))
        )
        sll += p.addr.ljust(8, b"\0")
        rec = (hdr + sll).ljust(macoff, b"\0") + p.data
        body += rec.ljust(size, b"\0")
        off += size
    head = struct.pack("=II", 1, 0) + struct.pack(
        "=IIII", TP_STATUS_USER, len(packets), BLOCK_HDR, BLOCK_HDR + len(body)
    )
    return head.ljust(BLOCK_HDR, b"\0") + body


ETH = Interface(2, "vb", 1, LINKTYPE_ETHERNET, False)
LO = Interface(1, "lo", ARPHRD_LOOPBACK, LINKTYPE_ETHERNET, False)
ANY = Interface(0, "any", 0, LINKTYPE_LINUX_SLL2, True)


def parser_for(iface: Interface, snaplen: int = 262144) -> BlockParser:
    return BlockParser(iface, snaplen, {1: "lo", 2: "vb", 3: "va"})


def writer(fmt: str, out: io.BytesIO, linktype: int, nano: bool = True) -> PcapWriter | PcapngWriter:
    if fmt == "pcap":
        return PcapWriter(out, linktype, 262144, nanosecond=nano)
    return PcapngWriter(out, linktype, 262144)


def by_frames(fmt: str, parser: BlockParser, blocks: list[tuple[bytes, int]], nano: bool = True) -> bytes:
    out = io.BytesIO()
    w = writer(fmt, out, parser.iface.linktype, nano)
    for block, count in blocks:
        w.write_batch(parser.frames(block, count))
    w.close()
    return out.getvalue()


def by_blocks(fmt: str, parser: BlockParser, blocks: list[tuple[bytes, int]], nano: bool = True) -> bytes:
    out = io.BytesIO()
    w = writer(fmt, out, parser.iface.linktype, nano)
    for block, count in blocks:
        assert write_block(w, parser, block, count)[2] == count
    w.close()
    return out.getvalue()


packets = st.builds(
    RingPacket,
    data=st.binary(min_size=14, max_size=300),
    sec=st.integers(0, 2**32 - 1),
    nsec=st.integers(0, 999_999_999),
    wirelen=st.none() | st.integers(300, 70000),
    pkttype=st.sampled_from([PACKET_HOST, PACKET_BROADCAST, PACKET_OUTGOING]),
    ifindex=st.sampled_from([1, 2, 3, 7]),
    vlan=st.none() | st.tuples(st.integers(0, 0xFFFF), st.sampled_from([0, 0x8100, 0x88A8])),
)


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(st.lists(packets, min_size=1, max_size=12), min_size=1, max_size=3),
    iface=st.sampled_from([ETH, LO, ANY]),
    snaplen=st.sampled_from([262144, 60, 15]),
    fmt=st.sampled_from(["pcapng", "pcap", "pcap-usec"]),
)
def test_block_records_equal_frame_records(
    blocks: list[list[RingPacket]], iface: Interface, snaplen: int, fmt: str
) -> None:
    parser = parser_for(iface, snaplen)
    if iface is LO:
        parser.loopbacks.add(1)
        for blk in blocks:
            for p in blk:
                p.ifindex = 1
    raw = [(ring_block(b, cooked=iface.cooked), len(b)) for b in blocks]
    kind, nano = ("pcap", fmt == "pcap") if fmt.startswith("pcap") and fmt != "pcapng" else ("pcapng", True)
    expected = by_frames(kind, parser, raw, nano)
    assert by_blocks(kind, parser, raw, nano) == expected


def test_frames_read_back_with_every_field() -> None:
    """A fixed block through the block path, read back: timestamps, bytes, direction, interface,
    the VLAN tag restored, loopback's outgoing copy skipped, the snap length cut."""
    data = bytes(range(14)) + b"\x08\x00" + b"x" * 100
    pkts = [
        RingPacket(data, sec=1_700_000_001, nsec=123_456_789, ifindex=1, pkttype=PACKET_OUTGOING),
        RingPacket(data, sec=1_700_000_001, nsec=123_456_790, ifindex=1),
        RingPacket(data, sec=1_700_000_002, nsec=5, ifindex=1, vlan=(0x2064, 0)),
        RingPacket(data + b"y" * 200, sec=1_700_000_003, nsec=999_999_999, ifindex=1, wirelen=9000),
    ]
    parser = parser_for(LO, snaplen=200)
    parser.loopbacks.add(1)
    out = io.BytesIO()
    w = PcapngWriter(out, LINKTYPE_ETHERNET, 200)
    assert write_block(w, parser, ring_block(pkts), 4) == (3, 44 + 116 + 44 + 120 + 44 + 200, 4)
    w.close()
    out.seek(0)
    got = list(open_capture(out))
    assert [f.ts_ns for f in got] == [
        1_700_000_001_123_456_790,
        1_700_000_002_000_000_005,
        1_700_000_003_999_999_999,
    ]
    assert got[0].data == data and got[0].wirelen == len(data)
    assert got[1].data == data[:12] + b"\x81\x00\x20\x64" + data[12:] and got[1].wirelen == len(data) + 4
    assert got[2].data == (data + b"y" * 200)[:200] and got[2].wirelen == 9000
    assert {(f.ifname, f.direction) for f in got} == {("lo", 1)}


def test_chunks_with_limits_concatenate_to_the_whole() -> None:
    pkts = [RingPacket(bytes([i]) * (20 + i * 7), nsec=i) for i in range(30)]
    block = ring_block(pkts)
    parser = parser_for(ETH)
    whole = io.BytesIO()
    w = PcapWriter(whole, LINKTYPE_ETHERNET)
    assert write_block(w, parser, block, 30) == (30, sum(16 + 20 + i * 7 for i in range(30)), 30)
    w.close()
    part = io.BytesIO()
    w = PcapWriter(part, LINKTYPE_ETHERNET)
    i = 0
    steps = []
    while i < 30:
        n, size, i = write_block(w, parser, block, 30, skip=i, max_packets=4, max_bytes=150)
        steps.append((n, size))
        # a chunk stops at 4 records or at the first record that reaches 150 bytes, not before
        assert n == 4 or size >= 150 or i == 30
        assert size - (16 + len(pkts[i - 1].data)) < 150
    w.close()
    assert part.getvalue() == whole.getvalue()
    assert sum(n for n, _ in steps) == 30 and len(steps) > 7
    assert write_block(w, parser, block, 30, skip=5, max_packets=0) == (0, 0, 5)


def file_output(
    tmp: Path, fmt: str, rotate_mb: float | None = None, seconds: float | None = None
) -> FileOutput:
    args = argparse.Namespace(
        write=str(tmp / f"cap.{fmt}"), format=fmt, rotate_seconds=seconds, rotate_mb=rotate_mb, max_files=None
    )

    @dataclass
    class Cap:
        interfaces: list[Interface]

    return FileOutput(args, Cap([ETH]), 262144)


@pytest.mark.parametrize("fmt", ["pcapng", "pcap"])
@pytest.mark.parametrize("limit", [None, 37])
def test_rotation_and_count_boundaries_same_as_frame_path(
    tmp_path: Path, fmt: str, limit: int | None
) -> None:
    """-C 0.002 (2000 B files) and -c 37 over 3 blocks: the same files, split at the same packets."""
    parser = parser_for(ETH)
    blocks = [
        ring_block([RingPacket(bytes([b, i]) * (10 + (i * 37) % 150), nsec=i) for i in range(25)])
        for b in range(3)
    ]
    results = []
    for mode in ("frames", "blocks"):
        d = tmp_path / mode
        d.mkdir()
        out = file_output(d, fmt, rotate_mb=0.002)
        written = 0
        for block in blocks:
            left = None if limit is None else limit - written
            if mode == "frames":
                batch = parser.frames(block, 25)
                written += out.write(batch if left is None else batch[:left])
            else:
                written += out.write_block(RingBlock(parser, 25, block), left)
        out.close()
        assert written == (limit or 75)
        files = sorted(d.iterdir(), key=lambda p: (len(p.name), p.name))
        results.append([p.read_bytes() for p in files])
        sizes = [len(b) for b in results[-1]]
        assert all(s >= 2000 for s in sizes[:-1]) and len(sizes) >= 3
        counts = [len(list(open_capture(p))) for p in files]
        assert sum(counts) == written
        for p, s in zip(files[:-1], sizes[:-1], strict=True):  # the record that crossed 2000 B is the last
            last = list(open_capture(p))[-1]
            rec = 16 + len(last.data) if fmt == "pcap" else 44 + len(last.data) + (-len(last.data) & 3)
            assert s - rec < 2000, p
    assert results[0] == results[1]


def test_time_rotation_checked_between_chunks(tmp_path: Path) -> None:
    parser = parser_for(ETH)
    out = file_output(tmp_path, "pcapng", seconds=3600)
    block = ring_block([RingPacket(b"\x01" * 60, nsec=i) for i in range(10)])
    assert out.write_block(RingBlock(parser, 10, block)) == 10
    out.opened_at -= 3600  # the hour is over: the next block opens a new file
    assert out.write_block(RingBlock(parser, 10, block)) == 10
    out.close()
    files = sorted(tmp_path.iterdir())
    assert len(files) == 2 and [len(list(open_capture(p))) for p in files] == [10, 10]


def test_pcap_other_link_type_refused_after_the_records_before() -> None:
    out = io.BytesIO()
    w = PcapWriter(out, LINKTYPE_LINUX_SLL2)
    with pytest.raises(Exception, match="one link type"):
        write_block(w, parser_for(ETH), ring_block([RingPacket(b"\x00" * 60)]), 1)
