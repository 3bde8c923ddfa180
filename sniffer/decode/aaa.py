"""Authentication and directory services, one packet at a time: RADIUS (RFC 2865/2866/5176, UDP
1812/1813/1645/1646/3799), Kerberos V5 (RFC 4120, UDP/TCP 88: the message type and error code of the
BER-encoded message) and LDAP (RFC 4511, TCP 389: each message's id, operation and its main argument;
a segment after StartTLS that is a TLS record goes to TLS)."""

from __future__ import annotations

from sniffer.decode.core import HEX2, TCP_PORTS, UDP_PORTS, Ctx, F, Header, data_layer
from sniffer.decode.snmp import _Bad, _tlv

RADIUS_PORTS = (1812, 1813, 1645, 1646, 3799)
KERBEROS_PORT = 88
LDAP_PORT = 389

RADIUS_CODES = {
    1: "Access-Request",
    2: "Access-Accept",
    3: "Access-Reject",
    4: "Accounting-Request",
    5: "Accounting-Response",
    11: "Access-Challenge",
    12: "Status-Server",
    13: "Status-Client",
    40: "Disconnect-Request",
    41: "Disconnect-ACK",
    42: "Disconnect-NAK",
    43: "CoA-Request",
    44: "CoA-ACK",
    45: "CoA-NAK",
}
RADIUS = Header(
    (
        F("radius.code", "Code", 0, 1, names=RADIUS_CODES),
        F("radius.id", "Packet identifier", 1, 1, disp=HEX2),
        F("radius.length", "Length", 2, 2),
        F("radius.authenticator", "Authenticator", 4, 16, "bytes"),
    )
)
#: attributes whose value Wireshark shows as text, with their field names
RADIUS_TEXT_ATTRS = {
    1: "radius.User_Name",
    11: "radius.Filter_Id",
    18: "radius.Reply_Message",
    30: "radius.Called_Station_Id",
    31: "radius.Calling_Station_Id",
    32: "radius.NAS_Identifier",
    44: "radius.Acct_Session_Id",
}


