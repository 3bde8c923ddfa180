"""Multicast join/receive and send: ASM and SSM memberships over IPv4 and IPv6, test streams with stats."""

from __future__ import annotations

import errno
import ipaddress
import random
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sniffer.errors import NetworkError, SnifferError, UsageError, needs_privilege
from sniffer.model.multicast import (
    FLAG_LAST,
    HEADER_LEN,
    MembershipView,
    StreamHeader,
    StreamStats,
    pack_header,
)
from sniffer.netns import netns

# socket options (linux/in.h, linux/in6.h); the stdlib lacks several of them
SOL_IP = 0
SOL_IPV6 = 41
IP_TTL = 2
IP_RECVTTL = 12
IP_MULTICAST_IF = 32
IP_MULTICAST_TTL = 33
IP_MULTICAST_LOOP = 34
IP_ADD_MEMBERSHIP = 35
IP_DROP_MEMBERSHIP = 36
IP_ADD_SOURCE_MEMBERSHIP = 39
IP_DROP_SOURCE_MEMBERSHIP = 40
IP_MULTICAST_ALL = 49
IPV6_MULTICAST_IF = 17
IPV6_MULTICAST_HOPS = 18
IPV6_MULTICAST_LOOP = 19
IPV6_JOIN_GROUP = 20
IPV6_LEAVE_GROUP = 21
IPV6_MULTICAST_ALL = 29
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
MCAST_JOIN_SOURCE_GROUP = 46
MCAST_LEAVE_SOURCE_GROUP = 47
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
RCVBUF = 4 << 20  # 4 MiB receive buffer: bursts at tens of kpps fit while Python catches up

DEFAULT_PORT = 1234
DEFAULT_IFACE = "lo"
UNTIL_END_GRACE_S = 0.2


def ip_mreqn(group: str, ifindex: int, local: str = "0.0.0.0") -> bytes:
    """struct ip_mreqn { struct in_addr imr_multiaddr, imr_address; int imr_ifindex; }"""
    return socket.inet_aton(group) + socket.inet_aton(local) + struct.pack("@i", ifindex)


def ipv6_mreq(group: str, ifindex: int) -> bytes:
    """struct ipv6_mreq { struct in6_addr ipv6mr_multiaddr; unsigned int ipv6mr_interface; }"""
    return socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", ifindex)


def _sockaddr_storage(addr: str) -> bytes:
    """A sockaddr_in / sockaddr_in6 padded to sizeof(struct sockaddr_storage) (128)."""
    if ":" in addr:
        raw = struct.pack("@H", socket.AF_INET6) + struct.pack("!HI", 0, 0)
        raw += socket.inet_pton(socket.AF_INET6, addr) + struct.pack("@I", 0)
    else:
        raw = struct.pack("@H", socket.AF_INET) + struct.pack("!H", 0) + socket.inet_aton(addr)
    return raw + bytes(128 - len(raw))


def group_source_req(ifindex: int, group: str, source: str) -> bytes:
    """struct group_source_req { uint32_t gsr_interface; sockaddr_storage gsr_group, gsr_source; }
    (the storages are 8-byte aligned on 64-bit Linux, hence 4 bytes of padding after the index)."""
    pad = 4 if struct.calcsize("@P") == 8 else 0
    return struct.pack("@I", ifindex) + bytes(pad) + _sockaddr_storage(group) + _sockaddr_storage(source)


def hostport(addr: str, port: int) -> str:
    """``addr:port``, with IPv6 addresses in brackets."""
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def family_of(addr: str) -> int:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise UsageError(f"{addr!r} is not an IP address") from None
    return socket.AF_INET6 if ip.version == 6 else socket.AF_INET


def check_group(group: str) -> int:
    """The address family of ``group``; UsageError unless it is a multicast address."""
    fam = family_of(group)
    if not ipaddress.ip_address(group).is_multicast:
        raise UsageError(f"{group} is not a multicast address (224.0.0.0/4 or ff00::/8)")
    return fam


def resolve_iface(name: str | None, family: int) -> tuple[str, int]:
    """(name, ifindex) of the interface to use. None means loopback: sniffer never picks a real
    interface by itself (a join or a send on it would multicast on a real network)."""
    if name is None:
        if family == socket.AF_INET6:
            raise UsageError(
                "IPv6 multicast needs an interface: Linux does not deliver IPv6 multicast over lo; "
                "name one with -i IFACE (for example a veth inside a test namespace)"
            )
        name = DEFAULT_IFACE
    try:
        return name, socket.if_nametoindex(name)
    except OSError:
        raise NetworkError(f"no interface named {name!r} (see 'ip link')") from None


