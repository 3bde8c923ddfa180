"""TCP's heuristic dissectors (Wireshark's "tcp" heuristic table): tried, in order of registration, on a
segment's payload when no port dissector took it (TLS, HTTP and DCE/RPC on any port, as tshark 4.0's
enabled heuristics find them).

Each registers with ``prefixes``: every payload it may take starts with one of these 3-byte strings. The
read fast path tests a segment's first payload bytes against their union (``prefixes()``, one table
index and one set test per segment with payload), so a segment that no heuristic could take never
leaves it. ``fn(ctx, off, end) -> bool`` records nothing and returns False when the payload is not its
protocol.
"""

from __future__ import annotations

from collections.abc import Callable

from sniffer.decode.core import Ctx

HeuristicFn = Callable[[Ctx, int, int], bool]


class TcpHeuristics:
    def __init__(self) -> None:
        self.entries: list[tuple[frozenset[bytes], HeuristicFn]] = []

    def register(self, prefixes: frozenset[bytes]) -> Callable[[HeuristicFn], HeuristicFn]:
        if any(len(p) != 3 for p in prefixes):
            raise ValueError("TCP heuristic prefixes are 3 bytes long")

        def deco(fn: HeuristicFn) -> HeuristicFn:
            self.entries.append((prefixes, fn))
            return fn

        return deco

    def prefixes(self) -> frozenset[bytes]:
        return frozenset().union(*(p for p, _fn in self.entries))

    def first_bytes(self) -> bytes:
        """A 256-byte table: 1 where some prefix starts with that byte."""
        firsts = {p[0] for p in self.prefixes()}
        return bytes(int(b in firsts) for b in range(256))

    def run(self, ctx: Ctx, off: int, end: int) -> bool:
        """Offer the payload at ``off`` to each heuristic whose prefixes match; True if one took it."""
        head = ctx.data[off : off + 3]
        for prefixes, fn in self.entries:
            if head in prefixes and fn(ctx, off, end):
                return True
        return False


TCP_HEURISTICS = TcpHeuristics()
