"""Filter bar and field search with order-dependent fields (tcp.stream, frame.number...) against tshark."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import wait_until

SIZE = (120, 40)
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "captures" / "zeek__wikipedia.pcap"

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is the oracle")


def tshark_numbers(path: Path, expr: str) -> list[int]:
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", expr, "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [int(x) for x in out.split()]


def shown_numbers(app) -> list[int]:  # type: ignore[no-untyped-def]
    return [app.view.packet(r) + 1 for r in range(len(app.view))]


async def _apply(app, pilot, expr: str, typed: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Put ``expr`` in the filter bar (typed: key by key), press Enter, wait until the file is filtered."""
    if typed:
        app.filter_input.value = ""
        await pilot.press("slash", *expr)
    else:
        await pilot.press("slash")
        app.filter_input.value = expr
    await pilot.pause()
    assert app.filter_input.has_class("-ok"), str(app.filter_msg.render())
    await pilot.press("enter")
    await wait_until(
        pilot, lambda: app.view.text == expr and app.view.done and app.plist.count == len(app.view)
    )


@needs_tshark
async def test_filter_bar_tcp_stream_like_tshark(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(CORPUS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == app.store.count > 0)
        seen: dict[str, list[int]] = {}
        # a new filter, another one, then the first one again: each scan starts its stream table afresh
        exprs = (
            "tcp.stream == 3",
            "tcp.stream == 7",
            "tcp.stream == 3",
            "udp.stream == 2 or tcp.stream == 0",
        )
        for k, expr in enumerate(exprs):
            await _apply(app, pilot, expr, typed=k == 0)
            want = tshark_numbers(CORPUS, expr)
            assert want, f"tshark shows no packet for {expr}: a useless check"
            assert shown_numbers(app) == want, expr
            assert app.view.errors == 0
            seen[expr] = want
            assert f"Displayed {len(want)}" in app.status_text()
        assert seen["tcp.stream == 3"] != seen["tcp.stream == 7"]
        # clearing the filter shows every packet again
        app.filter_input.value = ""
        await pilot.press("slash", "enter")
        await pilot.pause()
        assert len(app.view) == app.store.count


@needs_tshark
async def test_filter_bar_frame_number_and_time_like_tshark(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(CORPUS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == app.store.count > 0)
        for expr in (
            "frame.number > 10 and frame.number <= 20",
            "frame.number > 100 and tcp",
            "frame.time_delta > 0.1",
            "frame.time_relative > 1 and dns",
        ):
            await _apply(app, pilot, expr)
            want = tshark_numbers(CORPUS, expr)
            assert want, f"tshark shows no packet for {expr}: a useless check"
            assert shown_numbers(app) == want, expr
        # the list shows them: Home selects the first displayed packet and shows its detail
        await pilot.press("home")
        await wait_until(pilot, lambda: app.shown_index == app.view.packet(0) == want[0] - 1)


@needs_tshark
async def test_search_field_value_tcp_stream_and_frame_number(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(CORPUS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == app.store.count > 0)
        await wait_until(pilot, lambda: app.plist.selected_index == 0)
        stream = tshark_numbers(CORPUS, "tcp.stream == 5")
        assert len(stream) >= 2
        app.start_search("filter", "tcp.stream == 5")
        await wait_until(pilot, lambda: app.plist.selected_index == stream[0] - 1)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.plist.selected_index == stream[1] - 1)
        app.start_search("filter", "frame.number >= 50 and udp")
        first_udp = tshark_numbers(CORPUS, "frame.number >= 50 and udp")[0]
        await wait_until(pilot, lambda: app.plist.selected_index == first_udp - 1)


async def test_first_rows_painted_before_the_file_is_indexed(make_app, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from helpers.tui_pcapgen import write_pcap

    from sniffer.ui import widgets

    path = write_pcap(tmp_path / "big.pcap", 100_000)
    at_first: list[tuple[int, bool]] = []
    orig = widgets.PacketList.render_line

    def render_line(self, y: int):  # type: ignore[no-untyped-def]
        strip = orig(self, y)
        if y >= 1 and self.count and not at_first:
            at_first.append((self.store.count, self.app.source.status.done))
        return strip

    monkeypatch.setattr(widgets.PacketList, "render_line", render_line)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(at_first))
        count, done = at_first[0]
        # the loader waits for the first screen after its first batch, then indexes the rest
        assert 0 < count <= 4096 and not done, at_first  # 64: the first batch only
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 100_000, timeout=60)
        assert app.source.first_shown is not None and app.source.first_shown.is_set()
