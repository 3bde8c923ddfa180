"""The TCP analysis' native core (sniffer/model/_tcpstate.c) against its pure-Python reference
(model/tcpanalysis.py): built where CI runs, and the same answers frame for frame (the same extra fields
in the same order, the same flags-only answers, the same forgotten conversations) on every capture of
both shared corpora and of tests/corpus, on mutated copies of them, and on random segment sequences that
exercise every tcp.analysis condition. The tshark-oracle tests (test_tcpanalysis.py and the others)
run on whichever core is in use: the native one where it is built."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.frame import Frame
from sniffer.model import tcpanalysis
from sniffer.model.tcpanalysis import FRAGMENT, TcpAnalyzer, fast_segment

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def _pure(max_conversations: int = 100_000) -> TcpAnalyzer:
    an = TcpAnalyzer(max_conversations)
    an._core = None
    return an


def _native(max_conversations: int = 100_000) -> TcpAnalyzer:
    an = TcpAnalyzer(max_conversations)
    if not an.native:
        if os.environ.get("CI") == "true":  # CI builds it (scripts/bootstrap.sh): not built is a failure
            pytest.fail("the native core (sniffer/model/_tcpstate.c) is not built or not in use")
        pytest.skip("the native core is not built here (no compiler at install, or SNIFFER_NO_NATIVE=1)")
    return an


def test_built_where_ci_runs() -> None:
    """CI installs with gcc and python3-dev (scripts/bootstrap.sh): the core must be built and in use."""
    if os.environ.get("CI") != "true" and not TcpAnalyzer().native:
        pytest.skip("not built here")
    assert os.environ.get("SNIFFER_NO_NATIVE", "") in ("", "0"), "CI must test the native core"
    from sniffer.model import _tcpstate  # the import error, if any, is the failure

    assert TcpAnalyzer().native and isinstance(TcpAnalyzer()._core, _tcpstate.Core)


def _captures() -> list[Path]:
    dirs = [ROOT / "tests" / "corpus"]
    dirs += [SHARED / "corpus" / "captures", SHARED / "corpus-breadth" / "captures"]
    return sorted(p for d in dirs for p in d.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap"))


def _frames(p: Path) -> list[Frame]:
    out: list[Frame] = []
    try:
        with open_capture(str(p)) as r:
            for fr in r:
                out.append(fr)
    except Exception:  # a damaged capture: the frames before the damage
        pass
    return out


def _corpus() -> Iterator[tuple[str, list[Frame]]]:
    for p in _captures():
        yield p.name, _frames(p)


def _same(a: Any, b: Any) -> bool:
    """Equal, and for the fields' dicts in the same order (read --json prints them in that order)."""
    return a == b and (type(a) is not dict or list(a) == list(b))


def _compare(frames: list[Frame], max_conversations: int, flags_only: bool) -> tuple[int, int]:
    py, c = _pure(max_conversations), _native(max_conversations)
    bad = analysed = 0
    for n, fr in enumerate(frames, 1):
        if flags_only:
            a, b = py.feed_fast(n, fr, True), c.feed_fast(n, fr, True)
        else:
            a, b = py.feed_frame(n, fr), c.feed_frame(n, fr)
        analysed += a is not None
        if not _same(a, b):
            bad += 1
            assert bad == 0, f"frame {n}: {a!r} != {b!r}"
    assert (py.forgotten, py.errors) == (c.forgotten, c.errors)
    return analysed, bad


def test_every_corpus_frame_the_same() -> None:
    assert SHARED.is_dir(), "../shared (the corpora) is beside the checkout in CI"
    analysed = 0
    for name, frames in _corpus():
        for flags_only in (False, True):
            a, bad = _compare(frames, 100_000, flags_only)
            assert bad == 0, name
            analysed += a
    assert analysed > 10_000


def _mutant(rnd: random.Random, fr: Frame) -> Frame:
    d = bytearray(fr.data)
    if len(d) > 40 and rnd.random() < 0.6:
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(0, min(len(d), 90))
            d[i] = rnd.randrange(256)
    if len(d) > 20 and rnd.random() < 0.05:
        del d[rnd.randrange(14, len(d)) :]
    ts = fr.ts_ns + (rnd.randint(-5_000_000, 5_000_000) if rnd.random() < 0.1 else 0)
    return fr._replace(data=bytes(d), ts_ns=ts)


def test_mutated_frames_the_same() -> None:
    """Every corpus frame, bytes and times mutated (seeded), in one stream through analyzers holding at
    most 50 conversations (the least recently used forgotten): the same answers and the same state."""
    rnd = random.Random(20261205)
    frames = [_mutant(rnd, fr) for _, frs in _corpus() for fr in frs]
    for flags_only in (False, True):
        analysed, bad = _compare(frames, 50, flags_only)
        assert bad == 0 and analysed > 5_000


