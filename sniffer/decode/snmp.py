"""SNMP v1, v2c and v3 (RFC 1157, 3416, 3412) on UDP 161/162: the BER-encoded message, its PDU and
variable bindings (object names and values); a v3 message's scoped PDU when it is not encrypted."""

from __future__ import annotations

from sniffer.decode.core import UDP_PORTS, Ctx, ip4

SNMP_PORTS = (161, 162)

PDU_TYPES = {
    0: "get-request",
    1: "get-next-request",
    2: "get-response",
    3: "set-request",
    4: "trap",
    5: "getBulkRequest",
    6: "informRequest",
    7: "snmpV2-trap",
    8: "report",
}
#: value tag -> Wireshark field
VALUE_FIELDS = {
    0x02: "snmp.value.int",
    0x04: "snmp.value.octets",
    0x05: "snmp.value.null",
    0x06: "snmp.value.oid",
    0x40: "snmp.value.ipv4",
    0x41: "snmp.value.counter",
    0x42: "snmp.value.g32",
    0x43: "snmp.value.timeticks",
    0x44: "snmp.value.opaque",
    0x46: "snmp.value.counter64",
    0x47: "snmp.value.u32",
    0x80: "snmp.noSuchObject",
    0x81: "snmp.noSuchInstance",
    0x82: "snmp.endOfMibView",
}


class _Bad(Exception):
    """Not BER, or cut."""


