"""The columns-only ("lean") dissection gives the columns and the stack of the full dissection for every
packet of both corpora, also when mutated (engine.run's ``lean``: what ``read``, the packet list and
the filters' protocol checks use; dissectors skip there whatever only makes fields)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.engine import run
from sniffer.decode.summary import slow_summary, summarize
from sniffer.errors import PcapFormatError
from sniffer.frame import Frame

from .test_hostile import mutated

TESTS = Path(__file__).resolve().parents[1]


def _frames() -> list[Frame]:
    out: list[Frame] = []
    for d in ("corpus", "corpus-breadth"):
        for p in sorted((TESTS / d / "captures").iterdir()):
            try:
                with open_capture(str(p)) as r:
                    out.extend(r)
            except PcapFormatError:
                pass  # the good frames before the damage are kept
    return out


def _same(fr: Frame) -> None:
    full = run(fr, False, True, False)
    lean = run(fr, False, False, True)
    cols = (lean.src, lean.dst, lean.proto, lean.info, lean.malformed, lean.protos)
    assert cols == (full.src, full.dst, full.proto, full.info, full.malformed, full.protos), fr
    s = summarize(fr)
    assert s == slow_summary(fr), fr
    assert s == (full.src, full.dst, full.proto, full.info, bool(full.malformed)), fr


def test_lean_columns_are_the_full_columns_on_both_corpora() -> None:
    frames = _frames()
    assert len(frames) > 5000
    for fr in frames:
        _same(fr)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_lean_columns_of_mutated_packets(fr: Frame) -> None:
    _same(fr)


def test_every_field_a_dissector_reads_back_is_kept_by_the_lean_context() -> None:
    """A dissector that reads a field from ``ctx.fields`` (``fields.get("tcp.dstport")``, ``_last(ctx,
    "udp.srcport")``, ``"x" in ctx.fields``) needs it recorded in the columns-only dissection too:
    every such name in the decoders' source is in ``core.READ_BACK``."""
    import re

    import sniffer.decode
    from sniffer.decode.core import READ_BACK

    reads = re.compile(
        r"""fields\.get\(\s*f?["']([^"']+)["']"""
        r"""|_last\(ctx,\s*["']([^"']+)["']"""
        r"""|["']([\w.]+)["']\s+(?:not\s+)?in\s+(?:ctx\.fields|vals_partial\(ctx\))"""
    )
    found: set[str] = set()
    for path in Path(sniffer.decode.__file__).parent.glob("*.py"):
        for m in reads.finditer(path.read_text()):
            name = next(g for g in m.groups() if g)
            # f"{prefix}.srcport" (rpc: the transport's name)
            found.update(name.replace("{prefix}", p) for p in ("tcp", "udp")) if "{" in name else found.add(
                name
            )
    assert {"tcp.dstport", "udp.srcport", "ipv6.plen"} <= found  # (the scan finds them)
    assert found <= READ_BACK, sorted(found - READ_BACK)


def test_tcp_option_length_byte_past_the_options_is_a_note_not_malformed() -> None:
    """A kind byte that ends the options (a SYN's "02" last: MSS with no room for its length) is tshark's
    expert note "length byte past end of options": no [Malformed Packet] in either dissection (found by a
    random run of the test above)."""
    d = bytes.fromhex(
        "00137fbe8cff00247ee01db50800"
        + "4500003cc829400040 06a03a 8d8edc76 d0509802".replace(" ", "")
        + "8b3a00505882 2fef00000000a002 16d0 62fa 0000".replace(" ", "")
        + "020405b4 0402 080a001be7c600000000 02030307".replace(" ", "")
    )
    fr = Frame(1300475168902635000, d, len(d), 1)
    full = run(fr, False, True, False)
    assert not full.malformed and full.info.endswith("Len=0"), full.info
    assert any("length byte past end of options" in w for w in full.expert)
    _same(fr)


def test_neighbor_advertisement_target_address_is_at() -> None:
    """ND options in the Info column as tshark writes them: a source link-layer address "from", a target
    link-layer address "is at" (packet-icmpv6.c)."""
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.layers.l2 import Ether

    def info(opt: object) -> str:
        p = (
            Ether(src="02:00:00:00:00:01")
            / IPv6(src="fe80::1", dst="fe80::2")
            / ICMPv6ND_NA(tgt="fe80::1")
            / opt
        )
        b = bytes(p)
        ctx = run(Frame(0, b, len(b), 1), False, True, False)
        _same(Frame(0, b, len(b), 1))
        return str(ctx.info)

    assert info(ICMPv6NDOptDstLLAddr(lladdr="aa:00:04:00:0a:04")).endswith(" is at aa:00:04:00:0a:04")
    assert info(ICMPv6NDOptSrcLLAddr(lladdr="00:11:22:33:44:55")).endswith(" from 00:11:22:33:44:55")
