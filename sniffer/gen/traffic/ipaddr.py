"""Address helpers for the IP generators: families, loopback defaults, HOST:PORT parsing."""

from __future__ import annotations

import socket

from sniffer.errors import UsageError

FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}
LOOPBACK = {"inet": "127.0.0.1", "inet6": "::1"}
ANY = {"inet": "0.0.0.0", "inet6": "::"}
DEFAULT_PORT = 7007


def family_of(name: str) -> int:
    try:
        return FAMILIES[name]
    except KeyError:
        raise UsageError(f"unknown family {name!r}: use inet or inet6") from None


def parse_hostport(text: str | None, family: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """'HOST:PORT', '[V6]:PORT', 'HOST', ':PORT' or None -> (host, port), loopback by default."""
    host, port = LOOPBACK[family], default_port
    if text:
        t = text.strip()
        if t.startswith("["):
            end = t.find("]")
            if end < 0:
                raise UsageError(f"bad address {text!r}: missing ']'")
            host = t[1:end] or host
            rest = t[end + 1 :]
            if rest.startswith(":"):
                port = _port(rest[1:], text)
        elif t.count(":") == 1:
            h, p = t.split(":")
            host = h or host
            port = _port(p, text)
        elif t.count(":") > 1:
            host = t  # a bare IPv6 address
        elif t.isdigit():
            port = _port(t, text)
        else:
            host = t
    if ":" in host and family == "inet":
        raise UsageError(f"{host} is an IPv6 address: add --family inet6")
    if ":" not in host and family == "inet6" and host[:1].isdigit():
        raise UsageError(f"{host} is an IPv4 address: use --family inet")
    return host, port


def _port(p: str, text: str) -> int:
    try:
        port = int(p)
    except ValueError:
        raise UsageError(f"bad port in {text!r}") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"bad port in {text!r}: 0..65535")
    return port


def sockaddr(family: str, host: str, port: int) -> tuple[str, int] | tuple[str, int, int, int]:
    """The tuple socket functions want; resolves names (never needed for the loopback defaults)."""
    fam = family_of(family)
    try:
        info = socket.getaddrinfo(host, port, fam, socket.SOCK_DGRAM, 0, socket.AI_NUMERICSERV)
    except socket.gaierror as exc:
        raise UsageError(f"cannot resolve {host!r} for {family}: {exc.strerror}") from None
    return info[0][4]  # type: ignore[return-value]
