"""The header fast path gives the same fields as the full decoder, and filters the same packets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.fields import frame_fields, frame_protocols, layer_fields
from sniffer.errors import PcapFormatError
from sniffer.frame import Frame
from sniffer.model.fastfields import FAST_FIELDS, extractor, headers
from sniffer.model.filters import compile_filter

CAPTURES = sorted((Path(__file__).resolve().parents[1] / "corpus" / "captures").iterdir())


def _frames() -> list:  # type: ignore[type-arg]
    out = []
    for p in CAPTURES:
        try:
            with open_capture(str(p)) as r:
                out.extend(r)
        except PcapFormatError:
            pass  # broken files: the good frames before the damage are kept
    return out


FRAMES = _frames()

#: filters whose every part the walked layers' struct reads decide (filters.raw_source)
RAW_FILTERS = [
    "ip.addr == 10.0.0.0/8 && tcp.port == 443",
    "tcp.port != 80 and ip",
    "ip.addr ~= 141.142.0.0/16 and tcp",
    "ip.addr === 141.142.228.5 or udp.srcport <= 1024",
    "tcp.port in {80 443 8000..8080} && ip.src == 141.142.0.0/16",
    "udp.port in {53, 67..68, 5353} or ip.dst in {224.0.0.0/4 10.0.0.1}",
    "ipv6.addr == fe80::/10 || ipv6.dst == ff02::1 || ipv6.hlim > 64 and ipv6.nxt == 17",
    "eth.addr == ff:ff:ff:ff:ff:ff or eth.src != 00:00:00:00:00:00 and eth.type == 0x0800",
    "!(udp.port == 53) and frame.cap_len < 100 and frame.len >= 60",
    "tcp.flags.syn == 1 and tcp.flags.ack == 0 or tcp.flags == 0x011 or tcp.len > 0",
    "tcp.seq_raw == 0 or tcp.ack_raw > 1000 or tcp.hdr_len == 32 or tcp.flags.reset",
    "ip.version == 6 or ip.hdr_len > 20 or ip.ttl < 64 or ip.id == 0 or ip.len > 1000 or ip.proto == 1",
    "ipv6.version == 6 and ipv6.plen < 100 or ipv6.src == ::1",
    "udp.length > 100 and not ip.addr != 141.142.228.5",
    "tcp.dstport in {80} and not dns",
    "ip and not (tcp or udp) or eth and not ipv6",
]


def test_fast_fields_equal_full_decoder() -> None:
    fast = 0
    for fr in FRAMES:
        f = headers(fr)
        if f is None:
            continue
        fast += 1
        full = frame_fields(fr)
        for k, v in f.items():
            if k == "frame.protocols":
                assert full[k].startswith(v), (k, v, full[k])
            else:
                assert full.get(k) == v, (k, v, full.get(k))
        # every FAST field the decoder has for this packet, the fast path has too (or it is a protocol)
        missing = {k for k in full if k in FAST_FIELDS and k not in f}
        assert missing == set()
    assert fast > 0.6 * len(FRAMES), (fast, len(FRAMES))


@pytest.mark.parametrize(
    "expr",
    [
        "tcp.port == 80",
        "ip.addr == 141.142.0.0/16 and udp",
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        "frame.len > 500 or icmp or icmpv6 or igmp or arp",
        "ipv6.addr == ff02::/16 and udp.port in {5353, 5355}",
        "eth.addr == ff:ff:ff:ff:ff:ff",
        'dns.qry.name contains "wiki"',  # not a fast field: full decoding
        'frame.protocols == "eth:ethertype:ip:tcp"',  # the whole list: full decoding (it may go on to data)
        "icmp.type == 8 or icmpv6.type == 135",
        "icmp.code == 0 and icmp or icmpv6.code != 0",
        # the filters of bench/filters.py's real-traffic section: protocols and their fields take the
        # layer stack of the fast path or the layer fields, never the full frame_fields
        "dns",
        'dns.qry.name contains "a"',
        "http.request",
        "http or arp or data",
        "udp and dns.flags.response == 1",
        "ip.addr == 141.142.0.0/16 && tcp.port == 80",
        'frame.protocols contains "dns" and ip.ttl < 64',
        "tcp.options or tcp.len > 0",
        "ip.checksum == 0 or ipv6",
    ],
)
def test_matches_frame_equals_matches_on_full_fields(expr: str) -> None:
    flt = compile_filter(expr)
    got = [n for n, fr in enumerate(FRAMES) if flt.matches_frame(fr, n)]
    want = [n for n, fr in enumerate(FRAMES) if flt.matches(frame_fields(fr))]
    assert got == want and len(got) > 0


@pytest.mark.parametrize(
    "expr",
    [
        # frame_matcher: decided from the layer map, the walked headers and the rest's dissection
        "ip.addr == 10.0.0.0/8 && tcp.port == 443",
        "ip.src == 141.142.0.0/16 and icmp",
        "vlan and tcp.port == 80",
        "eth.type == 0x8100 or ipv6.nxt == 0",
        "udp.length > 100 and dns",
        "not dns and tcp",
        "ip.ttl < 64 and not tcp.port == 80 and udp",
        "tcp.flags.syn == 1 and tcp.len == 0 and ip.version == 4",
        "ip.version == 6 and udp.port == 547",
        "icmp.type == 3 and udp.srcport == 53",
        "dns.flags.response == 1 and ip.addr == 141.142.228.5",
        "ip.src == 192.168.0.0/16 and http.request",
        "tls and ip.dst == 0.0.0.0/0",
        "frame.len > 100 and dns",
        "eth.addr == ff:ff:ff:ff:ff:ff and arp",
        "udp.port == 4789 and ip.src == 0.0.0.0/0",
        "gre or vxlan or ipv6.addr == ::/0",
        "(dns or http) and not icmp",
        'dns.qry.name contains "wiki"',  # the DNS question reader (dns_query_names)
        "len(dns.qry.name) > 20 or dns.qry.name#2",
        'dns.qry.name matches "^www[.]"',
        *RAW_FILTERS,
        "tcp.port == 443",  # one part: a packet the walk cannot map is decided on its stack
        "stp or tcp.port == 80 and ip.addr == 141.142.0.0/16",
        "llc and eth.dst == 01:80:c2:00:00:00",
    ],
)
def test_frame_matcher_equals_matches_on_full_fields(expr: str) -> None:
    """The direct path (fastfields.frame_matcher: layer map, generated header reader, the rest's
    dissection only when it may hold a protocol the filter names, and-parts refuted on the walked
    layers) selects exactly what the filter selects on the whole dissection."""
    flt = compile_filter(expr)
    got = [n for n, fr in enumerate(FRAMES) if flt.matches_frame(fr, n)]
    assert flt._direct is not None, expr  # the direct path was taken
    want = [n for n, fr in enumerate(FRAMES) if flt.matches(frame_fields(fr))]
    assert got == want


@pytest.mark.parametrize("expr", RAW_FILTERS)
def test_quick_equals_the_filter_on_walked_fields(expr: str) -> None:
    """A filter compiled to struct reads (filters.raw_source, fastfields.quick) decides every walked
    corpus packet as the compiled filter does on walked()'s fields (and gives None where walked does)."""
    from sniffer.decode.layers import layer_map
    from sniffer.model.fastfields import quick, walked
    from sniffer.model.filters import raw_source

    flt = compile_filter(expr)
    src = raw_source(flt._nodes[0])  # type: ignore[arg-type]
    assert src is not None, expr
    fn = quick(src)
    heads = frozenset({"eth", "ip", "ipv6", "tcp", "udp"})
    decided = {True: 0, False: 0}
    for fr in FRAMES:
        m = layer_map(fr)
        if m is None:
            continue
        w = walked(fr, m, heads)
        r = fn(fr, m)
        assert (r is None) == (w is None), expr
        if w is not None:
            w["frame.protocols"] = m.protos
            assert r == flt.matches(w), (expr, fr)
            decided[bool(r)] += 1
    assert decided[False] and (decided[True] or "10.0.0.0/8" in expr), decided  # (no 10/8 host here)


