"""The detail tree of one frame with the conversation state, as Wireshark shows it with its default
preferences: relative sequence numbers, the [SEQ/ACK analysis] subtree and its expert items, window
scaling, "[Reassembled PDU in frame: N]" on the segments of a PDU, the reassembled PDU decoded in the
frame that completes it (with its "[N Reassembled TCP Segments]" list) and the defragmented datagram in
the last fragment (with its fragment list).

``state_tree(root, st)`` takes the per-packet tree of ``decode.tree.dissect`` and a
``model.tcpcolumns.FrameState`` (the same analysis, reassembly and defragmentation that give the packet
list and ``read --analysis`` / ``--json`` their values) and changes the tree in place. A reassembled
PDU's fields keep offsets into this frame where its bytes are this frame's (the hex view highlights
them); bytes that came from earlier frames have none.
"""

from __future__ import annotations

from typing import Any

from sniffer.decode.core import Node
from sniffer.model.reassembly import DECODE, NOTE, SEGMENT, rebuild
from sniffer.model.tcpanalysis import (
    _PRINT,
    A_DUPLICATE_ACK,
    A_FAST_RETRANSMISSION,
    A_RETRANSMISSION,
    A_SPURIOUS_RETRANSMISSION,
    GROUP_NAMES,
    NO_SUBDISSECTOR,
    PI_SEQUENCE,
    SEVERITY_NAMES,
    TH_ACK,
)

__all__ = ["state_tree"]

_RETRANSMITTED = A_RETRANSMISSION | A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION


def _gen(field: str, text: str, value: Any = None, offset: int = 0) -> Node:
    """A generated item (Wireshark's "[...]" lines): no bytes of its own."""
    return Node(text.strip("[]").split(":")[0], field, value, text, offset, 0)


def _expert(msg: str, severity: int, group: int = PI_SEQUENCE) -> Node:
    sev = SEVERITY_NAMES.get(severity, str(severity))
    grp = GROUP_NAMES.get(group)
    if grp is None:
        from sniffer.model.expert import GROUP_NAMES as LAYER_GROUPS

        grp = LAYER_GROUPS.get(group, str(group))
    n = _gen("_ws.expert", f"[Expert Info ({sev}/{grp}): {msg}]")
    n.children = [
        _gen("_ws.expert.message", f"[{msg}]", msg),
        _gen("_ws.expert.severity", f"[Severity level: {sev}]", severity),
        _gen("_ws.expert.group", f"[Group: {grp}]", group),
    ]
    return n


def _secs(v: float) -> str:
    return f"{v:.9f} seconds"


def _find(layer: Node, field: str) -> tuple[Node, int] | None:
    """(parent, index) of the first node named ``field`` under ``layer``."""
    for parent in layer.walk():
        for i, c in enumerate(parent.children):
            if c.field == field:
                return parent, i
    return None


def _insert_after(layer: Node, fields: tuple[str, ...], nodes: list[Node]) -> None:
    """Put ``nodes`` after the first of ``fields`` found (else at the end of ``layer``)."""
    for f in fields:
        at = _find(layer, f)
        if at is not None:
            parent, i = at
            parent.children[i + 1 : i + 1] = nodes
            return
    layer.children.extend(nodes)


def _remap(node: Node, start: int, lead: int, here: int, own: int) -> None:
    """Offsets of a rebuilt frame's node (its payload from ``start``) onto this frame: payload bytes
    ``lead`` to ``lead + own`` are this frame's, from offset ``here``; the others are not in it."""
    for n in node.walk():
        off, ln = n.offset, n.length
        if off < start:
            continue
        a, b = max(off - start, lead), min(off - start + max(ln, 0), lead + own)
        if b > a or (ln == 0 and lead <= off - start <= lead + own):
            n.offset, n.length = here + a - lead, max(0, b - a)
        else:
            n.offset, n.length = -1, 0


def _hexdata(b: bytes) -> str:
    return b[:36].hex() + ("…" if len(b) > 36 else "")


def _ranges(parts: list[tuple[int, int, int]]) -> list[Node]:
    """[Frame: N, payload: a-b (n bytes)] lines of (frame, offset, length) parts."""
    return [
        _gen(
            "",
            f"[Frame: {n}, payload: {o}-{o + ln - 1} ({ln} byte{'s' if ln != 1 else ''})]",
            n,
        )
        for n, o, ln in parts
    ]


