"""The app's hook: S F P I G W E ctrl+t push the panel screens, the help screen and the command palette list them."""

from __future__ import annotations

import pytest

from sniffer.ui.panels import PANEL_KEYMAP

from .conftest import SIZE, WIKIPEDIA, loaded


async def test_keys_push_panels_and_help_lists_them(make_app) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sniffer.model.stats")
    from sniffer.ui.app import KEYMAP
    from sniffer.ui.panels.expert import ExpertScreen
    from sniffer.ui.panels.follow import FollowStreamScreen
    from sniffer.ui.panels.genflows import GenFlowsScreen
    from sniffer.ui.panels.iograph import IOGraphScreen
    from sniffer.ui.panels.mcast import McastScreen
    from sniffer.ui.panels.ping import PingScreen
    from sniffer.ui.panels.stats import StatisticsScreen
    from sniffer.ui.panels.tcpgraph import TcpGraphScreen

    screens = {
        "S": StatisticsScreen,
        "F": FollowStreamScreen,
        "P": PingScreen,
        "I": McastScreen,
        "G": GenFlowsScreen,
        "W": IOGraphScreen,
        "E": ExpertScreen,
        "ctrl+t": TcpGraphScreen,
    }
    assert [k for k, _, _ in PANEL_KEYMAP] == list(screens)
    used = [k for keys, _, _ in KEYMAP for k in keys.split(",")]
    assert len(used) == len(set(used))  # no key bound twice
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for key, cls in screens.items():
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, cls), key
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is app.screen_stack[0], key
        keys = dict(app.help_keys())
        for key, _, desc in PANEL_KEYMAP:
            assert keys[key] == desc
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Statistics" in titles and "Generated flows" in titles


async def test_panels_on_an_empty_store() -> None:
    """Nothing captured yet: every panel opens, says so, and closes (no exception in the app)."""
    pytest.importorskip("sniffer.model.stats")
    from sniffer.model.store import PacketStore
    from sniffer.ui.app import SnifferApp

    from .conftest import wait_until

    store = PacketStore(spool=True)
    app = SnifferApp(store, None)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("S", "F", "I", "G", "ctrl+t"):
            await pilot.press(key)
            screen = app.screen
            await wait_until(
                pilot,
                lambda s=screen: any(
                    getattr(s, a, None) not in (None, "", False)
                    for a in ("stats", "error", "loaded", "flows", "ready")
                ),
            )
            if key == "F":
                assert screen.error == "no packet selected"
            if key == "S":
                assert screen.stats.frames == 0
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is app.screen_stack[0], key
    store.close()
