"""Pilot tests: the real app on real capture files, driven by keys and mouse."""

from __future__ import annotations

import io
from pathlib import Path

from textual.widgets import Input, Static

from sniffer.ui.app import KEYMAP
from sniffer.ui.screens import HelpScreen, PromptScreen, SaveScreen, SearchScreen
from sniffer.ui.widgets import HexView

from .conftest import WIKIPEDIA, wait_until

SIZE = (120, 40)


async def _loaded(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await wait_until(pilot, lambda: app.source.status.done and app.plist.count == app.store.count > 0)
    await wait_until(pilot, lambda: app.shown_index == app.plist.selected_index >= 0)


async def test_loads_file_and_selects_first_packet(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        assert app.store.count == 500
        assert app.plist.cursor == 0 and app.plist.selected_index == 0
        # detail shows frame 1, hex shows its bytes
        await wait_until(pilot, lambda: app.shown_index == 0)
        assert app.detail.dnode is not None
        assert app.detail.dnode.children[0].text.startswith("Frame 1:")
        assert app.hexview.data == app.store.frame(0).data
        status = app.status_text()
        assert "Packets 500" in status and "Displayed 500" in status
        await wait_until(pilot, lambda: str(app.status_bar.render()) == app.status_text())  # painted


async def test_navigation_keys(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        await pilot.press("down", "down", "j")
        assert app.plist.cursor == 3
        await pilot.press("up")
        assert app.plist.cursor == 2
        await pilot.press("end")
        assert app.plist.cursor == 499
        assert app.plist.scroll_y > 0  # the last row is scrolled into view
        await pilot.press("home")
        assert app.plist.cursor == 0 and app.plist.scroll_y == 0
        await pilot.press("pagedown")
        page = app.plist.cursor
        assert page > 5
        await pilot.press("pagedown")
        assert app.plist.cursor == 2 * page
        # detail and hex follow the cursor
        await pilot.pause()
        assert app.hexview.data == app.store.frame(2 * page).data
        # a mouse click on a row selects it (line 0 is the border, line 1 the column header)
        await pilot.click("#list", offset=(10, 4))
        assert app.plist.cursor == int(app.plist.scroll_y) + 2


async def test_field_and_bytes_highlight_each_other(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        await pilot.press("2")  # focus the detail tree
        tree = app.detail
        assert tree.has_focus
        # the first line is the frame: it covers every byte
        await pilot.pause()
        frame_node = tree.cursor_node
        assert frame_node is not None and frame_node.data is not None
        assert (app.hexview.hl_start, app.hexview.hl_end) == (0, len(app.hexview.data))
        # move to each field with a byte range: the hex view highlights exactly those bytes
        ranged = [d for d in tree.dnode.walk()[1:] if d.start >= 0 and d.length > 0]
        target = min(ranged, key=lambda d: (d.length, -d.start))
        tree.reveal(tree._by_node[id(target)])
        await pilot.pause()
        await pilot.pause()
        assert app.selected_field is target
        assert (app.hexview.hl_start, app.hexview.hl_end) == (target.start, target.end)
        # click a byte in the hex pane: the innermost field covering it is selected
        byte = len(app.hexview.data) - 1
        hexv = app.query_one(HexView)
        x = HexView.byte_column(byte % 16)
        y = byte // 16 - int(hexv.scroll_y)
        await pilot.click("#hex", offset=(x + hexv.gutter.left + 1, y + 1))
        await pilot.pause()
        sel = app.selected_field
        assert sel is not None and sel.start <= byte < sel.end
        inner = [d for d in ranged if d.start <= byte < d.end]
        assert sel.length == min(d.length for d in inner)
        assert hexv.byte_cursor == byte


async def test_marks_and_jumps(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        await pilot.press("down", "m", "down", "down", "down", "m")
        assert app.plist.marks == {1, 4}
        await pilot.press("home", "right_square_bracket")
        assert app.plist.cursor == 1
        await pilot.press("right_square_bracket")
        assert app.plist.cursor == 4
        await pilot.press("right_square_bracket")  # wraps
        assert app.plist.cursor == 1
        await pilot.press("left_square_bracket")
        assert app.plist.cursor == 4
        await pilot.press("m")
        assert app.plist.marks == {1}
        assert "Marked 1" in app.status_text()
        await pilot.press("M")
        assert app.plist.marks == set()


async def test_goto_packet(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        await pilot.press("g")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"321", "enter")
        await pilot.pause()
        assert app.plist.selected_index == 320
        assert app.plist.scroll_y <= 320 <= app.plist.scroll_y + app.plist.size.height
        # out of range: stays put with a message
        await pilot.press("ctrl+g", *"9999", "enter")
        await pilot.pause()
        assert app.plist.selected_index == 320


async def test_search_string_hex_and_repeat(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"GET /100 ", "enter")
        await wait_until(pilot, lambda: app.plist.selected_index == 100)
        # hex: "ping 6" appears first in packet 7 (index 6)
        await pilot.press("home")
        app.start_search("hex", "70 69 6e 67 20 36")
        await wait_until(pilot, lambda: app.plist.selected_index == 6)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.plist.selected_index == 7)  # the echo reply quotes it
        await pilot.press("N")
        await wait_until(pilot, lambda: app.plist.selected_index == 6)
        # field value (a display filter): echo replies are every 8th packet from index 7
        app.start_search("filter", "icmp.type == 0")
        await wait_until(pilot, lambda: app.plist.selected_index == 7)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.plist.selected_index == 15)
        # bad hex: a message, no move
        app.start_search("hex", "zz")
        await pilot.pause()
        assert app.plist.selected_index == 15


async def test_layouts_and_zoom(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        detail, hexv, plist = app.detail, app.hexview, app.plist
        assert detail.region.x == hexv.region.x and detail.region.y < hexv.region.y  # stacked
        await pilot.press("v")
        await pilot.pause()
        assert app.layout_mode == "side"
        assert detail.region.y == hexv.region.y and detail.region.x < hexv.region.x  # side by side
        assert plist.region.y < detail.region.y
        await pilot.press("v")
        await pilot.pause()
        assert detail.region.x == hexv.region.x
        await pilot.press("3", "z")
        await pilot.pause()
        assert app.screen.maximized is hexv
        assert hexv.region.height > 30
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is None


async def test_help_lists_every_key(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        from rich.console import Console

        console = Console(width=200, record=True, file=io.StringIO())  # wide: no description wraps
        console.print(app.screen.query_one("#help-text", Static).content)
        text = console.export_text()
        for _, _, desc in KEYMAP:
            assert desc in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_every_keymap_action_exists(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    for _, action, _ in KEYMAP:
        if action:
            assert hasattr(app, f"action_{action}"), action


async def test_save_dialog_writes_marked_packets(make_app, mixed_pcap: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sniffer.capture.pcapfile import open_capture

    app = make_app(mixed_pcap)
    out = tmp_path / "marked.pcapng"
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        await pilot.press("down", "m", "down", "down", "m", "ctrl+s")
        assert isinstance(app.screen, SaveScreen)
        inp = app.screen.query_one("#save-path", Input)
        inp.value = str(out)
        assert app.screen.query_one("#save-which").has_focus  # the choice first (Marked: marks, no filter)
        await pilot.press("enter", "enter")  # take the choice, then save under the name
        await wait_until(pilot, lambda: app.last_saved == str(out))
        # all, and displayed (the whole file: no filter), through the same path
        for which in ("all", "displayed"):
            path = tmp_path / f"{which}.pcapng"
            app.save(which, str(path))
            await wait_until(pilot, lambda path=path: app.last_saved == str(path))
    with open_capture(str(out)) as r:
        assert r.format == "pcapng"
        got = [f.data for f in r]
    assert got == [app.store.frame(1).data, app.store.frame(3).data]
    with open_capture(str(tmp_path / "all.pcapng")) as r:
        frames = list(r)
    assert len(frames) == 500 and frames[499].data == app.store.frame(499).data
    assert [f.ts_ns for f in frames[:3]] == [app.store.ts[i] for i in range(3)]
    assert (tmp_path / "all.pcapng").read_bytes() == (tmp_path / "displayed.pcapng").read_bytes()
    assert oct((tmp_path / "all.pcapng").stat().st_mode & 0o777) == "0o600"


async def test_command_palette_offers_sniffer_commands(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    from textual.command import CommandPalette

    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for expected in ("Go to packet number", "Save all / displayed / marked packets to pcapng", "Layout"):
            assert expected in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"go to packet")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, PromptScreen)
