"""frame_fields: one frame -> {Wireshark field name: value, or list of values in order of appearance};
layer_fields and frame_protocols: the cheaper views a filter or a statistic asks for."""

from __future__ import annotations

from typing import Any

from sniffer.decode.engine import run
from sniffer.decode.summary import fast_protocols
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


def layer_fields(frame: Frame) -> dict[str, Any]:
    """The fields the protocol layers record (as in ``frame_fields``) plus ``frame.protocols``,
    ``frame.len`` and ``frame.cap_len``; none of the other ``frame.*`` and ``_ws.*`` fields (cheaper:
    what a display filter reads)."""
    ctx = run(frame, False, False)
    f = ctx.fields
    f["frame.protocols"] = ":".join(ctx.protos)
    caplen = len(frame[1])
    f["frame.len"] = frame[2] if frame[2] >= caplen else caplen
    f["frame.cap_len"] = caplen
    return f


def frame_protocols(frame: Frame) -> tuple[str, str]:
    """(``frame.protocols``, the ``_ws.malformed`` reason or "") without building the fields: from the
    summary's fast path when it takes the packet, else from a columns-only dissection."""
    p = fast_protocols(frame)
    if p is not None:
        return p, ""
    ctx = run(frame, False, False, True)
    return ":".join(ctx.protos), ctx.malformed
