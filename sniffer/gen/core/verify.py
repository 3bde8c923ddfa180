"""Closed loop over a capture: which generated flows are in it, and which of their packets went missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sniffer.frame import Frame
from sniffer.gen.core.payload import FlowTracker, find_tags


@dataclass
class FlowSeen:
    """What a capture holds of one flow (every copy counts: requests, verbatim echoes, both directions)."""

    flow_id: int
    packets: int = 0
    echo_packets: int = 0  # tags with the ECHO flag (raw IP / packet peers' replies)
    tracker: FlowTracker = field(default_factory=FlowTracker)
    first_ns: int = 0
    last_ns: int = 0
    delays_ns: list[int] = field(default_factory=list)  # capture time - tag time

    def as_dict(self) -> dict[str, Any]:
        missing = self.tracker.missing()
        d = sorted(self.delays_ns)
        return {
            "flow_id": self.flow_id,
            "packets": self.packets,
            "echo_packets": self.echo_packets,
            "distinct_seqs": len(self.tracker.seen),
            "expected": (self.tracker.last_seq + 1) if self.tracker.last_seq is not None else None,
            "missing": missing[:100],
            "missing_count": len(missing),
            "duration_s": round((self.last_ns - self.first_ns) / 1e9, 6),
            "delay_us": {
                "min": round(d[0] / 1e3, 1),
                "p50": round(d[len(d) // 2] / 1e3, 1),
                "max": round(d[-1] / 1e3, 1),
            }
            if d
            else None,
        }


def scan(frames: Iterable[Frame]) -> dict[int, FlowSeen]:
    """Every tagged message in every frame, grouped by flow id (pure: frames in, summaries out)."""
    flows: dict[int, FlowSeen] = {}
    for fr in frames:
        for tag in find_tags(fr.data, 64):
            f = flows.get(tag.flow_id)
            if f is None:
                f = flows[tag.flow_id] = FlowSeen(tag.flow_id, first_ns=fr.ts_ns)
            f.packets += 1
            if tag.is_echo:
                f.echo_packets += 1
            else:
                f.tracker.seen.add(tag.seq)
                if tag.is_last:
                    f.tracker.last_seq = tag.seq
                f.delays_ns.append(fr.ts_ns - tag.ts_ns)
            f.last_ns = fr.ts_ns
    return flows
