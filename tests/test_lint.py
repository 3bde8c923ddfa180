"""ruff (lint and format) and mypy stay clean: the same checks the README's test command runs in CI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/bootstrap.sh (it installs the test extra)")
    return [found]


@pytest.mark.parametrize(
    "args",
    [
        ["ruff", "check", "sniffer", "tests", "bench"],
        ["ruff", "format", "--check", "sniffer", "tests", "bench"],
    ],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff(args: list[str]) -> None:
    out = subprocess.run([*_tool(args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy() -> None:
    out = subprocess.run(_tool("mypy"), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
