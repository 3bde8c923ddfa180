"""ICMP echo generation through the ping core (sniffer.gen.ping.engine), with our tag in every payload.

The ping core owns the sockets (raw, or the unprivileged ICMP datagram socket), the timing and the
matching; this module only asks it for a bounded run and turns its statistics into a generator
Report. Payload layout (the core's, like iputils): 16-byte send timestamp, then our 28-byte tag
(flow id; tag seq 0 -- the ICMP echo sequence number is the per-packet sequence), then filler.
"""

from __future__ import annotations

import socket

from sniffer.errors import UsageError
from sniffer.gen.core.payload import TAG_LEN, build_payload
from sniffer.gen.core.report import Report

TIMEVAL_LEN = 16
MIN_SIZE = TIMEVAL_LEN + TAG_LEN


def run_icmp(
    target: str,
    family: str = "inet",
    count: int = 10,
    interval: float = 0.01,
    size: int = 64,
    timeout: float = 1.0,
    duration: float = 30.0,
    flow_id: int = 0,
    kind: str = "auto",
    ttl: int | None = None,
) -> Report:
    """Ping ``target`` ``count`` times (bounded by ``duration``) and report like the other generators."""
    from sniffer.gen.ping.engine import PingOptions, PingSession

    if size < MIN_SIZE:
        raise UsageError(
            f"--size {size} is too small for ICMP: the timestamp and the tag take {MIN_SIZE} bytes"
        )
    tag = build_payload(flow_id, 0, size - TIMEVAL_LEN)
    opts = PingOptions(
        count=count,
        interval=interval,
        deadline=duration,
        timeout=timeout,
        size=size,
        payload_data=tag,
        family=6 if family == "inet6" else 4,
        socket_kind=kind,
        ttl=ttl,
    )
    session = PingSession([target], opts)
    try:
        stats = session.run()[0]
        rep = Report("echo", family, session.kind, "ping-core", peer=stats.address, flow_id=flow_id)
        rep.duration_s = session.elapsed_ms / 1e3
        rep.sent = stats.transmitted
        rep.received = stats.received + stats.duplicates
        rep.echoed = stats.received
        rep.errors = stats.errors + stats.damaged
        rep.bytes_sent = stats.transmitted * (size + 8)
        rep.bytes_received = rep.received * (size + 8)
        rep.rtts_ns = [int(ms * 1e6) for ms in stats.rtts_ms]
        sock = session.endpoints[0].sock
        rep.options = {
            "socket": session.kind,
            "IP_TTL" if family == "inet" else "IPV6_UNICAST_HOPS": _ttl(sock),
        }
    finally:
        session.close()
    return rep


def _ttl(sock: socket.socket) -> int | None:
    try:
        if sock.family == socket.AF_INET6:
            return sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS)
        return sock.getsockopt(socket.IPPROTO_IP, socket.IP_TTL)
    except OSError:
        return None
