"""The one exception tree: every error a user can see is a SnifferError with an actionable message."""

from __future__ import annotations


class SnifferError(Exception):
    """Base of every error sniffer reports to the user as one line (never a traceback)."""

    #: process exit status the CLI uses for this error
    exit_status: int = 1


class UsageError(SnifferError):
    """Bad command-line arguments or option combinations."""

    exit_status = 2


class PcapFormatError(SnifferError):
    """A capture file is broken or not a format we read. ``offset`` is the byte offset of the damage."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset

    def __str__(self) -> str:
        msg = super().__str__()
        if self.offset is not None:
            return f"{msg} (at byte offset {self.offset})"
        return msg


class CaptureError(SnifferError):
    """Live capture failed: interface missing or gone, socket error, ring setup."""


class InterfaceGoneError(CaptureError):
    """The interface being captured on vanished."""


class FilterError(SnifferError):
    """A capture (BPF) or display filter could not be compiled or parsed.

    ``position`` is the 0-based character offset of the error in the filter text when known
    (display filters always set it; the message already says "at column N", 1-based).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class PrivilegeError(SnifferError):
    """A capability is missing. The message says which one and how to grant it."""

    def __init__(self, what: str, capability: str = "CAP_NET_RAW") -> None:
        super().__init__(
            f"{what}: permission denied, {capability} is missing. Run as root, or grant it with "
            f"'sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which python3))'"
        )
        self.capability = capability


class OutputError(SnifferError):
    """Writing output failed (disk full, closed pipe, permission)."""


class NetworkError(SnifferError):
    """A socket operation for ping / generators / multicast / replay failed."""


def needs_privilege(exc: OSError, what: str, capability: str = "CAP_NET_RAW") -> SnifferError:
    """Map an OSError from a privileged socket call to PrivilegeError or a plain SnifferError."""
    import errno

    if exc.errno in (errno.EPERM, errno.EACCES):
        return PrivilegeError(what, capability)
    return SnifferError(f"{what}: {exc.strerror or exc}")
