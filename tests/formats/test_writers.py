"""Writers: round trips read back by us and by tshark, 0600 files, whole records, disk full."""

from __future__ import annotations

import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sniffer.capture.pcapfile import Interface, open_capture, open_writer
from sniffer.errors import OutputError
from sniffer.frame import DIR_IN, DIR_OUT, DIR_UNKNOWN, Frame

ROOT = Path(__file__).resolve().parents[2]
CAPS = ROOT / "tests" / "corpus" / "captures"


def corpus_frames(name: str) -> list[Frame]:
    with open_capture(CAPS / name) as r:
        return list(r)


def tshark(path: Path) -> list[tuple[int, int, str]]:
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(path),
            "-T",
            "fields",
            "-e",
            "frame.len",
            "-e",
            "frame.cap_len",
            "-e",
            "frame.time_epoch",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [(int(a), int(b), c) for a, b, c in (line.split("\t") for line in out.splitlines())]


def epoch(ts_ns: int, digits: int = 9) -> str:
    sec, frac = divmod(ts_ns, 10**9)
    return f"{sec}.{frac:09d}" if digits == 9 else f"{sec}.{frac // 1000:06d}000"


@pytest.fixture
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


MIXED = [
    "zeek__pcapng-multi-interface.pcapng",  # two interfaces, if_name, us and ns resolutions
    "pcapng-tg__output_le__difficult__test202.pcapng",  # 3 sections, both byte orders, 2 link types, SPBs
    "tcpdump__tcp-handshake-nano.pcap",  # SLL, ns
    "zeek__nmap-vsn.pcap",
]
TSHARK_CHECKED = {"pcapng-tg__output_le__difficult__test202.pcapng", "tcpdump__tcp-handshake-nano.pcap"}


@pytest.mark.parametrize("name", MIXED)
def test_pcapng_round_trip_by_us_and_by_tshark(name: str, tmp: Path) -> None:
    frames = corpus_frames(name)
    frames[0] = frames[0]._replace(direction=DIR_IN, comment="first one")
    frames[-1] = frames[-1]._replace(direction=DIR_OUT, comment="last, with ünïcode")
    out = tmp / "out.pcapng"
    with open_writer(out, linktype=frames[0].linktype) as w:
        for fr in frames:
            w.write(fr)
    assert w.count == len(frames)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with open_capture(out) as r:
        back = list(r)
        assert r.sections[0].userappl == "sniffer"
    assert [(f.ts_ns, f.data, f.wirelen, f.linktype, f.direction, f.comment) for f in back] == [
        (f.ts_ns, f.data, f.wirelen, f.linktype, f.direction, f.comment) for f in frames
    ]
    # interfaces keep their names; a frame's interface maps to the same name after the trip
    assert [f.ifname for f in back] == [f.ifname for f in frames]
    if name in TSHARK_CHECKED:  # tshark takes ~2 s to start here: ask it about two of them
        assert tshark(out) == [(f.wirelen, len(f.data), epoch(f.ts_ns)) for f in frames]


