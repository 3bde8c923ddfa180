"""Multicast model: the test-stream header, per-stream sequence statistics, and the membership view."""

from __future__ import annotations

import ipaddress
import struct
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------------------------------
# The test-stream datagram header (what `sniffer mcast send` puts at the start of every payload).
#
#   offset size field     meaning
#   0      4    magic     b"SNMC"
#   4      1    version   1
#   5      1    flags     bit 0: FLAG_LAST (the sender's last datagram)
#   6      2    hdrlen    40 (the payload after it is padding up to --size)
#   8      4    sender    sender id (random per run): a restarted sender is a new stream
#   12     4    count     datagrams the sender plans to send (0: unbounded)
#   16     8    seq       sequence number, 0 for the first datagram
#   24     8    ts_ns     send time, CLOCK_REALTIME nanoseconds
#   32     8    start_ns  send time of seq 0 (lets a receiver that was already joined count head loss)
# All fields are network byte order.
# --------------------------------------------------------------------------------------------------

MAGIC = b"SNMC"
VERSION = 1
FLAG_LAST = 0x01
HEADER = struct.Struct("!4sBBHIIQQQ")
HEADER_LEN = HEADER.size  # 40

#: a forward jump in sequence numbers larger than this is a sender restart, not a loss
MAX_GAP = 1 << 20


@dataclass(frozen=True)
class StreamHeader:
    """One decoded test-stream header."""

    sender: int
    seq: int
    ts_ns: int
    start_ns: int
    count: int = 0
    flags: int = 0

    @property
    def last(self) -> bool:
        return bool(self.flags & FLAG_LAST)


def pack_header(h: StreamHeader, size: int = HEADER_LEN) -> bytes:
    """The datagram payload for ``h``, zero-padded to ``size`` bytes (at least the header)."""
    raw = HEADER.pack(MAGIC, VERSION, h.flags, HEADER_LEN, h.sender, h.count, h.seq, h.ts_ns, h.start_ns)
    return raw + bytes(max(0, size - HEADER_LEN))


def parse_header(payload: bytes) -> StreamHeader | None:
    """Decode a test-stream header, or None when ``payload`` is not one (foreign traffic)."""
    if len(payload) < HEADER_LEN or payload[:4] != MAGIC:
        return None
    _magic, version, flags, hdrlen, sender, count, seq, ts_ns, start_ns = HEADER.unpack_from(payload)
    if version != VERSION or hdrlen < HEADER_LEN:
        return None
    return StreamHeader(sender=sender, seq=seq, ts_ns=ts_ns, start_ns=start_ns, count=count, flags=flags)


# --------------------------------------------------------------------------------------------------
# Per-stream statistics (like mcjoin / omping): loss, gaps, duplicates, reordering, one-way delay.
# --------------------------------------------------------------------------------------------------


