"""Link types and wrappers around what the other modules decode: PPP (link types 9 and 50, LCP/IPCP/IPV6CP
and the other control protocols), PPPoE discovery and session, Cisco HDLC and SLARP, MPLS (ethertype,
PPP, MPLS-in-UDP), Geneve, GRE-in-UDP, AYIYA, Teredo, GTPv1-U, L2TPv2, ESP-in-UDP (NAT-T, with ISAKMP's
header), PBB (802.1ah) and Cisco FabricPath.

Each is declared once (header fields with Wireshark's names) and registered in the table that selects it;
the payload goes back through the same tables, so whatever is inside decodes as it would bare."""

from __future__ import annotations

from sniffer.decode.core import (
    ETHERTYPES,
    HEX2,
    HEX4,
    HEX8,
    IP_PROTOS,
    LINKTYPES,
    UDP_PORTS,
    Ctx,
    F,
    Header,
    Table,
    call,
    data_layer,
    ip4,
)
from sniffer.decode.link import dissect_eth, ethertype


def _u16(d: bytes, o: int) -> int:
    return int.from_bytes(d[o : o + 2], "big")


# ---------------------------------------------------------------------------------------------
# PPP (RFC 1661)

#: PPP protocol field -> dissector (IP, IPv6, MPLS, the control protocols)
PPP_PROTOS = Table("PPP protocol")

PPP_PROTO_NAMES = {
    0x0021: "Internet Protocol version 4",
    0x0057: "Internet Protocol version 6",
    0x0281: "MPLS Unicast",
    0x0283: "MPLS Multicast",
    0x8021: "Internet Protocol Control Protocol",
    0x8057: "IPv6 Control Protocol",
    0x80FD: "Compression Control Protocol",
    0x8281: "MPLS Control Protocol",
    0xC021: "Link Control Protocol",
    0xC023: "Password Authentication Protocol",
    0xC223: "Challenge Handshake Authentication Protocol",
}


def dissect_ppp(ctx: Ctx, off: int, end: int, hdlc: bool = True) -> None:
    """PPP: an optional address/control pair (0xff 0x03), then the protocol (1 byte if compressed)."""
    data = ctx.data
    ctx.push("ppp", "Point-to-Point Protocol", off, 2)
    ctx.proto = "PPP"
    if not ctx.has(off, 1, end):
        return
    start = off
    if hdlc and data[off] == 0xFF and ctx.has(off, 2, end):
        ctx.add("ppp.address", data[off], off, 1, "Address", "Address: 0xff")
        ctx.add("ppp.control", data[off + 1], off + 1, 1, "Control", "Control: 0x03")
        off += 2
    if not ctx.has(off, 1, end):
        return
    if data[off] & 1:  # protocol field compression
        proto, n = data[off], 1
    else:
        if not ctx.has(off, 2, end):
            return
        proto, n = _u16(data, off), 2
    name = PPP_PROTO_NAMES.get(proto)
    ctx.add("ppp.protocol", proto, off, n, "Protocol", f"Protocol: {name or 'Unknown'} (0x{proto:04x})")
    ctx.layer.length = off + n - start
    if not call(ctx, PPP_PROTOS, proto, off + n, end):
        ctx.proto = f"0x{proto:04x}"
        ctx.info = f"PPP Unknown (0x{proto:04x})"


