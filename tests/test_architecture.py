"""The shape of the house: imports point toward the leaves (import-linter contracts in pyproject.toml,
relative and function-level imports included), and the headless paths stay light."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    """[tool.importlinter] in pyproject.toml: layers ui > model > decode > capture > sniffer.frame,
    decode imports no capture module, model none but the store's file reader, only ui imports
    textual, gen never imports ui and the core never imports gen, gen.core (sans-IO) opens no
    socket, gen's rooms are layers (traffic > ping | mcast > core), capture uses no scapy/dpkt."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is not installed (pip install -e '.[test]')"
    r = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr
    assert "0 broken" in r.stdout and "Contracts: 10 kept" in r.stdout, r.stdout[-2000:]


def test_cli_help_does_not_import_textual_or_scapy() -> None:
    code = (
        "import sys\n"
        "from sniffer.cli import build_parser\n"
        "build_parser()\n"
        "print(','.join(m for m in ('textual', 'scapy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
