"""HTTP/1.x, one TCP segment at a time (no reassembly, like tshark with tcp.desegment_tcp_streams off).

A segment on an HTTP port is taken when it starts with a request line (a known method and a space) or a
status line ("HTTP/"); its header lines become Wireshark's ``http.*`` fields, the rest of the segment is
the body. Anything else on those ports (a body continued in a later segment) stays TCP + data.
"""

from __future__ import annotations

from sniffer.decode.core import HTTP_METHODS, HTTP_PREFIXES, HTTP_TCP_PORTS, TCP_PORTS, Ctx, data_layer
from sniffer.decode.http2 import PREFACE, dissect_http2_preface
from sniffer.decode.tcpheur import TCP_HEURISTICS

_METHODS = frozenset(m.encode() for m in HTTP_METHODS)

#: header name (lower case) -> Wireshark field (packet-http.c's ``headers`` table)
HEADER_FIELDS = {
    "authorization": "http.authorization",
    "proxy-authorization": "http.proxy_authorization",
    "proxy-authenticate": "http.proxy_authenticate",
    "www-authenticate": "http.www_authenticate",
    "content-type": "http.content_type",
    "content-length": "http.content_length_header",
    "content-encoding": "http.content_encoding",
    "transfer-encoding": "http.transfer_encoding",
    "upgrade": "http.upgrade",
    "user-agent": "http.user_agent",
    "host": "http.host",
    "range": "http.range",
    "content-range": "http.content_range",
    "connection": "http.connection",
    "cookie": "http.cookie",
    "accept": "http.accept",
    "referer": "http.referer",
    "accept-language": "http.accept_language",
    "accept-encoding": "http.accept_encoding",
    "date": "http.date",
    "cache-control": "http.cache_control",
    "server": "http.server",
    "location": "http.location",
    "sec-websocket-accept": "http.sec_websocket_accept",
    "sec-websocket-extensions": "http.sec_websocket_extensions",
    "sec-websocket-key": "http.sec_websocket_key",
    "sec-websocket-protocol": "http.sec_websocket_protocol",
    "sec-websocket-version": "http.sec_websocket_version",
    "set-cookie": "http.set_cookie",
    "last-modified": "http.last_modified",
    "x-forwarded-for": "http.x_forwarded_for",
}

