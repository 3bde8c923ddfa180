"""Name resolution for the packet list, off by default (as tshark -n) and toggled with ``r``:

- MAC addresses: vendor from Wireshark's ``manuf`` database (``/usr/share/wireshark/manuf``, shipped
  with tshark on Debian) as Wireshark writes them, ``Cisco_4f:8e:f2``; well-known addresses from the
  ``wka`` file next to it (``Spanning-tree-(for-bridges)_00``) and ``Broadcast``. Without the files,
  MACs stay numeric.
- IP addresses: names learned passively from the DNS answers in the capture (A and AAAA records: the
  record's owner name, so after a CNAME the canonical name, as Wireshark shows it). Nothing is sent.
- TCP/UDP ports in the Info column: well-known service names from the system's services table
  (``http(80)``).

Pure (no Textual); the DNS scan is fed frames by a thread of the app.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

from sniffer.frame import Frame
from sniffer.model.l4 import PROTO_UDP, transport

MANUF_PATHS = (Path("/usr/share/wireshark/manuf"), Path("/usr/local/share/wireshark/manuf"))
DNS_PORTS = (53, 5353)
TYPE_A, TYPE_AAAA = 1, 28
_INFO_PORTS = re.compile(r"^(\d+) -> (\d+)")


def _entries(text: str) -> Iterator[tuple[str, str]]:
    """(address or prefix, lower case; name) of each line of a Wireshark manuf/wka file."""
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        parts = line.split("\t")
        if len(parts) >= 2:
            yield parts[0].strip().lower(), parts[1].strip()


def load_wka(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Wireshark's well-known addresses (``wka``, next to ``manuf``): (full address -> name,
    40/44-bit prefix "01:80:c2:00:00" (+ nibble) -> name written with the last byte)."""
    full: dict[str, str] = {"ff:ff:ff:ff:ff:ff": "Broadcast"}
    prefixes: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return full, prefixes
    for first, name in _entries(text):
        addr, _, bits = first.replace("-", ":").partition("/")
        if not bits and len(addr) == 17:
            full.setdefault(addr, name)
        elif bits == "40" and len(addr) >= 14:
            prefixes.setdefault(addr[:14], name)
        elif bits == "44" and len(addr) >= 16:
            prefixes.setdefault(addr[:16], name)
    return full, prefixes


