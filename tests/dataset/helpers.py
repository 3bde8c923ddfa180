"""Helpers of the dataset tests: `sniffer read --json` in process, and a synthetic capture with TLS hellos,
DNS queries and plain TCP (written with our pcap writer; the TLS bytes are Python's ssl module's own)."""

from __future__ import annotations

import io
import json
import ssl
import struct
import sys
import warnings
from pathlib import Path
from typing import Any

from sniffer.frame import Frame


def read_json(path: str | Path, *options: str) -> list[dict[str, Any]]:
    """What `sniffer read --json FILE` prints, one dict per packet (up to the damage for a broken file);
    without ``options``, the per-packet view (--no-analysis)."""
    from sniffer import cli

    buf = io.BytesIO()

    class Out:
        buffer = buf

        def write(self, s: str) -> int:
            return len(s)

        def flush(self) -> None:
            pass

    from sniffer.decode import legacyfs
    from sniffer.decode.core import UDP_CONVERSATIONS

    UDP_CONVERSATIONS.clear()  # the decoder's state as a new `sniffer read` process starts with
    legacyfs._RX_CALLS.clear()
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Out(), io.StringIO()  # type: ignore[assignment]
    try:
        # the per-packet view by default: export's columns are per packet (only its tcp_analysis
        # columns come from the TCP analysis that read --json applies by default)
        cli.main(["read", "--json", *(options or ("--no-analysis",)), str(path)])
    finally:
        sys.stdout, sys.stderr = old_out, old_err
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def client_hello(version: ssl.TLSVersion, sni: str) -> bytes:
    """The first flight of a real TLS client (its ClientHello record)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = (
            ssl.TLSVersion.TLSv1 if version == ssl.TLSVersion.TLSv1 else ssl.TLSVersion.TLSv1_2
        )
        ctx.maximum_version = version
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    s = ctx.wrap_bio(i, o, server_hostname=sni)
    try:
        s.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()


def dns_query(ident: int, name: str) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def app_capture(path: Path, start_ns: int = 1_700_000_000_000_000_000) -> list[Frame]:
    """A pcap of: a TLS 1.0 and a TLS 1.3 client hello (ports 443), three DNS queries, one HTTP-less TCP
    conversation; times 1 ms apart from ``start_ns``. Returns the frames written."""
    from sniffer.capture.pcapfile import open_writer
    from sniffer.gen.traffic.synth import TcpConversation, udp_frame

    frames: list[Frame] = []
    for port, ver, sni in (
        (40001, ssl.TLSVersion.TLSv1, "old.example"),
        (40002, ssl.TLSVersion.TLSv1_3, "new.example"),
    ):
        c = TcpConversation(port, 443)
        frames += c.open()
        frames += list(c.data(True, client_hello(ver, sni)))
        frames += c.close(True) + c.close(False)
    for i, name in enumerate(("a.example", "b.example", "a.example")):
        frames.append(udp_frame(True, 50000 + i, 53, dns_query(i + 1, name), i))
    c = TcpConversation(40003, 9999)
    frames += c.open() + list(c.data(True, b"x" * 100)) + c.reset(False)
    out = [fr._replace(ts_ns=start_ns + i * 1_000_000) for i, fr in enumerate(frames)]
    with open_writer(str(path), "pcap") as w:
        for fr in out:
            w.write(fr)
    return out