@dataclass
class Membership:
    """One group held by one socket: (*,G) when ``sources`` is empty, else (S,G) for each source."""

    group: str
    family: int
    ifname: str
    ifindex: int
    port: int
    sources: list[str] = field(default_factory=list)
    sock: socket.socket | None = None

    @property
    def kind(self) -> str:
        return "SSM" if self.sources else "ASM"

    def open(self) -> None:
        fam = self.family
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            _set_rcvbuf(s, RCVBUF)
            if fam == socket.AF_INET:
                s.setsockopt(SOL_IP, IP_MULTICAST_ALL, 0)  # only what this socket joined
                s.setsockopt(SOL_IP, IP_RECVTTL, 1)
                s.bind((self.group, self.port))
            else:
                s.setsockopt(SOL_IPV6, IPV6_MULTICAST_ALL, 0)
                s.setsockopt(SOL_IPV6, IPV6_RECVHOPLIMIT, 1)
                s.bind((self.group, self.port, 0, self.ifindex))
            self._join(s)
        except OSError as exc:
            s.close()
            raise _join_error(exc, self) from None
        self.sock = s

    def _join(self, s: socket.socket) -> None:
        if not self.sources:
            if self.family == socket.AF_INET:
                s.setsockopt(SOL_IP, IP_ADD_MEMBERSHIP, ip_mreqn(self.group, self.ifindex))
            else:
                s.setsockopt(SOL_IPV6, IPV6_JOIN_GROUP, ipv6_mreq(self.group, self.ifindex))
            return
        level = SOL_IP if self.family == socket.AF_INET else SOL_IPV6
        for src in self.sources:
            s.setsockopt(level, MCAST_JOIN_SOURCE_GROUP, group_source_req(self.ifindex, self.group, src))

    def leave(self) -> None:
        """Drop the membership explicitly (the kernel sends the leave/change report), then close."""
        s, self.sock = self.sock, None
        if s is None:
            return
        try:
            if not self.sources:
                if self.family == socket.AF_INET:
                    s.setsockopt(SOL_IP, IP_DROP_MEMBERSHIP, ip_mreqn(self.group, self.ifindex))
                else:
                    s.setsockopt(SOL_IPV6, IPV6_LEAVE_GROUP, ipv6_mreq(self.group, self.ifindex))
            else:
                level = SOL_IP if self.family == socket.AF_INET else SOL_IPV6
                for src in self.sources:
                    s.setsockopt(
                        level, MCAST_LEAVE_SOURCE_GROUP, group_source_req(self.ifindex, self.group, src)
                    )
        except OSError:
            pass  # closing the socket leaves as well
        finally:
            s.close()


