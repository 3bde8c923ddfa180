"""Build small pcap/pcapng files byte by byte for reader tests (independent of the writers)."""

from __future__ import annotations

import struct


def pcap_header(
    e: str = "<",
    magic: int = 0xA1B2C3D4,
    version: tuple[int, int] = (2, 4),
    snaplen: int = 65535,
    linktype: int = 1,
) -> bytes:
    return struct.pack(e + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen, linktype)


def pcap_record(
    e: str, sec: int, frac: int, data: bytes, wirelen: int | None = None, caplen: int | None = None
) -> bytes:
    return (
        struct.pack(e + "IIII", sec, frac, len(data) if caplen is None else caplen, wirelen or len(data))
        + data
    )


def opt(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def block(e: str, btype: int, body: bytes, trailer: int | None = None) -> bytes:
    blen = 12 + len(body)
    return (
        struct.pack(e + "II", btype, blen) + body + struct.pack(e + "I", blen if trailer is None else trailer)
    )


def shb(e: str = "<", version: tuple[int, int] = (1, 0), options: bytes = b"") -> bytes:
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, version[0], version[1], -1) + options)


def idb(e: str = "<", linktype: int = 1, snaplen: int = 0, options: bytes = b"") -> bytes:
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + options)


def epb(e: str, ifid: int, ts: int, data: bytes, wirelen: int | None = None, options: bytes = b"") -> bytes:
    body = struct.pack(e + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data), wirelen or len(data))
    return block(e, 6, body + data + b"\0" * (-len(data) % 4) + options)


def spb(e: str, data: bytes, wirelen: int | None = None) -> bytes:
    return block(e, 3, struct.pack(e + "I", wirelen or len(data)) + data + b"\0" * (-len(data) % 4))


def pb(e: str, ifid: int, ts: int, data: bytes, options: bytes = b"") -> bytes:
    body = struct.pack(e + "HHIIII", ifid, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(e, 2, body + data + b"\0" * (-len(data) % 4) + options)
