"""TLS records, one TCP segment at a time (no reassembly, no decryption, no session state).

A segment on a TLS port is taken when it starts with a record header (content type 20-24, version 3.x);
each record in it is decoded in order: handshake messages (Client/Server Hello with cipher suites and
the extensions SNI, ALPN and supported_versions; the others by type and length), change cipher spec,
alerts and application data. A handshake record that does not parse as messages is shown as an
"Encrypted Handshake Message", as Wireshark does after a change cipher spec.
"""

from __future__ import annotations

from sniffer.decode.core import TCP_PORTS, TLS_PREFIXES, TLS_TCP_PORTS, Ctx, Node, data_layer
from sniffer.decode.sslv2 import SSLV2_PREFIXES, dissect_sslv2
from sniffer.decode.tcpheur import TCP_HEURISTICS

CT_CHANGE_CIPHER_SPEC = 20
CT_ALERT = 21
CT_HANDSHAKE = 22
CT_APPLICATION_DATA = 23
CT_HEARTBEAT = 24

CONTENT_TYPES = {
    CT_CHANGE_CIPHER_SPEC: "Change Cipher Spec",
    CT_ALERT: "Alert",
    CT_HANDSHAKE: "Handshake",
    CT_APPLICATION_DATA: "Application Data",
    CT_HEARTBEAT: "Heartbeat",
}

#: version -> Wireshark's short name (the protocol column)
VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}

HANDSHAKE_TYPES = {
    0: "Hello Request",
    1: "Client Hello",
    2: "Server Hello",
    3: "Hello Verify Request",
    4: "New Session Ticket",
    5: "End of Early Data",
    6: "Hello Retry Request",
    8: "Encrypted Extensions",
    11: "Certificate",
    12: "Server Key Exchange",
    13: "Certificate Request",
    14: "Server Hello Done",
    15: "Certificate Verify",
    16: "Client Key Exchange",
    20: "Finished",
    21: "Certificate URL",
    22: "Certificate Status",
    23: "Supplemental Data",
    24: "Key Update",
    25: "Compressed Certificate",
    254: "Message Hash",
}

ALERT_LEVELS = {1: "Warning", 2: "Fatal"}
ALERT_DESCRIPTIONS = {
    0: "Close Notify",
    10: "Unexpected Message",
    20: "Bad Record MAC",
    40: "Handshake Failure",
    42: "Bad Certificate",
    46: "Certificate Unknown",
    47: "Illegal Parameter",
    48: "Unknown CA",
    50: "Decode Error",
    51: "Decrypt Error",
    70: "Protocol Version",
    80: "Internal Error",
    90: "User Canceled",
    109: "Missing Extension",
    112: "Unrecognized Name",
    116: "Certificate Required",
    120: "No Application Protocol",
}

#: extension type -> name (the tree's labels), the common ones
EXTENSIONS = {
    0: "server_name",
    5: "status_request",
    10: "supported_groups",
    11: "ec_point_formats",
    13: "signature_algorithms",
    16: "application_layer_protocol_negotiation",
    18: "signed_certificate_timestamp",
    21: "padding",
    23: "extended_master_secret",
    27: "compress_certificate",
    28: "record_size_limit",
    35: "session_ticket",
    41: "pre_shared_key",
    42: "early_data",
    43: "supported_versions",
    45: "psk_key_exchange_modes",
    49: "post_handshake_auth",
    51: "key_share",
    17513: "application_settings",
    65037: "encrypted_client_hello",
    65281: "renegotiation_info",
}

#: cipher suite -> IANA name (the tree's labels), the common ones
CIPHER_SUITES = {
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
    0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    0x006B: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
}


def _suite(cs: int) -> str:
    return f"Cipher Suite: {CIPHER_SUITES.get(cs, 'Unknown')} (0x{cs:04x})"


EXT_SERVER_NAME = 0
EXT_ALPN = 16
EXT_SUPPORTED_VERSIONS = 43


def is_record_header(data: bytes, off: int, lim: int) -> bool:
    """A TLS record header at ``off``: content type 20-25 and version 3.0-3.4, all 5 bytes present."""
    return off + 5 <= lim and 20 <= data[off] <= 25 and data[off + 1] == 3 and data[off + 2] <= 4


def _u(data: bytes, o: int, n: int) -> int:
    return int.from_bytes(data[o : o + n], "big")


def _ver(v: int) -> str:
    return f"{VERSIONS.get(v, 'Unknown')} (0x{v:04x})"


