"""frame_fields: one frame -> {Wireshark field name: value, or list of values in order of appearance}."""

from __future__ import annotations

from typing import Any

from sniffer.decode.engine import run
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
