"""The multicast panel widget renders the membership view (groups table, detail of the highlighted group)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from sniffer.model.multicast import KernelMembership, MembershipView, StreamHeader, pack_header
from sniffer.ui.mcast_panel import McastPanel

NOW = 1_700_000_010_000_000_000


def make_view() -> MembershipView:
    v = MembershipView()
    base = {"ip.src": "10.0.0.2", "igmp.type": "0x22", "igmp.num_src": "0"}
    v.observe(NOW - 5_000_000_000, {**base, "igmp.record_type": "4", "igmp.maddr": "239.1.1.1"})
    v.observe(NOW - 4_000_000_000, {**base, "igmp.record_type": "4", "igmp.maddr": "239.2.2.2"})
    v.observe(NOW - 3_000_000_000, {"ip.src": "10.0.0.1", "igmp.type": "0x11", "igmp.maddr": "0.0.0.0",
                                    "igmp.qrv": "2", "igmp.qqic": "125"})  # fmt: skip
    for seq in (0, 1, 3):
        h = StreamHeader(sender=1, seq=seq, ts_ns=NOW - 2_000_000_000, start_ns=NOW - 2_000_000_000)
        v.observe_datagram(
            NOW - 2_000_000_000 + seq * 1_000_000, "10.0.0.9", 4000, "239.1.1.1", 1234, pack_header(h)
        )
    return v


class PanelApp(App[None]):
    def __init__(self, view: MembershipView, kernel: list[KernelMembership]) -> None:
        super().__init__()
        self.view = view
        self.kernel = kernel

    def compose(self) -> ComposeResult:
        yield McastPanel(self.view, kernel=lambda: self.kernel, refresh_s=0, clock=lambda: NOW)


async def test_panel_lists_groups_and_details_the_highlighted_one() -> None:
    kernel = [KernelMembership("ipv4", 2, "vb", "239.1.1.1", 1)]
    app = PanelApp(make_view(), kernel)
    async with app.run_test(size=(140, 30)) as pilot:
        panel = app.query_one(McastPanel)
        table = app.query_one(DataTable)
        assert table.row_count == 2
        first = table.get_row_at(0)
        assert first[:5] == ["239.1.1.1", "vb(1)", "exclude", "1", "v3"]
        assert first[8:10] == ["3", "1"]  # 3 datagrams, seq 2 lost
        text = panel.detail_text().plain
        assert "member 10.0.0.2 v3 exclude {any}" in text
        assert "querier 10.0.0.1 v3 qrv=2 qqic=125" in text
        assert "lost 1" in text and "join" in text
        await pilot.press("down")
        assert panel.detail_text().plain.startswith("239.2.2.2")
        # the kernel drops the first group: the next refresh shows it on the timeline
        app.kernel = []
        panel.refresh_view()
        await pilot.press("up")
        assert "kernel-leave" in panel.detail_text().plain
