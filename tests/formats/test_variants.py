"""Every pcap/pcapng variant libpcap accepts reads right; what libpcap rejects fails with its message."""

from __future__ import annotations

import io
import struct

import pytest
from helpers.formats_builders import block, epb, idb, opt, pb, pcap_header, pcap_record, shb, spb

from sniffer.capture.pcapfile import open_capture
from sniffer.errors import PcapFormatError
from sniffer.frame import DIR_IN, DIR_OUT, DIR_UNKNOWN

PKT = bytes(range(60))


def read(data: bytes) -> tuple[list, PcapFormatError | None]:
    frames = []
    try:
        with open_capture(io.BytesIO(data)) as r:
            for fr in r:
                frames.append(fr)
    except PcapFormatError as e:
        return frames, e
    return frames, None


@pytest.mark.parametrize("e", ["<", ">"])
@pytest.mark.parametrize("nsec", [False, True])
def test_pcap_byte_orders_and_resolutions(e: str, nsec: bool) -> None:
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    data = (
        pcap_header(e, magic) + pcap_record(e, 1_700_000_000, 123456, PKT, 1500) + pcap_record(e, 5, 7, b"x")
    )
    frames, err = read(data)
    assert err is None
    unit = 1 if nsec else 1000
    assert [(f.ts_ns, f.data, f.wirelen, f.linktype) for f in frames] == [
        (1_700_000_000 * 10**9 + 123456 * unit, PKT, 1500, 1),
        (5 * 10**9 + 7 * unit, b"x", 1, 1),
    ]


def test_pcap_version_rules_like_libpcap() -> None:
    ok = [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (543, 0)]
    for v in ok:
        frames, err = read(pcap_header(version=v) + pcap_record("<", 1, 0, PKT))
        assert err is None and len(frames) == 1, v
    for v in [(1, 4), (2, 5), (3, 0), (543, 1), (0, 0)]:
        frames, err = read(pcap_header(version=v) + pcap_record("<", 1, 0, PKT))
        assert frames == [] and err is not None
        assert str(err) == f"unsupported pcap savefile version {v[0]}.{v[1]} (at byte offset 4)"


def test_pcap_before_2_3_has_caplen_and_len_swapped() -> None:
    # version 2.2 (and DG/UX 543.0) store len before caplen; 2.3 only when caplen > len
    for v in [(2, 2), (543, 0)]:
        rec = struct.pack("<IIII", 1, 0, 1500, len(PKT)) + PKT
        frames, err = read(pcap_header(version=v) + rec)
        assert err is None and frames[0].data == PKT and frames[0].wirelen == 1500
    rec23a = struct.pack("<IIII", 1, 0, 1500, len(PKT)) + PKT  # caplen > len: swapped
    rec23b = struct.pack("<IIII", 1, 0, len(PKT), 1500) + PKT  # already right
    frames, err = read(pcap_header(version=(2, 3)) + rec23a + rec23b)
    assert err is None and [(f.data, f.wirelen) for f in frames] == [(PKT, 1500), (PKT, 1500)]


def test_pcap_link_type_field() -> None:
    # FCS bits (P bit + length in the top nibble) are masked off the link type
    frames, err = read(pcap_header(linktype=0x04000000 | (2 << 28) | 1) + pcap_record("<", 1, 0, PKT))
    assert err is None and frames[0].linktype == 1
    with open_capture(io.BytesIO(pcap_header(linktype=0x24000001))) as r:
        assert r.linktype == 1 and r.fcs_len == 4
    # reserved bits 16-25 set: refused
    frames, err = read(pcap_header(linktype=0x00010001) + pcap_record("<", 1, 0, PKT))
    assert str(err) == "savefile linktype reserved field not zero (0x00010000) (at byte offset 20)"


def test_kuznetzov_pcap_has_24_byte_records() -> None:
    rec = struct.pack("<IIIIiHBx", 3, 4, len(PKT), 99, 2, 0x0800, 4) + PKT  # pkt_type 4: outgoing
    frames, err = read(pcap_header(magic=0xA1B2CD34) + rec + rec)
    assert err is None and len(frames) == 2
    assert frames[0].data == PKT and frames[0].wirelen == 99 and frames[0].direction == DIR_OUT
    assert frames[0].ts_ns == 3 * 10**9 + 4000


def test_pcap_snaplen_variants() -> None:
    # snaplen 0 means "the link type's maximum"; packets longer than snaplen but within the maximum are kept
    big = bytes(70000)
    frames, err = read(pcap_header(snaplen=0) + pcap_record("<", 1, 0, big))
    assert err is None and frames[0].data == big
    frames, err = read(pcap_header(snaplen=100) + pcap_record("<", 1, 0, bytes(200)))
    assert err is None and len(frames[0].data) == 200
    frames, err = read(
        pcap_header(snaplen=65535) + pcap_record("<", 1, 0, PKT) + pcap_record("<", 1, 0, b"", caplen=300000)
    )
    assert len(frames) == 1
    assert (
        str(err) == "invalid packet capture length 300000, bigger than snaplen of 65535 (at byte offset 100)"
    )
    frames, err = read(pcap_header(snaplen=400000) + pcap_record("<", 1, 0, b"", caplen=300000))
    assert (
        str(err) == "invalid packet capture length 300000, bigger than maximum of 262144 (at byte offset 24)"
    )