@pytest.mark.parametrize("nanosecond", [True, False])
def test_pcap_round_trip_by_tshark(nanosecond: bool, tmp: Path) -> None:
    frames = [*corpus_frames("zeek__wikipedia.pcap"), Frame(1700000000123456789, b"\x00" * 60, 1514, 1)]
    out = tmp / "out.pcap"
    with open_writer(out, format="pcap", nanosecond=nanosecond, snaplen=65535) as w:
        w.write_all(frames)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    digits = 9 if nanosecond else 6
    assert tshark(out) == [(f.wirelen, len(f.data), epoch(f.ts_ns, digits)) for f in frames]
    with open_capture(out) as r:
        assert r.nanosecond is nanosecond and r.snaplen == 65535
        back = list(r)
    unit = 1 if nanosecond else 1000
    assert [(f.ts_ns, f.data, f.wirelen) for f in back] == [
        (f.ts_ns // unit * unit, f.data, f.wirelen) for f in frames
    ]


def test_pcap_holds_one_link_type(tmp: Path) -> None:
    with open_writer(tmp / "x.pcap", format="pcap", linktype=1) as w:
        w.write(Frame(0, b"x", 1, 1))
        with pytest.raises(OutputError, match="one link type"):
            w.write(Frame(0, b"x", 1, 113))


def test_pcapng_declared_interfaces_and_new_ones(tmp: Path) -> None:
    out = tmp / "x.pcapng"
    itfs = [Interface(0, 1, 262144, "eth0", "uplink"), Interface(1, 113, 65535, "any")]
    with open_writer(out, interfaces=itfs) as w:
        w.write(Frame(1, b"a" * 20, 20, 1, 0, DIR_UNKNOWN, "eth0"))
        w.write(Frame(2, b"b" * 20, 20, 113, 1, DIR_IN, "any"))
        w.write(Frame(3, b"c" * 20, 20, 101, 7, DIR_OUT, "tun0"))  # not declared: a new IDB
    with open_capture(out) as r:
        back = list(r)
        assert [(i.linktype, i.name, i.description, i.tsresol) for i in r.interfaces] == [
            (1, "eth0", "uplink", 10**9),
            (113, "any", "", 10**9),
            (101, "tun0", "", 10**9),
        ]
    assert [(f.ts_ns, f.linktype, f.ifname, f.direction) for f in back] == [
        (1, 1, "eth0", 0),
        (2, 113, "any", 1),
        (3, 101, "tun0", 2),
    ]


def test_every_record_is_out_once_written_unbuffered(tmp: Path) -> None:
    out = tmp / "live.pcapng"
    w = open_writer(out, buffer_size=0)
    for i in range(5):
        w.write(Frame(i, bytes([i]) * 33, 33, 1))
        with open_capture(out) as r:  # a reader sees every packet written so far, and a valid file
            assert len(list(r)) == i + 1
    w.close()


def test_existing_file_is_truncated_and_stdout_works(tmp: Path) -> None:
    out = tmp / "x.pcap"
    out.write_bytes(b"old junk" * 1000)
    with open_writer(out, format="pcap") as w:
        w.write(Frame(5, b"x" * 10, 10, 1))
    assert out.stat().st_size == 24 + 16 + 10
    code = (
        "from sniffer.capture.pcapfile import open_writer\n"
        "from sniffer.frame import Frame\n"
        "print('not in the file', end='')\n"  # text printed before must not corrupt... goes first
        "w = open_writer('-')\n"
        "[w.write(Frame(i, b'y' * 50, 50, 1)) for i in range(100)]\n"
        "w.close()\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=60, check=True)
    data = res.stdout.removeprefix(b"not in the file")
    (tmp / "s.pcapng").write_bytes(data)
    with open_capture(tmp / "s.pcapng") as r:
        assert [f.ts_ns for f in r] == list(range(100))


def test_dev_full_is_a_clear_error() -> None:
    with pytest.raises(OutputError, match=r"disk full writing /dev/full: 0 packets written"):
        w = open_writer("/dev/full")
        w.write(Frame(0, b"x" * 100, 100, 1))
        w.close()


def test_cannot_create_is_a_clear_error(tmp: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot create .*nodir/x\.pcapng: No such file or directory"):
        open_writer(tmp / "nodir" / "x.pcapng")


@pytest.mark.root
@pytest.mark.parametrize("fmt,buffer_size", [("pcapng", 65536), ("pcap", 0), ("pcap", 4096)])
def test_full_tmpfs_leaves_a_valid_file(fmt: str, buffer_size: int, tmp: Path) -> None:
    mnt = tmp / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
    try:
        out = mnt / f"x.{fmt}"
        w = open_writer(out, format=fmt, buffer_size=buffer_size)
        with pytest.raises(OutputError) as exc:
            for i in range(10_000):
                w.write(Frame(i * 1000, bytes([i % 256]) * (100 + i % 300), 1000, 1))
            w.close()
        w.close()  # after a failure: closes the file, raises nothing more
        n = w.count
        assert (
            str(exc.value) == f"disk full writing {out}: {n} packets written, file valid up to the last one"
        )
        assert 50 < n < 10_000
        with open_capture(out) as r:  # no error: the file ends after the last whole packet
            back = list(r)
        assert len(back) == n
        assert [f.ts_ns for f in back] == [i * 1000 for i in range(n)]
        assert [len(f.data) for f in back] == [100 + i % 300 for i in range(n)]
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)
