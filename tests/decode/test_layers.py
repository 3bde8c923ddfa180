"""The layer map (sniffer.decode.layers) agrees with the full dissection of every corpus packet."""

from __future__ import annotations

from pathlib import Path

from sniffer.capture.pcapfile import open_capture
from sniffer.decode import layers
from sniffer.decode.core import ETHERTYPES, IP_PROTOS, TCP_PORTS, UDP_PORTS
from sniffer.decode.fields import layer_fields
from sniffer.decode.layers import ipv4, ipv6, layer_map, link, reach
from sniffer.errors import PcapFormatError
from sniffer.frame import Frame

CAPTURES = sorted((Path(__file__).resolve().parents[1] / "corpus" / "captures").iterdir())


def _frames() -> list[Frame]:
    out: list[Frame] = []
    for p in CAPTURES:
        try:
            with open_capture(str(p)) as r:
                out.extend(r)
        except PcapFormatError:
            pass  # the good frames before the damage are kept
    return out


FRAMES = _frames()


def _tables() -> list[object]:
    layers._dissectors()
    fns = {
        *TCP_PORTS.map.values(),
        *UDP_PORTS.map.values(),
        *IP_PROTOS.map.values(),
        *ETHERTYPES.map.values(),
    }
    return sorted(fns, key=lambda f: f"{f.__module__}.{f.__qualname__}")  # type: ignore[attr-defined]


def test_stack_and_reach_agree_with_the_dissector() -> None:
    """The walked stack is the start of frame.protocols; every other protocol, and the protocol of every
    field, is one the layers walked or the rest's dissector can add (``after``); nothing when no rest."""
    walked = 0
    for fr in FRAMES:
        m = layer_map(fr)
        if m is None:
            continue
        walked += 1
        f = layer_fields(fr)
        protos = f["frame.protocols"].split(":")
        stack = m.protos.split(":")
        assert protos[: len(stack)] == stack, (m.protos, f["frame.protocols"])
        rest = protos[len(stack) :]
        allowed = m.heads | m.after | {"frame"}
        assert {p.split(".")[0] for p in rest} <= m.after, (m.protos, m.rest, rest)
        assert {n.split(".")[0] for n in f} <= allowed, (m.protos, m.rest, sorted(f))
        if m.rest is None:
            assert rest == []
    assert walked > 0.85 * len(FRAMES), (walked, len(FRAMES))


def test_reach_does_not_depend_on_what_was_dissected() -> None:
    """Dissecting fills value caches; reach must not walk them (same sets before and after)."""
    fns = _tables()
    layers._REACH.clear()
    layers._TABLES_REACH.clear()
    before = {fn: reach(fn) for fn in fns}
    for fr in FRAMES:
        layer_fields(fr)
    layers._REACH.clear()
    layers._TABLES_REACH.clear()
    after = {fn: reach(fn) for fn in fns}
    assert before == after
    assert "dns" in reach(UDP_PORTS.map[53]) and "dns" not in reach(TCP_PORTS.map[443])
    # a table reaches what its own dissectors reach: IGMP's (DVMRP, PIMv1) carries no IP layer
    igmp = IP_PROTOS.map[2]
    assert {"igmp", "dvmrp", "pim"} <= reach(igmp) and not {"ip", "tcp", "dns"} & reach(igmp)
    assert {"ip", "tcp", "dns"} <= reach(IP_PROTOS.map[47])  # GRE carries IP


def test_link_and_ip_headers() -> None:
    ip4 = bytes.fromhex("4500002800010000400600000a0000010a000002")
    eth = b"\x00" * 12 + b"\x81\x00\x00\x05" + b"\x08\x00" + ip4
    assert link(eth, 1) == (0x0800, 18, 1)
    assert link(b"\x02\x00\x00\x00" + ip4, 0) == (0x0800, 4, 0)
    assert link(ip4, 101) == (0x0800, 0, 0)
    assert link(b"\x00" * 10, 1) is None
    h = ipv4(eth, 18)
    assert h is not None and (h.version, h.hlen, h.length, h.proto, h.hlim) == (4, 20, 40, 6, 64)
    assert h.src == bytes([10, 0, 0, 1])
    assert ipv4(eth[:30], 18) is None and ipv6(eth, 18) is None
    v6 = bytes.fromhex("6000000000081140") + b"\x00" * 15 + b"\x01" + b"\x00" * 15 + b"\x02"
    h6 = ipv6(v6, 0)
    assert h6 is not None and (h6.version, h6.length, h6.proto, h6.hlim) == (6, 48, 17, 64)