@LINKTYPES.register(9, 50)
def dissect_ppp_link(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    if ctx.has(off, 2, end) and data[off] in (0x0F, 0x8F) and data[off + 1] == 0:  # Cisco HDLC framing
        dissect_chdlc(ctx, off, end)
        return
    dissect_ppp(ctx, off, end)


@PPP_PROTOS.register(0x0021)
def _ppp_ip(ctx: Ctx, off: int, end: int) -> None:
    call(ctx, ETHERTYPES, 0x0800, off, end)


@PPP_PROTOS.register(0x0057)
def _ppp_ipv6(ctx: Ctx, off: int, end: int) -> None:
    call(ctx, ETHERTYPES, 0x86DD, off, end)


@PPP_PROTOS.register(0x0281, 0x0283)
def _ppp_mpls(ctx: Ctx, off: int, end: int) -> None:
    dissect_mpls(ctx, off, end)


CP_CODES = {
    1: "Configuration Request",
    2: "Configuration Ack",
    3: "Configuration Nak",
    4: "Configuration Reject",
    5: "Termination Request",
    6: "Termination Ack",
    7: "Code Reject",
    8: "Protocol Reject",
    9: "Echo Request",
    10: "Echo Reply",
    11: "Discard Request",
    12: "Identification",
    13: "Time Remaining",
    14: "Reset-Request",
    15: "Reset-Ack",
}
CP = Header(
    (
        F("ppp.code", "Code", 0, 1, names=CP_CODES),
        F("ppp.identifier", "Identifier", 1, 1),
        F("ppp.length", "Length", 2, 2),
    )
)
# control protocol -> (Wireshark's protocol name, column, label)
_CPS = {
    0xC021: ("lcp", "PPP LCP", "PPP Link Control Protocol"),
    0x8021: ("ipcp", "PPP IPCP", "PPP IP Control Protocol"),
    0x8057: ("ipv6cp", "PPP IPV6CP", "PPP IPv6 Control Protocol"),
    0x80FD: ("ccp", "PPP CCP", "PPP Compression Control Protocol"),
    0x8281: ("mplscp", "PPP MPLSCP", "PPP MPLS Control Protocol"),
}


def _cp(proto: int) -> None:
    name, col, label = _CPS[proto]

    @PPP_PROTOS.register(proto)
    def dissect_cp(ctx: Ctx, off: int, end: int) -> None:
        ctx.push(name, label, off, 4)
        ctx.proto = col
        vals = CP.read(ctx, off, end)
        if vals is None:
            return
        code = vals["ppp.code"]
        ctx.info = CP_CODES.get(code) or f"Unknown (0x{code:02x})"
        if name == "lcp" and code in (9, 10, 11) and ctx.has(off + 4, 4, end):
            mn = int.from_bytes(ctx.data[off + 4 : off + 8], "big")
            ctx.add("lcp.magic_number", mn, off + 4, 4, "Magic number", f"Magic number: 0x{mn:08x}")


for _p in _CPS:
    _cp(_p)


# ---------------------------------------------------------------------------------------------
# PPPoE (RFC 2516): discovery (0x8863) and session (0x8864)

PPPOE_CODES = {
    0x00: "Session Data",
    0x07: "Active Discovery Offer (PADO)",
    0x09: "Active Discovery Initiation (PADI)",
    0x19: "Active Discovery Request (PADR)",
    0x65: "Active Discovery Session-confirmation (PADS)",
    0xA7: "Active Discovery Terminate (PADT)",
}
PPPOE = Header(
    (
        F("pppoe.version", "Version", 0, 1, mask=0xF0),
        F("pppoe.type", "Type", 0, 1, mask=0x0F),
        F("pppoe.code", "Code", 1, 1, disp=HEX2, names=PPPOE_CODES),
        F("pppoe.session_id", "Session ID", 2, 2, disp=HEX4),
        F("pppoe.payload_length", "Payload Length", 4, 2),
    )
)


@ETHERTYPES.register(0x8863)
def dissect_pppoed(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("pppoed", "PPP-over-Ethernet Discovery", off, 6)
    ctx.proto = "PPPoED"
    vals = PPPOE.read(ctx, off, end)
    if vals is None:
        return
    code = vals["pppoe.code"]
    ctx.info = PPPOE_CODES.get(code) or f"Unknown (0x{code:02x})"


@ETHERTYPES.register(0x8864)
def dissect_pppoes(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("pppoes", "PPP-over-Ethernet Session", off, 6)
    ctx.proto = "PPPoES"
    vals = PPPOE.read(ctx, off, end)
    if vals is None:
        return
    ctx.info = PPPOE_CODES.get(vals["pppoe.code"], "Unknown")
    plen = vals["pppoe.payload_length"]
    if off + 6 + plen < end:
        end = off + 6 + plen
    dissect_ppp(ctx, off + 6, end, hdlc=False)


# ---------------------------------------------------------------------------------------------
# Cisco HDLC (link type 104) and SLARP

CHDLC = Header(
    (
        F("chdlc.address", "Address", 0, 1, disp=HEX2, names={0x0F: "Unicast", 0x8F: "Broadcast"}),
        F("chdlc.control", "Control", 1, 1, disp=HEX2),
        F("chdlc.protocol", "Protocol", 2, 2, disp=HEX4),
    )
)


@LINKTYPES.register(104)
def dissect_chdlc(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("chdlc", "Cisco HDLC", off, 4)
    ctx.proto = "CHDLC"
    vals = CHDLC.read(ctx, off, end)
    if vals is None:
        return
    ethertype_payload(ctx, vals["chdlc.protocol"], off + 4, end)


def ethertype_payload(ctx: Ctx, etype: int, off: int, end: int) -> None:
    """An ethertype-selected payload without Wireshark's "ethertype" pseudo-layer (Cisco HDLC, PBB)."""
    if not call(ctx, ETHERTYPES, etype, off, end):
        ctx.info = ctx.info or f"Unknown protocol 0x{etype:04x}"


SLARP_TYPES = {0: "Request", 1: "Reply", 2: "Line keepalive"}
SLARP_KEEPALIVE = Header(
    (
        F("slarp.ptype", "Packet type", 0, 4, names=SLARP_TYPES),
        F("slarp.mysequence", "Outgoing sequence number", 4, 4),
        F("slarp.yoursequence", "Returned sequence number", 8, 4),
    )
)
SLARP_ADDR = Header(
    (
        F("slarp.ptype", "Packet type", 0, 4, names=SLARP_TYPES),
        F("slarp.address", "Address", 4, 4, "ip4"),
        F("slarp.netmask", "Netmask", 8, 4, "ip4"),
    )
)


@ETHERTYPES.register(0x8035)
def _rarp_or_slarp(ctx: Ctx, off: int, end: int) -> None:
    if ctx.protos and ctx.protos[-1] == "chdlc":
        dissect_slarp(ctx, off, end)
    else:
        from sniffer.decode.link import dissect_arp

        dissect_arp(ctx, off, end)


def dissect_slarp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("slarp", "Cisco SLARP", off, 14)
    ctx.proto = "SLARP"
    if not ctx.has(off, 4, end):
        return
    ptype = int.from_bytes(ctx.data[off : off + 4], "big")
    vals = (SLARP_KEEPALIVE if ptype == 2 else SLARP_ADDR).read(ctx, off, end)
    if vals is None:
        return
    if ptype == 2:
        ctx.info = (
            f"Line keepalive, outgoing sequence {vals['slarp.mysequence']}, "
            f"returned sequence {vals['slarp.yoursequence']}"
        )
    elif ptype == 1:
        ctx.info = f"Reply, from {vals['slarp.address']}, mask {vals['slarp.netmask']}"
    elif ptype == 0:
        ctx.info = "Request"
    else:
        ctx.info = f"Unknown packet type 0x{ptype:08X}"


# ---------------------------------------------------------------------------------------------
# MPLS (RFC 3032): a label stack, then IPv4/IPv6 by the first nibble

MPLS = Header(
    (
        F("mpls.label", "MPLS Label", 0, 3, mask=0xFFFFF0),
        F("mpls.exp", "MPLS Experimental Bits", 2, 1, mask=0x0E),
        F("mpls.bottom", "MPLS Bottom Of Label Stack", 2, 1, mask=0x01),
        F("mpls.ttl", "MPLS TTL", 3, 1),
    )
)


@ETHERTYPES.register(0x8847, 0x8848)
@UDP_PORTS.register(6635)
def dissect_mpls(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("mpls", "MultiProtocol Label Switching Header", off, 4)
    ctx.proto = "MPLS"
    data = ctx.data
    while True:
        vals = MPLS.read(ctx, off, end)
        if vals is None:
            return
        off += 4
        if vals["mpls.bottom"]:
            break
    if off >= min(end, len(data)):
        return
    v = data[off] >> 4
    if v == 4:
        call(ctx, ETHERTYPES, 0x0800, off, end)
    elif v == 6:
        call(ctx, ETHERTYPES, 0x86DD, off, end)
    else:
        data_layer(ctx, off, end)


# ---------------------------------------------------------------------------------------------
# Geneve (RFC 8926, UDP 6081)

GENEVE = Header(
    (
        F("geneve.version", "Version", 0, 1, mask=0xC0),
        F("geneve.flags", "Flags", 1, 1, disp=HEX2),
        F("geneve.flags.oam", "Operations, Administration and Management Frame", 1, 1, mask=0x80),
        F("geneve.flags.critical", "Critical Options Present", 1, 1, mask=0x40),
        F("geneve.proto_type", "Protocol Type", 2, 2, disp=HEX4),
        F("geneve.vni", "Virtual Network Identifier (VNI)", 4, 3, disp=lambda v: f"0x{v:06x}"),
        F("geneve.reserved", "Reserved", 7, 1, disp=HEX2),
    )
)


@UDP_PORTS.register(6081)
def dissect_geneve(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("geneve", "Generic Network Virtualization Encapsulation", off, 8)
    ctx.proto = "Geneve"
    vals = GENEVE.read(ctx, off, end)
    if vals is None:
        return
    optlen = (ctx.data[off] & 0x3F) * 4  # Wireshark shows it as text ("Length: 8 bytes"), not a field
    ctx.layer.length = 8 + optlen
    o = off + 8 + optlen
    ctx.info = f"Encapsulated {vals['geneve.proto_type']:#06x}"
    _by_ethertype(ctx, vals["geneve.proto_type"], o, end)


def _by_ethertype(ctx: Ctx, etype: int, off: int, end: int) -> None:
    if etype == 0x6558:  # transparent Ethernet bridging
        dissect_eth(ctx, off, end)
    else:
        ethertype(ctx, etype, off, end)


@UDP_PORTS.register(4754)
def dissect_gre_in_udp(ctx: Ctx, off: int, end: int) -> None:
    """GRE-in-UDP (RFC 8086): a GRE header right after UDP."""
    call(ctx, IP_PROTOS, 47, off, end)


# ---------------------------------------------------------------------------------------------
# AYIYA (Anything In Anything, UDP 5072)

AYIYA = Header(
    (
        F("ayiya.idlen", "Identity field length", 0, 1, mask=0xF0),
        F("ayiya.idtype", "Identity field type", 0, 1, mask=0x0F),
        F("ayiya.siglen", "Signature Length", 1, 1, mask=0xF0),
        F("ayiya.hashmethod", "Hash method", 1, 1, mask=0x0F),
        F("ayiya.authmethod", "Authentication method", 2, 1, mask=0xF0),
        F("ayiya.opcode", "Operation Code", 2, 1, mask=0x0F),
        F("ayiya.nextheader", "Next Header", 3, 1),
    )
)


@UDP_PORTS.register(5072)
def dissect_ayiya(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ayiya", "Anything in Anything Protocol", off, 8)
    ctx.proto = "AYIYA"
    vals = AYIYA.read(ctx, off, end)
    if vals is None:
        return
    if ctx.has(off + 4, 4, end):  # an absolute time, shown as Wireshark shows one
        import time

        t = int.from_bytes(ctx.data[off + 4 : off + 8], "big")
        ctx.add(
            "ayiya.epoch",
            time.strftime("%b %e, %Y %H:%M:%S.000000000 UTC", time.gmtime(t)),
            off + 4,
            4,
            "Epoch",
        )
    idlen = 1 << vals["ayiya.idlen"] if vals["ayiya.idlen"] else 0
    siglen = vals["ayiya.siglen"] * 4
    o = off + 8
    if idlen and ctx.has(o, idlen, end):
        ctx.add("ayiya.identity", ctx.data[o : o + idlen].hex(":"), o, idlen, "Identity")
    o += idlen
    if siglen and ctx.has(o, siglen, end):
        ctx.add("ayiya.signature", ctx.data[o : o + siglen].hex(":"), o, siglen, "Signature")
    o += siglen
    ctx.layer.length = o - off
    if vals["ayiya.opcode"] == 1 and o < end:  # forward: the payload is the next header's
        call(ctx, IP_PROTOS, vals["ayiya.nextheader"], o, end)


# ---------------------------------------------------------------------------------------------
# Teredo (RFC 4380, UDP 3544): optional authentication and origin indication, then IPv6


@UDP_PORTS.register(3544)
def dissect_teredo(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    o = off
    if o + 2 <= lim and _u16(data, o) == 1:  # authentication
        if o + 4 > lim:
            return
        idl, aul = data[o + 2], data[o + 3]
        ctx.push("teredo", "Teredo IPv6 over UDP tunneling", off, 13 + idl + aul)
        ctx.add("teredo.auth.idlen", idl, o + 2, 1, "Client identifier length")
        ctx.add("teredo.auth.aulen", aul, o + 3, 1, "Authentication value length")
        o += 13 + idl + aul
    if o + 8 <= lim and _u16(data, o) == 0:  # origin indication: port and address, obfuscated
        if ctx.layer.field != "teredo":
            ctx.push("teredo", "Teredo IPv6 over UDP tunneling", o, 8)
        ctx.add("teredo.orig.port", _u16(data, o + 2) ^ 0xFFFF, o + 2, 2, "Origin UDP port")
        ctx.add(
            "teredo.orig.addr", ip4(bytes(b ^ 0xFF for b in data[o + 4 : o + 8])), o + 4, 4, "Origin IPv4"
        )
        o += 8
    if o < lim and data[o] >> 4 == 6:
        if ctx.layer.field != "teredo":
            ctx.protos.append("teredo")
        call(ctx, ETHERTYPES, 0x86DD, o, end)
    elif ctx.layer.field != "teredo":
        data_layer(ctx, off, end)


# ---------------------------------------------------------------------------------------------
# GTPv1-U (3GPP TS 29.281, UDP 2152) and the GTPv1-C header (UDP 2123)

GTP_MSGS = {
    1: "Echo request",
    2: "Echo response",
    16: "Create PDP context request",
    17: "Create PDP context response",
    18: "Update PDP context request",
    19: "Update PDP context response",
    20: "Delete PDP context request",
    21: "Delete PDP context response",
    26: "Error indication",
    254: "End marker",
    255: "T-PDU",
}
GTP = Header(
    (
        F("gtp.flags", "Flags", 0, 1, disp=HEX2),
        F("gtp.flags.version", "Version", 0, 1, mask=0xE0),
        F("gtp.flags.payload", "Protocol type", 0, 1, mask=0x10),
        F("gtp.flags.reserved", "Reserved", 0, 1, mask=0x08),
        F("gtp.flags.e", "Is Next Extension Header present?", 0, 1, mask=0x04),
        F("gtp.flags.s", "Is Sequence Number present?", 0, 1, mask=0x02),
        F("gtp.flags.pn", "Is N-PDU number present?", 0, 1, mask=0x01),
        F("gtp.message", "Message Type", 1, 1, disp=HEX2, names=GTP_MSGS),
        F("gtp.length", "Length", 2, 2),
        F("gtp.teid", "TEID", 4, 4, disp=HEX8),
    )
)
GTP_OPT = Header(
    (
        F("gtp.seq_number", "Sequence number", 8, 2, disp=HEX4),
        F("gtp.npdu_number", "N-PDU Number", 10, 1, disp=HEX2),
        F("gtp.ext_hdr.next", "Next extension header type", 11, 1, disp=HEX2),
    )
)


@UDP_PORTS.register(2152, 2123)
def dissect_gtp_port(ctx: Ctx, off: int, end: int) -> bool:
    if "gtp" in ctx.protos:  # GTP inside GTP: Wireshark does not take it (the inner UDP shows data)
        return False
    dissect_gtp(ctx, off, end)
    return True


def dissect_gtp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("gtp", "GPRS Tunneling Protocol", off, 8)
    ctx.proto = "GTP"
    data = ctx.data
    if ctx.has(off, 1, end) and data[off] >> 5 != 1:  # GTPv2-C and GTP' have other headers
        ctx.proto = "GTPv2" if data[off] >> 5 == 2 else "GTP"
        return
    vals = GTP.read(ctx, off, end)
    if vals is None:
        return
    msg = vals["gtp.message"]
    ctx.info = GTP_MSGS.get(msg) or f"Unknown message ({msg})"
    o = off + 8
    if vals["gtp.flags"] & 0x07:
        opt = GTP_OPT.read(ctx, off, end)
        if opt is None:
            return
        o += 4
        nxt = opt["gtp.ext_hdr.next"]
        while nxt:  # extension headers: length in 4-octet units, the last octet is the next type
            if not ctx.has(o, 1, end):
                return
            ln = data[o] * 4
            if ln == 0 or not ctx.has(o, ln, end):
                ctx.set_malformed("gtp")
                return
            nxt = data[o + ln - 1]
            o += ln
    ctx.layer.length = o - off
    if msg == 255 and o < min(end, len(data)):
        v = data[o] >> 4
        if v in (4, 6):
            call(ctx, ETHERTYPES, 0x0800 if v == 4 else 0x86DD, o, end)
            ctx.proto = f"GTP <{ctx.proto}>"  # Wireshark shows the inner protocol in GTP's brackets
        else:
            data_layer(ctx, o, end)


# ---------------------------------------------------------------------------------------------
# L2TPv2 (RFC 2661, UDP 1701)

L2TP_MSGS = {
    1: "SCCRQ",
    2: "SCCRP",
    3: "SCCCN",
    4: "StopCCN",
    6: "Hello",
    7: "OCRQ",
    8: "OCRP",
    9: "OCCN",
    10: "ICRQ",
    11: "ICRP",
    12: "ICCN",
    14: "CDN",
    15: "WEN",
    16: "SLI",
}
L2TP = Header(
    (
        F("l2tp.type", "Type", 0, 1, mask=0x80),
        F("l2tp.length_bit", "Length Bit", 0, 1, mask=0x40),
        F("l2tp.seq_bit", "Sequence Bit", 0, 1, mask=0x08),
        F("l2tp.offset_bit", "Offset bit", 0, 1, mask=0x02),
        F("l2tp.priority", "Priority", 0, 1, mask=0x01),
        F("l2tp.version", "Version", 1, 1, mask=0x0F),
    )
)


@UDP_PORTS.register(1701)
def dissect_l2tp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("l2tp", "Layer 2 Tunneling Protocol", off, 6)
    ctx.proto = "L2TP"
    data = ctx.data
    vals = L2TP.read(ctx, off, end)
    if vals is None:
        return
    if vals["l2tp.version"] != 2:
        ctx.info = f"Version {vals['l2tp.version']}"
        return
    o = off + 2
    if vals["l2tp.length_bit"]:
        if not ctx.has(o, 2, end):
            return
        ctx.add("l2tp.length", _u16(data, o), o, 2, "Length")
        o += 2
    if not ctx.has(o, 4, end):
        return
    tunnel, session = _u16(data, o), _u16(data, o + 2)
    ctx.add("l2tp.tunnel", tunnel, o, 2, "Tunnel ID")
    ctx.add("l2tp.session", session, o + 2, 2, "Session ID")
    o += 4
    if vals["l2tp.seq_bit"]:
        if not ctx.has(o, 4, end):
            return
        ctx.add("l2tp.Ns", _u16(data, o), o, 2, "Ns")
        ctx.add("l2tp.Nr", _u16(data, o + 2), o + 2, 2, "Nr")
        o += 4
    if vals["l2tp.offset_bit"]:
        if not ctx.has(o, 2, end):
            return
        pad = _u16(data, o)
        ctx.add("l2tp.offset", pad, o, 2, "Offset Size")
        o += 2 + pad
    ctx.layer.length = o - off
    ids = f"(tunnel id={tunnel}, session id={session})"
    if vals["l2tp.type"]:
        msg = ""
        # the first AVP of a control message is its type (vendor 0, attribute 0)
        if o + 8 <= min(end, len(data)) and _u16(data, o + 2) == 0 and _u16(data, o + 4) == 0:
            t = _u16(data, o + 6)
            ctx.add("l2tp.avp.type", 0, o + 4, 2, "AVP Type")
            msg = f" - {L2TP_MSGS.get(t, f'Unknown Message Type: {t}')}"
        elif o + 8 > len(data) and o < end:  # the message type AVP was cut by the snapshot length
            ctx.truncated = True
        ctx.info = f"Control Message{msg} {ids}" if msg else f"Control Message {ids}"
        a = o  # the AVPs, as Wireshark walks them: one cut by the capture marks the packet truncated
        while a < end and not ctx.truncated:
            if not ctx.has(a, 6, end):
                break
            ln = _u16(data, a) & 0x3FF
            if ln < 6:
                break
            a += ln
        return
    ctx.info = f"Data    {ids}"
    if o < end:
        dissect_ppp(ctx, o, end)


# ---------------------------------------------------------------------------------------------
# IPsec NAT traversal (RFC 3948, UDP 4500): NAT keepalives, ESP, or (after a non-ESP marker) ISAKMP


UDPENCAP_PORT = 4500


@UDP_PORTS.register(UDPENCAP_PORT)
def dissect_udpencap(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("udpencap", "UDP Encapsulation of IPsec Packets", off, lim - off)
    ctx.proto = "UDPENCAP"
    if lim - off == 1 and data[off] == 0xFF:
        ctx.add("udpencap.nat_keepalive", 1, off, 1, "NAT-keepalive packet")
        ctx.info = "NAT-keepalive"
        return
    if lim - off >= 4 and data[off : off + 4] == b"\0\0\0\0":
        ctx.add("udpencap.non_esp_marker", 0, off, 4, "Non-ESP Marker")
        ctx.layer.length = 4
        dissect_isakmp(ctx, off + 4, end)
        return
    ctx.layer.length = 0
    call(ctx, IP_PROTOS, 50, off, end)


ISAKMP_EXCHANGES = {
    0: "NONE",
    1: "Base",
    2: "Identity Protection (Main Mode)",
    3: "Authentication Only",
    4: "Aggressive",
    5: "Informational",
    6: "Transaction (Config Mode)",
    32: "Quick Mode",
    33: "New Group Mode",
    34: "IKE_SA_INIT",
    35: "IKE_AUTH",
    36: "CREATE_CHILD_SA",
    37: "INFORMATIONAL",
    38: "IKE_SESSION_RESUME",
}
ISAKMP = Header(
    (
        F("isakmp.ispi", "Initiator SPI", 0, 8, "bytes"),
        F("isakmp.rspi", "Responder SPI", 8, 8, "bytes"),
        F("isakmp.nextpayload", "Next payload", 16, 1),
        F("isakmp.version", "Version", 17, 1, disp=HEX2),
        F("isakmp.exchangetype", "Exchange type", 18, 1, names=ISAKMP_EXCHANGES),
        F("isakmp.flags", "Flags", 19, 1, disp=HEX2),
        F("isakmp.messageid", "Message ID", 20, 4, disp=HEX8),
        F("isakmp.length", "Length", 24, 4),
    )
)


ISAKMP_PORT = 500


@UDP_PORTS.register(ISAKMP_PORT)
def dissect_isakmp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("isakmp", "Internet Security Association and Key Management Protocol", off, 28)
    ctx.proto = "ISAKMP"
    vals = ISAKMP.read(ctx, off, end)
    if vals is None:
        return
    ex = vals["isakmp.exchangetype"]
    info = ISAKMP_EXCHANGES.get(ex) or f"Unknown ({ex})"
    if vals["isakmp.version"] >> 4 == 2:
        fl = vals["isakmp.flags"]
        info += (
            f" MID={vals['isakmp.messageid']:02d} {'Initiator' if fl & 0x08 else 'Responder'}"
            f" {'Response' if fl & 0x20 else 'Request'}"
        )
    ctx.info = info


# ---------------------------------------------------------------------------------------------
# PBB (IEEE 802.1ah, ethertype 0x88e7): the I-TAG, then the customer's addresses and ethertype

PBB = Header(
    (
        F("ieee8021ah.priority", "Priority", 0, 1, mask=0xE0),
        F("ieee8021ah.drop", "DEI", 0, 1, mask=0x10),
        F("ieee8021ah.nca", "NCA", 0, 1, mask=0x08),
        F("ieee8021ah.res1", "RES1", 0, 1, mask=0x04),
        F("ieee8021ah.res2", "RES2", 0, 1, mask=0x03),
        F("ieee8021ah.isid", "I-SID", 1, 3),
        F("ieee8021ah.cdst", "C-Destination", 4, 6, "mac"),
        F("ieee8021ah.csrc", "C-Source", 10, 6, "mac"),
        F("ieee8021ah.etype", "Type", 16, 2, disp=HEX4),
    )
)


@ETHERTYPES.register(0x88E7)
def dissect_pbb(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ieee8021ah", "IEEE 802.1ah", off, 18)
    ctx.proto = "PBB"
    vals = PBB.read(ctx, off, end)
    if vals is None:
        return
    ctx.info = f"PBB isid: {vals['ieee8021ah.isid']}"
    ethertype(ctx, vals["ieee8021ah.etype"], off + 18, end)


# ---------------------------------------------------------------------------------------------
# Cisco FabricPath (ethertype 0x8903): outer hierarchical MACs, the FTAG/TTL word, then a whole frame

CFP = Header(
    (
        F("cfp.d_hmac", "Outer Destination", 0, 6, "mac"),
        F("cfp.s_hmac", "Outer Source", 6, 6, "mac"),
        F("cfp.etype", "Type", 12, 2, disp=HEX4),
        F("cfp.ftag", "FTAG", 14, 2, mask=0xFFC0),
        F("cfp.ttl", "TTL", 15, 1, mask=0x3F),
    )
)


@ETHERTYPES.register(0x8903)
def dissect_cfp(ctx: Ctx, off: int, end: int) -> None:
    if ctx.protos[-2:] == ["eth", "ethertype"] and off >= 14:  # Wireshark's stack reads eth:cfp:eth
        ctx.protos.pop()
        base = off - 14
        # the outer addresses are FabricPath's (cfp.*), not Ethernet's: Wireshark has only the inner eth.*
        outer = ("eth.dst", "eth.src", "eth.addr", "eth.type")
        f = ctx.fields
        addr = f.get("eth.addr")
        if (
            type(addr) is list
            and len(addr) == 2
            and not any(type(f.get(n)) is list for n in outer[:2] + outer[3:])
        ):
            for name in outer:
                ctx.fields.pop(name, None)
            eth = ctx.layer
            eth.children = [c for c in eth.children if c.field not in outer]
    else:
        base = off
        off += 14
    ctx.push("cfp", "Cisco FabricPath", base, 16)
    ctx.proto = "CFP"
    if CFP.read(ctx, base, end) is None:
        return
    # Wireshark's FabricPath takes the frame's last 4 bytes as its FCS (cfp.fcs, unverified) and hands
    # the inner frame over without them: an inner packet that fills the frame is then cut (malformed)
    fcs = end - 4
    if fcs >= base + 16:
        if not ctx.lean and fcs + 4 <= len(ctx.data):
            v = int.from_bytes(ctx.data[fcs:end], "big")
            ctx.add(
                "cfp.fcs", v, fcs, 4, "Frame check sequence", f"Frame check sequence: 0x{v:08x} [unverified]"
            )
            ctx.add("cfp.fcs.status", 2, fcs, 0, "FCS status", "FCS status: Unverified")
        end = fcs
    dissect_eth(ctx, base + 16, end)


__all__ = ["PPP_PROTOS", "dissect_mpls", "dissect_ppp"]


# ---------------------------------------------------------------------------------------------
# ARCnet (link types 7 BSD and 129 Linux, RFC 1201/1051 encapsulations)

ARCNET_PROTOS = {0xD4: 0x0800, 0xD5: 0x0806, 0xD6: 0x8035, 0xF0: 0x0800, 0xF1: 0x0806, 0xC4: 0x86DD}


def _arcnet(ctx: Ctx, off: int, end: int, linux: bool) -> None:
    ctx.push("arcnet", "ARCNET", off, 3)
    ctx.proto = "ARCNET"
    data = ctx.data
    hl = 5 if linux else 3
    if not ctx.has(off, hl, end):
        return
    ctx.add("arcnet.src", data[off], off, 1, "Source", f"Source: 0x{data[off]:02x}")
    ctx.add("arcnet.dst", data[off + 1], off + 1, 1, "Dest", f"Dest: 0x{data[off + 1]:02x}")
    if linux:
        ctx.add("arcnet.offset", data[off + 2 : off + 4].hex(":"), off + 2, 2, "Offset")
    proto = data[off + hl - 1]
    ctx.add("arcnet.protID", proto, off + hl - 1, 1, "Protocol ID", f"Protocol ID: 0x{proto:02x}")
    o = off + hl
    if proto in (0xD4, 0xD5, 0xD6, 0xC4):  # RFC 1201: split flag and sequence number
        if not ctx.has(o, 3, end):
            return
        ctx.add("arcnet.split_flag", data[o], o, 1, "Split Flag")
        ctx.add("arcnet.sequence", _u16(data, o + 1), o + 1, 2, "Sequence")
        o += 3
    ctx.layer.length = o - off
    etype = ARCNET_PROTOS.get(proto)
    if etype is None:
        data_layer(ctx, o, end)
    else:
        call(ctx, ETHERTYPES, etype, o, end)


@LINKTYPES.register(129)
def dissect_arcnet_linux(ctx: Ctx, off: int, end: int) -> None:
    _arcnet(ctx, off, end, True)


@LINKTYPES.register(7)
def dissect_arcnet(ctx: Ctx, off: int, end: int) -> None:
    _arcnet(ctx, off, end, False)


# ---------------------------------------------------------------------------------------------
# Mobile IPv6 (RFC 6275, IPv6 next header 135)

MIP6_TYPES = {
    0: "Binding Refresh Request",
    1: "Home Test Init",
    2: "Care-of Test Init",
    3: "Home Test",
    4: "Care-of Test",
    5: "Binding Update",
    6: "Binding Acknowledgement",
    7: "Binding Error",
    8: "Fast Binding Update",
    9: "Fast Binding Acknowledgment",
    10: "Fast Neighbor Advertisement",
    11: "Experimental Mobility Header",
    12: "Home Agent Switch",
    13: "Heartbeat",
}
MIP6 = Header(
    (
        F("mip6.proto", "Payload protocol", 0, 1),
        F("mip6.hlen", "Header length", 1, 1),
        F("mip6.mhtype", "Mobility Header Type", 2, 1, names=MIP6_TYPES),
        F("mip6.reserved", "Reserved", 3, 1, disp=HEX2),
        F("mip6.csum", "Checksum", 4, 2, disp=HEX4),
    )
)


@IP_PROTOS.register(135)
def dissect_mip6(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("mipv6", "Mobile IPv6", off, 6)
    ctx.proto = "MIPv6"
    vals = MIP6.read(ctx, off, end)
    if vals is None:
        return
    ctx.layer.length = (vals["mip6.hlen"] + 1) * 8
    t = vals["mip6.mhtype"]
    ctx.info = MIP6_TYPES.get(t) or f"Unknown MH Type ({t})"


# ---------------------------------------------------------------------------------------------
# MPLS echo: LSP ping and traceroute (RFC 8029, UDP 3503)

MPLS_ECHO_TYPES = {1: "MPLS Echo Request", 2: "MPLS Echo Reply"}
MPLS_ECHO = Header(
    (
        F("mpls_echo.version", "Version", 0, 2),
        F("mpls_echo.flags", "Global Flags", 2, 2, disp=HEX4),
        F("mpls_echo.msg_type", "Message Type", 4, 1, names=MPLS_ECHO_TYPES),
        F("mpls_echo.reply_mode", "Reply Mode", 5, 1),
        F("mpls_echo.return_code", "Return Code", 6, 1),
        F("mpls_echo.return_subcode", "Return Subcode", 7, 1),
        F("mpls_echo.sender_handle", "Sender's Handle", 8, 4, disp=HEX8),
        F("mpls_echo.sequence", "Sequence Number", 12, 4),
    )
)


@UDP_PORTS.register(3503)
def dissect_mpls_echo(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("mpls-echo", "Multiprotocol Label Switching Echo", off, 32)
    ctx.proto = "MPLS ECHO"
    vals = MPLS_ECHO.read(ctx, off, end)
    if vals is None:
        return
    t = vals["mpls_echo.msg_type"]
    ctx.info = MPLS_ECHO_TYPES.get(t) or f"Unknown Message Type ({t})"


# ---------------------------------------------------------------------------------------------
# Arista vendor-specific protocol (timestamp tag, ethertype 0xd28b), VN-Tag (0x8926), MACsec (0x88e5)

AVSP = Header(
    (
        F("avsp.sub_type", "Sub Type", 0, 2, disp=HEX4),
        F("avsp.ver", "Version", 2, 2, disp=HEX4),
    )
)


@ETHERTYPES.register(0xD28B)
def dissect_avsp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("avsp", "Arista Vendor Specific Protocol", off, 4)
    ctx.proto = "AVSP"
    vals = AVSP.read(ctx, off, end)
    if vals is None or vals["avsp.sub_type"] != 1:
        return
    ver = vals["avsp.ver"]
    # timestamp version: 0x.10 a 64-bit timestamp then the ethertype, 0x.20 a 48-bit one; 0x..1 (as
    # Wireshark reads them) carry nothing it decodes further
    ts = {0x10: 8, 0x20: 6}.get(ver & 0xFF)
    if ts is None or not ctx.has(off + 4, ts + 2, end):
        return
    o = off + 4 + ts
    ctx.layer.length = o + 2 - off
    etype = _u16(ctx.data, o)
    ctx.add("avsp.etype", etype, o, 2, "Type", f"Type: 0x{etype:04x}")
    ethertype(ctx, etype, o + 2, end)


VNTAG = Header(
    (
        F("vntag.dir", "Direction", 0, 1, mask=0x80),
        F("vntag.ptr", "Pointer", 0, 1, mask=0x40),
        F("vntag.dst", "Destination", 0, 2, mask=0x3FFF),
        F("vntag.looped", "Looped", 2, 1, mask=0x80),
        F("vntag.version", "Version", 2, 1, mask=0x30),
        F("vntag.src", "Source", 2, 2, mask=0x0FFF),
        F("vntag.etype", "Type", 4, 2, disp=HEX4),
    )
)


@ETHERTYPES.register(0x8926)
def dissect_vntag(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("vntag", "VN-Tag", off, 6)
    ctx.proto = "VNTAG"
    vals = VNTAG.read(ctx, off, end)
    if vals is not None:
        ethertype(ctx, vals["vntag.etype"], off + 6, end)


MACSEC = Header(
    (
        F("macsec.TCI", "TCI", 0, 1, mask=0xFC, disp=HEX2),
        F("macsec.AN", "AN", 0, 1, mask=0x03),
        F("macsec.SL", "Short length", 1, 1),
        F("macsec.PN", "Packet number", 2, 4),
    )
)


@ETHERTYPES.register(0x88E5)
def dissect_macsec(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("macsec", "802.1AE Security tag", off, 6)
    ctx.proto = "MACSEC"
    ctx.info = "MACsec frame"
    vals = MACSEC.read(ctx, off, end)
    if vals is None:
        return
    o = off + 6
    if ctx.data[off] & 0x20:  # SC: a secure channel identifier follows
        o += 8
    ctx.layer.length = o - off
    data_layer(ctx, o, end)  # encrypted or integrity-only: not decoded
