"""Wireshark display filters: parse once, compile into Python closures, evaluate on frame_fields dicts."""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sniffer.errors import FilterError

Fields = dict[str, Any]
Pred = Callable[[Fields], bool]

# ---------------------------------------------------------------------------------------------------------
# Field registry: Wireshark names -> value kind ("int", "bool", "float", "str", "bytes", "ipv4", "ipv6",
# "ether", "time", "none" (presence only), "proto"). Loaded lazily from the generated table.

_FIELDS: dict[str, str] | None = None
_PROTOCOLS: frozenset[str] = frozenset()
_EXTRA: dict[str, str] = {}

#: either-direction pseudo fields: used when the dict has no value for the name itself
ALIASES: dict[str, tuple[str, ...]] = {
    "ip.addr": ("ip.src", "ip.dst"),
    "ip.host": ("ip.src_host", "ip.dst_host"),
    "ipv6.addr": ("ipv6.src", "ipv6.dst"),
    "ipv6.host": ("ipv6.src_host", "ipv6.dst_host"),
    "tcp.port": ("tcp.srcport", "tcp.dstport"),
    "udp.port": ("udp.srcport", "udp.dstport"),
    "sctp.port": ("sctp.srcport", "sctp.dstport"),
    "eth.addr": ("eth.src", "eth.dst"),
}


def _registry() -> dict[str, str]:
    global _FIELDS, _PROTOCOLS
    if _FIELDS is None:
        from sniffer.model import _wsfields

        table = dict(line.split("\t") for line in _wsfields.FIELDS.split("\n"))
        _PROTOCOLS = frozenset(_wsfields.PROTOCOLS.split())
        for name in _PROTOCOLS:
            table.setdefault(name, "proto")
        table.update(_EXTRA)
        _FIELDS = table
    return _FIELDS


def register_fields(kinds: dict[str, str]) -> None:
    """Teach the filter engine extra field names (e.g. ones our decoder adds that Wireshark lacks)."""
    _EXTRA.update(kinds)
    if _FIELDS is not None:
        _FIELDS.update(kinds)


def field_kind(name: str) -> str | None:
    """The value kind of a known field or protocol name, or None when unknown."""
    return _registry().get(name)


def field_names() -> list[str]:
    """Every known field and protocol name, sorted (for completion)."""
    return sorted(_registry())


_DECODED: frozenset[str] | None = None


def decoded_names() -> frozenset[str]:
    """The field and protocol names some decoder of sniffer fills (derived from the decoders themselves:
    sniffer.decode.fields.decodable_names), plus the ones the filter engine computes (frame.number,
    tcp.stream...), the aliases of those, and names taught with register_fields."""
    global _DECODED
    if _DECODED is None:
        from sniffer.decode.fields import decodable_names
        from sniffer.model.tcpanalysis import FIELDS as ANALYSIS_FIELDS

        names = set(decodable_names(_registry())) | set(_EXTRA) | STREAM_FIELDS | CONTEXT_FIELDS
        # what the conversation state adds (model/tcpanalysis, model/defrag): filters on it are answered
        names |= ANALYSIS_FIELDS | {n for n in _registry() if n.startswith("tcp.analysis.")}
        names |= {"ip.fragment", "ip.fragment.count", "ip.reassembled.length"}
        names |= {"ipv6.fragment", "ipv6.fragment.count", "ipv6.reassembled.length"}
        names |= {"tcp.segment", "tcp.segment.count", "tcp.reassembled.length"}  # model/reassembly
        names |= {a for a, targets in ALIASES.items() if a in names or any(t in names for t in targets)}
        _DECODED = frozenset(names)
    return _DECODED | frozenset(_EXTRA)


def complete(prefix: str, limit: int | None = None) -> list[str]:
    """Known field/protocol names starting with ``prefix``: fewer dots first, then shorter, then alphabetical.

    If ``prefix`` is a whole filter text, the last word is completed (``"ip.src == 1.2.3.4 and tc"``
    gives ``tcp`` ...); use :func:`complete_text` to get the offset to replace from.
    """
    return complete_text(prefix, limit)[1]


def complete_text(text: str, limit: int | None = None) -> tuple[int, list[str]]:
    """(offset where the last word of ``text`` starts, candidate names for that word)."""
    m = re.search(r"[A-Za-z0-9_.\-]*$", text)
    start = m.start() if m else len(text)
    word = text[start:]
    reg = decoded_names()  # only what sniffer can decode: a name it never fills would match nothing
    names = [n for n in reg if n.startswith(word)] if word else list(reg)
    names.sort(key=lambda n: (n.count("."), len(n), n))
    return start, names[:limit] if limit is not None else names


def _suggest(name: str) -> str:
    reg = _registry()
    head = name.split(".")[0]
    pool = [n for n in reg if n.split(".")[0] == head] or list(reg)
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close and pool is not reg:
        close = difflib.get_close_matches(name, list(reg), n=1, cutoff=0.75)
    return f'; did you mean "{close[0]}"?' if close else ""


# ---------------------------------------------------------------------------------------------------------
# Value normalisation: whatever the decoder put in the dict (int, str, bytes, ...) -> a comparable value.
# Each returns None when the value cannot be read as that kind (then it matches nothing).

_CACHE_MAX = 65536
_ip4_cache: dict[Any, int | None] = {}
_ip6_cache: dict[Any, int | None] = {}
_mac_cache: dict[str, bytes | None] = {}
_HEXBYTES = re.compile(r"^[0-9A-Fa-f]{2}([:.\-]?[0-9A-Fa-f]{2})*$")


def _n_int(v: Any) -> int | None:
    t = type(v)
    if t is int:
        return v  # type: ignore[no-any-return]
    if t is bool:
        return int(v)
    if t is str:
        try:
            return int(v, 0)
        except ValueError:
            low = v.strip().lower()
            if low in ("true", "false"):
                return int(low == "true")
            try:
                return int(low, 10)
            except ValueError:
                try:
                    f = float(low)
                except ValueError:
                    return None
                return int(f) if f.is_integer() else None
    if t is float:
        return int(v) if v.is_integer() else None
    if isinstance(v, int):
        return int(v)
    if isinstance(v, bytes | bytearray) and 0 < len(v) <= 8:
        return int.from_bytes(v, "big")
    return None


def _n_float(v: Any) -> float | None:
    if type(v) is float:
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        iv = _n_int(v)
        return None if iv is None else float(iv)


def _addr(v: Any, cache: dict[Any, int | None], size: int) -> int | None:
    t = type(v)
    if t is int:
        return v  # type: ignore[no-any-return]
    r = cache.get(v, -1) if t in (str, bytes) else -1
    if r != -1:
        return r
    out: int | None
    try:
        if t is str:
            out = int(ipaddress.ip_address(v.split("%")[0]))
        elif isinstance(v, bytes | bytearray) and len(v) == size:
            out = int.from_bytes(v, "big")
        else:
            out = int(v)
    except (ValueError, TypeError):
        out = None
    if t in (str, bytes):
        if len(cache) > _CACHE_MAX:
            cache.clear()
        cache[v] = out
    return out


def _n_ip4(v: Any) -> int | None:
    return _addr(v, _ip4_cache, 4)


def _n_ip6(v: Any) -> int | None:
    return _addr(v, _ip6_cache, 16)


def _n_mac(v: Any) -> bytes | None:
    t = type(v)
    if t is bytes:
        return v  # type: ignore[no-any-return]
    if t is str:
        r = _mac_cache.get(v, b"")
        if r != b"":
            return r
        out = _parse_hexbytes(v)
        if len(_mac_cache) > _CACHE_MAX:
            _mac_cache.clear()
        _mac_cache[v] = out
        return out
    if isinstance(v, bytearray | memoryview):
        return bytes(v)
    if isinstance(v, int):
        return v.to_bytes(6, "big") if 0 <= v < 1 << 48 else None
    return None


def _parse_hexbytes(s: str) -> bytes | None:
    s = s.strip()
    if not _HEXBYTES.match(s):
        return None
    try:
        return bytes.fromhex(s.replace(":", "").replace("-", "").replace(".", ""))
    except ValueError:
        return None


