"""Types of the native accelerator (sniffer/decode/_fastline.c); see decode.summary.native_walker."""

from collections.abc import Callable, Iterable

class Walker:
    def __init__(
        self,
        ports: bytes,
        prefixes: frozenset[bytes],
        first: bytes,
        hprefixes: frozenset[bytes],
        hfirst: bytes,
        udp_b1: frozenset[int],
        udp_w0: frozenset[int],
        udp_w4: frozenset[int],
        bound: set[int],
        flags: list[str],
        echo: dict[int, str],
        hms: Callable[[int], str],
        arp: bool,
        igmp: dict[int, str],
        frag: dict[int, str],
        ext: dict[str, object],
    ) -> None: ...
    def walk(
        self, buf: bytes, pos: int, n: int, left: int, big_endian: bool, nanosecond: bool, maxcap: int
    ) -> tuple[str | None, int, int]: ...
    def line(self, n: int, ts_ns: int, data: bytes, wire_length: int) -> str | None: ...
    def columns(self, data: bytes, wire_length: int) -> tuple[str, str, str, str, int] | int | None: ...
    def export_setup(
        self,
        transport: type,
        fragment: tuple[str],
        unknown: tuple[str],
        vlan: Iterable[int],
        not_ip: Iterable[int],
        tunnel_udp: Iterable[int],
        ipv6_ext: Iterable[int],
        not_tcp: Iterable[int],
        icmp_errors: Iterable[int],
    ) -> None: ...
    def headers(self, frame: tuple[object, ...]) -> tuple[object, object] | None: ...
    def layers_setup(
        self,
        layer_map: type,
        tcp_map: dict[int, object],
        udp_map: dict[int, object],
        ip_map: dict[int, object],
        eth_map: dict[int, object],
        data_layer: object,
        reach: dict[object, frozenset[str]],
        reach_eth: dict[object, frozenset[str]],
        stacks: tuple[object, ...],
        walked: Iterable[int],
    ) -> None: ...
    def layer_map(self, frame: tuple[object, ...]) -> tuple[object, ...] | int: ...
