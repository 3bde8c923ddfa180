"""BACnet/IP (ASHRAE 135 Annex J; UDP 47808): BVLC, the NPDU header and the APDU's type, invoke id and
service, as Wireshark's ``bvlc``, ``bacnet`` and ``bacapp`` layers. Info as Wireshark's:
``Confirmed-REQ   readProperty[  1] device,1234 object-name``, ``Unconfirmed-REQ i-Am device,1234``; the
object identifier and property are read for readProperty / writeProperty and I-Am (names in
``bacnames.py``, from tshark), the other services' arguments are not decoded."""

from __future__ import annotations

from sniffer.decode.core import HEX2, UDP_PORTS, Ctx, F, Header, data_layer

BVLC_FUNCTIONS = {
    0x0: "BVLC-Result",
    0x1: "Write-Broadcast-Distribution-Table",
    0x2: "Read-Broadcast-Distribution-Table",
    0x3: "Read-Broadcast-Distribution-Table-Ack",
    0x4: "Forwarded-NPDU",
    0x5: "Register-Foreign-Device",
    0x6: "Read-Foreign-Device-Table",
    0x7: "Read-Foreign-Device-Table-Ack",
    0x8: "Delete-Foreign-Device-Table-Entry",
    0x9: "Distribute-Broadcast-To-Network",
    0xA: "Original-Unicast-NPDU",
    0xB: "Original-Broadcast-NPDU",
    0xC: "Secured-BVLL",
}
APDU_TYPES = {
    0: "Confirmed-REQ",
    1: "Unconfirmed-REQ",
    2: "Simple-ACK",
    3: "Complex-ACK",
    4: "Segment-ACK",
    5: "Error",
    6: "Reject",
    7: "Abort",
}

REJECT_REASONS = {
    0: "other",
    1: "buffer-overflow",
    2: "inconsistent-parameters",
    3: "invalid-parameter-data-type",
    4: "invalid-tag",
    5: "missing-required-parameter",
    6: "parameter-out-of-range",
    7: "too-many-arguments",
    8: "undefined-enumeration",
    9: "unrecognized-service",
}
ABORT_REASONS = {
    0: "other",
    1: "buffer-overflow",
    2: "invalid-apdu-in-this-state",
    3: "preempted-by-higher-priority-task",
    4: "segmentation-not-supported",
    5: "security-error",
    6: "insufficient-security",
    7: "window-size-out-of-range",
    8: "application-exceeded-reply-time",
    9: "out-of-resources",
    10: "tsm-timeout",
    11: "apdu-too-long",
}

BVLC = Header(
    (
        F("bvlc.type", "Type", 0, 1, disp=HEX2),
        F("bvlc.function", "Function", 1, 1, disp=HEX2, names=BVLC_FUNCTIONS),
    )
)
NPDU = Header((F("bacnet.version", "Version", 0, 1), F("bacnet.control", "Control", 1, 1, disp=HEX2)))


def _object_id(v: int) -> str:
    from sniffer.decode.bacnames import OBJECT_TYPES  # (the name tables load on first use)

    t = v >> 22
    return f"{OBJECT_TYPES.get(t, f'unknown-{t}')},{v & 0x3FFFFF}"


def _args(data: bytes, o: int, lim: int, app_tagged: bool) -> list[str]:
    """The object identifier (context tag 0, or the first application tag of an I-Am) and the property
    identifier (context tag 1) at ``o``, as Wireshark shows them in the Info."""
    out: list[str] = []
    if app_tagged:
        if o + 5 <= lim and data[o] == 0xC4:
            out.append(_object_id(int.from_bytes(data[o + 1 : o + 5], "big")))
        return out
    if o + 5 <= lim and data[o] == 0x0C:
        out.append(_object_id(int.from_bytes(data[o + 1 : o + 5], "big")))
        o += 5
        if o < lim and data[o] & 0xF8 == 0x18 and 1 <= data[o] & 7 <= 4:
            n = data[o] & 7
            if o + 1 + n <= lim:
                p = int.from_bytes(data[o + 1 : o + 1 + n], "big")
                from sniffer.decode.bacnames import PROPERTIES

                out.append(PROPERTIES.get(p, f"unknown-{p}"))
    return out


