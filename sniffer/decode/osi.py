"""ISO transport over TCP, one segment at a time, as tshark 4.0 shows it without desegmentation: TPKT
(RFC 1006) on TCP 102 (ISO-TSAP) and 3389 (RDP), the X.224 COTP TPDU inside it, and RDP's connection
negotiation (MS-RDPBCGR 2.2.1.1 / 2.2.1.2) carried by a Connection Request / Confirm on 3389.

A segment on those ports that does not start with a TPKT header (version 3, reserved 0) is the rest of an
earlier PDU: Protocol ``TPKT``, Info ``Continuation``. MCS (T.125) PDUs in data TPDUs are shown as the
``T.125`` layer without their BER contents; RDP's later PDUs (ClientData ...) are not decoded.
"""

from __future__ import annotations

from sniffer.decode.core import TCP_PORTS, Ctx, F, Header, hexstr

ISO_TSAP_PORT = 102
RDP_PORT = 3389

TPKT = Header(
    (
        F("tpkt.version", "Version", 0, 1),
        F("tpkt.reserved", "Reserved", 1, 1),
        F("tpkt.length", "Length", 2, 2),
    )
)

COTP_TYPES = {
    0x1: "ED Expedited Data",
    0x2: "EA Expedited Data Acknowledgement",
    0x5: "RJ Reject",
    0x6: "AK Data Acknowledgement",
    0x7: "ER TPDU Error",
    0x8: "DR Disconnect Request",
    0xC: "DC Disconnect Confirm",
    0xD: "CC Connect Confirm",
    0xE: "CR Connect Request",
    0xF: "DT Data",
}

#: CR and CC: length indicator, code, destination and source references, class and options
COTP_CONNECT = Header(
    (
        F("cotp.li", "Length", 0, 1),
        F("cotp.type", "PDU Type", 1, 1, mask=0xF0, names=COTP_TYPES, disp=hexstr(2)),
        F("cotp.destref", "Destination reference", 2, 2, disp=hexstr(4)),
        F("cotp.srcref", "Source reference", 4, 2, disp=hexstr(4)),
        F("cotp.class", "Class", 6, 1, mask=0xF0),
        F("cotp.opts.extended_formats", "Extended formats", 6, 1, mask=0x02),
        F("cotp.opts.no_explicit_flow_control", "No explicit flow control", 6, 1, mask=0x01),
    )
)

COTP_DATA = Header(
    (
        F("cotp.li", "Length", 0, 1),
        F("cotp.type", "PDU Type", 1, 1, mask=0xF0, names=COTP_TYPES, disp=hexstr(2)),
        F("cotp.tpdu-number", "TPDU number", 2, 1, mask=0x7F, disp=hexstr(2)),
        F("cotp.eot", "Last data unit", 2, 1, mask=0x80),
    )
)

RDP_NEG = Header(
    (
        F("rdp.neg_type", "Type", 0, 1, disp=hexstr(2)),
        F("rdp.neg_length", "Length", 2, 2, kind="le"),
    )
)
_RDP_NEG_NAMES = {1: "Negotiate Request", 2: "Negotiate Response", 3: "Negotiate Failure"}


