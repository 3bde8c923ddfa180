"""Analysis panels the TUI pushes as screens: statistics, follow stream, ping, multicast, generated flows,
I/O graph,
expert information, TCP stream graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from textual.app import SystemCommand

# (keys, action, description): merged into the app's KEYMAP, so bindings, help screen and palette agree
PANEL_KEYMAP: list[tuple[str, str, str]] = [
    ("S", "statistics", "Statistics: hierarchy, conversations, endpoints, I/O rate"),
    ("F", "follow_stream", "Follow the selected packet's TCP/UDP stream"),
    ("P", "ping_panel", "Ping panel: RTT sparkline and loss per target, probes marked"),
    ("I", "mcast_panel", "Multicast panel: groups, members, queriers, timeline, streams"),
    ("G", "gen_flows", "Generated flows: sniffer gen tags, missing sequence numbers"),
    ("W", "io_graph", "I/O graph: packets, bytes, bits/s, SUM/AVG/MAX of a field over time; click to go to"),
    ("E", "expert_info", "Expert information: TCP analysis items by severity, group and message"),
    ("ctrl+t", "tcp_graph", "TCP stream graph: Stevens, throughput, RTT of the selected packet's stream"),
]


class PanelActions:
    """Mixin for the app: one action per panel (the app adds PANEL_KEYMAP to its bindings)."""

    def action_statistics(self) -> None:
        from sniffer.ui.panels.stats import StatisticsScreen

        self._push_panel(StatisticsScreen(displayed=True))

    def action_follow_stream(self) -> None:
        from sniffer.ui.panels.follow import FollowStreamScreen

        self._push_panel(FollowStreamScreen())

    def action_ping_panel(self) -> None:
        from sniffer.ui.panels.ping import PingScreen

        self._push_panel(PingScreen())

    def action_mcast_panel(self) -> None:
        from sniffer.ui.panels.mcast import McastScreen

        screen = McastScreen()
        source = getattr(self, "source", None)
        if source is None or source.status.kind != "live":
            # a capture file (maybe from another host): this machine's memberships stay out unless
            # asked for with k
            screen.kernel_on = False
        self._push_panel(screen)

    def action_gen_flows(self) -> None:
        from sniffer.ui.panels.genflows import GenFlowsScreen

        self._push_panel(GenFlowsScreen())

    def action_io_graph(self) -> None:
        from sniffer.ui.panels.iograph import IOGraphScreen

        self._push_panel(IOGraphScreen())

    def action_expert_info(self) -> None:
        from sniffer.ui.panels.expert import ExpertScreen

        self._push_panel(ExpertScreen())

    def action_tcp_graph(self) -> None:
        from sniffer.ui.panels.tcpgraph import TcpGraphScreen

        self._push_panel(TcpGraphScreen())

    def set_expert_result(self, result: Any) -> None:
        """Keep the expert pass's result; the packet list colours its Bad TCP packets."""
        app: Any = self
        app.expert_result = result
        plist = getattr(app, "plist", None)
        if plist is not None:
            plist.bad_tcp = result.bad_tcp
            plist.refresh()

    def _push_panel(self, screen: Any) -> None:
        app: Any = self
        if type(app.screen) is not type(screen):  # one of each at a time
            app.push_screen(screen)

    def panel_commands(self) -> Iterator[SystemCommand]:
        """Command palette entries for the panels."""
        for _, action, desc in PANEL_KEYMAP:
            title, _, help_text = desc.partition(": ")
            yield SystemCommand(title, help_text or desc, getattr(self, f"action_{action}"))
