"""Fixtures for the panel tests: the app on a capture, crafted captures with generator tags and mcast streams."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.tui_pcapgen import PCAP_HDR, REC, ether, ipv4, udp

ROOT = Path(__file__).resolve().parents[2]
WIKIPEDIA = ROOT / "captures" / "zeek__wikipedia.pcap"
IGMP = ROOT / "captures" / "zeek__igmp__igmp.pcap"
DNS_UDP = ROOT / "tests" / "corpus" / "captures" / "tcpdump__dns_udp.pcap"
SIZE = (120, 40)
T0 = 1_700_000_000

# generated flows in the crafted capture: flow id -> (seqs present, LAST seq or None)
GEN_FLOWS = {
    0x0A0B0C0D: ([s for s in range(10) if s not in (3, 4, 7)], 9),
    0x11223344: (list(range(5)), 4),
}
# multicast test stream: seqs sent, of 20 announced (5, 6 and 12 lost; 19 carries FLAG_LAST)
MC_GROUP, MC_PORT, MC_SEQS = "239.1.2.3", 5000, [s for s in range(20) if s not in (5, 6, 12)]


def write_records(path: Path, frames: list[bytes], step_us: int = 1000) -> Path:
    with open(path, "wb") as f:
        f.write(PCAP_HDR)
        for i, fr in enumerate(frames):
            us = i * step_us
            f.write(REC.pack(T0 + us // 1_000_000, us % 1_000_000, len(fr), len(fr)) + fr)
    return path


@pytest.fixture(scope="session")
def gen_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two generated UDP flows (tags from gen/core/payload.py), one with seqs 3, 4 and 7 missing, plus noise."""
    from sniffer.gen.core.payload import FLAG_LAST, build_payload

    frames = [ether(ipv4("127.0.0.1", "127.0.0.1", 17, udp(1111, 53, b"not generated")))]
    for k, (fid, (seqs, last)) in enumerate(GEN_FLOWS.items()):
        for s in seqs:
            pl = build_payload(fid, s, 64, ts_ns=T0 * 10**9 + s, flags=FLAG_LAST if s == last else 0)
            frames.append(ether(ipv4("127.0.0.1", "127.0.0.2", 17, udp(40000 + k, 9000, pl), s)))
    return write_records(tmp_path_factory.mktemp("panels") / "gen.pcap", frames)


@pytest.fixture(scope="session")
def mcast_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `sniffer mcast send`-style stream (test header from model/multicast.py) with 3 datagrams lost."""
    from sniffer.model.multicast import FLAG_LAST, StreamHeader, pack_header

    frames = []
    for s in MC_SEQS:
        h = StreamHeader(sender=0x5EED, seq=s, ts_ns=T0 * 10**9 + s * 10**6, start_ns=T0 * 10**9, count=20,
                         flags=FLAG_LAST if s == 19 else 0)  # fmt: skip
        frames.append(
            ether(ipv4("10.0.0.1", MC_GROUP, 17, udp(4321, MC_PORT, pack_header(h, 100)), s, ttl=1))
        )
    return write_records(tmp_path_factory.mktemp("panels") / "mcast.pcap", frames)


@pytest.fixture
def make_app() -> Callable[..., object]:
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.sources import open_file_source

    def make(path: Path | str, **kw: object) -> SnifferApp:
        store, source = open_file_source(str(path))
        return SnifferApp(store, source, **kw)  # type: ignore[arg-type]

    return make


async def wait_until(pilot: object, cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``cond()`` holds (fails the test after ``timeout`` seconds)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)  # type: ignore[attr-defined]


async def loaded(pilot: object) -> None:
    app = pilot.app  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: app.source.status.done and app.plist.count == app.store.count > 0)
    tc = lambda: app.plist.tcpcols  # noqa: E731  (the list's conversation state covers every packet)
    await wait_until(pilot, lambda: not app.TCP_STATE or (tc() is not None and tc().fed == app.store.count))
    await pilot.pause()  # type: ignore[attr-defined]


def tshark(*args: str) -> str:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    return subprocess.run(["tshark", *args], capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture(autouse=True)
def _own_profile(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets an empty column profile: never the user's ~/.config, never another test's."""
    monkeypatch.setenv("SNIFFER_CONFIG_DIR", str(tmp_path_factory.mktemp("profile")))
