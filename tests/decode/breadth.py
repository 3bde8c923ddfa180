"""Agreement of sniffer's packet-list columns with tshark's on the breadth corpus (tests/corpus-breadth).

A packet agrees on the Protocol column when sniffer's equals tshark's (case-insensitive) under either of
the oracle's settings (``*.cols.tsv``: reassembly on, as Wireshark shows it; ``*.cols-nodesegment.tsv``:
per packet). Info agrees when it is equal (surrounding spaces aside) under either setting.

Run as a script to see the table per file and the protocols sniffer misses, most packets first:
``python -m tests.decode.breadth`` (from the repository root, with ``tests`` on the path).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sniffer.capture.pcapfile import open_capture
from sniffer.decode import engine
from sniffer.decode.summary import summarize

BREADTH = Path(__file__).resolve().parents[1] / "corpus-breadth"
CAPS = BREADTH / "captures"
ORACLE = BREADTH / "oracle"


def oracle_cols(name: str, which: str) -> list[tuple[str, str]]:
    """tshark's (Protocol, Info) per packet of ``name``; ``which`` is "cols" or "cols-nodesegment"."""
    with open(ORACLE / f"{name}.{which}.tsv", newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r[1], r[2]) if len(r) > 2 else (r[1] if len(r) > 1 else "", "") for r in rows[1:]]


@dataclass
class FileScore:
    name: str
    packets: int  # sniffer's count
    expected: int  # tshark's count
    proto_ok: int = 0
    info_ok: int = 0
    info_arrow_ok: int = 0  # Info equal once sniffer's ASCII port arrow "->" is read as tshark's "→"
    errors: list[str] = field(default_factory=list)
    missed: Counter[tuple[str, str]] = field(default_factory=Counter)  # (tshark, ours) -> packets

    @property
    def proto_share(self) -> float:
        return self.proto_ok / self.expected if self.expected else 1.0


@dataclass
class Score:
    files: list[FileScore]

    @property
    def scored(self) -> list[FileScore]:
        """The files tshark could open (3 link types tshark 4.0 does not know carry no verdict)."""
        return [f for f in self.files if f.expected]

    @property
    def packets(self) -> int:
        return sum(f.expected for f in self.scored)

    @property
    def proto_share(self) -> float:
        return sum(f.proto_ok for f in self.scored) / self.packets

    @property
    def info_share(self) -> float:
        return sum(f.info_ok for f in self.scored) / self.packets

    @property
    def proto_file_mean(self) -> float:
        return sum(f.proto_share for f in self.scored) / len(self.scored)

    @property
    def info_arrow_share(self) -> float:
        return sum(f.info_arrow_ok for f in self.scored) / self.packets

    @property
    def info_file_mean(self) -> float:
        return sum(f.info_ok / f.expected for f in self.scored) / len(self.scored)

    def missed(self) -> Counter[tuple[str, str]]:
        out: Counter[tuple[str, str]] = Counter()
        for f in self.files:
            out.update(f.missed)
        return out

    def report(self, worst: int = 15) -> str:
        lines = [
            f"breadth corpus: {len(self.files)} files, {self.packets} packets with a tshark verdict",
            f"  Protocol column agrees: {self.proto_share:.1%} of packets, per-file mean {self.proto_file_mean:.1%}",
            f"  Info column agrees:     {self.info_share:.1%} of packets, per-file mean {self.info_file_mean:.1%}",
            f"  Info, '->' read as tshark's '\u2192': {self.info_arrow_share:.1%} of packets",
            f"  files with no packet right: {sum(1 for f in self.scored if not f.proto_ok)}",
            "  worst files (Protocol agreement, packets):",
        ]
        for f in sorted(self.scored, key=lambda f: (f.proto_share, -f.expected))[:worst]:
            top = ", ".join(f"{t}!={o}" for (t, o), _ in f.missed.most_common(2))
            lines.append(f"    {f.proto_share:6.1%} {f.expected:5d}  {f.name}  ({top})")
        lines.append("  most missed (tshark != sniffer: packets):")
        for (t, o), n in self.missed().most_common(worst):
            lines.append(f"    {n:5d}  {t} != {o}")
        return "\n".join(lines)


def score_file(name: str) -> FileScore:
    seg = oracle_cols(name, "cols")
    noseg = oracle_cols(name, "cols-nodesegment")
    frames = []
    errors = []
    try:
        with open_capture(str(CAPS / name)) as r:
            frames = list(r)
    except Exception as e:  # the reader's failures count as errors of this file
        errors.append(f"read: {type(e).__name__}: {e}")
    fs = FileScore(name, len(frames), len(seg), errors=errors)
    old = engine.DEBUG
    engine.DEBUG = True  # a decoder exception propagates (instead of a malformed mark) so it is counted
    try:
        for i, fr in enumerate(frames):
            try:
                s = summarize(fr)
            except Exception as e:
                fs.errors.append(f"packet {i + 1}: {type(e).__name__}: {e}")
                continue
            if i >= len(seg):
                continue
            cands = (seg[i], noseg[i]) if i < len(noseg) else (seg[i],)
            proto = s.protocol.lower()
            if any(proto == c[0].lower() for c in cands):
                fs.proto_ok += 1
            else:
                fs.missed[(seg[i][0], s.protocol)] += 1
            arrow = s.info.replace(" -> ", " \u2192 ", 1).strip()
            if any(s.info.strip() == c[1].strip() for c in cands):
                fs.info_ok += 1
                fs.info_arrow_ok += 1
            elif any(arrow == c[1].strip() for c in cands):
                fs.info_arrow_ok += 1
    finally:
        engine.DEBUG = old
    return fs


def captures() -> list[str]:
    return sorted(p.name for p in CAPS.iterdir())


def score_all() -> Score:
    return Score([score_file(n) for n in captures()])


if __name__ == "__main__":
    import sys

    sc = score_all()
    print(sc.report(int(sys.argv[1]) if len(sys.argv) > 1 else 40))
