"""SSH (RFC 4253), one TCP segment at a time, without state.

The identification line ("SSH-2.0-...") is the protocol banner; a segment that parses exactly as plain
binary packets with known message codes is shown message by message (key exchange); anything else on
the port is an encrypted packet, as Wireshark shows it after New Keys. Client or server is told by the
port: the side on port 22 is the server.
"""

from __future__ import annotations

from sniffer.decode.core import TCP_PORTS, Ctx, F, Header

SSH_PORT = 22

#: message code -> Wireshark's name (the key exchange codes 30-34 depend on the method: see _kex_name)
MESSAGES = {
    1: "Disconnect",
    2: "Ignore",
    3: "Unimplemented",
    4: "Debug",
    5: "Service Request",
    6: "Service Accept",
    7: "Extension Info",
    20: "Key Exchange Init",
    21: "New Keys",
    34: "Diffie-Hellman Group Exchange Request",
    50: "User Authentication Request",
    51: "User Authentication Failure",
    52: "User Authentication Success",
    53: "User Authentication Banner",
    60: "Public Key algorithm accepted",
    80: "Global Request",
    81: "Request Success",
    82: "Request Failure",
    90: "Channel Open",
    91: "Channel Open Confirmation",
    92: "Channel Open Failure",
    93: "Window Adjust",
    94: "Channel Data",
    95: "Channel Extended Data",
    96: "Channel EOF",
    97: "Channel Close",
    98: "Channel Request",
    99: "Channel Success",
    100: "Channel Failure",
}

SSH_PACKET = Header(
    (
        F("ssh.packet_length", "Packet Length", 0, 4),
        F("ssh.padding_length", "Padding Length", 4, 1),
        F("ssh.message_code", "Message Code", 5, 1),
    )
)

#: Key Exchange Init's name-lists, in wire order after the 16-byte cookie
_KEXINIT_LISTS = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_client_to_server",
    "encryption_algorithms_server_to_client",
    "mac_algorithms_client_to_server",
    "mac_algorithms_server_to_client",
    "compression_algorithms_client_to_server",
    "compression_algorithms_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)
#: the names the code builds from _KEXINIT_LISTS (for the filter engine's list of what sniffer decodes)
DECLARES = tuple(f"ssh.{n}{x}" for n in _KEXINIT_LISTS for x in ("", "_length"))
EC_POINT_SIZES = frozenset({32, 57, 65, 97, 133})  # curve25519/448, NIST P-256/384/521 points


def _u32(data: bytes, o: int) -> int:
    return int.from_bytes(data[o : o + 4], "big")


#: the names of messages 30-33, which depend on the key exchange method (_kex_name's guesses)
KEX_NAMES = (
    "Diffie-Hellman Key Exchange Init",  # 30
    "Elliptic Curve Diffie-Hellman Key Exchange Init",  # 30 carrying an EC point
    "Diffie-Hellman Key Exchange Reply",  # 31 starting with a host key
    "Elliptic Curve Diffie-Hellman Key Exchange Reply",  # ... and an EC point after it
    "Diffie-Hellman Group Exchange Group",  # 31 otherwise
    "Diffie-Hellman Group Exchange Init",  # 32
    "Diffie-Hellman Group Exchange Reply",  # 33
)
#: how a host key string starts (message 31 that is a reply)
HOST_KEY_PREFIXES = (b"ssh-", b"ecds", b"rsa-")


def _kex_name(code: int, data: bytes, p: int, pe: int) -> str:
    """Messages 30-33 are named by the key exchange method, which only the negotiation tells: guess it
    from the message's contents (an EC point is short, a host key string starts the replies)."""
    if code == 30:
        n = _u32(data, p) if p + 4 <= pe else 0
        return KEX_NAMES[1] if n in EC_POINT_SIZES else KEX_NAMES[0]
    if code == 31:
        if p + 8 <= pe and data[p + 4 : p + 8] in HOST_KEY_PREFIXES:  # host key: a reply
            k = _u32(data, p)
            q = p + 4 + k
            return KEX_NAMES[3] if q + 4 <= pe and _u32(data, q) in EC_POINT_SIZES else KEX_NAMES[2]
        return KEX_NAMES[4]
    if code == 32:
        return KEX_NAMES[5]
    if code == 33:
        return KEX_NAMES[6]
    return MESSAGES.get(code) or f"Unknown ({code})"


