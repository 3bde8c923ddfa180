"""`sniffer tui`: the terminal UI over a live capture (-i), a capture file (-r) or a file played back (--speed)."""

from __future__ import annotations

import argparse
import os
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "tui",
        help="terminal UI: live capture or a capture file, Wireshark-like",
        description="Browse packets in a terminal UI: packet list, detail tree, hex view, display filters.",
    )
    add_source_args(p)
    p.set_defaults(func=run)


def add_source_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "-i",
        "--interface",
        action="append",
        metavar="IFACE",
        help="capture live on IFACE (repeatable; ssh://[USER@]HOST/IFACE: on a remote host over OpenSSH)",
    )
    src.add_argument(
        "-r",
        "--read",
        action="append",
        metavar="FILE",
        help="open a pcap/pcapng file ('-' or a FIFO for a stream); several -r, a DIR or a quoted GLOB "
        "(a ring of capture -C/-G files) open as one capture in time order",
    )
    p.add_argument("-f", "--capture-filter", metavar="BPF", help="capture filter (BPF syntax) for -i")
    p.add_argument("-Y", "--display-filter", metavar="FILTER", default="", help="initial display filter")
    p.add_argument(
        "--follow", action="store_true", help="with -r: keep reading as the file grows (like tail -f)"
    )
    p.add_argument(
        "--speed",
        metavar="X",
        help="with -r: play the file back in recorded time at X times (1, 2, 0.5, or max)",
    )
    p.add_argument("-s", "--snaplen", type=int, default=262144, help="bytes to keep per packet (live)")
    p.add_argument("--netns", metavar="NS", help="capture inside network namespace NS (live)")


def parse_speed(text: str | None) -> float | None:
    from sniffer.errors import UsageError

    if text is None:
        return None
    if text.lower() in ("max", "0", "inf"):
        return 0.0
    try:
        v = float(text.rstrip("x"))
    except ValueError:
        raise UsageError(f"--speed: expected a number or 'max', got {text!r}") from None
    if v <= 0:
        raise UsageError("--speed must be greater than 0 (or 'max')")
    return v


def build_app(args: argparse.Namespace, notice: str = "", owned: list[object] | None = None) -> Any:
    """The app for parsed ``tui`` arguments (sources opened, so errors surface before the UI starts)."""
    from sniffer.errors import UsageError
    from sniffer.model.store import PacketStore
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.sources import LiveCaptureSource, open_file_source

    speed = parse_speed(args.speed)
    if args.interface:
        if args.follow or speed is not None:
            raise UsageError("--follow and --speed apply to -r FILE, not to live capture")
        store = PacketStore(spool=True)
        if any(i.startswith("ssh://") for i in args.interface):  # remote hosts over OpenSSH
            from sniffer.ui.remote import RemoteSource

            if not all(i.startswith("ssh://") for i in args.interface) or args.netns:
                raise UsageError(
                    "give either local interfaces or ssh:// remote ones, not both (and no --netns)"
                )
            remote = RemoteSource(args.interface, store, bpf=args.capture_filter, snaplen=args.snaplen)
            remote.open()
            return SnifferApp(
                store, remote, display_filter=args.display_filter, notice=notice, live=True, owned=owned or []
            )
        live = LiveCaptureSource(
            args.interface, store, bpf=args.capture_filter, snaplen=args.snaplen, netns=args.netns
        )
        live.open()
        return SnifferApp(
            store, live, display_filter=args.display_filter, notice=notice, live=True, owned=owned or []
        )
    if not args.read:
        raise UsageError("give a source: -i IFACE for live capture or -r FILE (see 'sniffer tui -h')")
    if args.capture_filter:
        raise UsageError("-f (capture filter) applies to live capture; use -Y for a display filter on a file")
    store, source = open_file_source(args.read, follow=args.follow, speed=speed)
    return SnifferApp(
        store,
        source,
        display_filter=args.display_filter,
        notice=notice,
        live=speed is not None or args.follow,
        owned=owned or [],
    )


def keys_from_terminal() -> None:
    """Textual reads keys from fd 0. When stdin is not a terminal (``cat FILE | sniffer tui -r -``: stdin
    is the capture), the capture moves to a new descriptor (``sys.stdin``, where ``-r -`` reads it) and fd 0
    becomes the controlling terminal, /dev/tty. Without a terminal: one error line, non-zero exit."""
    import io
    import sys

    from sniffer.errors import UsageError

    try:
        if os.isatty(0):
            return
    except OSError:
        pass
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(
            f"the TUI reads keys from a terminal and there is none (/dev/tty: {exc.strerror or exc}); "
            "without a terminal use 'sniffer read -r -'"
        ) from None
    try:
        capture = os.dup(0)  # the pipe (or file) given on stdin
    except OSError:
        capture = -1
    os.dup2(tty, 0)
    os.close(tty)
    if capture >= 0:
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(capture, "rb")))


def run(args: argparse.Namespace) -> int:
    app = build_app(args)  # bad arguments and files are reported first
    keys_from_terminal()
    app.run()
    return app.return_code or 0
