"""Socket options the generators set and report: SO_*, TCP_NODELAY, SO_LINGER, IP_TTL, multicast."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from sniffer.errors import UsageError

_LINGER = struct.Struct("ii")


@dataclass
class SockOpts:
    """What the user asked for; None means leave the kernel default (it is still reported)."""

    reuseaddr: bool | None = None
    keepalive: bool | None = None
    sndbuf: int | None = None
    rcvbuf: int | None = None
    nodelay: bool | None = None
    linger: int | None = None  # seconds; 0 = RST on close
    ttl: int | None = None  # IP_TTL / IPV6_UNICAST_HOPS
    mcast_ttl: int | None = None  # IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS
    mcast_loop: bool | None = None
    broadcast: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _is_ip(sock: socket.socket) -> bool:
    return sock.family in (socket.AF_INET, socket.AF_INET6)


def apply(sock: socket.socket, opts: SockOpts) -> None:
    """Set every requested option that makes sense for this socket's family and type."""
    ip = _is_ip(sock)
    v6 = sock.family == socket.AF_INET6
    tcp = ip and sock.type == socket.SOCK_STREAM
    try:
        if opts.reuseaddr is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, int(opts.reuseaddr))
        if opts.keepalive is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(opts.keepalive))
        if opts.sndbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, opts.sndbuf)
        if opts.rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, opts.rcvbuf)
        if opts.linger is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER.pack(1, opts.linger))
        if opts.broadcast is not None and ip and not v6:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, int(opts.broadcast))
        if opts.nodelay is not None and tcp:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(opts.nodelay))
        if opts.ttl is not None and ip:
            if v6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, opts.ttl)
            else:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, opts.ttl)
        if opts.mcast_ttl is not None and ip:
            if v6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, opts.mcast_ttl)
            else:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, opts.mcast_ttl)
        if opts.mcast_loop is not None and ip:
            if v6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, int(opts.mcast_loop))
            else:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(opts.mcast_loop))
    except OSError as exc:
        raise UsageError(f"cannot set socket option: {exc.strerror or exc}") from None


def report(sock: socket.socket) -> dict[str, Any]:
    """The options as the kernel has them now (SO_SNDBUF/SO_RCVBUF show the doubled kernel value)."""

    def get(level: int, name: int) -> int | None:
        try:
            return sock.getsockopt(level, name)
        except OSError:
            return None

    out: dict[str, Any] = {
        "SO_REUSEADDR": get(socket.SOL_SOCKET, socket.SO_REUSEADDR),
        "SO_KEEPALIVE": get(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        "SO_SNDBUF": get(socket.SOL_SOCKET, socket.SO_SNDBUF),
        "SO_RCVBUF": get(socket.SOL_SOCKET, socket.SO_RCVBUF),
    }
    try:
        onoff, secs = _LINGER.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER.size))
        out["SO_LINGER"] = secs if onoff else None
    except OSError:
        pass
    if _is_ip(sock):
        v6 = sock.family == socket.AF_INET6
        if sock.type == socket.SOCK_STREAM:
            out["TCP_NODELAY"] = get(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        if v6:
            out["IPV6_UNICAST_HOPS"] = get(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS)
            if sock.type != socket.SOCK_STREAM:
                out["IPV6_MULTICAST_HOPS"] = get(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS)
                out["IPV6_MULTICAST_LOOP"] = get(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP)
        else:
            out["IP_TTL"] = get(socket.IPPROTO_IP, socket.IP_TTL)
            if sock.type != socket.SOCK_STREAM:
                out["IP_MULTICAST_TTL"] = get(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL)
                out["IP_MULTICAST_LOOP"] = get(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP)
                out["SO_BROADCAST"] = get(socket.SOL_SOCKET, socket.SO_BROADCAST)
    return out


def asked(sock: socket.socket, opts: SockOpts) -> dict[str, Any]:
    """What the user asked for, under the names ``report`` uses, for the options that apply to this
    socket (so the two can be shown side by side: SO_SNDBUF asked 65536, the kernel applied 131072)."""
    ip = _is_ip(sock)
    v6 = sock.family == socket.AF_INET6
    dgram = sock.type != socket.SOCK_STREAM
    out: dict[str, Any] = {}
    for name, value in (
        ("SO_REUSEADDR", opts.reuseaddr),
        ("SO_KEEPALIVE", opts.keepalive),
        ("SO_SNDBUF", opts.sndbuf),
        ("SO_RCVBUF", opts.rcvbuf),
        ("SO_LINGER", opts.linger),
    ):
        if value is not None:
            out[name] = int(value)
    if not ip:
        return out
    if opts.nodelay is not None and sock.type == socket.SOCK_STREAM:
        out["TCP_NODELAY"] = int(opts.nodelay)
    if opts.ttl is not None:
        out["IPV6_UNICAST_HOPS" if v6 else "IP_TTL"] = opts.ttl
    if dgram:
        if opts.mcast_ttl is not None:
            out["IPV6_MULTICAST_HOPS" if v6 else "IP_MULTICAST_TTL"] = opts.mcast_ttl
        if opts.mcast_loop is not None:
            out["IPV6_MULTICAST_LOOP" if v6 else "IP_MULTICAST_LOOP"] = int(opts.mcast_loop)
        if opts.broadcast is not None and not v6:
            out["SO_BROADCAST"] = int(opts.broadcast)
    return out


def parse_size(text: str) -> int:
    """'100M' -> 104857600; accepts K/M/G (binary) and plain integers."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = 1
    if t and t[-1] in "KMG":
        mult = 1 << {"K": 10, "M": 20, "G": 30}[t[-1]]
        t = t[:-1]
    try:
        value = int(float(t) * mult)
    except ValueError:
        raise UsageError(f"bad size {text!r}: use a number with an optional K, M or G suffix") from None
    if value < 0:
        raise UsageError(f"bad size {text!r}: must not be negative")
    return value
