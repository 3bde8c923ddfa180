"""Industrial protocols: DNP3 (IEEE 1815) over TCP and UDP port 20000, one packet at a time.

The link header (with its CRC), then the user data: blocks of 16 bytes each followed by a CRC, carrying
the transport byte and, in a first-and-final fragment, the application header (control, function,
internal indications of responses) and the object headers.
"""

from __future__ import annotations

from sniffer.decode.core import HEX2, HEX4, TCP_PORTS, UDP_PORTS, Ctx, F, Header, Node, data_layer

DNP3_PORT = 20000
DNP3_START = 0x0564

DNP3_LINK = Header(
    (
        F("dnp3.start", "Start Bytes", 0, 2, disp=HEX4),
        F("dnp3.len", "Length", 2, 1),
        F("dnp3.ctl", "Control", 3, 1, disp=HEX2),
        F("dnp3.ctl.dir", "Direction", 3, 1, mask=0x80),
        F("dnp3.ctl.prm", "Primary", 3, 1, mask=0x40),
    )
)
#: the link control's last 4 bits: a primary frame's function, or a secondary's
LINK_PRI = {
    0: "Reset of Remote Link",
    1: "Reset of User Process",
    2: "Test Function For Link",
    3: "User Data",
    4: "Unconfirmed User Data",
    9: "Request Link Status",
}
LINK_SEC = {
    0: "ACK",
    1: "NACK",
    11: "Status of Link",
    14: "Link Service Not Functioning",
    15: "Link Service Not Used or Implemented",
}
APP_FUNCS = {
    0: "Confirm",
    1: "Read",
    2: "Write",
    3: "Select",
    4: "Operate",
    5: "Direct Operate",
    6: "Direct Operate No Ack",
    7: "Immediate Freeze",
    8: "Immediate Freeze No Ack",
    9: "Freeze and Clear",
    10: "Freeze and Clear No Ack",
    11: "Freeze With Time",
    12: "Freeze With Time No Ack",
    13: "Cold Restart",
    14: "Warm Restart",
    15: "Initialize Data",
    16: "Initialize Application",
    17: "Start Application",
    18: "Stop Application",
    19: "Save Configuration",
    20: "Enable Spontaneous Messages",
    21: "Disable Spontaneous Messages",
    22: "Assign Classes",
    23: "Delay Measurement",
    24: "Record Current Time",
    25: "Open File",
    26: "Close File",
    27: "Delete File",
    28: "Get File Info",
    29: "File Authentication",
    30: "Abort File",
    129: "Response",
    130: "Unsolicited Response",
    131: "Authentication Response",
}
#: object (group << 8 | variation) -> Wireshark's name in the Info column (the common ones)
OBJECTS = {
    0x0100: "Binary Input",
    0x0200: "Binary Input Change",
    0x0201: "Binary Input Change Without Time",
    0x0202: "Binary Input Change With Time",
    0x1E00: "Analog Input",
    0x3201: "Time and Date",
    0x3401: "Time Delay Coarse",
    0x3402: "Time Delay Fine",
    0x5001: "Internal Indications",
}
_IIN_BITS = (
    ("dnp3.al.iin.rst", 0x8000),
    ("dnp3.al.iin.dt", 0x4000),
    ("dnp3.al.iin.dol", 0x2000),
    ("dnp3.al.iin.tsr", 0x1000),
    ("dnp3.al.iin.cls3d", 0x0800),
    ("dnp3.al.iin.cls2d", 0x0400),
    ("dnp3.al.iin.cls1d", 0x0200),
    ("dnp3.al.iin.bmsg", 0x0100),
    ("dnp3.al.iin.cc", 0x0020),
    ("dnp3.al.iin.oae", 0x0010),
    ("dnp3.al.iin.ebo", 0x0008),
    ("dnp3.al.iin.pioor", 0x0004),
    ("dnp3.al.iin.obju", 0x0002),
    ("dnp3.al.iin.fcni", 0x0001),
)
_PREFIX_SIZE = (0, 1, 2, 4, 1, 2, 4, 0)
_RANGE_SIZE = {0: 2, 1: 4, 2: 8, 3: 2, 4: 4, 5: 8, 6: 0, 7: 1, 8: 2, 9: 4, 11: 1}


