"""IGMPv1/2/3 and MLDv1/2 in full: every record type with sources, queries with QRV/QQIC and sources,
checksums; synthetic packets checked against tshark, plus the Info text people read."""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path

import pytest

from sniffer.capture.pcapfile import open_writer
from sniffer.checksum import checksum as _csum
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import summarize
from sniffer.decode.tree import dissect
from sniffer.frame import Frame


def _a4(s: str) -> bytes:
    return socket.inet_aton(s)


def _a6(s: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, s)


def igmp_frame(msg: bytes, bad: bool = False) -> Frame:
    msg = msg[:2] + struct.pack("!H", _csum(msg) ^ (1 if bad else 0)) + msg[4:]
    ra = b"\x94\x04\x00\x00"  # router alert option, as the kernel sends
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x46, 0xC0, 24 + len(msg), 0, 0x4000, 1, 2, 0, _a4("10.0.0.1"), _a4("224.0.0.22")
    )
    ip = ip[:10] + struct.pack("!H", _csum(ip + ra)) + ip[12:]
    data = b"\x01\x00\x5e\x00\x00\x16\x02\x00\x00\x00\x00\x01\x08\x00" + ip + ra + msg
    return Frame(1_700_000_000_000_000_000, data, len(data), 1)


def mld_frame(msg: bytes, dst: str = "ff02::16") -> Frame:
    src = _a6("fe80::1")
    hbh = b"\x3a\x00\x05\x02\x00\x00\x01\x00"  # next 58, router alert (MLD), PadN
    ph = src + _a6(dst) + struct.pack("!IxxxB", len(msg), 58)
    msg = msg[:2] + struct.pack("!H", _csum(ph + msg)) + msg[4:]
    ip6 = struct.pack("!IHBB16s16s", 0x60000000, len(hbh) + len(msg), 0, 1, src, _a6(dst))
    data = b"\x33\x33\x00\x00\x00\x16\x02\x00\x00\x00\x00\x01\x86\xdd" + ip6 + hbh + msg
    return Frame(1_700_000_000_000_000_000, data, len(data), 1)


def igmpv3_report() -> bytes:
    recs = b""
    for rtype, group, srcs in (
        (1, "232.1.1.1", ["10.1.1.1", "10.1.1.2"]),
        (2, "239.1.1.2", []),
        (3, "239.1.1.3", []),
        (4, "239.1.1.4", []),
        (5, "232.1.1.5", ["10.1.1.5"]),
        (6, "232.1.1.6", ["10.1.1.6", "10.1.1.7", "10.1.1.8"]),
    ):
        recs += struct.pack("!BBH4s", rtype, 0, len(srcs), _a4(group)) + b"".join(_a4(s) for s in srcs)
    return struct.pack("!BBHHH", 0x22, 0, 0, 0, 6) + recs


def igmpv3_query() -> bytes:
    # group-and-source-specific query: max resp code 0x8c (floating point), S=1 QRV=2, QQIC 0x90
    return (
        struct.pack("!BBH4sBBH", 0x11, 0x8C, 0, _a4("232.1.1.1"), 0x0A, 0x90, 2)
        + _a4("10.1.1.1")
        + _a4("10.1.1.2")
    )


def mldv2_report() -> bytes:
    recs = b""
    for rtype, group, srcs in (
        (4, "ff15::1", []),
        (5, "ff35::2", ["2001:db8::1", "2001:db8::2"]),
        (3, "ff15::3", []),
    ):
        recs += struct.pack("!BBH16s", rtype, 0, len(srcs), _a6(group)) + b"".join(_a6(s) for s in srcs)
    return struct.pack("!BBHHH", 143, 0, 0, 0, 3) + recs


def mldv2_query() -> bytes:
    return struct.pack("!BBHHH16sBBH", 130, 0, 0, 10000, 0, _a6("ff35::2"), 0x0A, 125, 1) + _a6("2001:db8::1")


FRAMES = [
    igmp_frame(igmpv3_report()),
    igmp_frame(igmpv3_query()),
    igmp_frame(struct.pack("!BBH4s", 0x16, 0, 0, _a4("239.9.9.9"))),  # v2 report
    igmp_frame(struct.pack("!BBH4s", 0x17, 0, 0, _a4("239.9.9.9"))),  # v2 leave
    igmp_frame(struct.pack("!BBH4s", 0x11, 100, 0, _a4("0.0.0.0"))),  # v2 general query
    igmp_frame(struct.pack("!BBH4s", 0x11, 0, 0, _a4("0.0.0.0"))),  # v1 query
    igmp_frame(struct.pack("!BBH4s", 0x12, 0, 0, _a4("239.9.9.8"))),  # v1 report
    igmp_frame(struct.pack("!BBH4s", 0x16, 0, 0, _a4("239.9.9.9")), bad=True),  # bad checksum
    mld_frame(mldv2_report()),
    mld_frame(mldv2_query(), "ff35::2"),
    mld_frame(struct.pack("!BBHHH16s", 131, 0, 0, 0, 0, _a6("ff15::9")), "ff15::9"),  # MLDv1 report
    mld_frame(struct.pack("!BBHHH16s", 132, 0, 0, 0, 0, _a6("ff15::9")), "ff02::2"),  # MLDv1 done
]

