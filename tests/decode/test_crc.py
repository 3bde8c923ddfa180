"""The table-driven CRCs of the decoders against their catalogued check values and a bit-by-bit loop."""

from __future__ import annotations

import random

from sniffer.decode.ics import dnp3_crc


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
