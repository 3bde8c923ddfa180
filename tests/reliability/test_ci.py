"""Checks that can fail: under CI=true a missing tool or root fails the run, with a line naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def _path_without(tmp_path: Path, prog: str) -> str:
    """A PATH holding every tool preflight checks except ``prog`` (symlinks), plus the interpreter."""
    sys.path.insert(0, str(TESTS))
    import preflight

    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for p in preflight.TOOLS:
        where = shutil.which(p)
        if p != prog and where:
            (bin_ / p).symlink_to(where)
    return str(bin_)


def test_preflight_names_a_missing_tshark(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=_path_without(tmp_path, "tshark"), CI="true")
    r = subprocess.run([sys.executable, str(TESTS / "preflight.py")], capture_output=True, text=True, env=env)
    assert r.returncode == 1
    assert r.stderr.startswith("sniffer CI preflight: missing tshark (") and r.stderr.count("\n") == 1


@pytest.mark.root
def test_preflight_names_a_missing_root() -> None:
    r = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            str(TESTS / "preflight.py"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and "missing root" in r.stderr, r.stderr


def _pytest_ci(tmp_path: Path, body: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run pytest with CI=true and the suite's conftest on one small test file."""
    t = tmp_path / "test_probe.py"
    t.write_text(body)
    env = dict(os.environ, CI="true", PYTHONPATH=str(TESTS))
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-q", "-p", "no:cacheprovider", str(t),
         "--rootdir", str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip


def test_under_ci_a_missing_tool_fails_the_run(tmp_path: Path) -> None:
    r = _pytest_ci(tmp_path, "def test_x():\n    pass\n", path=_path_without(tmp_path, "tshark"))
    assert r.returncode != 0 and "sniffer CI preflight: missing tshark" in r.stdout + r.stderr


def test_under_ci_a_skip_for_a_tool_is_a_failure(tmp_path: Path) -> None:
    body = (
        "import pytest\n"
        "@pytest.mark.skipif(True, reason='tshark not installed')\n"
        "def test_mark():\n    pass\n"
        "def test_call():\n    pytest.skip('needs root, tcpdump and openssl')\n"
        "def test_not_a_need():\n    pytest.skip('this kernel has vsock loopback')\n"
    )
    r = _pytest_ci(tmp_path, body)
    assert r.returncode == 1 and "1 failed, 1 skipped, 1 error" in r.stdout, r.stdout
    body = "import pytest\npytest.skip('tcpdump not installed', allow_module_level=True)\n"
    r = _pytest_ci(tmp_path, body)
    assert r.returncode != 0 and "1 error" in r.stdout, r.stdout  # a collection error stops the run
