"""Decoding machinery: the dissection context, tree nodes, declarative headers and next-layer tables.

Every protocol module declares its headers as tuples of :class:`F` (field name, label, offset, size,
kind, bit mask, display) in wire order, and registers its dissector in a :class:`Table` keyed by the
value that selects it (ethertype, IP protocol, UDP port, link type), as dpkt's ``_typesw`` and scapy's
``bind_layers`` do. A dissector is ``fn(ctx, off, end) -> None``: it reads ``ctx.data`` from ``off``
up to the reported end ``end`` and records fields through ``ctx``. The same calls build the flat
Wireshark-named field dict (``frame_fields``) and, when asked, the tree with byte offsets (``dissect``),
so the two always agree.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, cast

Value = Any  # int | str | bytes


class Node:
    """One item of the detail tree: a protocol layer, a subtree, or a field.

    name: label shown to people ("Source Address"); field: the Wireshark field or protocol name
    ("ip.src", "ip"); value: the decoded value (None for pure subtrees); text: the display line;
    offset/length: the bytes of the frame it covers; children: nested nodes.
    """

    __slots__ = ("children", "field", "length", "name", "offset", "text", "value")

    def __init__(self, name: str, field: str, value: Value, text: str, offset: int, length: int) -> None:
        self.name = name
        self.field = field
        self.value = value
        self.text = text
        self.offset = offset
        self.length = length
        self.children: list[Node] = []

    def walk(self) -> Iterator[Node]:
        """Yield this node and every descendant, depth first in order."""
        yield self
        for c in self.children:
            yield from c.walk()

    def find(self, field: str) -> Node | None:
        for n in self.walk():
            if n.field == field:
                return n
        return None

    def to_fields(self) -> dict[str, Value]:
        """The flat field dict of this subtree (same shape as ``frame_fields``)."""
        out: dict[str, Value] = {}
        for n in self.walk():
            if n.value is None or (n is self and not n.field):
                continue
            _put(out, n.field, n.value)
        return out

    def __repr__(self) -> str:
        return f"Node({self.field!r}, {self.value!r}, off={self.offset}, len={self.length}, {len(self.children)} children)"


def _put(d: dict[str, Value], name: str, value: Value) -> None:
    old = d.get(name, _MISSING)
    if old is _MISSING:
        d[name] = value
    elif type(old) is list:
        old.append(value)
    else:
        d[name] = [old, value]


_MISSING = object()

#: the fields some dissector reads back from ``ctx.fields`` (the transports' ports that the application
#: dissectors look at, a jumbogram's lengths, ...): the columns-only dissection (``LeanCtx``) records
#: these and drops every other field. tests/decode/test_lean.py finds every such read in the decoders'
#: source and checks it is listed here.
READ_BACK = frozenset(
    {
        "tcp.srcport",
        "tcp.dstport",
        "udp.srcport",
        "udp.dstport",
        "ipv6.plen",
        "ipv6.opt.jumbo",
        "http.request.uri",
        "http.request.method",
        "hci_h4.direction",
    }
)


# ---------------------------------------------------------------------------------------------
# value formatting (memoised: the same addresses come back again and again)

_ip4_cache: dict[bytes, str] = {}
_ip6_cache: dict[bytes, str] = {}
_mac_cache: dict[bytes, str] = {}


def _inet_ntop(family: int, b: bytes) -> str:
    # socket is imported on first need: it pulls in selectors and enum, ~5 ms before the first line
    import socket

    return socket.inet_ntop(family, b)


def ip4(b: bytes) -> str:
    s = _ip4_cache.get(b)
    if s is None:
        s = f"{b[0]}.{b[1]}.{b[2]}.{b[3]}" if len(b) == 4 else _inet_ntop(2, b)  # AF_INET
        if len(_ip4_cache) > 65536:
            _ip4_cache.clear()
        _ip4_cache[b] = s
    return s


def ip6(b: bytes) -> str:
    s = _ip6_cache.get(b)
    if s is None:
        s = _inet_ntop(10, b)  # AF_INET6
        if len(_ip6_cache) > 65536:
            _ip6_cache.clear()
        _ip6_cache[b] = s
    return s


def mac(b: bytes) -> str:
    s = _mac_cache.get(b)
    if s is None:
        s = b.hex(":")
        if len(_mac_cache) > 65536:
            _mac_cache.clear()
        _mac_cache[b] = s
    return s


_NUMS: list[str] = []  # str(i) for 0 <= i < 65600: ports, lengths, windows (built on first use)


def num_strs() -> list[str]:
    """``str(i)`` for 0 <= i < 65 600 (ports, lengths, windows): the Info texts and read's lines index it
    (a list lookup costs a fraction of formatting an int)."""
    if not _NUMS:
        _NUMS.extend(map(str, range(65600)))
    return _NUMS


def hexstr(width: int) -> Callable[[Value], str]:
    return lambda v: f"0x{v:0{width}x}"


HEX2 = hexstr(2)
HEX4 = hexstr(4)
HEX8 = hexstr(8)


# ---------------------------------------------------------------------------------------------
# declarative headers


class F(NamedTuple):
    """One header field in wire order.

    kind: "u" big-endian unsigned of ``size`` bytes (then ``mask``/shift applied), "ip4", "ip6",
    "mac", "bytes" (value is the bytes' hex with ':' like Wireshark's byte fields), "str".
    disp: optional function value -> display text (default str(value)); names: optional value -> name
    mapping shown after the value.
    """

    name: str
    label: str
    off: int
    size: int
    kind: str = "u"
    mask: int = 0
    disp: Callable[[Value], str] | None = None
    names: dict[int, str] | None = None
    scale: int = 1  # multiply the (masked) value, e.g. 4 for header lengths counted in 32-bit words


def _shift(mask: int) -> int:
    return (mask & -mask).bit_length() - 1 if mask else 0


_STRUCT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def _compile_reader(fields: tuple[F, ...]) -> Callable[[_Slow], Callable[..., dict[str, Value] | None]]:
    """Generate ``make(slow)`` returning ``read(ctx, base, end, into=None) -> vals`` for a whole header:
    what ``Header.read`` does, as one function. With a tree, or when the header is not all there, it hands
    over to ``slow`` (the header's own declared field loop, with its labels). Otherwise: one ``struct.Struct`` unpack for the big-endian unsigned fields that
    do not overlap (dpkt's ``__hdr_fmt__``), then masks, shifts and scales, the addresses through the
    memoised formatters' caches, each value put in the frame's field dict (appended if the name is there
    already, as ``Ctx.add`` does) and in the returned name -> value dict (a repeated name keeps its last
    value). Same values and dict order as the loop (tests check every declared header)."""
    size = max(f.off + f.size for f in fields)
    fmt, slot = _layout(fields)
    ns = _namespace(fmt)
    ns["_merge"] = _merge
    body = [
        "data = ctx.data",
        f"if ctx.tree or (_e := base + {size}) > end or _e > len(data):",
        "    return _slow(ctx, base, end, into)",
    ]
    if slot:
        snames = [f"_s{i}" for i in range(len(slot))]
        body.append(f"{', '.join(snames)}{',' if len(snames) == 1 else ''} = _unpack(data, base)")
    same: dict[tuple[int, int, str, int, int], int] = {}  # a field declared again (an alias) reuses its value
    for i, f in enumerate(fields):
        j = same.setdefault((f.off, f.size, f.kind, f.mask, f.scale), i)
        v = f"v{j}" if j != i else _value(f, slot)
        body.append(f"v{i} = {v}")
    items = {f.name: f"v{i}" for i, f in enumerate(fields)}  # a repeated name keeps its last value
    body.append("vals = {" + ", ".join(f"{k!r}: {v}" for k, v in items.items()) + "}")
    body.append("fields = ctx.fields")
    # columns only: no fields but the ones dissectors read back (READ_BACK)
    body.append("if ctx.lean:")
    for i, f in enumerate(fields):
        if f.name in READ_BACK:
            body.append(f"    if {f.name!r} in fields:")
            body.append(f"        _merge(fields, {f.name!r}, v{i})")
            body.append("    else:")
            body.append(f"        fields[{f.name!r}] = v{i}")
    body.append("    return vals")
    # names all absent (the usual case): one C-level update; a name declared twice goes in as a list
    if len(items) <= 6:
        body.append("if " + " and ".join(f"{k!r} not in fields" for k in items) + ":")
    else:
        body.append("if fields.keys().isdisjoint(vals):")
    body.append("    fields.update(vals)")
    if len(items) != len(fields):  # a name declared twice (an alias): its values as one list, in place
        put: dict[str, list[str]] = {}
        for i, f in enumerate(fields):
            put.setdefault(f.name, []).append(f"v{i}")
        for k, vs in put.items():
            if len(vs) > 1:
                body.append(f"    fields[{k!r}] = [{', '.join(vs)}]")
    body.append("    return vals")
    for i, f in enumerate(fields):
        body.append(f"if {f.name!r} in fields:")
        body.append(f"    _merge(fields, {f.name!r}, v{i})")
        body.append("else:")
        body.append(f"    fields[{f.name!r}] = v{i}")
    body.append("return vals")
    src = (
        "def make(_slow):\n    def read(ctx, base, end, into=None):\n"
        + "".join(f"        {line}\n" for line in body)
        + "    return read\n"
    )
    exec(compile(src, f"<header {fields[0].name}>", "exec"), ns)
    fn: Callable[[_Slow], Callable[..., dict[str, Value] | None]] = ns["make"]
    return fn


def _layout(fields: tuple[F, ...]) -> tuple[str, dict[tuple[int, int], int]]:
    """The ``struct`` format of a header's big-endian unsigned fields that do not overlap (dpkt's
    ``__hdr_fmt__``) and the slot of each (offset, size) in what it unpacks."""
    spans = sorted({(f.off, f.size) for f in fields if f.kind == "u" and f.size in _STRUCT_CODES})
    slot: dict[tuple[int, int], int] = {}
    fmt, pos = ">", 0
    for off, sz in spans:
        if off < pos:  # overlaps a field already in the struct: read on its own
            continue
        fmt += "x" * (off - pos) + _STRUCT_CODES[sz]
        slot[(off, sz)] = len(slot)
        pos = off + sz
    return fmt, slot


def _namespace(fmt: str) -> dict[str, Any]:
    return {
        "_unpack": struct.Struct(fmt).unpack_from,
        "_fb": int.from_bytes,
        "_ip4": ip4,
        "_ip6": ip6,
        "_mac": mac,
        "_c4": _ip4_cache,
        "_c6": _ip6_cache,
        "_cm": _mac_cache,
    }


def _value(f: F, slot: dict[tuple[int, int], int]) -> str:
    """The expression of a field's value in a generated reader (``data``, ``base``, the ``_s*`` slots)."""
    n = f.size
    o, e = (f"base + {f.off}" if f.off else "base"), f"base + {f.off + n}"
    if f.kind == "u":
        k = slot.get((f.off, n))
        if k is not None:
            v = f"_s{k}"
        elif n == 1:
            v = f"data[{o}]"
        else:
            v = f"_fb(data[{o} : {e}], 'big')"
        if f.mask:
            v = f"(({v} & {f.mask}) >> {_shift(f.mask)})"
        if f.scale != 1:
            v = f"{v} * {f.scale}"
        return v
    if f.kind == "le":
        return f"_fb(data[{o} : {e}], 'little')"
    if f.kind == "ip4":
        return f"_c4.get(_b := data[{o} : base + {f.off + 4}]) or _ip4(_b)"
    if f.kind == "ip6":
        return f"_c6.get(_b := data[{o} : base + {f.off + 16}]) or _ip6(_b)"
    if f.kind == "mac":
        return f"_cm.get(_b := data[{o} : base + {f.off + 6}]) or _mac(_b)"
    if f.kind == "str":
        return f"data[{o} : {e}].decode('latin-1')"
    return f"data[{o} : {e}].hex(':')"


def _compile_unpacker(fields: tuple[F, ...]) -> Callable[[bytes, int], tuple[Value, ...]]:
    """Generate ``unpack(data, base) -> values`` of ``fields`` (in that order) with no field dict, no
    checks: one ``struct`` unpack of the fields' words and their masks, shifts, scales and formatters
    (what ``Header.unpacker`` returns; the caller checks that the bytes are there)."""
    fmt, slot = _layout(fields)
    ns = _namespace(fmt)
    body = []
    if slot:
        snames = [f"_s{i}" for i in range(len(slot))]
        body.append(f"{', '.join(snames)}{',' if len(snames) == 1 else ''} = _unpack(data, base)")
    body.append("return (" + "".join(f"{_value(f, slot)}, " for f in fields) + ")")
    src = "def unpack(data, base):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(src, f"<unpacker {fields[0].name}>", "exec"), ns)
    fn: Callable[[bytes, int], tuple[Value, ...]] = ns["unpack"]
    return fn


_Slow = Callable[["Ctx", int, int, "Node | None"], "dict[str, Value] | None"]
_READERS: dict[
    tuple[tuple[str, int, int, str, int, int], ...],
    Callable[[_Slow], Callable[..., dict[str, Value] | None]],
] = {}


def _merge(d: dict[str, Value], name: str, value: Value) -> None:
    old = d[name]
    if type(old) is list:
        old.append(value)
    else:
        d[name] = [old, value]


class Header:
    """A fixed header: a protocol's declared fields in wire order (dpkt's ``__hdr__``).

    ``read`` is compiled on first use (``_compile_reader``; compiling all of them at import would cost
    milliseconds before the first line) and the generated function then replaces the method on the
    instance: a dissector's ``HDR.read(ctx, off, end)`` is one Python call. Equal declarations share one
    generated reader."""

    def __init__(self, fields: tuple[F, ...]) -> None:
        self.fields = fields
        self.size = max(f.off + f.size for f in fields)
        self._shifts = tuple(_shift(f.mask) for f in fields)
        self._plan = tuple(zip(fields, self._shifts, strict=True))

    def read(self, ctx: Ctx, base: int, end: int, into: Node | None = None) -> dict[str, Value] | None:
        """Record every field at ``base``; returns name -> value, or None (flagged) if the header is cut.

        Fields before the cut are still recorded, as Wireshark does.
        """
        key = tuple((f.name, f.off, f.size, f.kind, f.mask, f.scale) for f in self.fields)
        make = _READERS.get(key)
        if make is None:
            if len(_READERS) > 1024:
                _READERS.clear()
            make = _READERS[key] = _compile_reader(self.fields)
        fast = make(self.read_fields)
        self.__dict__["read"] = fast  # from now on the instance's read is the generated function
        return fast(ctx, base, end, into)

    def unpacker(self, *names: str) -> Callable[[bytes, int], tuple[Value, ...]]:
        """A generated ``unpack(data, base) -> (value of each name, in order)`` for the columns-only
        dissection (``Ctx.lean``): the declared fields' values as ``read`` gives them, bound to locals by
        the caller, no field dict; the caller first checks that ``self.size`` bytes are there. The first
        declared field of a name is the one read."""
        first: dict[str, F] = {}
        for f in self.fields:
            first.setdefault(f.name, f)
        return _compile_unpacker(tuple(first[n] for n in names))

    def read_fields(self, ctx: Ctx, base: int, end: int, into: Node | None = None) -> dict[str, Value] | None:
        """``read`` as the declared field loop, with offsets and display text for the tree."""
        data = ctx.data
        lim = end if end < len(data) else len(data)
        vals: dict[str, Value] = {}
        for f, sh in self._plan:
            o = base + f.off
            if o + f.size > lim:
                ctx.short(o + f.size, end)
                return None
            v = field_value(data, o, f, sh)
            vals[f.name] = v
            ctx.add(f.name, v, o, f.size, f.label, _display(f, v) if ctx.tree else None, into)
        return vals


def field_value(data: bytes, o: int, f: F, sh: int) -> Value:
    k = f.kind
    if k == "u":
        v = data[o] if f.size == 1 else int.from_bytes(data[o : o + f.size], "big")
        if f.mask:
            v = (v & f.mask) >> sh
        return v * f.scale if f.scale != 1 else v
    if k == "le":
        return int.from_bytes(data[o : o + f.size], "little")
    if k == "ip4":
        return ip4(data[o : o + 4])
    if k == "ip6":
        return ip6(data[o : o + 16])
    if k == "mac":
        return mac(data[o : o + 6])
    if k == "str":
        return data[o : o + f.size].decode("latin-1")
    return data[o : o + f.size].hex(":")


def _display(f: F, v: Value) -> str:
    s = f.disp(v) if f.disp else str(v)
    if f.names is not None:
        n = f.names.get(v)
        if n:
            s = f"{n} ({s})"
    return f"{f.label}: {s}"


# ---------------------------------------------------------------------------------------------
# the context one dissection runs in

_LAYERS: dict[str, Node] = {}

#: ``Ctx.lean``, what a dissection is for. FULL: every field. COLUMNS (``True``): the Protocol, Info,
#: Source and Destination columns, the stack and the malformed verdict; no field but ``READ_BACK``
#: (``if not ctx.lean``: a dissector skips what only makes fields). PROTOS: the stack
#: (``frame.protocols``) and the malformed verdict only, what the protocol hierarchy counts
#: (``if ctx.lean > COLUMNS``: a dissector also skips what only makes the columns); the columns it
#: leaves are not to be read.
FULL, COLUMNS, PROTOS = 0, 1, 2


def _layer(proto: str) -> Node:
    """The shared no-tree layer node of ``proto`` (see Ctx.push)."""
    if len(_LAYERS) > 4096:
        _LAYERS.clear()
    node = _LAYERS[proto] = Node(proto, proto, None, proto, 0, 0)
    node.children = cast(list[Node], ())  # nothing may hang below a shared node (and grow for ever)
    return node


_NO_TREE_ROOT = _layer("")


class Ctx:
    """State of one frame's dissection: the data, the field dict, the tree (optional), the columns."""

    __slots__ = (
        "data",
        "depth",
        "dst",
        "expert",
        "fields",
        "frag",
        "hlim",
        "info",
        "layer",
        "lean",
        "malformed",
        "parent",
        "proto",
        "protos",
        "pseudo",
        "quote",
        "root",
        "src",
        "tree",
        "truncated",
    )

    def __init__(self, data: bytes, tree: bool, lean: int = FULL) -> None:
        self.data = data
        self.fields: dict[str, Value] = {}
        self.tree = tree
        self.lean = lean  # FULL, COLUMNS (True) or PROTOS: what the caller reads (see engine.run)
        # without a tree nothing hangs below the root: one shared node stands for every packet's
        self.root = Node("Packet", "", None, "Packet", 0, len(data)) if tree else _NO_TREE_ROOT
        self.parent = self.root  # where new layers go
        self.layer: Node = self.root  # where new fields go
        self.protos: list[str] = []
        self.proto = ""
        self.info = ""
        self.src = ""
        self.dst = ""
        self.malformed = ""
        self.truncated = False
        self.expert: list[str] = []
        self.quote = 0  # > 0 while inside the packet quoted by an ICMP error
        self.depth = 0
        self.pseudo: tuple[bytes, bytes] = (b"", b"")  # last IP layer's (src, dst) for L4 checksums
        self.frag = False  # last IP layer was a fragment (checksums cannot be verified)
        self.hlim = -1  # last IP layer's TTL / hop limit

    # fields -------------------------------------------------------------------------------
    def add(
        self,
        name: str,
        value: Value,
        off: int,
        length: int,
        label: str = "",
        text: str | None = None,
        into: Node | None = None,
    ) -> Node | None:
        fields = self.fields  # _put(), inlined: this runs for every field of every packet
        old = fields.get(name, _MISSING)
        if old is _MISSING:
            fields[name] = value
        elif type(old) is list:
            old.append(value)
        else:
            fields[name] = [old, value]
        if not self.tree:
            return None
        node = Node(
            label or name, name, value, text if text is not None else f"{label or name}: {value}", off, length
        )
        (into or self.layer).children.append(node)
        return node

    def set_last(self, name: str, value: Value, text: str | None = None) -> None:
        """Replace the value of the last occurrence of ``name`` (in the dict and in the current layer)."""
        old = self.fields.get(name)
        if type(old) is list:
            old[-1] = value
        elif old is not None:
            self.fields[name] = value
        if self.tree:
            for node in reversed(self.layer.children):
                if node.field == name:
                    node.value = value
                    if text is not None:
                        node.text = text
                    break

    def sub(
        self, label: str, field: str, off: int, length: int, text: str | None = None, into: Node | None = None
    ) -> Node | None:
        """A subtree (options, records) under ``into`` or the current layer; pass it as ``into`` to ``add``."""
        if not self.tree:
            return None
        node = Node(label, field, None, text or label, off, length)
        (into or self.layer).children.append(node)
        return node

    # layers -------------------------------------------------------------------------------
    def push(self, proto: str, label: str, off: int, length: int) -> Node:
        """Start a protocol layer (a top-level node in the tree, like Wireshark's).

        Without a tree the node returned stands for every layer of that protocol (one per name, shared:
        what a dissector writes into it is never read back; only ``field`` is, for the malformed text)."""
        self.protos.append(proto)
        if self.tree:
            node = Node(label, proto, None, label, off, length)
            self.parent.children.append(node)
        else:
            node = _LAYERS.get(proto) or _layer(proto)
        self.layer = node
        return node

    # problems ---------------------------------------------------------------------------
    def short(self, need: int, end: int) -> None:
        """A read up to ``need`` failed: beyond the reported end it is malformed, else the capture was cut."""
        if need > end and not self.quote:
            self.set_malformed(self.layer.field or "frame")
        else:
            self.truncated = True

    def set_malformed(self, proto: str) -> None:
        if not self.malformed:
            self.malformed = f"Malformed Packet: {proto}"

    def warn(self, msg: str) -> None:
        self.expert.append(msg)

    def has(self, off: int, n: int, end: int) -> bool:
        """True if ``n`` bytes at ``off`` are there; else flag truncated/malformed and return False."""
        need = off + n
        if need <= end and need <= len(self.data):
            return True
        self.short(need, end)
        return False


class LeanCtx(Ctx):
    """The context of a columns-only dissection, made as ``LeanCtx(data, False, True)`` (what
    ``engine.run(..., lean=True)`` gives; ``LeanCtx(data, False, PROTOS)``: protocols only: the Protocol, Info, Source and Destination columns, the stack
    and the malformed verdict; no tree): ``add`` records only the fields dissectors read back
    (``READ_BACK``), as the generated header readers do when ``ctx.lean``; ``push`` only names the
    layer; dissectors skip whatever else only makes fields (``if not ctx.lean``)."""

    __slots__ = ()

    def push(self, proto: str, label: str, off: int, length: int) -> Node:
        self.protos.append(proto)
        node = self.layer = _LAYERS.get(proto) or _layer(proto)
        return node

    def add(
        self,
        name: str,
        value: Value,
        off: int,
        length: int,
        label: str = "",
        text: str | None = None,
        into: Node | None = None,
    ) -> Node | None:
        if name in READ_BACK:
            _put(self.fields, name, value)
        return None


#: ``fn(ctx, off, end)``; a port dissector may return False to say "not mine" (it recorded nothing): the
#: transport then tries the next candidate (the other port, the heuristics, data), as Wireshark does
Dissector = Callable[[Ctx, int, int], bool | None]
HeuristicDissector = Callable[[Ctx, int, int], bool]


class Table:
    """A next-layer table: key (ethertype, protocol number, port, link type) -> dissector.

    A heuristic dissector (one that takes a payload only when it looks like its protocol, e.g. HTTP
    and TLS on their ports) registers with ``prefixes``: every payload it may take starts with one of
    these 3-byte strings. The summary's fast path derives its port sets from the tables (see
    ``summary.fast_path_ports``): a segment on a registered port goes to the full dissector, on a
    heuristic port only when its first 3 bytes are one of the prefixes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.map: dict[int, Dissector] = {}
        self.prefixes: dict[int, frozenset[bytes]] = {}

    def register(
        self, *keys: int, prefixes: frozenset[bytes] | None = None
    ) -> Callable[[Dissector], Dissector]:
        def deco(fn: Dissector) -> Dissector:
            for k in keys:
                self.map[k] = fn
                if prefixes is not None:
                    self.prefixes[k] = prefixes
                else:
                    self.prefixes.pop(k, None)
            return fn

        return deco

    def get(self, key: int) -> Dissector | None:
        return self.map.get(key)


#: HTTP/1.x and TLS ports (tshark 4.0's defaults): their dissectors take a segment only when its first bytes
#: look like a request/status line or a TLS record header (they register with HTTP_PREFIXES / TLS_PREFIXES)
HTTP_TCP_PORTS = frozenset({80, 2710, 2869, 3128, 3132, 5985, 8000, 8080, 8088, 11371})
TLS_TCP_PORTS = frozenset({443, 465, 636, 853, 993, 995, 5061, 8443, 8883})

#: request methods HTTP takes (tshark's list, without the rare extension methods)
HTTP_METHODS = (
    "GET",
    "POST",
    "PUT",
    "HEAD",
    "DELETE",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "M-SEARCH",
)

#: the first 3 bytes of every HTTP/1.x request or status line (a superset: the dissector decides)
HTTP_PREFIXES = frozenset({m.encode()[:3] for m in HTTP_METHODS} | {b"HTT"})
#: the first 3 bytes of a TLS record header: content type 20-25 (change cipher spec, alert, handshake,
#: application data, heartbeat, tls12_cid), version 3.0-3.4
TLS_PREFIXES = frozenset(bytes((ct, 3, minor)) for ct in range(20, 26) for minor in range(5))


class Heuristics:
    """A transport's heuristic dissectors (Wireshark's heuristic tables): tried in order of registration
    when no port dissector took the payload. ``fn(ctx, off, end) -> bool`` takes the payload only when it
    looks like its protocol and records nothing otherwise.

    Each registers a *probe*, ``(offset, value)``: every payload it may take has the bytes ``value`` at
    ``offset``. The read fast path derives its checks from the probes (``summary._UDP_*``), so a
    datagram no probe matches never leaves it; only probes the fast path reads for free are accepted:
    one byte at offset 1, or four bytes at offset 0 or 4 (words of the transport header struct it
    unpacks)."""

    SHAPES = ((1, 1), (0, 4), (4, 4))

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: list[tuple[HeuristicDissector, int, bytes]] = []

    def register(self, offset: int, value: bytes) -> Callable[[HeuristicDissector], HeuristicDissector]:
        if (offset, len(value)) not in self.SHAPES:
            raise ValueError(
                f"{self.name} heuristic probe at {offset}, {len(value)} bytes: not a fast-path shape"
            )

        def deco(fn: HeuristicDissector) -> HeuristicDissector:
            self.entries.append((fn, offset, value))
            return fn

        return deco

    def probes(self, offset: int, size: int) -> frozenset[int]:
        """The probe values of that shape, as big-endian numbers."""
        return frozenset(
            int.from_bytes(v, "big") for _fn, o, v in self.entries if o == offset and len(v) == size
        )

    def run(self, ctx: Ctx, off: int, end: int) -> bool:
        """Offer the payload at ``off`` to each heuristic whose probe matches; True if one took it."""
        data = ctx.data
        for fn, o, v in self.entries:
            if data[off + o : off + o + len(v)] == v and fn(ctx, off, end):
                return True
        return False


class Conversations:
    """Wireshark's conversation binding, for the protocols whose later packets use ports no table names
    (a TFTP transfer runs between the client's port and a new server port): the dissector that sees the
    start binds (client address, client port, server address), and the transport hands every later
    datagram between that client endpoint and that server, on any server port, to it first.

    This is the one piece of state kept across packets: a packet decodes so only after the packet that
    bound it was decoded (as in Wireshark's first pass). Bounded (cleared when full); ``ports`` is the
    set of bound client ports, which the read fast path tests so that bound datagrams leave it;
    ``clear()`` forgets everything (a new capture)."""

    LIMIT = 4096

    def __init__(self, name: str) -> None:
        self.name = name
        self.map: dict[tuple[bytes, int, bytes], Dissector] = {}
        self.ports: set[int] = set()

    def bind(self, client: bytes, port: int, server: bytes, fn: Dissector) -> None:
        if len(self.map) >= self.LIMIT:
            self.clear()
        self.map[(client, port, server)] = fn
        self.ports.add(port)

    def find(self, src: bytes, sp: int, dst: bytes, dp: int) -> Dissector | None:
        m = self.map
        return m.get((src, sp, dst)) or m.get((dst, dp, src))

    def clear(self) -> None:
        self.map.clear()
        self.ports.clear()


LINKTYPES = Table("link type")
ETHERTYPES = Table("ethertype")
IP_PROTOS = Table("IP protocol")
UDP_PORTS = Table("UDP port")
TCP_PORTS = Table("TCP port")
UDP_HEURISTICS = Heuristics("UDP")
UDP_CONVERSATIONS = Conversations("UDP")
LLC_SAPS = Table("LLC DSAP")  # 802.2 LLC frames by DSAP (STP 0x42, OSI 0xfe, IPX 0xe0)
LLC_SNAP = Table("SNAP OUI << 16 | PID")  # SNAP frames with a non-zero OUI (Cisco CDP, UDLD, DTP, VTP, PVST+)


def data_layer(ctx: Ctx, off: int, end: int) -> None:
    """Undissected payload: Wireshark's "data" layer."""
    lim = min(end, len(ctx.data))
    if lim > off:
        ctx.push("data", f"Data ({lim - off} bytes)" if ctx.tree else "Data", off, lim - off)
        if not ctx.lean:
            ctx.add("data.data", ctx.data[off:lim].hex(":"), off, lim - off, "Data")
        ctx.add("data.len", lim - off, off, lim - off, "Length")


def call(ctx: Ctx, table: Table, key: int, off: int, end: int, fallback: bool = True) -> bool:
    """Dissect the next layer chosen by ``key`` in ``table``; returns whether a dissector took it."""
    fn = table.map.get(key)
    if fn is None:
        if fallback:
            data_layer(ctx, off, end)
        return False
    ctx.depth += 1
    if ctx.depth > 160:  # stacked tunnels / headers beyond reason: stop
        ctx.set_malformed("too many layers")
        return False
    fn(ctx, off, end)
    return True
