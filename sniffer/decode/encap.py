"""More carriers of what sniffer already decodes, each a header declared once:

- WCCP redirection in GRE (protocol type 0x883e): the 4-byte redirect header when the payload does not
  start with an IPv4 header, then IPv4 (Wireshark's ``wccp`` GRE handling);
- LWAPP (UDP 12222 data, 12223 control, 12220 802.3): the AP's MAC (to 12223), the 6-byte header, then an 802.11 frame (the
  type bit clear) or a control message (``CNTL CONFIGURE_COMMAND``, Wireshark's Info);
- VXLAN-GPE (UDP 4790) and NSH (ethertype 0x894f), on to what their next-protocol byte names.
"""

from __future__ import annotations

from sniffer.decode.core import ETHERTYPES, HEX2, UDP_PORTS, Ctx, F, Header, call, data_layer
from sniffer.decode.inet import GRE_PROTOS, dissect_ipv4

WCCP_REDIRECT = Header((F("wccp.redirect_header", "WCCP Redirect Header", 0, 4, "bytes"),))


@GRE_PROTOS.register(0x883E)
def dissect_gre_wccp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    if off < min(end, len(data)) and data[off] >> 4 != 4:
        if WCCP_REDIRECT.read(ctx, off, end) is None:
            return
        off += 4
    dissect_ipv4(ctx, off, end)


LWAPP = Header(
    (
        F("lwapp.version", "Version", 0, 1, mask=0xC0),
        F("lwapp.slotId", "slotId", 0, 1, mask=0x38),
        F("lwapp.flags", "Flags", 0, 1, disp=HEX2),
        F("lwapp.flags.type", "Type", 0, 1, mask=0x04),
        F("lwapp.flags.fragment", "Fragment", 0, 1, mask=0x02),
        F("lwapp.flags.fragmentType", "Fragment Type", 0, 1, mask=0x01),
        F("lwapp.fragmentId", "Fragment Id", 1, 1, disp=HEX2),
        F("lwapp.Length", "Length", 2, 2),
        F("lwapp.rssi", "RSSI", 4, 1, disp=HEX2),
        F("lwapp.snr", "SNR", 5, 1, disp=HEX2),
    )
)
LWAPP_APID = Header((F("lwapp.apid", "AP Identity", 0, 6, "mac"),))
LWAPP_CONTROL = Header(
    (
        F("lwapp.control.type", "Control Type", 0, 1),
        F("lwapp.control.seqno", "Control Sequence Number", 1, 1),
        F("lwapp.control.length", "Control Length", 2, 2),
    )
)
#: control message types (Wireshark's names)
LWAPP_CONTROL_TYPES = {
    1: "DISCOVERY_REQUEST",
    2: "DISCOVERY_REPLY",
    3: "JOIN_REQUEST",
    4: "JOIN_REPLY",
    5: "HANDOFF_REQUEST",
    6: "HANDOFF_REPLY",
    7: "HANDOFF_COMMAND",
    8: "HANDOFF_RESPONSE",
    9: "HANDOFF_CONFIRM",
    10: "CONFIGURE_REQUEST",
    11: "CONFIGURE_RESPONSE",
    12: "CONFIGURE_COMMAND",
    13: "CONFIGURE_COMMAND_RES",
    14: "STATISTICS_INFO",
    15: "STATISTICS_INFO_RES",
    16: "STATISTICS_REQUEST",
    17: "STATISTICS_RESPONSE",
    18: "ECHO_REQUEST",
    19: "ECHO_RESPONSE",
    20: "CHANGE_STATE_EVENT",
    21: "CHANGE_STATE_EVENT_RES",
    22: "RESET_REQUEST",
    23: "RESET_RESPONSE",
    24: "KEY_UPDATE_REQUEST",
    25: "KEY_UPDATE_RESPONSE",
    26: "PRIMARY_DISCOVERY_REQUEST",
    27: "PRIMARY_DISCOVERY_RESPONSE",
    28: "DATA_TRANSFER",
    29: "DATA_TRANSFER_RESPONSE",
    30: "WLAN_CONFIG_REQUEST",
    31: "WLAN_CONFIG_RESPONSE",
    32: "WLAN_CONFIG_REQUEST_RESPONSE",
    33: "MOBILE_CONFIG_REQUEST",
    34: "MOBILE_CONFIG_RESPONSE",
}


