"""TCP reassembly like Wireshark's defaults (``tcp.desegment_tcp_streams``), sans-IO.

Fed every TCP segment once, in capture order (after the TCP analysis of ``model.tcpanalysis``, whose
flags say which segments are retransmissions), a ``TcpReassembler`` follows each direction of each
conversation at the application protocol's PDU boundaries. A PDU that spans segments is decoded once,
in the frame that completes it (its payload rebuilt from the segments, decoded by the same protocol
tables on a rebuilt frame: ``rebuild``), with ``tcp.segment`` (the frames, in order),
``tcp.segment.count`` and ``tcp.reassembled.length``; the frames before show as tshark shows them in one
pass: Protocol "TCP", Info "[TCP segment of a reassembled PDU]" (HTTP: its first line, then that).
A segment that ends with the start of a PDU it does not complete is decoded without those bytes.

Which protocol frames the stream is told by the port (HTTP, TLS, DNS, Kerberos, NetBIOS session/SMB,
DCE/RPC, TPKT, BGP, LDAP, MySQL) or, at a PDU boundary, by the bytes (a TLS record header: STARTTLS;
a DCE/RPC header). Each protocol's framer says how long its PDU is from its first bytes (``FRAMERS``).

Bounded: a PDU longer than ``max_pdu`` is not reassembled (its segments stay per packet); at most
``max_bytes`` are held over all streams and ``max_streams`` directions are followed: beyond that the
oldest pending PDU is dropped (``dropped`` counts them) and the next frame of its stream carries an
expert note. tshark's ``tcp.reassembled_in`` (on the earlier segments) needs a second pass
(``tshark -2``); a one-pass reader cannot know it when it prints them.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sniffer.frame import Frame

#: a framer's answers besides a PDU length: more bytes are needed to tell / the PDU ends with the stream
NEED = -1
UNTIL_FIN = -2

SEGMENT = 1  # this frame is a segment of a PDU completed later
DECODE = 2  # decode this frame with another payload (reassembled, or cut before an unfinished PDU)
NOTE = 3  # per packet, with the expert note of a PDU dropped by the memory bounds

SEGMENT_INFO = "[TCP segment of a reassembled PDU]"

#: the fields reassembly adds to the frame that completes a PDU (a display filter naming one runs it)
FIELDS = frozenset({"tcp.segment", "tcp.segment.count", "tcp.reassembled.length"})

#: Wireshark's expert group PI_REASSEMBLE and severity PI_NOTE
PI_REASSEMBLE = 0x08000000
_PI_NOTE = 0x00400000
DROPPED_NOTE = "TCP reassembly buffer dropped (memory limit): this PDU is shown per packet"

Buf = bytes | bytearray
_U16 = struct.Struct("!H").unpack_from
_U32 = struct.Struct("!I").unpack_from


def _u16(b: Buf, off: int) -> tuple[int]:
    return _U16(b, off)


def _u32(b: Buf, off: int) -> tuple[int]:
    return _U32(b, off)


Framer = Callable[[Buf], "int | None"]
#: where a segment is in its frame: (offset of its IP header, IP version, TCP header offset, end of the
#: TCP payload, the length fields of the layers around the segment: (position, counted from, kind), kind
#: 4 an IPv4 total length, 6 an IPv6 payload length, 0 a plain 16-bit length: PPPoE, UDP)
Span = tuple[int, int, int, int, tuple[tuple[int, int, int], ...]]

#: UDP ports whose tunnel _span walks through (the decoder's registered ones): VXLAN, Geneve
_UDP_TUNNELS = (4789, 6081)


# ---------------------------------------------------------------------------------------------------
# framers: from the first bytes of a PDU, its whole length (NEED: not enough bytes yet; None: these
# bytes do not start a PDU of the protocol: the segment is left per packet)

_HTTP_STARTS = (
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
    b"HTTP/1.",
)
#: the longest HTTP header block waited for
MAX_HTTP_HEADER = 256 << 10


def http_pdu(b: Buf) -> int | None:
    """An HTTP/1.x message: its headers, then a Content-Length or chunked body (a response with neither
    and "Connection: close" or HTTP/1.0 runs to the end of the stream)."""
    return _http(b)[0]


def _http(b: Buf) -> tuple[int | None, int]:
    """http_pdu, and where to resume the walk of a chunked body that is not all there (else 0)."""
    if not b.startswith(_HTTP_STARTS):
        if len(b) < 8 and any(s.startswith(b) for s in _HTTP_STARTS):
            return NEED, 0
        return None, 0
    end = b.find(b"\r\n\r\n")
    if end < 0:
        return (NEED if len(b) < MAX_HTTP_HEADER else None), 0
    hl = end + 4
    lines = bytes(b[:end]).split(b"\r\n")
    first = lines[0]
    clen = -1
    chunked = close = keepalive = False
    for line in lines[1:]:
        name, _, val = line.partition(b":")
        n = name.strip().lower()
        if n == b"content-length":
            try:
                clen = int(val.strip())
            except ValueError:
                return hl, 0
        elif n == b"transfer-encoding":
            chunked = b"chunked" in val.lower()
        elif n == b"connection":
            v = val.lower()
            close = b"close" in v
            keepalive = b"keep-alive" in v
    response = first.startswith(b"HTTP/")
    if response:
        code = first[9:12]
        if code[:1] == b"1" or code in (b"204", b"304"):
            return hl, 0
    if chunked:
        return _chunked(b, hl)
    if clen >= 0:
        return hl + clen, 0
    if response and (close or (first.startswith(b"HTTP/1.0") and not keepalive)):
        return UNTIL_FIN, 0
    return hl, 0


def _chunked(b: Buf, pos: int) -> tuple[int, int]:
    """The end of a chunked body whose next chunk-size line is at ``pos``, or (NEED, where to resume)."""
    while True:
        eol = b.find(b"\r\n", pos)
        if eol < 0:
            return NEED, pos
        try:
            size = int(bytes(b[pos:eol]).split(b";", 1)[0].strip() or b"x", 16)
        except ValueError:
            return eol + 2, 0  # not a chunk size: the body ends here (tshark flags it)
        if size == 0:  # the last chunk, then trailer lines up to an empty one
            t = eol + 2
            while True:
                e = b.find(b"\r\n", t)
                if e < 0:
                    return NEED, pos
                if e == t:
                    return e + 2, 0
                t = e + 2
        nxt = eol + 2 + size + 2
        if nxt > len(b):
            return NEED, pos
        pos = nxt


def tls_pdu(b: Buf) -> int | None:
    """A TLS record (SSLv3/TLS: content type 20-24, version 3.x, 16-bit length)."""
    if not b or b[0] not in (20, 21, 22, 23, 24):
        return None
    if len(b) < 5:
        return NEED if len(b) < 2 or b[1] == 3 else None
    if b[1] != 3 or b[2] > 4:
        return None
    return 5 + _u16(b, 3)[0]


def _len16(b: Buf) -> int | None:
    """DNS over TCP: a 16-bit length, then the message."""
    return NEED if len(b) < 2 else 2 + _u16(b, 0)[0]


def _len32(b: Buf) -> int | None:
    """Kerberos over TCP: a 32-bit record mark (high bit reserved), then the message."""
    return NEED if len(b) < 4 else 4 + (_u32(b, 0)[0] & 0x7FFFFFFF)


def _nbss(b: Buf) -> int | None:
    """NetBIOS session service / SMB direct: type, then a 17-bit (NBSS) or 24-bit (port 445) length."""
    if len(b) < 4:
        return NEED
    if b[0] == 0:
        return 4 + (b[1] << 16 | _u16(b, 2)[0])
    if b[0] in (0x81, 0x82, 0x83, 0x84, 0x85):
        return 4 + ((b[1] & 1) << 16 | _u16(b, 2)[0])
    return None


def _dcerpc(b: Buf) -> int | None:
    """DCE/RPC connection-oriented: version 5.0/5.1, frag_len at offset 8 in the data representation."""
    if len(b) < 10:
        return NEED if b[:1] in (b"", b"\x05") else None
    if b[0] != 5 or b[1] > 1 or b[2] > 20:
        return None
    n = int.from_bytes(b[8:10], "little" if b[4] & 0x10 else "big")
    return n if n >= 16 else None


def _tpkt(b: Buf) -> int | None:
    """TPKT (RFC 1006: ISO transport over TCP, RDP): version 3, 16-bit length of the whole."""
    if len(b) < 4:
        return NEED if b[:1] in (b"", b"\x03") else None
    if b[0] != 3 or b[1] != 0:
        return None
    n = _u16(b, 2)[0]
    return n if n >= 4 else None


_MARKER = b"\xff" * 16


def _bgp(b: Buf) -> int | None:
    """BGP: a 16-byte marker, then the message's 16-bit length."""
    if len(b) < 19:
        return NEED if _MARKER.startswith(b[:16]) else None
    if not b.startswith(_MARKER):
        return None
    n = _u16(b, 16)[0]
    return n if n >= 19 else None


