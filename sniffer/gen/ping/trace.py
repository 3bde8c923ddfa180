"""Every traceroute: the hop, the probe window (traceroute's -N: the sans-IO core deciding which
probe goes next and when a hop is complete), and its drivers: ICMP echo probes on the ping engine's
endpoint (``trace``, also ``sniffer ping --trace``) and UDP or TCP SYN probes (``trace_l4``), whose
ICMP errors are read from each probe socket's error queue (IP_RECVERR), so no raw socket is needed.

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
from dataclasses import dataclass

from sniffer.errors import NetworkError, UsageError
from sniffer.gen.ping import icmp
from sniffer.gen.ping.engine import (
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
    PingOptions,
    Target,
    open_endpoints,
    resolve,
)

# ---- the hop, the probe window (the sans-IO core), ICMP echo probes -----------------------------


@dataclass
class Hop:
    ttl: int
    probes: list[tuple[str | None, float | None, str]]  # (address, rtt ms, note) per probe; None = no answer
    reached: bool = False

    def line(self, name: Callable[[str], str], ms: Callable[[float], str]) -> str:
        """traceroute's line for this hop: ``name`` shows an address, ``ms`` a round-trip time."""
        parts = [f"{self.ttl:2d} "]
        last = None
        for addr, rtt, note in self.probes:
            if addr is None:
                parts.append(" *")
                continue
            if addr != last:
                parts.append(f" {name(addr)}")
                last = addr
            parts.append(f"  {ms(rtt or 0.0)} ms")
            if note:
                parts.append(f" !{note}")
        return "".join(parts)


Answer = tuple[str | None, float | None, str]  # (address, rtt ms, note) of one probe
NO_ANSWER: Answer = (None, None, "")


class ProbeWindow:
    """The sans-IO core of every traceroute: which probe to send next and which hops are complete.

    Probes are numbered in TTL order (``queries`` per TTL from ``first``); up to ``parallel`` are in
    flight at once, across TTLs, like traceroute's -N (default 16). Once a probe reaches the target
    (or an unreachable stops the trace) no probe past its TTL is sent, and hops are handed out in
    order, each when all its probes are answered or timed out, the last one being the first that
    reached. The drivers (UDP/TCP sockets in trace.py, the ICMP endpoint here) do the I/O.
    """

    def __init__(self, first: int, max_hops: int, queries: int, parallel: int) -> None:
        self.first, self.queries, self.parallel = first, queries, max(1, parallel)
        self.total = (max_hops - first + 1) * queries
        self.stop_ttl = max_hops  # lowered to the first TTL that reached
        self.sent = 0
        self.inflight: set[int] = set()
        self.answers: dict[int, Answer] = {}
        self.reached: set[int] = set()
        self.next_ttl = first
        self.finished = False

    def ttl_of(self, index: int) -> int:
        return self.first + index // self.queries

    def next_probe(self) -> int | None:
        """The index of the next probe to send now, or None (window full, or nothing left to send)."""
        if (
            self.finished
            or len(self.inflight) >= self.parallel
            or self.sent >= self.total
            or self.ttl_of(self.sent) > self.stop_ttl
        ):
            return None
        i = self.sent
        self.sent += 1
        self.inflight.add(i)
        return i

    def answer(self, index: int, ans: Answer = NO_ANSWER, reached: bool = False) -> None:
        """Probe ``index`` is done: answered (``reached``: by the target, or an unreachable) or not."""
        if index not in self.inflight:
            return
        self.inflight.discard(index)
        self.answers[index] = ans
        if reached:
            self.reached.add(index)
            self.stop_ttl = min(self.stop_ttl, self.ttl_of(index))

    def hops(self) -> list[Hop]:
        """The hops completed since the last call, in TTL order."""
        out = []
        while not self.finished and self.next_ttl <= self.stop_ttl:
            lo = (self.next_ttl - self.first) * self.queries
            ids = range(lo, lo + self.queries)
            if any(i not in self.answers for i in ids):
                break
            hop = Hop(self.next_ttl, [self.answers[i] for i in ids], any(i in self.reached for i in ids))
            out.append(hop)
            self.next_ttl += 1
            self.finished = hop.reached or self.next_ttl > self.stop_ttl
        if self.next_ttl > self.stop_ttl:
            self.finished = True
        return out

    def abandon(self) -> None:
        """Stop now (a deadline): probes in flight and the unsent rest of the last TTL started count as
        unanswered; hops() hands out what is left."""
        last = self.ttl_of(self.sent - 1) if self.sent else self.first - 1
        self.stop_ttl = min(self.stop_ttl, last)
        for i in list(self.inflight):
            self.answer(i)
        hi = (self.stop_ttl - self.first + 1) * self.queries
        for i in range(self.sent, hi):
            self.answers[i] = NO_ANSWER
        self.sent = max(self.sent, hi)


