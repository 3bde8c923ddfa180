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
        # unbuffered: readline() now, communicate() in stop() must still see every byte after it
        self.proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, bufsize=0)
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


def tshark_read(path: Path | str, *fields: str) -> tuple[int, list[list[str]], str]:
    """Read ``path`` with tshark: (exit status, one row of ``fields`` per packet, stderr)."""
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=|"]
    for f in fields or ("frame.number",):
        argv += ["-e", f]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    rows = [line.split("|") for line in proc.stdout.splitlines()]
    err = "\n".join(line for line in proc.stderr.splitlines() if "Running as user" not in line)
    return proc.returncode, rows, err


def tshark_bytes(path: Path | str, tmp: Path) -> list[bytes]:
    """Packet bytes as tshark reads them: tshark rewrites the file as pcap, dpkt reads that back."""
    out = tmp / f"tshark-{Path(path).name}.pcap"
    subprocess.run(
        ["tshark", "-r", str(path), "-F", "pcap", "-w", str(out)], check=True, capture_output=True, timeout=60
    )
    return read_pcap_bytes(out)


class Blaster:
    """Send raw experimental frames on ``iface`` in namespace ``ns`` from a thread, bounded in count and time."""

    def __init__(
        self, ns: str, iface: str, frames: list[bytes], rate: float, max_seconds: float = 10
    ) -> None:
        import threading

        self.frames, self.rate, self.max_seconds = frames, rate, max_seconds
        self.sent = 0
        self._stop = threading.Event()
        with netns(ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.sock.bind((iface, 0))
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        for i, f in enumerate(self.frames):
            if self._stop.is_set() or time.monotonic() - start > self.max_seconds:
                break
            try:
                self.sock.send(f)
            except OSError:
                break
            self.sent += 1
            ahead = (i + 1) / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)

    def start(self) -> Blaster:
        self.thread.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        self.thread.join(15)
        self.sock.close()
        return self.sent
