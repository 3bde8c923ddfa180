"""UDP broadcast (SO_BROADCAST) on a named interface; peers answer by unicast.

A real interface must be named (-i): there is no default, so nothing is ever broadcast by accident.
The destination is the interface's IPv4 broadcast address (SIOCGIFBRDADDR), or 255.255.255.255 when
none is configured, unless one is given.
"""

from __future__ import annotations

import fcntl
import socket
import struct
from typing import Any

from sniffer.errors import UsageError
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint, closed_on_error

SIOCGIFBRDADDR = 0x8919
SIOCGIFADDR = 0x8915
SIOCGIFFLAGS = 0x8913
IFF_BROADCAST = 0x2
LIMITED = "255.255.255.255"


def _ifreq_addr(ifname: str, request: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            out = fcntl.ioctl(s.fileno(), request, struct.pack("256s", ifname.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(out[20:24])


def broadcast_address(ifname: str) -> str:
    """The interface's IPv4 broadcast address; raise when it has no IPv4 address."""
    try:
        socket.if_nametoindex(ifname)
    except OSError:
        raise UsageError(f"no interface {ifname!r}: check the name with 'ip link'") from None
    if _ifreq_addr(ifname, SIOCGIFADDR) is None:
        raise UsageError(f"interface {ifname} has no IPv4 address: broadcast needs one")
    if not _ifflags(ifname) & IFF_BROADCAST:
        raise UsageError(f"interface {ifname} cannot broadcast (loopback?): name an Ethernet-like interface")
    addr = _ifreq_addr(ifname, SIOCGIFBRDADDR)
    if not addr or addr == "0.0.0.0":
        return LIMITED  # no 'brd' configured: the limited broadcast, kept on the interface by SO_BINDTODEVICE
    return addr


def _ifflags(ifname: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        out = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, struct.pack("256s", ifname.encode()[:15]))
    return int(struct.unpack_from("H", out, 16)[0])


class BroadcastEndpoint(Endpoint):
    family = "inet"
    type = "dgram"
    connected = False

    def __init__(self, ifname: str, opts: SockOpts | None = None, to: str | None = None) -> None:
        super().__init__(opts)
        if not ifname:
            raise UsageError("broadcast needs -i IFACE: name the interface to broadcast on")
        self.ifname = ifname
        self.to = to or broadcast_address(ifname)

    def _sock(self) -> socket.socket:
        with closed_on_error(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as s:
            apply(s, self.opts)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.ifname.encode())
        return s

    def client_socket(self) -> socket.socket:
        return self._sock()

    def prepare_client(self, sock: socket.socket, dest: Any) -> Any:
        return (self.to, dest[1])  # unconnected: answers come from each peer's own address

    def server_socket(self, addr: Any) -> socket.socket:
        with closed_on_error(self._sock()) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(addr)
        return s

    def self_peer_address(self) -> Any:
        return ("0.0.0.0", 0)

    def peer_address(self, sock: socket.socket) -> Any:
        return (self.to, sock.getsockname()[1])