def _n_bytes(v: Any) -> bytes | None:
    t = type(v)
    if t is bytes:
        return v  # type: ignore[no-any-return]
    if t is str:
        hb = _parse_hexbytes(v)
        return hb if hb is not None else v.encode("utf-8", "surrogateescape")
    if isinstance(v, bytearray | memoryview):
        return bytes(v)
    if isinstance(v, bool):
        return bytes([int(v)])
    if isinstance(v, int):
        return v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big") if v >= 0 else None
    return None


def _n_str(v: Any) -> str | None:
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if isinstance(v, bytes | bytearray):
        return bytes(v).decode("latin-1")
    if v is None:
        return None
    return str(v)


def _n_any(v: Any) -> Any:
    return v


NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "int": _n_int,
    "bool": _n_int,
    "float": _n_float,
    "time": _n_float,
    "str": _n_str,
    "bytes": _n_bytes,
    "ipv4": _n_ip4,
    "ipv6": _n_ip6,
    "ether": _n_mac,
    "none": _n_any,
    "proto": _n_bytes,
}

# as bytes, for slices and len()
_SIZES = {"ipv4": 4, "ipv6": 16, "ether": 6}


def _to_bytes(kind: str, v: Any) -> bytes | None:
    if kind in ("ipv4", "ipv6"):
        n = NORMALIZERS[kind](v)
        return None if n is None else n.to_bytes(_SIZES[kind], "big")
    if kind == "str":
        s = _n_str(v)
        return None if s is None else s.encode("utf-8", "surrogateescape")
    return _n_bytes(v) if kind != "ether" else _n_mac(v)


# ---------------------------------------------------------------------------------------------------------
# Lexer

_OPS = ("===", "!==", "==", "!=", "~=", "<=", ">=", "&&", "||", "<", ">", "~", "!", "&", "+", "*", "%")
_WORD_CHARS = re.compile(r"[A-Za-z0-9_.:\-/]+")
_KEYWORDS = {
    "and": "AND",
    "or": "OR",
    "not": "NOT",
    "in": "IN",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "any_eq": "==",
    "all_ne": "!=",
    "all_eq": "===",
    "any_ne": "~=",
    "contains": "contains",
    "matches": "matches",
}
_SYMBOL_TOKENS = {
    "&&": "AND",
    "||": "OR",
    "!": "NOT",
    "~": "matches",
    "+": "ARITH",
    "*": "ARITH",
    "%": "ARITH",
}


@dataclass(slots=True)
class Tok:
    kind: str  # WORD STRING CHAR SLICE ( ) { } , OP AND OR NOT IN END
    text: str  # the source text of the token
    pos: int
    value: Any = None  # decoded string for STRING, the op for OP, int for CHAR


_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}


def _byte_char(b: int) -> str:
    """A \\xhh or octal escape is one raw byte: bytes >= 0x80 become surrogate escapes (encoded back with surrogateescape)."""
    return chr(b) if b < 0x80 else chr(0xDC00 + b)


def _unescape(body: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise FilterError(f"dangling backslash at column {pos + i + 1}", pos + i)
        c = body[i]
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
            i += 1
        elif c == "x":
            m = re.match(r"[0-9A-Fa-f]{1,2}", body[i + 1 :])
            if not m:
                raise FilterError(f"bad \\x escape at column {pos + i + 1}", pos + i)
            out.append(_byte_char(int(m.group(), 16)))
            i += 1 + len(m.group())
        elif c in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i:])
            assert m is not None
            out.append(_byte_char(int(m.group(), 8) & 0xFF))
            i += len(m.group())
        elif c in "uU":
            n = 4 if c == "u" else 8
            digits = body[i + 1 : i + 1 + n]
            if len(digits) != n or not re.fullmatch(r"[0-9A-Fa-f]+", digits) or int(digits, 16) > 0x10FFFF:
                raise FilterError(f"bad \\{c} escape at column {pos + i + 1}", pos + i)
            out.append(chr(int(digits, 16)))
            i += 1 + n
        else:
            raise FilterError(f'unknown escape "\\{c}" at column {pos + i + 1}', pos + i)
    return "".join(out)


def tokenize(text: str) -> list[Tok]:
    """Split a display filter into tokens (raises FilterError on a bad character or string)."""
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "(){},":
            toks.append(Tok(c, c, i))
            i += 1
            continue
        if c == "[":
            j = text.find("]", i)
            if j < 0:
                raise FilterError(f'unclosed "[" at column {i + 1}', i)
            toks.append(Tok("SLICE", text[i : j + 1], i, text[i + 1 : j]))
            i = j + 1
            continue
        if c == '"' or (c == "r" and text[i + 1 : i + 2] == '"'):
            raw = c == "r"
            j = i + 2 if raw else i + 1
            while j < n and text[j] != '"':
                j += 1 if (raw or text[j] != "\\") else 2
            if j >= n:
                raise FilterError(f"unterminated string starting at column {i + 1}", i)
            body = text[i + (2 if raw else 1) : j]
            toks.append(Tok("STRING", text[i : j + 1], i, body if raw else _unescape(body, i + 1)))
            i = j + 1
            continue
        if c == "'":
            m = re.match(r"'(\\(?:x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)|[^\\'])'", text[i:])
            if not m:
                raise FilterError(f"bad character constant at column {i + 1}", i)
            ch = _unescape(m.group(1), i + 1)
            toks.append(Tok("CHAR", m.group(), i, ord(ch)))
            i += len(m.group())
            continue
        for op in _OPS:
            if text.startswith(op, i):
                kind = _SYMBOL_TOKENS.get(op, "OP")
                toks.append(Tok(kind, op, i, op if kind in ("OP", "ARITH") else _SYMBOL_TOKENS[op]))
                if kind == "matches":
                    toks[-1].kind, toks[-1].value = "OP", "matches"
                i += len(op)
                break
        else:
            m = _WORD_CHARS.match(text, i)
            if not m:
                raise FilterError(f'unexpected character "{c}" at column {i + 1}', i)
            word = m.group()
            kw = _KEYWORDS.get(word) if word.isidentifier() else None
            if kw in ("AND", "OR", "NOT", "IN"):
                toks.append(Tok(kw, word, i))
            elif word in ("-", "/"):  # arithmetic (needs blanks around it: "a-b" is one word)
                toks.append(Tok("ARITH", word, i, word))
            elif kw is not None:
                toks.append(Tok("OP", word, i, kw))
            else:
                toks.append(Tok("WORD", word, i))
                lm = re.match(r"#(\d+)", text[m.end() :])
                if lm:  # layer operator: ip.src#2 is the ip.src of the second IP layer
                    toks[-1].value = int(lm.group(1))
                    toks[-1].text += lm.group()
                    i = m.end() + len(lm.group())
                    continue
                if text.startswith("#", m.end()):
                    raise FilterError(
                        f'"#" must be followed by a layer number (column {m.end() + 1})', m.end()
                    )
            i = m.end()
    toks.append(Tok("END", "", n))
    return toks


# ---------------------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(slots=True)
class Operand:
    """A field reference (optionally sliced / wrapped in a function) or a literal still to be typed."""

    pos: int
    text: str
    name: str | None = None  # field or protocol name
    literal: Tok | None = None  # WORD/STRING/CHAR literal
    slice: str | None = None
    func: str | None = None
    slice_pos: int = 0
    layer: int | None = None
    expr: tuple[str, Operand, Operand | None] | None = None  # arithmetic: (op, a, b); ("neg", a, None)


@dataclass(slots=True)
class Node:
    op: str  # and or not test exists in
    pos: int
    kids: list[Node] = field(default_factory=list)
    left: Operand | None = None
    right: Operand | None = None
    relop: str = ""
    members: list[tuple[Tok, Tok | None]] = field(default_factory=list)


