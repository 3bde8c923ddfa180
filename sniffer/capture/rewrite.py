"""tcprewrite's habits for replay, pure bytes in and out: MAC addresses, IP address maps (--srcipmap,
--dstipmap, --pnat), a per-loop address offset (--unique-ip) and checksums (--fixcsum).

Works on Ethernet frames (what replay sends) carrying IPv4 or IPv6, one 802.1Q tag allowed. Any
address change recomputes the IP header checksum and the TCP/UDP/ICMP(v6) checksum, as tcprewrite
does; --fixcsum recomputes them for every packet.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass, field

from sniffer.checksum import checksum
from sniffer.errors import UsageError

IPv4Net = ipaddress.IPv4Network
IPv6Net = ipaddress.IPv6Network
Net = IPv4Net | IPv6Net


_V6_PAIR = re.compile(r"^\[([0-9a-fA-F:.]+)(/\d+)?\](/\d+)?:\[([0-9a-fA-F:.]+)(/\d+)?\](/\d+)?$")


def parse_map(text: str, option: str) -> list[tuple[Net, Net]]:
    """``10.0.0.0/8:192.168.0.0/16[,...]`` (tcprewrite's syntax; IPv6 networks in brackets,
    ``[fd00::/64]:[fd01::/64]`` as tcprewrite writes them, or ``[fd00::]/64:[fd01::]/64``) -> [(from, to)]."""
    out: list[tuple[Net, Net]] = []
    for part in text.split(","):
        part = part.strip()
        try:
            m = _V6_PAIR.match(part)
            if m:
                a = ipaddress.ip_network(m.group(1) + (m.group(2) or m.group(3) or "/128"), strict=False)
                b = ipaddress.ip_network(m.group(4) + (m.group(5) or m.group(6) or "/128"), strict=False)
            else:
                left, sep, right = part.partition(":")
                if not sep or "[" in part:
                    raise ValueError("expected FROM:TO")
                a = ipaddress.ip_network(left, strict=False)
                b = ipaddress.ip_network(right, strict=False)
        except ValueError as exc:
            raise UsageError(f"{option} {text}: {exc} (form: 10.0.0.0/8:192.168.0.0/16)") from None
        if a.version != b.version:
            raise UsageError(f"{option} {part}: both networks must be of the same family")
        out.append((a, b))
    return out


def _mapped(addr: bytes, maps: list[tuple[Net, Net]]) -> bytes:
    ip = ipaddress.ip_address(addr)
    for a, b in maps:
        if ip.version == a.version and ip in a:
            host = int(ip) - int(a.network_address)
            host &= int(b.hostmask)
            return (int(b.network_address) + host).to_bytes(len(addr), "big")
    return addr


@dataclass
class Rewriter:
    """The rewrite rules of one replay; ``apply(frame, loop)`` returns the frame to send."""

    src_mac: bytes | None = None
    dst_mac: bytes | None = None
    srcmap: list[tuple[Net, Net]] = field(default_factory=list)
    dstmap: list[tuple[Net, Net]] = field(default_factory=list)
    unique_ip: bool = False
    fixcsum: bool = False

    @property
    def active(self) -> bool:
        return bool(
            self.src_mac or self.dst_mac or self.srcmap or self.dstmap or self.unique_ip or self.fixcsum
        )

    def apply(self, frame: bytes, loop: int = 0) -> bytes:
        if len(frame) < 14:
            return frame
        f = bytearray(frame)
        if self.dst_mac:
            f[0:6] = self.dst_mac
        if self.src_mac:
            f[6:12] = self.src_mac
        off = 12
        etype = struct.unpack_from("!H", f, off)[0]
        if etype == 0x8100 and len(f) >= 18:
            off += 4
            etype = struct.unpack_from("!H", f, off)[0]
        off += 2
        if etype == 0x0800:
            self._ipv4(f, off, loop)
        elif etype == 0x86DD:
            self._ipv6(f, off, loop)
        return bytes(f)

    def _addrs(self, src: bytes, dst: bytes, loop: int) -> tuple[bytes, bytes]:
        s2 = _mapped(src, self.srcmap) if self.srcmap else src
        d2 = _mapped(dst, self.dstmap) if self.dstmap else dst
        if self.unique_ip and loop:
            n = len(src) * 8
            s2 = ((int.from_bytes(s2, "big") + loop) % (1 << n)).to_bytes(len(src), "big")
            d2 = ((int.from_bytes(d2, "big") + loop) % (1 << n)).to_bytes(len(dst), "big")
        return s2, d2

    def _ipv4(self, f: bytearray, off: int, loop: int) -> None:
        if len(f) < off + 20 or f[off] >> 4 != 4:
            return
        ihl = (f[off] & 0x0F) * 4
        if ihl < 20 or len(f) < off + ihl:
            return
        src, dst = bytes(f[off + 12 : off + 16]), bytes(f[off + 16 : off + 20])
        s2, d2 = self._addrs(src, dst, loop)
        if (s2, d2) == (src, dst) and not self.fixcsum:
            return
        f[off + 12 : off + 16], f[off + 16 : off + 20] = s2, d2
        f[off + 10 : off + 12] = b"\0\0"
        struct.pack_into("!H", f, off + 10, checksum(f[off : off + ihl]))
        total = struct.unpack_from("!H", f, off + 2)[0]
        frag = struct.unpack_from("!H", f, off + 6)[0]
        if frag & 0x1FFF:
            return  # not the first fragment: no transport header here
        end = min(len(f), off + total) if total >= ihl else len(f)
        if frag & 0x2000:
            return  # first fragment: the checksum covers data we do not have
        pseudo = s2 + d2 + struct.pack("!BBH", 0, f[off + 9], end - off - ihl)
        self._l4(f, off + ihl, end, f[off + 9], pseudo, v6=False)

    def _ipv6(self, f: bytearray, off: int, loop: int) -> None:
        if len(f) < off + 40 or f[off] >> 4 != 6:
            return
        src, dst = bytes(f[off + 8 : off + 24]), bytes(f[off + 24 : off + 40])
        s2, d2 = self._addrs(src, dst, loop)
        if (s2, d2) == (src, dst) and not self.fixcsum:
            return
        f[off + 8 : off + 24], f[off + 24 : off + 40] = s2, d2
        nxt = f[off + 6]
        plen = struct.unpack_from("!H", f, off + 4)[0]
        end = min(len(f), off + 40 + plen)
        pseudo = s2 + d2 + struct.pack("!IxxxB", end - off - 40, nxt)
        self._l4(f, off + 40, end, nxt, pseudo, v6=True)

    @staticmethod
    def _l4(f: bytearray, start: int, end: int, proto: int, pseudo: bytes, v6: bool) -> None:
        pos = {6: 16, 17: 6, 58: 2, 1: 2}.get(proto)
        if pos is None or end - start < pos + 2:
            return
        if proto == 17 and not v6 and f[start + pos : start + pos + 2] == b"\0\0":
            return  # UDP over IPv4 without a checksum stays without one
        f[start + pos : start + pos + 2] = b"\0\0"
        body = f[start:end]
        c = checksum(body) if proto == 1 else checksum(pseudo + body)
        if proto == 17 and c == 0:
            c = 0xFFFF
        struct.pack_into("!H", f, start + pos, c)


def _src_and_ports(frame: bytes) -> tuple[bytes, int | None]:
    """The source address and the TCP/UDP source port of an Ethernet frame (port None if none)."""
    off = 12
    etype = int.from_bytes(frame[off : off + 2], "big")
    if etype == 0x8100 and len(frame) >= 18:
        off += 4
        etype = int.from_bytes(frame[off : off + 2], "big")
    off += 2
    if etype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 0x0F) * 4
        proto, src, l4 = frame[off + 9], frame[off + 12 : off + 16], off + ihl
        if int.from_bytes(frame[off + 6 : off + 8], "big") & 0x1FFF:
            proto = 0  # a later fragment: no ports
    elif etype == 0x86DD and len(frame) >= off + 40:
        proto, src, l4 = frame[off + 6], frame[off + 8 : off + 24], off + 40
    else:
        return b"", None
    if proto in (6, 17) and len(frame) >= l4 + 2:
        return src, int.from_bytes(frame[l4 : l4 + 2], "big")
    return src, None


@dataclass
class Splitter:
    """tcpprep's client/server split for two interfaces: 0 = client -> server (the first interface),
    1 = server -> client (the second). By client networks (a source inside one is a client, as
    tcpprep --cidr) or by server ports (a TCP/UDP source port among them is the server's)."""

    clients: list[Net] = field(default_factory=list)
    server_ports: frozenset[int] = frozenset()

    def side(self, frame: bytes) -> int:
        src, sport = _src_and_ports(frame)
        if self.clients:
            if not src:
                return 0
            ip = ipaddress.ip_address(src)
            return 0 if any(ip.version == n.version and ip in n for n in self.clients) else 1
        return 1 if sport is not None and sport in self.server_ports else 0