def _set_rcvbuf(s: socket.socket, size: int) -> None:
    """SO_RCVBUFFORCE (root: past net.core.rmem_max), else SO_RCVBUF (capped at rmem_max)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def _join_error(exc: OSError, m: Membership) -> SnifferError:
    what = f"joining {m.group} on {m.ifname}"
    if exc.errno == errno.ENOBUFS:
        return NetworkError(
            f"{what}: the kernel refused (ENOBUFS): too many memberships or sources; raise "
            "net.ipv4.igmp_max_memberships / igmp_max_msf (or net.ipv6.mld_max_msf)"
        )
    if exc.errno == errno.EADDRINUSE:
        return NetworkError(f"{what}: this socket already joined it (duplicate group or source)")
    if exc.errno == errno.ENODEV:
        return NetworkError(f"{what}: no such device or it cannot do multicast (ip link set {m.ifname} up)")
    if exc.errno == errno.EINVAL and m.sources:
        return NetworkError(f"{what}: source-specific join refused (EINVAL): check -s is a unicast address")
    return needs_privilege(exc, what)


def _parse_cmsgs(ancdata: list[tuple[int, int, bytes]]) -> tuple[int | None, int | None]:
    rx_ns = ttl = None
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack_from("@qq", data)
            rx_ns = sec * 1_000_000_000 + nsec
        elif (level, kind) in ((SOL_IP, IP_TTL), (SOL_IPV6, IPV6_HOPLIMIT)) and len(data) >= 4:
            ttl = struct.unpack_from("@i", data)[0]
    return rx_ns, ttl


class Receiver:
    """Holds memberships and receives on them, accounting every datagram in a MembershipView.

    Use as a context manager: memberships are left on exit, whatever happens.
    """

    def __init__(
        self,
        groups: Sequence[str],
        port: int = DEFAULT_PORT,
        iface: str | None = None,
        sources: Sequence[str] = (),
        ns: str | None = None,
    ) -> None:
        if not groups:
            raise UsageError("give at least one group to join")
        fams = {check_group(g) for g in groups}
        if len(fams) > 1:
            raise UsageError("mixing IPv4 and IPv6 groups in one join: run two joins")
        fam = fams.pop()
        for src in sources:
            if family_of(src) != fam:
                raise UsageError(f"source {src} and the groups are not the same address family")
            if ipaddress.ip_address(src).is_multicast:
                raise UsageError(f"source {src} must be a unicast address")
        if len(set(groups)) != len(groups):
            raise UsageError("a group is given twice")
        self.family = fam
        self.ns = ns
        self.ifname, self.ifindex = self._resolve(iface)
        self.port = port
        self.memberships = [
            Membership(g, fam, self.ifname, self.ifindex, port, list(sources)) for g in groups
        ]
        self.view = MembershipView()
        self.joined_ns = 0
        self.received = 0

    def _resolve(self, iface: str | None) -> tuple[str, int]:
        with netns(self.ns):
            return resolve_iface(iface, self.family)

    def __enter__(self) -> Receiver:
        try:
            with netns(self.ns):
                for m in self.memberships:
                    m.open()
        except BaseException:
            self.close()
            raise
        self.joined_ns = time.time_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for m in self.memberships:
            m.leave()

    def streams(self) -> list[StreamStats]:
        return self.view.streams()

    def run(
        self,
        count: int = 0,
        duration: float | None = None,
        stop: threading.Event | None = None,
        until_last: bool = False,
        on_datagram: Callable[[StreamStats], None] | None = None,
        on_tick: Callable[[], None] | None = None,
        tick_s: float = 1.0,
    ) -> None:
        """Receive until ``count`` datagrams (0: no limit), ``duration`` seconds, ``stop`` is set, or
        (``until_last``) every group has a stream and every stream's last datagram arrived."""
        deadline = None if duration is None else time.monotonic() + duration
        socks = {m.sock: m for m in self.memberships if m.sock is not None}
        stop = stop or threading.Event()
        done_at: float | None = None
        next_tick = time.monotonic() + tick_s
        while not stop.is_set():
            if on_tick is not None and time.monotonic() >= next_tick:
                on_tick()
                next_tick += tick_s
            timeout = 0.2 if done_at is None else UNTIL_END_GRACE_S / 4
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                timeout = min(timeout, left)
            try:
                ready, _, _ = select.select(list(socks), [], [], timeout)
            except InterruptedError:
                continue
            for s in ready:
                m = socks[s]
                while True:
                    try:
                        data, anc, _flags, addr = s.recvmsg(65535, 256, socket.MSG_DONTWAIT)
                    except (BlockingIOError, InterruptedError):
                        break
                    rx_ns, ttl = _parse_cmsgs(anc)
                    st = self.view.observe_datagram(
                        rx_ns or time.time_ns(),
                        addr[0],
                        addr[1],
                        m.group,
                        self.port,
                        data,
                        ttl,
                        self.joined_ns,
                    )
                    self.received += 1
                    if on_datagram is not None:
                        on_datagram(st)
                    if count and self.received >= count:
                        return
            if until_last and self._all_done():
                # the senders are done: a short grace for stragglers (reordered datagrams), then stop
                if done_at is None:
                    done_at = time.monotonic()
                elif time.monotonic() - done_at >= UNTIL_END_GRACE_S:
                    return

    def _all_done(self) -> bool:
        streams = self.view.streams()
        groups = {s.group for s in streams}
        return (
            all(m.group in groups for m in self.memberships)
            and bool(streams)
            and all(s.last_seen for s in streams)
        )

    def report(self, now_ns: int | None = None) -> dict[str, Any]:
        now_ns = now_ns or time.time_ns()
        return {
            "iface": self.ifname,
            "port": self.port,
            "groups": [
                {
                    "group": m.group,
                    "kind": m.kind,
                    "sources": m.sources,
                    "streams": [s.to_dict(now_ns) for s in self.view.streams(m.group)],
                }
                for m in self.memberships
            ],
            "received": self.received,
        }


@dataclass
class SendResult:
    group: str
    port: int
    iface: str
    ttl: int
    source: str
    sender_id: int
    sent: int
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["rate_pps"] = round(self.sent / self.seconds, 3) if self.seconds > 0 else 0.0
        return d


