"""The native accelerator of `read`'s text loop (sniffer/decode/_fastline.c): built where CI runs, and
the same text as the pure-Python loop (SNIFFER_NO_NATIVE=1) byte for byte on every corpus capture, the
synthetic files of test_text_loop, damaged and truncated files (same lines, same error), -c counts and
the -j blocks; random bytes through its walker never crash it."""

from __future__ import annotations

import os
import random
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniffer.capture.pcapfile import open_capture
from sniffer.decode import layers, legacyfs, summary
from sniffer.decode.summary import iter_blocks, iter_text, native_walker
from sniffer.errors import PcapFormatError

from .test_text_loop import _frame, _pcap, _pcapng

TESTS = Path(__file__).resolve().parents[1]
CAPTURES = sorted(
    p
    for d in ("corpus/captures", "corpus-breadth/captures", "corpus-svc/captures")
    for p in (TESTS / d).glob("*")
    if p.is_file()
)
ROOT = TESTS.parent

native = pytest.mark.skipif(
    native_walker() is None and os.environ.get("CI") != "true",
    reason="the native accelerator is not built here (no compiler at install, or SNIFFER_NO_NATIVE=1)",
)


def test_built_where_ci_runs() -> None:
    """CI installs with gcc and python3-dev (scripts/bootstrap.sh): there the extension must be built and
    in use, not silently replaced by the pure-Python loop."""
    if os.environ.get("CI") != "true" and native_walker() is None:
        pytest.skip("not built here (no compiler at install, or SNIFFER_NO_NATIVE=1)")
    assert os.environ.get("SNIFFER_NO_NATIVE", "") in ("", "0"), "CI must test the native loop"
    from sniffer.decode import _fastline  # the import error, if any, is the failure

    assert native_walker() is not None and isinstance(native_walker(), _fastline.Walker)


@contextmanager
def _pure() -> Iterator[None]:
    saved = summary._walker[:]
    summary._walker[:] = [None]
    try:
        yield
    finally:
        summary._walker[:] = saved


def _text(source: object, count: int | None = None, batch: int = 2048) -> tuple[list[str], str | None]:
    chunks: list[str] = []
    err = None
    legacyfs._RX_CALLS.clear()  # (per-process state, as in a fresh `read`: AFS replies name their call's request)
    try:
        with open_capture(source) as r:  # type: ignore[arg-type]
            for c in iter_text(r, 1, count, batch):
                chunks.append(c)
    except PcapFormatError as e:
        err = f"{e} @{e.offset}"
    return chunks, err


def _both(source: object, count: int | None = None, batch: int = 2048) -> tuple[list[str], str | None]:
    """The native text (its chunks and error); asserts the pure loop gives the same, chunk for chunk."""
    got = _text(source, count, batch)
    with _pure():
        want = _text(source, count, batch)
    assert "".join(got[0]) == "".join(want[0])
    assert got == want
    return got


@native
def test_every_corpus_capture_same_text() -> None:
    seen = 0
    for p in CAPTURES:
        chunks, _err = _both(str(p))
        seen += sum(c.count("\n") for c in chunks)
    assert len(CAPTURES) > 200 and seen > 5_000


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    rnd = random.Random(11)
    frames = [_frame(rnd) for _ in range(3000)]
    d = tmp_path_factory.mktemp("native")
    out = {}
    for endian in "<>":
        for nsec in (False, True):
            p = d / f"mixed-{'le' if endian == '<' else 'be'}-{'ns' if nsec else 'us'}.pcap"
            p.write_bytes(_pcap(endian, nsec, frames, rnd))
            out[p.name] = p
    p = d / "mixed.pcapng"
    p.write_bytes(_pcapng(frames, rnd))
    out[p.name] = p
    return out


@native
@pytest.mark.parametrize("batch", [1, 97, 2048])
def test_synthetic_files_same_text_and_chunks(synthetic: dict[str, Path], batch: int) -> None:
    for p in synthetic.values():
        chunks, err = _both(str(p), batch=batch)
        assert err is None and chunks[0].count("\n") == 1  # the first line comes at once


@native
@pytest.mark.parametrize("count", [0, 1, 2, 96, 97, 98, 2047, 2048, 2049, 2999, 3000, 5000])
def test_counts(synthetic: dict[str, Path], count: int) -> None:
    chunks, _ = _both(str(synthetic["mixed-le-us.pcap"]), count, batch=97)
    assert "".join(chunks).count("\n") == min(count, 3000)


@native
def test_damaged_and_truncated_files(synthetic: dict[str, Path], tmp_path: Path) -> None:
    rnd = random.Random(3)
    for name in ("mixed-le-us.pcap", "mixed-be-ns.pcap"):
        data = synthetic[name].read_bytes()
        for _ in range(12):
            p = tmp_path / name
            cut = rnd.randrange(24, len(data))
            p.write_bytes(data[:cut])  # truncated
            _both(str(p), batch=rnd.choice((1, 97, 2048)))
            bad = bytearray(data)  # a record header's caplen made huge, or some bytes overwritten
            off = rnd.randrange(24, len(data) - 16)
            bad[off : off + 4] = rnd.choice((b"\xff\xff\xff\x7f", os.urandom(4)))
            p.write_bytes(bytes(bad))
            _both(str(p))


@native
@pytest.mark.parametrize("ways", [1, 2, 3])
def test_blocks_of_read_j(synthetic: dict[str, Path], ways: int) -> None:
    """`read -j` formats blocks in several processes with iter_blocks (one frame at a time)."""
    p = str(synthetic["mixed-be-us.pcap"])
    for count in (None, 1000):
        for which in range(ways):
            with open_capture(p) as r:
                got = list(iter_blocks(r, count, 256, ways, which))
            with _pure(), open_capture(p) as r:
                want = list(iter_blocks(r, count, 256, ways, which))
            assert got == want


@native
def test_cli_switch(synthetic: dict[str, Path]) -> None:
    """`sniffer read` with and without SNIFFER_NO_NATIVE=1: the same bytes."""
    p = str(synthetic["mixed-le-ns.pcap"])
    cmd = [sys.executable, "-m", "sniffer", "read", "-j1", p]
    env = {k: v for k, v in os.environ.items() if k != "SNIFFER_NO_NATIVE"}
    a = subprocess.run(cmd, capture_output=True, check=True, env=env, cwd=ROOT)
    b = subprocess.run(cmd, capture_output=True, check=True, env={**env, "SNIFFER_NO_NATIVE": "1"}, cwd=ROOT)
    assert a.stdout == b.stdout and a.stdout.count(b"\n") == 3000
    probe = "from sniffer.decode.summary import native_walker as w; print(w() is None)"
    off = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "SNIFFER_NO_NATIVE": "1"},
    )
    assert off.stdout.strip() == "True"


# ---- hostile input: the walker on random bytes, and mutated frames compared with the pure loop ----------


@native
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    buf=st.binary(max_size=600),
    pos=st.integers(-5, 700),
    left=st.integers(0, 50),
    big=st.booleans(),
    nsec=st.booleans(),
    maxcap=st.sampled_from([0, 54, 100, 262144, 2**31]),
)
def test_walk_random_bytes(buf: bytes, pos: int, left: int, big: bool, nsec: bool, maxcap: int) -> None:
    w = native_walker()
    assert w is not None
    text, pos_after, k = w.walk(buf, pos, 0, left, big, nsec, maxcap)
    assert 0 <= k <= left and (text is None) == (k == 0) and pos_after >= 0
    if text is not None:
        assert text.count("\n") == k - 1


@native
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200), wl=st.integers(0, 70000), ts=st.integers(-(2**63), 2**64))
def test_line_random_bytes(data: bytes, wl: int, ts: int) -> None:
    w = native_walker()
    assert w is not None
    w.line(1, ts, data, wl)


def _mutants(rnd: random.Random, n: int) -> list[bytes]:
    """Frames of the kinds the walker knows, with bytes flipped where its decisions are made."""
    out = []
    for _ in range(n):
        f = bytearray(_frame(rnd))
        for _ in range(rnd.randrange(4)):
            i = rnd.randrange(12, min(len(f), 80)) if len(f) > 12 else 0
            if i < len(f):
                f[i] = rnd.randrange(256)
        if rnd.random() < 0.1:
            f = f[: rnd.randrange(len(f) + 1)]
        out.append(bytes(f))
    return out


@native
def test_mutated_frames_same_text(tmp_path: Path) -> None:
    rnd = random.Random(5)
    frames = _mutants(rnd, 4000)
    for endian in "<>":
        p = tmp_path / f"mutants{endian == '<'}.pcap"
        p.write_bytes(_pcap(endian, rnd.random() < 0.5, frames, rnd))
        chunks, err = _both(str(p))
        assert err is None and "".join(chunks).count("\n") == len(frames)
    p = tmp_path / "mutants.pcapng"
    p.write_bytes(_pcapng(frames, rnd))
    _both(str(p))


@native
def test_frames_one_at_a_time_same_line() -> None:
    """walker.line (the per-frame entry, used by iter_blocks and capture) on every corpus Ethernet frame."""
    w = native_walker()
    assert w is not None
    n = 0
    for p in CAPTURES:
        try:
            with open_capture(str(p)) as r:
                for fr in r:
                    if fr[3] != 1:
                        continue
                    got = w.line(7, fr[0], fr[1], fr[2])
                    if got is not None:
                        n += 1
                        assert got == summary.format_line(7, fr)
        except PcapFormatError:
            pass
    assert n > 200


@native
def test_big_wire_length_goes_to_python() -> None:
    """A wire length past the number table (65 600) is never the walker's."""
    w = native_walker()
    assert w is not None
    eth = bytes(12) + b"\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0x4000, 64, 17, 0, b"\x0a\0\0\1", b"\x0a\0\0\2")
    udp = struct.pack("!HHHH", 40000, 40001, 8, 0)
    frame = eth + ip + udp + bytes(20)
    assert w.line(1, 0, frame, len(frame)) is not None
    assert w.line(1, 0, frame, 70000) is None


@native
def test_arp_variants(tmp_path: Path) -> None:
    """Every branch of ARP's Info (requests, replies, probes, announcements, gratuitous ones, RARP, odd
    sizes, cut short, padded) through the walker and the pure loop."""
    rnd = random.Random(9)
    frames = []
    for op in (1, 2, 3, 4, 8, 0):
        for hs, ps in ((6, 4), (6, 16), (1, 4)):
            for sip, tip in ((b"\x0a\0\0\1", b"\x0a\0\0\2"), (b"\x0a\0\0\1",) * 2, (bytes(4), b"\x0a\0\0\2")):
                for tmac in (bytes(6), b"\x02\0\0\0\0\x09", b"\xff" * 6):
                    arp = (
                        struct.pack("!HHBBH", 1, 0x0800, hs, ps, op)
                        + b"\x02\xab\0\0\0\x01"
                        + sip
                        + tmac
                        + tip
                    )
                    eth = tmac + b"\x02\xab\0\0\0\x01" + rnd.choice((b"\x08\x06", b"\x80\x35"))
                    frames.append(eth + arp + bytes(rnd.choice((0, 18))))
                    frames.append((eth + arp)[: rnd.randrange(14, 42)])
    p = tmp_path / "arp.pcap"
    p.write_bytes(_pcap("<", False, frames, rnd))
    chunks, err = _both(str(p))
    text = "".join(chunks)
    assert err is None and "ARP Announcement" in text and "Gratuitous ARP for" in text and "ARP Probe" in text
    assert " is at 02:ab:00:00:00:01" in text and "RARP" in text


@native
def test_igmp_variants(tmp_path: Path) -> None:
    """IGMP v1/v2/v3 queries, reports and leaves, with and without Router Alert (or another option),
    fragments, lengths that cut the message or leave padding: walker and pure loop agree."""
    rnd = random.Random(10)
    frames = []
    for t in (0x11, 0x12, 0x16, 0x17, 0x22, 0x13, 0x99):
        for maxresp in (0, 100):
            for group in (bytes(4), b"\xe0\0\0\xfb"):
                for extra in (0, 4, 20):
                    for opts in (b"", b"\x94\x04\x00\x00", b"\x01\x01\x01\x00", b"\x94\x03\x00\x00"):
                        msg = bytes([t, maxresp]) + b"\0\0" + group + bytes(extra)
                        ihl = 5 + len(opts) // 4
                        tlen = 4 * ihl + len(msg) - rnd.choice((0, 0, 0, 3, 9))
                        frag = rnd.choice((0, 0, 0x4000, 0x2000, 0x0001))
                        ip = struct.pack(
                            "!BBHHHBBH4s4s",
                            0x40 | ihl,
                            0,
                            tlen,
                            0,
                            frag,
                            1,
                            2,
                            0,
                            b"\xc0\xa8\1\x02",
                            b"\xe0\0\0\x02",
                        )
                        frames.append(
                            b"\x01\0\x5e\0\0\x02\x02\0\0\0\0\x01\x08\x00"
                            + ip
                            + opts
                            + msg
                            + bytes(rnd.choice((0, 6)))
                        )
    p = tmp_path / "igmp.pcap"
    p.write_bytes(_pcap(">", True, frames, rnd))
    chunks, err = _both(str(p))
    text = "".join(chunks)
    assert err is None
    for s in (
        "IGMPv2",
        "IGMPv1",
        "IGMPv3",
        "Leave Group",
        "Membership Report group",
        ", general",
        "specific for group",
    ):
        assert s in text, s


@native
def test_ipv4_fragment_variants(tmp_path: Path) -> None:
    """IPv4 fragments (first, later, last; any protocol number; with options; lengths past the frame or
    below the header; cut short): walker and pure loop agree."""
    rnd = random.Random(12)
    frames = []
    for proto in (1, 2, 6, 17, 47, 50, 99, 143, 253, 255):
        for frag in (0x2000, 0x2001, 0x00B9, 0x1FFF, 0x4000 | 0x0010, 0x8000 | 0x0001):
            for ihl in (5, 6):
                for tlen_delta in (0, 0, -30, 40):
                    body = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 8, 40))))
                    tlen = (
                        max(0, 4 * ihl + len(body) + tlen_delta) if tlen_delta != -30 else rnd.choice((0, 12))
                    )
                    ip = struct.pack(
                        "!BBHHHBBH4s4s",
                        0x40 | ihl,
                        0,
                        tlen,
                        rnd.randrange(65536),
                        frag,
                        64,
                        proto,
                        0,
                        b"\x0a\1\2\3",
                        b"\x0a\3\2\1",
                    )
                    f = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + bytes(4 * (ihl - 5)) + body
                    frames.append(f if rnd.random() > 0.1 else f[: rnd.randrange(14, len(f) + 1)])
    p = tmp_path / "frag.pcap"
    p.write_bytes(_pcap("<", False, frames, rnd))
    chunks, err = _both(str(p))
    text = "".join(chunks)
    assert err is None and "Fragmented IP protocol (proto=UDP 17, off=8, ID=" in text


# ---- session 8: 802.1Q, IPv6, MPTCP, SSH's encrypted packets, PIM/VRRP/OSPF/EIGRP/ESP, PTPv2 ----------


@native
def test_walker_takes_the_session8_groups() -> None:
    """On the corpus, the walker formats (and walker.line equals format_line, above) each group it took
    on in session 8: the lines it writes name them."""
    w = native_walker()
    assert w is not None
    seen: set[str] = set()
    for p in CAPTURES:
        try:
            with open_capture(str(p)) as r:
                for fr in r:
                    if fr[3] != 1:
                        continue
                    got = w.line(7, fr[0], fr[1], fr[2])
                    if got is None:
                        continue
                    proto = got.split(" -> ", 1)[1].split(" ")[1]
                    if fr[1][12:14] == b"\x81\x00":
                        seen.add("vlan")
                    if fr[1][12:14] == b"\x86\xdd" or fr[1][16:18] == b"\x86\xdd":
                        seen.add(f"{proto}/v6")
                        if fr[1][20] == 51:
                            seen.add(f"{proto}/v6+AH")
                    if fr[1][12:14] == b"\x08\x00" and fr[1][20] & 0x20:
                        seen.add(f"{proto}/frag")
                    seen.add(proto)
        except PcapFormatError:
            pass
    want = {"vlan", "TCP/v6", "UDP/v6", "ICMPv6", "MPTCP", "SSHv2", "PIMv2", "PIMv2/v6", "VRRP", "VRRP/v6"}
    want |= {
        "OSPF",
        "OSPF/v6",
        "EIGRP",
        "ESP/v6",
        "PTPv2",
        "NCP",
        "RX",
        "AFS",
        "NFS",
        "DNS",
        "MDNS",
        "DEC",
        "OSPF/v6+AH",
        "AFS/frag",
    }
    assert want <= seen, want - seen


def _ip6(nxt: int, payload: bytes, rnd: random.Random) -> bytes:
    src = rnd.choice(
        (bytes(15) + b"\x01", b"\xfe\x80" + bytes(6) + rnd.randbytes(8), bytes(10) + b"\xff\xff\x0a\0\0\1")
    )
    dst = rnd.choice((b"\xff\x02" + bytes(13) + b"\x0d", b"\x20\x01\x0d\xb8" + bytes(11) + b"\x02"))
    plen = len(payload) + rnd.choice((0, 0, 0, 0, -3, 5)) if rnd.random() > 0.05 else 0
    return (
        struct.pack("!IHBB", rnd.choice((0x60000000, 0x6AB12345, 0x40000000)), max(0, plen), nxt, 64)
        + src
        + dst
        + payload
    )


def _ip4p(proto: int, payload: bytes, rnd: random.Random) -> bytes:
    tlen = 20 + len(payload) + rnd.choice((0, 0, 0, -2, 7))
    frag = rnd.choice((0, 0, 0, 0x4000, 0x2000, 0x0003))
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, max(0, tlen), 7, frag, 9, proto, 0, b"\x0a\0\0\1", b"\xe0\0\0\x0d"
    )
    return ip + payload


def _ssh_payload(rnd: random.Random) -> bytes:
    def pkt(code: int, body: bytes = b"") -> bytes:
        pad = rnd.choice((4, 6, 11))
        return struct.pack("!IBB", 1 + 1 + len(body) + pad, pad, code) + body + bytes(pad)

    return rnd.choice(
        (
            rnd.randbytes(rnd.choice((1, 5, 48, 300))),  # encrypted
            b"SSH-2.0-OpenSSH_8.9\r\n",
            pkt(20, rnd.randbytes(40)),  # Key Exchange Init
            pkt(21) + rnd.randbytes(36),  # New Keys, then encrypted
            pkt(31, b"\0\0\0\x07ssh-rsa"),
            pkt(99) + pkt(200),  # an unknown code after a known one
            pkt(21),
            b"SSH-",
            b"SSH",
        )
    )


