"""Expert items of the protocol layers other than the TCP analysis, with Wireshark's severities, groups
and protocol names (what ``tshark -q -z expert`` lists): stateless checks on one frame's decoded fields.

``items(fields, frame)`` gives (message, severity, group, protocol) tuples in the order Wireshark adds them
(outer layers first). The TCP analysis items come from ``model.tcpanalysis``; ``stats --expert`` and the
JSON view (``read --json``) put both together. Covered: IPv4 TTL notes ("Time To Live" only N, != 1 for
the Local Network Control Block), an Ethernet source that is a group address, an IPv6 payload length of 0
(TSO), ICMP bad checksums, HTTP/SSDP request and status lines (chats), malformed packets.
"""

from __future__ import annotations

import struct
from typing import Any

from sniffer.decode.layers import link
from sniffer.frame import LINKTYPE_ETHERNET, Frame

# severities and groups (epan/proto.h)
PI_CHAT = 0x00200000
PI_NOTE = 0x00400000
PI_WARN = 0x00600000
PI_ERROR = 0x00800000
PI_CHECKSUM = 0x01000000
PI_SEQUENCE = 0x02000000
PI_MALFORMED = 0x07000000
PI_REASSEMBLE = 0x08000000
PI_PROTOCOL = 0x09000000
PI_DEPRECATED = 0x0C000000

#: tshark's names of the groups (stats --expert prints them)
GROUP_NAMES = {
    PI_CHECKSUM: "Checksum",
    PI_SEQUENCE: "Sequence",
    PI_MALFORMED: "Malformed",
    PI_REASSEMBLE: "Reassemble",
    PI_PROTOCOL: "Protocol",
    PI_DEPRECATED: "Deprecated",
}

_LNCB_MSG = '"Time To Live" != {} for a packet sent to the Local Network Control Block (see RFC 3171)'
#: the TTL a packet to 224.0.0.0/24 must have where it is not 1 (0: any): VRRP, GLBP, mDNS, LLMNR
_LNCB_TTL = {0xE0000012: 255, 0xE0000066: 255, 0xE00000FB: 0, 0xE00000FC: 0}
_GROUP_SRC = "Source MAC must not be a group address: IEEE 802.3-2002, Section 3.2.3(b)"
_TSO = 'IPv6 payload length equals 0 (maybe because of "TCP segmentation offload" (TSO))'
_ROUTING0 = "Routing header type is deprecated"

#: _ws.malformed's protocol (as the decoder names it) -> tshark's short name
_PROTO_NAMES = {
    "icmpv6": "ICMPv6",
    "ipv6": "IPv6",
    "ip": "IPv4",
    "ipv4": "IPv4",
    "udp": "UDP",
    "tcp": "TCP",
    "ntp": "NTP",
    "dns": "DNS",
    "icmp": "ICMP",
    "sctp": "SCTP",
    "pim": "PIM",
}

#: an expert message is cut to this many characters (Wireshark's ITEM_LABEL_LENGTH, 240 with the NUL)
LABEL_MAX = 239

#: IP protocols whose low TTL is expected (Wireshark: PIM, OSPF)
_TTL_EXEMPT = frozenset({103, 89})


def _list(v: Any) -> list[Any]:
    return v if type(v) is list else [] if v is None else [v]


def _ipv4_int(a: str) -> int:
    try:
        p = [int(x) for x in a.split(".")]
        return p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]
    except (ValueError, IndexError):
        return 0


def items(fields: dict[str, Any], frame: Frame | None = None) -> list[tuple[str, int, int, str]]:
    """The expert items of one frame's layers (not the TCP analysis)."""
    out: list[tuple[str, int, int, str]] = []
    for src in _list(fields.get("eth.src")):
        try:
            if int(str(src)[:2], 16) & 1:
                out.append((_GROUP_SRC, PI_WARN, PI_PROTOCOL, "Ethernet"))
        except ValueError:
            pass
    dsts, ttls, protos = (
        _list(fields.get("ip.dst")),
        _list(fields.get("ip.ttl")),
        _list(fields.get("ip.proto")),
    )
    layers = str(fields.get("frame.protocols", "")).split(":")
    if "icmp" in layers:  # the IP header an ICMP error quotes is not checked (Wireshark: in_error_pkt)
        n = layers[: layers.index("icmp")].count("ip")
        dsts, ttls, protos = dsts[:n], ttls[:n], protos[:n]
    for dst, ttl, proto in zip(dsts, ttls, protos, strict=False):
        d = _ipv4_int(str(dst))
        if d & 0xFFFFFF00 == 0xE0000000:  # 224.0.0.0/24: TTL 1, but for the protocols that differ
            want = _LNCB_TTL.get(d, 1)
            if want and ttl != want:
                out.append((_LNCB_MSG.format(want), PI_NOTE, PI_SEQUENCE, "IPv4"))
        elif d & 0xF0000000 != 0xE0000000 and type(ttl) is int and ttl < 5 and proto not in _TTL_EXEMPT:
            out.append((f'"Time To Live" only {ttl}', PI_NOTE, PI_SEQUENCE, "IPv4"))
    for plen in _list(fields.get("ipv6.plen")):
        if plen == 0 and "ipv6.nxt" in fields and fields.get("ipv6.nxt") != 0:
            out.append((_TSO, PI_CHAT, PI_PROTOCOL, "IPv6"))
    for rtype in _list(fields.get("ipv6.routing.type")):
        if rtype == 0:
            out.append((_ROUTING0, PI_NOTE, PI_DEPRECATED, "IPv6 Routing"))
    if fields.get("icmp.checksum.status") == 0 and frame is not None:
        good = _icmp_checksum(frame)
        if good is not None:
            out.append((f"Bad checksum [should be 0x{good:04x}]", PI_WARN, PI_CHECKSUM, "ICMP"))
    _http(fields, out)
    why = fields.get("_ws.malformed")
    if why:
        name = str(why).rpartition(": ")[2]
        out.append(
            (
                "Malformed Packet (Exception occurred)",
                PI_ERROR,
                PI_MALFORMED,
                _PROTO_NAMES.get(name.lower(), name),
            )
        )
    return out


