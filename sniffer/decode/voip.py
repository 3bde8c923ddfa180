"""Voice and media signalling: SIP (RFC 3261) over UDP/TCP 5060 with its SDP body (RFC 4566).

A SIP message is a request line or a status line, header lines (compact forms expanded) and a body;
each header becomes ``sip.<Name>`` as in Wireshark. The Info column is Wireshark's: the request line or
status, the CSeq method of 2xx responses and the bindings a REGISTER adds or removes.
"""

from __future__ import annotations

from sniffer.decode.core import TCP_PORTS, UDP_PORTS, Ctx, data_layer

SIP_PORT = 5060

SIP_METHODS = frozenset(
    b"INVITE ACK BYE CANCEL OPTIONS REGISTER PRACK SUBSCRIBE NOTIFY PUBLISH INFO REFER MESSAGE UPDATE".split()
)
#: compact header forms (RFC 3261 7.3.3) and the header names Wireshark spells otherwise
_COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
}
#: the headers recorded as fields (lower case -> Wireshark's spelling)
SIP_HEADERS = {
    n.lower(): n
    for n in (
        "Accept Allow Authorization Call-ID Contact Content-Length Content-Type CSeq Expires From "
        "Max-Forwards Proxy-Authenticate Proxy-Authorization Record-Route Route Server Subject Supported To "
        "User-Agent Via WWW-Authenticate"
    ).split()
}
#: names the code builds (for the filter engine's list of what sniffer decodes)
DECLARES = (
    *(f"sip.{n}" for n in SIP_HEADERS.values()),
    "sip.CSeq.seq",
    "sip.CSeq.method",
    "sip.Method",
    "sip.r-uri",
    "sip.Status-Code",
    "sip.Request-Line",
    "sip.Status-Line",
    "sdp",
)


