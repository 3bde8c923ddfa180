"""Thin adapters from the UI to the decode, filter, capture and writer contracts (tolerant of their shapes)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sniffer.errors import SnifferError
from sniffer.frame import LINKTYPE_ETHERNET, Frame


# -- dissection tree --------------------------------------------------------------------------------
@dataclass
class DNode:
    """One line of the detail tree: its text, the bytes it covers and its children."""

    text: str
    start: int = -1
    length: int = 0
    field: str = ""
    children: list[DNode] = dataclasses.field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.length

    def walk(self) -> list[DNode]:
        out = [self]
        for c in self.children:
            out.extend(c.walk())
        return out


def _first(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        v = getattr(obj, n, None)
        if v is None and isinstance(obj, dict):
            v = obj.get(n)
        if v is not None:
            return v
    return default


def _convert(node: Any) -> DNode:
    name = _first(node, "name", default="")
    value = _first(node, "value")
    text = _first(node, "text", "display", "display_text", "showname", "label")
    if not text:
        text = f"{name}: {value}" if value is not None and name else str(name or value or "?")
    start = _first(node, "offset", "start", "pos", default=-1)
    length = _first(node, "length", "size", "len", default=0)
    kids = _first(node, "children", default=[]) or []
    return DNode(
        str(text),
        int(start if start is not None else -1),
        int(length or 0),
        str(_first(node, "field", "abbrev", default="") or ""),
        [_convert(k) for k in kids],
    )


def dissect(frame: Frame, number: int = 0, state: Any = None) -> DNode:
    """The detail tree of ``frame`` from ``decode.tree.dissect``, as DNodes; with ``state`` (the
    frame's ``model.tcpcolumns.FrameState``) as Wireshark shows it with the conversation state
    (model.tcptree: TCP analysis, reassembled PDUs, defragmented datagrams)."""
    from sniffer.decode.tree import dissect as decode_dissect

    head = DNode(
        f"Frame {number}: {frame.wirelen} bytes on wire, {len(frame.data)} bytes captured"
        + (f" on {frame.ifname}" if frame.ifname else ""),
        0,
        len(frame.data),
        "frame",
    )
    try:
        node = decode_dissect(frame)
        if state is not None:
            from sniffer.model.tcptree import state_tree

            try:
                node = state_tree(node, state)
            except Exception as exc:  # a bug in the state's view: the per-packet tree, and a line saying so
                node = decode_dissect(frame)
                note = type(node)(
                    "", "", None, f"[Conversation state error: {type(exc).__name__}: {exc}]", -1, 0
                )
                node.children.append(note)
        root = _convert(node)
    except Exception as exc:  # a decoder bug shows as a line, never a crash
        return DNode("", children=[head, DNode(f"[Decoder error: {type(exc).__name__}: {exc}]")])
    # the decoder's root is a container (no field) whose children are the layers, frame first
    layers = root.children if not root.field and root.children else [root]
    if not layers or layers[0].field != "frame":
        layers = [head, *layers]
    elif number:
        first = layers[0]
        if first.text.startswith("Frame: "):
            first.text = f"Frame {number}: " + first.text[len("Frame: ") :]
        if frame.ifname and " on " not in first.text:
            first.text += f" on {frame.ifname}"
    return DNode("", children=layers)


# -- display filters ----------------------------------------------------------------------------------
def compile_display_filter(text: str) -> Any:
    """Compile a display filter; None for an empty one. Raises FilterError with the position."""
    if not text.strip():
        return None
    from sniffer.model.filters import compile_filter

    return compile_filter(text)


def field_names() -> list[str]:
    from sniffer.model.filters import field_names as names

    try:
        return sorted(set(names()))
    except Exception:
        return []


# -- writer ---------------------------------------------------------------------------------------------
def write_pcapng(path: str, frames: Any) -> int:
    """Write frames to ``path`` as pcapng; returns the count."""
    from sniffer.capture.pcapfile import open_writer

    frames = list(frames)
    linktype = frames[0].linktype if frames else LINKTYPE_ETHERNET
    try:
        w = open_writer(path, format="pcapng", linktype=linktype)
    except OSError as exc:
        raise SnifferError(f"cannot write {path}: {exc.strerror or exc}") from None
    n = 0
    try:
        for f in frames:
            w.write(f)
            n += 1
    finally:
        w.close()
    return n


# -- live capture ---------------------------------------------------------------------------------------
@dataclass
class LiveStats:
    received: int = 0
    kernel_dropped: int = 0
    backpressure_dropped: int = 0


def _stat(st: Any, *names: str) -> int:
    v = _first(st, *names, default=0)
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


class LiveSource:
    """Runs the capture engine's ``LiveCapture`` (TPACKET_V3 ring, BPF) and hands its batches to ``on_batch``
    from a thread of its own."""

    def __init__(
        self,
        interfaces: list[str],
        on_batch: Callable[[list[Frame]], object],
        bpf: str | None = None,
        snaplen: int = 262144,
        on_error: Callable[[BaseException], None] | None = None,
        netns: str | None = None,
    ) -> None:
        self.interfaces = interfaces
        self.bpf = bpf
        self.snaplen = snaplen
        self.on_batch = on_batch
        self.on_error = on_error
        self.netns = netns
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap: Any = None

    def open(self) -> None:
        """Open the capture now (so permission and interface errors surface before the UI starts)."""
        from sniffer.capture.live import LiveCapture

        self._cap = LiveCapture(
            self.interfaces, bpf=self.bpf, snaplen=self.snaplen, promisc=True, netns=self.netns
        )
        self._cap.open()

    def start(self) -> None:
        if self._cap is None:
            self.open()
        self._thread = threading.Thread(target=self._run, name="sniffer-live", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._cap.start()
            for batch in self._cap.batches():
                if self._stop.is_set():
                    break
                if batch:
                    self.on_batch(list(batch))
        except BaseException as exc:
            if not self._stop.is_set() and self.on_error is not None:
                self.on_error(exc)

    def stats(self) -> LiveStats:
        if self._cap is None:
            return LiveStats()
        try:
            st = self._cap.stats()
        except Exception:
            return LiveStats()
        return LiveStats(
            _stat(st, "received", "kernel_received", "packets", "recv"),
            _stat(st, "dropped", "kernel_dropped", "drops", "drop"),
            _stat(st, "backpressure_dropped", "backpressure", "backpressure_drops", "queue_dropped"),
        )

    def stop(self) -> None:
        self._stop.set()
        if self._cap is not None:
            try:
                self._cap.stop()
            except Exception:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