def test_raw_source_declines_what_struct_reads_cannot_decide() -> None:
    from sniffer.model.filters import raw_source

    for expr in (
        'ip.src == 10.0.0.1 and dns.qry.name contains "x"',  # a string relation on another protocol: False
        "tcp.window_size > 100",
        "ip.src#2 == 10.0.0.1",
        "tcp.port[0:1] == 00",
        "len(eth.src) == 6",
        "tcp.srcport == tcp.dstport",
        "tcp.port & 1",
        "ip.addr < 10.0.0.0/8",
    ):
        src = raw_source(compile_filter(expr)._nodes[0])  # type: ignore[arg-type]
        if expr.startswith("ip.src == 10.0.0.1 and dns"):
            assert src is not None and "False" in src
        else:
            assert src is None, expr


def test_dns_query_names_equal_the_dissector() -> None:
    """The DNS question reader gives the dissector's dns.qry.name values on every corpus DNS message."""
    from sniffer.decode import app
    from sniffer.decode.layers import layer_map, vouched
    from sniffer.model.fastfields import dns_query_names

    fns = {app.dissect_dns, app.dissect_mdns, app.dissect_llmnr}
    seen = 0
    for fr in FRAMES:
        m = layer_map(fr)
        if m is None or m.rest not in fns or not vouched(fr, m):
            continue
        q = dns_query_names(fr.data, m.rest_off, m.end)
        want = frame_fields(fr).get("dns.qry.name")
        want = [] if want is None else want if isinstance(want, list) else [want]
        if q is not None:
            seen += 1
            assert q == want
        # the presence shortcut: the DNS dissector's stack is the walked one and dns (nothing else)
        assert frame_fields(fr)["frame.protocols"] == m.protos + (
            ":dns" if m.rest is app.dissect_dns else ":mdns" if m.rest is app.dissect_mdns else ":llmnr"
        )
    assert seen > 50


