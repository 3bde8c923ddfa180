"""The ICMP builder and parser (sniffer.gen.ping.icmp), checked against scapy and RFC 1071 properties."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniffer.gen.ping import icmp


def test_checksum_known_vector() -> None:
    # RFC 1071 style example: the IPv4 header from Wikipedia's "IPv4 header checksum" article
    hdr = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert icmp.checksum(hdr) == 0xB861


@given(st.binary(max_size=300))
def test_checksum_inserted_verifies_to_zero(data: bytes) -> None:
    msg = bytearray(b"\x08\x00\x00\x00" + data)
    struct.pack_into("!H", msg, 2, icmp.checksum(msg))
    assert icmp.fold(icmp.ones_sum(msg)) == 0


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 200), st.integers(0, 2**62))
def test_template_fill_matches_full_build(ident: int, seq: int, size: int, now_ns: int) -> None:
    payload = icmp.make_payload(size)
    tpl = icmp.EchoTemplate(icmp.ICMP_ECHO, 0, ident, payload)
    pkt = bytes(tpl.fill(seq, now_ns))
    body = pkt[8:]
    assert icmp.build_icmp(icmp.ICMP_ECHO, 0, ident, seq, body) == pkt
    if size >= 16:
        sec, usec = struct.unpack_from("=qq", body)
        assert sec == now_ns // 10**9 and usec == (now_ns // 1000) % 10**6


def test_template_agrees_with_scapy() -> None:
    from scapy.layers.inet import ICMP

    tpl = icmp.EchoTemplate(icmp.ICMP_ECHO, 0, 0x1234, icmp.make_payload(56, b"\xab\xcd"))
    for seq in (0, 1, 255, 256, 65535):
        raw = bytes(tpl.fill(seq, 1_700_000_000_123_456_789))
        pkt = ICMP(raw)
        assert (pkt.type, pkt.id, pkt.seq) == (8, 0x1234, seq)
        want = pkt.chksum
        del pkt.chksum
        assert ICMP(bytes(pkt)).chksum == want


def test_timestamp_request_originate_changes_per_probe() -> None:
    tpl = icmp.EchoTemplate(icmp.ICMP_TIMESTAMP, 0, 7, icmp.default_payload_for(icmp.ICMP_TIMESTAMP, False))
    a = bytes(tpl.fill(1, 1_000_000_000))
    b = bytes(tpl.fill(2, 2_500_000_000))
    assert struct.unpack_from("!I", a, 8)[0] == 1000
    assert struct.unpack_from("!I", b, 8)[0] == 2500
    assert icmp.checksum(a) == 0 and icmp.checksum(b) == 0


def test_payload_layout_like_iputils() -> None:
    p = icmp.make_payload(56)
    assert len(p) == 56 and p[:16] == bytes(16) and p[16:] == bytes(range(16, 56))
    assert icmp.make_payload(20, b"\xff\x00")[16:] == b"\xff\x00\xff\x00"
    assert icmp.make_payload(8) == bytes(range(8))  # too short for a timeval: no timestamp
    assert icmp.make_payload(20, data=b"xyz")[16:] == b"xyzx"
    r = icmp.make_payload(40, random=True)
    assert len(r) == 40 and r[:16] == bytes(16)


def test_parse_quoted_v4_from_scapy_time_exceeded() -> None:
    from scapy.layers.inet import ICMP, IP

    inner = (
        IP(src="10.0.0.1", dst="10.0.0.9", ttl=1, id=0x4242, flags="DF") / ICMP(id=77, seq=5) / (b"x" * 56)
    )
    err = ICMP(type=11, code=0) / bytes(inner)[:28]
    msg = icmp.parse_icmp(bytes(err), v6=False, verify=True)
    assert msg is not None and msg.checksum_ok is True and msg.quoted is not None
    q = msg.quoted
    assert (q.src, q.dst, q.ttl, q.ip_id, q.flags_df) == ("10.0.0.1", "10.0.0.9", 1, 0x4242, True)
    assert (q.icmp_type, q.icmp_id, q.icmp_seq, q.length) == (8, 77, 5, 84)
    assert q.describe() == "IPv4 10.0.0.1 > 10.0.0.9 ttl=1 len=84 id=0x4242 DF ICMP Echo Request id=77 seq=5"


def test_parse_quoted_v6_from_scapy_packet_too_big() -> None:
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6

    inner = IPv6(src="fd00::1", dst="fd00::9", hlim=3) / ICMPv6EchoRequest(id=9, seq=300, data=b"y" * 1400)
    err = ICMPv6PacketTooBig(mtu=1280) / bytes(inner)[:1232]
    msg = icmp.parse_icmp(bytes(err), v6=True)
    assert msg is not None and msg.type == 2 and msg.info == 1280 and msg.quoted is not None
    assert (msg.quoted.src, msg.quoted.dst, msg.quoted.ttl) == ("fd00::1", "fd00::9", 3)
    assert (msg.quoted.icmp_type, msg.quoted.icmp_id, msg.quoted.icmp_seq) == (128, 9, 300)
    assert icmp.error_text(msg.type, msg.code, True, msg.info) == "Packet too big: mtu=1280"


@pytest.mark.parametrize("cut", range(0, 48))
def test_parse_truncated_never_raises(cut: int) -> None:
    from scapy.layers.inet import ICMP, IP

    inner = bytes(IP(src="1.2.3.4", dst="5.6.7.8") / ICMP(id=1, seq=2))
    data = bytes(ICMP(type=3, code=1) / inner)[:cut]
    msg = icmp.parse_icmp(data, v6=False)
    if cut < 8:
        assert msg is None
    else:
        assert msg is not None and msg.type == 3
        assert (msg.quoted is None) == (cut < 28)


@given(st.binary(max_size=120), st.booleans())
def test_parse_random_bytes_never_raises(data: bytes, v6: bool) -> None:
    msg = icmp.parse_icmp(data, v6, verify=True)
    assert msg is None or msg.type == data[0]


def test_icmp6_checksum_matches_scapy() -> None:
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6

    pkt = IPv6(src="::1", dst="::1") / ICMPv6EchoRequest(id=5, seq=6, data=b"abc")
    raw = bytes(pkt)
    want = struct.unpack_from("!H", raw, 42)[0]
    body = bytearray(raw[40:])
    body[2:4] = b"\0\0"
    assert icmp.icmp6_checksum("::1", "::1", body) == want


def test_error_texts_match_iputils_wording() -> None:
    assert icmp.error_text(11, 0, False) == "Time to live exceeded"
    assert icmp.error_text(3, 1, False) == "Destination Host Unreachable"
    assert icmp.error_text(3, 3, False) == "Destination Port Unreachable"
    assert icmp.error_text(3, 4, False, 1400) == "Frag needed and DF set (mtu = 1400)"
    assert icmp.error_text(1, 0, True) == "Destination unreachable: No route"
    assert icmp.error_text(3, 0, True) == "Time exceeded: Hop limit"  # ICMPv6 numbers differ from v4
    assert icmp.error_text(icmp.ICMP6_TIME_EXCEEDED, 0, True) == "Time exceeded: Hop limit"


def test_describe_timestamp_reply() -> None:
    raw = icmp.build_icmp(14, 0, 3, 4, struct.pack("!III", 10, 20, 30))
    msg = icmp.parse_icmp(raw, False)
    assert msg is not None
    assert icmp.describe_reply(msg, False).endswith("id=3 seq=4 originate=10 receive=20 transmit=30")
    raw = icmp.build_icmp(18, 0, 3, 4, socket.inet_aton("255.255.255.0"))
    msg = icmp.parse_icmp(raw, False)
    assert msg is not None and icmp.describe_reply(msg, False).endswith("mask=255.255.255.0")


def test_timestamp_option_as_iputils_builds_and_prints_it() -> None:
    """-T: the option bytes iputils puts on a probe, and a reply's option read back to its TS: lines
    (first stamp absolute, then differences; the high bit starts a 'not-standard' series)."""
    from sniffer.commands.ping import _ts_lines
    from sniffer.gen.ping.engine import parse_timestamps, timestamp_option

    assert timestamp_option("tsonly") == bytes([68, 40, 5, 0]) + bytes(36)
    assert timestamp_option("tsandaddr") == bytes([68, 36, 5, 1]) + bytes(32)
    assert timestamp_option("tsprespec", ("10.0.0.1",)) == bytes([68, 12, 5, 3, 10, 0, 0, 1]) + bytes(4)
    # tsandaddr, 3 slots filled (pointer 29), 2 hops found no room, then end of options
    body = b"".join(bytes([10, 0, 0, i]) + v.to_bytes(4, "big") for i, v in ((1, 1000), (2, 1003), (3, 1003)))
    opt = bytes([68, 36, 29, 0x21]) + body + bytes(8)
    ts = parse_timestamps(bytes([1]) + opt + bytes(3))
    assert ts is not None and ts.overflow == 2 and len(ts.entries) == 3
    assert _ts_lines(ts) == ["10.0.0.1\t1000 absolute", "10.0.0.2\t3", "10.0.0.3\t0"]
    # tsonly with a non-standard stamp among standard ones
    vals = [5000, 0x80000000 | 7, 5002, 0x80000000 | 9]
    opt = bytes([68, 40, 5 + 4 * len(vals), 0]) + b"".join(v.to_bytes(4, "big") for v in vals)
    opt += bytes(40 - len(opt))
    ts = parse_timestamps(opt)
    assert ts is not None
    assert _ts_lines(ts) == ["5000 absolute", "7 absolute not-standard", "2", "2 not-standard"]
    assert parse_timestamps(bytes([1, 1, 0])) is None
    # truncated or lying lengths do not raise
    for cut in range(len(opt)):
        parse_timestamps(opt[:cut])
    assert parse_timestamps(bytes([68, 200, 255, 0]) + bytes(8)) is not None


def test_probe_window_sends_across_hops_and_stops_at_the_first_that_reached() -> None:
    """traceroute's sans-IO core: up to N probes in flight across TTLs, hops out in order, nothing
    sent past the TTL that reached, a deadline hands out what is left."""
    from sniffer.gen.ping.trace import ProbeWindow

    w = ProbeWindow(first=1, max_hops=30, queries=3, parallel=16)
    sent = []
    while (i := w.next_probe()) is not None:
        sent.append(i)
    assert sent == list(range(16)) and w.ttl_of(15) == 6
    w.answer(4, ("10.0.0.2", 1.0, ""), reached=False)  # TTL 2 answers before TTL 1: not out yet
    assert w.hops() == []
    for i in (0, 1, 2):
        w.answer(i, ("10.0.0.1", 1.0, ""))
    assert [h.ttl for h in w.hops()] == [1]
    w.answer(6, ("10.0.0.9", 2.0, ""), reached=True)  # the target at TTL 3
    assert w.next_probe() is None and w.stop_ttl == 3  # in flight: 12 of 16; nothing past TTL 3
    for i in (3, 5, 7):
        w.answer(i)  # '*'
    hops = w.hops()  # TTL 2 is complete; TTL 3's third probe (8) is still out
    assert [(h.ttl, h.reached) for h in hops] == [(2, False)] and not w.finished
    assert hops[0].probes == [(None, None, ""), ("10.0.0.2", 1.0, ""), (None, None, "")]
    w.answer(8, ("10.0.0.9", 2.0, ""), reached=True)
    assert [(h.ttl, h.reached) for h in w.hops()] == [(3, True)] and w.finished

    w = ProbeWindow(first=2, max_hops=5, queries=2, parallel=3)
    assert [w.next_probe() for _ in range(4)] == [0, 1, 2, None]
    w.abandon()  # a deadline: TTLs 2 and 3 (3 started) come out unanswered, and that is the end
    assert [(h.ttl, h.probes) for h in w.hops()] == [(2, [(None, None, "")] * 2), (3, [(None, None, "")] * 2)]
    assert w.finished and w.next_probe() is None
