"""Bluetooth HCI: H4 (link type 187, direction unknown), H4 with a direction header (201) and the Linux
monitor (254): HCI commands, events (Command Complete/Status name the command) and ACL data with the L2CAP
basic header and signalling commands. Wireshark's field names, Protocol and Info columns; command and
event names for the common ones (others show their number)."""

from __future__ import annotations

from sniffer.decode.core import HEX2, HEX4, LINKTYPES, Ctx, F, Header, Table, data_layer

HCI_COMMANDS = {
    0x0401: "Inquiry",
    0x0402: "Inquiry Cancel",
    0x0405: "Create Connection",
    0x0406: "Disconnect",
    0x0409: "Accept Connection Request",
    0x0419: "Remote Name Request",
    0x0C01: "Set Event Mask",
    0x0C03: "Reset",
    0x0C05: "Set Event Filter",
    0x0C13: "Change Local Name",
    0x0C14: "Read Local Name",
    0x0C1A: "Write Scan Enable",
    0x0C24: "Write Class of Device",
    0x1001: "Read Local Version Information",
    0x1002: "Read Local Supported Commands",
    0x1003: "Read Local Supported Features",
    0x1005: "Read Buffer Size",
    0x1009: "Read BD ADDR",
    0x2001: "LE Set Event Mask",
    0x2002: "LE Read Buffer Size",
    0x2006: "LE Set Advertising Parameters",
    0x2008: "LE Set Advertising Data",
    0x200A: "LE Set Advertise Enable",
    0x200B: "LE Set Scan Parameters",
    0x200C: "LE Set Scan Enable",
    0x200D: "LE Create Connection",
}
HCI_EVENTS = {
    0x01: "Inquiry Complete",
    0x02: "Inquiry Result",
    0x03: "Connect Complete",
    0x04: "Connect Request",
    0x05: "Disconnect Complete",
    0x07: "Remote Name Request Complete",
    0x0E: "Command Complete",
    0x0F: "Command Status",
    0x13: "Number of Completed Packets",
    0x3E: "LE Meta",
}
L2CAP_SIGNALS = {
    0x01: "Command Reject",
    0x02: "Connection Request",
    0x03: "Connection Response",
    0x04: "Configure Request",
    0x05: "Configure Response",
    0x06: "Disconnection Request",
    0x07: "Disconnection Response",
    0x08: "Echo Request",
    0x09: "Echo Response",
    0x0A: "Information Request",
    0x0B: "Information Response",
}

L2CAP_INFO_TYPES = {1: "Connectionless MTU", 2: "Extended Features Mask", 3: "Fixed Channels Supported"}

#: H4 packet type -> dissector (1 command, 2 ACL, 4 event)
HCI_TYPES = Table("HCI H4 packet type")

CMD = Header(
    (
        F("bthci_cmd.opcode", "Command Opcode", 0, 2, "le", disp=HEX4, names=HCI_COMMANDS),
        F("bthci_cmd.param_length", "Parameter Total Length", 2, 1),
    )
)
EVT = Header(
    (
        F("bthci_evt.code", "Event Code", 0, 1, disp=HEX2, names=HCI_EVENTS),
        F("bthci_evt.param_length", "Parameter Total Length", 1, 1),
    )
)
L2CAP = Header((F("btl2cap.length", "Length", 0, 2, "le"), F("btl2cap.cid", "CID", 2, 2, "le", disp=HEX4)))

# the direction word of each frame: "Sent " / "Rcvd " / "UnknownDirection "
_DIR = {0: "Sent ", 1: "Rcvd "}


def _cmd_name(op: int) -> str:
    return HCI_COMMANDS.get(op) or f"Unknown 0x{op:04x}"


def _direction(ctx: Ctx) -> str:
    d = ctx.fields.get("hci_h4.direction")
    return _DIR.get(d, "UnknownDirection ") if isinstance(d, int) else "UnknownDirection "


