"""Line-oriented TCP protocols, one segment at a time: FTP (RFC 959), POP3 (RFC 1939), IMAP (RFC 9051),
SMTP (RFC 5321), IRC (RFC 2812) and Telnet (RFC 854).

Request or response is told by the port: a segment sent to the well-known port is a request. The Info
column is what Wireshark shows without reassembly: the first line for FTP/POP/IMAP/SMTP, the command of
each line for IRC.
"""

from __future__ import annotations

from sniffer.decode.core import TCP_PORTS, UDP_PORTS, Ctx, data_layer

FTP_PORT = 21
TELNET_PORT = 23
SMTP_PORTS = (25, 587)
POP_PORT = 110
IMAP_PORT = 143
IRC_PORTS = (6667,)


def _to_server(ctx: Ctx, ports: tuple[int, ...] | int) -> bool:
    """True if the segment goes to the server (its destination port is the protocol's)."""
    dp = ctx.fields.get("tcp.dstport")
    if isinstance(dp, list):
        dp = dp[-1]
    return dp in ports if isinstance(ports, tuple) else dp == ports


def _lines(data: bytes, off: int, lim: int) -> list[tuple[int, int, int]]:
    """(start, end of text, start of next) of each line in [off, lim); the last may lack its line end."""
    out = []
    o = off
    while o < lim:
        nl = data.find(b"\n", o, lim)
        if nl < 0:
            out.append((o, lim, lim))
            break
        e = nl - 1 if nl > o and data[nl - 1] == 13 else nl
        out.append((o, e, nl + 1))
        o = nl + 1
    return out


def _t(b: bytes) -> str:
    """Text as Wireshark reads these protocols (ASCII: each other byte becomes U+FFFD)."""
    return b.decode("ascii", "replace")


def _first_line(data: bytes, off: int, lim: int) -> str:
    ls = _lines(data, off, lim)
    return _t(data[ls[0][0] : ls[0][1]]) if ls else ""


@TCP_PORTS.register(FTP_PORT)
def dissect_ftp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    req = _to_server(ctx, FTP_PORT)
    ctx.push("ftp", "File Transfer Protocol (FTP)", off, lim - off)
    ctx.proto = "FTP"
    ctx.add("ftp.request", int(req), off, 0, "Request")
    ctx.add("ftp.response", int(not req), off, 0, "Response")
    for s, e, _n in _lines(data, off, lim)[:1]:  # (Wireshark decodes the first line; the rest is text)
        line = data[s:e]
        if req:
            cmd, _, arg = line.partition(b" ")
            ctx.add("ftp.request.command", _t(cmd), s, len(cmd), "Request command")
            if arg:
                ctx.add("ftp.request.arg", _t(arg), s + len(cmd) + 1, len(arg), "Request arg")
        elif len(line) >= 3 and line[:3].isdigit() and (len(line) == 3 or line[3] in b" -"):
            code = int(line[:3])
            ctx.add("ftp.response.code", code, s, 3, "Response code")
            if len(line) > 4:
                ctx.add("ftp.response.arg", _t(line[4:]), s + 4, len(line) - 4, "Response arg")
            if code == 227:
                _ftp_pasv(ctx, line, s)
        else:
            ctx.add("ftp.response.arg", _t(line), s, e - s, "Response arg")
    ctx.info = f"{'Request' if req else 'Response'}: {_first_line(data, off, lim)}"


def _ftp_pasv(ctx: Ctx, line: bytes, s: int) -> None:
    """227 Entering Passive Mode (h1,h2,h3,h4,p1,p2): the address and port the data connection uses."""
    a = line.find(b"(")
    b = line.find(b")", a)
    nums = line[a + 1 : b].split(b",") if 0 <= a < b else []
    if len(nums) == 6 and all(x.strip().isdigit() for x in nums):
        v = [int(x) for x in nums]
        ctx.add("ftp.passive.ip", ".".join(map(str, v[:4])), s + a, b - a, "Passive IP address")
        ctx.add("ftp.passive.port", v[4] * 256 + v[5], s + a, b - a, "Passive port")


def _cmd_reply(ctx: Ctx, off: int, end: int, proto: str, label: str, port: tuple[int, ...] | int) -> None:
    """POP/SMTP-style: requests are "COMMAND [parameter]", responses "+OK text" / "250 text"."""
    data = ctx.data
    lim = min(end, len(data))
    req = _to_server(ctx, port)
    name = proto.lower()
    ctx.push(name, label, off, lim - off)
    ctx.proto = proto
    lines = _lines(data, off, lim)
    if not lines:
        return
    s, e, _n = lines[0]
    line = data[s:e]
    if req:
        cmd, _, arg = line.partition(b" ")
        ctx.add(f"{name}.request", _t(line), s, e - s, "Request")
        ctx.add(f"{name}.request.command", _t(cmd), s, len(cmd), "Request command")
        if arg:
            ctx.add(f"{name}.request.parameter", _t(arg), s + len(cmd) + 1, len(arg), "Request parameter")
    else:
        ind, _, desc = line.partition(b" ")
        if ind not in (b"+OK", b"-ERR") and not (ind[:3].isdigit() and proto == "SMTP"):
            ctx.info = f"S: {_t(line)}"  # message text or a continuation: no status line
            return
        ctx.add(f"{name}.response", _t(line), s, e - s, "Response")
        ctx.add(f"{name}.response.indicator", _t(ind), s, len(ind), "Response indicator")
        if desc:
            ctx.add(
                f"{name}.response.description", _t(desc), s + len(ind) + 1, len(desc), "Response description"
            )
    ctx.info = f"{'C' if req else 'S'}: {_t(line)}"


