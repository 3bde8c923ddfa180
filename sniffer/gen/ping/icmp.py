"""ICMP and ICMPv6 packet builder and parser: echo and other types, Internet checksum, quoted headers."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field

from sniffer.checksum import checksum, fold, ones_sum
from sniffer.decode.layers import ipv4, ipv6

# --- ICMPv4 types (RFC 792, 950) ---------------------------------------------------------------
ICMP_ECHOREPLY = 0  # echo reply
ICMP_DEST_UNREACH = 3  # destination unreachable
ICMP_SOURCE_QUENCH = 4  # source quench (deprecated)
ICMP_REDIRECT = 5  # redirect
ICMP_ECHO = 8  # echo request
ICMP_ROUTERADVERT = 9  # router advertisement
ICMP_ROUTERSOLICIT = 10  # router solicitation
ICMP_TIME_EXCEEDED = 11  # time exceeded
ICMP_PARAMETERPROB = 12  # parameter problem
ICMP_TIMESTAMP = 13  # timestamp request
ICMP_TIMESTAMPREPLY = 14  # timestamp reply
ICMP_INFO_REQUEST = 15  # information request
ICMP_INFO_REPLY = 16  # information reply
ICMP_ADDRESS = 17  # address mask request
ICMP_ADDRESSREPLY = 18  # address mask reply

# --- ICMPv6 types (RFC 4443, 4861) ---------------------------------------------------------------
ICMP6_DST_UNREACH = 1  # destination unreachable
ICMP6_PACKET_TOO_BIG = 2  # packet too big
ICMP6_TIME_EXCEEDED = 3  # time exceeded
ICMP6_PARAM_PROB = 4  # parameter problem
ICMP6_ECHO_REQUEST = 128  # echo request
ICMP6_ECHO_REPLY = 129  # echo reply
ICMP6_NI_QUERY = 139  # node information query
ICMP6_NI_REPLY = 140  # node information reply

ICMP_TYPE_NAMES = {
    0: "Echo Reply",
    3: "Destination Unreachable",
    4: "Source Quench",
    5: "Redirect",
    8: "Echo Request",
    9: "Router Advertisement",
    10: "Router Solicitation",
    11: "Time to live exceeded",
    12: "Parameter problem",
    13: "Timestamp Request",
    14: "Timestamp Reply",
    15: "Information Request",
    16: "Information Reply",
    17: "Address Mask Request",
    18: "Address Mask Reply",
}
ICMP6_TYPE_NAMES = {
    1: "Destination unreachable",
    2: "Packet too big",
    3: "Time exceeded",
    4: "Parameter problem",
    128: "Echo Request",
    129: "Echo Reply",
    130: "Multicast Listener Query",
    131: "Multicast Listener Report",
    132: "Multicast Listener Done",
    133: "Router Solicitation",
    134: "Router Advertisement",
    135: "Neighbor Solicitation",
    136: "Neighbor Advertisement",
    137: "Redirect",
    139: "Node Information Query",
    140: "Node Information Reply",
    143: "Multicast Listener Report v2",
}
# iputils wording for the error codes
_UNREACH4 = {
    0: "Destination Net Unreachable",
    1: "Destination Host Unreachable",
    2: "Destination Protocol Unreachable",
    3: "Destination Port Unreachable",
    4: "Frag needed and DF set",
    5: "Source Route Failed",
    6: "Destination Net Unknown",
    7: "Destination Host Unknown",
    8: "Source Host Isolated",
    9: "Destination Net Prohibited",
    10: "Destination Host Prohibited",
    11: "Destination Net Unreachable for Type of Service",
    12: "Destination Host Unreachable for Type of Service",
    13: "Packet filtered",
    14: "Precedence Violation",
    15: "Precedence Cutoff",
}
_TIMEX4 = {0: "Time to live exceeded", 1: "Frag reassembly time exceeded"}
_UNREACH6 = {
    0: "Destination unreachable: No route",
    1: "Destination unreachable: Administratively prohibited",
    2: "Destination unreachable: Beyond scope of source address",
    3: "Destination unreachable: Address unreachable",
    4: "Destination unreachable: Port unreachable",
    5: "Destination unreachable: Source address failed ingress/egress policy",
    6: "Destination unreachable: Reject route to destination",
}
_TIMEX6 = {0: "Time exceeded: Hop limit", 1: "Time exceeded: Defragmentation failure"}
_PARAM6 = {
    0: "Parameter problem: Wrong header field",
    1: "Parameter problem: Unknown header",
    2: "Parameter problem: Unknown option",
}

#: types that quote the offending datagram (IPv4 / IPv6)
ERROR_TYPES4 = frozenset(
    {ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB}
)
ERROR_TYPES6 = frozenset({ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED, ICMP6_PARAM_PROB})

#: request type -> the reply type that answers it (both share the id/seq layout of echo)
REPLY_FOR4 = {
    ICMP_ECHO: ICMP_ECHOREPLY,
    ICMP_TIMESTAMP: ICMP_TIMESTAMPREPLY,
    ICMP_INFO_REQUEST: ICMP_INFO_REPLY,
    ICMP_ADDRESS: ICMP_ADDRESSREPLY,
}
REPLY_FOR6 = {ICMP6_ECHO_REQUEST: ICMP6_ECHO_REPLY, ICMP6_NI_QUERY: ICMP6_NI_REPLY}

_ICMP_HDR = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_TIMEVAL = struct.Struct("=qq")  # struct timeval as iputils puts it at the start of the payload
TIMEVAL_LEN = _TIMEVAL.size


def pseudo_header6(src: str, dst: str, length: int, nxt: int = socket.IPPROTO_ICMPV6) -> bytes:
    """IPv6 pseudo-header (RFC 8200 8.1) for the ICMPv6 checksum."""
    return (
        socket.inet_pton(socket.AF_INET6, src)
        + socket.inet_pton(socket.AF_INET6, dst)
        + struct.pack("!IxxxB", length, nxt)
    )


def icmp6_checksum(src: str, dst: str, icmp: bytes | bytearray) -> int:
    """ICMPv6 checksum over pseudo-header + message (checksum field taken as it is in ``icmp``)."""
    return checksum(pseudo_header6(src, dst, len(icmp)) + bytes(icmp))


def make_payload(
    size: int,
    pattern: bytes | None = None,
    *,
    random: bool = False,
    data: bytes | None = None,
    timestamp: bool = True,
) -> bytes:
    """Echo payload of ``size`` bytes: iputils layout (struct timeval slot, then the fill).

    The fill is ``data`` (from a file, cut or repeated), random bytes, ``pattern`` repeated, or the
    iputils default (byte i = i, counted from the start of the payload).
    """
    head = TIMEVAL_LEN if timestamp and size >= TIMEVAL_LEN else 0
    if data is not None:
        rest = size - head
        return bytes(head) + ((data * (rest // max(len(data), 1) + 1))[:rest] if data else bytes(rest))
    if random:
        import os

        return bytes(head) + os.urandom(size - head)
    if pattern:
        fill = (pattern * (size // len(pattern) + 1))[:size]
    else:
        fill = bytes(i & 0xFF for i in range(size))
    return bytes(head) + fill[head:]


class EchoTemplate:
    """A preallocated request: per probe only the sequence, the send time and the checksum change.

    The send time is a struct timeval at the start of an echo payload (as iputils does) or the
    originate field of an ICMP timestamp request. The checksum is updated incrementally: the word
    sum of the constant part is computed once, per probe only the changing words are added.
    """

    __slots__ = ("_base", "_dyn_end", "_when", "buf", "ident", "kernel_checksum", "type")

    def __init__(
        self,
        icmp_type: int,
        code: int,
        ident: int,
        payload: bytes,
        *,
        kernel_checksum: bool = False,
        timestamp: bool = True,
    ) -> None:
        self.type = icmp_type
        self.ident = ident & 0xFFFF
        self.kernel_checksum = kernel_checksum
        self.buf = bytearray(_ICMP_HDR.pack(icmp_type, code, 0, self.ident, 0) + payload)
        self._when = ""
        if timestamp and icmp_type == ICMP_TIMESTAMP and len(payload) >= 12:
            self._when = "originate"
            self._dyn_end = 12
        elif timestamp and icmp_type in (ICMP_ECHO, ICMP6_ECHO_REQUEST) and len(payload) >= TIMEVAL_LEN:
            self._when = "timeval"
            self._dyn_end = 8 + TIMEVAL_LEN
        else:
            self._dyn_end = 8
        tmp = bytearray(self.buf)
        tmp[6 : self._dyn_end] = bytes(self._dyn_end - 6)
        self._base = ones_sum(tmp)

    def fill(self, seq: int, now_ns: int) -> bytearray:
        """Write ``seq``, the send time and the checksum into the buffer; return it (no copy)."""
        buf = self.buf
        struct.pack_into("!H", buf, 6, seq & 0xFFFF)
        when = self._when
        if when == "timeval":
            _TIMEVAL.pack_into(buf, 8, now_ns // 1_000_000_000, (now_ns // 1000) % 1_000_000)
        elif when == "originate":
            struct.pack_into("!I", buf, 8, (now_ns // 1_000_000) % 86_400_000)
        if self.kernel_checksum:
            return buf
        total = self._base + sum(memoryview(buf)[6 : self._dyn_end].cast("H"))
        struct.pack_into("=H", buf, 2, fold(total))
        return buf


def build_icmp(
    icmp_type: int,
    code: int = 0,
    ident: int = 0,
    seq: int = 0,
    payload: bytes = b"",
    *,
    cksum: bool = True,
    rest: bytes | None = None,
) -> bytes:
    """Build one ICMP(v4) message; ``rest`` replaces the id/seq word (4 bytes) for non-echo types.

    For ICMPv6 build with ``cksum=False``: the kernel fills the checksum on raw ICMPv6 sockets.
    """
    word = rest if rest is not None else struct.pack("!HH", ident & 0xFFFF, seq & 0xFFFF)
    msg = bytearray(struct.pack("!BBH", icmp_type, code, 0) + word + payload)
    if cksum:
        struct.pack_into("!H", msg, 2, checksum(msg))
    return bytes(msg)


def ms_since_midnight_utc(now: float | None = None) -> int:
    """ICMP timestamp value (RFC 792): milliseconds since midnight UT."""
    t = time.time() if now is None else now
    return int((t % 86400) * 1000)


def default_payload_for(icmp_type: int, v6: bool) -> bytes:
    """The body RFC 792/950 expect for a crafted non-echo request."""
    if not v6 and icmp_type in (ICMP_TIMESTAMP, ICMP_TIMESTAMPREPLY):
        return struct.pack("!III", ms_since_midnight_utc(), 0, 0)
    if not v6 and icmp_type in (ICMP_ADDRESS, ICMP_ADDRESSREPLY):
        return bytes(4)
    return b""


# --- parsing -----------------------------------------------------------------------------------


@dataclass
class QuotedPacket:
    """The start of the datagram an ICMP error quotes: its IP header and the first transport bytes."""

    version: int
    src: str
    dst: str
    proto: int
    ttl: int
    length: int
    ip_id: int | None = None
    tos: int = 0
    flags_df: bool = False
    icmp_type: int | None = None
    icmp_code: int | None = None
    icmp_id: int | None = None
    icmp_seq: int | None = None
    sport: int | None = None
    dport: int | None = None

    def describe(self) -> str:
        """One-line decode, e.g. 'IPv4 10.0.0.1 > 10.0.0.3 ttl=1 len=84 ICMP echo id=0x1234 seq=1'."""
        v = f"IPv{self.version} {self.src} > {self.dst} {'ttl' if self.version == 4 else 'hlim'}={self.ttl} len={self.length}"
        if self.version == 4:
            v += f" id=0x{self.ip_id or 0:04x}" + (" DF" if self.flags_df else "")
        if self.icmp_type is not None:
            names = ICMP_TYPE_NAMES if self.version == 4 else ICMP6_TYPE_NAMES
            v += f" {'ICMP' if self.version == 4 else 'ICMPv6'} {names.get(self.icmp_type, f'type {self.icmp_type}')}"
            if self.icmp_id is not None:
                v += f" id={self.icmp_id} seq={self.icmp_seq}"
        elif self.sport is not None:
            v += f" proto={self.proto} {self.sport} > {self.dport}"
        else:
            v += f" proto={self.proto}"
        return v

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def parse_quoted(data: bytes | memoryview, v6: bool) -> QuotedPacket | None:
    """Decode the quoted IP header (+ 8 transport bytes) in an ICMP error body; None if too short."""
    data = bytes(data)
    try:
        h = ipv6(data, 0) if v6 else ipv4(data, 0)  # the one header walk (sniffer.decode.layers)
        if h is None or h.hlen < 20 or len(data) < h.hlen:
            return None
        q = QuotedPacket(
            h.version,
            socket.inet_ntop(socket.AF_INET6 if v6 else socket.AF_INET, h.src),
            socket.inet_ntop(socket.AF_INET6 if v6 else socket.AF_INET, h.dst),
            h.proto,
            h.hlim,
            h.length,
            None if v6 else h.ident,
            h.tos,
            flags_df=bool(h.frag & 0x4000),  # 0 for IPv6
        )
        t = data[h.hlen :]
        icmp_proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
        if q.proto == icmp_proto and len(t) >= 8:
            q.icmp_type, q.icmp_code, _ck, q.icmp_id, q.icmp_seq = _ICMP_HDR.unpack_from(t)
        elif q.proto in (socket.IPPROTO_TCP, socket.IPPROTO_UDP) and len(t) >= 4:
            q.sport, q.dport = struct.unpack_from("!HH", t)
        return q
    except (struct.error, IndexError, ValueError):
        return None


def error_text(icmp_type: int, code: int, v6: bool, info: int = 0) -> str:
    """Human text for an ICMP error, in iputils' words."""
    if not v6:
        if icmp_type == ICMP_DEST_UNREACH:
            t = _UNREACH4.get(code, f"Dest Unreachable, Bad Code: {code}")
            return f"{t} (mtu = {info & 0xFFFF})" if code == 4 else t
        if icmp_type == ICMP_TIME_EXCEEDED:
            return _TIMEX4.get(code, f"Time exceeded, Bad Code: {code}")
        if icmp_type == ICMP_PARAMETERPROB:
            return f"Parameter problem: pointer = {info >> 24}"
        if icmp_type == ICMP_REDIRECT:
            return "Redirect " + {
                0: "Network",
                1: "Host",
                2: "Type of Service and Network",
                3: "Type of Service and Host",
            }.get(code, f"Bad Code: {code}")
        if icmp_type == ICMP_SOURCE_QUENCH:
            return "Source Quench"
        return f"{ICMP_TYPE_NAMES.get(icmp_type, f'Bad ICMP type: {icmp_type}')} code {code}"
    if icmp_type == ICMP6_DST_UNREACH:
        return _UNREACH6.get(code, f"Destination unreachable: Unknown code {code}")
    if icmp_type == ICMP6_PACKET_TOO_BIG:
        return f"Packet too big: mtu={info}"
    if icmp_type == ICMP6_TIME_EXCEEDED:
        return _TIMEX6.get(code, f"Time exceeded: Unknown code {code}")
    if icmp_type == ICMP6_PARAM_PROB:
        return f"{_PARAM6.get(code, f'Parameter problem: Unknown code {code}')} at {info}"
    return f"{ICMP6_TYPE_NAMES.get(icmp_type, f'Unknown type {icmp_type}')} code {code}"


