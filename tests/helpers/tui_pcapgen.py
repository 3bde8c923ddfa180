"""Deterministic pcap files for the TUI tests and benchmark, written with struct (no scapy): fast at 1M packets."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

PCAP_HDR = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)  # usec, Ethernet
REC = struct.Struct("<IIII")
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 0, ttl: int = 64) -> bytes:
    s = bytes(int(x) for x in src.split("."))
    d = bytes(int(x) for x in dst.split("."))
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, ttl, proto, 0, s, d
    )
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return hdr + payload


def ether(payload: bytes, ethertype: int = 0x0800) -> bytes:
    return MAC_B + MAC_A + struct.pack("!H", ethertype) + payload


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def icmp_echo(ident: int, seq: int, payload: bytes, reply: bool = False) -> bytes:
    t = 0 if reply else 8
    hdr = struct.pack("!BBHHH", t, 0, 0, ident, seq)
    c = _csum(hdr + payload)
    return struct.pack("!BBHHH", t, 0, c, ident, seq) + payload


def mixed_frames(n: int) -> Iterator[bytes]:
    """``n`` Ethernet frames cycling UDP, TCP (SYN/ACK/data/FIN) and ICMP echo between two hosts."""
    for i in range(n):
        k = i % 8
        a, b = f"10.0.{(i >> 8) & 0xFF}.1", "10.0.0.2"
        if k in (0, 1):
            yield ether(ipv4(a, b, 17, udp(40000 + (i % 1000), 7777, b"udp payload %08d" % i), i))
        elif k == 2:
            yield ether(ipv4(a, b, 6, tcp(41000, 80, i, 0, 0x02), i))
        elif k == 3:
            yield ether(ipv4(b, a, 6, tcp(80, 41000, i, i + 1, 0x12), i))
        elif k == 4:
            yield ether(ipv4(a, b, 6, tcp(41000, 80, i + 1, i + 1, 0x18, b"GET /%d HTTP/1.0\r\n\r\n" % i), i))
        elif k == 5:
            yield ether(ipv4(b, a, 6, tcp(80, 41000, i + 1, i + 2, 0x11), i))
        elif k == 6:
            yield ether(ipv4(a, b, 1, icmp_echo(7, i & 0xFFFF, b"ping %d" % i), i))
        else:
            yield ether(ipv4(b, a, 1, icmp_echo(7, (i - 1) & 0xFFFF, b"ping %d" % (i - 1), reply=True), i))


def write_pcap(path: str | Path, n: int, start_s: int = 1_700_000_000, step_us: int = 1000) -> Path:
    """Write ``n`` mixed packets to ``path`` (classic pcap, usec): deterministic bytes and times."""
    path = Path(path)
    with open(path, "wb") as f:
        f.write(PCAP_HDR)
        chunk: list[bytes] = []
        for i, frame in enumerate(mixed_frames(n)):
            t = i * step_us
            chunk.append(REC.pack(start_s + t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            chunk.append(frame)
            if len(chunk) >= 20000:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))
    return path


def many_flows_frames(n: int, flows: int) -> Iterator[bytes]:
    """``n`` Ethernet frames over ``flows`` conversations (half TCP, half UDP), each between its own
    pair of hosts, visited round-robin: the shape that makes conversation tables big."""
    hdr_cache: dict[int, tuple[bytes, bytes, bool]] = {}
    for i in range(n):
        f = i % flows
        got = hdr_cache.get(f)
        if got is None:
            a = f"10.{(f >> 16) & 0xFF}.{(f >> 8) & 0xFF}.{f & 0xFF}"
            b = f"172.16.{(f >> 8) & 0xFF}.{(f * 7) & 0xFF}"
            got = (a.encode(), b.encode(), f % 2 == 0)
            if len(hdr_cache) < 200_000:
                hdr_cache[f] = got
        a, b, is_tcp = got[0].decode(), got[1].decode(), got[2]
        back = (i // flows) % 2 == 1
        sport, dport = 20000 + f % 40000, 80 if is_tcp else 53
        src, dst = (b, a) if back else (a, b)
        if back:
            sport, dport = dport, sport
        if is_tcp:
            yield ether(ipv4(src, dst, 6, tcp(sport, dport, i, i, 0x18, b"x" * (i % 50)), i))
        else:
            yield ether(ipv4(src, dst, 17, udp(sport, dport, b"y" * (i % 60)), i))


def write_frames(
    path: str | Path, frames: Iterator[bytes], start_s: int = 1_700_000_000, step_us: int = 10
) -> Path:
    """Write ``frames`` to a classic pcap (usec), one every ``step_us``."""
    path = Path(path)
    with open(path, "wb") as f:
        f.write(PCAP_HDR)
        chunk: list[bytes] = []
        for i, frame in enumerate(frames):
            t = i * step_us
            chunk.append(REC.pack(start_s + t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            chunk.append(frame)
            if len(chunk) >= 20000:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))
    return path
