"""`sniffer follow FILE tcp|udp N`: the reassembled payload of one stream, like Wireshark's Follow Stream."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sniffer.errors import PcapFormatError, SnifferError, UsageError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "follow",
        help="follow a TCP or UDP stream: its payload in order, both directions",
        description="Print the payload of TCP or UDP stream N (numbered like Wireshark's tcp.stream / "
        "udp.stream; see 'sniffer stats --conv tcp'), reassembled in sequence order, in the format of "
        "'tshark -q -z follow,PROTO,MODE,N'. Data from the second node is indented by a tab.",
    )
    p.add_argument("file", help="capture file (pcap or pcapng), or - for standard input")
    p.add_argument("proto", choices=("tcp", "udp"), help="tcp or udp")
    p.add_argument("stream", type=int, help="stream number (tcp.stream / udp.stream)")
    p.add_argument(
        "--mode",
        choices=("ascii", "hex", "raw"),
        default="ascii",
        help="ascii (default), hex dump, or raw hex",
    )
    p.add_argument(
        "--bytes", action="store_true", help="write only the payload bytes, both directions in order"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sniffer.capture.pcapfile import open_capture
    from sniffer.model.flows import FlowIndex, follow, format_follow

    if args.stream < 0:
        raise UsageError("follow: the stream number must be >= 0")
    name = "<stdin>" if args.file == "-" else args.file
    try:
        with open_capture(args.file) as reader:
            from sniffer.commands import warn_unknown_linktypes

            warn_unknown_linktypes(reader, name)
            result = follow(reader, args.proto, args.stream)
        if result is None:
            count = 0
            if args.file != "-":
                idx = FlowIndex(keep_numbers=False)
                with open_capture(args.file) as reader:
                    for n, fr in enumerate(reader, 1):
                        idx.add(n, fr)
                count = len(idx.flows(args.proto))
            have = f"it has {count} {args.proto} stream{'s' if count != 1 else ''}" + (
                f" (0-{count - 1})" if count > 1 else ""
            )
            raise SnifferError(f"{name}: no {args.proto} stream {args.stream}; {have}")
    except PcapFormatError as exc:
        raise PcapFormatError(f"{name}: {exc.args[0] if exc.args else exc}", exc.offset) from None
    except OSError as exc:
        raise SnifferError(f"{name}: {exc.strerror or exc}") from None
    if args.bytes:
        sys.stdout.buffer.write(b"".join(c for _, c in result.chunks))
        sys.stdout.buffer.flush()
        return 0
    sys.stdout.write(format_follow(result, args.mode))
    sys.stdout.flush()
    return 0
