"""write_batch: byte-identical to one-by-one writes, whole records on a short write, -C splits exactly."""

from __future__ import annotations

import argparse
import errno
import os
import random
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sniffer.capture import pcapfile
from sniffer.capture.pcapfile import Interface, open_capture, open_writer
from sniffer.errors import OutputError
from sniffer.frame import DIR_IN, DIR_OUT, DIR_UNKNOWN, Frame


@pytest.fixture
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def mixed_frames(n: int, seed: int, comments: bool = True, linktypes: tuple[int, ...] = (1,)) -> list[Frame]:
    rnd = random.Random(seed)
    frames = []
    t = 1_700_000_000 * 10**9 + 123
    for i in range(n):
        size = rnd.choice((0, 1, 2, 3, 14, 60, 61, 62, 63, 590, 1514))
        data = rnd.randbytes(size)
        comment = rnd.choice((None, None, None, "", "note", "é ünïcode comment"))  # "" = no option
        t += rnd.randrange(0, 5_000_000)
        frames.append(
            Frame(
                t,
                data,
                size + rnd.choice((0, 0, 7)),
                rnd.choice(linktypes),
                rnd.choice((2, 3, 7)),
                rnd.choice((DIR_IN, DIR_OUT, DIR_UNKNOWN)),
                f"if{i % 3}",
                comment if comments else None,
            )
        )
    return frames


def write_both(
    tmp: Path, fmt: str, frames: list[Frame], batches: list[int], **kw: Any
) -> tuple[bytes, bytes]:
    one, many = tmp / f"one.{fmt}", tmp / f"batch.{fmt}"
    with open_writer(one, format=fmt, **kw) as w:
        for f in frames:
            w.write(f)
    with open_writer(many, format=fmt, **kw) as w:
        i = 0
        for size in batches:
            w.write_batch(frames[i : i + size])
            i += size
            if size % 2:
                w.flush()
        w.write_batch(frames[i:])
    return one.read_bytes(), many.read_bytes()


BATCHES = [0, 1, 5, 300, 2, 1000, 64]


@pytest.mark.parametrize("buffer_size", [0, 4096, 65536, 1 << 24])
def test_pcapng_batch_is_byte_identical(buffer_size: int, tmp: Path) -> None:
    frames = mixed_frames(3000, 1, linktypes=(1, 1, 1, 113))  # new IDBs appear mid-batch
    declared = [Interface(3, 1, 262144, "eth-declared", "described")]
    a, b = write_both(tmp, "pcapng", frames, BATCHES, interfaces=declared, buffer_size=buffer_size)
    assert a == b
    with open_capture(tmp / "batch.pcapng") as r:
        back = list(r)
    assert [f.data for f in back] == [f.data for f in frames]
    assert [f.comment or None for f in back] == [f.comment or None for f in frames]
    assert [f.direction for f in back] == [f.direction for f in frames]
    assert len({(f.interface, f.linktype) for f in frames}) == 6  # several IDBs were really written


@pytest.mark.parametrize("nanosecond", [True, False])
def test_pcap_batch_is_byte_identical(nanosecond: bool, tmp: Path) -> None:
    frames = mixed_frames(3000, 2, comments=False)
    a, b = write_both(tmp, "pcap", frames, BATCHES, nanosecond=nanosecond, buffer_size=8192)
    assert a == b
    assert len(a) == 24 + sum(16 + len(f.data) for f in frames)


def test_pcap_batch_with_another_link_type_keeps_the_records_before_it(tmp: Path) -> None:
    frames = mixed_frames(50, 3, comments=False)
    bad = frames[20]._replace(linktype=113)
    w = open_writer(tmp / "x.pcap", format="pcap")
    with pytest.raises(OutputError, match="a pcap file holds one link type"):
        w.write_batch([*frames[:20], bad, *frames[21:]])
    w.close()
    with open_capture(tmp / "x.pcap") as r:
        assert [f.data for f in r] == [f.data for f in frames[:20]]