_FUNCS = {"len", "count", "upper", "lower", "string"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def unexpected(self, t: Tok, expected: str = "") -> FilterError:
        exp = f"; expected {expected}" if expected else ""
        if t.kind == "END":
            return FilterError(f"unexpected end of filter at column {t.pos + 1}{exp}", t.pos)
        return FilterError(f'unexpected "{t.text}" at column {t.pos + 1}{exp}', t.pos)

    def parse(self) -> Node:
        node = self.or_expr()
        t = self.peek()
        if t.kind != "END":
            raise self.unexpected(t, '"and", "or" or the end')
        return node

    def or_expr(self) -> Node:
        left = self.and_expr()
        while self.peek().kind == "OR":
            t = self.take()
            left = Node("or", t.pos, [left, self.and_expr()])
        return left

    def and_expr(self) -> Node:
        left = self.unary()
        while self.peek().kind == "AND":
            t = self.take()
            left = Node("and", t.pos, [left, self.unary()])
        return left

    def unary(self) -> Node:
        t = self.peek()
        if t.kind == "NOT":
            self.take()
            return Node("not", t.pos, [self.unary()])
        if t.kind == "(":
            self.take()
            inner = self.or_expr()
            close = self.take()
            if close.kind != ")":
                raise self.unexpected(close, '")"')
            return inner
        return self.test()

    def operand(self) -> Operand:
        t = self.take()
        if t.kind in ("STRING", "CHAR"):
            return Operand(t.pos, t.text, literal=t)
        if t.kind != "WORD":
            raise self.unexpected(t, "a field, protocol or value")
        if t.text in _FUNCS and self.peek().kind == "(":
            self.take()
            arg = self.operand()
            close = self.take()
            if close.kind != ")":
                raise self.unexpected(close, '")"')
            if arg.name is None:
                raise FilterError(
                    f'the argument of {t.text}() at column {arg.pos + 1} must be a field, not "{arg.text}"',
                    arg.pos,
                )
            if arg.func is not None:
                raise FilterError(f"nested functions are not supported (column {arg.pos + 1})", arg.pos)
            arg.func, arg.pos, arg.text = t.text, t.pos, self.text[t.pos : close.pos + 1]
            return arg
        op = Operand(t.pos, t.text)
        reg = _registry()
        name = t.text.split("#")[0] if t.value is not None else t.text
        if name in reg or name in ALIASES:
            op.name, op.layer = name, t.value
            if op.layer is not None and op.layer < 1:
                raise FilterError(f"layers are numbered from 1 (column {t.pos + 1})", t.pos)
        elif t.value is not None:
            raise FilterError(f'unknown field "{name}" at column {t.pos + 1}{_suggest(name)}', t.pos)
        else:
            op.literal = t
        if self.peek().kind == "SLICE":
            s = self.take()
            if op.name is None:
                raise FilterError(f'unknown field "{t.text}" at column {t.pos + 1}{_suggest(t.text)}', t.pos)
            op.slice, op.slice_pos = s.value, s.pos
            _parse_slice(s.value, s.pos)  # report a bad range here, where its position is known
            op.text += s.text
        return op

    def _span(self, start: int) -> str:
        last = self.toks[self.i - 1]
        return self.text[start : last.pos + len(last.text)]

    def arith(self) -> Operand:
        """Sum of products: + and - bind looser than * / %; { } groups (Wireshark 4 arithmetic)."""
        left = self.term()
        while self.peek().kind == "ARITH" and self.peek().value in ("+", "-"):
            t = self.take()
            right = self.term()
            left = Operand(left.pos, self._span(left.pos), expr=(t.value, left, right))
        return left

    def term(self) -> Operand:
        left = self.factor()
        while self.peek().kind == "ARITH" and self.peek().value in ("*", "/", "%"):
            t = self.take()
            right = self.factor()
            left = Operand(left.pos, self._span(left.pos), expr=(t.value, left, right))
        return left

    def factor(self) -> Operand:
        t = self.peek()
        if t.kind == "{":
            self.take()
            inner = self.arith()
            close = self.take()
            if close.kind != "}":
                raise self.unexpected(close, '"}"')
            return Operand(t.pos, self._span(t.pos), expr=("group", inner, None))
        if t.kind == "ARITH" and t.value == "-":
            self.take()
            nxt = self.peek()
            if (nxt.kind == "ARITH" and nxt.value == "-") or (
                nxt.kind == "WORD" and nxt.text.startswith("-")
            ):
                raise self.unexpected(nxt, "a value")  # "- -1", "- - 1": tshark refuses a double minus
            inner = self.factor()
            return Operand(t.pos, self._span(t.pos), expr=("neg", inner, None))
        op = self.operand()
        if op.literal is not None and op.literal.kind == "WORD" and op.literal.text.startswith("-"):
            rest = op.literal.text[1:]
            if rest in _registry() or rest in ALIASES:  # -ip.ttl
                inner = Operand(op.pos + 1, rest, name=rest)
                return Operand(op.pos, op.text, expr=("neg", inner, None))
        return op

    def test(self) -> Node:
        left = self.arith()
        t = self.peek()
        if t.kind == "OP":
            self.take()
            right = self.arith()
            return Node("test", t.pos, left=left, right=right, relop=t.value)
        if t.kind == "IN" or (t.kind == "NOT" and self.toks[self.i + 1].kind == "IN"):
            negate = t.kind == "NOT"
            if negate:
                self.take()
            self.take()
            node = Node("in", t.pos, left=left, members=self.set_members())
            return Node("not", t.pos, [node]) if negate else node
        if left.expr is not None:
            raise FilterError(
                f"an arithmetic expression alone is not a test (column {left.pos + 1})", left.pos
            )
        if left.literal is not None:
            word = left.literal
            if word.kind == "WORD":
                raise FilterError(
                    f'unknown field or protocol "{word.text}" at column {word.pos + 1}{_suggest(word.text)}',
                    word.pos,
                )
            raise FilterError(f"a value alone is not a test (column {word.pos + 1})", word.pos)
        return Node("exists", left.pos, left=left)

    def set_members(self) -> list[tuple[Tok, Tok | None]]:
        t = self.take()
        if t.kind != "{":
            raise self.unexpected(t, '"{"')
        out: list[tuple[Tok, Tok | None]] = []
        while True:
            t = self.take()
            if t.kind == "}":
                if not out:
                    raise FilterError(f"empty set at column {t.pos + 1}", t.pos)
                return out
            if t.kind == "," and out:
                continue
            if t.kind not in ("WORD", "STRING", "CHAR"):
                raise self.unexpected(t, 'a value or "}"')
            if t.kind == "WORD" and ".." in t.text.strip(".") and not t.text.startswith(".."):
                lo, _, hi = t.text.partition("..")
                out.append((Tok("WORD", lo, t.pos), Tok("WORD", hi, t.pos + len(lo) + 2)))
                continue
            if t.kind == "WORD" and t.text.endswith("..") and len(t.text) > 2:
                hi_t = self.take()
                if hi_t.kind not in ("WORD", "STRING", "CHAR"):
                    raise self.unexpected(hi_t, "the upper bound of a range")
                out.append((Tok("WORD", t.text[:-2], t.pos), hi_t))
                continue
            nxt = self.peek()
            if nxt.kind == "WORD" and nxt.text.startswith("..") and len(nxt.text) >= 2:
                self.take()
                if nxt.text == "..":
                    hi_t = self.take()
                    if hi_t.kind not in ("WORD", "STRING", "CHAR"):
                        raise self.unexpected(hi_t, "the upper bound of a range")
                else:
                    hi_t = Tok("WORD", nxt.text[2:], nxt.pos + 2)
                out.append((t, hi_t))
                continue
            out.append((t, None))


# ---------------------------------------------------------------------------------------------------------
# Literals, typed by the field they are compared with


class _Net:
    """An address prefix (CIDR) literal: matches addresses inside it."""

    __slots__ = ("mask", "net", "text")

    def __init__(self, net: int, mask: int, text: str) -> None:
        self.net, self.mask, self.text = net, mask, text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and (other & self.mask) == self.net

    def __hash__(self) -> int:
        return hash((self.net, self.mask))


def _literal(tok: Tok, kind: str, fname: str) -> Any:
    """Parse a literal for a field of this kind (raises FilterError saying what was expected)."""
    text = tok.value if tok.kind == "STRING" else tok.text
    col = tok.pos + 1

    def bad(what: str) -> FilterError:
        shown = tok.text if len(tok.text) <= 80 else tok.text[:80] + "..."  # a 100 KB value is not echoed
        return FilterError(f'"{shown}" is not {what} (column {col}, compared with {fname})', tok.pos)

    if tok.kind == "CHAR":
        if kind in ("int", "bool", "float", "time"):
            return tok.value
        if kind in ("str",):
            return chr(tok.value)
        if kind in ("bytes", "proto", "ether"):
            return bytes([tok.value & 0xFF])
        raise bad(f"a valid value for {kind}")
    if kind in ("int", "bool"):
        if tok.kind == "STRING":
            raise FilterError(
                f"{fname} is a number and cannot be compared with the string {tok.text} (column {col})",
                tok.pos,
            )
        low = text.lower()
        if kind == "bool" and low in ("true", "false"):
            return int(low == "true")
        return _parse_int(text, bad)
    if kind in ("float", "time"):
        if kind == "time" and tok.kind == "STRING":
            return _parse_time(text, bad)
        try:
            return float(text)
        except ValueError:
            if kind == "time":
                return _parse_time(text, bad)
            raise bad("a number") from None
    if kind == "str":
        return text
    if kind in ("bytes", "proto"):
        if tok.kind == "STRING":
            return text.encode("utf-8", "surrogateescape")
        b = _parse_hexbytes(text)
        if b is None and re.fullmatch(r"0[xX][0-9A-Fa-f]{1,2}|\d{1,3}", text):
            n = int(text, 16) if text[:2] in ("0x", "0X") else int(text)  # ("017" is decimal, not an error)
            if n < 256:
                b = bytes([n])  # a one-byte slice compared with a number
        if b is None:
            raise bad("a byte string (like aa:bb:cc) or a quoted string")
        return b
    if kind == "ether":
        b = _parse_hexbytes(text)
        if b is None or len(b) != 6:
            raise bad("a MAC address (like 00:11:22:33:44:55)")
        return b
    if kind in ("ipv4", "ipv6"):
        try:
            if "/" in text:
                net = ipaddress.ip_network(text, strict=False)
                want = 4 if kind == "ipv4" else 6
                if net.version != want:
                    raise ValueError
                bits = 32 if want == 4 else 128
                mask = ((1 << net.prefixlen) - 1) << (bits - net.prefixlen)
                return _Net(int(net.network_address), mask, text)
            addr = ipaddress.ip_address(text)
            if (addr.version == 4) != (kind == "ipv4"):
                raise ValueError
            return int(addr)
        except ValueError:
            what = "an IPv4 address" if kind == "ipv4" else "an IPv6 address"
            raise bad(f"{what} or prefix (host names are not resolved)") from None
    if kind == "none":
        raise FilterError(f"{fname} has no value; test it alone (column {col})", tok.pos)
    raise bad(f"a valid value for {kind}")


def _parse_int(text: str, bad: Callable[[str], FilterError]) -> int:
    t = text.lower()
    neg = t.startswith("-")
    body = t[1:] if neg else t
    if body.startswith(("-", "+")):  # "--1": tshark refuses a double sign
        raise bad("a valid number")
    try:
        if body.startswith(("0x", "0b")):
            v = int(body, 0)
        elif len(body) > 1 and body.startswith("0") and body.isdigit():
            v = int(body, 8)
        else:
            v = int(body, 10)
    except ValueError:
        raise bad("a valid number") from None
    if v > _INT_LIMIT:
        raise bad("a number that fits in 64 bits (it causes an integer overflow)")
    return -v if neg else v


_INT_LIMIT = (1 << 64) - 1  # tshark refuses larger literals: "... causes an integer overflow"


def _parse_time(text: str, bad: Callable[[str], FilterError]) -> float:
    import calendar
    import time as _time

    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%b %d, %Y %H:%M:%S", "%Y-%m-%d"):
        main, _, frac = text.strip().partition(".")
        try:
            st = _time.strptime(main.rstrip("Z"), fmt)
        except ValueError:
            continue
        return calendar.timegm(st) + (float("0." + frac.rstrip("Z")) if frac.rstrip("Z").isdigit() else 0.0)
    raise bad('a time (like "2024-01-31 12:00:00", UTC)')


# ---------------------------------------------------------------------------------------------------------
# Compiler: syntax tree -> closures


_proto_cache: dict[str, frozenset[str]] = {}


def _protocols_of(fields: Fields) -> frozenset[str] | None:
    p = fields.get("frame.protocols")
    if p is None:
        return None
    if type(p) is list:
        p = ":".join(map(str, p))
    s = _proto_cache.get(p)
    if s is None:
        if len(_proto_cache) > 4096:
            _proto_cache.clear()
        s = frozenset(str(p).split(":"))
        _proto_cache[p] = s
    return s


def _nth(v: Any, layer: int, per: int = 1) -> Any:
    """Occurrences ``per`` at a time for layer ``layer`` (1-based) of a raw value, or None."""
    if v is None:
        return None
    if type(v) is not list:
        return v if layer == 1 else None
    got = v[(layer - 1) * per : layer * per]
    return (got[0] if per == 1 else got) if got else None


def _getter(name: str, layer: int | None = None) -> Callable[[Fields], Any]:
    """fields -> raw value (scalar, list or None), with the either-direction pseudo fields."""
    parts = ALIASES.get(name)
    if layer is not None:
        if parts is None:
            return lambda f: _nth(f.get(name), layer)
        la, lb = parts

        def get_layer(f: Fields) -> Any:
            v = f.get(name)
            if v is not None:
                return _nth(v, layer, 2)
            x, y = _nth(f.get(la), layer), _nth(f.get(lb), layer)
            return [x, y] if x is not None and y is not None else x if y is None else y

        return get_layer
    if parts is None:
        return lambda f: f.get(name)
    a, b = parts

    def get_alias(f: Fields) -> Any:
        v = f.get(name)
        if v is not None:
            return v
        x, y = f.get(a), f.get(b)
        if x is None:
            return y
        if y is None:
            return x
        return (x if type(x) is list else [x]) + (y if type(y) is list else [y])

    return get_alias


def _presence(name: str, kind: str) -> Pred:
    if name == "frame":
        return lambda f: True
    parts = ALIASES.get(name)
    if parts is not None:
        a, b = parts
        return lambda f: name in f or a in f or b in f
    if kind != "proto":
        return lambda f: name in f
    prefix = name + "."

    cache = _proto_cache

    def present(f: Fields) -> bool:
        if name in f:
            return True
        p = f.get("frame.protocols")
        if p is None:
            return any(k.startswith(prefix) for k in f)
        protos = cache.get(p) if type(p) is str else None
        if protos is None:
            protos = _protocols_of(f)
        return name in protos  # type: ignore[operator]

    return present


def _parse_slice(spec: str, pos: int) -> list[tuple[int | None, int | None]]:
    """Wireshark ranges: i:j (start:length), i-j (start-end), i, :j, i: ; comma-separated."""
    out: list[tuple[int | None, int | None]] = []
    for part in spec.split(","):
        p = part.strip()
        try:
            if ":" in p:
                a, b = p.split(":", 1)
                start = int(a, 0) if a else 0
                if b:
                    ln = int(b, 0)
                    if ln < 0:
                        raise ValueError
                    out.append((start, start + ln if start + ln != 0 else None))
                else:
                    out.append((start, None))
            elif re.fullmatch(r"-?\d+--?\d+", p):
                m = re.fullmatch(r"(-?\d+)-(-?\d+)", p)
                assert m is not None
                a_, b_ = int(m.group(1)), int(m.group(2))
                out.append((a_, b_ + 1 if b_ != -1 else None))
            else:
                i = int(p, 0)
                out.append((i, i + 1 if i != -1 else None))
        except ValueError:
            raise FilterError(f'bad range "[{spec[:40]}]" at column {pos + 1}', pos) from None
        s_, e_ = out[-1]
        if abs(s_ or 0) > _SLICE_LIMIT or abs(e_ or 0) > _SLICE_LIMIT:
            raise FilterError(f'"{spec[:40]}" is not a valid range (column {pos + 1})', pos)
    return out


_SLICE_LIMIT = (1 << 31) - 1  # tshark: a range past a 32-bit offset "is not a valid range"


_NUMERIC = ("int", "bool", "float", "time")


def _expr_kind(op: Operand) -> str | None:
    """float if any field in the expression is a float, int if all are integers, None without fields."""
    if op.expr is None:
        if op.name is None:
            return None
        k = "int" if op.func in ("len", "count") else (_registry().get(op.name) or "bytes")
        if k not in _NUMERIC:
            raise FilterError(f"{op.text} is {k}: arithmetic needs numbers (column {op.pos + 1})", op.pos)
        return "float" if k in ("float", "time") else "int"
    _, a, b = op.expr
    kinds = {_expr_kind(a), _expr_kind(b) if b is not None else None} - {None}
    return "float" if "float" in kinds else ("int" if kinds else None)


def _int_div(x: Any, y: Any) -> Any:
    if isinstance(x, int) and isinstance(y, int):
        q = abs(x) // abs(y)
        return q if (x >= 0) == (y >= 0) else -q  # C division: towards zero
    return x / y


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": _int_div,
    "%": lambda x, y: x - _int_div(x, y) * y if isinstance(x, int) and isinstance(y, int) else x % y,
}