@TCP_PORTS.register(ISO_TSAP_PORT, RDP_PORT)
def dissect_tpkt(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.proto = "TPKT"
    if lim - off < 4 or data[off] != 3 or data[off + 1] != 0:
        ctx.push("tpkt", "TPKT, Continuation", off, lim - off)
        ctx.info = "Continuation"
        return
    ln = (data[off + 2] << 8) | data[off + 3]
    ctx.push("tpkt", f"TPKT, Version: 3, Length: {ln}", off, min(ln, lim - off) if ln >= 4 else 4)
    TPKT.read(ctx, off, end)
    ctx.info = ""
    stop = min(off + ln, lim) if ln >= 4 else lim
    if stop > off + 4:
        _cotp(
            ctx, off + 4, stop, rdp=RDP_PORT in (ctx.fields.get("tcp.srcport"), ctx.fields.get("tcp.dstport"))
        )


def _cotp(ctx: Ctx, off: int, lim: int, rdp: bool) -> None:
    data = ctx.data
    if lim - off < 2:
        return
    li = data[off]
    code = data[off + 1] >> 4
    ctx.push(
        "cotp", "ISO 8073/X.224 COTP Connection-Oriented Transport Protocol", off, min(li + 1, lim - off)
    )
    ctx.proto = "COTP"
    if code in (0xE, 0xD) and lim - off >= 7:  # CR, CC
        v = COTP_CONNECT.read(ctx, off, lim)
        if v is None:
            return
        kind = "CR" if code == 0xE else "CC"
        ctx.info = f"{kind} TPDU src-ref: 0x{v['cotp.srcref']:04x} dst-ref: 0x{v['cotp.destref']:04x}"
        if rdp and off + li + 1 <= lim:
            _rdp_negotiation(ctx, off + 7, off + li + 1)
    elif code == 0xF and lim - off >= 3:  # DT
        v = COTP_DATA.read(ctx, off, lim)
        if v is None:
            return
        ctx.info = (
            f"DT TPDU ({v['cotp.tpdu-number']}) {'[COTP fragment, 0 bytes]' if not v['cotp.eot'] else ''}"
        )
        body = off + li + 1
        if rdp and body + 2 <= lim and data[body] == 0x7F and data[body + 1] in (0x65, 0x66):
            ctx.push("t125", "MULTIPOINT-COMMUNICATION-SERVICE T.125", body, lim - body)
            ctx.proto = "T.125"  # an MCS Connect-Initial / Connect-Response (its BER is not decoded here)
            ctx.info = ""
    else:
        ctx.add("cotp.li", li, off, 1, "Length")
        ctx.add("cotp.type", code, off + 1, 1, "PDU Type")
        ctx.info = f"{COTP_TYPES.get(code, f'Unknown (0x{code:02x})').split(' ', 1)[0]} TPDU"


def _rdp_negotiation(ctx: Ctx, off: int, lim: int) -> None:
    """The variable part of an RDP X.224 CR / CC: an optional routing token or cookie line, then an 8-byte
    negotiation request / response / failure."""
    data = ctx.data
    o = off
    cookie = ""
    if data.startswith(b"Cookie:", o) or data.startswith(b"mstshash", o):
        nl = data.find(b"\r\n", o, lim)
        e = nl if nl >= 0 else lim
        cookie = data[o:e].decode("ascii", "replace")
        o = e + 2 if nl >= 0 else lim
    if o + 8 > lim and not cookie:
        return
    ctx.push("rdp", "Remote Desktop Protocol", off, lim - off)
    ctx.proto = "RDP"
    parts = []
    if cookie:
        ctx.add("rdp.rt_cookie", cookie, off, o - off, "Routing Token/Cookie")
        parts.append(cookie)
    if o + 8 <= lim and data[o] in _RDP_NEG_NAMES:
        t = data[o]
        RDP_NEG.read(ctx, o, lim)
        flags = data[o + 1]
        val = int.from_bytes(data[o + 4 : o + 8], "little")
        if t == 1:
            ctx.add("rdp.negReq.flags", flags, o + 1, 1, "Flags")
            ctx.add("rdp.negReq.requestedProtocols", val, o + 4, 4, "requestedProtocols")
        elif t == 2:
            ctx.add("rdp.negRsp.flags", flags, o + 1, 1, "Flags")
            ctx.add("rdp.negReq.selectedProtocol", val, o + 4, 4, "selectedProtocol")
        else:
            ctx.add("rdp.negFailure.failureCode", val, o + 4, 4, "failureCode")
        parts.append(_RDP_NEG_NAMES[t])
    ctx.info = ", ".join(parts)


DECLARES: tuple[str, ...] = ("tpkt", "cotp", "rdp", "t125")
