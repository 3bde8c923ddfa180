"""Frames of the corpus captures the current reader opens (for property and tree tests)."""

from __future__ import annotations

from functools import cache

from sniffer.capture.pcapfile import open_capture
from sniffer.frame import Frame

from .oracle import CAPS


@cache
def corpus_frames() -> tuple[tuple[str, Frame], ...]:
    out = []
    for p in sorted(CAPS.iterdir()):
        try:
            with open_capture(str(p)) as r:
                for fr in r:
                    out.append((p.name, fr))
        except Exception:  # broken files (and pcapng with the placeholder reader): the reader's business
            continue
    return tuple(out)
