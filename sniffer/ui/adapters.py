"""Thin adapters from the UI to the decode, filter, capture and writer contracts (tolerant of their shapes)."""

from __future__ import annotations

import dataclasses
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sniffer.capture.frame import DIR_IN, DIR_OUT, LINKTYPE_ETHERNET, Frame
from sniffer.errors import CaptureError, FilterError, SnifferError, needs_privilege


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


def dissect(frame: Frame, number: int = 0) -> DNode:
    """The detail tree of ``frame`` from ``decode.tree.dissect``, as DNodes."""
    try:
        from sniffer.decode.tree import dissect as decode_dissect
    except ImportError:
        decode_dissect = None
    head = DNode(
        f"Frame {number}: {frame.wirelen} bytes on wire, {len(frame.data)} bytes captured"
        + (f" on {frame.ifname}" if frame.ifname else ""),
        0,
        len(frame.data),
        "frame",
    )
    if decode_dissect is None:
        return DNode("", children=[head])
    try:
        root = _convert(decode_dissect(frame))
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
    try:
        from sniffer.model.filters import compile_filter
    except ImportError:
        raise FilterError("display filters are not available in this build yet") from None
    return compile_filter(text)


def field_names() -> list[str]:
    try:
        from sniffer.model.filters import field_names as names
    except ImportError:
        return []
    try:
        return sorted(set(names()))
    except Exception:
        return []


# -- writer ---------------------------------------------------------------------------------------------
def write_pcapng(path: str, frames: Any) -> int:
    """Write frames to ``path`` as pcapng; returns the count."""
    try:
        from sniffer.capture.pcapfile import open_writer
    except ImportError:
        raise SnifferError("saving needs the pcapng writer, which is not in this build yet") from None
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
    """Runs a live capture in its own thread and hands frames to ``on_batch`` in batches.

    Uses ``sniffer.capture.live.LiveCapture`` (the capture engine: TPACKET_V3 ring, BPF). Without it,
    a plain AF_PACKET socket reader (no BPF) keeps the TUI usable.
    """

    def __init__(
        self,
        interfaces: list[str],
        on_batch: Callable[[list[Frame]], None],
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
        self._fallback: _PacketSocket | None = None

    def open(self) -> None:
        """Open the capture now (so permission and interface errors surface before the UI starts)."""
        try:
            from sniffer.capture.live import LiveCapture
        except ImportError:
            LiveCapture = None
        if LiveCapture is None:
            if self.bpf:
                raise CaptureError("capture filters (-f) need the capture engine, not in this build yet")
            from sniffer.netns import netns

            with netns(self.netns):
                self._fallback = _PacketSocket(self.interfaces, self.snaplen)
            return
        self._cap = LiveCapture(
            self.interfaces, bpf=self.bpf, snaplen=self.snaplen, promisc=True, netns=self.netns
        )
        self._cap.open()

    def start(self) -> None:
        if self._cap is None and self._fallback is None:
            self.open()
        self._thread = threading.Thread(target=self._run, name="sniffer-live", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self._fallback is not None:
                self._fallback.run(self.on_batch, self._stop)
            else:
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
        if self._fallback is not None:
            return self._fallback.stats()
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
        if self._fallback is not None:
            self._fallback.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)


ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4


class _PacketSocket:
    """Minimal AF_PACKET reader used only until the capture engine's LiveCapture is available."""

    def __init__(self, interfaces: list[str], snaplen: int) -> None:
        self.snaplen = snaplen
        self.socks: list[tuple[socket.socket, str, int]] = []
        self._received = 0
        self._dropped = 0
        for name in interfaces:
            try:
                ifindex = socket.if_nametoindex(name)
            except OSError:
                raise CaptureError(f"no such interface {name!r} (see 'ip link')") from None
            try:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            except OSError as exc:
                raise needs_privilege(exc, f"capturing on {name}") from None
            s.bind((name, ETH_P_ALL))
            s.settimeout(0.1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            self.socks.append((s, name, ifindex))

    def run(self, on_batch: Callable[[list[Frame]], None], stop: threading.Event) -> None:
        import selectors

        sel = selectors.DefaultSelector()
        for s, name, idx in self.socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, (name, idx))
        while not stop.is_set():
            batch: list[Frame] = []
            for key, _ in sel.select(0.1):
                s = key.fileobj
                name, idx = key.data
                for _ in range(4096):
                    try:
                        data, addr = s.recvfrom(self.snaplen)  # type: ignore[union-attr]
                    except BlockingIOError:
                        break
                    pkttype = addr[2]
                    if pkttype == PACKET_OUTGOING and name == "lo":
                        continue  # loopback shows each packet twice; keep the incoming copy like libpcap
                    d = DIR_OUT if pkttype == PACKET_OUTGOING else DIR_IN
                    batch.append(Frame(time.time_ns(), data, len(data), LINKTYPE_ETHERNET, idx, d, name))
            if batch:
                self._received += len(batch)
                on_batch(batch)

    def stats(self) -> LiveStats:
        for s, _, _ in self.socks:
            try:
                raw = s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
                _, drops = struct.unpack("II", raw)
                self._dropped += drops
            except OSError:
                pass
        return LiveStats(self._received, self._dropped, 0)

    def close(self) -> None:
        for s, _, _ in self.socks:
            s.close()
