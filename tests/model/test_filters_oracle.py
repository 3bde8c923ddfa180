"""Display filters against tshark: the same packets match on a merged capture of corpus files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.filters_oracle import have_tshark, merged_capture, pdml_fields, tshark_matches_many

from sniffer.model.filters import ALIASES, compile_filter

pytestmark = pytest.mark.skipif(not have_tshark(), reason="tshark/mergecap not installed")

# Every operator and value type; each must agree with tshark -Y exactly.
EXPRESSIONS = [
    # bare protocols and field existence
    "icmp",
    "igmp",
    "tcp",
    "udp",
    "dns",
    "arp",
    "ipv6",
    "vlan",
    "ip.flags.df",
    "tcp.options.mss_val",
    # == and friends, every value type
    "ip.src == 192.168.1.1",
    "ip.addr == 141.142.220.0/24",
    "ip.dst eq 224.0.0.251",
    "ip.src != 192.168.1.1",
    "ip.src ~= 192.168.1.1",
    "ip.src === 192.168.1.1",
    "ip.addr !== 192.168.1.1",
    "ipv6.addr == ff02::1:ff00:0/104",
    "ipv6.src == fe80::217:f2ff:fed7:cf65",
    "eth.addr == 01:00:5e:00:00:fb",
    "eth.dst == 33-33-00-00-00-fb",
    "eth.src == 0017.f2d7.cf65",
    "tcp.port == 80",
    "udp.port == 5353",
    "tcp.flags == 0x012",
    "tcp.flags.syn == 1 and tcp.flags.ack == 0",
    "tcp.flags.syn == True",
    "ip.proto == 021",
    "eth.type == 0x86dd",
    # ordering
    "frame.len < 100",
    "frame.len <= 60",
    "frame.len > 1000",
    "frame.len >= 1514",
    "ip.ttl lt 64",
    "ip.ttl le 64 && ip.ttl ge 60",
    "tcp.srcport gt tcp.dstport",
    "ip.src < 100.0.0.0",
    "frame.time_relative > 1.5",
    # strings: ==, contains, matches (case-insensitive), functions
    'dns.qry.name == "www.wikipedia.org"',
    "dns.qry.name == en.wikipedia.org",
    'dns.qry.name contains "wiki"',
    'dns.qry.name matches "^EN\\\\."',
    'dns.qry.name matches r"(?-i)^EN\\."',
    'http.request.uri contains "/"',
    'http.host matches "wiki(pedia|media)"',
    "len(dns.qry.name) > 15",
    'lower(dns.qry.name) == "gemini.local"',
    "count(ip.src) == 2",
    # bytes
    "udp.payload contains 00:01",
    'tcp.payload contains "HTTP/1.1"',
    "eth.src[0:3] == 00:17:f2",
    "eth.dst[0] == 0x01",
    'frame.protocols contains "ipv6"',
    # sets and ranges
    "tcp.port in {80, 443, 8080}",
    "udp.port in {53, 67, 68}",
    "udp.dstport in {1..1024}",
    "ip.addr in {192.168.1.1, 141.142.0.0/16}",
    "ip.ttl in {1..10, 255}",
    "not tcp.port in {80}",
    "tcp.port not in {80}",
    # boolean structure
    "icmp or icmpv6",
    "ip && !tcp && !udp",
    "not (udp or tcp)",
    "(tcp.port == 80 || udp.port == 53) and frame.len > 100",
    "ip.src == 192.168.1.102 and icmp.type == 3",
    "icmp.type == 3 and udp.srcport == 53",
    "igmp.type == 0x22 and igmp.num_grp_recs > 1",
    "icmpv6.type == 135 or arp.opcode == 1",
    "vlan.id == 10 or vlan.id == 20",
    "ip.src == ip.dst",
    "_ws.malformed",
    # layer operator
    "ip.src#2 == 192.168.1.1",
    "ip.addr#1 == 192.168.1.102 and icmp",
    "ip.src#2",
    "vlan.id#2 == 20",
]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], dict[str, set[int]]]:
    path = merged_capture(Path(tmp_path_factory.mktemp("filters")))
    return pdml_fields(path), tshark_matches_many(path, EXPRESSIONS)


def _strip_aliases(d: dict[str, Any]) -> dict[str, Any]:
    """A dict like a lean decoder's: no ip.addr/tcp.port/... and no protocol keys, only frame.protocols."""
    return {k: v for k, v in d.items() if (k not in ALIASES and v is not None) or k in ("frame.protocols",)}


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_same_packets_as_tshark(expr: str, oracle: tuple[list[dict[str, Any]], dict[str, set[int]]]) -> None:
    packets, expected = oracle
    flt = compile_filter(expr)
    ours = {i for i, d in enumerate(packets, 1) if flt.matches(d)}
    assert ours == expected[expr]
    lean = {i for i, d in enumerate(packets, 1) if flt.matches(_strip_aliases(d))}
    if "_ws.malformed" not in expr:
        assert lean == expected[expr]


def test_expressions_are_not_trivial(oracle: tuple[list[dict[str, Any]], dict[str, set[int]]]) -> None:
    """Most expressions must select some packets but not all (else the comparison proves little)."""
    packets, expected = oracle
    n = len(packets)
    informative = [e for e, s in expected.items() if 0 < len(s) < n]
    assert len(informative) >= 0.8 * len(EXPRESSIONS), sorted(set(EXPRESSIONS) - set(informative))


# Expressions whose fields sniffer's decoder does not produce (yet), or where it marks packets
# differently from tshark; every other expression must agree with tshark on the decoder's fields too.
DECODER_GAPS = {
    "frame.time_relative > 1.5": "frame.time_relative needs the first packet: not a per-frame field",
    'http.request.uri contains "/"': "no HTTP decoding",
    'http.host matches "wiki(pedia|media)"': "no HTTP decoding",
    "udp.payload contains 00:01": "no udp.payload field",
    'tcp.payload contains "HTTP/1.1"': "no tcp.payload field",
    "udp": "first IPv4 fragment of a UDP datagram: tshark has no udp layer until reassembly",
    "udp.dstport in {1..1024}": "same first fragment",
    "ip && !tcp && !udp": "same first fragment",
    "not (udp or tcp)": "same first fragment",
    "_ws.malformed": "one packet tshark calls malformed and the decoder does not",
}


def test_same_packets_with_our_decoder(
    tmp_path: Path, oracle: tuple[list[dict[str, Any]], dict[str, set[int]]]
) -> None:
    from sniffer.capture.pcapfile import open_capture
    from sniffer.decode.fields import frame_fields

    _, expected = oracle
    path = merged_capture(tmp_path)
    with open_capture(str(path)) as reader:
        dicts = [frame_fields(fr) for fr in reader]
    assert len(dicts) == len(oracle[0])
    wrong = {}
    for expr in EXPRESSIONS:
        if expr in DECODER_GAPS:
            continue
        flt = compile_filter(expr)
        ours = {i for i, d in enumerate(dicts, 1) if flt.matches(d)}
        if ours != expected[expr]:
            wrong[expr] = (sorted(expected[expr] - ours)[:5], sorted(ours - expected[expr])[:5])
    assert wrong == {}
    assert len(EXPRESSIONS) - len(DECODER_GAPS) >= 60
