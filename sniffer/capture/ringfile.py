"""pcap / pcapng records built straight from TPACKET_V3 ring blocks: the `capture -w` path, no Frames.

`write_block` walks a block copied out of the ring (see ``afpacket.RxRing.blocks``) and appends one
record per packet to a writer's pending output, byte for byte what ``writer.write_batch(
parser.frames(block, count))`` writes, without building a Frame or a data copy per packet first:
per packet one header unpack, one record header (for nanosecond pcap on a little-endian host the ring
header's tp_sec, tp_nsec, tp_snaplen, tp_len *are* the pcap record header and are sliced out as they
are), the data slice and a cached tail; then one join per block. Cooked (``any``) and VLAN-tagged
packets go through ``afpacket.rebuild_packet`` as in ``BlockParser.frames``.
"""

from __future__ import annotations

import struct
import sys

from sniffer.capture.afpacket import (
    PACKET_OUTGOING,
    PKT_SHORT,
    TP_STATUS_VLAN_VALID,
    BlockParser,
    block_first_offset,
    rebuild_packet,
)
from sniffer.capture.pcapfile import BT_EPB, EPB_TAILS, PcapngWriter, PcapWriter, epb_tail
from sniffer.frame import DIR_IN, DIR_OUT, LINKTYPE_ETHERNET

_EPB = struct.Struct("<IIIIIII").pack
_PCAP_HDR = struct.Struct("<IIII").pack
_NO_LIMIT = 1 << 62
_LITTLE = sys.byteorder == "little"


def write_block(
    writer: PcapWriter | PcapngWriter,
    parser: BlockParser,
    block: bytes,
    count: int,
    *,
    skip: int = 0,
    max_packets: int | None = None,
    max_bytes: int | None = None,
) -> tuple[int, int, int]:
    """Queue the records of ring block ``block`` (``count`` packets) on ``writer`` (flushed by its buffer
    size or ``writer.flush()``), starting at packet ``skip`` of the block.

    Stops after ``max_packets`` records, or after the record that brings the bytes queued by this call
    to ``max_bytes`` or beyond (so -C puts the packet that crosses the size in the old file, as tcpdump).

    Returns:
        (records written, their bytes, index of the next packet of the block: ``count`` when done).
        Loopback's outgoing duplicates are skipped (as ``BlockParser.frames``) and not counted.
    """
    if skip >= count:
        return 0, 0, count
    limit = _NO_LIMIT if max_packets is None else max_packets
    budget = _NO_LIMIT if max_bytes is None else max_bytes
    if limit <= 0:
        return 0, 0, skip
    off = block_first_offset(block)
    unpack = PKT_SHORT.unpack_from
    for _ in range(skip):
        off += unpack(block, off)[0]
    if isinstance(writer, PcapngWriter):
        return _pcapng(writer, parser, block, count, skip, off, limit, budget)
    if parser.iface.linktype != writer.linktype:  # let the Frame path raise the one-link-type error
        frames = parser.frames(block, count)
        writer.write_batch(frames)
        return len(frames), 0, count
    return _pcap(writer, parser, block, count, skip, off, limit, budget)


def _pcapng(
    writer: PcapngWriter,
    parser: BlockParser,
    block: bytes,
    count: int,
    i: int,
    off: int,
    limit: int,
    budget: int,
) -> tuple[int, int, int]:
    unpack = PKT_SHORT.unpack_from
    view = memoryview(block)
    epb = _EPB
    tails = EPB_TAILS
    linktype = parser.iface.linktype
    cooked = parser.iface.cooked
    special = TP_STATUS_VLAN_VALID if linktype == LINKTYPE_ETHERNET else 0
    snaplen = parser.snaplen
    loopbacks = parser.loopbacks
    local_ids: dict[int, int] = {}
    parts: list[bytes | memoryview] = []
    extend = parts.extend
    lens: list[int] = []
    add_len = lens.append
    chunk = 0  # bytes in parts
    total = 0  # bytes of every record of this call
    written = 0
    while i < count:
        nxt, sec, nsec, caplen, wirelen, status, mac, ifindex, pkttype = unpack(block, off)
        if pkttype == PACKET_OUTGOING:
            if ifindex in loopbacks:  # loopback frames are seen twice (out and in); keep one
                off += nxt
                i += 1
                continue
            direction = DIR_OUT
        else:
            direction = DIR_IN
        data: bytes | memoryview
        if cooked or status & special:
            data, wirelen = rebuild_packet(block, off, cooked)
            caplen = len(data)
            if caplen > snaplen:
                data = data[:snaplen]
                caplen = snaplen
        else:
            if caplen > snaplen:
                caplen = snaplen
            start = off + mac
            data = view[start : start + caplen]
        local = local_ids.get(ifindex)
        if local is None:
            writer.add_records(parts, lens, chunk)  # an IDB must come before the packet
            parts, lens, chunk = [], [], 0
            extend = parts.extend
            add_len = lens.append
            local = local_ids[ifindex] = writer.interface_id(ifindex, linktype, parser.ifname(ifindex))
        cached = tails.get(caplen * 4 + direction)
        tail, blen = cached if cached is not None else epb_tail(caplen, direction)
        ts = sec * 1_000_000_000 + nsec
        extend(
            (
                epb(
                    BT_EPB,
                    blen,
                    local,
                    ts >> 32,
                    ts & 0xFFFFFFFF,
                    caplen,
                    wirelen if wirelen > caplen else caplen,
                ),
                data,
                tail,
            )
        )
        add_len(blen)
        chunk += blen
        total += blen
        written += 1
        off += nxt
        i += 1
        if written >= limit or total >= budget:
            break
    writer.add_records(parts, lens, chunk)
    return written, total, i


def _pcap(
    writer: PcapWriter,
    parser: BlockParser,
    block: bytes,
    count: int,
    i: int,
    off: int,
    limit: int,
    budget: int,
) -> tuple[int, int, int]:
    unpack = PKT_SHORT.unpack_from
    view = memoryview(block)
    hdr = _PCAP_HDR
    cooked = parser.iface.cooked
    special = TP_STATUS_VLAN_VALID if parser.iface.linktype == LINKTYPE_ETHERNET else 0
    snaplen = parser.snaplen
    loopbacks = parser.loopbacks
    nano = writer.nanosecond
    as_is = nano and _LITTLE  # the ring header's sec, nsec, snaplen, len are the record header
    parts: list[bytes | memoryview] = []
    extend = parts.extend
    lens: list[int] = []
    add_len = lens.append
    total = 0
    written = 0
    while i < count:
        nxt, sec, nsec, caplen, wirelen, status, mac, ifindex, pkttype = unpack(block, off)
        if pkttype == PACKET_OUTGOING and ifindex in loopbacks:
            off += nxt
            i += 1
            continue
        data: bytes | memoryview
        head: bytes | memoryview
        if cooked or status & special or caplen > snaplen or not as_is:
            if cooked or status & special:
                data, wirelen = rebuild_packet(block, off, cooked)
            else:
                start = off + mac
                data = block[start : start + caplen]
            if len(data) > snaplen:
                data = data[:snaplen]
            caplen = len(data)
            head = hdr(sec, nsec if nano else nsec // 1000, caplen, wirelen if wirelen > caplen else caplen)
        else:
            start = off + mac
            head = view[off + 4 : off + 20]
            data = view[start : start + caplen]
        extend((head, data))
        add_len(16 + caplen)
        total += 16 + caplen
        written += 1
        off += nxt
        i += 1
        if written >= limit or total >= budget:
            break
    writer.add_records(parts, lens, total)
    return written, total, i
