"""AF_PACKET sockets: a TPACKET_V3 memory-mapped receive ring, kernel statistics, and a raw sender."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import mmap
import os
import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sniffer.errors import CaptureError, PrivilegeError, SnifferError, needs_privilege
from sniffer.frame import (
    DIR_IN,
    DIR_OUT,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    Frame,
)

# <linux/if_ether.h>, <linux/if_packet.h>, <asm-generic/socket.h>
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
PACKET_TIMESTAMP = 17
PACKET_MR_PROMISC = 1
TPACKET_V3 = 2
SO_ATTACH_FILTER = 26

# sll_pkttype
PACKET_HOST = 0
PACKET_BROADCAST = 1
PACKET_MULTICAST = 2
PACKET_OTHERHOST = 3
PACKET_OUTGOING = 4

# block_status / tp_status bits
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1 << 0
TP_STATUS_LOSING = 1 << 2
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_BLK_TMO = 1 << 5
TP_STATUS_VLAN_TPID_VALID = 1 << 6

# ARPHRD_* (<linux/if_arp.h>)
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 0xFFFE

SIOCGIFNAME = 0x8910
SIOCGIFFLAGS = 0x8913
SIOCGIFHWADDR = 0x8927
IFF_UP = 0x1
ETH_P_8021Q = 0x8100

#: link types for devices captured with SOCK_RAW; any other device type is captured cooked (SLL2)
RAW_LINKTYPES = {
    ARPHRD_ETHER: LINKTYPE_ETHERNET,
    ARPHRD_LOOPBACK: LINKTYPE_ETHERNET,
    ARPHRD_NONE: LINKTYPE_RAW,
}

# struct tpacket_req3 { block_size, block_nr, frame_size, frame_nr, retire_blk_tov, sizeof_priv,
#                       feature_req_word; }  (all __u32)
_REQ3 = struct.Struct("=7I")
# struct tpacket_block_desc { __u32 version; __u32 offset_to_priv; struct tpacket_hdr_v1 {
#     __u32 block_status; __u32 num_pkts; __u32 offset_to_first_pkt; __u32 blk_len; ... } }
_BLOCK = struct.Struct("=4x4xIIII")
BLOCK_STATUS_OFFSET = 8
# struct tpacket3_hdr { __u32 tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status;
#     __u16 tp_mac, tp_net; struct tpacket_hdr_variant1 { __u32 tp_rxhash, tp_vlan_tci;
#     __u16 tp_vlan_tpid, tp_padding; }; __u8 tp_padding[8]; }   (48 bytes, TPACKET_ALIGNed)
# followed by struct sockaddr_ll { __u16 sll_family; __be16 sll_protocol; int sll_ifindex;
#     __u16 sll_hatype; __u8 sll_pkttype, sll_halen, sll_addr[8]; }
PKT_HDR = struct.Struct("=IIIIIIHH4xIH2x8x2s2siHBB8s")
#: the fields every packet needs: tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status,
#: tp_mac, sll_ifindex, sll_pkttype (the rest of PKT_HDR only for cooked and VLAN-tagged packets)
PKT_SHORT = struct.Struct("=IIIIIIH26xi2xB")
# struct tpacket_stats_v3 { __u32 tp_packets, tp_drops, tp_freeze_q_cnt; }
_STATS3 = struct.Struct("=III")
# struct packet_mreq { int mr_ifindex; unsigned short mr_type, mr_alen; unsigned char mr_address[8]; }
_MREQ = struct.Struct("=iHH8s")

DEFAULT_SNAPLEN = 262144


@dataclass(frozen=True)
class RingConfig:
    """Geometry of the TPACKET_V3 receive ring.

    The kernel fills one block at a time and hands it over when it is full or ``block_timeout_ms``
    after its first packet, so at low rates packets arrive within ~one timeout. Many small blocks
    (rather than a few huge ones) keep a stall from dropping at moderate rates, where blocks retire
    by timeout only partly filled: 256 blocks x 20 ms ride out a 5 s stall at any rate that does not
    fill a block in 20 ms. Default: 256 blocks x 256 KiB = 64 MiB (tcpdump -B 65536), 20 ms.
    """

    block_size: int = 1 << 18
    block_count: int = 256
    block_timeout_ms: int = 20

    def __post_init__(self) -> None:
        if self.block_size < mmap.PAGESIZE or self.block_size & (self.block_size - 1):
            raise CaptureError(f"ring block size must be a power of two >= {mmap.PAGESIZE}")
        if self.block_count < 2:
            raise CaptureError("the ring needs at least 2 blocks")
        if not 1 <= self.block_timeout_ms <= 60000:
            raise CaptureError("ring block timeout must be 1..60000 ms")

    @property
    def size(self) -> int:
        return self.block_size * self.block_count


@dataclass(frozen=True)
class KernelStats:
    """PACKET_STATISTICS totals: ``received`` counts every packet that passed the filter (drops included)."""

    received: int = 0
    dropped: int = 0
    freeze_queue: int = 0

    def __add__(self, other: KernelStats) -> KernelStats:
        return KernelStats(
            self.received + other.received,
            self.dropped + other.dropped,
            self.freeze_queue + other.freeze_queue,
        )


@dataclass(frozen=True)
class Interface:
    """An interface being captured on: kernel index, name, ARPHRD type and the link type we record."""

    index: int
    name: str
    arphrd: int
    linktype: int
    cooked: bool


def interface_arphrd(name: str) -> int:
    """ARPHRD_* type of interface ``name`` in the calling thread's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16s24x", name.encode()[:15])
        try:
            res = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, ifr)
        except OSError as exc:
            raise _no_such_interface(name, exc) from None
    return int(struct.unpack_from("=H", res, 16)[0])