@pytest.mark.parametrize("fmt", ["pcapng", "pcap"])
@pytest.mark.parametrize("cut", [0.02, 0.37, 0.5, 0.999])
def test_short_write_mid_batch_leaves_whole_records(
    fmt: str, cut: float, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel takes part of the batch's write (cut bytes into a record), then says the disk is full."""
    frames = mixed_frames(400, 4, comments=fmt == "pcapng")
    out = tmp / f"x.{fmt}"
    w = open_writer(out, format=fmt, buffer_size=1 << 30)
    header = out.stat().st_size
    whole = (tmp / f"ref.{fmt}").as_posix()
    with open_writer(whole, format=fmt) as ref:
        ref.write_batch(frames)
    total = os.path.getsize(whole) - header
    target = int(total * cut)
    real_write = os.write
    calls = []

    def short_write(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:target]))  # a short write, most likely inside a record
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pcapfile.os, "write", short_write)
    with pytest.raises(
        OutputError, match=rf"disk full writing .*x\.{fmt}: (\d+) packets written, file valid"
    ):
        w.write_batch(frames[:200])
        w.write_batch(frames[200:])
        w.flush()
    w.close()
    monkeypatch.undo()
    assert calls[0] == total  # the two batches went out in one write
    with open_capture(out) as r:
        back = list(r)
    assert 0 < len(back) == w.count < len(frames)
    assert [f.data for f in back] == [f.data for f in frames[: len(back)]]
    ref_bytes = Path(whole).read_bytes()
    got = out.read_bytes()
    assert got == ref_bytes[: len(got)]  # exactly the first whole records, nothing after
    n = subprocess.run(["tshark", "-r", str(out)], capture_output=True, text=True, timeout=60)
    assert n.returncode == 0, n.stderr
    assert len(n.stdout.splitlines()) == len(back)


@pytest.mark.root
def test_full_tmpfs_batch_leaves_a_valid_file(tmp: Path) -> None:
    mnt = tmp / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
    try:
        out = mnt / "x.pcapng"
        frames = mixed_frames(2000, 5)
        w = open_writer(out)
        with pytest.raises(OutputError) as exc:
            for i in range(0, len(frames), 128):
                w.write_batch(frames[i : i + 128])
                w.flush()
        w.close()
        n = w.count
        assert (
            str(exc.value) == f"disk full writing {out}: {n} packets written, file valid up to the last one"
        )
        with open_capture(out) as r:
            assert [f.data for f in r] == [f.data for f in frames[:n]]
        res = subprocess.run(["tshark", "-r", str(out)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and len(res.stdout.splitlines()) == n, res.stderr
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_capture_file_output_splits_batches_at_the_size_limit(tmp: Path) -> None:
    """-C: each file ends with the frame that took it to the size (exact record sizes), as tcpdump."""
    from sniffer.commands.capture import FileOutput

    args = argparse.Namespace(
        write=str(tmp / "rot.pcapng"), format="pcapng", rotate_seconds=None, rotate_mb=0.02, max_files=None
    )
    itf = SimpleNamespace(index=2, linktype=1, name="vb")
    cap = SimpleNamespace(interfaces=[itf])
    frames = [f._replace(interface=2, linktype=1, comment=None) for f in mixed_frames(600, 6, comments=False)]
    out = FileOutput(args, cap, 262144)
    header = os.path.getsize(out.path)
    taken = 0
    for size in (1, 250, 7, 342):
        taken += out.write(frames[taken : taken + size])
    out.close()
    assert taken == len(frames)
    files = sorted(tmp.glob("rot.pcapng*"), key=lambda p: (len(p.name), p.name))
    assert len(files) > 3
    got: list[Frame] = []
    for i, path in enumerate(files):
        with open_capture(path) as r:
            these = list(r)
        lens = [32 + len(f.data) + (-len(f.data) & 3) + (12 if f.direction else 0) for f in these]
        size = header + sum(lens)  # EPBs, with epb_flags when the direction is known
        assert size == os.path.getsize(path)
        if i < len(files) - 1:  # the record that took the file to 20 000 B is its last
            assert size >= 20_000 > size - lens[-1]
        got += these
    assert [f.data for f in got] == [f.data for f in frames]
