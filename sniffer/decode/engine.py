"""Runs the protocol tables over one frame: the full dissection behind frame_fields, dissect and the
fallback of summarize. Never raises: a decoder bug marks the packet malformed instead."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from sniffer.decode import (  # noqa: F401  (they fill the tables)
    app,
    bacnet,
    bluetooth,
    dtls,
    encap,
    http,
    icmp,
    igmp,
    inet,
    l2ctl,
    legacyfs,
    link,
    linktypes,
    routing,
    sctp,
    services,
    sflow,
    sigtran,
    stun,
    tls,
    tunnels,
    udpsvc,
    vpn,
    wlan,
    wpan,
)
from sniffer.decode.core import (
    _LAYERS,
    ETHERTYPES,
    FULL,
    IP_PROTOS,
    LINKTYPES,
    TCP_PORTS,
    UDP_CONVERSATIONS,
    UDP_HEURISTICS,
    UDP_PORTS,
    Ctx,
    F,
    LeanCtx,
    _layer,
    _put,
    data_layer,
)
from sniffer.decode.tcpheur import TCP_HEURISTICS
from sniffer.frame import Frame

#: SNIFFER_DECODE_DEBUG=1 lets decoder exceptions through (for finding decoder bugs in development)
DEBUG = bool(os.environ.get("SNIFFER_DECODE_DEBUG"))

_FRAME = _layer("frame")  # the no-tree "frame" layer node
_dissect_eth = link.dissect_eth


def _eth_next(ctx: Ctx, off: int, end: int, etype: int) -> None:
    link.ethertype(ctx, etype, off, end)


def native_fields() -> Callable[..., bool | None] | None:
    """The native L2-L4 walk of the full dissection (sniffer/decode/_fastfields.c, docs/decode.md):
    ``walk(ctx, wire_length)`` records Ethernet, IPv4/IPv6 and TCP/UDP as the dissectors of link.py and
    inet.py do, from their declared headers, then calls the Python dissector of what follows; it returns
    None (nothing recorded) for any packet it does not take. None where it was not built, where
    SNIFFER_NO_NATIVE=1 is set, or while those are not the registered dissectors: then Python alone runs
    (same fields, tests/decode/test_native_fields.py compares them)."""
    global _WALK, _FRAME_DICT
    if _WALK is False:
        _WALK = None
        if os.environ.get("SNIFFER_NO_NATIVE", "") in ("", "0") and (
            LINKTYPES.map.get(1) is link.dissect_eth
            and ETHERTYPES.map.get(0x0800) is inet.dissect_ipv4
            and ETHERTYPES.map.get(0x86DD) is inet.dissect_ipv6
            and IP_PROTOS.map.get(6) is inet.dissect_tcp
            and IP_PROTOS.map.get(17) is inet.dissect_udp
        ):
            try:
                from sniffer.decode import _fastfields
            except ImportError:
                pass
            else:

                def spec(fields: tuple[F, ...]) -> list[tuple[str, int, int, str, int, int]]:
                    return [(f.name, f.off, f.size, f.kind, f.mask, f.scale) for f in fields]

                try:  # (a stale build whose constructor differs: Python alone)
                    walker = _fastfields.Walker(
                        spec(link.ETH.fields),
                        spec(inet.IPV4_ALL.fields),
                        spec(inet.IPV6.fields),
                        spec(inet.TCP.fields),
                        spec(inet.UDP.fields),
                        list(inet.tcp_flag_table()),
                        [inet._flag_str(f) for f in range(0x1000)],
                        [f"tcp.options.{inet._TCPOPT_FIELDS.get(k, 'unknown')}" for k in range(256)],
                        [inet.PROTO_NAMES.get(p, "Unknown") for p in range(256)],
                        _LAYERS,
                        _layer,
                        _eth_next,
                        inet.ipv4_next,
                        inet.ipv6_next,
                        inet.tcp_payload,
                        inet.udp_payload,
                        (  # IGMP v1/v2 too while igmp.dissect_igmp is the registered dissector
                            spec(igmp.IGMP_HDR.fields),
                            spec(igmp.IGMP_V1.fields),
                            spec(igmp.IGMP_V12.fields),
                            [igmp.IGMP_TYPES[t] for t in (0x11, 0x12, 0x16, 0x17)],
                            list(igmp._IGMP_VERSIONS[:3]),
                        )
                        if IP_PROTOS.map.get(2) is igmp.dissect_igmp
                        else None,
                        (  # payloads no port, conversation nor heuristic takes: data, in C
                            TCP_PORTS.map,
                            UDP_PORTS.map,
                            UDP_CONVERSATIONS.map,
                            TCP_HEURISTICS.entries,
                            UDP_HEURISTICS.entries,
                            sorted(int.from_bytes(p, "big") for p in TCP_HEURISTICS.prefixes()),
                            [(o, v) for _fn, o, v in UDP_HEURISTICS.entries],
                        ),
                        (spec(routing.VRRP.fields), spec(routing.VRRP2.fields), spec(routing.VRRP3.fields))
                        if IP_PROTOS.map.get(112) is routing.dissect_vrrp
                        else None,
                    )
                except (TypeError, ValueError):
                    return None
                _WALK, _FRAME_DICT = walker.walk, walker.frame_dict
    return _WALK or None


_WALK: Any = False  # native_fields(): False until first asked
_FRAME_DICT: Any = None


def run(
    frame: Frame, tree: bool, fields: bool = True, lean: int = FULL, lean_ctx: type[LeanCtx] = LeanCtx
) -> Ctx:
    """Dissect ``frame``; ``tree`` also builds the Node tree (ctx.root). ``fields=False`` leaves out the
    frame.* and _ws.* fields (ctx.fields then holds only what the dissectors recorded); ``lean`` says no
    one reads ctx.fields (only the columns ctx.src/dst/proto/info/malformed and ctx.protos): dissectors
    may then skip fields that cost (ctx.lean); ``lean=core.PROTOS``: only ctx.protos and ctx.malformed
    are read (the protocol hierarchy), dissectors may skip the columns too; ``lean_ctx``: that dissection's context class (a LeanCtx
    that keeps more fields than READ_BACK: sniffer export's names of TLS and HTTP)."""
    data = frame[1]
    if type(data) is not bytes:
        data = bytes(data)
    ctx = lean_ctx(data, False, lean) if lean and not tree else Ctx(data, tree)
    caplen = len(data)
    reclen = frame[2]  # frame.len is the recorded length even when caplen is larger (libpcap, tshark)
    wirelen = reclen if reclen >= caplen else caplen  # the decoders still see every captured byte
    sized = False
    if tree:
        fl = ctx.push("frame", f"Frame: {reclen} bytes on wire, {caplen} bytes captured", 0, caplen)
        ctx.protos.pop()
        if fields:
            _frame_fields(ctx, frame, frame[0], reclen, caplen)
        ctx.parent = ctx.root
    else:  # the shared "frame" layer node (what ctx.push would give), no push and pop
        fl = ctx.layer = _FRAME
        if fields:  # the same fields straight into the (still empty) dict
            ts = frame[0]
            n = len(frame)
            if (
                sized := n == 8
                and not frame[6]
                and not frame[5]
                and frame[7] is None
                and frame[3] == 1
                and ts >= 0
                and not lean
                and (_WALK if _WALK is not False else native_fields()) is not None
            ):  # the native walk's dict (the same fields, sized for the whole dissection)
                ctx.fields = _FRAME_DICT(frame[4], ts, reclen, caplen, frame[3])
            elif n == 8 and not frame[6] and not frame[5] and frame[7] is None:
                ctx.fields = {
                    "frame.interface_id": frame[4],
                    "frame.time_epoch": f"{ts // 1_000_000_000}.{ts % 1_000_000_000:09d}",
                    "frame.len": reclen,
                    "frame.cap_len": caplen,
                    "frame.linktype": frame[3],
                }
            else:
                f = ctx.fields
                f["frame.interface_id"] = frame[4]
                if n > 6 and frame[6]:
                    f["frame.interface_name"] = frame[6]
                if n > 5 and frame[5]:
                    f["frame.direction"] = frame[5]
                if n > 7 and frame[7] is not None:
                    f["frame.comment"] = frame[7]
                f["frame.time_epoch"] = f"{ts // 1_000_000_000}.{ts % 1_000_000_000:09d}"
                f["frame.len"] = reclen
                f["frame.cap_len"] = caplen
                f["frame.linktype"] = frame[3]
    fn = LINKTYPES.map.get(frame[3])
    done = None
    try:
        if fn is None:
            ctx.proto = f"LINKTYPE {frame[3]}"
            data_layer(ctx, 0, wirelen)
        elif (
            fn is not _dissect_eth
            or tree
            or lean
            or (walk := _WALK if _WALK is not False else native_fields()) is None
            or (done := walk(ctx, wirelen, sized, None if not fields else fl)) is None
        ):  # (the native walk took the frame, or declined having recorded nothing)
            fn(ctx, 0, wirelen)
    except Exception as exc:  # a decoder bug must never take the pipeline down
        if DEBUG:
            raise
        ctx.set_malformed(f"dissector bug: {type(exc).__name__}: {exc}")
        done = None
    if done == 2:  # the native walk did the rest below too (the same stores)
        return ctx
    ctx.layer = fl
    ctx.parent = ctx.root
    if tree:  # a layer declared longer than what was captured is shown up to the end of the bytes
        for node in ctx.root.walk():
            if node.offset > caplen:
                node.offset, node.length = caplen, 0
            elif node.offset + node.length > caplen:
                node.length = caplen - node.offset
    info = ctx.info
    if ctx.malformed:  # appended with no separator, as Wireshark's column does
        info = f"{info}[Malformed Packet]"
    elif ctx.truncated and "Packet size limited" not in info:
        info = f"{info}[Packet size limited during capture]"
    ctx.info = info
    if not fields:
        return ctx
    if not tree:  # the engine's own names: plain stores (the rarer ones appended as Ctx.add would)
        f = ctx.fields
        f["frame.protocols"] = ":".join(ctx.protos)
        f["_ws.col.Protocol"] = ctx.proto
        f["_ws.col.Info"] = info
        for msg in ctx.expert:
            _put(f, "_ws.expert", msg)
        if ctx.malformed:
            _put(f, "_ws.malformed", ctx.malformed)
        if ctx.truncated:
            _put(f, "_ws.truncated", 1)
        return ctx
    ctx.add("frame.protocols", ":".join(ctx.protos), 0, 0, "Protocols in frame")
    ctx.add("_ws.col.Protocol", ctx.proto, 0, 0, "Protocol")
    ctx.add("_ws.col.Info", info, 0, 0, "Info")
    for msg in ctx.expert:
        ctx.add("_ws.expert", msg, 0, 0, "Expert Info", f"[Expert Info: {msg}]")
    if ctx.malformed:
        ctx.add("_ws.malformed", ctx.malformed, 0, 0, "Malformed", f"[{ctx.malformed}]")
    if ctx.truncated:
        ctx.add("_ws.truncated", 1, 0, 0, "Truncated", "[Packet size limited during capture]")
    return ctx


def _frame_fields(ctx: Ctx, frame: Frame, ts: int, wirelen: int, caplen: int) -> None:
    ctx.add("frame.interface_id", frame[4], 0, 0, "Interface id")
    if len(frame) > 6 and frame[6]:
        ctx.add("frame.interface_name", frame[6], 0, 0, "Interface name")
    if len(frame) > 5 and frame[5]:
        ctx.add(
            "frame.direction", frame[5], 0, 0, "Direction", f"Direction: {'in' if frame[5] == 1 else 'out'}"
        )
    if len(frame) > 7 and frame[7] is not None:
        ctx.add("frame.comment", frame[7], 0, 0, "Comment")
    ctx.add("frame.time_epoch", f"{ts // 1_000_000_000}.{ts % 1_000_000_000:09d}", 0, 0, "Epoch Time")
    ctx.add("frame.len", wirelen, 0, 0, "Frame Length", f"Frame Length: {wirelen} bytes")
    ctx.add("frame.cap_len", caplen, 0, 0, "Capture Length", f"Capture Length: {caplen} bytes")
    ctx.add("frame.linktype", frame[3], 0, 0, "Link type")
