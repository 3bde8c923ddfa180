"""Routing and router-redundancy protocols: PIM (RFC 7761), VRRP v2/v3 (RFC 3768, 5798), OSPFv2/v3
(RFC 2328, 5340), EIGRP (RFC 7868), BGP-4 (RFC 4271), BFD (RFC 5880), LDP (RFC 5036), RIPv1/v2 (RFC 2453).

Header fields, the message type, and the Protocol and Info columns as Wireshark shows them."""

from __future__ import annotations

from sniffer.decode.core import (
    ETHERTYPES,
    HEX2,
    HEX4,
    HEX8,
    IP_PROTOS,
    TCP_PORTS,
    UDP_PORTS,
    Ctx,
    F,
    Header,
    call,
    ip4,
    ip6,
)
from sniffer.decode.igmp import IGMP_OTHER


def _u16(d: bytes, o: int) -> int:
    return int.from_bytes(d[o : o + 2], "big")


# ---------------------------------------------------------------------------------------------
# PIM (IP protocol 103)

PIM_TYPES = {
    0: "Hello",
    1: "Register",
    2: "Register-stop",
    3: "Join/Prune",
    4: "Bootstrap",
    5: "Assert",
    6: "Graft",
    7: "Graft-Ack",
    8: "Candidate-RP-Advertisement",
    9: "State-Refresh",
    10: "DF election",
}
PIM = Header(
    (
        F("pim.version", "Version", 0, 1, mask=0xF0),
        F("pim.type", "Type", 0, 1, mask=0x0F, names=PIM_TYPES),
        F("pim.cksum", "Checksum", 2, 2, disp=HEX4),
    )
)


@IP_PROTOS.register(103)
def dissect_pim(ctx: Ctx, off: int, end: int) -> None:
    if off >= end:  # an empty payload (the inner header of a null Register): Wireshark stops at IP
        return
    ctx.push("pim", "Protocol Independent Multicast", off, 4)
    vals = PIM.read(ctx, off, end)
    ctx.proto = "PIM"
    if vals is None:
        return
    ver, t = vals["pim.version"], vals["pim.type"]
    proto = f"PIMv{ver}"
    info = PIM_TYPES.get(t) or f"Unknown ({t})"
    ctx.proto, ctx.info = proto, info
    ctx.layer.text = f"Protocol Independent Multicast, Type: {info}"
    if ver == 2 and t == 1 and ctx.has(off, 9, end):  # Register: flags, then the encapsulated packet
        ctx.add("pim.register_flag", int.from_bytes(ctx.data[off + 4 : off + 8], "big"), off + 4, 4, "Flags")
        v = ctx.data[off + 8] >> 4
        if v in (4, 6):
            call(ctx, ETHERTYPES, 0x0800 if v == 4 else 0x86DD, off + 8, end, fallback=False)
        ctx.proto, ctx.info = proto, info  # Wireshark keeps PIM's columns over the inner packet's


# ---------------------------------------------------------------------------------------------
# VRRP (IP protocol 112)

VRRP = Header(
    (
        F("vrrp.version", "Version", 0, 1, mask=0xF0),
        F("vrrp.type", "Packet type", 0, 1, mask=0x0F, names={1: "Advertisement"}),
        F("vrrp.virt_rtr_id", "Virtual Rtr ID", 1, 1),
        F("vrrp.prio", "Priority", 2, 1),
        F("vrrp.addr_count", "Addr Count", 3, 1),
    )
)
VRRP2 = Header(
    (
        F("vrrp.auth_type", "Auth Type", 4, 1),
        F("vrrp.adver_int", "Adver Int", 5, 1),
        F("vrrp.checksum", "Checksum", 6, 2, disp=HEX4),
    )
)
VRRP3 = Header(
    (
        F("vrrp.reserved_mbz", "Reserved", 4, 1, mask=0xF0),
        F("vrrp.short_adver_int", "Adver Int", 4, 2, mask=0x0FFF),
        F("vrrp.checksum", "Checksum", 6, 2, disp=HEX4),
    )
)


