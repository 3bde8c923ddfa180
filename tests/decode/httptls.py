"""Synthetic HTTP and TLS segments (and look-alikes that are neither) for the oracle, text-loop and hostile
tests: every case the HTTP/TLS dissectors decide on, built with struct."""

from __future__ import annotations

import random
import struct

# --- TLS ------------------------------------------------------------------------------------------------


def record(ct: int, body: bytes, ver: int = 0x0303, length: int | None = None) -> bytes:
    return struct.pack("!BHH", ct, ver, len(body) if length is None else length) + body


def handshake(ht: int, body: bytes) -> bytes:
    return struct.pack("!B", ht) + len(body).to_bytes(3, "big") + body


def ext(et: int, body: bytes) -> bytes:
    return struct.pack("!HH", et, len(body)) + body


def sni(name: bytes) -> bytes:
    entry = b"\x00" + struct.pack("!H", len(name)) + name
    return ext(0, struct.pack("!H", len(entry)) + entry)


def alpn(*protos: bytes) -> bytes:
    lst = b"".join(bytes([len(p)]) + p for p in protos)
    return ext(16, struct.pack("!H", len(lst)) + lst)


def versions_client(*vs: int) -> bytes:
    return ext(43, bytes([2 * len(vs)]) + b"".join(struct.pack("!H", v) for v in vs))


def client_hello(
    exts: bytes, ver: int = 0x0303, sid: bytes = b"", suites: tuple[int, ...] = (0x1301, 0xC02F, 0x009C)
) -> bytes:
    cs = b"".join(struct.pack("!H", s) for s in suites)
    body = (
        struct.pack("!H", ver)
        + bytes(range(32))
        + bytes([len(sid)])
        + sid
        + struct.pack("!H", len(cs))
        + cs
        + b"\x01\x00"
        + (struct.pack("!H", len(exts)) + exts if exts is not None else b"")
    )
    return handshake(1, body)


def server_hello(exts: bytes, ver: int = 0x0303, sid: bytes = b"\x07" * 32, suite: int = 0xC02F) -> bytes:
    body = (
        struct.pack("!H", ver)
        + bytes(range(100, 132))
        + bytes([len(sid)])
        + sid
        + struct.pack("!HB", suite, 0)
    )
    if exts:
        body += struct.pack("!H", len(exts)) + exts
    return handshake(2, body)


def tls_payloads() -> list[bytes]:
    ch12 = client_hello(sni(b"example.com") + alpn(b"h2", b"http/1.1"))
    ch13 = client_hello(
        sni(b"wiki.example.org") + versions_client(0x0304, 0x0303) + ext(10, b"\x00\x02\x00\x1d")
    )
    sh13 = server_hello(ext(43, b"\x03\x04") + ext(51, bytes(36)), suite=0x1301)
    sh12 = server_hello(b"\xff\x01\x00\x01\x00")
    app = record(23, bytes(range(7, 87)))
    return [
        record(22, ch12, 0x0301),
        record(22, ch13, 0x0301),
        record(22, client_hello(b"", ver=0x0300, sid=b"\x01" * 32), 0x0300),
        record(22, client_hello(sni(b"a.b"), ver=0x0301), 0x0301),
        record(22, sh13) + record(20, b"\x01") + app + record(23, b"\x55" * 40),
        record(22, sh12 + handshake(11, bytes(40)) + handshake(14, b"")),
        record(22, handshake(16, b"\x20" + bytes(32))) + record(20, b"\x01") + record(22, bytes(range(40))),
        record(22, handshake(4, bytes(20))) + record(20, b"\x01") + record(22, b"\x99" * 40),
        app,
        app + app + app,
        record(23, b"\x01" * 30, 0x0302),
        record(21, b"\x02\x28"),
        record(21, b"\x01\x00", 0x0301),
        record(21, bytes(26)),
        record(24, b"\x01\x00\x10" + bytes(16)),
        record(24, b"\x02\x00\x10" + bytes(16)),
        record(22, ch12)[:60],  # a record continued in the next segment
        record(22, ch12)[:5],
        app + record(22, sh12)[:20],
        app + b"\x00\x01\x02\x03\x04\x05\x06",  # bytes after the record that are no record header
        app + b"\x16\x03",
        record(
            22, b"\x01\x00\x00\x05" + bytes(5) + b"\x0b\x00\x00\x00"
        ),  # messages of known types, one short
        record(22, handshake(1, bytes(12))),  # a Client Hello cut inside its body
        record(22, b"\x63" + bytes(30)),  # an unknown handshake type: encrypted
        record(22, b""),
        record(20, b"\x01", 0x0303) + record(20, b"\x01", 0x0301),
        record(22, ch12, 0x0305),  # version 3.5: no TLS
        record(25, b"\x01"),  # content type 25: no TLS
        b"\x16\x03",
        bytes(range(1, 60)),
    ]


