"""Regression tests for the failures a fuzz campaign, fault injection and a load test found (issue 17)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from helpers.cli import run_sniffer
from helpers.formats_builders import pcap_header, pcap_record

ETH = b"\x00\x11" * 3 + b"\x00\x22" * 3 + b"\x08\x00"
IP = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
TCP = struct.pack("!HHIIHHHH", 1234, 80, 1, 0, 0x5002, 8192, 0, 0)
SYN = ETH + IP + TCP  # 54 bytes: the text fast path's shape


def _one_line_error(r: object) -> str:
    err = r.stderr.decode()  # type: ignore[attr-defined]
    assert r.returncode != 0, err  # type: ignore[attr-defined]
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("sniffer: "), err
    return err


def test_pcap_usec_past_one_second_is_carried(tmp_path: Path) -> None:
    """1: a record whose microseconds field is >= 1,000,000 (damage) raised IndexError in `read`'s
    text fast path; now the fraction carries into the seconds, as Frame.ts (and --json) do."""
    p = tmp_path / "usec.pcap"
    p.write_bytes(pcap_header() + pcap_record("<", 100, 1_500_000, SYN) + pcap_record("<", 100, 2, SYN))
    r = run_sniffer("read", str(p))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert [ln.split()[1] for ln in lines] == ["00:01:41.500000", "00:01:40.000002"]
    js = [json.loads(x) for x in run_sniffer("read", "--json", str(p)).stdout.decode().splitlines()]
    assert [o["frame.time_epoch"] for o in js] == ["101.500000000", "100.000002000"]


def test_caplen_above_len_keeps_the_recorded_len(tmp_path: Path) -> None:
    """6: a record with caplen > len: frame.len is the recorded len (libpcap, tshark), not caplen."""
    p = tmp_path / "caplen.pcap"
    p.write_bytes(pcap_header() + pcap_record("<", 100, 2, SYN, wirelen=40))
    (obj,) = [json.loads(x) for x in run_sniffer("read", "--json", str(p)).stdout.decode().splitlines()]
    assert (obj["frame.len"], obj["frame.cap_len"]) == (40, 54)
    assert obj["tcp.srcport"] == 1234  # every captured byte is still decoded
    r = run_sniffer("read", "-Y", "frame.len == 40", str(p))
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1, r.stderr


def _many_idbs(n: int, packets: int = 10) -> bytes:
    from helpers.formats_builders import epb, idb, shb

    return shb() + idb() * n + b"".join(epb("<", i * (n // packets), 10**6 * i, SYN) for i in range(packets))


def test_pcapng_with_many_interfaces_reads_in_linear_time() -> None:
    """2: 100k Interface Description Blocks took 147 s (quadratic: the per-interface state list was
    rebuilt for every block). Reading 40k IDBs must cost about 4x reading 10k, not 16x."""
    import gc
    import io
    import time

    from sniffer.capture.pcapfile import open_capture

    def cost(n: int) -> float:
        data = _many_idbs(n)
        best = 1e9
        for _ in range(3):
            gc.collect()  # (what earlier tests left is not this reader's cost: no collection mid-timing)
            gc.disable()
            try:
                t = time.process_time()
                r = open_capture(io.BytesIO(data))
                assert sum(1 for _ in r) == 10 and len(r.interfaces) == n
                best = min(best, time.process_time() - t)
            finally:
                gc.enable()
        return best

    small, big = cost(10_000), cost(40_000)
    assert big < 8 * small, (small, big)


def test_pcapng_100k_interfaces_cli_within_twice_tshark(tmp_path: Path) -> None:
    """2: every command on a 100k-IDB file in at most 2x tshark's CPU time (plus interpreter start)."""
    import resource
    import shutil
    import subprocess

    from helpers.cli import sniffer_argv, sniffer_env

    p = tmp_path / "idb100k.pcapng"
    p.write_bytes(_many_idbs(100_000))

    def cpu(argv: list[str]) -> float:
        a = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(argv, capture_output=True, env=sniffer_env(), timeout=120)
        b = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert r.returncode == 0, r.stderr
        return b.ru_utime - a.ru_utime + b.ru_stime - a.ru_stime

    tshark = shutil.which("tshark")
    assert tshark, "tshark (the oracle) is not installed"
    # best of three each: on a loaded 2-CPU machine one run of the same command varies by +-25 %
    # (measured: tshark 0.25-0.38 CPU s, `read` 0.47-0.62), the best is what the code costs
    base = min(cpu([tshark, "-r", str(p)]) for _ in range(3))
    start = min(cpu(sniffer_argv("--help")) for _ in range(3))
    for args in (["read"], ["read", "--json"], ["stats"], ["read", "-Y", "tcp"]):
        t = min(cpu(sniffer_argv(*args, str(p))) for _ in range(3))
        assert t <= 2 * base + start, (args, t, base, start)


