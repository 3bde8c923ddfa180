"""DNS names with control characters, backslashes, UTF-8 and invalid bytes: shown as tshark shows them
(control characters escaped, invalid UTF-8 as U+FFFD), so a hostile name never breaks a `read` line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from sniffer.decode.app import label_text
from sniffer.decode.summary import summarize
from sniffer.frame import Frame

NAMES = [
    b"a\nb\x01c\x7fd\xe9.example.com",
    b'a\\b c"d.example.com',
    b"\t\r\x00\x1b\x80x\xc3\xa9y.com",
    b"caf\xc3\xa9.com",
    b"plain.example.org",
]


def test_label_text_escapes_controls() -> None:
    assert label_text(b"a\nb") == "a\\nb"
    assert label_text(b"\x00\x7f") == "\\000\\177"
    assert label_text(b"\xe9") == "\ufffd"
    assert label_text(b"caf\xc3\xa9") == "café"


def test_dns_names_as_tshark_shows_them(tmp_path: Path) -> None:
    pkts = [
        Ether()
        / IP(src="127.0.0.1", dst="127.0.0.1")
        / UDP(sport=1234, dport=53)
        / DNS(rd=1, qd=DNSQR(qname=q))
        for q in NAMES
    ]
    path = tmp_path / "names.pcap"
    wrpcap(str(path), pkts)
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "_ws.col.Info"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(out) == len(NAMES)
    for pkt, want in zip(pkts, out, strict=True):
        raw = bytes(pkt)
        s = summarize(Frame(0, raw, len(raw), 1))
        assert s.info == want
        assert "\n" not in s.info and "\x1b" not in s.info
