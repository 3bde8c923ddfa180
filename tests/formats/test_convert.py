"""Link-type conversion for replay: exact Ethernet frames, and any input bytes never raise."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from sniffer.capture.tx import DEFAULT_DST_MAC, LinkConverter, parse_mac
from sniffer.frame import Frame

SRC = bytes.fromhex("0a0000000001")
IP4 = bytes.fromhex("4500001c0000000040010000") + bytes(8)
IP6 = bytes.fromhex("60000000000011ff") + bytes(32)


def conv(linktype: int, data: bytes) -> bytes | None:
    return LinkConverter(SRC).convert(Frame(0, data, len(data), linktype))


def test_each_supported_link_type() -> None:
    v4 = DEFAULT_DST_MAC + SRC + b"\x08\x00"
    v6 = DEFAULT_DST_MAC + SRC + b"\x86\xdd"
    assert conv(101, IP4) == v4 + IP4 and conv(101, IP6) == v6 + IP6
    assert conv(228, IP4) == v4 + IP4 and conv(229, IP6) == v6 + IP6
    assert conv(0, struct.pack("<I", 2) + IP4) == v4 + IP4  # NULL, little-endian capture host
    assert conv(0, struct.pack(">I", 30) + IP6) == v6 + IP6  # NULL, big-endian macOS AF_INET6
    assert conv(108, struct.pack(">I", 24) + IP6) == v6 + IP6  # LOOP: always big-endian
    mac = bytes.fromhex("001122334455")
    sll = struct.pack("!HHH", 0, 1, 6) + mac + b"\0\0" + b"\x08\x00"
    assert conv(113, sll + IP4) == DEFAULT_DST_MAC + mac + b"\x08\x00" + IP4
    sll2 = struct.pack("!HHIHBB", 0x86DD, 0, 3, 1, 4, 6) + mac + b"\0\0"
    assert conv(276, sll2 + IP6) == DEFAULT_DST_MAC + mac + b"\x86\xdd" + IP6
    eth = DEFAULT_DST_MAC + SRC + b"\x08\x00" + IP4
    assert conv(1, eth) == eth


def test_refusals_say_why() -> None:
    c = LinkConverter(SRC)
    assert c.convert(Frame(0, b"\x00" * 30, 30, 105)) is None
    assert (
        c.convert(Frame(0, struct.pack("!HHH", 0, 1, 6) + bytes(8) + b"\x00\x04" + bytes(20), 36, 113))
        is None
    )
    assert c.convert(Frame(0, b"\x70" + bytes(20), 21, 101)) is None
    assert c.refused == {
        "link type 105 cannot be converted to Ethernet": 1,
        "SLL protocol 0x0004 is not an Ethernet II type": 1,
        "raw IP packet is neither IPv4 nor IPv6": 1,
    }


def test_parse_mac() -> None:
    assert parse_mac("02:00:00:00:00:0a") == bytes.fromhex("02000000000a")
    assert parse_mac("02-00-00-00-00-0A") == bytes.fromhex("02000000000a")
    for bad in ("02:00:00:00:00", "zz:00:00:00:00:00", "020000000000", "02:00:00:00:00:00:00"):
        try:
            parse_mac(bad)
        except Exception as e:
            assert "bad MAC address" in str(e)
        else:
            raise AssertionError(bad)


@given(st.sampled_from([0, 1, 101, 108, 113, 228, 229, 276, 105, 147]), st.binary(max_size=64))
def test_any_bytes_convert_or_are_refused(linktype: int, data: bytes) -> None:
    out = conv(linktype, data)
    if linktype == 1:
        assert out == data  # Ethernet goes as recorded (the transmitter refuses runts itself)
    else:
        assert out is None or (isinstance(out, bytes) and len(out) >= 14)
