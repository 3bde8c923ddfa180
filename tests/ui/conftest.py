"""Fixtures for the TUI tests: deterministic captures and an app factory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.tui_pcapgen import write_pcap

ROOT = Path(__file__).resolve().parents[2]
WIKIPEDIA = ROOT / "captures" / "zeek__wikipedia.pcap"


@pytest.fixture(scope="session")
def mixed_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 deterministic packets (UDP, TCP, ICMP)."""
    return write_pcap(tmp_path_factory.mktemp("tui") / "mixed.pcap", 500)


@pytest.fixture
def make_app() -> Callable[..., object]:
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.sources import open_file_source

    def make(path: Path | str, **kw: object) -> SnifferApp:
        store, source = open_file_source(str(path), speed=kw.pop("speed", None))  # type: ignore[arg-type]
        return SnifferApp(store, source, **kw)  # type: ignore[arg-type]

    return make


async def wait_until(pilot: object, cond: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until ``cond()`` holds (fails the test after ``timeout`` seconds)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _own_profile(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets an empty column profile: never the user's ~/.config, never another test's."""
    monkeypatch.setenv("SNIFFER_CONFIG_DIR", str(tmp_path_factory.mktemp("profile")))
