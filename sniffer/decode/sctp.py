"""SCTP (RFC 9260, IP protocol 132): the common header and every chunk's header, DATA and SACK in full, the
Info column as Wireshark writes it (one entry per chunk), with the raw TSNs (Wireshark shows TSNs relative
to the association's first, which needs state across packets: sctp.data_tsn_raw is given, sctp.data_tsn not)."""

from __future__ import annotations

from sniffer.decode.core import HEX2, HEX8, IP_PROTOS, Ctx, F, Header, Table, data_layer

#: what a DATA chunk carries: by payload protocol identifier first, then by port (lower first)
SCTP_PPIDS = Table("SCTP PPID")
SCTP_PORTS = Table("SCTP port")

SCTP_CHUNKS = {
    0: "DATA",
    1: "INIT",
    2: "INIT_ACK",
    3: "SACK",
    4: "HEARTBEAT",
    5: "HEARTBEAT_ACK",
    6: "ABORT",
    7: "SHUTDOWN",
    8: "SHUTDOWN_ACK",
    9: "ERROR",
    10: "COOKIE_ECHO",
    11: "COOKIE_ACK",
    12: "ECNE",
    13: "CWR",
    14: "SHUTDOWN_COMPLETE",
    15: "AUTH",
    64: "I_DATA",
    128: "ASCONF_ACK",
    130: "RE_CONFIG",
    132: "PAD",
    192: "FORWARD_TSN",
    193: "ASCONF",
    194: "I_FORWARD_TSN",
}
SCTP = Header(
    (
        F("sctp.srcport", "Source port", 0, 2),
        F("sctp.dstport", "Destination port", 2, 2),
        F("sctp.verification_tag", "Verification tag", 4, 4, disp=HEX8),
        F("sctp.checksum", "Checksum", 8, 4, disp=HEX8),
    )
)
CHUNK = Header(
    (
        F("sctp.chunk_type", "Chunk type", 0, 1, names=SCTP_CHUNKS),
        F("sctp.chunk_flags", "Chunk flags", 1, 1, disp=HEX2),
        F("sctp.chunk_length", "Chunk length", 2, 2),
    )
)
DATA = Header(
    (
        F("sctp.data_tsn_raw", "Transmission sequence number (raw)", 4, 4),
        F("sctp.data_sid", "Stream identifier", 8, 2, disp=lambda v: f"0x{v:04x}"),
        F("sctp.data_ssn", "Stream sequence number", 10, 2),
        F("sctp.data_payload_proto_id", "Payload protocol identifier", 12, 4),
    )
)
SACK = Header(
    (
        F("sctp.sack_cumulative_tsn_ack_raw", "Cumulative TSN ACK (raw)", 4, 4),
        F("sctp.sack_a_rwnd", "Advertised receiver window credit (a_rwnd)", 8, 4),
        F("sctp.sack_number_of_gap_blocks", "Number of gap acknowledgement blocks", 12, 2),
        F("sctp.sack_number_of_duplicated_tsns", "Number of duplicated TSNs", 14, 2),
    )
)
INIT = Header(
    (
        F("sctp.init_initiate_tag", "Initiate tag", 4, 4, disp=HEX8),
        F("sctp.init_credit", "Advertised receiver window credit (a_rwnd)", 8, 4),
        F("sctp.init_nr_out_streams", "Number of outbound streams", 12, 2),
        F("sctp.init_nr_in_streams", "Number of inbound streams", 14, 2),
        F("sctp.init_initial_tsn", "Initial TSN", 16, 4),
    )
)

INIT_ACK = Header(
    tuple(
        f._replace(name=n)
        for f, n in zip(
            INIT.fields,
            (
                "sctp.initack_initiate_tag",
                "sctp.initack_credit",
                "sctp.initack_nr_out_streams",
                "sctp.initack_nr_in_streams",
                "sctp.initack_initial_tsn",
            ),
            strict=True,
        )
    )
)


@IP_PROTOS.register(132)
def dissect_sctp(ctx: Ctx, off: int, end: int) -> None:
    layer = ctx.push("sctp", "Stream Control Transmission Protocol", off, 12)
    ctx.proto = "SCTP"
    vals = SCTP.read(ctx, off, end)
    if vals is None:
        return
    sp, dp = vals["sctp.srcport"], vals["sctp.dstport"]
    ctx.add("sctp.port", sp, off, 2, "Source or Destination Port")
    ctx.add("sctp.port", dp, off + 2, 2, "Source or Destination Port")
    layer.text = f"Stream Control Transmission Protocol, Src Port: {sp}, Dst Port: {dp}"
    data = ctx.data
    lim = min(end, len(data))
    info = upper = ""
    o = off + 12
    while o < end:
        node = ctx.sub("Chunk", "sctp.chunk", o, 4)
        if not ctx.has(o, 4, end):
            break
        ch = CHUNK.read(ctx, o, end, node)
        assert ch is not None
        t, ln = ch["sctp.chunk_type"], ch["sctp.chunk_length"]
        name = SCTP_CHUNKS.get(t) or f"UNKNOWN({t})"
        if node is not None:
            node.text, node.length = f"{name} chunk", ln
        if ln < 4:
            ctx.set_malformed("sctp")
            break
        if t == 0 and ln >= 16 and o + 16 <= lim:
            d = DATA.read(ctx, o, end, node)
            assert d is not None
            info += f"DATA (TSN={d['sctp.data_tsn_raw']}) "
            if ln > 16:
                before = ctx.info
                fn = SCTP_PPIDS.map.get(d["sctp.data_payload_proto_id"])
                if fn is None:
                    fn = SCTP_PORTS.map.get(min(sp, dp)) or SCTP_PORTS.map.get(max(sp, dp))
                if fn is not None and not ctx.quote:
                    fn(ctx, o + 16, min(o + ln, end))
                else:
                    data_layer(ctx, o + 16, min(o + ln, end))
                if ctx.info != before:  # the payload's protocol wrote the Info column: it stays (Wireshark)
                    upper = ctx.info
                ctx.layer = layer
        elif t == 3 and ln >= 16 and o + 16 <= lim:
            s = SACK.read(ctx, o, end, node)
            assert s is not None
            info += f"SACK (Ack={s['sctp.sack_cumulative_tsn_ack_raw']}, Arwnd={s['sctp.sack_a_rwnd']}) "
        else:
            if t in (1, 2) and ln >= 20 and o + 20 <= lim:
                (INIT if t == 1 else INIT_ACK).read(ctx, o, end, node)
            info += f"{name} "
        if o + ln > lim:
            ctx.short(o + ln, end)
            break
        o += (ln + 3) & ~3
    if upper:
        ctx.info = upper
    else:
        ctx.proto = "SCTP"
        ctx.info = info


__all__ = ["dissect_sctp"]
