"""`read`'s text loop (decode.summary.iter_text): the raw walk over a pcap's or pcapng's read buffer
gives exactly format_line's lines, across buffer boundaries, byte orders, ns files, pcapng sections,
interfaces and time resolutions, -c counts, pipes and damage."""

from __future__ import annotations

import os
import random
import struct
import threading
from pathlib import Path

import pytest

from sniffer.capture.pcapfile import CHUNK, open_capture
from sniffer.checksum import checksum
from sniffer.decode.summary import format_line, iter_text
from sniffer.errors import PcapFormatError

from .httptls import http_payloads, tls_payloads

CAPS = Path(__file__).resolve().parents[1] / "corpus" / "captures"


def _ip4(proto: int, payload: bytes, rnd: random.Random, frag: int = 0x4000, ihl: int = 5) -> bytes:
    opts = b"\x01" * (4 * (ihl - 5))
    hdr = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        0,
        4 * ihl + len(payload),
        rnd.randrange(65536),
        frag,
        rnd.choice((1, 64, 255)),
        proto,
        0,
        bytes([10, 0, rnd.randrange(4), rnd.randrange(1, 9)]),
        bytes([192, 168, rnd.randrange(4), rnd.randrange(1, 9)]),
    )
    hdr = hdr + opts
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def _frame(rnd: random.Random) -> bytes:
    """One Ethernet frame: mostly what the inlined path handles, plus every way out of it."""
    eth = bytes([2, 0, 0, 0, 0, rnd.randrange(9)]) + bytes([2, 0, 0, 0, 1, rnd.randrange(9)])
    kind = rnd.randrange(16)
    body = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 0, 1, 12, 300, 1400))))
    sport, dport = rnd.randrange(1, 65536), rnd.choice((80, 443, 53, 8080, rnd.randrange(65536)))
    if kind >= 14:  # HTTP / TLS, their look-alikes, or random bytes on their ports (some cut short)
        body = rnd.choice(
            (rnd.choice(_HTTP_TLS), bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 9))))
        )
        if rnd.random() < 0.2:
            body = body[: rnd.randrange(len(body) + 1)]
        dport = rnd.choice((80, 443, 8080, 993, 3128, 8443))
        if rnd.random() < 0.5:
            sport, dport = dport, sport
        kind = 0
    if kind <= 4:  # TCP, any flags, with or without options
        opts = rnd.choice((b"", b"\x01\x01\x01\x01", b"\x02\x04\x05\xb4\x01\x03\x03\x07"))
        off = (20 + len(opts)) // 4
        tcp = struct.pack(
            "!HHIIHHHH",
            sport,
            dport,
            rnd.getrandbits(32),
            rnd.getrandbits(32),
            off << 12 | rnd.randrange(0x200),
            rnd.randrange(65536),
            0,
            0,
        )
        return eth + b"\x08\x00" + _ip4(6, tcp + opts + body, rnd)
    if kind <= 7:  # UDP (port 53 goes through DNS); DTLS/STUN that the heuristics take, and look-alikes
        if _HRND.random() < 0.3:  # (its own generator: the other frames stay what they were)
            body = _HRND.choice(_UDP_HEUR)
        return eth + b"\x08\x00" + _ip4(17, struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body, rnd)
    if kind == 8:  # ICMP echo request/reply, or another type
        icmp = struct.pack(
            "!BBHHH", rnd.choice((0, 8, 8, 3, 11)), 0, 0, rnd.randrange(65536), rnd.randrange(65536)
        )
        return eth + b"\x08\x00" + _ip4(1, icmp + body[:56], rnd)
    if kind == 9:  # a fragment, or IP options
        if rnd.random() < 0.5:
            return eth + b"\x08\x00" + _ip4(17, body + bytes(16), rnd, frag=rnd.choice((0x2000, 0x0010)))
        return eth + b"\x08\x00" + _ip4(17, struct.pack("!HHHH", sport, dport, 8, 0), rnd, ihl=6)
    if kind == 10:  # IPv6 UDP
        udp = struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body
        v6 = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, bytes(15) + b"\x01", bytes(15) + b"\x02")
        return eth + b"\x86\xdd" + v6 + udp
    if kind == 11:  # ARP
        return eth + b"\x08\x06" + bytes.fromhex("0001080006040001") + bytes(20)
    if kind == 12:  # a lying IP total length (longer than the frame)
        ip = bytearray(_ip4(17, struct.pack("!HHHH", sport, dport, 8, 0), rnd))
        ip[2:4] = struct.pack("!H", 1000)
        return eth + b"\x08\x00" + bytes(ip)
    return eth + b"\x08\x00" + bytes(rnd.randrange(8, 40))  # short garbage after the Ethernet header


