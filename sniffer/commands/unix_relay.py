"""`sniffer unix-relay`: relay an AF_UNIX client to its server and record the conversation to pcapng."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "unix-relay",
        help="relay AF_UNIX traffic (listen on A, connect to B) and record it to pcapng as TCP/UDP",
        description="Sit between an AF_UNIX client and its server: clients connect to --listen, the relay "
        "connects to --connect, passes bytes both ways and writes every connection to pcapng as a "
        "synthesized TCP conversation (127.0.0.1:<port> -> 127.0.0.2:5000; datagrams as UDP), so "
        "'sniffer read', the TUI and tshark's follow stream show it. Prefix a name with @ for the "
        "abstract namespace.",
    )
    p.add_argument("--listen", required=True, metavar="A", help="path (or @name) clients connect to")
    p.add_argument("--connect", required=True, metavar="B", help="path (or @name) of the real server")
    p.add_argument("--type", choices=("stream", "seqpacket", "dgram"), default="stream")
    p.add_argument("-w", "--write", required=True, metavar="FILE", help="pcapng output ('-' for stdout)")
    p.add_argument("-d", "--duration", type=float, default=300.0, help="stop after this many seconds (300)")
    p.add_argument("-c", "--count", type=int, default=None, help="stop after this many connections end")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def _addr(text: str) -> str:
    return "\0" + text[1:] if text.startswith("@") else text


def run(args: argparse.Namespace) -> int:
    import json
    import signal

    from sniffer.gen.traffic.unixrelay import run_relay

    stopped = {"flag": False}

    def on_term(signum: int, frame: Any) -> None:
        stopped["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def event(msg: str) -> None:
        print(f"unix-relay: {msg}", file=sys.stderr, flush=True)

    stats = run_relay(
        _addr(args.listen),
        _addr(args.connect),
        args.type,
        args.write,
        args.duration,
        args.count,
        stop=lambda: stopped["flag"],
        on_event=event,
    )
    out = sys.stderr if args.write == "-" else sys.stdout
    d = stats.as_dict()
    if args.json:
        print(json.dumps(d), file=out)
    else:
        print(" ".join(f"{k}={v}" for k, v in d.items() if k != "errors"), file=out)
    return 0