@dataclass
class IcmpMessage:
    """A received ICMP/ICMPv6 message (transport part), with the fields ping needs."""

    type: int
    code: int
    cksum: int
    ident: int  # for echo-like types; for errors the 4-byte "rest" as int is in ``info``
    seq: int
    info: int
    body: bytes  # bytes after the 8-byte header
    checksum_ok: bool | None = None
    quoted: QuotedPacket | None = field(default=None)


def parse_icmp(data: bytes | memoryview, v6: bool, *, verify: bool = False) -> IcmpMessage | None:
    """Parse an ICMP message (no IP header). ``verify`` checks the v4 checksum (ICMPv6 needs the pseudo-header)."""
    if len(data) < 8:
        return None
    t, c, ck, ident, seq = _ICMP_HDR.unpack_from(data)
    info = (ident << 16) | seq
    msg = IcmpMessage(t, c, ck, ident, seq, info, bytes(data[8:]))
    if verify and not v6:
        msg.checksum_ok = fold(ones_sum(data)) == 0
    if t in (ERROR_TYPES6 if v6 else ERROR_TYPES4):
        msg.quoted = parse_quoted(data[8:], v6)
    return msg


def describe_reply(msg: IcmpMessage, v6: bool) -> str:
    """Decode the fields of a non-echo reply (timestamp, address mask, information...) for printing."""
    names = ICMP6_TYPE_NAMES if v6 else ICMP_TYPE_NAMES
    head = f"{names.get(msg.type, f'type {msg.type}')} (type={msg.type} code={msg.code})"
    if not v6 and msg.type in (ICMP_TIMESTAMP, ICMP_TIMESTAMPREPLY) and len(msg.body) >= 12:
        o, r, t = struct.unpack_from("!III", msg.body)
        return f"{head} id={msg.ident} seq={msg.seq} originate={o} receive={r} transmit={t}"
    if not v6 and msg.type in (ICMP_ADDRESS, ICMP_ADDRESSREPLY) and len(msg.body) >= 4:
        return f"{head} id={msg.ident} seq={msg.seq} mask={socket.inet_ntop(socket.AF_INET, msg.body[:4])}"
    if msg.type in (ERROR_TYPES6 if v6 else ERROR_TYPES4):
        text = f"{head} {error_text(msg.type, msg.code, v6, msg.info)}"
        return text + (f" [quoted: {msg.quoted.describe()}]" if msg.quoted else "")
    return f"{head} id={msg.ident} seq={msg.seq} {len(msg.body)} data bytes"
