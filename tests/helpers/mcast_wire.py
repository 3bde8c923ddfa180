"""Multicast test helpers: capture a namespace's interface (AF_PACKET) and decode with tshark.

The capture is a plain AF_PACKET socket until the project's capture core is on main; frames are kept
as sniffer Frames and written as classic pcap so tshark (the oracle) can decode them.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from sniffer.capture.frame import DIR_IN, DIR_OUT, LINKTYPE_ETHERNET, Frame
from sniffer.netns import netns

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class IfaceCapture:
    """Capture every frame on ``iface`` inside namespace ``ns`` in a thread, until :meth:`stop`."""

    def __init__(self, ns: str, iface: str, max_seconds: float = 30.0) -> None:
        with netns(ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((iface, 0))
        self.iface = iface
        self.frames: list[Frame] = []
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> IfaceCapture:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if not ready:
                continue
            data, addr = self.sock.recvfrom(65535)
            direction = DIR_OUT if addr[2] == PACKET_OUTGOING else DIR_IN
            self.frames.append(
                Frame(time.time_ns(), data, len(data), LINKTYPE_ETHERNET, 0, direction, self.iface)
            )

    def stop(self, settle: float = 0.0) -> list[Frame]:
        if settle:
            time.sleep(settle)
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.sock.close()
        return self.frames


def write_pcap(path: Path, frames: list[Frame]) -> Path:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, LINKTYPE_ETHERNET))
        for fr in frames:
            sec, nsec = divmod(fr.ts_ns, 1_000_000_000)
            f.write(struct.pack("<IIII", sec, nsec, len(fr.data), fr.wirelen))
            f.write(fr.data)
    return path


def _flatten(node: Any, out: dict[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _flatten(item, out)
        return
    for key, val in node.items():
        if isinstance(val, dict) or (isinstance(val, list) and any(not isinstance(v, str) for v in val)):
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
    for pkt in json.loads(p.stdout or "[]"):
        flat: dict[str, Any] = {}
        _flatten(pkt["_source"]["layers"], flat)
        out.append(flat)
    return out


def frame_ts(fields: dict[str, Any]) -> int:
    t = fields.get("frame.time_epoch", "0")
    t = t[0] if isinstance(t, list) else t
    sec, _, frac = str(t).partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])
