"""Small UDP services of the breadth corpus, each a fixed header declared once:

- lw_res, BIND 9's lightweight resolver (UDP 921): the 28-byte header; Info ``REQUEST , opcode=Noop,
  serial=0x0`` as Wireshark's.
"""

from __future__ import annotations

from sniffer.decode.core import HEX4, HEX8, UDP_PORTS, Ctx, F, Header, data_layer

LWRES_OPCODES = {0: "Noop", 0x10001: "getaddrbyname", 0x10002: "getnamebyaddr", 0x10003: "getrdatabyname"}
LWRES_RESULTS = {
    0: "Success",
    1: "No memory",
    2: "Timeout",
    3: "Not found",
    4: "Unexpected end of input",
    5: "Generic failure",
}

LWRES = Header(
    (
        F("lwres.length", "Length", 0, 4),
        F("lwres.version", "Version", 4, 2),
        F("lwres.flags", "Packet Flags", 6, 2, disp=HEX4),
        F("lwres.serial", "Serial", 8, 4, disp=HEX8),
        F("lwres.opcode", "Operation code", 12, 4, names=LWRES_OPCODES),
        F("lwres.result", "Result", 16, 4, names=LWRES_RESULTS),
        F("lwres.recvlen", "Received length", 20, 4),
        F("lwres.authtype", "Auth. type", 24, 2),
        F("lwres.authlen", "Auth. length", 26, 2),
    )
)


@UDP_PORTS.register(921)
def dissect_lwres(ctx: Ctx, off: int, end: int) -> None:
    lim = min(end, len(ctx.data))
    if lim - off < 28:
        data_layer(ctx, off, end)
        return
    ctx.push("lwres", "Light Weight DNS RESolver (BIND9)", off, lim - off)
    ctx.proto = "lw_res"
    vals = LWRES.read(ctx, off, end)
    if vals is None:
        return
    op = vals["lwres.opcode"]
    kind = "RESPONSE" if vals["lwres.flags"] & 1 else "REQUEST"
    ctx.info = (
        f"{kind} , opcode={LWRES_OPCODES.get(op, f'Unknown ({op})')}, serial=0x{vals['lwres.serial']:x}"
    )


# ---------------------------------------------------------------------------------------------
# RDPUDP (MS-RDPEUDP, UDP 3389): the header, SYN / correlation id / SYNEX payloads, the ACK vector's size,
# the data header, then TLS. Laid out as Wireshark 4.0 reads it: no padding after the ACK vector (the
# specification pads it to 4 bytes; tshark does not, so its TLS starts 2 bytes early and shows
# "SSL Continuation Data", which sniffer reproduces to agree with it).

RDPUDP_FLAG_NAMES = (
    (0x0001, "syn"),
    (0x0002, "fin"),
    (0x0004, "ack"),
    (0x0008, "data"),
    (0x0010, "fec"),
    (0x0020, "cn"),
    (0x0040, "cwr"),
    (0x0100, "aoa"),
    (0x0200, "synlossy"),
    (0x0400, "ackdelayed"),
    (0x0800, "correlationid"),
    (0x1000, "synex"),
)
RDPUDP = Header(
    (
        F("rdpudp.snsourceack", "snSourceAck", 0, 4, disp=HEX8),
        F("rdpudp.receivewindowsize", "ReceiveWindowSize", 4, 2),
        F("rdpudp.flags", "Flags", 6, 2, disp=HEX4),
        *(F(f"rdpudp.flags.{n}", n, 6, 2, mask=bit) for bit, n in RDPUDP_FLAG_NAMES),
    )
)
RDPUDP_SYN = Header(
    (
        F("rdpudp.initialsequencenumber", "Initial SequenceNumber", 0, 4, disp=HEX8),
        F("rdpudp.upstreammtu", "Upstream MTU", 4, 2),
        F("rdpudp.downstreammtu", "DownStream MTU", 6, 2),
    )
)
RDPUDP_CID = Header((F("rdpudp.correlationid", "Correlation Id", 0, 16, "bytes"),))
RDPUDP_SYNEX = Header(
    (
        F("rdpudp.synex.flags", "Flags", 0, 2, disp=HEX4),
        F("rdpudp.synex.flags.versioninfo", "Version info", 0, 2, mask=0x0001),
        F("rdpudp.synex.version", "Version", 2, 2, disp=HEX4),
    )
)
RDPUDP_DATA = Header(
    (
        F("rdpudp.data.sncoded", "snCoded", 0, 4, disp=HEX8),
        F("rdpudp.data.sourceStart", "snSourceStart", 4, 4, disp=HEX8),
    )
)


