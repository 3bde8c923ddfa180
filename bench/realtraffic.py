"""The real-traffic benchmark capture: every Ethernet capture of the public corpora that tshark reads.

`real_traffic(packets)` returns the path of a classic pcap (little-endian, microseconds, linktype 1) made
of every capture in /work/shared/corpus/captures and /work/shared/corpus-breadth/captures (or
$SNIFFER_CORPUS_DIRS, ':'-separated) whose packets are all Ethernet and which `tshark -n -r` reads
without error, concatenated in name order and repeated until there are at least ``packets`` packets,
re-timestamped 10 us apart (monotonic). Built once, cached under bench/out/ (gitignored) with the list of
files it took next to it. `python bench/realtraffic.py` builds it and prints the mix.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DIRS = os.environ.get(
    "SNIFFER_CORPUS_DIRS", "/work/shared/corpus/captures:/work/shared/corpus-breadth/captures"
).split(":")
SNAPLEN = 262144


def _tshark_reads(path: Path) -> bool:
    p = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return p.returncode == 0


def _ethernet_frames(path: Path) -> list[tuple[bytes, int]] | None:
    """(data, wirelen) of every frame, or None if any is not Ethernet or the file is damaged for us."""
    sys.path.insert(0, str(ROOT))
    from sniffer.capture.pcapfile import open_capture
    from sniffer.errors import SnifferError

    out = []
    try:
        with open_capture(str(path)) as r:
            for fr in r:
                if fr.linktype != 1 or len(fr.data) > SNAPLEN:
                    return None
                out.append((fr.data, max(fr.wirelen, len(fr.data))))
    except SnifferError:
        return None
    return out or None


def sources() -> list[Path]:
    files: list[Path] = []
    for d in DIRS:
        p = Path(d)
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.is_file()))
    return files


def real_traffic(packets: int = 1_000_000) -> Path:
    """Path of the cached real-traffic capture with at least ``packets`` packets (built if missing)."""
    path = OUT / f"real-traffic-{packets}.pcap"
    if path.exists() and path.stat().st_size > 24:
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    files = sources()
    cand = [(f, fr) for f in files if (fr := _ethernet_frames(f)) is not None]
    with ThreadPoolExecutor(2) as ex:
        ok = list(ex.map(lambda c: _tshark_reads(c[0]), cand))
    taken = [c for c, good in zip(cand, ok, strict=True) if good]
    frames = [fr for _, frs in taken for fr in frs]
    if not frames:
        raise SystemExit("bench: no Ethernet capture found in " + ", ".join(DIRS))
    rec = struct.Struct("<IIII")
    t0 = 1_700_000_000
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1))
        chunk: list[bytes] = []
        i = 0
        while i < packets:
            for data, wl in frames:
                us = i * 10
                chunk.append(rec.pack(t0 + us // 1_000_000, us % 1_000_000, len(data), wl))
                chunk.append(data)
                i += 1
            f.write(b"".join(chunk))
            chunk.clear()
    tmp.replace(path)
    with open(path.with_suffix(".files.txt"), "w") as f:
        f.write(f"{len(frames)} packets per round from {len(taken)} captures:\n")
        for src, frs in taken:
            f.write(f"{len(frs):8d} {src}\n")
    return path


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    p = real_traffic(n)
    print(p, f"{p.stat().st_size / 1e6:.0f} MB")
    print(p.with_suffix(".files.txt").read_text().splitlines()[0])
