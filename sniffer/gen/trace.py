"""traceroute with UDP or TCP SYN probes (ICMP echo probes are ping.trace): rising TTL, the ICMP
errors read from each probe socket's error queue (IP_RECVERR), so no raw socket is needed.

UDP: a datagram per probe (to port 33434, +1 per probe, like traceroute's default; or one fixed port,
like traceroute -U); the target says "port unreachable". TCP: a non-blocking connect() per probe (the
SYN); the target answers SYN-ACK or RST. Routers on the way answer time exceeded either way.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from collections.abc import Callable

from sniffer.errors import NetworkError, UsageError
from sniffer.gen.ping import (
    _EE,
    _TIMESPEC,
    IP_RECVERR,
    IPV6_RECVERR,
    MSG_ERRQUEUE,
    SCM_TIMESTAMPNS,
    SO_BINDTODEVICE,
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6,
    SO_TIMESTAMPNS,
    Hop,
    ProbeWindow,
    Target,
)

UDP_BASE_PORT = 33434

# traceroute's annotations for ICMP destination unreachable codes (v4 code -> text, v6 likewise)
NOTES4 = {0: "N", 1: "H", 2: "P", 4: "F", 5: "S", 9: "X", 10: "X", 13: "X", 14: "V", 15: "C"}
NOTES6 = {0: "N", 1: "X", 3: "H", 5: "S", 6: "S"}  # 4 = port unreachable: the target itself


def note_for(v6: bool, icmp_type: int, code: int, info: int) -> str | None:
    """None: time exceeded (a router on the way); "": the target answered; else traceroute's !X."""
    if (not v6 and icmp_type == 11) or (v6 and icmp_type == 3):
        return None
    if not v6 and icmp_type == 3:
        if code == 3:
            return ""
        if code == 4:
            return f"F-{info}"
        return NOTES4.get(code, str(code))
    if v6 and icmp_type == 1:
        return "" if code == 4 else NOTES6.get(code, str(code))
    if v6 and icmp_type == 2:
        return f"F-{info}"
    return str(code)


class _Probe:
    __slots__ = ("done", "index", "note", "rtt", "sent_ns", "sock", "src")

    def __init__(self, index: int, sock: socket.socket, sent_ns: int) -> None:
        self.index = index
        self.sock = sock
        self.sent_ns = sent_ns
        self.done = False
        self.src: str | None = None
        self.rtt: float | None = None
        self.note = ""


def _errqueue(s: socket.socket) -> tuple[int, str, int, int, int, int] | None:
    """One entry of the error queue: (ts ns, offender, origin, type, code, info); None if empty."""
    try:
        _data, anc, _flags, _addr = s.recvmsg(512, 512, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return None
    ts = time.time_ns()
    entry = None
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS:
            sec, nsec = _TIMESPEC.unpack_from(data)
            ts = sec * 1_000_000_000 + nsec
        elif (level, typ) in ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)):
            _e, origin, etype, ecode, _pad, info, _d = _EE.unpack_from(data)
            off = data[_EE.size :]
            offender = ""
            if len(off) >= 8:
                fam = struct.unpack_from("=H", off)[0]
                if fam == socket.AF_INET:
                    offender = socket.inet_ntop(socket.AF_INET, off[4:8])
                elif fam == socket.AF_INET6 and len(off) >= 24:
                    offender = socket.inet_ntop(socket.AF_INET6, off[8:24])
            entry = (origin, etype, ecode, info, offender)
    if entry is None:
        return None
    origin, etype, ecode, info, offender = entry
    return ts, offender, origin, etype, ecode, info


