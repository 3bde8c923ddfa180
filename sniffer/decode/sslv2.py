"""SSL 2.0 records on the TLS ports, as tshark 4.0 tells them without conversation state
(``ssl_looks_like_sslv2``): a first byte with the high bit set (2-byte record header) and a known message
type in the third byte. Client Hello, Server Hello and Client Master Key are decoded when their lengths
add up (``ssl_looks_like_valid_v2_handshake``); any other record is "Encrypted Data", and bytes after the
last record that start no record are "Continuation Data".

Wireshark also knows SSLv2 from the conversation (the Server Hello chose it) and then shows every later
record, even one with a 3-byte header or an encrypted first byte, as SSLv2: that needs the earlier
packets. The read fast path sends a TLS-port segment here only when its first 3 bytes are in
``SSLV2_PREFIXES``: records shorter than 512 bytes of the three handshake types and Error, and Server
Hellos up to 2 KiB (a larger set costs import time for every ``sniffer read``).
"""

from __future__ import annotations

from itertools import product

from sniffer.decode.core import Ctx, Node

MSG_TYPES = {
    0: "Error",
    1: "Client Hello",
    2: "Client Master Key",
    3: "Client Finished",
    4: "Server Hello",
    5: "Server Verify",
    6: "Server Finished",
    7: "Request Certificate",
    8: "Client Certificate",
}

SSLV2_PREFIXES = frozenset(map(bytes, product((0x80, 0x81), range(256), (0, 1, 2, 4)))) | frozenset(
    map(bytes, product(range(0x82, 0x88), range(256), (4,)))
)

_VALID_VERSIONS = frozenset({0x0002, 0x0300, 0x0301, 0x0302, 0x0303})

#: the cipher specs Wireshark names (SSL 2.0's 3-byte codes)
CIPHER_SPECS = {
    0x010080: "SSL2_RC4_128_WITH_MD5",
    0x020080: "SSL2_RC4_128_EXPORT40_WITH_MD5",
    0x030080: "SSL2_RC2_128_CBC_WITH_MD5",
    0x040080: "SSL2_RC2_128_CBC_EXPORT40_WITH_MD5",
    0x050080: "SSL2_IDEA_128_CBC_WITH_MD5",
    0x060040: "SSL2_DES_64_CBC_WITH_MD5",
    0x0700C0: "SSL2_DES_192_EDE3_CBC_WITH_MD5",
}


def looks_like_sslv2(data: bytes, off: int, lim: int) -> bool:
    return off + 3 <= lim and data[off] >= 0x80 and data[off + 2] in MSG_TYPES


def _u16(data: bytes, o: int) -> int:
    return data[o] << 8 | data[o + 1]


def _valid_handshake(data: bytes, o: int, ln: int, lim: int) -> bool:
    """The message at ``o`` (its type byte) is a Client Hello / Server Hello / Client Master Key whose
    lengths add up to the record's (``ln``)."""
    t = data[o]
    if t == 1 and o + 9 <= lim:
        specs = _u16(data, o + 3)
        return (
            _u16(data, o + 1) in _VALID_VERSIONS
            and specs % 3 == 0
            and 9 + specs + _u16(data, o + 5) + _u16(data, o + 7) == ln
        )
    if t == 4 and o + 11 <= lim:
        return (
            _u16(data, o + 3) in _VALID_VERSIONS
            and 11 + _u16(data, o + 5) + _u16(data, o + 7) + _u16(data, o + 9) == ln
        )
    if t == 2 and o + 10 <= lim:
        return 10 + _u16(data, o + 4) + _u16(data, o + 6) + _u16(data, o + 8) == ln
    return False