def _t(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _contacts(value: str) -> list[str]:
    """The contacts of one Contact header (comma-separated outside <> and quotes)."""
    out = []
    depth = 0
    quote = False
    cur = ""
    for ch in value:
        if ch == '"':
            quote = not quote
        elif not quote and ch == "<":
            depth += 1
        elif not quote and ch == ">":
            depth -= 1
        if ch == "," and not depth and not quote:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


def _bindings(contacts: list[str], expires: str | None) -> str:
    """Wireshark's "  (N bindings)" / "  (remove N bindings)" of a REGISTER and its 200 OK."""
    if not contacts:
        return ""
    if any(c.strip() == "*" for c in contacts):
        return "  (remove all bindings)"
    removed = 0
    for c in contacts:
        params = c.split(">", 1)[-1].lower().replace(" ", "")
        exp = next((p[8:] for p in params.split(";") if p.startswith("expires=")), None)
        if (exp if exp is not None else expires) == "0":
            removed += 1
    n = len(contacts)
    if removed == n and expires == "0":  # Wireshark 4.0 counts an "Expires: 0" header as one more
        n = removed = n + 1
    s = "s" if n != 1 else ""
    if removed == n:
        return f"  (remove {n} binding{s})"
    return f"  ({n} binding{s})"


def dissect_sip_at(ctx: Ctx, off: int, end: int) -> bool:
    """SIP at ``off`` if it starts with a request line (known method + "sip:") or "SIP/2.0 "; False if not."""
    data = ctx.data
    lim = min(end, len(data))
    nl = data.find(b"\n", off, lim)
    e = nl if nl >= 0 else lim
    line = data[off:e].rstrip(b"\r")
    parts = line.split(b" ")
    request = len(parts) >= 3 and parts[0] in SIP_METHODS and parts[-1].startswith(b"SIP/2.0")
    status = line.startswith(b"SIP/2.0 ") and len(parts) >= 2 and parts[1].isdigit()
    if not request and not status:
        return False
    ctx.push("sip", "Session Initiation Protocol", off, lim - off)
    ctx.proto = "SIP"
    text = _t(line)
    if request:
        ctx.add("sip.Request-Line", text, off, len(line), "Request-Line")
        ctx.add("sip.Method", _t(parts[0]), off, len(parts[0]), "Method")
        ctx.add("sip.r-uri", _t(parts[1]), off + len(parts[0]) + 1, len(parts[1]), "Request-URI")
        info = f"Request: {_t(parts[0])} {_t(parts[1])}"
    else:
        ctx.add("sip.Status-Line", text, off, len(line), "Status-Line")
        code = int(parts[1])
        ctx.add("sip.Status-Code", code, off + 8, len(parts[1]), "Status-Code")
        info = f"Status: {_t(b' '.join(parts[1:]))}"
    o = e + 1
    hdrs: dict[str, str] = {}
    contacts: list[str] = []
    body = -1
    while o < lim:
        nl = data.find(b"\n", o, lim)
        le = nl if nl >= 0 else lim
        raw = data[o:le].rstrip(b"\r")
        if not raw:
            body = le + 1
            break
        name, sep, value = raw.partition(b":")
        if sep:
            n = _t(name).strip()
            n = _COMPACT.get(n, n) if len(n) == 1 else n
            canon = SIP_HEADERS.get(n.lower())
            v = _t(value).strip()
            if canon is not None:
                ctx.add(f"sip.{canon}", v, o, len(raw), canon, f"{n}: {v}")
                hdrs.setdefault(canon, v)
                if canon == "CSeq":
                    seq, _, meth = v.partition(" ")
                    if seq.isdigit():
                        ctx.add("sip.CSeq.seq", int(seq), o, len(raw), "Sequence Number")
                    ctx.add("sip.CSeq.method", meth.strip(), o, len(raw), "Method")
                elif canon == "Contact":
                    contacts += _contacts(v)
        o = le + 1
    method = hdrs.get("CSeq", " ").partition(" ")[2].strip()
    if status and 200 <= code < 300 and method:
        info += f" ({method})"
    if method == "REGISTER" and (request or 200 <= code < 300):
        info += _bindings(contacts, hdrs.get("Expires"))
    ctx.info = info + " | "  # (Wireshark separates the messages of a packet with " | ")
    if 0 <= body < lim:
        ctype = hdrs.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == "application/sdp":
            _sdp(ctx, body, lim)
        else:
            data_layer(ctx, body, end)
    return True


#: SDP line type -> Wireshark field
_SDP_FIELDS = {
    "v": "sdp.version",
    "o": "sdp.owner",
    "s": "sdp.session_name",
    "i": "sdp.session_info",
    "u": "sdp.uri",
    "e": "sdp.email",
    "p": "sdp.phone",
    "c": "sdp.connection_info",
    "b": "sdp.bandwidth",
    "t": "sdp.time",
    "r": "sdp.repeat_time",
    "z": "sdp.timezone",
    "k": "sdp.encryption_key",
    "a": "sdp.session_attr",
    "m": "sdp.media",
}


def _sdp(ctx: Ctx, off: int, lim: int) -> None:
    ctx.push("sdp", "Session Description Protocol", off, lim - off)
    ctx.proto = "SIP/SDP"
    data = ctx.data
    o = off
    media = False
    while o < lim:
        nl = data.find(b"\n", o, lim)
        le = nl if nl >= 0 else lim
        raw = data[o:le].rstrip(b"\r")
        if len(raw) >= 2 and raw[1:2] == b"=":
            t = chr(raw[0])
            media = media or t == "m"
            field = "sdp.media_attr" if media and t == "a" else _SDP_FIELDS.get(t)
            if field is not None:
                ctx.add(field, _t(raw[2:]), o, len(raw), field)
        o = le + 1


@UDP_PORTS.register(SIP_PORT)
@TCP_PORTS.register(SIP_PORT)
def dissect_sip(ctx: Ctx, off: int, end: int) -> None:
    if not dissect_sip_at(ctx, off, end):
        data_layer(ctx, off, end)
