"""The one Internet checksum: what the generators compute, the decoders verify."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from sniffer.checksum import checksum, fold, ones_sum, verify


def _reference(b: bytes) -> int:
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


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
