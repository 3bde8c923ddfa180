"""TCP over AF_INET / AF_INET6: echo client and server (the guide's 5.1), bulk transfer, many connections."""

from __future__ import annotations

import socket
from typing import Any

from sniffer.gen.traffic.ipaddr import LOOPBACK, family_of
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint, closed_on_error, ip_server_socket


class TcpEndpoint(Endpoint):
    type = "stream"
    connected = True

    def __init__(self, family: str = "inet", opts: SockOpts | None = None, backlog: int = 512) -> None:
        super().__init__(opts)
        self.family = family
        self.af = family_of(family)
        self.backlog = backlog

    def client_socket(self) -> socket.socket:
        s = socket.socket(self.af, socket.SOCK_STREAM)
        apply(s, self.opts)
        return s

    def server_socket(self, addr: Any) -> socket.socket:
        with closed_on_error(ip_server_socket(self.af, socket.SOCK_STREAM, self.opts, addr)) as s:
            s.listen(self.backlog)
        return s

    def self_peer_address(self) -> Any:
        return (LOOPBACK[self.family], 0)