def _expr_values(op: Operand, kind: str) -> Callable[[Fields], list[Any] | None]:
    """fields -> values of an arithmetic operand (every combination of the occurrences)."""
    if op.expr is None:
        if op.name is None:
            assert op.literal is not None
            const = [_literal(op.literal, kind, "an arithmetic expression")]
            return lambda f: const
        vals, _ = _operand_values(op)
        return vals
    name, a, b = op.expr
    fa = _expr_values(a, kind)
    if name == "group":
        return fa
    if name == "neg":
        return lambda f: None if (v := fa(f)) is None else [-x for x in v]
    assert b is not None
    fb = _expr_values(b, kind)
    fn = _ARITH[name]

    def combine(f: Fields) -> list[Any] | None:
        x, y = fa(f), fb(f)
        if not x or not y:
            return None
        out = []
        for p in x:
            for q in y:
                try:
                    out.append(fn(p, q))
                except (ZeroDivisionError, TypeError, OverflowError):
                    pass
        return out or None

    return combine


def _operand_values(op: Operand, hint: str | None = None) -> tuple[Callable[[Fields], list[Any] | None], str]:
    """Compile a field operand into fields -> list of normalised values (None if absent), and its kind."""
    if op.expr is not None:
        kind = _expr_kind(op) or ("float" if hint in ("float", "time") else "int")
        return _expr_values(op, kind), kind
    assert op.name is not None
    name = op.name
    kind = _registry().get(name) or "bytes"
    if name in ALIASES and kind == "proto":
        kind = "bytes"
    get = _getter(name, op.layer)
    if op.func == "count":
        pres = _presence(name, kind)

        def count(f: Fields) -> list[Any] | None:
            v = get(f)
            if v is None:
                return [1] if kind == "proto" and pres(f) else [0]
            return [len(v) if type(v) is list else 1]

        return count, "int"
    if kind in ("none",) and (op.func or op.slice):
        raise FilterError(f"{name} has no value (column {op.pos + 1})", op.pos)
    norm = NORMALIZERS[kind]
    conv: Callable[[Any], Any] = norm
    out_kind = kind
    if op.slice is not None:
        ranges = _parse_slice(op.slice, op.slice_pos)

        def sliced(v: Any, k: str = kind) -> Any:
            b = _to_bytes(k, v)
            if b is None:
                return None
            return b"".join(b[s:e] for s, e in ranges)

        conv, out_kind = sliced, "bytes"
    if op.func in ("upper", "lower"):
        if out_kind != "str":
            raise FilterError(
                f"{op.func}() needs a string field, {name} is {kind} (column {op.pos + 1})", op.pos
            )
        conv = (
            (lambda v: s.upper() if (s := _n_str(v)) is not None else None)
            if op.func == "upper"
            else (lambda v: s.lower() if (s := _n_str(v)) is not None else None)
        )
    elif op.func == "string":
        inner = conv
        conv, out_kind = (lambda v: None if (x := inner(v)) is None else _display(out_kind, x)), "str"
    elif op.func == "len":
        inner2, k2 = conv, out_kind

        def length(v: Any) -> Any:
            if k2 in _SIZES:
                return _SIZES[k2]
            x = inner2(v)
            return None if x is None or not hasattr(x, "__len__") else len(x)

        conv, out_kind = length, "int"

    def values(f: Fields) -> list[Any] | None:
        v = get(f)
        if v is None:
            return None
        if type(v) is list:
            return [c for x in v if (c := conv(x)) is not None]
        c = conv(v)
        return None if c is None else [c]

    return values, out_kind


