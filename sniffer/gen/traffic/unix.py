"""AF_UNIX generators: SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET, on a path or an abstract name."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import tempfile
import uuid
from typing import Any

from sniffer.errors import NetworkError, UsageError
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint, closed_on_error

TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM, "seqpacket": socket.SOCK_SEQPACKET}


def unix_address(path: str | None, abstract: str | None) -> str:
    """The sockaddr string: a filesystem path, or '\\0name' for an abstract name."""
    if path and abstract:
        raise UsageError("give either --path or --abstract, not both")
    if abstract:
        return "\0" + abstract.lstrip("@")
    if path:
        return path
    raise UsageError("AF_UNIX needs --path PATH or --abstract NAME")


def describe_unix(addr: Any) -> str:
    if isinstance(addr, bytes):
        addr = addr.decode(errors="replace")
    if not addr:
        return "(unnamed)"
    if addr.startswith("\0"):
        return "@" + addr[1:]
    return str(addr)


def file_info(path: str) -> str:
    """'srwxr-xr-x root:root' for a socket file (what a peer's permission check sees)."""
    try:
        st = os.stat(path)
    except OSError:
        return "gone"
    import grp
    import pwd

    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{stat.filemode(st.st_mode)} {user}:{group}"


class UnixEndpoint(Endpoint):
    family = "unix"

    def __init__(self, type: str = "stream", opts: SockOpts | None = None, abstract: bool = False) -> None:
        super().__init__(opts)
        if type not in TYPES:
            raise UsageError(f"unknown unix socket type {type!r}: use stream, dgram or seqpacket")
        self.type = type
        self.kind = TYPES[type]
        self.connected = type != "dgram"
        self.abstract = abstract
        self.file_mode: int | None = None

    def client_socket(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, self.kind)
        apply(s, self.opts)
        return s

    def prepare_client(self, sock: socket.socket, dest: Any) -> Any:
        sock.bind("")  # autobind an abstract name so the server can answer
        sock.connect(dest)
        return None

    def server_socket(self, addr: Any) -> socket.socket:
        if isinstance(addr, str) and not addr.startswith("\0"):
            _remove_stale(addr, self.kind)
        with closed_on_error(socket.socket(socket.AF_UNIX, self.kind)) as s:
            apply(s, self.opts)
            s.bind(addr)
            if self.file_mode is not None and not addr.startswith("\0"):
                os.chmod(addr, self.file_mode)
            if self.connected:
                s.listen(512)
        return s

    def self_peer_address(self) -> Any:
        name = f"sniffer-gen-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        if self.abstract:
            return "\0" + name
        return os.path.join(tempfile.gettempdir(), name + ".sock")

    def peer_address(self, sock: socket.socket) -> Any:
        name = sock.getsockname()
        return name.decode() if isinstance(name, bytes) else name

    def describe(self, addr: Any) -> str:
        return describe_unix(addr)

    def cleanup(self, addr: Any) -> None:
        if isinstance(addr, str) and addr and not addr.startswith("\0"):
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(os.lstat(addr).st_mode):
                    os.unlink(addr)


def _remove_stale(path: str, kind: int) -> None:
    """A socket file nobody listens on is left over from a dead server: remove it; refuse otherwise."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise NetworkError(f"{path} exists and is not a socket: choose another --path")
    probe = socket.socket(socket.AF_UNIX, kind)
    probe.settimeout(0.5)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)
        return
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.EPROTOTYPE):
            if exc.errno == errno.ECONNREFUSED:
                os.unlink(path)
                return
        raise NetworkError(f"address {path} already in use ({exc.strerror}): choose another --path") from None
    finally:
        probe.close()
    raise NetworkError(f"address {path} already in use: a server listens there; choose another --path")