def _crc_entry(i: int) -> int:
    """The CRC-16/DNP register after shifting the byte ``i`` through it bit by bit (reflected 0x3D65)."""
    for _ in range(8):
        i = (i >> 1) ^ 0xA6BC if i & 1 else i >> 1
    return i


_CRC_TABLE = tuple(_crc_entry(i) for i in range(256))


def dnp3_crc(b: bytes) -> int:
    """CRC-16/DNP (polynomial 0x3D65, reflected, complemented), as the link header's CRC field (one table
    lookup per byte: the bit loop took ~10 us per link header, a DNP3 packet's largest cost)."""
    crc = 0
    t = _CRC_TABLE
    for byte in b:
        crc = (crc >> 8) ^ t[(crc ^ byte) & 0xFF]
    return ~crc & 0xFFFF


def _user_data(data: bytes, o: int, lim: int, n: int) -> tuple[bytes, list[int]]:
    """The ``n`` user-data bytes after the link header at ``o`` without their block CRCs, and the frame
    offset of each."""
    out = bytearray()
    offs: list[int] = []
    while len(out) < n and o < lim:
        take = min(16, n - len(out), lim - o)
        out += data[o : o + take]
        offs.extend(range(o, o + take))
        o += take + 2
    return bytes(out), offs


def _objects(ctx: Ctx, ud: bytes, offs: list[int], i: int, func: int) -> list[int]:
    """Object headers from ``i``; in requests they stand alone, in responses the values follow (only the
    first object's header is read then)."""
    objs = []
    while i + 3 <= len(ud):
        obj = ud[i] << 8 | ud[i + 1]
        q = ud[i + 2]
        ctx.add("dnp3.al.obj", obj, offs[i], 2, "Object", f"Object: 0x{obj:04x}")
        ctx.add("dnp3.al.objq.prefix", (q >> 4) & 7, offs[i + 2], 1, "Prefix Code")
        ctx.add("dnp3.al.objq.range", q & 0x0F, offs[i + 2], 1, "Range Code")
        objs.append(obj)
        rs = _RANGE_SIZE.get(q & 0x0F)
        if rs is None or func >= 129 or (q >> 4) & 7 or q & 0x0F not in (6, 7, 8, 0, 1):
            break  # values follow (or a range we do not step over): stop at the first header
        i += 3 + rs
        if q & 0x0F in (0, 1) and func not in (1, 20, 21, 22):
            break
    return objs


def _info_objects(objs: list[int]) -> str:
    if objs and all(o >> 8 == 60 for o in objs):
        return "Class " + "".join(sorted(str((o & 0xFF) - 1) for o in objs))
    if objs:
        return OBJECTS.get(objs[0], "Unknown Object Type")
    return ""