def load_manuf(path: Path | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(OUI "00:13:7f" -> short vendor, full address -> name) from a manuf file (``path``, else
    Wireshark's installed one); where there is none, from the copy of Wireshark's manuf that scapy (a
    dependency) packages, so vendors resolve on a machine without Wireshark too."""
    paths = [path] if path is not None else list(MANUF_PATHS)
    for p in paths:
        try:
            return parse_manuf(p.read_text(errors="replace"))
        except OSError:
            continue
    try:
        from scapy.libs.manuf import DATA
    except ImportError:  # pragma: no cover - scapy is a dependency
        return {}, {}
    return parse_manuf(DATA)


def parse_manuf(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """The (OUI -> short vendor, full address -> name) tables of a manuf file's text."""
    ouis: dict[str, str] = {}
    full: dict[str, str] = {}
    for prefix, short in _entries(text):
        if "/" in prefix:
            continue  # /28 and /36 blocks: not resolved here
        if len(prefix) == 8:
            ouis[prefix] = short
        elif len(prefix) == 17:
            full[prefix] = short
    return ouis, full


def _name(msg: bytes, off: int, depth: int = 0) -> tuple[str, int]:
    """A DNS name at ``off`` (compression followed); returns (name, offset after it)."""
    labels: list[str] = []
    end = -1
    while depth < 64:
        if off >= len(msg):
            raise ValueError("name runs past the message")
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise ValueError("cut pointer")
            if end < 0:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            depth += 1
            continue
        labels.append(msg[off + 1 : off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), (end if end >= 0 else off)


def dns_addresses(msg: bytes) -> list[tuple[str, str]]:
    """(address, owner name) of the A and AAAA answers of a DNS response (empty for anything else)."""
    if len(msg) < 12:
        return []
    flags, qd, an, ns, ar = struct.unpack_from("!HHHHH", msg, 2)
    if not flags & 0x8000:
        return []
    out: list[tuple[str, str]] = []
    try:
        off = 12
        for _ in range(qd):
            _, off = _name(msg, off)
            off += 4
        for _ in range(an + ns + ar):
            owner, off = _name(msg, off)
            rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", msg, off)
            off += 10
            rdata = msg[off : off + rdlen]
            off += rdlen
            if rtype == TYPE_A and rdlen == 4:
                out.append((socket.inet_ntoa(rdata), owner))
            elif rtype == TYPE_AAAA and rdlen == 16:
                out.append((socket.inet_ntop(socket.AF_INET6, rdata), owner))
    except (ValueError, struct.error):
        pass
    return out


class Resolver:
    """Names for the packet list; ``enabled`` is the toggle (off by default)."""

    def __init__(self, manuf: Path | None = None) -> None:
        self.enabled = False
        self._manuf_path = manuf
        self._ouis: dict[str, str] | None = None
        self._full: dict[str, str] = {}
        self._wka: dict[str, str] = {}
        self._wka_prefix: dict[str, str] = {}
        self.hosts: dict[str, str] = {}  # address -> name, from DNS answers seen
        self.scanned = 0  # packets looked at for DNS answers
        self._ports: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    # -- MAC vendors --------------------------------------------------------------------------------
    def _load(self) -> dict[str, str]:
        if self._ouis is None:
            self._ouis, self._full = load_manuf(self._manuf_path)
            folder = (self._manuf_path or next((p for p in MANUF_PATHS if p.exists()), MANUF_PATHS[0])).parent
            self._wka, self._wka_prefix = load_wka(folder / "wka")
        return self._ouis

    @property
    def has_manuf(self) -> bool:
        return bool(self._load())

    def mac(self, addr: str) -> str:
        ouis = self._load()
        low = addr.lower()
        name = self._wka.get(low) or self._full.get(low)
        if name:
            return name
        name = self._wka_prefix.get(low[:16]) or self._wka_prefix.get(low[:14])
        if name:
            return f"{name}_{low[15:]}"
        short = ouis.get(low[:8])
        return f"{short}_{low[9:]}" if short else addr

    # -- addresses from DNS -------------------------------------------------------------------------
    def feed(self, frame: Frame) -> None:
        """Learn names from one packet (a DNS response over UDP)."""
        t = transport(frame)
        if t is None or t.proto != PROTO_UDP or t.sport not in DNS_PORTS:
            return
        for addr, owner in dns_addresses(t.payload):
            if owner:
                with self._lock:
                    self.hosts.setdefault(addr, owner)

    def address(self, addr: str) -> str:
        """A column's address: host name, MAC vendor form, or the address itself."""
        if not self.enabled or not addr:
            return addr
        name = self.hosts.get(addr)
        if name:
            return name
        if len(addr) == 17 and addr.count(":") == 5:
            return self.mac(addr)
        return addr

    # -- ports ----------------------------------------------------------------------------------------
    def port(self, proto: str, port: int) -> str:
        key = (proto, port)
        name = self._ports.get(key)
        if name is None:
            try:
                name = socket.getservbyport(port, proto)
            except (OSError, OverflowError):
                name = ""
            self._ports[key] = name
        return f"{name}({port})" if name else str(port)

    def info(self, protocol: str, info: str) -> str:
        """Info with the leading "sport -> dport" of TCP/UDP written with service names."""
        if not self.enabled:
            return info
        proto = "udp" if protocol in ("UDP", "DNS", "MDNS", "NBNS", "LLMNR", "SSDP", "DHCP", "NTP") else "tcp"
        m = _INFO_PORTS.match(info)
        if m is None:
            return info
        a, b = int(m.group(1)), int(m.group(2))
        return f"{self.port(proto, a)} -> {self.port(proto, b)}" + info[m.end() :]