def _plain_packets(data: bytes, off: int, lim: int) -> list[int] | None:
    """Offsets of the plain binary packets at [off, lim): they fill it exactly, or the last is New Keys
    (what follows it is encrypted); None if the segment is not that."""
    out: list[int] = []
    o = off
    while o < lim:
        if o + 6 > lim:
            return None
        ln = _u32(data, o)
        pad = data[o + 4]
        code = data[o + 5]
        if ln < 12 or ln > 35000 or pad < 4 or pad >= ln or (code not in MESSAGES and not 30 <= code <= 33):
            return out if out and data[out[-1] + 5] == 21 else None
        out.append(o)
        o += 4 + ln
    return out if o == lim else None


@TCP_PORTS.register(SSH_PORT)
def dissect_ssh(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    server = ctx.fields.get("tcp.srcport") == SSH_PORT
    sp = ctx.fields.get("tcp.srcport")
    if isinstance(sp, list):  # tunnelled: the innermost TCP header is the last
        server = sp[-1] == SSH_PORT
    side = "Server" if server else "Client"
    ctx.push("ssh", "SSH Protocol", off, lim - off)
    ctx.add(
        "ssh.direction",
        int(server),
        off,
        0,
        "Direction",
        f"Direction: {side.lower()}-to-{'client' if server else 'server'}" if ctx.tree else None,
    )
    if data.startswith(b"SSH-", off, lim):
        nl = data.find(b"\n", off, lim)
        e = nl if nl >= 0 else lim
        if e > off and data[e - 1] == 13:
            e -= 1
        banner = data[off:e].decode("latin-1")
        ctx.add("ssh.protocol", banner, off, e - off, "Protocol")
        ctx.proto = "SSH"
        ctx.info = f"{side}: Protocol ({banner})"
        return
    ctx.proto = "SSHv2"
    packets = _plain_packets(data, off, lim)
    if packets is None:
        if not ctx.lean:  # (a field only: the hex of the whole payload)
            ctx.add("ssh.encrypted_packet", data[off:lim].hex(":"), off, lim - off, "Encrypted Packet")
        ctx.info = f"{side}: Encrypted packet (len={lim - off})"
        return
    names = []
    for o in packets:
        v = SSH_PACKET.read(ctx, o, end)
        if v is None:
            break
        code = v["ssh.message_code"]
        pe = o + 4 + v["ssh.packet_length"]
        p = o + 6
        pstart = pe - v["ssh.padding_length"]
        name = _kex_name(code, data, p, pstart)
        names.append(name)
        if code == 20 and p + 16 <= pstart:
            ctx.add("ssh.cookie", data[p : p + 16].hex(":"), p, 16, "Cookie")
            p += 16
            for list_name in _KEXINIT_LISTS:
                if p + 4 > pstart:
                    break
                n = _u32(data, p)
                if p + 4 + n > pstart:
                    break
                ctx.add(f"ssh.{list_name}_length", n, p, 4, f"{list_name} length")
                ctx.add(f"ssh.{list_name}", data[p + 4 : p + 4 + n].decode("latin-1"), p + 4, n, list_name)
                p += 4 + n
            if p + 5 <= pstart:
                ctx.add("ssh.first_kex_packet_follows", data[p], p, 1, "First KEX Packet Follows")
                ctx.add("ssh.kex.reserved", data[p + 1 : p + 5].hex(":"), p + 1, 4, "Reserved")
        if not ctx.lean:
            ctx.add(
                "ssh.padding_string",
                data[pstart:pe].hex(":"),
                pstart,
                v["ssh.padding_length"],
                "Padding String",
            )
    ctx.info = f"{side}: {', '.join(names)}"