def test_out_of_range_arguments_are_one_line() -> None:
    """4: -B past the ring's 32-bit sizes (struct.error), a port past 65535 (OverflowError)."""
    err = _one_line_error(run_sniffer("capture", "-i", "lo", "-B", "99999999999", "-c", "1"))
    assert "-B must be between 2048 and" in err
    err = _one_line_error(run_sniffer("mcast", "join", "239.1.2.3", "-p", "70000"))
    assert "port 70000 is not in 1-65535" in err
    # argparse errors (9): one line with where to look, not the whole usage block
    err = _one_line_error(run_sniffer("read", "--no-such-option", "x.pcap"))
    assert "unrecognized arguments: --no-such-option" in err and "--help" in err and "usage:" not in err
    err = _one_line_error(run_sniffer("read", "-Y", "x" * 100_000, "--no-such-option"))
    assert len(err) < 1000  # a huge bad value is not echoed whole


def test_stdout_on_a_full_disk_is_one_line() -> None:
    """4: `stats FILE > /dev/full` raised OSError with a traceback (read printed one line)."""
    from .tests_paths import NMAP

    for cmd in (["stats"], ["read"], ["read", "--json"]):
        with open("/dev/full", "wb") as full:
            import subprocess

            from helpers.cli import sniffer_argv, sniffer_env

            r = subprocess.run(
                sniffer_argv(*cmd, str(NMAP)), stdout=full, stderr=subprocess.PIPE, env=sniffer_env()
            )
        err = _one_line_error(r)
        assert "No space left on device" in err, (cmd, err)


def _loopback_udp(stop_when: object, seconds: float = 10.0, port: int = 47917) -> None:
    """Send small UDP datagrams to 127.0.0.1 until ``stop_when()`` or ``seconds`` (bounded)."""
    import socket
    import time

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not stop_when():  # type: ignore[operator]
            for _ in range(50):
                s.sendto(b"x" * 200, ("127.0.0.1", port))
            time.sleep(0.001)
    finally:
        s.close()


@pytest.mark.root
@pytest.mark.parametrize("fmt", ["pcapng", "pcap"])
def test_full_disk_statistics_count_what_was_written(tmp_path: Path, fmt: str) -> None:
    """8: on a full disk the statistics said "6814 captured" while the file held 7281 packets."""
    import subprocess

    from helpers.capture_cli import start_capture

    from sniffer.capture.pcapfile import open_capture

    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=True)
    try:
        out = disk / f"f.{fmt}"
        proc = start_capture("-i", "lo", "-F", fmt, "-w", str(out), "udp port 47917")
        _loopback_udp(lambda: proc.poll() is not None)
        _, err = proc.communicate(timeout=30)
        text = err.decode()
        assert proc.returncode == 1 and "disk full" in text, text
        (captured,) = [int(ln.split()[0]) for ln in text.splitlines() if ln.endswith("packets captured")]
        with open_capture(out) as r:
            held = sum(1 for _ in r)
        assert held > 100 and captured == held, text
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.root
def test_sighup_stops_a_capture_with_statistics(tmp_path: Path) -> None:
    """9: SIGHUP (the terminal went away) killed a capture without statistics; tcpdump prints them."""
    import signal

    from helpers.capture_cli import start_capture

    out = tmp_path / "hup.pcapng"
    proc = start_capture("-i", "lo", "-w", str(out), "udp port 47917")
    _loopback_udp(lambda: False, seconds=0.3)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert b"packets captured" in err and b"packets received by filter" in err


