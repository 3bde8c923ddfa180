"""export's one-walk fast path (sniffer.dataset.rows._walk) gives what the two walks it replaces give:
``model.l4.transport`` (flows, addresses) and ``model.tcpanalysis.fast_segment`` (the TCP analysis)."""

from __future__ import annotations

from pathlib import Path

from sniffer.capture.pcapfile import open_capture
from sniffer.dataset.rows import _walk
from sniffer.errors import SnifferError
from sniffer.model.l4 import transport
from sniffer.model.tcpanalysis import fast_segment

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def test_walk_equals_transport_and_fast_segment() -> None:
    seen = walked = 0
    for path in sorted([*(CORPUS / "captures").iterdir(), *(CORPUS / "tcp").iterdir()]):
        frames = []
        try:
            with open_capture(str(path)) as rd:
                for fr in rd:
                    frames.append(fr)
        except (SnifferError, OSError):
            pass  # (the damaged files: their good packets)
        for fr in frames:
            seen += 1
            w = _walk(fr)
            if w is not None:
                walked += 1
                assert w == (transport(fr), fast_segment(fr)), (path.name, seen)
    assert walked > seen // 2 > 1000
