"""Layer-2 control protocols: STP/RSTP/MSTP and Cisco PVST+ (IEEE 802.1D/802.1Q), LLDP (802.1AB), CDP,
UDLD, DTP and VTP (Cisco SNAP), EAPOL and EAP (802.1X), IS-IS over OSI (ISO 10589), LACP and the slow
protocols (802.3ad), PTPv2 (IEEE 1588), DECnet routing control and IPX with SAP/RIP.

Registered by LLC SAP, by SNAP OUI and PID, or by ethertype; Wireshark's field names, Protocol and Info."""

from __future__ import annotations

from sniffer.decode.core import (
    ETHERTYPES,
    HEX2,
    HEX4,
    LLC_SAPS,
    LLC_SNAP,
    UDP_PORTS,
    Ctx,
    F,
    Header,
    data_layer,
    mac,
)

CISCO = 0x00000C << 16  # SNAP key: OUI << 16 | PID


def _u16(d: bytes, o: int) -> int:
    return int.from_bytes(d[o : o + 2], "big")


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("latin-1")


# ---------------------------------------------------------------------------------------------
# Spanning tree (LLC SAP 0x42; Cisco PVST+ on SNAP 00:00:0c/0x010b)

STP_TYPES = {
    0x00: "Configuration",
    0x02: "Rapid/Multiple Spanning Tree",
    0x80: "Topology Change Notification",
}
STP_HDR = Header(
    (
        F("stp.protocol", "Protocol Identifier", 0, 2, disp=HEX4),
        F("stp.version", "Protocol Version Identifier", 2, 1),
        F("stp.type", "BPDU Type", 3, 1, disp=HEX2, names=STP_TYPES),
    )
)
STP_CONF = Header(
    (
        F("stp.flags", "BPDU flags", 4, 1, disp=HEX2),
        F("stp.root.prio", "Root Bridge Priority", 5, 2, mask=0xF000, scale=4096),
        F("stp.root.ext", "Root Bridge System ID Extension", 5, 2, mask=0x0FFF),
        F("stp.root.hw", "Root Bridge System ID", 7, 6, "mac"),
        F("stp.root.cost", "Root Path Cost", 13, 4),
        F("stp.bridge.prio", "Bridge Priority", 17, 2, mask=0xF000, scale=4096),
        F("stp.bridge.ext", "Bridge System ID Extension", 17, 2, mask=0x0FFF),
        F("stp.bridge.hw", "Bridge System ID", 19, 6, "mac"),
        F("stp.port", "Port identifier", 25, 2, disp=HEX4),
    )
)
_STP_TIMES = (
    ("stp.msg_age", "Message Age", 27),
    ("stp.max_age", "Max Age", 29),
    ("stp.hello", "Hello Time", 31),
)


@LLC_SAPS.register(0x42)
@LLC_SNAP.register(CISCO | 0x010B)
def dissect_stp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("stp", "Spanning Tree Protocol", off, 35)
    ctx.proto = "STP"
    vals = STP_HDR.read(ctx, off, end)
    if vals is None:
        return
    t = vals["stp.type"]
    if t == 0x80:
        ctx.layer.length = 4
        ctx.info = "Topology Change Notification"
        return
    conf = STP_CONF.read(ctx, off, end)
    if conf is None:
        return
    data = ctx.data
    for name, label, o in (*_STP_TIMES, ("stp.forward", "Forward Delay", 33)):
        if not ctx.has(off + o, 2, end):
            return
        v = _u16(data, off + o) / 256
        ctx.add(name, int(v) if v.is_integer() else v, off + o, 2, label)
    kind = "Conf." if t == 0 else ("MST." if vals["stp.version"] >= 3 else "RST.")
    ctx.info = (
        f"{kind} Root = {conf['stp.root.prio']}/{conf['stp.root.ext']}/{conf['stp.root.hw']}  "
        f"Cost = {conf['stp.root.cost']}  Port = 0x{conf['stp.port']:04x}"
    )


# ---------------------------------------------------------------------------------------------
# LLDP (ethertype 0x88cc)

LLDP_TLV = Header(
    (
        F("lldp.tlv.type", "TLV Type", 0, 2, mask=0xFE00),
        F("lldp.tlv.len", "TLV Length", 0, 2, mask=0x01FF),
    )
)
# Wireshark's two-letter prefixes of the chassis and port id subtypes in the Info column
CHASSIS_ABBR = {1: "CO", 2: "IA", 3: "PC", 4: "MA", 5: "NA", 6: "IN", 7: "LA"}
PORT_ABBR = {1: "IA", 2: "PC", 3: "MA", 4: "NA", 5: "IN", 6: "AC", 7: "LA"}


