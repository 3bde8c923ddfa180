"""A ring of capture files (capture -C/-G) opened as one capture in the TUI: `sniffer tui -r DIR`,
`-r 'ring.pcap*'` or several -r, in time order (sniffer/capture/fileset.py, ui/sources.MergedFileSource)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sniffer.capture.pcapfile import open_capture, open_writer
from sniffer.commands.tui import build_app
from sniffer.ui.sources import MergedFileSource

from .conftest import wait_until

SIZE = (120, 40)
WIKIPEDIA = Path(__file__).resolve().parents[1] / "corpus" / "captures" / "zeek__wikipedia.pcap"


def _args(read: list[str]) -> argparse.Namespace:
    return argparse.Namespace(
        interface=None,
        read=read,
        follow=False,
        speed=None,
        capture_filter=None,
        display_filter="",
        snaplen=262144,
        netns=None,
    )


async def test_tui_opens_a_ring_of_files_as_one_capture_in_time_order(tmp_path: Path) -> None:
    frames = list(open_capture(WIKIPEDIA))
    k = len(frames) // 3
    # the ring came round: ring.pcap0 holds the newest packets, name order is not time order
    for name, part in (
        ("ring.pcap1", frames[:k]),
        ("ring.pcap2", frames[k : 2 * k]),
        ("ring.pcap0", frames[2 * k :]),
    ):
        with open_writer(str(tmp_path / name), "pcap") as w:
            for f in part:
                w.write(f)
    for read in (
        [str(tmp_path)],
        [str(tmp_path / "ring.pcap*")],
        [str(p) for p in sorted(tmp_path.iterdir())],
    ):
        app = build_app(_args(read))
        assert isinstance(app.source, MergedFileSource)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.source.status.done)  # noqa: B023
            await pilot.pause(0.1)
            assert app.store.count == len(frames) and not app.source.status.error
            assert [app.store.ts[i] for i in range(app.store.count)] == [f.ts_ns for f in frames]
            assert app.store.frame(k).data == frames[k].data
            assert "ring.pcap1 (+2 files)" in app.status_text()
            await pilot.press("end")  # the last packet: the newest file's last
            await pilot.pause(0.1)
            assert app.plist.cursor == len(frames) - 1
