"""frame_fields: one frame -> {Wireshark field name: value, or list of values in order of appearance};
layer_fields and frame_protocols: the cheaper views a filter or a statistic asks for."""

from __future__ import annotations

import dis
import threading
from types import CodeType, FunctionType
from typing import Any

from sniffer.decode.core import Header
from sniffer.decode.engine import run
from sniffer.decode.layers import protocols
from sniffer.frame import Frame


def frame_fields(frame: Frame) -> dict[str, Any]:
    """Every field of ``frame`` keyed by its Wireshark name (``ip.src``, ``tcp.flags``, ``igmp.maddr``...).

    Values are int (numbers, flags, hex-shown fields such as eth.type and tcp.flags), str (addresses
    as Wireshark prints them, names, ``frame.time_epoch`` as exact "sec.nnnnnnnnn") or a list of those
    when a field occurs several times (stacked VLANs, tunnels, the header quoted in an ICMP error).
    Also: ``frame.protocols``, ``_ws.col.Protocol``, ``_ws.col.Info``, ``_ws.expert`` (warnings), and
    ``_ws.malformed`` (the reason) only when Wireshark would call the packet malformed.
    """
    return run(frame, False).fields


def _strings(obj: Any, seen: set[int], out: set[str], pushed: set[str]) -> None:
    """Every string constant reachable from ``obj`` (functions' code, tables, headers); the protocol
    names passed as literals to ``ctx.push`` go to ``pushed`` too."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, str):
        out.add(obj)
    elif isinstance(obj, CodeType):
        for c in obj.co_consts:
            _strings(c, seen, out, pushed)
        # a literal next to ctx.push(...) or ctx.protos (a layer name set by hand, like "mdns")
        if "push" not in obj.co_names and "protos" not in obj.co_names:
            return
        code = [i for i in dis.get_instructions(obj) if i.opname not in ("CACHE", "PRECALL", "EXTENDED_ARG")]
        for k, ins in enumerate(code):
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and ins.argval in ("push", "protos"):
                for near in code[max(0, k - 3) : k + 4]:
                    if near.opname == "LOAD_CONST" and isinstance(near.argval, str):
                        pushed.add(near.argval)
    elif isinstance(obj, FunctionType):
        _strings(obj.__code__, seen, out, pushed)
    elif isinstance(obj, (staticmethod, classmethod)):
        _strings(obj.__func__, seen, out, pushed)
    elif isinstance(obj, type):  # a helper class of the module: its methods
        for v in vars(obj).values():
            _strings(v, seen, out, pushed)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _strings(k, seen, out, pushed)
            _strings(v, seen, out, pushed)
    elif isinstance(obj, (tuple, list, set, frozenset)):
        for v in obj:
            _strings(v, seen, out, pushed)
    elif isinstance(obj, Header):
        _strings(obj.fields, seen, out, pushed)


_DECODABLE: frozenset[str] | None = None
_LOCK = threading.Lock()


def decodable_names(known: frozenset[str] | set[str] | dict[str, Any]) -> frozenset[str]:
    """The Wireshark field and protocol names (of ``known``) that some decoder of this package can fill.

    Derived from the code, not listed: every protocol module's headers (``F`` tuples), tables and the
    string constants of its dissectors (``ctx.add("dns.a", ...)``) that are names in ``known``; the
    protocol names given to ``ctx.push`` (or set in ``ctx.protos``) and the protocol of every such field
    (``dns`` of ``dns.a``); and the names a module lists in its ``DECLARES`` tuple because its code
    builds them (``f"http.{kind}"``).
    """
    global _DECODABLE
    with _LOCK:  # (the TUI compiles filters in more than one thread)
        if _DECODABLE is None:
            _DECODABLE = _scan(known)
    return _DECODABLE


def layer_fields(frame: Frame) -> dict[str, Any]:
    """The fields the protocol layers record (as in ``frame_fields``) plus ``frame.protocols``,
    ``frame.len`` and ``frame.cap_len``; none of the other ``frame.*`` and ``_ws.*`` fields (cheaper:
    what a display filter reads)."""
    ctx = run(frame, False, False)
    f = ctx.fields
    f["frame.protocols"] = ":".join(ctx.protos)
    caplen = len(frame[1])
    f["frame.len"] = frame[2]  # the recorded length, even when caplen is larger (libpcap, tshark)
    f["frame.cap_len"] = caplen
    return f


#: (``frame.protocols``, the ``_ws.malformed`` reason or "") without building the fields nor the columns:
#: the protocols-only dissection (``decode.layers.protocols``)
frame_protocols = protocols


def _scan(known: frozenset[str] | set[str] | dict[str, Any]) -> frozenset[str]:
    """decodable_names' work, done once."""
    import importlib
    import pkgutil

    import sniffer.decode

    consts: set[str] = set()
    pushed: set[str] = set()
    seen: set[int] = set()
    mods = [  # every module of the package (they are decoders or their helpers), not sys.modules
        importlib.import_module(f"sniffer.decode.{info.name}")
        for info in pkgutil.iter_modules(sniffer.decode.__path__)
    ]
    for mod in mods:
        for name, obj in vars(mod).items():
            if name.startswith("__"):
                continue
            if getattr(obj, "__module__", mod.__name__) != mod.__name__ and not isinstance(
                obj, (dict, tuple, list, set, frozenset, Header)
            ):
                continue  # imported from elsewhere: counted where it is defined
            _strings(obj, seen, consts, pushed)
    for mod in mods:  # names a module declares itself (ones its code builds at run time)
        pushed.update(getattr(mod, "DECLARES", ()))
    names = {s for s in consts if "." in s and s in known}
    # names built from parts: f"tcp.options.{kind}" (a "tcp.options." prefix and a table's words)
    # and f"{proto}.checksum.status" (a ".checksum.status" suffix on a decoded protocol)
    prefixes = [s for s in consts if s.endswith(".") and s[:-1].replace(".", "").isidentifier()]
    words = [s for s in consts if s.isidentifier()]
    names |= {p + w for p in prefixes for w in words if p + w in known}
    names |= {s for s in pushed if s in known}
    names |= {s.split(".", 1)[0] for s in names}
    suffixes = [s for s in consts if s.startswith(".") and s[1:].replace(".", "").isidentifier()]
    names |= {p + x for p in list(names) for x in suffixes if p + x in known}
    return frozenset(names)