@UDP_PORTS.register(3389)
def dissect_rdpudp(ctx: Ctx, off: int, end: int) -> None:
    lim = min(end, len(ctx.data))
    ctx.push("rdpudp", "UDP Remote Desktop Protocol", off, lim - off)
    ctx.proto = "RDPUDP"
    vals = RDPUDP.read(ctx, off, end)
    if vals is None:
        return
    flags = vals["rdpudp.flags"]
    o = off + 8
    if flags & 0x0001:
        if RDPUDP_SYN.read(ctx, o, end) is None:
            return
        o += 8
        names = ["SYN"]
        if flags & 0x0800:
            names.append("CORRELATIONID")
            if RDPUDP_CID.read(ctx, o, end) is None:
                return
            o += 32
        if flags & 0x1000:
            names.append("SYNEX")
            RDPUDP_SYNEX.read(ctx, o, end)
        ctx.info = ",".join(names)
        return
    ctx.info = ",".join(n.upper() for bit, n in RDPUDP_FLAG_NAMES if flags & bit)
    if flags & 0x0004:
        if not ctx.has(o, 2, end):
            return
        o += 2 + (ctx.data[o] << 8 | ctx.data[o + 1])  # (Wireshark 4.0 records no field for the size)
    if flags & 0x0008:
        if RDPUDP_DATA.read(ctx, o, end) is None:
            return
        o += 8
        if o < lim:
            from sniffer.decode.tls import dissect_tls

            if not dissect_tls(ctx, o, end):  # the middle of a record (Wireshark's reassembly is per stream)
                ctx.push("tls", "Transport Layer Security", o, lim - o)
                ctx.proto, ctx.info = "SSL", "Continuation Data"


# ---------------------------------------------------------------------------------------------
# krb524 (UDP 4444): a Kerberos V5 Ticket (APPLICATION 1) sent to the Kerberos 5-to-4 service. Protocol
# KRB5 with an empty Info, as Wireshark's; tkt-vno, realm, sname strings and the enc-part's etype.


def _ber(data: bytes, o: int, lim: int) -> tuple[int, int, int] | None:
    """(tag, value start, value end) of the BER item at ``o``, or None if it does not fit."""
    if o + 2 > lim:
        return None
    tag, n = data[o], data[o + 1]
    o += 2
    if n & 0x80:
        k = n & 0x7F
        if not 0 < k <= 3 or o + k > lim:
            return None
        n = int.from_bytes(data[o : o + k], "big")
        o += k
    return (tag, o, o + n) if o + n <= lim else None


def _ber_items(data: bytes, o: int, e: int) -> list[tuple[int, int, int]]:
    out = []
    while o < e:
        it = _ber(data, o, e)
        if it is None:
            break
        out.append(it)
        o = it[2]
    return out


@UDP_PORTS.register(4444)
def dissect_krb524(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    top = _ber(data, off, lim) if off < lim and data[off] == 0x61 else None
    seq = _ber(data, top[1], top[2]) if top else None
    if top is None or seq is None or seq[0] != 0x30:
        data_layer(ctx, off, end)
        return
    ctx.push("kerberos", "Kerberos", off, lim - off)
    ctx.proto, ctx.info = "KRB5", ""
    for tag, s, e in _ber_items(data, seq[1], seq[2]):
        inner = _ber(data, s, e)
        if inner is None:
            continue
        it, vs, ve = inner
        if tag == 0xA0 and it == 0x02:
            ctx.add("kerberos.tkt_vno", int.from_bytes(data[vs:ve], "big"), vs, ve - vs, "tkt-vno")
        elif tag == 0xA1 and it == 0x1B:
            ctx.add("kerberos.realm", data[vs:ve].decode("latin-1"), vs, ve - vs, "realm")
        elif tag == 0xA2 and it == 0x30:
            for ntag, ns, ne in _ber_items(data, vs, ve):
                seqof = _ber(data, ns, ne) if ntag == 0xA1 else None
                if seqof is not None:
                    for st, ss, se in _ber_items(data, seqof[1], seqof[2]):
                        if st == 0x1B:
                            ctx.add(
                                "kerberos.SNameString",
                                data[ss:se].decode("latin-1"),
                                ss,
                                se - ss,
                                "SNameString",
                            )
        elif tag == 0xA3 and it == 0x30:
            for etag, es, ee in _ber_items(data, vs, ve):
                v = _ber(data, es, ee) if etag == 0xA0 else None
                if v is not None and v[0] == 0x02:
                    ctx.add(
                        "kerberos.etype",
                        int.from_bytes(data[v[1] : v[2]], "big", signed=True),
                        v[1],
                        v[2] - v[1],
                        "etype",
                    )


# ---------------------------------------------------------------------------------------------
# Dropbox LAN sync discovery (UDP 17500): a JSON announcement. Protocol DB-LSP-DISC/JSON and Info as
# Wireshark's (its JSON layer appends its name); the JSON members are not decoded (no json.* fields).


@UDP_PORTS.register(17500)
def dissect_db_lsp_disc(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("db-lsp-disc", "Dropbox LAN sync Discovery Protocol", off, lim - off)
    ctx.proto, ctx.info = "DB-LSP-DISC", "Dropbox LAN sync Discovery Protocol"
    if off < lim and data[off] in b"{[":
        ctx.push("json", "JavaScript Object Notation", off, lim - off)
        ctx.proto = "DB-LSP-DISC/JSON"
        ctx.info += ", JavaScript Object Notation"
