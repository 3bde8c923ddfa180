"""Multicast test helpers: capture a namespace's interface (our capture core) and decode with tshark.

Frames are written as classic pcap so tshark (the oracle) can decode them too.
"""

from __future__ import annotations

import json
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from sniffer.capture.live import LiveCapture
from sniffer.frame import LINKTYPE_ETHERNET, Frame


class IfaceCapture:
    """Capture every frame on ``iface`` inside namespace ``ns`` with the project's capture core
    (sniffer.capture.live.LiveCapture, TPACKET_V3 ring), collecting frames until :meth:`stop`."""

    def __init__(self, ns: str, iface: str, max_seconds: float = 30.0) -> None:
        self.iface = iface
        self.frames: list[Frame] = []
        self._lock = threading.Lock()
        self._cap = LiveCapture(iface, netns=ns, callback=self._add)
        self._timer = threading.Timer(max_seconds, self._cap.stop, kwargs={"wait": False})
        self._timer.daemon = True

    def _add(self, batch: list[Frame]) -> None:
        with self._lock:
            self.frames.extend(batch)

    def __enter__(self) -> IfaceCapture:
        self._cap.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def snapshot(self) -> list[Frame]:
        with self._lock:
            return list(self.frames)

    def stop(self, settle: float = 0.0) -> list[Frame]:
        if settle:
            time.sleep(settle)
        self._timer.cancel()
        self._cap.stop()
        if self._cap._delivery is not None:  # let the delivery thread hand over the last batches
            self._cap._delivery.join(timeout=2)
        if self._cap.error is not None:
            raise self._cap.error
        return self.snapshot()


def write_pcap(path: Path, frames: list[Frame]) -> Path:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, LINKTYPE_ETHERNET))
        for fr in frames:
            sec, nsec = divmod(fr.ts_ns, 1_000_000_000)
            f.write(struct.pack("<IIII", sec, nsec, len(fr.data), fr.wirelen))
            f.write(fr.data)
    return path


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object as its (key, value) pairs: tshark repeats keys (two records with the same label)."""


def _flatten(node: Any, out: dict[str, Any]) -> None:
    if isinstance(node, _Pairs):
        pairs = list(node)
    elif isinstance(node, list):
        for item in node:
            _flatten(item, out)
        return
    else:
        pairs = list(node.items())
    for key, val in pairs:
        if isinstance(val, (_Pairs, dict)) or (
            isinstance(val, list) and any(not isinstance(v, str) for v in val)
        ):
            _flatten(val, out)  # a labelled subtree (e.g. "Group Record : ...") or a list of them
            continue
        for v in val if isinstance(val, list) else [val]:
            if key in out:
                cur = out[key]
                out[key] = [*cur, v] if isinstance(cur, list) else [cur, v]
            else:
                out[key] = v


def tshark_fields(pcap: Path) -> list[dict[str, Any]]:
    """One dict per packet, Wireshark field name -> value (a list when it occurs several times):
    the shape of sniffer.decode.fields.frame_fields, from the oracle."""
    p = subprocess.run(
        ["tshark", "-n", "-r", str(pcap), "-T", "json", "--no-duplicate-keys"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = []
    for pkt in json.loads(p.stdout or "[]", object_pairs_hook=_Pairs):
        layers = dict(pkt)["_source"]
        flat: dict[str, Any] = {}
        _flatten(dict(layers)["layers"], flat)
        out.append(flat)
    return out


def frame_ts(fields: dict[str, Any]) -> int:
    t = fields.get("frame.time_epoch", "0")
    t = t[0] if isinstance(t, list) else t
    sec, _, frac = str(t).partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])