def _ber(b: Buf) -> int | None:
    """LDAP: one BER SEQUENCE (tag 0x30, definite length)."""
    if len(b) < 2:
        return NEED if b[:1] in (b"", b"\x30") else None
    if b[0] != 0x30:
        return None
    n = b[1]
    if n < 0x80:
        return 2 + n
    k = n & 0x7F
    if not 1 <= k <= 4:
        return None
    if len(b) < 2 + k:
        return NEED
    return 2 + k + int.from_bytes(b[2 : 2 + k], "big")


def _mysql(b: Buf) -> int | None:
    """MySQL: a 24-bit little-endian length and a sequence number, then the packet."""
    return NEED if len(b) < 4 else 4 + (b[0] | b[1] << 8 | b[2] << 16)


#: the framer of each protocol, by name
FRAMERS: dict[str, Framer] = {
    "http": http_pdu,
    "tls": tls_pdu,
    "dns": _len16,
    "kerberos": _len32,
    "nbss": _nbss,
    "dcerpc": _dcerpc,
    "tpkt": _tpkt,
    "bgp": _bgp,
    "ldap": _ber,
    "mysql": _mysql,
}


def _ports() -> dict[int, str]:
    from sniffer.decode.core import HTTP_TCP_PORTS, TLS_TCP_PORTS

    ports = dict.fromkeys(HTTP_TCP_PORTS, "http")
    ports.update(dict.fromkeys(TLS_TCP_PORTS, "tls"))
    ports.update(
        {53: "dns", 88: "kerberos", 139: "nbss", 445: "nbss", 135: "dcerpc", 102: "tpkt", 3389: "tpkt"}
    )
    ports.update({179: "bgp", 389: "ldap", 3268: "ldap", 3306: "mysql", 22: "ssh"})
    return ports