def test_pcap_truncations_report_the_record_offset() -> None:
    good = pcap_header() + pcap_record("<", 1, 0, PKT)
    frames, err = read(good + pcap_record("<", 2, 0, PKT)[:30])
    assert len(frames) == 1
    assert (
        str(err) == "truncated dump file; tried to read 60 captured bytes, only got 14 (at byte offset 100)"
    )
    frames, err = read(good + b"\x01\x02\x03")
    assert str(err) == "truncated dump file; tried to read 16 header bytes, only got 3 (at byte offset 100)"
    assert len(frames) == 1
    frames, err = read(good[:10])
    assert (
        str(err) == "truncated dump file; tried to read 24 file header bytes, only got 6 (at byte offset 10)"
    )
    for data, n in [(b"", 0), (b"\xd4\xc3", 2)]:
        frames, err = read(data)
        assert (
            str(err)
            == f"truncated dump file; tried to read 4 file header bytes, only got {n} (at byte offset {n})"
        )


def test_unknown_formats() -> None:
    for data in [b"hello world, not a capture", b"\x1f\x8b\x08\x00" + bytes(40), b"\n\r\r\n\x1c\x00"]:
        _frames, err = read(data)
        assert err is not None and str(err).startswith("unknown file format")
    assert "gunzip" in str(read(b"\x1f\x8b\x08\x00" + bytes(40))[1])


@pytest.mark.parametrize("e", ["<", ">"])
def test_pcapng_blocks_options_and_resolutions(e: str) -> None:
    data = (
        shb(e, options=opt(e, 4, b"someapp") + opt(e, 0, b""))
        + idb(e, 1, 60, opt(e, 2, b"eth0") + opt(e, 9, b"\x09") + opt(e, 0, b""))  # ns, snaplen 60
        + idb(e, 101, 1000, opt(e, 9, bytes([0x80 | 10])) + opt(e, 14, struct.pack(e + "q", 100)))  # 2^-10 s
        + block(e, 4, b"\0\0\0\0")  # name resolution block: skipped
        + block(e, 0x12345, b"whatever")  # unknown block: skipped
        + epb(
            e, 0, 1_700_000_000_123_456_789, PKT, 1514, opt(e, 2, struct.pack(e + "I", 1)) + opt(e, 1, b"hi")
        )
        + epb(e, 1, (5 << 10) | 512, b"\x45" + bytes(19))
        + spb(e, PKT, 100)
        + pb(e, 0, 42, b"abc", opt(e, 2, struct.pack(e + "I", 2)))
        + block(e, 5, bytes(20))  # interface statistics: skipped
    )
    frames, err = read(data)
    assert err is None
    a, b, c, d = frames
    assert (a.ts_ns, a.data, a.wirelen, a.linktype, a.interface, a.direction, a.ifname, a.comment) == (
        1_700_000_000_123_456_789,
        PKT,
        1514,
        1,
        0,
        DIR_IN,
        "eth0",
        "hi",
    )
    # 2^-10 resolution and a 100 s offset: 5 s + 512/1024 s + 100 s
    assert (b.ts_ns, b.linktype, b.interface, b.direction) == (105_500_000_000, 101, 1, DIR_UNKNOWN)
    # SPB: no timestamp, caplen = min(len, snaplen of interface 0)
    assert (c.ts_ns, c.data, c.wirelen, c.interface) == (0, PKT, 100, 0)
    assert (d.ts_ns, d.data, d.direction) == (42, b"abc", DIR_OUT)
    with open_capture(io.BytesIO(data)) as r:
        assert r.format == "pcapng" and r.linktype == 1
        assert len(r.interfaces) == 1  # known so far: the interface table grows as blocks are read
        assert len(list(r)) == 4
        assert [(i.id, i.linktype, i.name, i.tsresol, i.tsoffset) for i in r.interfaces] == [
            (0, 1, "eth0", 10**9, 0),
            (1, 101, "", 1024, 100),
        ]
        assert r.sections[0].userappl == "someapp"


def test_pcapng_sections_of_both_byte_orders_and_global_interface_ids() -> None:
    data = (
        shb("<")
        + idb("<", 1, 0, opt("<", 2, b"a"))
        + epb("<", 0, 1, PKT)
        + shb(">")
        + idb(">", 0, 0, opt(">", 2, b"b"))
        + idb(">", 1, 0, opt(">", 2, b"c"))
        + epb(">", 1, 2, PKT)
        + epb(">", 0, 3, b"\2\0\0\0" + PKT)
        + shb("<", version=(1, 2))
        + idb("<", 113)
        + epb("<", 0, 4, PKT)
    )
    frames, err = read(data)
    assert err is None
    assert [(f.ts_ns, f.interface, f.linktype, f.ifname) for f in frames] == [
        (1000, 0, 1, "a"),
        (2000, 2, 1, "c"),
        (3000, 1, 0, "b"),
        (4000, 3, 113, ""),
    ]
    with open_capture(io.BytesIO(data)) as r:
        pairs = list(r.iter_with_offsets())
        assert [s.endian for s in r.sections] == ["<", ">", "<"]
    # random access knows each offset's section, also on a fresh reader that has read nothing yet
    with open_capture(io.BytesIO(data)) as r:
        for off, fr in reversed(pairs):
            assert r.frame_at(off) == fr


