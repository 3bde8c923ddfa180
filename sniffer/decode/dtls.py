"""DTLS (RFC 6347, 9147) records on UDP, found as Wireshark finds them: by a heuristic on any port.

A datagram is DTLS when it splits exactly into records whose content type is 20-24 and whose version is
DTLS 1.0 or 1.2 (Wireshark's ``dissect_dtls_heur``; the read fast path probes byte 1, 0xfe). Per
datagram, without session state:

- the Protocol column is the version of the first record that tells it (``DTLSv1.2``), as Wireshark's
  "authoritative" record (any but a Client Hello; a Server Hello's own version wins); a datagram that
  holds only a Client Hello is ``DTLS`` (Wireshark shows the version an earlier packet of the session
  set, which needs state);
- a handshake message cut into fragments is ``Client Hello (Fragment)``; the fragment that ends it is
  ``(Reassembled)`` (Wireshark says so once it has the earlier fragments: here assumed);
- a handshake or alert record of epoch > 0 is encrypted (no keys): ``Encrypted Handshake Message``,
  ``Encrypted Alert``.
"""

from __future__ import annotations

from sniffer.decode.core import HEX4, UDP_HEURISTICS, Ctx, F, Header
from sniffer.decode.tls import ALERT_DESCRIPTIONS, ALERT_LEVELS, CONTENT_TYPES, HANDSHAKE_TYPES

#: record version -> Wireshark's short name (the Protocol column)
DTLS_VERSIONS = {
    0xFEFF: "DTLSv1.0",
    0xFEFD: "DTLSv1.2",
    0xFEFC: "DTLSv1.3",
    0x0100: "DTLS 1.0 (OpenSSL pre 0.9.8f)",
}
#: the versions Wireshark's heuristic accepts (the OpenSSL pre-standard 0x0100 is left out: its byte 1 is 0,
#: which the fast path cannot probe without sending most UDP to the dissector)
HEUR_VERSIONS = (0xFEFF, 0xFEFD)

RECORD = Header(
    (
        F("dtls.record.content_type", "Content Type", 0, 1, names=CONTENT_TYPES),
        F("dtls.record.version", "Version", 1, 2, disp=HEX4, names=DTLS_VERSIONS),
        F("dtls.record.epoch", "Epoch", 3, 2),
        F("dtls.record.sequence_number", "Sequence Number", 5, 6),
        F("dtls.record.length", "Length", 11, 2),
    )
)

HANDSHAKE = Header(
    (
        F("dtls.handshake.type", "Handshake Type", 0, 1, names=HANDSHAKE_TYPES),
        F("dtls.handshake.length", "Length", 1, 3),
        F("dtls.handshake.message_seq", "Message Sequence", 4, 2),
        F("dtls.handshake.fragment_offset", "Fragment Offset", 6, 3),
        F("dtls.handshake.fragment_length", "Fragment Length", 9, 3),
    )
)


def _looks(data: bytes, o: int) -> bool:
    return 20 <= data[o] <= 24 and (data[o + 1] << 8 | data[o + 2]) in HEUR_VERSIONS


def is_dtls(data: bytes, off: int, end: int) -> bool:
    """Wireshark's heuristic: whole datagram captured and made of DTLS records end to end; a cut datagram
    whose records look right as far as they go."""
    lim = min(end, len(data))
    o = off
    if lim == end:
        while o + 13 <= lim and _looks(data, o):
            o += 13 + (data[o + 11] << 8 | data[o + 12])
            if o == lim:
                return True
        return False
    while lim - o >= 3:
        if not _looks(data, o):
            return False
        if lim - o < 13:
            return True
        o += 13 + (data[o + 11] << 8 | data[o + 12])
    return o > off


def _u(data: bytes, o: int, n: int) -> int:
    return int.from_bytes(data[o : o + n], "big")


@UDP_HEURISTICS.register(1, b"\xfe")
def dissect_dtls_heur(ctx: Ctx, off: int, end: int) -> bool:
    if not is_dtls(ctx.data, off, end):
        return False
    dissect_dtls(ctx, off, end)
    return True


def dissect_dtls(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("dtls", "Datagram Transport Layer Security", off, lim - off)
    names: list[str] = []
    version = 0
    o = off
    while o + 13 <= lim:
        rec = RECORD.read(ctx, o, end)
        if rec is None:
            break
        ct, ver, epoch, ln = (
            rec["dtls.record.content_type"],
            rec["dtls.record.version"],
            rec["dtls.record.epoch"],
            rec["dtls.record.length"],
        )
        b, stop = o + 13, o + 13 + ln
        if stop > lim:
            ctx.short(stop, end)
            break
        authoritative = True
        if ct == 22:
            if epoch:
                names.append("Encrypted Handshake Message")
            else:
                h = b
                while h + 12 <= stop:
                    hs = HANDSHAKE.read(ctx, h, end)
                    if hs is None:
                        break
                    ht, hl = hs["dtls.handshake.type"], hs["dtls.handshake.length"]
                    foff, flen = hs["dtls.handshake.fragment_offset"], hs["dtls.handshake.fragment_length"]
                    name = HANDSHAKE_TYPES.get(ht) or f"Unknown ({ht})"
                    if flen < hl:
                        name += " (Reassembled)" if foff and foff + flen == hl else " (Fragment)"
                    names.append(name)
                    body = h + 12
                    if ht == 1 and h == b:
                        authoritative = False
                    if ht in (1, 2, 3) and not foff and body + 2 <= stop:
                        hv = _u(data, body, 2)
                        ctx.add("dtls.handshake.version", hv, body, 2, "Version")
                        if ht == 2 and hv in DTLS_VERSIONS:
                            ver = hv
                    h = body + flen
        elif ct == 21:
            if epoch or ln != 2:
                names.append("Encrypted Alert")
            else:
                lv, desc = data[b], data[b + 1]
                ctx.add("dtls.alert_message.level", lv, b, 1, "Level")
                ctx.add("dtls.alert_message.desc", desc, b + 1, 1, "Description")
                names.append(
                    f"Alert (Level: {ALERT_LEVELS.get(lv, f'Unknown ({lv})')}, "
                    f"Description: {ALERT_DESCRIPTIONS.get(desc, f'Unknown ({desc})')})"
                )
        elif ct == 20:
            names.append("Change Cipher Spec")
            ctx.add("dtls.change_cipher_spec", "", b, ln, "Change Cipher Spec Message")
        elif ct == 23:
            names.append("Application Data")
            if not ctx.lean:
                ctx.add("dtls.app_data", data[b:stop].hex(":"), b, ln, "Encrypted Application Data")
        else:
            names.append(
                {1: "Heartbeat Request", 2: "Heartbeat Response"}.get(data[b] if ln else 0, "Heartbeat")
            )
        if authoritative and not version:
            version = ver
        o = stop
    ctx.proto = DTLS_VERSIONS.get(version, "DTLS")
    ctx.info = ", ".join(names)
