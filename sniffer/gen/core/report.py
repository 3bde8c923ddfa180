"""What a generator run reports: counts, bytes, throughput, latency percentiles; text and JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any


def percentile(sorted_values: list[int], p: float) -> int:
    """Nearest-rank percentile of an already sorted list (p in 0..100)."""
    if not sorted_values:
        return 0
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


@dataclass
class Report:
    """One run. Latencies are round-trip times in nanoseconds (echo modes only)."""

    mode: str
    family: str = ""
    type: str = ""
    style: str = ""
    local: str = ""
    peer: str = ""
    flow_id: int = 0
    sent: int = 0  # messages (or connections for tcp-conns)
    received: int = 0
    echoed: int = 0  # replies that matched our tag (flow and seq)
    bytes_sent: int = 0
    bytes_received: int = 0
    errors: int = 0
    duration_s: float = 0.0
    rtts_ns: list[int] = field(default_factory=list, repr=False)
    options: dict[str, Any] = field(default_factory=dict)  # as the kernel applied them
    options_asked: dict[str, Any] = field(default_factory=dict)  # as the user asked (same names)
    server: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Echo runs: sent but never echoed. Blasts: sent but not counted by our sink (when known)."""
        if self.mode == "blast":
            return max(0, self.sent - self.received) if self.server is not None else 0
        if self.mode == "bulk":
            return 0
        return max(0, self.sent - self.echoed)

    def latency(self) -> dict[str, float] | None:
        if not self.rtts_ns:
            return None
        s = sorted(self.rtts_ns)
        us = 1e-3
        return {
            "min_us": round(s[0] * us, 1),
            "avg_us": round(sum(s) / len(s) * us, 1),
            "p50_us": round(percentile(s, 50) * us, 1),
            "p99_us": round(percentile(s, 99) * us, 1),
            "max_us": round(s[-1] * us, 1),
        }

    def to_dict(self) -> dict[str, Any]:
        d = self.duration_s or 1e-9
        out: dict[str, Any] = {
            "mode": self.mode,
            "family": self.family,
            "type": self.type,
            "style": self.style,
            "local": self.local,
            "peer": self.peer,
            "flow_id": self.flow_id,
            "sent": self.sent,
            "received": self.received,
            "echoed": self.echoed,
            "lost": self.lost,
            "errors": self.errors,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "duration_s": round(self.duration_s, 6),
            "send_mbit_s": round(self.bytes_sent * 8 / d / 1e6, 3),
            "recv_mbit_s": round(self.bytes_received * 8 / d / 1e6, 3),
            "send_pps": round(self.sent / d, 1),
            "recv_pps": round(self.received / d, 1),
            "latency": self.latency(),
            "options": self.options,
            "options_asked": self.options_asked,
        }
        if self.server is not None:
            out["server"] = self.server
        if self.notes:
            out["notes"] = self.notes
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    def to_text(self) -> str:
        d = self.to_dict()
        lines = [
            f"{self.mode} {self.family}/{self.type} style={self.style} local={self.local} peer={self.peer} "
            f"flow={self.flow_id:#010x}",
            f"  sent {self.sent} ({self.bytes_sent} B)  received {self.received} ({self.bytes_received} B)  "
            f"echoed {self.echoed}  lost {d['lost']}  errors {self.errors}  in {self.duration_s:.3f} s",
            f"  throughput send {human_bits(d['send_mbit_s'])}  recv {human_bits(d['recv_mbit_s'])}  "
            f"{d['send_pps']:.0f} pkt/s sent  {d['recv_pps']:.0f} pkt/s received",
        ]
        lat = d["latency"]
        if lat:
            lines.append(
                "  rtt min/avg/p50/p99/max = "
                f"{lat['min_us']}/{lat['avg_us']}/{lat['p50_us']}/{lat['p99_us']}/{lat['max_us']} us"
            )
        if self.options:
            lines.append("  options " + side_by_side(self.options, self.options_asked))
        if self.server:
            lines.append(
                "  server "
                + " ".join(f"{k}={v}" for k, v in self.server.items() if not k.startswith("options"))
            )
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def human_bits(mbit: float) -> str:
    if mbit >= 1000:
        return f"{mbit / 1000:.2f} Gbit/s"
    return f"{mbit:.2f} Mbit/s"


def side_by_side(applied: dict[str, Any], wanted: dict[str, Any]) -> str:
    """'SO_SNDBUF=131072 (asked 65536) TCP_NODELAY=1 (asked 1) SO_KEEPALIVE=0 ...': the kernel's value of
    every option, and next to it the value asked for where one was."""
    return " ".join(f"{k}={v}" + (f" (asked {wanted[k]})" if k in wanted else "") for k, v in applied.items())