def test_pcapng_high_resolution_timestamps() -> None:
    t = 1_700_000 * 10**12 + 123_456_789_999  # picoseconds
    data = shb() + idb("<", 1, 0, opt("<", 9, b"\x0c")) + epb("<", 0, t, PKT)
    frames, err = read(data)
    assert err is None and frames[0].ts_ns == 1_700_000_123_456_789


LIBPCAP_PCAPNG_ERRORS = [
    (shb(version=(0, 1)) + idb(), "unsupported pcapng savefile version 0.1", 12),
    (shb(version=(1, 1)) + idb(), "unsupported pcapng savefile version 1.1", 12),
    (shb(), "the capture file has no Interface Description Blocks", 28),
    (
        shb() + epb("<", 0, 1, PKT) + idb(),
        "the capture file has a packet block before any Interface Description Blocks",
        28,
    ),
    (
        shb() + idb() + epb("<", 1, 1, PKT),
        "a packet arrived on interface 1, but there's no Interface Description Block for that interface",
        48,
    ),
    (
        shb() + idb() + block("<", 6, bytes(20) + PKT, trailer=999),
        "block total length in header 92 and trailer 999 don't match",
        48,
    ),
    (
        shb() + idb() + struct.pack("<II", 6, 8) + bytes(8),
        "block in pcapng dump file has a length of 8 < 12",
        48,
    ),
    (
        shb() + idb() + struct.pack("<II", 6, 0x2000000) + bytes(8),
        "pcapng block size 33554432 > maximum 16777216",
        48,
    ),
    (
        shb() + idb() + epb("<", 0, 1, PKT)[:50],
        "truncated pcapng dump file; tried to read 84 bytes, only got 42",
        48,
    ),
    (shb() + idb() + b"\6\0\0", "truncated pcapng dump file; tried to read 8 bytes, only got 3", 48),
    (shb() + idb() + block("<", 6, bytes(16)), "block of type 6 in pcapng dump file is too short", 48),
    (
        shb() + idb() + block("<", 6, struct.pack("<IIIII", 0, 0, 0, 100, 100) + PKT),
        "block of type 6 in pcapng dump file is too short",
        48,
    ),
    (
        shb() + idb(snaplen=50) + epb("<", 0, 1, PKT),
        "invalid packet capture length 60, bigger than snaplen of 50",
        48,
    ),
    (
        shb() + idb(options=opt("<", 9, b"\x06\x06")),
        "Interface Description Block has if_tsresol option with length 2 != 1",
        28,
    ),
    (
        shb() + idb(options=opt("<", 9, b"\x06") + opt("<", 9, b"\x06")),
        "Interface Description Block has more than one if_tsresol option",
        28,
    ),
    (
        shb() + idb(options=opt("<", 9, b"\x64")),
        "Interface Description Block if_tsresol option resolution 10^-100 is too high",
        28,
    ),
    (
        shb() + idb(options=opt("<", 9, b"\xc0")),
        "Interface Description Block if_tsresol option resolution 2^-64 is too high",
        28,
    ),
    (
        shb() + idb(options=opt("<", 14, b"\0" * 4)),
        "Interface Description Block has if_tsoffset option with length 4 != 8",
        28,
    ),
    (
        shb() + idb(options=opt("<", 0, b"\0" * 4)),
        "Interface Description Block has opt_endofopt option with length 4 != 0",
        28,
    ),
    (shb() + idb(options=b"\x09\x00\x01\x00"), "block of type 1 in pcapng dump file is too short", 28),
    (shb() + block("<", 1, b"\1\0\0\0"), "block of type 1 in pcapng dump file is too short", 28),
    (shb() + idb() + shb(version=(2, 0)), "unknown pcapng savefile major version number 2", 48),
    (
        shb() + idb() + block("<", 0x0A0D0D0A, b"\x4d\x3c\x2b\x1b" + bytes(12)),
        "the file has a section with a bad byte order magic field",
        48,
    ),
    (
        shb() + idb() + epb("<", 0, 1, PKT) + shb() + epb("<", 0, 1, PKT),
        "a packet arrived on interface 0, but there's no Interface Description Block for that interface",
        168,
    ),
]


@pytest.mark.parametrize(
    "data,message,offset", LIBPCAP_PCAPNG_ERRORS, ids=[m for _, m, _ in LIBPCAP_PCAPNG_ERRORS]
)
def test_pcapng_errors_are_libpcaps(data: bytes, message: str, offset: int) -> None:
    frames, err = read(data)
    assert err is not None
    assert (str(err), err.offset) == (f"{message} (at byte offset {offset})", offset)
    assert len(frames) == (1 if message.startswith("a packet arrived on interface 0") else 0)