# --- HTTP ------------------------------------------------------------------------------------------------

HTTP_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: wiki.example.org\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
    b"GET /download/x.txt HTTP/1.0\r\nHost: example.com:8080\r\nConnection: Keep-Alive\r\n"
    b"Referer: http://example.com/\r\nCookie: a=1; b=two\r\nAccept-Encoding: gzip\r\n"
    b"Accept-Language: en\r\nX-Custom: 1\r\n\r\n",
    b"POST /submit HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 7\r\n\r\na=1&b=2",
    b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n",
    b"PUT /f HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    b"DELETE /f HTTP/1.1\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    b"GET /bad.html\r\n",
    b"GET /only-the-line HTTP/1.1\r\n",
    b"GET /cut HTTP/1.1\r\nHost: wiki.exa",
    b"GET /lf HTTP/1.1\nHost: h\n\n",
    b"GET  HTTP/1.1\r\n\r\n",
    b"PATCH /p HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
    b"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: Basic eDp5\r\n\r\n",
    b"GET /nocolon HTTP/1.1\r\nHost: h\r\nNoColonHere\r\nAccept: */*\r\n\r\n",
    b'POST /api HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{"a": 1}',
]
HTTP_RESPONSES = [
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 12\r\n\r\n"
    b"hello\nworld\n",
    b"HTTP/1.0 304 Not Modified\r\nDate: Thu, 07 Mar 2013 21:43:07 GMT\r\n\r\n",
    b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.com/\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nSet-Cookie: s=1\r\n"
    b"Cache-Control: no-cache\r\nLast-Modified: Wed, 29 Aug 2012 23:49:27 GMT\r\n\r\n<html></html>",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\x02",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
    b"HTTP/1.1 599 Whatever\r\n\r\n",
    b"HTTP/1.1 200\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Len",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
]
NOT_HTTP = [
    b"GETX / HTTP/1.1\r\n\r\n",
    b"get / HTTP/1.1\r\n\r\n",
    b"HTTX/1.1 200 OK\r\n\r\n",
    b"GET",
    b"<html>continued body</html>\n",
    b"\x16\x03\x01\x00\x05hello",  # TLS on an HTTP port
]


def http_payloads() -> list[bytes]:
    return HTTP_REQUESTS + HTTP_RESPONSES + NOT_HTTP


def cases() -> list[tuple[int, int, bytes]]:
    """(source port, destination port, payload): HTTP on 80/8080/3128, TLS on 443/993/853, each kind also
    on a port where it is not decoded, plus random payloads on the decoded ports."""
    rnd = random.Random(11)
    out: list[tuple[int, int, bytes]] = []
    for i, p in enumerate(http_payloads()):
        port = (80, 8080, 3128, 8088)[i % 4]
        out.append((40000 + i, port, p) if i % 2 == 0 else (port, 40000 + i, p))
    for i, p in enumerate(tls_payloads()):
        port = (443, 993, 853, 465)[i % 4]
        out.append((41000 + i, port, p) if i % 2 == 0 else (port, 41000 + i, p))
    out.append((41500, 8000, HTTP_REQUESTS[0]))  # not an HTTP port (tshark 4.0 neither)
    out.append((41501, 8443, tls_payloads()[0]))  # not a TLS port in tshark 4.0
    out.append((80, 443, tls_payloads()[0]))  # both: the lower port (HTTP) is asked first
    for _ in range(30):
        out.append(
            (rnd.randrange(1024, 65536), rnd.choice((80, 443, 8080)), rnd.randbytes(rnd.randrange(1, 80)))
        )
    return out


def ip4_tcp_frame(sport: int, dport: int, payload: bytes, seq: int = 1000, ack: int = 2000) -> bytes:
    """Ethernet + IPv4 + TCP (PSH, ACK) carrying ``payload``; checksums left 0 (nobody checks them)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, 0x18, 502, 0, 0)
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        40 + len(payload),
        1,
        0x4000,
        64,
        6,
        0,
        b"\x0a\x00\x00\x01",
        b"\x0a\x00\x00\x02",
    )
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    return eth + ip + tcp + payload


def pcap(frames: list[bytes]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(f), len(f)) + f)
    return b"".join(out)
