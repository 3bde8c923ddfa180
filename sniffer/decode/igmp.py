"""IGMP v1/v2/v3 (RFC 1112, 2236, 3376): queries with QRV/QQIC and sources, reports with every group
record type and its sources, leaves; the version is inferred as Wireshark does."""

from __future__ import annotations

from sniffer.decode.core import COLUMNS, HEX2, HEX4, IP_PROTOS, Ctx, F, Header, Node, Table, call, ip4
from sniffer.decode.icmp import _cksum_status

# IGMP message types
IGMP_QUERY = 0x11  # membership query (all versions)
IGMP_V1_REPORT = 0x12  # version 1 membership report
IGMP_V2_REPORT = 0x16  # version 2 membership report
IGMP_V2_LEAVE = 0x17  # version 2 leave group
IGMP_V3_REPORT = 0x22  # version 3 membership report

IGMP_TYPES = {
    0x11: "Membership Query",
    0x12: "Membership Report",
    0x13: "DVMRP",
    0x14: "PIM v1",
    0x16: "Membership Report",
    0x17: "Leave Group",
    0x1E: "Traceroute Response",
    0x1F: "Traceroute Query or Request",
    0x22: "Membership Report",
    0x30: "Multicast Router Advertisement",
    0x31: "Multicast Router Solicitation",
    0x32: "Multicast Router Termination",
}
RECORD_TYPES = {
    1: "Mode Is Include",
    2: "Mode Is Exclude",
    3: "Change To Include Mode",
    4: "Change To Exclude Mode",
    5: "Allow New Sources",
    6: "Block Old Sources",
}
# how tshark words a record in the Info column
RECORD_INFO = {
    1: "Mode is include",
    2: "Mode is exclude",
    3: "Leave group",
    4: "Join group",
    5: "Allow new sources",
    6: "Block old sources",
}

IGMP_HDR = Header((F("igmp.type", "Type", 0, 1, disp=HEX2, names=IGMP_TYPES),))
IGMP_V12 = Header(
    (
        F("igmp.max_resp", "Max Resp Time", 1, 1, disp=lambda v: f"{v / 10:.1f} sec (0x{v:02x})"),
        F("igmp.checksum", "Checksum", 2, 2, disp=HEX4),
    )
)
IGMP_V1 = Header(
    (
        F("igmp.reserved", "Reserved", 1, 1, "bytes"),
        F("igmp.checksum", "Checksum", 2, 2, disp=HEX4),
    )
)
IGMP_V3_QUERY = Header((F("igmp.checksum", "Checksum", 2, 2, disp=HEX4),))
IGMP_V3_QUERY_TAIL = Header(
    (
        F("igmp.maddr", "Multicast Address", 4, 4, "ip4"),
        F("igmp.s", "S", 8, 1, mask=0x08),
        F("igmp.qrv", "QRV", 8, 1, mask=0x07),
        F("igmp.num_src", "Num Src", 10, 2),
    )
)
V3_REPORT_HDR = Header(
    (
        F("igmp.reserved", "Reserved", 1, 1, "bytes"),
        F("igmp.checksum", "Checksum", 2, 2, disp=HEX4),
        F("igmp.reserved", "Reserved", 4, 2, "bytes"),
        F("igmp.num_grp_recs", "Num Group Records", 6, 2),
    )
)
IGMP_RECORD = Header(
    (
        F("igmp.record_type", "Record Type", 0, 1, names=RECORD_TYPES),
        F("igmp.aux_data_len", "Aux Data Len", 1, 1),
        F("igmp.num_src", "Num Src", 2, 2),
        F("igmp.maddr", "Multicast Address", 4, 4, "ip4"),
    )
)


def _code(v: int) -> int:
    """RFC 3376 4.1.1 / 4.1.7: codes >= 128 are floating point (exp in bits 4-6, mantissa in 0-3)."""
    if v < 128:
        return v
    return ((v & 0x0F) | 0x10) << (((v >> 4) & 0x07) + 3)


_IGMP_VERSIONS = ("IGMP", "IGMPv1", "IGMPv2", "IGMPv3")  # the Protocol column per version

#: IGMP types other protocols use (DVMRP 0x13, PIM version 1 0x14): registered by routing.py
IGMP_OTHER = Table("IGMP type")


