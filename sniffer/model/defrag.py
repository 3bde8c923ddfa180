"""IPv4 and IPv6 defragmentation like Wireshark's defaults (``ip.defragment``, ``ipv6.defragment``), sans-IO: fed every frame's fields
in capture order, it holds the fragments of each datagram and, in the frame that completes one,
decodes the reassembled datagram with the same protocol tables (``decode.fields.frame_fields`` on a
rebuilt frame). Fragments that do not complete a datagram show as "Fragmented IP protocol"
(their first fragment's transport header is not decoded alone, as in Wireshark).

Bounded: at most ``max_datagrams`` datagrams and ``max_bytes`` of fragment data pending; beyond that
the oldest datagram is dropped (``dropped`` counts them).
"""

from __future__ import annotations

import socket
import struct
from collections import OrderedDict
from typing import Any

from sniffer.decode.layers import link as layer_link
from sniffer.frame import Frame

#: field prefixes of the layers up to and including the (outer) IPv4 header
_OUTER = ("frame.", "eth.", "vlan.", "sll.", "null.", "loop.", "ip.", "_ws.expert", "_ws.malformed")
_OUTER6 = ("frame.", "eth.", "vlan.", "sll.", "null.", "loop.", "ipv6.", "_ws.expert", "_ws.malformed")


class _Datagram:
    __slots__ = ("frames", "parts", "size", "total")

    def __init__(self) -> None:
        self.parts: list[tuple[int, int, bytes]] = []  # (offset, arrival, data)
        self.frames: list[tuple[int, int]] = []  # (offset, frame number)
        self.total = -1  # known from the last fragment (MF clear)
        self.size = 0


class Rebuilt:
    """A datagram the last ``apply`` completed: the rebuilt frame (``frame``, its payload from offset
    ``head``), the fragments as (frame number, offset, length) in offset order, the IP version, and where
    the completing fragment's data is: payload offset ``own_off``, ``own_len`` bytes at ``here`` in its frame."""

    __slots__ = ("frame", "head", "here", "own_len", "own_off", "parts", "version")

    def __init__(
        self,
        frame: Frame,
        head: int,
        parts: list[tuple[int, int, int]],
        version: int,
        own: tuple[int, int, int],
    ) -> None:
        self.frame = frame
        self.head = head
        self.parts = parts
        self.version = version
        self.own_off, self.here, self.own_len = own


