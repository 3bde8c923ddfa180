"""`sniffer interfaces`: the interfaces you can capture on, with state, link type and addresses."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from typing import Any

from sniffer.errors import SnifferError

# `ip -j link` link_type -> the link type a capture on it records
LINK_TYPES = {
    "ether": "EN10MB (Ethernet)",
    "loopback": "EN10MB (Ethernet)",
    "none": "RAW (Raw IP)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "interfaces",
        help="list interfaces to capture on (state, link type, addresses)",
        description="List network interfaces with their index, state, capture link type, MAC and "
        "addresses (from 'ip -j addr'). 'any' captures all of them with a Linux cooked header.",
    )
    p.add_argument("--netns", metavar="NAME", help="list the interfaces of network namespace NAME")
    p.add_argument("--json", action="store_true", help="print JSON (one object per interface)")
    p.set_defaults(func=run)


def list_interfaces(netns: str | None = None) -> list[dict[str, Any]]:
    """Interfaces as dicts: index, name, state, flags, link_type, capture_linktype, mac, mtu, addresses."""
    if shutil.which("ip") is None:
        raise SnifferError("the 'ip' command (iproute2) is needed to list interfaces: apt install iproute2")
    argv = ["ip", "-j", "addr", "show"]
    if netns:
        argv[1:1] = ["-n", netns]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    if proc.returncode != 0:
        msg = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
        raise SnifferError(f"listing interfaces: {msg}")
    out = []
    for link in json.loads(proc.stdout or "[]"):
        lt = link.get("link_type", "")
        flags = link.get("flags", [])
        state = link.get("operstate", "UNKNOWN")
        if "UP" not in flags:
            state = "DOWN (admin)"
        out.append(
            {
                "index": link.get("ifindex"),
                "name": link.get("ifname"),
                "state": state,
                "flags": flags,
                "link_type": lt,
                "capture_linktype": LINK_TYPES.get(lt, "LINUX_SLL2 (Linux cooked v2)"),
                "mac": link.get("address", ""),
                "mtu": link.get("mtu"),
                "addresses": [
                    f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", []) if "local" in a
                ],
            }
        )
    return out


def run(args: argparse.Namespace) -> int:
    ifaces = list_interfaces(args.netns)
    if args.json:
        for i in ifaces:
            print(json.dumps(i))
        return 0
    rows = [("#", "NAME", "STATE", "LINK TYPE", "MAC", "MTU", "ADDRESSES")]
    for i in ifaces:
        rows.append(
            (
                str(i["index"]),
                str(i["name"]),
                i["state"],
                i["capture_linktype"],
                i["mac"] or "-",
                str(i["mtu"]),
                ", ".join(i["addresses"]) or "-",
            )
        )
    rows.append(("-", "any", "-", "LINUX_SLL2 (Linux cooked v2)", "-", "-", "(all interfaces)"))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
    return 0