def _extensions(ctx: Ctx, o: int, lim: int, client: bool, node: Node | None) -> int:
    """The extensions block at ``o`` (its 2-byte length first); returns the version chosen by a
    supported_versions extension of a Server Hello (0 if none)."""
    data = ctx.data
    if o + 2 > lim:
        return 0
    total = _u(data, o, 2)
    ctx.add("tls.handshake.extensions_length", total, o, 2, "Extensions Length", None, node)
    o += 2
    stop = min(lim, o + total)
    chosen = 0
    while o + 4 <= stop:
        et = _u(data, o, 2)
        el = _u(data, o + 2, 2)
        label = f"Extension: {EXTENSIONS.get(et, f'Unknown type {et}')} (len={el})"
        ext = ctx.sub(label, "", o, min(4 + el, stop - o), None, node)
        ctx.add("tls.handshake.extension.type", et, o, 2, "Type", None, ext)
        ctx.add("tls.handshake.extension.len", el, o + 2, 2, "Length", None, ext)
        b = o + 4
        be = b + el
        if be > stop:
            break
        if et == EXT_SERVER_NAME and client and el >= 2:
            ctx.add(
                "tls.handshake.extensions_server_name_list_len",
                _u(data, b, 2),
                b,
                2,
                "Server Name list length",
                None,
                ext,
            )
            p = b + 2
            while p + 3 <= be:
                nt = data[p]
                nl = _u(data, p + 1, 2)
                if p + 3 + nl > be:
                    break
                ctx.add("tls.handshake.extensions_server_name_type", nt, p, 1, "Server Name Type", None, ext)
                ctx.add(
                    "tls.handshake.extensions_server_name_len", nl, p + 1, 2, "Server Name length", None, ext
                )
                name = data[p + 3 : p + 3 + nl].decode("latin-1")
                ctx.add("tls.handshake.extensions_server_name", name, p + 3, nl, "Server Name", None, ext)
                p += 3 + nl
        elif et == EXT_ALPN and el >= 2:
            ctx.add(
                "tls.handshake.extensions_alpn_len", _u(data, b, 2), b, 2, "ALPN Extension Length", None, ext
            )
            p = b + 2
            while p + 1 <= be:
                sl = data[p]
                if p + 1 + sl > be:
                    break
                ctx.add("tls.handshake.extensions_alpn_str_len", sl, p, 1, "ALPN string length", None, ext)
                s = data[p + 1 : p + 1 + sl].decode("latin-1")
                ctx.add("tls.handshake.extensions_alpn_str", s, p + 1, sl, "ALPN Next Protocol", None, ext)
                p += 1 + sl
        elif et == EXT_SUPPORTED_VERSIONS:
            if client and el >= 1:
                ctx.add(
                    "tls.handshake.extensions.supported_versions_len",
                    data[b],
                    b,
                    1,
                    "Supported Versions length",
                    None,
                    ext,
                )
                p = b + 1
                while p + 2 <= min(be, b + 1 + data[b]):
                    v = _u(data, p, 2)
                    ctx.add(
                        "tls.handshake.extensions.supported_version",
                        v,
                        p,
                        2,
                        "Supported Version",
                        f"Supported Version: {_ver(v)}",
                        ext,
                    )
                    p += 2
            elif not client and el == 2:
                chosen = _u(data, b, 2)
                ctx.add(
                    "tls.handshake.extensions.supported_version",
                    chosen,
                    b,
                    2,
                    "Supported Version",
                    f"Supported Version: {_ver(chosen)}",
                    ext,
                )
        o = be
    return chosen


class _Bounds(Exception):
    """A Hello's fixed part runs past its message: Wireshark stops the segment there (a bounds error,
    shown as "[BoundErrorUnreassembled Packet]" when reassembly is off)."""