class Defragmenter:
    """IPv4 reassembly over frame_fields dicts; ``apply`` each frame in capture order."""

    def __init__(self, max_datagrams: int = 4096, max_bytes: int = 16 << 20) -> None:
        self._pending: OrderedDict[tuple[Any, ...], _Datagram] = OrderedDict()
        self._max = max_datagrams
        self._max_bytes = max_bytes
        self._bytes = 0
        self.dropped = 0
        #: the datagram the last ``apply`` completed (None when it completed none)
        self.last: Rebuilt | None = None

    def apply(self, number: int, frame: Frame, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields of ``frame`` with defragmentation: unchanged when it is no IPv4 fragment."""
        self.last = None
        if "ipv6.fraghdr.ident" in fields:
            return self._apply6(number, frame, fields)
        flags = fields.get("ip.flags")
        if type(flags) is list and is_fragment(frame):
            # a first fragment the decoder went into (GTP, a tunnel...): several IP layers. Wireshark
            # does not decode its payload: the outer IP layer alone, then the datagram when complete
            fields = _outer_fields(frame, fields)
            flags = fields.get("ip.flags")
        if type(flags) is not int or not (flags & 1 or fields.get("ip.frag_offset")):
            return fields  # not a fragment
        from sniffer.model.l4 import _link

        link = _link(frame)
        if link is None or link[0] != 0x0800:
            return fields
        off = link[1]
        d = frame[1]
        if len(d) < off + 20:
            return fields
        ihl = (d[off] & 0x0F) * 4
        total = struct.unpack_from("!H", d, off + 2)[0]
        if ihl < 20 or total < ihl or len(d) < off + total:
            return fields  # cut short by the capture: Wireshark does not reassemble it either
        fo = fields["ip.frag_offset"] * 8
        proto = fields.get("ip.proto")
        ident = fields.get("ip.id")
        key = (fields.get("ip.src"), fields.get("ip.dst"), proto, ident)
        data = d[off + ihl : off + total]
        dg = self._hold(key, number, fo, data, bool(flags & 1))
        whole = self._whole(dg)
        if whole is None:
            return _fragment(fields, proto, fo, ident)
        del self._pending[key]
        self._bytes -= dg.size
        hdr = bytearray(d[off : off + ihl])
        struct.pack_into("!H", hdr, 2, ihl + len(whole))
        struct.pack_into("!H", hdr, 6, 0)  # one datagram now: no MF, offset 0
        rebuilt = d[:off] + bytes(hdr) + whole
        from sniffer.decode.fields import frame_fields

        rf = Frame(frame[0], rebuilt, len(rebuilt), frame[3], frame[4])
        self.last = Rebuilt(rf, off + ihl, _parts(dg), 4, (fo, off + ihl, len(data)))
        inner = frame_fields(rf)
        out = _merge(fields, inner, _OUTER, type(inner.get("ip.src")) is list)
        out["ip.fragment"] = [n for _, n in sorted(dg.frames)]  # in offset order, as Wireshark lists them
        out["ip.fragment.count"] = len(dg.frames)
        out["ip.reassembled.length"] = len(whole)
        return out

    def fast_fragment(self, number: int, frame: Frame) -> tuple[str, str, str] | None:
        """``apply`` from the bytes alone for the common case, an IPv4 fragment (the outermost IP layer;
        of a first fragment ``apply`` keeps that layer's fields only, whatever the decoder found inside)
        that completes no datagram: it is held as ``apply`` holds it, and its (source, destination, Info)
        are returned (Protocol: IPv4). None, with nothing held, for every other frame (IPv6, a cut or
        bogus header, one that completes its datagram): ``apply`` on its fields then. (tests: read
        --analysis' text with and without it on every corpus capture with fragments and mutants)"""
        d = frame[1]
        lk = layer_link(d, frame[3])
        if lk is None or lk[0] != 0x0800:
            return None
        off = lk[1]
        if len(d) < off + 20 or d[off] >> 4 != 4:
            return None
        frag = struct.unpack_from("!H", d, off + 6)[0]
        fo, more = (frag & 0x1FFF) * 8, frag & 0x2000
        if not fo and not more:
            return None
        ihl = (d[off] & 0x0F) * 4
        total = struct.unpack_from("!H", d, off + 2)[0]
        if ihl < 20 or total < ihl or len(d) < off + total:
            return None
        proto, ident = d[off + 9], struct.unpack_from("!H", d, off + 4)[0]
        src, dst = socket.inet_ntoa(d[off + 12 : off + 16]), socket.inet_ntoa(d[off + 16 : off + 20])
        key = (src, dst, proto, ident)
        data = d[off + ihl : off + total]
        dg = self._pending.get(key)
        if dg is not None and (dg.total >= 0 or not more):  # it might complete the datagram: apply's
            held = _Datagram()
            held.parts = [*dg.parts, (fo, len(dg.parts), data)]
            held.total = fo + len(data) if not more else dg.total
            if self._whole(held) is not None:
                return None
        self.last = None
        self._hold(key, number, fo, data, bool(more))
        from sniffer.decode.inet import PROTO_NAMES

        return (
            src,
            dst,
            f"Fragmented IP protocol (proto={PROTO_NAMES.get(proto, '')} {proto}, off={fo}, ID={ident:04x})",
        )

    def _apply6(self, number: int, frame: Frame, fields: dict[str, Any]) -> dict[str, Any]:
        """IPv6: the Fragment header (not an atomic one) right after the header or its extensions."""
        more, fo8, ident = (
            fields.get("ipv6.fraghdr.more"),
            fields.get("ipv6.fraghdr.offset"),
            fields["ipv6.fraghdr.ident"],
        )
        if type(more) is not int or type(fo8) is not int or not (more or fo8):
            return fields  # atomic, or several (tunnels): left per packet
        from sniffer.model.l4 import _link

        link = _link(frame)
        if link is None or link[0] != 0x86DD:
            return fields
        off = link[1]
        d = frame[1]
        if len(d) < off + 40:
            return fields
        plen = struct.unpack_from("!H", d, off + 4)[0]
        end = off + 40 + plen
        nxt, pos = d[off + 6], off + 40
        while nxt in (0, 43, 60) and len(d) >= pos + 8:  # the unfragmentable extension headers
            nxt, pos = d[pos], pos + (d[pos + 1] + 1) * 8
        if nxt != 44 or len(d) < end or pos + 8 > end:
            return fields
        fo = fo8 * 8
        proto = d[pos]
        key = (fields.get("ipv6.src"), fields.get("ipv6.dst"), "v6", ident)
        data = d[pos + 8 : end]
        dg = self._hold(key, number, fo, data, bool(more))
        whole = self._whole(dg)
        if whole is None:
            return _fragment6(fields, proto, fo, more, ident)
        del self._pending[key]
        self._bytes -= dg.size
        # the datagram again, its Fragment header now an atomic one (offset 0, no more fragments)
        head = bytearray(d[off : pos + 8])
        struct.pack_into("!H", head, 4, len(head) - 40 + len(whole))
        struct.pack_into("!H", head, pos - off + 2, 0)
        rebuilt = d[:off] + bytes(head) + whole
        from sniffer.decode.fields import frame_fields

        rf = Frame(frame[0], rebuilt, len(rebuilt), frame[3], frame[4])
        self.last = Rebuilt(rf, pos + 8, _parts(dg), 6, (fo, pos + 8, len(data)))
        inner = frame_fields(rf)
        out = _merge(fields, inner, _OUTER6, type(inner.get("ipv6.src")) is list)
        out["ipv6.fragment"] = [n for _, n in sorted(dg.frames)]
        out["ipv6.fragment.count"] = len(dg.frames)
        out["ipv6.reassembled.length"] = len(whole)
        return out

    def _hold(self, key: tuple[Any, ...], number: int, fo: int, data: bytes, more: bool) -> _Datagram:
        """Hold a fragment (offset ``fo``, ``more`` after it) of datagram ``key``, within the bounds."""
        dg = self._pending.get(key)
        if dg is None:
            dg = self._pending[key] = _Datagram()
        dg.parts.append((fo, len(dg.parts), data))
        dg.frames.append((fo, number))
        dg.size += len(data)
        self._bytes += len(data)
        if not more:
            dg.total = fo + len(data)
        self._bound(key)
        return dg

    def _whole(self, dg: _Datagram) -> bytes | None:
        if dg.total < 0:
            return None
        buf = bytearray()
        for fo, _, data in sorted(dg.parts):
            if fo > len(buf):
                return None  # a hole
            if fo + len(data) > len(buf):
                buf += data[len(buf) - fo :]  # what an earlier fragment did not already give
        if len(buf) < dg.total:
            return None
        return bytes(buf[: dg.total])

    def _bound(self, keep: tuple[Any, ...]) -> None:
        while (len(self._pending) > self._max or self._bytes > self._max_bytes) and len(self._pending) > 1:
            key = next(iter(self._pending))
            if key == keep:
                self._pending.move_to_end(key)
                continue
            self._bytes -= self._pending.pop(key).size
            self.dropped += 1


def _parts(dg: _Datagram) -> list[tuple[int, int, int]]:
    """(frame number, offset, length) of each fragment, in offset order (Wireshark's fragment list)."""
    sizes = {n: len(data) for (_, n), (_, _, data) in zip(dg.frames, dg.parts, strict=False)}
    return [(n, fo, sizes[n]) for fo, n in sorted(dg.frames)]


def is_fragment(frame: Frame) -> bool:
    """True when the frame's (outer) IP header says it is a fragment: IPv4 with MF set or an offset,
    IPv6 with a Fragment header (atomic ones included: the decoder tells them apart)."""
    from sniffer.decode.layers import link as walk

    link = walk(frame[1], frame[3])
    if link is None:
        return False
    d, off = frame[1], link[1]
    if link[0] == 0x0800:
        return len(d) >= off + 8 and bool(struct.unpack_from("!H", d, off + 6)[0] & 0x3FFF)
    if link[0] == 0x86DD and len(d) >= off + 40:
        nxt, pos = d[off + 6], off + 40
        while nxt in (0, 43, 60) and len(d) >= pos + 8:
            nxt, pos = d[pos], pos + (d[pos + 1] + 1) * 8
        return nxt == 44
    return False


def _merge(
    own: dict[str, Any], inner: dict[str, Any], outer: tuple[str, ...], tunnel: bool
) -> dict[str, Any]:
    """The fields of the frame that completes a datagram: its own link and IP layers (``own``), then what
    the reassembled datagram (``inner``: the frame rebuilt, decoded again) has beyond them. ``tunnel``:
    the datagram carries IP again (GTP, GRE...): the inner layers' link and IP fields follow the frame's
    own (the rebuilt decode repeats the outer layers first, then the inner ones)."""
    out = {k: v for k, v in own.items() if k.startswith(outer) and k != "frame.protocols"}
    for k, v in inner.items():
        if not k.startswith(outer) or k == "frame.protocols":
            out[k] = v
        elif tunnel and k[0] != "_":
            mine = own.get(k)
            if mine is None:
                out[k] = v  # a field of the inner layers only
            elif type(v) is list:
                head = mine if type(mine) is list else [mine]
                if len(v) > len(head):
                    out[k] = head + v[len(head) :]
    return out


def _outer_fields(frame: Frame, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of an IPv4 first fragment decoded up to its (outer) IP header only: the frame decoded
    again with that header's protocol byte set to 255 (no dissector: data), then the protocol restored."""
    from sniffer.decode.fields import frame_fields
    from sniffer.decode.layers import link as walk

    lk = walk(frame[1], frame[3])
    if lk is None or lk[0] != 0x0800 or len(frame[1]) < lk[1] + 20:
        return fields
    d = bytearray(frame[1])
    proto = d[lk[1] + 9]
    d[lk[1] + 9] = 255
    out = frame_fields(Frame(frame[0], bytes(d), frame[2], frame[3], frame[4]))
    if type(out.get("ip.proto")) is not int:
        return fields
    out["ip.proto"] = proto
    return out


def _fragment(fields: dict[str, Any], proto: Any, fo: int, ident: Any) -> dict[str, Any]:
    """A fragment that completes nothing: its IP layer, then data (Wireshark's view)."""
    from sniffer.decode.inet import PROTO_NAMES

    out = {k: v for k, v in fields.items() if k.startswith(_OUTER)}
    protos = str(fields.get("frame.protocols", "")).split(":")
    if "ip" in protos:
        protos = protos[: protos.index("ip") + 1]
    out["frame.protocols"] = ":".join([*protos, "data"])
    name = PROTO_NAMES.get(proto, "") if isinstance(proto, int) else ""
    out["_ws.col.Protocol"] = "IPv4"
    out["_ws.col.Info"] = f"Fragmented IP protocol (proto={name} {proto}, off={fo}, ID={ident:04x})"
    return out


def _fragment6(fields: dict[str, Any], proto: int, fo: int, more: int, ident: int) -> dict[str, Any]:
    out = {k: v for k, v in fields.items() if k.startswith(_OUTER6)}
    protos = str(fields.get("frame.protocols", "")).split(":")
    if "ipv6.fraghdr" in protos:
        protos = protos[: protos.index("ipv6.fraghdr") + 1]
    out["frame.protocols"] = ":".join([*protos, "data"])
    out["_ws.col.Protocol"] = "IPv6"
    out["_ws.col.Info"] = (
        f"IPv6 fragment (off={fo} more={'y' if more else 'n'} ident=0x{ident:08x} nxt={proto})"
    )
    return out