#: TCP port -> the protocol whose framer splits its stream (the lower port of the two is tried first,
#: as the decoder does)
PORTS = _ports()

#: server ports whose answer Wireshark reassembles up to the FIN (its WHOIS and Finger dissectors ask
#: for DESEGMENT_UNTIL_FIN unless the segment has the FIN itself), and the Info they leave meanwhile
_UNTIL_FIN_ANSWERS = {43: "whois", 79: "finger"}
_UNTIL_FIN_INFO = {"whois": "Answer", "finger": "Response"}


def _sniff(b: Buf, proto: str) -> str:
    """The protocol of a PDU that starts with ``b`` on a stream whose port says ``proto`` ("" for
    none): a TLS record header anywhere (STARTTLS), a DCE/RPC header on a port of no protocol."""
    if len(b) >= 5 and b[0] in (20, 21, 22, 23) and b[1] == 3 and b[2] <= 4:
        return "tls"
    if not proto and len(b) >= 16 and b[0] == 5 and b[1] <= 1 and b[2] in (0, 2, 11, 12, 13, 14, 15, 16):
        return "dcerpc"
    return proto


# ---------------------------------------------------------------------------------------------------


class Verdict:
    """What reassembly makes of one frame: a SEGMENT (``info`` its Info column) or DECODE (decode it
    with ``payload`` as its TCP payload; ``frames`` the frames of a reassembled PDU, else empty)."""

    __slots__ = ("frames", "here", "info", "kind", "layer", "lead", "payload", "pdu", "sizes", "span")

    def __init__(
        self,
        kind: int,
        span: Span,
        info: str = "",
        payload: bytes = b"",
        frames: tuple[int, ...] = (),
        layer: str = "",
        pdu: int = 0,
        lead: int = 0,
        here: int = 0,
        sizes: tuple[int, ...] = (),
    ) -> None:
        self.kind = kind
        #: DECODE: the payload's first ``lead`` bytes came from earlier frames; byte ``lead`` is at offset
        #: ``here`` of this frame (the detail tree maps the PDU's fields onto this frame's bytes)
        self.lead = lead
        self.here = here
        self.sizes = sizes  # the bytes each of ``frames`` gave (the last one's may run past the PDU)
        self.pdu = pdu or len(payload)  # DECODE: the reassembled PDU's length (whole PDUs may follow it)
        self.layer = layer  # a SEGMENT's protocol layer in frame.protocols (tshark's TLS, SSH), or ""
        self.span = span
        self.info = info
        self.payload = payload
        self.frames = frames

    def __repr__(self) -> str:
        kind = {SEGMENT: "SEGMENT", DECODE: "DECODE"}.get(self.kind, "NOTE")
        return f"Verdict({kind}, {self.info!r}, {len(self.payload)} bytes, frames={self.frames})"


class _Dir:
    """One direction of a conversation: the next expected sequence number and the PDU pending."""

    __slots__ = ("buf", "dropped", "expect", "frames", "need", "proto", "resume", "sizes", "skip", "ssh")

    def __init__(self) -> None:
        self.expect = -1  # raw sequence number of the next byte (-1: no data seen yet)
        self.buf = bytearray()  # the pending PDU's bytes so far (empty: at a PDU boundary)
        self.need = 0  # its length (NEED: not known yet, UNTIL_FIN: up to the FIN)
        self.frames: list[int] = []  # the frames that gave them
        self.sizes: list[int] = []  # how many bytes each gave
        self.proto = ""  # the framing protocol of the pending PDU
        self.resume = 0  # HTTP: where the walk of a chunked body resumes in buf
        self.skip = 0  # bytes left of a PDU too long to hold (its segments are counted, not kept)
        self.ssh = 0  # SSH: 0 no banner seen (encrypted for all we know), 1 plain, 2 after New Keys
        self.dropped = False  # the pending PDU was dropped to stay within the limits


#: ARCnet link types (BSD 7, Linux 129: two more header bytes) and the protocol IDs that carry IP:
#: RFC 1201 IPv4/IPv6 (split flag and sequence number follow: 3 bytes) and RFC 1051 IPv4
_ARCNET_LINKS = {7: 3, 129: 5}
_ARCNET_IP = {0xD4: (0x0800, 3), 0xC4: (0x86DD, 3), 0xF0: (0x0800, 0)}


def _arcnet(d: bytes, linktype: int) -> tuple[int, int] | None:
    """(ethertype, offset of the IP header) of an unsplit ARCnet packet carrying IP, else None."""
    hl = _ARCNET_LINKS.get(linktype)
    if hl is None or len(d) < hl + 3:
        return None
    ip = _ARCNET_IP.get(d[hl - 1])
    if ip is None or (ip[1] and d[hl]):  # (a split packet: one part of a larger one)
        return None
    return ip[0], hl + ip[1]


