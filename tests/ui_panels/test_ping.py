"""Ping panel screen on loopback: targets typed, replies counted, probes and replies marked in a live capture."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from sniffer.model.store import PacketStore
from sniffer.ui.app import SnifferApp
from sniffer.ui.sources import LiveCaptureSource

from .conftest import SIZE, WIKIPEDIA, loaded, wait_until

COUNT = 4


def log_rows(screen) -> list[list[str]]:  # type: ignore[no-untyped-def]
    t = screen.query_one("#ping-log", DataTable)
    return [[str(c) for c in t.get_row_at(r)] for r in range(t.row_count)]


@pytest.mark.root
async def test_ping_panel_sees_replies(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.ping import PingScreen

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = PingScreen(targets="", interval=0.02, count=COUNT)
        app.push_screen(screen)
        await pilot.pause()
        inp = screen.query_one("#ping-targets", Input)
        assert inp.has_focus
        await pilot.press(*"127.0.0.1", "enter")
        await wait_until(pilot, lambda: screen.panel is not None and screen.panel.rows[0].received == COUNT)
        # the log is filled by a message of its own: wait for its rows too
        await wait_until(pilot, lambda: sum(r[2] == "reply" for r in log_rows(screen)) >= COUNT)
        row = screen.panel.rows[0]
        assert row.sent == COUNT and row.lost == 0 and row.last_ms is not None
        replies = [r for r in log_rows(screen) if r[2] == "reply"]
        assert [r[1] for r in replies] == [str(s) for s in range(1, COUNT + 1)]
        assert all(r[3] == "127.0.0.1" and float(r[4]) > 0 for r in replies)
        assert "sent 4 recv 4 loss 0%" in screen.panel.stats_text(0)
        status = screen.query_one("#panel-status", Static)
        await wait_until(pilot, lambda: "finished · 127.0.0.1: 4 sent, 4 received" in str(status.render()))
        assert screen.session is None
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


@pytest.mark.root
async def test_probes_and_replies_marked_in_live_capture() -> None:
    from sniffer.ui.panels.ping import PingScreen, echo_key

    store = PacketStore(spool=True)
    src = LiveCaptureSource(["lo"], store, bpf="icmp")
    src.open()
    app = SnifferApp(store, src, live=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = PingScreen(targets="127.0.0.1", interval=0.02, count=COUNT)
        app.push_screen(screen)
        await pilot.pause()
        await pilot.press("f2")
        await wait_until(pilot, lambda: screen.replies == COUNT)
        (ident,) = {i for i, _ in screen.wanted}
        await wait_until(pilot, lambda: screen.marked >= 2 * COUNT)
        marks = app.plist.marks
        keys = {echo_key(store, i) for i in marks}
        assert {(8, ident, s) for s in range(1, COUNT + 1)} <= keys  # every request
        assert {(0, ident, s) for s in range(1, COUNT + 1)} <= keys  # every reply
        assert all(k is not None and k[1] == ident for k in keys)  # nothing else
        await pilot.press("escape")
    store.close()