def _display(kind: str, v: Any) -> str:
    if kind == "ipv4":
        return str(ipaddress.IPv4Address(v))
    if kind == "ipv6":
        return str(ipaddress.IPv6Address(v))
    if kind in ("ether", "bytes", "proto") and isinstance(v, bytes):
        return ":".join(f"{b:02x}" for b in v)
    return str(v)


_FLIP = {
    "<": ">",
    ">": "<",
    "<=": ">=",
    ">=": "<=",
    "==": "==",
    "!=": "!=",
    "===": "===",
    "~=": "~=",
    "!==": "!==",
}


def _relation(relop: str, kind: str, pos: int, fname: str) -> Callable[[Any, Any], bool]:
    """A two-argument comparison for normalised values of this kind."""
    if relop in ("==", "===", "!=", "~=", "!=="):
        return lambda x, y: y == x  # y first: a _Net literal's __eq__ does the prefix test
    if relop in ("<", "<=", ">", ">="):
        if kind in ("none", "proto"):
            raise FilterError(f'{fname} cannot be ordered with "{relop}" (column {pos + 1})', pos)
        import operator

        opf = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[relop]

        def ordered(x: Any, y: Any) -> bool:
            if isinstance(y, _Net):
                y = y.net
            try:
                return bool(opf(x, y))
            except TypeError:
                return False

        return ordered
    if relop == "&":
        if kind not in ("int", "bool"):
            raise FilterError(
                f'"&" (bitwise and) needs an integer field; {fname} is {kind} (column {pos + 1})', pos
            )
        return lambda x, y: (x & y) != 0
    if relop == "contains":
        if kind in ("int", "bool", "float", "time", "ipv4", "ipv6", "none"):
            raise FilterError(
                f'"contains" needs a string or bytes field; {fname} is {kind} (column {pos + 1})', pos
            )
        return lambda x, y: y in x
    raise AssertionError(relop)


def _compile(node: Node) -> Pred:
    if node.op == "and":
        a, b = (_compile(k) for k in node.kids)
        return lambda f: a(f) and b(f)
    if node.op == "or":
        a, b = (_compile(k) for k in node.kids)
        return lambda f: a(f) or b(f)
    if node.op == "not":
        a = _compile(node.kids[0])
        return lambda f: not a(f)
    if node.op == "exists":
        op = node.left
        assert op is not None and op.name is not None
        kind = _registry().get(op.name, "bytes")
        if op.func is None and op.slice is None and op.layer is None:
            return _presence(op.name, kind)
        if op.layer is not None and op.func is None and op.slice is None:
            get = _getter(op.name, op.layer)
            return lambda f: get(f) is not None
        vals, _ = _operand_values(op)
        return lambda f: bool(vals(f))
    if node.op == "in":
        return _compile_in(node)
    return _compile_test(node)


def _field_kind_of(op: Operand) -> str:
    assert op.name is not None
    return _registry().get(op.name, "bytes")


def _compile_in(node: Node) -> Pred:
    op = node.left
    assert op is not None
    if op.name is None and op.expr is None:
        assert op.literal is not None
        raise FilterError(f'unknown field "{op.text}" at column {op.pos + 1}{_suggest(op.text)}', op.pos)
    vals, kind = _operand_values(op)
    fname = op.text
    singles: list[Any] = []
    ranges: list[tuple[Any, Any]] = []
    nets: list[_Net] = []
    for lo, hi in node.members:
        a = _literal(lo, kind, fname)
        if hi is None:
            (nets if isinstance(a, _Net) else singles).append(a)
        else:
            b = _literal(hi, kind, fname)
            if kind in ("bytes", "ether", "proto", "none") or isinstance(a, _Net) or isinstance(b, _Net):
                raise FilterError(f"a range needs numbers or addresses (column {lo.pos + 1})", lo.pos)
            ranges.append((a, b))
    try:
        single_set: frozenset[Any] | None = frozenset(singles)
    except TypeError:
        single_set = None

    def member(x: Any) -> bool:
        if single_set is not None:
            if x in single_set:
                return True
        elif x in singles:
            return True
        for lo_v, hi_v in ranges:
            try:
                if lo_v <= x <= hi_v:
                    return True
            except TypeError:
                pass
        return any(n == x for n in nets)

    if op.expr is None and op.func is None and op.slice is None and op.layer is None:
        assert op.name is not None
        norm = NORMALIZERS[kind]
        if not ranges and not nets and single_set is not None:
            if kind in ("int", "bool"):
                return _any_field(
                    op.name, lambda x: x in single_set or (type(x) is not int and norm(x) in single_set)
                )
            return _any_field(op.name, lambda x: norm(x) in single_set)
        return _any_field(op.name, lambda x: (n := norm(x)) is not None and member(n))

    def test_in(f: Fields) -> bool:
        v = vals(f)
        if not v:
            return False
        return any(member(x) for x in v)

    return test_in