def _span(frame: Frame) -> Span | None:
    """Where the segment is (``Span``) in an unfragmented IPv4/IPv6 TCP segment on the common link types
    and ARCnet, under VLAN tags, a PPPoE session or an MPLS label stack, and inside tunnels as the decoder
    walks them (GRE version 0 carrying IP or Ethernet, IP in IP, VXLAN, Geneve: every layer whole in the
    frame); else None."""
    from sniffer.model.l4 import _link

    try:
        link = _link(frame)
    except (struct.error, IndexError):
        return None
    d = frame[1]
    n = len(d)
    if link is not None:
        et, off = link[0], link[1]
    else:
        arc = _arcnet(d, frame[3])
        if arc is None:
            return None
        et, off = arc
    fix: list[tuple[int, int, int]] = []
    if et == 0x8864 and n >= off + 8 and d[off] == 0x11:  # PPPoE session: IPv4 / IPv6 over PPP
        fix.append((off + 4, off + 6, 0))
        et, off = {0x0021: 0x0800, 0x0057: 0x86DD}.get(_u16(d, off + 6)[0], 0), off + 8
    elif et in (0x8847, 0x8848):  # MPLS: the labels, then IP told by its version
        while n >= off + 4 and not d[off + 2] & 1:
            off += 4
        off += 4
        if n <= off:
            return None
        et = {4: 0x0800, 6: 0x86DD}.get(d[off] >> 4, 0)
    for _ in range(_MAX_TUNNELS + 1):
        if et == 0x0800:
            if n < off + 20 or d[off] >> 4 != 4 or _u16(d, off + 6)[0] & 0x3FFF:
                return None
            ihl = (d[off] & 0x0F) * 4
            proto, l4 = d[off + 9], off + ihl
            end = off + _u16(d, off + 2)[0]
            ver = 4
        elif et == 0x86DD:
            if n < off + 40 or d[off] >> 4 != 6:
                return None
            proto, l4 = d[off + 6], off + 40
            end = l4 + _u16(d, off + 4)[0]
            while proto in (0, 43, 60):
                if n < l4 + 8:
                    return None
                proto, l4 = d[l4], l4 + (d[l4 + 1] + 1) * 8
            ver = 6
        else:
            return None
        if proto == 6:
            break
        alen = 4 if ver == 4 else 16
        a = off + 12 if ver == 4 else off + 8
        inner = _tunnel(d, proto, l4, end, (d[a : a + alen], d[a + alen : a + 2 * alen]))
        if inner is None:
            return None
        fix.append((off + 2, off, 4) if ver == 4 else (off + 4, off + 40, 6))
        if proto == 17:
            fix.append((l4 + 4, l4, 0))
        et, off = inner
    else:
        return None
    if n < l4 + 20 or end > n or end < l4 + 20:  # (a length of 0: TSO, left per packet)
        return None  # cut short by the snap length: not reassembled (tshark neither)
    return off, ver, l4, end, tuple(fix)


_MAX_TUNNELS = 4


def _tunnel(d: bytes, proto: int, l4: int, end: int, addrs: tuple[bytes, bytes]) -> tuple[int, int] | None:
    """(ethertype, offset) of the packet a tunnel at ``l4`` (an IP payload of ``proto`` up to ``end``, all
    in ``d``, between the IP addresses ``addrs``) carries, as the decoder walks it; None for anything else."""
    if end > len(d):
        return None
    if proto in (4, 41):  # IP in IP
        return (0x0800 if proto == 4 else 0x86DD), l4
    if proto == 47:  # GRE version 0: its optional fields, then IP or (transparent bridging) Ethernet
        if l4 + 4 > end:
            return None
        flags, gp = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
        if flags & 0x0007:
            return None
        o = (
            l4
            + 4
            + (4 if flags & 0x8000 else 0)
            + (4 if flags & 0x2000 else 0)
            + (4 if flags & 0x1000 else 0)
        )
        if gp == 0x6558:
            return _inner_eth(d, o, end)
        return (gp, o) if gp in (0x0800, 0x86DD) else None
    if proto == 17 and l4 + 8 <= end:  # VXLAN, Geneve: on the port the decoder's UDP chooses
        from sniffer.decode.core import UDP_CONVERSATIONS, UDP_PORTS

        sp, dp, ulen = _u16(d, l4)[0], _u16(d, l4 + 2)[0], _u16(d, l4 + 4)[0]
        if ulen != end - l4 or (UDP_CONVERSATIONS.map and UDP_CONVERSATIONS.find(addrs[0], sp, addrs[1], dp)):
            return None  # (a conversation a dissector bound: its datagrams are that dissector's)
        lo, hi = (sp, dp) if sp < dp else (dp, sp)
        port = lo if lo in UDP_PORTS.map else hi if hi in UDP_PORTS.map else 0
        o = l4 + 8
        if port == 4789 and o + 8 <= end:
            return _inner_eth(d, o + 8, end)
        if port == 6081 and o + 8 <= end:
            gp, p = _u16(d, o + 2)[0], o + 8 + (d[o] & 0x3F) * 4
            if gp == 0x6558:
                return _inner_eth(d, p, end)
            return (gp, p) if gp in (0x0800, 0x86DD) else None
    return None