def _session8_frame(rnd: random.Random) -> bytes:
    eth = b"\x01\x00\x5e\0\0\x0d\x02\0\0\0\0\x01"
    kind = rnd.randrange(20)
    sp, dp = rnd.choice(((22, 40000), (40000, 22), (21, 22), (22, 21), (22, 22), (41000, 80), (5000, 6000)))
    if kind == 0:  # TCP with options: MPTCP (kind 30), a 30 inside another option, cut option lists
        opts = rnd.choice(
            (
                b"\x1e\x0c\x00\x81" + rnd.randbytes(8),
                b"\x02\x04\x00\x1e",  # MSS 30: a byte 30, no MPTCP
                b"\x01\x01\x08\x0a" + rnd.randbytes(8) + b"\x1e\x04\x00\x00",
                b"\x00\x1e\x04\x00",
                b"\x05\x01\x1e\x04",  # a bad length before the 30
                b"\x1e\x02",
            )
        )
        opts += bytes(-len(opts) % 4)
        body = rnd.choice((b"", b"", _ssh_payload(rnd)))
        tcp = struct.pack(
            "!HHIIHHHH",
            sp,
            dp,
            1,
            2,
            ((20 + len(opts)) // 4) << 12 | rnd.choice((0x02, 0x12, 0x18)),
            512,
            0,
            0,
        )
        l4, proto = tcp + opts + body, 6
    elif kind <= 2:  # TCP, any ports of the list, SSH payloads
        tcp = struct.pack("!HHIIHHHH", sp, dp, rnd.getrandbits(32), 5, 0x5018, 1000, 0, 0)
        l4, proto = tcp + rnd.choice((b"", _ssh_payload(rnd))), 6
    elif kind == 3:  # UDP, ICMPv6 / ICMP echo and others
        body = rnd.randbytes(rnd.choice((0, 1, 9, 12, 40)))
        l4, proto = rnd.choice(
            (
                (struct.pack("!HHHH", 40000, 40001, 8 + len(body), 0) + body, 17),
                (struct.pack("!BBHHH", rnd.choice((128, 129, 135, 8, 0)), 0, 0, 0x1234, 7) + body, 58),
                (struct.pack("!BBHHH", rnd.choice((8, 0, 128, 3)), 0, 0, 0x1234, 7) + body, 1),
            )
        )
    elif kind == 4:  # PIM: every type, v1/v2, a Register (a packet inside), cut short
        l4, proto = (
            bytes([rnd.choice((0x20, 0x21, 0x23, 0x24, 0x2A, 0x2F, 0x10))])
            + rnd.randbytes(rnd.choice((0, 2, 3, 30))),
            103,
        )
    elif kind == 5:  # VRRP v2/v3, address counts that fit or not
        n = rnd.choice((0, 1, 2, 5))
        l4 = bytes([rnd.choice((0x21, 0x31, 0x32)), 1, 100, n]) + rnd.randbytes(
            4 + rnd.choice((0, 4, 16, 32))
        )
        proto = 112
    elif kind == 6:  # OSPF v2/v3, Hello and the others, with and without the Hello's fixed part
        ver, t = rnd.choice((2, 3, 1)), rnd.choice((1, 1, 2, 3, 4, 5, 9))
        l4 = bytes([ver, t]) + rnd.randbytes(rnd.choice((10, 14, 30, 34, 42, 60)))
        proto = 89
    elif kind == 7:  # EIGRP, a Hello with and without ack, unknown opcodes
        l4 = (
            bytes([2, rnd.choice((1, 5, 5, 7, 200))])
            + bytes(10)
            + rnd.choice((bytes(4), b"\0\0\0\x09"))
            + rnd.randbytes(rnd.choice((0, 4, 20)))
        )
        proto = 88
    elif kind == 11:  # NCP over IP (TCP 524): replies, requests of every kind, continuations, cut short
        ncp = rnd.choice(
            (
                b"tNcP" + bytes(4) + struct.pack("!HBBBBBB", 0x3333, 1, 0, 2, 0, rnd.choice((0, 0, 0x89)), 0),
                b"DmdT"
                + bytes(12)
                + struct.pack("!HBBBB", 0x2222, 1, 0, 2, 0)
                + bytes(
                    rnd.choice(
                        (
                            (0x42, 0),
                            (0x48, 1),
                            (0x57, 34),
                            (0x57, 66),
                            (0x59, 3),
                            (0x59, 6),
                            (0x59, 32),
                            (0x57, 1),
                            (0x17, 0),
                        )
                    )
                )
                + rnd.randbytes(rnd.choice((0, 5, 6, 30))),
                b"tNcP" + bytes(4) + struct.pack("!H", rnd.choice((0x9999, 0x2222, 0x3333))),
                # a request with a path: a component count, then (16-bit LE length, name) pairs
                b"DmdT"
                + bytes(12)
                + struct.pack("!HBBBB", 0x2222, 1, 0, 2, 0)
                + bytes([0x59, rnd.choice((1, 2, 32))])
                + rnd.randbytes(rnd.choice((0, 3, 9)))
                + bytes(
                    [
                        len(
                            parts := rnd.choice(
                                (
                                    [b"STUDENTS", b"a.url"],
                                    [b"x"],
                                    [b"caf\xe9"],
                                    [b"a", b""],
                                    [b"B" * 30] * 6,
                                    [b"A" * 60] * 4,
                                )
                            )
                        )
                    ]
                )
                + b"".join(struct.pack("<H", len(c)) + c for c in parts)
                + rnd.choice((b"", b"", b"\x01")),
                rnd.randbytes(rnd.choice((2, 4, 40))),
            )
        )
        ports = rnd.choice(((524, 40000), (40000, 524), (22, 524), (524, 1023)))
        tcp = struct.pack("!HHIIHHHH", *ports, 1, 2, 0x5018, 512, 0, 0)
        l4, proto = tcp + ncp[: len(ncp) if rnd.random() < 0.8 else rnd.randrange(len(ncp) + 1)], 6
    elif kind == 12:  # RX / AFS: requests and replies of a few calls (the call map), control packets, cut
        ports = rnd.choice(
            ((7000, 7001), (7001, 7000), (40000, 7000), (7000, 40000), (7003, 7021), (53, 7000))
        )
        rx = rnd.choice((b"\x12\x34\x56\x78", b"\0\0\0\1")) + struct.pack(
            "!IIIIBBBBHH",
            rnd.choice((1, 2)),
            rnd.choice((5, 6, 7)),
            rnd.choice((0, 1, 1, 2, 3)),
            9,
            rnd.choice((1, 1, 1, 2, 3, 13, 99)),
            rnd.choice((0, 1, 1, 3)),
            0,
            0,
            0,
            1,
        )
        body = rnd.choice(
            (
                b"",
                struct.pack("!I", rnd.choice((132, 130, 65, 1, 99999))),
                bytes(16) + bytes([rnd.choice((1, 8, 200))]) + bytes(4),
            )
        )
        pay = (rx + body)[: rnd.choice((20, 28, 31, 45, 200))]
        l4, proto = struct.pack("!HHHH", *ports, 8 + len(pay), 0) + pay, 17
    elif kind == 13:  # ONC RPC over TCP (record marks) and UDP: replies, calls, two records, cut short
        msg = rnd.choice(
            (
                struct.pack("!III", 7, 1, rnd.choice((0, 1, 2))) + bytes(rnd.choice((0, 12, 40))),
                struct.pack("!IIIIII", 7, 0, 2, 100003, 3, 0) + bytes(16),
                struct.pack("!II", 7, 1),
            )
        )
        ports = rnd.choice(((2049, 800), (800, 2049), (111, 40000), (20048, 700), (700, 20048), (22, 2049)))
        if rnd.random() < 0.5:
            rec = struct.pack("!I", 0x80000000 | rnd.choice((len(msg), len(msg), len(msg) + 10, 4))) + msg
            rec += rnd.choice((b"", b"", rec, b"\0\0"))
            tcp = struct.pack("!HHIIHHHH", *ports, 1, 2, 0x5018, 512, 0, 0)
            l4, proto = tcp + rec, 6
        else:
            l4, proto = struct.pack("!HHHH", *ports, 8 + len(msg), 0) + msg, 17
    elif kind == 14:  # DNS / MDNS: queries (compressed names, odd labels, unknown types), responses, cut
        name = rnd.choice(
            (
                b"\x03www\x07example\x03com\x00",
                b"\x00",
                b"\x03a b\x01\x7f\x00",
                b"\x02\xc3\xa9\x00",
                b"\x01a\xc0\x0c",  # a pointer back to itself: a loop
                b"\x01a\xc0\x1d",
                b"\x3f"
                + b"x" * 63
                + b"\x3f"
                + b"y" * 63
                + b"\x3f"
                + b"z" * 63
                + b"\x3f"
                + b"w" * 63
                + b"\x00",
                b"\x05local",
            )
        )
        q = name + struct.pack("!HH", rnd.choice((1, 28, 12, 255, 65, 999, 32769)), rnd.choice((1, 0x8001)))
        counts = rnd.choice(
            ((1, 0, 0, 0), (1, 0, 0, 0), (2, 0, 0, 0), (0, 0, 0, 0), (1, 0, 0, 1), (1, 1, 0, 0))
        )
        flags = rnd.choice((0x0100, 0x0000, 0x2800, 0x7800, 0x8180))
        msg = struct.pack("!HHHHHH", rnd.randrange(65536), flags, *counts) + q * max(1, counts[0])
        msg = msg[: len(msg) if rnd.random() < 0.85 else rnd.randrange(len(msg) + 1)]
        ports = rnd.choice(
            (
                (40000, 53),
                (53, 40000),
                (5353, 5353),
                (40000, 5353),
                (53, 22),
                (5353, 53),
                (40000, 5355),
                (5355, 53),
            )
        )
        l4, proto = struct.pack("!HHHH", *ports, 8 + len(msg), 0) + msg, 17
    elif kind == 15:  # DECnet: routing control, short and long data headers, every NSP message, padding, cut
        pad = rnd.choice((b"", b"\x83\0\0"))
        flags = rnd.choice((0x0B, 0x0D, 0x0F, 0x02, 0x06, 0x2E, 0x00, 0x04))
        hdr = bytes(6 if flags & 7 == 2 else 21 if flags & 7 == 6 else 4)[1:]
        nsp = bytes(
            [rnd.choice((0x08, 0x14, 0x18, 0x24, 0x38, 0x04, 0x10, 0x00, 0x20, 0x40, 0x60, 0x7C, 0x30))]
        )
        nsp += (
            rnd.randbytes(4)
            + rnd.choice((b"", b"\x01\x80", b"\x01\x80\x02\x80"))
            + rnd.randbytes(rnd.choice((0, 1, 2, 3, 9)))
        )
        body = pad + bytes([flags]) + hdr + nsp
        length = rnd.choice((len(body), len(body), len(body) - 4, 2, 400))
        dec = struct.pack("<H", max(0, length)) + body
        return (
            eth
            + rnd.choice((b"", b"\x81\x00\x00\x05"))
            + b"\x60\x03"
            + dec[: rnd.choice((len(dec), len(dec), 2, 4, 8))]
        )
    elif kind == 16:  # NTP: every mode and version, control and private messages, cut short
        b0 = rnd.randrange(256)
        msg = bytes([b0, rnd.randrange(256), rnd.randrange(256), rnd.choice((0, 1, 42, 200))])
        msg += rnd.randbytes(rnd.choice((0, 8, 44, 60)))
        ports = rnd.choice(((123, 123), (40000, 123), (123, 40000), (53, 123)))
        l4, proto = struct.pack("!HHHH", *ports, 8 + len(msg), 0) + msg, 17
    elif kind == 17:  # FTP / POP / SMTP lines: commands, replies, no line end, CR alone, non-ASCII, long
        line = rnd.choice(
            (
                b"USER anonymous\r\nPASS x\r\n",
                b"+OK POP3 ready\r\n",
                b"220 ready",
                b"\r\n",
                b"a\rb\r\n",
                b"caf\xc3\xa9\r\n",
                b"x" * 400 + b"\r\n",
                b"\x00\x1b[0m\tok\n",
                b"-ERR no\n+OK\n",
            )
        )
        ports = rnd.choice(
            ((40000, 21), (21, 40000), (40000, 110), (110, 40000), (25, 587), (587, 40000), (21, 110))
        )
        tcp = struct.pack("!HHIIHHHH", *ports, 1, 2, 0x5018, 512, 0, 0)
        l4, proto = tcp + line, 6
    elif kind == 18:  # DHCP / BOOTP: message types (known, unknown, two, none), no cookie, cut options
        boot = bytes([rnd.choice((1, 2)), 1, rnd.choice((6, 6, 16)), 0]) + struct.pack(
            "!I", rnd.choice((0x3D1D, 0, 0xDEADBEEF))
        )
        boot += bytes(20) + b"\x02\xab\0\0\0\x01" + bytes(202)
        opts = rnd.choice(
            (
                b"\x35\x01\x01\xff",
                b"\x35\x01\xc8\x00\x00\xff",
                b"\x35\x01\x03\x35\x01\x05\xff",
                b"\x0c\x03abc\xff",
                b"\x35\x02\x01\x01\xff",
                b"\x35\x01",
                b"\x0c\x09ab",
            )
        )
        msg = boot + rnd.choice((b"\x63\x82\x53\x63", b"\x63\x82\x53\x64")) + opts
        msg = msg[: len(msg) if rnd.random() < 0.9 else rnd.choice((100, 238, 241))]
        ports = rnd.choice(((68, 67), (67, 68), (40000, 67), (53, 67)))
        l4, proto = struct.pack("!HHHH", *ports, 8 + len(msg), 0) + msg, 17
    elif kind == 19:  # BFD control: diagnostics, states, flags (authentication), cut short
        msg = bytes([rnd.choice((0x20, 0x21, 0x3F, 0x28)), rnd.randrange(256)]) + rnd.randbytes(
            rnd.choice((10, 22, 23, 24, 30))
        )
        ports = rnd.choice(((49152, 3784), (3784, 49152), (4784, 4784), (53, 3784)))
        l4, proto = struct.pack("!HHHH", *ports, 8 + len(msg), 0) + msg, 17
    elif kind == 8:  # ESP
        l4, proto = rnd.randbytes(rnd.choice((4, 8, 40))), 50
    else:  # PTP over Ethernet, v2 and v1, every message type, cut short
        ptp = bytes([rnd.randrange(16), rnd.choice((2, 2, 0x12, 1))]) + rnd.randbytes(
            rnd.choice((20, 32, 42))
        )
        tag = rnd.choice((b"", b"", b"\x81\x00\x00\x05"))
        return eth + tag + b"\x88\xf7" + ptp
    v6 = rnd.random() < 0.5
    if rnd.random() < 0.1:  # inside an Authentication Header (its length fitting or not), or two
        ah_len = rnd.choice((1, 2, 4, 60))
        l4 = struct.pack("!BBHII", proto, ah_len, 0, 0x1234, 1) + bytes(max(0, (ah_len + 2) * 4 - 12)) + l4
        proto = 51
        if rnd.random() < 0.2:
            l4, proto = struct.pack("!BBHII", 51, 1, 0, 0x1234, 1) + l4, 51
    l3 = _ip6(proto if proto != 1 or rnd.random() < 0.3 else 58, l4, rnd) if v6 else _ip4p(proto, l4, rnd)
    et = b"\x86\xdd" if v6 else b"\x08\x00"
    tag = rnd.choice(
        (
            b"",
            b"",
            b"\x81\x00\x20\x05",
            b"\x81\x00\x00\x05\x81\x00\x00\x06",
            b"\x88\xa8\x00\x05",
            b"\x81\x00\x00\x01" * 3,
        )
    )
    return eth + tag + et + l3 + bytes(rnd.choice((0, 0, 6)))


@native
def test_session8_variants(tmp_path: Path) -> None:
    """802.1Q (one to three tags), Authentication Headers, IPv4 first fragments, IPv6 (bad versions, payload lengths short, long and zero), MPTCP's option walk, SSH on
    and off port 22 (encrypted, banner, plain key exchange, New Keys), PIM/VRRP/OSPF/EIGRP/ESP (short,
    unknown types, Register), NCP over IP, RX/AFS (requests and replies through the call map), ONC RPC, DNS/MDNS, DHCP, BFD, NTP, FTP/POP/SMTP lines, DECnet, PTP v1/v2: walker and pure loop agree; then the same frames mutated and cut."""
    rnd = random.Random(8)
    frames = [_session8_frame(rnd) for _ in range(8000)]
    p = tmp_path / "s8.pcap"
    p.write_bytes(_pcap("<", False, frames, rnd))
    chunks, err = _both(str(p))
    text = "".join(chunks)
    assert err is None
    for s in (
        " LLMNR ",
        " SSHv2 ",
        "Client: Encrypted packet (len=",
        "Server: Key Exchange Init",
        " MPTCP ",
        " ICMPv6 ",
        "hop limit=",
        " PIMv2 ",
        "Announcement (v3)",
        "Hello Packet",
        "Hello (Ack)",
        "ESP (SPI=0x",
        "Sync Message",
        "::1 -> ",
        " NCP ",
        "R OK",
        "R Error (0x89)",
        "C Read From File - 0x",
        "C Open CallBack Control (Op-Lock)",
        ": STUDENTS/a.url\n",
        "Continuation",
        " AFS (RX) ",
        "FS Request: ",
        "FS Reply",
        "  Source Port: 7000  Destination Port: ",
        " RX ",
        " NFS ",
        " Portmap ",
        " MOUNT ",
        " Reply",
        "Standard query 0x",
        " A www.example.com",
        '"QM" question',
        '"QU" question',
        " <Root>",
        "Unknown (999)",
        " DEC DNA ",
        "Routing control, ",
        " segment, bytes this segment: ",
        "NSP message 0x7c",
        " NTP ",
        ", control",
        ", private, Request, ",
        "Request: USER anonymous\n",
        "Response: 220 ready\n",
        "S: +OK POP3 ready\n",
        " SMTP ",
        "DHCP Discover - Transaction ID 0x3d1d",
        "DHCP 200      - Transaction ID 0x",
        " BOOTP ",
        " BFD Control ",
        "Diag: No Diagnostic, State: ",
    ):
        assert s in text, s
    mutated = []
    for f in frames:
        b = bytearray(f)
        for _ in range(rnd.randrange(3)):
            i = rnd.randrange(12, len(b))
            b[i] = rnd.randrange(256)
        if rnd.random() < 0.15:
            b = b[: rnd.randrange(len(b) + 1)]
        mutated.append(bytes(b))
    p.write_bytes(_pcap(">", True, mutated, rnd))
    chunks, err = _both(str(p))
    assert err is None and "".join(chunks).count("\n") == len(mutated)


@native
@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32), cut=st.integers(0, 400))
def test_session8_frames_random_cuts(seed: int, cut: int) -> None:
    """walker.line on the session-8 kinds cut anywhere equals format_line (or declines)."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(seed)
    f = _session8_frame(rnd)[:cut]
    from sniffer.frame import Frame

    got = w.line(3, 0, f, len(f))
    if got is not None:
        assert got == summary.format_line(3, Frame(0, f, len(f), 1))


@native
def test_afs_reply_names_its_request(tmp_path: Path) -> None:
    """An AFS request the walker formats goes into the live call map, so a reply (formatted by either
    loop) names its operation, as the pure loop does; a later packet of a long request too."""
    rnd = random.Random(4)
    eth = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00"

    def rx(sp: int, dp: int, call: int, seq: int, flags: int, body: bytes) -> bytes:
        hdr = b"\x12\x34\x56\x78" + struct.pack("!IIIIBBBBHH", 1, call, seq, 9, 1, flags, 0, 0, 0, 1)
        udp = struct.pack("!HHHH", sp, dp, 8 + len(hdr) + len(body), 0) + hdr + body
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, b"\x0a\0\0\1", b"\x0a\0\0\2"
        )
        return eth + ip + udp

    frames = [
        rx(40000, 7000, 5, 1, 1, struct.pack("!I", 132)),  # request: fetch-status
        rx(40000, 7000, 5, 2, 1, b""),  # its second packet: no opcode of its own
        rx(7000, 40000, 5, 1, 0, bytes(8)),  # the reply
        rx(7000, 40000, 6, 1, 0, bytes(8)),  # a reply to a call never seen
    ]
    p = tmp_path / "afs.pcap"
    p.write_bytes(_pcap("<", False, frames, rnd))
    chunks, err = _both(str(p))
    lines = "".join(chunks).splitlines()
    assert err is None and [ln.split(" AFS (RX) ")[1].split(" ", 1)[1] for ln in lines] == [
        "FS Request: fetch-status (132)",
        "FS Request: fetch-status (132)",
        "FS Reply: fetch-status (132)",
        "FS Reply",
    ]
    w = native_walker()
    assert w is not None
    legacyfs._RX_CALLS.clear()
    assert all(w.line(1, 0, f, len(f)) is not None for f in frames)  # (all four the walker's)


def _same_with_mutants(
    path: Path,
    frames: list[bytes],
    n: int,
    rnd: random.Random,
    lo: int,
    hi: int | None = None,
    values: tuple[int, ...] = (),
) -> Path:
    """``frames`` and ``n`` mutants of them (1-3 bytes changed in [lo, hi), to one of ``values`` or any
    byte half the time when given, a third of them cut) in a pcap at ``path``; the walker's text equals
    the pure loop's and the file reads to its end. Returns the path."""
    mutated = []
    for f in frames[:n]:
        b = bytearray(f)
        top = len(b) if hi is None else min(len(b), hi)
        for _ in range(rnd.randrange(1, 4)):
            if top > lo:
                pick = rnd.choice(values) if values and rnd.random() < 0.5 else rnd.randrange(256)
                b[rnd.randrange(lo, top)] = pick
        mutated.append(bytes(b[: rnd.randrange(len(b) + 1)] if rnd.random() < 0.3 else b))
    path.write_bytes(_pcap("<", False, frames + mutated, rnd))
    _chunks, err = _both(str(path))
    assert err is None
    return path


def _eth_tcp4(sp: int, dp: int, payload: bytes) -> bytes:
    """Ethernet, IPv4 (10.0.0.1 -> 10.0.0.2), TCP from ``sp`` to ``dp`` ([PSH, ACK]) carrying ``payload``."""
    tcp = struct.pack("!HHIIHHHH", sp, dp, 1, 2, 0x5018, 512, 0, 0) + payload
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(6, tcp)


