"""VPN protocols over UDP, as Wireshark finds and names them:

- WireGuard, by Wireshark's heuristic on any port: message type 1-4 with three zero bytes (the read fast
  path probes those 4 bytes) and the type's exact length (148, 92, 64; transport data 32 + a multiple of
  16). Info ``Handshake Initiation, sender=0x...``, ``Transport Data, receiver=0x..., counter=7,
  datalen=16``, ``Keepalive, ...``; nothing is decrypted. A datagram the heuristic takes binds its
  conversation (core.Conversations), so later ones of any length are WireGuard too, as in Wireshark.
- OpenVPN on UDP 1194: opcode and key id, session id, the ACK array and remote session id, the message
  packet id; tls-auth told as Wireshark tells it (an ACK array length > 0 whose next 4 bytes have at
  most one zero byte is an HMAC: 20 bytes, then packet id and net time). Info ``MessageType:
  P_CONTROL_HARD_RESET_CLIENT_V2``; a P_CONTROL_V1 that carries a whole TLS record goes on to TLS.
"""

from __future__ import annotations

from sniffer.decode.core import HEX2, UDP_CONVERSATIONS, UDP_HEURISTICS, UDP_PORTS, Ctx, F, Header, data_layer

WG_TYPES = {1: "Handshake Initiation", 2: "Handshake Response", 3: "Cookie Reply", 4: "Transport Data"}
WG_LENGTHS = {1: 148, 2: 92, 3: 64}


def _le32(data: bytes, o: int) -> int:
    return int.from_bytes(data[o : o + 4], "little")


def is_wireguard(data: bytes, off: int, end: int) -> bool:
    lim = min(end, len(data))
    if off + 4 > lim or data[off] not in WG_TYPES or data[off + 1 : off + 4] != b"\0\0\0":
        return False
    n = end - off
    want = WG_LENGTHS.get(data[off])
    return n == want if want else n >= 32 and n % 16 == 0


def _wg_probe(t: int) -> bytes:
    return bytes((t, 0, 0, 0))


@UDP_HEURISTICS.register(0, _wg_probe(1))
@UDP_HEURISTICS.register(0, _wg_probe(2))
@UDP_HEURISTICS.register(0, _wg_probe(3))
@UDP_HEURISTICS.register(0, _wg_probe(4))
def dissect_wireguard_heur(ctx: Ctx, off: int, end: int) -> bool:
    if not is_wireguard(ctx.data, off, end):
        return False
    if not ctx.quote and off >= 8:  # as Wireshark: the rest of the conversation is WireGuard
        data = ctx.data
        UDP_CONVERSATIONS.bind(ctx.pseudo[0], data[off - 8] << 8 | data[off - 7], ctx.pseudo[1], _wg_conv)
    dissect_wireguard(ctx, off, end)
    return True


def _wg_conv(ctx: Ctx, off: int, end: int) -> bool:
    """A datagram of a conversation the heuristic bound: any length, but a WireGuard message type."""
    data = ctx.data
    if off + 4 > min(end, len(data)) or data[off] not in WG_TYPES or data[off + 1 : off + 4] != b"\0\0\0":
        return False
    dissect_wireguard(ctx, off, end)
    return True


