"""Traffic and oracle helpers for the capture tests: send real packets inside test namespaces, run tcpdump."""

from __future__ import annotations

import socket
import struct
import subprocess
import time
from pathlib import Path

from sniffer.netns import netns

#: IEEE "local experimental" ethertype: frames nobody else on a test veth sends
ETH_P_EXPERIMENTAL = 0x88B5


def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def experimental_frames(src_mac: str, dst_mac: str, n: int, size: int = 60) -> list[bytes]:
    """``n`` distinct Ethernet frames of ``size`` bytes with ethertype 0x88b5 and a numbered payload."""
    head = mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack(">H", ETH_P_EXPERIMENTAL)
    out = []
    for i in range(n):
        body = struct.pack(">I", i) + bytes((i + j) & 0xFF for j in range(size - 18))
        out.append(head + body)
    return out


def send_udp(ns: str, dst: str, port: int, payloads: list[bytes], family: int = socket.AF_INET) -> None:
    """Send each payload as one UDP datagram from inside namespace ``ns`` (a real socket)."""
    with netns(ns):
        s = socket.socket(family, socket.SOCK_DGRAM)
    with s:
        for p in payloads:
            s.sendto(p, (dst, port))


class Tcpdump:
    """tcpdump writing a pcap file inside a namespace, started and stopped around some traffic."""

    def __init__(self, ns: str, iface: str, path: Path, expr: str = "", extra: tuple[str, ...] = ()) -> None:
        argv = [
            "ip",
            "netns",
            "exec",
            ns,
            "tcpdump",
            "-n",
            "-U",
            "--immediate-mode",
            "-Z",
            "root",
            "-i",
            iface,
            "-w",
            str(path),
            *extra,
        ]
        if expr:
            argv.append(expr)
        self.proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 10
        line = b""
        while b"listening on" not in line:
            line = self.proc.stderr.readline()
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"tcpdump did not start: {line!r}")
        self.path = path

    def stop(self) -> str:
        time.sleep(0.1)
        self.proc.send_signal(2)
        _, err = self.proc.communicate(timeout=10)
        return err.decode()


def read_pcap_bytes(path: Path) -> list[bytes]:
    """Packet bytes of a pcap/pcapng file, read by dpkt (an independent reader)."""
    import dpkt

    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        reader = dpkt.pcapng.Reader(f) if head == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(f)
        return [bytes(buf) for _, buf in reader]
