"""UDP heuristic dissectors (core.Heuristics: DTLS, STUN) on any port, on the full dissector and on the
read fast path: a datagram the heuristics take leaves the fast path; a look-alike stays plain UDP with the
same line either way; a port dissector that refuses hands over to the next candidate."""

from __future__ import annotations

import struct

import pytest

from sniffer.decode.core import UDP_HEURISTICS
from sniffer.decode.summary import _fast, slow_summary, summarize
from sniffer.frame import Frame


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
