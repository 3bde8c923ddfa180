"""Link layers: Ethernet (802.1Q/802.1ad, LLC/SNAP), Linux SLL/SLL2, NULL/loopback, raw IP; ARP/RARP."""

from __future__ import annotations

from sniffer.decode.core import (
    COLUMNS,
    ETHERTYPES,
    HEX2,
    HEX4,
    LINKTYPES,
    LLC_SAPS,
    LLC_SNAP,
    Ctx,
    F,
    Header,
    call,
    data_layer,
    ip4,
    mac,
)

# ethertypes (IEEE registry)
ETH_P_IP = 0x0800  # IPv4
ETH_P_ARP = 0x0806  # ARP
ETH_P_RARP = 0x8035  # reverse ARP
ETH_P_8021Q = 0x8100  # 802.1Q VLAN tag
ETH_P_8021AD = 0x88A8  # 802.1ad service VLAN tag (QinQ)
ETH_P_QINQ1 = 0x9100  # old QinQ
ETH_P_IPV6 = 0x86DD  # IPv6

ETHERTYPE_NAMES = {
    ETH_P_IP: "IPv4",
    ETH_P_ARP: "ARP",
    ETH_P_RARP: "RARP",
    ETH_P_8021Q: "802.1Q Virtual LAN",
    ETH_P_8021AD: "802.1ad Provider Bridge (Q-in-Q)",
    ETH_P_IPV6: "IPv6",
    0x880B: "PPP",
    0x8847: "MPLS",
    0x88CC: "LLDP",
}

ETH = Header(
    (
        F("eth.dst", "Destination", 0, 6, "mac"),
        F("eth.src", "Source", 6, 6, "mac"),
        F("eth.addr", "Address", 0, 6, "mac"),
        F("eth.addr", "Address", 6, 6, "mac"),
    )
)
ETH_TYPE = F("eth.type", "Type", 12, 2, disp=HEX4, names=ETHERTYPE_NAMES)
ETH_LEN = F("eth.len", "Length", 12, 2)
_ETH_COLS = Header((*ETH.fields, ETH_TYPE)).unpacker("eth.dst", "eth.src", "eth.type")


