"""Fuzz: mutated public captures and generated extreme files through every reading path.

Over `read`, `read --json`, `stats` (summary, --phs, --conv tcp), `follow`, `read -Y` (run in-process
through sniffer.cli.main, the real front door) and the TUI loader's reading path (model.store:
PacketStore fed by the reader in batches, rows, fields and a filtered View): no exception escapes
(damage is one `sniffer: ...` line, a SnifferError), no run takes more than 10x the same command on
clean input of the same size, and memory stays bounded.

The seeds are tests/corpus captures (see tests/corpus/LICENSE-AND-SOURCES.md), mutated like the
campaign of issue 17 (bit flips, truncations, duplicated and deleted ranges, pcap caplen/len/timestamp
edits, pcapng block and option length edits); the extreme files are built here. A fixed seed set runs
every time (the same mutants every run); hypothesis adds random mutants (derandomized under CI).
The long campaign: `SNIFFER_FUZZ_MUTANTS=500 pytest tests/reliability/test_fuzz.py` (see
docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import resource
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.formats_builders import epb, idb, pcap_header, pcap_record, shb
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sniffer.cli import main as sniffer_main
from sniffer.errors import SnifferError

from .tests_paths import CAPS

SEEDS = [
    "zeek__wikipedia.pcap",  # HTTP over TCP
    "tcpdump__dns_udp.pcap",
    "zeek__dns__mdns.pcap",
    "zeek__pcapng-multi-interface.pcapng",
    "zeek__ipv4__fragmented-1.pcap",
    "zeek__icmp__icmp6-nd-short-options.pcap",
    "zeek__vlan-qinqinq.pcap",
    "tcpdump__tcp-handshake-nano.pcap",
    "zeek__tunnels__vxlan-encapsulated-igmp-v2.pcap",
    "pcapng-tg__output_be__basic__test006.pcapng",
]

COMMANDS: list[tuple[str, ...]] = [
    ("read",),
    ("read", "--json"),
    ("stats",),
    ("stats", "--phs"),
    ("stats", "--conv", "tcp"),
    ("follow", "{}", "tcp", "0"),
    ("read", "-Y", 'tcp.port == 80 || dns.qry.name matches "a" || frame contains 00:00 || ip.len > 60'),
]

MUTANTS_PER_SEED = int(os.environ.get("SNIFFER_FUZZ_MUTANTS", "10"))
SLOWER = 10  # a run may take this many times its clean-input time ...
FLOOR = 0.5  # ... plus this many seconds (timer and scheduler noise on a shared machine)


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """stdout to /dev/null (text and buffer), stderr collected."""
    out = open(os.devnull, "w")
    err = io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield err
    finally:
        sys.stdout, sys.stderr = old
        out.close()


def _argv(cmd: tuple[str, ...], path: Path) -> list[str]:
    if cmd[0] == "follow":
        return ["follow", str(path), *cmd[2:]]
    return [*cmd, str(path)]


def run_cli(cmd: tuple[str, ...], path: Path) -> float:
    """One command through sniffer.cli.main in-process; returns its CPU seconds. Any exception other
    than the clean exit fails the test (main turns a SnifferError into one line and a status)."""
    t = time.process_time()
    with _quiet() as err:
        status = sniffer_main(_argv(cmd, path))
    took = time.process_time() - t
    text = err.getvalue()
    assert "Traceback" not in text, (cmd, path.name, text)
    if status not in (0,):
        lines = [ln for ln in text.splitlines() if ln.startswith("sniffer: ")]
        assert lines, (cmd, path.name, status, text)
    return took


def run_store(path: Path) -> float:
    """The TUI loader's reading path, without the UI: the reader in batches into a PacketStore, then
    rows, fields and a filtered View over what was loaded."""
    from sniffer.capture.pcapfile import open_capture
    from sniffer.model.filters import compile_filter
    from sniffer.model.store import PacketStore, View

    t = time.process_time()
    try:
        reader = open_capture(path)
    except SnifferError:
        return time.process_time() - t
    with reader, PacketStore(str(path)) as store:
        batch: list[object] = []
        try:
            for item in reader.iter_with_offsets():
                batch.append(item)
                if len(batch) == 64:
                    store.append_batch(batch)  # type: ignore[arg-type]
                    batch = []
        except SnifferError:
            pass
        if batch:
            store.append_batch(batch)  # type: ignore[arg-type]
        n = len(store)
        for i in {0, n // 2, n - 1} if n else ():
            store.row(i)
            store.fields(i)
        view = View(store, compile_filter("ip || ipv6 || arp"))
        while not view.done:
            view.advance(2000)
    return time.process_time() - t


# ------------------------------------------------------------------------------------- mutations
def _pcap_records(data: bytes) -> list[int]:
    """Offsets of the pcap record headers (little or big endian), for header edits."""
    if len(data) < 24:
        return []
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, pos = [], 24
    while pos + 16 <= len(data) and len(out) < 10_000:
        out.append(pos)
        pos += 16 + struct.unpack_from(e + "I", data, pos + 8)[0]
    return out


def _pcapng_blocks(data: bytes) -> list[int]:
    e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    out, pos = [], 0
    while pos + 12 <= len(data) and len(out) < 10_000:
        out.append(pos)
        blen = struct.unpack_from(e + "I", data, pos + 4)[0]
        if blen < 12:
            break
        pos += blen
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One mutant: 1-3 edits of the kinds the campaign used."""
    b = bytearray(data)
    png = data[:4] == b"\x0a\x0d\x0d\x0a"
    heads = _pcapng_blocks(data) if png else _pcap_records(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(7)
        n = len(b)
        if n < 32:
            break
        if kind == 0:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(n)
                b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # truncation
            del b[rng.randrange(n // 2, n) :]
        elif kind == 2:  # a duplicated range
            i = rng.randrange(n)
            j = min(n, i + rng.randint(1, 200))
            b[i:i] = b[i:j]
        elif kind == 3:  # a deleted range
            i = rng.randrange(n)
            del b[i : i + rng.randint(1, 200)]
        elif heads and kind in (4, 5, 6):
            h = rng.choice(heads)
            if h + 16 > len(b):
                continue
            value = rng.choice([0, 1, 0xFFFF, 65536, 262145, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1 << 32)])
            e = "<" if (png and b[8:12] == b"\x4d\x3c\x2b\x1a") or data[:1] == b"\xd4" else ">"
            if png:  # block length (kind 4), trailer (5) or an option length inside the block (6)
                where = {4: h + 4, 5: h + 8, 6: h + 12}[kind]
                if kind == 6:
                    struct.pack_into(e + "H", b, where + 2, value & 0xFFFF)
                else:
                    struct.pack_into(e + "I", b, where, value)
            else:  # pcap: usec (4), caplen (5), len (6)
                struct.pack_into(e + "I", b, h + {4: 4, 5: 8, 6: 12}[kind], value)
    return bytes(b)


# ------------------------------------------------------------------------------------ extremes
ETH_IP = b"\x00\x11" * 3 + b"\x00\x22" * 3 + b"\x08\x00"
ETH_IP6 = b"\x00\x11" * 3 + b"\x00\x22" * 3 + b"\x86\xdd"


def _ip4(proto: int, payload: bytes) -> bytes:
    return (
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, b"\n\0\0\1", b"\n\0\0\2")
        + payload
    )


def _ip6(nxt: int, payload: bytes) -> bytes:
    return (
        struct.pack(
            "!IHBB16s16s",
            6 << 28,
            len(payload),
            nxt,
            64,
            b"\xfe\x80" + bytes(13) + b"\1",
            b"\xfe\x80" + bytes(13) + b"\2",
        )
        + payload
    )


def _udp(payload: bytes, sport: int = 1234, dport: int = 53) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _pcap(frames: list[bytes], linktype: int = 1) -> bytes:
    return pcap_header(linktype=linktype) + b"".join(pcap_record("<", 1, i, f) for i, f in enumerate(frames))


def extremes() -> dict[str, tuple[bytes, int]]:
    """name -> (file bytes, packets in it)."""
    out: dict[str, tuple[bytes, int]] = {}
    inner = _udp(b"x" * 8)
    p = inner
    for _ in range(1000):
        p = _ip4(4, p) if len(p) < 65000 else p
    out["ip-in-ip-1000"] = (_pcap([ETH_IP + p]), 1)
    p = inner
    for _ in range(1000):
        p = _ip6(41, p) if len(p) < 65000 else p
    out["ipv6-in-ipv6-1000"] = (_pcap([ETH_IP6 + p]), 1)
    vlans = b"".join(struct.pack("!HH", 1, 0x8100) for _ in range(1000))
    out["vlan-1000"] = (
        _pcap(
            [
                b"\x00\x11" * 3
                + b"\x00\x22" * 3
                + b"\x81\x00"
                + vlans[2:]
                + b"\x00\x01\x08\x00"
                + _ip4(17, inner)
            ]
        ),
        1,
    )
    ext = b"".join(struct.pack("!BB", 60, 0) + bytes(6) for _ in range(1000))
    out["ipv6-1000-ext-headers"] = (
        _pcap([ETH_IP6 + _ip6(60, ext[:-8] + struct.pack("!BB", 17, 0) + bytes(6) + inner)]),
        1,
    )
    icmp = _udp(b"y" * 8)
    p = _ip4(17, icmp)
    for _ in range(300):
        p = _ip4(1, struct.pack("!BBHI", 3, 3, 0, 0) + p)[:65000]
    out["icmp-error-300"] = (_pcap([ETH_IP + p]), 1)
    loop = struct.pack("!HHHHHH", 1, 0x8180, 1, 1, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    loop += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + b"\1\2\3\4"
    out["dns-pointer-loop"] = (_pcap([ETH_IP + _ip4(17, _udp(loop, 53, 1234))] * 50), 50)
    out["zero-length-records-5k"] = (pcap_header() + pcap_record("<", 1, 0, b"", wirelen=0) * 5_000, 5_000)
    syn = ETH_IP + _ip4(6, struct.pack("!HHIIHHHH", 1234, 80, 1, 0, 0x5002, 8192, 0, 0))
    out["idb-20k"] = (shb() + idb() * 20_000 + epb("<", 19_999, 1, syn), 1)
    out["tcp-streams-2k"] = (
        _pcap(
            [
                ETH_IP + _ip4(6, struct.pack("!HHIIHHHH", 1024 + i, 80, 1, 0, 0x5002, 8192, 0, 0))
                for i in range(2000)
            ]
        ),
        2000,
    )
    return out


def _clean_pcap(packets: int) -> bytes:
    """A clean file of `packets` ordinary packets: the yardstick for an extreme file's time."""
    syn = ETH_IP + _ip4(6, struct.pack("!HHIIHHHH", 1234, 80, 1, 0, 0x5002, 8192, 0, 0))
    return _pcap([syn] * max(packets, 1))


# ------------------------------------------------------------------------------------------ tests
@pytest.fixture(scope="module")
def rss_start() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _check_all(path: Path, base: dict[str, float], label: str) -> None:
    for cmd in COMMANDS:
        took = run_cli(cmd, path)
        limit = SLOWER * base[" ".join(cmd)] + FLOOR
        assert took <= limit, (
            f"{label}: {' '.join(cmd)} took {took:.2f} s (clean {base[' '.join(cmd)]:.3f} s)"
        )
    took = run_store(path)
    assert took <= SLOWER * base["store"] + FLOOR, f"{label}: loader took {took:.2f} s"


def _baseline(path: Path) -> dict[str, float]:
    base = {" ".join(cmd): min(run_cli(cmd, path) for _ in range(2)) for cmd in COMMANDS}
    base["store"] = min(run_store(path) for _ in range(2))
    return base


def test_mutated_corpus(tmp_path: Path, rss_start: int) -> None:
    """The fixed seed set: MUTANTS_PER_SEED mutants of each seed capture (the same every run)."""
    rng = random.Random(17)
    for name in SEEDS:
        data = (CAPS / name).read_bytes()
        clean = tmp_path / name
        clean.write_bytes(data)
        base = _baseline(clean)
        for k in range(MUTANTS_PER_SEED):
            m = tmp_path / f"m{k}-{name}"
            m.write_bytes(mutate(data, rng))
            _check_all(m, base, f"{name} mutant {k}")
            m.unlink()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_start
    assert grown < 512 * 1024, f"peak RSS grew {grown} KiB"


@pytest.mark.parametrize("name", list(extremes()))
def test_extreme_files(tmp_path: Path, name: str, rss_start: int) -> None:
    data, packets = extremes()[name]
    clean = tmp_path / "clean.pcap"
    clean.write_bytes(_clean_pcap(packets))
    base = _baseline(clean)
    if name == "idb-20k":  # its yardstick: as many plain records (the 100k-IDB file: test_failures.py)
        clean.write_bytes(pcap_header() + pcap_record("<", 1, 0, bytes(4)) * 20_000)
        base = _baseline(clean)
    f = tmp_path / f"{name}.pcapng"
    f.write_bytes(data)
    _check_all(f, base, name)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_start
    assert grown < 512 * 1024, f"peak RSS grew {grown} KiB"


@settings(
    max_examples=int(os.environ.get("SNIFFER_FUZZ_EXAMPLES", "25")), suppress_health_check=list(HealthCheck)
)
@given(
    seed=st.sampled_from(SEEDS[:4]),
    edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 1 << 20)),
)
# found by this test: a pcapng timestamp past int64 ns overflowed the loader's ts column (model/store)
@example(seed="zeek__pcapng-multi-interface.pcapng", edits=[(3739, 1)], cut=None)
def test_hypothesis_byte_edits(seed: str, edits: list[tuple[int, int]], cut: int | None) -> None:
    """Random byte edits and a cut, through the reader, the text and JSON views and the filter."""
    import tempfile

    data = bytearray((CAPS / seed).read_bytes())
    for pos, val in edits:
        data[pos % len(data)] = val
    if cut is not None:
        del data[cut % len(data) :]
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(bytes(data))
        f.flush()
        p = Path(f.name)
        for cmd in (("read",), ("read", "--json"), COMMANDS[-1]):
            run_cli(cmd, p)
        run_store(p)
