"""Small TCP services, one segment at a time: RESP (Redis, TCP 6379), Finger (RFC 1288, TCP 79), WHOIS
(RFC 3912, TCP 43), RSH (TCP 514) and Gnutella (TCP 6346).

Request or response is told by the port (a segment sent to the well-known port is the client's), as
Wireshark's dissectors do. What Wireshark takes from the conversation (a WHOIS answer's query, the RSH
session state) is read from the packet alone: see each dissector.
"""

from __future__ import annotations

from sniffer.decode.core import TCP_PORTS, Ctx

RESP_PORT = 6379
FINGER_PORT = 79
WHOIS_PORT = 43
RSH_PORT = 514
GNUTELLA_PORT = 6346


def _to_server(ctx: Ctx, port: int) -> bool:
    dp = ctx.fields.get("tcp.dstport")
    if isinstance(dp, list):
        dp = dp[-1]
    return bool(dp == port)


def _ascii(b: bytes) -> str:
    return b.decode("ascii", "replace")


# ---------------------------------------------------------------------------------------------
# RESP (REdis Serialization Protocol v2), as Wireshark 4.0's packet-resp.c without desegmentation

_RESP_MAX_DEPTH = 30
_BULK_MAX_DISPLAY = 100


def _line_end(data: bytes, o: int, lim: int) -> int:
    """Length of the line at ``o`` up to its CR or LF (the rest of the segment if there is none)."""
    cr = data.find(b"\r", o, lim)
    lf = data.find(b"\n", o, lim)
    ends = [e for e in (cr, lf) if e >= 0]
    return (min(ends) if ends else lim) - o


def _atoi(b: bytes) -> int:
    """g_ascii_strtoll: leading sign and digits, 0 when there are none."""
    s = b.strip()
    n = 0
    i = 1 if s[:1] in (b"-", b"+") else 0
    while i < len(s) and 48 <= s[i] <= 57:
        n = n * 10 + s[i] - 48
        i += 1
    return -n if s[:1] == b"-" else n


class _Resp:
    __slots__ = ("ctx", "data", "info", "lim", "req")

    def __init__(self, ctx: Ctx, lim: int, req: bool) -> None:
        self.ctx = ctx
        self.data = ctx.data
        self.lim = lim
        self.req = req
        self.info = ["Response:" if not req else "Request:"]

    def loop(self, o: int, depth: int, expected: int) -> int:
        done = 0
        while o < self.lim:
            if 0 <= expected == done:
                return o
            n = self.message(o, _line_end(self.data, o, self.lim), depth)
            done += 1
            o += n
        return o

    def message(self, o: int, ln: int, depth: int) -> int:
        ctx, data = self.ctx, self.data
        kind = data[o]
        body = data[o + 1 : o + ln]
        if kind == 0x2B:  # '+': simple string
            s = _ascii(body)
            ctx.add("resp.string", s, o, ln + 2, "String")
            if not self.req and depth == 0:
                self.info.append(s)
            return ln + 2
        if kind == 0x2D:  # '-': error
            s = _ascii(body)
            ctx.add("resp.error", s, o, ln + 2, "Error")
            self.info.append(f"Error: {s}")
            return ln + 2
        if kind == 0x3A:  # ':': integer
            v = _atoi(body)
            ctx.add("resp.integer", v, o, ln + 2, "Integer")
            if not self.req and depth == 0:
                self.info.append(str(v))
            return ln + 2
        if kind == 0x24:  # '$': bulk string
            return self.bulk(o, ln, depth)
        if kind == 0x2A:  # '*': array
            return self.array(o, ln, depth)
        if ln == 0:
            return 2
        self.info.append("[fragment]")
        ctx.add("resp.fragment", "", o, min(ln + 2, self.lim - o), "Fragment")
        return ln + 2

    def bulk(self, o: int, ln: int, depth: int) -> int:
        ctx, data = self.ctx, self.data
        n = _atoi(data[o + 1 : o + ln])
        ctx.add("resp.bulk_string", "", o, ln + 2, "Bulk String")
        ctx.add("resp.bulk_string.length", n, o, ln + 2, "Length")
        if n < 0:  # NULL string (or a malformed length)
            return ln + 2
        v = o + ln + 2
        remaining = max(0, self.lim - v)
        if remaining < n + 2:  # the rest is in a later segment
            got, got_crlf = remaining, remaining
            self.info.append("[partial]")
        else:
            got, got_crlf = n, n + 2
        if got > 0:
            ctx.add("resp.bulk_string.value", data[v : v + got].hex(":"), v, got, "Value")
        raw = data[v : v + got]
        if raw.isascii():
            s = raw.decode("ascii")
            if self.req and depth == 1:
                self.info.append(s if n < _BULK_MAX_DISPLAY else f"BulkString({n})")
            elif not self.req and depth == 0 and n < _BULK_MAX_DISPLAY:
                self.info.append(s)
            elif depth == 0:
                self.info.append(f"BulkString({n})")
        elif depth == 0:
            self.info.append(f"BulkString({n})")
        return ln + 2 + got_crlf

    def array(self, o: int, ln: int, depth: int) -> int:
        ctx = self.ctx
        n = _atoi(self.data[o + 1 : o + ln])
        ctx.add("resp.array", "", o, ln + 2, "Array")
        ctx.add("resp.array.length", n, o, ln + 2, "Length")
        if n <= 0 or depth > _RESP_MAX_DEPTH:
            return ln + 2
        if not self.req and depth == 0:
            self.info.append(f"Array({n})")
        ctx.depth += 1
        if ctx.depth > 160:
            return self.lim - o
        e = self.loop(o + ln + 2, depth + 1, n)
        ctx.depth -= 1
        return e - o