def _hello(ctx: Ctx, o: int, lim: int, client: bool, node: Node | None) -> int:
    """Client/Server Hello body at ``o`` (message end ``lim``); returns the version a Server Hello selects
    (0 if unknown). Raises _Bounds if the fixed fields run past the message."""
    data = ctx.data
    if o + 2 > lim:
        raise _Bounds
    version = _u(data, o, 2)
    ctx.add("tls.handshake.version", version, o, 2, "Version", f"Version: {_ver(version)}", node)
    if o + 34 > lim:
        raise _Bounds
    ctx.add("tls.handshake.random", data[o + 2 : o + 34].hex(":"), o + 2, 32, "Random", None, node)
    o += 34
    if o + 1 > lim:
        raise _Bounds
    sl = data[o]
    ctx.add("tls.handshake.session_id_length", sl, o, 1, "Session ID Length", None, node)
    if o + 1 + sl > lim:
        raise _Bounds
    if sl:
        ctx.add(
            "tls.handshake.session_id", data[o + 1 : o + 1 + sl].hex(":"), o + 1, sl, "Session ID", None, node
        )
    o += 1 + sl
    if client:
        if o + 2 > lim:
            raise _Bounds
        cl = _u(data, o, 2)
        ctx.add("tls.handshake.cipher_suites_length", cl, o, 2, "Cipher Suites Length", None, node)
        o += 2
        if o + cl > lim:
            raise _Bounds
        for p in range(o, o + cl - 1, 2):
            cs = _u(data, p, 2)
            ctx.add("tls.handshake.ciphersuite", cs, p, 2, "Cipher Suite", _suite(cs), node)
        o += cl
        if o + 1 > lim:
            raise _Bounds
        ml = data[o]
        ctx.add("tls.handshake.comp_methods_length", ml, o, 1, "Compression Methods Length", None, node)
        if o + 1 + ml > lim:
            raise _Bounds
        for p in range(o + 1, o + 1 + ml):
            ctx.add("tls.handshake.comp_method", data[p], p, 1, "Compression Method", None, node)
        o += 1 + ml
    else:
        if o + 3 > lim:
            raise _Bounds
        cs = _u(data, o, 2)
        ctx.add("tls.handshake.ciphersuite", cs, o, 2, "Cipher Suite", _suite(cs), node)
        ctx.add("tls.handshake.comp_method", data[o + 2], o + 2, 1, "Compression Method", None, node)
        o += 3
    chosen = _extensions(ctx, o, lim, client, node)
    return chosen or (version if not client else 0)


def _handshake_parses(data: bytes, o: int, stop: int) -> bool:
    """The record body splits exactly into handshake messages of known types (else it is encrypted)."""
    while o < stop:
        if o + 4 > stop or data[o] not in HANDSHAKE_TYPES:
            return False
        o += 4 + _u(data, o + 1, 3)
    return o == stop


def _handshake(ctx: Ctx, o: int, stop: int, rec: Node | None, names: list[str]) -> int:
    """The handshake messages of one record (body ``o``..``stop``, all present)."""
    data = ctx.data
    chosen = 0
    while o + 4 <= stop:
        ht = data[o]
        hl = _u(data, o + 1, 3)
        name = HANDSHAKE_TYPES.get(ht) or f"Unknown ({ht})"
        names.append(name)
        node = ctx.add(
            "tls.handshake", "", o, 4 + hl, f"Handshake Protocol: {name}", f"Handshake Protocol: {name}", rec
        )
        ctx.add("tls.handshake.type", ht, o, 1, "Handshake Type", f"Handshake Type: {name} ({ht})", node)
        ctx.add("tls.handshake.length", hl, o + 1, 3, "Length", None, node)
        mend = min(o + 4 + hl, stop)
        if ht in (1, 2):
            chosen = _hello(ctx, o + 4, mend, ht == 1, node) or chosen
        o += 4 + hl
    return chosen


