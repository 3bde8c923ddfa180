"""Shared fixtures. Root-only tests run in CI (which is root); elsewhere they skip. Under CI=true a
test that cannot run for want of root or a tool (tshark, tcpdump, nftables, tmux ...) FAILS: the
session starts with tests/preflight.py (one line naming what is missing), a root-marked test fails
outright, and any skip whose reason names root or a tool, at collection (module-level skips) or at
setup (skipif marks), is turned into a failure."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Generator
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
sys.path.insert(0, str(ROOT / "tests"))

IS_ROOT = os.geteuid() == 0
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Property tests: in CI the examples are derived from the test (the same every run, so a landing is
# never decided by a lucky draw) and no per-example deadline applies (the machine is shared).
# Elsewhere hypothesis explores new random examples each run, which is how new cases get found.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if IN_CI else "dev")


#: a skip reason that means "this machine lacks something CI must have" (under CI: a failure)
NEEDS = re.compile(
    r"root|tshark|mergecap|tcpdump|nftables|\bnft\b|tmux|openssl|socat|libpcap|oracle|not installed"
    r"|could not import 'sniffer\.|no writer yet",
    re.IGNORECASE,
)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not IN_CI:
        return
    import preflight

    gone = preflight.missing()
    if gone:
        pytest.exit(preflight.message(gone), returncode=1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IS_ROOT:
        return
    for item in items:
        if item.get_closest_marker("root") and not IN_CI:
            item.add_marker(pytest.mark.skip(reason="needs root"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if IN_CI and not IS_ROOT and item.get_closest_marker("root"):
        pytest.fail("CI must run as root: this test needs root and cannot run", pytrace=False)


def _ci_fail_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Under CI, turn a skip for want of root or a tool into a failure (reason kept)."""
    if not (IN_CI and report.skipped) or getattr(report, "wasxfail", None) is not None:
        return
    lr = report.longrepr
    reason = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr)
    if NEEDS.search(reason):
        report.outcome = "failed"
        report.longrepr = f"CI=true: a skip for want of something CI must have is a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    outcome = yield
    _ci_fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None]:
    outcome = yield
    _ci_fail_skip(outcome.get_result())


@pytest.fixture
def corpus() -> Path:
    return CORPUS


@pytest.fixture
def netns_pair():  # type: ignore[no-untyped-def]
    from helpers.netns import netns_pair as make

    with make() as pair:
        yield pair


@pytest.fixture
def sniffer_cli():  # type: ignore[no-untyped-def]
    from helpers.cli import run_sniffer

    return run_sniffer
