"""Display filter engine: semantics on hand-made field dicts, error messages, completion, fuzzing."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniffer.errors import FilterError
from sniffer.model.filters import check_filter, compile_filter, complete, complete_text, field_names

# an ICMP port-unreachable quoting a DNS reply: ip.src/ip.dst occur twice (outer and quoted header)
ICMP_ERR: dict[str, Any] = {
    "frame.protocols": "eth:ethertype:ip:icmp:ip:udp:dns",
    "frame.len": 194,
    "eth.src": "00:0b:db:63:58:a6",
    "eth.dst": "00:19:e3:e7:5d:23",
    "ip.src": ["192.168.1.102", "192.168.1.1"],
    "ip.dst": ["192.168.1.1", "192.168.1.102"],
    "ip.ttl": [128, 64],
    "icmp.type": 3,
    "udp.srcport": 53,
    "udp.dstport": 59207,
    "dns.qry.name": "secure.ed4.net",
    "udp.payload": bytes.fromhex("98a481800001"),
    "ip.flags.df": False,
}
TCP_SYN: dict[str, Any] = {
    "frame.protocols": "eth:ethertype:ipv6:tcp",
    "frame.len": 74,
    "eth.src": b"\x00\x17\xf2\xd7\xcf\x65",
    "ipv6.src": ipaddress.ip_address("fe80::1"),
    "ipv6.dst": "2001:db8::2",
    "tcp.srcport": 40000,
    "tcp.dstport": 443,
    "tcp.flags": 0x002,
    "tcp.flags.syn": True,
    "tcp.flags.ack": False,
    "tcp.payload": b"",
}


def m(expr: str, fields: dict[str, Any]) -> bool:
    return compile_filter(expr).matches(fields)


@pytest.mark.parametrize(
    ("expr", "icmp_err", "tcp_syn"),
    [
        ("ip.src == 192.168.1.1", True, False),  # any occurrence
        ("ip.src != 192.168.1.1", False, False),  # Wireshark 4: no occurrence equal; absent field: false
        ("ip.src ~= 192.168.1.1", True, False),  # some occurrence differs
        ("ip.src !== 192.168.1.1", True, False),
        ("ip.src === 192.168.1.1", False, False),  # every occurrence equal
        ("ip.ttl all_eq 64", False, False),
        ("ip.ttl any_ne 64", True, False),
        ("not ip.src == 10.0.0.1", True, True),
        ("ip.addr == 192.168.0.0/16", True, False),
        ("ipv6.addr == 2001:db8::/32", False, True),
        ("ipv6.src == fe80::1", False, True),
        ("tcp.port == 443 && tcp.flags.syn == 1 && tcp.flags.ack == 0", False, True),
        ("tcp.flags.syn == true", False, True),
        ("tcp.flags & 0x02", False, True),  # bitwise and: non-zero
        ("tcp.flags & 0x10", False, False),
        ("tcp.flags == 0x002", False, True),
        ("tcp.flags == 2", False, True),
        ("tcp.flags == 02", False, True),
        ("tcp.flags == 0b10", False, True),
        ("eth.src == 00:17:f2:d7:cf:65", False, True),
        ("eth.addr == 00-19-e3-e7-5d-23", True, False),
        ("eth.src[0:3] == 00:0b:db", True, False),
        ("eth.src[3-5] == 63:58:a6", True, False),
        ("eth.src[-1] == a6", True, False),
        ("eth.src[:2] == 00:17", False, True),
        ("udp.payload contains 98:a4", True, False),
        ('udp.payload contains "\\x98\\xa4"', True, False),
        ('udp.payload[0:2] == "\\230\\244"', True, False),
        ('dns.qry.name contains "ed4"', True, False),
        ('dns.qry.name contains "ED4"', False, False),  # contains is case-sensitive
        ('dns.qry.name matches "ED4\\\\.NET$"', True, False),  # matches is not
        ('dns.qry.name matches "(?-i)ED4"', False, False),
        ('dns.qry.name ~ "^secure"', True, False),
        ("dns.qry.name == secure.ed4.net", True, False),
        ('upper(dns.qry.name) == "SECURE.ED4.NET"', True, False),
        ("len(dns.qry.name) == 14", True, False),
        ("count(ip.src) == 2", True, False),
        ("count(ip.src) == 0", False, True),
        ("udp.port in {80 443 53}", True, False),  # Wireshark 3 style: blanks
        ("udp.port in {80, 443, 53}", True, False),  # Wireshark 4 style: commas
        ("tcp.port in {1..1024}", False, True),
        ("tcp.port in {1 .. 100, 400..500}", False, True),
        ("tcp.port not in {443}", True, False),  # "not in" is "not (... in ...)", as in tshark
        ("ip.addr in {10.0.0.0/8 192.168.1.0/24}", True, False),
        ("frame.len > 100", True, False),
        ("frame.len ge 74 and frame.len le 74", False, True),
        ("frame.len lt 0x50", False, True),
        ("53 == udp.srcport", True, False),
        ("100 < frame.len", True, False),
        ("udp.srcport < udp.dstport", True, False),
        ("icmp and dns", True, False),
        ("ipv6 or arp", False, True),
        ("!(tcp || udp)", False, False),
        ("ip.flags.df", True, False),  # presence, whatever the value
        ("ip.flags.df == 0", True, False),
        ("frame", True, True),
        ("icmp.type == 3 or tcp.port == 443 and frame.len < 10", True, False),  # and binds tighter
        ("(icmp.type == 3 or tcp.port == 443) and frame.len < 10", False, False),
        ("tcp.flags.syn == 'A'", False, False),
        ("ip.src#2 == 192.168.1.1", True, False),  # layer operator: the quoted header's source
        ("ip.src#1 == 192.168.1.1", False, False),
        ("ip.addr#2 == 192.168.1.102", True, False),
        ("ip.ttl#2", True, False),
        ("ip.ttl#3", False, False),
        ("frame.len - 94 == 100", True, False),  # arithmetic
        ("frame.len / 2 == 37 && tcp.dstport == tcp.srcport / 100 - 0", False, False),
        ("{frame.len + 6} * 2 == 160", False, True),
        ("ip.ttl + 0 == 64", True, False),  # every occurrence: 128, 64
        ("-frame.len < -100", True, False),
        ("udp.srcport % 10 == 3", True, False),
    ],
)
def test_semantics(expr: str, icmp_err: bool, tcp_syn: bool) -> None:
    assert (m(expr, ICMP_ERR), m(expr, TCP_SYN)) == (icmp_err, tcp_syn)


@pytest.mark.parametrize(
    ("expr", "pos", "message"),
    [
        ("ip.src == == 1.2.3.4", 10, 'unexpected "==" at column 11'),
        ("ip.sorc == 1.2.3.4", 0, 'unknown field "ip.sorc" at column 1; did you mean "ip.src"?'),
        ("tcp.prot", 0, 'did you mean "tcp.port"?'),
        ("ip.src == foo", 10, '"foo" is not an IPv4 address'),
        ("(ip.src == 1.2.3.4", 18, 'unexpected end of filter at column 19; expected ")"'),
        ("tcp.port in {80, 443", 20, 'expected a value or "}"'),
        ('dns.qry.name == "abc', 16, "unterminated string starting at column 17"),
        ('udp.srcport == "53"', 15, "is a number and cannot be compared with the string"),
        ("eth.src == 00:11:22", 11, "is not a MAC address"),
        ("frame.len > 0o17", 12, '"0o17" is not a valid number'),
        ("ip.src contains 1", 7, '"contains" needs a string or bytes field'),
        ('dns.qry.name matches "("', 21, "bad regular expression at column 22"),
        ("tcp and", 7, "unexpected end of filter at column 8"),
        ("tcp udp", 4, 'unexpected "udp" at column 5'),
        ("a @ b", 2, 'unexpected character "@" at column 3'),
        ("tcp.port in {}", 13, "empty set"),
        ("eth.src[x] == 00", 7, "bad range"),
        ("ip.src & 1", 7, '"&" (bitwise and) needs an integer field'),
        ("ip.src + 1 == 1.2.3.4", 0, "ip.src is ipv4: arithmetic needs numbers"),
        ("frame.len + 1", 0, "an arithmetic expression alone is not a test"),
        ("{frame.len + 1 == 3", 15, 'expected "}"'),
    ],
)
def test_errors_say_what_and_where(expr: str, pos: int, message: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(expr)
    assert message in str(info.value)
    assert info.value.position == pos
    assert check_filter(expr) == str(info.value)


def test_empty_filter_matches_everything() -> None:
    flt = compile_filter("   ")
    assert flt.is_empty and flt.matches({}) and flt.fields_needed == frozenset()
    assert check_filter("tcp") is None


def test_fields_needed_lists_what_the_filter_reads() -> None:
    flt = compile_filter("ip.addr == 10.0.0.1 and tcp.port in {80} or dns")
    assert {
        "ip.addr",
        "ip.src",
        "ip.dst",
        "tcp.port",
        "tcp.srcport",
        "tcp.dstport",
        "dns",
    } <= flt.fields_needed
    # a bare protocol name needs only itself: the header fast path and the full decoder both give the
    # protocol list it is looked up in; frame.protocols is needed when the filter reads it by name
    assert "frame.protocols" not in flt.fields_needed
    assert "frame.protocols" in compile_filter('frame.protocols contains "data"').fields_needed
    assert "udp.port" not in flt.fields_needed


def test_protocol_presence_without_frame_protocols() -> None:
    # a dict without frame.protocols: a protocol is present when one of its fields is
    assert m("dns", {"dns.qry.name": "x"}) and not m("dns", {"udp.srcport": 53})
    assert m("udp", {"udp": True}) and m("tcp", {"frame.protocols": ["eth", "ip", "tcp"]})


def test_completion() -> None:
    names = field_names()
    assert names == sorted(names) and {"ip.src", "tcp.port", "icmp", "igmp.maddr"} <= set(names)
    # completion offers what sniffer decodes: ip.src_host is a Wireshark name no decoder of ours fills
    assert complete("ip.sr") == ["ip.src"] and "ip.src_host" in names
    assert {"dns.a", "dns.ns", "dns.resp.ttl"} <= set(complete("dns."))
    assert complete("tc", limit=1) == ["tcp"]
    start, cands = complete_text("ip.src == 1.2.3.4 and udp.dst")
    assert start == len("ip.src == 1.2.3.4 and ") and "udp.dstport" in cands


def test_a_name_no_decoder_fills_is_refused_not_silently_empty() -> None:
    """Wireshark knows x11, tcp.reassembled_in, ip.host; sniffer does not decode them: the filter
    says so instead of matching nothing. The set comes from the decoders' own declarations."""
    from sniffer.decode.fields import decodable_names
    from sniffer.model.filters import decoded_names

    for text, name, col in (
        ("x11", "x11", 1),
        ("ip.src == 1.2.3.4 and tcp.reassembled_in", "tcp.reassembled_in", 23),
        ("len(ip.host) > 2", "ip.host", 1),
    ):
        with pytest.raises(FilterError) as ei:
            compile_filter(text)
        assert (
            str(ei.value) == f"sniffer does not decode {name} (column {col})" and ei.value.position == col - 1
        )
    for text in (
        "dns.ns",
        "dns.a == 1.2.3.4",
        "mdns",
        "ip.addr == 10.0.0.1",
        "tcp.stream == 1",
        "ssh.protocol",
        "tcp.analysis.retransmission",  # the TCP analysis (model/tcpanalysis) fills it
        "tcp.nxtseq",
    ):
        compile_filter(text)
    from sniffer.model.filters import check_filter  # what the TUI's filter bar shows as you type

    assert check_filter("dns.ns and x11") == "sniffer does not decode x11 (column 12)"
    known = decoded_names()
    # header F tuples, ctx.add literals, names built from parts, pushed layer names: all found
    assert {"ip.ttl", "dns.resp.ttl", "tcp.options.mss", "icmp.checksum.status", "llmnr", "json"} <= known
    assert decodable_names(set(known)) <= known


