"""Types of the TCP analysis' native core (sniffer/model/_tcpstate.c); see model.tcpanalysis._native_core."""

from typing import Any

def setup(
    print_table: tuple[tuple[int, str, str, tuple[tuple[str, int], ...]], ...],
    messages: tuple[str, ...],
    severities: tuple[int, ...],
    pi_sequence: int,
    limits: tuple[int, int, int],
    fragment: object,
    unknown: object,
    vlan_types: Any,
    not_ip_ethertypes: Any,
    tunnel_udp_ports: Any,
    ipv6_ext: Any,
    not_tcp: Any,
    tcp_flag_names: tuple[tuple[int, str], ...],
    tunnels: int,
    udp_ports: Any,
    udp_conversations: dict[Any, Any],
) -> None: ...
def segment(frame: tuple[Any, ...]) -> Any: ...
def analysed_line(
    line: str, number: int, wirelen: int, extra: dict[str, Any], no_subdissector: int
) -> str | None: ...

class Core:
    forgotten: int
    conversations: int
    unacked: int
    def __init__(self, max_conversations: int = 100000) -> None: ...
    def analyze(
        self,
        number: int,
        ts: int,
        src: Any,
        dst: Any,
        sport: int,
        dport: int,
        seq: int,
        ack: int,
        flags: int,
        window: int,
        seglen: int,
        wscale: int | None,
        sack: tuple[tuple[int, int], ...] | None = None,
    ) -> dict[str, Any]: ...
    def flags(
        self,
        number: int,
        ts: int,
        src: Any,
        dst: Any,
        sport: int,
        dport: int,
        seq: int,
        ack: int,
        flags: int,
        window: int,
        seglen: int,
        wscale: int | None,
    ) -> int: ...
    def frame(self, number: int, frame: tuple[Any, ...], flags_only: bool) -> Any: ...
    def text_batch(
        self,
        frames: list[Any],
        start: int,
        first_number: int,
        line: Any,
        ra_feed: Any,
        no_subdissector: int,
    ) -> tuple[list[str], int, Any]: ...
