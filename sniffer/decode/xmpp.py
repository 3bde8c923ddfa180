"""XMPP (RFC 6120) client-to-server streams on TCP 5222, one segment at a time, as Wireshark 4.0 shows
them: the segment's first XML element (after an ``<?xml ...?>`` declaration) names the packet
(``STREAM > jabber.ccc.de``, ``FEATURES``, ``STARTTLS``, ``PROCEED``), the layers are ``xmpp:xml`` and
the Protocol column ``XMPP/XML``. After STARTTLS the stream is TLS: a segment that starts with a TLS record
header is decoded as TLS (Wireshark switches the conversation to TLS; here each segment says what it is).
"""

from __future__ import annotations

import re

from sniffer.decode.core import TCP_PORTS, Ctx, data_layer
from sniffer.decode.tls import dissect_tls, is_record_header

XMPP_CLIENT_PORT = 5222

_RES: list[re.Pattern[bytes]] = []  # compiled on first use (import time is every `sniffer read`'s)


def _res() -> list[re.Pattern[bytes]]:
    """The XML declaration, an element's start, any start tag, an attribute."""
    if not _RES:
        _RES.extend(
            (
                re.compile(rb"\s*<\?xml\s+version\s*=\s*['\"]([^'\"]*)['\"][^>]*\?>"),
                re.compile(rb"\s*<([A-Za-z_][\w.:-]*)"),
                re.compile(rb"<([A-Za-z_][\w.:-]*)([^<>]*)>"),
                re.compile(rb"([\w.:-]+)\s*=\s*(?:'([^']*)'|\"([^\"]*)\")"),
            )
        )
    return _RES


def _to_server(ctx: Ctx) -> bool:
    dp = ctx.fields.get("tcp.dstport")
    if isinstance(dp, list):
        dp = dp[-1]
    return dp == XMPP_CLIENT_PORT


@TCP_PORTS.register(XMPP_CLIENT_PORT)
def dissect_xmpp(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if is_record_header(data, off, lim) and dissect_tls(ctx, off, end):
        return
    o = off
    _DECL, _ELEMENT, _ELEMENT_ANY, _ATTR = _res()
    decl = _DECL.match(data, o, lim)
    if decl is not None:
        o = decl.end()
    m = _ELEMENT.match(data, o, lim)
    if m is None:
        data_layer(ctx, off, end)
        return
    out = _to_server(ctx)
    ctx.push("xmpp", "XMPP Protocol", off, lim - off)
    ctx.proto = "XMPP/XML"
    way = ("xmpp.out", "Out") if out else ("xmpp.in", "In")
    ctx.add(way[0], 1, off, 0, way[1], f"{way[1]}: True")
    if decl is not None:
        ctx.add(way[0], 1, off, 0, way[1], f"{way[1]}: True")  # (Wireshark marks the declaration too)
        ctx.add(
            "xmpp.xml_header_version",
            decl.group(1).decode("ascii", "replace"),
            off,
            decl.end() - off,
            "XML HEADER VER",
        )
    qname = m.group(1).decode("ascii", "replace")
    name = qname.rsplit(":", 1)[-1].lower()
    gt = data.find(b">", m.end(), lim)
    attrs = {
        a.group(1).decode("ascii", "replace"): (
            a.group(2) if a.group(2) is not None else a.group(3) or b""
        ).decode("utf-8", "replace")
        for a in _ATTR.finditer(data, m.end(), gt if gt >= 0 else lim)
    }
    ctx.add(f"xmpp.{name}", "", m.start(1) - 1, (gt + 1 if gt >= 0 else lim) - m.start(1) + 1, name.upper())
    # every element's namespaces in document order, each element's default namespace first (as Wireshark)
    for el in _ELEMENT_ANY.finditer(data, m.start(), lim):
        ns = [
            (a.group(1), (a.group(2) if a.group(2) is not None else a.group(3) or b""))
            for a in _ATTR.finditer(el.group(2))
            if a.group(1) == b"xmlns" or a.group(1).startswith(b"xmlns:")
        ]
        for k, v in sorted(ns, key=lambda kv: kv[0] != b"xmlns"):
            key, val = k.decode("ascii", "replace"), v.decode("utf-8", "replace")
            ctx.add("xmpp.xmlns", val, el.start(), el.end() - el.start(), key, f"{key}: {val}")
    if name == "stream":
        peer = attrs.get("to" if out else "from", "")
        ctx.info = f"STREAM {'>' if out else '<'} {peer} "
    else:
        ctx.info = f"{name.upper()} "
    ctx.push("xml", "eXtensible Markup Language", off, lim - off)


#: XMPP's element names are built from the element (for the filter engine's list of what sniffer decodes)
DECLARES: tuple[str, ...] = (
    "xmpp",
    "xml",
    "xmpp.in",
    "xmpp.out",
    "xmpp.xmlns",
    "xmpp.stream",
    "xmpp.features",
    "xmpp.starttls",
    "xmpp.proceed",
    "xmpp.iq",
    "xmpp.message",
    "xmpp.presence",
    "xmpp.auth",
    "xmpp.success",
    "xmpp.failure",
)