@IP_PROTOS.register(112)
def dissect_vrrp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("vrrp", "Virtual Router Redundancy Protocol", off, 8)
    ctx.proto = "VRRP"
    vals = VRRP.read(ctx, off, end)
    if vals is None:
        return
    ver, t = vals["vrrp.version"], vals["vrrp.type"]
    ctx.info = f"{'Announcement' if t == 1 else f'Unknown ({t})'} (v{ver})"
    if (VRRP3 if ver == 3 else VRRP2).read(ctx, off, end) is None:
        return
    v6 = len(ctx.pseudo[0]) == 16
    size = 16 if v6 else 4
    o = off + 8
    for _ in range(vals["vrrp.addr_count"]):
        if not ctx.has(o, size, end):
            return
        if v6:
            ctx.add("vrrp.ipv6_addr", ip6(ctx.data[o : o + 16]), o, 16, "IPv6 Address")
        else:
            ctx.add("vrrp.ip_addr", ip4(ctx.data[o : o + 4]), o, 4, "IP Address")
        o += size


# ---------------------------------------------------------------------------------------------
# OSPF (IP protocol 89)

OSPF_TYPES = {1: "Hello Packet", 2: "DB Description", 3: "LS Request", 4: "LS Update", 5: "LS Acknowledge"}
OSPF = Header(
    (
        F("ospf.version", "Version", 0, 1),
        F("ospf.msg", "Message Type", 1, 1, names=OSPF_TYPES),
        F("ospf.packet_length", "Packet Length", 2, 2),
        F("ospf.srcrouter", "Source OSPF Router", 4, 4, "ip4"),
        F("ospf.area_id", "Area ID", 8, 4, "ip4"),
        F("ospf.checksum", "Checksum", 12, 2, disp=HEX4),
    )
)
OSPF2 = Header((F("ospf.auth.type", "Auth Type", 14, 2),))
OSPF3 = Header((F("ospf.instance_id", "Instance ID", 14, 1), F("ospf.reserved", "Reserved", 15, 1)))
OSPF2_HELLO = Header(
    (
        F("ospf.hello.network_mask", "Network Mask", 0, 4, "ip4"),
        F("ospf.hello.hello_interval", "Hello Interval [sec]", 4, 2),
        F("ospf.hello.router_priority", "Router Priority", 7, 1),
        F("ospf.hello.router_dead_interval", "Router Dead Interval [sec]", 8, 4),
        F("ospf.hello.designated_router", "Designated Router", 12, 4, "ip4"),
        F("ospf.hello.backup_designated_router", "Backup Designated Router", 16, 4, "ip4"),
    )
)
OSPF3_HELLO = Header(
    (
        F("ospf.hello.interface_id", "Interface ID", 0, 4),
        F("ospf.hello.router_priority", "Router Priority", 4, 1),
        F("ospf.hello.hello_interval", "Hello Interval [sec]", 8, 2),
        F("ospf.hello.router_dead_interval", "Router Dead Interval [sec]", 10, 2),
        F("ospf.hello.designated_router", "Designated Router", 12, 4, "ip4"),
        F("ospf.hello.backup_designated_router", "Backup Designated Router", 16, 4, "ip4"),
    )
)


