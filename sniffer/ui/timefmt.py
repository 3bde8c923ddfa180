"""The packet list's Time column in Wireshark's View > Time Display Format choices, with a precision.

Pure functions over nanosecond timestamps (no Textual). A packet without a timestamp (a pcapng Simple
Packet Block: its time is 0) shows an empty time, as in Wireshark.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# (key, label in the status bar / help)
FORMATS: list[tuple[str, str]] = [
    ("relative", "Seconds since first packet"),
    ("absolute", "Time of day"),
    ("date", "Date and time of day"),
    ("utc", "UTC date and time of day"),
    ("epoch", "Seconds since 1970-01-01"),
    ("delta", "Seconds since previous captured packet"),
    ("delta_displayed", "Seconds since previous displayed packet"),
]
PRECISIONS: list[int | None] = [None, 0, 1, 2, 3, 6, 9]  # None: automatic (microseconds, as the files)
AUTO_DIGITS = 6
NO_TIME = 0  # the timestamp a reader gives a packet recorded without one (pcapng SPB)


@dataclass
class TimeFormat:
    """The chosen format and precision (None: automatic)."""

    kind: str = "relative"
    precision: int | None = None

    @property
    def digits(self) -> int:
        return AUTO_DIGITS if self.precision is None else self.precision

    @property
    def label(self) -> str:
        name = dict(FORMATS)[self.kind]
        prec = "auto" if self.precision is None else str(self.precision)
        return f"{name} (precision {prec})"

    def next_kind(self) -> None:
        keys = [k for k, _ in FORMATS]
        self.kind = keys[(keys.index(self.kind) + 1) % len(keys)]

    def next_precision(self) -> None:
        self.precision = PRECISIONS[(PRECISIONS.index(self.precision) + 1) % len(PRECISIONS)]

    def width(self) -> int:
        """Characters the column needs."""
        d = self.digits + (1 if self.digits else 0)
        return {
            "absolute": 8 + d,
            "date": 19 + d,
            "utc": 19 + d,
            "epoch": 10 + d,
        }.get(self.kind, max(12, 5 + d))

    def fit_width(self, span: int) -> int:
        """Characters the column needs in a narrow list for a capture spanning ``span`` ns: seconds since
        the first packet as wide as the last one's (8 for "1.762553" rather than 12), deltas 10 (up to
        999 s with microseconds); the clock formats as ``width``."""
        if self.kind == "relative":
            return max(4, len(_seconds(max(0, span), self.digits)))
        if self.kind in ("delta", "delta_displayed"):
            return min(self.width(), 10)
        return self.width()

    def text(self, ts: int, first: int, previous: int | None, previous_displayed: int | None) -> str:
        """The Time cell of a packet at ``ts`` ns; ``first``: the first timestamped packet's time;
        ``previous`` / ``previous_displayed``: the packet before it (None for the first)."""
        if ts == NO_TIME:
            return ""
        kind = self.kind
        if kind == "relative":
            return _seconds(ts - first, self.digits)
        if kind == "delta":
            return _seconds(0 if previous in (None, NO_TIME) else ts - previous, self.digits)
        if kind == "delta_displayed":
            prev = previous_displayed
            return _seconds(0 if prev in (None, NO_TIME) else ts - prev, self.digits)
        if kind == "epoch":
            return _seconds(ts, self.digits)
        secs, frac = divmod(ts, 1_000_000_000)
        tm = time.gmtime(secs) if kind == "utc" else time.localtime(secs)
        pattern = "%H:%M:%S" if kind == "absolute" else "%Y-%m-%d %H:%M:%S"
        out = time.strftime(pattern, tm)
        if self.digits:
            out += "." + f"{frac:09d}"[: self.digits]
        return out


def _seconds(ns: int, digits: int) -> str:
    """Seconds with ``digits`` decimals, truncated like Wireshark (not rounded)."""
    sign = "-" if ns < 0 else ""
    secs, frac = divmod(abs(ns), 1_000_000_000)
    if not digits:
        return f"{sign}{secs}"
    return f"{sign}{secs}." + f"{frac:09d}"[:digits]
