"""Expert items of the layers other than the TCP analysis (sniffer.model.expert) against tshark:
`sniffer stats --expert` next to `tshark -q -z expert`, and `read --json`'s _ws.expert.* fields next to
tshark's, on captures with IPv4 TTL notes, group-address sources, TSO lengths, deprecated routing
headers, ICMP bad checksums, HTTP/SSDP chats and malformed packets. tshark is the oracle (CI has it)."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sniffer.cli import main

TESTS = Path(__file__).resolve().parents[1]
CAPTURES = [
    TESTS / "corpus-breadth" / "captures" / name
    for name in (
        "tcpdump__EIGRP_adjacency.pcap",
        "tcpdump__OLSRv1_HNA_sgw_1.pcap",
        "tcpdump__RADIUS-RFC5176.pcap",
        "tcpdump__bgp-4byte-asn.pcap",
        "tcpdump__eapon1.pcap",
        "tcpdump__icmp-rfc5837.pcap",
        "tcpdump__ipv4_tcp_http_xml.pcap",
        "tcpdump__lmp.pcap",
        "tcpdump__mpls-traceroute.pcap",
        "tcpdump__rsvp_cap.pcap",
        "tcpdump__vrrp.pcap",
        "zeek__ncp.pcap",
        "zeek__snmp__snmpv3_get_next.pcap",
        "zeek__var-services-std-ports.pcap",
        "zeek__workshop_2011_browse.pcap",
    )
] + [
    TESTS / "corpus" / "captures" / name
    for name in (
        "zeek__chksums__ip4-icmp-bad-chksum.pcap",
        "zeek__chksums__ip6-route0-icmp6-good-chksum.pcap",
    )
]


def _need_tshark() -> None:
    if shutil.which("tshark") is None:
        pytest.fail("tshark is the oracle of these tests: install it (apt-get install tshark)")


def _rows(text: str) -> Counter[tuple[str, str, str, str]]:
    """(section, group, protocol, summary) -> frequency of a `-z expert` report."""
    rows: Counter[tuple[str, str, str, str]] = Counter()
    section = ""
    for line in text.splitlines():
        m = re.match(r"^(Errors|Warns|Notes|Chats) \(", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^ *(\d+) ", line)
        if m and section:
            rows[(section, line[12:23].strip(), line[23:42].strip(), line[44:])] += int(m.group(1))
    return rows


def _ours(path: Path) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["stats", "--expert", str(path)]) == 0
    return out.getvalue()


def _theirs(path: Path) -> str:
    return subprocess.run(
        ["tshark", "-n", "-r", str(path), "-q", "-z", "expert"], capture_output=True, text=True, check=True
    ).stdout


#: the layer items sniffer gives (besides the TCP analysis'), by summary
_COVERED = re.compile(
    r'"Time To Live"|Source MAC must not|payload length equals 0|Routing header type is deprecated'
    r"|Bad checksum \[should be|Malformed Packet \(Exception|\\r\\n$|^(GET|POST|HTTP/1)\S* .{230}"
)


def test_stats_expert_like_tshark() -> None:
    """On 17 captures, every row tshark reports of the kinds sniffer gives (and of TCP's) is reported
    with the same count, and sniffer reports nothing else."""
    _need_tshark()
    theirs = {}
    with ThreadPoolExecutor(2) as ex:
        for p, text in zip(CAPTURES, ex.map(_theirs, CAPTURES), strict=True):
            theirs[p] = _rows(text)
    kinds = Counter[str]()
    for p in CAPTURES:
        ours, want = _rows(_ours(p)), theirs[p]
        covered = Counter({k: n for k, n in want.items() if k[2] == "TCP" or _COVERED.search(k[3])})
        assert ours == covered, (p.name, ours - covered, covered - ours)
        for k, n in ours.items():
            kinds[k[2]] += n
    # the layers seen: IPv4 TTL notes, Ethernet group source, ICMP checksum, IPv6 routing, HTTP chats
    assert {"IPv4", "Ethernet", "ICMP", "IPv6 Routing", "HTTP", "TCP"} <= set(kinds), kinds


_EXPERT_FIELDS = ["-E", "occurrence=a", "-E", "aggregator=|"] + [
    a for f in ("_ws.expert.message", "_ws.expert.severity", "_ws.expert.group") for a in ("-e", f)
]


def test_json_expert_fields_like_tshark() -> None:
    """read --json: each frame's _ws.expert.message / severity / group lists what tshark's fields list
    (the layer items before the TCP analysis'), on captures with the layer items."""
    _need_tshark()
    import json

    for p in (CAPTURES[0], CAPTURES[10], CAPTURES[-2]):
        want = subprocess.run(
            ["tshark", "-n", "-r", str(p), "-T", "fields", "-E", "separator=\t", *_EXPERT_FIELDS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        out = io.StringIO()
        buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        with contextlib.redirect_stdout(buf):
            assert main(["read", "--json", str(p)]) == 0
            buf.flush()
        got = [json.loads(line) for line in buf.buffer.getvalue().decode().splitlines()]  # type: ignore[attr-defined]
        del out
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            row = "\t".join(
                "|".join(str(x) for x in g.get(k, []))
                for k in ("_ws.expert.message", "_ws.expert.severity", "_ws.expert.group")
            )
            assert row == w, (p.name, g["frame.number"])


def test_items_of_crafted_headers() -> None:
    """The checks on hand-set fields: TTL rules (LNCB exceptions, multicast, PIM/OSPF, quoted headers),
    a group-address source, TSO's zero payload length, HTTP/0.9 request lines, malformed names."""
    from sniffer.model.expert import items

    def msgs(**f: object) -> list[str]:
        fields = {k.replace("_", "."): v for k, v in f.items()}
        return [m for m, *_ in items(fields)]

    assert msgs(ip_dst="10.0.0.1", ip_ttl=1, ip_proto=17) == ['"Time To Live" only 1']
    assert msgs(ip_dst="10.0.0.1", ip_ttl=1, ip_proto=103) == []  # PIM
    assert msgs(ip_dst="239.1.1.1", ip_ttl=1, ip_proto=17) == []  # multicast beyond the LNCB
    assert msgs(ip_dst="224.0.0.5", ip_ttl=2, ip_proto=89)[0].startswith('"Time To Live" != 1')
    assert msgs(ip_dst="224.0.0.18", ip_ttl=255, ip_proto=112) == []  # VRRP: 255
    assert msgs(ip_dst="224.0.0.18", ip_ttl=1, ip_proto=112)[0].startswith('"Time To Live" != 255')
    assert msgs(ip_dst="224.0.0.251", ip_ttl=255, ip_proto=17) == []  # mDNS: any
    quoted = {"frame.protocols": "eth:ethertype:ip:icmp:ip:udp", "ip.dst": ["10.0.0.1", "10.0.0.9"]}
    quoted |= {"ip.ttl": [64, 1], "ip.proto": [1, 17]}
    assert [m for m, *_ in items(quoted)] == []
    assert msgs(eth_src="01:00:5e:00:00:01") == [
        "Source MAC must not be a group address: IEEE 802.3-2002, Section 3.2.3(b)"
    ]
    tso = {"ipv6.plen": 0, "ipv6.nxt": 6}
    assert next(m for m, *_ in items(tso)).startswith("IPv6 payload length equals 0")
    http = {"http.request.method": "GET", "http.request.uri": "/", "http.request.version": ""}
    assert [m for m, *_ in items(http)] == ["GET /\\r\\n"]
    assert items({"_ws.malformed": "Malformed Packet: icmpv6"})[0][3] == "ICMPv6"