def _inner_eth(d: bytes, o: int, end: int) -> tuple[int, int] | None:
    """(ethertype, offset) of the IP packet in an Ethernet frame at ``o`` (VLAN tags skipped)."""
    from sniffer.decode.layers import VLAN_TYPES

    if o + 14 > end:
        return None
    et, o = _u16(d, o + 12)[0], o + 14
    while et in VLAN_TYPES and o + 4 <= end:
        et, o = _u16(d, o + 2)[0], o + 4
    return et, o


def rebuild(frame: Frame, span: Span, payload: bytes) -> Frame:
    """``frame`` with ``payload`` in place of its TCP payload (IP lengths set to match; an IPv4 datagram
    beyond 64 KiB gets length 0, which the decoder takes as TSO: up to the end of the frame)."""
    off, ver, l4, _, fix = span
    d = frame[1]
    hl = (d[l4 + 12] >> 4) * 4
    head = bytearray(d[: l4 + hl])
    new_end = l4 + hl + len(payload)
    for pos, base, kind in fix:  # the layers around the segment (PPPoE, tunnels' IP and UDP) grow with it
        value = new_end - base
        struct.pack_into("!H", head, pos, value if value <= 0xFFFF else 0 if kind == 4 else 0xFFFF)
    if ver == 4:
        total = l4 + hl - off + len(payload)
        struct.pack_into("!H", head, off + 2, total if total <= 0xFFFF else 0)
    else:
        plen = l4 + hl - off - 40 + len(payload)
        struct.pack_into("!H", head, off + 4, min(plen, 0xFFFF))
    data = bytes(head) + payload
    return Frame(frame[0], data, len(data), frame[3], frame[4])