def _compile_test(node: Node) -> Pred:
    left, right, relop = node.left, node.right, node.relop
    assert left is not None and right is not None
    if left.name is None and left.expr is None and (right.name is not None or right.expr is not None):
        if relop in ("contains", "matches"):
            raise FilterError(
                f'the left side of "{relop}" must be a field (column {left.pos + 1}); try "{right.text} {relop} ..."',
                left.pos,
            )
        left, right, relop = right, left, _FLIP[relop]
    if left.name is None and left.expr is None:
        assert left.literal is not None
        if left.literal.kind == "WORD":
            raise FilterError(
                f'unknown field "{left.text}" at column {left.pos + 1}{_suggest(left.text)}', left.pos
            )
        raise FilterError(f"a comparison needs a field on one side (column {left.pos + 1})", left.pos)
    lvals, kind = _operand_values(left)
    fname = left.text
    if kind == "none":
        raise FilterError(f'{fname} has no value; use "{fname}" alone to test that it is present', left.pos)
    if relop == "!==":
        relop = "~="

    if relop == "matches":
        if right.name is not None or right.literal is None or right.literal.kind not in ("STRING", "WORD"):
            raise FilterError(
                f'"matches" needs a quoted regular expression (column {right.pos + 1})', right.pos
            )
        if kind not in ("str", "bytes", "proto", "ether"):
            raise FilterError(
                f'"matches" needs a string or bytes field; {fname} is {kind} (column {node.pos + 1})',
                node.pos,
            )
        pattern = right.literal.value if right.literal.kind == "STRING" else right.literal.text
        flags = re.IGNORECASE | re.DOTALL
        if pattern.startswith("(?-i)"):  # PCRE's global "case-sensitive from here"; Python wants it scoped
            pattern, flags = pattern[5:], re.DOTALL
        elif "(?-i)" in pattern:
            head, _, tail = pattern.partition("(?-i)")
            pattern = f"{head}(?-i:{tail})"
        search = _bounded_search(pattern, flags, right.pos)
        if kind == "str":

            def match_str(f: Fields) -> bool:
                v = lvals(f)
                return bool(v) and any(search(x) for x in v)  # type: ignore[union-attr]

            return match_str

        def match_bytes(f: Fields) -> bool:
            v = lvals(f)
            return bool(v) and any(search(x.decode("latin-1")) for x in v)  # type: ignore[union-attr]

        return match_bytes

    if relop in ("contains", "&") and (left.expr is not None or right.expr is not None):
        raise FilterError(f'"{relop}" cannot take an arithmetic expression (column {node.pos + 1})', node.pos)
    rel = _relation(relop, kind, node.pos, fname)

    if right.name is not None or right.expr is not None:
        rvals, rkind = _operand_values(right, kind)
        if rkind != kind and {rkind, kind} - {"int", "bool", "float"}:
            # compare field with field of another kind by converting the right side to the left's kind
            norm = NORMALIZERS[kind]
            raw_r = rvals

            def rvals(f: Fields) -> list[Any] | None:
                r = raw_r(f)
                return None if r is None else [n for x in r if (n := norm(x)) is not None]

        def both(f: Fields) -> bool:
            a = lvals(f)
            b = rvals(f)
            if not a or not b:
                return False
            if relop == "!=":
                return not any(rel(x, y) for x in a for y in b)
            if relop == "~=":
                return any(not rel(x, y) for x in a for y in b)
            if relop == "===":
                return all(rel(x, y) for x in a for y in b)
            return any(rel(x, y) for x in a for y in b)

        return both

    assert right.literal is not None
    lit = _literal(right.literal, kind, fname)
    if relop == "contains" and kind == "str" and isinstance(lit, bytes):
        lit = lit.decode("latin-1")

    # fast path: a plain field against a literal, "any occurrence" semantics, no per-packet lists
    if (
        left.expr is None
        and left.func is None
        and left.slice is None
        and left.layer is None
        and relop not in ("!=", "~=", "===", "!==")
        and left.name is not None
    ):
        return _any_field(left.name, _scalar_test(relop, kind, lit, rel))

    if relop == "==" and not isinstance(lit, _Net):

        def eq(f: Fields) -> bool:
            v = lvals(f)
            return v is not None and lit in v

        return eq
    if relop == "!=":

        def ne(f: Fields) -> bool:
            v = lvals(f)
            return bool(v) and not any(rel(x, lit) for x in v)  # type: ignore[union-attr]

        return ne
    if relop == "~=":

        def any_ne(f: Fields) -> bool:
            v = lvals(f)
            return bool(v) and any(not rel(x, lit) for x in v)  # type: ignore[union-attr]

        return any_ne
    if relop == "===":

        def all_eq(f: Fields) -> bool:
            v = lvals(f)
            return bool(v) and all(rel(x, lit) for x in v)  # type: ignore[union-attr]

        return all_eq

    def any_rel(f: Fields) -> bool:
        v = lvals(f)
        return bool(v) and any(rel(x, lit) for x in v)  # type: ignore[union-attr]

    return any_rel


def _scalar_test(relop: str, kind: str, lit: Any, rel: Callable[[Any, Any], bool]) -> Callable[[Any], bool]:
    """raw value (as the decoder stored it) -> bool, normalising only when the cheap test fails."""
    norm = NORMALIZERS[kind]
    if relop == "==":
        if isinstance(lit, _Net):
            net, mask = lit.net, lit.mask

            def in_net(x: Any) -> bool:
                n = norm(x)
                return n is not None and (n & mask) == net

            return in_net
        if kind == "ipv4":
            lit_s = str(ipaddress.IPv4Address(lit))  # decoders write IPv4 in canonical dotted quad

            return lambda x: x == lit_s if type(x) is str else norm(x) == lit
        if kind in ("int", "bool"):
            return lambda x: x == lit or (type(x) is not int and norm(x) == lit)
        return lambda x: norm(x) == lit

    def test(x: Any) -> bool:
        n = norm(x)
        return n is not None and rel(n, lit)

    return test


def _any_field(name: str, t: Callable[[Any], bool]) -> Pred:
    """True when any occurrence of the field satisfies ``t`` (alias fields: of either component)."""

    def one(v: Any) -> bool:
        if v is None:
            return False
        if type(v) is list:
            for x in v:
                if t(x):
                    return True
            return False
        return t(v)

    parts = ALIASES.get(name)
    if parts is None:

        def pred(f: Fields) -> bool:
            v = f.get(name)
            if v is None:
                return False
            if type(v) is list:
                for x in v:
                    if t(x):
                        return True
                return False
            return t(v)

        return pred
    a, b = parts

    def pred_alias(f: Fields) -> bool:
        v = f.get(name)
        if v is None:
            return one(f.get(a)) or one(f.get(b))
        return one(v)

    return pred_alias


def _leaves(op: Operand | None) -> list[Operand]:
    if op is None:
        return []
    if op.expr is None:
        return [op]
    return _leaves(op.expr[1]) + _leaves(op.expr[2])


def _collect(node: Node, out: set[str]) -> None:
    for op in _leaves(node.left) + _leaves(node.right):
        if op.name is not None:
            out.add(op.name)
            out.update(ALIASES.get(op.name, ()))
    for k in node.kids:
        _collect(k, out)


# ---------------------------------------------------------------------------------------------------------
# Public API


#: fields matches_frame computes from the stream table (stateful: frames in capture order)
STREAM_FIELDS = frozenset({"tcp.stream", "udp.stream"})
#: fields matches_frame computes from the frame's position and time (stateful: frames in capture order)
CONTEXT_FIELDS = frozenset(
    {"frame.number", "frame.time_relative", "frame.time_delta", "frame.time", "frame.time_epoch"}
)


