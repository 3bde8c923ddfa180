"""UDP over AF_INET / AF_INET6: echo client and server (the guide's 5.2), unicast blast, multicast options."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from sniffer.errors import UsageError
from sniffer.gen.traffic.ipaddr import LOOPBACK, family_of
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint, closed_on_error, ip_server_socket


def if_index(name: str) -> int:
    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise UsageError(f"no interface {name!r}: check the name with 'ip link'") from None


class UdpEndpoint(Endpoint):
    """UDP. ``iface`` pins multicast output (IP_MULTICAST_IF) and, for servers, the group join."""

    type = "dgram"
    connected = False

    def __init__(
        self,
        family: str = "inet",
        opts: SockOpts | None = None,
        iface: str | None = None,
        group: str | None = None,
    ) -> None:
        super().__init__(opts)
        self.family = family
        self.af = family_of(family)
        self.iface = iface
        self.group = group

    def client_socket(self) -> socket.socket:
        s = socket.socket(self.af, socket.SOCK_DGRAM)
        apply(s, self.opts)
        return s

    def prepare_client(self, sock: socket.socket, dest: Any) -> Any:
        if _is_multicast(dest[0]):
            # group addressing and the ip_mreqn/ipv6_mreq structs come from the multicast tools
            from sniffer.gen.mcast.stream import ip_mreqn, resolve_iface

            if self.iface is None:
                raise UsageError("sending to a multicast group needs -i IFACE (the interface to send on)")
            _name, idx = resolve_iface(self.iface, self.af)
            if self.af == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
            else:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, ip_mreqn("0.0.0.0", idx))
            # replies come from the members' unicast addresses: stay unconnected
            return dest
        sock.connect(dest)
        return None

    def server_socket(self, addr: Any) -> socket.socket:
        with closed_on_error(ip_server_socket(self.af, socket.SOCK_DGRAM, self.opts, addr)) as s:
            if self.group:
                self._join(s)
        return s

    def _join(self, s: socket.socket) -> None:
        from sniffer.gen.mcast.stream import ip_mreqn, ipv6_mreq, resolve_iface

        if self.iface is None:
            raise UsageError("joining a multicast group needs -i IFACE")
        assert self.group is not None
        _name, idx = resolve_iface(self.iface, self.af)
        if self.af == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, ipv6_mreq(self.group, idx))
        else:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, ip_mreqn(self.group, idx))

    def self_peer_address(self) -> Any:
        return (LOOPBACK[self.family], 0)


def _is_multicast(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_multicast
    except ValueError:
        return False
