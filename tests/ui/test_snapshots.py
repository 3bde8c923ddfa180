"""Snapshots of the main screens at 120x40 and 80x24 on the bundled capture (deterministic: fixed
file, no clock)."""

from __future__ import annotations

import pytest

from .conftest import WIKIPEDIA, wait_until


def _app():  # type: ignore[no-untyped-def]
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.sources import open_file_source

    store, source = open_file_source(str(WIKIPEDIA))
    return SnifferApp(store, source)


async def _loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_until(pilot, lambda: app.source.status.done and app.plist.count == app.store.count > 0)
    tc = lambda: app.plist.tcpcols  # noqa: E731  (the list's conversation state covers every packet)
    await wait_until(pilot, lambda: tc() is not None and tc().fed == app.store.count)
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_main_screen(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("down", "down", "down", "down", "down", "2")  # packet 6 (HTTP GET), detail tree
        await pilot.press("down", "down", "down", "down", "down", "down", "down", "down")  # to the TCP layer
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_side_by_side(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("g", *"14", "enter", "v")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_help(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_bad_filter_message(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("slash", *"ip.src == ")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_filtered_tcp_zoomed(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("slash", *"tcp.flags.syn == 1 or icmp or arp", "enter")
        app = pilot.app
        await wait_until(pilot, lambda: app.view.done and app.plist.count == len(app.view))
        await pilot.press("1", "z")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_utc_time_millis(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """Time column as UTC date and time (t three times), 3 decimals (T four times)."""

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("t", "t", "t", "T", "T", "T", "T")
        pilot.app.clear_notifications()  # the toast times out after 2 s: not on a loaded machine's clock
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_save_dialog_with_a_filter(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-S with a display filter applied: Displayed chosen and highlighted, focus on the choice."""

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await _loaded(pilot)
        await pilot.press("slash", *"tcp", "enter")
        await wait_until(pilot, lambda: app.view.done and app.plist.count == 78)
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#save-path").value = "capture.pcapng"  # the default name has the clock in it
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_field_column_sorted(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """A field added as a column (ip.ttl) and the list sorted by Length, largest first."""

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await _loaded(pilot)
        app.set_columns(["ip.ttl"])
        app.sort_by("length", reverse=True)
        await wait_until(pilot, lambda: app.plist.view is not app.view)
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_names_resolved(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """r: MAC vendors (Wireshark's manuf/wka), host names from the capture's DNS answers, port names."""

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await _loaded(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.names.scanned >= 136)
        await pilot.press("g", *"26", "enter")
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_columns_resized(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """Source widened by 6 (> six times), Destination narrowed by 4 ({ } then < four times): the header
    underlines the current column and the status bar gives its width; Info takes the rest. At 80x24
    the compact set hides both addresses: > shows Source (at 15, then wider), < leaves Destination
    hidden and the status bar says so."""

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await _loaded(pilot)
        await pilot.press(*">" * 6, "}", *"<" * 4)
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_field_menu(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """x on a detail-tree field (ip.dst of the HTTP GET, packet 6): the field menu over the screen."""

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await _loaded(pilot)
        await pilot.press(*["down"] * 5, "2")
        tree = app.detail
        ip = next(n for n in tree.root.children if n.data is not None and n.data.field == "ip")
        ip.expand()
        await pilot.pause()
        dst = next(c for c in ip.children if c.data is not None and c.data.field == "ip.dst")
        tree.move_cursor(dst)
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_columns_prompt(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """c: the field columns as words (checked against the field names on Enter); the title wraps at 80."""

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("c", *"ip.ttl tcp.windw_size")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_overwrite_prompt(snap_compare, size, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-S, All, the open file's own name: asked before overwriting it (not answered here)."""
    from .conftest import ROOT

    monkeypatch.chdir(ROOT)  # the dialog names the path as typed: the same on every machine

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await _loaded(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#save-path").value = "captures/zeek__wikipedia.pcap"
        await pilot.press("enter", "enter")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_snapshot_search_dialog(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-F: string, hex bytes or field value, with the text typed."""

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("ctrl+f", *"wikimedia")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=before)
