"""Per-packet summary (the packet-list columns). PLACEHOLDER; being replaced by the real decoder.

Contract: format_line(number, frame) -> str, one line per packet as `sniffer read` prints it.
"""

from __future__ import annotations

from sniffer.capture.frame import Frame


def format_line(number: int, frame: Frame) -> str:
    return f"{number} {frame.ts_ns / 1e9:.6f} len={frame.wirelen}"
