"""dissect: one frame -> the field tree with byte offsets and lengths, for the detail and hex views."""

from __future__ import annotations

import logging
import warnings
from collections import deque
from typing import Any

from sniffer.decode.core import Node
from sniffer.decode.engine import run
from sniffer.frame import Frame

__all__ = ["SCAPY_LOG", "Node", "deep_layers", "dissect", "dissect_deep"]


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


#: scapy's log lines (warnings, contribs that could not load), kept here: never on stderr, where they
#: would land on the TUI's screen
SCAPY_LOG: deque[str] = deque(maxlen=200)

#: contribs not loaded: carp binds IP protocol 112 to 224.0.0.18, which is VRRP's (Wireshark and scapy's
#: own vrrp layer decode it as VRRP); the CAN/automotive ones need python-can and a CAN bus
_SKIP_CONTRIBS = (
    "carp",
    "automotive",
    "cansocket",
    "isotp",
    "can",
    "cansocket_native",
    "cansocket_python_can",
)
#: layers scapy has but does not load by default (bound to their ports when loaded: HTTP 80/8080, TLS
#: 443, SSH 22, QUIC 443/UDP)
_EXTRA_LAYERS = ("http", "tls", "ssh", "quic")

_scapy: Any = None


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            SCAPY_LOG.append(f"{record.name}: {record.getMessage()}")
        except Exception:  # pragma: no cover - a broken log record must not break the view
            pass


def _load_scapy() -> Any:
    """scapy with every contrib that loads (but those above), HTTP/TLS/SSH/QUIC bound; its logging and
    Python warnings captured into SCAPY_LOG. Slow the first time (~4 s): only for the detail view."""
    global _scapy
    if _scapy is not None:
        return _scapy
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import scapy.error  # noqa: F401  (creates the "scapy" logger and its stderr handler)

        log = logging.getLogger("scapy")
        log.handlers[:] = [_Collect()]
        log.propagate = False
        from scapy.all import conf
        from scapy.main import list_contrib, load_contrib, load_layer

        conf.verb = 0
        for name in _EXTRA_LAYERS:
            try:
                load_layer(name)
            except Exception as exc:
                SCAPY_LOG.append(f"layer {name}: {type(exc).__name__}: {exc}")
        for c in list_contrib(ret=True) or ():
            name = c["name"] if isinstance(c, dict) else str(c)
            if name.split(".")[0] in _SKIP_CONTRIBS:
                continue
            try:
                load_contrib(name)
            except Exception as exc:
                SCAPY_LOG.append(f"contrib {name}: {type(exc).__name__}: {exc}")
    for w in caught:
        SCAPY_LOG.append(f"warning: {w.category.__name__}: {w.message}")
    _scapy = conf
    return conf


def dissect_deep(frame: Frame) -> list[str]:
    """Protocols beyond the hand-written decoders, through scapy (slow: loads scapy and its contribs on
    first use; never used for the packet list).

    Returns scapy's ``show2`` lines, or a one-line note when scapy is missing or fails. What scapy logs
    goes to SCAPY_LOG, never to stderr.
    """
    try:
        conf = _load_scapy()
    except Exception as exc:  # pragma: no cover - scapy is a runtime dependency
        return [f"scapy unavailable: {exc}"]
    try:
        cls: Any = conf.l2types.get(frame.linktype)
        if cls is None:
            return [f"scapy has no decoder for link type {frame.linktype}"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pkt = cls(frame.data)
            text = pkt.show2(dump=True)
        for w in caught:
            SCAPY_LOG.append(f"warning: {w.category.__name__}: {w.message}")
        return str(text).splitlines()
    except Exception as exc:
        return [f"scapy could not decode this frame: {type(exc).__name__}: {exc}"]


def deep_layers(frame: Frame) -> list[str]:
    """The names of the layers scapy finds in ``frame`` (outermost first), for tests and tools."""
    conf = _load_scapy()
    cls: Any = conf.l2types.get(frame.linktype)
    if cls is None:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pkt = cls(frame.data)
        names = []
        while pkt is not None and pkt.__class__.__name__ != "NoPayload":
            names.append(pkt.__class__.__name__)
            pkt = pkt.payload if pkt.payload else None
    return names