@UDP_PORTS.register(*RADIUS_PORTS)
def dissect_radius(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("radius", "RADIUS Protocol", off, lim - off)
    ctx.proto = "RADIUS"
    v = RADIUS.read(ctx, off, end)
    if v is None:
        return
    code = v["radius.code"]
    ctx.info = f"{RADIUS_CODES.get(code, f'Unknown Packet ({code})')} id={v['radius.id']}"
    o = off + 20
    stop = min(lim, off + v["radius.length"])
    while o + 2 <= stop:
        t, n = data[o], data[o + 1]
        if n < 2 or o + n > stop:
            break
        ctx.add("radius.avp.type", t, o, 1, "Type")
        ctx.add("radius.avp.length", n, o + 1, 1, "Length")
        field = RADIUS_TEXT_ATTRS.get(t)
        if field is not None:
            ctx.add(field, data[o + 2 : o + n].decode("utf-8", "replace"), o + 2, n - 2, field)
        o += n


KRB_TYPES = {
    10: "AS-REQ",
    11: "AS-REP",
    12: "TGS-REQ",
    13: "TGS-REP",
    14: "AP-REQ",
    15: "AP-REP",
    20: "KRB-SAFE",
    21: "KRB-PRIV",
    22: "KRB-CRED",
    30: "KRB-ERROR",
}
KRB_ERRORS = {
    6: "KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN",
    7: "KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN",
    14: "KRB5KDC_ERR_ETYPE_NOSUPP",
    18: "KRB5KDC_ERR_CLIENT_REVOKED",
    23: "KRB5KDC_ERR_KEY_EXPIRED",
    24: "KRB5KDC_ERR_PREAUTH_FAILED",
    25: "KRB5KDC_ERR_PREAUTH_REQUIRED",
    31: "KRB5KRB_AP_ERR_BAD_INTEGRITY",
    32: "KRB5KRB_AP_ERR_TKT_EXPIRED",
    37: "KRB5KRB_AP_ERR_SKEW",
    41: "KRB5KRB_AP_ERR_MODIFIED",
    52: "KRB5KRB_ERR_RESPONSE_TOO_BIG",
    60: "KRB5KRB_ERR_GENERIC",
    68: "KRB5KDC_ERR_WRONG_REALM",
}


def _kerberos(ctx: Ctx, off: int, end: int) -> bool:
    """A Kerberos message at ``off`` (an APPLICATION-tagged BER item of a known type); False if not."""
    data = ctx.data
    lim = min(end, len(data))
    if off >= lim or data[off] & 0xE0 != 0x60 or (data[off] & 0x1F) not in KRB_TYPES:
        return False
    mtype = data[off] & 0x1F
    ctx.push("kerberos", "Kerberos", off, lim - off)
    ctx.proto = "KRB5"
    ctx.add("kerberos.msg_type", mtype, off, 1, "msg-type")
    info = KRB_TYPES[mtype]
    try:  # (a message cut by the end of the segment: read what is there, as Wireshark does)
        _t, s, e = _tlv(data, off, lim, clamp=True)
        _t, s, e = _tlv(data, s, e, clamp=True)  # the SEQUENCE
        p = s
        while p < e:  # [n] context-tagged fields: pvno ([0] or [1]) first; a KRB-ERROR's code is [6]
            tag, vs, ve = _tlv(data, p, e)
            if tag & 0xE0 == 0xA0:
                it, is_, ie = _tlv(data, vs, ve)
                n = tag & 0x1F
                if it == 0x02 and n == (1 if mtype in (10, 12) else 0):
                    ctx.add("kerberos.pvno", int.from_bytes(data[is_:ie], "big"), is_, ie - is_, "pvno")
                elif it == 0x02 and mtype == 30 and n == 6:
                    code = int.from_bytes(data[is_:ie], "big")
                    ctx.add("kerberos.error_code", code, is_, ie - is_, "error-code")
                    info = f"KRB Error: {KRB_ERRORS.get(code, str(code))}"
            p = ve
    except _Bad:
        pass
    ctx.info = info
    return True


@UDP_PORTS.register(KERBEROS_PORT)
def dissect_kerberos_udp(ctx: Ctx, off: int, end: int) -> None:
    if not _kerberos(ctx, off, end):
        data_layer(ctx, off, end)


@TCP_PORTS.register(KERBEROS_PORT)
def dissect_kerberos_tcp(ctx: Ctx, off: int, end: int) -> None:
    """Over TCP a 4-byte record length comes first."""
    data = ctx.data
    if off + 4 < min(end, len(data)) and _kerberos(ctx, off + 4, end):
        ctx.add(
            "kerberos.rm.length",
            int.from_bytes(data[off : off + 4], "big") & 0x7FFFFFFF,
            off,
            4,
            "Record Length",
        )
        return
    data_layer(ctx, off, end)


LDAP_OPS = {
    0: "bindRequest",
    1: "bindResponse",
    2: "unbindRequest",
    3: "searchRequest",
    4: "searchResEntry",
    5: "searchResDone",
    6: "modifyRequest",
    7: "modifyResponse",
    8: "addRequest",
    9: "addResponse",
    10: "delRequest",
    11: "delResponse",
    12: "modDNRequest",
    13: "modDNResponse",
    14: "compareRequest",
    15: "compareResponse",
    16: "abandonRequest",
    19: "searchResRef",
    23: "extendedReq",
    24: "extendedResp",
    25: "intermediateResponse",
}
LDAP_RESULTS = {
    0: "success",
    1: "operationsError",
    2: "protocolError",
    7: "authMethodNotSupported",
    14: "saslBindInProgress",
    32: "noSuchObject",
    49: "invalidCredentials",
    50: "insufficientAccessRights",
}
LDAP_SCOPES = {0: "baseObject", 1: "singleLevel", 2: "wholeSubtree"}
LDAP_OIDS = {"1.3.6.1.4.1.1466.20037": "LDAP_START_TLS_OID", "1.3.6.1.4.1.4203.1.11.3": "LDAP_WHOAMI_OID"}


def _ldap_message(ctx: Ctx, o: int, lim: int) -> tuple[str, int]:
    """One LDAPMessage at ``o``: (its Info text, its end)."""
    data = ctx.data
    _t, s, e = _tlv(data, o, lim)
    t, is_, ie = _tlv(data, s, e)
    if t != 0x02:
        raise _Bad
    mid = int.from_bytes(data[is_:ie], "big")
    ctx.add("ldap.messageID", mid, is_, ie - is_, "messageID")
    op_tag, vs, ve = _tlv(data, ie, e)
    op = op_tag & 0x1F
    ctx.add("ldap.protocolOp", op, ie, 1, "protocolOp")
    name = LDAP_OPS.get(op) or f"Unknown op ({op})"
    info = f"{name}({mid}) "

    def string(p: int) -> tuple[str, int]:
        _t, a, b = _tlv(data, p, ve)
        return data[a:b].decode("utf-8", "replace"), b

    if op == 0 and op_tag & 0x20:  # bindRequest: version, name, authentication choice
        _t, a, b = _tlv(data, vs, ve)
        dn, b = string(b)
        ctx.add("ldap.name", dn, vs, 0, "name")
        auth = data[b] & 0x1F if b < ve else 0
        info += f'"{dn}" {"simple" if auth == 0 else "sasl"} '
    elif op in (1, 5, 7, 9, 11, 13, 15, 24) and op_tag & 0x20:  # an LDAPResult
        _t, a, b = _tlv(data, vs, ve)
        code = int.from_bytes(data[a:b], "big")
        ctx.add("ldap.resultCode", code, a, b - a, "resultCode")
        if op != 24:
            info += f"{LDAP_RESULTS.get(code, str(code))} "
    elif op == 3:  # searchRequest: base object, scope
        dn, b = string(vs)
        ctx.add("ldap.baseObject", dn, vs, 0, "baseObject")
        _t, a, b2 = _tlv(data, b, ve)
        scope = int.from_bytes(data[a:b2], "big")
        ctx.add("ldap.scope", scope, a, b2 - a, "scope")
        info += f'"{dn}" {LDAP_SCOPES.get(scope, str(scope))} '
    elif op == 4:  # searchResEntry: object name
        dn, _b = string(vs)
        ctx.add("ldap.objectName", dn, vs, 0, "objectName")
        info += f'"{dn}" '
    elif op == 23:  # extendedReq: [0] requestName
        oid, _b = string(vs)
        ctx.add("ldap.requestName", oid, vs, 0, "requestName")
        info += f"{LDAP_OIDS.get(oid, oid)} "
    return info, e


@TCP_PORTS.register(LDAP_PORT)
def dissect_ldap(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if off >= lim or data[off] != 0x30:
        from sniffer.decode.tls import dissect_tls

        if not dissect_tls(ctx, off, end):  # after StartTLS the connection carries TLS
            data_layer(ctx, off, end)
        return
    ctx.push("ldap", "Lightweight Directory Access Protocol", off, lim - off)
    ctx.proto = "LDAP"
    infos = []
    o = off
    try:
        while o < lim and data[o] == 0x30:
            info, o = _ldap_message(ctx, o, lim)
            infos.append(info)
    except _Bad:
        pass
    ctx.info = " | ".join(infos)


#: names the code builds (for the filter engine's list of what sniffer decodes)
DECLARES = tuple(RADIUS_TEXT_ATTRS.values())
