"""The shape of the house: imports point toward the leaves, and the headless paths stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "sniffer"

# layer -> packages it must never import
FORBIDDEN = {
    "capture": ("sniffer.ui", "sniffer.model", "sniffer.gen", "sniffer.decode", "textual", "scapy"),
    "decode": ("sniffer.ui", "sniffer.model", "sniffer.gen", "sniffer.capture", "textual"),
    "model": ("sniffer.ui", "sniffer.gen", "textual"),
    "gen": ("sniffer.ui", "textual"),
    # export/sql: readers, decode and model in, Parquet/DuckDB/Dask out; never the TUI or the generators
    "dataset": ("sniffer.ui", "sniffer.gen", "textual"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_import_toward_the_leaves() -> None:
    bad = []
    for layer, forbidden in FORBIDDEN.items():
        for path in (PKG / layer).rglob("*.py"):
            for name in _imports(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    bad.append(f"{path.relative_to(PKG.parent)} imports {name}")
    assert bad == []


def test_only_ui_imports_textual() -> None:
    bad = [
        str(p.relative_to(PKG.parent))
        for p in PKG.rglob("*.py")
        if "ui" not in p.relative_to(PKG).parts[:1]
        and any(n == "textual" or n.startswith("textual.") for n in _imports(p))
    ]
    assert bad == []


def test_cli_help_does_not_import_textual_or_scapy() -> None:
    code = (
        "import sys\n"
        "from sniffer.cli import build_parser\n"
        "build_parser()\n"
        "print(','.join(m for m in ('textual', 'scapy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
