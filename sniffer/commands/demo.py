"""`sniffer demo` (also plain `sniffer`): the TUI on loopback with self-generated traffic, or the bundled capture."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sniffer.commands.tui import add_source_args

BUNDLED = Path(__file__).resolve().parents[2] / "captures" / "zeek__wikipedia.pcap"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="the TUI sniffing loopback while it sends itself TCP, UDP, ICMP and multicast (the default command)",
        description="Open the TUI on loopback and generate a small, bounded mix of TCP, UDP, ICMP and "
        "multicast traffic there, so packets show up at once. Without root, open the bundled capture. "
        "With -i or -r it behaves like 'sniffer tui'.",
    )
    add_source_args(p)
    p.add_argument("--no-traffic", action="store_true", help="sniff loopback without generating traffic")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between traffic rounds (default 0.5)")
    p.set_defaults(func=run)


def build_demo_app(args: argparse.Namespace) -> Any:
    """The demo app: live on lo with traffic, or the bundled capture when live capture is not possible."""
    from sniffer.commands.tui import build_app
    from sniffer.errors import CaptureError, PrivilegeError, SnifferError, UsageError

    if args.interface or args.read:
        return build_app(args)
    if args.speed or args.follow:
        raise UsageError("--speed and --follow need -r FILE")
    live = argparse.Namespace(**{**vars(args), "interface": ["lo"]})
    traffic = None
    if not args.no_traffic:
        from sniffer.ui.demotraffic import DemoTraffic

        traffic = DemoTraffic(interval=max(0.05, args.interval))
    try:
        app = build_app(
            live,
            notice="demo traffic on lo",
            owned=[traffic] if traffic else [],
        )
    except (PrivilegeError, CaptureError) as exc:
        if not BUNDLED.exists():
            raise SnifferError(f"{exc}; and the bundled capture {BUNDLED} is missing") from None
        fallback = argparse.Namespace(**{**vars(args), "read": str(BUNDLED), "interface": None})
        why = "not root" if isinstance(exc, PrivilegeError) else "live capture unavailable"
        return build_app(
            fallback, notice=f"{why}: showing the bundled {BUNDLED.name} (run as root for live loopback)"
        )
    if traffic is not None:
        traffic.start()
    return app


def run(args: argparse.Namespace) -> int:
    from sniffer.commands.tui import keys_from_terminal

    app = build_demo_app(args)  # bad arguments and files are reported first
    keys_from_terminal()
    app.run()
    return app.return_code or 0
