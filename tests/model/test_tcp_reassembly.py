"""TCP reassembly (sniffer.model.reassembly) against tshark with default preferences: scapy-built
conversations where HTTP messages (Content-Length, chunked, up to the FIN), TLS records, DNS over TCP
and SSH packets span segments; the memory bounds; --no-reassembly. tshark is the oracle (CI has it)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sniffer.cli import main
from sniffer.frame import LINKTYPE_RAW, Frame
from sniffer.model.reassembly import (
    DECODE,
    DROPPED_NOTE,
    SEGMENT,
    TcpReassembler,
    apply_fields,
    http_pdu,
    tls_pdu,
)
from sniffer.model.tcpanalysis import TcpAnalyzer


def _need_tshark() -> None:
    if shutil.which("tshark") is None:
        pytest.fail("tshark is the oracle of these tests: install it (apt-get install tshark)")


def _conv(sport: int, chunks: list[tuple[str, bytes]], v6: bool = False, fin: str = "") -> list[Any]:
    """A handshake, then each (side, payload) as one segment ("c" client, "s" server) acked by the other
    side, then a FIN from ``fin``'s side ("" none)."""
    from scapy.all import IP, TCP, Ether, IPv6, Raw  # type: ignore[import-untyped]

    def ip(a: int, b: int) -> Any:
        eth = Ether(src=f"02:00:00:00:00:0{a}", dst=f"02:00:00:00:00:0{b}")  # (no neighbour lookups)
        if v6:
            return eth / IPv6(src=f"fd00::{a}", dst=f"fd00::{b}")
        return eth / IP(src=f"10.0.0.{a}", dst=f"10.0.0.{b}")

    cseq, sseq = 1000, 5000
    pkts = [
        ip(1, 2) / TCP(sport=40000, dport=sport, seq=cseq, flags="S"),
        ip(2, 1) / TCP(sport=sport, dport=40000, seq=sseq, ack=cseq + 1, flags="SA"),
        ip(1, 2) / TCP(sport=40000, dport=sport, seq=cseq + 1, ack=sseq + 1, flags="A"),
    ]
    cseq += 1
    sseq += 1
    for side, data in chunks:
        if side == "c":
            pkts.append(ip(1, 2) / TCP(sport=40000, dport=sport, seq=cseq, ack=sseq, flags="PA") / Raw(data))
            cseq += len(data)
            pkts.append(ip(2, 1) / TCP(sport=sport, dport=40000, seq=sseq, ack=cseq, flags="A"))
        else:
            pkts.append(ip(2, 1) / TCP(sport=sport, dport=40000, seq=sseq, ack=cseq, flags="PA") / Raw(data))
            sseq += len(data)
            pkts.append(ip(1, 2) / TCP(sport=40000, dport=sport, seq=cseq, ack=sseq, flags="A"))
    if fin == "s":
        pkts.append(ip(2, 1) / TCP(sport=sport, dport=40000, seq=sseq, ack=cseq, flags="FA"))
    return pkts


def _write(path: Path, pkts: list[Any]) -> Path:
    from scapy.all import wrpcap

    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i * 0.01
    wrpcap(str(path), pkts)
    return path


_BODY = b"<html>" + b"a" * 2000 + b"</html>"
_CHUNKED = b"5\r\nhello\r\n1a\r\n" + b"b" * 26 + b"\r\n0\r\n\r\n"


def _tls_record(kind: int, n: int) -> bytes:
    return bytes([kind, 3, 3]) + n.to_bytes(2, "big") + bytes(n)


def _dns_tcp() -> bytes:
    from scapy.all import DNS, DNSQR, DNSRR  # type: ignore[import-untyped]

    msg = bytes(
        DNS(
            id=7,
            qr=1,
            qd=DNSQR(qname="example.com"),
            an=[DNSRR(rrname="example.com", rdata=f"10.0.0.{i}") for i in range(1, 30)],
        )
    )
    return len(msg).to_bytes(2, "big") + msg


def _ssh_packet(code: int, n: int) -> bytes:
    body = bytes([code]) + bytes(n)
    pad = 8 - (5 + len(body)) % 8  # the whole a multiple of 8, at least 4 bytes of padding
    if pad < 4:
        pad += 8
    return (len(body) + pad + 1).to_bytes(4, "big") + bytes([pad]) + body + bytes(pad)


