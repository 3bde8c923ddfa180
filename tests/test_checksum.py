"""The one Internet checksum: what the generators compute, the decoders verify."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from sniffer.checksum import checksum, fold, ones_sum, verify


def _reference(b: bytes) -> int:
    """RFC 1071 the slow way: big-endian words, end-around carry after each addition."""
    total = 0
    for i in range(0, len(b), 2):
        total += int.from_bytes(b[i : i + 2].ljust(2, b"\0"), "big")
        total = (total & 0xFFFF) + (total >> 16)
    return 0xFFFF - total


@given(st.binary(max_size=300), st.integers(0, 0xFFFF))
def test_checksum_and_verify(data: bytes, pseudo: int) -> None:
    assert checksum(data) == _reference(data)
    body = data + b"\0" * (len(data) & 1)
    filled = body + struct.pack("!H", checksum(body))
    assert verify(filled)
    assert fold(ones_sum(filled)) == 0
    # with a pseudo-header sum: the checksum over pseudo words + data
    ph = struct.pack("!H", pseudo)
    c = checksum(ph + body)
    assert verify(body + struct.pack("!H", c), pseudo)
    if len(body) >= 2 and body != b"\0" * len(body):
        assert not verify(body + struct.pack("!H", c ^ 0x0101), pseudo)