@pytest.mark.root
def test_ping_local_error_goes_to_stderr() -> None:
    """9: "local error: Network is unreachable" went to stdout with stderr empty (a namespace with
    only loopback: no route, so the send itself fails)."""
    import subprocess
    import uuid

    from helpers.cli import sniffer_argv, sniffer_env

    ns = f"rel17-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        r = subprocess.run(
            ["ip", "netns", "exec", ns, *sniffer_argv("ping", "-c", "1", "-W", "1", "10.9.9.9")],
            capture_output=True,
            env=sniffer_env(),
            timeout=30,
        )
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    assert r.returncode == 1
    assert b"local error: Network is unreachable" in r.stderr and b"local error" not in r.stdout


def _dns_query(name: bytes) -> bytes:
    labels = b"".join(bytes([len(p)]) + p for p in name.split(b".")) + b"\0"
    dns = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + labels + struct.pack("!HH", 1, 1)
    udp = struct.pack("!HHHH", 5353, 53, 8 + len(dns), 0) + dns
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, b"\n\0\0\1", b"\n\0\0\2")
    return ETH + ip + udp


def test_catastrophic_regex_is_bounded(tmp_path: Path) -> None:
    """3: `dns.qry.name matches "(a+)+$"` on a 40-letter name ran past 20 s (Python's re backtracks
    without limit). Now: the `regex` engine answers it at once (no match, as tshark); a pattern that
    still backtracks past the per-search timeout is refused with one line, once, not per packet."""
    import time

    p = tmp_path / "dns40.pcap"
    p.write_bytes(pcap_header() + pcap_record("<", 1, 0, _dns_query(b"a" * 40 + b"!")) * 200)
    t = time.monotonic()
    r = run_sniffer("read", "-Y", 'dns.qry.name matches "(a+)+$"', str(p), timeout=60)
    assert r.returncode == 0 and r.stdout == b"", r.stderr
    r = run_sniffer("read", "-Y", 'dns.qry.name matches "(a|aa)+$"', str(p), timeout=60)
    err = _one_line_error(r)
    assert "regex too expensive" in err
    assert time.monotonic() - t < 15


def test_regex_timeout_reports_once_over_many_packets() -> None:
    """3: after the first timeout every later search fails at once (the TUI counts an error per packet
    and must not wait a timeout per packet)."""
    import time

    from sniffer.errors import FilterError
    from sniffer.model.filters import compile_filter

    flt = compile_filter('dns.qry.name matches "(a|aa)+$"')
    fields = {"dns.qry.name": ["a" * 40 + "!"]}
    t = time.monotonic()
    errors = 0
    for _ in range(1000):
        try:
            flt.matches(fields)
        except FilterError as exc:
            assert "regex too expensive" in str(exc)
            errors += 1
    assert errors == 1000 and time.monotonic() - t < 5


def test_ordinary_regexes_match_tshark() -> None:
    """3: the bounded engine gives tshark's answers on ordinary patterns (case-insensitive by default,
    (?-i), anchors, classes, alternation, bytes fields)."""
    import shutil
    import subprocess

    from .tests_paths import CAPS

    tshark = shutil.which("tshark")
    assert tshark, "tshark (the oracle) is not installed"
    cases = [
        ("zeek__dns__mdns.pcap", 'dns.qry.name matches "\\\\.LOCAL$"'),
        ("zeek__dns__mdns.pcap", 'dns.qry.name matches "(?-i)\\\\.LOCAL$"'),
        ("zeek__dns__mdns.pcap", 'dns.qry.name matches "^_ipps?\\\\._tcp"'),
        ("zeek__dns__mdns.pcap", 'dns.qry.name matches "[0-9]\\\\.in-addr|johanna"'),
        ("tcpdump__dns_udp.pcap", 'dns.qry.name matches "tcpdump\\\\.(org|net)"'),
        ("zeek__wikipedia.pcap", 'http.request.uri matches "^/[a-z]+/"'),
        ("zeek__wikipedia.pcap", 'http.host matches "wiki(pedia|media)"'),
    ]
    for name, flt in cases:
        f = str(CAPS / name)
        want = subprocess.run(
            [tshark, "-r", f, "-Y", flt, "-T", "fields", "-e", "frame.number"], capture_output=True, text=True
        )
        assert want.returncode == 0, (flt, want.stderr)
        r = run_sniffer("read", "--json", "-Y", flt, f)
        assert r.returncode == 0, (flt, r.stderr)
        got = [json.loads(x)["frame.number"] for x in r.stdout.decode().splitlines()]
        assert got == [int(x) for x in want.stdout.split()], flt


