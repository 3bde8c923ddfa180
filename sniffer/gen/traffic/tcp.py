"""TCP over AF_INET / AF_INET6: echo client and server (the guide's 5.1), bulk transfer, many connections."""

from __future__ import annotations

import socket
from typing import Any

from sniffer.gen.traffic.ipaddr import LOOPBACK, family_of
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint


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
        s = socket.socket(self.af, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            apply(s, self.opts)
            if self.af == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(addr)
            s.listen(self.backlog)
        except BaseException:
            s.close()
            raise
        return s

    def self_peer_address(self) -> Any:
        return (LOOPBACK[self.family], 0)
