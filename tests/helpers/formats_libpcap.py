"""The system's libpcap (ctypes) as an oracle: what pcap_next_ex() returns for a file."""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import NamedTuple


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _PktHdr(ctypes.Structure):
    _fields_ = [("ts", _Timeval), ("caplen", ctypes.c_uint32), ("len", ctypes.c_uint32)]


class LibpcapResult(NamedTuple):
    packets: list[tuple[int, int, int]]  # (ts_ns, caplen, wirelen)
    error: str | None  # None: clean EOF
    open_failed: bool


_lib: ctypes.CDLL | None = None


def available() -> bool:
    global _lib
    if _lib is None:
        name = ctypes.util.find_library("pcap")
        if not name:
            return False
        _lib = ctypes.CDLL(name)
        _lib.pcap_open_offline_with_tstamp_precision.restype = ctypes.c_void_p
        _lib.pcap_open_offline_with_tstamp_precision.argtypes = [
            ctypes.c_char_p,
            ctypes.c_uint,
            ctypes.c_char_p,
        ]
        _lib.pcap_next_ex.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.POINTER(_PktHdr)),
            ctypes.POINTER(ctypes.c_void_p),
        ]
        _lib.pcap_geterr.restype = ctypes.c_char_p
        _lib.pcap_geterr.argtypes = [ctypes.c_void_p]
        _lib.pcap_close.argtypes = [ctypes.c_void_p]
    return True


def read(path: str, limit: int = 100_000) -> LibpcapResult:
    """Every packet libpcap returns (nanosecond precision), and its error if it stopped on one."""
    assert available() and _lib is not None
    errbuf = ctypes.create_string_buffer(512)
    p = _lib.pcap_open_offline_with_tstamp_precision(path.encode(), 1, errbuf)
    if not p:
        return LibpcapResult([], errbuf.value.decode(errors="replace"), True)
    out: list[tuple[int, int, int]] = []
    hdr = ctypes.POINTER(_PktHdr)()
    data = ctypes.c_void_p()
    try:
        while len(out) < limit:
            rc = _lib.pcap_next_ex(p, ctypes.byref(hdr), ctypes.byref(data))
            if rc == 1:
                h = hdr.contents
                out.append((h.ts.tv_sec * 1_000_000_000 + h.ts.tv_usec, h.caplen, h.len))
            elif rc == -2:
                return LibpcapResult(out, None, False)
            else:
                return LibpcapResult(out, _lib.pcap_geterr(p).decode(errors="replace"), False)
        return LibpcapResult(out, None, False)
    finally:
        _lib.pcap_close(p)