@ETHERTYPES.register(0x88CC)
def dissect_lldp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("lldp", "Link Layer Discovery Protocol", off, 0)
    ctx.proto = "LLDP"
    data = ctx.data
    lim = min(end, len(data))
    start = off
    parts: list[str] = []
    while off + 2 <= lim:
        tlv = LLDP_TLV.read(ctx, off, end)
        assert tlv is not None
        t, ln = tlv["lldp.tlv.type"], tlv["lldp.tlv.len"]
        v = off + 2
        if v + ln > lim:
            ctx.short(v + ln, end)
            break
        if t in (1, 2) and ln >= 1:
            sub = data[v]
            what = "chassis" if t == 1 else "port"
            ctx.add(f"lldp.{what}.subtype", sub, v, 1, f"{what.title()} Id Subtype")
            raw = data[v + 1 : v + ln]
            if sub == (4 if t == 1 else 3) and len(raw) == 6:
                s = mac(raw)
                ctx.add(f"lldp.{what}.id.mac", s, v + 1, 6, f"{what.title()} Id")
            elif sub == (5 if t == 1 else 4) and len(raw) == 5 and raw[0] == 1:
                s = f"{raw[1]}.{raw[2]}.{raw[3]}.{raw[4]}"
                ctx.add(f"lldp.{what}.id.ip4", s, v + 2, 4, f"{what.title()} Id")
            elif t == 2 or sub in (1, 2, 3, 6, 7):
                s = _text(raw)
                ctx.add(f"lldp.{what}.id", s if t == 2 else raw.hex(":"), v + 1, ln - 1, f"{what.title()} Id")
            else:
                s = raw.hex(":")
                ctx.add(f"lldp.{what}.id", s, v + 1, ln - 1, f"{what.title()} Id")
            parts.append(f"{(CHASSIS_ABBR if t == 1 else PORT_ABBR).get(sub, '??')}/{s}")
        elif t == 3 and ln >= 2:
            ttl = _u16(data, v)
            ctx.add("lldp.time_to_live", ttl, v, 2, "Seconds")
            parts.append(str(ttl))
        elif t == 4:
            ctx.add("lldp.port.desc", _text(data[v : v + ln]), v, ln, "Port Description")
        elif t == 5:
            s = _text(data[v : v + ln])
            ctx.add("lldp.tlv.system.name", s, v, ln, "System Name")
            parts.append(f"SysN={s}")
        elif t == 6:
            s = _text(data[v : v + ln])
            ctx.add("lldp.tlv.system.desc", s, v, ln, "System Description")
            parts.append(f"SysD={s}")
        off = v + ln
        if t == 0:
            break
    ctx.layer.length = off - start
    ctx.info = "".join(p + " " for p in parts)


# ---------------------------------------------------------------------------------------------
# Cisco CDP, UDLD, DTP, VTP (SNAP OUI 00:00:0c)

CDP = Header(
    (
        F("cdp.version", "Version", 0, 1),
        F("cdp.ttl", "TTL", 1, 1),
        F("cdp.checksum", "Checksum", 2, 2, disp=HEX4),
    )
)
_CDP_STRINGS = {
    1: ("cdp.deviceid", "Device ID"),
    3: ("cdp.portid", "Port ID"),
    6: ("cdp.platform", "Platform"),
}


@LLC_SNAP.register(CISCO | 0x2000)
def dissect_cdp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("cdp", "Cisco Discovery Protocol", off, 4)
    ctx.proto = "CDP"
    if CDP.read(ctx, off, end) is None:
        return
    dev = port = ""
    data = ctx.data
    lim = min(end, len(data))
    o = off + 4
    while o + 4 <= lim:
        t, ln = _u16(data, o), _u16(data, o + 2)
        ctx.add("cdp.tlv.type", t, o, 2, "Type")
        ctx.add("cdp.tlv.len", ln, o + 2, 2, "Length")
        if ln < 4:
            break
        if t in _CDP_STRINGS and o + ln <= lim:
            name, label = _CDP_STRINGS[t]
            s = _text(data[o + 4 : o + ln])
            ctx.add(name, s, o + 4, ln - 4, label)
            if t == 1:
                dev = s
            elif t == 3:
                port = s
        o += ln
    ctx.info = f"Device ID: {dev}  Port ID: {port}  "


UDLD = Header(
    (
        F("udld.version", "Version", 0, 1, mask=0xE0),
        F("udld.opcode", "Opcode", 0, 1, mask=0x1F),
        F("udld.flags", "Flags", 1, 1, disp=HEX2),
        F("udld.checksum", "Checksum", 2, 2, disp=HEX4),
    )
)


