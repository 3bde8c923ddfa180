"""The front of every socket-family generator: Endpoint, run settings, client and server runs, the
self-started peer.

A family module describes its sockets with an ``Endpoint``; ``run_client`` and ``serve`` pick the
sans-IO core for the mode (``sniffer.gen.core.client`` / ``server``) and the driver for the I/O style
(``drive_sync``: blocking and one socket on select / poll / epoll; ``drive_many``: many sockets on
one selector; ``drive_async``: asyncio); ``self_peer`` forks our own server on an ephemeral loopback
address.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sniffer.errors import NetworkError, PrivilegeError, SnifferError
from sniffer.gen.core.client import (
    BLAST,
    BULK,
    CONNS,
    ConnPlan,
    RunSettings,
    dgram_blast_core,
    dgram_echo_core,
    stream_bulk_core,
    stream_echo_core,
)
from sniffer.gen.core.ops import Channel, ConnectFailed, Core, connect_then
from sniffer.gen.core.report import Report
from sniffer.gen.core.server import DgramServer, PeerLog, SinkCount, StreamServerState
from sniffer.gen.traffic import drive_async, drive_many, drive_sync
from sniffer.gen.traffic.options import SockOpts, apply, asked, report
from sniffer.gen.traffic.styles import ASYNCIO, check_style

Addr = Any


class Endpoint:
    """How one family/type makes its sockets. Family modules subclass it.

    ``connected``: connection-oriented (accept/connect, stream loops); otherwise datagram loops through
    a ``Channel``.
    """

    family = ""
    type = ""
    connected = True

    def __init__(self, opts: SockOpts | None = None) -> None:
        self.opts = opts or SockOpts()

    # client side
    def client_socket(self) -> socket.socket:
        raise NotImplementedError

    def client_channel(self, sock: socket.socket, dest: Addr) -> Channel:
        return Channel(sock, dest)

    def prepare_client(self, sock: socket.socket, dest: Addr) -> Addr | None:
        """Bind/connect a datagram client; returns the destination for sendto, or None when connected."""
        sock.connect(dest)
        return None

    # server side
    def server_socket(self, addr: Addr) -> socket.socket:
        raise NotImplementedError

    def server_channel(self, sock: socket.socket) -> Channel:
        return Channel(sock)

    def self_peer_address(self) -> Addr:
        """Where a self-started peer listens (an ephemeral loopback address)."""
        raise NotImplementedError

    def peer_address(self, sock: socket.socket) -> Addr:
        """The address clients should use for a server socket (after binding to an ephemeral port)."""
        return sock.getsockname()

    def describe(self, addr: Addr) -> str:
        if isinstance(addr, tuple) and len(addr) >= 2:
            host = addr[0]
            return f"[{host}]:{addr[1]}" if ":" in str(host) else f"{host}:{addr[1]}"
        return str(addr)

    def cleanup(self, addr: Addr) -> None:
        """Remove what a server left behind (a unix socket file)."""

    def error(self, exc: OSError, what: str, addr: Addr) -> SnifferError:
        return socket_error(exc, what, self.describe(addr))


@contextlib.contextmanager
def closed_on_error(sock: socket.socket) -> Iterator[socket.socket]:
    """Set a new socket up inside ``with``: an error there closes it (no descriptor is left behind)
    and goes on."""
    try:
        yield sock
    except BaseException:
        sock.close()
        raise


def ip_server_socket(af: int, kind: int, opts: SockOpts, addr: Addr) -> socket.socket:
    """A TCP or UDP server's socket: SO_REUSEADDR, then the options asked for, IPv6 only for an
    inet6 one (so an inet server on the same port is another socket), bound to ``addr``."""
    with closed_on_error(socket.socket(af, kind)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        apply(s, opts)
        if af == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(addr)
    return s


def socket_error(exc: OSError, what: str, where: str) -> SnifferError:
    """One actionable line for the socket errors users meet."""
    e = exc.errno
    if e in (errno.EPERM, errno.EACCES):
        return PrivilegeError(f"{what} {where}", "CAP_NET_RAW (or CAP_NET_ADMIN)")
    if e == errno.ECONNREFUSED:
        return NetworkError(
            f"connection refused by {where}: nothing listens there; start a peer there "
            "('sniffer gen tcp-echo-server', 'udp-echo-server', ...) or leave --to out for a self-started one"
        )
    if e == errno.EADDRINUSE:
        return NetworkError(
            f"address {where} already in use: pick another port or path, or stop the other program"
        )
    if e == errno.EADDRNOTAVAIL:
        return NetworkError(f"cannot use address {where}: it is not configured on this host")
    if e == errno.ENOENT:
        return NetworkError(f"{where} does not exist: start the server first")
    if e == errno.ENODEV:
        return NetworkError(f"no such device for {where}: check the interface name with 'ip link'")
    if e == errno.EAFNOSUPPORT:
        return NetworkError(f"address family not supported by this kernel for {where}")
    if e == errno.ENETUNREACH:
        return NetworkError(f"network unreachable for {where}")
    if isinstance(exc, TimeoutError) or e == errno.ETIMEDOUT:
        return NetworkError(f"{what} {where} timed out")
    return NetworkError(f"{what} {where}: {exc.strerror or exc}")


def run_client(ep: Endpoint, rs: RunSettings, dest: Addr) -> Report:
    """Run one client against ``dest`` in the chosen style and return its report."""
    check_style(rs.style)
    rep = Report(rs.mode, ep.family, ep.type, rs.style, peer=ep.describe(dest), flow_id=rs.flow_id)
    t0 = time.perf_counter()
    try:
        if rs.mode == CONNS:
            _run_conns(ep, rs, dest, rep)
        elif ep.connected:
            _run_stream(ep, rs, dest, rep)
        else:
            _run_dgram(ep, rs, dest, rep)
    finally:
        rep.duration_s = time.perf_counter() - t0
    return rep


def drive(core: Core, sock: socket.socket, style: str) -> None:
    """Run one core on one socket with the style's driver."""
    if style == ASYNCIO:
        drive_async.run(drive_async.adrive(core, sock))
    else:
        drive_sync.run(core, sock, style)