def trace(
    target: str,
    opts: PingOptions | None = None,
    *,
    max_hops: int = 30,
    queries: int = 3,
    on_hop: Callable[[Hop], None] | None = None,
    first: int = 1,
    parallel: int | None = None,
) -> list[Hop]:
    """Traceroute with ICMP echo: ``queries`` probes per TTL, up to ``parallel`` in flight (default:
    one hop's probes), until the target answers or ``max_hops``; each probe waits ``opts.timeout``."""
    o = opts or PingOptions(timeout=1.0)
    t = resolve(target, o.family)
    eps, _kind = open_endpoints([t], o)
    ep = eps[0]
    hops: list[Hop] = []
    win = ProbeWindow(first, max_hops, queries, parallel or queries)
    timeout_ns = int(o.timeout * 1e9)
    deadline = time.monotonic_ns() + int(o.deadline * 1e9) if o.deadline else None
    pending: dict[int, tuple[int, int, int]] = {}  # seq -> (probe index, send time ns, expiry monotonic ns)

    def error_note(typ: int, code: int, v6: bool, info: int) -> str:
        # time exceeded in transit (v6's type 3 is v4's destination unreachable: compare per family)
        timex = code == 0 and typ == (icmp.ICMP6_TIME_EXCEEDED if v6 else icmp.ICMP_TIME_EXCEEDED)
        return "" if timex else icmp.error_text(typ, code, v6, info)

    try:
        while not win.finished:
            while (i := win.next_probe()) is not None:
                s = (o.first_seq + i) & 0xFFFF
                ep.set_ttl(win.ttl_of(i))
                ts, _pkt, exc = ep.send(s)
                if exc is not None:
                    win.answer(i, (None, None, f"local error: {exc.strerror}"))
                else:
                    pending[s] = (i, ts, time.monotonic_ns() + timeout_ns)
            now = time.monotonic_ns()
            for s, (i, _ts, expiry) in list(pending.items()):
                if now >= expiry:
                    del pending[s]
                    win.answer(i)
            if deadline is not None and now >= deadline:
                pending.clear()
                win.abandon()
            if pending:
                wake = min(e for _i, _t, e in pending.values())
                if deadline is not None:
                    wake = min(wake, deadline)
                r, _w, _x = select.select([ep.fd], (), (), max(0, wake - now) / 1e9)
                if r:
                    for rts, src, _ttl, data, _n in ep.receive():
                        if len(data) < 8:
                            continue
                        typ = data[0]
                        if typ in ep.errors:
                            msg = icmp.parse_icmp(data, ep.v6)
                            q = msg.quoted if msg else None
                            if msg is None or q is None or q.icmp_id != ep.ident or q.icmp_seq not in pending:
                                continue
                            i, sent, _e = pending.pop(q.icmp_seq)
                            note = error_note(typ, msg.code, ep.v6, msg.info)
                            # an unreachable stops the trace here, like traceroute's !H/!N
                            win.answer(i, (src, (rts - sent) / 1e6, note), reached=bool(note))
                        elif typ == ep.reply_type:
                            ident, s = struct.unpack_from("!HH", data, 4)
                            if ident == ep.ident and s in pending:
                                i, sent, _e = pending.pop(s)
                                win.answer(i, (src, (rts - sent) / 1e6, ""), reached=True)
                    for ets, offender, origin, etype, ecode, info, pkt, _x2 in (
                        ep.receive_errors() if ep.kind == "dgram" else ()
                    ):
                        if len(pkt) >= 8:
                            s = struct.unpack_from("!H", pkt, 6)[0]
                            if s in pending:
                                i, sent, _e = pending.pop(s)
                                note = error_note(etype, ecode, origin == SO_EE_ORIGIN_ICMP6, info)
                                win.answer(
                                    i, (offender or None, (ets - sent) / 1e6, note), reached=bool(note)
                                )
            for hop in win.hops():
                hops.append(hop)
                if on_hop:
                    on_hop(hop)
            if not pending and win.next_ttl > win.stop_ttl:
                break
    finally:
        ep.close()
    return hops


# ---- UDP and TCP SYN probes ----------------------------------------------------------------------

IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IPV6_MTU_DISCOVER = getattr(socket, "IPV6_MTU_DISCOVER", 23)
PMTUDISC_PROBE = 3  # IP_PMTUDISC_PROBE / IPV6_PMTUDISC_PROBE
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
    dont_fragment: bool = False,
) -> list[Hop]:
    """traceroute with ``proto`` "udp" (port ``port`` fixed, or 33434 + probe number) or "tcp"
    (SYN to ``port``, default 80), up to ``parallel`` probes in flight across TTLs (traceroute's -N).
    ``dont_fragment``: probes carry DF whatever the path MTU cache says (traceroute -F), so a link
    with a smaller MTU answers "fragmentation needed" (!F-MTU). Returns one Hop per TTL, up to the
    target or ``max_hops``."""
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
                p = _send_probe(target, proto, v6, i, win.ttl_of(i), port, size, source, dont_fragment)
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
    target: Target,
    proto: str,
    v6: bool,
    n: int,
    ttl: int,
    port: int | None,
    size: int,
    source: str | None,
    dont_fragment: bool = False,
) -> _Probe:
    """Probe number ``n`` with this TTL, on its own socket (its error queue tells its answer)."""
    ip_level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    s = socket.socket(target.family, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    try:
        s.setblocking(False)
        s.setsockopt(ip_level, socket.IPV6_UNICAST_HOPS if v6 else socket.IP_TTL, ttl)
        s.setsockopt(ip_level, IPV6_RECVERR if v6 else IP_RECVERR, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if dont_fragment:  # IP_PMTUDISC_PROBE: DF set, the path MTU cache ignored (as traceroute -F)
            s.setsockopt(ip_level, IPV6_MTU_DISCOVER if v6 else IP_MTU_DISCOVER, PMTUDISC_PROBE)
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