class TcpReassembler:
    """Per-direction PDU state; ``feed`` every TCP segment in capture order."""

    def __init__(
        self,
        max_pdu: int = 16 << 20,
        max_bytes: int = 64 << 20,
        max_streams: int = 100_000,
        two_pass: bool = False,
    ) -> None:
        #: tshark -2's view: a segment's dissector is not called again once its PDU is known, so every
        #: segment before the completing one shows TCP's line and the note (and no layer of its own)
        self.two_pass = two_pass
        self._dirs: OrderedDict[tuple[Any, ...], _Dir] = OrderedDict()
        self.max_pdu = max_pdu
        self.max_bytes = max_bytes
        self.max_streams = max_streams
        self._held = 0
        self.dropped = 0  # pending PDUs dropped to stay within max_bytes / max_streams

    @property
    def held(self) -> int:
        """Bytes held in pending PDUs now."""
        return self._held

    def feed(self, number: int, frame: Frame, extra: dict[str, Any] | None) -> Verdict | None:
        """The verdict for one frame, given its TCP analysis (``TcpAnalyzer.feed*``'s result; None when
        it has no TCP header): None when the frame stays as the per-packet decoder shows it."""
        if extra is None:
            return None
        raw = extra["_tcp.raw"]
        sport, dport, seq, _ack, flags, _win, seglen = raw
        if not seglen and not flags & 0x05:  # no data, no FIN/RST: nothing for reassembly
            return None
        src, dst = extra["_tcp.addr"]
        key = (src, sport, dst, dport)
        dirs = self._dirs
        st = dirs.get(key)
        if st is None:
            if not seglen:
                return None
            st = dirs[key] = _Dir()
            if len(dirs) > self.max_streams:
                self._drop(dirs.popitem(last=False)[1])
        else:
            dirs.move_to_end(key)
        if flags & 0x04:  # RST: whatever was pending will not complete
            self._reset(st)
            st.expect = -1
            return None
        from sniffer.model.tcpanalysis import NO_SUBDISSECTOR

        if extra["_tcp.flags"] & NO_SUBDISSECTOR:
            return None  # a retransmission or out-of-order segment: not decoded again (tshark neither)
        if flags & 0x02:
            seq = (seq + 1) & 0xFFFFFFFF  # the data after a SYN
        if not seglen:  # a FIN: it ends a PDU that runs to the end of the stream
            if st.buf and st.need == UNTIL_FIN and seq == st.expect:
                span = _span(frame)
                if span is not None:
                    return self._complete(number, st, span, 0, fin=True)
            return None
        span = _span(frame)
        if span is None:
            self._reset(st)
            st.expect = -1
            return None
        end = span[3]
        data = frame[1][end - seglen : end]
        if st.expect >= 0:
            delta = (seq - st.expect) & 0xFFFFFFFF
            if delta >= 0x80000000:  # begins before the next expected byte: only the new part counts
                old = 0x100000000 - delta
                if old >= seglen:
                    return None
                data = data[old:]
            elif delta:  # a gap (a segment not captured): what was pending cannot complete
                self._reset(st)
        st.expect = (seq + seglen) & 0xFFFFFFFF
        if st.dropped:  # its pending PDU was dropped: per packet, with an expert note
            st.dropped = False
            self._reset(st)
            return Verdict(NOTE, span)
        if st.skip:  # inside a PDU too long to hold
            if len(data) < st.skip:
                st.skip -= len(data)
                return Verdict(SEGMENT, span, info=_middle(raw))
            st.skip = 0
            return None  # its last segment (and what follows it): per packet
        if st.buf:
            return self._more(number, st, span, bytes(data), bool(flags & 0x01), raw)
        until_fin = _UNTIL_FIN_ANSWERS.get(sport)
        if until_fin is not None and not flags & 0x01:  # a WHOIS/Finger answer: held up to the FIN
            return self._hold(number, st, span, bytes(data), raw, until_fin)
        return self._start(number, st, span, bytes(data), raw)

    # -- states ------------------------------------------------------------------------------------

    def _size(self, st: _Dir, p: str, b: Buf) -> int | None:
        """The framer of ``p`` on ``b``, with SSH's state: the banner line, then plain binary packets
        (Wireshark reads them until it has seen New Keys; a side whose banner it missed is encrypted)."""
        if p == "http":
            if st.resume:
                return self._resume(st, *_chunked(b, st.resume))
            return self._resume(st, *_http(b))
        if p != "ssh":
            return FRAMERS[p](b)
        if b.startswith(b"SSH-"):
            eol = b.find(b"\n")
            return NEED if eol < 0 and len(b) < 256 else eol + 1 if eol >= 0 else None
        if st.ssh != 1:
            return None
        return NEED if len(b) < 4 else 4 + _u32(b, 0)[0]

    def _segment(self, span: Span, p: str, b: Buf, raw: tuple[int, ...]) -> Verdict:
        """A segment whose PDU's dissector was called and asked for more (one pass), or not (two)."""
        if self.two_pass:
            return Verdict(SEGMENT, span, info=_middle(raw))
        return Verdict(SEGMENT, span, info=_first_info(p, b, raw), layer=_LAYERS.get(p, ""))

    @staticmethod
    def _resume(st: _Dir, size: int | None, resume: int) -> int | None:
        st.resume = resume
        return size

    def _seen(self, st: _Dir, p: str, pdu: bytes) -> None:
        """A whole PDU went by: SSH's state moves on its banner and New Keys."""
        if p == "ssh":
            if pdu.startswith(b"SSH-"):
                st.ssh = 1
            elif st.ssh == 1 and len(pdu) > 5 and pdu[5] == 21:
                st.ssh = 2

    def _hold(self, number: int, st: _Dir, span: Span, data: bytes, raw: tuple[int, ...], p: str) -> Verdict:
        """The first segment of a PDU that runs to the end of the stream (its FIN completes it)."""
        st.buf += data
        self._held += len(data)
        st.need = UNTIL_FIN
        st.proto = p
        st.frames = [number]
        st.sizes = [len(data)]
        self._bound(st)
        return self._segment(span, p, data, raw)

    def _start(self, number: int, st: _Dir, span: Span, data: bytes, raw: tuple[int, ...]) -> Verdict | None:
        """A segment that starts at a PDU boundary: its whole PDUs are decoded here; a PDU it does not
        complete waits for the next segments."""
        sp, dp = raw[0], raw[1]
        proto = PORTS.get(min(sp, dp)) or PORTS.get(max(sp, dp)) or ""
        pos = 0
        n = len(data)
        here = span[3] - n
        while pos < n:
            rest = data[pos:] if pos else data
            p = _sniff(rest, proto)
            if not p:
                return None if pos == 0 else Verdict(DECODE, span, payload=data[:pos], here=here)
            size = self._size(st, p, rest)
            if size is None:  # not a PDU start the framer knows: per packet from here
                return None if pos == 0 else Verdict(DECODE, span, payload=data, here=here)
            if size >= 0 and pos + size <= n:
                self._seen(st, p, rest[:size])
                pos += size
                continue
            if size > self.max_pdu:  # too long to hold: its segments are counted, not kept
                st.skip = size - (n - pos)
                if pos:
                    return Verdict(DECODE, span, payload=data[:pos], here=span[3] - n)
                return self._segment(span, p, rest, raw)
            # an unfinished PDU: hold it
            st.buf += rest
            self._held += len(rest)
            st.need = size
            st.proto = p
            st.frames = [number]
            st.sizes = [len(rest)]
            self._bound(st)
            if pos:
                return Verdict(DECODE, span, payload=data[:pos], here=span[3] - n)
            return self._segment(span, p, rest, raw)
        return None

    def _more(
        self,
        number: int,
        st: _Dir,
        span: Span,
        data: bytes,
        fin: bool,
        raw: tuple[int, ...],
    ) -> Verdict:
        was_need = st.need == NEED  # then tshark's dissector sees this segment too (and sets Info)
        st.buf += data
        self._held += len(data)
        st.frames.append(number)
        st.sizes.append(len(data))
        if was_need:
            size = self._size(st, st.proto, st.buf)
            if size is None or size > self.max_pdu:
                self._reset(st)
                return Verdict(DECODE, span, payload=data, here=span[3] - len(data))
            st.need = size
        if st.need == UNTIL_FIN:
            if fin:
                return self._complete(number, st, span, len(data), fin=True)
        elif st.need >= 0 and len(st.buf) >= st.need:
            return self._complete(number, st, span, len(data))
        self._bound(st)
        if was_need:
            return self._segment(span, st.proto, st.buf, raw)
        return Verdict(SEGMENT, span, info=_middle(raw))

    def _complete(self, number: int, st: _Dir, span: Span, own: int, fin: bool = False) -> Verdict:
        """The pending PDU is whole in this frame (whose last ``own`` bytes of the segment are the last
        of the buffer): it is decoded here, with the whole PDUs after it in this segment; a PDU begun
        after them waits."""
        buf = bytes(st.buf)
        if st.frames[-1] == number:
            frames, sizes = tuple(st.frames), tuple(st.sizes)
        else:
            frames, sizes = (*st.frames, number), (*st.sizes, 0)
        lead, here = len(buf) - own, span[3] - own
        need = len(buf) if fin or st.need < 0 else st.need
        proto = st.proto
        self._reset(st)
        pdu, rest = buf[:need], buf[need:]
        self._seen(st, proto, pdu)
        if not rest:
            return Verdict(DECODE, span, payload=pdu, frames=frames, lead=lead, here=here, sizes=sizes)
        # the rest of this segment: whole PDUs go with it, an unfinished one is held
        pos = 0
        n = len(rest)
        while pos < n:
            tail = rest[pos:]
            p = _sniff(tail, proto)
            size = self._size(st, p, tail)
            if size is None or size > self.max_pdu:
                return Verdict(
                    DECODE,
                    span,
                    payload=pdu + rest,
                    frames=frames,
                    pdu=len(pdu),
                    lead=lead,
                    here=here,
                    sizes=sizes,
                )
            if size >= 0 and pos + size <= n:
                self._seen(st, p, tail[:size])
                pos += size
                continue
            st.buf += tail
            self._held += len(tail)
            st.need = size
            st.proto = p
            st.frames = [number]
            st.sizes = [len(tail)]
            self._bound(st)
            break
        return Verdict(
            DECODE,
            span,
            payload=pdu + rest[:pos],
            frames=frames,
            pdu=len(pdu),
            lead=lead,
            here=here,
            sizes=sizes,
        )

    # -- bounds ------------------------------------------------------------------------------------

    def _reset(self, st: _Dir) -> None:
        self._held -= len(st.buf)
        st.buf = bytearray()
        st.frames = []
        st.sizes = []
        st.need = 0
        st.skip = 0
        st.resume = 0

    def _drop(self, st: _Dir) -> None:
        if st.buf:
            self._reset(st)
            self.dropped += 1

    def _bound(self, keep: _Dir) -> None:
        if len(keep.buf) > self.max_pdu:
            self._reset(keep)
            keep.dropped = True
            self.dropped += 1
            return
        if self._held <= self.max_bytes:
            return
        for st in self._dirs.values():  # least recently used first
            if st is not keep and st.buf:
                self._reset(st)
                st.dropped = True
                self.dropped += 1
                if self._held <= self.max_bytes:
                    return


