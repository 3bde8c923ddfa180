"""Run the real `sniffer` CLI in a subprocess (optionally inside a test namespace)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sniffer_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "sniffer", *args]


def sniffer_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_sniffer(
    *args: str, ns: str | None = None, input: bytes | None = None, timeout: float = 120, check: bool = False
) -> subprocess.CompletedProcess[bytes]:
    argv = sniffer_argv(*args)
    if ns:
        argv = ["ip", "netns", "exec", ns, *argv]
    return subprocess.run(
        argv, input=input, capture_output=True, timeout=timeout, env=sniffer_env(), cwd=ROOT, check=check
    )