def dissect_sslv2(ctx: Ctx, off: int, end: int) -> bool:
    """SSLv2 records at ``off``; False (nothing recorded) if the segment does not start like one."""
    data = ctx.data
    lim = min(end, len(data))
    if data[off : off + 3] not in SSLV2_PREFIXES:  # (the first record: what the fast path sends here)
        return False
    ctx.push("tls", "Transport Layer Security", off, lim - off)
    ctx.proto = "SSLv2"
    names: list[str] = []
    o = off
    while o < lim:
        if not looks_like_sslv2(data, o, lim):
            names.append("Continuation Data")
            break
        ln = (data[o] & 0x7F) << 8 | data[o + 1]
        b = o + 2
        stop = b + ln
        t = data[b]
        valid = _valid_handshake(data, b, ln, lim)
        name = MSG_TYPES[t] if valid else "Encrypted Data"
        rec = ctx.sub(f"SSLv2 Record Layer: {name}", "tls.record", o, min(stop, lim) - o)
        ctx.add(
            "tls.record", "", o, min(stop, lim) - o, "SSLv2 Record Layer", f"SSLv2 Record Layer: {name}", rec
        )
        ctx.add("tls.record.version", 0x0002, o, 0, "Version", "Version: SSL 2.0 (0x0002)", rec)
        names.append(name)
        if valid:  # (an encrypted record's length is not shown: Wireshark bails out before it)
            ctx.add("tls.record.length", ln, o, 2, "Length", None, rec)
            ctx.add(
                "tls.handshake.type",
                t,
                b,
                1,
                "Handshake Message Type",
                f"Handshake Message Type: {name} ({t})",
                rec,
            )
            _handshake(ctx, b, t, stop, rec)
        o = stop
    ctx.info = ", ".join(names)
    return True


def _handshake(ctx: Ctx, b: int, t: int, stop: int, node: Node | None) -> None:
    data = ctx.data
    lim = min(stop, len(data))
    if t == 1:
        ctx.add("tls.handshake.version", _u16(data, b + 1), b + 1, 2, "Version", None, node)
        specs = _u16(data, b + 3)
        ctx.add("tls.handshake.cipher_spec_len", specs, b + 3, 2, "Cipher Spec Length", None, node)
        ctx.add(
            "tls.handshake.session_id_length", _u16(data, b + 5), b + 5, 2, "Session ID Length", None, node
        )
        ctx.add("tls.handshake.challenge_length", _u16(data, b + 7), b + 7, 2, "Challenge Length", None, node)
        _specs(ctx, b + 9, specs, lim, node)
    elif t == 4:
        ctx.add(
            "tls.handshake.session_id_hit", int(bool(data[b + 1])), b + 1, 1, "Session ID Hit", None, node
        )
        ctx.add("tls.handshake.cert_type", data[b + 2], b + 2, 1, "Certificate Type", None, node)
        ctx.add("tls.handshake.version", _u16(data, b + 3), b + 3, 2, "Version", None, node)
        cert = _u16(data, b + 5)
        specs = _u16(data, b + 7)
        ctx.add("tls.handshake.certificate_length", cert, b + 5, 2, "Certificate Length", None, node)
        ctx.add("tls.handshake.cipher_spec_len", specs, b + 7, 2, "Cipher Spec Length", None, node)
        ctx.add(
            "tls.handshake.connection_id_length",
            _u16(data, b + 9),
            b + 9,
            2,
            "Connection ID Length",
            None,
            node,
        )
        _specs(ctx, b + 11 + cert, specs, lim, node)
    elif t == 2:
        v = data[b + 1] << 16 | data[b + 2] << 8 | data[b + 3]
        spec = f"Cipher Spec: {CIPHER_SPECS.get(v, 'Unknown')} (0x{v:06x})"
        ctx.add("tls.handshake.cipherspec", v, b + 1, 3, "Cipher Spec", spec, node)
        ctx.add(
            "tls.handshake.clear_key_length", _u16(data, b + 4), b + 4, 2, "Clear Key Data Length", None, node
        )
        ctx.add(
            "tls.handshake.encrypted_key_length",
            _u16(data, b + 6),
            b + 6,
            2,
            "Encrypted Key Data Length",
            None,
            node,
        )
        ctx.add(
            "tls.handshake.key_arg_length", _u16(data, b + 8), b + 8, 2, "Key Argument Length", None, node
        )


def _specs(ctx: Ctx, o: int, n: int, lim: int, node: Node | None) -> None:
    data = ctx.data
    for s in range(o, min(o + n, lim) - 2, 3):
        v = data[s] << 16 | data[s + 1] << 8 | data[s + 2]
        name = CIPHER_SPECS.get(v, "Unknown")
        ctx.add("tls.handshake.cipherspec", v, s, 3, "Cipher Spec", f"Cipher Spec: {name} (0x{v:06x})", node)


DECLARES: tuple[str, ...] = ()