def _protocols(frame_layer: Node, value: str) -> None:
    for c in frame_layer.children:
        if c.field == "frame.protocols":
            c.value = value
            c.text = f"Protocols in frame: {value}"


def _layer_index(layers: list[Node], names: tuple[str, ...], last: bool = True) -> int:
    idx = [i for i, n in enumerate(layers) if n.field in names]
    if not idx:
        return -1
    return idx[-1] if last else idx[0]


def state_tree(root: Node, st: Any) -> Node:
    """``root`` (``decode.tree.dissect``'s tree of ``st.frame``) with the conversation state of
    ``st`` (a ``model.tcpcolumns.FrameState``), changed in place and returned."""
    from sniffer.decode.tree import dissect

    layers = root.children
    if not layers or layers[0].field != "frame":
        return root
    frame_layer = layers[0]
    frame = st.frame
    protocols = next((str(c.value) for c in frame_layer.children if c.field == "frame.protocols"), "")

    # IP defragmentation
    if st.fragment is not None:
        ipi = _layer_index(layers, ("ip", "ipv6"), last=False)
        if ipi >= 0:
            ip = layers[ipi]
            v6 = ip.field == "ipv6"
            name = "IPv6" if v6 else "IPv4"
            ipi = _ip_end(layers, ipi)
            del layers[ipi + 1 :]
            _drop_malformed(frame_layer)  # (the payload's verdict: it is decoded whole, or not at all)
            rb = st.rebuilt
            if rb is None:  # a fragment that completes nothing: its data (and where it was reassembled)
                if st.later:
                    ip.children.append(
                        _gen(
                            "ipv6.reassembled.in" if v6 else "ip.reassembled_in",
                            f"[Reassembled {name} in frame: {st.later}]",
                            st.later,
                        )
                    )
                start = max(
                    (
                        n.offset + n.length
                        for lay in layers[layers.index(ip) :]
                        for n in lay.walk()
                        if n.offset >= 0
                    ),
                    default=0,
                )
                total = _value(ip, "ipv6.plen")
                end = ip.offset + 40 + total if v6 and total is not None else len(frame.data)
                if not v6:
                    iplen = _value(ip, "ip.len")
                    end = ip.offset + iplen if isinstance(iplen, int) else len(frame.data)
                end = min(end, len(frame.data))
                if end > start:
                    data = Node("Data", "data", None, f"Data ({end - start} bytes)", start, end - start)
                    data.children = [
                        Node(
                            "Data",
                            "data.data",
                            frame.data[start:end].hex(),
                            f"Data: {_hexdata(frame.data[start:end])}",
                            start,
                            end - start,
                        ),
                        _gen("data.len", f"[Length: {end - start}]", end - start, start),
                    ]
                    layers.append(data)
                cut = protocols.split(":")
                key = "ipv6.fraghdr" if v6 else "ip"
                if key in cut:
                    protocols = ":".join([*cut[: cut.index(key) + 1], "data"])
                    _protocols(frame_layer, protocols)
            else:  # the last fragment: the datagram
                whole = rb.frame.data[rb.head :]
                total = len(whole)
                lst = Node(
                    f"{name} Fragments",
                    "ipv6.fragments" if v6 else "ip.fragments",
                    None,
                    f"[{len(rb.parts)} {name} Fragments ({total} bytes): "
                    + ", ".join(f"#{n}({ln})" for n, _, ln in rb.parts)
                    + "]",
                    0,
                    0,
                )
                pre = "ipv6" if v6 else "ip"
                lst.children = [
                    *(_set_field(n, f"{pre}.fragment") for n in _ranges(rb.parts)),
                    _gen(f"{pre}.fragment.count", f"[Fragment count: {len(rb.parts)}]", len(rb.parts)),
                    _gen(f"{pre}.reassembled.length", f"[Reassembled {name} length: {total}]", total),
                    _gen(
                        f"{pre}.reassembled.data",
                        f"[Reassembled {name} data: {_hexdata(whole)}]",
                        whole.hex(),
                    ),
                ]
                inner = dissect(rb.frame).children
                k = _layer_index(inner, ("ip", "ipv6"), last=False)
                tail = inner[_ip_end(inner, k) + 1 :] if k >= 0 else []
                for n in tail:
                    _remap(n, rb.head, rb.own_off, rb.here, rb.own_len)
                layers.append(lst)  # (Wireshark: inside IPv6's tree, after the Fragment header)
                layers.extend(tail)
                full = st.fragment.get("frame.protocols")
                if isinstance(full, str):
                    protocols = full
                    _protocols(frame_layer, protocols)
    extra = st.extra
    if extra is not None:
        ti = _layer_index(layers, ("tcp",))
        if ti >= 0:
            _tcp_layer(
                layers[ti], extra, st.later if st.verdict is not None and st.verdict.kind != NOTE else 0
            )
            protocols = _reassembly(layers, ti, frame_layer, protocols, st)
    _layer_experts(root, frame)
    # the list's columns
    proto = info = None
    for c in frame_layer.children:
        if c.field == "_ws.col.Protocol":
            proto = c
        elif c.field == "_ws.col.Info":
            info = c
    if proto is not None and info is not None:
        p, i = st.columns(str(proto.value), str(info.value))
        proto.value, proto.text = p, f"Protocol: {p}"
        info.value, info.text = i, f"Info: {i}"
    return root