@dataclass
class StreamStats:
    """Statistics of one stream: one sender (address, port, sender id) to one group and port.

    ``joined_ns`` is when the receiver's membership took effect. If the sender's stream started after
    that (``start_ns >= joined_ns``), datagrams before the first one received count as lost; otherwise
    the receiver joined late and they are not counted. Datagrams without our header (foreign traffic)
    are counted in ``packets``/``bytes`` only.
    """

    group: str
    port: int
    source: str
    sport: int
    sender: int | None = None
    joined_ns: int | None = None
    packets: int = 0  # unique datagrams received (duplicates excluded)
    bytes: int = 0
    duplicates: int = 0
    reordered: int = 0
    resets: int = 0
    first_seq: int | None = None
    max_seq: int | None = None
    count: int = 0  # what the sender announced
    last_seen: bool = False  # FLAG_LAST arrived
    first_rx_ns: int = 0
    last_rx_ns: int = 0
    delay_min_ns: int | None = None
    delay_max_ns: int | None = None
    delay_sum_ns: int = 0
    delay_n: int = 0
    jitter_ns: float = 0.0
    ttl_min: int | None = None
    ttl_max: int | None = None
    missing: set[int] = field(default_factory=set)
    _low: int = 0  # lowest sequence number accounted for (received or known missing)
    _last_delay: int | None = None

    def add(self, rx_ns: int, size: int, header: StreamHeader | None = None, ttl: int | None = None) -> None:
        """Account one received datagram of ``size`` payload bytes."""
        if not self.first_rx_ns:
            self.first_rx_ns = rx_ns
        self.last_rx_ns = max(self.last_rx_ns, rx_ns)
        if ttl is not None:
            self.ttl_min = ttl if self.ttl_min is None else min(self.ttl_min, ttl)
            self.ttl_max = ttl if self.ttl_max is None else max(self.ttl_max, ttl)
        if header is None:
            self.packets += 1
            self.bytes += size
            return
        if self.sender is None:
            self.sender = header.sender
        self.count = header.count or self.count
        if header.last:
            self.last_seen = True
        if not self._account_seq(header):
            return
        self.packets += 1
        self.bytes += size
        delay = rx_ns - header.ts_ns
        self.delay_min_ns = delay if self.delay_min_ns is None else min(self.delay_min_ns, delay)
        self.delay_max_ns = delay if self.delay_max_ns is None else max(self.delay_max_ns, delay)
        self.delay_sum_ns += delay
        self.delay_n += 1
        if self._last_delay is not None:  # RFC 3550 interarrival jitter
            self.jitter_ns += (abs(delay - self._last_delay) - self.jitter_ns) / 16
        self._last_delay = delay

    def _account_seq(self, h: StreamHeader) -> bool:
        """Update the sequence state; False when the datagram is a duplicate."""
        seq = h.seq
        if self.max_seq is None:
            self.first_seq = self.max_seq = self._low = seq
            if self.joined_ns is not None and h.start_ns >= self.joined_ns and seq <= MAX_GAP:
                self.missing.update(range(0, seq))  # we were listening: the head was lost
                self._low = 0
            return True
        if seq > self.max_seq:
            if seq - self.max_seq > MAX_GAP:
                self.resets += 1
                self.missing.clear()
                self._low = seq
            else:
                self.missing.update(range(self.max_seq + 1, seq))
            self.max_seq = seq
            return True
        if seq in self.missing:
            self.missing.discard(seq)
            self.reordered += 1
            return True
        if seq < self._low and self._low - seq <= MAX_GAP:
            # below everything seen so far: it was overtaken by later ones
            self.missing.update(range(seq + 1, self._low))
            self._low = seq
            self.reordered += 1
            return True
        self.duplicates += 1
        return False

    def tail_lost(self, now_ns: int | None = None) -> int:
        """Datagrams after the last one received that the sender announced but never arrived.

        Counted only once the stream is over: its last datagram arrived, or (given ``now_ns``) it has
        been idle for more than max(1 s, 20 mean intervals).
        """
        if not self.count or self.max_seq is None or self.max_seq >= self.count - 1:
            return 0
        if not self.last_seen and now_ns is not None and self.packets > 1:
            interval = (self.last_rx_ns - self.first_rx_ns) / max(1, self.packets - 1)
            if now_ns - self.last_rx_ns > max(1e9, 20 * interval):
                return self.count - 1 - self.max_seq
        return 0

    def lost(self, now_ns: int | None = None) -> int:
        return len(self.missing) + self.tail_lost(now_ns)

    def gaps(self, now_ns: int | None = None) -> int:
        """Number of runs of consecutive missing sequence numbers."""
        runs = 0
        prev = None
        for seq in sorted(self.missing):
            if prev is None or seq != prev + 1:
                runs += 1
            prev = seq
        return runs + (1 if self.tail_lost(now_ns) else 0)

    @property
    def expected(self) -> int:
        if self.max_seq is None:
            return self.packets
        return self.packets + len(self.missing)

    def rate_pps(self) -> float:
        span = (self.last_rx_ns - self.first_rx_ns) / 1e9
        return (self.packets - 1) / span if span > 0 and self.packets > 1 else 0.0

    def to_dict(self, now_ns: int | None = None) -> dict[str, Any]:
        lost = self.lost(now_ns)
        expected = self.packets + lost
        return {
            "group": self.group,
            "port": self.port,
            "source": self.source,
            "sport": self.sport,
            "sender_id": self.sender,
            "packets": self.packets,
            "bytes": self.bytes,
            "lost": lost,
            "loss_pct": round(100.0 * lost / expected, 3) if expected else 0.0,
            "gaps": self.gaps(now_ns),
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "resets": self.resets,
            "first_seq": self.first_seq,
            "last_seq": self.max_seq,
            "announced": self.count,
            "complete": self.last_seen,
            "rate_pps": round(self.rate_pps(), 3),
            "delay_ms": None
            if not self.delay_n
            else {
                "min": round((self.delay_min_ns or 0) / 1e6, 3),
                "avg": round(self.delay_sum_ns / self.delay_n / 1e6, 3),
                "max": round((self.delay_max_ns or 0) / 1e6, 3),
                "jitter": round(self.jitter_ns / 1e6, 3),
            },
            "ttl": None if self.ttl_min is None else {"min": self.ttl_min, "max": self.ttl_max},
        }


