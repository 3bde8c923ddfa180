"""AF_UNIX relay: listen on A, connect to B for every client, pass bytes both ways and record them.

AF_PACKET never sees unix sockets, so the relay is the capture point: each relayed connection is
written to pcapng as a synthesized TCP conversation (sniffer.gen.traffic.synth) between 127.0.0.1:<port>
(the client, a new port per connection) and 127.0.0.2:<server port>; datagrams become UDP. The first
packet of each conversation carries a pcapng comment naming the unix paths and the client's pid/uid
(SO_PEERCRED). One epoll loop, non-blocking sockets, bounded pending output per direction.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sniffer.capture.pcapfile import Interface, open_writer
from sniffer.errors import NetworkError
from sniffer.gen.traffic.synth import TcpConversation, udp_frame
from sniffer.gen.traffic.unix import TYPES, describe_unix

SERVER_PORT = 5000
FIRST_CLIENT_PORT = 40000
HIGH_WATER = 4 << 20  # stop reading a side while this much waits to be written to the other
BUF = 256 << 10


@dataclass
class RelayStats:
    connections: int = 0
    frames: int = 0
    bytes_c2s: int = 0
    bytes_s2c: int = 0
    messages_c2s: int = 0
    messages_s2c: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "frames": self.frames,
            "bytes_client_to_server": self.bytes_c2s,
            "bytes_server_to_client": self.bytes_s2c,
            "messages_client_to_server": self.messages_c2s,
            "messages_server_to_client": self.messages_s2c,
            "errors": self.errors,
        }


class _Leg:
    """One relayed connection: client socket, server socket, their pending output, its conversation."""

    def __init__(self, client: socket.socket, server: socket.socket, conv: TcpConversation) -> None:
        self.client = client
        self.server = server
        self.conv = conv
        self.pending: dict[socket.socket, bytearray] = {client: bytearray(), server: bytearray()}
        self.eof: set[socket.socket] = set()
        self.shut: set[socket.socket] = set()

    def other(self, s: socket.socket) -> socket.socket:
        return self.server if s is self.client else self.client


def _peercred(s: socket.socket) -> str:
    try:
        pid, uid, gid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    except OSError:
        return ""
    return f" pid {pid} uid {uid} gid {gid}"


class UnixRelay:
    """Relay ``listen`` -> ``connect`` for socket type ``kind`` ("stream", "seqpacket", "dgram")."""

    def __init__(
        self,
        listen: str,
        connect: str,
        kind: str,
        writer: Any,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.listen_addr = listen
        self.connect_addr = connect
        self.kind = kind
        self.type = TYPES[kind]
        self.writer = writer
        self.on_event = on_event or (lambda _m: None)
        self.stats = RelayStats()
        self.sel = selectors.EpollSelector()
        self.legs: dict[socket.socket, _Leg] = {}
        self.next_port = FIRST_CLIENT_PORT
        self.lsock: socket.socket | None = None
        # dgram: client address -> (upstream socket, client port)
        self.dgram_peers: dict[Any, tuple[socket.socket, int]] = {}
        self.dgram_by_sock: dict[socket.socket, Any] = {}
        self.ident = 0

    # -- setup
    def open(self) -> None:
        from sniffer.gen.traffic.unix import _remove_stale

        if not self.listen_addr.startswith("\0"):
            _remove_stale(self.listen_addr, self.type)
        s = socket.socket(socket.AF_UNIX, self.type)
        try:
            s.bind(self.listen_addr)
            if self.kind != "dgram":
                s.listen(128)
        except OSError as exc:
            s.close()
            raise NetworkError(
                f"cannot listen on {describe_unix(self.listen_addr)}: {exc.strerror}"
            ) from None
        s.setblocking(False)
        self.lsock = s
        self.sel.register(s, selectors.EVENT_READ, "listen")

    def close(self) -> None:
        for leg in list({id(v): v for v in self.legs.values()}.values()):
            self._end(leg, record=True)
        for up, _port in self.dgram_peers.values():
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(up)
            up.close()
        self.dgram_peers.clear()
        if self.lsock is not None:
            self.sel.unregister(self.lsock)
            self.lsock.close()
            if not self.listen_addr.startswith("\0"):
                with contextlib.suppress(OSError):
                    os.unlink(self.listen_addr)
            self.lsock = None
        self.sel.close()

    def _write(self, frames: Any) -> None:
        for fr in frames:
            self.writer.write(fr)
            self.stats.frames += 1

    def _port(self) -> int:
        port = self.next_port
        self.next_port = self.next_port + 1 if self.next_port < 65535 else FIRST_CLIENT_PORT
        return port

    # -- loop
    def run(self, stop: Callable[[], bool], max_conns: int | None = None) -> RelayStats:
        done = 0
        while not stop():
            if max_conns is not None and self.stats.connections >= max_conns and not self.legs:
                done = 1
            if done:
                break
            for key, events in self.sel.select(0.05):
                if key.data == "listen":
                    if self.kind == "dgram":
                        self._dgram_from_client()
                    else:
                        self._accept(max_conns)
                elif key.data == "up":
                    self._dgram_from_server(key.fileobj)  # type: ignore[arg-type]
                else:
                    self._stream_event(key.fileobj, events)  # type: ignore[arg-type]
            self.writer.flush()
        return self.stats

    # -- stream / seqpacket
    def _accept(self, max_conns: int | None) -> None:
        assert self.lsock is not None
        if max_conns is not None and self.stats.connections >= max_conns:
            return
        try:
            client, _ = self.lsock.accept()
        except BlockingIOError:
            return
        up = socket.socket(socket.AF_UNIX, self.type)
        try:
            up.settimeout(2.0)
            up.connect(self.connect_addr)
        except OSError as exc:
            msg = f"cannot connect to {describe_unix(self.connect_addr)}: {exc.strerror}"
            self.stats.errors.append(msg)
            self.on_event(msg)
            up.close()
            client.close()
            return
        client.setblocking(False)
        up.setblocking(False)
        port = self._port()
        comment = (
            f"AF_UNIX {self.kind} {describe_unix(self.listen_addr)} -> {describe_unix(self.connect_addr)}"
            f"{_peercred(client)} (relayed by sniffer unix-relay)"
        )
        leg = _Leg(client, up, TcpConversation(port, SERVER_PORT, comment))
        self.legs[client] = leg
        self.legs[up] = leg
        self.sel.register(client, selectors.EVENT_READ, "leg")
        self.sel.register(up, selectors.EVENT_READ, "leg")
        self.stats.connections += 1
        self._write(leg.conv.open())
        self.on_event(f"connection {self.stats.connections}: client port {port}{_peercred(client)}")

    def _stream_event(self, s: socket.socket, events: int) -> None:
        leg = self.legs.get(s)
        if leg is None:
            return
        other = leg.other(s)
        from_client = s is leg.client
        if events & selectors.EVENT_READ and s not in leg.eof:
            try:
                data = s.recv(BUF)
            except BlockingIOError:
                data = None
            except OSError:
                self._write(leg.conv.reset(from_client))
                self._end(leg, record=False)
                return
            if data == b"":
                leg.eof.add(s)
                self._write(leg.conv.close(from_client))
            elif data:
                leg.pending[other] += data
                self._write(leg.conv.data(from_client, data))
                if from_client:
                    self.stats.bytes_c2s += len(data)
                    self.stats.messages_c2s += 1
                else:
                    self.stats.bytes_s2c += len(data)
                    self.stats.messages_s2c += 1
                if self.kind == "seqpacket":
                    # keep records whole: send now, one record per send
                    self._flush_record(leg, other, bytes(data))
        self._flush(leg, other)
        if leg.client in self.legs:
            self._flush(leg, s)
        if leg.client in self.legs and leg.eof >= {leg.client, leg.server} and not any(leg.pending.values()):
            self._end(leg, record=False)
        elif leg.client in self.legs:
            self._update(leg)

    def _flush_record(self, leg: _Leg, dst: socket.socket, record: bytes) -> None:
        buf = leg.pending[dst]
        if len(buf) == len(record):  # nothing older waiting: send it as one record
            try:
                dst.send(record)
                del buf[:]
            except BlockingIOError:
                pass
            except OSError:
                pass

    def _flush(self, leg: _Leg, dst: socket.socket) -> None:
        buf = leg.pending[dst]
        if buf and self.kind != "seqpacket":
            try:
                n = dst.send(buf)
                del buf[:n]
            except BlockingIOError:
                pass
            except OSError:
                buf.clear()
        if not buf and dst not in leg.shut and leg.other(dst) in leg.eof and self.kind != "seqpacket":
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            leg.shut.add(dst)
        if not buf and self.kind == "seqpacket" and leg.other(dst) in leg.eof and dst not in leg.shut:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            leg.shut.add(dst)

    def _update(self, leg: _Leg) -> None:
        for s in (leg.client, leg.server):
            ev = 0
            if s not in leg.eof and len(leg.pending[leg.other(s)]) < HIGH_WATER:
                ev |= selectors.EVENT_READ
            if leg.pending[s]:
                ev |= selectors.EVENT_WRITE
            try:
                current = self.sel.get_key(s).events
            except KeyError:
                current = 0
            if ev == current:
                continue
            if ev == 0:
                self.sel.unregister(s)
            elif current == 0:
                self.sel.register(s, ev, "leg")
            else:
                self.sel.modify(s, ev, "leg")

    def _end(self, leg: _Leg, record: bool) -> None:
        if record:
            for side in (True, False):
                self._write(leg.conv.close(side))
        for s in (leg.client, leg.server):
            self.legs.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(s)
            s.close()

    # -- dgram
    def _dgram_from_client(self) -> None:
        assert self.lsock is not None
        for _ in range(64):
            try:
                data, addr = self.lsock.recvfrom(65536)
            except BlockingIOError:
                return
            key = addr or None
            entry = self.dgram_peers.get(key) if key else None
            if entry is None:
                up = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                up.bind("")  # autobind: the server answers here
                try:
                    up.connect(self.connect_addr)
                except OSError as exc:
                    msg = f"cannot reach {describe_unix(self.connect_addr)}: {exc.strerror}"
                    self.stats.errors.append(msg)
                    self.on_event(msg)
                    up.close()
                    continue
                up.setblocking(False)
                port = self._port()
                entry = (up, port)
                self.stats.connections += 1
                if key:
                    self.dgram_peers[key] = entry
                    self.dgram_by_sock[up] = key
                    self.sel.register(up, selectors.EVENT_READ, "up")
                comment = (
                    f"AF_UNIX dgram {describe_unix(addr)} -> {describe_unix(self.listen_addr)} -> "
                    f"{describe_unix(self.connect_addr)} (relayed by sniffer unix-relay)"
                )
                self.on_event(f"client {describe_unix(addr)}: port {port}")
            else:
                comment = None
            up, port = entry
            self.ident += 1
            self._write([udp_frame(True, port, SERVER_PORT, data, self.ident, comment)])
            self.stats.bytes_c2s += len(data)
            self.stats.messages_c2s += 1
            with contextlib.suppress(OSError):
                up.send(data)
            if not key:
                up.close()

    def _dgram_from_server(self, up: socket.socket) -> None:
        key = self.dgram_by_sock.get(up)
        if key is None or self.lsock is None:
            return
        port = self.dgram_peers[key][1]
        for _ in range(64):
            try:
                data = up.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                return
            self.ident += 1
            self._write([udp_frame(False, port, SERVER_PORT, data, self.ident)])
            self.stats.bytes_s2c += len(data)
            self.stats.messages_s2c += 1
            with contextlib.suppress(OSError):
                self.lsock.sendto(data, key)


def relay_interface(listen: str, connect: str, kind: str) -> Interface:
    return Interface(
        0,
        1,
        262144,
        name="unix-relay",
        description=f"AF_UNIX {kind} {describe_unix(listen)} -> {describe_unix(connect)}, as synthesized TCP/UDP",
    )


def run_relay(
    listen: str,
    connect: str,
    kind: str,
    output: str,
    duration: float,
    max_conns: int | None = None,
    stop: Callable[[], bool] | None = None,
    on_event: Callable[[str], None] | None = None,
) -> RelayStats:
    """Open the writer and the relay, run until ``duration`` / ``max_conns`` / ``stop()``, close both."""
    writer = open_writer(output, "pcapng", linktype=1, interfaces=[relay_interface(listen, connect, kind)])
    relay = UnixRelay(listen, connect, kind, writer, on_event)
    end = time.monotonic() + duration
    try:
        relay.open()
        if on_event:
            on_event(
                f"relaying {kind} {describe_unix(listen)} -> {describe_unix(connect)} into {output} "
                f"for at most {duration:g} s"
            )
        relay.run(lambda: time.monotonic() >= end or bool(stop and stop()), max_conns)
    finally:
        relay.close()
        writer.close()
    return relay.stats
