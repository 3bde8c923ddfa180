"""Capture filters: tcpdump syntax compiled by libpcap (ctypes) and attached in the kernel."""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import struct
import threading
from collections.abc import Sequence

from sniffer.errors import CaptureError, FilterError
from sniffer.frame import LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2

#: one classic BPF instruction: (code, jt, jf, k), the layout of struct sock_filter / bpf_insn
Insn = tuple[int, int, int, int]

SO_ATTACH_FILTER = 26
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF

# classic BPF opcodes (<linux/filter.h>)
BPF_LD, BPF_LDX, BPF_RET = 0x00, 0x01, 0x06
BPF_ABS, BPF_IND, BPF_MSH = 0x20, 0x40, 0xA0
BPF_K = 0x00
SKF_AD_OFF = -0x1000
SKF_AD_PROTOCOL, SKF_AD_PKTTYPE, SKF_AD_IFINDEX = 0, 4, 8

#: `ret #0`: accept nothing (attached while the socket is drained)
DROP_ALL: list[Insn] = [(BPF_RET | BPF_K, 0, 0, 0)]


class _BpfInsn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


_lib: ctypes.CDLL | None = None
_lock = threading.Lock()  # pcap_compile is not thread-safe in older libpcaps


def _libpcap() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        candidates = [ctypes.util.find_library("pcap"), "libpcap.so.0.8", "libpcap.so.1", "libpcap.so"]
        for name in candidates:
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
            except OSError:
                continue
            lib.pcap_open_dead.restype = ctypes.c_void_p
            lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
            lib.pcap_compile.restype = ctypes.c_int
            lib.pcap_compile.argtypes = [
                ctypes.c_void_p,
                ctypes.POINTER(_BpfProgram),
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.c_uint32,
            ]
            lib.pcap_geterr.restype = ctypes.c_char_p
            lib.pcap_geterr.argtypes = [ctypes.c_void_p]
            lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
            lib.pcap_close.argtypes = [ctypes.c_void_p]
            _lib = lib
            break
        else:
            raise CaptureError(
                "libpcap is not installed (needed for capture filters): apt install libpcap0.8"
            )
    return _lib


def compile_bpf(expr: str, linktype: int, snaplen: int = 262144, optimize: bool = True) -> list[Insn]:
    """Compile a tcpdump-syntax filter for ``linktype`` into classic BPF instructions.

    The program returns ``snaplen`` for accepted packets (an empty expression accepts everything).

    Raises:
        FilterError: libpcap's own message when the expression does not compile.
    """
    lib = _libpcap()
    with _lock:
        pcap = lib.pcap_open_dead(linktype, snaplen)
        if not pcap:
            raise CaptureError(f"libpcap cannot handle link type {linktype}")
        try:
            prog = _BpfProgram()
            if lib.pcap_compile(pcap, ctypes.byref(prog), expr.encode(), int(optimize), PCAP_NETMASK_UNKNOWN):
                msg = (lib.pcap_geterr(pcap) or b"syntax error").decode(errors="replace")
                raise FilterError(f"capture filter {expr!r}: {msg}")
            try:
                return [(i.code, i.jt, i.jf, i.k) for i in prog.bf_insns[: prog.bf_len]]
            finally:
                lib.pcap_freecode(ctypes.byref(prog))
        finally:
            lib.pcap_close(pcap)


def for_cooked_socket(program: Sequence[Insn], linktype: int) -> list[Insn]:
    """Rewrite a program compiled for LINUX_SLL/SLL2 to run on a SOCK_DGRAM socket (libpcap's fix_offset).

    The kernel's filter sees the packet from the network header on, so loads past the cooked header
    move back by its length, and loads of the protocol / packet type / ifindex fields become the
    kernel's ancillary loads (SKF_AD_*). Raises FilterError if the program reads other header bytes.
    """
    hdr = 20 if linktype == LINKTYPE_LINUX_SLL2 else 16
    if linktype not in (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2):
        raise ValueError("not a cooked link type")
    special = (
        {0: SKF_AD_PROTOCOL, 4: SKF_AD_IFINDEX, 10: SKF_AD_PKTTYPE}
        if hdr == 20
        else {0: SKF_AD_PKTTYPE, 14: SKF_AD_PROTOCOL}
    )
    out: list[Insn] = []
    for code, jt, jf, k in program:
        if code & 0x07 in (BPF_LD, BPF_LDX) and code & 0xE0 in (BPF_ABS, BPF_IND, BPF_MSH):
            sk = k - (1 << 32) if k & 0x80000000 else k
            if sk >= hdr:
                k = sk - hdr
            elif sk in special:
                k = (SKF_AD_OFF + special[sk]) & 0xFFFFFFFF
            elif sk > 0:
                raise FilterError(
                    "this capture filter reads link-layer header fields not available on -i any"
                )
        out.append((code, jt, jf, k))
    return out


def attach_filter(sock: socket.socket, program: Sequence[Insn]) -> None:
    """SO_ATTACH_FILTER ``program`` to ``sock`` (replacing any filter already attached)."""
    n = len(program)
    arr = (_BpfInsn * n)(*[_BpfInsn(c, jt, jf, k) for c, jt, jf, k in program])
    fprog = struct.pack("HL", n, ctypes.addressof(arr))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError as exc:
        raise CaptureError(f"the kernel refused the capture filter: {exc.strerror or exc}") from None


def dump(program: Sequence[Insn]) -> str:
    """The program as `tcpdump -ddd` prints it (count, then one `code jt jf k` line per instruction)."""
    return "\n".join([str(len(program)), *(f"{c} {jt} {jf} {k}" for c, jt, jf, k in program)])