#: status code -> description (http.response.code.desc), the common ones
STATUS = {
    100: "Continue",
    101: "Switching Protocols",
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Time-out",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


_CLASSES = {
    1: "Informational - Others",
    2: "Success - Others",
    3: "Redirection - Others",
    4: "Client Error - Others",
    5: "Server Error - Others",
}

#: names this module's code builds at run time (for the filter engine's list of what sniffer decodes)
DECLARES = ("http.request", "http.response", "json", "urlencoded-form")

#: body media types with a dissector of their own in Wireshark -> (layer, protocol column, Info text)
_BODY = {
    "application/x-www-form-urlencoded": ("urlencoded-form", "", " (application/x-www-form-urlencoded)"),
    "application/json": ("json", "HTTP/JSON", ", JavaScript Object Notation (application/json)"),
    # Wireshark's XML dissector takes these media types (before text/*'s line-based text): no Info suffix
    "text/xml": ("xml", "HTTP/XML", ""),
    "application/xml": ("xml", "HTTP/XML", ""),
    "application/soap+xml": ("xml", "HTTP/XML", ""),
    "application/atom+xml": ("xml", "HTTP/XML", ""),
    "application/rss+xml": ("xml", "HTTP/XML", ""),
    "application/xhtml+xml": ("xml", "HTTP/XML", ""),
    "image/svg+xml": ("xml", "HTTP/XML", ""),
}


def _chunks_ok(data: bytes, o: int, lim: int) -> bool:
    """The body at ``o`` is chunked transfer coding that parses (up to the last chunk or the end)."""
    while o < lim:
        e, nxt = _line_end(data, o, lim)
        try:
            n = int(data[o:e].split(b";", 1)[0].strip(), 16)
        except ValueError:
            return False
        if n == 0:
            return True
        o = nxt + n
        if o > lim:
            return False
        o = _line_end(data, o, lim)[1]
    return True


def request_or_response(data: bytes, off: int, lim: int) -> str:
    """ "request", "response" or "" for the bytes at ``off``: a known method + space, or "HTTP/"."""
    if data.startswith(b"HTTP/", off, lim):
        return "response"
    sp = data.find(b" ", off, min(lim, off + 13))
    if sp > off and data[off:sp] in _METHODS:
        return "request"
    return ""


def _line_end(data: bytes, o: int, lim: int) -> tuple[int, int]:
    """(end of the line's text, start of the next line) for the line at ``o``; a line cut by the end of
    the bytes ends there."""
    nl = data.find(b"\n", o, lim)
    if nl < 0:
        return lim, lim
    e = nl - 1 if nl > o and data[nl - 1] == 13 else nl
    return e, nl + 1


def _text(b: bytes) -> str:
    return b.decode("latin-1")


def _first_line(ctx: Ctx, kind: str, o: int, e: int, nxt: int) -> str:
    """The request/status line's fields; returns the line's text (without the line end)."""
    data = ctx.data
    line = _text(data[o:e])
    node = ctx.sub(line + "\\r\\n", "", o, nxt - o, line + "\\r\\n")
    if kind == "request":
        sp = data.find(b" ", o, e)
        ctx.add("http.request.method", _text(data[o:sp]), o, sp - o, "Request Method", None, node)
        u = sp + 1
        sp2 = data.rfind(b" ", u, e)
        if sp2 < 0:  # HTTP/0.9 style: no version
            ctx.add("http.request.uri", _text(data[u:e]), u, e - u, "Request URI", None, node)
            ctx.add("http.request.version", "", e, 0, "Request Version", None, node)
        else:
            ctx.add("http.request.uri", _text(data[u:sp2]), u, sp2 - u, "Request URI", None, node)
            ctx.add(
                "http.request.version",
                _text(data[sp2 + 1 : e]),
                sp2 + 1,
                e - sp2 - 1,
                "Request Version",
                None,
                node,
            )
        return line
    sp = data.find(b" ", o, e)
    if sp < 0:
        ctx.add("http.response.version", line, o, e - o, "Response Version", None, node)
        return line
    ctx.add("http.response.version", _text(data[o:sp]), o, sp - o, "Response Version", None, node)
    c = sp + 1
    sp2 = data.find(b" ", c, e)
    ce = e if sp2 < 0 else sp2
    code_b = data[c:ce]
    if len(code_b) == 3 and code_b.isdigit():
        code = int(code_b)
        ctx.add("http.response.code", code, c, 3, "Status Code", None, node)
        desc = STATUS.get(code) or _CLASSES.get(code // 100, "Unknown")
        ctx.add("http.response.code.desc", desc, c, 3, "Status Code Description", None, node)
        if sp2 >= 0:
            ctx.add(
                "http.response.phrase",
                _text(data[sp2 + 1 : e]),
                sp2 + 1,
                e - sp2 - 1,
                "Response Phrase",
                None,
                node,
            )
    return line


def dissect_http(ctx: Ctx, off: int, end: int) -> bool:
    """HTTP at ``off`` if the segment starts with a request or status line; False (nothing recorded) if not."""
    data = ctx.data
    lim = min(end, len(data))
    kind = request_or_response(data, off, lim)
    if not kind:
        return False
    layer = ctx.push("http", "Hypertext Transfer Protocol", off, lim - off)
    ctx.proto = "HTTP"
    e, o = _line_end(data, off, lim)
    line = _first_line(ctx, kind, off, e, o)
    line_field = "http.request.line" if kind == "request" else "http.response.line"
    host = ctype = ""
    chunked = bounds = more = False
    body = -1
    while o < lim:
        e, nxt = _line_end(data, o, lim)
        if e == o:  # the empty line: end of the headers
            ctx.sub("\\r\\n", "", o, nxt - o)
            body = nxt
            break
        raw = data[o:e]
        colon = raw.find(b":")
        if colon < 0:
            if nxt == lim and e == lim:  # a cut line that is no header: tshark's bounds error
                bounds = True
            else:  # a line that is no header: the rest is shown as data ("Continuation")
                body = o
                more = True
            break
        shown = _text(raw) + "\\r\\n"
        node = None  # the named header's node: its request/response.line goes under it (Wireshark hides it)
        if colon > 0:
            name = _text(raw[:colon]).strip().lower()
            value = _text(raw[colon + 1 :]).strip(" \t")
            field = HEADER_FIELDS.get(name)
            if field == "http.content_length_header":
                node = ctx.add(field, value, o, nxt - o, "Content-Length", shown)
                if value.isdigit():
                    ctx.add("http.content_length", int(value), o, nxt - o, "Content length", None, node)
            elif field is not None:
                node = ctx.add(field, value, o, nxt - o, _text(raw[:colon]), shown)
                if field == "http.host":
                    host = value
                elif field == "http.content_type":
                    ctype = value
                elif field == "http.transfer_encoding":
                    chunked = "chunked" in value.lower()
                elif field == "http.cookie":
                    for pair in value.split(";"):
                        pair = pair.strip(" ")
                        if pair:
                            ctx.add("http.cookie_pair", pair, o, nxt - o, "Cookie pair", None, node)
        ctx.add(line_field, _text(data[o:nxt]), o, nxt - o, line_field, shown, node)
        o = nxt
    ctx.info = line + " "
    if bounds:
        ctx.info += "[BoundErrorUnreassembled Packet]"
        return True
    ctx.add(f"http.{kind}", 1, off, 0, kind.capitalize(), f"[{kind.capitalize()}: True]")
    if kind == "request":
        uri = ctx.fields.get("http.request.uri")
        connect = ctx.fields.get("http.request.method") == "CONNECT"
        if isinstance(uri, str) and (host or connect):
            full = uri if connect or "://" in uri else f"http://{host}{uri}"
            ctx.add("http.request.full_uri", full, off, 0, "Full request URI")
    if body < 0:
        return True
    layer.length = body - off
    if more:
        ctx.info += "Continuation"
        data_layer(ctx, body, end)
    elif body < lim and (not chunked or _chunks_ok(data, body, lim)):
        mtype = ctype.split(";", 1)[0].strip().lower()
        sub = _BODY.get(mtype)
        if sub is not None:
            ctx.push(sub[0], mtype, body, lim - body)
            ctx.proto = sub[1] or ctx.proto
            ctx.info += sub[2]
        elif mtype.startswith("text/"):
            n = data.count(b"\n", body, lim) + (data[lim - 1] != 10)
            ctx.push("data-text-lines", f"Line-based text data: {mtype} ({n} lines)", body, lim - body)
            ctx.info += f" ({mtype})"
        else:
            data_layer(ctx, body, end)
    return True


@TCP_PORTS.register(*HTTP_TCP_PORTS, prefixes=HTTP_PREFIXES | {PREFACE[:3]})
def dissect_http_port(ctx: Ctx, off: int, end: int) -> None:
    if not dissect_http(ctx, off, end) and not dissect_http2_preface(ctx, off, end):
        data_layer(ctx, off, end)


@TCP_HEURISTICS.register(HTTP_PREFIXES)
def heuristic_http(ctx: Ctx, off: int, end: int) -> bool:
    """tshark 4.0's HTTP heuristic on any TCP port: the first line (ended by CR LF) starts or ends with
    "HTTP/1.1" and is not 8 bytes long."""
    data = ctx.data
    lim = min(end, len(data))
    nl = data.find(b"\n", off, lim)
    cr = data.find(b"\r", off, lim)
    ends = [e for e in (nl, cr) if e >= 0]
    if not ends:
        return False
    e = min(ends)
    if e - off == 8:
        return False
    line = data[off:e].upper()
    if not (line.startswith(b"HTTP/1.1") or line.endswith(b"HTTP/1.1")):
        return False
    return dissect_http(ctx, off, end)
