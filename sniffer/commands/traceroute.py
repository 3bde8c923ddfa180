"""`sniffer traceroute`: traceroute with UDP (default), ICMP echo (-I) or TCP SYN (-T) probes."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EPILOG = """examples (loopback; real hops only inside namespaces you made):
  sniffer traceroute -n 127.0.0.1          (UDP to port 33434 and up)
  sniffer traceroute -n -I ::1             (ICMP echo)
  sniffer traceroute -n -T -p 22 127.0.0.1 (TCP SYN)
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "traceroute",
        help="traceroute with UDP, ICMP echo or TCP SYN probes; traceroute's options and output",
        description="Print the route to HOST: probes with rising TTL, the routers' time exceeded, "
        "traceroute's !H !N !P !X !F-MTU annotations. UDP and TCP need no privilege (IP_RECVERR).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("host")
    p.add_argument("packetlen", nargs="?", type=int, help="IP packet length (default 60, IPv6 80)")
    # options grouped by feature in --help
    meth = p.add_argument_group("probe method (default: UDP to port 33434 and up)")
    hops = p.add_argument_group("which hops, how many probes, how long")
    where = p.add_argument_group("where probes go out")
    out = p.add_argument_group("what is printed")
    m = meth.add_mutually_exclusive_group()
    m.add_argument("-I", "--icmp", dest="method", action="store_const", const="icmp", help="ICMP echo")
    m.add_argument("-T", "--tcp", dest="method", action="store_const", const="tcp", help="TCP SYN (port 80)")
    m.add_argument(
        "-U", "--udp", dest="method", action="store_const", const="udp-fixed", help="UDP to port 53"
    )
    hops.add_argument("-f", "--first", dest="first", type=int, default=1, help="first TTL (default 1)")
    hops.add_argument("-m", "--max-hops", dest="max_hops", type=int, default=30, help="last TTL (default 30)")
    hops.add_argument(
        "-q", "--queries", dest="queries", type=int, default=3, help="probes per hop (default 3)"
    )
    hops.add_argument(
        "-N",
        "--sim-queries",
        dest="parallel",
        type=int,
        default=16,
        help="probes in flight at once, across hops (default 16, as traceroute)",
    )
    hops.add_argument(
        "-w", "--wait", dest="wait", default="5", help="seconds to wait for a probe (default 5)"
    )
    meth.add_argument("-p", "--port", dest="port", type=int, help="destination port (UDP: the first one)")
    meth.add_argument(
        "-F",
        "--dont-fragment",
        dest="dont_fragment",
        action="store_true",
        help="set DF on the probes: a link with a smaller MTU answers !F-MTU",
    )
    out.add_argument("-n", dest="numeric", action="store_true", help="numeric addresses (no reverse lookups)")
    where.add_argument("-i", "--interface", dest="iface", help="send through this interface")
    fam = where.add_mutually_exclusive_group()
    fam.add_argument("-4", dest="family", action="store_const", const=4, default=0)
    fam.add_argument("-6", dest="family", action="store_const", const=6)
    out.add_argument("--json", action="store_true", help="one JSON document: hops and probes")
    p.set_defaults(func=run, method="udp")


def run(args: argparse.Namespace) -> int:
    import socket

    from sniffer.errors import UsageError
    from sniffer.gen.ping.engine import PingOptions, resolve
    from sniffer.gen.ping.trace import Hop, trace, trace_l4

    try:
        wait = float(str(args.wait).split(",")[0])
    except ValueError:
        raise UsageError(f"-w {args.wait}: seconds, e.g. -w 2") from None
    if not 1 <= args.first <= args.max_hops <= 255 or not 1 <= args.queries <= 10 or wait <= 0:
        raise UsageError("need 1 <= -f <= -m <= 255, -q 1..10 and -w > 0")
    if not 1 <= args.parallel <= 255:
        raise UsageError(f"-N {args.parallel}: probes in flight must be 1..255")
    t = resolve(args.host, args.family)
    v6 = t.family == socket.AF_INET6
    ip_hdr = 40 if v6 else 20
    plen = args.packetlen if args.packetlen is not None else ip_hdr + 40
    l4 = 20 if args.method == "tcp" else 8
    size = max(0, plen - ip_hdr - l4)
    names: dict[str, str] = {}

    def name(addr: str) -> str:
        if args.numeric:
            return addr
        if addr not in names:
            try:
                names[addr] = f"{socket.gethostbyaddr(addr)[0]} ({addr})"
            except OSError:
                names[addr] = f"{addr} ({addr})"
        return names[addr]

    if not args.json:
        print(
            f"traceroute to {t.name} ({t.address}), {args.max_hops} hops max, {plen} byte packets", flush=True
        )

    def on_hop(h: Hop) -> None:
        if args.json:
            return
        print(h.line(name, lambda ms: f"{ms:.3f}"), flush=True)

    if args.method == "icmp":
        opts = PingOptions(
            timeout=wait,
            size=size,
            family=args.family,
            source=args.iface,
            pmtu="probe" if args.dont_fragment else None,
        )
        shortened: set[int] = set()

        def short(h: Hop) -> None:  # trace()'s notes are in iputils words; traceroute's are short
            if id(h) not in shortened:
                shortened.add(id(h))
                h.probes = [(a, r, _short(n)) for a, r, n in h.probes]

        def short_then_print(h: Hop) -> None:
            short(h)
            on_hop(h)

        hops = trace(
            args.host,
            opts,
            max_hops=args.max_hops,
            queries=args.queries,
            on_hop=short_then_print,
            first=args.first,
            parallel=args.parallel,
        )
        for h in hops:
            short(h)
    else:
        port = args.port if args.port is not None else (53 if args.method == "udp-fixed" else None)
        hops = trace_l4(
            t,
            "tcp" if args.method == "tcp" else "udp",
            first=args.first,
            max_hops=args.max_hops,
            queries=args.queries,
            wait=wait,
            port=port,
            size=size,
            source=args.iface,
            on_hop=on_hop,
            parallel=args.parallel,
            dont_fragment=args.dont_fragment,
        )
    if args.json:
        doc = {
            "target": t.name,
            "address": t.address,
            "method": "udp" if args.method == "udp-fixed" else args.method,
            "reached": bool(hops) and hops[-1].reached,
            "hops": [
                {"ttl": h.ttl, "probes": [{"from": a, "rtt_ms": r, "note": n} for a, r, n in h.probes]}
                for h in hops
            ],
        }
        json.dump(doc, sys.stdout, indent=1)
        print()
    return 0


def _short(note: str) -> str:
    """trace()'s iputils wording -> traceroute's annotation."""
    table = {
        "Destination Host Unreachable": "H",
        "Destination Net Unreachable": "N",
        "Destination Protocol Unreachable": "P",
        "Packet filtered": "X",
        "Destination unreachable: Administratively prohibited": "X",
        "Destination unreachable: Address unreachable": "H",
        "Destination unreachable: No route": "N",
    }
    import re

    m = re.fullmatch(r"Frag needed and DF set \(mtu = (\d+)\)|Packet too big: mtu=(\d+)", note or "")
    if m:
        return f"F-{m.group(1) or m.group(2)}"
    return table.get(note, note and "?")