#: where an expert item of another layer goes when no node carries its text (model.expert's protocols)
_EXPERT_AT = {
    "Ethernet": "eth.src",
    "IPv4": "ip.ttl",
    "IPv6": "ipv6.plen",
    "ICMP": "icmp.checksum",
    "IPv6 Routing": "ipv6.routing.type",
}


def _layer_experts(root: Node, frame: Any) -> None:
    """The expert items of the other layers (model.expert: TTL, checksums, HTTP's first lines, malformed
    packets...) under the item they are about, as Wireshark puts them."""
    from sniffer.model.expert import items

    found = items(root.to_fields(), frame)
    if not found:
        return
    nodes = list(root.walk())
    for msg, sev, group, protocol in found:
        target = next((n for n in nodes if n.text == msg and n.field != "_ws.expert"), None)
        if target is None:
            field = _EXPERT_AT.get(protocol)
            target = next((n for n in nodes if field and n.field == field), None)
        if target is None:
            target = root.children[-1]
        target.children.append(_expert(msg, sev, group))


def _drop_malformed(frame_layer: Node) -> None:
    """Forget the per-packet decode's malformed note (its payload is now decoded whole, or not at all)."""
    frame_layer.children = [c for c in frame_layer.children if c.field != "_ws.malformed"]


def _ip_end(layers: list[Node], i: int) -> int:
    """The last of the layers that make the IP header at ``i`` (IPv6: its extension headers)."""
    if layers[i].field == "ipv6":
        while i + 1 < len(layers) and layers[i + 1].field.startswith("ipv6."):
            i += 1
    return i


def _value(layer: Node, field: str) -> Any:
    for n in layer.walk():
        if n.field == field:
            return n.value
    return None


def _set_field(n: Node, field: str) -> Node:
    n.field = field
    return n