@UDP_PORTS.register(12220, 12222, 12223)
def dissect_lwapp(ctx: Ctx, off: int, end: int) -> None:
    lim = min(end, len(ctx.data))
    ctx.push("lwapp", "LWAPP Encapsulated Packet", off, 6)
    ctx.proto = "LWAPP"
    dport = ctx.fields.get("udp.dstport")
    if (dport[-1] if type(dport) is list else dport) == 12223:  # to the controller: the AP's MAC first
        if LWAPP_APID.read(ctx, off, end) is None:
            return
        off += 6
    vals = LWAPP.read(ctx, off, end)
    if vals is None:
        return
    o = off + 6
    if vals["lwapp.flags.type"]:
        ctx.push("lwapp-cntl", "LWAPP Control Message", o, lim - o)
        cntl = LWAPP_CONTROL.read(ctx, o, end)
        if cntl is None:
            return
        t = cntl["lwapp.control.type"]
        ctx.info = f"CNTL {LWAPP_CONTROL_TYPES.get(t, f'Unknown (0x{t:02x})')}"
        data_layer(ctx, o + 4, end)
        return
    from sniffer.decode.wlan import dissect_wlan

    dissect_wlan(ctx, o, end)


# ---------------------------------------------------------------------------------------------
# VXLAN-GPE (UDP 4790: a next-protocol byte instead of Ethernet only) and NSH (RFC 8300, ethertype
# 0x894f, or VXLAN-GPE's next protocol 4): the service path header, then IPv4, IPv6, Ethernet, NSH, MPLS.

VXLAN_GPE = Header(
    (
        F("vxlan.flags", "Flags", 0, 1, disp=HEX2),
        F("vxlan.ver", "Version", 0, 1, mask=0x30),
        F("vxlan.i_bit", "Instance", 0, 1, mask=0x08),
        F("vxlan.p_bit", "Next Protocol Bit", 0, 1, mask=0x04),
        F("vxlan.o_bit", "OAM bit", 0, 1, mask=0x01),
        F("vxlan.next_proto", "Next Protocol", 3, 1),
        F("vxlan.vni", "VXLAN Network Identifier (VNI)", 4, 3),
    )
)
NSH = Header(
    (
        F("nsh.version", "Version", 0, 2, mask=0xC000),
        F("nsh.Obit", "O Bit", 0, 2, mask=0x2000),
        F("nsh.CBit", "C Bit", 0, 2, mask=0x1000),
        F("nsh.ttl", "Time to live", 0, 2, mask=0x0FC0, disp=HEX2),
        F("nsh.length", "Length", 0, 2, mask=0x003F),
        F("nsh.mdtype", "MD Type", 2, 1),
        F("nsh.nextproto", "Next Protocol", 3, 1),
        F("nsh.spi", "SPI", 4, 3),
        F("nsh.si", "SI", 7, 1),
    )
)


def _next_proto(ctx: Ctx, proto: int, off: int, end: int) -> None:
    """What VXLAN-GPE's and NSH's next-protocol byte names: 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS."""
    if proto == 3:
        from sniffer.decode.link import dissect_eth

        dissect_eth(ctx, off, end)
    elif proto == 4:
        dissect_nsh(ctx, off, end)
    else:
        call(ctx, ETHERTYPES, {1: 0x0800, 2: 0x86DD, 5: 0x8847}.get(proto, -1), off, end)


@UDP_PORTS.register(4790)
def dissect_vxlan_gpe(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("vxlan", "Virtual eXtensible Local Area Network", off, 8)
    ctx.proto = "VXLAN"
    vals = VXLAN_GPE.read(ctx, off, end)
    if vals is not None:
        _next_proto(ctx, vals["vxlan.next_proto"], off + 8, end)


@ETHERTYPES.register(0x894F)
def dissect_nsh(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("nsh", "Network Service Header", off, 8)
    ctx.proto = "NSH"
    vals = NSH.read(ctx, off, end)
    if vals is None:
        return
    size = vals["nsh.length"] * 4
    if size < 8 or not ctx.has(off, size, end):
        ctx.set_malformed("nsh")
        return
    ctx.layer.length = size
    _next_proto(ctx, vals["nsh.nextproto"], off + size, end)
