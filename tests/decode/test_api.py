"""The decode contract on real corpus packets: summarize, format_line, frame_fields, dissect."""

from __future__ import annotations

from pathlib import Path

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import Summary, format_line, slow_summary, summarize
from sniffer.decode.tree import dissect
from sniffer.frame import Frame

CAPS = Path(__file__).resolve().parents[1] / "corpus" / "captures"


def _frames(name: str) -> list[Frame]:
    with open_capture(str(CAPS / name)) as r:
        return list(r)


def test_icmp_error_quotes_become_lists() -> None:
    (fr,) = _frames("zeek__icmp__icmp-destunreach-udp.pcap")
    f = frame_fields(fr)
    assert f["ip.src"] == ["192.168.1.102", "192.168.1.1"]
    assert f["ip.proto"] == [1, 17]
    assert f["icmp.type"] == 3 and f["icmp.code"] == 3
    assert f["udp.dstport"] == 59207
    assert f["dns.qry.name"] == "secure.ed4.net"
    assert f["icmp.checksum.status"] == 1
    s = summarize(fr)
    assert s == Summary(
        "192.168.1.102", "192.168.1.1", "ICMP", "Destination unreachable (Port unreachable)", False
    )


def test_tcp_fast_path_line() -> None:
    fr = _frames("zeek__tcp__syn-synack.pcap")[1]
    line = format_line(2, fr)
    assert line.startswith("2 ")
    assert line.endswith(
        "192.150.187.43 -> 141.142.228.5 TCP 74 80 -> 59856 [SYN, ACK] Seq=2779762238 "
        "Ack=4263588411 Win=14480 Len=0"
    )
    f = frame_fields(fr)
    assert f["tcp.flags"] == 0x012 and f["tcp.flags.syn"] == 1 and f["tcp.flags.ack"] == 1
    assert f["tcp.port"] == [80, 59856]


def test_fast_and_slow_summaries_agree_on_corpus() -> None:
    n = 0
    for p in sorted(CAPS.glob("*.pcap")):
        try:
            frames = _frames(p.name)
        except Exception:
            continue  # broken files are the reader's business
        for fr in frames:
            assert summarize(fr) == slow_summary(fr), (p.name, fr)
            n += 1
    assert n > 1000


def test_tree_agrees_with_fields() -> None:
    for name in ("zeek__icmp__icmp-destunreach-udp.pcap", "tcpdump__icmpv6.pcap", "zeek__vlan-qinqinq.pcap"):
        for fr in _frames(name):
            root = dissect(fr)
            assert root.to_fields() == frame_fields(fr)
            for node in root.walk():
                assert 0 <= node.offset and node.offset + node.length <= len(fr.data), (name, node)


def test_iter_text_is_format_line_joined() -> None:
    from sniffer.decode.summary import iter_text

    frames = [
        fr
        for name in ("zeek__nmap-vsn.pcap", "zeek__wikipedia.pcap", "dpkt__dns_icmp.pcap")
        for fr in _frames(name)
    ]
    want = "".join(format_line(i + 1, fr) + "\n" for i, fr in enumerate(frames))
    chunks = list(iter_text(frames, 1, None, 100))
    assert chunks[0].count("\n") == 1  # the first line comes alone, at once
    assert "".join(chunks) == want
    assert "".join(iter_text(frames, 5, 3)) == "".join(
        format_line(5 + i, fr) + "\n" for i, fr in enumerate(frames[:3])
    )


def test_fast_path_port_sets_match_the_tables() -> None:
    """The fast path's port sets are derived from the tables: every port a dissector is registered on
    is always slow (DNS ...), or slow only for payloads starting with one of its prefixes (HTTP, TLS)."""
    from sniffer.decode.core import (
        HTTP_PREFIXES,
        HTTP_TCP_PORTS,
        TCP_PORTS,
        TLS_PREFIXES,
        TLS_TCP_PORTS,
        UDP_PORTS,
    )
    from sniffer.decode.http import dissect_http_port
    from sniffer.decode.mgmt import SYSLOG_PREFIXES
    from sniffer.decode.summary import _ALWAYS_TCP, _ALWAYS_UDP, _FIRST, _PREFIXES, _SLOW_TCP, _SLOW_UDP

    assert _SLOW_UDP == set(UDP_PORTS.map) >= {53, 5353, 5355, 67, 68, 546, 547, 4789, 514}
    assert _ALWAYS_UDP == _SLOW_UDP - set(UDP_PORTS.prefixes) and 514 not in _ALWAYS_UDP and 53 in _ALWAYS_UDP
    assert _SLOW_TCP == set(TCP_PORTS.map) == _ALWAYS_TCP | HTTP_TCP_PORTS | TLS_TCP_PORTS
    assert 53 in _ALWAYS_TCP and not _ALWAYS_TCP & (HTTP_TCP_PORTS | TLS_TCP_PORTS)
    assert {p for p, fn in TCP_PORTS.map.items() if fn is dissect_http_port} == HTTP_TCP_PORTS
    from sniffer.decode.sslv2 import SSLV2_PREFIXES

    assert _PREFIXES == HTTP_PREFIXES | TLS_PREFIXES | SYSLOG_PREFIXES | SSLV2_PREFIXES | {
        b"PRI"
    }  # (PRI: HTTP/2)
    assert {b for b in range(256) if _FIRST[b]} == {p[0] for p in _PREFIXES}


