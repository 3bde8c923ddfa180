"""A bounded, low-rate mix of loopback traffic for `sniffer demo`: TCP, UDP, ICMP echo, multicast on lo only.

Everything goes to 127.0.0.1 or to a multicast group sent out of ``lo`` with TTL 1 (IP_MULTICAST_IF
set to lo's ifindex), so nothing ever leaves the host. Bounded in rounds and in time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time

from sniffer.checksum import checksum

GROUP = "239.255.77.1"
LOOPBACK = "127.0.0.1"


def echo_request(ident: int, seq: int, payload: bytes) -> bytes:
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    csum = checksum(hdr + payload)
    return struct.pack("!BBHHH", 8, 0, csum, ident, seq) + payload


class DemoTraffic:
    """Background thread sending a small mix of packets on loopback until stopped (or the bounds hit)."""

    def __init__(self, interval: float = 0.5, max_rounds: int = 1200, max_seconds: float = 600.0) -> None:
        self.interval = interval
        self.max_rounds = max_rounds
        self.max_seconds = max_seconds
        self.sent = 0
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socks: list[socket.socket] = []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sniffer-demo-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.close()
        self._socks.clear()

    def _sock(self, *args: int) -> socket.socket:
        s = socket.socket(*args)
        self._socks.append(s)
        return s

    def _setup(self) -> None:
        # UDP receiver and sender
        self.udp_rx = self._sock(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp_rx.bind((LOOPBACK, 0))
        self.udp_tx = self._sock(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp_tx.bind((LOOPBACK, 0))
        # a closed port: UDP to it draws an ICMP port unreachable
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind((LOOPBACK, 0))
        self.closed_port = probe.getsockname()[1]
        probe.close()
        # TCP server
        self.tcp_srv = self._sock(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp_srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp_srv.bind((LOOPBACK, 0))
        self.tcp_srv.listen(8)
        self.tcp_srv.settimeout(0.5)
        threading.Thread(target=self._serve_tcp, name="sniffer-demo-tcp", daemon=True).start()
        # ICMP: raw socket as root, else the unprivileged ping socket, else none
        self.icmp: socket.socket | None = None
        for kind in (socket.SOCK_RAW, socket.SOCK_DGRAM):
            try:
                self.icmp = self._sock(socket.AF_INET, kind, socket.IPPROTO_ICMP)
                self.icmp.setblocking(False)
                break
            except OSError:
                continue
        # multicast on lo only, TTL 1
        self.mc_tx: socket.socket | None = None
        try:
            lo = socket.if_nametoindex("lo")
            mc = self._sock(socket.AF_INET, socket.SOCK_DGRAM)
            mc.bind((LOOPBACK, 0))
            mc.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            mc.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            mreqn = struct.pack("4s4si", socket.inet_aton("0.0.0.0"), socket.inet_aton(LOOPBACK), lo)
            mc.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            self.mc_tx = mc
        except OSError:
            self.mc_tx = None

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp_srv.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    data = conn.recv(4096)
                    if data:
                        body = b"hello from sniffer demo\n"
                        conn.sendall(
                            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                            + str(len(body)).encode()
                            + b"\r\n\r\n"
                            + body
                        )

    def _tcp_exchange(self) -> None:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(self.tcp_srv.getsockname(), timeout=1) as c,
        ):
            c.sendall(b"GET /demo HTTP/1.0\r\nHost: localhost\r\n\r\n")
            while c.recv(4096):
                pass
            self.sent += 1

    def _round(self, n: int) -> None:
        with contextlib.suppress(OSError):
            self.udp_tx.sendto(f"sniffer demo udp {n}".encode(), self.udp_rx.getsockname())
            self.sent += 1
        with contextlib.suppress(OSError):
            while True:
                self.udp_rx.recv(2048, socket.MSG_DONTWAIT)
        if self.icmp is not None:
            with contextlib.suppress(OSError):
                self.icmp.sendto(
                    echo_request(os.getpid() & 0xFFFF, n & 0xFFFF, b"sniffer demo ping"), (LOOPBACK, 0)
                )
                self.sent += 1
            with contextlib.suppress(OSError):
                while True:
                    self.icmp.recv(2048)
        if self.mc_tx is not None:
            with contextlib.suppress(OSError):
                self.mc_tx.sendto(f"sniffer demo multicast {n}".encode(), (GROUP, 5007))
                self.sent += 1
        if n % 4 == 0:
            self._tcp_exchange()
        if n % 10 == 5:
            with contextlib.suppress(OSError):
                self.udp_tx.sendto(b"nobody listens here", (LOOPBACK, self.closed_port))
                self.sent += 1

    def _run(self) -> None:
        try:
            self._setup()
        except OSError:
            return
        t0 = time.monotonic()
        n = 0
        while not self._stop.is_set() and n < self.max_rounds and time.monotonic() - t0 < self.max_seconds:
            self._round(n)
            n += 1
            self.rounds = n
            self._stop.wait(self.interval)
