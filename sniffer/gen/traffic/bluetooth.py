"""AF_BLUETOOTH generators: RFCOMM (stream) and L2CAP (seqpacket) echo clients/servers, and an HCI
raw socket, where Python and the kernel provide them -- else one line saying which of the two is
missing (CPython only has socket.AF_BLUETOOTH when built with the BlueZ headers; the kernel only when
the bluetooth module is loaded; and a peer needs an adapter, /sys/class/bluetooth/hciN).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

from sniffer.errors import NetworkError
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint, closed_on_error

AF_BLUETOOTH = 31  # linux/socket.h, whatever Python knows
BTPROTO_L2CAP, BTPROTO_HCI, BTPROTO_RFCOMM = 0, 1, 3
BDADDR_ANY = "00:00:00:00:00:00"
SOL_HCI, HCI_FILTER = 0, 2  # bluetooth/hci.h
HCI_EVENT_PKT = 0x04  # H4 packet type of an event
# struct hci_filter { uint32_t type_mask; uint32_t event_mask[2]; uint16_t opcode; }: every event
HCI_FILTER_ALL_EVENTS = struct.pack("<IIIH", 1 << HCI_EVENT_PKT, 0xFFFFFFFF, 0xFFFFFFFF, 0)
HCI_EVENTS = {  # Bluetooth Core spec vol 4 part E 7.7, the common ones
    0x01: "Inquiry Complete",
    0x02: "Inquiry Result",
    0x03: "Connection Complete",
    0x04: "Connection Request",
    0x05: "Disconnection Complete",
    0x0E: "Command Complete",
    0x0F: "Command Status",
    0x13: "Number Of Completed Packets",
    0x2F: "Extended Inquiry Result",
    0x3E: "LE Meta",
}
PROTOS = {"rfcomm": (socket.SOCK_STREAM, BTPROTO_RFCOMM), "l2cap": (socket.SOCK_SEQPACKET, BTPROTO_L2CAP)}


def adapters() -> list[str]:
    try:
        return sorted(os.listdir("/sys/class/bluetooth"))
    except OSError:
        return []


def missing() -> str | None:
    """None when AF_BLUETOOTH sockets can be made here; else one sentence naming what is missing."""
    py = hasattr(socket, "AF_BLUETOOTH")
    try:
        socket.socket(AF_BLUETOOTH, socket.SOCK_RAW, BTPROTO_HCI).close()
        kernel: str | None = None
    except OSError as exc:
        kernel = (
            f"the kernel has no Bluetooth sockets (socket(AF_BLUETOOTH): {exc.strerror}; modprobe bluetooth)"
            if exc.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT, errno.ENOPROTOOPT)
            else None
        )
    parts = []
    if not py:
        parts.append(
            "this Python was built without Bluetooth sockets (socket.AF_BLUETOOTH is missing: CPython "
            "needs the BlueZ headers, libbluetooth-dev, when it is built)"
        )
    if kernel:
        parts.append(kernel)
    if not parts:
        return None
    return "AF_BLUETOOTH unavailable: " + "; and ".join(parts)


def check_available() -> None:
    why = missing()
    if why:
        raise NetworkError(why)


class BluetoothEndpoint(Endpoint):
    """RFCOMM (channel) or L2CAP (PSM) to a Bluetooth address: connection-oriented echo/sink."""

    family = "bluetooth"
    connected = True

    def __init__(self, proto: str = "rfcomm", opts: SockOpts | None = None) -> None:
        super().__init__(opts)
        self.proto = proto
        self.type = "stream" if proto == "rfcomm" else "seqpacket"

    def _socket(self) -> socket.socket:
        check_available()
        stype, bproto = PROTOS[self.proto]
        s = socket.socket(socket.AF_BLUETOOTH, stype, bproto)
        apply(s, self.opts)
        return s

    def client_socket(self) -> socket.socket:
        return self._socket()

    def server_socket(self, addr: Any) -> socket.socket:
        with closed_on_error(self._socket()) as s:
            s.bind(addr)
            s.listen(8)
        return s

    def describe(self, addr: Any) -> str:
        return f"{self.proto}:{addr[0]}/{addr[1]}"

    def error(self, exc: OSError, what: str, addr: Any) -> NetworkError:
        if exc.errno == errno.EHOSTDOWN:
            return NetworkError(f"{what} {self.describe(addr)}: the device is out of reach or off")
        if not adapters():
            return NetworkError(
                f"{what} {self.describe(addr)}: {exc.strerror} (no adapter: /sys/class/bluetooth is empty)"
            )
        from sniffer.gen.traffic.run import socket_error

        return socket_error(exc, what, self.describe(addr))  # type: ignore[return-value]


def hci_open(dev: int = 0) -> socket.socket:
    """A raw HCI socket bound to hci<dev> (needs CAP_NET_RAW), for reading events."""
    check_available()
    s = socket.socket(socket.AF_BLUETOOTH, socket.SOCK_RAW, BTPROTO_HCI)
    try:
        s.bind((dev,))
    except OSError as exc:
        s.close()
        raise NetworkError(
            f"HCI raw socket on hci{dev}: {exc.strerror} (adapters: {adapters() or 'none'})"
        ) from None
    return s


def describe_hci(pkt: bytes) -> str:
    """One line for a packet read from a raw HCI socket (H4: type byte, then the packet); never raises."""
    if not pkt:
        return "empty packet"
    if pkt[0] == HCI_EVENT_PKT and len(pkt) >= 3:
        code, plen = pkt[1], pkt[2]
        params = pkt[3 : 3 + plen]
        cut = "" if len(params) == plen else f" (cut short: {len(params)} of {plen})"
        return f"event 0x{code:02x} {HCI_EVENTS.get(code, 'unknown')}, {plen} bytes{cut}: {params.hex()}"
    return f"packet type 0x{pkt[0]:02x}, {len(pkt) - 1} bytes: {pkt[1:].hex()}"


def hci_events(dev: int, count: int, seconds: float) -> Iterator[bytes]:
    """Up to `count` HCI events from hci<dev> within `seconds` (both bound the loop)."""
    s = hci_open(dev)
    try:
        s.setsockopt(SOL_HCI, HCI_FILTER, HCI_FILTER_ALL_EVENTS)
        end = time.monotonic() + seconds
        for _ in range(count):
            left = end - time.monotonic()
            if left <= 0:
                return
            s.settimeout(left)
            try:
                yield s.recv(1024)
            except TimeoutError:
                return
    finally:
        s.close()
