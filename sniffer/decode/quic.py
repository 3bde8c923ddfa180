"""QUIC (RFC 9000, version 2: RFC 9369) on UDP 443, one datagram at a time.

Long headers (Initial, 0-RTT, Handshake, Retry) show their version and connection ids; a client's
Initial packet is decrypted with the keys every observer can derive from its Destination Connection ID
(RFC 9001 5.2), so its packet number and frames (CRYPTO, ACK, PADDING...) show as in Wireshark. Other
packets are protected; a short header's connection id length is only known from the handshake (state
sniffer does not keep), so it shows as Wireshark shows an unknown connection: "Protected Payload (KP0)".
"""

from __future__ import annotations

from typing import Any

from sniffer.decode.core import UDP_PORTS, Ctx, F, Header, data_layer

QUIC_PORT = 443
V1 = 0x00000001
V2 = 0x6B3343CF

QUIC_FIRST = Header(
    (
        F("quic.header_form", "Header Form", 0, 1, mask=0x80),
        F("quic.fixed_bit", "Fixed Bit", 0, 1, mask=0x40),
    )
)
#: long packet type (the 2 bits after the fixed bit) -> name; version 2 numbers them differently
LONG_TYPES_V1 = {0: "Initial", 1: "0-RTT", 2: "Handshake", 3: "Retry"}
LONG_TYPES_V2 = {1: "Initial", 2: "0-RTT", 3: "Handshake", 0: "Retry"}
#: frame type -> Wireshark's name
FRAME_TYPES = {
    0x00: "PADDING",
    0x01: "PING",
    0x02: "ACK",
    0x03: "ACK",
    0x04: "RESET_STREAM",
    0x05: "STOP_SENDING",
    0x06: "CRYPTO",
    0x07: "NEW_TOKEN",
    0x10: "MAX_DATA",
    0x11: "MAX_STREAM_DATA",
    0x12: "MAX_STREAMS",
    0x13: "MAX_STREAMS",
    0x14: "DATA_BLOCKED",
    0x15: "STREAM_DATA_BLOCKED",
    0x16: "STREAMS_BLOCKED",
    0x17: "STREAMS_BLOCKED",
    0x18: "NEW_CONNECTION_ID",
    0x19: "RETIRE_CONNECTION_ID",
    0x1A: "PATH_CHALLENGE",
    0x1B: "PATH_RESPONSE",
    0x1C: "CONNECTION_CLOSE",
    0x1D: "CONNECTION_CLOSE",
    0x1E: "HANDSHAKE_DONE",
}
_SALTS = {
    V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
}


def varint(data: bytes, o: int, lim: int) -> tuple[int, int] | None:
    """A QUIC variable-length integer at ``o``: (value, its size) or None if cut."""
    if o >= lim:
        return None
    n = 1 << (data[o] >> 6)
    if o + n > lim:
        return None
    return int.from_bytes(data[o : o + n], "big") & ((1 << (8 * n - 2)) - 1), n


def _hkdf_label(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 7.1) with SHA-256 and an empty context."""
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes((len(full),)) + full + b"\x00"
    return HKDFExpand(SHA256(), length, info).derive(secret)


_keys: dict[tuple[int, bytes], tuple[bytes, bytes, bytes]] = {}


def client_initial_keys(version: int, dcid: bytes) -> tuple[bytes, bytes, bytes]:
    """(key, iv, header protection key) of a client's Initial packets (RFC 9001 5.2, RFC 9369 3.3)."""
    k = _keys.get((version, dcid))
    if k is None:
        import hashlib
        import hmac

        initial = hmac.new(_SALTS[version], dcid, hashlib.sha256).digest()
        client = _hkdf_label(initial, b"client in", 32)
        p = b"quicv2 " if version == V2 else b"quic "
        k = (
            _hkdf_label(client, p + b"key", 16),
            _hkdf_label(client, p + b"iv", 12),
            _hkdf_label(client, p + b"hp", 16),
        )
        if len(_keys) > 256:
            _keys.clear()
        _keys[(version, dcid)] = k
    return k


