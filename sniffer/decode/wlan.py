"""IEEE 802.11 (link type 105) with radiotap (127) and PPI (192) headers: frame control, addresses as
Wireshark names them by the DS bits, sequence and fragment numbers, management frame names (with the
beacon interval and SSID), control frames, and data frames down to LLC and whatever it carries."""

from __future__ import annotations

from sniffer.decode.core import HEX2, LINKTYPES, Ctx, F, Header, call, data_layer, mac
from sniffer.decode.inet import GRE_PROTOS
from sniffer.decode.link import dissect_llc

MGMT = {
    0: "Association Request",
    1: "Association Response",
    2: "Reassociation Request",
    3: "Reassociation Response",
    4: "Probe Request",
    5: "Probe Response",
    6: "Measurement Pilot",
    8: "Beacon frame",
    9: "ATIM",
    10: "Disassociate",
    11: "Authentication",
    12: "Deauthentication",
    13: "Action",
    14: "Action No Ack",
}
CONTROL = {
    2: "Trigger",
    4: "Beamforming Report Poll",
    5: "VHT/HE NDP Announcement",
    6: "Control Frame Extension",
    7: "Control Wrapper",
    8: "802.11 Block Ack Req",
    9: "802.11 Block Ack",
    10: "Power-Save poll",
    11: "Request-to-send",
    12: "Clear-to-send",
    13: "Acknowledgement",
    14: "CF-End (Control-frame)",
    15: "CF-End + CF-Ack (Control-frame)",
}
DATA = {
    0: "Data",
    1: "Data + CF-Ack",
    2: "Data + CF-Poll",
    3: "Data + CF-Ack + CF-Poll",
    4: "Null function (No data)",
    5: "Acknowledgement (No data)",
    6: "CF-Poll (No data)",
    7: "CF-Ack/Poll (No data)",
    8: "QoS Data",
    9: "QoS Data + CF-Acknowledgment",
    10: "QoS Data + CF-Poll",
    11: "QoS Data + CF-Ack + CF-Poll",
    12: "QoS Null function (No data)",
    14: "QoS CF-Poll (No Data)",
    15: "QoS CF-Ack + CF-Poll (No Data)",
}
NAMES = (MGMT, CONTROL, DATA)

FC = Header(
    (
        F("wlan.fc.subtype", "Subtype", 0, 1, mask=0xF0),
        F("wlan.fc.type", "Type", 0, 1, mask=0x0C),
        F("wlan.fc.version", "Version", 0, 1, mask=0x03),
        F("wlan.flags", "Flags", 1, 1, disp=HEX2),
        F("wlan.fc.ds", "DS status", 1, 1, mask=0x03, disp=HEX2),
        F("wlan.fc.retry", "Retry", 1, 1, mask=0x08),
        F("wlan.fc.protected", "Protected flag", 1, 1, mask=0x40),
    )
)


def _flags_str(f: int) -> str:
    # Wireshark's Flags= string: one character per bit, most significant first
    return "".join(c if f >> (7 - i) & 1 else "." for i, c in enumerate("opmPRMFT"))


def _addr(ctx: Ctx, names: tuple[str, ...], off: int) -> str:
    a = mac(ctx.data[off : off + 6])
    for n in names:
        ctx.add(n, a, off, 6, n.split(".")[1].upper())
    ctx.add("wlan.addr", a, off, 6, "Source or Destination address")
    return a


