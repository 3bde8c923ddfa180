"""What the test suite needs from the machine, checked before it runs under CI (CI=true).

Run by `.ci/run` (before pytest) and by tests/conftest.py at session start when CI=true: a missing
tool or a missing root fails the run with one line naming what is missing, instead of letting the
tests that need it skip. Usage: ``python tests/preflight.py`` (exit 1 and the line when something
is missing).
"""

from __future__ import annotations

import os
import shutil
import sys

#: program -> what the tests use it for
TOOLS = {
    "tshark": "the decoding and filter oracle",
    "mergecap": "the filter oracle's merged capture",
    "tcpdump": "capture and HTTP/TLS comparisons",
    "nft": "generator tests that drop packets with nftables",
    "tmux": "the TUI run in a real terminal",
    "openssl": "the TLS server of the HTTP/TLS tests",
    "socat": "the stdlib/system peer tests",
    "ip": "network namespaces (iproute2)",
    "fping": "the fping side-by-side tests",
    "traceroute": "the traceroute side-by-side tests",
    "tcprewrite": "the replay rewriting comparisons (package tcpreplay)",
    "sshd": "the remote-capture tests: an OpenSSH server in a test namespace",
    "ssh": "the remote-capture tests: the OpenSSH client",
    "ssh-keygen": "the remote-capture tests' throwaway key",
}


def missing() -> list[str]:
    """One entry per missing need, e.g. "tshark (the decoding and filter oracle)"."""
    out = [] if os.geteuid() == 0 else ["root (capture, namespaces and nftables tests; run as root)"]
    out += [f"{prog} ({why})" for prog, why in TOOLS.items() if shutil.which(prog) is None]
    return out


def message(gone: list[str]) -> str:
    return "sniffer CI preflight: missing " + "; ".join(gone) + " (scripts/bootstrap.sh installs the tools)"


def main() -> int:
    gone = missing()
    if gone:
        print(message(gone), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
