"""AF_VSOCK stream generator (VM <-> host sockets), where the kernel offers a transport.

Loopback inside one machine needs the vsock_loopback transport (VMADDR_CID_LOCAL = 1). Without it,
binding to CID 1 fails with EADDRNOTAVAIL and we say so in one line instead of timing out.
"""

from __future__ import annotations

import errno
import fcntl
import socket
import struct
from typing import Any

from sniffer.errors import NetworkError
from sniffer.gen.traffic.options import SockOpts, apply
from sniffer.gen.traffic.run import Endpoint, closed_on_error

VMADDR_CID_ANY = 0xFFFFFFFF
VMADDR_CID_LOCAL = 1
VMADDR_CID_HOST = 2
DEFAULT_PORT = 7007


def local_cid() -> int | None:
    """This machine's CID from /dev/vsock, or None when there is no vsock device."""
    try:
        with open("/dev/vsock", "rb") as f:
            out = fcntl.ioctl(f, socket.IOCTL_VM_SOCKETS_GET_LOCAL_CID, b"\0" * 4)
    except (OSError, AttributeError):
        return None
    return int(struct.unpack("I", out)[0])


def check_available(cid: int) -> None:
    """Raise one clear NetworkError when AF_VSOCK cannot reach ``cid`` from here."""
    if not hasattr(socket, "AF_VSOCK"):
        raise NetworkError("AF_VSOCK unavailable: this Python has no AF_VSOCK support")
    try:
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    except OSError as exc:
        raise NetworkError(
            f"AF_VSOCK unavailable: {exc.strerror} (no vsock transport in this kernel: load vhost_vsock, "
            "vmw_vsock_virtio_transport or vsock_loopback)"
        ) from None
    with s:
        if cid != VMADDR_CID_LOCAL:
            return
        try:
            s.bind((VMADDR_CID_LOCAL, socket.VMADDR_PORT_ANY))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                mine = local_cid()
                where = f"this machine is CID {mine}" if mine is not None else "no /dev/vsock"
                raise NetworkError(
                    "AF_VSOCK loopback unavailable: CID 1 (VMADDR_CID_LOCAL) needs the vsock_loopback "
                    f"kernel module ({where}); run 'modprobe vsock_loopback' or use --cid to reach a VM/host peer"
                ) from None
            raise


class VsockEndpoint(Endpoint):
    family = "vsock"
    type = "stream"
    connected = True

    def __init__(self, cid: int = VMADDR_CID_LOCAL, opts: SockOpts | None = None) -> None:
        super().__init__(opts)
        self.cid = cid

    def client_socket(self) -> socket.socket:
        check_available(self.cid)
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        apply(s, self.opts)
        return s

    def server_socket(self, addr: Any) -> socket.socket:
        check_available(addr[0])
        with closed_on_error(socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)) as s:
            apply(s, self.opts)
            s.bind(addr)
            s.listen(128)
        return s

    def self_peer_address(self) -> Any:
        return (VMADDR_CID_LOCAL, socket.VMADDR_PORT_ANY)

    def describe(self, addr: Any) -> str:
        cid, port = addr
        return f"vsock:{'any' if cid == VMADDR_CID_ANY else cid}:{port}"

    def error(self, exc: OSError, what: str, addr: Any) -> NetworkError:
        if exc.errno == errno.ENODEV:
            return NetworkError(f"{what} {self.describe(addr)}: no vsock transport reaches CID {addr[0]}")
        if exc.errno == errno.ECONNRESET:
            return NetworkError(f"{what} {self.describe(addr)}: reset, nothing listens on that port")
        from sniffer.gen.traffic.run import socket_error

        return socket_error(exc, what, self.describe(addr))  # type: ignore[return-value]


__all__ = ["VMADDR_CID_LOCAL", "VsockEndpoint", "check_available", "local_cid"]