def dissect_tls(ctx: Ctx, off: int, end: int) -> bool:
    """TLS records at ``off`` if the segment starts with a record header; False (nothing recorded) if not.

    As tshark without TCP reassembly: a record that does not end inside the segment is left undecoded
    (tshark waits for the rest), so a segment holding only the start of one shows as "SSL" with no Info;
    5 bytes after the last record that are no record header are an "Ignored Unknown Record".
    """
    data = ctx.data
    lim = min(end, len(data))
    if not is_record_header(data, off, lim):
        return False
    layer = ctx.push("tls", "Transport Layer Security", off, lim - off)
    names: list[str] = []
    proto = ""
    session = 0  # the version a Server Hello earlier in this segment chose
    bounds = False
    o = off
    while o + 5 <= lim:
        if not is_record_header(data, o, lim):
            names.append("Ignored Unknown Record")
            break
        ct = data[o]
        ver = _u(data, o + 1, 2)
        ln = _u(data, o + 3, 2)
        stop = o + 5 + ln
        if stop > lim:  # the rest of the record is in later segments (or was cut by the capture)
            break
        vname = VERSIONS.get(ver, "TLS")
        cname = CONTENT_TYPES.get(ct) or f"Unknown ({ct})"
        # records, handshake messages and alerts are subtrees whose presence filters test ("tls.record"):
        # they carry an empty value so that they are fields too
        head = f"{vname} Record Layer: {cname} Protocol"
        rec = ctx.add("tls.record", "", o, 5 + ln, head, head)
        if ct == CT_APPLICATION_DATA and session == 0x0304:  # TLS 1.3: the outer type hides the real one
            ctx.add(
                "tls.record.opaque_type",
                ct,
                o,
                1,
                "Opaque Type",
                f"Opaque Type: Application Data ({ct})",
                rec,
            )
        else:
            ctx.add("tls.record.content_type", ct, o, 1, "Content Type", f"Content Type: {cname} ({ct})", rec)
        ctx.add("tls.record.version", ver, o + 1, 2, "Version", f"Version: {_ver(ver)}", rec)
        ctx.add("tls.record.length", ln, o + 3, 2, "Length", None, rec)
        b = o + 5
        chosen = 0
        if ct == CT_CHANGE_CIPHER_SPEC:
            names.append("Change Cipher Spec")
            ctx.add("tls.change_cipher_spec", "", b, ln, "", "Change Cipher Spec Message", rec)
        elif ct == CT_ALERT:
            if ln == 2 and data[b] in ALERT_LEVELS:
                lv, desc = data[b], data[b + 1]
                dname = ALERT_DESCRIPTIONS.get(desc) or f"Unknown ({desc})"
                names.append(f"Alert (Level: {ALERT_LEVELS[lv]}, Description: {dname})")
                node = ctx.add("tls.alert_message", "", b, 2, "Alert Message", "Alert Message", rec)
                ctx.add("tls.alert_message.level", lv, b, 1, "Level", None, node)
                ctx.add("tls.alert_message.desc", desc, b + 1, 1, "Description", None, node)
            else:
                names.append("Encrypted Alert")
                ctx.add(
                    "tls.alert_message",
                    "",
                    b,
                    ln,
                    "Alert Message: Encrypted Alert",
                    "Alert Message: Encrypted Alert",
                    rec,
                )
        elif ct == CT_HANDSHAKE:
            if not ln:
                bounds = True
            elif not _handshake_parses(data, b, stop):
                names.append("Encrypted Handshake Message")
                enc = "Handshake Protocol: Encrypted Handshake Message"
                ctx.add("tls.handshake", "", b, ln, enc, enc, rec)
            else:
                first = len(names)
                try:
                    chosen = _handshake(ctx, b, stop, rec, names)
                except _Bounds:
                    bounds = True
                if rec is not None and names[first:]:
                    rec.text = rec.name = f"{rec.text}: {', '.join(names[first:])}"
        elif ct == CT_APPLICATION_DATA:
            names.append("Application Data")
            if not ctx.lean:  # (a field only: the hex of the whole record)
                ctx.add("tls.app_data", data[b:stop].hex(":"), b, ln, "Encrypted Application Data", None, rec)
        elif ct == CT_HEARTBEAT:
            hb = data[b] if ln else 0
            names.append({1: "Heartbeat Request", 2: "Heartbeat Response"}.get(hb, "Encrypted Heartbeat"))
        session = chosen or session
        if ln or not bounds:  # (an empty handshake record sets no version: tshark shows "SSL")
            proto = proto or VERSIONS.get(chosen or ver, "TLS")
        if bounds:
            break
        o = stop
    ctx.proto = proto or "SSL"
    ctx.info = ", ".join(names) + ("[BoundErrorUnreassembled Packet]" if bounds else "")
    if o > off and o < lim and not bounds and names[-1:] != ["Ignored Unknown Record"]:
        layer.length = o - off
    return True


@TCP_PORTS.register(*TLS_TCP_PORTS, prefixes=TLS_PREFIXES | SSLV2_PREFIXES)
def dissect_tls_port(ctx: Ctx, off: int, end: int) -> None:
    if not dissect_tls(ctx, off, end) and not dissect_sslv2(ctx, off, end):
        data_layer(ctx, off, end)


#: tshark 4.0's TLS heuristic on any TCP port (is_sslv3_or_tls): a handshake or application data record
#: of SSL 3.0 - TLS 1.2 whose length is not 0 and below 2^14 + 2048
TLS_HEURISTIC_PREFIXES = frozenset(bytes((ct, 3, minor)) for ct in (22, 23) for minor in range(4))


@TCP_HEURISTICS.register(TLS_HEURISTIC_PREFIXES)
def heuristic_tls(ctx: Ctx, off: int, end: int) -> bool:
    data = ctx.data
    if min(end, len(data)) - off < 5:
        return False
    ln = _u(data, off + 3, 2)
    if ln == 0 or ln >= 16384 + 2048:
        return False
    return dissect_tls(ctx, off, end)
