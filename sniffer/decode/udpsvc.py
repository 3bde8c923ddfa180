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