def _dnp3(ctx: Ctx, off: int, end: int) -> bool:
    """DNP3 at ``off`` if the start bytes and the link header's CRC are right (Wireshark's test); False
    (nothing recorded) if not."""
    data = ctx.data
    lim = min(end, len(data))
    if (
        off + 10 > lim
        or data[off] != 0x05
        or data[off + 1] != 0x64
        or dnp3_crc(data[off : off + 8]) != int.from_bytes(data[off + 8 : off + 10], "little")
    ):
        return False
    ctx.push("dnp3", "Distributed Network Protocol 3.0", off, lim - off)
    ctx.proto = "DNP 3.0"
    v = DNP3_LINK.read(ctx, off, end)
    if v is None:
        return True
    ctl = v["dnp3.ctl"]
    prm = ctl & 0x40
    lean = ctx.lean  # columns only: none of the fields below is read back
    dst = int.from_bytes(data[off + 4 : off + 6], "little")
    src = int.from_bytes(data[off + 6 : off + 8], "little")
    if not lean:
        if prm:
            ctx.add("dnp3.ctl.fcb", (ctl >> 5) & 1, off + 3, 1, "Frame Count Bit")
            ctx.add("dnp3.ctl.fcv", (ctl >> 4) & 1, off + 3, 1, "Frame Count Valid")
            ctx.add("dnp3.ctl.prifunc", ctl & 0x0F, off + 3, 1, "Control Function Code")
        else:
            ctx.add("dnp3.ctl.dfc", (ctl >> 4) & 1, off + 3, 1, "Data Flow Control")
            ctx.add("dnp3.ctl.secfunc", ctl & 0x0F, off + 3, 1, "Control Function Code")
        ctx.add("dnp3.dst", dst, off + 4, 2, "Destination")
        ctx.add("dnp3.addr", dst, off + 4, 2, "Address")
        ctx.add("dnp3.src", src, off + 6, 2, "Source")
        ctx.add("dnp3.addr", src, off + 6, 2, "Address")
        ctx.add("dnp3.hdr.CRC", int.from_bytes(data[off + 8 : off + 10], "little"), off + 8, 2, "CRC", None)
    fn = ctl & 0x0F
    link_name = (LINK_PRI if prm else LINK_SEC).get(fn, f"Unknown ({fn})")
    ctx.info = f"from {src} to {dst}, len={v['dnp3.len']}, {link_name}"
    n = v["dnp3.len"] - 5  # the length counts control, addresses and user data
    if n <= 0 or not prm or fn not in (3, 4):
        return True
    ud, offs = _user_data(data, off + 10, lim, n)
    if not ud:
        return True
    tr = ud[0]
    if not lean:
        ctx.add("dnp3.tr.ctl", tr, offs[0], 1, "Transport Control", f"Transport Control: 0x{tr:02x}")
        ctx.add("dnp3.tr.fin", tr >> 7, offs[0], 1, "Final")
        ctx.add("dnp3.tr.fir", (tr >> 6) & 1, offs[0], 1, "First")
        ctx.add("dnp3.tr.seq", tr & 0x3F, offs[0], 1, "Sequence")
    if tr & 0xC0 != 0xC0 or len(ud) < 3:  # not a whole application fragment: Wireshark reassembles
        return True
    ac = ud[1]
    func = ud[2]
    if lean:  # the Info only: the function, and for Read/Write the objects
        if func >= 129 and len(ud) < 5:
            return True
        ctx.info = _app_info(func, _objects(ctx, ud, offs, 3, func) if func in (1, 2) else [])
        return True
    app: Node | None = ctx.sub("Application Layer", "", offs[1], offs[-1] + 1 - offs[1])
    ctx.add("dnp3.al.ctl", ac, offs[1], 1, "Application Control", f"Application Control: 0x{ac:02x}", app)
    ctx.add("dnp3.al.fir", (ac >> 7) & 1, offs[1], 1, "First", None, app)
    ctx.add("dnp3.al.fin", (ac >> 6) & 1, offs[1], 1, "Final", None, app)
    ctx.add("dnp3.al.con", (ac >> 5) & 1, offs[1], 1, "Confirm", None, app)
    ctx.add("dnp3.al.uns", (ac >> 4) & 1, offs[1], 1, "Unsolicited", None, app)
    ctx.add("dnp3.al.seq", ac & 0x0F, offs[1], 1, "Sequence", None, app)
    ctx.add(
        "dnp3.al.func",
        func,
        offs[2],
        1,
        "Function Code",
        f"Function Code: {APP_FUNCS.get(func, 'Unknown')} ({func})",
        app,
    )
    i = 3
    if func >= 129:
        if len(ud) < 5:
            return True
        iin = ud[3] << 8 | ud[4]
        ctx.add(
            "dnp3.al.iin", iin, offs[3], 2, "Internal Indications", f"Internal Indications: 0x{iin:04x}", app
        )
        for name, bit in _IIN_BITS:
            ctx.add(name, int(bool(iin & bit)), offs[3], 2, name, None, app)
        i = 5
    objs = _objects(ctx, ud, offs, i, func)
    ctx.info = _app_info(func, objs)
    return True


def _app_info(func: int, objs: list[int]) -> str:
    info = APP_FUNCS.get(func) or f"Unknown function ({func})"
    if func in (1, 2):  # Read / Write name the objects
        what = _info_objects(objs)
        if what:
            info += f", {what}"
    return info


@TCP_PORTS.register(DNP3_PORT)
@UDP_PORTS.register(DNP3_PORT)
def dissect_dnp3(ctx: Ctx, off: int, end: int) -> None:
    if not _dnp3(ctx, off, end):
        data_layer(ctx, off, end)