@TCP_PORTS.register(RESP_PORT)
def dissect_resp(ctx: Ctx, off: int, end: int) -> None:
    lim = min(end, len(ctx.data))
    ctx.push("resp", "REdis Serialization Protocol", off, lim - off)
    ctx.proto = "RESP"
    r = _Resp(ctx, lim, _to_server(ctx, RESP_PORT))
    r.loop(off, 0, -1)
    ctx.info = " ".join(r.info)


# ---------------------------------------------------------------------------------------------
# Finger, WHOIS


@TCP_PORTS.register(FINGER_PORT)
def dissect_finger(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("finger", "Finger", off, lim - off)
    ctx.proto = "FINGER"
    if _to_server(ctx, FINGER_PORT):
        ctx.add("finger.query", _ascii(data[off:lim]), off, lim - off, "Query")
        ctx.info = "Query"
    else:
        ctx.add("finger.response", _ascii(data[off:lim]), off, lim - off, "Response")
        ctx.info = "Response"


@TCP_PORTS.register(WHOIS_PORT)
def dissect_whois(ctx: Ctx, off: int, end: int) -> None:
    """A query is the client's line; an answer's Info names the query in Wireshark (from the
    conversation): here the answer alone says "Answer"."""
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("whois", "WHOIS", off, lim - off)
    ctx.proto = "WHOIS"
    if _to_server(ctx, WHOIS_PORT):
        q = _ascii(data[off:lim])
        ctx.add("whois.query", q, off, lim - off, "Query")
        ctx.info = f"Query: {q.rstrip(chr(13) + chr(10))}"
    else:
        o = off
        while o < lim:
            nl = data.find(b"\n", o, lim)
            e = lim if nl < 0 else nl + 1
            ctx.add("whois.answer", _ascii(data[o:e]), o, e - o, "Answer")
            o = e
        ctx.info = "Answer"


# ---------------------------------------------------------------------------------------------
# RSH: a client segment that ends in NUL starts the session (stderr port, usernames, command);
# anything else is data, as Wireshark's state machine ends up for them

_RSH_STDERR_PORT_LEN = 5
_RSH_NAME_LEN = 16
_RSH_COMMAND_LEN = 256


@TCP_PORTS.register(RSH_PORT)
def dissect_rsh(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("rsh", "Remote Shell", off, lim - off)
    ctx.proto = "RSH"
    to_server = _to_server(ctx, RSH_PORT)
    if to_server and data[lim - 1] == 0:
        parts = data[off : lim - 1].split(b"\0")
        port = parts[0]
        if not port or (port.isdigit() and len(port) + 1 <= _RSH_STDERR_PORT_LEN + 1):
            o = off
            limits = (_RSH_STDERR_PORT_LEN, _RSH_NAME_LEN, _RSH_NAME_LEN, _RSH_COMMAND_LEN)
            names = ("rsh.stderr_port", "rsh.client_username", "rsh.server_username", "rsh.command")
            labels = ("Stderr port (optional)", "Client username", "Server username", "Command to execute")
            ok = True
            for i, p in enumerate(parts[:4]):
                if i and (not p or len(p) + 1 > limits[i] or not all(32 <= c < 127 for c in p)):
                    ok = False
                    break
                ctx.add(names[i], p.decode("ascii", "replace"), o, len(p) + 1, labels[i])
                o += len(p) + 1
            if ok:
                ctx.info = "Session Establishment"
                return
    if to_server:
        ctx.add("rsh.client_server_data", data[off:lim].hex(":"), off, lim - off, "Client -> Server Data")
        ctx.info = "Client -> Server data"
    else:
        ctx.add("rsh.server_client_data", data[off:lim].hex(":"), off, lim - off, "Server -> Client Data")
        ctx.info = "Server -> Client Data"


# ---------------------------------------------------------------------------------------------
# Gnutella: descriptor headers when the segment starts with one, else an upload/download stream

_GNUTELLA_DESCRIPTORS = {0x00: "Ping", 0x01: "Pong", 0x40: "Push", 0x80: "Query", 0x81: "Query Hit"}


@TCP_PORTS.register(GNUTELLA_PORT)
def dissect_gnutella(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    ctx.push("gnutella", "Gnutella Protocol", off, lim - off)
    ctx.proto = "Gnutella"
    ctx.info = ""
    if lim - off >= 23 and data[off + 16] in _GNUTELLA_DESCRIPTORS and data[off + 22] == 0:
        ctx.add("gnutella.header", "", off, 23, "Descriptor Header")
        ctx.add("gnutella.header.id", data[off : off + 16].hex(":"), off, 16, "ID")
        ctx.add("gnutella.header.payload", data[off + 16], off + 16, 1, "Payload")
        ctx.add("gnutella.header.ttl", data[off + 17], off + 17, 1, "TTL")
        ctx.add("gnutella.header.hops", data[off + 18], off + 18, 1, "Hops")
        ctx.add(
            "gnutella.header.size", int.from_bytes(data[off + 19 : off + 23], "little"), off + 19, 4, "Length"
        )
    else:
        ctx.add("gnutella.stream", "", off, lim - off, "Gnutella Upload / Download Stream")


#: names built from tuples (for the filter engine's list of what sniffer decodes)
DECLARES: tuple[str, ...] = (
    "resp",
    "finger",
    "whois",
    "rsh",
    "gnutella",
    "rsh.stderr_port",
    "rsh.client_username",
    "rsh.server_username",
    "rsh.command",
)