def _tcp_layer(t: Node, extra: dict[str, Any], later: int) -> None:
    """The TCP layer with its analysis (Wireshark's tcp tree with the default preferences)."""
    sp, dp, _seq, _ack, flags, _win, seglen = extra["_tcp.raw"]
    rseq, rack = extra["tcp.seq"], extra["tcp.ack"]
    t.text = f"Transmission Control Protocol, Src Port: {sp}, Dst Port: {dp}, Seq: {rseq}"
    if flags & TH_ACK:
        t.text += f", Ack: {rack}"
    t.text += f", Len: {seglen}"
    for n in t.walk():
        if n.field == "tcp.seq":
            n.value, n.text = rseq, f"Sequence Number: {rseq}    (relative sequence number)"
        elif n.field == "tcp.ack" and flags & TH_ACK:
            n.value, n.text = rack, f"Acknowledgment Number: {rack}    (relative ack number)"
    off = t.offset
    nxt = extra["tcp.nxtseq"]
    _insert_after(
        t,
        ("tcp.seq_raw", "tcp.seq"),
        [_gen("tcp.nxtseq", f"[Next Sequence Number: {nxt}    (relative sequence number)]", nxt, off)],
    )
    win = [
        _gen(
            "tcp.window_size",
            f"[Calculated window size: {extra['tcp.window_size']}]",
            extra["tcp.window_size"],
            off,
        )
    ]
    sf = extra.get("tcp.window_size_scalefactor")
    if sf is not None:
        text = {-1: "-1 (unknown)", -2: "-2 (no window scaling used)"}.get(sf, str(sf))
        win.append(_gen("tcp.window_size_scalefactor", f"[Window size scaling factor: {text}]", sf, off))
    _insert_after(t, ("tcp.window_size_value",), win)

    # the connection's expert items go under their flag (SYN, FIN, RST), D-SACK under the options
    msgs = extra.get("_ws.expert.message") or []
    sevs = extra.get("_ws.expert.severity") or []
    flagged = {m for _, _, _, ms in _PRINT for m, _ in ms} | {"Duplicate ACK"}
    for m, s in zip(msgs, sevs, strict=False):
        if m in flagged or m.startswith("Duplicate ACK"):
            continue
        where = (
            "tcp.flags.syn"
            if m.startswith("Connection establish")
            else "tcp.flags.fin"
            if "FIN" in m or "closing" in m
            else "tcp.flags.reset"
            if "RST" in m
            else "tcp.options.sack_le"
        )
        at = _find(t, where)
        node = at[0].children[at[1]] if at is not None else t
        node.children.append(_expert(m, s))

    ts = Node("Timestamps", "", None, "[Timestamps]", off, 0)
    ts.children = [
        _gen(
            "tcp.time_relative",
            f"[Time since first frame in this TCP stream: {_secs(extra['tcp.time_relative'])}]",
            extra["tcp.time_relative"],
            off,
        ),
        _gen(
            "tcp.time_delta",
            f"[Time since previous frame in this TCP stream: {_secs(extra['tcp.time_delta'])}]",
            extra["tcp.time_delta"],
            off,
        ),
    ]
    seqack = Node("SEQ/ACK analysis", "tcp.analysis", None, "[SEQ/ACK analysis]", off, 0)
    sa = seqack.children
    if "tcp.analysis.acks_frame" in extra:
        n = extra["tcp.analysis.acks_frame"]
        sa.append(_gen("tcp.analysis.acks_frame", f"[This is an ACK to the segment in frame: {n}]", n, off))
    for field, label in (
        ("tcp.analysis.ack_rtt", "The RTT to ACK the segment was"),
        ("tcp.analysis.initial_rtt", "iRTT"),
    ):
        if field in extra:
            sa.append(_gen(field, f"[{label}: {_secs(extra[field])}]", extra[field], off))
    for field, label in (
        ("tcp.analysis.bytes_in_flight", "Bytes in flight"),
        ("tcp.analysis.push_bytes_sent", "Bytes sent since last PSH flag"),
    ):
        if field in extra:
            sa.append(_gen(field, f"[{label}: {extra[field]}]", extra[field], off))
    af = extra.get("_tcp.flags", 0)
    if "tcp.analysis.flags" in extra:
        fl = _gen("tcp.analysis.flags", "[TCP Analysis Flags]", None, off)
        for bit, _name, _pre, ms in _PRINT:
            if not af & bit:
                continue
            if bit == A_DUPLICATE_ACK:
                fl.children.append(
                    _gen("tcp.analysis.duplicate_ack", "[This is a TCP duplicate ack]", None, off)
                )
                continue
            for m, sev in ms:
                fl.children.append(_expert(m, sev))
            if bit == A_RETRANSMISSION and "tcp.analysis.rto" in extra:
                rto = extra["tcp.analysis.rto"]
                fl.children.append(
                    _gen("tcp.analysis.rto", f"[The RTO for this segment was: {_secs(rto)}]", rto, off)
                )
                fr = extra["tcp.analysis.rto_frame"]
                fl.children.append(
                    _gen("tcp.analysis.rto_frame", f"[RTO based on delta from frame: {fr}]", fr, off)
                )
        sa.append(fl)
    if "tcp.analysis.duplicate_ack_num" in extra:
        num, fr = extra["tcp.analysis.duplicate_ack_num"], extra["tcp.analysis.duplicate_ack_frame"]
        sa.append(_gen("tcp.analysis.duplicate_ack_num", f"[Duplicate ACK #: {num}]", num, off))
        dup = _gen("tcp.analysis.duplicate_ack_frame", f"[Duplicate to the ACK in frame: {fr}]", fr, off)
        dup.children.append(_expert(f"Duplicate ACK (#{num})", 0x00400000))
        sa.append(dup)
    # Wireshark's order: ... Urgent Pointer, Options, [Timestamps], [SEQ/ACK analysis], TCP payload
    extra_nodes = [ts, *([seqack] if sa else [])]
    at = _find(t, "tcp.payload")
    if at is not None and at[0] is t:
        t.children[at[1] : at[1]] = extra_nodes
    else:
        t.children.extend(extra_nodes)


