"""Neutral types every layer shares: the Frame tuple, link-type and direction constants (imports nothing of ours)."""

from __future__ import annotations

from typing import NamedTuple

# Direction of a frame relative to the capturing host (pcapng epb_flags bits 0-1 use the same values).
DIR_UNKNOWN = 0
DIR_IN = 1
DIR_OUT = 2

# Link types (LINKTYPE_* from tcpdump.org/linktypes.html) that the decoder understands.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276


class Frame(NamedTuple):
    """One frame.

    ts_ns: capture time, nanoseconds since the Unix epoch (exact; pcap usec/nsec and pcapng
        if_tsresol are all converted to ns).
    data: the captured bytes (len(data) is frame.cap_len).
    wirelen: the length on the wire (frame.len), >= len(data).
    linktype: LINKTYPE_* of data.
    interface: pcapng interface id, or the ifindex for live capture; 0 when unknown.
    direction: DIR_UNKNOWN / DIR_IN / DIR_OUT.
    ifname: interface name when known (live capture, pcapng if_name), else "".
    comment: pcapng opt_comment of the packet, else None.
    """

    ts_ns: int
    data: bytes
    wirelen: int
    linktype: int
    interface: int = 0
    direction: int = DIR_UNKNOWN
    ifname: str = ""
    comment: str | None = None