@LINKTYPES.register(1)
def dissect_eth(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    ctx.push("eth", "Ethernet II", off, 14)
    ctx.proto = "Ethernet"
    if (off + 14 > end or off + 14 > len(data)) and not ctx.has(off, 14, end):  # (has(), inlined)
        # Wireshark decodes no Ethernet field at all unless the whole header is there
        if ctx.truncated:
            ctx.info = "[Packet size limited during capture]"
        return
    if ctx.lean:  # columns only: the addresses and the type, no fields (the header is all there)
        dst, src, etype = _ETH_COLS(data, off)
        if not ctx.src:
            ctx.src, ctx.dst = src, dst
        if etype > 1500:
            fn = ETHERTYPES.map.get(etype)
            if fn is not None and ctx.depth < 160:  # ethertype(), inlined
                ctx.protos.append("ethertype")
                ctx.depth += 1
                fn(ctx, off + 14, end)
            else:
                ethertype(ctx, etype, off + 14, end)
            return
    vals = ETH.read(ctx, off, end)
    assert vals is not None
    src, dst = vals["eth.src"], vals["eth.dst"]
    if not ctx.src:
        ctx.src, ctx.dst = src, dst
    etype = int.from_bytes(data[off + 12 : off + 14], "big")
    if etype <= 1500:  # 802.3 length field, LLC follows
        ctx.add("eth.len", etype, off + 12, 2, "Length")
        ctx.layer.text = "IEEE 802.3 Ethernet"
        lend = min(end, off + 14 + etype)
        dissect_llc(ctx, off + 14, lend)
        return
    ctx.add("eth.type", etype, off + 12, 2, "Type", _etype_text(etype) if ctx.tree else None)
    if ctx.tree:
        if ctx.tree:
            ctx.layer.text = f"Ethernet II, Src: {src}, Dst: {dst}"
    ethertype(ctx, etype, off + 14, end)


def _etype_text(etype: int) -> str:
    name = ETHERTYPE_NAMES.get(etype)
    return f"Type: {name} (0x{etype:04x})" if name else f"Type: 0x{etype:04x}"


_EXPERIMENTAL = {0x88B5: "Local Experimental Ethertype 1", 0x88B6: "Local Experimental Ethertype 2"}


def ethertype(ctx: Ctx, etype: int, off: int, end: int, carrier: str = "Ethernet II") -> None:
    """Hand the payload to the dissector of ``etype`` (Wireshark's "ethertype" pseudo-layer); with none,
    the Info is ``carrier`` (what the layer that names the type says of itself, as Wireshark's)."""
    ctx.protos.append("ethertype")
    fn = ETHERTYPES.map.get(etype)
    if fn is not None and ctx.depth < 160:  # call(), inlined: every Ethernet frame passes here
        ctx.depth += 1
        fn(ctx, off, end)
    elif not call(ctx, ETHERTYPES, etype, off, end):  # as Wireshark: the type as the Protocol column, its
        ctx.proto = f"0x{etype:04x}"  # name (if it has one) or what the carrier said as the Info
        name = _EXPERIMENTAL.get(etype)
        if name:
            ctx.info = name
        elif not ctx.info:
            ctx.info = carrier


VLAN = Header(
    (
        F("vlan.priority", "Priority", 0, 2, mask=0xE000),
        F("vlan.dei", "DEI", 0, 2, mask=0x1000),
        F("vlan.id", "ID", 0, 2, mask=0x0FFF),
        F("vlan.etype", "Type", 2, 2, disp=HEX4, names=ETHERTYPE_NAMES),
    )
)


S_TAG = Header(tuple(f._replace(name=f.name.replace("vlan.", "ieee8021ad.")) for f in VLAN.fields))


@ETHERTYPES.register(ETH_P_8021Q, ETH_P_QINQ1)
def dissect_vlan(ctx: Ctx, off: int, end: int) -> None:
    _vlan(ctx, off, end, "vlan")


@ETHERTYPES.register(ETH_P_8021AD)
def dissect_8021ad(ctx: Ctx, off: int, end: int) -> None:
    # Wireshark names the S-tag layer and its fields ieee8021ad (ieee8021ad.id, ...)
    _vlan(ctx, off, end, "ieee8021ad")


def _vlan(ctx: Ctx, off: int, end: int, proto: str) -> None:
    label = "802.1Q Virtual LAN" if proto == "vlan" else "IEEE 802.1ad"
    ctx.push(proto, label, off, 4)
    vals = (VLAN if proto == "vlan" else S_TAG).read(ctx, off, end)
    if vals is None:
        return
    pri, dei, vid, etype = vals.values()
    if ctx.tree:
        ctx.layer.text = f"{label}, PRI: {pri}, DEI: {dei}, ID: {vid}"
    ctx.proto = "802.1Q"
    if etype <= 1500:
        dissect_llc(ctx, off + 4, min(end, off + 4 + etype))
        return
    ethertype(ctx, etype, off + 4, end, f"PRI: {pri}  DEI: {dei}  ID: {vid}")


LLC = Header(
    (
        F("llc.dsap", "DSAP", 0, 1, disp=HEX2),
        F("llc.ssap", "SSAP", 1, 1, disp=HEX2),
        F("llc.control", "Control field", 2, 1, disp=HEX2),
    )
)
SNAP = Header(
    (
        F("llc.oui", "Organization Code", 3, 3, disp=lambda v: f"0x{v:06x}"),
        F("llc.pid", "PID", 6, 2, disp=HEX4, names=ETHERTYPE_NAMES),
    )
)
# Wireshark names the PID after the OUI: an ethertype under OUI 0 (llc.type), Cisco's own table (CDP
# 0x2000, VTP 0x2003, DTP 0x2004, ...), llc.pid for the rest
SNAP_ETHERTYPE = Header((SNAP.fields[0], F("llc.type", "Type", 6, 2, disp=HEX4, names=ETHERTYPE_NAMES)))
SNAP_CISCO = Header((SNAP.fields[0], F("llc.cisco_pid", "PID", 6, 2, disp=HEX4)))


def dissect_llc(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("llc", "Logical-Link Control", off, 3)
    ctx.proto = "LLC"
    vals = LLC.read(ctx, off, end)
    if vals is None:
        return
    if vals["llc.dsap"] == 0xAA and vals["llc.ssap"] == 0xAA:
        ctx.layer.length = 8
        oui = ctx.data[off + 3 : off + 6]
        snap = (SNAP_ETHERTYPE if oui == b"\0\0\0" else SNAP_CISCO if oui == b"\0\0\x0c" else SNAP).read(
            ctx, off, end
        )
        if snap is None:
            return
        snap["llc.pid"] = snap.get("llc.type", snap.get("llc.cisco_pid", snap.get("llc.pid")))
        if snap["llc.oui"] == 0:
            if not call(ctx, ETHERTYPES, snap["llc.pid"], off + 8, end):
                ctx.info = f"SNAP PID 0x{snap['llc.pid']:04x}"
            return
        if call(ctx, LLC_SNAP, snap["llc.oui"] << 16 | snap["llc.pid"], off + 8, end, fallback=False):
            return
        data_layer(ctx, off + 8, end)
        return
    if call(ctx, LLC_SAPS, vals["llc.dsap"], off + 3, end, fallback=False):
        return
    ctx.info = f"DSAP 0x{vals['llc.dsap']:02x} SSAP 0x{vals['llc.ssap']:02x}"
    data_layer(ctx, off + 3, end)


# Linux cooked capture v1 (LINKTYPE_LINUX_SLL = 113)
SLL_PKTTYPES = {
    0: "Unicast to us",
    1: "Broadcast",
    2: "Multicast",
    3: "Unicast to another host",
    4: "Sent by us",
}
SLL = Header(
    (
        F("sll.pkttype", "Packet type", 0, 2, names=SLL_PKTTYPES),
        F("sll.hatype", "Link-layer address type", 2, 2),
        F("sll.halen", "Link-layer address length", 4, 2),
    )
)
SLL2 = Header(
    (
        F("sll.etype", "Protocol", 0, 2, disp=HEX4, names=ETHERTYPE_NAMES),
        F("sll.reserved", "Reserved", 2, 2, disp=HEX4),
        F("sll.ifindex", "Interface index", 4, 4),
        F("sll.hatype", "Link-layer address type", 8, 2),
        F("sll.pkttype", "Packet type", 10, 1, names=SLL_PKTTYPES),
        F("sll.halen", "Link-layer address length", 11, 1),
    )
)


def _sll_addr(ctx: Ctx, off: int, halen: int) -> None:
    if halen == 6:
        a = mac(ctx.data[off : off + 6])
        ctx.add("sll.src.eth", a, off, 6, "Source", f"Source: {a}")
        if not ctx.src:
            ctx.src = a
    elif halen:
        n = min(halen, 8)
        ctx.add("sll.src.unknown", ctx.data[off : off + n].hex(":"), off, n, "Source")


def _sll_payload(ctx: Ctx, etype: int, off: int, end: int) -> None:
    if etype == 0x0004:  # 802.2 LLC frames
        dissect_llc(ctx, off, end)
    elif etype <= 1500:
        data_layer(ctx, off, end)
    else:
        ethertype(ctx, etype, off, end)


@LINKTYPES.register(113)
def dissect_sll(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("sll", "Linux cooked capture v1", off, 16)
    ctx.proto = "SLL"
    if not ctx.has(off, 16, end):
        return
    vals = SLL.read(ctx, off, end)
    assert vals is not None
    _sll_addr(ctx, off + 6, vals["sll.halen"])
    etype = int.from_bytes(ctx.data[off + 14 : off + 16], "big")
    ctx.add("sll.etype", etype, off + 14, 2, "Protocol", _etype_text(etype).replace("Type", "Protocol"))
    _sll_payload(ctx, etype, off + 16, end)


@LINKTYPES.register(276)
def dissect_sll2(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("sll", "Linux cooked capture v2", off, 20)
    ctx.proto = "SLL"
    if not ctx.has(off, 20, end):
        return
    vals = SLL2.read(ctx, off, end)
    assert vals is not None
    _sll_addr(ctx, off + 12, vals["sll.halen"])
    _sll_payload(ctx, vals["sll.etype"], off + 20, end)


# BSD loopback: a 4-byte address family, host byte order (0) or network byte order (108)
AF_INET = 2
AF_INET6 = (10, 24, 28, 30)  # Linux, NetBSD/OpenBSD, FreeBSD, macOS


def _null(ctx: Ctx, off: int, end: int, order: str) -> None:
    ctx.push("null", "Null/Loopback", off, 4)
    ctx.proto = "NULL"
    if not ctx.has(off, 4, end):
        return
    raw = ctx.data[off : off + 4]
    fam = int.from_bytes(raw, order)  # type: ignore[arg-type]
    if order == "little" and fam > 0xFFFF:  # written on a big-endian host
        fam = int.from_bytes(raw, "big")
    ctx.add("null.family", fam, off, 4, "Family")
    if fam == AF_INET:
        call(ctx, ETHERTYPES, ETH_P_IP, off + 4, end)
    elif fam in AF_INET6:
        call(ctx, ETHERTYPES, ETH_P_IPV6, off + 4, end)
    else:
        data_layer(ctx, off + 4, end)


@LINKTYPES.register(0)
def dissect_null(ctx: Ctx, off: int, end: int) -> None:
    _null(ctx, off, end, "little")


@LINKTYPES.register(108)
def dissect_loop(ctx: Ctx, off: int, end: int) -> None:
    _null(ctx, off, end, "big")


@LINKTYPES.register(101, 12, 14)
def dissect_raw(ctx: Ctx, off: int, end: int) -> None:
    ctx.protos.append("raw")
    if not ctx.has(off, 1, end):
        return
    v = ctx.data[off] >> 4
    if v == 6:
        call(ctx, ETHERTYPES, ETH_P_IPV6, off, end)
    else:
        call(ctx, ETHERTYPES, ETH_P_IP, off, end)


@LINKTYPES.register(228)
def dissect_ipv4_link(ctx: Ctx, off: int, end: int) -> None:
    call(ctx, ETHERTYPES, ETH_P_IP, off, end)


@LINKTYPES.register(229)
def dissect_ipv6_link(ctx: Ctx, off: int, end: int) -> None:
    call(ctx, ETHERTYPES, ETH_P_IPV6, off, end)


# ARP / RARP (RFC 826, RFC 903)
ARP_REQUEST, ARP_REPLY, RARP_REQUEST, RARP_REPLY = 1, 2, 3, 4
ARP_OPCODES = {
    1: "request",
    2: "reply",
    3: "reverse request",
    4: "reverse reply",
    8: "inverse request",
    9: "inverse reply",
}
ARP = Header(
    (
        F("arp.hw.type", "Hardware type", 0, 2),
        F("arp.proto.type", "Protocol type", 2, 2, disp=HEX4, names=ETHERTYPE_NAMES),
        F("arp.hw.size", "Hardware size", 4, 1),
        F("arp.proto.size", "Protocol size", 5, 1),
        F("arp.opcode", "Opcode", 6, 2, names=ARP_OPCODES),
    )
)
ARP_ETH_IP = Header(
    (
        F("arp.src.hw_mac", "Sender MAC address", 8, 6, "mac"),
        F("arp.src.proto_ipv4", "Sender IP address", 14, 4, "ip4"),
        F("arp.dst.hw_mac", "Target MAC address", 18, 6, "mac"),
        F("arp.dst.proto_ipv4", "Target IP address", 24, 4, "ip4"),
    )
)


#: what the columns-only dissection (Ctx.lean) reads of a whole Ethernet/IPv4 ARP packet, in one unpack
_ARP_COLS = Header((*ARP.fields, *ARP_ETH_IP.fields)).unpacker(
    "arp.opcode",
    "arp.hw.size",
    "arp.proto.size",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
)


@ETHERTYPES.register(ETH_P_ARP, ETH_P_RARP)
def dissect_arp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("arp", "Address Resolution Protocol", off, 28)
    ctx.proto = "ARP"
    if ctx.lean and off + 28 <= end and off + 28 <= len(ctx.data):  # columns only, all captured
        if ctx.lean > COLUMNS and ctx.data[off + 4 : off + 6] == b"\x06\x04":
            return  # protocols only: an Ethernet/IPv4 ARP packet, all there, adds nothing more
        op, hs, ps, smac, sip, tmac, tip = _ARP_COLS(ctx.data, off)
        if hs == 6 and ps == 4:
            if op == RARP_REQUEST or op == RARP_REPLY:
                ctx.proto = "RARP"
            ctx.info = _arp_info(op, smac, sip, tmac, tip)
            return
    vals = ARP.read(ctx, off, end)
    if vals is None:
        return
    op = vals["arp.opcode"]
    if op in (RARP_REQUEST, RARP_REPLY):
        ctx.proto = "RARP"
    if ctx.tree:
        ctx.layer.text = f"Address Resolution Protocol ({ARP_OPCODES.get(op, op)})"
    if vals["arp.hw.size"] != 6 or vals["arp.proto.size"] != 4:
        hl, pl = vals["arp.hw.size"], vals["arp.proto.size"]
        ctx.layer.length = 8 + 2 * (hl + pl)
        if not ctx.has(off, 8 + 2 * (hl + pl), end):
            return
        if pl != 4 or not hl:
            ctx.info = f"ARP opcode {op}"
            return
        # another hardware address size (ARCnet's 1 byte): Wireshark's arp.src.hw bytes, same Info texts
        data = ctx.data
        o = off + 8
        smac, tmac = data[o : o + hl].hex(":"), data[o + hl + 4 : o + 2 * hl + 4].hex(":")
        sip, tip = ip4(data[o + hl : o + hl + 4]), ip4(data[o + 2 * hl + 4 : o + 2 * hl + 8])
        ctx.add("arp.src.hw", smac, o, hl, "Sender hardware address")
        ctx.add("arp.src.proto_ipv4", sip, o + hl, 4, "Sender IP address")
        ctx.add("arp.dst.hw", tmac, o + hl + 4, hl, "Target hardware address")
        ctx.add("arp.dst.proto_ipv4", tip, o + 2 * hl + 4, 4, "Target IP address")
    else:
        a = ARP_ETH_IP.read(ctx, off, end)
        if a is None:
            return
        smac, sip, tmac, tip = (
            a["arp.src.hw_mac"],
            a["arp.src.proto_ipv4"],
            a["arp.dst.hw_mac"],
            a["arp.dst.proto_ipv4"],
        )
    ctx.info = _arp_info(op, smac, sip, tmac, tip)


def _arp_info(op: int, smac: str, sip: str, tmac: str, tip: str) -> str:
    """ARP's Info column, as Wireshark's."""
    if op == ARP_REQUEST:
        if sip == tip:  # an announcement (no target hardware address) or a gratuitous request, as Wireshark
            zero = not tmac.replace(":", "").strip("0")
            return f"ARP Announcement for {sip}" if zero else f"Gratuitous ARP for {sip} (Request)"
        if sip == "0.0.0.0":
            return f"Who has {tip}? (ARP Probe)"
        return f"Who has {tip}? Tell {sip}"
    if op == ARP_REPLY:
        return f"Gratuitous ARP for {sip} (Reply)" if sip == tip else f"{sip} is at {smac}"
    if op == RARP_REQUEST:
        return f"Who is {tmac}? Tell {smac}"
    if op == RARP_REPLY:
        return f"{tmac} is at {tip}"
    return f"ARP opcode {op}"


__all__ = ["ETHERTYPE_NAMES", "dissect_eth", "ethertype"]