def _walker_text(path: Path) -> tuple[list[str | None], str]:
    """The walker's line for each record of the pcap at ``path`` (None where it declines) and the lines
    it wrote, joined."""
    w = native_walker()
    assert w is not None
    with open_capture(str(path)) as r:
        lines = [w.line(n, fr[0], fr[1], fr[2]) for n, fr in enumerate(r, 1)]
    return lines, "\n".join(s for s in lines if s is not None)


def _pbb(rnd: random.Random, inner: bytes) -> bytes:
    """``inner`` (an Ethernet frame) carried in PBB (802.1ah): backbone addresses, 0-1 B-tags, the I-TAG,
    the customer's addresses, 0-2 C-tags, then the inner frame's type and payload."""
    out = bytes(rnd.randrange(256) for _ in range(12))
    for _ in range(rnd.choice((0, 1, 1))):
        out += b"\x81\x00" + struct.pack(">H", rnd.randrange(4096))
    out += b"\x88\xe7" + bytes(rnd.randrange(256) for _ in range(4)) + inner[:12]
    for _ in range(rnd.choice((0, 0, 1, 2))):
        out += b"\x81\x00" + struct.pack(">H", rnd.randrange(4096))
    return out + inner[12:]


@native
def test_pbb_same_text(tmp_path: Path) -> None:
    """Session 9: IPv4/IPv6 inside PBB (802.1ah, with B- and C-tags) is formatted by the walker as the
    inner packet, as link/tunnels dissect it: Zeek's PBB capture (tshark's stack eth:vlan:ieee8021ah:...)
    and the session-8 kinds wrapped in PBB, then mutated and cut, equal the pure loop's text."""
    w = native_walker()
    assert w is not None
    pbb = TESTS / "corpus/tcp/zeek__pbb.pcap"
    _both(str(pbb))
    with open_capture(str(pbb)) as r:
        took = sum(1 for n, fr in enumerate(r, 1) if w.line(n, fr[0], fr[1], fr[2]) is not None)
    assert took >= 5
    rnd = random.Random(9)
    frames = [_pbb(rnd, _session8_frame(rnd)) for _ in range(3000)]
    p = _same_with_mutants(tmp_path / "pbb.pcap", frames, 1500, rnd, 0, 60)
    with open_capture(str(p)) as r:
        took = sum(1 for n, fr in enumerate(r, 1) if w.line(n, fr[0], fr[1], fr[2]) is not None)
    assert took > 500


def _cfp(rnd: random.Random, inner: bytes) -> bytes:
    """``inner`` (an Ethernet frame) in Cisco FabricPath: outer addresses, 0x8903, FTAG/TTL, the inner
    frame; an FCS after it half the time (without one the inner packet's last 4 bytes are taken for it)."""
    return (
        rnd.randbytes(12)
        + b"\x89\x03"
        + rnd.randbytes(2)
        + inner
        + (rnd.randbytes(4) if rnd.random() < 0.5 else b"")
    )


def _cut_inner(rnd: random.Random) -> bytes:
    """An Ethernet frame whose IPv4/IPv6 packet (TCP, UDP, SCTP, ICMP or a protocol without a dissector)
    has 0-23 bytes of transport header, the header lengths saying more or less than that."""
    v6 = rnd.random() < 0.4
    proto = rnd.choice((6, 6, 17, 17, 132, 99, 253, 1, 58, 0))
    body = rnd.randbytes(rnd.randrange(24))
    extra = rnd.choice((0, 0, 4, 8, 20))
    if v6:
        ip = b"\x60\0\0\0" + struct.pack(">HBB", len(body) + extra, proto, 64) + rnd.randbytes(32)
    else:
        ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(body) + extra, 1, 0, 64, proto, 0) + rnd.randbytes(8)
    return rnd.randbytes(12) + (b"\x86\xdd" if v6 else b"\x08\x00") + ip + body


@native
def test_fabricpath_same_text(tmp_path: Path) -> None:
    """Session 12: Cisco FabricPath frames (tunnels.dissect_cfp: the frame's last 4 bytes are its FCS) are
    formatted by the walker: the inner packet's columns, and where the FCS cuts the inner packet the text
    the dissectors give a cut header ([Malformed Packet]). Zeek's FabricPath capture (tshark's reading in
    the corpus oracle) and generated frames, then mutated and cut, equal the pure loop's text."""
    w = native_walker()
    assert w is not None
    cfp = TESTS / "corpus/tcp/zeek__cisco-fabric-path.pcap"
    _both(str(cfp))
    assert sum(t is not None for t in _walker_text(cfp)[0]) >= 120
    rnd = random.Random(12)
    frames = [_cfp(rnd, _cut_inner(rnd) if rnd.random() < 0.5 else _session8_frame(rnd)) for _ in range(4000)]
    p = _same_with_mutants(tmp_path / "cfp.pcap", frames, 2000, rnd, 12, 60)
    lines, text = _walker_text(p)
    assert sum(1 for t in lines if t is not None) > 1000
    for want in (
        "[Malformed Packet]",
        "BAD UDP LENGTH",
        "Invalid IPv6 header",
        " SCTP ",
        "Unknown IP Protocol",
    ):
        assert want in text


def _avsp_vntag(rnd: random.Random, inner: bytes) -> bytes:
    """``inner`` (an Ethernet frame) behind Arista's AVSP timestamp header (sub-type 1 mostly, versions
    0x10/0x20 and others; MPLS labels before the IP packet sometimes) or Cisco's VN-Tag (0-2 802.1Q tags
    after it)."""
    out = inner[:12]
    if rnd.random() < 0.5:
        ver = rnd.choice((0x10, 0x10, 0x20, 0x0110, 0x01))
        ts = rnd.randbytes(8 if ver & 0xFF == 0x10 else 6)
        et = inner[12:14]
        mpls = b""
        if rnd.random() < 0.3:
            mpls = b"".join(
                struct.pack(">I", rnd.randrange(1 << 20) << 12 | 64) for _ in range(rnd.randrange(2))
            )
            mpls += struct.pack(">I", rnd.randrange(1 << 20) << 12 | 0x100 | 64)
            et = b"\x88\x47"
        return (
            out
            + b"\xd2\x8b"
            + struct.pack(">HH", rnd.choice((1, 1, 1, 2)), ver)
            + ts
            + et
            + mpls
            + inner[14:]
        )
    out += b"\x89\x26" + rnd.randbytes(4)
    for _ in range(rnd.choice((0, 1, 1, 2))):
        out += b"\x81\x00" + struct.pack(">H", rnd.randrange(4096))
    return out + inner[12:]


@native
def test_avsp_and_vntag_same_text(tmp_path: Path) -> None:
    """Session 12: IPv4/IPv6 behind Arista's AVSP timestamp header (and MPLS) or Cisco's VN-Tag (and
    802.1Q tags) is formatted by the walker as the inner packet: the corpus captures (tcpdump's
    arista_ether, Zeek's vntag) and the session-8 kinds wrapped so, then mutated and cut, equal the pure
    loop's text."""
    w = native_walker()
    assert w is not None
    for name in ("tcpdump__arista_ether.pcap", "zeek__vntag.pcap"):
        cap = TESTS / "corpus-breadth/captures" / name
        _both(str(cap))
        assert any(t is not None for t in _walker_text(cap)[0])
    rnd = random.Random(13)
    frames = [_avsp_vntag(rnd, _session8_frame(rnd)) for _ in range(3000)]
    p = _same_with_mutants(tmp_path / "avsp.pcap", frames, 1500, rnd, 12, 40)
    lines, _ = _walker_text(p)
    assert sum(1 for t in lines if t is not None) > 500


def _sctp_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4 or IPv6, SCTP with 0-6 chunks: DATA (with and without payload, PPIDs with and
    without a dissector: 3 is M3UA), SACK, INIT, named and unknown types, short and odd lengths."""
    chunks = b""
    for _ in range(rnd.choice((0, 1, 1, 2, 3, 6))):
        t = rnd.choice((0, 0, 0, 3, 3, 1, 2, 4, 10, 11, 14, 64, 99, 200))
        if t == 0:
            body = struct.pack(">IHHI", rnd.randrange(2**32), rnd.randrange(8), 0, rnd.choice((0, 3, 46, 5)))
            body += bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 0, 1, 7, 20))))
        elif t == 3:
            body = struct.pack(">IIHH", rnd.randrange(2**32), rnd.randrange(2**32), 0, 0)
        else:
            body = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 2, 16, 20))))
        ln = 4 + len(body)
        if rnd.random() < 0.05:
            ln = rnd.choice((0, 3, ln + 9))
        chunk = struct.pack(">BBH", t, rnd.randrange(256), ln) + body
        chunks += chunk + b"\0" * (-len(chunk) % 4)
    sctp = (
        struct.pack(">HHII", rnd.choice((2905, 36412, 5000, 9900)), rnd.choice((2905, 80, 7000)), 1, 0)
        + chunks
    )
    if rnd.random() < 0.5:
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(sctp), 1, 0, 64, 132, 0, b"\n\0\0\1", b"\n\0\0\2")
        frame = b"\2" * 6 + b"\4" * 6 + b"\x08\x00" + ip + sctp
    else:
        ip = struct.pack(
            ">IHBB16s16s",
            0x60000000,
            len(sctp),
            132,
            64,
            b"\xfe\x80" + b"\0" * 13 + b"\1",
            b"\xfe\x80" + b"\0" * 13 + b"\2",
        )
        frame = b"\2" * 6 + b"\4" * 6 + b"\x86\xdd" + ip + sctp
    return frame + b"\0" * max(0, 60 - len(frame))


@native
def test_sctp_same_text(tmp_path: Path) -> None:
    """Session 9: SCTP's chunk list (sctp.dissect_sctp's Info) from the walker: 3 000 synthetic packets
    over IPv4/IPv6, then mutated and cut, equal the pure loop's text; DATA with a payload whose PPID or
    port has a dissector (M3UA) stays Python's."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(12)
    frames = [_sctp_frame(rnd) for _ in range(3000)]
    _same_with_mutants(tmp_path / "sctp.pcap", frames, 1500, rnd, 14, None)
    took = [w.line(n, 0, f, len(f)) for n, f in enumerate(frames, 1)]
    texts = [t for t in took if t is not None]
    assert len(texts) > 1500
    assert any("SACK (Ack=" in t for t in texts) and any("DATA (TSN=" in t for t in texts)
    assert any(t.endswith(" SCTP 60 ") for t in texts)  # no chunk at all: an empty Info, as Python's
    m3ua = [f for f in frames if b"\x00\x00\x00\x03" in f[46:] and w.line(1, 0, f, len(f)) is None]
    assert m3ua  # (payloads for PPID 3 are M3UA's: Python's)


def _dnp3_frame(rnd: random.Random) -> bytes:
    """Ethernet/IPv4, TCP or UDP port 20000, one DNP3 link frame with right (mostly) header and block
    CRCs: link-only frames, user data with application functions (Confirm, Read/Write of class objects
    and of others, responses with and without their IIN), odd transport bits."""
    from sniffer.decode.ics import dnp3_crc

    func = rnd.choice((0, 1, 1, 2, 13, 20, 21, 129, 130, 129, 99, 200))
    app = bytes((0xC0 | rnd.randrange(16), func))
    if func >= 129:
        app += bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 1, 2, 2, 5))))
    elif func in (1, 2):
        for _ in range(rnd.choice((0, 1, 2, 3, 4))):
            obj = rnd.choice((0x3C01, 0x3C02, 0x3C03, 0x3C04, 0x3C0B, 0x3C00, 0x3200, 0x0101, 0x5001))
            q = rnd.choice((0x06, 0x06, 0x07, 0x00, 0x01, 0x17, 0x0A, 0x28))
            app += struct.pack(">HB", obj, q) + bytes(
                rnd.randrange(256) for _ in range(rnd.choice((0, 1, 2, 4)))
            )
    tr = rnd.choice((0xC0, 0xC1, 0x40, 0x80, 0xC5))
    ud = bytes((tr,)) + app
    prm = rnd.random() < 0.8
    fn = rnd.choice((3, 4, 4, 0, 9, 2)) if prm else rnd.choice((0, 1, 11, 14, 15, 5))
    ctl = (0x40 if prm else 0) | (0x80 if rnd.random() < 0.5 else 0) | fn
    ln = 5 + len(ud) if fn in (3, 4) else 5
    if rnd.random() < 0.1:
        ln = rnd.randrange(256)
    head = struct.pack("<BBBBHH", 0x05, 0x64, ln, ctl, rnd.randrange(1 << 16), rnd.randrange(1 << 16))
    crc = dnp3_crc(head) ^ (0xBEEF if rnd.random() < 0.05 else 0)
    body = b""
    data = ud if fn in (3, 4) else b""
    for k in range(0, len(data), 16):
        block = data[k : k + 16]
        body += block + struct.pack("<H", dnp3_crc(block))
    pl = head + struct.pack("<H", crc) + body
    if rnd.random() < 0.1:
        pl = pl[: rnd.randrange(len(pl) + 1)]
    sport, dport = rnd.choice(((20000, 40001), (40001, 20000), (20000, 80)))
    if rnd.random() < 0.5:
        l4 = struct.pack(">HHIIBBHHH", sport, dport, 1, 2, 0x50, 0x18, 512, 0, 0) + pl
        proto = 6
    else:
        l4 = struct.pack(">HHHH", sport, dport, 8 + len(pl), 0) + pl
        proto = 17
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, b"\n\0\0\3", b"\n\0\0\x08")
    frame = b"\2" * 6 + b"\4" * 6 + b"\x08\x00" + ip + l4
    return frame + b"\0" * max(0, 60 - len(frame))


@native
def test_dnp3_same_text(tmp_path: Path) -> None:
    """Session 9: DNP3 (ics.dissect_dnp3's columns) from the walker over TCP and UDP: 3 000 synthetic
    link frames, then mutated and cut, equal the pure loop's text; a Read/Write naming an object other
    than a class, and a bad header CRC (data, not DNP3), stay Python's."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(13)
    frames = [_dnp3_frame(rnd) for _ in range(3000)]
    _same_with_mutants(tmp_path / "dnp3.pcap", frames, 1500, rnd, 34, None)
    texts = [t for n, f in enumerate(frames, 1) if (t := w.line(n, 0, f, len(f))) is not None]
    assert len(texts) > 1200
    for want in (", Class ", "Confirm", "Response", ", len=", "Unknown function (99)"):
        assert any(want in t for t in texts), want
    assert {f[23] for n, f in enumerate(frames, 1) if w.line(n, 0, f, len(f)) is not None} == {6, 17}


def _icmp_error_frame(rnd: random.Random) -> bytes:
    """Ethernet/IPv4 ICMP errors (types 3, 4, 5, 11, 12 and others, any code) quoting a UDP datagram:
    whole or cut, to traceroute's ports, to DNS, with options or fragment bits, or a bad length."""
    payload = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 4, 12, 30))))
    sport = rnd.choice((40000, 53, 33434, 7001))
    dport = rnd.choice((33435, 33500, 53, 123, 40001))
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload) + rnd.choice((0, 0, 0, 0, 3, -2)), 0) + payload
    vihl = rnd.choice((0x45, 0x45, 0x45, 0x46, 0x55))
    opts = b"\1\1\1\1" if vihl == 0x46 else b""
    frag = rnd.choice((0, 0, 0x4000, 0x2000, 0x0010))
    inner = (
        struct.pack(
            ">BBHHHBBH4s4s",
            vihl,
            0,
            20 + len(opts) + len(udp) + rnd.choice((0, 0, 0, 0, 5)),
            7,
            frag,
            1,
            17,
            0,
            b"\n\0\0\2",
            b"\n\0\0\x09",
        )
        + opts
        + udp
    )
    if rnd.random() < 0.1:
        inner = inner[: rnd.randrange(len(inner) + 1)]
    t = rnd.choice((3, 3, 3, 11, 11, 5, 4, 12, 0, 13))
    code = rnd.choice((0, 1, 3, 4, 13, 15, 16, 200))
    icmp_ = struct.pack(">BBHI", t, code, 0, rnd.randrange(2**32)) + inner
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp_), 1, 0, 64, 1, 0, b"\n\0\0\1", b"\n\0\0\2")
    frame = b"\2" * 6 + b"\4" * 6 + b"\x08\x00" + ip + icmp_
    return frame + b"\0" * max(0, 60 - len(frame))


