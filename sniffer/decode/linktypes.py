"""More link types: FDDI (10), Linux NFLOG (239) and IP over InfiniBand (242), and the ERSPAN type II/III
headers of mirrored traffic carried in GRE."""

from __future__ import annotations

from sniffer.decode.core import ETHERTYPES, HEX2, HEX4, LINKTYPES, Ctx, F, Header, call, data_layer
from sniffer.decode.link import dissect_eth, dissect_llc, ethertype

FDDI = Header((F("fddi.fc", "Frame Control", 0, 1, disp=HEX2),))


_BITREV = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def _swapped(b: bytes) -> str:
    return b.translate(_BITREV).hex(":")


@LINKTYPES.register(10)
def dissect_fddi(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("fddi", "Fiber Distributed Data Interface", off, 13)
    ctx.proto = "FDDI"
    vals = FDDI.read(ctx, off, end)
    if vals is None or not ctx.has(off, 13, end):
        return
    # the addresses are sent most significant bit first: Wireshark shows them bit-swapped (canonical), and
    # gives dst, src and addr twice each (the canonical field and a hidden copy)
    data = ctx.data
    dst, src = _swapped(data[off + 1 : off + 7]), _swapped(data[off + 7 : off + 13])
    for name, a, o in (("fddi.dst", dst, 1), ("fddi.src", src, 7)):
        for _ in range(2):
            ctx.add(name, a, off + o, 6, "Destination" if o == 1 else "Source")
            ctx.add("fddi.addr", a, off + o, 6, "Source or Destination Address")
    ctx.src, ctx.dst = src, dst
    fc = vals["fddi.fc"]
    if fc & 0xF0 == 0x50:  # async LLC frames
        dissect_llc(ctx, off + 13, end)
    else:
        data_layer(ctx, off + 13, end)


NFLOG = Header(
    (
        F("nflog.family", "Family", 0, 1),
        F("nflog.version", "Version", 1, 1),
        F("nflog.res_id", "Resource id", 2, 2),
    )
)
NFULA_PACKET_HDR, NFULA_PREFIX, NFULA_PAYLOAD = 1, 10, 9


@LINKTYPES.register(239)
def dissect_nflog(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("nflog", "Linux Netfilter NFLOG", off, 4)
    ctx.proto = "NFLOG"
    vals = NFLOG.read(ctx, off, end)
    if vals is None:
        return
    data = ctx.data
    lim = min(end, len(data))
    o = off + 4
    while o + 4 <= lim:  # TLVs in host byte order (little-endian on the hosts that write them)
        ln = int.from_bytes(data[o : o + 2], "little")
        t = int.from_bytes(data[o + 2 : o + 4], "little") & 0x7FFF
        ctx.add("nflog.tlv_length", ln, o, 2, "Length")
        ctx.add("nflog.tlv_type", t, o + 2, 2, "Type")
        if ln < 4 or o + ln > end:
            ctx.set_malformed("nflog")
            return
        if t == NFULA_PACKET_HDR and ln >= 7:
            ctx.add("nflog.protocol", int.from_bytes(data[o + 4 : o + 6], "big"), o + 4, 2, "HW protocol")
            ctx.add("nflog.hook", data[o + 6], o + 6, 1, "Netfilter hook")
        elif t == NFULA_PREFIX:
            s = data[o + 4 : o + ln].split(b"\0", 1)[0].decode("latin-1")
            ctx.add("nflog.prefix", s, o + 4, ln - 4, "Prefix")
        elif t == NFULA_PAYLOAD:
            fam = vals["nflog.family"]
            if fam in (2, 10):
                call(ctx, ETHERTYPES, 0x0800 if fam == 2 else 0x86DD, o + 4, o + ln)
            else:
                data_layer(ctx, o + 4, o + ln)
            return
        o += (ln + 3) & ~3


IPOIB = Header((F("ipoib.type", "Type", 0, 2, disp=HEX4), F("ipoib.reserved", "Reserved", 2, 2, disp=HEX4)))


@LINKTYPES.register(242)
def dissect_ipoib(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("ipoib", "IP over Infiniband", off, 4)
    ctx.proto = "IPoIB"
    ctx.info = "IP over Infiniband"
    if ctx.has(off, 44, end) and ctx.data[off] >> 4 == 6:  # the 40-byte InfiniBand GRH comes first
        ctx.add("ipoib.grh", ctx.data[off : off + 40].hex(":"), off, 40, "Global Route Header")
        off += 40
    vals = IPOIB.read(ctx, off, end)
    if vals is None:
        return
    call(ctx, ETHERTYPES, vals["ipoib.type"], off + 4, end, fallback=False)


ERSPAN2 = Header(
    (
        F("erspan.version", "Version", 0, 2, mask=0xF000),
        F("erspan.vlan", "Vlan", 0, 2, mask=0x0FFF),
        F("erspan.cos", "COS", 2, 2, mask=0xE000),
        F("erspan.encap", "Encap", 2, 2, mask=0x1800),  # type III: "bso" (bad/short/oversized)
        F("erspan.truncated", "Truncated", 2, 2, mask=0x0400),
        F("erspan.spanid", "SpanID", 2, 2, mask=0x03FF),
    )
)


ERSPAN3 = Header(
    tuple(
        f._replace(name="erspan.bso", label="BSO") if f.name == "erspan.encap" else f for f in ERSPAN2.fields
    )
)


@ETHERTYPES.register(0x88BE, 0x22EB)
def dissect_erspan(ctx: Ctx, off: int, end: int) -> None:
    """ERSPAN type II (GRE protocol 0x88be) and III (0x22eb): a header, then the mirrored Ethernet frame."""
    if ctx.protos and ctx.protos[-1] == "ethertype":  # reached through GRE's protocol field, not Ethernet
        ctx.protos.pop()
    ctx.push("erspan", "Encapsulated Remote Switch Packet ANalysis", off, 8)
    ctx.proto = "ERSPAN"
    vals = (ERSPAN3 if ctx.has(off, 1, end) and ctx.data[off] >> 4 == 2 else ERSPAN2).read(ctx, off, end)
    if vals is None:
        return
    data = ctx.data
    ver = vals["erspan.version"]
    hl = 8
    if ver == 2:  # type III: timestamp, SGT, flags; an optional platform subheader
        hl = 12
        if ctx.has(off, 12, end) and data[off + 11] & 0x01:
            hl = 20
    ctx.layer.length = hl
    ctx.info = "ERSPAN:"
    if ctx.has(off, hl, end):
        dissect_eth(ctx, off + hl, end)


__all__ = ["dissect_erspan", "dissect_fddi", "dissect_ipoib", "dissect_nflog", "ethertype"]


# Linux vsock monitor (link type 271): the vsockmon header, then the virtio transport header
VSOCK = Header(
    (
        F("vsock.src_cid", "Source cid", 0, 8, "le"),
        F("vsock.dst_cid", "Destination cid", 8, 8, "le"),
        F("vsock.src_port", "Source port", 16, 4, "le"),
        F("vsock.dst_port", "Destination port", 20, 4, "le"),
        F("vsock.op", "Operation", 24, 2, "le"),
        F("vsock.trans", "Transport", 26, 2, "le"),
        F("vsock.trans_len", "Transport length", 28, 2, "le"),
    )
)
VIRTIO = Header(
    (
        F("vsock.virtio.src_cid", "Source cid", 0, 8, "le"),
        F("vsock.virtio.dst_cid", "Destination cid", 8, 8, "le"),
        F("vsock.virtio.src_prot", "Source port", 16, 4, "le"),
        F("vsock.virtio.dst_prot", "Destination port", 20, 4, "le"),
        F("vsock.virtio.len", "Length", 24, 4, "le"),
        F("vsock.virtio.type", "Type", 28, 2, "le"),
        F("vsock.virtio.op", "Operation", 30, 2, "le"),
        F("vsock.virtio.flags", "Flags", 32, 4, "le"),
        F("vsock.virtio.buf_alloc", "Buf alloc", 36, 4, "le"),
        F("vsock.virtio.fwd_cnt", "Fwd cnt", 40, 4, "le"),
    )
)
VSOCK_OPS = {0: "Unknown", 1: "Connect", 2: "Disconnect", 3: "Control", 4: "Payload"}
VIRTIO_OPS = {
    0: "Invalid",
    1: "Request",
    2: "Response",
    3: "Rst",
    4: "Shutdown",
    5: "RW",
    6: "Credit update",
    7: "Credit request",
}


@LINKTYPES.register(271)
def dissect_vsock(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("vsock", "VM Sockets", off, 32)
    ctx.proto = "vSocket"
    vals = VSOCK.read(ctx, off, end)
    if vals is None:
        return
    ctx.src, ctx.dst = str(vals["vsock.src_cid"]), str(vals["vsock.dst_cid"])
    info = f"[{VSOCK_OPS.get(vals['vsock.op'], 'Unknown')}]"
    o = off + 32
    if vals["vsock.trans"] == 2 and vals["vsock.trans_len"] >= 44:  # virtio
        v = VIRTIO.read(ctx, o, end)
        if v is not None:
            kind = {1: "Stream", 2: "Seqpacket"}.get(v["vsock.virtio.type"], "Unknown")
            info += (
                f" Virtio: {kind}, Op: {VIRTIO_OPS.get(v['vsock.virtio.op'], 'Unknown')}, "
                f"Buf alloc: {v['vsock.virtio.buf_alloc']}, Fwd cnt: {v['vsock.virtio.fwd_cnt']}"
            )
        o += vals["vsock.trans_len"]
    ctx.info = info
    if o < min(end, len(ctx.data)):
        data_layer(ctx, o, end)


# Apple PKTAP (link type 258): a little-endian metadata header, then the packet in its own link type
PKTAP = Header(
    (
        F("pktap.hdrlen", "Header length", 0, 4, "le"),
        F("pktap.rectype", "Record type", 4, 4, "le"),
        F("pktap.dlt", "DLT", 8, 4, "le"),
        F("pktap.ifname", "Interface name", 12, 24, "str"),
    )
)


@LINKTYPES.register(258)
def dissect_pktap(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("pktap", "PKTAP", off, 36)
    ctx.proto = "PKTAP"
    if not ctx.has(off, 36, end):
        return
    data = ctx.data
    hl = int.from_bytes(data[off : off + 4], "little")
    vals = PKTAP.read(ctx, off, end)
    if vals is None:
        return
    ctx.set_last("pktap.ifname", vals["pktap.ifname"].split("\0", 1)[0])
    ctx.layer.length = hl
    if vals["pktap.rectype"] == 1 and 36 <= hl and ctx.has(off, hl, end):
        ctx.protos.append("pcap_pktdata")
        call(ctx, LINKTYPES, vals["pktap.dlt"], off + hl, end)
