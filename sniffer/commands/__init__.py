"""Subcommands: one module per `sniffer` subcommand, each with add_parser(sub) and run(args)."""

from __future__ import annotations

import sys
from typing import Any


def warn_unknown_linktypes(reader: Any, name: str) -> None:
    """One stderr line per link type of the file that sniffer has no decoder for. libpcap opens such
    files and returns their packets (tcpdump then refuses to print unknown ones, tshark refuses the
    file); sniffer does as libpcap does, shows the packets as raw data, and says so once."""
    from sniffer.decode import engine  # noqa: F401  (importing the decoders fills LINKTYPES)
    from sniffer.decode.core import LINKTYPES

    seen: set[int] = set()
    for itf in getattr(reader, "interfaces", ()):
        lt = itf.linktype
        if lt not in LINKTYPES.map and lt not in seen:
            seen.add(lt)
            print(
                f"sniffer: {name}: link type {lt} has no decoder here: its packets are shown as raw data "
                "(libpcap reads the file too; tcpdump and tshark refuse unknown link types)",
                file=sys.stderr,
                flush=True,
            )
