"""export's use of `read`'s native walker (decode/_fastline.c, ``Walker.columns`` and ``Walker.headers``):
the header walk is ``rows._walk``'s, object for object, and the packets rows and the flows are the same
with the walker as with the pure-Python path, on every capture of the test corpora and on mutated frames
of the kinds it knows (ARP, IGMPv2, IPv4 fragments, the summary's fast path)."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.dataset.rows import PacketRows, _walk, native_columns, native_walk
from sniffer.decode.core import UDP_CONVERSATIONS
from sniffer.errors import SnifferError
from sniffer.frame import Frame
from sniffer.model.tcpanalysis import _UNKNOWN, FRAGMENT

TESTS = Path(__file__).resolve().parents[1]
CAPTURES = sorted(
    p
    for d in ("corpus/captures", "corpus-breadth/captures", "corpus-svc/captures")
    for p in (TESTS / d).glob("*")
    if p.is_file()
)

native = pytest.mark.skipif(
    native_columns() is None and os.environ.get("CI") != "true",
    reason="the native walker is not built here (no compiler at install, or SNIFFER_NO_NATIVE=1)",
)


def _rows(records: list[tuple[int, Frame]], native: bool) -> tuple[list[Any], dict[str, list[Any]]]:
    from sniffer.decode import legacyfs

    UDP_CONVERSATIONS.clear()  # the decoder's state across packets, as a new process starts with it
    legacyfs._RX_CALLS.clear()
    r = PacketRows("f.pcap", native=native)
    for off, fr in records:
        r.add(off, fr)
    return r._rows, r.flow_columns()


def _records(path: Path) -> list[tuple[int, Frame]]:
    out: list[tuple[int, Frame]] = []
    try:
        with open_capture(str(path)) as rd:
            for rec in rd.iter_with_offsets():
                out.append(rec)
    except (SnifferError, OSError):
        pass  # (the damaged files: their good packets)
    return out


@native
def test_native_rows_equal_python_rows() -> None:
    cols = native_columns()
    assert cols is not None
    known = 0
    for path in CAPTURES:
        records = _records(path)
        known += sum(1 for _off, fr in records if fr[3] == 1 and cols(fr[1], fr[2]))  # (the walker's share)
        assert _rows(records, True) == _rows(records, False), path.name
    assert known > 1000


@native
def test_mutated_frames_same_rows() -> None:
    """Bytes flipped where the walker decides (Ethernet, IP, ARP, IGMP, transport headers), some frames cut
    short: the rows of the whole sequence (flows, TCP analysis) stay the Python path's. (150 000 such
    frames were checked once; 20 000 here.)"""
    rnd = random.Random(99)
    cols = native_columns()
    assert cols is not None
    base = [fr for path in CAPTURES for _off, fr in _records(path) if fr[3] == 1]
    known = {r[4] for fr in base if (r := cols(fr[1], fr[2]))}
    assert {1, 2, 3, 19, 28, 29, 50, 51}.issubset(known), known  # ARP, fragment, IGMP, TCP, UDP, ICMP
    records = []
    for i in range(20_000):
        fr = rnd.choice(base)
        d = bytearray(fr[1])
        for _ in range(rnd.randrange(1, 4)):
            if len(d) > 14:
                d[rnd.randrange(14, min(len(d), 70))] = rnd.choice(
                    (0, 1, 6, 17, 0x45, 0x50, 0xFF, rnd.randrange(256))
                )
        if rnd.random() < 0.1:
            d = d[: rnd.randrange(len(d) + 1)]
        records.append((i * 100, fr._replace(data=bytes(d), wirelen=len(d))))
    assert sum(1 for _off, fr in records if cols(fr[1], fr[2])) > 5000
    assert _rows(records, True) == _rows(records, False)


@native
def test_native_walk_equals_walk() -> None:
    """Walker.headers against rows._walk (itself checked against model.l4.transport and fast_segment in
    test_rows.py): every corpus frame, then 20 000 with bytes flipped in their headers or cut short."""
    walk = native_walk()
    assert walk is not None
    frames = [fr for path in CAPTURES for _off, fr in _records(path)]
    walked = 0
    for fr in frames:
        want = _walk(fr)
        got = walk(fr)
        assert got == want and type(got) is type(want), fr
        if want is not None:
            walked += 1
            assert want[0] is None or type(got[0]) is type(want[0])
            if want[1] is FRAGMENT or want[1] is _UNKNOWN or want[1] is None:  # (sentinels, by identity)
                assert got[1] is want[1]
    assert walked > len(frames) // 2 > 1000
    rnd = random.Random(12)
    for _ in range(20_000):
        fr = rnd.choice(frames)
        d = bytearray(fr[1])
        for _ in range(rnd.randrange(1, 5)):
            if len(d) > 12:
                d[rnd.randrange(12, min(len(d), 80))] = rnd.randrange(256)
        if rnd.random() < 0.2:
            d = d[: rnd.randrange(len(d) + 1)]
        f2 = fr._replace(data=bytes(d))
        assert walk(f2) == _walk(f2), f2


@native
def test_declined_by_the_walker_means_declined_by_the_fast_path() -> None:
    """``columns`` answers 0 for a TCP/UDP/ICMP packet of the fast path's shape that it declines: export
    then skips the summary's fast path (decode.summary._fast), which must decline it too. Every corpus
    Ethernet frame and 20 000 with bytes flipped (ports, lengths, payload prefixes) or cut short."""
    from sniffer.decode.summary import _fast

    cols = native_columns()
    assert cols is not None
    frames = [fr for path in CAPTURES for _off, fr in _records(path) if fr[3] == 1]
    declined = 0
    rnd = random.Random(7)
    mutants = []
    for _ in range(20_000):
        fr = rnd.choice(frames)
        d = bytearray(fr[1])
        for _ in range(rnd.randrange(1, 4)):
            if len(d) > 14:
                d[rnd.randrange(14, min(len(d), 70))] = rnd.randrange(256)
        if rnd.random() < 0.1:
            d = d[: rnd.randrange(len(d) + 1)]
        mutants.append(fr._replace(data=bytes(d), wirelen=len(d)))
    for fr in frames + mutants:
        got = cols(fr[1], fr[2])
        if got == 0:
            declined += 1
            assert _fast(fr) is None, fr
        elif got is not None:
            assert _fast(fr) is not None or got[4] < 16, fr  # (a fast shape the walker formats)
    assert declined > 1000