class DisplayFilter:
    """A compiled display filter. ``matches(fields)`` takes a dict from ``decode.fields.frame_fields``."""

    __slots__ = (
        "_context",
        "_direct",
        "_extract",
        "_first_ns",
        "_flows",
        "_nodes",
        "_pred",
        "_prev_ns",
        "_ra",
        "_seen",
        "_tcp",
        "conjuncts",
        "fields_needed",
        "matches",
        "proto_values",
        "text",
    )

    def __init__(self, text: str, pred: Pred | None, fields_needed: frozenset[str]) -> None:
        self.text = text
        self._pred = pred
        #: field names the filter reads (a decoder may skip the others); empty for the empty filter
        self.fields_needed = fields_needed
        self.matches: Pred = pred if pred is not None else (lambda f: True)
        self._extract: Callable[[Any], Fields] | None = None
        #: frame -> bool deciding from the layers and fields the filter names (fastfields.frame_matcher)
        self._direct: Callable[[Any], bool] | None = None
        self._flows: Any = None  # a FlowIndex when the filter reads tcp.stream / udp.stream
        self._seen = 0
        self._context = bool(fields_needed & (CONTEXT_FIELDS - {"frame.number"}))
        self._first_ns: int | None = None
        self._prev_ns = 0
        self._tcp: Any = None  # a TcpAnalyzer when the filter reads tcp.analysis.* / relative tcp.seq...
        self._ra: Any = None  # a TcpReassembler when it reads tcp.segment / tcp.reassembled.length
        #: protocols the filter reads as bytes ("frame contains 01:02", "tcp matches ..."): matches_frame
        #: gives them their bytes, from the layer's first byte to the end of the packet, as Wireshark does
        self.proto_values: frozenset[str] = frozenset()
        #: (fields read, predicate) of each part of a top-level "and" (one part without one)
        self.conjuncts: tuple[tuple[frozenset[str], Pred], ...] = ()
        #: the syntax tree and its top-level "and" parts (for the struct-read compilation, raw_source)
        self._nodes: tuple[Node | None, tuple[Node, ...]] = (None, ())

    @property
    def needs_tcp_analysis(self) -> bool:
        """True when the filter reads a field of the TCP conversation analysis (sniffer.model.tcpanalysis)."""
        from sniffer.model.tcpanalysis import needs_analysis

        return needs_analysis(self.fields_needed)

    def matches_frame(self, frame: Any, number: int | None = None, fields: Any = None) -> bool:
        """Decode ``frame`` (a capture Frame) only as far as this filter needs, then match it.

        Filters on common L2-L4 fields read them straight from the headers (sniffer.model.fastfields);
        others use the full ``decode.fields.frame_fields``. ``number`` becomes ``frame.number``
        (default: the count of frames passed). ``tcp.stream`` / ``udp.stream`` (numbered like
        Wireshark), ``frame.time_relative`` and ``frame.time_delta`` are available too, provided every
        frame of the capture is passed once, in order; so are the TCP analysis fields (relative
        ``tcp.seq``, ``tcp.analysis.*``...), or give ``fields``: the frame's fields with that analysis
        already applied (a copy is matched).
        """
        direct = self._direct
        if direct is not None and fields is None:  # (the common case first)
            self._seen += 1
            return direct(frame)
        if self._pred is None:
            return True
        ext = self._extract
        if ext is None:
            from sniffer.model.fastfields import extractor

            needed = self.fields_needed - STREAM_FIELDS - CONTEXT_FIELDS
            if self.needs_tcp_analysis:
                from sniffer.model.reassembly import FIELDS as RA_FIELDS
                from sniffer.model.tcpanalysis import FIELDS as TCP_FIELDS

                needed = needed - TCP_FIELDS - RA_FIELDS
            ext = self._extract = extractor(needed) if needed else (lambda fr: {})
            if not (
                self._context or self.proto_values or self.fields_needed & (STREAM_FIELDS | CONTEXT_FIELDS)
            ):
                if not self.needs_tcp_analysis:
                    from sniffer.model.fastfields import frame_matcher

                    tree, parts = self._nodes
                    raw = raw_source(tree) if tree is not None else None
                    raw_parts = tuple(raw_source(p) for p in parts) if len(parts) > 1 else ()
                    self._direct = frame_matcher(needed, self._pred, self.conjuncts, raw, raw_parts)
            if self.fields_needed & STREAM_FIELDS:
                from sniffer.model.flows import FlowIndex

                self._flows = FlowIndex(keep_numbers=False)
            if self.needs_tcp_analysis:
                from sniffer.model.reassembly import TcpReassembler
                from sniffer.model.tcpanalysis import TcpAnalyzer

                self._tcp = TcpAnalyzer()
                if self.fields_needed & RA_FIELDS:
                    self._ra = TcpReassembler()
        if fields is not None:
            fields = dict(fields)
        elif self._direct is not None:
            self._seen += 1
            return self._direct(frame)
        elif self._tcp is not None:  # header fields as usual, plus the analysis of this frame
            num = self._seen + 1 if number is None else number
            extra = self._tcp.feed_frame(num, frame)
            full = self._tcp.last_fields  # decoded whole (tunnel, fragment): all its fields, reassembled
            fields = dict(full) if full is not None else ext(frame)
            if extra is not None:
                fields.update(extra)
                if self._ra is not None:  # the PDU this frame completes (tshark's one-pass fields)
                    from sniffer.model.reassembly import segment_fields

                    segment_fields(fields, self._ra.feed(num, frame, extra))
        else:
            fields = ext(frame)
        if self.proto_values:
            _proto_bytes(frame, fields, self.proto_values)
        return self._match(frame, number, fields)

    def _match(self, frame: Any, number: int | None, fields: Any) -> bool:
        self._seen += 1
        fields["frame.number"] = self._seen if number is None else number
        if self._context:
            ts = frame.ts_ns
            if self._first_ns is None:
                self._first_ns = self._prev_ns = ts
            fields["frame.time_relative"] = (ts - self._first_ns) / 1e9
            fields["frame.time_delta"] = (ts - self._prev_ns) / 1e9
            fields["frame.time"] = fields["frame.time_epoch"] = ts / 1e9
            self._prev_ns = ts
        if self._flows is not None:
            r = self._flows.add(number or self._seen, frame)
            if r is not None:
                fields[f"{r[0].proto}.stream"] = r[0].index
        pred = self._pred
        assert pred is not None  # matches_frame returned early without one
        return pred(fields)

    @property
    def is_empty(self) -> bool:
        """True for the empty filter, which matches every packet."""
        return self._pred is None

    def __call__(self, fields: Fields) -> bool:
        return self.matches(fields)

    def filter(self, many: Iterable[Fields]) -> Iterable[Fields]:
        m = self.matches
        return (f for f in many if m(f))

    def __repr__(self) -> str:
        return f"DisplayFilter({self.text!r})"


def parse(text: str) -> Node:
    """Parse a display filter into its syntax tree (raises FilterError)."""
    return _Parser(text).parse()


#: seconds one regular-expression search may take (the `regex` module's timeout): a pattern that
#: backtracks catastrophically, like "(a|aa)+$", is refused instead of running for hours; tshark bounds
#: PCRE2 the same way, with match limits
REGEX_TIMEOUT = 0.1


def _bounded_search(pattern: str, flags: int, pos: int) -> Callable[[str], Any]:
    """`search` for a "matches" pattern, bounded in time. The first search that runs past
    REGEX_TIMEOUT raises FilterError("regex too expensive"); every later one raises at once, so a
    filter over a million packets costs one timeout, not a million."""
    import regex

    try:
        rx = regex.compile(pattern, flags)
    except regex.error as exc:
        raise FilterError(f"bad regular expression at column {pos + 1}: {exc}", pos) from None
    expensive: list[FilterError] = []
    rsearch = rx.search

    def search(x: str) -> Any:
        if expensive:
            raise expensive[0]
        try:
            return rsearch(x, timeout=REGEX_TIMEOUT)
        except TimeoutError:
            shown = pattern if len(pattern) <= 60 else pattern[:60] + "..."
            expensive.append(
                FilterError(
                    f"regex too expensive: {shown!r} backtracks for more than {REGEX_TIMEOUT} s on one "
                    "value; simplify it (no nested repeats like (a+)+)",
                    pos,
                )
            )
            raise expensive[0] from None

    return search


