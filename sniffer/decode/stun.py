"""STUN / TURN (RFC 5389/8489, 5766) on UDP 3478 and, as Wireshark finds it, on any UDP port by a
heuristic: the magic cookie 0x2112a442 at offset 4 (the read fast path probes it), the two top bits of
the message type clear, and a message length that is the rest of the datagram.

Info as Wireshark's: ``Binding Request user: a:b``, ``Binding Success Response XOR-MAPPED-ADDRESS:
192.0.2.1:3478``, with the address attributes, ``error-code``, ``realm``, ``lifetime`` appended."""

from __future__ import annotations

from sniffer.decode.core import HEX4, UDP_HEURISTICS, UDP_PORTS, Ctx, F, Header, data_layer, ip4, ip6

COOKIE = b"\x21\x12\xa4\x42"

METHODS = {
    0x001: "Binding",
    0x002: "SharedSecret",
    0x003: "Allocate",
    0x004: "Refresh",
    0x006: "Send",
    0x007: "Data",
    0x008: "CreatePermission",
    0x009: "ChannelBind",
    0x00A: "Connect",
    0x00B: "ConnectionBind",
    0x00C: "ConnectionAttempt",
}
CLASSES = {0: "Request", 1: "Indication", 2: "Success Response", 3: "Error Response"}

ATTRS = {
    0x0001: "MAPPED-ADDRESS",
    0x0002: "RESPONSE-ADDRESS",
    0x0003: "CHANGE-REQUEST",
    0x0004: "SOURCE-ADDRESS",
    0x0005: "CHANGED-ADDRESS",
    0x0006: "USERNAME",
    0x0007: "PASSWORD",
    0x0008: "MESSAGE-INTEGRITY",
    0x0009: "ERROR-CODE",
    0x000A: "UNKNOWN-ATTRIBUTES",
    0x000B: "REFLECTED-FROM",
    0x000C: "CHANNEL-NUMBER",
    0x000D: "LIFETIME",
    0x0012: "XOR-PEER-ADDRESS",
    0x0013: "DATA",
    0x0014: "REALM",
    0x0015: "NONCE",
    0x0016: "XOR-RELAYED-ADDRESS",
    0x0019: "REQUESTED-TRANSPORT",
    0x0020: "XOR-MAPPED-ADDRESS",
    0x0024: "PRIORITY",
    0x0025: "USE-CANDIDATE",
    0x8022: "SOFTWARE",
    0x8023: "ALTERNATE-SERVER",
    0x8028: "FINGERPRINT",
    0x8029: "ICE-CONTROLLED",
    0x802A: "ICE-CONTROLLING",
}
_PLAIN_ADDR = {0x0001, 0x0002, 0x0004, 0x0005, 0x000B, 0x8023}
_XOR_ADDR = {0x0012, 0x0016, 0x0020}

STUN = Header(
    (
        F("stun.type", "Message Type", 0, 2, disp=HEX4),
        F("stun.type.class", "Message Class", 0, 2, mask=0x0110),
        F("stun.type.method", "Message Method", 0, 2, mask=0x3EEF),
        F("stun.length", "Message Length", 2, 2),
        F("stun.cookie", "Message Cookie", 4, 4, "bytes"),
        F("stun.id", "Message Transaction ID", 8, 12, "bytes"),
    )
)


def _method(t: int) -> int:
    return (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2)


def is_stun(data: bytes, off: int, end: int) -> bool:
    """Wireshark's heuristic check: a whole 20-byte header, type bits 15-14 clear, the cookie, and a
    length (a multiple of 4) that is the rest of the datagram."""
    if off + 20 > min(end, len(data)) or data[off] & 0xC0 or data[off + 4 : off + 8] != COOKIE:
        return False
    ln = data[off + 2] << 8 | data[off + 3]
    return not ln & 3 and off + 20 + ln == end


@UDP_HEURISTICS.register(4, COOKIE)
def dissect_stun_heur(ctx: Ctx, off: int, end: int) -> bool:
    if not is_stun(ctx.data, off, end):
        return False
    dissect_stun(ctx, off, end)
    return True


