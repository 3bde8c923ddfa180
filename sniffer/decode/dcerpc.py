"""DCE/RPC connection-oriented PDUs (C706 chapter 12, MS-RPCE), found as Wireshark 4.0 finds them: by its
TCP heuristic on any port (version 5.0/5.1, a known PDU type) and on TCP 135 (the endpoint mapper).

Per segment, no conversation state: Bind / Alter_context list their context items with the interface
names Wireshark knows (``RPC_NETLOGON V1.0 (32bit NDR)``), Bind_ack their results; a Request or Response
shows ``opnum`` and context id. Wireshark names the interface of a Request from the Bind of its
conversation (``RPC_NETLOGON``, ``NetrLogonSamLogonWithFlags request``): that needs the earlier packet,
so sniffer says ``DCERPC`` with the header's Info, as tshark does when the Bind is not in the capture.
"""

from __future__ import annotations

from typing import Literal

from sniffer.decode.core import TCP_PORTS, Ctx, data_layer
from sniffer.decode.tcpheur import TCP_HEURISTICS

EPM_PORT = 135

PTYPES = {
    0: "Request",
    1: "Ping",
    2: "Response",
    3: "Fault",
    4: "Working",
    5: "Nocall",
    6: "Reject",
    7: "Ack",
    8: "Cl_cancel",
    9: "Fack",
    10: "Cancel_ack",
    11: "Bind",
    12: "Bind_ack",
    13: "Bind_nak",
    14: "Alter_context",
    15: "Alter_context_resp",
    16: "AUTH3",
    17: "Shutdown",
    18: "Co_cancel",
    19: "Orphaned",
    20: "RTS",
}
_FRAGMENT = ("Mid", "1st", "Last", "Single")
RESULTS = {0: "Acceptance", 1: "User rejection", 2: "Provider rejection", 3: "Negotiate ACK"}

#: interface and transfer syntax UUIDs -> the names Wireshark registers for them
UUID_NAMES = {
    "8a885d04-1ceb-11c9-9fe8-08002b104860": "32bit NDR",
    "71710533-beba-4937-8319-b5dbef9ccc36": "64bit NDR",
    "12345678-1234-abcd-ef00-01234567cffb": "RPC_NETLOGON",
    "e3514235-4b06-11d1-ab04-00c04fc2dcd2": "DRSUAPI",
    "12345778-1234-abcd-ef00-0123456789ab": "LSARPC",
    "12345778-1234-abcd-ef00-0123456789ac": "SAMR",
    "4b324fc8-1670-01d3-1278-5a47bf6ee188": "SRVSVC",
    "6bffd098-a112-3610-9833-46c3f87e345a": "WKSSVC",
    "e1af8308-5d1f-11c9-91a4-08002b14a0fa": "EPMv4",
    "367abb81-9844-35f1-ad32-98f038001003": "SVCCTL",
    "338cd001-2244-31f1-aaaa-900038001003": "WINREG",
    "12345678-1234-abcd-ef00-0123456789ab": "SPOOLSS",
    "3919286a-b10c-11d0-9ba8-00c04fd92ef5": "DSSETUP",
    "1ff70682-0a51-30e8-076d-740be8cee98b": "ATSVC",
    "4fc742e0-4a10-11cf-8273-00aa004ae673": "NETDFS",
    "50abc2a4-574d-40b3-9d66-ee4fd5fba076": "DNSSERVER",
    "000001a0-0000-0000-c000-000000000046": "ISystemActivator",
    "99fcfec4-5260-101b-bbcb-00aa0021347a": "IOXIDResolver",
    "86d35949-83c9-4044-b424-db363231fd0c": "ITaskSchedulerService",
}

#: the first 3 bytes of a PDU the heuristic may take: version 5, minor 0 or 1, PDU type 0-20
DCERPC_PREFIXES = frozenset(bytes((5, minor, t)) for minor in (0, 1) for t in PTYPES)


def _uuid(b: bytes, little: bool) -> str:
    """A GUID as Wireshark prints it (data1-3 in the PDU's byte order)."""
    o: Literal["little", "big"] = "little" if little else "big"
    d1 = int.from_bytes(b[0:4], o)
    d2 = int.from_bytes(b[4:6], o)
    d3 = int.from_bytes(b[6:8], o)
    return f"{d1:08x}-{d2:04x}-{d3:04x}-{b[8:10].hex()}-{b[10:16].hex()}"