def frame_items(
    frame: Frame, fields: dict[str, Any] | None = None, payload: bool = True
) -> list[tuple[str, int, int, str]]:
    """``items`` of a frame without decoding it whole where its headers say it can have none but a
    malformed note: a plain IPv4/IPv6 packet (no tunnel, no ICMP, no HTTP/SSDP, no IPv6 routing header)
    whose Ethernet source is no group address and whose IPv4 TTL and destination ask for no note.
    ``fields``: its decoded fields when the caller has them (then they are used). ``payload=False``: the
    TCP payload is not dissected (a retransmission, a segment of a reassembled PDU: tshark does not hand
    it to the application dissector), so only the layers up to TCP can have items."""
    if fields is not None:
        return items(fields, frame)
    from sniffer.decode.fields import frame_fields, frame_protocols

    m = None
    if not payload:
        from sniffer.decode.layers import layer_map

        m = layer_map(frame)
    if m is not None and m.proto == 6:  # the walk vouches for the layers up to TCP: nothing after it
        found = _quick_items(frame, m.protos)
        if found is None:
            return items(_cut_fields(frame_fields(frame)), frame)
        return found
    protos, malformed = frame_protocols(frame)
    found = _quick_items(frame, protos)
    if found is None:
        return items(frame_fields(frame), frame)
    if malformed:
        found += items({"_ws.malformed": malformed})
    return found


def _cut_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of the layers up to TCP (the payload's dropped, as a retransmission shows)."""
    from sniffer.model.reassembly import _cut_after_tcp

    head, apps = _cut_after_tcp(str(fields.get("frame.protocols", "")))
    drop = set(apps)
    out = {k: v for k, v in fields.items() if k.split(".", 1)[0] not in drop}
    out.pop("_ws.malformed", None)
    out["frame.protocols"] = ":".join(head)
    return out


class ExpertScan:
    """Every expert item of a capture, frame by frame (sans-IO: ``feed`` each frame in order): the
    layers' items (``frame_items``) then the TCP analysis' (``model.tcpanalysis``), with TCP reassembly
    as tshark's defaults have it (a segment of a PDU completed later, a retransmission: the payload is
    not dissected; a completed PDU: its layers' items in the frame that completes it; a PDU dropped by
    the memory bounds: its Reassemble note). What ``stats --expert`` and the TUI's Expert panel run: one
    header walk per frame, a dissection only where an item may be."""

    def __init__(self, reassembly: bool = True) -> None:
        from sniffer.model.reassembly import TcpReassembler
        from sniffer.model.tcpanalysis import TcpAnalyzer

        self.tcp = TcpAnalyzer()
        self.ra = TcpReassembler() if reassembly else None

    def feed(
        self, number: int, frame: Frame
    ) -> tuple[list[tuple[str, int, int, str]], dict[str, Any] | None]:
        """(the frame's items as (message, severity, group, protocol), its TCP analysis or None)."""
        from sniffer.model.reassembly import NOTE, SEGMENT, apply_fields
        from sniffer.model.tcpanalysis import NO_SUBDISSECTOR

        tcp = self.tcp
        extra = tcp.feed_frame(number, frame)
        f = tcp.last_fields
        payload = True
        note = False
        if extra is not None:
            v = self.ra.feed(number, frame, extra) if self.ra is not None else None
            if v is not None:
                if v.kind == NOTE:
                    note = True
                elif v.kind == SEGMENT and f is None:
                    payload = False
                else:
                    from sniffer.decode.fields import frame_fields

                    f = apply_fields(f or frame_fields(frame), v, frame)
            elif extra["_tcp.flags"] & NO_SUBDISSECTOR:
                payload = False
                if f is not None:
                    f = _cut_fields(f)
        found = frame_items(frame, f, payload)
        if note:
            from sniffer.model.reassembly import DROPPED_NOTE

            found.append((DROPPED_NOTE, PI_NOTE, PI_REASSEMBLE, "TCP"))
        if extra is not None:
            msgs = extra.get("_ws.expert.message")
            if msgs:
                for m, sev, g in zip(
                    msgs, extra["_ws.expert.severity"], extra["_ws.expert.group"], strict=False
                ):
                    found.append((m, sev, g, "TCP"))
        return found, extra


_QUICK_SKIP = (":http:", ":ssdp:", ":icmp:", ":ipv6.routing:", ":data-text-lines:")
_GROUP_ITEM = (_GROUP_SRC, PI_WARN, PI_PROTOCOL, "Ethernet")


def _quick_items(frame: Frame, protos: str) -> list[tuple[str, int, int, str]] | None:
    """The frame's items but the malformed note, from its bytes and its ``frame.protocols`` (the
    Ethernet source, IPv4's TTL notes), or None when only its decoded fields can tell (HTTP/SSDP, ICMP,
    an IPv6 routing header, tunnels, a zero IPv6 payload length...)."""
    p = f":{protos}:"
    for name in _QUICK_SKIP:
        if name in p:
            return None
    nip = p.count(":ip:") + p.count(":ipv6:")
    neth = p.count(":eth:")
    d = frame[1]
    eth = frame[3] == LINKTYPE_ETHERNET
    if neth != (1 if eth else 0) or nip > 1:
        return None
    if eth and len(d) < 14:
        return None
    found = [_GROUP_ITEM] if neth and d[6] & 1 else []
    if not nip:  # no IP layer: only the Ethernet source can have an item
        return found
    lk = link(d, frame[3])
    if lk is None:
        return None
    et, off = lk[0], lk[1]
    if et == 0x0800:
        if len(d) < off + 20:
            return None
        ttl, dst = d[off + 8], int.from_bytes(d[off + 16 : off + 20], "big")
        if dst & 0xFFFFFF00 == 0xE0000000:  # the Local Network Control Block (items' rule, from the bytes)
            want = _LNCB_TTL.get(dst, 1)
            if want and ttl != want:
                found = [*found, (_LNCB_MSG.format(want), PI_NOTE, PI_SEQUENCE, "IPv4")]
        elif dst & 0xF0000000 != 0xE0000000 and ttl < 5 and d[off + 9] not in _TTL_EXEMPT:
            found = [*found, (f'"Time To Live" only {ttl}', PI_NOTE, PI_SEQUENCE, "IPv4")]
        return found
    if et == 0x86DD:
        if len(d) < off + 40 or d[off + 4 : off + 6] == b"\0\0":
            return None
        return found
    return None


def _http(fields: dict[str, Any], out: list[tuple[str, int, int, str]]) -> None:
    """HTTP's chat item: the request or status line (SSDP's on UDP)."""
    proto = "SSDP" if "ssdp" in str(fields.get("frame.protocols", "")).split(":") else "HTTP"
    methods, uris, versions = (
        _list(fields.get("http.request.method")),
        _list(fields.get("http.request.uri")),
        _list(fields.get("http.request.version")),
    )
    for m, u, v in zip(methods, uris, versions or [""] * len(methods), strict=False):
        line = f"{m} {u} {v}" if v else f"{m} {u}"  # (HTTP/0.9: no version)
        out.append((f"{line}\\r\\n"[:LABEL_MAX], PI_CHAT, PI_SEQUENCE, proto))
    rv, codes, phrases = (
        _list(fields.get("http.response.version")),
        _list(fields.get("http.response.code")),
        _list(fields.get("http.response.phrase")),
    )
    for v, c, p in zip(rv, codes, phrases or [""] * len(codes), strict=False):
        out.append((f"{v} {c} {p}\\r\\n"[:LABEL_MAX], PI_CHAT, PI_SEQUENCE, proto))


def _icmp_checksum(frame: Frame) -> int | None:
    """The checksum an ICMP message (in IPv4, on the common link types) should carry."""
    from sniffer.model.l4 import _link

    link = _link(frame)
    if link is None or link[0] != 0x0800:
        return None
    d, off = frame[1], link[1]
    if len(d) < off + 20 or d[off + 9] != 1:
        return None
    ihl = (d[off] & 0x0F) * 4
    end = min(len(d), off + struct.unpack_from("!H", d, off + 2)[0])
    msg = bytearray(d[off + ihl : end])
    if len(msg) < 4:
        return None
    msg[2:4] = b"\0\0"
    if len(msg) % 2:
        msg.append(0)
    s: int = sum(struct.unpack(f"!{len(msg) // 2}H", msg))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def add(fields: dict[str, Any], found: list[tuple[str, int, int, str]]) -> dict[str, Any]:
    """Put ``found`` into the frame's ``_ws.expert.message/severity/group`` lists, before the items there
    (the TCP analysis': its layer comes after these), as tshark's fields list them."""
    if not found:
        return fields
    for key, i in (("_ws.expert.message", 0), ("_ws.expert.severity", 1), ("_ws.expert.group", 2)):
        old = _list(fields.get(key))
        fields[key] = [e[i] for e in found] + old
    return fields
