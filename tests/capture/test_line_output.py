"""`sniffer capture`'s line printer: batches through iter_text give exactly format_line's lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.commands.capture import LineOutput
from sniffer.decode.summary import format_line

CAPS = Path(__file__).resolve().parents[1] / "corpus" / "captures"


def test_batches_print_the_same_lines_as_format_line(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    frames = []
    for name in ("zeek__nmap-vsn.pcap", "zeek__wikipedia.pcap", "dpkt__dns_icmp.pcap"):
        with open_capture(str(CAPS / name)) as r:
            frames.extend(r)
    out = LineOutput(quiet=False)
    i = 0
    for size in (1, 7, 0, 256, 3):  # uneven batches, an empty one; numbering runs across them
        assert out.write(frames[i : i + size]) == len(frames[i : i + size])
        i += size
    out.write(frames[i:])
    want = "".join(format_line(n + 1, fr) + "\n" for n, fr in enumerate(frames))
    assert capsysbinary.readouterr().out.decode() == want
    assert out.number == len(frames)
