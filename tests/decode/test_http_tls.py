"""HTTP and TLS against tshark (-o tcp.desegment_tcp_streams:FALSE, i.e. per segment): the corpus's HTTP
captures, synthetic segments of every kind the dissectors decide on, and a real TLS 1.2 + 1.3 exchange
captured on the loopback of a test namespace. Field by field, Protocol and Info columns, display filters.

Where tshark's answer needs state from earlier packets of the conversation, or it claims a payload that
is no request/status line or record start, the difference is expected and classified below (our decoding
is per packet, and the brief keeps such payloads TCP + data); every other difference fails.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import format_line, slow_summary, summarize
from sniffer.decode.tree import dissect

from . import httptls
from .oracle import CAPS

FIELDS = (
    "http.request http.response http.request.method http.request.uri http.request.version "
    "http.response.version http.response.code http.response.code.desc http.response.phrase http.host "
    "http.user_agent http.content_type http.content_length http.content_length_header http.server "
    "http.location http.connection http.referer http.cookie http.cookie_pair http.accept http.date "
    "http.last_modified http.request.line http.response.line http.request.full_uri http.set_cookie "
    "http.cache_control http.accept_encoding http.accept_language http.transfer_encoding http.upgrade "
    "http.sec_websocket_accept http.proxy_authorization "
    "tls.record.content_type tls.record.opaque_type tls.record.version tls.record.length tls.handshake.type "
    "tls.handshake.length tls.handshake.version tls.handshake.random tls.handshake.session_id_length "
    "tls.handshake.session_id tls.handshake.cipher_suites_length tls.handshake.ciphersuite "
    "tls.handshake.comp_methods_length tls.handshake.comp_method tls.handshake.extensions_length "
    "tls.handshake.extension.type tls.handshake.extension.len tls.handshake.extensions_server_name "
    "tls.handshake.extensions_server_name_len tls.handshake.extensions_server_name_type "
    "tls.handshake.extensions_server_name_list_len tls.handshake.extensions_alpn_str "
    "tls.handshake.extensions_alpn_str_len tls.handshake.extensions_alpn_len "
    "tls.handshake.extensions.supported_version tls.handshake.extensions.supported_versions_len "
    "tls.app_data tls.alert_message.level tls.alert_message.desc "
    "_ws.col.Protocol _ws.col.Info frame.protocols"
).split()
BYTES = {"tls.handshake.random", "tls.handshake.session_id", "tls.app_data", "http.content_length_header"}
AGG = "\x1f"
TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark (the oracle) is not installed")


def _tshark(path: Path, *extra: str) -> list[dict[str, str]]:
    argv = ["tshark", "-n", "-r", str(path), "-o", "tcp.desegment_tcp_streams:FALSE", *extra]
    argv += ["-T", "fields", "-E", "occurrence=a", "-E", f"aggregator={AGG}"]
    for f in FIELDS:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout.decode("utf-8", "replace")
    return [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in out.split("\n")[:-1]]


def _theirs(f: str, s: str) -> Any:
    if f == "_ws.col.Info" and s.startswith("[TCP "):  # TCP's own analysis (retransmissions ...): not ours
        s = s[s.index("] ") + 2 :]
    if f == "frame.protocols" and ":tls" in s:  # the certificates' X.509 layers are not decoded
        s = s[: s.index(":tls") + 4]
    if s == "":
        return None
    out: list[Any] = []
    for p in s.split(AGG):
        p = p.replace("\\r", "\r").replace("\\n", "\n").replace("\\\\", "\\")
        if f == "_ws.col.Info":
            p = p.replace("\u2192", "->")
        if p.startswith("0x") and f not in BYTES:
            out.append(int(p, 16))
        elif p.isdigit() and f not in BYTES:
            out.append(int(p))
        else:
            out.append(p)
    return tuple(out)


def _ours(f: str, fields: dict[str, Any]) -> Any:
    v = fields.get(f)
    if v is None or v == "":  # tshark -T fields cannot show an empty string
        return None
    if f == "frame.protocols" and ":tls" in v:
        v = v[: v.index(":tls") + 4]
    vals = v if isinstance(v, list) else [v]
    return tuple(x.replace(":", "") if f in BYTES and f != "http.content_length_header" else x for x in vals)


def _expected_difference(row: dict[str, str], ours: dict[str, Any]) -> str:
    """Why tshark and we may differ on this packet, or "" if we must agree."""
    proto, info = row["_ws.col.Protocol"], row["_ws.col.Info"]
    if ours["_ws.col.Protocol"] == "TCP" and (
        info in ("Continuation", "Continuation Data") or proto == "SSL" or (proto == "HTTP" and not info)
    ):
        return (
            "tshark claims a payload that starts no request/status line or record (stateful 'Continuation')"
        )
    if proto == "TLSv1.3" and ours["_ws.col.Protocol"] != "TLSv1.3":
        return "TLS 1.3 after the Server Hello: the version is conversation state"
    if ours["_ws.col.Protocol"] == "TCP" and row["http.request.method"] and ours.get("tcp.len", 99) < 4:
        return "tshark takes a bare method without its space (a 3-byte segment) as a request"
    return ""


def _compare(path: Path, tree: bool = True) -> tuple[int, int, Counter[str], list[str]]:
    """(agreeing (packet, field) pairs, compared pairs, expected differences by reason, unexpected ones)."""
    with open_capture(str(path)) as r:
        frames = list(r)
    rows = _tshark(path)
    assert len(rows) == len(frames)
    agree = total = 0
    expected: Counter[str] = Counter()
    bad: list[str] = []
    for i, (fr, row) in enumerate(zip(frames, rows, strict=True), 1):
        ours = frame_fields(fr)
        if not any(p in row["frame.protocols"] + ours["frame.protocols"] for p in (":http", ":tls")):
            continue
        why = _expected_difference(row, ours)
        assert summarize(fr) == slow_summary(fr)
        if tree:
            assert dissect(fr).to_fields() == ours
        for f in FIELDS:
            want, got = _theirs(f, row[f]), _ours(f, ours)
            if want is None and got is None:
                continue
            total += 1
            if want == got:
                agree += 1
            elif why:
                expected[why] += 1
            else:
                bad.append(f"{path.name} #{i} {f}: tshark={want!r:.120} sniffer={got!r:.120}")
    return agree, total, expected, bad


def _report(name: str, agree: int, total: int, expected: Counter[str]) -> None:
    print(f"\n{name}: {agree}/{total} (packet, field) pairs agree = {agree / total:.2%}")
    for why, n in expected.items():
        print(f"  expected difference x{n}: {why}")


def test_corpus_http_agrees_with_tshark() -> None:
    names = (
        "zeek__wikipedia.pcap",
        "zeek__vlan-qinqinq.pcap",
        "zeek__tcp__options.pcap",
        "zeek__ipv6-http-atomic-frag.pcap",
    )
    agree = total = 0
    expected: Counter[str] = Counter()
    bad: list[str] = []
    for name in names:
        a, t, e, b = _compare(CAPS / name)
        agree, total, bad = agree + a, total + t, bad + b
        expected.update(e)
    _report("corpus HTTP", agree, total, expected)
    assert bad == []
    assert total > 500 and agree / total > 0.95


def test_synthetic_http_and_tls_segments_agree_with_tshark(tmp_path: Path) -> None:
    path = tmp_path / "httptls.pcap"
    path.write_bytes(httptls.pcap([httptls.ip4_tcp_frame(*c) for c in httptls.cases()]))
    agree, total, expected, bad = _compare(path)
    _report("synthetic", agree, total, expected)
    assert bad == []
    assert total > 600 and agree / total > 0.9


def test_info_column_of_typical_segments() -> None:
    ch = httptls.record(22, httptls.client_hello(httptls.sni(b"example.com")), 0x0301)
    cases = [
        (80, httptls.HTTP_REQUESTS[0], "HTTP", "GET / HTTP/1.1 "),
        (80, httptls.HTTP_RESPONSES[0], "HTTP", "HTTP/1.1 200 OK  (text/plain)"),
        (80, httptls.HTTP_RESPONSES[1], "HTTP", "HTTP/1.0 304 Not Modified "),
        (443, ch, "TLSv1", "Client Hello"),
        (
            443,
            httptls.tls_payloads()[4],
            "TLSv1.3",
            "Server Hello, Change Cipher Spec, Application Data, Application Data",
        ),
        (
            443,
            httptls.record(21, b"\x02\x28"),
            "TLSv1.2",
            "Alert (Level: Fatal, Description: Handshake Failure)",
        ),
    ]
    for port, payload, proto, info in cases:
        fr = next(iter(_frames([httptls.ip4_tcp_frame(40000, port, payload)])))
        s = summarize(fr)
        assert (s.protocol, s.info) == (proto, info)
    f = frame_fields(_frames([httptls.ip4_tcp_frame(40000, 443, ch)])[0])
    assert f["tls.handshake.extensions_server_name"] == "example.com"
    assert f["frame.protocols"].endswith(":tcp:tls")


def _frames(raw: list[bytes]) -> list[Any]:
    from sniffer.frame import Frame

    return [Frame(1_700_000_000 * 10**9, b, len(b), 1) for b in raw]


def test_tree_offsets_point_at_the_bytes() -> None:
    """Each HTTP/TLS field node covers the bytes its value came from."""
    fr = _frames([httptls.ip4_tcp_frame(40000, 80, httptls.HTTP_REQUESTS[1])])[0]
    root = dissect(fr)
    host = root.find("http.host")
    assert (
        host is not None and fr.data[host.offset : host.offset + host.length] == b"Host: example.com:8080\r\n"
    )
    m = root.find("http.request.method")
    assert m is not None and fr.data[m.offset : m.offset + m.length] == b"GET"
    ch = httptls.record(22, httptls.client_hello(httptls.sni(b"example.com")), 0x0301)
    fr = _frames([httptls.ip4_tcp_frame(40000, 443, ch)])[0]
    root = dissect(fr)
    sni = root.find("tls.handshake.extensions_server_name")
    assert sni is not None and fr.data[sni.offset : sni.offset + sni.length] == b"example.com"
    rv = root.find("tls.record.version")
    assert rv is not None and fr.data[rv.offset : rv.offset + rv.length] == b"\x03\x01"
    for node in root.walk():
        assert 0 <= node.offset and node.offset + node.length <= len(fr.data)


# --- a real TLS exchange on the loopback of a test namespace -----------------------------------------------


def _tls_exchange(ns: str, port: int, certdir: Path) -> None:
    """TLS 1.3 then TLS 1.2 (server and client in this process, sockets made inside namespace ``ns``)."""
    from sniffer.netns import netns

    srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.load_cert_chain(certdir / "c.pem", certdir / "k.pem")
    with netns(ns):
        ls = socket.socket()
        clients = [socket.socket(), socket.socket()]
    ls.bind(("127.0.0.1", port))
    ls.listen(2)
    ls.settimeout(10)

    def serve() -> None:
        for _ in range(2):
            c, _ = ls.accept()
            with srv.wrap_socket(c, server_side=True) as s:
                s.recv(100)
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    for sock, top in zip(clients, (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2), strict=True):
        cl = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cl.check_hostname = False
        cl.verify_mode = ssl.CERT_NONE
        cl.maximum_version = top
        cl.set_alpn_protocols(["http/1.1"])
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        with cl.wrap_socket(sock, server_hostname="example.com") as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
            s.recv(100)
    t.join(10)
    ls.close()


@pytest.fixture(scope="module")
def tls_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    if os.geteuid() != 0 or not shutil.which("tcpdump") or not shutil.which("openssl"):
        pytest.skip("needs root, tcpdump and openssl")
    from helpers.capture_traffic import Tcpdump
    from helpers.netns import netns_chain

    d = tmp_path_factory.mktemp("tls")
    key, cert = str(d / "k.pem"), str(d / "c.pem")
    subprocess.run(
        [
            *(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ),
            *("-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=example.com"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    path = d / "tls.pcap"
    with netns_chain(1) as (host,):
        td = Tcpdump(host.ns, "lo", path, "tcp port 443", extra=("-c", "200"))
        try:
            _tls_exchange(host.ns, 443, d)
            time.sleep(0.2)
        finally:
            td.stop()
    return path


def test_loopback_tls_exchange_agrees_with_tshark(tls_capture: Path) -> None:
    agree, total, expected, bad = _compare(tls_capture)
    _report("loopback TLS 1.3 + 1.2", agree, total, expected)
    assert bad == []
    with open_capture(str(tls_capture)) as r:
        infos = [summarize(fr).info for fr in r]
    assert infos.count("Client Hello") == 2
    assert any(i.startswith("Server Hello, Change Cipher Spec, Application Data") for i in infos)  # 1.3
    assert "Server Hello, Certificate, Server Key Exchange, Server Hello Done" in infos  # 1.2
    # Every pair not explained by tshark's conversation state agrees (bad == [] above). How many the
    # state explains depends on how the kernel segments the exchange: 15 of 159 pairs on an idle machine,
    # and a loaded CI run once compared 150 with 21 explained (TLS 1.3 records after the Server Hello).
    assert total > 120 and agree + sum(expected.values()) == total
    assert sum(expected.values()) / total < 0.2


@pytest.mark.parametrize(
    "expr",
    [
        'http.request.method == "GET"',
        'http.host contains "wiki"',
        "http.response.code == 304",
        "tls.handshake.type == 1",
        'tls.handshake.extensions_server_name == "example.com"',
        "tls.record.content_type == 23",
        "tls.record",
        "tls.handshake",
        "tls.alert_message",
    ],
)
def test_read_display_filter_matches_tshark(tmp_path: Path, expr: str) -> None:
    """`sniffer read -Y` selects the same packets as `tshark -Y` (tshark's stateful extras excluded)."""
    import contextlib
    import io

    from sniffer.cli import main

    path = tmp_path / "f.pcap"
    frames = [httptls.ip4_tcp_frame(*c) for c in httptls.cases() if len(c[2]) > 3]
    frames.append(httptls.ip4_tcp_frame(39999, 80, b"GET /w HTTP/1.1\r\nHost: wiki.x\r\n\r\n"))
    path.write_bytes(httptls.pcap(frames))
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    with contextlib.redirect_stdout(out):
        assert main(["read", "-Y", expr, str(path)]) == 0
        out.flush()
    ours = [int(line.split()[0]) for line in raw.getvalue().decode().splitlines()]
    oracle = ["tshark", "-n", "-r", str(path), "-o", "tcp.desegment_tcp_streams:FALSE", "-Y", expr]
    proc = subprocess.run(
        [*oracle, "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    theirs = [int(x) for x in proc.stdout.split()]
    assert ours == theirs and ours
    fr = _frames([httptls.ip4_tcp_frame(40000, 80, httptls.HTTP_REQUESTS[0])])[0]
    assert format_line(1, fr).endswith(f"10.0.0.1 -> 10.0.0.2 HTTP {len(fr.data)} GET / HTTP/1.1 ")


def test_fast_path_on_ipv6_and_linux_sll_agrees_with_the_dissector() -> None:
    """The Frame fast path (_l4) tests the payload prefix for IPv6 and other link types too."""
    import struct

    from sniffer.frame import Frame

    payloads = [
        httptls.HTTP_REQUESTS[0],
        httptls.HTTP_RESPONSES[1],
        httptls.tls_payloads()[0],
        b"xyz" * 9,
        b"G",
    ]
    want = ["HTTP", "HTTP", "TLSv1", "TCP", "TCP"]
    for port in (80, 443):
        for p, proto in zip(payloads, want, strict=True):
            tcp = struct.pack("!HHIIBBHHH", 40000, port, 1, 1, 5 << 4, 0x18, 100, 0, 0) + p
            v6 = struct.pack(
                "!IHBB16s16s", 6 << 28, len(tcp), 6, 64, bytes(15) + b"\x01", bytes(15) + b"\x02"
            )
            eth = bytes(12) + b"\x86\xdd" + v6 + tcp
            ip4 = httptls.ip4_tcp_frame(40000, port, p)[14:]
            sll = struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800) + ip4
            for fr in (
                Frame(0, eth, len(eth), 1),
                Frame(0, sll, len(sll), 113),
                Frame(0, ip4, len(ip4), 101),
            ):
                s = summarize(fr)
                assert s == slow_summary(fr)
                expect = proto if (proto == "HTTP") == (port == 80) or proto == "TCP" else "TCP"
                assert s.protocol == expect, (port, p[:8], fr.linktype)
