"""dissect: one frame -> the field tree with byte offsets and lengths, for the detail and hex views."""

from __future__ import annotations

from typing import Any

from sniffer.decode.core import Node
from sniffer.decode.engine import run
from sniffer.frame import Frame

__all__ = ["Node", "dissect", "dissect_deep"]


def dissect(frame: Frame) -> Node:
    """The tree of ``frame``: a root (no text) whose children are the layers (frame, eth, ip, ...), each holding
    its fields (Node.field = Wireshark name, .value, .text, .offset, .length, .children).

    ``dissect(frame).to_fields() == frame_fields(frame)`` always holds.
    """
    root = run(frame, True).root
    root.name = root.text = (
        ""  # a container: its first child is the frame layer ("Frame: N bytes on wire...")
    )
    return root


def dissect_deep(frame: Frame) -> list[str]:
    """Protocols beyond the hand-written decoders, through scapy (slow: imports scapy on first use).

    Returns scapy's ``show2`` lines, or a one-line note when scapy is missing or fails.
    """
    try:
        from scapy.all import conf
        from scapy.layers.l2 import Ether  # noqa: F401
    except Exception as exc:  # pragma: no cover - scapy is a runtime dependency
        return [f"scapy unavailable: {exc}"]
    try:
        cls: Any = conf.l2types.get(frame.linktype)
        if cls is None:
            return [f"scapy has no decoder for link type {frame.linktype}"]
        pkt = cls(frame.data)
        text = pkt.show2(dump=True)
        return str(text).splitlines()
    except Exception as exc:
        return [f"scapy could not decode this frame: {type(exc).__name__}: {exc}"]
