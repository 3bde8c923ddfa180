"""AF_PACKET generators: SOCK_RAW (whole Ethernet frames) and SOCK_DGRAM (cooked link header).

We write the whole frame with SOCK_RAW; with SOCK_DGRAM the kernel adds the link header.
EtherType 0x88B5 (IEEE 802 local experimental) carries our tag.

Loopback (lo) is the default interface; any other one must be named. The peer is our own packet echo
server on the same interface, which sets the tag's ECHO flag and sends the frame back to its sender's
MAC. Packet sockets see outgoing copies too (PACKET_OUTGOING): both sides skip them.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from sniffer.errors import UsageError
from sniffer.gen.core.ops import Channel
from sniffer.gen.core.payload import FLAG_ECHO, parse_tag, set_echo
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint, closed_on_error

ETH_P_EXPERIMENT = 0x88B5
PACKET_OUTGOING = 4
ETH_HLEN = 14
BROADCAST_MAC = b"\xff" * 6
TYPES = {"raw": socket.SOCK_RAW, "dgram": socket.SOCK_DGRAM}


def parse_mac(text: str) -> bytes:
    parts = text.replace("-", ":").split(":")
    try:
        if len(parts) != 6:
            raise ValueError
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise UsageError(f"bad MAC address {text!r}: use xx:xx:xx:xx:xx:xx") from None


def mac_str(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def iface_mac(ifname: str) -> bytes:
    try:
        with open(f"/sys/class/net/{ifname}/address") as f:
            return parse_mac(f.read().strip())
    except FileNotFoundError:
        raise UsageError(f"no interface {ifname!r}: check the name with 'ip link'") from None


class PacketClientChannel(Channel):
    def __init__(self, ep: PacketEndpoint, sock: socket.socket, dst_mac: bytes) -> None:
        super().__init__(
            sock, None if ep.kind == socket.SOCK_RAW else (ep.ifname, ep.ethertype, 0, 0, dst_mac)
        )
        self.ep = ep
        self.head = dst_mac + ep.mac + struct.pack("!H", ep.ethertype)

    def wrap(self, payload: memoryview | bytes) -> bytes:
        if self.ep.kind == socket.SOCK_RAW:
            return self.head + payload
        return bytes(payload)

    def unwrap(self, data: bytes, addr: Any) -> bytes | None:
        if addr[2] == PACKET_OUTGOING:
            return None
        body = data[ETH_HLEN:] if self.ep.kind == socket.SOCK_RAW else data
        tag = parse_tag(body)
        if tag is None or not tag.flags & FLAG_ECHO:
            return None
        return body


class PacketServerChannel(Channel):
    def __init__(self, ep: PacketEndpoint, sock: socket.socket) -> None:
        super().__init__(sock)
        self.ep = ep

    def _body(self, data: bytes) -> bytes:
        return data[ETH_HLEN:] if self.ep.kind == socket.SOCK_RAW else data

    def reply(self, data: bytes, addr: Any) -> tuple[bytes, Any] | None:
        if addr[2] == PACKET_OUTGOING:
            return None
        body = self._body(data)
        tag = parse_tag(body)
        if tag is None or tag.flags & FLAG_ECHO:
            return None
        src_mac = addr[4][:6]
        if self.ep.kind == socket.SOCK_RAW:
            frame = src_mac + self.ep.mac + data[12:14] + set_echo(body)
            return frame, (self.ep.ifname, 0)
        return set_echo(body), (self.ep.ifname, self.ep.ethertype, 0, 0, src_mac)

    def count_in(self, data: bytes, addr: Any) -> bool:
        if addr[2] == PACKET_OUTGOING:
            return False
        tag = parse_tag(self._body(data))
        return tag is not None and not tag.flags & FLAG_ECHO


class PacketEndpoint(Endpoint):
    family = "packet"
    connected = False

    def __init__(
        self,
        type: str = "raw",
        ifname: str = "lo",
        opts: SockOpts | None = None,
        ethertype: int = ETH_P_EXPERIMENT,
        dst_mac: bytes | None = None,
    ) -> None:
        super().__init__(opts)
        if type not in TYPES:
            raise UsageError(f"unknown packet socket type {type!r}: use raw or dgram")
        self.type = type
        self.kind = TYPES[type]
        self.ifname = ifname
        self.ethertype = ethertype
        self.mac = iface_mac(ifname)
        # lo has an all-zero MAC; elsewhere the default is broadcast so a peer on the link hears it
        self.dst_mac = dst_mac if dst_mac is not None else (self.mac if ifname == "lo" else BROADCAST_MAC)

    def _sock(self) -> socket.socket:
        with closed_on_error(socket.socket(socket.AF_PACKET, self.kind, socket.htons(self.ethertype))) as s:
            apply(s, self.opts)
            s.bind((self.ifname, self.ethertype))
        return s

    def client_socket(self) -> socket.socket:
        return self._sock()

    def prepare_client(self, sock: socket.socket, dest: Any) -> Any:
        return None

    def client_channel(self, sock: socket.socket, dest: Any) -> Channel:
        return PacketClientChannel(self, sock, self.dst_mac)

    def server_socket(self, addr: Any) -> socket.socket:
        return self._sock()

    def server_channel(self, sock: socket.socket) -> Channel:
        return PacketServerChannel(self, sock)

    def self_peer_address(self) -> Any:
        return (self.ifname, self.ethertype)

    def peer_address(self, sock: socket.socket) -> Any:
        return (self.ifname, self.ethertype)

    def describe(self, addr: Any) -> str:
        return f"{self.ifname} ethertype {self.ethertype:#06x} dst {mac_str(self.dst_mac)}"
