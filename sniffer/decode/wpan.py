"""IEEE 802.15.4 MAC frames (LINKTYPE_IEEE802_15_4_NOFCS 230): the
frame control field, sequence number and addressing; the MAC payload is left as data."""

from __future__ import annotations

from sniffer.decode.core import LINKTYPES, Ctx, data_layer

WPAN_FRAME_TYPES = {
    0: "Beacon",
    1: "Data",
    2: "Ack",
    3: "Command",
    4: "Reserved",
    5: "Multipurpose",
    6: "Fragment",
    7: "Extended",
}
#: the frame control field's bits (little-endian 16-bit word): Wireshark's name, label, mask
WPAN_FCF_BITS = (
    ("wpan.frame_type", "Frame Type", 0x0007),
    ("wpan.security", "Security Enabled", 0x0008),
    ("wpan.pending", "Frame Pending", 0x0010),
    ("wpan.ack_request", "Acknowledge Request", 0x0020),
    ("wpan.pan_id_compression", "PAN ID Compression", 0x0040),
    ("wpan.seqno_suppression", "Sequence Number Suppression", 0x0100),
    ("wpan.ie_present", "Information Elements Present", 0x0200),
    ("wpan.dst_addr_mode", "Destination Addressing Mode", 0x0C00),
    ("wpan.version", "Frame Version", 0x3000),
    ("wpan.src_addr_mode", "Source Addressing Mode", 0xC000),
)
ADDR_NONE, ADDR_SHORT, ADDR_LONG = 0, 2, 3


def _shift(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def _le(b: bytes) -> int:
    return int.from_bytes(b, "little")


@LINKTYPES.register(230)
def dissect_wpan(ctx: Ctx, off: int, end: int) -> None:
    lim = min(end, len(ctx.data))
    ctx.push("wpan", "IEEE 802.15.4", off, lim - off)
    ctx.proto = "IEEE 802.15.4"
    if not ctx.has(off, 2, end):
        return
    data = ctx.data
    fcf = _le(data[off : off + 2])
    ctx.add("wpan.fcf", fcf, off, 2, "Frame Control Field", f"Frame Control Field: 0x{fcf:04x}")
    vals: dict[str, int] = {}
    for name, label, mask in WPAN_FCF_BITS:
        v = (fcf & mask) >> _shift(mask)
        vals[name] = v
        ctx.add(name, v, off, 2, label)
    ftype = vals["wpan.frame_type"]
    o = off + 2
    if not vals["wpan.seqno_suppression"]:
        if not ctx.has(o, 1, end):
            return
        ctx.add("wpan.seq_no", data[o], o, 1, "Sequence Number")
        o += 1
    info = [WPAN_FRAME_TYPES[ftype]]
    dmode, smode = vals["wpan.dst_addr_mode"], vals["wpan.src_addr_mode"]
    dpan = None
    if dmode in (ADDR_SHORT, ADDR_LONG):
        if not ctx.has(o, 2, end):
            return
        dpan = _le(data[o : o + 2])
        ctx.add("wpan.dst_pan", dpan, o, 2, "Destination PAN", f"Destination PAN: 0x{dpan:04x}")
        o += 2
        if dmode == ADDR_SHORT:
            if not ctx.has(o, 2, end):
                return
            d16 = _le(data[o : o + 2])
            ctx.add("wpan.dst16", d16, o, 2, "Destination", f"Destination: 0x{d16:04x}")
            ctx.dst = f"0x{d16:04x}"
            o += 2
        else:
            if not ctx.has(o, 8, end):
                return
            d64 = data[o : o + 8][::-1].hex(":")
            ctx.add("wpan.dst64", d64, o, 8, "Destination")
            ctx.dst = d64
            o += 8
        info.append(f"Dst: {ctx.dst}")
    if smode in (ADDR_SHORT, ADDR_LONG):
        if not (vals["wpan.pan_id_compression"] and dpan is not None):
            if not ctx.has(o, 2, end):
                return
            span = _le(data[o : o + 2])
            ctx.add("wpan.src_pan", span, o, 2, "Source PAN", f"Source PAN: 0x{span:04x}")
            o += 2
        if smode == ADDR_SHORT:
            if not ctx.has(o, 2, end):
                return
            s16 = _le(data[o : o + 2])
            ctx.add("wpan.src16", s16, o, 2, "Source", f"Source: 0x{s16:04x}")
            ctx.src = f"0x{s16:04x}"
            o += 2
        else:
            if not ctx.has(o, 8, end):
                return
            s64 = data[o : o + 8][::-1].hex(":")
            ctx.add("wpan.src64", s64, o, 8, "Source")
            ctx.src = s64
            o += 8
        info.append(f"Src: {ctx.src}")
    ctx.info = ", ".join(info)
    if o < lim:
        data_layer(ctx, o, end)
