"""The Internet checksum (RFC 1071), once: decoders verify with it, generators compute with it (imports nothing of ours)."""

from __future__ import annotations

import sys

_LITTLE = sys.byteorder == "little"


def ones_sum(data: bytes | bytearray | memoryview) -> int:
    """One's-complement sum of ``data`` as 16-bit words in NATIVE byte order (not yet folded)."""
    if len(data) & 1:
        data = bytes(data) + b"\0"
    return sum(memoryview(data).cast("B").cast("H"))


def fold(total: int) -> int:
    """Fold a native-order word sum to 16 bits and complement it; returns the checksum in NATIVE order."""
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def checksum(data: bytes | bytearray | memoryview) -> int:
    """RFC 1071 Internet checksum of ``data`` as a host integer (ready for ``struct.pack('!H')``)."""
    c = fold(ones_sum(data))
    return ((c & 0xFF) << 8 | c >> 8) if _LITTLE else c


def verify(data: bytes | bytearray | memoryview, init_be: int = 0) -> bool:
    """True if the one's-complement sum over ``data`` (checksum field included) plus ``init_be`` (a
    big-endian partial sum, e.g. of a pseudo-header's words) is 0xFFFF: the checksum is right."""
    c = fold(ones_sum(data))  # complemented, native order
    s = (((c & 0xFF) << 8 | c >> 8) if _LITTLE else c) ^ 0xFFFF  # the folded sum, network order
    s += init_be
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF
