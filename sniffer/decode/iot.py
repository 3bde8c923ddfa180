"""MQTT (v3.1.1, TCP 1883), Modbus/TCP (TCP 502) and OpenFlow (TCP 6653), one segment at a time, with Wireshark 4.0's field
names and columns.

MQTT: every control packet of the segment (fixed header, remaining length, the variable header of
CONNECT / CONNACK / PUBLISH / the acks / SUBSCRIBE / SUBACK / UNSUBSCRIBE); Info lists them
(``Publish Message (id=7) [a/c]``, ``Ping Request, Disconnect Req``). Wireshark learns the protocol
version from the CONNECT of the conversation; here MQTT 3.1.1 is assumed when the segment has none.

Modbus/TCP: the MBAP header and the function code; a segment to port 502 is a query, from it a response
(Info ``   Query: Trans:     1; Unit:   1, Func:   3: Read Holding Registers``, exceptions flagged), the
common read/write requests' reference number and counts.

OpenFlow: every message's header (version 1.0 as ``openflow_v1``, 1.3 as ``openflow_v4``, 1.4 / 1.5 as
``openflow_v5`` / ``openflow_v6``), Info ``Type: OFPT_HELLO`` of the segment's last message, as Wireshark.
"""

from __future__ import annotations

from sniffer.decode.core import TCP_PORTS, Ctx, F, Header, data_layer, hexstr

MQTT_PORT = 1883
MODBUS_PORT = 502

MQTT_TYPES = {
    1: "Connect Command",
    2: "Connect Ack",
    3: "Publish Message",
    4: "Publish Ack",
    5: "Publish Received",
    6: "Publish Release",
    7: "Publish Complete",
    8: "Subscribe Request",
    9: "Subscribe Ack",
    10: "Unsubscribe Request",
    11: "Unsubscribe Ack",
    12: "Ping Request",
    13: "Ping Response",
    14: "Disconnect Req",
    15: "Auth",
}

MQTT_FIXED = Header(
    (
        F("mqtt.hdrflags", "Header Flags", 0, 1, disp=hexstr(2)),
        F("mqtt.msgtype", "Message Type", 0, 1, mask=0xF0, names=MQTT_TYPES),
        F("mqtt.dupflag", "DUP Flag", 0, 1, mask=0x08),
        F("mqtt.qos", "QoS Level", 0, 1, mask=0x06),
        F("mqtt.retain", "Retain", 0, 1, mask=0x01),
    )
)
#: the fixed header's flags of the packet types that have none (the 4 low bits are reserved)
_RESERVED_FLAGS = {1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}  # all but PUBLISH
MQTT_FIXED_RESERVED = Header(
    (
        F("mqtt.hdrflags", "Header Flags", 0, 1, disp=hexstr(2)),
        F("mqtt.msgtype", "Message Type", 0, 1, mask=0xF0, names=MQTT_TYPES),
        F("mqtt.hdr_reserved", "Reserved", 0, 1, mask=0x0F),
    )
)
MQTT_CONNECT_FLAGS = Header(
    (
        F("mqtt.conflags", "Connect Flags", 0, 1, disp=hexstr(2)),
        F("mqtt.conflag.uname", "User Name Flag", 0, 1, mask=0x80),
        F("mqtt.conflag.passwd", "Password Flag", 0, 1, mask=0x40),
        F("mqtt.conflag.retain", "Will Retain", 0, 1, mask=0x20),
        F("mqtt.conflag.qos", "QoS Level", 0, 1, mask=0x18),
        F("mqtt.conflag.willflag", "Will Flag", 0, 1, mask=0x04),
        F("mqtt.conflag.cleansess", "Clean Session Flag", 0, 1, mask=0x02),
        F("mqtt.conflag.reserved", "(Reserved)", 0, 1, mask=0x01),
    )
)


def _to_server(ctx: Ctx, port: int) -> bool:
    dp = ctx.fields.get("tcp.dstport")
    if isinstance(dp, list):
        dp = dp[-1]
    return bool(dp == port)


def _u16(data: bytes, o: int) -> int:
    return data[o] << 8 | data[o + 1]