@HCI_TYPES.register(1)
def dissect_hci_cmd(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("bthci_cmd", "Bluetooth HCI Command", off, 3)
    ctx.proto = "HCI_CMD"
    ctx.src, ctx.dst = "host", "controller"
    vals = CMD.read(ctx, off, end)
    if vals is not None:
        ctx.info = _direction(ctx) + _cmd_name(vals["bthci_cmd.opcode"])


@HCI_TYPES.register(4)
def dissect_hci_evt(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("bthci_evt", "Bluetooth HCI Event", off, 2)
    ctx.proto = "HCI_EVT"
    ctx.src, ctx.dst = "controller", "host"
    vals = EVT.read(ctx, off, end)
    if vals is None:
        return
    code = vals["bthci_evt.code"]
    info = HCI_EVENTS.get(code) or f"Unknown 0x{code:02x}"
    data = ctx.data
    at = {0x0E: 3, 0x0F: 4}.get(code)  # where Command Complete / Status name their command
    if at is not None and ctx.has(off + at, 2, end):
        if code == 0x0E:
            ctx.add(
                "bthci_evt.num_command_packets",
                data[off + 2],
                off + 2,
                1,
                "Number of Allowed Command Packets",
            )
        else:
            ctx.add("bthci_evt.status", data[off + 2], off + 2, 1, "Status")
            ctx.add(
                "bthci_evt.num_command_packets",
                data[off + 3],
                off + 3,
                1,
                "Number of Allowed Command Packets",
            )
        op = int.from_bytes(data[off + at : off + at + 2], "little")
        ctx.add("bthci_evt.opcode", op, off + at, 2, "Command Opcode")
        info += f" ({_cmd_name(op)})"
        if code == 0x0E and vals["bthci_evt.param_length"] > 3 and ctx.has(off + 5, 1, end):
            ctx.add("bthci_evt.status", data[off + 5], off + 5, 1, "Status")  # the first return parameter
    elif code in (0x01, 0x03, 0x05, 0x07) and ctx.has(off + 2, 1, end):
        ctx.add("bthci_evt.status", data[off + 2], off + 2, 1, "Status")
    ctx.info = _direction(ctx) + info


@HCI_TYPES.register(2)
def dissect_hci_acl(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("bthci_acl", "Bluetooth HCI ACL Packet", off, 4)
    ctx.proto = "HCI_ACL"
    if not ctx.has(off, 4, end):
        return
    data = ctx.data
    hf = int.from_bytes(data[off : off + 2], "little")
    ctx.add(
        "bthci_acl.chandle",
        hf & 0x0FFF,
        off,
        2,
        "Connection Handle",
        f"Connection Handle: 0x{hf & 0xFFF:03x}",
    )
    ctx.add("bthci_acl.pb_flag", (hf >> 12) & 3, off, 2, "PB Flag")
    ctx.add("bthci_acl.bc_flag", hf >> 14, off, 2, "BC Flag")
    ln = int.from_bytes(data[off + 2 : off + 4], "little")
    ctx.add("bthci_acl.length", ln, off + 2, 2, "Data Total Length")
    d = ctx.fields.get("hci_h4.direction")
    if d == 0:
        ctx.src, ctx.dst = "localhost ()", "remote ()"
    elif d == 1:
        ctx.src, ctx.dst = "remote ()", "localhost ()"
    ctx.info = _direction(ctx).rstrip()
    if (hf >> 12) & 3 in (0, 2) and ctx.has(off + 4, 4, end):  # the first fragment starts with L2CAP
        _l2cap(ctx, off + 4, min(end, off + 4 + ln))


def _l2cap(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("btl2cap", "Bluetooth L2CAP Protocol", off, 4)
    ctx.proto = "L2CAP"
    vals = L2CAP.read(ctx, off, end)
    if vals is None:
        return
    data = ctx.data
    info = _direction(ctx)
    if vals["btl2cap.cid"] in (1, 5) and ctx.has(off + 4, 4, end):  # signalling channel
        code = data[off + 4]
        ctx.add("btl2cap.cmd_code", code, off + 4, 1, "Command Code")
        ctx.add("btl2cap.cmd_ident", data[off + 5], off + 5, 1, "Command Identifier")
        ctx.add(
            "btl2cap.cmd_length",
            int.from_bytes(data[off + 6 : off + 8], "little"),
            off + 6,
            2,
            "Command Length",
        )
        info += L2CAP_SIGNALS.get(code) or f"Unknown Command 0x{code:02x}"
        if code in (0x0A, 0x0B) and ctx.has(off + 8, 2, end):
            it = int.from_bytes(data[off + 8 : off + 10], "little")
            info += f" ({L2CAP_INFO_TYPES.get(it, 'Unknown')})"
    else:
        info += "Connection oriented channel"
        data_layer(ctx, off + 4, end)
    ctx.info = info


def _h4(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("hci_h4", "Bluetooth HCI H4", off, 1)
    ctx.proto = "HCI_H4"
    if not ctx.has(off, 1, end):
        return
    t = ctx.data[off]
    ctx.add("hci_h4.type", t, off, 1, "HCI Packet Type", f"HCI Packet Type: 0x{t:02x}")
    if HCI_TYPES.get(t) is None:
        data_layer(ctx, off + 1, end)
        return
    HCI_TYPES.map[t](ctx, off + 1, end)


@LINKTYPES.register(187)
def dissect_h4(ctx: Ctx, off: int, end: int) -> None:
    ctx.protos.append("bluetooth")
    _h4(ctx, off, end)


@LINKTYPES.register(201)
def dissect_h4_phdr(ctx: Ctx, off: int, end: int) -> None:
    ctx.protos.append("bluetooth")
    if not ctx.has(off, 4, end):
        return
    d = int.from_bytes(ctx.data[off : off + 4], "big")
    ctx.add("hci_h4.direction", d, off, 4, "Direction")
    _h4(ctx, off + 4, end)


# Linux monitor opcodes: (H4 packet type, direction) of the packet that follows
_MON = {2: (1, 0), 3: (4, 1), 4: (2, 0), 5: (2, 1)}
MON = Header((F("hci_mon.adapter_id", "Adapter ID", 0, 2), F("hci_mon.opcode", "Opcode", 2, 2)))


@LINKTYPES.register(254)
def dissect_hci_mon(ctx: Ctx, off: int, end: int) -> None:
    ctx.protos.append("bluetooth")
    ctx.push("hci_mon", "Bluetooth Linux Monitor", off, 4)
    ctx.proto = "HCI_MON"
    vals = MON.read(ctx, off, end)
    if vals is None:
        return
    kind = _MON.get(vals["hci_mon.opcode"])
    if kind is None:
        ctx.info = f"Opcode {vals['hci_mon.opcode']}"
        data_layer(ctx, off + 4, end)
        return
    t, d = kind
    ctx.fields["hci_h4.direction"] = d  # not a field of Wireshark's: removed below
    HCI_TYPES.map[t](ctx, off + 4, end)
    ctx.fields.pop("hci_h4.direction", None)


__all__ = ["HCI_TYPES", "dissect_h4", "dissect_hci_mon"]