def test_header_reading_is_fast_segments() -> None:
    """The C reading of the bytes (``_tcpstate.segment``) is fast_segment's, on every corpus frame and on
    mutants (SACK blocks compared as their count, first left edge and sum: what the analysis reads)."""
    _native()
    from sniffer.model import _tcpstate
    from sniffer.model.tcpanalysis import _UNKNOWN

    rnd = random.Random(7)
    n = 0
    for _, frames in _corpus():
        for fr in frames + [_mutant(rnd, fr) for fr in frames]:
            py, c = fast_segment(fr), _tcpstate.segment(fr)
            if py is _UNKNOWN:
                continue  # (the C reading may walk into a tunnel: test_tunnels_placed_as_the_decoder_does)
            if py is not None and py is not FRAGMENT and len(py) == 11:
                sack = py[10]
                summary = (
                    None
                    if not sack
                    else (len(sack), sack[0][0], sum((re - le) & 0xFFFFFFFF for le, re in sack))
                )
                py = (*py[:10], summary)
            assert py == c, (fr, py, c)
            n += 1
    assert n > 20_000


def test_tunnels_placed_as_the_decoder_does() -> None:
    """Where fast_segment leaves a frame to the decoder (PPPoE, PBB, MPLS, GRE, AH...) and the C reading
    answers (a segment, or certainly no TCP), its answer is ``segment`` of the decoder's fields: every corpus
    frame and 200 seeded mutants of each such frame."""
    _native()
    from sniffer.decode.fields import frame_fields
    from sniffer.model import _tcpstate
    from sniffer.model.tcpanalysis import _UNKNOWN, segment

    def summary(seg: Any) -> Any:
        if seg is None or len(seg) != 11:
            return seg
        sack = seg[10]
        return (
            *seg[:10],
            None if not sack else (len(sack), sack[0][0], sum((r - q) & 0xFFFFFFFF for q, r in sack)),
        )

    rnd = random.Random(11)
    placed = none = 0
    for _, frames in _corpus():
        tunnelled = [fr for fr in frames if fast_segment(fr) is _UNKNOWN]
        for fr in tunnelled + [_mutant(rnd, fr) for fr in tunnelled for _ in range(200)]:
            if fast_segment(fr) is not _UNKNOWN:
                continue
            c = _tcpstate.segment(fr)
            if c is _UNKNOWN:
                continue
            assert c == summary(segment(frame_fields(fr))), fr
            placed += c is not None
            none += c is None
    assert placed > 10_000 and none > 5_000


