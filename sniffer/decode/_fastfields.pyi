"""Types of the native L2-L4 walk of the full dissection (sniffer/decode/_fastfields.c); see
decode.engine.native_fields."""

from collections.abc import Callable
from typing import Any

from sniffer.decode.core import Ctx, Node

_Spec = list[tuple[str, int, int, str, int, int]]

class Walker:
    def __init__(
        self,
        eth: _Spec,
        ipv4: _Spec,
        ipv6: _Spec,
        tcp: _Spec,
        udp: _Spec,
        flag_names: list[str],
        flag_strs: list[str],
        option_names: list[str],
        proto_names: list[str],
        nodes: dict[str, Node],
        make_layer: Callable[[str], Node],
        cont_eth: Callable[[Ctx, int, int, int], None],
        cont_ip4: Callable[[Ctx, int, int, int], None],
        cont_ip6: Callable[[Ctx, int, int, int], None],
        cont_tcp: Callable[[Ctx, int, int, int, int], None],
        cont_udp: Callable[[Ctx, int, int, int, int], None],
        igmp: tuple[_Spec, _Spec, _Spec, list[str], list[str]] | None,
        data: tuple[Any, ...] | None,
        vrrp: tuple[_Spec, _Spec, _Spec] | None,
    ) -> None: ...
    def walk(self, ctx: Ctx, wire_length: int, sized: bool = False) -> bool | None: ...
    def frame_dict(
        self, interface_id: int, ts_ns: int, frame_len: int, cap_len: int, linktype: int
    ) -> dict[str, object]: ...