def _tlv(data: bytes, o: int, lim: int, clamp: bool = False) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the BER item at ``o``; ``clamp``: a value running
    past ``lim`` ends there instead of failing."""
    if o + 2 > lim:
        raise _Bad
    tag = data[o]
    n = data[o + 1]
    o += 2
    if n & 0x80:
        k = n & 0x7F
        if not 1 <= k <= 4 or o + k > lim:
            raise _Bad
        n = int.from_bytes(data[o : o + k], "big")
        o += k
    if o + n > lim:
        if not clamp:
            raise _Bad
        n = lim - o
    return tag, o, o + n


def _int(data: bytes, s: int, e: int, signed: bool = True) -> int:
    return int.from_bytes(data[s:e], "big", signed=signed) if e > s else 0


def oid_str(b: bytes) -> str:
    """A BER object identifier as dotted text."""
    parts: list[int] = []
    v = 0
    for byte in b:
        v = (v << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(v)
            v = 0
    if not parts:
        return ""
    first = parts[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(map(str, head + parts[1:]))


def _value(ctx: Ctx, tag: int, s: int, e: int) -> None:
    data = ctx.data
    field = VALUE_FIELDS.get(tag)
    if field is None:
        return
    if tag == 0x02:
        v: object = _int(data, s, e)
    elif tag in (0x04, 0x44):
        v = data[s:e].hex(":")
    elif tag == 0x05 or tag >= 0x80:
        v = 1
    elif tag == 0x06:
        v = oid_str(data[s:e])
    elif tag == 0x40 and e - s == 4:
        v = ip4(data[s:e])
    else:
        v = _int(data, s, e, signed=False)
    ctx.add(field, v, s, e - s, field)


def _pdu(ctx: Ctx, o: int, lim: int) -> str:
    """The PDU at ``o``; returns the Info text."""
    data = ctx.data
    tag, s, e = _tlv(data, o, lim)
    kind = tag & 0x1F
    name = PDU_TYPES.get(kind) or f"PDU {kind}"
    ctx.add("snmp.data", kind, o, e - o, "data", f"data: {name} ({kind})")
    if kind == 4:  # v1 trap: enterprise, agent address, generic, specific, time stamp, bindings
        return name
    _t, vs, ve = _tlv(data, s, e)
    ctx.add("snmp.request_id", _int(data, vs, ve), vs, ve - vs, "request-id")
    _t, vs2, ve2 = _tlv(data, ve, e)
    ctx.add("snmp.error_status", _int(data, vs2, ve2), vs2, ve2 - vs2, "error-status")
    _t, vs3, ve3 = _tlv(data, ve2, e)
    ctx.add("snmp.error_index", _int(data, vs3, ve3), vs3, ve3 - vs3, "error-index")
    _t, bs, be = _tlv(data, ve3, e)
    names = []
    p = bs
    while p < be:
        _t, vb, vbe = _tlv(data, p, be)
        _t, ns, ne = _tlv(data, vb, vbe)
        oid = oid_str(data[ns:ne])
        ctx.add("snmp.name", oid, ns, ne - ns, "Object Name")
        names.append(oid)
        vt, vs4, ve4 = _tlv(data, ne, vbe)
        _value(ctx, vt, vs4, ve4)
        p = vbe
    return " ".join([name, *names])


def _v3(ctx: Ctx, s: int, e: int) -> str:
    """SNMPv3: header data, security parameters (USM), then the scoped PDU if not encrypted."""
    data = ctx.data
    _t, hs, he = _tlv(data, s, e)  # msgGlobalData
    fields = ("snmp.msgID", "snmp.msgMaxSize", "snmp.msgFlags", "snmp.msgSecurityModel")
    p = hs
    flags = 0
    for name in fields:
        _t, vs, ve = _tlv(data, p, he)
        if name == "snmp.msgFlags":
            flags = data[vs] if ve > vs else 0
            ctx.add(name, data[vs:ve].hex(":"), vs, ve - vs, "msgFlags")
        else:
            ctx.add(name, _int(data, vs, ve), vs, ve - vs, name)
        p = ve
    _t, ss, se = _tlv(data, he, e)  # msgSecurityParameters: an OCTET STRING holding the USM sequence
    try:
        _t, us, ue = _tlv(data, ss, se)
        p = us
        for name in (
            "snmp.msgAuthoritativeEngineID",
            "snmp.msgAuthoritativeEngineBoots",
            "snmp.msgAuthoritativeEngineTime",
            "snmp.msgUserName",
        ):
            _t, vs, ve = _tlv(data, p, ue)
            if name.endswith(("Boots", "Time")):  # (unsigned, as Wireshark reads them)
                ctx.add(name, _int(data, vs, ve, signed=False), vs, ve - vs, name)
            elif name.endswith("UserName"):
                ctx.add(name, data[vs:ve].decode("latin-1"), vs, ve - vs, name)
            else:
                ctx.add(name, data[vs:ve].hex(":"), vs, ve - vs, name)
            p = ve
    except _Bad:
        pass
    if flags & 2:  # privacy: the scoped PDU is encrypted
        return "encryptedPDU: privKey Unknown"
    _t, cs, ce = _tlv(data, se, e)  # ScopedPDU
    _t, vs, ve = _tlv(data, cs, ce)
    ctx.add("snmp.contextEngineID", data[vs:ve].hex(":"), vs, ve - vs, "contextEngineID")
    _t, vs2, ve2 = _tlv(data, ve, ce)
    ctx.add("snmp.contextName", data[vs2:ve2].decode("latin-1"), vs2, ve2 - vs2, "contextName")
    return _pdu(ctx, ve2, ce)


def _snmp(ctx: Ctx, off: int, end: int) -> bool:
    data = ctx.data
    lim = min(end, len(data))
    try:
        tag, s, e = _tlv(data, off, lim)
        if tag != 0x30:
            return False
        _t, vs, ve = _tlv(data, s, e)
        if _t != 0x02:
            return False
    except _Bad:
        return False
    ctx.push("snmp", "Simple Network Management Protocol", off, lim - off)
    ctx.proto = "SNMP"
    version = _int(data, vs, ve)
    try:
        if version == 3:
            ctx.add("snmp.msgVersion", version, vs, ve - vs, "msgVersion")
            ctx.info = _v3(ctx, ve, e)
            return True
        ctx.add("snmp.version", version, vs, ve - vs, "version")
        _t, cs, ce = _tlv(data, ve, e)
        ctx.add("snmp.community", data[cs:ce].decode("latin-1"), cs, ce - cs, "community")
        ctx.info = _pdu(ctx, ce, e)
    except _Bad:
        ctx.short(lim + 1, end)
    return True


@UDP_PORTS.register(*SNMP_PORTS)
def dissect_snmp(ctx: Ctx, off: int, end: int) -> bool:
    """False (not SNMP: no BER SEQUENCE with an INTEGER version) lets UDP try the other port, as
    Wireshark's SNMP refuses such a payload (161 -> 546 is DHCPv6 then)."""
    return _snmp(ctx, off, end)
