"""Hostile input: cut at every offset, fed byte by byte through a pipe, mutated (hypothesis), and
compared with the system libpcap: only PcapFormatError ever escapes, and the packets before the
damage are exactly the packets of the whole file."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from helpers import formats_libpcap as libpcap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniffer.capture.pcapfile import open_capture
from sniffer.errors import PcapFormatError
from sniffer.frame import Frame

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted((ROOT / "tests" / "corpus" / "captures").iterdir())


def read_bytes(data: bytes) -> tuple[list[Frame], PcapFormatError | None]:
    frames: list[Frame] = []
    try:
        with open_capture(io.BytesIO(data)) as r:
            for fr in r:
                frames.append(fr)
    except PcapFormatError as e:
        return frames, e
    return frames, None


def whole(path: Path) -> tuple[list[Frame], PcapFormatError | None, list[int]]:
    frames, err = read_bytes(path.read_bytes())
    offsets: list[int] = []
    try:
        with open_capture(path) as r:
            offsets = [off for off, _ in r.iter_with_offsets()]
    except PcapFormatError:
        pass
    return frames, err, offsets


READABLE = [p for p in CAPTURES if whole(p)[1] is None]


def _cut_points(size: int, offsets: list[int], rng: random.Random) -> list[int]:
    if size <= 4096:
        return list(range(size + 1))
    pts = set(range(0, 200))
    for off in offsets if len(offsets) <= 40 else rng.sample(offsets, 40):
        pts.update(range(max(0, off - 2), min(size, off + 18)))
    pts.update(rng.randrange(size) for _ in range(300))
    pts.add(size)
    return sorted(pts)


@pytest.mark.parametrize("path", READABLE, ids=[p.name for p in READABLE])
def test_cut_at_every_offset_yields_the_leading_packets_or_a_clean_error(path: Path) -> None:
    data = path.read_bytes()
    full, _, offsets = whole(path)
    boundaries = {*offsets, len(data)}
    rng = random.Random(path.name)
    for cut in _cut_points(len(data), offsets, rng):
        frames, err = read_bytes(data[:cut])
        assert frames == full[: len(frames)], cut
        if err is None:
            # a clean end only where a record ends (pcapng: any block boundary, so not checked there)
            if path.suffix == ".pcap" and cut >= 24:
                assert cut in boundaries, cut
        else:
            assert err.offset is not None and 0 <= err.offset <= cut


def test_trailing_junk_is_reported_after_every_packet() -> None:
    path = ROOT / "tests/corpus/captures/zeek__icmp__5-pings.pcap"
    full, _, _ = whole(path)
    size = path.stat().st_size
    frames, err = read_bytes(path.read_bytes() + b"\xff" * 7)
    assert frames == full
    assert err is not None and err.offset == size and "tried to read 16 header bytes, only got 7" in str(err)


PIPE_FILES = [
    "pcapng-tg__output_le__difficult__test202.pcapng",
    "pcapng-tg__output_le__basic__test010.pcapng",
    "tcpdump__tcp-handshake-nano.pcap",
    "tcpdump__pptp.pcap",
    "zeek__icmp__icmp6-nd-short-options.pcap",
]


def _feed(fd: int, data: bytes, step: int) -> None:
    try:
        for i in range(0, len(data), step):
            os.write(fd, data[i : i + step])
    finally:
        os.close(fd)


@pytest.mark.parametrize("name", PIPE_FILES)
def test_byte_by_byte_through_a_pipe(name: str) -> None:
    path = ROOT / "tests/corpus/captures" / name
    full, _, offsets = whole(path)
    data = path.read_bytes()
    r, w = os.pipe()
    t = threading.Thread(target=_feed, args=(w, data, 1), daemon=True)
    t.start()
    with os.fdopen(r, "rb", buffering=0) as f, open_capture(f) as reader:
        got = list(reader.iter_with_offsets())
    t.join(10)
    assert [fr for _, fr in got] == full
    assert [off for off, _ in got] == offsets


def test_fifo_path_and_stdin() -> None:
    path = ROOT / "tests/corpus/captures/zeek__nmap-vsn.pcap"
    full, _, _ = whole(path)
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        t = threading.Thread(target=lambda: Path(fifo).write_bytes(path.read_bytes()), daemon=True)
        t.start()
        with open_capture(fifo) as reader:
            assert list(reader) == full
        t.join(10)
    code = (
        "from sniffer.capture.pcapfile import open_capture\n"
        "r = open_capture('-')\n"
        "print(sum(len(f.data) for f in r), r.format)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=path.read_bytes(),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == [str(sum(len(f.data) for f in full)).encode(), b"pcap"]


def test_memory_stays_flat_on_a_large_stream() -> None:
    # 200k records through a pipe; the reader keeps only its chunk buffer
    import resource

    rec = b"\x01\x00\x00\x00\x00\x00\x00\x00" + (1000).to_bytes(4, "little") * 2 + bytes(1000)
    header = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
    n = 200_000
    code = (
        "import resource, sys\n"
        "from sniffer.capture.pcapfile import open_capture\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "c = sum(1 for _ in open_capture('-'))\n"
        "print(c, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
    )
    assert p.stdin is not None
    p.stdin.write(header)
    block = rec * 1000
    for _ in range(n // 1000):
        p.stdin.write(block)
    p.stdin.close()
    out = p.stdout.read().split() if p.stdout else []
    p.wait(60)
    assert int(out[0]) == n
    grew_kib = int(out[1])
    assert grew_kib < 20_000, f"RSS grew by {grew_kib} KiB reading 200 MB"  # the stream is ~200 MB
    del resource


# --- hypothesis: mutations of corpus files --------------------------------------------------------
SMALL = [p for p in CAPTURES if p.stat().st_size <= 8192]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    path = draw(st.sampled_from(SMALL))
    data = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        kind = draw(st.sampled_from(["byte", "word", "cut", "insert", "delete"]))
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "word":
            data[pos : pos + 4] = draw(
                st.sampled_from([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x00\x00\x01\x00", b"\x0a\x0d\x0d\x0a"])
            )
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[pos : pos + draw(st.integers(1, 8))]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_raise_only_pcapformaterror(data: bytes) -> None:
    frames, _err = read_bytes(data)  # anything but PcapFormatError propagates and fails the test
    assert all(isinstance(f.data, bytes) and f.wirelen >= 0 for f in frames)
    # random access agrees with streaming on the damaged file too
    try:
        with open_capture(io.BytesIO(data)) as r:
            pairs = list(r.iter_with_offsets())
    except PcapFormatError:
        return
    with open_capture(io.BytesIO(data)) as r:
        for off, fr in pairs[-3:]:
            assert r.frame_at(off) == fr


# the differences from the system's libpcap (1.10.3) that are deliberate (see docs/formats.md)
KNOWN_DIFFERENCES = (
    "unsupported pcap savefile version",  # newer libpcap (and we) refuse versions 1.x and > 2.4
    "savefile linktype reserved field",  # newer libpcap checks, 1.10 does not
    "different from the type of the first interface",  # libpcap: one link type per file; pcapng: per interface
    "different from the snapshot length of the first interface",
    "sections with different byte orders",
    "archaic pcap savefile format",
)


@pytest.mark.skipif(not libpcap.available(), reason="libpcap not installed")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_agree_with_libpcap(data: bytes) -> None:
    frames, err = read_bytes(data)
    with tempfile.NamedTemporaryFile(suffix=".cap") as f:
        f.write(data)
        f.flush()
        lp = libpcap.read(f.name)
    ours = str(err) if err else ""
    if any(k in ours or k in (lp.error or "") for k in KNOWN_DIFFERENCES):
        return
    assert len(frames) == len(lp.packets), (ours, lp.error)
    assert (err is None) == (lp.error is None), (ours, lp.error)
    for fr, (ts, caplen, wirelen) in zip(frames, lp.packets, strict=True):
        # libpcap 1.10 reads the pcap seconds and fraction as signed 32-bit; we read them unsigned
        # (like tshark and the pcap spec), so a difference of 2^32 s or 2^32 us/ns is expected
        diff = fr.ts_ns - ts
        # (both fields may wrap in the same record: seconds and the fraction)
        assert any((diff - frac) % (2**32 * 10**9) == 0 for frac in (0, 2**32 * 1000, 2**32)), (fr.ts_ns, ts)
        assert fr.wirelen == wirelen
        assert len(fr.data) >= caplen  # libpcap cuts packets longer than the file's snaplen


@pytest.mark.skipif(not libpcap.available(), reason="libpcap not installed")
@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_corpus_agrees_with_libpcap(path: Path) -> None:
    frames, err, _ = whole(path)
    lp = libpcap.read(str(path))
    ours = str(err) if err else ""
    if any(k in ours or k in (lp.error or "") for k in KNOWN_DIFFERENCES):
        return
    assert (len(frames), err is None) == (len(lp.packets), lp.error is None), (ours, lp.error)