@IP_PROTOS.register(2)
def dissect_igmp(ctx: Ctx, off: int, end: int) -> None:
    layer = ctx.push("igmp", "Internet Group Management Protocol", off, 8)
    ctx.proto = "IGMP"
    data = ctx.data
    if not ctx.has(off, 1, end):
        return
    t = data[off]
    size = end - off
    if t == IGMP_QUERY:
        version = 3 if size >= 12 else (1 if size >= 2 and len(data) > off + 1 and data[off + 1] == 0 else 2)
    elif t == IGMP_V1_REPORT:
        version = 1
    elif t in (IGMP_V2_REPORT, IGMP_V2_LEAVE):
        version = 2
    elif t == IGMP_V3_REPORT:
        version = 3
    else:
        version = 0
    if not version and t in IGMP_OTHER.map:  # DVMRP, PIMv1: that protocol decodes the message, as Wireshark
        call(ctx, IGMP_OTHER, t, off, end)
        return
    if version:
        if not ctx.lean:  # (fields only: the columns-only dissection skips them)
            ctx.add("igmp.version", version, off, 1, "IGMP Version")
        ctx.proto = _IGMP_VERSIONS[version]
        if ctx.tree:
            layer.text = f"Internet Group Management Protocol [IGMP Version: {version}]"
    IGMP_HDR.read(ctx, off, end)
    tname = IGMP_TYPES.get(t) or f"Unknown Type:0x{t:02x}"
    ctx.info = tname
    if version == 0:
        return
    if version in (1, 2):
        if (IGMP_V1 if version == 1 else IGMP_V12).read(ctx, off, end) is None:
            return
        _cksum_status(ctx, "igmp", off, end)
        if not ctx.has(off + 4, 4, end) or ctx.lean > COLUMNS:  # (protocols only: nothing more to name)
            return
        g = ip4(data[off + 4 : off + 8])
        if not ctx.lean:
            ctx.add("igmp.maddr", g, off + 4, 4, "Multicast Address")
        if t == IGMP_QUERY:
            if version == 2:
                ctx.info = f"{tname}, general" if g == "0.0.0.0" else f"{tname}, specific for group {g}"
        elif t == IGMP_V1_REPORT:
            ctx.info = tname
        elif t == IGMP_V2_REPORT:
            ctx.info = f"{tname} group {g}"
        elif t == IGMP_V2_LEAVE:
            ctx.info = f"{tname} {g}"
        return
    if t == IGMP_QUERY:
        _v3_query(ctx, layer, off, end, tname)
    else:
        _v3_report(ctx, layer, off, end, tname)


def _v3_query(ctx: Ctx, layer: Node, off: int, end: int, tname: str) -> None:
    data = ctx.data
    if not ctx.has(off + 1, 1, end):
        return
    code = data[off + 1]
    node = ctx.add(
        "igmp.max_resp",
        _code(code),
        off + 1,
        1,
        "Max Resp Time",
        f"Max Resp Time: {_code(code) / 10:.1f} sec (0x{code:02x})" if ctx.tree else None,
    )
    if code >= 128:
        ctx.add("igmp.max_resp.exp", (code >> 4) & 7, off + 1, 1, "Exponent", None, node)
        ctx.add("igmp.max_resp.mant", code & 0x0F, off + 1, 1, "Mantissa", None, node)
    if IGMP_V3_QUERY.read(ctx, off, end) is None:
        return
    _cksum_status(ctx, "igmp", off, end)
    v = IGMP_V3_QUERY_TAIL.read(ctx, off, end)
    if v is None:
        return
    qqic = data[off + 9]
    ctx.add(
        "igmp.qqic",
        qqic,
        off + 9,
        1,
        "QQIC",
        f"QQIC: {qqic} (interval {_code(qqic)} s)" if ctx.tree else None,
    )
    n = v["igmp.num_src"]
    layer.length = 12 + 4 * n
    srcs = []
    for i in range(n):
        o = off + 12 + 4 * i
        if not ctx.has(o, 4, end):
            break
        s = ip4(data[o : o + 4])
        srcs.append(s)
        ctx.add("igmp.saddr", s, o, 4, "Source Address")
    g = v["igmp.maddr"]
    if g == "0.0.0.0":
        ctx.info = f"{tname}, general"
    elif srcs:
        ctx.info = f"{tname}, specific for group {g}, source {{{', '.join(srcs)}}}"
    else:
        ctx.info = f"{tname}, specific for group {g}"


def _v3_report(ctx: Ctx, layer: Node, off: int, end: int, tname: str) -> None:
    data = ctx.data
    v = V3_REPORT_HDR.read(ctx, off, end)
    if v is None:
        return
    _cksum_status(ctx, "igmp", off, end)
    o = off + 8
    parts = []
    lean = ctx.lean
    protos_only = lean > COLUMNS
    for _ in range(v["igmp.num_grp_recs"]):
        if not ctx.has(o, 8, end):
            break
        rtype, aux, ns = data[o], data[o + 1], int.from_bytes(data[o + 2 : o + 4], "big")
        size = 8 + 4 * ns + 4 * aux
        if protos_only:  # the same checks of the sources and aux data (a cut record), no text
            for i in range(ns):
                if not ctx.has(o + 8 + 4 * i, 4, end):
                    break
            if aux:
                ctx.has(o + 8 + 4 * ns, 4 * aux, end)
            o += size
            continue
        g = ip4(data[o + 4 : o + 8])
        node = (
            ctx.sub(f"Group Record : {g}  {RECORD_TYPES.get(rtype, rtype)}", "igmp.record", o, size)
            if ctx.tree
            else None
        )
        if not lean:  # (its 8 bytes are there: it only records fields)
            IGMP_RECORD.read(ctx, o, end, node)
        srcs = []
        for i in range(ns):
            so = o + 8 + 4 * i
            if not ctx.has(so, 4, end):
                break
            s = ip4(data[so : so + 4])
            srcs.append(s)
            if not lean:
                ctx.add("igmp.saddr", s, so, 4, "Source Address", None, node)
        if aux and ctx.has(o + 8 + 4 * ns, 4 * aux, end) and not lean:
            ao = o + 8 + 4 * ns
            ctx.add("igmp.aux_data", data[ao : ao + 4 * aux].hex(":"), ao, 4 * aux, "Aux Data", None, node)
        what = RECORD_INFO.get(rtype) or f"Record type {rtype}"
        if srcs:
            parts.append(f"{what} {g} for source {{{', '.join(srcs)}}}")
        elif rtype in (3, 4):
            parts.append(f"{what} {g}" + (" for any sources" if rtype == 4 else ""))
        else:
            parts.append(f"{what} {g}")
        o += size
    layer.length = o - off
    ctx.info = f"{tname} / " + " / ".join(parts) if parts else tname
