"""Run `sniffer capture` as a background process (optionally as another user) for the capture tests."""

from __future__ import annotations

import subprocess
import time

from helpers.cli import ROOT, sniffer_argv, sniffer_env


def capture_env() -> dict[str, str]:
    return sniffer_env()


def start_capture(
    *args: str, prefix: tuple[str, ...] = (), wait_banner: bool = True
) -> subprocess.Popen[bytes]:
    """Start `sniffer capture ARGS` and wait until it listens (its banner on stderr)."""
    proc = subprocess.Popen(
        [*prefix, *sniffer_argv("capture", *args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=capture_env(),
        cwd=ROOT,
        bufsize=0,  # unbuffered: communicate() later must see every byte after the banner
    )
    if wait_banner:
        assert proc.stderr is not None
        deadline = time.monotonic() + 20
        line = proc.stderr.readline()
        while b"listening on" not in line:
            if not line or time.monotonic() > deadline:
                _out, err = proc.communicate(timeout=10)
                raise RuntimeError(f"capture did not start: {line!r} {err!r}")
            line = proc.stderr.readline()
        proc.banner = line.decode()  # type: ignore[attr-defined]
    return proc


def run_capture(
    *args: str, prefix: tuple[str, ...] = (), timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*prefix, *sniffer_argv("capture", *args)],
        capture_output=True,
        env=capture_env(),
        cwd=ROOT,
        timeout=timeout,
    )