#: protocols whose dissector clears the Info column before it asks TCP for more data
_CLEARS_INFO = frozenset({"tls", "kerberos", "tpkt", "bgp", "ssh"})


def _first_info(proto: str, b: Buf, raw: tuple[int, ...]) -> str:
    """The Info column of the first segment of a PDU that continues: what the dissector left in it when
    it asked for more (HTTP: the request or status line; NetBIOS: "Session message"; TLS, Kerberos...:
    nothing; DNS, LDAP, MySQL, DCE/RPC: TCP's own line), then TCP's note."""
    if proto == "http":
        eol = b.find(b"\r\n")
        if eol > 0:
            return f"{bytes(b[:eol]).decode('latin-1')}  {SEGMENT_INFO}"
    elif proto == "nbss" and b[:1] == b"\x00":
        return f"Session message {SEGMENT_INFO}"
    if proto in _CLEARS_INFO:
        return SEGMENT_INFO
    if proto in _UNTIL_FIN_INFO:  # (tshark's WHOIS also names the query: "Answer: example.com")
        return f"{_UNTIL_FIN_INFO[proto]} {SEGMENT_INFO}"
    return _middle(raw)


#: protocols whose dissector adds its layer to the tree before it asks for more data (tshark's
#: frame.protocols of a first segment then ends with it)
_LAYERS = {"tls": "tls", "ssh": "ssh"}