def open_sender(
    group: str,
    port: int,
    iface: str | None,
    ttl: int = 1,
    loop: bool = True,
    source: str | None = None,
) -> tuple[socket.socket, tuple[Any, ...], str, str]:
    """A UDP socket set up to send to ``group`` on ``iface`` (lo if None). Returns
    (socket, destination sockaddr, interface name, source address)."""
    fam = check_group(group)
    ifname, ifindex = resolve_iface(iface, fam)
    if source is not None and family_of(source) != fam:
        raise UsageError(f"source address {source} and group {group} are not the same address family")
    if not 0 <= ttl <= 255:
        raise UsageError("--ttl must be 0..255")
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        if fam == socket.AF_INET:
            if source is None and ifname == DEFAULT_IFACE:
                source = "127.0.0.1"  # lo has no link-scope address: pin the source
            if source is not None:
                s.bind((source, 0))
            s.setsockopt(SOL_IP, IP_MULTICAST_IF, ip_mreqn("0.0.0.0", ifindex, source or "0.0.0.0"))
            s.setsockopt(SOL_IP, IP_MULTICAST_TTL, ttl)
            s.setsockopt(SOL_IP, IP_MULTICAST_LOOP, int(loop))
            dest: tuple[Any, ...] = (group, port)
            s.connect(dest)
        else:
            if source is not None:
                s.bind((source, 0, 0, ifindex if ipaddress.ip_address(source).is_link_local else 0))
            s.setsockopt(SOL_IPV6, IPV6_MULTICAST_IF, ifindex)
            s.setsockopt(SOL_IPV6, IPV6_MULTICAST_HOPS, ttl)
            s.setsockopt(SOL_IPV6, IPV6_MULTICAST_LOOP, int(loop))
            dest = (group, port, 0, ifindex)
        s.connect(dest)  # fixes the source address the kernel picks, so we can report it
    except OSError as exc:
        s.close()
        if exc.errno == errno.EADDRNOTAVAIL:
            raise NetworkError(f"source address {source} is not configured on this host") from None
        if exc.errno in (errno.ENETUNREACH, errno.ENODEV, errno.EHOSTUNREACH):
            raise NetworkError(
                f"cannot send to {group} on {ifname}: {exc.strerror} (is {ifname} up with an address? "
                "see 'sniffer mcast doctor')"
            ) from None
        raise needs_privilege(exc, f"setting up the sender on {ifname}") from None
    return s, dest, ifname, s.getsockname()[0]


def send_stream(
    group: str,
    port: int = DEFAULT_PORT,
    iface: str | None = None,
    ttl: int = 1,
    loop: bool = True,
    rate: float = 10.0,
    count: int = 10,
    duration: float | None = None,
    size: int = HEADER_LEN,
    source: str | None = None,
    sender_id: int | None = None,
    stop: threading.Event | None = None,
    ns: str | None = None,
) -> SendResult:
    """Send sequence-numbered, timestamped datagrams to ``group``; bounded by ``count`` and/or
    ``duration`` (at least one must be given). The last datagram carries FLAG_LAST; a sender stopped
    early sends one more datagram flagged last so receivers know the stream ended."""
    if count <= 0 and duration is None:
        raise UsageError("bound the stream: give -c N (> 0) or --duration S")
    if rate <= 0:
        raise UsageError("--rate must be > 0")
    if size < HEADER_LEN or size > 65507:
        raise UsageError(f"--size must be {HEADER_LEN}..65507 bytes (the header takes {HEADER_LEN})")
    with netns(ns):
        s, dest, ifname, src = open_sender(group, port, iface, ttl, loop, source)
    sender = sender_id if sender_id is not None else random.getrandbits(32)
    announced = count if duration is None else 0
    stop = stop or threading.Event()
    interval = 1.0 / rate
    t0 = time.monotonic()
    deadline = None if duration is None else t0 + duration
    start_ns = time.time_ns()
    sent = nbytes = 0
    seq = 0
    try:
        while count <= 0 or seq < count:
            due = t0 + seq * interval
            if deadline is not None and due >= deadline:
                break
            wait = due - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            if stop.is_set():
                break
            nxt = t0 + (seq + 1) * interval
            last = (count > 0 and seq == count - 1) or (deadline is not None and nxt >= deadline)
            hdr = StreamHeader(sender, seq, time.time_ns(), start_ns, announced, FLAG_LAST if last else 0)
            nbytes += _send(s, pack_header(hdr, size), dest, ifname)
            sent += 1
            seq += 1
            if last:
                break
        if stop.is_set() and sent:
            # interrupted: tell receivers the stream is over (this datagram is counted as sent)
            hdr = StreamHeader(sender, seq, time.time_ns(), start_ns, announced, FLAG_LAST)
            nbytes += _send(s, pack_header(hdr, size), dest, ifname)
            sent += 1
    finally:
        s.close()
    return SendResult(group, port, ifname, ttl, src, sender, sent, nbytes, time.monotonic() - t0)


def _send(s: socket.socket, payload: bytes, dest: tuple[Any, ...], ifname: str) -> int:
    for _attempt in range(100):
        try:
            return s.send(payload)
        except (BlockingIOError, InterruptedError):
            time.sleep(0.001)
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                time.sleep(0.001)
                continue
            if exc.errno == errno.ENETUNREACH:
                raise NetworkError(
                    f"sending to {dest[0]} on {ifname}: network unreachable (is {ifname} up? "
                    "see 'sniffer mcast doctor')"
                ) from None
            raise needs_privilege(exc, f"sending to {dest[0]} on {ifname}") from None
    raise NetworkError(f"sending to {dest[0]} on {ifname}: the socket stays busy (ENOBUFS)")