@native
def test_icmp_errors_same_text(tmp_path: Path) -> None:
    """Session 9: an ICMP error quoting one whole plain UDP datagram (no port dissector, no heuristic's
    probe) is the walker's (session 11: to a port with a dissector too, where the walker formats the
    datagram cleanly); other quotes (cut, options, fragments, bad lengths) stay Python's. 3 000 synthetic
    errors, then mutated and cut, equal the pure loop's text."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(14)
    frames = [_icmp_error_frame(rnd) for _ in range(3000)]
    _same_with_mutants(tmp_path / "icmperr.pcap", frames, 1500, rnd, 34, None)
    texts = [t for n, f in enumerate(frames, 1) if (t := w.line(n, 0, f, len(f))) is not None]
    assert len(texts) > 200
    for want in ("Destination unreachable (Port unreachable)", "Time-to-live exceeded", "Redirect"):
        assert any(want in t for t in texts), want


def _http_frame(rnd: random.Random) -> bytes:
    """Ethernet/IPv4/TCP segments to and from HTTP ports (and others): requests and responses with
    headers, body media types (text, JSON, XML, form, other), chunked bodies (good, bad, odd digits),
    continuation lines, lines cut where a header is due, non-ASCII bytes, non-HTTP payloads."""
    method = rnd.choice(
        ("GET", "POST", "HEAD", "PUT", "OPTIONS", "FOO", "get", "HTTP/1.1", "HTTP/1.0", "HTTP/2")
    )
    if method.startswith("HTTP"):
        first = f"{method} {rnd.choice(('200 OK', '304 Not Modified', '404 Not Found', '204', 'abc x', '999 Odd'))}"
    else:
        first = f"{method} {rnd.choice(('/', '/a.html', '/x?y=1&z=%20', '/' + 'p' * 500))} {rnd.choice(('HTTP/1.1', 'HTTP/1.0', ''))}"
    headers = []
    for _ in range(rnd.choice((0, 1, 3, 6))):
        headers.append(
            rnd.choice(
                (
                    "Host: example.com",
                    f"Content-Type: {rnd.choice(('text/html', 'TEXT/Plain; charset=utf-8', 'application/json', 'text/xml', 'application/x-www-form-urlencoded', 'image/png', ' text/css ', ''))}",
                    f"Transfer-Encoding: {rnd.choice(('chunked', 'gzip, Chunked', 'identity'))}",
                    "Content-Length: 10",
                    "X-Odd:value",
                    ":nameless",
                    "content-type : text/csv",
                    "User-Agent: caf\xe9",
                    "Folded line without colon",
                    "Tab:\tvalue",
                )
            )
        )
    body = rnd.choice(
        (
            b"",
            b"hello\nworld",
            b"5\r\nhello\r\n0\r\n\r\n",
            b"zz\r\nbad\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b"+5\r\nhello\r\n",
            b"5\r\nhel",
        )
    )
    text = first + "\r\n" + "".join(h + "\r\n" for h in headers)
    if rnd.random() < 0.8:
        text += "\r\n"
    pl = text.encode("latin-1") + body
    if rnd.random() < 0.15:
        pl = pl[: rnd.randrange(len(pl) + 1)]
    if rnd.random() < 0.05:
        pl = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40)))
    sport, dport = rnd.choice(
        ((40000, 80), (80, 40000), (8080, 50000), (40000, 8000), (40000, 5555), (80, 22))
    )
    tcp = struct.pack(">HHIIBBHHH", sport, dport, 1, 2, 0x50, 0x18, 512, 0, 0) + pl
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, b"\n\0\0\1", b"\n\0\0\2")
    frame = b"\2" * 6 + b"\4" * 6 + b"\x08\x00" + ip + tcp
    return frame + b"\0" * max(0, 60 - len(frame))


@native
def test_http_same_text(tmp_path: Path) -> None:
    """Session 9: HTTP on its ports (http.dissect_http's columns) from the walker: 4 000 synthetic
    segments, then mutated and cut, equal the pure loop's text; the body media types' Protocol columns
    (HTTP/JSON, HTTP/XML) and Info suffixes, chunked bodies, Continuation; non-ASCII, odd chunk sizes
    and cut header lines stay Python's."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(15)
    frames = [_http_frame(rnd) for _ in range(4000)]
    _same_with_mutants(tmp_path / "http.pcap", frames, 2000, rnd, 54, None, values=(10, 13, 32, 58, 59))
    texts = [t for n, f in enumerate(frames, 1) if (t := w.line(n, 0, f, len(f))) is not None]
    assert len(texts) > 1000
    for want in (" HTTP/JSON ", " HTTP/XML ", " (text/html)", "Continuation", "GET / HTTP/1.1 "):
        assert any(want in t for t in texts), want


def _stp_frame(rnd: random.Random) -> bytes:
    """802.3 + LLC frames: STP BPDUs (configuration, RST, MST, TCN, unknown types; cut, 802.3 lengths
    short and long) and other DSAPs."""
    t = rnd.choice((0, 0, 2, 2, 0x80, 7))
    ver = rnd.choice((0, 2, 3, 4))
    bpdu = struct.pack(">HBB", 0, ver, t)
    if t != 0x80:
        bpdu += struct.pack(
            ">BH6sIH6sH",
            rnd.randrange(256),
            rnd.randrange(65536),
            bytes(rnd.randrange(256) for _ in range(6)),
            rnd.randrange(2**32),
            rnd.randrange(65536),
            bytes(rnd.randrange(256) for _ in range(6)),
            rnd.randrange(65536),
        )
        bpdu += bytes(rnd.randrange(256) for _ in range(8)) + bytes(rnd.choice((0, 0, 1, 30)))
    if rnd.random() < 0.1:
        bpdu = bpdu[: rnd.randrange(len(bpdu) + 1)]
    dsap = rnd.choice((0x42, 0x42, 0x42, 0xE0, 0xFE, 0xAA))
    llc = bytes((dsap, dsap, 3)) + bpdu
    ln = len(llc) + rnd.choice((0, 0, 0, -5, 10, 2000))
    frame = bytes.fromhex("0180c2000000") + b"\2" * 6 + struct.pack(">H", max(0, ln) & 0xFFFF) + llc
    return frame + b"\0" * max(0, 60 - len(frame))


@native
def test_stp_same_text(tmp_path: Path) -> None:
    """Session 9: STP BPDUs after an 802.3 LLC header (l2ctl.dissect_stp's Info) from the walker: 3 000
    synthetic frames, then mutated and cut, equal the pure loop's text."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(16)
    frames = [_stp_frame(rnd) for _ in range(3000)]
    _same_with_mutants(tmp_path / "stp.pcap", frames, 1500, rnd, 12, None)
    texts = [t for n, f in enumerate(frames, 1) if (t := w.line(n, 0, f, len(f))) is not None]
    assert len(texts) > 800
    for want in ("Conf. Root = ", "RST. Root = ", "MST. Root = ", "Topology Change Notification"):
        assert any(want in t for t in texts), want


def _outer_ip4(proto: int, payload: bytes) -> bytes:
    head = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0, 64, proto, 0, b"\x0a\0\0\x01", b"\x0a\0\0\x02"
    )
    return head + payload


def _gre(rnd: random.Random, proto: bytes) -> bytes:
    flags = rnd.choice((0, 0, 0x8000, 0x2000, 0x1000, 0x3000, 0xB000, 0x2001, 0x3081, 0x0080, 0x0002))
    words = sum(1 for b in (0x8000, 0x2000, 0x1000) if flags & b) + (flags & 7 == 1 and bool(flags & 0x80))
    return struct.pack("!H", flags) + proto + rnd.randbytes(4 * words)


def _tunnel(rnd: random.Random, inner: bytes) -> bytes:
    """``inner`` (an Ethernet frame: IPv4/IPv6 after 14 bytes) in a tunnel the walker knows: PPPoE,
    MPLS, GRE (flags, transparent Ethernet), Geneve (options), AYIYA (identity, signature, opcodes),
    GRE-in-UDP; lengths right, short and long."""
    eth, et, ip = inner[:12], inner[12:14], inner[14:]
    while et == b"\x81\x00":  # (the inner packet's 802.1Q tags: not in a tunnel's IP)
        et, ip = ip[2:4], ip[4:]
    proto = rnd.choice((et, et, et, b"\x65\x58", b"\x88\x0b", b"\x08\x06"))
    body = inner if proto == b"\x65\x58" else ip
    kind = rnd.randrange(6)
    if kind == 0:
        ppp = rnd.choice(
            (b"\x00\x57" if et == b"\x86\xdd" else b"\x00\x21", b"\x00\x21", b"\x21", b"\xc0\x21")
        )
        plen = rnd.choice((len(ip) + len(ppp),) * 3 + (len(ip) - 4, len(ip) + 40, 0, 1))
        pad = bytes(rnd.choice((0, 0, 6)))
        return (
            eth
            + b"\x88\x64"
            + bytes([0x11, rnd.choice((0, 0, 0, 7))])
            + struct.pack("!HH", 1, max(0, plen))
            + ppp
            + ip
            + pad
        )
    if kind == 1:
        n = rnd.choice((1, 1, 2, 3))
        labels = b"".join(
            struct.pack("!I", rnd.randrange(1 << 20) << 12 | (i == n - 1) << 8 | 64) for i in range(n)
        )
        return eth + rnd.choice((b"\x88\x47", b"\x88\x48")) + labels + ip
    if kind == 2:
        return eth + b"\x08\x00" + _outer_ip4(47, _gre(rnd, proto) + body)
    if kind == 3:
        opt = rnd.choice((0, 0, 1, 2, 40))
        tun = bytes([opt, 0]) + proto + b"\0\0\x2a\0" + rnd.randbytes(4 * min(opt, 2)) + body
        port = 6081
    elif kind == 4:
        b0 = rnd.choice((0x00, 0x11, 0x41, 0xF1))
        b1 = rnd.choice((0x00, 0x52, 0x12))
        nh = rnd.choice((4, 41, 41, 59)) if rnd.random() < 0.3 else (41 if et == b"\x86\xdd" else 4)
        idl = (1 << (b0 >> 4)) if b0 >> 4 else 0
        tun = (
            bytes([b0, b1, rnd.choice((0x11, 0x11, 0x12, 0x10)), nh])
            + rnd.randbytes(4 + min(idl, 64) + (b1 >> 4) * 4)
            + ip
        )
        port = 5072
    else:
        tun, port = _gre(rnd, proto) + body, 4754
    sp = rnd.choice((40000, 40000, 53, 7000))
    udp = struct.pack("!HHHH", sp, port, 8 + len(tun), 0) + tun
    return eth + b"\x08\x00" + _outer_ip4(17, udp)


@native
def test_tunnels_same_text(tmp_path: Path) -> None:
    """Session 10: IPv4/IPv6 inside PPPoE, MPLS, GRE, Geneve, AYIYA and GRE-in-UDP (one level) is
    formatted by the walker as the inner packet, as tunnels.py/inet.py dissect it: the corpus captures of
    each and the session-8 kinds wrapped in them, then mutated and cut, equal the pure loop's text."""
    w = native_walker()
    assert w is not None
    took = 0
    for name in (
        "tcpdump__geneve.pcap",
        "zeek__mixed-vlan-mpls.pcap",
        "zeek__pppoe-over-qinq.pcap",
        "zeek__tunnels__ayiya3.pcap",
        "zeek__tunnels__gre-over-udp-4754.pcap",
        "zeek__tunnels__gre-sample.pcap",
        "tcpdump__wccp_redirect_gre.pcap",
    ):
        p = TESTS / "corpus/tcp" / name
        _both(str(p))
        with open_capture(str(p)) as r:
            took += sum(1 for n, fr in enumerate(r, 1) if w.line(n, fr[0], fr[1], fr[2]) is not None)
    assert took >= 100
    rnd = random.Random(10)
    frames = [_tunnel(rnd, _session8_frame(rnd)) for _ in range(8000)]
    p = _same_with_mutants(tmp_path / "tunnels.pcap", frames, 4000, rnd, 12, 80)
    with open_capture(str(p)) as r:
        took = sum(1 for n, fr in enumerate(r, 1) if w.line(n, fr[0], fr[1], fr[2]) is not None)
    assert took > 800


@native
def test_long_dns_responses_same_text(tmp_path: Path) -> None:
    """Session 10: DNS responses with many records (up to 100, an Info of up to 2300 characters: a
    resolver's answer for a CDN name) are the walker's, with lines longer than the 768 bytes walk() once
    reserved per line; equal to the pure loop's, also mutated and cut."""
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    w = native_walker()
    assert w is not None
    rnd = random.Random(11)
    frames = []
    for _ in range(400):
        name = rnd.choice(("video.google.com", "a.b", "x" * 60 + ".example.net"))
        n = rnd.choice((10, 20, 30, 60, 99, 120))
        an = [DNSRR(rrname=name, type="CNAME", rdata="edge." + name)]
        an += [DNSRR(rrname="edge." + name, type="A", rdata=f"10.0.{i // 256}.{i % 256}") for i in range(n)]
        dns = DNS(id=rnd.randrange(65536), qr=1, rd=1, ra=1, qd=DNSQR(qname=name), an=an)
        p = Ether() / IP(src="10.0.0.53", dst="10.0.0.1") / UDP(sport=53, dport=40000) / dns
        frames.append(bytes(p))
    path = _same_with_mutants(tmp_path / "dns.pcap", frames, 400, rnd, 42)
    with open_capture(str(path)) as r:
        lines = [w.line(n, fr[0], fr[1], fr[2]) for n, fr in enumerate(r, 1)]
    long = [s for s in lines if s is not None and len(s) > 768]
    assert len(long) > 100 and max(len(s) for s in long) > 1200
    _both(str(path), batch=4096)  # (walk() with many long lines in one call)


def _nd_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv6, an ND message (RS, RA, NS, NA with every flag mix, Redirect, a non-ND type) with
    0-3 options: source/target link-layer addresses (twice, in either order), prefix, MTU, unknown,
    odd lengths; the checksum left wrong (the columns do not show it)."""
    t = rnd.choice((133, 134, 135, 136, 136, 137, 138))
    fixed = {133: 4, 134: 12, 135: 20, 136: 20, 137: 36, 138: 4}[t]
    body = bytes([rnd.choice((0, 0x80, 0x40, 0x20, 0xE0, 0x60, 0x1F)) if t == 136 else 0]) + rnd.randbytes(3)
    if t in (135, 136, 137):
        body += rnd.choice(
            (bytes(15) + b"\x01", b"\xfe\x80" + bytes(13) + b"\x01", b"\x20\x01\x0d\xb8" + bytes(12))
        )
    body += rnd.randbytes(fixed - len(body))
    opts = b""
    for _ in range(rnd.choice((0, 1, 1, 2, 3))):
        k = rnd.choice((1, 1, 2, 2, 3, 5, 14, 25))
        ln = {3: 4, 25: 3}.get(k, 1) if rnd.random() < 0.9 else rnd.choice((0, 2, 9))
        opts += bytes([k, ln]) + rnd.randbytes(max(0, ln * 8 - 2))
    icmp = bytes([t, rnd.choice((0, 0, 0, 1))]) + b"\0\0" + body + opts
    ip = (
        struct.pack("!IHBB", 0x60000000, len(icmp), 58, 255)
        + b"\xfe\x80"
        + bytes(13)
        + b"\x02"
        + b"\xff\x02"
        + bytes(13)
        + b"\x01"
    )
    return b"\x33\x33\0\0\0\x01\x02\0\0\0\0\x02\x86\xdd" + ip + icmp


@native
def test_nd_same_text(tmp_path: Path) -> None:
    """Session 10: ICMPv6 Neighbor Discovery (RS, RA, NS, NA, Redirect) is the walker's, as
    icmp.dissect_icmpv6 and _nd_options write it ("for" the target, NA's flags, "from" / "is at" the
    first source / target link-layer address in option order); cut or zero-length options are Python's."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(12)
    frames = [_nd_frame(rnd) for _ in range(4000)]
    p = _same_with_mutants(tmp_path / "nd.pcap", frames, 3000, rnd, 54)
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2000
    for want in (
        " is at ",
        " from ",
        "(rtr, sol, ovr)",
        "Neighbor Solicitation for fe80::1",
        "Redirect",
        "Router Advertisement",
    ):
        assert want in text, want
    _both(str(TESTS / "corpus/captures/zeek__ipv6-http-atomic-frag.pcap"))


def _sip_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, UDP 5060, a SIP message: requests of every method (and unknown ones), status lines
    (2xx with their CSeq method, odd codes), headers in long, compact and odd case forms, REGISTERs with
    contact lists (quotes, <>, "*", expires parameters and headers), SDP and other bodies, CR-less lines."""
    eol = rnd.choice((b"\r\n", b"\r\n", b"\n", b"\r\r\n"))
    if rnd.random() < 0.55:
        meth = rnd.choice(
            (b"INVITE", b"REGISTER", b"REGISTER", b"ACK", b"BYE", b"CANCEL", b"OPTIONS", b"FOO")
        )
        first = meth + b" " + rnd.choice((b"sip:bob@example.com", b"sip:x", b"", b"sip:a b")) + b" SIP/2.0"
        first += rnd.choice((b"", b"", b"x"))
    else:
        first = b"SIP/2.0 " + rnd.choice(
            (b"200 OK", b"100 Trying", b"401 Unauthorized", b"202", b"0200 OK", b"2x0 OK", b"99999999999 X")
        )
        meth = rnd.choice((b"REGISTER", b"INVITE", b"BYE"))
    heads = [b"Via: SIP/2.0/UDP 10.0.0.1:5060", b"From: <sip:a@b>;tag=1", b"To: <sip:a@b>"]
    heads.append(
        rnd.choice(
            (
                b"CSeq: 1 " + meth,
                b"CSeq:  2   " + meth + b" ",
                b"cseq: 3 " + meth,
                b"CSeq: 4",
                b"CSEQ: 5 REGISTER",
            )
        )
    )
    for _ in range(rnd.choice((0, 1, 1, 2))):
        heads.append(
            rnd.choice((b"Contact: ", b"m: ", b"contact:", b"M: "))
            + rnd.choice(
                (
                    b"<sip:a@10.0.0.1>",
                    b"<sip:a@10.0.0.1>;expires=0",
                    b"<sip:a@10.0.0.1>;Expires = 0, <sip:b@x>;expires=3600",
                    b'"Bob, Jr" <sip:b@x>, <sip:c@y;expires=0>',
                    b"*",
                    b"<sip:a@x>,",
                    b"<sip:a@x>, ,",
                    b"sip:a@x;expires=0",
                    b"<<sip:a@x>, b",
                )
            )
        )
    if rnd.random() < 0.4:
        heads.append(rnd.choice((b"Expires: 0", b"Expires: 3600", b"expires:0 ", b"Expires: 00")))
    body = b""
    if rnd.random() < 0.5:
        body = rnd.choice(
            (
                b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
                b"hello",
            )
        )
        heads.append(
            rnd.choice(
                (b"Content-Type: application/sdp", b"c: Application/SDP; x=1", b"Content-Type: text/plain")
            )
        )
    msg = eol.join([first, *rnd.sample(heads, len(heads))]) + eol + rnd.choice((eol, eol, b"")) + body
    if rnd.random() < 0.03:
        msg = msg.replace(b"sip:", b"sip:\xc3\xa9")
    udp = struct.pack("!HHHH", rnd.choice((5060, 40000)), 5060, 8 + len(msg), 0) + msg
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, udp)


@native
def test_sip_same_text(tmp_path: Path) -> None:
    """Session 10: SIP over UDP 5060 is the walker's, as voip.dissect_sip_at writes its columns (the
    request or status line, a 2xx's CSeq method, a REGISTER's bindings, SIP/SDP); mutated and cut messages
    too. The corpus's SIP captures are in test_every_corpus_capture_same_text."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(13)
    frames = [_sip_frame(rnd) for _ in range(4000)]
    p = _same_with_mutants(tmp_path / "sip.pcap", frames, 3000, rnd, 42, 200, tuple(b' :;<>,\r\n"*0'))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2500
    for want in (
        " SIP/SDP ",
        "(remove all bindings)",
        "(remove 2 bindings)",
        " (1 binding)",
        "(REGISTER)",
        "Status: 0200 OK",
    ):
        assert want in text, want


def _xdr_opaque(b: bytes) -> bytes:
    return struct.pack("!I", len(b)) + b + bytes(-len(b) % 4)


