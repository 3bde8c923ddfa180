"""argparse front door. Subcommands live in sniffer/commands/, one module each, discovered at start.

A command module defines ``add_parser(sub)`` (which registers its subparser and sets ``func`` to a
callable taking the parsed args and returning an exit status) and keeps heavy imports (scapy,
textual) inside that callable, so ``sniffer --help`` and the summary path stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from sniffer import __version__
from sniffer.errors import SnifferError

#: the command run when `sniffer` is given no subcommand, if it exists
DEFAULT_COMMAND = "demo"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: the message and where to look, not the whole usage block
    (subparsers are made with the parent's class, so every command gets it)."""

    def error(self, message: str) -> NoReturn:
        if len(message) > 300:  # a huge bad value is not echoed whole
            message = message[:300] + "..."
        where = self.prog.partition(" ")[2]  # the subcommand, if any
        self.exit(2, f"sniffer: {where + ': ' if where else ''}{message} (see '{self.prog} --help')\n")


COMMANDS_BY_FEATURE = """\
commands by feature:
  watch live traffic   tui, demo, capture, interfaces
  read capture files   read, stats, follow, tui FILE
  datasets             export, sql
  reachability         ping (iputils' options, -R/-T, --trace), fping, traceroute (-I/-U/-T, -N)
  multicast            mcast join | send | groups | watch | doctor
  make traffic         gen (clients, servers, verify), replay (tcpreplay/tcprewrite), unix-relay
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or only with ``only`` (the one being run: faster start)."""
    parser = _Parser(
        prog="sniffer",
        description="Packet capture and raw-socket analyzer: live TUI, pcap/pcapng, ping, multicast, "
        "traffic generators, replay.",
        epilog=COMMANDS_BY_FEATURE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sniffer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only is not None:
        names = [only]
    else:
        import pkgutil

        import sniffer.commands as commands

        names = sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))
    for name in names:
        module = importlib.import_module(f"sniffer.commands.{name}")
        add = getattr(module, "add_parser", None)
        if add is not None:
            add(sub)
    return parser


def _command_module(args: list[str]) -> str | None:
    """The module of the subcommand named first in ``args`` if there is one, else None (all)."""
    if not args or args[0].startswith("-"):
        return None
    import sniffer.commands as commands

    name = args[0].replace("-", "_")
    # a file check, not pkgutil (which imports inspect): this runs before every command's first output
    if name.startswith("_") or not any(
        os.path.exists(os.path.join(d, f"{name}.py")) for d in commands.__path__
    ):
        return None
    return name


def error(message: str) -> None:
    """Print one diagnostic line on stderr."""
    print(f"sniffer: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_module(args_list))
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help", "--version")):
        choices = getattr(parser._subparsers, "_group_actions", [None])[0]
        if choices is not None and DEFAULT_COMMAND in getattr(choices, "choices", {}):
            args_list.insert(0, DEFAULT_COMMAND)
    args = parser.parse_args(args_list)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except SnifferError as exc:
        error(str(exc))
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader of our stdout went away (| head): exit quietly like tcpdump does
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except OSError as exc:  # e.g. stdout on a full disk: one line, and no second error at exit
        what = f"{exc.filename}: " if exc.filename else "cannot write the output: "
        error(f"{what}{exc.strerror or exc}")
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