def _sequences(rnd: random.Random, count: int) -> Iterator[tuple[Any, ...]]:
    """Random TCP segments between a few hosts and ports: normal data, retransmissions, gaps, duplicate
    ACKs, zero windows and probes, window updates, keep-alives, SYN/FIN/RST, reused ports, SACK blocks,
    time going back: analyze()'s arguments."""
    hosts = [("ip", "10.0.0.1"), ("ip", "10.0.0.2"), ("ipv6", "2001:db8::1"), ("ipv6", "2001:db8::2")]
    nxt: dict[tuple[Any, ...], int] = {}
    last: dict[tuple[Any, ...], tuple[int, int]] = {}
    ts = 1_700_000_000_000_000_000
    for number in range(1, count + 1):
        v6 = rnd.random() < 0.3
        a, b = (hosts[2], hosts[3]) if v6 else (hosts[0], hosts[1])
        sp, dp = rnd.choice([(1000, 80), (1001, 80), (80, 1000), (80, 1001), (5, 5)])
        if rnd.random() < 0.5:
            a, b = b, a
        key = (a, sp, b, dp)
        back = (b, dp, a, sp)
        seq = nxt.get(key, rnd.randrange(1 << 32))
        ack = nxt.get(back, 0)
        flags = 0x10
        seglen = rnd.choice([0, 0, 0, 1, 100, 1460])
        window = rnd.choice([0, 1, 512, 65535, 65535, 65535])
        r = rnd.random()
        if r < 0.04:
            flags = 0x02
            seglen = 0
            seq = rnd.choice([seq, rnd.randrange(1 << 32)])
        elif r < 0.08:
            flags = 0x12
            seglen = 0
        elif r < 0.11:
            flags |= 0x01
        elif r < 0.13:
            flags = 0x04 | rnd.choice([0, 0x10])
        elif r < 0.25:
            seq = (seq - rnd.choice([1, 100, 1460])) & 0xFFFFFFFF  # retransmission, keep-alive, out of order
        elif r < 0.3:
            seq = (seq + rnd.choice([1, 1460, 5000])) & 0xFFFFFFFF  # a gap
        elif r < 0.35:
            ack = (ack + rnd.choice([1, 1000])) & 0xFFFFFFFF  # acks unseen data
        elif r < 0.5 and key in last:  # the same ACK again (duplicate ACKs, window updates, probes)
            ack, window = last[key]
            seglen = rnd.choice([0, 0, 0, 1])
            seq = nxt[key]
        elif r < 0.55 and back in last:  # what the other side acks, sent again (fast retransmission)
            seq = last[back][0]
            seglen = 1460
        if rnd.random() < 0.2:
            flags |= 0x08
        wscale = rnd.choice([None, None, 0, 7, 15]) if flags & 0x02 else None
        sack = None
        if rnd.random() < 0.1:
            sack = tuple(
                ((ack + rnd.randint(-3000, 3000)) & 0xFFFFFFFF, (ack + rnd.randint(0, 6000)) & 0xFFFFFFFF)
                for _ in range(rnd.randint(1, 3))
            )
        ts += rnd.choice([1, 10, 1000, 1000, 100_000, 3_000_000, 30_000_000]) * (
            -1 if rnd.random() < 0.02 else 1
        )
        nxt[key] = (seq + seglen + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF
        last[key] = (ack, window)
        yield number, ts, a, b, sp, dp, seq, ack, flags, window, seglen, wscale, sack


def test_random_sequences_the_same() -> None:
    rnd = random.Random(5)
    segs = list(_sequences(rnd, 60_000))
    py, c = _pure(3), _native(3)
    py_l, c_l = _pure(), _native()
    seen: set[str] = set()
    for s in segs:
        a, b = py.analyze(*s), c.analyze(*s)
        assert _same(a, b), (s, a, b)
        fa = py_l.feed_flags(s[0], Frame(s[1], b"", 0, 1), (*s[2:12], s[12]))
        fb = c_l.feed_flags(s[0], Frame(s[1], b"", 0, 1), (*s[2:12], s[12]))
        assert fa == fb, s
        seen.update(tcpanalysis.flag_names(fa or 0))
    assert py.forgotten == c.forgotten > 0
    # every condition came up
    for flag in tcpanalysis.ANALYSIS_FLAGS:
        assert flag in seen, flag


def test_bad_values_are_errors_not_crashes() -> None:
    """Values no header can hold (from a caller's fields) are counted as errors, as the Python code's
    exceptions are; a timestamp beyond 2^62 ns (a damaged file) too."""
    an = _native()
    frame = Frame(1 << 63, b"", 0, 1)
    seg = (("ip", "10.0.0.1"), ("ip", "10.0.0.2"), 1, 2, 3, 4, 0x10, 100, 0, None, None)
    assert an.feed_segment(1, frame, seg) is None and an.errors == 1
    bad = (*seg[:2], 70000, *seg[3:])  # a port beyond 16 bits
    assert an.feed_segment(2, Frame(0, b"", 0, 1), bad) is None and an.errors == 2
    assert an.feed_segment(3, Frame(0, b"", 0, 1), seg) is not None
    # addresses of another form (a caller's own values) are keys too
    other = ("a", "b", *seg[2:])
    assert an.feed_segment(4, Frame(0, b"", 0, 1), other)["_tcp.addr"] == ("a", "b")


def _read_analysis(path: Path, *more: str) -> str:
    import contextlib
    import io

    from sniffer.cli import main
    from sniffer.decode import legacyfs

    legacyfs._RX_CALLS.clear()  # (the decoder's per-process state: AFS's call map)
    buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(buf):
        main(["read", "--analysis", *more, str(path)])
        buf.flush()
    return buf.buffer.getvalue().decode()  # type: ignore[attr-defined,no-any-return]


@contextmanager
def _all_pure() -> Iterator[None]:
    """Every accelerator of read --analysis off: the walker, the TCP core, the fragments' byte path."""
    from sniffer.decode import summary
    from sniffer.model.defrag import Defragmenter

    saved = summary._walker[:], tcpanalysis._core_mod[:], Defragmenter.fast_fragment
    summary._walker[:] = [None]
    tcpanalysis._core_mod[:] = [None]
    Defragmenter.fast_fragment = lambda self, number, frame: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        summary._walker[:], tcpanalysis._core_mod[:], Defragmenter.fast_fragment = saved  # type: ignore[method-assign]


def test_read_analysis_same_text_as_the_pure_code(tmp_path: Path) -> None:
    """`read --analysis` with the native parts (the walker's lines, the TCP core and its tunnel walk, the
    line rewrite in C, the fragments read from their bytes) prints what the pure-Python code prints: every
    TCP and breadth corpus capture, every shared capture with IP fragments, and a mutated stream of them."""
    _native()
    from sniffer.capture.pcapfile import open_writer
    from sniffer.decode.summary import native_walker
    from sniffer.model.defrag import is_fragment

    assert native_walker() is not None
    paths = sorted((ROOT / "tests/corpus/tcp").glob("*.pcap*")) + sorted(
        p for p in (SHARED / "corpus-breadth/captures").glob("*")
    )
    paths += [p for p in _captures() if any(is_fragment(fr) for fr in _frames(p))]
    rnd = random.Random(13)
    mutated = tmp_path / "mutated.pcap"
    with open_writer(str(mutated), format="pcap") as w:
        for p in paths:
            for fr in _frames(p):
                if fr.linktype == 1:
                    w.write(_mutant(rnd, fr) if rnd.random() < 0.5 else fr)
    checked = 0
    for p in [*dict.fromkeys(paths), mutated]:
        got = _read_analysis(p)
        with _all_pure():
            want = _read_analysis(p)
        assert got == want, p.name
        checked += got.count("\n")
    assert checked > 15_000
    # the native loop's batches and a count (-c) that ends inside one
    for c in ("1", "7", "1500"):
        assert _read_analysis(mutated, "-c", c) == "".join(want.splitlines(True)[: int(c)]), c
