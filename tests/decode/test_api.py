"""The decode contract on real corpus packets: summarize, format_line, frame_fields, dissect."""

from __future__ import annotations

from pathlib import Path

from sniffer.capture.frame import Frame
from sniffer.capture.pcapfile import open_capture
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import Summary, format_line, slow_summary, summarize
from sniffer.decode.tree import dissect

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
    from sniffer.decode import engine  # noqa: F401  (fills the tables)
    from sniffer.decode.core import DECODED_TCP_PORTS, DECODED_UDP_PORTS, TCP_PORTS, UDP_PORTS

    assert set(UDP_PORTS.map) == DECODED_UDP_PORTS
    assert set(TCP_PORTS.map) == DECODED_TCP_PORTS


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
    assert fast > 200 and total > 1500  # the shortcut is exercised (the corpus is mostly odd packets)