@pytest.mark.parametrize("linktype", [5, 1025, 65535])
def test_unknown_link_type_is_read_as_libpcap_does_with_one_warning(tmp_path: Path, linktype: int) -> None:
    """10: libpcap opens a file of an unknown link type and returns its packets (tcpdump then says
    "unknown data link type", tshark refuses the file): sniffer reads it as raw data, as libpcap does,
    and says so in one stderr line (it was silent)."""
    p = tmp_path / f"lt{linktype}.pcap"
    p.write_bytes(pcap_header(linktype=linktype) + pcap_record("<", 1, 0, b"abcdefgh" * 4) * 3)
    from helpers import formats_libpcap

    assert formats_libpcap.available(), "libpcap is not installed"
    got = formats_libpcap.read(str(p))
    assert not got.open_failed and got.error is None and len(got.packets) == 3  # libpcap reads it
    for cmd in (["read"], ["read", "--json"], ["stats"]):
        r = run_sniffer(*cmd, str(p))
        assert r.returncode == 0, r.stderr
        err = r.stderr.decode()
        assert err.count("\n") == 1 and f"link type {linktype} has no decoder here" in err, (cmd, err)
    assert len(run_sniffer("read", str(p)).stdout.splitlines()) == 3
    eth = p.with_name("eth.pcap")
    eth.write_bytes(pcap_header(linktype=1) + pcap_record("<", 1, 0, SYN))
    r = run_sniffer("read", str(eth))
    assert r.returncode == 0 and r.stderr == b""


def test_protocol_contains_and_matches_agree_with_tshark() -> None:
    """7: `frame contains 01:02` found 0 packets (tshark 4 on this file), `tcp contains "GET"` and
    `frame contains "GET"` 0 (tshark 15): a protocol used as a value is its bytes, from its first byte
    to the end of the packet."""
    import shutil
    import subprocess

    from .tests_paths import CAPS

    tshark = shutil.which("tshark")
    assert tshark, "tshark (the oracle) is not installed"
    cases = [
        ("libpcap__filter__ah-ipip-ping.pcap", "frame contains 01:02"),
        ("tcpdump__IGMP_V1.pcap", "frame contains 01:02"),
        ("zeek__wikipedia.pcap", 'tcp contains "GET"'),
        ("zeek__wikipedia.pcap", 'frame contains "GET"'),
        ("zeek__wikipedia.pcap", "tcp contains 08:00"),
        ("zeek__wikipedia.pcap", "udp contains 00:35"),
        ("zeek__wikipedia.pcap", 'frame matches "get /[a-z]+"'),
        ("zeek__wikipedia.pcap", "ip contains 0a:00 && tcp"),
    ]
    for name, flt in cases:
        f = str(CAPS / name)
        want = subprocess.run(
            [tshark, "-r", f, "-Y", flt, "-T", "fields", "-e", "frame.number"], capture_output=True, text=True
        )
        r = run_sniffer("read", "--json", "-Y", flt, f)
        assert r.returncode == 0, (flt, r.stderr)
        got = [json.loads(x)["frame.number"] for x in r.stdout.decode().splitlines()]
        assert got and got == [int(x) for x in want.stdout.split()], flt


@pytest.mark.parametrize(
    ("flt", "says"),
    [
        ("ip.len == 99999999999999999999", "integer overflow"),
        ("frame.len - - - 1 > 0", 'unexpected "-"'),
        ("frame.len == - - 1", 'unexpected "-"'),
        ("frame.len > --1", "is not a valid number"),
        ("eth.src[0:99999999999] == 00", "is not a valid range"),
        ("frame[99999999999999:2] == 00", "is not a valid range"),
    ],
)
def test_malformed_filters_tshark_rejects_are_rejected(flt: str, says: str) -> None:
    """7: filters tshark refuses were accepted (and `frame.len - - - 1` matched everything)."""
    from .tests_paths import NMAP

    err = _one_line_error(run_sniffer("read", "-Y", flt, str(NMAP)))
    assert says in err, err


def test_a_huge_bad_value_is_not_echoed_whole() -> None:
    """7: a 100 KB bad value was echoed whole in the error."""
    from .tests_paths import NMAP

    err = _one_line_error(run_sniffer("read", "-Y", "ip.src == " + "x" * 100_000, str(NMAP)))
    assert len(err) < 400 and "..." in err, err[:400]