CASES: dict[str, tuple[int, list[tuple[str, bytes]], str]] = {
    # a response whose headers and Content-Length body span three segments, then a second in one
    "http-content-length": (
        80,
        [
            ("c", b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
            (
                "s",
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2013\r\n\r\n" + _BODY[:700],
            ),
            ("s", _BODY[700:1500]),
            ("s", _BODY[1500:]),
            ("c", b"GET /2 HTTP/1.1\r\nHost: example.com\r\n\r\n"),
            ("s", b"HTTP/1.1 304 Not Modified\r\nServer: x\r\n"),
            ("s", b"ETag: y\r\n\r\n"),
        ],
        "",
    ),
    # a chunked body, the headers in their own segment
    "http-chunked": (
        80,
        [
            ("c", b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123"),
            ("c", b"456789"),
            ("s", b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ("s", _CHUNKED[:12]),
            ("s", _CHUNKED[12:]),
        ],
        "",
    ),
    # no length: the body runs to the server's FIN
    "http-until-fin": (
        80,
        [
            ("c", b"GET / HTTP/1.0\r\n\r\n"),
            ("s", b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nline one\n"),
            ("s", b"line two\n"),
        ],
        "s",
    ),
    # TLS records: one across three segments; one completing with the start of the next
    "tls": (
        443,
        [
            ("s", _tls_record(23, 3000)[:1000]),
            ("s", _tls_record(23, 3000)[1000:2000]),
            ("s", _tls_record(23, 3000)[2000:] + _tls_record(23, 100) + _tls_record(23, 400)[:50]),
            ("s", _tls_record(23, 400)[50:]),
            ("c", _tls_record(23, 30) + _tls_record(23, 20)),
        ],
        "",
    ),
    # a DNS response over TCP in two segments, and its length prefix alone in one
    "dns-tcp": (
        53,
        [
            ("s", _dns_tcp()[:100]),
            ("s", _dns_tcp()[100:]),
            ("s", _dns_tcp()[:1]),
            ("s", _dns_tcp()[1:]),
        ],
        "",
    ),
    # SSH: banners, a Key Exchange Init across two segments, New Keys; afterwards encrypted (per packet)
    "ssh": (
        22,
        [
            ("s", b"SSH-2.0-OpenSSH_9.2\r\n"),
            ("c", b"SSH-2.0-OpenSSH_9.2\r\n"),
            ("s", _ssh_packet(20, 600)[:300]),
            ("s", _ssh_packet(20, 600)[300:]),
            ("s", _ssh_packet(21, 0)),
            ("s", b"\x8a\x11" + bytes(60)),
        ],
        "",
    ),
}


def _tshark(path: Path) -> list[list[str]]:
    out = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(path),
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-e",
            "frame.number",
            "-e",
            "_ws.col.Protocol",
            "-e",
            "_ws.col.Info",
            "-e",
            "frame.protocols",
            "-e",
            "tcp.segment",
            "-e",
            "tcp.reassembled.length",
        ],
        capture_output=True,
        check=True,
        env={"LC_ALL": "C", "TZ": "UTC", "PATH": "/usr/bin:/bin"},
    ).stdout.decode()
    return [line.split("\t") for line in out.splitlines()]


def _read(*args: str) -> list[str]:
    """`sniffer read ARGS` run in this process (the same CLI code, without an interpreter start)."""
    out = io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    with contextlib.redirect_stdout(stdout):
        assert main(["read", *args]) == 0
        stdout.flush()
    return out.getvalue().decode().splitlines()


def _ours(path: Path, *extra: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _read("--json", *extra, str(path))]


def _tcp_info_close(ours: str, theirs: str) -> bool:
    """tshark's TCP Info lists the options our per-packet TCP Info leaves out: compare the rest."""
    return ours == theirs or theirs.startswith(ours.split(" [TCP segment")[0])


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_against_tshark(tmp_path: Path, name: str, v6: bool) -> None:
    """Protocol, Info, frame.protocols, tcp.segment and tcp.reassembled.length of every frame as
    tshark 4.0 prints them with its defaults (one pass)."""
    _need_tshark()
    port, chunks, fin = CASES[name]
    _same_as_tshark(_write(tmp_path / f"{name}.pcap", _conv(port, chunks, v6, fin)), name)


def _tunnelled(kind: str, p: Any) -> Any:
    """``p`` (Ether / IP or IPv6 / TCP) inside a tunnel between two other hosts."""
    from scapy.all import GRE, IP, UDP, Ether, IPv6
    from scapy.contrib.geneve import GENEVE  # type: ignore[import-untyped]
    from scapy.layers.vxlan import VXLAN  # type: ignore[import-untyped]

    v6 = p.haslayer(IPv6)
    outer = Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02") / IP(src="192.0.2.1", dst="192.0.2.2")
    if kind == "vxlan":
        return outer / UDP(sport=55555, dport=4789) / VXLAN(vni=7) / p
    if kind == "geneve":
        return outer / UDP(sport=55555, dport=6081) / GENEVE(vni=7, proto=0x6558) / p
    if kind == "gre":
        return outer / GRE(proto=0x86DD if v6 else 0x0800) / p[1]
    if kind == "gre-eth":
        return outer / GRE(proto=0x6558) / p
    assert kind == "ipip"
    outer[IP].proto = 41 if v6 else 4
    return outer / p[1]


@pytest.mark.parametrize("tunnel", ["vxlan", "geneve", "gre", "gre-eth", "ipip"])
@pytest.mark.parametrize("name", ["http-content-length", "tls", "ssh"])
def test_in_tunnels_against_tshark(tmp_path: Path, tunnel: str, name: str) -> None:
    """Reassembly inside tunnels (as Wireshark reassembles them): the same conversations carried by
    VXLAN, Geneve, GRE (IP and Ethernet), IP in IP; tshark's columns, layers and segment lists."""
    _need_tshark()
    port, chunks, fin = CASES[name]
    for v6 in (False, True):
        pkts = [_tunnelled(tunnel, p) for p in _conv(port, chunks, v6, fin)]
        path = _write(tmp_path / f"{name}-{tunnel}-{v6}.pcap", pkts)
        _same_as_tshark(path, f"{name} in {tunnel}")
        # the text view (the native walk of the tunnel, the walker's lines) says the same
        for line, g in zip(_read("--analysis", str(path)), _ours(path), strict=True):
            parts = line.split(" ", 7)
            assert (parts[5], parts[7]) == (g["_ws.col.Protocol"], g["_ws.col.Info"]), (name, tunnel, line)


def _same_as_tshark(path: Path, name: str) -> None:
    want = _tshark(path)
    got = _ours(path)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        segs = g.get("tcp.segment")
        row = [
            str(g["frame.number"]),
            g["_ws.col.Protocol"],
            g["_ws.col.Info"].replace("->", "\u2192"),
            g["frame.protocols"],
            ",".join(map(str, segs)) if segs else "",
            str(g.get("tcp.reassembled.length", "")),
        ]
        if w[1] == "TCP" and _tcp_info_close(row[2], w[2]):
            row[2] = w[2]
        assert row == w, (name, row, w)


def test_text_view_is_the_json_view(tmp_path: Path) -> None:
    """`read --analysis` (text, from the summary) shows the Protocol and Info of `read --json`."""
    for name, (port, chunks, fin) in CASES.items():
        path = _write(tmp_path / f"{name}.pcap", _conv(port, chunks, False, fin))
        text = _read("--analysis", str(path))
        js = _ours(path)
        for line, g in zip(text, js, strict=True):
            parts = line.split(" ", 7)
            assert parts[5] == g["_ws.col.Protocol"], (name, line, g["_ws.col.Info"])
            assert parts[7] == g["_ws.col.Info"], (name, line)


def test_no_reassembly_is_per_packet(tmp_path: Path) -> None:
    """--no-reassembly: each segment decoded alone (HTTP continuation shows as tshark's per-packet view
    would), while the TCP analysis stays (relative sequence numbers)."""
    port, chunks, fin = CASES["http-content-length"]
    path = _write(tmp_path / "h.pcap", _conv(port, chunks, False, fin))
    got = _ours(path, "--no-reassembly")
    assert not any("tcp.segment" in g for g in got)
    assert [g["_ws.col.Protocol"] for g in got][5] == "HTTP"  # the response's first segment
    assert got[5]["tcp.seq"] == 1


def _seg(seq: int, data: bytes, sport: int = 443, dport: int = 40000, flags: int = 0x18) -> Frame:
    import socket
    import struct

    th = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        40 + len(data),
        1,
        0,
        64,
        6,
        0,
        socket.inet_aton("10.0.0.2"),
        socket.inet_aton("10.0.0.1"),
    )
    pkt = ip + th + data
    return Frame(0, pkt, len(pkt), LINKTYPE_RAW)


def _feed(ra: TcpReassembler, frames: list[Frame]) -> list[Any]:
    an = TcpAnalyzer()
    return [ra.feed(i, fr, an.feed_frame(i, fr)) for i, fr in enumerate(frames, 1)]


def test_bounds_per_pdu_and_total() -> None:
    """A PDU longer than max_pdu is not held: its segments are marked, their bytes not kept, and its
    last segment is per packet. Beyond max_bytes over all streams the least recently used pending PDU is
    dropped; the next frame of its stream carries an expert note."""
    rec = _tls_record(23, 5000)
    ra = TcpReassembler(max_pdu=2000)
    v = _feed(ra, [_seg(1, rec[:1000]), _seg(1001, rec[1000:3000]), _seg(3001, rec[3000:])])
    assert [x.kind if x else None for x in v] == [SEGMENT, SEGMENT, None]
    assert ra.held == 0

    ra = TcpReassembler(max_bytes=1500)
    an = TcpAnalyzer()
    a = [_seg(1, rec[:1000], dport=1), _seg(1001, rec[1000:2000], dport=1)]
    b = [_seg(1, rec[:1000], dport=2)]
    out = []
    for i, fr in enumerate([a[0], b[0], a[1]], 1):
        out.append(ra.feed(i, fr, an.feed_frame(i, fr)))
    assert ra.dropped == 1 and ra.held <= 1500
    note = out[2]
    assert note is not None and note.kind not in (SEGMENT, DECODE)
    fields = apply_fields({"frame.protocols": "raw:ip:tcp"}, note, a[1])
    assert DROPPED_NOTE in fields["_ws.expert.message"]


def test_framers() -> None:
    assert http_pdu(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 27
    assert http_pdu(b"GET / HTTP/1.1\r\nHost: a\r\n") == -1
    assert http_pdu(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab") == 43
    assert http_pdu(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n") == -1
    assert http_pdu(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") == 60
    assert http_pdu(b"\x16\x03\x01") is None
    assert tls_pdu(b"\x17\x03\x03\x00\x10") == 21
    assert tls_pdu(b"\x17") == -1
    assert tls_pdu(b"GET /") is None


def test_hostile_segments_never_raise() -> None:
    """Any bytes on the framed ports, any sequence numbers: no exception, bounded memory."""
    import random

    rnd = random.Random(14)
    ra = TcpReassembler(max_pdu=1 << 16, max_bytes=1 << 18)
    an = TcpAnalyzer()
    for i in range(1, 3000):
        port = rnd.choice([80, 443, 53, 88, 139, 22, 179, 389, 3306, 102, 5000])
        data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 60)))
        if rnd.random() < 0.3:
            data = (
                rnd.choice([b"HTTP/1.1 200 OK\r\n", b"\x16\x03\x03\xff\xff", b"SSH-2.0-x\r\n", b"\x00\x00"])
                + data
            )
        fr = _seg(
            rnd.getrandbits(32),
            data,
            sport=port,
            dport=rnd.choice([40000, 40001]),
            flags=rnd.choice([0x18, 0x11, 0x04, 0x02]),
        )
        v = ra.feed(i, fr, an.feed_frame(i, fr))
        if v is not None:
            apply_fields({"frame.protocols": "raw:ip:tcp"}, v, fr)
        assert ra.held <= 1 << 18


CORPUS_TCP = Path(__file__).resolve().parents[1] / "corpus" / "tcp"


@pytest.mark.parametrize(
    "capture",
    ["zeek__ldap__aduser1.pcap", "zeek__workshop_2011_browse.pcap", "zeek__tls__xmpp-starttls.pcap"],
)
@pytest.mark.parametrize(
    "flt", ["tcp.segment.count >= 2", "tcp.reassembled.length > 1000", "tcp.segment == 6"]
)
def test_filters_select_what_tshark_selects(capture: str, flt: str) -> None:
    """-Y on the reassembly's fields (text read: the filter runs its own analysis and reassembly; --json:
    it reads the prepared fields) selects the frames tshark selects."""
    _need_tshark()
    path = str(CORPUS_TCP / capture)
    want = subprocess.run(
        ["tshark", "-n", "-r", path, "-Y", flt, "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        check=True,
    ).stdout.split()
    text = [line.split(" ", 1)[0].encode() for line in _read("-Y", flt, path)]
    js = [str(g["frame.number"]).encode() for g in _ours(Path(path), "-Y", flt)]
    assert text == want
    assert js == want


def _tshark2(path: Path) -> list[list[str]]:
    out = subprocess.run(
        ["tshark", "-2", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
        + [
            a
            for f in (
                "frame.number",
                "_ws.col.Protocol",
                "_ws.col.Info",
                "ip.reassembled_in",
                "ipv6.reassembled.in",
                "tcp.reassembled_in",
            )
            for a in ("-e", f)
        ],
        capture_output=True,
        check=True,
        env={"LC_ALL": "C", "TZ": "UTC", "PATH": "/usr/bin:/bin"},
    ).stdout.decode()
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.parametrize("kind", ["ipv4", "ipv6", "ipv4-reversed", *sorted(CASES)])
def test_two_passes_like_tshark_2(tmp_path: Path, kind: str) -> None:
    """`read -2`: the earlier fragments and segments name the frame they were reassembled in
    (ip.reassembled_in with Info's "[Reassembled in #N]", ipv6.reassembled.in, tcp.reassembled_in) and
    a segment shows TCP's line, as tshark -2 prints them."""
    _need_tshark()
    from model.test_tcpanalysis import _fragments, _fragments6
    from model.test_tcpanalysis import _write as write_timed

    if kind.startswith("ipv"):
        pkts = _fragments6("in-order") if kind == "ipv6" else _fragments(kind[5:] or "in-order")
        path = write_timed(tmp_path / "f.pcap", pkts)
    else:
        port, chunks, fin = CASES[kind]
        path = _write(tmp_path / f"{kind}.pcap", _conv(port, chunks, False, fin))
    want = _tshark2(path)
    got = _ours(path, "-2")
    assert any(w[3] or w[4] or w[5] for w in want)
    for g, w in zip(got, want, strict=True):
        row = [
            str(g["frame.number"]),
            g["_ws.col.Protocol"],
            g["_ws.col.Info"].replace("->", "\u2192"),
            str(g.get("ip.reassembled_in", "")),
            str(g.get("ipv6.reassembled.in", "")),
            str(g.get("tcp.reassembled_in", "")),
        ]
        if w[1] in ("TCP", "UDP", "TLSv1.2") and _tcp_info_close(row[2], w[2]):
            row[2] = w[2]
        if w[1] == "SSHv2" and row[1] == "SSH":  # tshark -2 knows the version in the banner's frame too
            row[1] = w[1]
        assert row == w, (kind, row, w)
    text = _read("-2", str(path))
    assert [line.split(" ", 7)[7] for line in text] == [g["_ws.col.Info"] for g in got]


def test_two_passes_need_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", "-2", "-"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("sniffer: read: -2 reads the file twice") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("capture", "apps", "segments"),
    [
        ("tcpdump__arcnet-rfc1201-arp-icmp-http.pcap", ("TCP", "HTTP"), ["19,20"]),
        ("tcpdump__whois.pcap", ("TCP", "WHOIS"), ["6,8"]),
        ("zeek__finger__standard.pcap", ("TCP", "FINGER"), ["7,9,10"]),
    ],
)
def test_corpus_segments_reassembled_like_tshark(
    capture: str, apps: tuple[str, ...], segments: list[str]
) -> None:
    """TCP on Linux ARCnet (RFC 1201 encapsulation): an HTTP response in two segments is reassembled in
    the second; WHOIS and Finger answers are held up to the server's FIN (the FIN alone, or the last
    data segment with it, completes them), as tshark does: every TCP frame's Protocol, Info,
    frame.protocols and tcp.segment (Info: TCP's options and WHOIS's query name aside)."""
    _need_tshark()
    path = CORPUS_TCP / capture
    want = _tshark(path)
    got = _ours(path)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        segs = g.get("tcp.segment")
        row = [
            str(g["frame.number"]),
            g["_ws.col.Protocol"],
            g["_ws.col.Info"].replace("->", "\u2192"),
            g["frame.protocols"],
            ",".join(map(str, segs)) if segs else "",
            str(g.get("tcp.reassembled.length", "")),
        ]
        if w[1] == "TCP" and _tcp_info_close(row[2], w[2]):
            row[2] = w[2]
        if row[2] == w[2].replace(": example.com", ""):  # (our WHOIS does not name the query in answers)
            row[2] = w[2]
        if w[1] not in apps:  # (ARP, ICMP: the per-packet decoder's business)
            continue
        assert row == w, (row, w)
    assert [w[4] for w in want if w[4]] == segments