@LINKTYPES.register(105)
def dissect_wlan(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("wlan", "IEEE 802.11", off, 2)
    ctx.proto = "802.11"
    data = ctx.data
    vals = FC.read(ctx, off, end)
    if vals is None:
        return
    ftype, sub, flags = vals["wlan.fc.type"], vals["wlan.fc.subtype"], vals["wlan.flags"]
    if vals["wlan.fc.version"]:  # PV1 (802.11ah) frames are laid out otherwise: not decoded; 2, 3 unknown
        v = vals["wlan.fc.version"]
        ctx.info = "PV1 frame" if v == 1 else f"Unknown protocol version: {v}"
        if v > 1:
            ctx.set_malformed("IEEE 802.11")
        data_layer(ctx, off + 2, end)
        return
    ctx.add("wlan.fc.type_subtype", ftype << 4 | sub, off, 1, "Type/Subtype")
    name = NAMES[ftype].get(sub, "Unrecognized (Reserved frame)") if ftype < 3 else "Extension"
    ctx.layer.text = f"IEEE 802.11 {name}, Flags: {_flags_str(flags)}"
    fstr = f"Flags={_flags_str(flags)}"
    ctx.info = f"{name}, {fstr}"
    if not ctx.has(off + 2, 2, end):
        return
    ctx.add("wlan.duration", int.from_bytes(data[off + 2 : off + 4], "little"), off + 2, 2, "Duration")
    if ftype == 1:  # control: RA, and TA for most
        if ctx.has(off + 4, 6, end):
            _addr(ctx, ("wlan.ra",), off + 4)
        if sub in (8, 9, 10, 11, 14, 15) and ctx.has(off + 10, 6, end):
            _addr(ctx, ("wlan.ta",), off + 10)
        return
    if not ctx.has(off + 4, 20, end):
        return
    ds = flags & 3
    if ftype == 0 or ds == 0:
        roles: tuple[tuple[str, ...], ...] = (("wlan.ra", "wlan.da"), ("wlan.ta", "wlan.sa"), ("wlan.bssid",))
    elif ds == 1:  # to the DS
        roles = (("wlan.ra", "wlan.bssid"), ("wlan.ta", "wlan.sa"), ("wlan.da",))
    elif ds == 2:  # from the DS
        roles = (("wlan.ra", "wlan.da"), ("wlan.ta", "wlan.bssid"), ("wlan.sa",))
    else:
        roles = (("wlan.ra",), ("wlan.ta",), ("wlan.da",))
    addrs = [_addr(ctx, r, off + 4 + 6 * i) for i, r in enumerate(roles)]
    sc = int.from_bytes(data[off + 22 : off + 24], "little")
    ctx.add("wlan.frag", sc & 0xF, off + 22, 2, "Fragment number")
    ctx.add("wlan.seq", sc >> 4, off + 22, 2, "Sequence number")
    ctx.info = f"{name}, SN={sc >> 4}, FN={sc & 0xF}, {fstr}"
    o = off + 24
    if ftype == 2 and ds == 3:
        if not ctx.has(o, 6, end):
            return
        addrs.append(_addr(ctx, ("wlan.sa",), o))
        o += 6
    if ftype == 2 and sub & 8:  # QoS control, then an HT control field if the order bit is set
        if not ctx.has(o, 2, end):
            return
        ctx.add("wlan.qos", int.from_bytes(data[o : o + 2], "little"), o, 2, "QoS Control", None)
        o += 2
        if flags & 0x80:
            o += 4
    ctx.layer.length = o - off
    if not ctx.src:
        ctx.src, ctx.dst = addrs[1], addrs[0]
    if ftype == 0:
        _mgmt(ctx, sub, o, end)
    elif ftype == 2 and not sub & 4:  # data frames that carry data
        if flags & 0x40:  # protected: not decrypted
            data_layer(ctx, o, end)
        elif o < min(end, len(data)):
            dissect_llc(ctx, o, end)
            if ctx.proto == "LLC":
                ctx.proto = "802.11"


# fixed parameters before the tagged ones, per management subtype
_FIXED = {0: 4, 1: 6, 2: 10, 3: 6, 4: 0, 5: 12, 8: 12}


def _mgmt(ctx: Ctx, sub: int, off: int, end: int) -> None:
    fixed = _FIXED.get(sub)
    if fixed is None:
        return
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("wlan.mgt", "IEEE 802.11 Wireless Management", off, lim - off)
    if sub in (5, 8) and off + 10 <= lim:
        bi = int.from_bytes(data[off + 8 : off + 10], "little")
        ctx.add("wlan.fixed.beacon", bi, off + 8, 2, "Beacon Interval")
        ctx.info += f", BI={bi}"
    o = off + fixed
    while o + 2 <= lim:
        tag, ln = data[o], data[o + 1]
        if o + 2 + ln > lim:
            break
        if tag == 0:
            ssid = data[o + 2 : o + 2 + ln].decode("utf-8", "replace")
            ctx.add("wlan.ssid", ssid, o + 2, ln, "SSID")
            ctx.info += f', SSID="{ssid}"' if ln else ", SSID=Wildcard (Broadcast)"
            break
        o += 2 + ln


RADIOTAP = Header(
    (
        F("radiotap.version", "Header revision", 0, 1),
        F("radiotap.pad", "Header pad", 1, 1),
        F("radiotap.length", "Header length", 2, 2, "le"),
        F("radiotap.present.word", "Present flags word", 4, 4, "le", disp=lambda v: f"0x{v:08x}"),
    )
)


@LINKTYPES.register(127)
def dissect_radiotap(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("radiotap", "Radiotap Header", off, 8)
    ctx.proto = "802.11"
    vals = RADIOTAP.read(ctx, off, end)
    if vals is None:
        return
    data = ctx.data
    ln = vals["radiotap.length"]
    ctx.layer.length = ln
    if ln < 8 or not ctx.has(off, ln, end):
        return
    # the Flags field (present bit 1) says whether the frame ends in an FCS
    o = off + 4
    present = vals["radiotap.present.word"]
    while int.from_bytes(data[o : o + 4], "little") & 0x80000000 and o + 8 <= off + ln:
        o += 4
    o += 4
    if present & 1:  # TSFT: 8 bytes, 8-aligned
        o = off + ((o - off + 7) & ~7) + 8
    if present & 2 and o < off + ln:
        fl = data[o]
        ctx.add("radiotap.flags", fl, o, 1, "Flags", f"Flags: 0x{fl:02x}")
        if fl & 0x10 and end - 4 >= off + ln:
            end -= 4
    ctx.protos.append("wlan_radio")
    dissect_wlan(ctx, off + ln, end)


@GRE_PROTOS.register(*range(0x8200, 0x8400, 0x10))
def dissect_aruba_wlan(ctx: Ctx, off: int, end: int) -> None:
    """Aruba access points tunnel 802.11 frames (no FCS) in GRE with protocol types 0x8200-0x83f0."""
    dissect_wlan(ctx, off, end)


PPI = Header(
    (
        F("ppi.version", "Version", 0, 1),
        F("ppi.flags", "Flags", 1, 1, disp=HEX2),
        F("ppi.length", "Header length", 2, 2, "le"),
        F("ppi.dlt", "DLT", 4, 4, "le"),
    )
)


@LINKTYPES.register(192)
def dissect_ppi(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ppi", "PPI version 0", off, 8)
    ctx.proto = "PPI"
    vals = PPI.read(ctx, off, end)
    if vals is None:
        return
    ln = vals["ppi.length"]
    ctx.layer.length = ln
    if ln < 8 or not ctx.has(off, ln, end):
        return
    if not call(ctx, LINKTYPES, vals["ppi.dlt"], off + ln, end):
        ctx.info = f"PPI DLT {vals['ppi.dlt']}"


__all__ = ["dissect_wlan"]