class _Reader:
    __slots__ = ("ctx", "data", "lim", "little")

    def __init__(self, ctx: Ctx, lim: int, little: bool) -> None:
        self.ctx = ctx
        self.data = ctx.data
        self.lim = lim
        self.little = little

    def u(self, o: int, n: int) -> int:
        return int.from_bytes(self.data[o : o + n], "little" if self.little else "big")

    def add(self, name: str, o: int, n: int, label: str) -> int:
        v = self.u(o, n)
        self.ctx.add(name, v, o, n, label)
        return v


def _looks_like(data: bytes, off: int, lim: int) -> bool:
    return (
        lim - off >= 16
        and data[off] == 5
        and data[off + 1] in (0, 1)
        and data[off + 2] in PTYPES
        and int.from_bytes(data[off + 8 : off + 10], "little" if data[off + 4] & 0x10 else "big") >= 16
    )


def dissect_dcerpc(ctx: Ctx, off: int, end: int) -> bool:
    """Every PDU in the segment (their fields); the first gives the Info column. False if the payload
    does not start with a connection-oriented PDU header."""
    data = ctx.data
    lim = min(end, len(data))
    if not _looks_like(data, off, lim):
        return False
    ctx.proto = "DCERPC"
    info = ""
    o = off
    while o < lim and _looks_like(data, o, lim):
        part, o = _pdu(ctx, o, lim, end)
        if not info:
            info = part
        if part.endswith("[BoundErrorUnreassembled Packet]"):
            break
    ctx.info = info
    return True


def _pdu(ctx: Ctx, off: int, lim: int, end: int) -> tuple[str, int]:
    data = ctx.data
    little = bool(data[off + 4] & 0x10)
    r = _Reader(ctx, lim, little)
    flen = r.u(off + 8, 2)
    ctx.push(
        "dcerpc",
        "Distributed Computing Environment / Remote Procedure Call (DCE/RPC)",
        off,
        min(flen, lim - off),
    )
    ptype = data[off + 2]
    flags = data[off + 3]
    ctx.add("dcerpc.ver", data[off], off, 1, "Version")
    ctx.add("dcerpc.ver_minor", data[off + 1], off + 1, 1, "Version (minor)")
    ctx.add("dcerpc.pkt_type", ptype, off + 2, 1, "Packet type")
    ctx.add("dcerpc.cn_flags", flags, off + 3, 1, "Packet Flags")
    ctx.add("dcerpc.drep", data[off + 4 : off + 8].hex(":"), off + 4, 4, "Data Representation")
    ctx.add("dcerpc.cn_frag_len", flen, off + 8, 2, "Frag Length")
    ctx.add("dcerpc.cn_auth_len", r.u(off + 10, 2), off + 10, 2, "Auth Length")
    call_id = r.add("dcerpc.cn_call_id", off + 12, 4, "Call ID")
    info = f"{PTYPES[ptype]}: call_id: {call_id}, Fragment: {_FRAGMENT[flags & 3]}"
    stop = off + flen
    if stop > lim:  # the rest of the PDU is in later segments (tshark: the body throws a bounds error)
        return info + "[BoundErrorUnreassembled Packet]", lim
    b = off + 16
    if ptype in (11, 14):  # Bind, Alter_context
        info += _bind(r, b, stop)
    elif ptype in (12, 15):  # Bind_ack, Alter_context_resp
        info += _bind_ack(r, off, b, stop)
    elif ptype == 0 and b + 8 <= stop:  # Request
        r.add("dcerpc.cn_alloc_hint", b, 4, "Alloc hint")
        ctx_id = r.add("dcerpc.cn_ctx_id", b + 4, 2, "Context ID")
        opnum = r.add("dcerpc.opnum", b + 6, 2, "Opnum")
        info += f", opnum: {opnum}, Ctx: {ctx_id}"
    elif ptype in (2, 3) and b + 8 <= stop:  # Response, Fault
        r.add("dcerpc.cn_alloc_hint", b, 4, "Alloc hint")
        ctx_id = r.add("dcerpc.cn_ctx_id", b + 4, 2, "Context ID")
        r.add("dcerpc.cn_cancel_count", b + 6, 1, "Cancel count")
        info += f", Ctx: {ctx_id}"
        if ptype == 3 and b + 16 <= stop:
            st = r.add("dcerpc.cn_status", b + 8, 4, "Status")
            info += f", status: 0x{st:08x}"
    return info, stop


