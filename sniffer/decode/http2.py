"""HTTP/2 over cleartext TCP (RFC 9113, "prior knowledge"): a segment on an HTTP port that starts with the
client connection preface (``PRI * HTTP/2.0``) and the frames after it in the same segment, as tshark 4.0
shows them: layers ``http:http2``, Protocol ``HTTP2``, Info ``Magic, SETTINGS[0], HEADERS[1]: GET /``.

Frames are decoded per segment: the header of each (``http2.length``, ``.type``, ``.flags``, ``.r``,
``.streamid``), SETTINGS parameters, WINDOW_UPDATE, PING, GOAWAY, RST_STREAM. A HEADERS block's method
and path come from HPACK's static table and plain literals (Huffman-coded strings and the dynamic table
are not decoded). Later segments of the connection carry frames without the preface: Wireshark knows them
from the conversation; here they stay TCP (state).
"""

from __future__ import annotations

from sniffer.decode.core import Ctx

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

FRAME_TYPES = {
    0: "DATA",
    1: "HEADERS",
    2: "PRIORITY",
    3: "RST_STREAM",
    4: "SETTINGS",
    5: "PUSH_PROMISE",
    6: "PING",
    7: "GOAWAY",
    8: "WINDOW_UPDATE",
    9: "CONTINUATION",
}
SETTINGS = {
    1: "header_table_size",
    2: "enable_push",
    3: "max_concurrent_streams",
    4: "initial_window_size",
    5: "max_frame_size",
    6: "max_header_list_size",
}
#: HPACK's static table entries a request line uses (RFC 7541 appendix A)
_STATIC = {
    1: (":authority", ""),
    2: (":method", "GET"),
    3: (":method", "POST"),
    4: (":path", "/"),
    5: (":path", "/index.html"),
    6: (":scheme", "http"),
    7: (":scheme", "https"),
}


def _u(data: bytes, o: int, n: int) -> int:
    return int.from_bytes(data[o : o + n], "big")


def _hpack_int(data: bytes, o: int, lim: int, bits: int) -> tuple[int, int] | None:
    mask = (1 << bits) - 1
    v = data[o] & mask
    o += 1
    if v < mask:
        return v, o
    m = 0
    while o < lim:
        b = data[o]
        o += 1
        v += (b & 0x7F) << m
        m += 7
        if not b & 0x80:
            return v, o
        if m > 28:
            return None
    return None


def _request_line(data: bytes, o: int, lim: int) -> str:
    """``: GET /`` from a header block's :method and :path (static table, plain literals), else ""."""
    found: dict[str, str] = {}
    while o < lim and len(found) < 2:
        b = data[o]
        if b & 0x80:  # indexed header field
            r = _hpack_int(data, o, lim, 7)
            if r is None:
                break
            idx, o = r
            name, value = _STATIC.get(idx, ("", ""))
            if name in (":method", ":path"):
                found[name] = value
            continue
        if b & 0xE0 == 0x20:  # dynamic table size update
            r = _hpack_int(data, o, lim, 5)
            if r is None:
                break
            o = r[1]
            continue
        bits = 6 if b & 0x40 else 4  # literal with incremental indexing / without / never indexed
        r = _hpack_int(data, o, lim, bits)
        if r is None:
            break
        idx, o = r
        name = _STATIC.get(idx, ("", ""))[0] if idx else ""
        if not idx:  # a literal name
            if o >= lim or data[o] & 0x80:
                break
            r = _hpack_int(data, o, lim, 7)
            if r is None:
                break
            n, o = r
            name = data[o : o + n].decode("ascii", "replace")
            o += n
        if o >= lim:
            break
        huff = data[o] & 0x80
        r = _hpack_int(data, o, lim, 7)
        if r is None:
            break
        n, o = r
        if name in (":method", ":path") and not huff:
            found[name] = data[o : o + n].decode("ascii", "replace")
        o += n
    if ":method" in found and ":path" in found:
        return f": {found[':method']} {found[':path']}"
    return ""


def dissect_http2_preface(ctx: Ctx, off: int, end: int) -> bool:
    """The connection preface at ``off`` and the frames after it; False (nothing recorded) if absent."""
    data = ctx.data
    lim = min(end, len(data))
    if not data.startswith(PREFACE, off) or off + len(PREFACE) > lim:
        return False
    ctx.push("http", "Hypertext Transfer Protocol", off, 0)
    ctx.push("http2", "HyperText Transfer Protocol 2", off, lim - off)
    ctx.proto = "HTTP2"
    ctx.add("http2.stream", "", off, len(PREFACE), "Stream", "Stream: Magic")
    ctx.add("http2.magic", PREFACE.decode("ascii"), off, len(PREFACE), "Magic")
    names = ["Magic"]
    o = off + len(PREFACE)
    while o + 9 <= lim:
        ln = _u(data, o, 3)
        t = data[o + 3]
        flags = data[o + 4]
        sid = _u(data, o + 5, 4) & 0x7FFFFFFF
        tname = FRAME_TYPES.get(t, "Unknown type")
        ctx.add("http2.stream", "", o, 9 + ln, "Stream", f"Stream: {tname}, Stream ID: {sid}, Length {ln}")
        ctx.add("http2.length", ln, o, 3, "Length")
        ctx.add("http2.type", t, o + 3, 1, "Type")
        ctx.add("http2.flags", flags, o + 4, 1, "Flags")
        ctx.add("http2.r", data[o + 5] >> 7, o + 5, 4, "Reserved")
        ctx.add("http2.streamid", sid, o + 5, 4, "Stream Identifier")
        b = o + 9
        stop = b + ln
        name = f"{tname}[{sid}]"
        if stop <= lim:
            if t == 4:
                for p in range(b, stop - 5, 6):
                    sid_ = _u(data, p, 2)
                    ctx.add("http2.settings.id", sid_, p, 2, "Settings Identifier")
                    if sid_ in SETTINGS:
                        ctx.add(
                            f"http2.settings.{SETTINGS[sid_]}", _u(data, p + 2, 4), p + 2, 4, SETTINGS[sid_]
                        )
            elif t == 8 and ln >= 4:
                ctx.add(
                    "http2.window_update.window_size_increment",
                    _u(data, b, 4) & 0x7FFFFFFF,
                    b,
                    4,
                    "Window Size Increment",
                )
            elif t == 7 and ln >= 8:
                ctx.add("http2.goaway.last_stream_id", _u(data, b, 4) & 0x7FFFFFFF, b, 4, "Last-Stream-ID")
                ctx.add("http2.goaway.error", _u(data, b + 4, 4), b + 4, 4, "Error")
            elif t == 3 and ln >= 4:
                ctx.add("http2.rst_stream.error", _u(data, b, 4), b, 4, "Error")
            elif t == 1:
                hb = b
                if flags & 0x08 and hb < stop:  # padded
                    hb += 1
                if flags & 0x20:  # priority
                    hb += 5
                if hb <= stop:
                    name += _request_line(data, hb, stop - (data[b] if flags & 0x08 else 0))
        names.append(name)
        o = stop
    ctx.info = ", ".join(names)
    return True


DECLARES: tuple[str, ...] = ("http2", *(f"http2.settings.{n}" for n in SETTINGS.values()))