@IP_PROTOS.register(89)
def dissect_ospf(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ospf", "Open Shortest Path First", off, 16)
    ctx.proto = "OSPF"
    vals = OSPF.read(ctx, off, end)
    if vals is None:
        return
    ver, t, plen = vals["ospf.version"], vals["ospf.msg"], vals["ospf.packet_length"]
    ctx.info = OSPF_TYPES.get(t) or f"Unknown ({t})"
    hl = 24 if ver == 2 else 16
    ctx.layer.length = hl
    if (OSPF2 if ver == 2 else OSPF3).read(ctx, off, end) is None:
        return
    if t == 1 and ver in (2, 3):
        hello = OSPF2_HELLO if ver == 2 else OSPF3_HELLO
        if hello.read(ctx, off + hl, end) is None:
            return
        pend = min(end, off + plen) if plen >= hl + 20 else end
        for o in range(off + hl + 20, min(pend, len(ctx.data)) - 3, 4):
            ctx.add("ospf.hello.active_neighbor", ip4(ctx.data[o : o + 4]), o, 4, "Active Neighbor")


# ---------------------------------------------------------------------------------------------
# EIGRP (IP protocol 88)

EIGRP_OPCODES = {
    1: "Update",
    2: "Request",
    3: "Query",
    4: "Reply",
    5: "Hello",
    6: "IPX SAP",
    10: "SIA Query",
    11: "SIA Reply",
}
EIGRP = Header(
    (
        F("eigrp.version", "Version", 0, 1),
        F("eigrp.opcode", "Opcode", 1, 1, names=EIGRP_OPCODES),
        F("eigrp.checksum", "Checksum", 2, 2, disp=HEX4),
        F("eigrp.flags", "Flags", 4, 4, disp=HEX8),
        F("eigrp.seq", "Sequence", 8, 4),
        F("eigrp.ack", "Acknowledge", 12, 4),
        F("eigrp.vrid", "Virtual Router ID", 16, 2),
        F("eigrp.as", "Autonomous System", 18, 2),
    )
)


@IP_PROTOS.register(88)
def dissect_eigrp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("eigrp", "Cisco EIGRP", off, 20)
    ctx.proto = "EIGRP"
    vals = EIGRP.read(ctx, off, end)
    if vals is None:
        return
    op = vals["eigrp.opcode"]
    info = EIGRP_OPCODES.get(op) or f"Unknown ({op})"
    if op == 5 and vals["eigrp.ack"]:
        info = "Hello (Ack)"
    ctx.info = info


# ---------------------------------------------------------------------------------------------
# BGP-4 (TCP port 179)

BGP_TYPES = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE-REFRESH", 6: "CAPABILITY"}
BGP_HDR = Header(
    (
        F("bgp.marker", "Marker", 0, 16, "bytes"),
        F("bgp.length", "Length", 16, 2),
        F("bgp.type", "Type", 18, 1, names=BGP_TYPES),
    )
)
BGP_OPEN = Header(
    (
        F("bgp.open.version", "Version", 19, 1),
        F("bgp.open.myas", "My AS", 20, 2),
        F("bgp.open.holdtime", "Hold Time", 22, 2),
        F("bgp.open.identifier", "BGP Identifier", 24, 4, "ip4"),
        F("bgp.open.opt.len", "Optional Parameters Length", 28, 1),
    )
)
_MARKER = b"\xff" * 16


BGP_PORT = 179


@TCP_PORTS.register(BGP_PORT)
def dissect_bgp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if data[off : off + 16] != _MARKER[: min(16, lim - off)]:
        ctx.push("bgp", "Border Gateway Protocol", off, lim - off)
        ctx.proto, ctx.info = "BGP", "Continuation"
        return
    msgs = []
    ctx.proto = "BGP"
    while off + 19 <= lim and data[off : off + 16] == _MARKER:
        ln = _u16(data, off + 16)
        t = data[off + 18]
        ctx.push("bgp", f"Border Gateway Protocol - {BGP_TYPES.get(t, t)} Message", off, ln)
        BGP_HDR.read(ctx, off, end)
        msgs.append(f"{BGP_TYPES.get(t, 'Unknown')} Message")
        if t == 1 and off + 29 <= lim:
            BGP_OPEN.read(ctx, off, end)
        if ln < 19:
            ctx.set_malformed("bgp")
            break
        off += ln
    if off < lim and off + 19 > lim:  # a message continued in the next segment
        ctx.short(off + 19, end)
    ctx.info = ", ".join(msgs) if msgs else "Continuation"


# ---------------------------------------------------------------------------------------------
# BFD control (UDP 3784 single hop, 4784 multihop)

BFD_DIAG = {
    0: "No Diagnostic",
    1: "Control Detection Time Expired",
    2: "Echo Function Failed",
    3: "Neighbor Signaled Session Down",
    4: "Forwarding Plane Reset",
    5: "Path Down",
    6: "Concatenated Path Down",
    7: "Administratively Down",
    8: "Reverse Concatenated Path Down",
}
BFD_STATES = {0: "AdminDown", 1: "Down", 2: "Init", 3: "Up"}
BFD = Header(
    (
        F("bfd.version", "Protocol Version", 0, 1, mask=0xE0),
        F("bfd.diag", "Diagnostic Code", 0, 1, mask=0x1F, names=BFD_DIAG),
        F("bfd.sta", "Session State", 1, 1, mask=0xC0, names=BFD_STATES),
        F("bfd.flags", "Message Flags", 1, 1, disp=HEX2),
        F("bfd.flags.p", "Poll", 1, 1, mask=0x20),
        F("bfd.flags.f", "Final", 1, 1, mask=0x10),
        F("bfd.flags.c", "Control Plane Independent", 1, 1, mask=0x08),
        F("bfd.flags.a", "Authentication Present", 1, 1, mask=0x04),
        F("bfd.flags.d", "Demand", 1, 1, mask=0x02),
        F("bfd.flags.m", "Multipoint", 1, 1, mask=0x01),
        F("bfd.detect_time_multiplier", "Detect Time Multiplier", 2, 1),
        F("bfd.message_length", "Message Length", 3, 1),
        F("bfd.my_discriminator", "My Discriminator", 4, 4, disp=HEX8),
        F("bfd.your_discriminator", "Your Discriminator", 8, 4, disp=HEX8),
        F("bfd.desired_min_tx_interval", "Desired Min TX Interval", 12, 4),
        F("bfd.required_min_rx_interval", "Required Min RX Interval", 16, 4),
        F("bfd.required_min_echo_interval", "Required Min Echo Interval", 20, 4),
    )
)


@UDP_PORTS.register(3784, 4784)
def dissect_bfd(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("bfd", "BFD Control message", off, 24)
    ctx.proto = "BFD Control"
    vals = BFD.read(ctx, off, end)
    if vals is None:
        return
    diag = BFD_DIAG.get(vals["bfd.diag"], "Unknown")
    ctx.info = f"Diag: {diag}, State: {BFD_STATES[vals['bfd.sta']]}, Flags: 0x{ctx.data[off + 1] & 0x3F:02x}"
    if vals["bfd.flags.a"] and ctx.has(off + 24, 2, end):
        ctx.add("bfd.auth.type", ctx.data[off + 24], off + 24, 1, "Authentication Type")
        ctx.add("bfd.auth.len", ctx.data[off + 25], off + 25, 1, "Authentication Length")


# ---------------------------------------------------------------------------------------------
# LDP (UDP 646 for hellos, TCP 646 for sessions)

LDP_MSGS = {
    0x0001: "Notification Message",
    0x0100: "Hello Message",
    0x0200: "Initialization Message",
    0x0201: "Keep Alive Message",
    0x0300: "Address Message",
    0x0301: "Address Withdrawal Message",
    0x0400: "Label Mapping Message",
    0x0401: "Label Request Message",
    0x0402: "Label Withdrawal Message",
    0x0403: "Label Release Message",
    0x0404: "Label Abort Request Message",
}
LDP_HDR = Header(
    (
        F("ldp.hdr.version", "Version", 0, 2),
        F("ldp.hdr.pdu_len", "PDU Length", 2, 2),
        F("ldp.hdr.ldpid.lsr", "LSR ID", 4, 4, "ip4"),
        F("ldp.hdr.ldpid.lsid", "Label Space ID", 8, 2),
    )
)
LDP_MSG = Header(
    (
        F("ldp.msg.ubit", "U bit", 0, 1, mask=0x80),
        F("ldp.msg.type", "Message Type", 0, 2, mask=0x7FFF, disp=HEX4, names=LDP_MSGS),
        F("ldp.msg.len", "Message Length", 2, 2),
        F("ldp.msg.id", "Message ID", 4, 4, disp=HEX8),
    )
)


LDP_PORT = 646


@UDP_PORTS.register(LDP_PORT)
@TCP_PORTS.register(LDP_PORT)
def dissect_ldp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.proto = "LDP"
    info = ""
    while off + 10 <= lim:
        ctx.push("ldp", "Label Distribution Protocol", off, 10)
        hdr = LDP_HDR.read(ctx, off, end)
        if hdr is None:
            break
        pend = off + 4 + hdr["ldp.hdr.pdu_len"]
        ctx.layer.length = pend - off
        o = off + 10
        while o + 8 <= min(pend, lim):
            m = LDP_MSG.read(ctx, o, end)
            if m is None:
                break
            info += f"{LDP_MSGS.get(m['ldp.msg.type'], 'Unknown Message')} "
            o += 4 + m["ldp.msg.len"]
        if hdr["ldp.hdr.pdu_len"] < 6:
            break
        off = pend
    ctx.info = info


# ---------------------------------------------------------------------------------------------
# RIPv1/v2 (UDP 520)

RIP_COMMANDS = {1: "Request", 2: "Response", 3: "Traceon", 4: "Traceoff", 5: "Vendor specific"}
RIP = Header(
    (
        F("rip.command", "Command", 0, 1, names=RIP_COMMANDS),
        F("rip.version", "Version", 1, 1),
    )
)
RIP_FAMILY = F("rip.family", "Address Family", 0, 2)
RIP_METRIC = F("rip.metric", "Metric", 16, 4)
RIP1_ENTRY = Header((RIP_FAMILY, F("rip.ip", "IP Address", 4, 4, "ip4"), RIP_METRIC))
RIP2_ENTRY = Header(
    (
        RIP_FAMILY,
        F("rip.route_tag", "Route Tag", 2, 2),
        F("rip.ip", "IP Address", 4, 4, "ip4"),
        F("rip.netmask", "Netmask", 8, 4, "ip4"),
        F("rip.next_hop", "Next Hop", 12, 4, "ip4"),
        RIP_METRIC,
    )
)
# a "whole routing table" request (family 0): Wireshark shows no address
RIP1_WHOLE_TABLE = Header((RIP_FAMILY, RIP_METRIC))
RIP2_WHOLE_TABLE = Header(tuple(f for f in RIP2_ENTRY.fields if f.name != "rip.ip"))


@UDP_PORTS.register(520)
def dissect_rip(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("rip", "Routing Information Protocol", off, 4)
    ctx.proto = "RIP"
    vals = RIP.read(ctx, off, end)
    if vals is None:
        return
    ver, cmd = vals["rip.version"], vals["rip.command"]
    ctx.proto = f"RIPv{ver}"
    ctx.info = RIP_COMMANDS.get(cmd) or f"Unknown command ({cmd})"
    lim = min(end, len(ctx.data))
    o = off + 4
    while o + 20 <= lim:
        if _u16(ctx.data, o) == 0xFFFF:  # authentication entry
            ctx.add("rip.auth.type", _u16(ctx.data, o + 2), o + 2, 2, "Authentication type")
        elif _u16(ctx.data, o) == 0:
            (RIP2_WHOLE_TABLE if ver == 2 else RIP1_WHOLE_TABLE).read(ctx, o, end)
        else:
            (RIP2_ENTRY if ver == 2 else RIP1_ENTRY).read(ctx, o, end)
        o += 20


# ---------------------------------------------------------------------------------------------
# RIPng (UDP 521)

RIPNG = Header(
    (
        F("ripng.cmd", "Command", 0, 1, names={1: "Request", 2: "Response"}),
        F("ripng.version", "Version", 1, 1),
        F("ripng.reserved", "Reserved", 2, 2, "bytes"),
    )
)
RIPNG_RTE = Header(
    (
        F("ripng.rte.ipv6_prefix", "IPv6 Prefix", 0, 16, "ip6"),
        F("ripng.rte.route_tag", "Route Tag", 16, 2, disp=HEX4),
        F("ripng.rte.prefix_length", "Prefix Length", 18, 1),
        F("ripng.rte.metric", "Metric", 19, 1),
    )
)


@UDP_PORTS.register(521)
def dissect_ripng(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ripng", "RIPng", off, 4)
    ctx.proto = "RIPng"
    vals = RIPNG.read(ctx, off, end)
    if vals is None:
        return
    cmd = {1: "Request", 2: "Response"}.get(vals["ripng.cmd"], "Unknown")
    ctx.info = f" Command {cmd}, Version {vals['ripng.version']}"
    lim = min(end, len(ctx.data))
    o = off + 4
    while o + 20 <= lim:
        RIPNG_RTE.read(ctx, o, end)
        o += 20


# ---------------------------------------------------------------------------------------------
# HSRP version 1 (RFC 2281, UDP 1985)

HSRP_OPCODES = {0: "Hello", 1: "Coup", 2: "Resign", 3: "Advertise"}
HSRP_STATES = {0: "Initial", 1: "Learn", 2: "Listen", 4: "Speak", 8: "Standby", 16: "Active"}
HSRP = Header(
    (
        F("hsrp.version", "Version", 0, 1),
        F("hsrp.opcode", "Op Code", 1, 1, names=HSRP_OPCODES),
        F("hsrp.state", "State", 2, 1, names=HSRP_STATES),
        F("hsrp.hellotime", "Hellotime", 3, 1),
        F("hsrp.holdtime", "Holdtime", 4, 1),
        F("hsrp.priority", "Priority", 5, 1),
        F("hsrp.group", "Group", 6, 1),
        F("hsrp.reserved", "Reserved", 7, 1),
        F("hsrp.auth_data", "Authentication Data", 8, 8, "str"),
        F("hsrp.virt_ip", "Virtual IP Address", 16, 4, "ip4"),
    )
)


@UDP_PORTS.register(1985)
def dissect_hsrp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("hsrp", "Cisco Hot Standby Router Protocol", off, 20)
    ctx.proto = "HSRP"
    if ctx.has(off, 1, end) and ctx.data[off] != 0:  # version 2 is TLV-based
        ctx.proto = "HSRPv2"
        return
    vals = HSRP.read(ctx, off, end)
    if vals is None:
        return
    op = HSRP_OPCODES.get(vals["hsrp.opcode"], "Unknown")
    ctx.info = f"{op} (state {HSRP_STATES.get(vals['hsrp.state'], 'Unknown')})"


# ---------------------------------------------------------------------------------------------
# Inside IGMP: DVMRP (type 0x13, RFC 1075 / draft v3) and PIM version 1 (type 0x14)

DVMRP_V3_TYPES = {
    1: "Probe",
    2: "Report",
    3: "Ask Neighbors",
    4: "Neighbors",
    5: "Ask Neighbors 2",
    6: "Neighbors 2",
    7: "Prune",
    8: "Graft",
    9: "Graft Ack",
}


@IGMP_OTHER.register(0x13)
def dissect_dvmrp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("dvmrp", "Distance Vector Multicast Routing Protocol", off, 8)
    ctx.proto = "DVMRP"
    if not ctx.has(off, 4, end):
        return
    code = ctx.data[off + 1]
    ctx.add("dvmrp.version", 3, off, 1, "DVMRP Version")
    ctx.add("dvmrp.type", ctx.data[off], off, 1, "Type", f"Type: 0x{ctx.data[off]:02x}")
    ctx.add("dvmrp.v3.code", code, off + 1, 1, "Code")
    ctx.add("dvmrp.checksum", _u16(ctx.data, off + 2), off + 2, 2, "Checksum")
    ctx.info = f"V3 {DVMRP_V3_TYPES.get(code, f'Unknown Type:0x{code:02x}')}"


PIM1_TYPES = {
    0: "Query",
    1: "Register",
    2: "Register-stop",
    3: "Join/Prune",
    4: "RP-Reachable",
    5: "Assert",
    6: "Graft",
    7: "Graft-Ack",
    8: "Mode",
}


@IGMP_OTHER.register(0x14)
def dissect_pimv1(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("pim", "Protocol Independent Multicast", off, 8)
    ctx.proto = "PIMv1"
    if not ctx.has(off, 2, end):
        return
    code = ctx.data[off + 1]
    ctx.add("pim.code", code, off + 1, 1, "Code")
    if ctx.has(off + 4, 1, end):
        ctx.add("pim.version", ctx.data[off + 4] >> 4, off + 4, 1, "Version")
    ctx.info = PIM1_TYPES.get(code) or f"Unknown ({code})"


# ---------------------------------------------------------------------------------------------
# PGM (RFC 3208, IP protocol 113)

PGM_TYPES = {
    0: "SPM",
    1: "POLL",
    2: "POLR",
    4: "ODATA",
    5: "RDATA",
    8: "NAK",
    9: "NNAK",
    10: "NCF",
    12: "SPMR",
    13: "ACK",
}
PGM_POLL_SUBTYPES = {0: "General", 1: "DLR"}
PGM = Header(
    (
        F("pgm.hdr.sport", "Source Port", 0, 2),
        F("pgm.hdr.dport", "Destination Port", 2, 2),
        F("pgm.hdr.type", "Type", 4, 1, names=PGM_TYPES),
        F("pgm.hdr.opts", "Options", 5, 1, disp=HEX2),
        F("pgm.hdr.cksum", "Checksum", 6, 2, disp=HEX4),
        F("pgm.hdr.gsi", "Global Source Identifier", 8, 6, "bytes"),
        F("pgm.hdr.tsdulen", "Transport Service Data Unit Length", 14, 2),
    )
)


@IP_PROTOS.register(113)
def dissect_pgm(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("pgm", "Pragmatic General Multicast", off, 16)
    ctx.proto = "PGM"
    vals = PGM.read(ctx, off, end)
    if vals is None:
        return
    data = ctx.data
    t = vals["pgm.hdr.type"]
    name = PGM_TYPES.get(t, "Unknown")
    gsi = data[off + 8 : off + 14].hex()
    info = f"{name:<5}"
    if ctx.has(off + 16, 4, end):
        sqn = int.from_bytes(data[off + 16 : off + 20], "big")
        info += f" sqn 0x{sqn:x}"
        if t in (1, 2):
            info += f" gsi {gsi}"
        if t == 1 and ctx.has(off + 22, 2, end):
            sub = _u16(data, off + 22)
            info += f" subtype {PGM_POLL_SUBTYPES.get(sub, 'Unknown')}"
    ctx.info = info


# ---------------------------------------------------------------------------------------------
# NHRP (RFC 2332, GRE protocol 0x2001)

NHRP_OPS = {
    1: "NHRP Resolution Request",
    2: "NHRP Resolution Reply",
    3: "NHRP Registration Request",
    4: "NHRP Registration Reply",
    5: "NHRP Purge Request",
    6: "NHRP Purge Reply",
    7: "NHRP Error Indication",
    8: "NHRP Traffic Indication",
}
NHRP_CODES = {
    0: "Success",
    4: "Administratively Prohibited",
    5: "Insufficient Resources",
    12: "No Binding Exists",
    13: "Binding Exists Not Unique",
    14: "Unique Internetworking Layer Address Already Registered",
}
NHRP = Header(
    (
        F("nhrp.hdr.afn", "Address Family Number", 0, 2, disp=HEX4),
        F("nhrp.hdr.pro.type", "Protocol Type (short form)", 2, 2, disp=HEX4),
        F("nhrp.hdr.hopcnt", "Hop Count", 9, 1),
        F("nhrp.hdr.pktsz", "Packet Length", 10, 2),
        F("nhrp.hdr.chksum", "NHRP Packet Checksum", 12, 2, disp=HEX4),
        F("nhrp.hdr.extoff", "Extension Offset", 14, 2),
        F("nhrp.hdr.version", "Version", 16, 1),
        F("nhrp.hdr.op.type", "NHRP Packet Type", 17, 1, names=NHRP_OPS),
    )
)


@ETHERTYPES.register(0x2001)
def dissect_nhrp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("nhrp", "NBMA Next Hop Resolution Protocol", off, 20)
    ctx.proto = "NHRP"
    vals = NHRP.read(ctx, off, end)
    if vals is None:
        return
    op = vals["nhrp.hdr.op.type"]
    info = NHRP_OPS.get(op) or f"Unknown NHRP packet type ({op})"
    data = ctx.data
    if 1 <= op <= 6 and ctx.has(off, 28, end):
        shtl, sstl = data[off + 18] & 0x3F, data[off + 19] & 0x3F
        spl, tpl = data[off + 20], data[off + 21]
        reqid = int.from_bytes(data[off + 24 : off + 28], "big")
        ctx.add("nhrp.reqid", reqid, off + 24, 4, "Request ID")
        info += f", ID={reqid}"
        cie = off + 28 + shtl + sstl + spl + tpl
        ext = vals["nhrp.hdr.extoff"]
        cend = min(end, len(data), off + (ext if ext else vals["nhrp.hdr.pktsz"]))
        first = True
        while cie + 12 <= cend:  # client information entries: a code each, the first one is the reply's
            code = data[cie]
            ctx.add("nhrp.code", code, cie, 1, "Code")
            if first and op in (2, 4, 6):
                info += f", Code={NHRP_CODES.get(code, f'Unknown ({code})')}"
            first = False
            cie += 12 + (data[cie + 8] & 0x3F) + (data[cie + 9] & 0x3F) + data[cie + 10]
    ctx.info = info


# ---------------------------------------------------------------------------------------------
# LISP control (RFC 6830, UDP 4342), OLSR (RFC 3626, UDP 698), RSVP (RFC 2205, IP protocol 46)

LISP_TYPES = {
    1: "Map-Request",
    2: "Map-Reply",
    3: "Map-Register",
    4: "Map-Notify",
    5: "Map-Referral",
    8: "Encapsulated Control Message",
}


@UDP_PORTS.register(4342)
def dissect_lisp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("lisp", "Locator/ID Separation Protocol", off, 4)
    ctx.proto = "LISP"
    if not ctx.has(off, 1, end):
        return
    t = ctx.data[off] >> 4
    ctx.add("lisp.type", t, off, 1, "Type")
    ctx.info = LISP_TYPES.get(t) or f"Unknown LISP Control Packet ({t})"


@UDP_PORTS.register(698)
def dissect_olsr(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("olsr", "Optimized Link State Routing Protocol", off, 4)
    ctx.proto = "OLSR v1"
    if not ctx.has(off, 4, end):
        return
    ln = _u16(ctx.data, off)
    ctx.add("olsr.packet_len", ln, off, 2, "Packet Length")
    ctx.add("olsr.packet_seq_num", _u16(ctx.data, off + 2), off + 2, 2, "Packet Sequence Number")
    fam = "IPv6" if len(ctx.pseudo[0]) == 16 else "IPv4"
    ctx.info = f"OLSR ({fam}) Packet,  Length: {ln} Bytes"


RSVP_TYPES = {
    1: "PATH",
    2: "RESV",
    3: "PATH ERROR",
    4: "RESV ERROR",
    5: "PATH TEAR",
    6: "RESV TEAR",
    7: "RESV CONFIRM",
    10: "RTEAR CONFIRM",
    12: "BUNDLE",
    13: "ACK",
    15: "SREFRESH",
    20: "HELLO",
    25: "NOTIFY",
}


@IP_PROTOS.register(46)
def dissect_rsvp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("rsvp", "Resource ReserVation Protocol (RSVP)", off, 8)
    ctx.proto = "RSVP"
    if not ctx.has(off, 8, end):
        return
    t = ctx.data[off + 1]
    ctx.add("rsvp.msg", t, off + 1, 1, "Message type")
    ctx.info = f"{RSVP_TYPES.get(t, f'Unknown ({t})')} Message. "


__all__ = [
    "dissect_bfd",
    "dissect_bgp",
    "dissect_eigrp",
    "dissect_ldp",
    "dissect_ospf",
    "dissect_pim",
    "dissect_rip",
    "dissect_vrrp",
]