def _bind(r: _Reader, b: int, stop: int) -> str:
    ctx, data = r.ctx, r.data
    if b + 12 > stop:
        return ""
    r.add("dcerpc.cn_max_xmit", b, 2, "Max Xmit Frag")
    r.add("dcerpc.cn_max_recv", b + 2, 2, "Max Recv Frag")
    r.add("dcerpc.cn_assoc_group", b + 4, 4, "Assoc Group")
    n = data[b + 8]
    ctx.add("dcerpc.cn_num_ctx_items", n, b + 8, 1, "Num Ctx Items")
    items = []
    o = b + 12
    for _ in range(n):
        if o + 24 > stop:
            break
        r.add("dcerpc.cn_ctx_id", o, 2, "Context ID")
        nt = data[o + 2]
        ctx.add("dcerpc.cn_num_trans_items", nt, o + 2, 1, "Num Trans Items")
        iface = _uuid(data[o + 4 : o + 20], r.little)
        ctx.add("dcerpc.cn_bind_to_uuid", iface, o + 4, 16, "Interface UUID")
        if r.little:
            ver = r.add("dcerpc.cn_bind_if_ver", o + 20, 2, "Interface Ver")
            minor = r.add("dcerpc.cn_bind_if_ver_minor", o + 22, 2, "Interface Ver Minor")
        else:
            minor = r.add("dcerpc.cn_bind_if_ver_minor", o + 20, 2, "Interface Ver Minor")
            ver = r.add("dcerpc.cn_bind_if_ver", o + 22, 2, "Interface Ver")
        o += 24
        trans = ""
        for _ in range(nt):
            if o + 20 > stop:
                break
            trans = _uuid(data[o : o + 16], r.little)
            ctx.add("dcerpc.cn_bind_trans_id", trans, o, 16, "Transfer Syntax")
            r.add("dcerpc.cn_bind_trans_ver", o + 16, 4, "ver")
            o += 20
        items.append(f" {UUID_NAMES.get(iface, iface)} V{ver}.{minor} ({UUID_NAMES.get(trans, trans)})")
    return f", {n} context items:" + ",".join(items)


def _bind_ack(r: _Reader, pdu: int, b: int, stop: int) -> str:
    ctx, data = r.ctx, r.data
    if b + 10 > stop:
        return ""
    mx = r.add("dcerpc.cn_max_xmit", b, 2, "Max Xmit Frag")
    mr = r.add("dcerpc.cn_max_recv", b + 2, 2, "Max Recv Frag")
    r.add("dcerpc.cn_assoc_group", b + 4, 4, "Assoc Group")
    sl = r.add("dcerpc.cn_sec_addr_len", b + 8, 2, "Scndry Addr len")
    o = b + 10
    if sl:
        addr = data[o : min(o + sl, stop)].split(b"\0", 1)[0].decode("ascii", "replace")
        ctx.add("dcerpc.cn_sec_addr", addr, o, sl, "Scndry Addr")
        o += sl
    o += -(o - pdu) % 4  # aligned to 4 from the PDU's start
    if o + 4 > stop:
        return ""
    n = data[o]
    ctx.add("dcerpc.cn_num_results", n, o, 1, "Num results")
    o += 4
    results = []
    for _ in range(n):
        if o + 24 > stop:
            break
        res = r.add("dcerpc.cn_ack_result", o, 2, "Ack result")
        if res == 3:
            r.add("dcerpc.cn_ack_btfn", o + 2, 2, "Bind Time Feature Negotiation")
        elif res:
            r.add("dcerpc.cn_ack_reason", o + 2, 2, "Ack reason")
        ctx.add("dcerpc.cn_ack_trans_id", _uuid(data[o + 4 : o + 20], r.little), o + 4, 16, "Transfer Syntax")
        r.add("dcerpc.cn_ack_trans_ver", o + 20, 4, "Syntax ver")
        results.append(f" {RESULTS.get(res, f'Unknown result ({res})')}")
        o += 24
    return f", max_xmit: {mx} max_recv: {mr}, {n} results:" + ",".join(results)


@TCP_HEURISTICS.register(DCERPC_PREFIXES)
def heuristic_dcerpc(ctx: Ctx, off: int, end: int) -> bool:
    return dissect_dcerpc(ctx, off, end)


@TCP_PORTS.register(EPM_PORT)
def dissect_dcerpc_port(ctx: Ctx, off: int, end: int) -> None:
    if not dissect_dcerpc(ctx, off, end):
        data_layer(ctx, off, end)


DECLARES: tuple[str, ...] = ("dcerpc",)