def _run_conns(ep: Endpoint, rs: RunSettings, dest: Addr, rep: Report) -> None:
    rep.options, rep.options_asked = _probe_options(ep)
    rep.local = f"{rs.conns} sockets, up to {rs.parallel if rs.style != 'blocking' else 1} at once"
    plan = ConnPlan(rep, dest, rs)
    if rs.style == ASYNCIO:
        drive_async.run(drive_async.conns(plan, ep.client_socket, rs.parallel))
    elif rs.style == "blocking":
        drive_sync.conns_blocking(plan, ep.client_socket)
    else:
        drive_many.conns_many(plan, ep.client_socket, rs.style, rs.parallel)
    if rep.sent and rep.errors == rep.sent and rep.notes:
        raise NetworkError(f"every connection to {rep.peer} failed: {rep.notes[0]}")


def _probe_options(ep: Endpoint) -> tuple[dict[str, Any], dict[str, Any]]:
    with ep.client_socket() as s:
        return report(s), asked(s, ep.opts)


def _run_stream(ep: Endpoint, rs: RunSettings, dest: Addr, rep: Report) -> None:
    work = stream_bulk_core(rep, rs) if rs.mode == BULK else stream_echo_core(rep, rs)
    with ep.client_socket() as sock:
        core = connect_then(dest, max(rs.timeout, 1.0), work, lambda: _describe_local(rep, ep, sock))
        try:
            drive(core, sock, rs.style)
        except ConnectFailed as exc:
            raise ep.error(exc.cause, "connecting to", dest) from None
        except ConnectionError as exc:
            rep.notes.append(f"connection lost: {exc.strerror or exc}")


def _describe_local(rep: Report, ep: Endpoint, sock: socket.socket) -> None:
    try:
        rep.local = ep.describe(sock.getsockname())
    except OSError:
        rep.local = "?"
    rep.options = report(sock)
    rep.options_asked = asked(sock, ep.opts)


def _run_dgram(ep: Endpoint, rs: RunSettings, dest: Addr, rep: Report) -> None:
    sock = ep.client_socket()
    with sock:
        try:
            send_to = ep.prepare_client(sock, dest)
        except OSError as exc:
            raise ep.error(exc, "sending to", dest) from None
        ch = ep.client_channel(sock, send_to)
        _describe_local(rep, ep, sock)
        core = dgram_blast_core(ch, rep, rs) if rs.mode == BLAST else dgram_echo_core(ch, rep, rs)
        try:
            drive(core, sock, rs.style)
        except (ConnectionRefusedError, PermissionError) as exc:
            raise ep.error(exc, "sending to", dest) from None


# --------------------------------------------------------------------------- servers


def open_server(ep: Endpoint, addr: Addr) -> socket.socket:
    try:
        return ep.server_socket(addr)
    except OSError as exc:
        raise ep.error(exc, "listening on", addr) from None


