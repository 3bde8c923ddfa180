"""Per-packet summary (the packet-list columns) and the one-line text that `read` and `capture` print.

The common cases (Ethernet / Linux SLL / raw IP carrying IPv4 or IPv6 with TCP, UDP or ICMP echo, whole
packets, no options that change the columns) take a struct-only fast path; everything else goes through
the full dissector (sniffer.decode.engine). A test checks both paths give the same columns.
"""

from __future__ import annotations

import struct
import time
from typing import NamedTuple

from sniffer.capture.frame import Frame
from sniffer.decode import engine
from sniffer.decode.core import TCP_PORTS, UDP_PORTS, ip4, ip6


class Summary(NamedTuple):
    """What the packet list shows for one frame (Wireshark's Source, Destination, Protocol, Info)."""

    src: str
    dst: str
    protocol: str
    info: str
    malformed: bool


_IPV4 = struct.Struct("!xxHxxHBBxx4s4s")  # total length, flags+fragment offset, ttl, protocol, src, dst
_IPV6 = struct.Struct("!4xHBB16s16s")  # payload length, next header, hop limit, src, dst
_TCP = struct.Struct("!HHIIHH")  # ports, seq, ack, data offset + flags, window
_UDP = struct.Struct("!HHH")
_ICMP_ECHO = struct.Struct("!BB2xHH")

_FLAG_NAMES = (
    (0x001, "FIN"),
    (0x002, "SYN"),
    (0x004, "RST"),
    (0x008, "PSH"),
    (0x010, "ACK"),
    (0x020, "URG"),
    (0x040, "ECE"),
    (0x080, "CWR"),
    (0x100, "AE"),
)
_FLAGS = [", ".join(n for b, n in _FLAG_NAMES if f & b) for f in range(0x1000)]
_SLOW_TCP = TCP_PORTS.map
_SLOW_UDP = UDP_PORTS.map
_ECHO_NAMES = {0: "Echo (ping) reply", 8: "Echo (ping) request"}
_ECHO6_NAMES = {129: "Echo (ping) reply", 128: "Echo (ping) request"}


def _l4(data: bytes, o: int, end: int, proto: int, src: str, dst: str, hlim: int, v6: bool) -> Summary | None:
    """Columns for the transport header at ``o`` (IP payload ends at ``end``), or None for the slow path."""
    if proto == 6:
        if o + 20 > end:
            return None
        sp, dp, seq, ack, offfl, win = _TCP.unpack_from(data, o)
        hl = (offfl >> 10) & 0x3C
        if hl < 20 or o + hl > end:
            return None
        seglen = end - o - hl
        if seglen and (sp in _SLOW_TCP or dp in _SLOW_TCP):
            return None
        fl = offfl & 0xFFF
        if fl & 0x10:
            info = f"{sp} → {dp} [{_FLAGS[fl]}] Seq={seq} Ack={ack} Win={win} Len={seglen}"
        else:
            info = f"{sp} → {dp} [{_FLAGS[fl]}] Seq={seq} Win={win} Len={seglen}"
        return Summary(src, dst, "TCP", info, False)
    if proto == 17:
        if o + 8 > end:
            return None
        sp, dp, ulen = _UDP.unpack_from(data, o)
        if ulen < 8 or o + ulen > end or sp in _SLOW_UDP or dp in _SLOW_UDP:
            return None
        return Summary(src, dst, "UDP", f"{sp} → {dp} Len={ulen - 8}", False)
    if proto == 1 and not v6:
        if o + 8 > end:
            return None
        t, _code, ident, seq = _ICMP_ECHO.unpack_from(data, o)
        name = _ECHO_NAMES.get(t)
        if name is None:
            return None
        return Summary(
            src,
            dst,
            "ICMP",
            f"{name} id=0x{ident:04x}, seq={seq}/{(seq >> 8) | ((seq & 0xFF) << 8)}, ttl={hlim}",
            False,
        )
    if proto == 58 and v6:
        if o + 8 > end:
            return None
        t, _code, ident, seq = _ICMP_ECHO.unpack_from(data, o)
        name = _ECHO6_NAMES.get(t)
        if name is None:
            return None
        return Summary(src, dst, "ICMPv6", f"{name} id=0x{ident:04x}, seq={seq}, hop limit={hlim}", False)
    return None


def _fast(frame: Frame) -> Summary | None:
    data = frame[1]
    n = len(data)
    if frame[2] != n:
        return None
    lt = frame[3]
    if lt == 1:
        if n < 14:
            return None
        et = data[12] << 8 | data[13]
        o = 14
    elif lt == 113:
        if n < 16:
            return None
        et = data[14] << 8 | data[15]
        o = 16
    elif lt == 276:
        if n < 20:
            return None
        et = data[0] << 8 | data[1]
        o = 20
    elif lt == 101 or lt == 228 or lt == 229:
        if not n:
            return None
        et = 0x86DD if data[0] >> 4 == 6 else 0x0800
        o = 0
    else:
        return None
    if et == 0x0800:
        if n < o + 20 or data[o] != 0x45:
            return None
        tlen, frag, ttl, proto, s, d = _IPV4.unpack_from(data, o)
        if frag & 0x3FFF or tlen < 20 or o + tlen > n:
            return None
        return _l4(data, o + 20, o + tlen, proto, ip4(s), ip4(d), ttl, False)
    if et == 0x86DD:
        if n < o + 40 or data[o] >> 4 != 6:
            return None
        plen, nxt, hlim, s, d = _IPV6.unpack_from(data, o)
        end = o + 40 + plen
        if not plen or end > n:
            return None
        return _l4(data, o + 40, end, nxt, ip6(s), ip6(d), hlim, True)
    return None


def summarize(frame: Frame) -> Summary:
    """The packet-list columns of ``frame``. Never raises."""
    try:
        s = _fast(frame)
    except Exception:
        s = None
    if s is not None:
        return s
    return slow_summary(frame)


def slow_summary(frame: Frame) -> Summary:
    """The columns from the full dissector (used when the fast path does not apply, and by tests)."""
    ctx = engine.run(frame, False)
    return Summary(ctx.src, ctx.dst, ctx.proto, ctx.info, bool(ctx.malformed))


_tcache: dict[int, str] = {}


def format_time(ts_ns: int) -> str:
    """Local wall-clock time of ``ts_ns`` as HH:MM:SS.ffffff (like tcpdump; TZ applies)."""
    sec, ns = divmod(ts_ns, 1_000_000_000)
    hms = _tcache.get(sec)
    if hms is None:
        if len(_tcache) > 4096:
            _tcache.clear()
        try:
            hms = time.strftime("%H:%M:%S", time.localtime(sec))
        except (OverflowError, OSError, ValueError):
            hms = "??:??:??"
        _tcache[sec] = hms
    return f"{hms}.{ns // 1000:06d}"


def format_line(number: int, frame: Frame) -> str:
    """One line per packet: number, time, source → destination, protocol, length, info."""
    s = summarize(frame)
    return f"{number} {format_time(frame[0])} {s[0]} → {s[1]} {s[2]} {frame[2]} {s[3]}"