@LLC_SNAP.register(CISCO | 0x0111)
def dissect_udld(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("udld", "Unidirectional Link Detection", off, 4)
    ctx.proto = "UDLD"
    if UDLD.read(ctx, off, end) is None:
        return
    dev = port = ""
    data = ctx.data
    lim = min(end, len(data))
    o = off + 4
    while o + 4 <= lim:
        t, ln = _u16(data, o), _u16(data, o + 2)
        ctx.add("udld.tlv.type", t, o, 2, "Type")
        ctx.add("udld.tlv.len", ln, o + 2, 2, "Length")
        if ln < 4:
            break
        if t in (1, 2) and o + ln <= lim:
            s = _text(data[o + 4 : o + ln])
            if t == 1:
                dev = s
                ctx.add("udld.device_id", s, o + 4, ln - 4, "Device ID")
            else:
                port = s
                ctx.add("udld.sent_through_interface", s, o + 4, ln - 4, "Sent through Interface")
        o += ln
    ctx.info = f"Device ID: {dev}  Port ID: {port}  "


@LLC_SNAP.register(CISCO | 0x2004)
def dissect_dtp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("dtp", "Dynamic Trunk Protocol", off, 1)
    ctx.proto = "DTP"
    ctx.info = "Dynamic Trunk Protocol"
    if ctx.has(off, 1, end):
        ctx.add("dtp.version", ctx.data[off], off, 1, "Version", f"Version: 0x{ctx.data[off]:02x}")


VTP_CODES = {
    1: "Summary Advertisement",
    2: "Subset Advertisement",
    3: "Advertisement Request",
    4: "Join/Prune Message",
}
VTP = Header(
    (
        F("vtp.version", "Version", 0, 1, disp=HEX2),
        F("vtp.code", "Code", 1, 1, disp=HEX2, names=VTP_CODES),
    )
)


@LLC_SNAP.register(CISCO | 0x2003)
def dissect_vtp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("vtp", "VLAN Trunking Protocol", off, 2)
    ctx.proto = "VTP"
    vals = VTP.read(ctx, off, end)
    if vals is None:
        return
    code = vals["vtp.code"]
    ctx.info = VTP_CODES.get(code) or f"Unknown message type (0x{code:02x})"
    if code == 1 and ctx.has(off + 36, 4, end):
        rev = int.from_bytes(ctx.data[off + 36 : off + 40], "big")
        ctx.add("vtp.conf_rev_num", rev, off + 36, 4, "Configuration Revision Number")
        ctx.info += f", Revision: {rev}"


# ---------------------------------------------------------------------------------------------
# EAPOL (ethertype 0x888e) and EAP

EAPOL_TYPES = {0: "EAP Packet", 1: "Start", 2: "Logoff", 3: "Key", 4: "Encapsulated ASF Alert", 5: "MKA"}
EAPOL = Header(
    (
        F("eapol.version", "Version", 0, 1),
        F("eapol.type", "Type", 1, 1, names=EAPOL_TYPES),
        F("eapol.len", "Length", 2, 2),
    )
)
EAP_CODES = {1: "Request", 2: "Response", 3: "Success", 4: "Failure", 5: "Initiate", 6: "Finish"}
EAP_TYPES = {
    1: "Identity",
    2: "Notification",
    3: "Legacy Nak (Response Only)",
    4: "MD5-Challenge EAP (EAP-MD5-CHALLENGE)",
    6: "Generic Token Card EAP (EAP-GTC)",
    13: "TLS EAP (EAP-TLS)",
    17: "Cisco Wireless EAP / Lightweight EAP (EAP-LEAP)",
    18: "GSM Subscriber Identity Modules EAP (EAP-SIM)",
    21: "Tunneled TLS EAP (EAP-TTLS)",
    23: "UMTS Authentication and Key Agreement EAP (EAP-AKA)",
    25: "Protected EAP (EAP-PEAP)",
    26: "MS-CHAP-v2 EAP (EAP-MS-CHAP-V2)",
    43: "Flexible Authentication via Secure Tunneling EAP (EAP-FAST)",
    50: "UMTS Authentication and Key Agreement' EAP (EAP-AKA')",
    254: "Expanded Type",
}
EAP = Header(
    (
        F("eap.code", "Code", 0, 1, names=EAP_CODES),
        F("eap.id", "Id", 1, 1),
        F("eap.len", "Length", 2, 2),
    )
)


@ETHERTYPES.register(0x888E)
def dissect_eapol(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("eapol", "802.1X Authentication", off, 4)
    ctx.proto = "EAPOL"
    vals = EAPOL.read(ctx, off, end)
    if vals is None:
        return
    t = vals["eapol.type"]
    ctx.info = EAPOL_TYPES.get(t) or f"Unknown Type (0x{t:02X})"
    if t == 0:
        dissect_eap(ctx, off + 4, min(end, off + 4 + vals["eapol.len"]))


def dissect_eap(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("eap", "Extensible Authentication Protocol", off, 4)
    ctx.proto = "EAP"
    vals = EAP.read(ctx, off, end)
    if vals is None:
        return
    code = vals["eap.code"]
    info = EAP_CODES.get(code) or f"Unknown code ({code})"
    if code in (1, 2) and ctx.has(off + 4, 1, end):
        t = ctx.data[off + 4]
        ctx.add("eap.type", t, off + 4, 1, "Type")
        info += f", {EAP_TYPES.get(t, f'Unknown type ({t})')}"
        if t == 1 and vals["eap.len"] > 5:
            n = min(vals["eap.len"], end - off) - 5
            ident = ctx.data[off + 5 : off + 5 + n].decode("latin-1")
            ctx.add("eap.identity", ident, off + 5, n, "Identity")
    ctx.info = info


# ---------------------------------------------------------------------------------------------
# IS-IS over OSI (LLC SAP 0xfe, NLPID 0x83)

ISIS_TYPES = {
    15: ("L1 HELLO", "HELLO", "isis.hello"),
    16: ("L2 HELLO", "HELLO", "isis.hello"),
    17: ("P2P HELLO", "HELLO", "isis.hello"),
    18: ("L1 LSP", "LSP", "isis.lsp"),
    20: ("L2 LSP", "LSP", "isis.lsp"),
    24: ("L1 CSNP", "CSNP", "isis.csnp"),
    25: ("L2 CSNP", "CSNP", "isis.csnp"),
    26: ("L1 PSNP", "PSNP", "isis.psnp"),
    27: ("L2 PSNP", "PSNP", "isis.psnp"),
}
ISIS = Header(
    (
        F("isis.irpd", "Intradomain Routing Protocol Discriminator", 0, 1, disp=HEX2),
        F("isis.len", "Length Indicator", 1, 1),
        F("isis.version", "Version (==1)", 2, 1),
        F("isis.sysid_len", "System ID Length", 3, 1),
        F("isis.type", "PDU Type", 4, 1, mask=0x1F),
        F("isis.version2", "Version2 (==1)", 5, 1),
        F("isis.reserved", "Reserved (==0)", 6, 1),
        F("isis.max_area_adr", "Max.AREAs: (0==3)", 7, 1),
    )
)


def _sysid(b: bytes) -> str:
    h = b[:6].hex()
    s = f"{h[0:4]}.{h[4:8]}.{h[8:12]}"
    if len(b) >= 7:
        s += f".{b[6]:02x}"
    if len(b) >= 8:
        s += f"-{b[7]:02x}"
    return s


@LLC_SAPS.register(0xFE)
def dissect_osi(ctx: Ctx, off: int, end: int) -> None:
    ctx.protos.append("osi")
    ctx.proto = "OSI"
    if not ctx.has(off, 1, end):
        return
    nlpid = ctx.data[off]
    if nlpid == 0x83:
        dissect_isis(ctx, off, end)
    else:
        ctx.add("osi.nlpid", nlpid, off, 1, "Network Layer Protocol Identifier")


def dissect_isis(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("isis", "ISO 10589 ISIS InTRA Domain Routeing Information Exchange Protocol", off, 8)
    ctx.proto = "ISIS"
    vals = ISIS.read(ctx, off, end)
    if vals is None:
        return
    kind = ISIS_TYPES.get(vals["isis.type"])
    if kind is None:
        ctx.info = f"Unknown ISIS packet type ({vals['isis.type']})"
        return
    name, col, proto = kind
    ctx.proto = f"ISIS {col}"
    o = off + 8
    data = ctx.data
    ctx.push(proto, f"ISIS {col}", o, vals["isis.len"] - 8)
    if col == "HELLO":
        if not ctx.has(o, 7, end):
            return
        ctx.add("isis.hello.circuit_type", data[o] & 3, o, 1, "Circuit type")
        sid = _sysid(data[o + 1 : o + 7])
        ctx.add("isis.hello.source_id", sid, o + 1, 6, "SystemID {Sender of PDU}")
        ctx.info = f"{name}, System-ID: {sid}"
        if ctx.has(o + 7, 4, end):
            ctx.add("isis.hello.holding_timer", _u16(data, o + 7), o + 7, 2, "Holding timer")
            ctx.add("isis.hello.pdu_length", _u16(data, o + 9), o + 9, 2, "PDU length")
    elif col == "LSP":
        if not ctx.has(o, 16, end):
            return
        life, lsp, seq = (
            _u16(data, o + 2),
            _sysid(data[o + 4 : o + 12]),
            int.from_bytes(data[o + 12 : o + 16], "big"),
        )
        ctx.add("isis.lsp.pdu_length", _u16(data, o), o, 2, "PDU length")
        ctx.add("isis.lsp.remaining_life", life, o + 2, 2, "Remaining lifetime")
        ctx.add("isis.lsp.lsp_id", lsp, o + 4, 8, "LSP-ID")
        ctx.add("isis.lsp.sequence_number", seq, o + 12, 4, "Sequence number")
        ctx.info = f"{name}, LSP-ID: {lsp}, Sequence: 0x{seq:08x}, Lifetime: {life:5d}s"
    else:
        if not ctx.has(o, 9, end):
            return
        src = _sysid(data[o + 2 : o + 9])
        ctx.add(f"{proto}.source_id", src[:14], o + 2, 7, "Source-ID")  # the field omits the circuit id
        ctx.info = f"{name}, Source-ID: {src}"
        if col == "CSNP" and ctx.has(o + 9, 16, end):
            a, b = _sysid(data[o + 9 : o + 17]), _sysid(data[o + 17 : o + 25])
            ctx.add("isis.csnp.start_lsp_id", a, o + 9, 8, "Start LSP-ID")
            ctx.add("isis.csnp.end_lsp_id", b, o + 17, 8, "End LSP-ID")
            ctx.info += f", Start LSP-ID: {a}, End LSP-ID: {b}"


# ---------------------------------------------------------------------------------------------
# Slow protocols (ethertype 0x8809): LACP

SLOW_SUBTYPES = {1: "LACP", 2: "Marker Protocol", 3: "OAM", 10: "Organization Specific Slow Protocol"}
LACP_ACTOR = Header(
    (
        F("lacp.version", "LACP Version", 1, 1),
        F("lacp.actor.sys_priority", "Actor System Priority", 4, 2),
        F("lacp.actor.sysid", "Actor System ID", 6, 6, "mac"),
        F("lacp.actor.key", "Actor Key", 12, 2),
        F("lacp.actor.port_priority", "Actor Port Priority", 14, 2),
        F("lacp.actor.port", "Actor Port", 16, 2),
        F("lacp.actor.state", "Actor State", 18, 1, disp=HEX2),
        F("lacp.partner.sys_priority", "Partner System Priority", 24, 2),
        F("lacp.partner.sysid", "Partner System ID", 26, 6, "mac"),
        F("lacp.partner.key", "Partner Key", 32, 2),
        F("lacp.partner.port_priority", "Partner Port Priority", 34, 2),
        F("lacp.partner.port", "Partner Port", 36, 2),
        F("lacp.partner.state", "Partner State", 38, 1, disp=HEX2),
    )
)


@ETHERTYPES.register(0x8809)
def dissect_slow(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("slow", "Slow Protocols", off, 1)
    ctx.proto = "Slow Protocols"
    if not ctx.has(off, 1, end):
        return
    sub = ctx.data[off]
    ctx.add("slow.subtype", sub, off, 1, "Slow Protocols subtype")
    ctx.info = SLOW_SUBTYPES.get(sub) or f"Unknown subtype = {sub}"
    if sub == 10 and ctx.has(off + 1, 3, end):
        _ossp(ctx, off + 1, end)
    if sub == 1:
        ctx.push("lacp", "Link Aggregation Control Protocol", off, 110)
        ctx.proto = "LACP"
        vals = LACP_ACTOR.read(ctx, off, end)
        if vals is not None:
            ctx.info = f"Actor Port = {vals['lacp.actor.port']} Partner Port = {vals['lacp.partner.port']}"


ESMC_QL = {0x2: "QL-PRC", 0x4: "QL-SSU-A", 0x8: "QL-SSU-B", 0xB: "QL-SEC", 0xF: "QL-DNU"}


def _ossp(ctx: Ctx, off: int, end: int) -> None:
    """Organization-specific slow protocol; ITU-T's (00:19:a7) subtype 1 is ESMC (G.8264)."""
    data = ctx.data
    ctx.push("ossp", "Organization Specific Slow Protocol", off, 3)
    oui = int.from_bytes(data[off : off + 3], "big")
    ctx.add("ossp.oui", oui, off, 3, "OUI", f"OUI: 0x{oui:06x}")
    if oui != 0x0019A7 or not ctx.has(off + 3, 10, end) or _u16(data, off + 3) != 1:
        return
    ctx.proto = "ESMC"
    ctx.add("ossp.itu.subtype", 1, off + 3, 2, "ITU-T OSSP Subtype")
    flags = data[off + 5]
    ctx.add("ossp.esmc.version", flags >> 4, off + 5, 1, "Version")
    ctx.add("ossp.esmc.event_flag", (flags >> 3) & 1, off + 5, 1, "Event Flag")
    ql = data[off + 12] & 0x0F
    ctx.add("ossp.esmc.tlv_ql_ssm", ql, off + 12, 1, "SSM Code")
    event = "Time-critical" if flags & 0x08 else "Information"
    ctx.info = f"Event:{event}, {ESMC_QL.get(ql, f'QL-UNKNOWN (0x{ql:x})')}"
    data_layer(ctx, off + 13, end)


# ---------------------------------------------------------------------------------------------
# PTPv2 (IEEE 1588-2008; ethertype 0x88f7, UDP 319 event and 320 general)

PTP_TYPES = {
    0x0: "Sync Message",
    0x1: "Delay_Req Message",
    0x2: "Path_Delay_Req Message",
    0x3: "Path_Delay_Resp Message",
    0x8: "Follow_Up Message",
    0x9: "Delay_Resp Message",
    0xA: "Path_Delay_Resp_Follow_Up Message",
    0xB: "Announce Message",
    0xC: "Signalling Message",
    0xD: "Management Message",
}
PTP2 = Header(
    (
        F("ptp.v2.majorsdoid", "majorSdoId", 0, 1, mask=0xF0),
        F("ptp.v2.messagetype", "messageId", 0, 1, mask=0x0F, names=PTP_TYPES),
        F("ptp.v2.versionptp", "versionPTP", 1, 1, mask=0x0F),
        F("ptp.v2.messagelength", "messageLength", 2, 2),
        F("ptp.v2.domainnumber", "domainNumber", 4, 1),
        F("ptp.v2.flags", "flags", 6, 2, disp=HEX4),
        F("ptp.v2.clockidentity", "ClockIdentity", 20, 8, disp=lambda v: f"0x{v:016x}"),
        F("ptp.v2.sourceportid", "SourcePortID", 28, 2),
        F("ptp.v2.sequenceid", "sequenceId", 30, 2),
        F("ptp.v2.controlfield", "controlField", 32, 1),
        F("ptp.v2.logmessageperiod", "logMessagePeriod", 33, 1),
    )
)


@ETHERTYPES.register(0x88F7)
@UDP_PORTS.register(319, 320)
def dissect_ptp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ptp", "Precision Time Protocol (IEEE1588)", off, 34)
    ctx.proto = "PTP"
    if not ctx.has(off, 2, end):
        return
    if ctx.data[off + 1] & 0x0F != 2:
        ctx.info = f"PTP version {ctx.data[off + 1] & 0x0F}"
        return
    ctx.proto = "PTPv2"
    vals = PTP2.read(ctx, off, end)
    if vals is None:
        return
    t = vals["ptp.v2.messagetype"]
    ctx.info = PTP_TYPES.get(t) or f"Unknown message (0x{t:x})"


# ---------------------------------------------------------------------------------------------
# DECnet Phase IV routing layer (ethertype 0x6003): the column and the routing-control messages

DEC_CONTROL = {
    0: "Initialization message",
    1: "Verification message",
    2: "Hello and test message",
    3: "Level 1 routing message",
    4: "Level 2 routing message",
    5: "Router Hello message",
    6: "Endnode Hello message",
}


@ETHERTYPES.register(0x6003)
def dissect_dec_dna(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("dec_dna", "DEC DNA Routing Protocol", off, 3)
    ctx.proto = "DEC DNA"
    data = ctx.data
    if not ctx.has(off, 3, end):
        return
    o = off + 2
    if data[o] & 0x80:  # padding: its length is in the low bits
        o += data[o] & 0x7F
    if not ctx.has(o, 1, end):
        return
    flags = data[o]
    ctx.add("dec_dna.flags", flags, o, 1, "Routing flags", f"Routing flags: 0x{flags:02x}")
    if flags & 1:
        ctx.info = f"Routing control, {DEC_CONTROL.get((flags >> 1) & 7, 'Unknown control message')}"
    elif flags & 7 in (2, 6):  # a data packet: short (6 bytes) or long (21 bytes) header, then NSP
        hl = 6 if flags & 7 == 2 else 21
        length = int.from_bytes(data[off : off + 2], "little")
        if ctx.has(o, hl, end):
            _dec_nsp(ctx, o + hl, min(end, off + 2 + length))


#: NSP message flags -> Wireshark's Info text (data segments, data ACKs and link service messages are
#: built from their fields)
DEC_NSP = {
    0x08: "NSP NOP",
    0x14: "NSP other data ACK message",
    0x18: "NSP connect confirm/initiate message",
    0x28: "NSP connect confirm/initiate message",
    0x68: "NSP connect confirm/initiate message",
    0x24: "NSP connect acknowledgement",
    0x38: "NSP disconnect initiate/confirm message",
    0x48: "NSP disconnect initiate/confirm message",
    0x58: "NSP node init",
}
DEC_SEGMENTS = {0x00: "middle", 0x20: "beginning", 0x40: "end", 0x60: "single"}
DEC_FCMOD = {0: "no change", 1: "do not send data", 2: "send data"}


def _dec_nsp(ctx: Ctx, o: int, end: int) -> None:
    """DECnet NSP (the end-to-end layer): the message type and the Info Wireshark builds for it."""
    data = ctx.data
    lim = min(end, len(data))
    if not ctx.has(o, 1, end):
        return
    msg = data[o]  # (Wireshark keeps NSP's fields in the dec_dna layer)
    ctx.add("dec_dna.nsp.msg_type", msg, o, 1, "DNA NSP message")
    text = DEC_NSP.get(msg)
    if text is not None:
        ctx.info = text
        return
    if msg not in DEC_SEGMENTS and msg not in (0x04, 0x10):
        ctx.info = f"NSP message 0x{msg:02x}"
        return
    p = o + 5  # after the flags and the destination and source link addresses
    if msg == 0x04:  # data ACK: the number acknowledged
        if p + 2 <= lim:
            ctx.info = f"NSP data ACK message({int.from_bytes(data[p : p + 2], 'little') & 0xFFF})"
        return
    for _ in range(2):  # up to two acknowledgement fields (bit 15 set) before the message number
        if p + 2 <= lim and data[p + 1] & 0x80:
            p += 2
    if p + 2 > lim:
        return
    seg = int.from_bytes(data[p : p + 2], "little") & 0xFFF
    ctx.add("dec_dna.nsp.segnum", seg, p, 2, "Message number")
    p += 2
    if msg == 0x10:
        if p + 2 <= lim:
            ctx.info = f"NSP link control message({DEC_FCMOD.get(data[p] & 3, 'reserved')})"
        return
    n = lim - p
    ctx.info = f"msg nr. {seg} {DEC_SEGMENTS[msg]} segment, bytes this segment: {n}, total so far:{n}"


# ---------------------------------------------------------------------------------------------
# IPX (LLC SAP 0xe0, ethertype 0x8137) and its SAP and RIP sockets

IPX = Header(
    (
        F("ipx.checksum", "Checksum", 0, 2, disp=HEX4),
        F("ipx.len", "Length", 2, 2),
        F("ipx.hops", "Transport Control (Hops)", 4, 1),
        F("ipx.packet_type", "Packet Type", 5, 1),
        F("ipx.dst.net", "Destination Network", 6, 4, disp=lambda v: f"0x{v:08x}"),
        F("ipx.dst.node", "Destination Node", 10, 6, "mac"),
        F("ipx.dst.socket", "Destination Socket", 16, 2, disp=HEX4),
        F("ipx.src.net", "Source Network", 18, 4, disp=lambda v: f"0x{v:08x}"),
        F("ipx.src.node", "Source Node", 22, 6, "mac"),
        F("ipx.src.socket", "Source Socket", 28, 2, disp=HEX4),
    )
)
IPX_SAP_TYPES = {1: "General Query", 2: "General Response", 3: "Nearest Query", 4: "Nearest Response"}
IPX_RIP_TYPES = {1: "Request", 2: "Response"}


@LLC_SAPS.register(0xE0)
@ETHERTYPES.register(0x8137)
def dissect_ipx(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ipx", "Internetwork Packet eXchange", off, 30)
    ctx.proto = "IPX"
    vals = IPX.read(ctx, off, end)
    if vals is None:
        return
    ctx.src = f"{vals['ipx.src.net']:08x}.{vals['ipx.src.node'].replace(':', '')}"
    ctx.dst = f"{vals['ipx.dst.net']:08x}.{vals['ipx.dst.node'].replace(':', '')}"
    sockets = (vals["ipx.dst.socket"], vals["ipx.src.socket"])
    o = off + 30
    have = ctx.has(o, 2, end)
    if 0x0452 in sockets:
        ctx.proto = "IPX SAP"
        if have:
            ctx.info = IPX_SAP_TYPES.get(_u16(ctx.data, o), "Unknown Packet Type")
    elif 0x0453 in sockets:
        ctx.proto = "IPX RIP"
        if have:
            ctx.info = IPX_RIP_TYPES.get(_u16(ctx.data, o), "Unknown Packet Type")
    elif 0x0455 in sockets:
        _nbipx(ctx, o + (32 if vals["ipx.packet_type"] == 0x14 else 0), end)
    elif 0x0553 in sockets:
        _nmpi(ctx, o + (32 if vals["ipx.packet_type"] == 0x14 else 0), end)


NBIPX_TYPES = {
    0x01: "Find name",
    0x02: "Name recognized",
    0x03: "Check name",
    0x04: "Name in use",
    0x05: "Deregister name",
    0x06: "Session data",
    0x07: "Session end",
    0x08: "Session end ACK",
    0x09: "Status query",
    0x0A: "Status response",
    0x0B: "Directed datagram",
}


def _nb_name(data: bytes, o: int) -> str:
    """A 16-byte NetBIOS name as Wireshark shows it: the name (trailing blanks dropped) and <suffix>."""
    return "".join(chr(c) if 32 < c < 127 else f"<{c:02x}>" for c in data[o : o + 15].rstrip(b" ")) + (
        f"<{data[o + 15]:02x}>"
    )


def _nbipx(ctx: Ctx, o: int, end: int) -> None:
    """NetBIOS over IPX (socket 0x0455; after the 32 bytes of router addresses of a NetBIOS broadcast):
    name queries with the name in Info, directed datagrams with the SMB mailslot they carry."""
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("nbipx", "NetBIOS over IPX", o, lim - o)
    ctx.proto = "NBIPX"
    if not ctx.has(o, 2, end):
        return
    t = data[o + 1]
    if t <= 0x05:
        ctx.add("nmpi.name_flags", data[o], o, 1, "Name type flag")
    else:
        ctx.add("nmpi.conn_control", data[o], o, 1, "Connection control")
    ctx.add("nmpi.packettype", t, o + 1, 1, "Packet Type")  # (Wireshark names NBIPX's fields nmpi.*)
    name = NBIPX_TYPES.get(t, "Unknown")
    if t <= 0x05:
        if ctx.has(o + 2, 16, end):
            ctx.info = f"{name} {_nb_name(data, o + 2)}"
    elif t == 0x0B:
        ctx.info = name
        if ctx.has(o + 2, 32, end) and o + 34 < lim:
            from sniffer.decode.smb import dissect_smb_at

            if not dissect_smb_at(ctx, o + 34, end):
                data_layer(ctx, o + 34, end)
    else:
        ctx.info = name


def _nmpi(ctx: Ctx, o: int, end: int) -> None:
    """Name Management Protocol over IPX (socket 0x0553): opcode, names, then the SMB mailslot."""
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("nmpi", "Name Management Protocol over IPX", o, lim - o)
    ctx.proto = "NMPI"
    if not ctx.has(o, 36, end):
        return
    ctx.add("nmpi.opcode", data[o], o, 1, "Opcode")
    ctx.add("nmpi.name_type", data[o + 1], o + 1, 1, "Name Type")
    ctx.add("nmpi.messageid", data[o + 2] << 8 | data[o + 3], o + 2, 2, "Message ID")
    ctx.info = f"Name: {_nb_name(data, o + 4)}"
    if o + 36 < lim:
        from sniffer.decode.smb import dissect_smb_at

        if not dissect_smb_at(ctx, o + 36, end):
            data_layer(ctx, o + 36, end)


__all__ = ["dissect_eap", "dissect_isis", "dissect_lldp", "dissect_stp"]


# ---------------------------------------------------------------------------------------------
# Configuration Test Protocol (loopback, ethertype 0x9000) and Wellfleet BOFL (0x8102)

LOOP_FUNCTIONS = {1: "Reply", 2: "Forward Data"}


@ETHERTYPES.register(0x9000)
def dissect_loop(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("loop", "Configuration Test Protocol (loopback)", off, 6)
    ctx.proto = "LOOP"
    data = ctx.data
    if not ctx.has(off, 4, end):
        return
    skip = int.from_bytes(data[off : off + 2], "little")
    ctx.add("loop.skipcount", skip, off, 2, "skipCount")
    o = off + 2 + skip  # the function that applies follows the skipped ones
    if not ctx.has(o, 2, end):
        return
    fn = int.from_bytes(data[o : o + 2], "little")
    ctx.add("loop.relevant_function", fn, o, 2, "Relevant function")
    ctx.add("loop.function", fn, o, 2, "Function")
    ctx.info = LOOP_FUNCTIONS.get(fn) or f"Unknown function ({fn})"
    if fn == 1 and ctx.has(o + 2, 2, end):
        ctx.add(
            "loop.receipt_number", int.from_bytes(data[o + 2 : o + 4], "little"), o + 2, 2, "Receipt number"
        )
        data_layer(ctx, o + 4, end)


BOFL = Header((F("bofl.pdu", "PDU", 0, 4, disp=lambda v: f"0x{v:08x}"), F("bofl.sequence", "Sequence", 4, 4)))


@ETHERTYPES.register(0x8102)
def dissect_bofl(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("bofl", "Wellfleet Breath of Life", off, 8)
    ctx.proto = "BOFL"
    vals = BOFL.read(ctx, off, end)
    if vals is not None:
        ctx.info = f"PDU: 0x{vals['bofl.pdu']:08x} Sequence: {vals['bofl.sequence']}"
