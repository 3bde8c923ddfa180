"""The scapy fallback of the detail tree (decode.tree.dissect_deep): contribs loaded, HTTP/TLS/SSH bound,
carp kept off VRRP's protocol, nothing on stderr (it would land on the TUI's screen)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.tree import SCAPY_LOG, deep_layers, dissect_deep
from sniffer.frame import Frame

TESTS = Path(__file__).resolve().parents[1]
SVC = TESTS / "corpus-svc" / "captures"
CORPUS = TESTS / "corpus" / "captures"


def _frame(path: Path, index: int) -> Frame:
    with open_capture(str(path)) as r:
        return list(r)[index]


@pytest.mark.parametrize(
    "path,index,layer",
    [
        (SVC / "tcpdump__bgp-addpath.pcap", 0, "BGPUpdate"),  # contrib bgp
        (SVC / "zeek__lldp.pcap", 0, "LLDPDUSystemName"),  # contrib lldp
        (SVC / "tcpdump__OSPFv3_broadcast_adjacency.pcap", 0, "OSPFv3_Hello"),  # contrib ospf
        (SVC / "tcpdump__vrrp.pcap", 0, "VRRP"),  # not CARP: the carp contrib is left out
        (CORPUS / "zeek__wikipedia.pcap", 5, "HTTPRequest"),  # http bound to port 80
        (SVC / "zeek__ssh__ssh_kex_curve25519.pcap", 3, "SSHVersionExchange"),  # ssh bound to 22
    ],
)
def test_scapy_finds_the_layer(path: Path, index: int, layer: str) -> None:
    fr = _frame(path, index)
    names = deep_layers(fr)
    assert layer in names, names
    assert "CARP" not in names
    lines = dissect_deep(fr)
    assert sum(line.startswith("###[") for line in lines) >= len(names) - 1  # a block per layer


def test_tls_layer_loads_with_cryptography() -> None:
    from sniffer.decode.tree import _load_scapy

    _load_scapy()
    import cryptography  # noqa: F401  (a runtime dependency: scapy's TLS layer needs it)

    assert not any(line.startswith("layer tls") for line in SCAPY_LOG), list(SCAPY_LOG)


def test_nothing_reaches_stderr() -> None:
    """In a fresh interpreter (scapy loaded there for the first time), the deep view writes nothing to
    stderr, though scapy logs and warns while loading its contribs (kept in SCAPY_LOG)."""
    code = (
        "from sniffer.capture.pcapfile import open_capture\n"
        "from sniffer.decode.tree import dissect_deep, SCAPY_LOG\n"
        f"fr = list(open_capture({str(SVC / 'tcpdump__bgp-addpath.pcap')!r}))[0]\n"
        "assert any('BGP' in l for l in dissect_deep(fr)), dissect_deep(fr)\n"
        "print(len(SCAPY_LOG))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert int(r.stdout) > 0  # there was something to capture


def test_summary_path_never_loads_scapy() -> None:
    code = (
        "import sys\n"
        "from sniffer.capture.pcapfile import open_capture\n"
        "from sniffer.decode.summary import summarize\n"
        "from sniffer.decode.fields import frame_fields\n"
        f"for fr in open_capture({str(SVC / 'zeek__var-services-std-ports.pcap')!r}):\n"
        "    summarize(fr); frame_fields(fr)\n"
        "print('scapy' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "False", r.stderr