_HTTP_TLS = http_payloads() + tls_payloads()
_HRND = random.Random(13)
_UDP_HEUR = [
    bytes.fromhex("16fefd0000000000000000000c") + bytes.fromhex("0e0000000000000000000000"),  # DTLS
    bytes.fromhex("15fefd000100000000000500020102"),  # DTLS, encrypted alert
    bytes.fromhex("00fe00112233445566778899"),  # byte 1 is DTLS's, the rest is not
    bytes.fromhex("000100002112a442") + bytes(12),  # STUN Binding Request
    bytes.fromhex("000100082112a442") + bytes(12),  # STUN's cookie, a length that is not the datagram's
    bytes.fromhex("800100002112a442") + bytes(12),  # the cookie, type bits 15-14 set
    bytes.fromhex("04000000") + bytes(28),  # WireGuard keepalive (32 bytes)
    bytes.fromhex("04000000") + bytes(29),  # WireGuard's first word, not its length
]


def _pcap(endian: str, nsec: bool, frames: list[bytes], rnd: random.Random, linktype: int = 1) -> bytes:
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    sec, frac = 1_700_000_000, 0
    for p in frames:
        frac += rnd.choice((0, 1, 37, 999, 1000, 250_000))
        while frac >= (1_000_000_000 if nsec else 1_000_000):
            sec, frac = sec + 1, frac - (1_000_000_000 if nsec else 1_000_000)
        cap = p if rnd.random() > 0.05 else p[: max(0, len(p) - rnd.randrange(1, 20))]  # a snapped packet
        out.append(struct.pack(endian + "IIII", sec, frac, len(cap), len(p)) + cap)
    return b"".join(out)