def test_dissecting_the_rest_alone_agrees_with_the_whole_dissection() -> None:
    """dissect_rest gives the full stack and malformed verdict, and the same fields for every protocol
    the walk did not cover (after IP, and after a non-IP Ethernet header); frame_protocols (the
    hierarchy's, protocols only) equals the columns-only dissection."""
    from sniffer.decode.engine import run
    from sniffer.decode.fields import frame_protocols
    from sniffer.decode.layers import dissect_rest

    rested = nonip = 0
    for fr in FRAMES:
        lean = run(fr, False, False, True)
        assert frame_protocols(fr) == (":".join(lean.protos), lean.malformed)
        m = layer_map(fr)
        if m is None or m.rest is None:
            continue
        rested += 1
        nonip += not m.version
        ctx = dissect_rest(fr, m, True)
        assert (ctx.protos, bool(ctx.malformed)) == (lean.protos, bool(lean.malformed))
        full = {k: v for k, v in layer_fields(fr).items() if k.split(".")[0] not in m.heads | {"frame"}}
        got = {k: v for k, v in dissect_rest(fr, m, False).fields.items() if k.split(".")[0] not in m.heads}
        assert got == full, (m.protos, m.rest)
    assert rested > 0.3 * len(FRAMES), (rested, len(FRAMES))
    assert nonip > 20, nonip


def _eth_ip4(proto: int, l4: bytes) -> Frame:
    import struct

    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, b"\n\0\0\1", b"\n\0\0\2")
    data = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4
    return Frame(0, data, len(data), 1)


def _tcp(sp: int, dp: int, payload: bytes) -> bytes:
    import struct

    return struct.pack("!HHIIBBHHH", sp, dp, 1, 0, 0x50, 0x18, 8192, 0, 0) + payload


def _udp(sp: int, dp: int, payload: bytes) -> bytes:
    import struct

    return struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload


def test_vouched_where_the_transport_goes_beyond_the_port_tables() -> None:
    """layer_map picks the rest from the port tables; vouched says when the transport may pick another
    dissector: heuristics (HTTP on any TCP port), a refusing UDP port dissector (SNMP -> DHCPv6), a UDP
    conversation bound by an earlier packet (TFTP). Readers that trust the map then dissect in full
    (without vouched, matches_frame and frame_protocols said "data" for all three)."""
    from sniffer.decode.core import UDP_CONVERSATIONS, data_layer
    from sniffer.decode.fields import frame_fields, frame_protocols
    from sniffer.decode.layers import vouched
    from sniffer.model.filters import compile_filter

    http = _eth_ip4(6, _tcp(40000, 40001, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
    plain = _eth_ip4(6, _tcp(40000, 40001, b"hello there"))
    snmp = _eth_ip4(17, _udp(161, 546, b"\x01\x00\x00\x01\x00\x01\x00\x0e"))  # not BER: DHCPv6 takes it
    tftp_rq = _eth_ip4(17, _udp(40000, 69, b"\x00\x01file\x00octet\x00"))
    tftp_data = _eth_ip4(17, _udp(40000, 41000, b"\x00\x03\x00\x01abc"))
    UDP_CONVERSATIONS.clear()
    m = layer_map(http)
    assert m is not None and m.rest is data_layer and not vouched(http, m)
    m = layer_map(plain)
    assert m is not None and vouched(plain, m)
    m = layer_map(snmp)
    assert m is not None and not vouched(snmp, m)
    m = layer_map(tftp_data)
    assert m is not None and vouched(tftp_data, m)  # nothing bound yet: data
    frame_fields(tftp_rq)  # the request binds the transfer
    assert not vouched(tftp_data, m)
    for fr in (http, plain, snmp, tftp_rq, tftp_data):
        full = frame_fields(fr)
        assert frame_protocols(fr)[0] == full["frame.protocols"]
        for expr in ("http.request", "http", "dhcpv6", "tftp", "snmp", "data"):
            flt = compile_filter(expr)
            assert flt.matches_frame(fr) == flt.matches(full), (expr, full["frame.protocols"])
    UDP_CONVERSATIONS.clear()