FIELDS = (
    "igmp.version igmp.type igmp.max_resp igmp.checksum.status igmp.maddr igmp.s igmp.qrv igmp.qqic igmp.num_src "
    "igmp.saddr igmp.num_grp_recs igmp.record_type igmp.aux_data_len icmpv6.type icmpv6.checksum.status "
    "icmpv6.mld.maximum_response_code icmpv6.mld.maximum_response_delay icmpv6.mld.multicast_address "
    "icmpv6.mld.flag.s icmpv6.mld.flag.qrv icmpv6.mld.qqi icmpv6.mld.nb_sources icmpv6.mld.source_address "
    "icmpv6.mldr.nb_mcast_records icmpv6.mldr.mar.record_type icmpv6.mldr.mar.nb_sources "
    "icmpv6.mldr.mar.multicast_address icmpv6.mldr.mar.source_address"
).split()


def _norm(v: object) -> list[str]:
    vals = v if isinstance(v, list) else [v]
    return [str(int(str(x), 16)) if str(x).startswith("0x") else str(x) for x in vals]


def test_synthetic_igmp_and_mld_agree_with_tshark(tmp_path: Path) -> None:
    path = tmp_path / "mcast.pcap"
    with open_writer(str(path), format="pcap", linktype=1) as w:
        for fr in FRAMES:
            w.write(fr)
    args = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == len(FRAMES)
    for i, (row, fr) in enumerate(zip(rows, FRAMES, strict=True)):
        ours = frame_fields(fr)
        for name, cell in zip(FIELDS, row, strict=True):
            want = _norm(cell.split(",")) if cell else []
            got = _norm(ours[name]) if name in ours else []
            assert got == want, (i, name, got, want)


def test_every_record_and_source_is_there() -> None:
    f = frame_fields(FRAMES[0])
    assert f["igmp.record_type"] == [1, 2, 3, 4, 5, 6]
    assert f["igmp.num_src"] == [2, 0, 0, 0, 1, 3]
    assert f["igmp.saddr"] == ["10.1.1.1", "10.1.1.2", "10.1.1.5", "10.1.1.6", "10.1.1.7", "10.1.1.8"]
    assert f["igmp.checksum.status"] == 1
    q = frame_fields(FRAMES[1])
    assert (q["igmp.version"], q["igmp.s"], q["igmp.qrv"], q["igmp.max_resp"]) == (
        3,
        1,
        2,
        (0x0C | 0x10) << 3,
    )
    assert q["igmp.qqic"] == 0x90  # raw code, as Wireshark shows it
    assert frame_fields(FRAMES[7])["igmp.checksum.status"] == 0
    m = frame_fields(FRAMES[8])
    assert m["icmpv6.mldr.mar.record_type"] == [4, 5, 3]
    assert m["icmpv6.mldr.mar.source_address"] == ["2001:db8::1", "2001:db8::2"]
    assert m["icmpv6.checksum.status"] == 1


@pytest.mark.parametrize(
    ("i", "proto", "info"),
    [
        (0, "IGMPv3", "Membership Report / Mode is include 232.1.1.1 for source {10.1.1.1, 10.1.1.2} / "),
        (1, "IGMPv3", "Membership Query, specific for group 232.1.1.1, source {10.1.1.1, 10.1.1.2}"),
        (2, "IGMPv2", "Membership Report group 239.9.9.9"),
        (3, "IGMPv2", "Leave Group 239.9.9.9"),
        (4, "IGMPv2", "Membership Query, general"),
        (5, "IGMPv1", "Membership Query"),
        (8, "ICMPv6", "Multicast Listener Report Message v2 / Join group ff15::1 for any sources / "),
        (9, "ICMPv6", "Multicast Listener Query v2, specific for group ff35::2"),
        (11, "ICMPv6", "Multicast Listener Done group ff15::9"),
    ],
)
def test_info_says_who_joined_what(i: int, proto: str, info: str) -> None:
    s = summarize(FRAMES[i])
    assert s.protocol == proto
    assert s.info.startswith(info), s.info
    assert dissect(FRAMES[i]).to_fields() == frame_fields(FRAMES[i])