def dissect_wireguard(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("wg", "WireGuard Protocol", off, lim - off)
    ctx.proto = "WireGuard"
    t = data[off]
    ctx.add("wg.type", t, off, 1, "Type")
    ctx.add("wg.reserved", data[off + 1 : off + 4].hex(":"), off + 1, 3, "Reserved")
    name = WG_TYPES[t]
    if not ctx.has(off, 8 if t != 2 else 12, end):
        ctx.info = name
        return
    if t in (1, 2):
        sender = _le32(data, off + 4)
        ctx.add("wg.sender", sender, off + 4, 4, "Sender", f"Sender: 0x{sender:08x}")
        info = f"{name}, sender=0x{sender:08x}"
        if t == 2:
            receiver = _le32(data, off + 8)
            ctx.add("wg.receiver", receiver, off + 8, 4, "Receiver", f"Receiver: 0x{receiver:08x}")
            info += f", receiver=0x{receiver:08x}"
        ctx.info = info
        return
    receiver = _le32(data, off + 4)
    ctx.add("wg.receiver", receiver, off + 4, 4, "Receiver", f"Receiver: 0x{receiver:08x}")
    if t == 3:
        ctx.info = f"{name}, receiver=0x{receiver:08x}"
        return
    if not ctx.has(off + 8, 8, end):
        return
    counter = int.from_bytes(data[off + 8 : off + 16], "little")
    ctx.add("wg.counter", counter, off + 8, 8, "Counter")
    datalen = end - off - 32
    if datalen:
        ctx.info = f"{name}, receiver=0x{receiver:08x}, counter={counter}, datalen={datalen}"
    else:
        ctx.info = f"Keepalive, receiver=0x{receiver:08x}, counter={counter}"


OPENVPN_OPCODES = {
    1: "P_CONTROL_HARD_RESET_CLIENT_V1",
    2: "P_CONTROL_HARD_RESET_SERVER_V1",
    3: "P_CONTROL_SOFT_RESET_V1",
    4: "P_CONTROL_V1",
    5: "P_ACK_V1",
    6: "P_DATA_V1",
    7: "P_CONTROL_HARD_RESET_CLIENT_V2",
    8: "P_CONTROL_HARD_RESET_SERVER_V2",
    9: "P_DATA_V2",
    10: "P_CONTROL_HARD_RESET_CLIENT_V3",
    11: "P_CONTROL_WKC_V1",
}
OPENVPN = Header(
    (
        F("openvpn.opcode", "Opcode", 0, 1, mask=0xF8, disp=HEX2, names=OPENVPN_OPCODES),
        F("openvpn.keyid", "Key ID", 0, 1, mask=0x07),
    )
)


def _hmac_like(v: int) -> bool:
    """Wireshark's check_for_valid_hmac: at most one of the 4 bytes is zero."""
    return sum(not (v >> s) & 0xFF for s in (0, 8, 16, 24)) <= 1


@UDP_PORTS.register(1194)
def dissect_openvpn(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if off >= lim:
        data_layer(ctx, off, end)
        return
    ctx.push("openvpn", "OpenVPN Protocol", off, lim - off)
    ctx.proto = "OpenVPN"
    vals = OPENVPN.read(ctx, off, end)
    if vals is None:
        return
    op = vals["openvpn.opcode"]
    ctx.info = f"MessageType: {OPENVPN_OPCODES.get(op, f'Unknown ({op})')}"
    o = off + 1
    if op == 9:
        if ctx.has(o, 3, end):
            ctx.add("openvpn.peerid", int.from_bytes(data[o : o + 3], "big"), o, 3, "Peer ID")
        return
    if op == 6 or op not in OPENVPN_OPCODES:
        return
    if not ctx.has(o, 9, end):
        return
    ctx.add("openvpn.sessionid", int.from_bytes(data[o : o + 8], "big"), o, 8, "Session ID")
    o += 8
    if data[o] > 0 and o + 5 <= lim and _hmac_like(int.from_bytes(data[o + 1 : o + 5], "big")):
        if not ctx.has(o, 28, end):  # tls-auth: HMAC (SHA-1), packet id, net time
            return
        ctx.add("openvpn.hmac", data[o : o + 20].hex(":"), o, 20, "HMAC")
        ctx.add("openvpn.pid", int.from_bytes(data[o + 20 : o + 24], "big"), o + 20, 4, "Replay-Packet-ID")
        o += 28
    if not ctx.has(o, 1, end):
        return
    n = data[o]
    ctx.add("openvpn.mpidarraylength", n, o, 1, "Message Packet-ID Array Length")
    o += 1
    for _ in range(n):
        if not ctx.has(o, 4, end):
            return
        ctx.add(
            "openvpn.mpidarrayelement",
            int.from_bytes(data[o : o + 4], "big"),
            o,
            4,
            "Message Packet-ID Array Element",
        )
        o += 4
    if n:
        if not ctx.has(o, 8, end):
            return
        ctx.add("openvpn.rsessionid", int.from_bytes(data[o : o + 8], "big"), o, 8, "Remote Session ID")
        o += 8
    if op == 5:
        return
    if not ctx.has(o, 4, end):
        return
    ctx.add("openvpn.mpid", int.from_bytes(data[o : o + 4], "big"), o, 4, "Message Packet-ID")
    o += 4
    if op == 4 and o < lim:
        from sniffer.decode.tls import dissect_tls

        before = ctx.info
        if not dissect_tls(ctx, o, end):
            data_layer(ctx, o, end)
        elif not ctx.info:
            ctx.info = before