@UDP_PORTS.register(47808)
def dissect_bvlc(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if lim - off < 4 or data[off] not in (0x81, 0x82):
        data_layer(ctx, off, end)
        return
    ctx.push("bvlc", "BACnet Virtual Link Control", off, 4)
    ctx.proto = "BVLC"
    vals = BVLC.read(ctx, off, end)
    if vals is None:
        return
    fn = vals["bvlc.function"]
    ctx.info = BVLC_FUNCTIONS.get(fn) or f"Unknown function 0x{fn:02x}"
    o = off + 4 + (6 if fn == 0x4 else 0)
    if data[off] != 0x81 or fn not in (0x4, 0x9, 0xA, 0xB) or o >= lim:
        return
    ctx.layer.length = o - off
    _npdu(ctx, o, end)


def _npdu(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("bacnet", "Building Automation and Control Network NPDU", off, 2)
    ctx.proto = "BACnet-NPDU"
    vals = NPDU.read(ctx, off, end)
    if vals is None:
        return
    ctl = vals["bacnet.control"]
    o = off + 2
    if ctl & 0x20:  # destination network, address
        if not ctx.has(o, 3, end):
            return
        o += 3 + data[o + 2]
    if ctl & 0x08:  # source network, address
        if not ctx.has(o, 3, end):
            return
        o += 3 + data[o + 2]
    if ctl & 0x20:
        o += 1  # hop count
    if ctl & 0x80:  # a network layer message, not an APDU
        if ctx.has(o, 1, end):
            ctx.info = f"Network message 0x{data[o]:02x}"
        return
    ctx.layer.length = o - off
    if o < lim:
        _apdu(ctx, o, end)


def _apdu(ctx: Ctx, off: int, end: int) -> None:
    from sniffer.decode.bacnames import CONFIRMED_SERVICES, UNCONFIRMED_SERVICES

    data = ctx.data
    lim = min(end, len(data))
    ctx.push("bacapp", "Building Automation and Control Network APDU", off, lim - off)
    ctx.proto = "BACnet-APDU"
    t = data[off] >> 4
    ctx.add("bacapp.type", t, off, 1, "APDU Type")
    name = APDU_TYPES.get(t) or f"Unknown ({t})"
    if t == 1:
        if not ctx.has(off, 2, end):
            return
        svc = data[off + 1]
        ctx.add("bacapp.unconfirmed_service", svc, off + 1, 1, "Unconfirmed Service Choice")
        sname = UNCONFIRMED_SERVICES.get(svc, f"unknown-{svc}")
        args = _args(data, off + 2, lim, True) if svc == 0 else []
        ctx.info = f"{name:<16}{sname} " + "".join(f"{a} " for a in args)
        return
    if t in (0, 3):  # invoke id and service after the segmentation fields
        seg = data[off] & 0x08
        i = off + (2 if t == 0 else 1)
        s = i + 1 + (2 if seg else 0)
    elif t in (2, 5):
        i, s = off + 1, off + 2
    else:
        i, s = off + 1, -1
    if not ctx.has(i, 1, end):
        return
    inv = data[i]
    ctx.add("bacapp.invoke_id", inv, i, 1, "Invoke ID")
    if s < 0:
        reasons = REJECT_REASONS if t == 6 else ABORT_REASONS if t == 7 else {}
        r = data[i + 1] if t in (6, 7) and i + 1 < lim else -1
        ctx.info = f"{name:<16}{reasons.get(r, '')}[{inv:3d}] "
        return
    if not ctx.has(s, 1, end):
        return
    svc = data[s]
    ctx.add("bacapp.confirmed_service", svc, s, 1, "Service Choice")
    sname = CONFIRMED_SERVICES.get(svc, f"unknown-{svc}")
    args = _args(data, s + 1, lim, False) if t in (0, 3) and svc in (12, 15) else []
    ctx.info = f"{name:<16}{sname}[{inv:3d}] " + "".join(f"{a} " for a in args)
