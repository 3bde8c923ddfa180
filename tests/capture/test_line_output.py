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


def test_analysed_batches_print_read_analysis_lines(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """--analysis: the state runs across uneven batches (the ring's) and prints `read --analysis`' lines;
    with -Y it sees every packet and prints the matching ones with their capture numbers; -c stops the
    printing at its count."""
    import io

    from sniffer.commands.capture import AnalysedLineOutput
    from sniffer.commands.read import _analysed
    from sniffer.model.filters import compile_filter

    tcp = Path(__file__).resolve().parents[1] / "corpus" / "tcp"
    names = sorted(tcp.glob("*.pcap"))[:6]
    frames = []
    for p in [CAPS / "zeek__wikipedia.pcap", *names]:
        with open_capture(str(p)) as r:
            frames.extend(r)

    def read_analysis(flt: str | None = None) -> str:
        buf = io.BytesIO()
        _analysed(iter(frames), buf, None, compile_filter(flt) if flt else None, 1000, False)
        return buf.getvalue().decode()

    out = AnalysedLineOutput(quiet=False, reassembly=True, match=None)
    i = 0
    for size in (1, 7, 0, 256, 3, 1000):
        out.write(frames[i : i + size])
        i += size
    out.write(frames[i:])
    assert capsysbinary.readouterr().out.decode() == read_analysis()
    flt = compile_filter("tcp.analysis.flags || http")
    out = AnalysedLineOutput(quiet=False, reassembly=True, match=lambda fr: bool(flt.matches_frame(fr)))
    assert out.write_upto(frames[:500], None) + out.write_upto(frames[500:], None) > 20
    assert capsysbinary.readouterr().out.decode() == read_analysis("tcp.analysis.flags || http")
    out = AnalysedLineOutput(quiet=False, reassembly=True, match=None)
    assert out.write_upto(frames, 5) == 5
    assert capsysbinary.readouterr().out.decode() == "".join(read_analysis().splitlines(True)[:5])
