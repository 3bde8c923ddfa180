"""UDP heuristic dissectors (core.Heuristics: DTLS, STUN) on any port, on the full dissector and on the
read fast path: a datagram the heuristics take leaves the fast path; a look-alike stays plain UDP with the
same line either way. Conversation binding (core.Conversations): a TFTP request makes the transfer on
the new server port TFTP, in the dissector, the fast path and read's text loop."""

from __future__ import annotations

import struct

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.core import UDP_CONVERSATIONS, UDP_HEURISTICS
from sniffer.decode.summary import _fast, format_line, iter_text, slow_summary, summarize
from sniffer.frame import Frame

from .breadth import CAPS


def _udp(payload: bytes, sport: int = 40000, dport: int = 50000) -> Frame:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, b"\n\0\0\1", b"\n\0\0\2")
    data = bytes(6) + bytes(5) + b"\1" + b"\x08\x00" + ip + udp
    return Frame(0, data, len(data), 1)


DTLS_CCS = bytes.fromhex("14fefd00000000000000000001") + b"\x01"
STUN_REQ = bytes.fromhex("000100002112a442") + bytes(range(12))


@pytest.mark.parametrize(
    ("payload", "proto", "info"),
    [
        (DTLS_CCS, "DTLSv1.2", "Change Cipher Spec"),
        (
            DTLS_CCS + bytes.fromhex("15feff000100000000000100020102"),
            "DTLSv1.2",
            "Change Cipher Spec, Encrypted Alert",
        ),
        (STUN_REQ, "STUN", "Binding Request"),
    ],
)
def test_heuristics_take_their_protocol_on_any_port(payload: bytes, proto: str, info: str) -> None:
    fr = _udp(payload)
    assert _fast(fr) is None  # the probe sends it to the dissector
    s = summarize(fr)
    assert (s.protocol, s.info) == (proto, info)


@pytest.mark.parametrize(
    "payload",
    [
        DTLS_CCS[:-1],  # a record longer than the datagram
        bytes.fromhex("00fe0000000000000000000000"),  # byte 1 0xfe, content type 0
        STUN_REQ + b"\0\0\0\0",  # cookie, but the length is not the rest of the datagram
        b"\x40" + STUN_REQ[1:],  # cookie, type bits set
    ],
)
def test_look_alikes_stay_udp_with_the_fast_path_line(payload: bytes) -> None:
    fr = _udp(payload)
    s = slow_summary(fr)
    assert s.protocol == "UDP"
    assert s.info == f"40000 -> 50000 Len={len(payload)}"


def test_probes_are_fast_path_shapes() -> None:
    with pytest.raises(ValueError):
        UDP_HEURISTICS.register(2, b"\0")
    assert 0xFE in UDP_HEURISTICS.probes(1, 1)
    assert 0x2112A442 in UDP_HEURISTICS.probes(4, 4)


def _udp_between(payload: bytes, src: bytes, sport: int, dst: bytes, dport: int) -> Frame:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, src, dst)
    data = bytes(6) + bytes(5) + b"\1" + b"\x08\x00" + ip + udp
    return Frame(0, data, len(data), 1)


def test_a_tftp_request_binds_the_transfer_on_any_server_port() -> None:
    client, server, other = b"\x0a\x09\0\1", b"\x0a\x09\0\2", b"\x0a\x09\0\3"
    data = _udp_between(b"\x00\x03\x00\x01" + bytes(100), server, 6000, client, 5000)
    ack = _udp_between(b"\x00\x04\x00\x01", client, 5000, server, 6000)
    UDP_CONVERSATIONS.clear()
    try:
        assert summarize(data).protocol == "UDP"  # no request seen yet: Wireshark too
        req = _udp_between(b"\x00\x01f\x00octet\x00", client, 5000, server, 69)
        assert summarize(req).info == "Read Request, File: f, Transfer type: octet"
        assert _fast(data) is None and _fast(ack) is None  # bound: off the fast path
        assert (summarize(data).protocol, summarize(data).info) == ("TFTP", "Data Packet, Block: 1 (last)")
        assert summarize(ack).info == "Acknowledgement, Block: 1"
        # another host talking to the same client port is not the transfer
        assert summarize(_udp_between(b"\x00\x04\x00\x01", other, 6000, client, 5000)).protocol == "UDP"
    finally:
        UDP_CONVERSATIONS.clear()


def test_the_read_loop_follows_the_tftp_transfer() -> None:
    UDP_CONVERSATIONS.clear()
    try:
        with open_capture(str(CAPS / "tcpdump__tftp.pcap")) as r:
            text = "".join(iter_text(r))
        assert [line.split()[5] for line in text.splitlines()] == ["TFTP"] * 7
        UDP_CONVERSATIONS.clear()
        with open_capture(str(CAPS / "tcpdump__tftp.pcap")) as r:
            assert text == "".join(format_line(i, fr) + "\n" for i, fr in enumerate(r, 1))
    finally:
        UDP_CONVERSATIONS.clear()