# --------------------------------------------------------------------------------------------------
# The kernel's membership table (filled by sniffer.gen.mcast.proc from /proc) and the wire view.
# --------------------------------------------------------------------------------------------------


@dataclass
class SourceFilter:
    """One source of a group's kernel source filter (/proc/net/mcfilter{,6}): socket counts."""

    address: str
    include: int = 0  # sockets that include this source
    exclude: int = 0  # sockets that exclude it


@dataclass
class KernelMembership:
    """One group joined on one interface, as the kernel holds it.

    ``mode`` is derived: "exclude" with no sources is an any-source (*,G) membership; sources with a
    non-zero exclude count make it "exclude"; sources only included make it "include" (source-specific).
    (/proc does not show the group's own mode; a mix of an ASM and an SSM socket shows as "include".)
    """

    family: str  # "ipv4" | "ipv6"
    ifindex: int
    ifname: str
    group: str
    users: int
    timer_running: bool = False
    timer_s: float = 0.0
    reporter: bool = False
    querier: str | None = None  # IGMP version in force on the interface: "V1" | "V2" | "V3"
    forced_version: int = 0  # force_igmp_version / force_mld_version of the interface (0: not forced)
    flags: int = 0  # IPv6 MAF_* flags
    sources: list[SourceFilter] = field(default_factory=list)
    #: False when /proc/net/mcfilter cannot tell: its listing starts at the first interface whose newest
    #: group has sources, so the older groups of interfaces before that one never show theirs
    sources_known: bool = True

    @property
    def mode(self) -> str:
        if not self.sources_known:
            return "unknown"
        if not self.sources or any(s.exclude for s in self.sources):
            return "exclude"
        return "include"

    @property
    def key(self) -> tuple[str, str]:
        return (self.ifname, self.group)

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "ifindex": self.ifindex,
            "ifname": self.ifname,
            "group": self.group,
            "users": self.users,
            "timer_running": self.timer_running,
            "timer_s": self.timer_s,
            "reporter": self.reporter,
            "querier": self.querier,
            "forced_version": self.forced_version,
            "mode": self.mode,
            "sources_known": self.sources_known,
            "sources": [
                {"address": s.address, "include": s.include, "exclude": s.exclude} for s in self.sources
            ],
        }


