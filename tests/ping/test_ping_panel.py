"""The ping panel (sniffer/ui/ping_panel.py) driven by a real PingSession on loopback."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Label, Sparkline

from sniffer.gen.ping.engine import PingOptions, PingSession, ProbeTimeout, Reply
from sniffer.ui.ping_panel import PingPanel

pytestmark = pytest.mark.root


class _Host(App[None]):
    def __init__(self, session: PingSession) -> None:
        super().__init__()
        self.session = session
        self.batches: list[PingPanel.Probes] = []

    def compose(self) -> ComposeResult:
        yield PingPanel(self.session, refresh_s=0.05)

    def on_ping_panel_probes(self, msg: PingPanel.Probes) -> None:
        self.batches.append(msg)


async def _until(pred, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_panel_shows_rtts_and_counters() -> None:
    session = PingSession(["127.0.0.1", "::1"], PingOptions(count=20, interval=0.01))
    app = _Host(session)
    async with app.run_test() as pilot:

        def replies() -> int:
            return sum(isinstance(e, Reply) for b in app.batches for e in b.events)

        await _until(lambda: replies() == 40)
        await pilot.pause()
        panel = app.query_one(PingPanel)
        for i in (0, 1):
            spark = app.query_one(f"#ping-spark-{i}", Sparkline)
            assert len(list(spark.data or [])) == 20 and all(v > 0 for v in spark.data or [])
            text = str(app.query_one(f"#ping-stats-{i}", Label).render())
            assert text.startswith("sent 20 recv 20 loss 0%") and " ms" in text, text
        assert panel.rows[0].received == panel.rows[1].received == 20
    session.close()


async def test_panel_counts_loss_and_stops_with_the_app() -> None:
    # Linux never answers address mask requests: every probe times out
    session = PingSession(["127.0.0.1"], PingOptions(interval=0.02, timeout=0.05, icmp_type=17))
    app = _Host(session)
    async with app.run_test():
        await _until(lambda: sum(isinstance(e, ProbeTimeout) for b in app.batches for e in b.events) >= 3)
        text = str(app.query_one("#ping-stats-0", Label).render())
        assert "recv 0" in text and "loss 0%" not in text, text
    assert session.exception is None and session._thread is not None and not session._thread.is_alive()
    session.close()
