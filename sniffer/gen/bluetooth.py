"""AF_BLUETOOTH generators: RFCOMM (stream) and L2CAP (seqpacket) echo clients/servers, and an HCI
raw socket, where Python and the kernel provide them -- else one line saying which of the two is
missing (CPython only has socket.AF_BLUETOOTH when built with the BlueZ headers; the kernel only when
the bluetooth module is loaded; and a peer needs an adapter, /sys/class/bluetooth/hciN).
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

from sniffer.errors import NetworkError
from sniffer.gen.core import Endpoint
from sniffer.gen.options import SockOpts, apply

AF_BLUETOOTH = 31  # linux/socket.h, whatever Python knows
BTPROTO_L2CAP, BTPROTO_HCI, BTPROTO_RFCOMM = 0, 1, 3
BDADDR_ANY = "00:00:00:00:00:00"
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
        s = self._socket()
        try:
            s.bind(addr)
            s.listen(8)
        except BaseException:
            s.close()
            raise
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
        from sniffer.gen.core import socket_error

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
