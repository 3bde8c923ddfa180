"""The stats, follow and read -Y commands end to end, against tshark."""

from __future__ import annotations

import re

import pytest
from helpers.cli import run_sniffer
from helpers.filters_oracle import CAPTURES, have_tshark, stats_oracle, tshark_follow, tshark_matches

pytestmark = pytest.mark.skipif(not have_tshark(), reason="tshark not installed")

WIKI = CAPTURES / "zeek__wikipedia.pcap"


def test_follow_prints_what_tshark_prints() -> None:
    out = run_sniffer("follow", str(WIKI), "tcp", "1")
    assert out.returncode == 0, out.stderr
    assert "\n" + out.stdout.decode("latin-1") == tshark_follow(WIKI, "tcp", 1, "ascii")
    out = run_sniffer("follow", str(WIKI), "udp", "3", "--mode", "hex")
    assert "\n" + out.stdout.decode("latin-1") == tshark_follow(WIKI, "udp", 3, "hex")


def test_follow_bytes_is_the_payload() -> None:
    out = run_sniffer("follow", str(WIKI), "tcp", "1", "--bytes")
    raw = tshark_follow(WIKI, "tcp", 1, "raw")
    chunks = [line.strip() for line in raw.splitlines()[6:] if line.strip() and not line.startswith("=")]
    assert out.stdout == bytes.fromhex("".join(chunks))
    assert out.stdout.startswith(b"GET /skins-1.5/")


def test_follow_missing_stream_says_what_exists() -> None:
    out = run_sniffer("follow", str(WIKI), "tcp", "99")
    assert out.returncode == 1 and out.stdout == b""
    assert out.stderr.decode().strip() == f"sniffer: {WIKI}: no tcp stream 99; it has 10 tcp streams (0-9)"
    bad = run_sniffer("follow", str(CAPTURES / "no-such.pcap"), "tcp", "0")
    assert bad.returncode != 0 and b"Traceback" not in bad.stderr and bad.stderr.startswith(b"sniffer: ")


def test_stats_conversations_match_tshark() -> None:
    out = run_sniffer("stats", str(WIKI), "--conv", "tcp", "--conv", "ip")
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    oracle = stats_oracle(WIKI)
    for kind, title in (("tcp", "TCP"), ("ip", "IPv4")):
        section = text.split(f"{title} Conversations")[1].split("Conversations")[0]
        rows = set()
        for line in section.splitlines():
            m = re.match(r"^\s*(?:\d+\s+)?(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", line)
            if m:
                rows.add((m[1], m[2], int(m[3]), int(m[5])))
        assert rows == {(a, b, fab, fba) for a, b, fab, _, fba, _ in oracle.conv[kind]}


def test_stats_hierarchy_and_summary() -> None:
    out = run_sniffer("stats", str(WIKI))
    text = out.stdout.decode()
    assert out.returncode == 0 and "Packets: 136" in text and "Bytes: 25260" in text
    assert "eth                                      frames:136 bytes:25260" in text
    assert re.search(r"^  ip +frames:121 bytes:24067$", text, re.M)
    out = run_sniffer("stats", str(WIKI), "--endpoints", "ip", "--io", "1", "-Y", "tcp.port == 80")
    text = out.stdout.decode()
    assert "IPv4 Endpoints (6)" in text and "208.80.152.3" in text and "224.0.0.251" not in text
    io = [line.split() for line in text.split("I/O rate")[1].splitlines()[2:]]
    assert sum(int(r[1]) for r in io) == len(tshark_matches(WIKI, "tcp.port == 80"))


def test_stats_bad_filter_is_one_line() -> None:
    out = run_sniffer("stats", str(WIKI), "-Y", "tcp.port == = 80")
    assert out.returncode != 0 and out.stdout == b""
    assert out.stderr.decode().strip() == 'sniffer: unexpected character "=" at column 13'


@pytest.mark.parametrize(
    ("name", "expr"),
    [
        ("zeek__wikipedia.pcap", "tcp.port == 80 && tcp.flags.syn == 1"),
        ("zeek__wikipedia.pcap", 'dns.qry.name contains "wiki" or arp'),
        ("zeek__wikipedia.pcap", "ip.addr == 208.80.152.0/24 and not tcp.len == 0"),
        ("zeek__icmp__icmp-destunreach-udp.pcap", "ip.src == 192.168.1.1 and udp.srcport == 53"),
        ("zeek__igmp__igmp-many-sources.pcap", "igmp.type in {0x11, 0x22} and frame.len > 60"),
        ("tcpdump__icmpv6.pcap", "icmpv6.type >= 128 || ipv6.dst == ff02::/16"),
        ("zeek__vlan-qinqinq.pcap", "vlan.id == 20 && tcp.flags.syn == 1"),
    ],
)
def test_read_filter_matches_tshark(name: str, expr: str) -> None:
    path = CAPTURES / name
    out = run_sniffer("read", str(path), "-Y", expr)
    assert out.returncode == 0, out.stderr
    ours = {int(line.split()[0]) for line in out.stdout.decode().splitlines()}
    assert ours == tshark_matches(path, expr)


@pytest.mark.parametrize(
    ("name", "expr"),
    [
        # fields that only exist in capture order: stream numbers, frame number, time since the previous
        ("zeek__wikipedia.pcap", "tcp.stream == 3"),
        ("zeek__wikipedia.pcap", "udp.stream in {0, 2} or tcp.stream == 7"),
        ("zeek__nmap-vsn.pcap", "frame.number > 400 and tcp.flags.syn == 1"),
        ("zeek__wikipedia.pcap", "frame.time_delta > 0.5"),
    ],
)
def test_read_filter_on_capture_order_fields_matches_tshark(name: str, expr: str) -> None:
    path = CAPTURES / name
    out = run_sniffer("read", str(path), "-Y", expr)
    assert out.returncode == 0, out.stderr
    ours = {int(line.split()[0]) for line in out.stdout.decode().splitlines()}
    assert ours == tshark_matches(path, expr) != set()  # each selects something: empty cannot pass


def test_read_json_filter_on_stream_matches_tshark() -> None:
    import json

    out = run_sniffer("read", str(WIKI), "--json", "-Y", "tcp.stream == 5")
    assert out.returncode == 0, out.stderr
    ours = {json.loads(line)["frame.number"] for line in out.stdout.decode().splitlines()}
    assert ours == tshark_matches(WIKI, "tcp.stream == 5") != set()


def test_read_bad_filter_names_the_column() -> None:
    out = run_sniffer("read", str(WIKI), "-Y", "ip.sorc == 1.2.3.4")
    assert out.returncode != 0 and out.stdout == b""
    assert (
        out.stderr.decode().strip() == 'sniffer: unknown field "ip.sorc" at column 1; did you mean "ip.src"?'
    )
