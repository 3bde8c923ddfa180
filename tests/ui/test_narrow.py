"""The packet list at 80 columns: the compact column set gives Info most of the width (as termshark
users expect at 80x24), and the user's own column widths still win."""

from __future__ import annotations

import json

from .conftest import WIKIPEDIA, wait_until

NARROW_SIZE = (80, 24)
DNS_RESPONSE = 21  # "Standard query response 0x65f0 A upload.wikimedia.org CNAME ..." (tshark numbers)
TCP_SYN_ACK = 10  # "80 -> 48649 [SYN, ACK] Seq=0 Ack=1 Win=5792 Len=0" (relative numbers)


async def _shown_info(pilot, number: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(the Info text as the list draws it on screen, the packet's whole Info) for packet ``number``."""
    app = pilot.app
    await pilot.press("g", *str(number), "enter")
    await pilot.pause()
    plist = app.plist
    assert plist.selected_index == number - 1
    y = plist.cursor - int(plist.scroll_y) + 1  # +1: the header line
    line = plist.render_line(y).text
    start, _ = plist.column_span("info", plist.columns())
    row = app.store.row(number - 1)
    tc = plist.tcpcols
    info = tc.columns(number - 1, row.protocol, row.info, app.store.frame)[1] if tc is not None else row.info
    return line[start:].rstrip(), info


async def test_info_gets_most_of_an_80_column_list(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=NARROW_SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        plist = app.plist
        assert plist.size.width < 80  # the list's border and scrollbar take a few columns
        cols = plist.columns()
        assert cols.info >= 45, cols
        # No., Time, Protocol stay; the addresses give way at this width, Length fits
        names = [name for name, _ in cols.spans()]
        assert names == ["no", "time", "protocol", "length", "info"], names
        header = plist.render_line(0).text
        assert header.split() == ["No.", "Time", "Proto", "Len", "Info"]
        for number in (DNS_RESPONSE, TCP_SYN_ACK):
            shown, info = await _shown_info(pilot, number)
            assert len(info) > 45, info  # long enough to tell
            assert len(shown) >= 45, (number, shown)
            assert info.startswith(shown.rstrip("…")), (shown, info)
        # Time as wide as the capture's times need (seconds since the first packet: "6.379324")
        assert cols.time == len(plist.time_text(135, 135)) < 12
        # the detail tree still says who talks to whom
        assert "Src: 208.80.152.118, Dst: 141.142.220.118" in str(app.detail.root.children[2].label)


async def test_at_120_columns_every_column_is_shown(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        names = [name for name, _ in app.plist.columns().spans()]
        assert names == ["no", "time", "source", "destination", "protocol", "length", "info"]


async def test_between_80_and_100_columns_the_addresses_come_back(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.widgets import ADDR_MIN, INFO_MIN, Columns

    wide = Columns.fit(99, 136, 8)
    assert wide.src == wide.dst >= ADDR_MIN and wide.info >= INFO_MIN
    mid = Columns.fit(90, 136, 8)
    assert (mid.src, mid.length) == (ADDR_MIN, 0) and mid.info >= INFO_MIN
    assert [n for n, _ in Columns.fit(76, 136, 8).spans()] == ["no", "time", "protocol", "length", "info"]
    assert [n for n, _ in Columns.fit(70, 136, 8).spans()] == ["no", "time", "protocol", "info"]


async def test_the_users_widths_win_and_a_hidden_column_comes_back_with_a_key(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.columns import profile_path, save_widths

    assert save_widths({"destination": 16}) == ""
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=NARROW_SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        plist = app.plist
        assert plist.width_of("destination") == 16  # the profile's width, at 80 columns too
        assert plist.width_of("source") == 0  # not sized by the user: left out
        assert plist.current_column == "source"
        await pilot.press(">")  # widen the hidden Source: shown at its natural width
        assert plist.width_of("source") == 15
        assert "Source 15 wide" in app.status_text()
        header = plist.render_line(0).text
        assert "Source" in header and "Destination" in header
        assert plist.width_of("length") == 0  # Source and Destination took its room
        await pilot.press("}", "}", "}")  # destination, protocol, length (hidden)
        assert plist.current_column == "length"
        assert "Length hidden at this width" in app.status_text()
        await pilot.press("<")  # narrowing a hidden column keeps it hidden
        assert plist.width_of("length") == 0
    assert json.loads(profile_path().read_text())["widths"] == {"destination": 16, "source": 15}


async def test_the_sort_column_is_shown_even_where_the_compact_set_hides_it(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=NARROW_SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        app.set_columns(["ip.ttl"])  # a field column takes Length's room
        await pilot.pause()
        assert app.plist.width_of("length") == 0
        app.sort_by("length", reverse=True)
        await wait_until(pilot, lambda: app.plist.view is not app.view)
        assert app.plist.width_of("length") == 5
        assert "Len ▼" in app.plist.render_line(0).text
        assert app.plist.columns().info >= 40


async def test_side_by_side_at_80_columns_shows_8_bytes_a_row(make_app) -> None:  # type: ignore[no-untyped-def]
    """v at 80 columns: detail tree | bytes, the bytes pane with 8-byte rows (16 did not fit beside the
    tree: the tree was squeezed to its border); clicks and ↑ ↓ follow the 8-byte rows."""
    from sniffer.ui.widgets import HexView

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=NARROW_SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        hexv = app.query_one(HexView)
        assert hexv.per_row == 16
        await pilot.press("g", *"14", "enter", "v")
        await pilot.pause()
        assert hexv.per_row == 8
        assert app.detail.size.width >= 30  # the tree has room beside it
        assert hexv.render_line(1).text.startswith("0008  7f be 8c ff 08 00 45 00 ")
        assert hexv.render_line(1).text.rstrip().endswith("......E.")
        byte = 8 * 2 + 5  # third row, sixth byte
        x = HexView.byte_column(5, 8)
        await pilot.click("#hex", offset=(x + hexv.gutter.left + 1, 2 + 1))
        await pilot.pause()
        assert hexv.byte_cursor == byte
        await pilot.press("down")
        assert hexv.byte_cursor == byte + 8
        await pilot.press("v")  # stacked again: 16 bytes a row
        await pilot.pause()
        assert hexv.per_row == 16
        assert hexv.render_line(0).text.startswith("0000  00 24 7e e0 1d b5 00 13  7f be 8c ff")