def test_syslog_prefixes_cover_what_its_dissector_takes() -> None:
    """syslog (UDP 514) registers with prefixes: every payload it takes starts with one of them, and what
    it refuses prints as the fast path prints a plain UDP datagram."""
    import random
    import struct

    from sniffer.decode.mgmt import SYSLOG_PREFIXES
    from sniffer.decode.summary import _fast, slow_summary
    from sniffer.frame import Frame

    rnd = random.Random(5)
    samples = [b"<%d>x" % d for d in (0, 7, 13, 191, 999)] + [b"<>", b"<1", b"<1234>", b"<a>", b"x<1>"]
    samples += [
        b"<" + bytes(rnd.choice(b"0123456789>a") for _ in range(rnd.randrange(0, 6))) for _ in range(3000)
    ]
    samples += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 12))) for _ in range(3000)]
    taken = 0
    for pl in samples:
        udp = struct.pack("!HHHH", 40000, 514, 8 + len(pl), 0) + pl
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(4), bytes(4))
        data = bytes(12) + b"\x08\x00" + ip + udp
        fr = Frame(0, data, len(data), 1, 0, 0, "", None)
        slow = slow_summary(fr)
        if slow.protocol == "Syslog":
            taken += 1
            assert pl[:3] in SYSLOG_PREFIXES, pl
        else:
            assert _fast(fr) in (None, slow), pl
    assert taken >= 5


def test_payload_prefixes_cover_what_the_heuristic_dissectors_take() -> None:
    """A payload HTTP or TLS takes always starts with one of PAYLOAD_PREFIXES (the fast path's test);
    payloads they refuse decode as TCP + data, as the fast path shows them."""
    import random

    from sniffer.decode.core import HTTP_METHODS, HTTP_PREFIXES, TLS_PREFIXES
    from sniffer.decode.http import request_or_response
    from sniffer.decode.tls import is_record_header

    rnd = random.Random(1)
    samples = [f"{m} / HTTP/1.1\r\n".encode() for m in HTTP_METHODS] + [b"HTTP/1.0 200 OK\r\n"]
    samples += [bytes((ct, 3, v, hi, 9)) for ct in range(20, 25) for v in range(5) for hi in (0, 64, 255)]
    samples += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 12))) for _ in range(20000)]
    samples += [b"GE", b"GET", b"GET /", b"GETX / HTTP/1.1", b"\x16\x03\x01\x00", b"\x16\x03\x05\x00\x10"]
    taken = 0
    for s in samples:
        if request_or_response(s, 0, len(s)) or is_record_header(s, 0, len(s)):
            taken += 1
            assert s[:3] in HTTP_PREFIXES | TLS_PREFIXES, s
    assert taken >= len(HTTP_METHODS) + 1 + 75


def test_deep_decode_through_scapy_on_demand() -> None:
    from sniffer.decode.tree import dissect_deep

    fr = _frames("tcpdump__pptp.pcap")[0]
    lines = dissect_deep(fr)
    assert any("Ethernet" in x for x in lines) and any("TCP" in x for x in lines)
    assert dissect_deep(fr._replace(linktype=65000))[0].startswith("scapy has no decoder")


def test_fast_protocols_are_the_dissectors() -> None:
    """fast_protocols (the hierarchy's shortcut) gives the full dissector's frame.protocols, or None."""
    from sniffer.decode.engine import run
    from sniffer.decode.summary import fast_protocols

    fast = total = 0
    for p in sorted(CAPS.glob("*.pcap")):
        try:
            frames = _frames(p.name)
        except Exception:
            continue
        for fr in frames:
            total += 1
            got = fast_protocols(fr)
            if got is not None:
                fast += 1
                assert got == ":".join(run(fr, False).protos), (p.name, fr)
    # the shortcut is exercised (the corpus is mostly odd packets; since issue 13 MPTCP segments and the
    # new protocols' ports take the dissector: 180 of them here)
    assert fast > 150 and total > 1500