def _rpc_call_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, an ONC RPC call over UDP or TCP (one record mark, or two): Portmap, MOUNT, NFSv3
    (every procedure's arguments, NFSv2/v4 too), NFSACL, NLM and unknown programs; AUTH_UNIX (with gids)
    and AUTH_NULL; ASCII and latin-1 names; argument lists cut short."""
    prog = rnd.choice((100003, 100003, 100003, 100005, 100000, 100227, 100021, 123456))
    vers = 3 if prog == 100003 and rnd.random() < 0.8 else rnd.choice((1, 2, 3, 4))
    proc = rnd.randrange(23) if prog == 100003 else rnd.randrange(7)
    if rnd.random() < 0.5:
        machine = rnd.choice((b"host", b"", b"a-much-longer-machine-name"))
        gids = rnd.choice((0, 2, 20))
        cred = struct.pack("!I", 7) + _xdr_opaque(machine) + struct.pack("!III", 0, 0, gids) + bytes(4 * gids)
        auth = struct.pack("!II", 1, len(cred)) + cred
    else:
        auth = struct.pack("!II", 0, 0)
    auth += struct.pack("!II", 0, 0)

    def fh() -> bytes:
        return _xdr_opaque(rnd.randbytes(rnd.choice((8, 28, 32, 64))))

    def name() -> bytes:
        return _xdr_opaque(rnd.choice((b"testfile", b"a b", b"", b"caf\xe9", b"x" * 40)))

    sattr = b"".join(
        struct.pack("!I", f) + (bytes(8 if i == 3 else 4) if f else b"")
        for i, f in enumerate(rnd.choice((0, 1)) for _ in range(4))
    ) + b"".join(
        struct.pack("!I", t) + (bytes(8) if t == 2 else b"")
        for t in (rnd.choice((0, 1, 2)) for _ in range(2))
    )
    args = {
        3: fh() + name(),
        4: fh() + struct.pack("!I", rnd.choice((0, 1, 0x1F, 0x2D, 0x3F, 0x40))),
        6: fh() + struct.pack("!QI", rnd.choice((0, 4096, 1 << 40)), 512),
        7: fh() + struct.pack("!QII", 0, 512, rnd.choice((0, 1, 2, 7))),
        8: fh() + name() + struct.pack("!I", rnd.choice((0, 1, 2, 9))),
        10: fh() + name() + sattr + name(),
        14: fh() + name() + fh() + name(),
        15: fh() + fh() + name(),
    }.get(proc, fh())
    if prog == 100005:
        args = _xdr_opaque(rnd.choice((b"/export", b"/home/x", b"\xff")))
    elif prog == 100000:
        args = struct.pack("!IIII", rnd.choice((100003, 100005, 7)), 3, rnd.choice((6, 17, 99)), 0)
    msg = (
        struct.pack("!IIIIII", rnd.randrange(2**32), 0, rnd.choice((2, 2, 2, 3)), prog, vers, proc)
        + auth
        + args
    )
    if rnd.random() < 0.15:
        msg = msg[: rnd.randrange(12, len(msg) + 1)]
    port = rnd.choice((2049, 2049, 111, 20048))
    if rnd.random() < 0.5:
        udp = struct.pack("!HHHH", 800, port, 8 + len(msg), 0) + msg
        return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, udp)
    rec = struct.pack("!I", 0x80000000 | rnd.choice((len(msg),) * 5 + (len(msg) + 100, 8))) + msg
    if rnd.random() < 0.1:
        rec += rec
    return _eth_tcp4(800, port, rec)


@native
def test_rpc_calls_same_text(tmp_path: Path) -> None:
    """Session 10: ONC RPC calls (rpc._call: Portmap, MOUNT, NFSv3 with its arguments and file handle
    hashes, NFSACL, others) over UDP and TCP (one record) are the walker's; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(14)
    frames = [_rpc_call_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(tmp_path / "rpc.pcap", frames, 3000, rnd, 42, 140, (0, 1, 2, 3, 255))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2500
    for want in (
        "V3 GETATTR Call, FH: 0x",
        "[Check: RD MD XT XE]",
        "[Check: ]",
        " Mode: GUARDED",
        " FILE_SYNC",
        "V3 SYMLINK Call, From DH: 0x",
        "V3 RENAME Call, From DH: 0x",
        " MOUNT ",
        "NFS(100003) V:3 TCP",
        "Unknown proc (",
        " NFSACL ",
        " RPC ",
    ):
        assert want in text, want


def _ber(tag: int, body: bytes, long_form: bool = False) -> bytes:
    n = len(body)
    if n < 128 and not long_form:
        return bytes([tag, n]) + body
    k = max(1, (n.bit_length() + 7) // 8)
    return bytes([tag, 0x80 | k]) + n.to_bytes(k, "big") + body


def _snmp_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, UDP 161/162, an SNMP message: v1, v2c (and v3, Python's), every PDU type and
    unknown ones, long-form lengths, 0-4 bindings whose names have one- to nine-byte components (and
    none), values of every kind; cut."""

    def oid() -> bytes:
        comps = rnd.choice(
            (
                b"\x2b\x06\x01\x02\x01\x01\x03\x00",
                b"\x2b\x06\x01\x04\x01\x82\x37\x01",
                b"",
                b"\x81\x00\x05",
                b"\x2b" + b"\xff" * 9 + b"\x01",
                b"\x2b\x86",
            )
        )
        return _ber(6, comps)

    binds = b"".join(
        _ber(
            0x30,
            oid()
            + rnd.choice(
                (b"\x05\x00", _ber(2, b"\x01"), _ber(4, b"abc"), _ber(0x43, b"\x01\x02"), b"\x82\x00")
            ),
            rnd.random() < 0.2,
        )
        for _ in range(rnd.choice((0, 1, 1, 2, 4)))
    )
    kind = rnd.choice((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 31))
    pdu = _ber(
        0xA0 | kind,
        _ber(2, b"\x12\x34") + _ber(2, b"\0") + _ber(2, b"\0") + _ber(0x30, binds),
        rnd.random() < 0.2,
    )
    version = rnd.choice(
        (b"\x00", b"\x01", b"\x01", b"\x00\x01", b"\x03", b"\x00\x03", b"\x01\x02\x03\x04\x05")
    )
    msg = _ber(0x30, _ber(2, version) + _ber(4, b"public") + pdu, rnd.random() < 0.2)
    if rnd.random() < 0.1:
        msg = msg[: rnd.randrange(len(msg) + 1)]
    ports = rnd.choice(((40000, 161), (161, 40000), (40000, 162), (161, 162), (53, 161)))
    udp = struct.pack("!HHHH", *ports, 8 + len(msg), 0) + msg
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, udp)


@native
def test_snmp_same_text(tmp_path: Path) -> None:
    """Session 10: SNMP v1/v2c over UDP 161/162 is the walker's, as snmp._snmp writes the Info (the PDU
    type and the object names); v3 and messages SNMP refuses are Python's; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(15)
    frames = [_snmp_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(
        tmp_path / "snmp.pcap", frames, 3000, rnd, 42, 120, (0, 2, 3, 4, 0x30, 0x81, 0x82, 0x7F)
    )
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 1500
    for want in (
        " SNMP ",
        "get-request 1.3.6.1.2.1.1.3.0",
        "PDU 31",
        " trap",
        "1.3.6.1.4.1.311.1",
        "getBulkRequest",
    ):
        assert want in text, want


def _smb2_msg(rnd: random.Random, chain: int) -> bytes:
    cmd = rnd.choice((0, 1, 1, 5, 5, 6, 8, 9, 14, 16, 16, 18, 19, 300))
    resp = rnd.random() < 0.5
    status = rnd.choice((0, 0, 0xC0000016, 0x80000006, 0x12345678, 0xC0000128)) if resp else 0
    head = b"\xfeSMB" + struct.pack("<HHIHHIIQ", 64, 1, status, cmd, 1, int(resp), chain, 7) + bytes(32)
    body = b""
    if cmd == 5 and not resp:
        name = rnd.choice(("Test\\2011-2012 Payroll.xlsx", "", "caf\u00e9", "a")).encode("utf-16-le")
        name = name[:-1] if rnd.random() < 0.1 else name
        body = (
            struct.pack("<H", 57)
            + bytes(42)
            + struct.pack("<HH", rnd.choice((120, 120, 500)), len(name))
            + bytes(8)
            + name
        )
    elif cmd in (8, 9) and not resp:
        body = struct.pack("<HHIQ", 49, 0, 65536, rnd.choice((0, 4096, 1 << 40))) + bytes(
            rnd.choice((0, 8, 32))
        )
    elif cmd == 16 and not resp:
        body = struct.pack(
            "<HBB", 41, rnd.choice((1, 2, 3, 4, 9)), rnd.choice((5, 7, 22, 3, 1, 200))
        ) + bytes(rnd.choice((0, 4, 36)))
    elif cmd == 1:
        t = rnd.choice((1, 2, 3, 3, 9))
        ntlm = b"NTLMSSP\0" + struct.pack("<I", t)
        if t == 3:
            dom, user = rnd.choice(("DOM", "", "d\u00f6m")).encode("utf-16-le"), "bob".encode("utf-16-le")
            ntlm += (
                bytes(16)
                + struct.pack("<HHI", len(dom), len(dom), 64)
                + struct.pack("<HHI", len(user), len(user), 64 + len(dom))
            )
            ntlm += bytes(64 - len(ntlm)) + dom + user
        blob = rnd.randbytes(rnd.choice((0, 5))) + ntlm
        fixed = (
            bytes(4) + struct.pack("<HH", 64 + 8, len(blob))
            if resp
            else bytes(12) + struct.pack("<HH", 64 + 24, len(blob))
        )
        fixed += bytes((8 if resp else 24) - len(fixed))
        body = fixed + blob
    else:
        body = bytes(rnd.choice((0, 8, 16)))
    return head + body


def _smb2_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, TCP 445/139, an NBSS session message holding one to three chained SMB2 messages
    (every command this knows and unknown ones, errors, Create names in ASCII and not, Read/Write,
    GetInfo classes, Session Setup NTLMSSP messages with users), or SMB1, or another NBSS type; cut."""
    if rnd.random() < 0.1:
        payload = b"\xffSMB" + bytes(60)
    else:
        msgs = [_smb2_msg(rnd, 0) for _ in range(rnd.choice((1, 1, 1, 2, 3)))]
        payload = b""
        for i, m in enumerate(msgs):
            if i + 1 < len(msgs):
                m = m + bytes(-len(m) % 8)
                m = m[:20] + struct.pack("<I", rnd.choice((len(m),) * 4 + (0, 4))) + m[24:]
            payload += m
    nb = bytes([rnd.choice((0, 0, 0, 0x85))]) + rnd.choice(
        (len(payload), len(payload), 30, len(payload) + 50)
    ).to_bytes(3, "big")
    pl = nb + payload
    if rnd.random() < 0.1:
        pl = pl[: rnd.randrange(len(pl) + 1)]
    ports = rnd.choice(((49000, 445), (445, 49000), (49000, 139), (139, 445)))
    tcp = struct.pack("!HHIIHHHH", *ports, 1, 2, 0x5018, 512, 0, 0) + pl
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(6, tcp)


@native
def test_smb2_same_text(tmp_path: Path) -> None:
    """Session 10: SMB2 in an NBSS session message (TCP 139/445) is the walker's, as smb._smb2 writes the
    Info (commands, errors, Create file names, Read/Write, GetInfo classes, NTLMSSP, chains); mutated
    and cut too. The corpus's SMB2 captures are in test_every_corpus_capture_same_text."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(16)
    frames = [_smb2_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(tmp_path / "smb2.pcap", frames, 3000, rnd, 54, 160, (0, 1, 3, 5, 0x40, 0xFE))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2000
    for want in (
        "Create Request File: Test\\2011-2012 Payroll.xlsx",
        "Error: STATUS_MORE_PROCESSING_REQUIRED",
        "Error: Unknown (0x12345678)",
        "NTLMSSP_AUTH, User: DOM\\bob",
        "GetInfo Request FILE_INFO/SMB2_FILE_EA_INFO",
        "QUOTA_INFO/SMB2_QUOTA_INFO_",
        "Unknown (9)/SMB2_UNKNOWN_",
        " Len:65536 Off:1099511627776",
        "Unknown (300) ",
        ";",
    ):
        assert want in text, want


def _nb_encode(name: bytes, suffix: int) -> bytes:
    raw = name.ljust(15, b" ")[:15] + bytes([suffix])
    return b"\x20" + bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 15)))


def _nbns_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, UDP 137, an NBNS message: every opcode (and unknown ones), responses with reply
    codes, 0-3 questions and 0-3 answers (NB with 0-3 addresses, NBSTAT, others; compression pointers,
    scopes, names with unprintable bytes), cut."""
    resp = rnd.random() < 0.4
    flags = (
        (0x8000 if resp else 0)
        | rnd.choice((0, 5, 6, 8, 3, 15)) << 11
        | (rnd.choice((0, 0, 3, 9)) if resp else 0)
    )
    nq, na = rnd.choice((0, 1, 1, 2, 3)), rnd.choice((0, 0, 1, 2)) if resp else 0
    body = b""
    for _ in range(nq):
        nm = rnd.choice((b"WORKGROUP", b"\x01\x02__MSBROWSE__\x02", b"A B", b"DJP"))
        scope = rnd.choice((b"\0", b"\0", b"\x03lan\x07example\0", b"\x03l\xe9n\0"))
        body += _nb_encode(nm, rnd.choice((0, 0x1B, 0x1D, 0x20)))[:-1] + _nb_encode(nm, 0x1B)[-1:] + scope
        body += struct.pack("!HH", rnd.choice((0x20, 0x21, 0x99)), 1)
    for _ in range(na):
        name = rnd.choice((b"\xc0\x0c", _nb_encode(b"HOST", 0x20) + b"\0", b"\xc0\x40"))
        rt = rnd.choice((0x20, 0x20, 0x21, 0x30))
        rdata = b"".join(
            struct.pack("!H4s", 0x6000, bytes([10, 0, 0, i])) for i in range(rnd.choice((0, 1, 3)))
        )
        body += name + struct.pack("!HHIH", rt, 1, 300, len(rdata) + rnd.choice((0, 0, 4))) + rdata
    msg = struct.pack("!HHHHHH", rnd.randrange(65536), flags, nq, na, 0, rnd.choice((0, 1))) + body
    if rnd.random() < 0.1:
        msg = msg[: rnd.randrange(len(msg) + 1)]
    udp = struct.pack("!HHHH", 137, rnd.choice((137, 40000)), 8 + len(msg), 0) + msg
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, udp)


@native
def test_nbns_same_text(tmp_path: Path) -> None:
    """Session 10: NBNS (UDP 137) is the walker's, as netbios.dissect_nbns writes the Info (operation,
    reply code, questions' types and names, answers' types and addresses); mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(17)
    frames = [_nbns_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(tmp_path / "nbns.pcap", frames, 3000, rnd, 42, 160, (0, 0x20, 0x41, 0x50, 0xC0))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2000
    for want in (
        "Name query NB WORKGROUP<1b>",
        "Registration NB <01><02>__MSBROWSE__<02><1b>",
        "<1b>.lan.example",
        "Unknown operation (3)",
        "response, Name error",
        "NB 10.0.0.0 10.0.0.1 10.0.0.2",
        " NBSTAT ",
        " 153 ",
    ):
        assert want in text, want


def _v6_ext(rnd: random.Random, nxt: int) -> tuple[bytes, int]:
    """0-2 hop-by-hop / destination options headers (router alert, padding, odd and overlong options)
    before next header ``nxt``: (the headers, the first next header)."""
    heads: list[tuple[int, bytes]] = []
    for _ in range(rnd.choice((0, 1, 1, 1, 2))):
        opts = rnd.choice(
            (
                b"\x05\x02\x00\x00\x01\x00",
                b"\x01\x04\x00\x00\x00\x00",
                b"\x00" * 6,
                b"\x05\x09\0\0\0\0",
                b"\x01\x0c" + bytes(12),
            )
        )
        heads.append((rnd.choice((0, 0, 60)), opts))
    out = b""
    first = nxt
    for kind, opts in reversed(heads):
        out = bytes([first, (len(opts) + 2) // 8 - 1]) + opts + out
        first = kind
    return out, first


def _mld_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv6 with hop-by-hop options (as MLD has them), MLD: v1 and v2 queries (general,
    specific, with sources), v1 reports and done, v2 reports with 0-3 records of every type (sources,
    auxiliary data); or a session-8 IPv6 packet behind options headers; cut."""
    if rnd.random() < 0.3:
        f = _session8_frame(rnd)
        while f[12:14] == b"\x81\x00":
            f = f[:12] + f[16:]
        if f[12:14] != b"\x86\xdd":
            return f
        ip = f[14:]
        ext, first = _v6_ext(rnd, ip[6])
        ip = (
            ip[:4]
            + struct.pack("!H", struct.unpack("!H", ip[4:6])[0] + len(ext))
            + bytes([first])
            + ip[7:40]
            + ext
            + ip[40:]
        )
        return f[:14] + ip
    t = rnd.choice((130, 130, 131, 132, 143, 143))
    group = rnd.choice(
        (bytes(16), b"\xff\x02" + bytes(13) + b"\xfb", b"\xff\x02" + bytes(9) + b"\x01\xff\x00\x00\x01")
    )
    if t == 130:
        body = struct.pack("!HH", 1000, 0) + group
        if rnd.random() < 0.6:
            ns = rnd.choice((0, 1, 2))
            body += struct.pack("!BBH", 2, 125, ns + rnd.choice((0, 0, 1))) + b"".join(
                b"\x20\x01\x0d\xb8" + bytes(11) + bytes([i + 1]) for i in range(ns)
            )
    elif t in (131, 132):
        body = struct.pack("!HH", 0, 0) + group
    else:
        recs = b""
        n = rnd.choice((0, 1, 2, 3))
        for _ in range(n):
            ns, aux = rnd.choice((0, 0, 1, 2)), rnd.choice((0, 0, 1))
            recs += struct.pack("!BBH", rnd.choice((1, 2, 3, 4, 4, 5, 6, 9)), aux, ns) + group
            recs += b"".join(b"\xfe\x80" + bytes(13) + bytes([i + 1]) for i in range(ns)) + bytes(4 * aux)
        body = struct.pack("!HH", 0, n + rnd.choice((0, 0, 0, 1))) + recs
    icmp = bytes([t, 0]) + b"\0\0" + body
    ext, first = _v6_ext(rnd, 58)
    ip = (
        struct.pack("!IHBB", 0x60000000, len(ext) + len(icmp), first, 1)
        + b"\xfe\x80"
        + bytes(13)
        + b"\x02"
        + b"\xff\x02"
        + bytes(13)
        + b"\x16"
    )
    return b"\x33\x33\0\0\0\x16\x02\0\0\0\0\x02\x86\xdd" + ip + ext + icmp


@native
def test_mld_and_ipv6_options_same_text(tmp_path: Path) -> None:
    """Session 10: MLD (queries, v1 reports and done, v2 reports' records) and any walker packet behind
    IPv6 hop-by-hop / destination options headers are the walker's, as icmp.dissect_icmpv6 and
    inet.dissect_hopopts/dissect_dstopts give the columns; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(18)
    frames = [_mld_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(tmp_path / "mld.pcap", frames, 3000, rnd, 54, 180, (0, 1, 2, 4, 58, 60, 130, 143))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2500
    for want in (
        "Multicast Listener Query v2, general",
        "Multicast Listener Query v1, specific for group ff02::fb",
        "Multicast Listener Report group ff02::1:ff00:1",
        "Multicast Listener Done group",
        "Multicast Listener Report Message v2 / Join group ff02::fb for any sources",
        "for source {fe80::1, fe80::2}",
        "Record type 9",
        " TCP ",
    ):
        assert want in text, want


def _tls_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, TCP on a TLS port or any other, a segment of TLS records: application data,
    change cipher spec, alerts (plain, encrypted), encrypted and parsable handshakes, heartbeats, type
    25, empty records, a record cut by the segment's end, 5 unknown bytes after; or data, SSLv2."""
    recs = b""
    for _ in range(rnd.choice((1, 1, 2, 3))):
        ct = rnd.choice((23, 23, 20, 21, 21, 22, 22, 24, 25))
        if ct == 22:
            body = rnd.choice(
                (
                    rnd.randbytes(40),
                    b"\x01\x00\x00\x04" + bytes(4),
                    b"\x14\x00\x00\x0c" + rnd.randbytes(12),
                    b"",
                )
            )
        elif ct == 21:
            body = rnd.choice((b"\x02\x28", b"\x01\x00", b"\x03\x00", rnd.randbytes(26), b"\x02\xee"))
        elif ct == 24:
            body = rnd.choice((b"\x01" + rnd.randbytes(18), b"\x02\x00", b""))
        else:
            body = rnd.randbytes(rnd.choice((1, 16, 100)))
        recs += bytes([ct, 3, rnd.choice((0, 1, 3, 3, 4))]) + struct.pack("!H", len(body)) + body
    recs += rnd.choice((b"", b"", b"", b"\x17\x03\x03\x01\x00abc", b"hello", b"\x17\x03"))
    if rnd.random() < 0.1:
        recs = rnd.choice(
            (b"\x80\x2e\x01\x03\x01" + bytes(20), b"GET / HTTP/1.1\r\n\r\n", b"\x17\x03\x03\x00\x00")
        )
    ports = rnd.choice(
        ((49000, 443), (443, 49000), (49000, 8443), (49000, 51000), (51000, 49000), (49000, 80), (49000, 22))
    )
    tcp = struct.pack("!HHIIHHHH", *ports, 1, 2, 0x5018, 512, 0, 0) + recs
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(6, tcp)


@native
def test_tls_records_same_text(tmp_path: Path) -> None:
    """Session 10: TLS records (not handshake messages, which stay Python's) on TLS ports and by the
    TLS heuristic are the walker's, as tls.dissect_tls writes the columns; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(19)
    frames = [_tls_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(
        tmp_path / "tls.pcap", frames, 3000, rnd, 54, 140, (0, 3, 4, 20, 21, 22, 23, 24, 25)
    )
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2500
    for want in (
        " TLSv1.2 ",
        " TLSv1.3 ",
        " SSLv3 ",
        " SSL ",
        "Application Data, Change Cipher Spec",
        "Alert (Level: Fatal, Description: Handshake Failure)",
        "Encrypted Alert",
        "Encrypted Handshake Message",
        "Heartbeat Request",
        "Ignored Unknown Record",
    ):
        assert want in text, want


def _isis_frame(rnd: random.Random) -> bytes:
    """802.3 + LLC (DSAP 0xfe) frames: IS-IS PDUs of every type (and unknown ones), other NLPIDs, fixed
    parts whole, cut and past the 802.3 length."""
    t = rnd.choice((15, 16, 17, 18, 20, 24, 25, 26, 27, 19, 0x31))
    body = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 7, 10, 11, 16, 24, 25, 40))))
    if rnd.random() < 0.3:  # small lifetimes: the column's padding
        body = body[:2] + struct.pack(">H", rnd.choice((0, 5, 99, 1200))) + body[4:]
    pdu = bytes((rnd.choice((0x83, 0x83, 0x83, 0x81)), 27, 1, 0, t | rnd.choice((0, 0x20)), 1, 0, 0)) + body
    llc = bytes((0xFE, 0xFE, 3)) + pdu
    ln = len(llc) + rnd.choice((0, 0, 0, -5, 10))
    frame = bytes.fromhex("0180c2000014") + b"\2" * 6 + struct.pack(">H", max(0, ln)) + llc
    return frame + b"\0" * max(0, 60 - len(frame))


@native
def test_isis_same_text(tmp_path: Path) -> None:
    """Session 11: IS-IS after an 802.3 LLC header (l2ctl.dissect_isis's Info: hellos, LSPs, CSNPs, PSNPs)
    from the walker, as the pure loop writes them; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(18)
    frames = [_isis_frame(rnd) for _ in range(3000)]
    _same_with_mutants(tmp_path / "isis.pcap", frames, 2000, rnd, 12, 40, (0x83, 0xFE, 15, 18, 24, 26))
    texts = [t for n, f in enumerate(frames, 1) if (t := w.line(n, 0, f, len(f))) is not None]
    assert len(texts) > 1000
    for want in (
        " ISIS HELLO ",
        "P2P HELLO, System-ID: ",
        ", Lifetime:     5s",
        "L2 CSNP, Source-ID: ",
        "L1 PSNP",
    ):
        assert any(want in t for t in texts), want


def _ssh_kex_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4 or IPv6, TCP to or from port 22: a banner (CR, LF, neither, a byte >= 0x80), or
    plain packets (Key Exchange Init, the ECDH/DH messages 30-34 with EC-point-sized and host-key
    bodies, service and auth messages, many of them, New Keys then encrypted bytes), or encrypted."""

    def pkt(code: int, body: bytes = b"") -> bytes:
        pad = rnd.choice((4, 6, 11))
        return struct.pack("!IBB", 2 + len(body) + pad, pad, code) + body + bytes(pad)

    def kex_body(code: int) -> bytes:
        ec = struct.pack("!I", rnd.choice((32, 57, 65, 97, 133, 256, 64)))
        if code == 30:
            return rnd.choice((ec + rnd.randbytes(32), b"\0\0", b"\0\0\x01\x01" + rnd.randbytes(20)))
        if code == 31:
            key = rnd.choice((b"ssh-ed25519", b"ecdsa-sha2", b"rsa-sha2-512", b"x509"))
            body = struct.pack("!I", len(key)) + key
            return rnd.choice((body + ec + rnd.randbytes(8), body, body[:6], rnd.randbytes(20)))
        return rnd.randbytes(rnd.choice((0, 8)))

    n = rnd.choice((1, 1, 2, 3, 31))
    payload = b"".join(
        pkt(c, kex_body(c))
        for c in (rnd.choice((20, 21, 30, 30, 31, 31, 32, 33, 34, 5, 6, 50, 52, 94, 2)) for _ in range(n))
    )
    payload = rnd.choice(
        (
            payload,
            payload,
            payload + pkt(21) + rnd.randbytes(30),
            b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
            b"SSH-2.0-dropbear" + rnd.choice((b"\n", b"", b"\r", b"\r\r\n", b"\xe9\n", b"\n\0\0")),
            rnd.randbytes(rnd.choice((1, 5, 48))),
        )
    )
    sp, dp = rnd.choice(((22, 50000), (50000, 22), (22, 22)))
    tcp = struct.pack("!HHIIHHHH", sp, dp, 1, 2, 0x5018, 512, 0, 0) + payload
    if rnd.random() < 0.3:
        ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, bytes(15) + b"\1", bytes(15) + b"\2")
        return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x86\xdd" + ip6 + tcp
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(6, tcp)


@native
def test_ssh_kex_same_text(tmp_path: Path) -> None:
    """Session 11: SSH's banners and plain key exchange packets (ssh.dissect_ssh's Info with
    _kex_name's guesses for messages 30-33) are the walker's too; mutated and cut."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(20)
    frames = [_ssh_kex_frame(rnd) for _ in range(4000)]
    p = _same_with_mutants(tmp_path / "ssh.pcap", frames, 3000, rnd, 54, 120, (0, 4, 12, 20, 21, 30, 31))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2500
    for want in (
        " SSH ",
        "Server: Protocol (SSH-2.0-OpenSSH_9.2p1 Debian-2)",
        "Client: Key Exchange Init",
        "Elliptic Curve Diffie-Hellman Key Exchange Init",
        "Elliptic Curve Diffie-Hellman Key Exchange Reply",
        "Diffie-Hellman Key Exchange Reply",
        "Diffie-Hellman Group Exchange Group",
        "Diffie-Hellman Group Exchange Request",
        ", New Keys",
        "User Authentication Success",
        "Encrypted packet (len=",
    ):
        assert want in text, want


def _bogus_ip_frame(rnd: random.Random) -> bytes:
    """Ethernet (0-2 802.1Q tags) with the IPv4 or IPv6 type: a bogus version or header length, a
    header cut at any byte, or a whole one."""
    tags = b"".join(
        b"\x81\x00" + struct.pack("!H", rnd.randrange(4096)) for _ in range(rnd.choice((0, 0, 1, 2)))
    )
    if rnd.random() < 0.5:
        first = rnd.choice((0x40, 0x44, 0x4F, 0x45, 0x65, 0x05, 0xF3, 0x46))
        body = bytes([first]) + rnd.randbytes(rnd.choice((0, 10, 19, 30, 60)))
        et = b"\x08\x00"
    else:
        body = bytes([rnd.choice((0x60, 0x60, 0x40, 0x00))]) + rnd.randbytes(
            rnd.choice((0, 1, 20, 39, 40, 60))
        )
        et = b"\x86\xdd"
    body = body[: rnd.randrange(len(body) + 1)] if rnd.random() < 0.3 else body
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + tags + et + body


@native
def test_bogus_ip_same_text(tmp_path: Path) -> None:
    """Session 11: IPv4 with a bogus version or header length and IPv6 headers shorter than 40 bytes
    are the walker's, as inet.dissect_ipv4/dissect_ipv6 write them."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(21)
    frames = [_bogus_ip_frame(rnd) for _ in range(3000)]
    p = _same_with_mutants(tmp_path / "bogus.pcap", frames, 1500, rnd, 12, 24, (0x81, 0x08, 0x86, 0x45, 0x60))
    _lines, text = _walker_text(p)
    for want in (
        "Bogus IP version (6)",
        "Bogus IP header length (0, must be at least 20)",
        "Invalid IPv6 header (20 bytes, need exactly 40)[Malformed Packet]",
        "Invalid IPv6 header (0 bytes",
    ):
        assert want in text, want


@native
def test_unknown_ip_protocols_same_text(tmp_path: Path) -> None:
    """Session 11: IPv4/IPv6 packets of an IP protocol no dissector takes show its description (as
    inet.ipv4_next / ipv6_next write it) from the walker; every protocol number, mutated and cut."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(22)
    frames = []
    for _ in range(3000):
        proto = rnd.randrange(256)
        body = rnd.randbytes(rnd.choice((0, 4, 30)))
        ip = _ip6(proto, body, rnd) if rnd.random() < 0.4 else _ip4p(proto, body, rnd)
        et = b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00"
        frames.append(b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + et + ip)
    p = _same_with_mutants(tmp_path / "ipp.pcap", frames, 1500, rnd, 14, 50, (0, 59, 99, 253, 255))
    _lines, text = _walker_text(p)
    assert re.search(r" IPv6 \d+ Unknown IP Protocol: ", text) and "Unknown (255)" in text
    assert re.search(r" IPv4 \d+ [A-Za-z].* \(\d+\)$", text, re.M)


def _lldp_frame(rnd: random.Random) -> bytes:
    """LLDP (0-1 802.1Q tags): chassis and port ids of every subtype (MACs, IPv4, texts with NULs and a
    byte >= 0x80, hex), TTL, system name and description, other TLVs, the end TLV, TLVs cut."""

    def tlv(t: int, v: bytes) -> bytes:
        return struct.pack("!H", t << 9 | len(v)) + v

    def text() -> bytes:
        return rnd.choice((b"sw1", b"Gi0/1", b"Linux 6.1", b"", b"a\0b", b"caf\xe9", b"x" * 200))

    out = b""
    for _ in range(rnd.choice((1, 3, 4, 6))):
        t = rnd.choice((1, 2, 3, 4, 5, 6, 7, 8, 127, 0))
        if t in (1, 2):
            sub = rnd.randrange(9)
            v = bytes([sub]) + rnd.choice((rnd.randbytes(6), b"\1\x0a\0\0\1", text(), b""))
        elif t == 3:
            v = rnd.choice((b"\0\x78", b"\1", b"\xff\xff"))
        elif t in (5, 6, 4):
            v = text()
        else:
            v = rnd.randbytes(rnd.choice((0, 3, 9)))
        out += tlv(t, v)
    if rnd.random() < 0.1:
        out += b"\x02\x10abc"  # a TLV past the end
    tags = b"\x81\x00\x00\x05" if rnd.random() < 0.2 else b""
    frame = bytes.fromhex("0180c200000e") + b"\2" * 6 + tags + b"\x88\xcc" + out
    return frame + b"\0" * max(0, 60 - len(frame))


def _udld_eap_frame(rnd: random.Random) -> bytes:
    """UDLD in 802.3 + LLC/SNAP (device and port ids, other TLVs, lengths below 4 and past the end,
    other PIDs and OUIs), or EAPOL (every type) carrying EAP (codes, types, lengths short and long)."""
    if rnd.random() < 0.5:
        tl = b""
        for _ in range(rnd.choice((0, 1, 2, 4))):
            t = rnd.choice((1, 2, 3, 7))
            v = rnd.choice((b"FOC1031Z7JG", b"Gi0/1", b"", b"a\0b", b"\xe9"))
            ln = 4 + len(v) + rnd.choice((0, 0, 0, -4, -2, 9))
            tl += struct.pack("!HH", t, max(0, ln)) + v
        pid = rnd.choice((0x0111, 0x0111, 0x2000))
        oui = rnd.choice((b"\0\0\x0c", b"\0\0\x0c", b"\0\0\0"))
        llc = (
            b"\xaa\xaa"
            + bytes([rnd.choice((3, 3, 0x13))])
            + oui
            + struct.pack("!H", pid)
            + b"\x21\x01\0\0"
            + tl
        )
        ln = len(llc) + rnd.choice((0, 0, -3, 10))
        frame = bytes.fromhex("01000ccccccc") + b"\2" * 6 + struct.pack("!H", max(0, ln)) + llc
    else:
        t = rnd.choice((0, 0, 0, 1, 2, 3, 5, 9))
        eap = (
            bytes([rnd.choice((1, 2, 3, 4, 1, 2, 9)), 7])
            + b"\0\x05"
            + bytes([rnd.choice((1, 4, 13, 25, 99, 254))])
        )
        eap += rnd.choice((b"", b"user@example.com"))
        eap = eap[: rnd.choice((len(eap), len(eap), 3, 4, 5))]
        eapol = bytes([rnd.choice((1, 2, 3)), t]) + struct.pack(
            "!H", rnd.choice((len(eap), len(eap), 2, 4, 900))
        )
        frame = bytes.fromhex("0180c2000003") + b"\2" * 6 + b"\x88\x8e" + eapol + eap
    return frame + b"\0" * max(0, 60 - len(frame)) if rnd.random() < 0.7 else frame


@native
def test_lldp_udld_eap_same_text(tmp_path: Path) -> None:
    """Session 11: LLDP, UDLD and EAPOL/EAP (l2ctl.py's Info) are the walker's, as the pure loop writes
    them; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(23)
    frames = [_lldp_frame(rnd) for _ in range(2500)] + [_udld_eap_frame(rnd) for _ in range(2500)]
    p = _same_with_mutants(tmp_path / "l2.pcap", frames, 3000, rnd, 12, 70, (0, 1, 2, 4, 6, 0xAA, 0x0C))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 3000
    for want in (
        " LLDP ",
        "NA/10.0.0.1 ",
        "SysN=sw1 ",
        "SysD=Linux 6.1 ",
        "Device ID: FOC1031Z7JG  Port ID: Gi0/1  ",
        " EAPOL 60 Start",
        "Unknown Type (0x09)",
        "Request, Identity",
        "Response, Protected EAP (EAP-PEAP)",
        "Success",
        "Unknown code (9)",
    ):
        assert want in text, want
    assert re.search(r"MA/[0-9a-f]{2}(:[0-9a-f]{2}){5} ", text)


def _ipx_frame(rnd: random.Random) -> bytes:
    """IPX after 802.3 + LLC (0xe0) or ethertype 0x8137 (0-1 802.1Q tags): SAP, RIP, NBIPX (broadcasts
    with router addresses, name queries, directed datagrams, other types), NMPI, other sockets; cut."""
    sock = rnd.choice((0x0452, 0x0453, 0x0455, 0x0455, 0x0553, 0x4008, 0x0451))
    ptype = rnd.choice((0, 1, 4, 0x14, 0x14))
    socks = (sock, rnd.choice((sock, 0x4000))) if rnd.random() < 0.5 else (0x4000, sock)
    hdr = struct.pack("!HHBB", 0xFFFF, 0, 0, ptype) + rnd.randbytes(4) + rnd.randbytes(6)
    hdr = hdr[:6] + rnd.randbytes(4) + rnd.randbytes(6) + struct.pack("!H", socks[0])
    hdr += rnd.randbytes(10) + struct.pack("!H", socks[1])
    if sock == 0x0455:
        name = rnd.choice((b"\x01\x02__MSBROWSE__\x02", b"WORKGROUP      ", b"A B            ", b"\xe9" * 15))
        body = (
            bytes([0, rnd.choice((1, 2, 5, 6, 0x0B, 0x0C, 0x30))])
            + name
            + bytes([rnd.choice((0, 0x1B, 0x20))])
        )
        body = (rnd.randbytes(32) if ptype == 0x14 else b"") + body + rnd.randbytes(rnd.choice((0, 40)))
    else:
        body = struct.pack("!H", rnd.choice((1, 2, 3, 4, 9, 0x0100))) + rnd.randbytes(rnd.choice((0, 20)))
    ipx = hdr + body
    ipx = ipx[: rnd.randrange(len(ipx) + 1)] if rnd.random() < 0.15 else ipx
    if rnd.random() < 0.6:
        llc = b"\xe0\xe0\x03" + ipx
        ln = len(llc) + rnd.choice((0, 0, -10, 6))
        frame = b"\xff" * 6 + b"\2" * 6 + struct.pack("!H", max(0, ln)) + llc
    else:
        tags = b"\x81\x00\x00\x07" if rnd.random() < 0.2 else b""
        frame = b"\xff" * 6 + b"\2" * 6 + tags + b"\x81\x37" + ipx
    return frame + b"\0" * max(0, 60 - len(frame)) if rnd.random() < 0.7 else frame


@native
def test_ipx_same_text(tmp_path: Path) -> None:
    """Session 11: IPX (SAP, RIP, NBIPX name queries and other types, unknown sockets) is the walker's,
    as l2ctl.dissect_ipx writes the columns; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(24)
    frames = [_ipx_frame(rnd) for _ in range(4000)]
    p = _same_with_mutants(tmp_path / "ipx.pcap", frames, 2500, rnd, 12, 70, (0, 4, 0x14, 0x52, 0x53, 0x55))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2500
    for want in (
        " IPX SAP ",
        "General Response",
        "Nearest Response",
        " IPX RIP ",
        "Unknown Packet Type",
        "Find name <01><02>__MSBROWSE__<02><00>",
        "Deregister name WORKGROUP<1b>",
        "Session data",
        " NBIPX ",
        "Unknown",
    ):
        assert want in text, want
    assert re.search(r"^\d+ \S+ [0-9a-f]{8}\.[0-9a-f]{12} -> [0-9a-f]{8}\.[0-9a-f]{12} IPX \d+ $", text, re.M)


def _mysql_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, TCP to or from 3306 (or another port pair): MySQL packets, one or several, of
    every kind the dissector names (commands, login requests, greetings, OK with length-encoded integers
    of every size, errors, EOFs, result sets), empty, lengths past the segment, texts with NULs and bytes
    >= 0x80; the frame padded or not."""

    def pkt(num: int, body: bytes, n: int | None = None) -> bytes:
        ln = len(body) if n is None else n
        return struct.pack("<I", ln)[:3] + bytes([num]) + body

    def one() -> bytes:
        k = rnd.randrange(9)
        if k == 0:
            return pkt(0, bytes([rnd.choice((3, 1, 2, 14, 22, 99))]) + b"SELECT 1")
        if k == 1:
            user = rnd.choice((b"root\0", b"app", b"caf\xe9\0", b""))
            return pkt(1, rnd.randbytes(32) + user + rnd.randbytes(rnd.choice((0, 20))))
        if k == 2:
            return pkt(
                0, b"\x0a" + rnd.choice((b"5.7.33-log\0", b"8.0\0", b"\xe9\0", b"x")) + rnd.randbytes(30)
            )
        if k == 3:
            first = rnd.choice((b"\x01", b"\xfc\x01\x02", b"\xfd\1\2\3", b"\xfe" + bytes(8), b"\xfb"))
            return pkt(rnd.choice((1, 2)), b"\0" + first + rnd.choice((b"\0", b"\0\x02\0\0\0", b"")))
        if k == 4:
            return pkt(
                rnd.choice((1, 3)), b"\xff" + rnd.choice((b"\x15\x04#28000Access denied", b"\x15", b""))
            )
        if k == 5:
            return pkt(rnd.choice((2, 5)), b"\xfe" + rnd.choice((b"\0\0\x02\0", b"")))
        if k == 6:
            return pkt(1, bytes([rnd.choice((1, 3, 0xFC))]) + rnd.randbytes(8))
        if k == 7:
            return pkt(rnd.randrange(4), b"", rnd.choice((0, 0, 500)))
        return pkt(rnd.randrange(4), rnd.randbytes(rnd.choice((1, 12))))

    payload = b"".join(one() for _ in range(rnd.choice((1, 1, 2, 3))))
    payload = payload[: rnd.randrange(1, len(payload) + 1)] if rnd.random() < 0.1 else payload
    sp, dp = rnd.choice(((3306, 50000), (50000, 3306), (80, 3306), (3306, 3306), (40000, 41000)))
    tcp = struct.pack("!HHIIHHHH", sp, dp, 1, 2, 0x5018, 512, 0, 0) + payload
    frame = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(6, tcp)
    return frame + bytes(rnd.choice((0, 0, 2, 6)))


@native
def test_mysql_same_text(tmp_path: Path) -> None:
    """Session 11: MySQL on TCP 3306 (db.dissect_mysql's Info) is the walker's, as the pure loop writes
    it; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(25)
    frames = [_mysql_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(
        tmp_path / "mysql.pcap", frames, 3000, rnd, 54, 110, (0, 1, 0xFB, 0xFC, 0xFE, 0xFF)
    )
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 3000
    for want in (
        " MySQL ",
        "Request Query",
        "Request Unknown (99)",
        "Login Request user=root ",
        "Server Greeting  proto=10 version=5.7.33-log ",
        "Response  OK ",
        "Response  Error 1045 ",
        "Response TABULAR Response ",
        "Request\n",
        "Response \n",
    ):
        assert want in text + "\n", want


def _bgp_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, TCP to or from 179: BGP messages (every type, unknown ones, several per
    segment, lengths below 19, a header cut at the end), continuations, a marker cut short."""
    msgs = b""
    for _ in range(rnd.choice((1, 1, 2, 3))):
        t = rnd.choice((1, 2, 3, 4, 5, 6, 9))
        body = rnd.randbytes(rnd.choice((0, 10, 40))) if t != 4 else b""
        ln = 19 + len(body) + (rnd.choice((0, 0, 0, 0, -5, -19)) if rnd.random() < 0.2 else 0)
        msgs += b"\xff" * 16 + struct.pack("!HB", max(0, ln), t) + body
    msgs = rnd.choice((msgs, msgs, msgs + b"\xff" * rnd.choice((5, 18)), rnd.randbytes(30), b"\xff" * 7))
    sp, dp = rnd.choice(((179, 50000), (50000, 179), (80, 179), (40000, 41000)))
    return _eth_tcp4(sp, dp, msgs)


@native
def test_bgp_same_text(tmp_path: Path) -> None:
    """Session 11: BGP on TCP 179 (routing.dissect_bgp's Info) is the walker's; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(26)
    frames = [_bgp_frame(rnd) for _ in range(3000)]
    p = _same_with_mutants(tmp_path / "bgp.pcap", frames, 2000, rnd, 54, 100, (0, 1, 4, 19, 0xFF))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 1500
    for want in (" BGP ", "OPEN Message, KEEPALIVE Message", "Unknown Message", "Continuation", "CAPABILITY"):
        assert want in text, want


@native
def test_short_frames_and_tso_lengths_same_text(tmp_path: Path) -> None:
    """Session 11: IPv4 frames shorter than 54 bytes (TCP, UDP, ICMP) and IPv4 total lengths of 0 (TSO:
    the frame's length, as inet.dissect_ipv4 presumes) are the walker's, with the pure loop's text."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(27)
    frames = []
    for _ in range(3000):
        proto = rnd.choice((1, 6, 17))
        if proto == 1:
            l4 = struct.pack("!BBHHH", rnd.choice((8, 0, 3)), 0, 0, 0x1234, 7) + rnd.randbytes(
                rnd.choice((0, 4))
            )
        elif proto == 6:
            l4 = struct.pack("!HHIIHHHH", 40000, rnd.choice((80, 41000)), 1, 2, 0x5018, 512, 0, 0)
            l4 += rnd.randbytes(rnd.choice((0, 0, 6)))
        else:
            body = rnd.randbytes(rnd.choice((0, 4, 12)))
            l4 = struct.pack("!HHHH", 40000, rnd.choice((53, 41000)), 8 + len(body), 0) + body
        ip = bytearray(_outer_ip4(proto, l4))
        if rnd.random() < 0.5:
            ip[2:4] = b"\0\0"
        frame = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + bytes(ip) + bytes(rnd.choice((0, 0, 4)))
        frames.append(frame)
    p = _same_with_mutants(tmp_path / "short.pcap", frames, 1500, rnd, 14, 40, (0, 20, 28))
    with open_capture(str(p)) as r:
        lines = [w.line(n, fr[0], fr[1], fr[2]) for n, fr in enumerate(r, 1)]
    assert sum(s is not None and " 42 " in s for s in lines) > 50


def _igmp3_frame(rnd: random.Random) -> bytes:
    """IPv4 (with or without the Router Alert option) carrying IGMPv3 queries (general, group-specific,
    with sources) and reports (every record type and unknown ones, sources, aux data, records cut), or
    an IGMPv1/v2 message."""
    if rnd.random() < 0.4:
        ns = rnd.choice((0, 0, 1, 3))
        g = rnd.choice((bytes(4), b"\xe0\0\0\xfb"))
        msg = struct.pack("!BBH4sBBH", 0x11, 100, 0, g, 2, 125, ns + rnd.choice((0, 0, 0, 2)))
        msg += b"".join(struct.pack("!4s", bytes([10, 0, 0, k])) for k in range(ns))
    elif rnd.random() < 0.85:
        recs = b""
        nr = rnd.choice((0, 1, 2, 4))
        for _ in range(nr):
            rt, ns, aux = rnd.choice((1, 2, 3, 4, 5, 6, 9)), rnd.choice((0, 0, 1, 2)), rnd.choice((0, 0, 1))
            recs += struct.pack("!BBH4s", rt, aux, ns, bytes([239, 1, 1, rt]))
            recs += b"".join(bytes([192, 168, 0, k]) for k in range(ns)) + bytes(4 * aux)
        msg = struct.pack("!BBHHH", 0x22, 0, 0, 0, nr + rnd.choice((0, 0, 0, 1))) + recs
    else:
        msg = struct.pack(
            "!BBH4s", rnd.choice((0x11, 0x12, 0x16, 0x17)), rnd.choice((0, 100)), 0, b"\xe0\0\0\1"
        )
    opt = b"\x94\x04\0\0" if rnd.random() < 0.6 else b""
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45 + len(opt) // 4,
        0xC0,
        20 + len(opt) + len(msg),
        1,
        0,
        1,
        2,
        0,
        b"\xc0\0\2\2",
        b"\xe0\0\0\x16",
    )
    frame = b"\x01\0\x5e\0\0\x16\x02\0\0\0\0\x02\x08\x00" + ip + opt + msg
    return frame + bytes(max(0, 60 - len(frame)))


@native
def test_igmp3_same_text(tmp_path: Path) -> None:
    """Session 11: IGMPv3 queries and reports (igmp._v3_query/_v3_report's Info) are the walker's;
    mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(28)
    frames = [_igmp3_frame(rnd) for _ in range(3000)]
    p = _same_with_mutants(tmp_path / "igmp3.pcap", frames, 2000, rnd, 14, 80, (0, 1, 2, 4, 0x11, 0x22))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2000
    for want in (
        " IGMPv3 ",
        "Membership Query, general",
        "Membership Query, specific for group 224.0.0.251, source {10.0.0.0, 10.0.0.1, 10.0.0.2}",
        "Membership Report / Join group 239.1.1.4 for any sources",
        "Leave group 239.1.1.3",
        "Mode is include 239.1.1.1 for source {192.168.0.0}",
        "Record type 9 239.1.1.9",
    ):
        assert want in text, want


def _irc_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, TCP to or from 6667: IRC lines (prefixes, cut prefixes, leading spaces,
    trailers, numerics, CRLF, LF, none, empty lines, a byte >= 0x80)."""
    lines = [
        rnd.choice(
            (
                b":irc.example.net NOTICE * :*** Looking up your hostname",
                b"PING :12345",
                b":nick!u@h PRIVMSG #chan :hello there",
                b"NICK bob",
                b":server 001 bob :Welcome",
                b":cutprefix",
                b":p   JOIN #x",
                b"   ",
                b"",
                b"caf\xe9",
                b"QUIT\r",
            )
        )
        for _ in range(rnd.choice((1, 2, 4)))
    ]
    payload = rnd.choice((b"\r\n", b"\n")).join(lines) + rnd.choice((b"\r\n", b"", b"\n"))
    if not payload:
        payload = b"\n"
    sp, dp = rnd.choice(((6667, 50000), (50000, 6667), (80, 6667), (6667, 6667)))
    return _eth_tcp4(sp, dp, payload)


@native
def test_irc_same_text(tmp_path: Path) -> None:
    """Session 11: IRC on TCP 6667 (text.dissect_irc's Info: each line's command) is the walker's."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(29)
    frames = [_irc_frame(rnd) for _ in range(3000)]
    p = _same_with_mutants(tmp_path / "irc.pcap", frames, 2000, rnd, 54, 120, (0x0A, 0x0D, 0x20, 0x3A))
    with open_capture(str(p)) as r:
        lines = [w.line(n, fr[0], fr[1], fr[2]) for n, fr in enumerate(r, 1)]
    text = "\n".join(s for s in lines if s is not None) + "\n"
    assert sum(s is not None for s in lines) > 2000
    for want in (
        " IRC ",
        "Response (NOTICE)",
        "Request (PING)",
        "(PRIVMSG)",
        "(001)",
        "(JOIN)",
        "Request \n",
    ):
        assert want in text, want


def _dcerpc_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, TCP on 135, on ports without a dissector (the heuristic) or with one: DCE/RPC
    PDUs of every type in either byte order (binds with known and unknown interfaces, bind acks with a
    secondary address and results, requests, responses, faults), fragments longer than the segment,
    several PDUs, bad versions and lengths."""
    little = rnd.random() < 0.8
    e = "<" if little else ">"
    ptype = rnd.choice((0, 0, 2, 3, 11, 12, 14, 15, 13, 16, 20, 21))

    def uuid(s: str) -> bytes:
        h = bytes.fromhex(s.replace("-", ""))
        if not little:
            return h
        return h[:4][::-1] + h[4:6][::-1] + h[6:8][::-1] + h[8:]

    ndr = "8a885d04-1ceb-11c9-9fe8-08002b104860"
    known = ("12345678-1234-abcd-ef00-01234567cffb", "e3514235-4b06-11d1-ab04-00c04fc2dcd2")
    if ptype in (11, 14):
        n = rnd.choice((0, 1, 2))
        body = struct.pack(e + "HHIB3x", 5840, 5840, 0, n + rnd.choice((0, 0, 1)))
        for k in range(n):
            nt = rnd.choice((1, 1, 2, 0))
            iface = uuid(rnd.choice((*known, "01234567-89ab-cdef-0123-456789abcdef")))
            body += struct.pack(e + "HBx", k, nt) + iface + struct.pack(e + "HH", 4, 0)
            body += b"".join(uuid(ndr) + struct.pack(e + "I", 2) for _ in range(nt))
    elif ptype in (12, 15):
        sec = rnd.choice((b"", b"\\PIPE\\lsass\0", b"135\0"))
        body = struct.pack(e + "HHIH", 4280, 4280, 0x1234, len(sec)) + sec
        body += bytes(-(16 + len(body)) % 4)
        n = rnd.choice((1, 2))
        body += struct.pack(e + "B3x", n)
        body += b"".join(
            struct.pack(e + "HH", rnd.choice((0, 2, 3, 9)), 0) + uuid(ndr) + struct.pack(e + "I", 2)
            for _ in range(n)
        )
    elif ptype in (0, 2, 3):
        body = struct.pack(e + "IHH", 100, rnd.randrange(3), rnd.randrange(40)) + (
            struct.pack(e + "I", 0x1C010002) + bytes(4) if ptype == 3 else rnd.randbytes(rnd.choice((0, 20)))
        )
    else:
        body = rnd.randbytes(rnd.choice((0, 8)))
    flen = 16 + len(body) + (rnd.choice((0, 0, 0, 100, -20)) if rnd.random() < 0.2 else 0)
    pdu = bytes([5, rnd.choice((0, 0, 1, 2)), ptype, rnd.randrange(4), 0x10 if little else 0, 0, 0, 0])
    pdu += struct.pack(e + "HHI", max(0, flen) & 0xFFFF, 0, rnd.randrange(1, 1000)) + body
    pdu = rnd.choice((pdu, pdu, pdu + pdu, pdu[:15]))
    sp, dp = rnd.choice(
        ((49000, 135), (135, 49000), (49000, 51000), (51000, 49000), (49000, 80), (49000, 22))
    )
    return _eth_tcp4(sp, dp, pdu)


@native
def test_dcerpc_same_text(tmp_path: Path) -> None:
    """Session 11: DCE/RPC on TCP 135 and by its heuristic (dcerpc.dissect_dcerpc's Info of the first
    PDU) is the walker's; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(30)
    frames = [_dcerpc_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(tmp_path / "dce.pcap", frames, 3000, rnd, 54, 150, (0, 1, 2, 5, 11, 12, 0x10))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 3000
    for want in (
        " DCERPC ",
        ", opnum: ",
        "Response: call_id: ",
        ", status: 0x1c010002",
        "[BoundErrorUnreassembled Packet]",
        " context items: RPC_NETLOGON V4.0 (32bit NDR)",
        " DRSUAPI V4.0 (32bit NDR)",
        "01234567-89ab-cdef-0123-456789abcdef V4.0 ()",
        "max_xmit: 4280 max_recv: 4280, 2 results: Acceptance, Negotiate ACK",
        "Unknown result (9)",
        "RTS: call_id",
    ):
        assert want in text, want


def _pim_register_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4 or IPv6, PIMv2 Registers: null ones (the inner header alone, v4 and v6), inner
    IPv4/IPv6 packets of UDP (dissected ports too), TCP, ICMP echo, unknown protocols, inner lengths
    right, short and long, other versions; other PIM types."""
    kind = rnd.randrange(6)
    if kind == 0:
        inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20, 1, 0, 64, 103, 0, b"\x0a\0\0\2", b"\xe1\0\0\1")
    elif kind == 1:
        inner = struct.pack("!IHBB", 6 << 28, 0, 103, 1) + bytes(15) + b"\2" + b"\xff\x02" + bytes(13) + b"\1"
    else:
        proto = rnd.choice((17, 17, 6, 1, 99))
        if proto == 17:
            body = rnd.choice(
                (rnd.randbytes(20), b"\x12\x34\x01\x00\x00\x01" + bytes(6) + b"\x01a\x00\x00\x01\x00\x01")
            )
            l4 = (
                struct.pack(
                    "!HHHH", rnd.choice((2468, 40000)), rnd.choice((2468, 53, 5353)), 8 + len(body), 0
                )
                + body
            )
        elif proto == 6:
            l4 = struct.pack(
                "!HHIIHHHH", 40000, rnd.choice((80, 41000)), 1, 2, 0x5018, 512, 0, 0
            ) + rnd.randbytes(10)
        elif proto == 1:
            l4 = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 7) + rnd.randbytes(8)
        else:
            l4 = rnd.randbytes(12)
        inner = _ip6(proto, l4, rnd) if rnd.random() < 0.3 else _ip4p(proto, l4, rnd)
    t = rnd.choice((1, 1, 1, 1, 0, 2))
    pim = bytes([0x20 | t, 0]) + b"\0\0" + (b"\0\0\0\0" + inner if t == 1 else rnd.randbytes(10))
    if rnd.random() < 0.1:
        pim = pim[: rnd.randrange(len(pim) + 1)]
    if rnd.random() < 0.2:
        return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x86\xdd" + _ip6(103, pim, rnd)
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(103, pim)


@native
def test_pim_register_same_text(tmp_path: Path) -> None:
    """Session 11: PIMv2 Registers (the inner packet's addresses, PIM's columns, the inner packet's
    problems marked) are the walker's where it formats the inner packet cleanly; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(31)
    frames = [_pim_register_frame(rnd) for _ in range(4000)]
    p = _same_with_mutants(tmp_path / "pim.pcap", frames, 3000, rnd, 34, 110, (0, 0x21, 0x45, 0x60, 103, 17))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2500
    for want in (
        "10.0.0.2 -> 225.0.0.1 PIMv2 ",
        "::2 -> ff02::1 PIMv2 ",
        "10.0.0.1 -> 224.0.0.13 PIMv2 ",
        " Register",
    ):
        assert want in text, want


def _tls_hs_frame(rnd: random.Random) -> bytes:
    """Ethernet, IPv4, TCP on 443 or a heuristic port: TLS handshake records (Client and Server Hellos
    with session ids, cipher suites, extensions incl. supported_versions, cut fixed parts; Certificate,
    Server Hello Done, unknown types), one or several per record, then other records."""

    def ext(t: int, body: bytes) -> bytes:
        return struct.pack("!HH", t, len(body)) + body

    def hello(client: bool) -> bytes:
        body = struct.pack("!H", rnd.choice((0x0303, 0x0301))) + rnd.randbytes(32)
        sid = rnd.randbytes(rnd.choice((0, 32)))
        body += bytes([len(sid)]) + sid
        if client:
            suites = rnd.randbytes(2 * rnd.choice((1, 8)))
            body += struct.pack("!H", len(suites)) + suites + b"\x01\x00"
        else:
            body += b"\x13\x01\x00"
        exts = b""
        for _ in range(rnd.choice((0, 1, 3))):
            exts += rnd.choice(
                (
                    ext(43, b"\x03\x04" if not client else b"\x04\x03\x04\x03\x03"),
                    ext(43, b"\x7f\x1c"),
                    ext(0, b"\x00\x0e\x00\x00\x0bexample.com"),
                    ext(16, b"\x00\x03\x02h2"),
                    ext(10, b"\x00\x02\x00\x1d"),
                )
            )
        if exts or rnd.random() < 0.5:
            body += struct.pack("!H", len(exts) + rnd.choice((0, 0, 0, 5))) + exts
        if rnd.random() < 0.15:
            body = body[: rnd.randrange(len(body))]
        return body

    msgs = b""
    for _ in range(rnd.choice((1, 1, 2, 3))):
        ht = rnd.choice((1, 2, 2, 11, 14, 16, 20, 4))
        body = hello(ht == 1) if ht in (1, 2) else rnd.randbytes(rnd.choice((0, 12, 40)))
        msgs += bytes([ht]) + struct.pack("!I", len(body))[1:] + body
    recs = bytes([22, 3, rnd.choice((1, 3, 3))]) + struct.pack("!H", len(msgs)) + msgs
    recs += rnd.choice((b"", b"", b"\x14\x03\x03\x00\x01\x01", b"\x17\x03\x03\x00\x05" + bytes(5)))
    sp, dp = rnd.choice(((49000, 443), (443, 49000), (49000, 51000), (49000, 80), (389, 49000), (49000, 389)))
    if dp == 389 and rnd.random() < 0.2:  # an LDAP message (not TLS) on LDAP's port
        recs = b"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"
    return _eth_tcp4(sp, dp, recs)


@native
def test_tls_handshakes_same_text(tmp_path: Path) -> None:
    """Session 11: TLS handshake records (their messages' names; the Protocol from a Server Hello's
    supported_versions; a Hello cut: a bounds error), also on LDAP's port after StartTLS, are the
    walker's; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(32)
    frames = [_tls_hs_frame(rnd) for _ in range(5000)]
    p = _same_with_mutants(tmp_path / "tlshs.pcap", frames, 3000, rnd, 54, 160, (0, 1, 2, 3, 4, 22, 43))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 3000
    for want in (
        " TLSv1.2 ",
        " TLSv1.3 ",
        " TLSv1 ",
        "Client Hello",
        "Server Hello, Certificate",
        "Server Hello Done",
        "[BoundErrorUnreassembled Packet]",
        ", Change Cipher Spec",
    ):
        assert want in text, want
    assert re.search(r" TLS \d+ ", text)  # a draft version chosen: "TLS"
    assert re.search(r"\.\d+ -> \S+ TLSv1\.\d \d+ ", text)


@native
def test_qinq_tags_same_text(tmp_path: Path) -> None:
    """Session 11: 802.1ad S-tags (0x88a8) and old QinQ tags (0x9100), alone or stacked with 802.1Q's,
    before IPv4, IPv6, ARP and 802.3 frames: the walker's text equals the pure loop's."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(33)
    inner = [_mysql_frame(rnd) for _ in range(300)] + [_lldp_frame(rnd) for _ in range(100)]
    inner += [_bogus_ip_frame(rnd) for _ in range(100)] + [_ipx_frame(rnd) for _ in range(100)]
    arp = bytes.fromhex("ffffffffffff0020d25afb3f08060001080006040001") + bytes(6) + bytes(4) + bytes(10)
    inner += [arp] * 50
    frames = []
    for f in inner:
        tags = b"".join(
            rnd.choice((b"\x88\xa8", b"\x91\x00", b"\x81\x00")) + struct.pack("!H", rnd.randrange(65536))
            for _ in range(rnd.choice((1, 1, 2, 3, 5)))
        )
        frames.append(f[:12] + tags + f[12:])
    p = _same_with_mutants(tmp_path / "qinq.pcap", frames, 1000, rnd, 12, 30, (0x81, 0x88, 0x91, 0xA8, 0))
    with open_capture(str(p)) as r:
        lines = [w.line(n, fr[0], fr[1], fr[2]) for n, fr in enumerate(r, 1)]
    assert sum(s is not None for s in lines) > 300


@native
def test_pgm_same_text(tmp_path: Path) -> None:
    """Session 11: PGM (routing.dissect_pgm's Info: the type padded to 5, the sequence number, a POLL's
    or POLR's GSI, a POLL's subtype) over IPv4 and IPv6 is the walker's; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(34)
    frames = []
    for _ in range(3000):
        t = rnd.choice((0, 1, 1, 2, 4, 5, 8, 13, 7))
        pgm = struct.pack("!HHBBH", 7500, 7500, t, 0, 0) + rnd.randbytes(6) + struct.pack("!H", 10)
        pgm += struct.pack("!I", rnd.choice((0, 5, 0xABCDEF, 0xFFFFFFFF))) + struct.pack(
            "!HH", 0, rnd.choice((0, 1, 7))
        )
        pgm += rnd.randbytes(rnd.choice((0, 8)))
        pgm = pgm[: rnd.choice((len(pgm), len(pgm), 16, 19, 22))]
        if rnd.random() < 0.3:
            frames.append(b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x86\xdd" + _ip6(113, pgm, rnd))
        else:
            frames.append(b"\x01\0\x5e\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(113, pgm))
    p = _same_with_mutants(tmp_path / "pgm.pcap", frames, 1500, rnd, 34, 70, (0, 1, 2, 113))
    _lines, text = _walker_text(p)
    for want in (
        " PGM ",
        "SPM   sqn 0x0",
        "POLL  sqn 0xabcdef gsi ",
        "subtype DLR",
        "subtype Unknown",
        "Unknown sqn",
    ):
        assert want in text, want


@native
def test_ldp_same_text(tmp_path: Path) -> None:
    """Session 11: LDP over UDP and TCP 646 (routing.dissect_ldp's Info: every PDU's messages) is the
    walker's; PDUs and messages of every length, unknown types, mutated and cut."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(35)
    frames = []
    for _ in range(3000):
        payload = b""
        for _ in range(rnd.choice((1, 1, 2))):
            msgs = b""
            for _ in range(rnd.choice((0, 1, 2, 3))):
                body = rnd.randbytes(rnd.choice((4, 10, 20)))
                mt = rnd.choice((0x0001, 0x0100, 0x0200, 0x0201, 0x0300, 0x0400, 0x8100, 0x3E00))
                msgs += struct.pack("!HHI", mt, 4 + len(body) + rnd.choice((0, 0, 0, -4, 30)), 7) + body
            plen = 6 + len(msgs) + (rnd.choice((0, -6, 3, 100)) if rnd.random() < 0.2 else 0)
            payload += struct.pack("!HH4sH", 1, max(0, plen), b"\x0a\0\0\1", 0) + msgs
        ports = rnd.choice(((646, 646), (40000, 646), (646, 40000), (80, 646)))
        if rnd.random() < 0.5:
            l4 = struct.pack("!HHHH", *ports, 8 + len(payload), 0) + payload
            frames.append(b"\x01\0\x5e\0\0\x02\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, l4))
        else:
            l4 = struct.pack("!HHIIHHHH", *ports, 1, 2, 0x5018, 512, 0, 0) + payload
            frames.append(b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(6, l4))
    p = _same_with_mutants(tmp_path / "ldp.pcap", frames, 2000, rnd, 42, 110, (0, 1, 2, 4, 6))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 2000
    for want in (
        " LDP ",
        "Hello Message Initialization Message ",
        "Notification Message ",
        "Unknown Message ",
    ):
        assert want in text, want


def _pvst_frame(rnd: random.Random) -> bytes:
    """Cisco PVST+: an STP BPDU after 802.3 + LLC/SNAP 00:00:0c/0x010b (an 802.1Q tag before or not);
    other PIDs; the SNAP header or BPDU cut."""
    bpdu = _stp_frame(rnd)[17:]
    pid = rnd.choice((0x010B, 0x010B, 0x010B, 0x2000))
    llc = b"\xaa\xaa\x03\x00\x00\x0c" + struct.pack("!H", pid) + bpdu
    llc = llc[: rnd.choice((len(llc), len(llc), 7, 10))]
    ln = len(llc) + rnd.choice((0, 0, -5, 10))
    tag = rnd.choice((b"", b"\x81\x00\xe0\x01"))
    return bytes.fromhex("01000ccccccd") + b"\2" * 6 + tag + struct.pack("!H", max(0, ln)) + llc


@native
def test_8023_after_tags_and_pvst_same_text(tmp_path: Path) -> None:
    """Session 11: 802.3 frames after 802.1Q / 802.1ad tags (STP, IS-IS, UDLD, IPX) and Cisco PVST+
    BPDUs are the walker's, as the pure loop writes them; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(36)
    base = [_stp_frame(rnd) for _ in range(500)] + [_isis_frame(rnd) for _ in range(500)]
    base += [_udld_eap_frame(rnd) for _ in range(500)] + [_ipx_frame(rnd) for _ in range(500)]
    frames = [_pvst_frame(rnd) for _ in range(1500)]
    for f in base:
        tags = b"".join(
            rnd.choice((b"\x81\x00", b"\x88\xa8")) + struct.pack("!H", rnd.randrange(65536))
            for _ in range(rnd.choice((1, 1, 2)))
        )
        frames.append(f[:12] + tags + f[12:])
    p = _same_with_mutants(
        tmp_path / "tags8023.pcap", frames, 2000, rnd, 12, 40, (0, 0x42, 0xAA, 0xFE, 0xE0, 3)
    )
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 1500
    for want in (" STP ", "RST. Root = ", " ISIS ", " UDLD ", " IPX "):
        assert want in text, want
    assert any(s is not None and " STP " in s for s in lines[:1500])  # PVST+


@native
def test_isakmp_udpencap_same_text(tmp_path: Path) -> None:
    """Session 11: ISAKMP on UDP 500 (IKEv1 exchange names, IKEv2's MID and roles) and UDP-encapsulated
    IPsec on 4500 (NAT keepalives, ISAKMP after the non-ESP marker, ESP) are the walker's."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(37)
    frames = []
    for _ in range(3000):
        ver = rnd.choice((0x10, 0x20))
        ex = rnd.choice((2, 4, 5, 32, 34, 35, 37, 99))
        msg = rnd.randbytes(16) + bytes([33, ver, ex, rnd.choice((0, 0x08, 0x20, 0x28))])
        msg += struct.pack("!II", rnd.choice((0, 1, 7, 12, 300)), 28) + rnd.randbytes(rnd.choice((0, 20)))
        msg = msg[: rnd.choice((len(msg), len(msg), 20, 27))]
        port = rnd.choice((500, 4500, 4500))
        if port == 4500:
            msg = rnd.choice((b"\0\0\0\0" + msg, b"\xff", rnd.randbytes(rnd.choice((5, 12, 40))), b"\1\2"))
        sp = rnd.choice((port, 40000))
        l4 = struct.pack("!HHHH", sp, port, 8 + len(msg), 0) + msg
        frames.append(b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, l4))
    p = _same_with_mutants(tmp_path / "ike.pcap", frames, 2000, rnd, 42, 80, (0, 0xFF, 0x20, 0x10))
    _lines, text = _walker_text(p)
    for want in (
        "Identity Protection (Main Mode)",
        "IKE_AUTH MID=07 Initiator Response",
        "MID=300 Responder Request",
        "MID=00 ",
        "Unknown (99)",
        " UDPENCAP 43 NAT-keepalive",
        " ESP (SPI=0x",
    ):
        assert want in text, want


@native
def test_radius_kerberos_same_text(tmp_path: Path) -> None:
    """Session 11: RADIUS (codes, unknown ones, ids) and Kerberos over UDP and TCP (message types;
    errors and non-Kerberos payloads stay Python's) are the walker's; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(38)
    frames = []
    for _ in range(3000):
        if rnd.random() < 0.5:
            msg = bytes([rnd.choice((1, 2, 3, 4, 5, 40, 41, 99)), rnd.randrange(256)]) + struct.pack("!H", 20)
            msg += rnd.randbytes(16) + rnd.choice((b"", b"\x01\x06user", b"\x1f\x02"))
            msg = msg[: rnd.choice((len(msg), len(msg), 19))]
            ports = rnd.choice(((40000, 1812), (1813, 40000), (1645, 1646), (3799, 40000)))
            l4 = struct.pack("!HHHH", *ports, 8 + len(msg), 0) + msg
            frames.append(b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, l4))
            continue
        mt = rnd.choice((10, 11, 12, 13, 14, 15, 20, 21, 22, 30, 5))
        krb = bytes([0x60 | mt, 0x20, 0x30, 0x1E, 0xA0, 0x03, 0x02, 0x01, 0x05]) + rnd.randbytes(
            rnd.choice((0, 20))
        )
        krb = rnd.choice((krb, krb, b"\x30\x05", b""))
        ports = rnd.choice(((40000, 88), (88, 40000), (53, 88)))
        if rnd.random() < 0.5:
            l4 = struct.pack("!HHHH", *ports, 8 + len(krb), 0) + krb
            frames.append(b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, l4))
        else:
            rec = struct.pack("!I", len(krb)) + krb
            l4 = (
                struct.pack("!HHIIHHHH", *ports, 1, 2, 0x5018, 512, 0, 0)
                + rec[: rnd.choice((len(rec), len(rec), 4))]
            )
            frames.append(b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(6, l4))
    p = _same_with_mutants(tmp_path / "aaa.pcap", frames, 2000, rnd, 42, 70, (0, 0x6A, 0x7E, 1, 4))
    _lines, text = _walker_text(p)
    for want in (" RADIUS ", "Access-Request id=", "Unknown Packet (99) id=", " KRB5 ", "AS-REQ", "TGS-REP"):
        assert want in text, want


def _smb1_mailslot(rnd: random.Random) -> bytes:
    """An SMB1 message: a Transaction request to a mailslot (BROWSE, LANMAN, another), to \\PIPE\\, in
    ASCII or UTF-16, carrying a Browser message (announcements with server types, requests, elections,
    unknown commands), or another command, a response."""
    cmd = rnd.choice((0x25, 0x25, 0x25, 0x72, 0x99))
    flags = rnd.choice((0, 0, 0x80))
    uni = rnd.random() < 0.3
    hdr = b"\xffSMB" + bytes([cmd, 0, 0, 0, 0, flags]) + struct.pack("<H", 0x8000 if uni else 0) + bytes(20)
    if cmd != 0x25:
        return hdr + rnd.randbytes(rnd.choice((0, 10)))
    bc = rnd.choice((1, 2, 8, 12, 15, 99))
    if bc in (1, 12, 15):
        name = rnd.choice((b"DJP95S0J", b"WORKGROUP", b"A" * 16, b"caf\xe9"))
        browser = bytes([bc, 0]) + bytes(4) + name[:16].ljust(16, b"\0") + b"\x04\x00"
        browser += struct.pack("<I", rnd.choice((0x00011003, 0x80001000, 0, 0xFFFFFFFF))) + rnd.randbytes(10)
    elif bc == 2:
        browser = b"\x02\x00" + rnd.choice((b"DJP95S0J\0", b"X\0junk", b""))
    else:
        browser = bytes([bc]) + rnd.randbytes(rnd.choice((0, 13, 20)))
    slot = rnd.choice(
        (b"\\MAILSLOT\\BROWSE", b"\\MAILSLOT\\LANMAN", b"\\mailslot\\browse", b"\\MAILSLOT\\NET", b"\\PIPE\\")
    )
    wct = 17
    params = bytearray(2 * wct)
    body_off = 32 + 1 + 2 * wct + 2
    tname = slot.decode().encode("utf-16-le") + b"\0\0" if uni else slot + b"\0"
    pad = body_off & 1 if uni else 0
    doff = body_off + pad + len(tname)
    params[22:24] = struct.pack("<H", len(browser) + rnd.choice((0, 0, 0, 50)))
    params[24:26] = struct.pack("<H", doff + rnd.choice((0, 0, 0, 400)))
    msg = hdr + bytes([wct]) + bytes(params) + struct.pack("<H", len(tname) + len(browser) + pad)
    return msg + bytes(pad) + tname + browser


@native
def test_nbds_smb1_browser_same_text(tmp_path: Path) -> None:
    """Session 11: NBDS (datagram types, names), the SMB1 it carries and Browser messages in mailslots
    (netbios.dissect_nbds, smb._smb1, smb._browser), over UDP 138 and in NBIPX directed datagrams, are the
    walker's; mutated and cut too."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(39)
    frames = []
    for _ in range(4000):
        smb = _smb1_mailslot(rnd)
        if rnd.random() < 0.75:
            t = rnd.choice((0x10, 0x11, 0x11, 0x12, 0x13, 0x14, 0x20))
            names = _nb_encode(b"HOST", 0x00) + _nb_encode(b"WORKGROUP", 0x1D)
            names = rnd.choice((names, names, names, b"\x20" + b"Z" * 32 + b"\0"))
            dg = (
                bytes([t, 2])
                + struct.pack("!H", 7)
                + b"\x0a\0\0\1"
                + struct.pack("!HHH", 138, 0, 0)
                + names
                + smb
            )
            dg = dg[: rnd.choice((len(dg), len(dg), len(dg), 9, 13, 40))]
            l4 = struct.pack("!HHHH", 138, 138, 8 + len(dg), 0) + dg
            frames.append(b"\xff\xff\xff\xff\xff\xff\x02\0\0\0\0\x02\x08\x00" + _outer_ip4(17, l4))
        else:
            nb = bytes([0, 0x0B]) + b"WORKGROUP".ljust(16, b" ") + b"HOST".ljust(16, b" ") + smb
            ipx = struct.pack("!HHBB", 0xFFFF, 30 + len(nb), 0, 4) + bytes(4) + b"\xff" * 6 + b"\x04\x55"
            ipx += bytes(4) + b"\2" * 6 + b"\x04\x55" + nb
            frames.append(b"\xff" * 6 + b"\2" * 6 + b"\x81\x37" + ipx)
    p = _same_with_mutants(tmp_path / "nbds.pcap", frames, 3000, rnd, 42, 200, (0, 0x25, 0x80, 0xFF, 0x11))
    lines, text = _walker_text(p)
    assert sum(s is not None for s in lines) > 3000
    for want in (
        " BROWSER ",
        "Host Announcement DJP95S0J, Workstation, Server, NT Workstation, Potential Browser",
        "Domain/Workgroup Announcement WORKGROUP, NT Workstation, Domain Enum",
        "Request Announcement DJP95S0J",
        "Browser Election Request",
        "Unknown command 0x63",
        " SMB ",
        "Trans Request",
        " NBDS ",
        "Datagram error",
        "Unknown message type (0x20)",
    ):
        assert want in text, want
    assert re.search(r"\.[0-9a-f]{12} -> [0-9a-f]{8}\.[0-9a-f]{12} BROWSER ", text)


@native
def test_icmp_errors_quoting_dissected_datagrams_same_text(tmp_path: Path) -> None:
    """Session 11: ICMP errors quoting whole UDP datagrams of the protocols the walker knows (DNS, DHCP,
    NTP, NBNS, SNMP, SIP ... with good and broken payloads) give the pure loop's text; mutated and cut."""
    w = native_walker()
    assert w is not None
    rnd = random.Random(40)
    pool = [_session8_frame(rnd) for _ in range(4000)] + [_nbns_frame(rnd) for _ in range(500)]
    pool += [_snmp_frame(rnd) for _ in range(500)] + [_sip_frame(rnd) for _ in range(500)]
    quotes = [
        f[14:] for f in pool if f[12:14] == b"\x08\x00" and len(f) > 42 and f[23] == 17 and f[14] == 0x45
    ]
    frames = []
    for quote in quotes[:3000]:
        q = bytearray(quote)
        q[2:4] = struct.pack("!H", len(q)) if rnd.random() < 0.9 else q[2:4]
        udp_len = len(q) - 20
        if rnd.random() < 0.9:
            q[24:26] = struct.pack("!H", udp_len)
        t, code = rnd.choice(((3, 3), (3, 1), (11, 0), (12, 0), (5, 1)))
        icmp_ = struct.pack(">BBHI", t, code, 0, 0) + bytes(q)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp_), 1, 0, 64, 1, 0, b"\n\0\0\1", b"\n\0\0\2")
        frames.append(b"\2" * 6 + b"\4" * 6 + b"\x08\x00" + ip + icmp_)
    assert len(frames) > 1000
    p = _same_with_mutants(tmp_path / "icmpq.pcap", frames, 2000, rnd, 62, 140, (0, 0x80, 0xFF))
    with open_capture(str(p)) as r:
        lines = [w.line(n, fr[0], fr[1], fr[2]) for n, fr in enumerate(r, 1)]
    assert sum(s is not None for s in lines) > 500


@native
def test_dns_srv_nsec_records_same_text(tmp_path: Path) -> None:
    """Session 11: DNS and MDNS responses with SRV and NSEC records (and MX, PTR, AAAA, TXT around
    them, cache-flush classes) are the walker's, as app._rr_data shows them; mutated and cut too."""
    from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRNSEC, DNSRRSRV
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    w = native_walker()
    assert w is not None
    rnd = random.Random(41)
    frames = []
    for _ in range(600):
        name = rnd.choice(("gemini.local", "_sftp-ssh._tcp.local", "a.example.org"))
        rrs: list[object] = []
        for _ in range(rnd.choice((1, 2, 4))):
            k = rnd.randrange(5)
            rclass = rnd.choice((1, 0x8001))
            if k == 0:
                rrs.append(
                    DNSRRSRV(
                        rrname=name,
                        rclass=rclass,
                        priority=rnd.randrange(9),
                        weight=5,
                        port=22,
                        target="gemini.local",
                    )
                )
            elif k == 1:
                rrs.append(
                    DNSRRNSEC(
                        rrname=name,
                        rclass=rclass,
                        nextname=rnd.choice(("gemini.local", "x.y")),
                        typebitmaps=[1, 28, 33],
                    )
                )
            elif k == 2:
                rrs.append(DNSRR(rrname=name, type="PTR", rclass=rclass, rdata="tangent.local"))
            elif k == 3:
                rrs.append(DNSRR(rrname=name, type="AAAA", rclass=rclass, rdata="fe80::1"))
            else:
                rrs.append(DNSRR(rrname=name, type="TXT", rclass=rclass, rdata=[b"path=/"]))
        mdns = rnd.random() < 0.5
        dns = DNS(
            id=0 if mdns else rnd.randrange(65536), qr=1, aa=1, qd=[] if mdns else [DNSQR(qname=name)], an=rrs
        )
        port = 5353 if mdns else 53
        p = Ether() / IP(src="10.0.0.53", dst="224.0.0.251") / UDP(sport=port, dport=port) / dns
        frames.append(bytes(p))
    path = _same_with_mutants(tmp_path / "srv.pcap", frames, 1200, rnd, 42, 120)
    _lines, text = _walker_text(path)
    for want in (
        " SRV 0 5 22 gemini.local",
        " NSEC gemini.local",
        " NSEC x.y",
        " MDNS ",
    ):
        assert want in text, want


@native
def test_long_lldp_ids_and_many_dcerpc_items_same_text(tmp_path: Path) -> None:
    """Session 11: the longest texts two formatters can meet (LLDP ids of ~500 bytes shown in hex, four of
    them; DCE/RPC binds of up to 24 context items) stay within the walker's buffers (declined where long)
    and equal the pure loop's text."""
    rnd = random.Random(42)
    frames = []
    for _ in range(300):
        tlvs = b""
        for _ in range(rnd.choice((1, 2, 4))):
            t, ln = rnd.choice((1, 2, 5, 6)), rnd.choice((100, 400, 511))
            body = bytes([rnd.choice((0, 8, 4))]) + rnd.randbytes(ln - 1) if t in (1, 2) else b"x" * ln
            tlvs += struct.pack("!H", t << 9 | ln) + body
        frames.append(bytes.fromhex("0180c200000e") + b"\2" * 6 + b"\x88\xcc" + tlvs)
    for _ in range(300):
        n = rnd.choice((1, 11, 12, 13, 24))
        items = b"".join(
            struct.pack("<HBx", k, 1)
            + rnd.randbytes(16)
            + struct.pack("<HH", 65535, 65535)
            + rnd.randbytes(20)
            for k in range(n)
        )
        body = struct.pack("<HHIB3x", 5840, 5840, 0, n) + items
        pdu = bytes([5, 0, 11, 3, 0x10, 0, 0, 0]) + struct.pack("<HHI", 16 + len(body), 0, 1) + body
        frames.append(_eth_tcp4(49000, 135, pdu))
    _same_with_mutants(tmp_path / "long.pcap", frames, 300, rnd, 14, 60)
    _lines, text = _walker_text(tmp_path / "long.pcap")
    assert " LLDP " in text and " 11 context items:" in text


@native
def test_native_layer_map_equals_python() -> None:
    """Session 12: the walker's copy of decode.layers.layer_map's common case (Walker.layer_map: Ethernet,
    IPv4 without fragments, TCP/UDP/other protocols, untagged ethertypes with a dissector) gives the Python
    code's LayerMap (or hands the frame back to it) on every frame of the three corpora and on 20 000
    mutated and cut ones."""
    layers._dissectors()
    native = layers._native_map
    assert native is not None
    frames: list[object] = []
    for p in CAPTURES:
        try:
            with open_capture(str(p)) as r:
                frames.extend(r)
        except PcapFormatError:
            pass
    rnd = random.Random(12)
    eth = [f for f in frames if f[3] == 1 and len(f[1]) >= 34]  # type: ignore[index]
    for _ in range(20_000):
        f = rnd.choice(eth)
        b = bytearray(f[1])  # type: ignore[index]
        for _ in range(rnd.randrange(1, 4)):
            b[rnd.randrange(12, min(len(b), 60))] = rnd.choice(
                (0, 6, 17, 0x45, 0x08, 0xFF, rnd.randrange(256))
            )
        if rnd.random() < 0.3:
            b = b[: rnd.randrange(len(b) + 1)]
        frames.append(f._replace(data=bytes(b)))  # type: ignore[attr-defined]
    took = 0
    try:
        for f in frames:
            m = native(f)
            layers._native_map = None
            want = layers.layer_map(f)  # type: ignore[arg-type]
            layers._native_map = native
            if type(m) is int:
                assert m in (0, 1)
                if m == 0:  # the slow walk's: the Python fast case declines it too
                    assert want == layers._layer_map(f)  # type: ignore[arg-type]
                continue
            took += 1
            assert m == want and type(m) is type(want), (f, m, want)
    finally:
        layers._native_map = native
    assert took > len(frames) // 2, (took, len(frames))


def _read_lines(args: list[str]) -> str:
    import contextlib
    import io

    from sniffer.cli import main

    buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(buf):
        main(["read", *args])
        buf.flush()
    return buf.buffer.getvalue().decode()  # type: ignore[attr-defined,no-any-return]


@native
def test_read_analysis_same_text_with_the_walker() -> None:
    """Session 12: `read --analysis` takes each Ethernet frame's line (and, where the TCP analysis rewrites
    them, its columns) from the walker: the same text as without it on every TCP capture of the corpus
    and every capture of the breadth corpus."""
    paths = sorted((TESTS / "corpus/tcp").glob("*.pcap*")) + sorted(
        (TESTS / "corpus-breadth/captures").glob("*")
    )
    assert len(paths) > 150
    for p in paths:
        legacyfs._RX_CALLS.clear()
        got = _read_lines(["--analysis", str(p)])
        with _pure():
            legacyfs._RX_CALLS.clear()
            want = _read_lines(["--analysis", str(p)])
        assert got == want, p.name
    # with a display filter (its own dissections share the state the walker reads: AFS's call map)
    afs = str(TESTS / "corpus-breadth/captures/tcpdump__afs.pcap")
    for flt in ("rx", "afs || tcp", "frame.number > 10"):
        legacyfs._RX_CALLS.clear()
        got = _read_lines(["--analysis", "-Y", flt, afs])
        with _pure():
            legacyfs._RX_CALLS.clear()
            want = _read_lines(["--analysis", "-Y", flt, afs])
        assert got == want and got.count("\n") > 10, flt