def compile_filter(text: str) -> DisplayFilter:
    """Compile a Wireshark display filter. An empty (or blank) text matches everything.

    Raises:
        FilterError: with a message naming the problem and its column; ``.position`` is the 0-based offset.
    """
    if not isinstance(text, str):
        raise FilterError("a display filter must be text", 0)
    if not text.strip():
        return DisplayFilter(text, None, frozenset())
    try:
        tree = parse(text)
        pred = _compile(tree)
    except FilterError:
        raise
    except (RecursionError, MemoryError):
        raise FilterError("display filter too deeply nested", 0) from None
    needed: set[str] = set()
    _collect(tree, needed)
    _check_decoded(tree)
    flt = DisplayFilter(text, pred, frozenset(needed))
    flt.proto_values = frozenset(_proto_operands(tree))
    parts = _conjuncts(tree)
    if len(parts) > 1:
        flt.conjuncts = tuple((_needed(p), _compile(p)) for p in parts)
    flt._nodes = (tree, tuple(parts))
    return flt


_RAW_EQ = ("==", "!=", "~=", "!==", "===")
_RAW_ORDER = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


def raw_source(node: Node) -> str | None:
    """The filter as one Python expression over the walked layers' raw values (fastfields.RAW_FIELDS:
    struct reads, addresses as ints), for a packet whose rest holds nothing the filter names; None if
    it uses anything else (slices, functions, layers, strings, fields the walk does not read).
    fastfields.quick turns it into a function; tests/model/test_fastfields.py checks it decides as the
    compiled filter does on the walked fields, on every corpus packet."""
    from sniffer.model.fastfields import _STACK_NAMES, RAW_FIELDS, RAW_PRESENCE

    def absent(name: str) -> bool:  # a field or protocol of a layer the packet cannot have here
        top = name.split(".", 1)[0]
        return top not in _STACK_NAMES and top != "frame"

    def values(op: Operand | None) -> tuple[str, tuple[str, ...], str] | None:
        if op is None or op.name is None or op.slice or op.func or op.layer is not None or op.expr:
            return None
        raw = RAW_FIELDS.get(op.name)
        if raw is None:
            return None
        return raw[0], raw[1], _registry().get(op.name) or "bytes"

    def lit_of(tok: Tok | None, kind: str, fname: str) -> Any:
        if tok is None or kind not in ("int", "bool", "ipv4", "ipv6", "ether"):
            return None
        try:
            v = _literal(tok, kind, fname)
        except FilterError:
            return None
        return v if type(v) in (int, bytes, _Net) else None

    def one(e: str, lit: Any, relop: str) -> str | None:
        if isinstance(lit, _Net):
            return f"({e} & {lit.mask}) == {lit.net}" if relop == "==" else None
        if relop == "==":
            return f"{e} == {lit!r}"
        if relop in _RAW_ORDER and type(lit) is int:
            return f"{e} {_RAW_ORDER[relop]} {lit!r}"
        return None

    def walk(n: Node) -> str | None:
        if n.op in ("and", "or"):
            a, b = (walk(k) for k in n.kids)
            return None if a is None or b is None else f"({a} {n.op} {b})"
        if n.op == "not":
            a = walk(n.kids[0])
            return None if a is None else f"(not {a})"
        left = n.left
        if left is None or left.name is None:
            return None
        if n.op == "exists":
            if left.slice or left.func or left.layer is not None:
                return None
            name = left.name
            if name == "frame":
                return "True"
            if name in RAW_PRESENCE:
                return RAW_PRESENCE[name]
            if name in RAW_FIELDS:
                return RAW_FIELDS[name][0]
            return "False" if absent(name) else None
        if left.literal is not None or left.expr is not None:
            return None
        if absent(left.name) and not (left.slice or left.func or left.layer is not None):
            if n.op == "in" or (n.right is not None and n.right.literal is not None):
                return "False"  # every relation needs the field present
        got = values(left)
        if got is None:
            return None
        cond, vals, kind = got
        if n.op == "in":
            tests: list[str] = []
            for lo, hi in n.members:
                a = lit_of(lo, kind, left.text)
                b = a if hi is None else lit_of(hi, kind, left.text)
                if a is None or b is None:
                    return None
                if hi is None:
                    tests.append(
                        "{e} == " + repr(a) if not isinstance(a, _Net) else f"({{e}} & {a.mask}) == {a.net}"
                    )
                elif type(a) is int and type(b) is int:
                    tests.append(f"{a!r} <= {{e}} <= {b!r}")
                else:
                    return None
            anyv = " or ".join(f"({t.format(e=e)})" for e in vals for t in tests)
            return f"({cond} and ({anyv}))"
        if n.op != "test" or n.right is None or n.right.name is not None or n.right.expr is not None:
            return None
        lit = lit_of(n.right.literal, kind, left.text)
        if lit is None:
            return None
        relop = "~=" if n.relop == "!==" else n.relop
        base = "==" if relop in _RAW_EQ else relop
        parts = [one(e, lit, base) for e in vals]
        if any(x is None for x in parts):
            return None
        if relop == "==" or relop in _RAW_ORDER:
            body = " or ".join(f"({x})" for x in parts)
        elif relop == "!=":
            body = " and ".join(f"not ({x})" for x in parts)
        elif relop == "~=":
            body = " or ".join(f"not ({x})" for x in parts)
        elif relop == "===":
            body = " and ".join(f"({x})" for x in parts)
        else:
            return None
        return f"({cond} and ({body}))"

    return walk(node)


def _conjuncts(node: Node) -> list[Node]:
    """The parts of a top-level "and" chain (the node itself if it is not one)."""
    if node.op == "and":
        return [p for k in node.kids for p in _conjuncts(k)]
    return [node]


def _needed(node: Node) -> frozenset[str]:
    out: set[str] = set()
    _collect(node, out)
    return frozenset(out)


def _proto_operands(node: Node) -> Iterator[str]:
    """Protocol names used as values in a relation (contains, matches, ==, slices), not as presence."""
    if node.right is not None:
        for op in _leaves(node.left) + _leaves(node.right):
            if op.name is not None and op.name not in ALIASES and _registry().get(op.name) == "proto":
                yield op.name
    for k in node.kids:
        yield from _proto_operands(k)


def _proto_bytes(frame: Any, fields: Fields, names: frozenset[str]) -> None:
    """Put each protocol of ``names`` the packet has into ``fields`` as its bytes: "frame" is the whole
    packet; another protocol runs from its first byte to the end of the captured bytes (its header and
    what it carries: how Wireshark's "tcp contains "GET"" finds the HTTP request)."""
    data = bytes(frame[1])
    if "frame" in names:
        fields["frame"] = data
    if names - {"frame"}:
        from sniffer.decode.engine import run

        done = {"frame"}
        for node in run(frame, True).root.walk():
            if node.field in names and node.field not in done:  # the outermost layer of that protocol
                done.add(node.field)
                fields[node.field] = data[node.offset :]


#: protocols the engine always decodes (a subset of decoded_names(), checked by a test)
SURELY_DECODED = frozenset(
    {
        "frame",
        "eth",
        "vlan",
        "arp",
        "ip",
        "ipv6",
        "icmp",
        "icmpv6",
        "igmp",
        "tcp",
        "udp",
        "dns",
        "dhcp",
        "http",
        "tls",
    }
)


def _check_decoded(node: Node) -> None:
    """Refuse a field or protocol Wireshark knows but no decoder of sniffer fills: the filter would
    silently match nothing and the user would believe there is none."""
    known: frozenset[str] | None = None
    for op in _leaves(node.left) + _leaves(node.right):
        if op.name is None or op.name in SURELY_DECODED:
            continue  # the common protocols need no scan of the decoders (~0.1 s at the first filter)
        if known is None:
            known = decoded_names()
        if op.name not in known:
            raise FilterError(f"sniffer does not decode {op.name} (column {op.pos + 1})", op.pos)
    for k in node.kids:
        _check_decoded(k)


def check_filter(text: str) -> str | None:
    """None if ``text`` compiles, else the error message (for the TUI's as-you-type check)."""
    try:
        compile_filter(text)
    except FilterError as exc:
        return str(exc)
    return None