def serve(
    ep: Endpoint,
    sock: socket.socket,
    style: str,
    mode: str,
    stop: Callable[[], bool],
    max_count: int | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run a server on an already open socket until ``stop()`` (or ``max_count`` conns / messages);
    ``log`` is told each connection and each new datagram peer."""
    check_style(style)
    peers = PeerLog(log)
    if mode == "sink" and not ep.connected and ep.opts.rcvbuf is None:
        big_receive_buffer(sock)
    # read now: asyncio's server closes the socket when it ends
    applied, wanted = report(sock), asked(sock, ep.opts)
    if ep.connected:
        stats = _serve_stream(sock, style, mode, stop, max_count, peers)
    else:
        stats = _serve_dgram(ep.server_channel(sock), style, mode, stop, max_count, peers)
    stats["style"] = style
    stats["mode"] = mode
    stats["options"] = applied
    stats["options_asked"] = wanted
    return stats


def _serve_stream(
    sock: socket.socket,
    style: str,
    mode: str,
    stop: Callable[[], bool],
    max_conns: int | None,
    peers: PeerLog,
) -> dict[str, Any]:
    """blocking: one connection at a time; select / poll / epoll: all at once on one selector;
    asyncio: a protocol (or a task) per connection. Each connection is a stream_server_core."""
    st = StreamServerState(mode, stop, max_conns, peers)
    if style == ASYNCIO:
        drive_async.run(drive_async.stream_server(sock, st))
    elif style == "blocking":
        drive_sync.stream_server_blocking(sock, st)
    else:
        drive_many.stream_server_many(sock, style, st)
    return st.stats


def _serve_dgram(
    ch: Channel, style: str, mode: str, stop: Callable[[], bool], max_msgs: int | None, peers: PeerLog
) -> dict[str, Any]:
    """A plain sink counts bytes only (one recv_into a datagram, no address: no peer log); every
    other datagram server is DgramServer's core on the style's driver."""
    if mode == "sink" and ch.plain:
        sink = SinkCount(max_msgs)
        if style == ASYNCIO:
            drive_async.run(drive_async.sink_fast(ch.sock, sink, stop))
        else:
            drive_sync.sink_fast(ch.sock, style, sink, stop)
        return sink.stats
    srv = DgramServer(ch, mode, peers)
    drive(srv.core(stop, max_msgs), ch.sock, style)
    return srv.stats


def big_receive_buffer(sock: socket.socket, size: int = 8 << 20) -> None:
    """A datagram sink keeps up with bursts: SO_RCVBUFFORCE (root) past rmem_max, else SO_RCVBUF."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, 33, size)  # SO_RCVBUFFORCE
    except OSError:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def deadline_stop(duration: float | None, extra: Callable[[], bool] | None = None) -> Callable[[], bool]:
    end = time.monotonic() + duration if duration else None

    def stop() -> bool:
        if end is not None and time.monotonic() >= end:
            return True
        return bool(extra and extra())

    return stop


@dataclass
class Peer:
    """A self-started server process; ``stats()`` stops it and returns what it counted."""

    address: Addr
    process: Any
    event: Any
    conn: Any
    pid: int = 0

    def stats(self, grace: float = 0.0) -> dict[str, Any] | None:
        if grace:
            time.sleep(grace)  # let the server take what is still queued (datagram blasts)
        self.event.set()
        result = None
        if self.conn.poll(3.0):
            with contextlib.suppress(EOFError, OSError):
                result = self.conn.recv()
        self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        return result


def _peer_main(
    ep: Endpoint, sock: socket.socket, style: str, mode: str, event: Any, conn: Any, limit: float
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stats: dict[str, Any]
    try:
        stats = serve(ep, sock, style, mode, deadline_stop(limit, event.is_set))
    except Exception as exc:  # the parent reports it as a note; the child must not print a traceback
        stats = {"error": str(exc)}
    with contextlib.suppress(OSError):
        conn.send(stats)
    os._exit(0)


@contextlib.contextmanager
def self_peer(
    ep: Endpoint, style: str, mode: str, limit: float = 600.0, address: Addr = None
) -> Iterator[Peer]:
    """Start our own server for ``ep`` in a forked process (on an ephemeral loopback address by default)."""
    sock = open_server(ep, ep.self_peer_address() if address is None else address)
    ctx = multiprocessing.get_context("fork")
    event = ctx.Event()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_peer_main, args=(ep, sock, style, mode, event, child, limit), daemon=True)
    proc.start()
    child.close()
    addr = ep.peer_address(sock)
    sock.close()
    peer = Peer(addr, proc, event, parent, proc.pid or 0)
    try:
        yield peer
    finally:
        event.set()
        proc.join(0.5)
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
        ep.cleanup(addr)