@UDP_PORTS.register(3478)
def dissect_stun_port(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    if off + 20 <= min(end, len(data)) and not data[off] & 0xC0:
        dissect_stun(ctx, off, end)
    else:
        data_layer(ctx, off, end)


def dissect_stun(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("stun", "Session Traversal Utilities for NAT", off, lim - off)
    ctx.proto = "STUN"
    vals = STUN.read(ctx, off, end)
    if vals is None:
        return
    t = vals["stun.type"]
    cls = (t & 0x0100) >> 7 | (t & 0x0010) >> 4
    info = f"{METHODS.get(_method(t), f'Unknown (0x{_method(t):03x})')} {CLASSES[cls]}"
    o = off + 20
    stop = min(off + 20 + vals["stun.length"], lim)
    while o + 4 <= stop:
        at, al = data[o] << 8 | data[o + 1], data[o + 2] << 8 | data[o + 3]
        ctx.add("stun.attribute", at, o, 2, "Attribute Type")
        ctx.add("stun.att.type", at, o, 2, "Attribute Type")
        ctx.add("stun.att.length", al, o + 2, 2, "Attribute Length")
        v = o + 4
        if v + al > lim:
            ctx.short(v + al, end)
            break
        name = ATTRS.get(at) or f"Unknown (0x{at:04x})"
        if at == 0x0006:
            user = data[v : v + al].decode("utf-8", "replace")
            ctx.add("stun.att.username", user, v, al, "Username")
            info += f" user: {user}"
        elif at in _PLAIN_ADDR or at in _XOR_ADDR:
            if al >= 8:
                fam = data[v + 1]
                port = data[v + 2] << 8 | data[v + 3]
                raw = data[v + 4 : v + 4 + (16 if fam == 2 else 4)]
                if at in _XOR_ADDR:
                    port ^= 0x2112
                    key = COOKIE + data[off + 8 : off + 20]
                    raw = bytes(a ^ b for a, b in zip(raw, key, strict=False))
                ctx.add("stun.att.family", fam, v + 1, 1, "Protocol Family")
                ctx.add("stun.att.port", port, v + 2, 2, "Port")
                if fam == 2 and len(raw) == 16:
                    addr = ip6(raw)
                    ctx.add("stun.att.ipv6", addr, v + 4, 16, "IP")
                    info += f" {name}: [{addr}]:{port}"
                elif len(raw) == 4:
                    addr = ip4(raw)
                    ctx.add("stun.att.ipv4", addr, v + 4, 4, "IP")
                    info += f" {name}: {addr}:{port}"
        elif at == 0x0009 and al >= 4:
            code = (data[v + 2] & 7) * 100 + data[v + 3]
            reason = data[v + 4 : v + al].decode("utf-8", "replace")
            ctx.add("stun.att.error.class", data[v + 2] & 7, v + 2, 1, "Error Class")
            ctx.add("stun.att.error", data[v + 3], v + 3, 1, "Error Code")
            ctx.add("stun.att.error.reason", reason, v + 4, al - 4, "Error Reason Phrase")
            info += f" error-code: {code} ({reason})"
        elif at == 0x0014:
            realm = data[v : v + al].decode("utf-8", "replace")
            ctx.add("stun.att.realm", realm, v, al, "Realm")
            info += f" realm: {realm}"
        elif at == 0x0015:
            ctx.add("stun.att.nonce", data[v : v + al].decode("utf-8", "replace"), v, al, "Nonce")
            info += " with nonce"
        elif at == 0x000D and al >= 4:
            life = int.from_bytes(data[v : v + 4], "big")
            ctx.add("stun.att.lifetime", life, v, 4, "Lifetime")
            info += f" lifetime: {life}"
        elif at == 0x0024 and al >= 4:
            ctx.add("stun.att.priority", int.from_bytes(data[v : v + 4], "big"), v, 4, "Priority")
        elif at == 0x8022:
            ctx.add("stun.att.software", data[v : v + al].decode("utf-8", "replace"), v, al, "Software")
        elif at == 0x8028 and al >= 4:
            ctx.add("stun.att.crc32", int.from_bytes(data[v : v + 4], "big"), v, 4, "CRC-32")
        o = v + ((al + 3) & ~3)
    ctx.info = info