def _no_such_interface(name: str, exc: OSError) -> SnifferError:
    if exc.errno in (None, errno.ENODEV, errno.ENXIO):
        return CaptureError(f"no such interface {name!r} (see 'sniffer interfaces')")
    return CaptureError(f"interface {name!r}: {exc.strerror or exc}")


def interface_state(sock: socket.socket, index: int) -> tuple[str, bool] | None:
    """(name, is up) of interface ``index`` in the namespace of ``sock``, or None if it is gone.

    Uses ioctls on an existing socket, so it works after privileges were dropped and from any thread.
    """
    try:
        res = fcntl.ioctl(sock.fileno(), SIOCGIFNAME, struct.pack("16si20x", b"", index))
        name = res[:16].split(b"\0", 1)[0]
        flags = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, struct.pack("16s24x", name))
    except OSError:
        return None
    return name.decode(), bool(struct.unpack_from("=H", flags, 16)[0] & IFF_UP)


def lookup_interface(name: str) -> Interface:
    """Resolve ``name`` ("any" for all interfaces) in the calling thread's network namespace."""
    if name == "any":
        return Interface(0, "any", 0, LINKTYPE_LINUX_SLL2, True)
    try:
        index = socket.if_nametoindex(name)
    except OSError as exc:
        raise _no_such_interface(name, exc) from None
    arphrd = interface_arphrd(name)
    linktype = RAW_LINKTYPES.get(arphrd)
    if linktype is None:
        return Interface(index, name, arphrd, LINKTYPE_LINUX_SLL2, True)
    return Interface(index, name, arphrd, linktype, False)


def interface_names() -> dict[int, str]:
    """ifindex -> name for every interface of the calling thread's network namespace."""
    return {idx: name for idx, name in socket.if_nameindex()}