def _decrypt_initial(
    data: bytes, start: int, pn_off: int, end: int, version: int, dcid: bytes
) -> tuple[int, int, bytes] | None:
    """Remove header protection and decrypt a client Initial: (packet number, its length, plaintext)."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:  # pragma: no cover - cryptography is a runtime dependency
        return None
    if pn_off + 20 > end:
        return None
    key, iv, hp = client_initial_keys(version, dcid)
    sample = data[pn_off + 4 : pn_off + 20]
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    first = data[start] ^ (mask[0] & 0x0F)
    pnl = (first & 3) + 1
    pn_bytes = bytes(b ^ m for b, m in zip(data[pn_off : pn_off + pnl], mask[1 : 1 + pnl], strict=True))
    pn = int.from_bytes(pn_bytes, "big")
    header = bytes((first,)) + data[start + 1 : pn_off] + pn_bytes
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big"), strict=True))
    try:
        plain = AESGCM(key).decrypt(nonce, data[pn_off + pnl : end], header)
    except Exception:
        return None
    return pn, pnl, plain


def _frames(ctx: Ctx, plain: bytes) -> list[str]:
    """The frames of a decrypted payload (recorded with offset 0: they are not bytes of the frame)."""
    names: list[str] = []
    o = 0
    n = len(plain)
    while o < n:
        t = plain[o]
        if t == 0:  # PADDING: a run of zero bytes is one frame
            e = o
            while e < n and plain[e] == 0:
                e += 1
            ctx.add("quic.frame_type", 0, 0, 0, "Frame Type")
            ctx.add("quic.padding_length", e - o, 0, 0, "Padding Length")
            names.append("PADDING")
            o = e
            continue
        ctx.add("quic.frame_type", t, 0, 0, "Frame Type")
        names.append(FRAME_TYPES.get(t) or f"Unknown ({t})")
        o += 1
        if t == 1:
            continue
        vals: list[int] = []
        want = {2: 4, 3: 4, 6: 2, 0x1C: 3, 0x1D: 2}.get(t)
        if want is None:
            break  # a frame Initial packets do not carry: stop
        for _ in range(want):
            r = varint(plain, o, n)
            if r is None:
                return names
            vals.append(r[0])
            o += r[1]
        if t in (2, 3):
            ctx.add("quic.ack.largest_acknowledged", vals[0], 0, 0, "Largest Acknowledged")
            ctx.add("quic.ack.ack_delay", vals[1], 0, 0, "ACK Delay")
            ctx.add("quic.ack.ack_range_count", vals[2], 0, 0, "ACK Range Count")
            ctx.add("quic.ack.first_ack_range", vals[3], 0, 0, "First ACK Range")
            for _ in range(2 * vals[2] + (3 if t == 3 else 0)):
                r = varint(plain, o, n)
                if r is None:
                    return names
                o += r[1]
        elif t == 6:
            ctx.add("quic.crypto.offset", vals[0], 0, 0, "Offset")
            ctx.add("quic.crypto.length", vals[1], 0, 0, "Length")
            o += vals[1]
        else:  # CONNECTION_CLOSE: error code, (frame type,) reason length, reason
            o += vals[-1]
    return names


def _long(ctx: Ctx, o: int, lim: int, to_server: bool) -> tuple[int, str] | None:
    """One long-header packet at ``o``: (its end, its Info text), or None if it does not parse."""
    data = ctx.data
    if o + 7 > lim:
        return None
    version = int.from_bytes(data[o + 1 : o + 5], "big")
    types = LONG_TYPES_V2 if version == V2 else LONG_TYPES_V1
    ptype = (data[o] >> 4) & 3
    name = types[ptype] if version else "Version Negotiation"
    if version:
        ctx.add(
            "quic.long.packet_type_v2" if version == V2 else "quic.long.packet_type",
            ptype,
            o,
            1,
            "Packet Type",
            f"Packet Type: {name} ({ptype})",
        )
    ctx.add("quic.version", version, o + 1, 4, "Version", f"Version: 0x{version:08x}")
    p = o + 5
    dcil = data[p]
    ctx.add("quic.dcil", dcil, p, 1, "Destination Connection ID Length")
    dcid = data[p + 1 : p + 1 + dcil]
    if dcil:
        ctx.add("quic.dcid", dcid.hex(":"), p + 1, dcil, "Destination Connection ID")
    p += 1 + dcil
    if p >= lim:
        return None
    scil = data[p]
    ctx.add("quic.scil", scil, p, 1, "Source Connection ID Length")
    scid = data[p + 1 : p + 1 + scil]
    if scil:
        ctx.add("quic.scid", scid.hex(":"), p + 1, scil, "Source Connection ID")
    p += 1 + scil
    info = name
    if dcil:
        info += f", DCID={dcid.hex()}"
    if scil:
        info += f", SCID={scid.hex()}"
    if not version or name == "Retry":  # no length: the rest of the datagram
        ctx.add("quic.packet_length", lim - o, o, lim - o, "Packet Length")
        return lim, info
    if name == "Initial":
        r = varint(data, p, lim)
        if r is None:
            return None
        ctx.add("quic.token_length", r[0], p, r[1], "Token Length")
        p += r[1] + r[0]
    r = varint(data, p, lim)
    if r is None:
        return None
    ctx.add("quic.length", r[0], p, r[1], "Length")
    pn_off = p + r[1]
    end = min(pn_off + r[0], lim)
    ctx.add("quic.packet_length", end - o, o, end - o, "Packet Length")
    dec = None
    if name == "Initial" and to_server and version in _SALTS:
        dec = _decrypt_initial(data, o, pn_off, end, version, dcid)
    if dec is None:
        if not ctx.lean:  # (a field only: the hex of the whole payload)
            ctx.add(
                "quic.remaining_payload", data[pn_off:end].hex(":"), pn_off, end - pn_off, "Remaining Payload"
            )
        return end, info
    pn, pnl, plain = dec
    ctx.add("quic.packet_number", pn, pn_off, pnl, "Packet Number")
    names = _frames(ctx, plain)
    return end, ", ".join([info, f"PKN: {pn}", *names])


def _to_server(ctx: Ctx) -> bool:
    dp = ctx.fields.get("udp.dstport")
    if isinstance(dp, list):
        dp = dp[-1]
    return bool(dp == QUIC_PORT)


@UDP_PORTS.register(QUIC_PORT)
def dissect_quic(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if off >= lim or not data[off] & 0x40:  # the fixed bit (RFC 9000 17.2): not QUIC
        data_layer(ctx, off, end)
        return
    ctx.push("quic", "QUIC IETF", off, lim - off)
    ctx.proto = "QUIC"
    infos = []
    o = off
    to_server = _to_server(ctx)
    dcid: bytes | None = None
    while o < lim:
        if o + 5 <= lim and data[o] & 0x80 and data[o + 1 : o + 5] != bytes(4):
            version = int.from_bytes(data[o + 1 : o + 5], "big")
            retry = (LONG_TYPES_V2 if version == V2 else LONG_TYPES_V1)[(data[o] >> 4) & 3] == "Retry"
        else:
            retry = False
        if retry:  # (Wireshark shows no fixed bit in a Retry)
            ctx.add("quic.header_form", 1, o, 1, "Header Form")
        else:
            QUIC_FIRST.read(ctx, o, end)
        if not data[o] & 0x80:  # short header: the rest of the datagram
            ctx.add("quic.short", data[o], o, 1, "Short Header")
            ctx.add("quic.spin_bit", (data[o] >> 5) & 1, o, 1, "Spin Bit")
            info = "Protected Payload (KP0)"
            p = o + 1
            if dcid is not None:  # after a long header in the same datagram: the same connection id
                ctx.add("quic.dcid", dcid.hex(":"), p, len(dcid), "Destination Connection ID")
                if dcid:
                    info += f", DCID={dcid.hex()}"
                p += len(dcid)
            ctx.add("quic.packet_length", lim - o, o, lim - o, "Packet Length")
            if not ctx.lean:
                ctx.add("quic.remaining_payload", data[p:lim].hex(":"), p, lim - p, "Remaining Payload")
            infos.append(info)
            break
        dcil = data[o + 5] if o + 5 < lim else 0
        dcid = data[o + 6 : o + 6 + dcil]
        r = _long(ctx, o, lim, to_server)
        if r is None:
            break
        o, info = r
        infos.append(info)
        if o < lim and not data[o] & 0x40:  # padding after the last packet
            break
    ctx.info = infos[-1] if infos else ""  # (Wireshark's column keeps the last packet of a datagram)


#: names the code builds (for the filter engine's list of what sniffer decodes)
DECLARES: tuple[Any, ...] = ("quic.long.packet_type_v2",)
