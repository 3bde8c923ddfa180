"""`sniffer stats FILE`: protocol hierarchy, conversations, endpoints and I/O rate of a capture."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sniffer.errors import PcapFormatError, SnifferError, UsageError

if TYPE_CHECKING:
    from sniffer.frame import Frame

KINDS = ("eth", "ip", "ipv6", "tcp", "udp")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "stats",
        help="statistics of a capture: protocol hierarchy, conversations, endpoints, I/O rate",
        description="Statistics like Wireshark's Statistics menu (tshark -z io,phs / conv / endpoints / io,stat). "
        "Without a selection: a summary, the protocol hierarchy and the IPv4, IPv6, TCP and UDP conversations.",
    )
    p.add_argument("file", help="capture file (pcap or pcapng), or - for standard input")
    p.add_argument("--phs", action="store_true", help="protocol hierarchy statistics")
    p.add_argument(
        "--conv", action="append", choices=KINDS, metavar="KIND", help=f"conversations: {', '.join(KINDS)}"
    )
    p.add_argument(
        "--endpoints", action="append", choices=KINDS, metavar="KIND", help=f"endpoints: {', '.join(KINDS)}"
    )
    p.add_argument("--io", type=float, metavar="SECONDS", help="frames and bytes per interval of SECONDS")
    p.add_argument(
        "--expert",
        action="store_true",
        help="expert information like tshark -q -z expert (the TCP analysis items: retransmissions, "
        "duplicate ACKs, zero windows, connection setup and teardown...; IPv4 TTL notes, bad ICMP checksums, "
        "HTTP request/status lines, malformed packets...)",
    )
    p.add_argument("-Y", dest="filter", metavar="FILTER", help="count only packets matching a display filter")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sniffer.capture.pcapfile import open_capture
    from sniffer.model import stats as st

    if args.io is not None and args.io <= 0:
        raise UsageError("stats: --io needs an interval > 0 seconds")
    flt = None
    if args.filter:
        from sniffer.model.filters import compile_filter

        flt = compile_filter(args.filter)
    everything = not (args.phs or args.conv or args.endpoints or args.io or args.expert)
    expert = scan = None
    if args.expert:  # the TCP analysis sees every frame, in order (before the filter)
        from sniffer.model.expert import ExpertScan
        from sniffer.model.tcpanalysis import ExpertTally

        expert, scan = ExpertTally(), ExpertScan()
    # only --expert (and -Y): no conversations nor hierarchy to count
    counting = everything or bool(args.phs or args.conv or args.endpoints or args.io)
    need_fields = args.phs or everything  # the hierarchy needs frame.protocols
    phs_only = args.phs and not (args.conv or args.endpoints or args.io or args.expert)
    protocols_of: Callable[[Frame], tuple[str, str]] | None = None
    if need_fields:
        from sniffer.decode.fields import frame_protocols as protocols_of

    name = "<stdin>" if args.file == "-" else args.file
    stats = st.Statistics()
    try:
        with open_capture(args.file) as reader:
            from sniffer.commands import warn_unknown_linktypes

            warn_unknown_linktypes(reader, name)
            if phs_only and flt is None and protocols_of is not None:  # the hierarchy alone is shown
                stats.add_hierarchy_frames(reader, protocols_of, io=False)
            for n, fr in enumerate(() if phs_only and flt is None else reader, 1):
                protocols = malformed = None
                if scan is not None:
                    found = scan.feed(n, fr)[0]  # (decoded whole only where items may be)
                if flt is not None and not flt.matches_frame(fr, n):
                    continue  # decodes only what the filter needs (and numbers streams as tshark does)
                if protocols_of is not None:
                    # the hierarchy needs frame.protocols: from the fast path when it takes the packet,
                    # else from a dissection that builds no frame.* / _ws.* fields nor columns
                    protocols, why = protocols_of(fr)
                    malformed = "_ws.malformed" if why else None
                if phs_only:  # the hierarchy and the totals: no walk of the addresses and ports
                    stats.add_phs(fr, protocols or "", malformed)
                elif counting:
                    stats.add(n, fr, protocols, malformed)
                if expert is not None:
                    expert.add_items(found)
    except PcapFormatError as exc:
        raise PcapFormatError(f"{name}: {exc.args[0] if exc.args else exc}", exc.offset) from None
    except OSError as exc:
        raise SnifferError(f"{name}: {exc.strerror or exc}") from None

    parts: list[str] = []
    if everything:
        parts.append(
            f"File: {name}\nPackets: {stats.frames}\nBytes: {stats.bytes}\nDuration: {stats.duration:.6f} s\n"
            + (f"Filter: {args.filter}\n" if args.filter else "")
        )
    if args.phs or everything:
        parts.append(st.format_hierarchy(stats))
    for kind in args.conv or (("ip", "ipv6", "tcp", "udp") if everything else ()):
        parts.append(st.format_conversations(stats, kind))
    for kind in args.endpoints or ():
        parts.append(st.format_endpoints(stats, kind))
    if args.io:
        parts.append(st.format_io(stats, args.io))
    if expert is not None:
        parts.append(expert.format())
    sys.stdout.write("\n".join(parts))
    sys.stdout.flush()
    return 0