# IGMP message types (RFC 1112, 2236, 3376)
IGMP_QUERY = 0x11
IGMP_V1_REPORT = 0x12
IGMP_V2_REPORT = 0x16
IGMP_V2_LEAVE = 0x17
IGMP_V3_REPORT = 0x22
# MLD message types (ICMPv6, RFC 2710, 3810)
MLD_QUERY = 130
MLD_V1_REPORT = 131
MLD_V1_DONE = 132
MLD_V2_REPORT = 143
# group record types (IGMPv3 and MLDv2 share them)
MODE_IS_INCLUDE = 1
MODE_IS_EXCLUDE = 2
CHANGE_TO_INCLUDE = 3
CHANGE_TO_EXCLUDE = 4
ALLOW_NEW_SOURCES = 5
BLOCK_OLD_SOURCES = 6
RECORD_NAMES = {
    MODE_IS_INCLUDE: "IS_IN",
    MODE_IS_EXCLUDE: "IS_EX",
    CHANGE_TO_INCLUDE: "TO_IN",
    CHANGE_TO_EXCLUDE: "TO_EX",
    ALLOW_NEW_SOURCES: "ALLOW",
    BLOCK_OLD_SOURCES: "BLOCK",
}


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 0)
    except ValueError:
        return None


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _is_multicast(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_multicast
    except ValueError:
        return False


def _udp_payload(data: bytes, size: int) -> bytes:
    """The UDP payload of ``size`` bytes inside a frame: found by our header's magic when it carries one
    (the header then validates it), else the bytes are unknown and only the size matters."""
    at = data.find(MAGIC)
    while at != -1:
        if parse_header(data[at : at + size]) is not None and at + size <= len(data):
            return data[at : at + size]
        at = data.find(MAGIC, at + 1)
    return bytes(max(0, size))


@dataclass
class GroupRecord:
    """One group record of a report (IGMPv3/MLDv2), or the equivalent of a v1/v2 report or leave."""

    group: str
    record_type: int  # MODE_IS_INCLUDE ... BLOCK_OLD_SOURCES
    sources: list[str] = field(default_factory=list)

    @property
    def is_leave(self) -> bool:
        return self.record_type in (MODE_IS_INCLUDE, CHANGE_TO_INCLUDE) and not self.sources


@dataclass
class MembershipMessage:
    """One IGMP or MLD message reduced to what the membership view needs."""

    family: str
    kind: str  # "query" | "report" | "leave"
    version: int
    src: str
    records: list[GroupRecord] = field(default_factory=list)
    group: str | None = None  # for queries: the group asked about (None: general query)
    query_sources: list[str] = field(default_factory=list)
    max_resp: int | None = None
    qrv: int | None = None
    qqic: int | None = None


def membership_message(fields: Mapping[str, Any]) -> MembershipMessage | None:
    """Reduce a frame's Wireshark-named fields (decode.fields.frame_fields) to a MembershipMessage.

    Returns None for frames that carry no IGMP/MLD membership message.
    """
    if "igmp.type" in fields:
        return _igmp_message(fields)
    icmp_type = _int(_first(fields.get("icmpv6.type")))
    if icmp_type in (MLD_QUERY, MLD_V1_REPORT, MLD_V1_DONE, MLD_V2_REPORT):
        return _mld_message(fields, icmp_type)
    return None


def _igmp_message(f: Mapping[str, Any]) -> MembershipMessage | None:
    t = _int(_first(f.get("igmp.type")))
    src = str(_first(f.get("ip.src")) or "")
    version = _int(_first(f.get("igmp.version")))
    if t == IGMP_QUERY:
        is_v3 = any(k in f for k in ("igmp.qrv", "igmp.qqic", "igmp.num_src"))
        max_resp = _int(_first(f.get("igmp.max_resp")))
        if version is None:
            version = 3 if is_v3 else (2 if max_resp else 1)
        group = str(_first(f.get("igmp.maddr")) or "")
        return MembershipMessage(
            family="ipv4",
            kind="query",
            version=version,
            src=src,
            group=None if group in ("", "0.0.0.0") else group,
            query_sources=[str(s) for s in _list(f.get("igmp.saddr"))],
            max_resp=max_resp,
            qrv=_int(_first(f.get("igmp.qrv"))),
            qqic=_int(_first(f.get("igmp.qqic"))),
        )
    if t in (IGMP_V1_REPORT, IGMP_V2_REPORT):
        g = str(_first(f.get("igmp.maddr")) or "")
        return MembershipMessage(
            family="ipv4",
            kind="report",
            version=1 if t == IGMP_V1_REPORT else 2,
            src=src,
            records=[GroupRecord(g, MODE_IS_EXCLUDE)],
        )
    if t == IGMP_V2_LEAVE:
        g = str(_first(f.get("igmp.maddr")) or "")
        return MembershipMessage(
            family="ipv4", kind="leave", version=2, src=src, records=[GroupRecord(g, CHANGE_TO_INCLUDE)]
        )
    if t == IGMP_V3_REPORT:
        records = _split_records(
            f.get("igmp.record_type"), f.get("igmp.maddr"), f.get("igmp.num_src"), f.get("igmp.saddr")
        )
        return MembershipMessage(family="ipv4", kind="report", version=3, src=src, records=records)
    return None


def _mld_message(f: Mapping[str, Any], t: int) -> MembershipMessage | None:
    src = str(_first(f.get("ipv6.src")) or "")
    if t == MLD_QUERY:
        is_v2 = any(k in f for k in ("icmpv6.mld.flag.qrv", "icmpv6.mld.qqi", "icmpv6.mld.nb_sources"))
        group = str(_first(f.get("icmpv6.mld.multicast_address")) or "")
        return MembershipMessage(
            family="ipv6",
            kind="query",
            version=2 if is_v2 else 1,
            src=src,
            group=None if group in ("", "::") else group,
            query_sources=[str(s) for s in _list(f.get("icmpv6.mld.source_address"))],
            max_resp=_int(
                _first(f.get("icmpv6.mld.maximum_response_code", f.get("icmpv6.mld.maximum_response_delay")))
            ),
            qrv=_int(_first(f.get("icmpv6.mld.flag.qrv"))),
            qqic=_int(_first(f.get("icmpv6.mld.qqi"))),
        )
    if t == MLD_V1_REPORT:
        g = str(_first(f.get("icmpv6.mld.multicast_address")) or "")
        return MembershipMessage("ipv6", "report", 1, src, [GroupRecord(g, MODE_IS_EXCLUDE)])
    if t == MLD_V1_DONE:
        g = str(_first(f.get("icmpv6.mld.multicast_address")) or "")
        return MembershipMessage("ipv6", "leave", 1, src, [GroupRecord(g, CHANGE_TO_INCLUDE)])
    records = _split_records(
        f.get("icmpv6.mldr.mar.record_type"),
        f.get("icmpv6.mldr.mar.multicast_address"),
        f.get("icmpv6.mldr.mar.nb_sources"),
        f.get("icmpv6.mldr.mar.source_address"),
    )
    return MembershipMessage("ipv6", "report", 2, src, records)


def _split_records(types: Any, groups: Any, nsrcs: Any, sources: Any) -> list[GroupRecord]:
    """Re-assemble group records from the flat field lists (sources split by each record's count)."""
    tl, gl, nl, sl = _list(types), _list(groups), _list(nsrcs), [str(s) for s in _list(sources)]
    out: list[GroupRecord] = []
    pos = 0
    for i, (rt, g) in enumerate(zip(tl, gl, strict=False)):
        n = _int(nl[i]) if i < len(nl) else 0
        n = n or 0
        out.append(GroupRecord(str(g), _int(rt) or 0, sl[pos : pos + n]))
        pos += n
    return out


@dataclass
class MemberState:
    """One host's membership of one group, as its reports say."""

    address: str
    mode: str  # "exclude" (any source but these) | "include" (only these)
    sources: set[str]
    version: int
    last_report_ns: int


@dataclass
class TimelineEvent:
    ts_ns: int
    event: str  # join | leave | change | report | query | kernel-present | kernel-join | kernel-leave
    who: str
    detail: str = ""


@dataclass
class QuerierState:
    family: str
    address: str
    version: int
    last_query_ns: int
    max_resp: int | None = None
    qrv: int | None = None
    qqic: int | None = None
    queries: int = 0


@dataclass
class GroupState:
    """Everything known about one group: kernel memberships, members on the wire, timeline."""

    group: str
    family: str
    kernel: list[KernelMembership] = field(default_factory=list)
    members: dict[str, MemberState] = field(default_factory=dict)
    version: int | None = None  # version of the last report seen
    last_report_ns: int | None = None
    last_query_ns: int | None = None
    reports: int = 0
    leaves: int = 0
    timeline: deque[TimelineEvent] = field(default_factory=lambda: deque(maxlen=256))


class MembershipView:
    """Joins the kernel's membership table with the IGMP/MLD messages seen on the wire, per group,
    and keeps per-stream statistics for the groups being received. Pure: feed it, then read it.

    Feed with :meth:`update_kernel` (a fresh /proc snapshot), :meth:`observe` (one frame's fields, or
    :meth:`observe_frame` for a Frame) and :meth:`observe_datagram` (one UDP datagram to a group).
    """

    def __init__(
        self, timeline_len: int = 256, listener: Callable[[GroupState, TimelineEvent], None] | None = None
    ) -> None:
        self.listener = listener  # called with every new timeline event (e.g. to print it live)
        #: event name for the groups of the first kernel snapshot (a watcher may say "kernel-present")
        self.first_kernel_event = "kernel-join"
        self._groups: dict[str, GroupState] = {}
        self._queriers: dict[tuple[str, str], QuerierState] = {}
        self._streams: dict[tuple[str, int, str, int, int | None], StreamStats] = {}
        self._kernel_keys: set[tuple[str, str]] = set()
        self._kernel_seen = False
        self._timeline_len = timeline_len

    def _event(self, g: GroupState, ev: TimelineEvent) -> None:
        g.timeline.append(ev)
        if self.listener is not None:
            self.listener(g, ev)

    # ---- feeding ---------------------------------------------------------------------------------

    def _group(self, group: str, family: str) -> GroupState:
        g = self._groups.get(group)
        if g is None:
            g = GroupState(group, family, timeline=deque(maxlen=self._timeline_len))
            self._groups[group] = g
        return g

    def update_kernel(self, memberships: Iterable[KernelMembership], ts_ns: int) -> None:
        """Replace the kernel table with a new snapshot; joins and leaves become timeline events."""
        fresh: dict[str, list[KernelMembership]] = {}
        keys: set[tuple[str, str]] = set()
        for m in memberships:
            fresh.setdefault(m.group, []).append(m)
            keys.add(m.key)
        event = "kernel-join" if self._kernel_seen else self.first_kernel_event
        self._kernel_seen = True
        for ifname, group in sorted(keys - self._kernel_keys):
            g = self._group(group, "ipv6" if ":" in group else "ipv4")
            self._event(g, TimelineEvent(ts_ns, event, ifname))
        for ifname, group in sorted(self._kernel_keys - keys):
            g = self._group(group, "ipv6" if ":" in group else "ipv4")
            self._event(g, TimelineEvent(ts_ns, "kernel-leave", ifname))
        for g in self._groups.values():
            g.kernel = []
        for group, ms in fresh.items():
            self._group(group, ms[0].family).kernel = ms
        self._kernel_keys = keys

    def observe(self, ts_ns: int, fields: Mapping[str, Any]) -> MembershipMessage | None:
        """Account one frame given its fields; returns the membership message it carried, if any."""
        msg = membership_message(fields)
        if msg is None:
            return None
        if msg.kind == "query":
            self._observe_query(ts_ns, msg)
        else:
            for rec in msg.records:
                self._observe_record(ts_ns, msg, rec)
        return msg

    def observe_frame(self, frame: Any) -> MembershipMessage | None:
        """Account one captured Frame (decoded with sniffer.decode.fields.frame_fields): IGMP/MLD
        messages, and UDP datagrams sent to a multicast group (per-stream statistics)."""
        from sniffer.decode.fields import frame_fields

        fields = frame_fields(frame)
        msg = self.observe(frame.ts_ns, fields)
        if msg is None and "udp.dstport" in fields:
            dst = str(_first(fields.get("ip.dst", fields.get("ipv6.dst"))) or "")
            if _is_multicast(dst):
                src = str(_first(fields.get("ip.src", fields.get("ipv6.src"))) or "")
                size = (_int(_first(fields.get("udp.length"))) or 8) - 8
                ttl = _int(_first(fields.get("ip.ttl", fields.get("ipv6.hlim"))))
                self.observe_datagram(
                    frame.ts_ns,
                    src,
                    _int(_first(fields.get("udp.srcport"))) or 0,
                    dst,
                    _int(_first(fields.get("udp.dstport"))) or 0,
                    _udp_payload(bytes(frame.data), size),
                    ttl,
                )
        return msg

    def observe_datagram(
        self,
        rx_ns: int,
        source: str,
        sport: int,
        group: str,
        port: int,
        payload: bytes,
        ttl: int | None = None,
        joined_ns: int | None = None,
    ) -> StreamStats:
        """Account one UDP datagram sent to a group (parsing our test header when it has one)."""
        header = parse_header(payload)
        key = (group, port, source, sport, header.sender if header else None)
        st = self._streams.get(key)
        if st is None:
            st = StreamStats(group, port, source, sport, joined_ns=joined_ns)
            self._streams[key] = st
            self._group(group, "ipv6" if ":" in group else "ipv4")
        st.add(rx_ns, len(payload), header, ttl)
        return st

    def _observe_query(self, ts_ns: int, msg: MembershipMessage) -> None:
        q = self._queriers.get((msg.family, msg.src))
        if q is None:
            q = QuerierState(msg.family, msg.src, msg.version, ts_ns)
            self._queriers[(msg.family, msg.src)] = q
        q.version, q.last_query_ns, q.queries = msg.version, ts_ns, q.queries + 1
        q.max_resp, q.qrv, q.qqic = msg.max_resp, msg.qrv, msg.qqic
        if msg.group and _is_multicast(msg.group):
            g = self._group(msg.group, msg.family)
            g.last_query_ns = ts_ns
            detail = f"v{msg.version} group-specific"
            if msg.query_sources:
                detail += " sources " + ",".join(msg.query_sources)
            self._event(g, TimelineEvent(ts_ns, "query", msg.src, detail))

    def _observe_record(self, ts_ns: int, msg: MembershipMessage, rec: GroupRecord) -> None:
        if not rec.group:
            return
        g = self._group(rec.group, msg.family)
        g.version = msg.version
        g.last_report_ns = ts_ns
        name = RECORD_NAMES.get(rec.record_type, str(rec.record_type))
        srcs = ("{" + ",".join(rec.sources) + "}") if rec.sources or msg.version >= 2 else ""
        if msg.kind == "leave":
            g.leaves += 1
            g.members.pop(msg.src, None)
            self._event(g, TimelineEvent(ts_ns, "leave", msg.src, f"v{msg.version} leave"))
            return
        g.reports += 1
        old = g.members.get(msg.src)
        new_mode, new_sources = self._apply(old, rec)
        if new_mode == "include" and not new_sources:
            g.leaves += 1
            g.members.pop(msg.src, None)
            self._event(g, TimelineEvent(ts_ns, "leave", msg.src, f"v{msg.version} {name}{srcs}"))
            return
        g.members[msg.src] = MemberState(msg.src, new_mode, new_sources, msg.version, ts_ns)
        if old is None:
            event = "join"
        elif (old.mode, old.sources) != (new_mode, new_sources):
            event = "change"
        else:
            event = "report"
        self._event(g, TimelineEvent(ts_ns, event, msg.src, f"v{msg.version} {name}{srcs}"))

    @staticmethod
    def _apply(old: MemberState | None, rec: GroupRecord) -> tuple[str, set[str]]:
        """The member's (mode, sources) after one record (RFC 3376 section 6.4 from the host side)."""
        srcs = set(rec.sources)
        mode, cur = (old.mode, set(old.sources)) if old else ("include", set())
        rt = rec.record_type
        if rt in (MODE_IS_INCLUDE, CHANGE_TO_INCLUDE):
            return "include", srcs
        if rt in (MODE_IS_EXCLUDE, CHANGE_TO_EXCLUDE):
            return "exclude", srcs
        if rt == ALLOW_NEW_SOURCES:
            return (mode, cur | srcs) if mode == "include" else (mode, cur - srcs)
        if rt == BLOCK_OLD_SOURCES:
            return (mode, cur - srcs) if mode == "include" else (mode, cur | srcs)
        return mode, cur

    # ---- reading ---------------------------------------------------------------------------------

    def groups(self) -> list[GroupState]:
        """Every group known from the kernel, the wire or received streams, in address order."""
        return sorted(self._groups.values(), key=lambda g: (g.family, ipaddress.ip_address(g.group)))

    def group(self, group: str) -> GroupState | None:
        return self._groups.get(group)

    def queriers(self) -> list[QuerierState]:
        return sorted(self._queriers.values(), key=lambda q: (q.family, q.address))

    def streams(self, group: str | None = None) -> list[StreamStats]:
        out = [s for s in self._streams.values() if group is None or s.group == group]
        return sorted(out, key=lambda s: (s.group, s.port, s.source, s.sport))

    def rows(self, now_ns: int | None = None) -> list[dict[str, Any]]:
        """One summary row per group for a table: members, version, last report, kernel, streams."""
        rows = []
        for g in self.groups():
            streams = self.streams(g.group)
            rows.append(
                {
                    "group": g.group,
                    "family": g.family,
                    "kernel": [f"{k.ifname}({k.users})" for k in g.kernel],
                    "mode": g.kernel[0].mode if g.kernel else None,
                    "members": sorted(g.members),
                    "version": g.version,
                    "last_report_ns": g.last_report_ns,
                    "reports": g.reports,
                    "leaves": g.leaves,
                    "timers": [k.timer_s for k in g.kernel if k.timer_running],
                    "streams": len(streams),
                    "packets": sum(s.packets for s in streams),
                    "lost": sum(s.lost(now_ns) for s in streams),
                    "rate_pps": round(sum(s.rate_pps() for s in streams), 3),
                }
            )
        return rows