def _reassembly(layers: list[Node], ti: int, frame_layer: Node, protocols: str, st: Any) -> str:
    """The layers after TCP as reassembly leaves them; returns the frame's protocols."""
    t = layers[ti]
    extra = st.extra
    v = st.verdict
    seglen = extra["_tcp.raw"][6]
    at = _find(t, "tcp.payload")
    pl = t.children[at[1]] if at is not None and at[0] is t else None
    poff = pl.offset if pl is not None else t.offset + t.length
    head = protocols.split(":")
    if "tcp" in head:
        head = head[: len(head) - head[::-1].index("tcp")]
    own = extra["_tcp.flags"] & NO_SUBDISSECTOR
    if not seglen:
        return protocols
    nodes: list[Node] = []
    if st.later and (v is not None and v.kind in (SEGMENT, DECODE)):
        nodes.append(_gen("tcp.reassembled_in", f"[Reassembled PDU in frame: {st.later}]", st.later, poff))
    if own or (v is not None and v.kind in (SEGMENT, DECODE)):
        label = "Retransmitted TCP segment data" if own & _RETRANSMITTED else "TCP segment data"
        nodes.append(
            Node(
                "TCP segment data",
                "tcp.segment_data",
                None,
                f"{label} ({seglen} byte{'s' if seglen != 1 else ''})",
                poff,
                seglen,
            )
        )
    t.children.extend(nodes)
    if v is not None and v.kind == NOTE:
        from sniffer.model.reassembly import _PI_NOTE, DROPPED_NOTE, PI_REASSEMBLE

        t.children.append(_expert(DROPPED_NOTE, _PI_NOTE, PI_REASSEMBLE))
        return protocols
    if not own and (v is None or v.kind not in (SEGMENT, DECODE)):
        return protocols  # the per-packet payload stays
    del layers[ti + 1 :]
    _drop_malformed(frame_layer)
    if own or v is None or v.kind == SEGMENT:
        protocols = ":".join(head)
        _protocols(frame_layer, protocols)
        return protocols
    # the reassembled PDU (and the whole PDUs after it in this segment), decoded from the rebuilt frame
    from sniffer.decode.tree import dissect

    frame = st.frame
    inner = dissect(rebuild(frame, v.span, v.payload)).children
    k = _layer_index(inner, ("tcp",))
    tail = inner[k + 1 :] if k >= 0 else []
    start = v.span[2] + (frame.data[v.span[2] + 12] >> 4) * 4
    for n in tail:
        _remap(n, start, v.lead, v.here, len(v.payload) - v.lead)
    if v.frames:
        sizes, left, parts = v.sizes or (0,) * len(v.frames), v.pdu, []
        pos = 0
        for n, sz in zip(v.frames, sizes, strict=False):
            sz = min(sz, left)
            parts.append((n, pos, sz))
            pos += sz
            left -= sz
        seg = Node(
            "Reassembled TCP Segments",
            "tcp.segments",
            None,
            f"[{len(v.frames)} Reassembled TCP Segments ({v.pdu} bytes): "
            + ", ".join(f"#{n}({sz})" for n, _, sz in parts)
            + "]",
            0,
            0,
        )
        seg.children = [
            *(_set_field(n, "tcp.segment") for n in _ranges(parts)),
            _gen("tcp.segment.count", f"[Segment count: {len(v.frames)}]", len(v.frames)),
            _gen("tcp.reassembled.length", f"[Reassembled TCP length: {v.pdu}]", v.pdu),
            _gen(
                "tcp.reassembled.data",
                f"[Reassembled TCP Data: {_hexdata(v.payload[: v.pdu])}]",
                v.payload[: v.pdu].hex(),
            ),
        ]
        layers.append(seg)
    layers.extend(tail)
    if tail:
        inner_protos = next((str(c.value) for c in inner[0].children if c.field == "frame.protocols"), "")
        parts2 = inner_protos.split(":")
        if "tcp" in parts2:
            rest = parts2[len(parts2) - parts2[::-1].index("tcp") :]
            protocols = ":".join(head + rest)
            _protocols(frame_layer, protocols)
    return protocols