def _pcapng(frames: list[bytes], rnd: random.Random) -> bytes:
    """Two sections of opposite byte order; interfaces with us, ns and 2^-10 s resolutions, Ethernet and
    raw IP; EPBs with and without options, snapped ones; SPBs, a name resolution block and a custom block
    among them; an interface added mid-section."""
    out = []
    t_us = 1_700_000_000 * 1_000_000

    def pad(b: bytes) -> bytes:
        return b + bytes(-len(b) % 4)

    for e, part in (("<", frames[: len(frames) // 2]), (">", frames[len(frames) // 2 :])):

        def block(btype: int, body: bytes, e: str = e) -> bytes:
            body = pad(body)
            return struct.pack(e + "II", btype, 12 + len(body)) + body + struct.pack(e + "I", 12 + len(body))

        def opt(code: int, val: bytes, e: str = e) -> bytes:
            return struct.pack(e + "HH", code, len(val)) + pad(val)

        out.append(block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1)))
        # if 0: Ethernet, us; if 1: Ethernet, ns; if 2: raw IP, 2^-10 s; if 3 (added later): Ethernet, ns
        ifaces = [(1, b""), (1, opt(9, b"\x09") + opt(0, b"")), (101, opt(9, b"\x8a") + opt(0, b""))]
        for lt, opts in ifaces:
            out.append(block(1, struct.pack(e + "HHI", lt, 0, 262144) + opts))
        nif = 3
        for i, p in enumerate(part):
            if i == len(part) // 3:
                out.append(block(1, struct.pack(e + "HHI", 1, 0, 262144) + opt(9, b"\x09") + opt(0, b"")))
                nif = 4
            if rnd.random() < 0.01:
                out.append(block(4, struct.pack(e + "HH", 0, 0)))  # an empty name resolution block
            if rnd.random() < 0.01:
                out.append(block(0x00000BAD, struct.pack(e + "I", 32473) + b"custom"))
            t_us += rnd.choice((0, 1, 37, 999, 1000, 250_000))
            ifid = rnd.randrange(nif)
            if rnd.random() < 0.02:  # a simple packet block (interface 0, no time)
                out.append(block(3, struct.pack(e + "I", len(p)) + p))
                continue
            lt = ifaces[ifid][0] if ifid < 3 else 1
            data = p[14:] if lt == 101 else p
            t = (t_us, t_us * 1000 + rnd.randrange(1000), t_us * 1024 // 1_000_000, t_us * 1000)[ifid]
            cap = data if rnd.random() > 0.05 else data[: max(0, len(data) - rnd.randrange(1, 20))]
            opts = b""
            if rnd.random() < 0.3:
                opts = opt(2, struct.pack(e + "I", rnd.choice((1, 2)))) + opt(0, b"")  # epb_flags
            elif rnd.random() < 0.05:
                opts = opt(1, b"a comment") + opt(0, b"")
            head = struct.pack(e + "IIIII", ifid, t >> 32, t & 0xFFFFFFFF, len(cap), len(data))
            out.append(block(6, head + pad(cap) + opts))
    return b"".join(out)


def _want(path: str | int, count: int | None = None) -> tuple[str, str | None]:
    """format_line over the reader's own Frames: the reference text and error message."""
    lines = []
    err = None
    with open_capture(path if isinstance(path, str) else os.fdopen(path, "rb")) as r:
        try:
            for i, fr in enumerate(r, 1):
                if count is not None and i > count:
                    break
                lines.append(format_line(i, fr) + "\n")
        except PcapFormatError as e:
            err = f"{e} @{e.offset}"
    return "".join(lines), err


def _got(source: object, count: int | None = None, batch: int = 2048) -> tuple[list[str], str | None]:
    chunks: list[str] = []
    err = None
    with open_capture(source) as r:  # type: ignore[arg-type]
        assert r.raw_layout() is not None or r.format == "pcap"  # type: ignore[attr-defined]
        try:
            for c in iter_text(r, 1, count, batch):
                chunks.append(c)
        except PcapFormatError as e:
            err = f"{e} @{e.offset}"
    return chunks, err


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    rnd = random.Random(7)
    frames = [_frame(rnd) for _ in range(3000)]
    out = {}
    d = tmp_path_factory.mktemp("textloop")
    for endian in "<>":
        for nsec in (False, True):
            p = d / f"mixed-{'le' if endian == '<' else 'be'}-{'ns' if nsec else 'us'}.pcap"
            p.write_bytes(_pcap(endian, nsec, frames, rnd))
            out[p.name] = p
    p = d / "mixed.pcapng"
    p.write_bytes(_pcapng(frames, rnd))
    out[p.name] = p
    return out


def test_synthetic_files_cross_buffer_boundaries(synthetic: dict[str, Path]) -> None:
    for p in synthetic.values():
        assert p.stat().st_size > 8 * CHUNK  # many records straddle the reader's buffer refills


@pytest.mark.parametrize(
    "name", ["mixed-le-us.pcap", "mixed-be-us.pcap", "mixed-le-ns.pcap", "mixed-be-ns.pcap", "mixed.pcapng"]
)
def test_raw_loop_equals_format_line(synthetic: dict[str, Path], name: str) -> None:
    want, err = _want(str(synthetic[name]))
    chunks, got_err = _got(str(synthetic[name]), batch=97)
    assert err is None and got_err is None
    assert "".join(chunks) == want
    assert chunks[0].count("\n") == 1 and max(c.count("\n") for c in chunks) == 97
    kinds = {line.split()[5] for line in want.splitlines()}  # the protocol column
    assert {
        "TCP",
        "UDP",
        "ICMP",
        "DNS",
        "ARP",
        "IPv4",
        "HTTP",
        "TLSv1.2",
        "TLSv1",
        "TLSv1.3",
        "SSL",
    } <= kinds, kinds


@pytest.mark.parametrize("count", [1, 2, 96, 97, 98, 1000, 2999, 3000, 5000])
@pytest.mark.parametrize("name", ["mixed-le-us.pcap", "mixed.pcapng"])
def test_count_stops_exactly(synthetic: dict[str, Path], count: int, name: str) -> None:
    p = str(synthetic[name])
    want, _ = _want(p, count)
    chunks, err = _got(p, count, batch=97)
    assert err is None and "".join(chunks) == want
    assert "".join(chunks).count("\n") == min(count, 3000)


def test_damage_yields_the_lines_before_it_then_the_error(synthetic: dict[str, Path], tmp_path: Path) -> None:
    data = synthetic["mixed-be-ns.pcap"].read_bytes()
    rnd = random.Random(3)
    cuts = sorted({rnd.randrange(24, len(data)) for _ in range(25)} | {CHUNK - 3, CHUNK + 17, len(data) - 1})
    for cut in cuts:
        p = tmp_path / "cut.pcap"
        p.write_bytes(data[:cut])
        want, err = _want(str(p))
        chunks, got_err = _got(str(p), batch=50)
        assert "".join(chunks) == want, cut
        assert got_err == err, cut
    # a caplen above the link type's maximum mid-file: libpcap's message, after every line before it
    bad = bytearray(data)
    off = 24
    for _ in range(1500):
        off += 16 + struct.unpack_from(">I", bad, off + 8)[0]
    struct.pack_into(">I", bad, off + 8, 0x7FFFFFF0)
    p.write_bytes(bytes(bad))
    want, err = _want(str(p))
    chunks, got_err = _got(str(p))
    assert "".join(chunks) == want and want.count("\n") == 1500
    assert got_err == err and err is not None and "bigger than" in err


@pytest.mark.parametrize("name", ["mixed-le-ns.pcap", "mixed.pcapng"])
def test_a_pipe_in_small_pieces(synthetic: dict[str, Path], name: str) -> None:
    """Through a pipe written in odd-sized pieces every record edge lands somewhere else in the buffer."""
    data = synthetic[name].read_bytes()
    want, _ = _want(str(synthetic[name]))
    r, w = os.pipe()

    def feed() -> None:
        rnd = random.Random(5)
        with os.fdopen(w, "wb", buffering=0) as f:
            i = 0
            while i < len(data):
                k = rnd.randrange(1, 5000)
                f.write(data[i : i + k])
                i += k

    t = threading.Thread(target=feed)
    t.start()
    with os.fdopen(r, "rb") as f:
        chunks, err = _got(f)
    t.join()
    assert err is None and "".join(chunks) == want


def test_corpus_pcaps_through_the_raw_loop() -> None:
    raw = 0
    for p in sorted(CAPS.glob("*.pcap*")):
        try:
            with open_capture(str(p)) as r:
                raw += r.raw_layout() is not None  # type: ignore[attr-defined]
        except PcapFormatError:
            continue  # refused at the file header: nothing to print
        want, err = _want(str(p))
        chunks, got_err = _got(str(p), batch=5)
        assert "".join(chunks) == want, p.name
        assert got_err == err, p.name
    assert raw >= 70


def test_pcapng_damage_and_odd_blocks(synthetic: dict[str, Path], tmp_path: Path) -> None:
    """Cut anywhere, or with a block's trailing length or interface id broken: the same lines and the
    reader's own error, at the same offset."""
    data = synthetic["mixed.pcapng"].read_bytes()
    rnd = random.Random(11)
    cases = [
        data[:cut] for cut in sorted({rnd.randrange(28, len(data)) for _ in range(20)} | {len(data) - 2})
    ]
    # the 700th block: its trailing length, then its interface id
    off = 0
    for _ in range(700):
        off += struct.unpack_from("<I", data, off + 4)[0]
    blen = struct.unpack_from("<I", data, off + 4)[0]
    for where, value in ((off + blen - 4, blen + 4), (off + 8, 99)):
        bad = bytearray(data)
        struct.pack_into("<I", bad, where, value)
        cases.append(bytes(bad))
    errors = set()
    for case in cases:
        p = tmp_path / "cut.pcapng"
        p.write_bytes(case)
        want, err = _want(str(p))
        chunks, got_err = _got(str(p), batch=50)
        assert "".join(chunks) == want
        assert got_err == err
        errors.add(err)
    assert len(errors) > 3  # several kinds of damage, each reported as the reader reports it
