"""Sources in the app: playback in recorded time (pause, step), growing files, FIFOs, the filter bar."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from helpers.tui_pcapgen import PCAP_HDR, REC, mixed_frames, write_pcap

from sniffer.model.store import PacketStore
from sniffer.ui.app import SnifferApp
from sniffer.ui.sources import FileSource

from .conftest import wait_until

SIZE = (120, 40)


def _records(frames: list[bytes], start: int = 0, step_us: int = 1000) -> bytes:
    out = []
    for i, f in enumerate(frames, start):
        t = i * step_us
        out.append(REC.pack(1_700_000_000 + t // 1_000_000, t % 1_000_000, len(f), len(f)) + f)
    return b"".join(out)


async def test_playback_in_recorded_time_with_pause_and_step(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_pcap(tmp_path / "slow.pcap", 8, step_us=250_000)  # one packet every 250 ms
    app = make_app(path, speed=1.0)
    t0 = time.monotonic()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.store.count >= 3)
        assert time.monotonic() - t0 >= 0.5  # packet 3 is due 0.5 s after packet 1, not at once
        assert app.store.count < 8
        await pilot.press("space")  # pause the clock
        assert app.source.status.paused
        await pilot.pause(0.1)
        held = app.store.count
        await pilot.pause(0.6)
        assert app.store.count == held  # nothing arrives while paused
        await pilot.press("full_stop")  # step one packet
        await wait_until(pilot, lambda: app.store.count == held + 1)
        await pilot.pause(0.4)
        assert app.store.count == held + 1
        assert "PAUSED" in app.status_text()
        await pilot.press("space")  # resume
        await wait_until(pilot, lambda: app.source.status.done, timeout=5)
        assert app.store.count == 8


async def test_playback_at_max_speed_is_immediate(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_pcap(tmp_path / "slow.pcap", 50, step_us=1_000_000)  # 49 s of capture
    app = make_app(path, speed=0.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done, timeout=5)
        assert app.store.count == 50


async def test_growing_file_is_followed(tmp_path: Path) -> None:
    frames = list(mixed_frames(10))
    path = tmp_path / "grow.pcap"
    path.write_bytes(PCAP_HDR + _records(frames[:4]))
    store = PacketStore(str(path))
    src = FileSource(str(path), store, follow=True)
    app = SnifferApp(store, src, live=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.plist.count == 4)
        with open(path, "ab") as f:
            f.write(_records(frames[4:], start=4))
        await wait_until(pilot, lambda: app.plist.count == 10)
        assert store.frame(9).data == frames[9]
        assert app.plist.follow  # autoscroll on for a growing source


async def test_fifo_is_read_as_a_stream(tmp_path: Path) -> None:
    frames = list(mixed_frames(30))
    fifo = tmp_path / "cap.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as f:
            f.write(PCAP_HDR + _records(frames[:10]))
            f.flush()
            time.sleep(0.2)
            f.write(_records(frames[10:], start=10))

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    from sniffer.ui.sources import open_file_source

    store, src = open_file_source(str(fifo))
    assert store.spool is not None  # bytes kept in the spool: a FIFO cannot be re-read
    app = SnifferApp(store, src)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: src.status.done and app.plist.count == 30)
        assert [store.frame(i).data for i in (0, 29)] == [frames[0], frames[29]]
    t.join(timeout=2)


async def test_filter_bar_rejects_bad_and_applies_good(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 500)
        await pilot.press("slash")
        assert app.filter_input.has_focus
        await pilot.press(*"tcp.port ==")
        await pilot.pause()
        assert app.filter_input.has_class("-bad")
        msg = str(app.filter_msg.render())
        assert msg.strip(), "a bad filter shows a message"
        await pilot.press("enter")  # refused: the view does not change
        await pilot.pause()
        assert len(app.view) == 500 and app.view.matched is None
        await pilot.press(*" 80")
        await pilot.pause()
        assert app.filter_input.has_class("-ok") and not str(app.filter_msg.render()).strip()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.view.done and app.plist.count == len(app.view))
        # 4 of every 8 generated packets are TCP port 80
        assert len(app.view) == 250
        assert all(app.view.packet(r) % 8 in (2, 3, 4, 5) for r in range(len(app.view)))
        assert "Displayed 250" in app.status_text()
        assert app.plist.has_focus
        # clearing the filter shows everything again, keeping the selected packet
        await pilot.press("down", "down")
        keep = app.plist.selected_index
        app.filter_input.value = ""
        await pilot.press("slash", "enter")
        await pilot.pause()
        assert len(app.view) == 500 and app.plist.selected_index == keep


async def test_field_name_completion(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    from sniffer.model.filters import field_names

    assert any(n.startswith("tcp.") for n in field_names())
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"tcp.dstp")
        await pilot.pause(0.2)
        await pilot.press("right")  # accept the suggestion
        assert app.filter_input.value.startswith("tcp.dstport")
