"""tshark as the oracle for display filters: merge corpus captures, read PDML into field dicts, run -Y."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CAPTURES = Path(__file__).resolve().parents[1] / "corpus" / "captures"

#: a mix of link types and protocols (ICMP errors quoting packets, IPv6, IGMP, VLAN, SLL2, DHCP, HTTP)
ORACLE_CAPTURES = (
    "zeek__wikipedia.pcap",
    "dpkt__dns_icmp.pcap",
    "zeek__icmp__icmp-destunreach-udp.pcap",
    "tcpdump__icmpv6.pcap",
    "zeek__igmp__igmp-many-sources.pcap",
    "zeek__arp-who-has.pcap",
    "tcpdump__tcp-handshake-nano.pcap",
    "zeek__ipv4__fragmented-1.pcap",
    "zeek__ipv6-http-atomic-frag.pcap",
    "zeek__linux_dlt_sll2.pcap",
    "tcpdump__dhcp-rfc3004.pcap",
    "zeek__tcp__options.pcap",
    "zeek__vlan-qinqinq.pcap",
    "tcpdump__dns_udp.pcap",
    "zeek__tunnels__vxlan-encapsulated-igmp-v2.pcap",
    "tcpdump__mptcp-v1.pcap",
)


def have_tshark() -> bool:
    return shutil.which("tshark") is not None and shutil.which("mergecap") is not None


def merged_capture(dest: Path, names: tuple[str, ...] = ORACLE_CAPTURES) -> Path:
    """Concatenate corpus captures into one pcapng (mergecap -a keeps each file's link type)."""
    out = dest / "merged.pcapng"
    subprocess.run(
        [
            "mergecap",
            "-a",
            "-s",
            "262144",
            "-F",
            "pcapng",
            "-w",
            str(out),
            *(str(CAPTURES / n) for n in names),
        ],
        check=True,
        capture_output=True,
    )
    return out


def _add(d: dict[str, Any], name: str, value: Any) -> None:
    if name not in d:
        d[name] = value
        return
    old = d[name]
    if value is None:
        return
    if old is None:
        d[name] = value
    elif type(old) is list:
        old.append(value)
    else:
        d[name] = [old, value]


def pdml_fields(path: Path) -> list[dict[str, Any]]:
    """One Wireshark-named field dict per packet, built from tshark's PDML (every field, every occurrence)."""
    from sniffer.model.filters import field_kind

    xml = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "pdml"], check=True, capture_output=True
    ).stdout
    packets = []
    for pkt in ET.fromstring(xml).iter("packet"):
        d: dict[str, Any] = {}
        for el in pkt.iter():
            name = el.get("name") or ""
            if not name or name in ("geninfo", "fake-field-wrapper") or el.tag not in ("proto", "field"):
                continue
            if el.tag == "proto":
                _add(d, name, None)
                continue
            kind = field_kind(name)
            show, raw = el.get("show"), el.get("value")
            if kind in ("bytes", "proto") and raw is not None:
                value: Any = bytes.fromhex(raw) if len(raw) % 2 == 0 else show
            elif kind == "none":
                value = None
            else:
                value = show
            _add(d, name, value)
        if "frame.time_epoch" in d:
            d["frame.time"] = d["frame.time_epoch"]
        packets.append(d)
    return packets


def tshark_matches(path: Path, expr: str) -> set[int]:
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", expr, "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise ValueError(f"tshark rejected {expr!r}: {out.stderr.strip()}")
    return {int(x) for x in out.stdout.split()}


def tshark_matches_many(path: Path, exprs: list[str], workers: int = 4) -> dict[str, set[int]]:
    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(exprs, pool.map(lambda e: tshark_matches(path, e), exprs), strict=True))


# -- statistics and streams -------------------------------------------------------------------------------

ORACLE_DIR = Path(__file__).resolve().parents[1] / "corpus" / "oracle"
_CONV_ROW = re.compile(
    r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) (\S+)\s+(\d+)\s+(\d+) (\S+)\s+(\d+)\s+(\d+) (\S+)\s+(-?[\d.]+)\s+([\d.]+)"
)
_CONV_TITLES = {"Ethernet": "eth", "IPv4": "ip", "IPv6": "ipv6", "TCP": "tcp", "UDP": "udp"}


def readable_captures() -> list[Path]:
    """Corpus captures tshark reads without error (the broken ones are the readers' business)."""
    out = []
    for p in sorted(CAPTURES.iterdir()):
        rc = ORACLE_DIR / f"{p.name}.rc"
        if rc.exists() and rc.read_text().strip() == "0":
            out.append(p)
    return out


@dataclass
class StatsOracle:
    """What tshark says about one capture: per-packet fields and the -z tables."""

    rows: list[list[str]]  # frame.protocols, _ws.malformed, _ws.short, tcp.stream, udp.stream
    conv: dict[str, set[tuple[str, str, int, int | None, int, int | None]]]  # a, b, frames/bytes a->b, b->a
    phs: list[str]


def stats_oracle(path: Path) -> StatsOracle:
    """Two tshark runs: the per-packet fields, then (with -q: without it the hierarchy gets an extra
    "frame" root) the statistics tables."""
    args = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f"]
    for f in ("frame.protocols", "_ws.malformed", "_ws.short", "tcp.stream", "udp.stream"):
        args += ["-e", f]
    text = subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8", "replace")
    rows = [line.split("\t") for line in text.splitlines() if line]
    args = ["tshark", "-n", "-r", str(path), "-q", "-z", "io,phs"]
    for k in ("eth", "ip", "ipv6", "tcp", "udp"):
        args += ["-z", f"conv,{k}"]
    tail = subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8", "replace")
    conv: dict[str, set[tuple[str, str, int, int | None, int, int | None]]] = {}
    phs: list[str] = []
    for sec in re.split(r"={10,}\n", tail):
        m = re.match(r"(Ethernet|IPv4|IPv6|TCP|UDP) Conversations", sec)
        if m:
            kind = _CONV_TITLES[m.group(1)]
            conv[kind] = set()
            for line in sec.splitlines():
                r = _CONV_ROW.match(line)
                if (
                    r
                ):  # tshark: "<-" is B->A, "->" is A->B; sizes over 10 kB are rounded ("15 kB"): not compared
                    b_ba = int(r.group(4)) if r.group(5) == "bytes" else None
                    b_ab = int(r.group(7)) if r.group(8) == "bytes" else None
                    conv[kind].add((r.group(1), r.group(2), int(r.group(6)), b_ab, int(r.group(3)), b_ba))
        elif sec.startswith("Protocol Hierarchy"):
            phs = [line.rstrip() for line in sec.splitlines()[3:] if line.strip()]
    return StatsOracle(rows, conv, phs)


def tshark_follow(path: Path, proto: str, stream: int, mode: str) -> str:
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-q", "-z", f"follow,{proto},{mode},{stream}"],
        capture_output=True,
        check=True,
    )
    return out.stdout.decode("latin-1")