#: names the code builds (for the filter engine's list of what sniffer decodes)
DECLARES: tuple[str, ...] = tuple(
    f"{p}.{f}"
    for p in ("pop", "smtp")
    for f in (
        "request",
        "request.command",
        "request.parameter",
        "response",
        "response.indicator",
        "response.description",
    )
)
DECLARES += ("pop", "smtp", "imap", "irc", "telnet", "ssdp")


@TCP_PORTS.register(POP_PORT)
def dissect_pop(ctx: Ctx, off: int, end: int) -> None:
    _cmd_reply(ctx, off, end, "POP", "Post Office Protocol", POP_PORT)


@TCP_PORTS.register(*SMTP_PORTS)
def dissect_smtp(ctx: Ctx, off: int, end: int) -> None:
    _cmd_reply(ctx, off, end, "SMTP", "Simple Mail Transfer Protocol", SMTP_PORTS)


@TCP_PORTS.register(IMAP_PORT)
def dissect_imap(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    req = _to_server(ctx, IMAP_PORT)
    ctx.push("imap", "Internet Message Access Protocol", off, lim - off)
    ctx.proto = "IMAP"
    line = _first_line(data, off, lim)
    ctx.add("imap.request" if req else "imap.response", line, off, len(line), "Line")
    parts = line.split(" ", 2)
    if len(parts) >= 2:
        ctx.add("imap.request_tag" if req else "imap.response_tag", parts[0], off, len(parts[0]), "Tag")
        if req:
            ctx.add("imap.request.command", parts[1], off, len(line), "Command")
    ctx.info = f"{'Request' if req else 'Response'}: {line}"


@TCP_PORTS.register(*IRC_PORTS)
def dissect_irc(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    req = _to_server(ctx, IRC_PORTS)
    kind = "request" if req else "response"
    ctx.push("irc", "Internet Relay Chat", off, lim - off)
    ctx.proto = "IRC"
    cmds = []
    for s, e, _n in _lines(data, off, lim):
        line = _t(data[s:e])
        if not line:
            continue
        ctx.add(f"irc.{kind}", line, s, e - s, kind.capitalize())
        rest = line
        if rest.startswith(":"):
            prefix, sp, rest = rest[1:].partition(" ")
            if not sp:  # a prefix cut by the end of the segment: nothing more to read
                continue
            ctx.add(f"irc.{kind}.prefix", prefix, s, len(prefix) + 1, "Prefix")
        head, sep, trailer = rest.lstrip(" ").partition(" :")
        words = head.split(" ")
        cmd = words[0]
        if not cmd:  # a prefix cut by the end of the segment
            continue
        ctx.add(f"irc.{kind}.command", cmd, s, e - s, "Command")
        if not req and cmd.isdigit():
            ctx.add("irc.response.num_command", int(cmd), s, e - s, "Numeric Command")
        for w in words[1:]:
            if w:
                ctx.add(f"irc.{kind}.command_parameter", w, s, e - s, "Parameter")
        if sep:
            ctx.add(f"irc.{kind}.trailer", trailer, s, e - s, "Trailer")
        cmds.append(f"({cmd})")
    ctx.info = f"{kind.capitalize()} {' '.join(cmds)}"


#: the IRC names built from the direction
DECLARES += tuple(
    f"irc.{k}{f}"
    for k in ("request", "response")
    for f in ("", ".prefix", ".command", ".command_parameter", ".trailer")
)

TELNET_IAC = 255
TELNET_SB = 250
TELNET_SE = 240


@TCP_PORTS.register(TELNET_PORT)
def dissect_telnet(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("telnet", "Telnet", off, lim - off)
    ctx.proto = "TELNET"
    ctx.info = "Telnet Data ..."
    o = off
    text_start = o
    while o < lim:
        if data[o] != TELNET_IAC or o + 1 >= lim or data[o + 1] == TELNET_IAC:
            o += 2 if data[o] == TELNET_IAC else 1
            continue
        if o > text_start:
            ctx.add("telnet.data", _t(data[text_start:o]), text_start, o - text_start, "Data")
        cmd = data[o + 1]
        ctx.add("telnet.cmd", cmd, o + 1, 1, "Command")
        if cmd == TELNET_SB:  # subnegotiation: option, data, IAC SE
            if o + 2 < lim:
                ctx.add("telnet.subcmd", data[o + 2], o + 2, 1, "Subcommand")
            se = data.find(bytes((TELNET_IAC, TELNET_SE)), o + 3, lim)
            o = se if se >= 0 else lim
            if se >= 0:
                ctx.add("telnet.cmd", TELNET_SE, o + 1, 1, "Command")
                o += 2
        elif 251 <= cmd <= 254:  # WILL, WONT, DO, DONT + option
            if o + 2 < lim:
                ctx.add("telnet.subcmd", data[o + 2], o + 2, 1, "Subcommand")
            o += 3
        else:
            o += 2
        text_start = o
    if lim > text_start:
        ctx.add("telnet.data", _t(data[text_start:lim]), text_start, lim - text_start, "Data")


SSDP_PORT = 1900


@UDP_PORTS.register(SSDP_PORT)
def dissect_ssdp(ctx: Ctx, off: int, end: int) -> None:
    """SSDP (UPnP discovery, UDP 1900): HTTP messages over UDP; Wireshark's layer is "ssdp" with the
    http.* fields."""
    from sniffer.decode.http import dissect_http

    if not dissect_http(ctx, off, end):
        data_layer(ctx, off, end)
        return
    i = len(ctx.protos) - 1 - ctx.protos[::-1].index("http")
    ctx.protos[i] = "ssdp"
    ctx.layer.field = "ssdp"
    ctx.layer.name = ctx.layer.text = "Simple Service Discovery Protocol"
    ctx.proto = "SSDP"
