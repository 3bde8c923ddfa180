"""The detail tree with the conversation state (model.tcptree over model.tcpcolumns' state) against
tshark -2 -V (default preferences): the TCP analysis lines (relative numbers, window scaling, [SEQ/ACK
analysis], the flags and their expert items), "[Reassembled PDU in frame: N]", the reassembled segments
list and the reassembled PDU in the completing frame, the fragment list and the datagram decoded in the
last fragment. tshark is the oracle (CI has it: no skip)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.tree import dissect
from sniffer.model.tcpcolumns import TcpColumns
from sniffer.model.tcptree import state_tree

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

#: the lines compared (the start of a line, once indentation is stripped)
_LINES = (
    "Transmission Control Protocol,",
    "Sequence Number:",
    "Acknowledgment Number:",
    "[Next Sequence Number",
    "[Calculated window size",
    "[Window size scaling factor",
    "[Timestamps]",
    "[Time since first frame in this TCP",
    "[Time since previous frame in this TCP",
    "[SEQ/ACK analysis]",
    "[This is an ACK",
    "[The RTT",
    "[iRTT",
    "[Bytes in flight",
    "[Bytes sent since",
    "[TCP Analysis Flags]",
    "[Expert Info (",
    "[The RTO",
    "[RTO based",
    "[This is a TCP duplicate",
    "[Duplicate ACK #",
    "[Duplicate to the ACK",
    "[Reassembled PDU in frame",
    "TCP segment data",
    "Retransmitted TCP segment data",
)
_REASSEMBLY = (
    "[Frame: ",
    "[Segment count",
    "[Reassembled TCP length",
    "[Fragment count",
    "[Reassembled IPv6 length",
    "[Reassembled IPv4 length",
    "[Reassembled IPv6 in frame",
    "[Reassembled IPv4 in frame",
)


def _need_tshark() -> None:
    if shutil.which("tshark") is None:
        pytest.fail("tshark is the oracle of these tests: install it (apt-get install tshark)")


def _keep(text: str, extra: tuple[str, ...]) -> bool:
    return text.startswith(_LINES + extra) or bool(
        extra and ("Reassembled TCP Segments (" in text or " Fragments (" in text)
    )


def _tshark(path: Path, extra: tuple[str, ...], two_pass: bool = False) -> dict[int, list[str]]:
    out = subprocess.run(
        ["tshark", *(["-2"] if two_pass else []), "-n", "-r", str(path), "-V"],
        capture_output=True,
        check=True,
        env={"LC_ALL": "C", "TZ": "UTC", "PATH": "/usr/bin:/bin"},
    ).stdout.decode()
    frames: dict[int, list[str]] = {}
    cur: list[str] = []
    for line in out.splitlines():
        if line.startswith("Frame ") and " bytes on wire" in line:
            cur = frames.setdefault(int(line.split()[1].rstrip(":")), [])
            continue
        t = line.strip()
        if _keep(t, extra):
            cur.append(t)
    return frames


def _ours(path: Path) -> tuple[list[Any], TcpColumns]:
    frames = list(open_capture(str(path)))
    tc = TcpColumns()
    for f in frames:
        tc.feed(f)
    return frames, tc


def _tree(frames: list[Any], tc: TcpColumns, index: int) -> Any:
    st = tc.state(index, frames.__getitem__)
    assert st is not None
    return state_tree(dissect(frames[index]), st)


def _lines(root: Any, extra: tuple[str, ...]) -> list[str]:
    return [n.text.strip() for n in root.walk() if n.text and _keep(n.text.strip(), extra)]


_LATER = ("[Reassembled PDU in frame", "[Reassembled IPv6 in frame", "[Reassembled IPv4 in frame")


def _compare(
    path: Path, extra: tuple[str, ...] = _REASSEMBLY, skip: tuple[str, ...] = (), two_pass: bool = True
) -> int:
    """Our lines of every frame against tshark's one pass (the analysis as the frame is met, like
    read --json), and where each segment and fragment was reassembled against its two passes."""
    want = _tshark(path, extra)
    later = {n: [t for t in ts if t.startswith(_LATER)] for n, ts in _tshark(path, extra, True).items()}
    frames, tc = _ours(path)
    checked = 0
    order = list(range(len(frames)))
    # every frame, in order, then backwards (the replay going on / starting again gives the same)
    for i in order + order[::-1]:
        got = [t for t in _lines(_tree(frames, tc, i), extra) if not t.startswith(skip)]
        w = [t for t in want.get(i + 1, []) if not t.startswith(skip + _LATER)]
        assert [t for t in got if not t.startswith(_LATER)] == w, (path.name, i + 1, got, w)
        if two_pass:
            assert [t for t in got if t.startswith(_LATER)] == later.get(i + 1, []), (path.name, i + 1)
        checked += 1
    return checked


def _crafted(tmp_path: Path, name: str) -> Path:
    from helpers.tcp_oracle import __name__ as _  # noqa: F401  (tests/ on the path)

    from model.test_tcpanalysis import _conversation, _write

    return _write(tmp_path / f"{name}.pcap", _conversation(v6=name == "v6"))


@pytest.mark.parametrize("name", ["v4", "v6"])
def test_analysis_lines_like_tshark(tmp_path: Path, name: str) -> None:
    """Every condition of tcp.analysis (retransmission, fast and spurious retransmission, lost segment,
    duplicate ACKs, out-of-order, zero window and its probe, window update, keep-alive, ACKed unseen,
    reused ports, FIN/RST): every analysis line of every frame as tshark -V shows it. (tshark reassembles
    the out-of-order raw data on port 80 as one PDU; our reassembly leaves bytes of no protocol per
    packet: the segment-data lines are left out here and compared on the captures below.)"""
    _need_tshark()
    path = _crafted(tmp_path, name)
    skip = ("TCP segment data", "Retransmitted TCP segment data")
    assert _compare(path, (), skip=skip, two_pass=False) == 62


def test_http_over_segments_like_tshark() -> None:
    """The corpus' web browsing capture: HTTP responses whose headers span two segments: the first
    says where its PDU was reassembled, the completing one lists the segments and decodes the HTTP
    response; every other frame's analysis lines too."""
    _need_tshark()
    path = CORPUS / "tcp" / "zeek__workshop_2011_browse.pcap"
    _compare(path)
    frames, tc = _ours(path)
    root = _tree(frames, tc, 7)  # frame 8 completes the 304 begun in frame 6
    layers = [n.field for n in root.children]
    assert layers[-2:] == ["tcp.segments", "http"]
    assert root.children[-2].text == "[2 Reassembled TCP Segments (189 bytes): #6(187), #8(2)]"
    proto = root.children[0].find("frame.protocols")
    assert proto is not None and proto.value == "eth:ethertype:ip:tcp:http"
    # the PDU's bytes from this frame keep their offsets (the hex view highlights them), the others none
    http = root.children[-1]
    assert [(n.offset, n.length) for n in http.walk() if n.text == "\\r\\n"] == [(54, 2)]
    assert all(n.offset == -1 for n in http.walk() if n.field == "http.response.code")
    first = _tree(frames, tc, 5)
    assert [n.field for n in first.children][-1] == "tcp"
    assert first.find("tcp.reassembled_in") is not None