def trace_l4(
    target: Target,
    proto: str,
    *,
    first: int = 1,
    max_hops: int = 30,
    queries: int = 3,
    wait: float = 5.0,
    port: int | None = None,
    size: int = 32,
    source: str | None = None,
    on_hop: Callable[[Hop], None] | None = None,
    parallel: int = 16,
) -> list[Hop]:
    """traceroute with ``proto`` "udp" (port ``port`` fixed, or 33434 + probe number) or "tcp"
    (SYN to ``port``, default 80), up to ``parallel`` probes in flight across TTLs (traceroute's -N).
    Returns one Hop per TTL, up to the target or ``max_hops``."""
    if proto not in ("udp", "tcp"):
        raise UsageError(f"unknown probe protocol {proto!r}")
    v6 = target.family == socket.AF_INET6
    win = ProbeWindow(first, max_hops, queries, parallel)
    hops: list[Hop] = []
    live: dict[int, tuple[_Probe, int]] = {}  # fd -> (probe, expiry monotonic ns)
    poller = select.poll()
    try:
        while not win.finished:
            while (i := win.next_probe()) is not None:
                p = _send_probe(target, proto, v6, i, win.ttl_of(i), port, size, source)
                live[p.sock.fileno()] = (p, time.monotonic_ns() + int(wait * 1e9))
                poller.register(p.sock, select.POLLERR | (select.POLLOUT if proto == "tcp" else 0))
            now = time.monotonic_ns()
            for p, expiry in list(live.values()):
                if now >= expiry:
                    p.done = True  # no answer in time: '*'
            if live and not any(p.done for p, _e in live.values()):
                wake = min(e for _p, e in live.values())
                for fd, ev in poller.poll(max(0, wake - now) / 1e6 + 1):
                    _read(live[fd][0], ev, target, proto, v6)
            for fd, (p, _e) in list(live.items()):
                if p.done:
                    del live[fd]
                    poller.unregister(fd)
                    p.sock.close()
                    reached = p.src is not None and (p.src == target.address or bool(p.note))
                    win.answer(p.index, (p.src, p.rtt, p.note), reached)
            for hop in win.hops():
                hops.append(hop)
                if on_hop:
                    on_hop(hop)
            if not live and win.next_ttl > win.stop_ttl:
                break
    finally:
        for p, _e in live.values():
            p.sock.close()
    return hops


def _send_probe(
    target: Target, proto: str, v6: bool, n: int, ttl: int, port: int | None, size: int, source: str | None
) -> _Probe:
    """Probe number ``n`` with this TTL, on its own socket (its error queue tells its answer)."""
    ip_level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    s = socket.socket(target.family, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    try:
        s.setblocking(False)
        s.setsockopt(ip_level, socket.IPV6_UNICAST_HOPS if v6 else socket.IP_TTL, ttl)
        s.setsockopt(ip_level, IPV6_RECVERR if v6 else IP_RECVERR, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if source:
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, source.encode())
        dport = port if port is not None else (80 if proto == "tcp" else UDP_BASE_PORT + n)
        sa = (target.sockaddr[0], dport, *target.sockaddr[2:])
        if proto == "udp":
            s.connect(sa)
            sent = time.time_ns()
            s.send(struct.pack("!I", n).ljust(size, b"\0"))
        else:
            sent = time.time_ns()
            rc = s.connect_ex(sa)
            if rc not in (0, errno.EINPROGRESS):
                raise OSError(rc, f"connect: {errno.errorcode.get(rc, rc)}")
    except OSError as exc:
        s.close()
        raise NetworkError(f"{proto} probe to {target.address}: {exc.strerror or exc}") from None
    return _Probe(n, s, sent)


def _read(p: _Probe, ev: int, target: Target, proto: str, v6: bool) -> None:
    """What woke a probe's socket: an ICMP error in its queue, or (TCP) the target's SYN-ACK / RST."""
    if p.done:
        return
    err = _errqueue(p.sock)
    if err is not None:
        ts, offender, origin, etype, ecode, info = err
        if origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            note = note_for(v6, etype, ecode, info)
            p.src, p.rtt = offender or None, (ts - p.sent_ns) / 1e6
            p.note = note or ""
            p.done = True
    elif proto == "tcp" and ev & (select.POLLOUT | select.POLLERR | select.POLLHUP):
        so = p.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if so in (0, errno.ECONNREFUSED):
            p.src, p.rtt = target.address.split("%")[0], (time.time_ns() - p.sent_ns) / 1e6
            p.done = True
