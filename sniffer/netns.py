"""Network namespaces: run a block of this thread inside a named namespace (like `ip netns exec`).

Sockets keep the namespace they were created in, so ``with netns("a"): s = socket(...)`` gives a
socket living in namespace ``a`` that the rest of the program can use normally. Linux only; needs
CAP_SYS_ADMIN. stdlib only (ctypes setns), so every layer may import it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sniffer.errors import PrivilegeError, SnifferError

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        if err == 1:
            raise PrivilegeError("entering a network namespace", "CAP_SYS_ADMIN")
        raise SnifferError(f"setns failed: {os.strerror(err)}")


@contextmanager
def netns(name: str | None) -> Iterator[None]:
    """Enter network namespace ``name`` (from /run/netns) for this thread; ``None`` does nothing."""
    if not name:
        yield
        return
    path = name if name.startswith("/") else os.path.join(NETNS_RUN_DIR, name)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SnifferError(f"network namespace {name!r} does not exist (see 'ip netns list')") from None
    home = os.open(f"/proc/self/task/{_gettid()}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def _gettid() -> int:
    gettid = getattr(os, "gettid", None)
    if gettid is not None:
        return int(gettid())
    return int(_libc.syscall(186))  # SYS_gettid on x86_64
