"""pcap and pcapng: streaming readers (validated like libpcap) and crash-safe writers.

Contract other layers rely on:
  open_capture(source) -> CaptureReader  # source: path, "-" (stdin), or a binary file object
  CaptureReader: iterable of Frame; .format ("pcap"|"pcapng"); .linktype; .interfaces; .close();
                 context manager; .iter_with_offsets() -> (record_offset, Frame);
                 .frame_at(record_offset) (seekable files)
  Errors: PcapFormatError(message, offset) raised after every good frame before the damage was yielded.
  open_writer(path_or_fileobj, format="pcapng"|"pcap", linktype=..., snaplen=..., interfaces=...)
                 -> writer with .write(frame), .flush(), .close(); files created 0600.

Reading is streaming: the file is read in large chunks (1 MiB) and records are sliced out of the
chunk, so memory stays flat for files of any size and pipes/FIFOs/stdin work (records are handed
out as soon as they are complete). Error messages are libpcap's (sf-pcap.c, sf-pcapng.c) where
libpcap has one. Deliberate differences from libpcap, all following the pcapng spec and Wireshark:
several link types and snapshot lengths per file, sections of different byte order, and packets
longer than the file's snaplen (but within the link type's maximum) kept whole.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
import struct
import sys
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, BinaryIO, NamedTuple

from sniffer.errors import OutputError, PcapFormatError, SnifferError
from sniffer.frame import DIR_IN, DIR_OUT, DIR_UNKNOWN, Frame

CHUNK = 1 << 16  # bytes per read: below malloc's mmap threshold, so buffers are reused (see docs)

# classic pcap (pcap/pcap.h, sf-pcap.c)
TCPDUMP_MAGIC = 0xA1B2C3D4
NSEC_TCPDUMP_MAGIC = 0xA1B23C4D
KUZNETZOV_TCPDUMP_MAGIC = 0xA1B2CD34  # patched libpcap (Red Hat 6.x): 24-byte record headers
_PCAP_MAGICS = (TCPDUMP_MAGIC, NSEC_TCPDUMP_MAGIC, KUZNETZOV_TCPDUMP_MAGIC)
PCAP_VERSION_MAJOR = 2
PCAP_VERSION_MINOR = 4
MAXIMUM_SNAPLEN = 262144  # libpcap's sane maximum for almost every link type
_INT_MAX = 0x7FFFFFFF
# max_snaplen_for_dlt(): DBUS, EBHSCR, USBPCAP have bigger maxima (same numbers as LINKTYPE_*)
_MAX_SNAPLEN_FOR_LT = {231: 128 * 1024 * 1024, 279: 8 * 1024 * 1024, 249: 1024 * 1024}

# pcapng (sf-pcapng.c, draft-ietf-opsawg-pcapng)
BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_PB = 0x00000002  # obsolete Packet Block
BT_SPB = 0x00000003
BT_NRB = 0x00000004
BT_ISB = 0x00000005
BT_EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
BT_SHB_INSANE_MAX = 1024 * 1024
INITIAL_MAX_BLOCKSIZE = 16 * 1024 * 1024
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_HARDWARE = 2
SHB_OS = 3
SHB_USERAPPL = 4
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9
IF_TSOFFSET = 14
EPB_FLAGS = 2

_NS = 1_000_000_000


def _max_snaplen(linktype: int) -> int:
    return _MAX_SNAPLEN_FOR_LT.get(linktype, MAXIMUM_SNAPLEN)


def _adjust_snapshot(linktype: int, snaplen: int) -> int:
    """libpcap's pcapint_adjust_snapshot(): 0 or > INT_MAX means the link type's maximum."""
    if snaplen == 0 or snaplen > _INT_MAX:
        return _max_snaplen(linktype)
    return snaplen


def _max_blocksize_for(linktype: int) -> int:
    # MAX_BLOCKSIZE_FOR_SNAPLEN: an EPB with a max-snaplen packet and 128 KiB of options
    return 8 + 20 + _max_snaplen(linktype) + 131072 + 4


class Interface(NamedTuple):
    """One capture interface: the pcap file's single one, or a pcapng IDB.

    id: index in CaptureReader.interfaces (Frame.interface); unique across pcapng sections.
    linktype: LINKTYPE_* (low 16 bits of the pcap link-type field).
    snaplen: the snapshot length as written in the file.
    name / description: pcapng if_name / if_description ("" when absent).
    tsresol: timestamp ticks per second (10**6 for usec pcap, 10**9 for nsec).
    tsoffset: pcapng if_tsoffset in seconds (0 when absent).
    section: index of the pcapng section (0 for pcap); local_id: the IDB's id inside its section.
    offset: byte offset of the IDB (24-byte header of a pcap file: 0).
    """

    id: int
    linktype: int
    snaplen: int
    name: str = ""
    description: str = ""
    tsresol: int = 1_000_000
    tsoffset: int = 0
    section: int = 0
    local_id: int = 0
    offset: int = 0


class Section(NamedTuple):
    """A pcapng Section Header Block: byte order, version, SHB options, its interfaces (global ids)."""

    number: int
    offset: int
    endian: str
    version: tuple[int, int]
    hardware: str
    os: str
    userappl: str
    comment: str | None
    interfaces: list[int]


_HH = {e: struct.Struct(e + "HH").unpack_from for e in "<>"}
_II = {e: struct.Struct(e + "II").unpack_from for e in "<>"}
_I = {e: struct.Struct(e + "I").unpack_from for e in "<>"}


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace").rstrip("\x00")


@functools.lru_cache(maxsize=256)  # one converter per (resolution, offset): 100k alike IDBs share one
def _ts_converter(tsresol_opt: int | None, tsoffset: int) -> tuple[int, Callable[[int], int]]:
    """(ticks per second, ticks -> ns since epoch) for an if_tsresol byte (None: default usec)."""
    off = tsoffset * _NS
    if tsresol_opt is None:
        tsresol_opt = 6
    if tsresol_opt & 0x80:
        k = tsresol_opt & 0x7F
        mask = (1 << k) - 1

        def conv_bin(t: int) -> int:
            return ((t >> k) * _NS + off) + (((t & mask) * _NS) >> k)

        return 1 << k, conv_bin
    res = 10**tsresol_opt
    if tsresol_opt <= 9:
        mul = 10 ** (9 - tsresol_opt)
        return res, lambda t: t * mul + off
    div = 10 ** (tsresol_opt - 9)
    return res, lambda t: (t // res) * _NS + off + (t % res) // div


class _IdbInfo(NamedTuple):
    """What an Interface Description Block says (PcapngReader._parse_idb)."""

    linktype: int
    snaplen: int
    name: str
    description: str
    tsresol: int
    tsoffset: int
    snapshot: int
    mul: int
    conv: Callable[[int], int]
    maxblock: int


class _IfState(NamedTuple):
    """Hot-loop view of an interface: what an EPB needs."""

    gid: int
    linktype: int
    snapshot: int
    mul: int  # ns per tick when the resolution is 10^-k with k <= 9, else 0 (use conv)
    off: int  # if_tsoffset in ns
    name: str
    conv: Callable[[int], int]


class CaptureReader:
    """A streaming reader of one pcap or pcapng file (see the module docstring).

    Iterate it (once) for Frames, or call iter_with_offsets() for (record offset, Frame).
    """

    format: str = ""

    def __init__(self, f: BinaryIO, close: bool, name: str) -> None:
        self._f = f
        self._close = close
        self.name = name
        read1 = getattr(f, "read1", None)
        self._read: Callable[[int], bytes] = read1 if read1 is not None else f.read
        self._buf = b""
        self._pos = 0
        self._base = 0  # file offset of self._buf[0]
        self._eof = False
        self.interfaces: list[Interface] = []
        self.linktype: int | None = None
        self.snaplen: int = 0
        self._lock = threading.RLock()
        self._fd: int | None = None
        self._seekable = False
        try:
            fd = f.fileno()
            if stat.S_ISREG(os.fstat(fd).st_mode):
                self._fd = fd
                self._seekable = True
        except (AttributeError, OSError, ValueError):
            try:
                self._seekable = bool(f.seekable())
            except (AttributeError, OSError, ValueError):
                self._seekable = False

    # -- buffer management -------------------------------------------------------------------------
    def _fill(self, need: int) -> bool:
        """Make at least `need` bytes available at self._pos; False at EOF with fewer."""
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail >= need:
            return True
        parts = [buf[pos:]] if avail else []
        self._base += pos
        read = self._read
        while avail < need and not self._eof:
            try:
                chunk = read(max(CHUNK, need - avail))
            except OSError as e:
                self._buf = b"".join(parts)
                self._pos = 0
                raise PcapFormatError(
                    f"error reading dump file: {e.strerror or e}", self._base + avail
                ) from e
            if chunk is None:  # non-blocking file object with nothing ready
                continue
            if not chunk:
                self._eof = True
                break
            parts.append(chunk)
            avail += len(chunk)
        self._buf = parts[0] if len(parts) == 1 else b"".join(parts)
        self._pos = 0
        return avail >= need

    def _take(self, n: int) -> bytes:
        """Up to n bytes (fewer only at EOF), consumed."""
        self._fill(n)
        b = self._buf[self._pos : self._pos + n]
        self._pos += len(b)
        return b

    def _pread(self, offset: int, n: int) -> bytes:
        if self._fd is not None:
            return os.pread(self._fd, n, offset)
        if not self._seekable:
            raise PcapFormatError(f"{self.name}: random access needs a seekable file, not a pipe", offset)
        with self._lock:
            f = self._f
            here = f.tell()
            try:
                f.seek(offset)
                return f.read(n)
            finally:
                f.seek(here)

    # -- raw access: a scan loop that walks records in the read buffer itself (decode.summary.iter_text)
    def raw_layout(self) -> RawLayout | None:
        """How records look for a loop that walks the read buffer itself; None: iterate Frames."""
        return None

    def raw_buffer(self) -> tuple[bytes, int]:
        """The read buffer and the offset in it of the next record. A loop walks the whole records that
        follow (see RawLayout), then calls raw_next() at the first one it does not take."""
        return self._buf, self._pos

    def raw_next(self, pos: int) -> Frame | None:
        """Consume the buffer up to ``pos`` (the end of the last record walked), then read the next packet
        the general way: refilling the buffer, raising PcapFormatError on damage; None at the end."""
        raise NotImplementedError

    # -- public API ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        return self._records(False)

    def iter_with_offsets(self) -> Iterator[tuple[int, Frame]]:
        """(byte offset of the record, Frame) for every packet; frame_at(offset) finds it again."""
        return self._records(True)

    def _records(self, with_offsets: bool) -> Iterator[Any]:
        raise NotImplementedError

    def frame_at(self, offset: int) -> Frame:
        """The packet record starting at `offset` (from iter_with_offsets), read on demand."""
        raise NotImplementedError

    def close(self) -> None:
        if self._close:
            self._f.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RawLayout(NamedTuple):
    """How a raw scan loop walks the records in a reader's buffer: plain classic pcap records (16-byte
    headers), or pcapng Enhanced Packet Blocks of the current section."""

    endian: str  # "<" or ">": of the record headers
    nanosecond: bool  # the fraction field counts ns (else us)
    linktype: int
    maxcap: int  # a larger caplen is damage: leave it to raw_next() (it raises libpcap's message)
    pcapng: bool = False  # pcapng: walk EPBs of the current section instead (see PcapngReader.raw_section)


class PcapReader(CaptureReader):
    """Classic pcap: both byte orders, usec/nsec, versions 2.0-2.4 and 543.0, Kuznetzov headers."""

    format = "pcap"

    def __init__(self, f: BinaryIO, close: bool, name: str, magic: bytes) -> None:
        super().__init__(f, close, name)
        self._base = 4
        (m,) = struct.unpack("<I", magic)
        endian = "<"
        if m not in _PCAP_MAGICS:
            (m,) = struct.unpack(">I", magic)
            endian = ">"
        self.endian = endian
        self.magic = m
        rest = self._take(20)
        if len(rest) < 20:
            raise PcapFormatError(
                f"truncated dump file; tried to read 24 file header bytes, only got {len(rest)}",
                4 + len(rest),
            )
        vmaj, vmin, thiszone, _sigfigs, snaplen, lt = struct.unpack(endian + "HHiIII", rest)
        self.version = (vmaj, vmin)
        if not ((vmaj == PCAP_VERSION_MAJOR and vmin <= PCAP_VERSION_MINOR) or (vmaj == 543 and vmin == 0)):
            raise PcapFormatError(f"unsupported pcap savefile version {vmaj}.{vmin}", 4)
        if lt & 0x03FF0000:
            raise PcapFormatError(f"savefile linktype reserved field not zero (0x{lt & 0x03FF0000:08x})", 20)
        self.linktype = lt & 0xFFFF
        #: FCS bytes at the end of every packet when the link-type field says so, else None
        self.fcs_len: int | None = ((lt >> 28) * 2) if lt & 0x04000000 else None
        self.snaplen = snaplen
        self.thiszone = thiszone
        self.nanosecond = m == NSEC_TCPDUMP_MAGIC
        snapshot = _adjust_snapshot(self.linktype, snaplen)
        self._hdrsize = 16
        if m == KUZNETZOV_TCPDUMP_MAGIC:
            self._hdrsize = 24
            if self.linktype == 1:
                snapshot = min(snapshot + 14, _INT_MAX)
        self._snapshot = snapshot
        if (vmaj == 2 and vmin < 3) or vmaj == 543:
            self._lenswap = 2  # always swapped
        elif vmaj == 2 and vmin == 3:
            self._lenswap = 1  # swapped when caplen > len
        else:
            self._lenswap = 0
        self.interfaces = [
            Interface(0, self.linktype, snaplen, tsresol=_NS if self.nanosecond else 1_000_000)
        ]

    def _check_caplen(self, caplen: int, offset: int) -> None:
        maxcap = _max_snaplen(self.linktype or 0)
        if caplen > maxcap:
            if caplen > self._snapshot:
                msg = f"invalid packet capture length {caplen}, bigger than snaplen of {self._snapshot}"
            else:
                msg = f"invalid packet capture length {caplen}, bigger than maximum of {maxcap}"
            raise PcapFormatError(msg, offset)

    def _records(self, with_offsets: bool) -> Iterator[Any]:
        if self._hdrsize != 16 or self._lenswap:
            yield from self._records_rare(with_offsets)
            return
        unpack = struct.Struct(self.endian + "IIII").unpack_from
        new = tuple.__new__
        F = Frame
        lt = self.linktype
        mul = 1 if self.nanosecond else 1000
        maxcap = _max_snaplen(lt or 0)
        buf = self._buf
        pos = self._pos
        n = len(buf)
        while True:
            # hot loop: whole records in the buffer
            while n - pos >= 16:
                sec, frac, caplen, wirelen = unpack(buf, pos)
                end = pos + 16 + caplen
                if end > n or caplen > maxcap:
                    break
                fr = new(
                    F, (sec * 1_000_000_000 + frac * mul, buf[pos + 16 : end], wirelen, lt, 0, 0, "", None)
                )
                if with_offsets:
                    yield (self._base + pos, fr)
                else:
                    yield fr
                pos = end
            self._pos = pos
            got = self._next_record()
            if got is None:
                return
            off, fr = got
            yield (off, fr) if with_offsets else fr
            buf = self._buf
            pos = self._pos
            n = len(buf)

    def _records_rare(self, with_offsets: bool) -> Iterator[Any]:
        while True:
            got = self._next_record()
            if got is None:
                return
            yield got if with_offsets else got[1]

    def raw_layout(self) -> RawLayout | None:
        """Plain records: 16-byte headers, walked while header and data fit and caplen <= maxcap; None
        when records need the general path (Kuznetzov headers, swapped lengths)."""
        if self._hdrsize != 16 or self._lenswap:
            return None
        lt = self.linktype or 0
        return RawLayout(self.endian, self.nanosecond, lt, _max_snaplen(lt))

    def raw_next(self, pos: int) -> Frame | None:
        self._pos = pos
        got = self._next_record()
        return None if got is None else got[1]

    def _next_record(self) -> tuple[int, Frame] | None:
        """One record, refilling the buffer as needed (slow path, every pcap variant)."""
        hdrsize = self._hdrsize
        if not self._fill(hdrsize):
            got = len(self._buf) - self._pos
            if got == 0:
                return None
            raise PcapFormatError(
                f"truncated dump file; tried to read {hdrsize} header bytes, only got {got}",
                self._base + self._pos,
            )
        off = self._base + self._pos
        sec, frac, caplen, wirelen = struct.unpack_from(self.endian + "IIII", self._buf, self._pos)
        if self._lenswap and (self._lenswap == 2 or caplen > wirelen):
            caplen, wirelen = wirelen, caplen
        self._check_caplen(caplen, off)
        if not self._fill(hdrsize + caplen):
            got = len(self._buf) - self._pos - hdrsize
            raise PcapFormatError(
                f"truncated dump file; tried to read {caplen} captured bytes, only got {got}", off
            )
        buf = self._buf
        pos = self._pos
        direction = DIR_UNKNOWN
        if hdrsize == 24:
            direction = _SLL_DIRECTION.get(
                struct.unpack_from(self.endian + "iHB", buf, pos + 16)[2], DIR_UNKNOWN
            )
        mul = 1 if self.nanosecond else 1000
        data = buf[pos + hdrsize : pos + hdrsize + caplen]
        self._pos = pos + hdrsize + caplen
        return off, Frame(sec * 1_000_000_000 + frac * mul, data, wirelen, self.linktype or 0, 0, direction)

    def frame_at(self, offset: int) -> Frame:
        hdrsize = self._hdrsize
        h = self._pread(offset, hdrsize)
        if len(h) < hdrsize:
            raise PcapFormatError(
                f"truncated dump file; tried to read {hdrsize} header bytes, only got {len(h)}", offset
            )
        sec, frac, caplen, wirelen = struct.unpack_from(self.endian + "IIII", h)
        if self._lenswap and (self._lenswap == 2 or caplen > wirelen):
            caplen, wirelen = wirelen, caplen
        self._check_caplen(caplen, offset)
        data = self._pread(offset + hdrsize, caplen)
        if len(data) < caplen:
            raise PcapFormatError(
                f"truncated dump file; tried to read {caplen} captured bytes, only got {len(data)}", offset
            )
        direction = DIR_UNKNOWN
        if hdrsize == 24:
            direction = _SLL_DIRECTION.get(struct.unpack_from(self.endian + "iHB", h, 16)[2], DIR_UNKNOWN)
        mul = 1 if self.nanosecond else 1000
        return Frame(sec * 1_000_000_000 + frac * mul, data, wirelen, self.linktype or 0, 0, direction)


# Linux packet types (PACKET_HOST=0 ... PACKET_OUTGOING=4) -> direction
_SLL_DIRECTION = {0: DIR_IN, 1: DIR_IN, 2: DIR_IN, 3: DIR_IN, 4: DIR_OUT}


def _parse_options(b: bytes, start: int, end: int, e: str) -> Iterator[tuple[int, bytes]]:
    """Lenient option walk (libpcap does not parse SHB/EPB options): stops at anything malformed."""
    hh = struct.Struct(e + "HH").unpack_from
    p = start
    while end - p >= 4:
        code, olen = hh(b, p)
        p += 4
        if code == OPT_ENDOFOPT or olen > end - p:
            return
        yield code, b[p : p + olen]
        p += (olen + 3) & ~3


class PcapngReader(CaptureReader):
    """pcapng: SHB, IDB, EPB, SPB, obsolete PB; other blocks are skipped. Several sections,
    mixed byte order, if_tsresol (10^-k and 2^-k), if_tsoffset, per-interface link type/snaplen."""

    format = "pcapng"

    def __init__(self, f: BinaryIO, close: bool, name: str, magic: bytes) -> None:
        super().__init__(f, close, name)
        self._base = 4
        self.sections: list[Section] = []
        self._sec_offsets: list[int] = []
        self._sec_by_off: dict[int, Section] = {}
        self._idb_by_off: dict[int, Interface] = {}
        self._ifstate: list[_IfState] = []  # by global id
        # by section offset: the section's interfaces by local id, grown in place as IDBs come (the
        # streaming loop takes the list once per section, not once per block: 100k IDBs stay linear)
        self._sec_states: dict[int, list[_IfState]] = {}
        self._idb_cache: dict[tuple[str, bytes], _IdbInfo] = {}  # parsed IDBs by content (bounded)
        self._maxblock = INITIAL_MAX_BLOCKSIZE
        self._reg_upto = 0  # every SHB/IDB before this offset is registered
        # first SHB, checked like pcap_ng_check_header()
        head = self._take(8)
        if len(head) < 8:
            raise PcapFormatError("unknown file format", 0)
        if struct.unpack_from("<I", head, 4)[0] == BYTE_ORDER_MAGIC:
            e = "<"
        elif struct.unpack_from(">I", head, 4)[0] == BYTE_ORDER_MAGIC:
            e = ">"
        else:
            raise PcapFormatError("unknown file format", 0)
        (total,) = struct.unpack_from(e + "I", head, 0)
        if total < 28 or total > BT_SHB_INSANE_MAX:
            raise PcapFormatError(
                f"Section Header Block in pcapng dump file has invalid length {total} "
                f"(must be 28 to {BT_SHB_INSANE_MAX}, BT_SHB_INSANE_MAX)",
                4,
            )
        rest = self._take(total - 12)
        if len(rest) < total - 12:
            raise PcapFormatError(
                f"truncated pcapng dump file; tried to read {total - 12} bytes, only got {len(rest)}", 0
            )
        block = b"\x0a\x0d\x0d\x0a" + head + rest
        vmaj, vmin = struct.unpack_from(e + "HH", block, 12)
        if not (vmaj == 1 and vmin in (0, 2)):
            raise PcapFormatError(f"unsupported pcapng savefile version {vmaj}.{vmin}", 12)
        self._section = self._register_section(0, e, block)
        # look for the first IDB: packets before it are an error, other blocks are skipped
        while not self._section.interfaces:
            blk = self._read_block()
            if blk is None:
                raise PcapFormatError(
                    "the capture file has no Interface Description Blocks", self._base + self._pos
                )
            off, btype, block = blk
            if btype in (BT_EPB, BT_SPB, BT_PB):
                raise PcapFormatError(
                    "the capture file has a packet block before any Interface Description Blocks", off
                )
            self._handle_block(off, btype, block)
        first = self.interfaces[0]
        self.linktype = first.linktype
        self.snaplen = first.snaplen

    @property
    def endian(self) -> str:
        return self._section.endian

    # -- registration (shared by streaming and random access; idempotent by offset) ----------------
    def _register_section(self, offset: int, e: str, block: bytes) -> Section:
        with self._lock:
            sec = self._sec_by_off.get(offset)
            if sec is not None:
                return sec
            vmaj, vmin = struct.unpack_from(e + "HH", block, 12)
            opts = {1: None, 2: "", 3: "", 4: ""}
            for code, val in _parse_options(block, 24, len(block) - 4, e):
                if code in (1, 2, 3, 4) and not opts.get(code):
                    opts[code] = _text(val)
            sec = Section(
                len(self.sections),
                offset,
                e,
                (vmaj, vmin),
                opts[2] or "",
                opts[3] or "",
                opts[4] or "",
                opts[1],
                [],
            )
            i = bisect_right(self._sec_offsets, offset)
            self._sec_offsets.insert(i, offset)
            self.sections.insert(i, sec)
            self._sec_by_off[offset] = sec
            self._sec_states[offset] = []
            return sec

    @staticmethod
    def _parse_idb(offset: int, e: str, block: bytes) -> _IdbInfo:
        """An IDB's fields and options, checked like libpcap's (offset only for the messages)."""
        blen = len(block)
        if blen < 20:
            raise PcapFormatError("block of type 1 in pcapng dump file is too short", offset)
        lt, _reserved, snaplen = struct.unpack_from(e + "HHI", block, 8)
        tsresol_opt: int | None = None
        tsoffset = 0
        saw_off = False
        name = desc = ""
        hh = _HH[e]
        p = 16
        end = blen - 4
        while p != end:
            if end - p < 4:
                raise PcapFormatError("block of type 1 in pcapng dump file is too short", offset)
            code, olen = hh(block, p)
            p += 4
            padded = (olen + 3) & ~3
            if end - p < padded:
                raise PcapFormatError("block of type 1 in pcapng dump file is too short", offset)
            val = block[p : p + olen]
            p += padded
            if code == OPT_ENDOFOPT:
                if olen != 0:
                    raise PcapFormatError(
                        f"Interface Description Block has opt_endofopt option with length {olen} != 0",
                        offset,
                    )
                break
            if code == IF_TSRESOL:
                if olen != 1:
                    raise PcapFormatError(
                        f"Interface Description Block has if_tsresol option with length {olen} != 1",
                        offset,
                    )
                if tsresol_opt is not None:
                    raise PcapFormatError(
                        "Interface Description Block has more than one if_tsresol option", offset
                    )
                tsresol_opt = val[0]
                if tsresol_opt & 0x80 and tsresol_opt & 0x7F > 63:
                    raise PcapFormatError(
                        "Interface Description Block if_tsresol option resolution "
                        f"2^-{tsresol_opt & 0x7F} is too high",
                        offset,
                    )
                if not tsresol_opt & 0x80 and tsresol_opt > 19:
                    raise PcapFormatError(
                        f"Interface Description Block if_tsresol option resolution 10^-{tsresol_opt} is too high",
                        offset,
                    )
            elif code == IF_TSOFFSET:
                if olen != 8:
                    raise PcapFormatError(
                        f"Interface Description Block has if_tsoffset option with length {olen} != 8",
                        offset,
                    )
                if saw_off:
                    raise PcapFormatError(
                        "Interface Description Block has more than one if_tsoffset option", offset
                    )
                saw_off = True
                (tsoffset,) = struct.unpack(e + "q", val)
            elif code == IF_NAME and not name:
                name = _text(val)
            elif code == IF_DESCRIPTION and not desc:
                desc = _text(val)
        tsresol, conv = _ts_converter(tsresol_opt, tsoffset)
        mul = 0
        if tsresol_opt is None or (not tsresol_opt & 0x80 and tsresol_opt <= 9):
            mul = 10 ** (9 - (6 if tsresol_opt is None else tsresol_opt))
        snapshot = _adjust_snapshot(lt, snaplen)
        return _IdbInfo(
            lt, snaplen, name, desc, tsresol, tsoffset, snapshot, mul, conv, _max_blocksize_for(lt)
        )

    def _register_idb(self, offset: int, sec: Section, block: bytes) -> Interface:
        with self._lock:
            itf = self._idb_by_off.get(offset)
            if itf is not None:
                return itf
            e = sec.endian
            key = (e, block)
            info = self._idb_cache.get(key)
            if info is None:
                info = self._parse_idb(offset, e, block)
                if len(self._idb_cache) < 1024 and len(block) <= 512:  # 100k alike IDBs parse once
                    self._idb_cache[key] = info
            lt, snaplen, name, desc, tsresol, tsoffset, snapshot, mul, conv, maxblock = info
            gid = len(self.interfaces)
            new = tuple.__new__  # skips the NamedTuples' Python-level __new__ (hot with 100k IDBs)
            itf = new(
                Interface,
                (gid, lt, snaplen, name, desc, tsresol, tsoffset, sec.number, len(sec.interfaces), offset),
            )
            st = new(_IfState, (gid, lt, snapshot, mul, tsoffset * _NS, name, conv))
            self._ifstate.append(st)
            self._sec_states[sec.offset].append(st)
            self.interfaces.append(itf)
            sec.interfaces.append(gid)
            self._idb_by_off[offset] = itf
            if maxblock > self._maxblock:
                self._maxblock = maxblock
            return itf

    def _idb_run(self, pos: int) -> int:
        """Register the run of whole, valid IDBs at `pos` in the buffer (a file may hold 100k) without
        the general block path; sets and returns the position after them. Anything else stops the run
        and is left to _read_block(), which checks and reports it."""
        buf = self._buf
        n = len(buf)
        sec = self._section
        u2, u1 = _II[sec.endian], _I[sec.endian]
        start = pos
        while n - pos >= 20:
            btype, blen = u2(buf, pos)
            if btype != BT_IDB or blen & 3 or blen < 20 or blen > self._maxblock or pos + blen > n:
                break
            if u1(buf, pos + blen - 4)[0] != blen:
                break
            self._register_idb(self._base + pos, sec, buf[pos : pos + blen])
            pos += blen
        if pos != start:
            self._pos = pos
            with self._lock:
                self._reg_upto = max(self._reg_upto, self._base + pos)
        return pos

    # -- block reading (slow path: everything but complete EPBs in the current byte order) ---------
    def _read_block(self) -> tuple[int, int, bytes] | None:
        """Next whole block (offset, type, bytes with header and trailer in the section's byte order),
        validated like libpcap's read_block(); None at a clean EOF. Switches byte order at an SHB."""
        if not self._fill(8):
            got = len(self._buf) - self._pos
            if got == 0:
                return None
            raise PcapFormatError(
                f"truncated pcapng dump file; tried to read 8 bytes, only got {got}", self._base + self._pos
            )
        buf = self._buf
        pos = self._pos
        off = self._base + pos
        e = self._section.endian
        btype, blen = struct.unpack_from(e + "II", buf, pos)
        if btype == BT_SHB and self._fill(12):
            buf = self._buf
            pos = self._pos
            bom = buf[pos + 8 : pos + 12]
            if bom == struct.pack("<I", BYTE_ORDER_MAGIC):
                e = "<"
            elif bom == struct.pack(">I", BYTE_ORDER_MAGIC):
                e = ">"
            blen = struct.unpack_from(e + "I", buf, pos + 4)[0]
        if blen < 12:
            raise PcapFormatError(f"block in pcapng dump file has a length of {blen} < 12", off)
        if blen % 4:
            raise PcapFormatError(
                f"block in pcapng dump file has a length of {blen} that is not a multiple of 4", off
            )
        if blen > self._maxblock:
            raise PcapFormatError(f"pcapng block size {blen} > maximum {self._maxblock}", off)
        if not self._fill(blen):
            got = len(self._buf) - self._pos - 8
            raise PcapFormatError(
                f"truncated pcapng dump file; tried to read {blen - 8} bytes, only got {got}", off
            )
        buf = self._buf
        pos = self._pos
        block = buf[pos : pos + blen]
        (trailer,) = struct.unpack_from(e + "I", block, blen - 4)
        if trailer != blen:
            raise PcapFormatError(
                f"block total length in header {blen} and trailer {trailer} don't match", off
            )
        self._pos = pos + blen
        return off, btype, block

    def _handle_block(self, off: int, btype: int, block: bytes) -> Frame | None:
        """Process one validated block; a Frame for packet blocks, else None."""
        sec = self._section
        if btype == BT_SHB:
            if len(block) < 28:
                raise PcapFormatError(f"block of type {BT_SHB} in pcapng dump file is too short", off)
            bom = block[8:12]
            if bom == struct.pack("<I", BYTE_ORDER_MAGIC):
                e = "<"
            elif bom == struct.pack(">I", BYTE_ORDER_MAGIC):
                e = ">"
            else:
                raise PcapFormatError("the file has a section with a bad byte order magic field", off)
            vmaj = struct.unpack_from(e + "H", block, 12)[0]
            if vmaj != 1:
                raise PcapFormatError(f"unknown pcapng savefile major version number {vmaj}", off)
            self._section = self._register_section(off, e, block)
        elif btype == BT_IDB:
            self._register_idb(off, sec, block)
        elif btype in (BT_EPB, BT_SPB, BT_PB):
            return self._packet(off, btype, block, sec)
        with self._lock:
            self._reg_upto = max(self._reg_upto, off + len(block))
        return None

    def _packet(self, off: int, btype: int, block: bytes, sec: Section) -> Frame:
        e = sec.endian
        blen = len(block)
        ifaces = sec.interfaces
        if btype == BT_SPB:
            if blen < 16:
                raise PcapFormatError(f"block of type {btype} in pcapng dump file is too short", off)
            (wirelen,) = struct.unpack_from(e + "I", block, 8)
            if not ifaces:
                raise PcapFormatError(
                    "a packet arrived on interface 0, but there's no Interface Description Block for that interface",
                    off,
                )
            st = self._ifstate[ifaces[0]]
            caplen = min(wirelen, st.snapshot)
            if caplen > blen - 16:
                raise PcapFormatError(f"block of type {btype} in pcapng dump file is too short", off)
            return Frame(
                st.conv(0), block[12 : 12 + caplen], wirelen, st.linktype, st.gid, DIR_UNKNOWN, st.name
            )
        if blen < 32:
            raise PcapFormatError(f"block of type {btype} in pcapng dump file is too short", off)
        if btype == BT_EPB:
            ifid, tsh, tsl, caplen, wirelen = struct.unpack_from(e + "IIIII", block, 8)
        else:
            ifid, _drops, tsh, tsl, caplen, wirelen = struct.unpack_from(e + "HHIIII", block, 8)
        if ifid >= len(ifaces):
            raise PcapFormatError(
                f"a packet arrived on interface {ifid}, but there's no Interface Description Block for that interface",
                off,
            )
        st = self._ifstate[ifaces[ifid]]
        if caplen > st.snapshot:
            raise PcapFormatError(
                f"invalid packet capture length {caplen}, bigger than snaplen of {st.snapshot}", off
            )
        if caplen > blen - 32:
            raise PcapFormatError(f"block of type {btype} in pcapng dump file is too short", off)
        direction = DIR_UNKNOWN
        comment = None
        optstart = 28 + ((caplen + 3) & ~3)
        if optstart < blen - 4:
            direction, comment = _packet_options(block, optstart, blen - 4, e)
        return Frame(
            st.conv((tsh << 32) | tsl),
            block[28 : 28 + caplen],
            wirelen,
            st.linktype,
            st.gid,
            direction,
            st.name,
            comment,
        )

    # -- streaming ------------------------------------------------------------------------------
    def _records(self, with_offsets: bool) -> Iterator[Any]:
        new = tuple.__new__
        F = Frame
        sec = None
        while True:
            if sec is not self._section:
                sec = self._section
                e = sec.endian
                u7 = struct.Struct(e + "IIIIIII").unpack_from
                u8 = struct.Struct(e + "IIIIIIII").unpack_from
                u1 = struct.Struct(e + "I").unpack_from
                states = self._sec_states[sec.offset]
            nif = len(states)
            maxblock = self._maxblock
            buf = self._buf
            pos = self._pos
            n = len(buf)
            # hot loop: complete, valid EPBs in this section's byte order; anything else -> slow path.
            # One unpack reads this block's trailer and the next block's header (u8 at end - 4).
            if n - pos >= 28:
                btype, blen, ifid, tsh, tsl, caplen, wirelen = u7(buf, pos)
                have = True
            else:
                have = False
            while have:
                end = pos + blen
                if btype != 6 or end > n or blen > maxblock or blen & 3 or ifid >= nif:
                    break
                gid, lt, snap, mul, off, name, conv = states[ifid]
                start = pos + 28
                if caplen > snap or start + caplen > end - 4:
                    break
                if blen - caplen > 35:  # options present
                    direction, comment = _packet_options(buf, start + ((caplen + 3) & ~3), end - 4, e)
                else:
                    direction = 0
                    comment = None
                t = (tsh << 32) | tsl
                fr = new(
                    F,
                    (
                        t * mul + off if mul else conv(t),
                        buf[start : start + caplen],
                        wirelen,
                        lt,
                        gid,
                        direction,
                        name,
                        comment,
                    ),
                )
                cur = blen
                if n - end >= 28:
                    trailer, btype, blen, ifid, tsh, tsl, caplen, wirelen = u8(buf, end - 4)
                else:
                    trailer = u1(buf, end - 4)[0]
                    have = False
                if trailer != cur:
                    break  # the slow path re-reads this block and reports it
                if with_offsets:
                    yield (self._base + pos, fr)
                else:
                    yield fr
                pos = end
            if self._idb_run(pos) != pos:
                continue
            # slow path: one block, whatever it is (validation, refill, SHB/IDB/SPB/PB/other)
            self._pos = pos
            with self._lock:
                self._reg_upto = max(self._reg_upto, self._base + pos)
            blk = self._read_block()
            if blk is None:
                return
            off_, btype, block = blk
            pf = self._handle_block(off_, btype, block)
            if pf is not None:
                if with_offsets:
                    yield (off_, pf)
                else:
                    yield pf

    # -- raw access (decode.summary.iter_text) ----------------------------------------------------
    def raw_layout(self) -> RawLayout:
        """EPBs of the current section (raw_section()), walked while the block is an EPB that fits in
        the buffer, its length is a multiple of 4 and <= the maximum, its interface exists, its caplen
        fits in the block and the snapshot, and its trailing length matches; options are not needed."""
        return RawLayout(self._section.endian, True, self.linktype or 0, 0, pcapng=True)

    def raw_section(self) -> tuple[str, list[_IfState], int]:
        """(byte order, the section's interfaces by local id, maximum block size): what an EPB walk
        needs; it changes only across raw_next()."""
        sec = self._section
        return sec.endian, self._sec_states[sec.offset], self._maxblock

    def raw_next(self, pos: int) -> Frame | None:
        self._pos = pos
        with self._lock:
            self._reg_upto = max(self._reg_upto, self._base + pos)
        while True:
            self._idb_run(self._pos)
            blk = self._read_block()
            if blk is None:
                return None
            off, btype, block = blk
            fr = self._handle_block(off, btype, block)
            if fr is not None:
                return fr

    # -- random access --------------------------------------------------------------------------
    def _walk_to(self, offset: int) -> None:
        """Register every SHB/IDB before `offset`: walk the block headers from where the stream (or
        an earlier walk) got to, reading 1 MiB at a time with pread."""
        with self._lock:
            pos = self._reg_upto
            if pos > offset:
                return
            i = bisect_right(self._sec_offsets, pos) - 1
            sec = self.sections[max(i, 0)]
            bom_le = struct.pack("<I", BYTE_ORDER_MAGIC)
            bom_be = struct.pack(">I", BYTE_ORDER_MAGIC)
            cstart = pos
            chunk = b""
            clen = 0
            u2 = struct.Struct(sec.endian + "II").unpack_from
            while pos <= offset:
                rel = pos - cstart
                if rel + 12 > clen:
                    cstart = pos
                    rel = 0
                    chunk = self._pread(pos, 1 << 20)
                    clen = len(chunk)
                    if clen < 8:
                        break
                btype, blen = u2(chunk, rel)
                if btype != BT_SHB and btype != BT_IDB and blen >= 12 and not blen & 3:
                    pos += blen  # the common case: a packet block, skipped
                    continue
                e = sec.endian
                if btype == BT_SHB and rel + 12 <= len(chunk):
                    bom = chunk[rel + 8 : rel + 12]
                    e = "<" if bom == bom_le else ">" if bom == bom_be else e
                    blen = struct.unpack_from(e + "I", chunk, rel + 4)[0]
                if blen < 12 or blen % 4:
                    break
                if btype in (BT_SHB, BT_IDB):
                    block = chunk[rel : rel + blen] if rel + blen <= len(chunk) else self._pread(pos, blen)
                    if len(block) < blen:
                        break
                    if btype == BT_SHB:
                        if len(block) < 28:
                            break
                        sec = self._register_section(pos, e, block)
                        u2 = struct.Struct(e + "II").unpack_from
                    else:
                        self._register_idb(pos, sec, block)
                pos += blen
                self._reg_upto = max(self._reg_upto, pos)
            self._reg_upto = max(self._reg_upto, pos)

    def frame_at(self, offset: int) -> Frame:
        self._walk_to(offset)
        with self._lock:
            i = bisect_right(self._sec_offsets, offset) - 1
            sec = self.sections[max(i, 0)]
        e = sec.endian
        h = self._pread(offset, 8)
        if len(h) < 8:
            raise PcapFormatError(
                f"truncated pcapng dump file; tried to read 8 bytes, only got {len(h)}", offset
            )
        btype, blen = struct.unpack_from(e + "II", h)
        if btype not in (BT_EPB, BT_SPB, BT_PB):
            raise PcapFormatError(f"no packet block at offset {offset} (block type {btype:#x})", offset)
        if blen < 12 or blen % 4 or blen > self._maxblock:
            raise PcapFormatError(f"block in pcapng dump file has invalid length {blen}", offset)
        block = self._pread(offset, blen)
        if len(block) < blen:
            raise PcapFormatError(
                f"truncated pcapng dump file; tried to read {blen - 8} bytes, only got {len(block) - 8}",
                offset,
            )
        return self._packet(offset, btype, block, sec)


def _packet_options(b: bytes, start: int, end: int, e: str) -> tuple[int, str | None]:
    """(direction from epb_flags, opt_comment) of an EPB/PB's options; lenient like libpcap."""
    direction = DIR_UNKNOWN
    comments: list[str] = []
    for code, val in _parse_options(b, start, end, e):
        if code == EPB_FLAGS and len(val) == 4:
            direction = struct.unpack(e + "I", val)[0] & 3
            if direction == 3:
                direction = DIR_UNKNOWN
        elif code == OPT_COMMENT:
            comments.append(_text(val))
    return direction, ("\n".join(comments) if comments else None)


def open_capture(source: str | os.PathLike[str] | BinaryIO) -> CaptureReader:
    """Open a pcap or pcapng file, "-" for stdin, or a binary file object; checks the header now.

    Raises:
        PcapFormatError: the file is not pcap/pcapng or its header is broken (libpcap's message).
        SnifferError: the file cannot be opened.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path == "-":
            f: BinaryIO = sys.stdin.buffer
            if f.isatty():
                raise SnifferError(
                    "stdin is a terminal: pipe a capture into it (e.g. 'tcpdump -w - | sniffer read -')"
                )
            name = "<stdin>"
            close = False
        else:
            try:
                f = open(path, "rb", buffering=0)
            except OSError as e:
                raise SnifferError(f"cannot open {path}: {e.strerror or e}") from e
            name = path
            close = True
    else:
        f = source
        name = getattr(source, "name", "<file>")
        if not isinstance(name, str):
            name = "<file>"
        close = False
    try:
        return _open_file(f, close, name)
    except BaseException:
        if close:
            f.close()
        raise


def _open_file(f: BinaryIO, close: bool, name: str) -> CaptureReader:
    read1 = getattr(f, "read1", None)
    read = read1 if read1 is not None else f.read
    magic = b""
    while len(magic) < 4:
        try:
            chunk = read(4 - len(magic))
        except OSError as e:
            raise PcapFormatError(f"error reading dump file: {e.strerror or e}", len(magic)) from e
        if not chunk:
            break
        magic += chunk
    if len(magic) < 4:
        raise PcapFormatError(
            f"truncated dump file; tried to read 4 file header bytes, only got {len(magic)}", len(magic)
        )
    if struct.unpack("<I", magic)[0] in _PCAP_MAGICS or struct.unpack(">I", magic)[0] in _PCAP_MAGICS:
        return PcapReader(f, close, name, magic)
    if struct.unpack("<I", magic)[0] == BT_SHB:
        return PcapngReader(f, close, name, magic)
    hint = ""
    if magic[:2] == b"\x1f\x8b":
        hint = " (gzip-compressed: gunzip it first)"
    elif magic[:4] == b"\x28\xb5\x2f\xfd":
        hint = " (zstd-compressed: unzstd it first)"
    raise PcapFormatError(f"unknown file format{hint}", 0)


# ======================================================================================== writers
class _BaseWriter:
    """Whole records only: buffered records go out in one write() each flush; a short write or a
    full disk truncates the file back to the last whole record and raises OutputError."""

    def __init__(self, target: str | os.PathLike[str] | IO[bytes], buffer_size: int) -> None:
        self.count = 0  # packets written to the file (flushed)
        self._pending: list[bytes] = []  # chunks: one record each, or a whole write_batch()
        self._lens: list[int] = []  # length of every pending record, in order (chunks may hold several)
        self._kinds: list[int] = []  # per pending record: 1 for a packet record, 0 for headers/IDBs
        self._pending_len = 0
        self._failed = False
        self._buffer_size = buffer_size
        self._closed = False
        self._truncatable = False
        self._own = False
        if isinstance(target, (str, os.PathLike)):
            path = os.fspath(target)
            if path == "-":
                self.name = "<stdout>"
                sys.stdout.flush()
                self._fd = sys.stdout.fileno()
            else:
                self.name = path
                try:
                    self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
                except OSError as e:
                    raise OutputError(f"cannot create {path}: {e.strerror or e}") from e
                self._own = True
        else:
            self.name = (
                getattr(target, "name", "<file>")
                if isinstance(getattr(target, "name", None), str)
                else "<file>"
            )
            try:
                target.flush()
                self._fd = target.fileno()
            except (AttributeError, OSError, ValueError):
                self._fd = -1
                self._fobj = target
        if self._fd >= 0:
            try:
                st = os.fstat(self._fd)
                self._truncatable = stat.S_ISREG(st.st_mode)
                self._size = os.lseek(self._fd, 0, os.SEEK_CUR) if self._truncatable else 0
            except OSError:
                self._size = 0
        else:
            self._size = 0

    def _emit(self, record: bytes, packets: int) -> None:
        self._pending.append(record)
        self._lens.append(len(record))
        self._kinds.append(packets)
        self._pending_len += len(record)
        if self._pending_len >= self._buffer_size:
            self.flush()

    def flush(self) -> None:
        """Write every buffered record in one write call (whole records only)."""
        if not self._pending:
            return
        records = self._pending
        lens = self._lens
        kinds = self._kinds
        data = records[0] if len(records) == 1 else b"".join(records)
        self._pending = []
        self._lens = []
        self._kinds = []
        self._pending_len = 0
        if self._fd < 0:
            try:
                self._fobj.write(data)
                self._fobj.flush()
            except OSError as e:
                raise self._error(e) from e
            self.count += sum(kinds)
            return
        done = 0
        view = memoryview(data)
        try:
            while done < len(data):
                w = os.write(self._fd, view[done:])
                if w == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                done += w
        except OSError as e:
            # keep the whole records that made it, cut a partial one off, then report
            acc = 0
            for rlen, k in zip(lens, kinds, strict=True):
                if acc + rlen > done:
                    break
                acc += rlen
                self.count += k
            if self._truncatable and acc != done:
                try:
                    os.ftruncate(self._fd, self._size + acc)
                    os.lseek(self._fd, self._size + acc, os.SEEK_SET)
                except OSError:
                    pass
            self._size += acc
            self._failed = True
            raise self._error(e) from e
        self._size += done
        self.count += sum(kinds)

    def _error(self, e: OSError) -> OutputError:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return OutputError(
                f"disk full writing {self.name}: {self.count} packets written, file valid up to the last one"
            )
        if e.errno == errno.EPIPE:
            return OutputError(f"output pipe closed while writing {self.name} ({self.count} packets written)")
        return OutputError(f"cannot write {self.name}: {e.strerror or e} ({self.count} packets written)")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if not self._failed:
                self.flush()
        finally:
            if self._own:
                os.close(self._fd)

    def __enter__(self) -> _BaseWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_all(self, frames: Iterable[Frame]) -> int:
        n = 0
        for fr in frames:
            self.write(fr)
            n += 1
        return n

    def write(self, frame: Frame) -> None:
        raise NotImplementedError

    def write_batch(self, frames: Sequence[Frame]) -> None:
        for frame in frames:
            self.write(frame)

    def add_records(self, parts: Sequence[bytes | memoryview], lens: list[int], total: int) -> None:
        """Queue packet records built elsewhere (write_batch, capture.ringfile): ``parts`` joined are
        the records, ``lens`` the length of each, ``total`` their sum. Flushed by the buffer size."""
        if not lens:
            return
        self._pending.append(b"".join(parts))
        self._lens += lens
        self._kinds += [1] * len(lens)
        self._pending_len += total
        if self._pending_len >= self._buffer_size:
            self.flush()


class PcapWriter(_BaseWriter):
    """Classic pcap, little-endian, version 2.4, usec or nsec timestamps, one link type."""

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[bytes],
        linktype: int = 1,
        snaplen: int = MAXIMUM_SNAPLEN,
        nanosecond: bool = True,
        buffer_size: int = 65536,
    ) -> None:
        super().__init__(target, buffer_size)
        self.linktype = linktype
        self.nanosecond = nanosecond
        self._hdr = struct.Struct("<IIII").pack
        magic = NSEC_TCPDUMP_MAGIC if nanosecond else TCPDUMP_MAGIC
        self._emit(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype), 0)
        self.flush()

    def write(self, frame: Frame) -> None:
        if frame.linktype != self.linktype:
            raise OutputError(
                f"{self.name}: a pcap file holds one link type ({self.linktype}), this packet has "
                f"{frame.linktype}; write pcapng instead"
            )
        sec, frac = divmod(frame.ts_ns, _NS)
        if not self.nanosecond:
            frac //= 1000
        data = frame.data
        n = len(data)
        wirelen = frame.wirelen
        self._pending.append(self._hdr(sec & 0xFFFFFFFF, frac, n, wirelen if wirelen > n else n) + data)
        self._lens.append(16 + n)
        self._kinds.append(1)
        self._pending_len += 16 + n
        if self._pending_len >= self._buffer_size:
            self.flush()

    def write_batch(self, frames: Sequence[Frame]) -> None:
        """Write ``frames`` exactly as write() would one by one, built into one chunk (one join).

        The records stay whole on disk: a short write or a full disk cuts back to the last whole one.
        """
        if not frames:
            return
        hdr = self._hdr
        linktype = self.linktype
        ns = _NS
        usec = not self.nanosecond
        parts: list[bytes] = []
        extend = parts.extend
        lens: list[int] = []
        add_len = lens.append
        total = 0
        for frame in frames:
            if frame[3] != linktype:
                self.add_records(parts, lens, total)
                self.write(frame)  # raises the one-link-type error, after the records before it
            ts_ns = frame[0]
            data = frame[1]
            wirelen = frame[2]
            sec, frac = divmod(ts_ns, ns)
            if usec:
                frac //= 1000
            n = len(data)
            extend((hdr(sec & 0xFFFFFFFF, frac, n, wirelen if wirelen > n else n), data))
            add_len(16 + n)
            total += 16 + n
        self.add_records(parts, lens, total)


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


class PcapngWriter(_BaseWriter):
    """pcapng, little-endian: SHB (shb_userappl "sniffer"), IDBs (if_name, if_tsresol=9), EPBs with
    epb_flags for the direction and opt_comment. A new IDB is written when a frame arrives from an
    (interface, link type) not seen yet."""

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[bytes],
        linktype: int = 1,
        snaplen: int = MAXIMUM_SNAPLEN,
        interfaces: Iterable[Interface] | None = None,
        comment: str | None = None,
        buffer_size: int = 65536,
    ) -> None:
        super().__init__(target, buffer_size)
        self.linktype = linktype
        self.snaplen = snaplen
        self._ids: dict[tuple[int, int], int] = {}
        self._names: dict[int, str] = {}
        opts = b""
        if comment:
            opts += _opt(OPT_COMMENT, comment.encode())
        try:
            uname = os.uname()
            opts += _opt(SHB_OS, f"{uname.sysname} {uname.release}".encode())
        except OSError:
            pass
        opts += _opt(SHB_USERAPPL, b"sniffer") + b"\x00\x00\x00\x00"
        body = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + opts
        self._emit(struct.pack("<II", BT_SHB, len(body) + 12) + body + struct.pack("<I", len(body) + 12), 0)
        for itf in interfaces or ():
            self._add_idb(itf.id, itf.linktype, itf.name, itf.snaplen or snaplen, itf.description)
        self.flush()
        self._epb = struct.Struct("<IIIIIII").pack

    def _add_idb(self, key_if: int, linktype: int, name: str, snaplen: int, description: str = "") -> int:
        opts = b""
        if name:
            opts += _opt(IF_NAME, name.encode())
        if description:
            opts += _opt(IF_DESCRIPTION, description.encode())
        opts += _opt(IF_TSRESOL, b"\x09") + b"\x00\x00\x00\x00"
        body = struct.pack("<HHI", linktype, 0, snaplen) + opts
        self._emit(struct.pack("<II", BT_IDB, len(body) + 12) + body + struct.pack("<I", len(body) + 12), 0)
        local = len(self._ids)
        self._ids[(key_if, linktype)] = local
        return local

    def interface_id(self, key_if: int, linktype: int, name: str) -> int:
        """The IDB number of (interface, link type); a new IDB is queued if it has none yet."""
        local = self._ids.get((key_if, linktype))
        if local is None:
            local = self._add_idb(key_if, linktype, name, self.snaplen)
        return local

    def write(self, frame: Frame) -> None:
        ts_ns, data, wirelen, linktype, interface, direction, ifname, comment = frame
        local = self._ids.get((interface, linktype))
        if local is None:
            local = self._add_idb(interface, linktype, ifname, self.snaplen)
        caplen = len(data)
        if comment:
            opts = _FLAG_OPTS.get(direction, b"") + _opt(OPT_COMMENT, comment.encode()) + b"\x00\x00\x00\x00"
        else:
            opts = _FLAG_OPTS_END.get(direction, b"")
        pad = _PAD[caplen & 3]
        blen = 32 + caplen + len(pad) + len(opts)
        ts = ts_ns & 0xFFFFFFFFFFFFFFFF
        hdr = self._epb(
            BT_EPB, blen, local, ts >> 32, ts & 0xFFFFFFFF, caplen, wirelen if wirelen > caplen else caplen
        )
        rec = b"".join((hdr, data, pad, opts, blen.to_bytes(4, "little")))
        self._pending.append(rec)  # _emit() inlined: this is the per-packet path
        self._lens.append(blen)
        self._kinds.append(1)
        self._pending_len += blen
        if self._pending_len >= self._buffer_size:
            self.flush()

    def write_batch(self, frames: Sequence[Frame]) -> None:
        """Write ``frames`` exactly as write() would one by one, built into one chunk (one join).

        Per record: one header pack and the data; the tail (padding, options, trailing length) is
        cached by (caplen, direction) for frames without a comment. Records stay whole on disk.
        """
        if not frames:
            return
        ids = self._ids
        epb = self._epb
        tails = EPB_TAILS
        parts: list[bytes] = []
        extend = parts.extend
        lens: list[int] = []
        add_len = lens.append
        total = 0
        for ts_ns, data, wirelen, linktype, interface, direction, ifname, comment in frames:
            local = ids.get((interface, linktype))
            if local is None:
                self.add_records(parts, lens, total)  # the IDB must come before this packet
                parts, lens, total = [], [], 0
                extend = parts.extend
                add_len = lens.append
                local = self._add_idb(interface, linktype, ifname, self.snaplen)
            caplen = len(data)
            if comment:
                opts = (
                    _FLAG_OPTS.get(direction, b"") + _opt(OPT_COMMENT, comment.encode()) + b"\x00\x00\x00\x00"
                )
                pad = _PAD[caplen & 3]
                blen = 32 + caplen + len(pad) + len(opts)
                tail = b"".join((pad, opts, blen.to_bytes(4, "little")))
            else:
                cached = tails.get(caplen * 4 + direction)
                tail, blen = cached if cached is not None else epb_tail(caplen, direction)
            ts = ts_ns & 0xFFFFFFFFFFFFFFFF
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
            total += blen
        self.add_records(parts, lens, total)


_PAD = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")  # by caplen % 4
_FLAG_OPTS = {d: _opt(EPB_FLAGS, struct.pack("<I", d)) for d in (DIR_IN, DIR_OUT)}
_FLAG_OPTS_END = {d: o + b"\x00\x00\x00\x00" for d, o in _FLAG_OPTS.items()}
#: caplen * 4 + direction -> (EPB tail, block length), for records without a comment (see epb_tail)
EPB_TAILS: dict[int, tuple[bytes, int]] = {}


def epb_tail(caplen: int, direction: int) -> tuple[bytes, int]:
    """(padding + epb_flags option + end of options + trailing block length, block total length) of an
    EPB without a comment holding ``caplen`` bytes; cached in EPB_TAILS (bounded)."""
    opts = _FLAG_OPTS_END.get(direction, b"")
    pad = _PAD[caplen & 3]
    blen = 32 + caplen + len(pad) + len(opts)
    if len(EPB_TAILS) >= 4096:
        EPB_TAILS.clear()
    tail = EPB_TAILS[caplen * 4 + direction] = (pad + opts + blen.to_bytes(4, "little"), blen)
    return tail


def record_length(format: str, caplen: int, direction: int) -> int:
    """Bytes of the record written for a packet of ``caplen`` bytes without a comment."""
    if format == "pcap":
        return 16 + caplen
    return 32 + caplen + (-caplen & 3) + len(_FLAG_OPTS_END.get(direction, b""))


def open_writer(
    target: str | os.PathLike[str] | IO[bytes],
    format: str = "pcapng",
    linktype: int = 1,
    snaplen: int = MAXIMUM_SNAPLEN,
    interfaces: Iterable[Interface] | None = None,
    nanosecond: bool = True,
    buffer_size: int = 65536,
) -> PcapWriter | PcapngWriter:
    """A writer for `target` (path, "-" for stdout, or a binary file object); files are created 0600.

    format "pcapng" (default) or "pcap" (nanosecond=False for classic microsecond pcap).
    Records are buffered up to buffer_size bytes (0: every record written at once) and written
    whole; call flush() to push them out (e.g. after each capture batch). close() flushes.

    Raises:
        OutputError: the file cannot be created or written (disk full: the file stays valid).
    """
    if format == "pcapng":
        return PcapngWriter(target, linktype, snaplen, interfaces, buffer_size=buffer_size)
    if format == "pcap":
        return PcapWriter(target, linktype, snaplen, nanosecond, buffer_size=buffer_size)
    raise OutputError(f"unknown capture file format {format!r}: use pcapng or pcap")
