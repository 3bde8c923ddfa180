"""SIGTRAN over SCTP: M3UA (RFC 4666; SCTP PPID 3, port 2905), the common header and the parameters'
tag/length. Protocol column ``M3UA (RFC 4666)`` and Info the message's abbreviation (``DATA ``), as
Wireshark's. What Protocol Data carries (ISUP, SCCP) is left as data."""

from __future__ import annotations

from sniffer.decode.core import Ctx, F, Header, data_layer
from sniffer.decode.sctp import SCTP_PORTS, SCTP_PPIDS

M3UA_CLASSES = {
    0: "Management messages",
    1: "Transfer messages",
    2: "SS7 signalling network management messages",
    3: "ASP state maintenance messages",
    4: "ASP traffic maintenance messages",
    9: "Routing key management messages",
}
#: (class, type) -> Wireshark's abbreviation (the Info column)
M3UA_ABBREV = {
    (0, 0): "ERR",
    (0, 1): "NTFY",
    (1, 1): "DATA",
    (2, 1): "DUNA",
    (2, 2): "DAVA",
    (2, 3): "DAUD",
    (2, 4): "SCON",
    (2, 5): "DUPU",
    (2, 6): "DRST",
    (3, 1): "ASPUP",
    (3, 2): "ASPDN",
    (3, 3): "BEAT",
    (3, 4): "ASPUP_ACK",
    (3, 5): "ASPDN_ACK",
    (3, 6): "BEAT_ACK",
    (4, 1): "ASPAC",
    (4, 2): "ASPIA",
    (4, 3): "ASPAC_ACK",
    (4, 4): "ASPIA_ACK",
    (9, 1): "REG_REQ",
    (9, 2): "REG_RSP",
    (9, 3): "DEREG_REQ",
    (9, 4): "DEREG_RSP",
}

M3UA = Header(
    (
        F("m3ua.version", "Version", 0, 1),
        F("m3ua.reserved", "Reserved", 1, 1),
        F("m3ua.message_class", "Message class", 2, 1, names=M3UA_CLASSES),
        F("m3ua.message_type", "Message Type", 3, 1),
        F("m3ua.message_length", "Message length", 4, 4),
    )
)
PARAM = Header(
    (F("m3ua.parameter_tag", "Parameter Tag", 0, 2), F("m3ua.parameter_length", "Parameter length", 2, 2))
)


@SCTP_PPIDS.register(3)
@SCTP_PORTS.register(2905)
def dissect_m3ua(ctx: Ctx, off: int, end: int) -> None:
    lim = min(end, len(ctx.data))
    if lim - off < 8 or ctx.data[off] != 1:
        data_layer(ctx, off, end)
        return
    ctx.push("m3ua", "MTP 3 User Adaptation Layer", off, lim - off)
    ctx.proto = "M3UA (RFC 4666)"
    vals = M3UA.read(ctx, off, end)
    if vals is None:
        return
    key = (vals["m3ua.message_class"], vals["m3ua.message_type"])
    ctx.info = f"{M3UA_ABBREV.get(key, 'Unknown')} "
    o = off + 8
    stop = min(off + vals["m3ua.message_length"], lim)
    while o + 4 <= stop:
        p = PARAM.read(ctx, o, end)
        if p is None:
            break
        ln = p["m3ua.parameter_length"]
        if ln < 4:
            break
        o += (ln + 3) & ~3