def test_walker_equals_walked() -> None:
    """The generated header reader of a filter gives walked()'s values for the fields it names."""
    from sniffer.decode.layers import layer_map
    from sniffer.model.fastfields import _GEN, walked, walker

    sets = [
        frozenset(_GEN),
        frozenset({"ip.addr", "ip.src", "ip.dst", "tcp.port", "tcp.srcport", "tcp.dstport"}),
        frozenset({"eth.src", "ip.version"}),
        frozenset({"ipv6.hlim", "tcp.len", "udp.length", "tcp.flags.push"}),
    ]
    for names in sets:
        heads = frozenset(n.split(".")[0] for n in names)
        walk = walker(names)
        for fr in FRAMES:
            m = layer_map(fr)
            if m is None:
                continue
            a, b = walk(fr, m), walked(fr, m, heads)
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert a == {k: v for k, v in b.items() if k in names or k.startswith("frame.")}


def test_layer_fields_and_frame_protocols_agree_with_frame_fields() -> None:
    for fr in FRAMES:
        full = frame_fields(fr)
        lf = layer_fields(fr)
        for k, v in lf.items():
            assert full.get(k) == v, (k, v, full.get(k))
        assert {k for k in full if not k.startswith(("frame.", "_ws."))} <= set(lf)
        protocols, malformed = frame_protocols(fr)
        assert protocols == full["frame.protocols"]
        assert malformed == full.get("_ws.malformed", "")


def test_extractor_choice() -> None:
    assert extractor(compile_filter("tcp.port == 80").fields_needed) is not frame_fields
    for expr in ("dns", "http.request", 'dns.qry.name contains "a"', "tls.handshake.type == 1 and tcp"):
        assert extractor(compile_filter(expr).fields_needed) is not frame_fields
    for expr in ("_ws.malformed", 'frame.comment contains "x"', "dns and _ws.expert"):
        assert extractor(compile_filter(expr).fields_needed) is frame_fields
    assert compile_filter("").matches_frame(FRAMES[0])
    assert compile_filter("frame.number == 3").matches_frame(FRAMES[0], 3)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize(
    ("name", "expr"),
    [
        ("zeek__wikipedia.pcap", "tcp.stream == 3"),
        ("zeek__wikipedia.pcap", "udp.stream in {2..5} or tcp.stream eq 9"),
        ("zeek__nmap-vsn.pcap", "tcp.stream == 7 and tcp.flags.syn == 1"),
        ("zeek__icmp__icmp-destunreach-udp.pcap", "udp.stream == 0"),  # the ICMP error gets the stream
        ("zeek__wikipedia.pcap", "frame.time_relative > 1.5 and frame.time_relative < 2"),
        ("zeek__wikipedia.pcap", "frame.time_delta > 0.1"),
        ("zeek__wikipedia.pcap", "frame.number in {3..7} or frame.time_delta == 0"),
        ("zeek__wikipedia.pcap", 'frame.time >= "2011-03-18 19:06:10"'),
        ("zeek__wikipedia.pcap", "frame.time_epoch < 1300475169 and tcp.stream == 2"),
    ],
)
def test_stream_and_context_fields_in_matches_frame(name: str, expr: str) -> None:
    path = CAPTURES[0].parent / name
    flt = compile_filter(expr)
    with open_capture(str(path)) as r:
        ours = {n for n, fr in enumerate(r, 1) if flt.matches_frame(fr, n)}
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", expr, "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},  # Wireshark reads absolute times in local time; ours are UTC
    )
    assert ours == {int(x) for x in out.stdout.split()} and ours


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 101, 113, 276, 0]), st.binary(max_size=100)), max_size=20))
def test_matches_frame_never_raises(packets: list[tuple[int, bytes]]) -> None:
    """Random frames and truncated real ones, through every path of matches_frame (fast, full, stateful)."""
    flts = [
        compile_filter(e)
        for e in (
            "tcp.port == 80 or udp",
            "tcp.stream == 1 or frame.time_delta > 0",
            "dns or ip.addr#2 == 1.2.3.4",
        )
    ]
    real = FRAMES[5].data
    frames = [Frame(i, d, len(d), lt) for i, (lt, d) in enumerate(packets)]
    frames += [Frame(0, real[: len(d)] + d[:3], len(real), 1) for _, d in packets]
    for flt in flts:
        for fr in frames:
            assert flt.matches_frame(fr) in (True, False)


def test_headers_for_some_protocols_are_the_same_fields() -> None:
    """headers(frame, heads) gives the fields of those protocols exactly as headers(frame) does."""
    for heads in (
        frozenset({"ip", "tcp"}),
        frozenset({"eth"}),
        frozenset({"udp", "ipv6"}),
        frozenset({"frame"}),
    ):
        for fr in FRAMES:
            full, part = headers(fr), headers(fr, heads)
            if full is None:
                assert part is None
                continue
            assert part is not None
            want = {k: v for k, v in full.items() if k.split(".")[0] in heads or k.startswith("frame.")}
            assert {
                k: v for k, v in part.items() if k.split(".")[0] in heads or k.startswith("frame.")
            } == want