def test_speed_is_not_the_bottleneck() -> None:
    """~1M evaluations of a typical filter over dicts takes a small multiple of a dict lookup loop."""
    flt = compile_filter("ip.addr == 192.168.1.1 and udp.port in {53, 5353} or tcp.flags.syn == 1")
    rows = [ICMP_ERR, TCP_SYN] * 50_000
    t0 = time.perf_counter()
    hits = sum(1 for r in rows if flt.matches(r))
    per_packet = (time.perf_counter() - t0) / len(rows)
    assert hits == len(rows)
    assert per_packet < 20e-6, f"{per_packet * 1e6:.1f} us per packet"


# -- fuzzing: any text compiles or raises FilterError, never anything else; evaluation never raises

TOKENS = [
    "ip.src", "ip.addr", "tcp.port", "udp", "eth.src", "dns.qry.name", "frame.len", "tcp.flags.syn",
    "udp.payload", "icmp", "==", "!=", "~=", "===", "<", ">=", "contains", "matches", "in", "not", "and",
    "or", "&&", "||", "!", "(", ")", "{", "}", ",", "..", "[0:2]", "[1-]", "10.0.0.1", "10.0.0.0/8", "::1",
    "fe80::/10", "00:11:22:33:44:55", "aa:bb", "80", "0x10", "-1", "017", '"x"', '"\\x41\\101"', "'a'",
    "len(", "count(", "upper(", "True", "1..1024", "r\"\\d+\"", "\"(\"", "ip.sorc", "ip.src#2", "#", "ip.addr#0", "+", "-", "*", "/", "%", "-frame.len",
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_fuzz_arbitrary_text(text: str) -> None:
    try:
        flt = compile_filter(text)
    except FilterError as exc:
        assert exc.position is not None and 0 <= exc.position <= len(text)
        return
    flt.matches(ICMP_ERR)
    flt.matches(TCP_SYN)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=12))
def test_fuzz_token_soup(tokens: list[str]) -> None:
    text = " ".join(tokens)
    try:
        flt = compile_filter(text)
    except FilterError as exc:
        assert exc.position is not None and 0 <= exc.position <= len(text)
        return
    assert isinstance(flt.matches(ICMP_ERR), bool)
    assert isinstance(flt.matches(TCP_SYN), bool)
    assert isinstance(flt.matches({}), bool)
