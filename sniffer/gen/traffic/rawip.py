"""SOCK_RAW over IP: our tagged message as the whole payload of an IPv4/IPv6 packet of protocol 253.

Protocol 253 is reserved for experimentation (RFC 3692), so no stack answers it: the peer is our own
raw echo server, which sets the tag's ECHO flag on the way back. Every raw socket on the host sees
every packet of the protocol (both directions on loopback), so each side keeps only what it needs.
"""

from __future__ import annotations

import socket
from typing import Any

from sniffer.errors import UsageError
from sniffer.gen.core.ops import Channel
from sniffer.gen.core.payload import FLAG_ECHO, parse_tag, set_echo
from sniffer.gen.traffic.ipaddr import LOOPBACK, family_of
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint, closed_on_error

IPPROTO_EXPERIMENT = 253


def _strip_ip(data: bytes, af: int) -> bytes:
    """IPv4 raw sockets hand over the IP header too; IPv6 ones give only the payload."""
    if af == socket.AF_INET and data and data[0] >> 4 == 4:
        return data[(data[0] & 0x0F) * 4 :]
    return data


class RawClientChannel(Channel):
    def __init__(self, sock: socket.socket, dest: Any, af: int) -> None:
        super().__init__(sock, dest)
        self.af = af
        self.max_recv = 65535

    def unwrap(self, data: bytes, addr: Any) -> bytes | None:
        body = _strip_ip(data, self.af)
        tag = parse_tag(body)
        if tag is None or not tag.flags & FLAG_ECHO:
            return None  # our own packet looping back, or someone else's
        return body


class RawServerChannel(Channel):
    def __init__(self, sock: socket.socket, af: int) -> None:
        super().__init__(sock)
        self.af = af

    def reply(self, data: bytes, addr: Any) -> tuple[bytes, Any] | None:
        body = _strip_ip(data, self.af)
        tag = parse_tag(body)
        if tag is None or tag.flags & FLAG_ECHO:
            return None
        return set_echo(body), addr

    def count_in(self, data: bytes, addr: Any) -> bool:
        tag = parse_tag(_strip_ip(data, self.af))
        return tag is not None and not tag.flags & FLAG_ECHO


class RawIpEndpoint(Endpoint):
    type = "raw"
    connected = False

    def __init__(
        self, family: str = "inet", opts: SockOpts | None = None, proto: int = IPPROTO_EXPERIMENT
    ) -> None:
        super().__init__(opts)
        self.family = family
        self.af = family_of(family)
        if not 1 <= proto <= 255 or proto in (socket.IPPROTO_TCP, socket.IPPROTO_UDP):
            raise UsageError(
                f"bad IP protocol {proto}: use 1..255 other than TCP (6) and UDP (17); 253 is the default"
            )
        self.proto = proto

    def _sock(self) -> socket.socket:
        s = socket.socket(self.af, socket.SOCK_RAW, self.proto)
        apply(s, self.opts)
        return s

    def client_socket(self) -> socket.socket:
        return self._sock()

    def prepare_client(self, sock: socket.socket, dest: Any) -> Any:
        return (dest[0], 0)

    def client_channel(self, sock: socket.socket, dest: Any) -> Channel:
        return RawClientChannel(sock, dest, self.af)

    def server_socket(self, addr: Any) -> socket.socket:
        with closed_on_error(self._sock()) as s:
            s.bind((addr[0], 0))
        return s

    def server_channel(self, sock: socket.socket) -> Channel:
        return RawServerChannel(sock, self.af)

    def self_peer_address(self) -> Any:
        return (LOOPBACK[self.family], 0)

    def peer_address(self, sock: socket.socket) -> Any:
        return (sock.getsockname()[0], 0)

    def describe(self, addr: Any) -> str:
        return f"{addr[0]} proto {self.proto}"