class Later:
    """What a first pass over a capture learns for the second (tshark -2): the frame each fragment's
    datagram and each segment's PDU was reassembled in."""

    __slots__ = ("ip", "ipv6", "tcp")

    def __init__(self) -> None:
        self.ip: dict[int, int] = {}
        self.ipv6: dict[int, int] = {}
        self.tcp: dict[int, int] = {}

    def apply(self, number: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Add ``ip.reassembled_in`` (and its "[Reassembled in #N]" Info note), ``ipv6.reassembled.in``
        and ``tcp.reassembled_in`` to the fields of an earlier fragment or segment, as tshark -2 does."""
        n = self.ip.get(number)
        if n is not None:
            fields["ip.reassembled_in"] = n
            fields["_ws.col.Info"] = f"{fields.get('_ws.col.Info', '')} [Reassembled in #{n}]"
        n = self.ipv6.get(number)
        if n is not None:
            fields["ipv6.reassembled.in"] = n
        n = self.tcp.get(number)
        if n is not None:
            fields["tcp.reassembled_in"] = n
        return fields


def first_pass(frames: Any) -> Later:
    """Run defragmentation, the TCP analysis and reassembly over ``frames`` (an iterable of Frames, in
    order) and note where each earlier fragment and segment was reassembled."""
    from sniffer.model.tcpanalysis import TcpAnalyzer

    later = Later()
    an = TcpAnalyzer()
    ra = TcpReassembler()
    for n, fr in enumerate(frames, 1):
        extra = an.feed_frame(n, fr)
        full = an.last_fields
        if full is not None:
            for name, into in (("ip.fragment", later.ip), ("ipv6.fragment", later.ipv6)):
                frs = full.get(name)
                if type(frs) is list:
                    for m in frs:
                        if m != n:
                            into[m] = n
        if extra is not None:
            v = ra.feed(n, fr, extra)
            if v is not None and v.frames:
                for m in v.frames:
                    if m != n:
                        later.tcp[m] = n
    return later


def _middle(raw: tuple[int, ...]) -> str:
    """The Info column of a segment inside a PDU (the dissector not called): TCP's, then the note."""
    from sniffer.decode.inet import tcp_info

    sport, dport, seq, ack, flags, win, seglen = raw
    return f"{tcp_info(sport, dport, flags, seq, ack, win, seglen)} {SEGMENT_INFO}"


# ---------------------------------------------------------------------------------------------------
# the verdict applied to the views: field dicts (--json, filters) and columns (text)


def _cut_after_tcp(protocols: str) -> tuple[list[str], list[str]]:
    parts = protocols.split(":")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "tcp":
            if parts[i + 1 : i + 2] == ["mptcp"]:  # MPTCP is TCP's option analysis, not a payload
                i += 1
            return parts[: i + 1], parts[i + 1 :]
    return parts, []


def apply_fields(fields: dict[str, Any], v: Verdict | None, frame: Frame) -> dict[str, Any]:
    """The frame's field dict with the verdict (a new dict; ``fields`` itself when there is none):
    a SEGMENT loses its application layers; DECODE takes them from the rebuilt payload's decode."""
    if v is None:
        return fields
    if v.kind == NOTE:
        dropped_note(fields)
        return fields
    head, apps = _cut_after_tcp(str(fields.get("frame.protocols", "")))
    drop = set(apps)
    out = {k: val for k, val in fields.items() if k.split(".", 1)[0] not in drop}
    out.pop("_ws.malformed", None)
    if v.kind == SEGMENT:
        out["frame.protocols"] = ":".join([*head, v.layer] if v.layer else head)
        out["_ws.col.Protocol"] = "TCP"
        out["_ws.col.Info"] = v.info
        return out
    from sniffer.decode.fields import frame_fields

    inner = frame_fields(rebuild(frame, v.span, v.payload))
    _, iapps = _cut_after_tcp(str(inner.get("frame.protocols", "")))
    keep = set(iapps)
    for k, val in inner.items():
        if k.split(".", 1)[0] in keep or k == "_ws.malformed":
            out[k] = val
    if v.frames and v.pdu < len(v.payload):  # TCP hands what follows the reassembled PDU over again
        from sniffer.decode.fields import frame_protocols

        tail = rebuild(frame, v.span, v.payload[v.pdu :])
        iapps = _cut_after_tcp(frame_protocols(rebuild(frame, v.span, v.payload[: v.pdu]))[0])[1]
        iapps += _cut_after_tcp(frame_protocols(tail)[0])[1]
    out["frame.protocols"] = ":".join(head + iapps)
    if iapps:
        out["_ws.col.Protocol"] = inner.get("_ws.col.Protocol", "TCP")
        out["_ws.col.Info"] = inner.get("_ws.col.Info", "")
    if v.frames:
        out["tcp.segment"] = list(v.frames)
        out["tcp.segment.count"] = len(v.frames)
        out["tcp.reassembled.length"] = v.pdu
    return out


def segment_fields(fields: dict[str, Any], v: Verdict | None) -> None:
    """Add a completing frame's tcp.segment / .count / tcp.reassembled.length (no decoding): what a
    display filter on them reads."""
    if v is not None and v.frames:
        fields["tcp.segment"] = list(v.frames)
        fields["tcp.segment.count"] = len(v.frames)
        fields["tcp.reassembled.length"] = v.pdu


def apply_columns(proto: str, info: str, v: Verdict | None, frame: Frame) -> tuple[str, str]:
    """The Protocol and Info columns of a frame with the verdict (the text view)."""
    if v is None or v.kind == NOTE:
        return proto, info
    if v.kind == SEGMENT:
        return "TCP", v.info
    from sniffer.decode.summary import summarize

    s = summarize(rebuild(frame, v.span, v.payload))
    if s[2] in ("TCP", "MPTCP"):
        return proto, info
    return s[2], s[3]


def dropped_note(fields: dict[str, Any]) -> None:
    """Add the expert note of a PDU dropped by the memory bounds."""
    for k, val in (
        ("_ws.expert.message", DROPPED_NOTE),
        ("_ws.expert.severity", _PI_NOTE),
        ("_ws.expert.group", PI_REASSEMBLE),
    ):
        old = fields.get(k)
        fields[k] = (old if isinstance(old, list) else [] if old is None else [old]) + [val]