@pytest.mark.parametrize(
    "capture",
    ["tcp/zeek__tls__tls13_wolfssl.pcap", "tcp/zeek__ldap__aduser1.pcap", "tcp/zeek__ssh__single-conn.pcap"],
)
def test_reassembly_lines_like_tshark(capture: str) -> None:
    """TLS records, LDAP messages and SSH packets across segments: the analysis and reassembly lines of
    every frame as tshark -2 -V shows them."""
    _need_tshark()
    _compare(CORPUS / capture)


def _dns_answer6(tmp_path: Path) -> Path:
    """A DNS answer (60 A records) over UDP in four IPv6 fragments: the first, then the others backwards."""
    from scapy.all import (  # type: ignore[import-untyped]
        DNS,
        DNSQR,
        DNSRR,
        UDP,
        Ether,
        IPv6,
        IPv6ExtHdrFragment,
        fragment6,
        wrpcap,
    )

    answer = DNS(
        id=9,
        qr=1,
        qd=DNSQR(qname="example.com"),
        an=[DNSRR(rrname="example.com", rdata=f"10.0.{i}.1") for i in range(60)],
    )
    pkt = (
        IPv6(src="fd00::53", dst="fd00::1")
        / IPv6ExtHdrFragment(id=0xBEEF)
        / UDP(sport=53, dport=5353)
        / answer
    )
    frags = fragment6(pkt, 500)
    assert len(frags) == 4
    eth = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
    out = []
    for i, f in enumerate([frags[0], *frags[:0:-1]]):
        p = eth / f
        p.time = 1_700_000_000 + i * 0.001
        out.append(p)
    path = tmp_path / "dns6.pcap"
    wrpcap(str(path), out)
    return path


def test_fragmented_ipv6_dns_answer_like_tshark(tmp_path: Path) -> None:
    """The fragment list, where each fragment was reassembled, and the DNS answer decoded in the frame
    that completes the datagram (as tshark -2 -V shows them)."""
    _need_tshark()
    path = _dns_answer6(tmp_path)
    _compare(path, skip=("[Timestamps]",))  # (UDP's conversation timestamps: not given yet)
    frames, tc = _ours(path)
    root = _tree(frames, tc, 3)
    assert [n.field for n in root.children][-3:] == ["ipv6.fragments", "udp", "dns"]
    dns = root.children[-1]
    assert dns.text == "Domain Name System (response)"
    assert len([n for n in dns.walk() if n.field == "dns.a"]) == 60
    first = _tree(frames, tc, 0)
    assert [n.field for n in first.children][-1] == "data"
    assert first.find("ipv6.reassembled.in") is not None
