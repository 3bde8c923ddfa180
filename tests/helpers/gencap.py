"""Closed loop for generator tests: capture on an interface (in a namespace if asked) and find our tags.

Uses the capture core (sniffer.capture.live.LiveCapture) when it is there; otherwise a plain AF_PACKET
socket opened here (the same kernel path, without the ring).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

from sniffer.frame import Frame
from sniffer.gen.core.payload import Tag, find_tags
from sniffer.netns import netns

ETH_P_ALL = 0x0003


class TagCapture:
    """``with TagCapture("lo") as cap: ...traffic...`` then ``cap.tags(flow_id)``."""

    def __init__(self, iface: str = "lo", ns: str | None = None) -> None:
        self.iface = iface
        self.ns = ns
        self.frames: list[Frame] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = None
        self.backend = ""

    def _on(self, batch: list[Frame]) -> None:
        with self._lock:
            self.frames.extend(batch)

    def __enter__(self) -> TagCapture:
        try:
            from sniffer.capture.live import LiveCapture
        except ImportError:
            LiveCapture = None  # type: ignore[assignment,misc]
        if LiveCapture is not None:
            self._live = LiveCapture(self.iface, netns=self.ns, callback=self._on, promisc=False)
            self._live.start()
            self.backend = "sniffer.capture.live"
        else:
            with netns(self.ns):
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            s.bind((self.iface, ETH_P_ALL))
            s.settimeout(0.05)
            self._thread = threading.Thread(target=self._run, args=(s,), daemon=True)
            self._thread.start()
            self.backend = "AF_PACKET socket"
        time.sleep(0.1)
        return self

    def _run(self, s: socket.socket) -> None:
        with s:
            while not self._stop.is_set():
                try:
                    data, addr = s.recvfrom(65535)
                except TimeoutError:
                    continue
                with self._lock:
                    self.frames.append(
                        Frame(time.time_ns(), data, len(data), 1, 0, 2 if addr[2] == 4 else 1, addr[0])
                    )

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        time.sleep(0.15)
        if self._live is not None:
            self._live.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def tags(self, flow_id: int | None = None) -> list[Tag]:
        with self._lock:
            frames = list(self.frames)
        out = []
        for fr in frames:
            for tag in find_tags(fr.data, 64):
                if flow_id is None or tag.flow_id == flow_id:
                    out.append(tag)
        return out

    def seqs(self, flow_id: int, echo: bool | None = None) -> set[int]:
        return {t.seq for t in self.tags(flow_id) if echo is None or t.is_echo == echo}