def _remaining_length(data: bytes, o: int, lim: int) -> tuple[int, int] | None:
    """MQTT's variable-length integer at ``o``: (value, bytes used), None if cut or over 4 bytes."""
    v = 0
    for i in range(4):
        if o + i >= lim:
            return None
        b = data[o + i]
        v |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return v, i + 1
    return None


@TCP_PORTS.register(MQTT_PORT)
def dissect_mqtt(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    names: list[str] = []
    o = off
    while o < lim:
        t = data[o] >> 4
        rl = _remaining_length(data, o + 1, lim)
        if not t or rl is None:
            break
        ln, n = rl
        body = o + 1 + n
        stop = body + ln
        ctx.push("mqtt", f"MQ Telemetry Transport Protocol, {MQTT_TYPES[t]}", o, min(stop, lim) - o)
        if names:  # (a layer per message in the tree; frame.protocols names mqtt once, as Wireshark)
            ctx.protos.pop()
        ctx.proto = "MQTT"
        (MQTT_FIXED_RESERVED if t in _RESERVED_FLAGS else MQTT_FIXED).read(ctx, o, lim)
        ctx.add("mqtt.len", ln, o + 1, n, "Msg Len")
        names.append(_mqtt_body(ctx, t, data[o] & 0x0F, body, min(stop, lim)))
        o = stop
    if not names:
        data_layer(ctx, off, end)
        return
    ctx.info = ", ".join(names)


def _mqtt_str(ctx: Ctx, o: int, lim: int, name: str, label: str) -> tuple[str, int] | None:
    """A 2-byte length and the string after it: (string, offset after it)."""
    data = ctx.data
    if o + 2 > lim:
        return None
    n = _u16(data, o)
    ctx.add(f"{name}_len", n, o, 2, f"{label} Length")
    s = data[o + 2 : min(o + 2 + n, lim)].decode("utf-8", "replace")
    ctx.add(name, s, o + 2, n, label)
    return s, o + 2 + n


def _mqtt_body(ctx: Ctx, t: int, flags: int, o: int, lim: int) -> str:
    data = ctx.data
    name = MQTT_TYPES[t]
    if t == 1 and o + 10 <= lim:  # CONNECT
        ctx.add("mqtt.proto_len", _u16(data, o), o, 2, "Protocol Name Length")
        pn = _u16(data, o)
        ctx.add(
            "mqtt.protoname", data[o + 2 : o + 2 + pn].decode("utf-8", "replace"), o + 2, pn, "Protocol Name"
        )
        v = o + 2 + pn
        if v + 4 <= lim:
            ctx.add("mqtt.ver", data[v], v, 1, "Version")
            MQTT_CONNECT_FLAGS.read(ctx, v + 1, lim)
            ctx.add("mqtt.kalive", _u16(data, v + 2), v + 2, 2, "Keep Alive")
            if data[v] != 5:  # (v5 has properties first: not decoded)
                _mqtt_str(ctx, v + 4, lim, "mqtt.clientid", "Client ID")
    elif t == 2 and o + 2 <= lim:  # CONNACK
        ctx.add("mqtt.conack.flags", data[o], o, 1, "Acknowledge Flags")
        ctx.add("mqtt.conack.flags.reserved", data[o] >> 1, o, 1, "Reserved")
        ctx.add("mqtt.conack.flags.sp", data[o] & 1, o, 1, "Session Present")
        ctx.add("mqtt.connack.reason_code", data[o + 1], o + 1, 1, "Reason Code")
    elif t == 3:  # PUBLISH
        got = _mqtt_str(ctx, o, lim, "mqtt.topic", "Topic")
        if got is None:
            return name
        topic, p = got
        mid = ""
        if (flags >> 1) & 3 and p + 2 <= lim:
            ctx.add("mqtt.msgid", _u16(data, p), p, 2, "Message Identifier")
            mid = f" (id={_u16(data, p)})"
            p += 2
        if p < lim:
            ctx.add("mqtt.msg", data[p:lim].hex(":"), p, lim - p, "Message")
        return f"{name}{mid} [{topic}]"
    elif t in (4, 5, 6, 7, 9, 10, 11) and o + 2 <= lim:  # the acks, SUBACK, UNSUBSCRIBE, UNSUBACK
        ctx.add("mqtt.msgid", _u16(data, o), o, 2, "Message Identifier")
        if t == 9:
            for q in range(o + 2, lim):
                ctx.add("mqtt.suback.reason_code", data[q], q, 1, "Reason Code")
        elif t == 10:
            p = o + 2
            while p + 2 <= lim:
                got = _mqtt_str(ctx, p, lim, "mqtt.topic", "Topic")
                if got is None:
                    break
                p = got[1]
        return f"{name} (id={_u16(data, o)})"
    elif t == 8 and o + 2 <= lim:  # SUBSCRIBE
        ctx.add("mqtt.msgid", _u16(data, o), o, 2, "Message Identifier")
        topics = []
        p = o + 2
        while p + 2 <= lim:
            got = _mqtt_str(ctx, p, lim, "mqtt.topic", "Topic")
            if got is None or got[1] >= lim + 1:
                break
            topics.append(got[0])
            p = got[1]
            if p < lim:
                ctx.add("mqtt.sub.qos", data[p] & 3, p, 1, "Requested QoS")
                p += 1
        return f"{name} (id={_u16(data, o)}) " + " ".join(f"[{t}]" for t in topics)
    return name


# ---------------------------------------------------------------------------------------------
# Modbus/TCP

MBAP = Header(
    (
        F("mbtcp.trans_id", "Transaction Identifier", 0, 2),
        F("mbtcp.prot_id", "Protocol Identifier", 2, 2),
        F("mbtcp.len", "Length", 4, 2),
        F("mbtcp.unit_id", "Unit Identifier", 6, 1),
    )
)

MODBUS_FUNCTIONS = {
    1: "Read Coils",
    2: "Read Discrete Inputs",
    3: "Read Holding Registers",
    4: "Read Input Registers",
    5: "Write Single Coil",
    6: "Write Single Register",
    7: "Read Exception Status",
    8: "Diagnostics",
    11: "Get Comm Event Counter",
    12: "Get Comm Event Log",
    15: "Write Multiple Coils",
    16: "Write Multiple Registers",
    17: "Report Slave ID",
    20: "Read File Record",
    21: "Write File Record",
    22: "Mask Write Register",
    23: "Read Write Register",
    24: "Read FIFO Queue",
    43: "Encapsulated Interface Transport",
}


@TCP_PORTS.register(MODBUS_PORT)
def dissect_mbtcp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if lim - off < 8 or _u16(data, off + 2) != 0:  # (Wireshark's check: protocol identifier 0)
        data_layer(ctx, off, end)
        return
    query = _to_server(ctx, MODBUS_PORT)
    ctx.push("mbtcp", "Modbus/TCP", off, 7)
    ctx.proto = "Modbus/TCP"
    v = MBAP.read(ctx, off, lim)
    if v is None:
        return
    o = off + 7
    fc = data[o]
    func = fc & 0x7F
    ctx.push("modbus", "Modbus", o, min(lim, off + 6 + int(v["mbtcp.len"])) - o)
    ctx.add("modbus.func_code", func, o, 1, "Function Code")
    name = MODBUS_FUNCTIONS.get(func, "Unknown function")
    info = (
        f"{'   Query' if query else 'Response'}: Trans: {v['mbtcp.trans_id']:5d}; Unit: {v['mbtcp.unit_id']:3d}, "
        f"Func: {func:3d}: {name}"
    )
    if fc & 0x80:
        info += ". Exception returned "
        if o + 1 < lim:
            ctx.add("modbus.exception_code", data[o + 1], o + 1, 1, "Exception Code")
    elif query and func in (1, 2, 3, 4) and o + 5 <= lim:
        ctx.add("modbus.reference_num", _u16(data, o + 1), o + 1, 2, "Reference Number")
        ctx.add("modbus.bit_cnt" if func < 3 else "modbus.word_cnt", _u16(data, o + 3), o + 3, 2, "Count")
    elif query and func in (15, 16) and o + 6 <= lim:
        ctx.add("modbus.reference_num", _u16(data, o + 1), o + 1, 2, "Reference Number")
        ctx.add("modbus.bit_cnt" if func == 15 else "modbus.word_cnt", _u16(data, o + 3), o + 3, 2, "Count")
        ctx.add("modbus.byte_cnt", data[o + 5], o + 5, 1, "Byte Count")
    elif func in (5, 6) and o + 5 <= lim:
        ctx.add("modbus.reference_num", _u16(data, o + 1), o + 1, 2, "Reference Number")
    elif not query and func in (1, 2, 3, 4) and o + 2 <= lim:
        ctx.add("modbus.byte_cnt", data[o + 1], o + 1, 1, "Byte Count")
    ctx.info = info


# ---------------------------------------------------------------------------------------------
# OpenFlow

OPENFLOW_PORT = 6653

_OF10_TYPES = (
    "HELLO ERROR ECHO_REQUEST ECHO_REPLY VENDOR FEATURES_REQUEST FEATURES_REPLY GET_CONFIG_REQUEST "
    "GET_CONFIG_REPLY SET_CONFIG PACKET_IN FLOW_REMOVED PORT_STATUS PACKET_OUT FLOW_MOD PORT_MOD STATS_REQUEST "
    "STATS_REPLY BARRIER_REQUEST BARRIER_REPLY QUEUE_GET_CONFIG_REQUEST QUEUE_GET_CONFIG_REPLY"
).split()
_OF13_TYPES = (
    "HELLO ERROR ECHO_REQUEST ECHO_REPLY EXPERIMENTER FEATURES_REQUEST FEATURES_REPLY GET_CONFIG_REQUEST "
    "GET_CONFIG_REPLY SET_CONFIG PACKET_IN FLOW_REMOVED PORT_STATUS PACKET_OUT FLOW_MOD GROUP_MOD PORT_MOD "
    "TABLE_MOD MULTIPART_REQUEST MULTIPART_REPLY BARRIER_REQUEST BARRIER_REPLY QUEUE_GET_CONFIG_REQUEST "
    "QUEUE_GET_CONFIG_REPLY ROLE_REQUEST ROLE_REPLY GET_ASYNC_REQUEST GET_ASYNC_REPLY SET_ASYNC METER_MOD"
).split()
#: version -> (layer, label, field prefix of version/length/xid, field of the type, type names)
_OF_VERSIONS = {
    1: ("openflow_v1", "OpenFlow 1.0", "openflow", "openflow_1_0.type", _OF10_TYPES),
    4: ("openflow_v4", "OpenFlow 1.3", "openflow_v4", "openflow_v4.type", _OF13_TYPES),
    5: ("openflow_v5", "OpenFlow 1.4", "openflow_v5", "openflow_v5.type", _OF13_TYPES),
    6: ("openflow_v6", "OpenFlow 1.5", "openflow_v6", "openflow_v6.type", _OF13_TYPES),
}


@TCP_PORTS.register(OPENFLOW_PORT)
def dissect_openflow(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if lim - off < 8 or data[off] not in _OF_VERSIONS:
        data_layer(ctx, off, end)
        return
    ctx.push("openflow", "OpenFlow", off, lim - off)
    ctx.proto = "OpenFlow"
    o = off
    while o + 8 <= lim and data[o] in _OF_VERSIONS:
        layer, label, pre, tfield, types = _OF_VERSIONS[data[o]]
        ln = _u16(data, o + 2)
        t = data[o + 1]
        ctx.push(layer, label, o, min(max(ln, 8), lim - o))
        ctx.add(f"{pre}.version", data[o], o, 1, "Version")
        name = f"OFPT_{types[t]}" if t < len(types) else f"Unknown ({t})"
        ctx.add(tfield, t, o + 1, 1, "Type", f"Type: {name} ({t})")
        ctx.add(f"{pre}.length", ln, o + 2, 2, "Length")
        ctx.add(f"{pre}.xid", int.from_bytes(data[o + 4 : o + 8], "big"), o + 4, 4, "Transaction ID")
        ctx.info = f"Type: {name}"
        if ln < 8:
            break
        o += ln


DECLARES: tuple[str, ...] = ("mqtt", "mbtcp", "modbus", "mqtt.clientid_len", "mqtt.topic_len", "openflow")
DECLARES += tuple(f"{v[2]}.{f}" for v in _OF_VERSIONS.values() for f in ("version", "length", "xid"))
DECLARES += tuple(v[0] for v in _OF_VERSIONS.values()) + tuple(v[3] for v in _OF_VERSIONS.values())