def _bind(sock: socket.socket, ifindex: int, protocol: int) -> None:
    """bind(2) an AF_PACKET socket by interface index (0 = every interface; Python's bind needs a name)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    addr = (
        struct.pack("=H", socket.AF_PACKET)
        + struct.pack(">H", protocol)
        + struct.pack("=iHBB8x", ifindex, 0, 0, 0)
    )
    buf = ctypes.create_string_buffer(addr, len(addr))
    if _libc.bind(sock.fileno(), buf, len(addr)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


_libc: ctypes.CDLL | None = None


class RxRing:
    """One AF_PACKET socket bound to one interface (or all: ``any``) with a TPACKET_V3 RX ring.

    The socket is opened with protocol 0 (receives nothing), a drop-all filter is attached, then it is
    bound with ETH_P_ALL: no packet slips in before the real filter (see ``set_filter``). Interfaces
    with an Ethernet-like header (Ethernet, veth, loopback) are captured raw; ``any`` and other
    device types are captured cooked (SOCK_DGRAM) and given a LINUX_SLL2 header when parsed.
    """

    def __init__(self, iface: Interface, *, promisc: bool = True, ring: RingConfig | None = None) -> None:
        from sniffer.capture import bpf

        self.iface = iface
        self.ring = ring or RingConfig()
        self.promisc = promisc
        self._block = 0
        self._mm: mmap.mmap | None = None
        kind = socket.SOCK_DGRAM if iface.cooked else socket.SOCK_RAW
        try:
            self.sock = socket.socket(socket.AF_PACKET, kind, 0)
        except PermissionError as exc:
            raise needs_privilege(exc, f"capturing on {iface.name}") from None
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            r = self.ring
            req = _REQ3.pack(r.block_size, r.block_count, 2048, r.size // 2048, r.block_timeout_ms, 0, 0)
            try:
                self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            except OSError as exc:
                raise CaptureError(
                    f"cannot set up a {r.size >> 20} MiB capture ring on {iface.name}: {exc.strerror}; "
                    "try a smaller buffer (-B KiB)"
                ) from None
            self._mm = mmap.mmap(
                self.sock.fileno(), r.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
            )
            bpf.attach_filter(self.sock, bpf.DROP_ALL)
            try:
                _bind(self.sock, iface.index, ETH_P_ALL)
            except OSError as exc:
                if exc.errno in (errno.ENODEV, errno.ENXIO, errno.ENETDOWN):
                    raise CaptureError(
                        f"interface {iface.name!r} is gone or not up: {exc.strerror}"
                    ) from None
                raise needs_privilege(exc, f"binding to {iface.name}") from None
            if iface.index != 0:
                state = interface_state(self.sock, iface.index)
                if state is None:
                    raise CaptureError(f"no such interface {iface.name!r} (see 'sniffer interfaces')")
                if not state[1]:
                    raise CaptureError(
                        f"interface {iface.name!r} is down; bring it up first ('ip link set {iface.name} up')"
                    )
                self.socket_error()  # clear a stale error from the bind
            if promisc and iface.index != 0:
                mreq = _MREQ.pack(iface.index, PACKET_MR_PROMISC, 0, b"")
                try:
                    self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
                except OSError as exc:
                    raise needs_privilege(exc, f"promiscuous mode on {iface.name}", "CAP_NET_ADMIN") from None
        except BaseException:
            self.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def set_filter(self, program: Sequence[tuple[int, int, int, int]]) -> None:
        """Attach ``program`` like libpcap: drop-all filter, drain the ring, then the real filter."""
        from sniffer.capture import bpf

        bpf.attach_filter(self.sock, bpf.DROP_ALL)
        for _ in self.blocks():
            pass
        self.read_stats()  # restart the counters: what came before the filter does not count
        bpf.attach_filter(self.sock, program)

    def blocks(self) -> Iterator[tuple[int, bytes]]:
        """Yield (packet count, block bytes) for each block the kernel has handed over, returning each
        block to the kernel as soon as it has been copied out."""
        mm = self._mm
        if mm is None:
            return
        bs, n = self.ring.block_size, self.ring.block_count
        unpack = _BLOCK.unpack_from
        while True:
            base = self._block * bs
            status, num, _first, blen = unpack(mm, base)
            if not status & TP_STATUS_USER:
                return
            data = mm[base : base + blen]
            mm[base + BLOCK_STATUS_OFFSET : base + BLOCK_STATUS_OFFSET + 4] = b"\0\0\0\0"
            self._block = (self._block + 1) % n
            yield num, data

    def pending_in_current_block(self) -> int:
        """Packets already in the block the kernel is filling (retired at the next block timeout)."""
        if self._mm is None:
            return 0
        _status, num, _f, _l = _BLOCK.unpack_from(self._mm, self._block * self.ring.block_size)
        return int(num)

    def read_stats(self) -> KernelStats:
        """PACKET_STATISTICS since the previous call (the kernel resets its counters on each read)."""
        try:
            raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS3.size)
        except OSError:
            return KernelStats()
        return KernelStats(*_STATS3.unpack(raw))

    @property
    def closed(self) -> bool:
        return self.sock.fileno() < 0

    def socket_error(self) -> int:
        return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def close(self) -> None:
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:
                pass
            self._mm = None
        self.sock.close()


def rebuild_packet(block: bytes, off: int, cooked: bool) -> tuple[bytes, int]:
    """(data, wire length) of the ring packet at ``off`` of ``block`` when its bytes are not the ring's
    as they are: a cooked socket's packet gets a LINUX_SLL2 header, a VLAN tag the kernel stripped
    (TP_STATUS_VLAN_VALID) is put back. Before the snap length cut."""
    (_nxt, _sec, _nsec, caplen, wirelen, status, mac, _net, tci, tpid, _fam, proto, ifindex, hatype,
     pkttype, halen, addr) = PKT_HDR.unpack_from(block, off)  # fmt: skip
    start = off + mac
    if cooked:
        head = proto + b"\0\0" + struct.pack(">iHBB", ifindex, hatype, pkttype, halen) + addr
        return head + block[start : start + caplen], wirelen + 20
    if status & TP_STATUS_VLAN_VALID:
        tag = struct.pack(">HH", tpid if status & TP_STATUS_VLAN_TPID_VALID else ETH_P_8021Q, tci)
        return block[start : start + 12] + tag + block[start + 12 : start + caplen], wirelen + 4
    return block[start : start + caplen], wirelen


def block_first_offset(block: bytes) -> int:
    """Offset of the first packet in a copied ring block (tpacket_hdr_v1.offset_to_first_pkt)."""
    return int(_BLOCK.unpack_from(block, 0)[2])


class BlockParser:
    """Turn copied ring blocks into Frames (runs on the consumer side, never in the capture loop)."""

    def __init__(
        self, iface: Interface, snaplen: int, names: dict[int, str] | None = None, netns: str | None = None
    ) -> None:
        self.iface = iface
        self.snaplen = snaplen
        self.names = names if names is not None else {}
        self.netns = netns
        self.loopbacks: set[int] = set()
        if iface.arphrd == ARPHRD_LOOPBACK:
            self.loopbacks.add(iface.index)

    def frames(self, block: bytes, count: int) -> list[Frame]:
        out: list[Frame] = []
        append = out.append
        unpack = PKT_SHORT.unpack_from
        iface = self.iface
        cooked = iface.cooked
        linktype = iface.linktype
        snaplen = self.snaplen
        names = self.names
        loopbacks = self.loopbacks
        fixed_name = iface.name if iface.index else ""
        off = _BLOCK.unpack_from(block, 0)[2]
        new = tuple.__new__
        for _ in range(count):
            nxt, sec, nsec, caplen, wirelen, status, mac, ifindex, pkttype = unpack(block, off)
            if pkttype == PACKET_OUTGOING and ifindex in loopbacks:
                off += nxt
                continue  # loopback frames are seen twice (out and in); keep one, like libpcap
            start = off + mac
            if cooked or (status & TP_STATUS_VLAN_VALID and linktype == LINKTYPE_ETHERNET):
                data, wirelen = rebuild_packet(block, off, cooked)
            else:
                data = block[start : start + caplen]
            if len(data) > snaplen:
                data = data[:snaplen]
            name = fixed_name or names.get(ifindex) or self._name(ifindex)
            direction = DIR_OUT if pkttype == PACKET_OUTGOING else DIR_IN
            # tuple.__new__ skips NamedTuple's keyword handling: same Frame, ~2x cheaper
            append(
                new(
                    Frame,
                    (sec * 1_000_000_000 + nsec, data, wirelen, linktype, ifindex, direction, name, None),
                )
            )
            off += nxt
        return out

    def ifname(self, ifindex: int) -> str:
        """Name of the interface a packet of this parser's ring came from."""
        if self.iface.index:
            return self.iface.name
        return self.names.get(ifindex) or self._name(ifindex)

    def _name(self, ifindex: int) -> str:
        from sniffer.netns import netns

        try:
            with netns(self.netns):
                name = socket.if_indextoname(ifindex)
        except (OSError, SnifferError):
            name = f"if{ifindex}"
        self.names[ifindex] = name
        return name


class PacketSender:
    """Send whole link-layer frames on one interface (for replay and tests): AF_PACKET SOCK_RAW."""

    def __init__(self, ifname: str) -> None:
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError as exc:
            raise needs_privilege(exc, f"sending on {ifname}") from None
        try:
            self.sock.bind((ifname, 0))
        except OSError as exc:
            self.sock.close()
            raise _no_such_interface(ifname, exc) from None
        self.ifname = ifname

    def send(self, frame: bytes) -> int:
        try:
            return self.sock.send(frame)
        except PermissionError as exc:
            raise PrivilegeError(f"sending on {self.ifname}") from exc
        except OSError as exc:
            raise CaptureError(f"sending on {self.ifname}: {exc.strerror or exc}") from None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> PacketSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
