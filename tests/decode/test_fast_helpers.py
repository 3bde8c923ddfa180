"""Helpers the decoders made faster, against their plain versions: the table-driven CRC-16/DNP (and its
catalogued check value), NetBIOS name decoding through bytes.translate/fromhex."""

from __future__ import annotations

import random

from sniffer.decode.ics import dnp3_crc
from sniffer.decode.netbios import _show, netbios_name


def _dnp3_bitwise(b: bytes) -> int:
    crc = 0
    for byte in b:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return ~crc & 0xFFFF


def test_dnp3_crc_check_value() -> None:
    assert dnp3_crc(b"123456789") == 0xEA82  # CRC-16/DNP's check value (the CRC catalogue)


def test_dnp3_crc_equals_bitwise() -> None:
    rnd = random.Random(7)
    for _ in range(500):
        b = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 24)))
        assert dnp3_crc(b) == _dnp3_bitwise(b)


def _show_plain(b: bytes) -> str:
    return "".join(chr(c) if 32 < c < 127 else f"<{c:02x}>" for c in b)


def test_netbios_show_equals_plain() -> None:
    rnd = random.Random(3)
    for _ in range(3000):
        b = bytes(
            rnd.choice((rnd.randrange(256), rnd.randrange(32, 128), 65, 32, 127))
            for _ in range(rnd.randrange(16))
        )
        assert _show(b) == _show_plain(b)


def test_netbios_name_equals_plain_decoding() -> None:
    rnd = random.Random(4)
    for _ in range(3000):
        raw = bytes(rnd.choice([rnd.randrange(0x41, 0x51)] * 40 + [rnd.randrange(256)]) for _ in range(32))
        data = bytes([32]) + raw + b"\x00"
        got = netbios_name(data, 0, len(data))
        if any(c < 0x41 or c > 0x50 for c in raw):
            assert got is None
            continue
        b = bytes(((raw[i] - 0x41) << 4) | (raw[i + 1] - 0x41) for i in range(0, 32, 2))
        assert got == (_show_plain(b[:15].rstrip(b" ")) + f"<{b[15]:02x}>", b[15], 34)
