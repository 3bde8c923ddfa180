"""The native L2-L4 walk of the full dissection (sniffer/decode/_fastfields.c, engine.native_fields): built
where CI runs, and the same fields (names, values, value types, dict order), layers and columns as the
pure-Python dissectors on every frame of every corpus capture, on those frames cut at every length and
with bytes changed; SNIFFER_NO_NATIVE=1 turns it off."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode import engine
from sniffer.decode.core import UDP_CONVERSATIONS, Ctx
from sniffer.decode.fields import frame_fields, layer_fields
from sniffer.frame import Frame

TESTS = Path(__file__).resolve().parents[1]
CAPTURES = sorted(
    p
    for d in ("corpus/captures", "corpus-breadth/captures", "corpus-svc/captures")
    for p in (TESTS / d).glob("*")
    if p.is_file()
)
ROOT = TESTS.parent

native = pytest.mark.skipif(
    engine.native_fields() is None and os.environ.get("CI") != "true",
    reason="the native walk is not built here (no compiler at install, or SNIFFER_NO_NATIVE=1)",
)


def test_built_where_ci_runs() -> None:
    """CI installs with gcc and python3-dev (scripts/bootstrap.sh): there the walk must be built and used."""
    if os.environ.get("CI") != "true" and engine.native_fields() is None:
        pytest.skip("not built here (no compiler at install, or SNIFFER_NO_NATIVE=1)")
    assert os.environ.get("SNIFFER_NO_NATIVE", "") in ("", "0"), "CI must test the native walk"
    from sniffer.decode import _fastfields  # the import error, if any, is the failure

    assert engine.native_fields() is not None
    assert isinstance(getattr(engine.native_fields(), "__self__", None), _fastfields.Walker)


def test_no_native_forces_python() -> None:
    code = "from sniffer.decode import engine; print(engine.native_fields())"
    env = dict(os.environ, SNIFFER_NO_NATIVE="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


@contextmanager
def _walk(on: bool) -> Iterator[None]:
    saved = engine._WALK
    engine._WALK = engine.native_fields() if on else None
    UDP_CONVERSATIONS.clear()  # (the one state across packets: each pass starts from none)
    try:
        yield
    finally:
        engine._WALK = saved
        UDP_CONVERSATIONS.clear()


def _view(frame: Frame) -> list[Any]:
    """Everything a full dissection gives: the field dict's items in order (with the value types), the
    filter's fields, the columns and the layers."""
    fields = list(frame_fields(frame).items())
    types = [(k, type(v).__name__) for k, v in fields]
    ctx = engine.run(frame, False, False)
    cols = (ctx.proto, ctx.info, ctx.src, ctx.dst, ctx.protos, ctx.malformed, ctx.truncated, ctx.expert)
    return [fields, types, list(layer_fields(frame).items()), cols]


def _both(frames: list[Frame]) -> tuple[list[list[Any]], list[list[Any]]]:
    with _walk(False):
        py = [_view(f) for f in frames]
    with _walk(True):
        c = [_view(f) for f in frames]
    return py, c


def _frames(path: Path) -> list[Frame]:
    try:
        with open_capture(str(path)) as r:
            return list(r)
    except Exception:  # (a capture the reader refuses on purpose: nothing to compare)
        return []


@native
def test_every_corpus_frame_same_fields() -> None:
    taken = total = 0
    walk = engine.native_fields()
    assert walk is not None
    for path in CAPTURES:
        frames = _frames(path)
        py, c = _both(frames)
        for i, (a, b) in enumerate(zip(py, c, strict=True)):
            assert a == b, f"{path.name} frame {i + 1}"
        for f in frames:
            if f[3] == 1:
                total += 1
                taken += bool(walk(Ctx(bytes(f[1]), False), max(f[2], len(f[1]))))
    assert total > 3000 and taken > total // 2, (taken, total)  # the walk is in use, not declining all


def _l2l4_frames() -> list[Frame]:
    """Corpus Ethernet frames of each shape the walk knows: IPv4/IPv6, TCP with and without options or
    payload, UDP; a few of each."""
    seen: dict[str, int] = {}
    out: list[Frame] = []
    for path in CAPTURES[::3]:
        for f in _frames(path)[:40]:
            if f[3] != 1:
                continue
            key = ":".join(frame_fields(f)["frame.protocols"].split(":")[:5])
            if seen.get(key, 0) < 2:
                seen[key] = seen.get(key, 0) + 1
                out.append(f)
    return out


@native
def test_cut_frames_same_fields() -> None:
    """Every frame cut at every length (the capture's caplen, the wire length kept): headers cut, options
    cut, payloads cut."""
    cut = []
    for f in _l2l4_frames()[:120]:
        data = bytes(f[1])
        for n in range(0, min(len(data), 90)):
            cut.append(f._replace(data=data[:n]))
    py, c = _both(cut)
    for i, (a, b) in enumerate(zip(py, c, strict=True)):
        assert a == b, f"cut frame {i}: {cut[i][1].hex()}"


@native
def test_mutated_frames_same_fields() -> None:
    """Bytes of the L2-L4 headers changed at random (seeded): versions, lengths, flags, option kinds and
    lengths, ethertypes, protocols, ports; wire lengths shorter and longer than the bytes."""
    rng = random.Random(12)
    frames = _l2l4_frames()
    muts = []
    for _ in range(6000):
        f = rng.choice(frames)
        data = bytearray(f[1])
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(min(len(data), 80))
            data[i] = rng.choice(
                (0, 1, 2, 5, 6, 8, 0x11, 0x1E, 0x45, 0x46, 0x86, 0xDD, 0xFF, rng.randrange(256))
            )
        wire = rng.choice(
            (len(data), len(data) + rng.randint(1, 100), max(0, len(data) - rng.randint(1, 30)))
        )
        muts.append(f._replace(data=bytes(data), wirelen=wire))
    py, c = _both(muts)
    for i, (a, b) in enumerate(zip(py, c, strict=True)):
        assert a == b, f"mutated frame {i}: {muts[i][1].hex()} wire {muts[i][2]}"
