"""TUI source for remote interfaces (``sniffer tui -i ssh://HOST/IFACE ...``): the merged ssh streams of
sniffer.capture.remote appended to a spool store in batches (each frame's ifname is HOST/IFACE)."""

from __future__ import annotations

import time

from sniffer.capture.remote import RemoteCapture, parse_remote
from sniffer.errors import SnifferError
from sniffer.frame import Frame
from sniffer.model.store import PacketStore
from sniffer.ui.sources import BATCH, BATCH_SECONDS, Source, SourceStatus


class RemoteSource(Source):
    """Packets of several remote interfaces, merged in time order, into one packet list, with a column
    naming each packet's HOST/IFACE (like Wireshark's sshdump interface)."""

    columns = ("frame.interface_name",)

    def __init__(
        self, interfaces: list[str], store: PacketStore, bpf: str | None = None, snaplen: int = 262144
    ) -> None:
        specs = [parse_remote(i) for i in interfaces]
        super().__init__(store, SourceStatus("live", ",".join(s.label for s in specs)))
        self.capture = RemoteCapture(specs, bpf=bpf, snaplen=snaplen)

    def open(self) -> None:
        self.capture.start()

    def run(self) -> None:
        pending: list[Frame] = []
        last = time.monotonic()
        for ready in self.capture.batches():
            pending.extend(fr for _i, fr in ready)
            now = time.monotonic()
            if pending and (len(pending) >= BATCH or now - last >= BATCH_SECONDS):
                self.store.append_batch(pending)
                pending = []
                last = now
            if self._stop.is_set():
                break
        if pending:
            self.store.append_batch(pending)
        if self.capture.errors and not self._stop.is_set():
            raise SnifferError("; ".join(self.capture.errors))

    def stop(self) -> None:
        self.capture._stop.set()
        super().stop()
        self.capture.stop()
