"""Every cell of family x type x style: real traffic to a real peer, and, for IP and packet families,
the capture core sees our tagged packets on lo (closed loop). The matrix is docs/gen.md."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
from typing import Any

import pytest
from helpers.cli import run_sniffer
from helpers.gencap import TagCapture

from sniffer.cli import build_parser

STYLES = ("blocking", "select", "poll", "epoll", "asyncio")

# (cell id, command line, captured on lo?) -- keep in step with the matrix in docs/gen.md
ECHO_CELLS = [
    ("inet-stream", ["tcp-echo"], True),
    ("inet6-stream", ["tcp-echo", "--family", "inet6"], True),
    ("inet-dgram", ["udp-echo"], True),
    ("inet6-dgram", ["udp-echo", "--family", "inet6"], True),
    ("inet-raw", ["rawip"], True),
    ("inet6-raw", ["rawip", "--family", "inet6"], True),
    ("packet-raw", ["packet", "--type", "raw"], True),
    ("packet-dgram", ["packet", "--type", "dgram"], True),
    ("unix-stream", ["unix", "--type", "stream"], False),
    ("unix-dgram", ["unix", "--type", "dgram"], False),
    ("unix-seqpacket", ["unix", "--type", "seqpacket"], False),
]


_parser: list[argparse.ArgumentParser] = []


def gen_json(*args: str) -> dict[str, Any]:
    """`sniffer gen ... --json` run in this process (the real parser and command; the self-started
    peer is still a separate process), so the 60-odd matrix runs skip interpreter start-up."""
    if not _parser:
        _parser.append(build_parser())
    ns = _parser[0].parse_args(["gen", *args, "--json"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = ns.func(ns)
    assert rc == 0
    return json.loads(out.getvalue())


@pytest.mark.root
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(("cell", "argv", "captured"), ECHO_CELLS, ids=[c[0] for c in ECHO_CELLS])
def test_echo_cell(cell: str, argv: list[str], captured: bool, style: str) -> None:
    flow = random.getrandbits(32)
    count = 5
    cap = TagCapture("lo") if captured else None
    if cap:
        cap.__enter__()
    try:
        rep = gen_json(*argv, "--style", style, "-c", str(count), "--flow", str(flow))
    finally:
        if cap:
            cap.__exit__(None, None, None)
    assert rep["style"] == style
    assert rep["sent"] == count and rep["echoed"] == count and rep["lost"] == 0
    assert rep["flow_id"] == flow
    lat = rep["latency"]
    assert 0 < lat["min_us"] <= lat["p50_us"] <= lat["p99_us"] <= lat["max_us"]
    # the peer (self-started, same style) really served us
    assert rep["server"]["style"] == style and rep["server"]["messages"] >= count
    if cell.startswith("unix"):  # the socket file's permissions are shown
        assert any(n.startswith("socket file ") and ": srw" in n for n in rep["notes"]), rep["notes"]
    if cap:
        assert cap.seqs(flow) == set(range(count)), f"capture ({cap.backend}) missed tagged packets"
        if cell.startswith(("packet", "inet-raw", "inet6-raw")):
            assert cap.seqs(flow, echo=True) == set(range(count))  # replies carry the ECHO flag


@pytest.mark.root
@pytest.mark.parametrize("style", STYLES)
def test_tcp_bulk(style: str) -> None:
    rep = gen_json("tcp-bulk", "--bytes", "20M", "--style", style)
    assert rep["bytes_sent"] == 20 << 20
    assert rep["server"]["bytes_received"] == 20 << 20
    assert rep["send_mbit_s"] > 10


@pytest.mark.root
@pytest.mark.parametrize("style", STYLES)
def test_tcp_conns(style: str) -> None:
    flow = random.getrandbits(31)
    with TagCapture("lo") as cap:
        rep = gen_json("tcp-conns", "-n", "30", "--style", style, "--flow", str(flow))
    assert rep["sent"] == 30 and rep["echoed"] == 30 and rep["errors"] == 0
    assert rep["server"]["connections"] == 30
    # each connection is its own flow: flow, flow+1, ...
    flows = {t.flow_id for t in cap.tags() if flow <= t.flow_id < flow + 30}
    assert flows == {flow + i for i in range(30)}


@pytest.mark.root
@pytest.mark.parametrize("style", STYLES)
def test_udp_blast_paced(style: str) -> None:
    flow = random.getrandbits(32)
    with TagCapture("lo") as cap:
        rep = gen_json(
            "udp-blast", "--pps", "2000", "-c", "400", "--size", "100", "--style", style, "--flow", str(flow)
        )
    assert rep["sent"] == 400
    assert rep["received"] == 400  # the sink counted them all at this gentle rate
    assert 0.19 <= rep["duration_s"] <= 3.0  # paced: 400 at 2000/s take 0.2 s (generous bound under load)
    seqs = cap.seqs(flow)
    assert seqs == set(range(400))


@pytest.mark.root
@pytest.mark.parametrize("style", ("blocking", "epoll", "asyncio"))
@pytest.mark.parametrize("utype", ["stream", "seqpacket"])
def test_unix_bulk(utype: str, style: str) -> None:
    rep = gen_json("unix", "--type", utype, "--bulk", "--bytes", "8M", "--style", style)
    assert rep["server"]["bytes_received"] == 8 << 20


@pytest.mark.root
def test_unix_dgram_blast() -> None:
    rep = gen_json("unix", "--type", "dgram", "--blast", "-c", "2000", "--pps", "20000")
    assert rep["sent"] == 2000 and rep["received"] == 2000


@pytest.mark.root
@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_icmp_through_the_ping_core(family: str) -> None:
    flow = random.getrandbits(32)
    with TagCapture("lo") as cap:
        rep = gen_json("icmp", "--family", family, "-c", "4", "--flow", str(flow), "--socket", "raw")
    assert rep["sent"] == 4 and rep["echoed"] == 4 and rep["type"] == "raw" and rep["style"] == "ping-core"
    assert rep["latency"]["min_us"] > 0
    # request and reply both carry the tag (the reply echoes the payload): 4 probes -> >= 8 tagged frames
    tagged = [t for t in cap.tags(flow)]
    assert len(tagged) >= 8


def test_icmp_too_small_for_the_tag_is_one_line() -> None:
    res = run_sniffer("gen", "icmp", "--size", "20")
    assert res.returncode == 2 and res.stderr.decode().count("\n") == 1
    assert res.stderr.startswith(b"sniffer: --size 20 is too small for ICMP")
