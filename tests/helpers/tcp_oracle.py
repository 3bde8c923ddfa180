"""tshark (default preferences) as the oracle for TCP analysis: the same fields, side by side per packet."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.fields import frame_fields
from sniffer.model.defrag import Defragmenter
from sniffer.model.tcpanalysis import TcpAnalyzer, apply

#: numbers compared exactly (relative sequence numbers, lengths, windows, analysis values)
NUMBERS = (
    "tcp.seq",
    "tcp.ack",
    "tcp.len",
    "tcp.nxtseq",
    "tcp.window_size",
    "tcp.window_size_scalefactor",
    "tcp.analysis.acks_frame",
    "tcp.analysis.bytes_in_flight",
    "tcp.analysis.push_bytes_sent",
    "tcp.analysis.duplicate_ack_num",
    "tcp.analysis.duplicate_ack_frame",
)
#: seconds compared to the nanosecond
TIMES = ("tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt", "tcp.time_relative", "tcp.time_delta")
#: the tcp.analysis.* flags
FLAGS = tuple(
    "tcp.analysis." + n
    for n in (
        "retransmission",
        "fast_retransmission",
        "spurious_retransmission",
        "out_of_order",
        "lost_segment",
        "ack_lost_segment",
        "duplicate_ack",
        "zero_window",
        "zero_window_probe",
        "zero_window_probe_ack",
        "window_full",
        "window_update",
        "keep_alive",
        "keep_alive_ack",
        "reused_ports",
    )
)
FIELDS = (*NUMBERS, *TIMES, *FLAGS, "tcp.analysis.flags", "_ws.col.Info", "_ws.expert.message")
_PREFIX = re.compile(r"^(?:\[[^\]]*\] )*")
#: the expert messages this analysis produces (tshark also reports other dissectors' items)
_TCP_EXPERT = re.compile(
    r"^(Connection (establish|finish|reset)|This frame (is a|initiates|undergoes)|Previous segment|ACKed segment"
    r"|TCP (window|keep-alive|Zero Window)|ACK to a TCP|Duplicate ACK|A new tcp session|D-SACK Sequence)"
)


def tshark_rows(path: Path) -> dict[int, dict[str, str]]:
    """tshark's fields for every frame with a TCP header (default preferences, -n)."""
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
    argv += ["-e", "frame.number", "-e", "tcp.srcport"]
    for f in FIELDS:
        argv += ["-e", f]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    rows: dict[int, dict[str, str]] = {}
    for line in proc.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) < len(FIELDS) + 2 or not cols[1]:
            continue
        row = {}
        for k, v in zip(FIELDS, cols[2:], strict=False):
            # several occurrences (a TCP header quoted in an ICMP error...): the last is the frame's own
            row[k] = v if k in ("_ws.col.Info", "_ws.expert.message") else v.rsplit(",", 1)[-1]
        rows[int(cols[0])] = row
    return rows


def _fmt(name: str, v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        v = v[-1]
    if name in TIMES:
        return f"{v:.9f}"
    return str(v)


def our_rows(path: Path) -> dict[int, dict[str, str]]:
    """Ours, in the same shape (frames whose TCP header our decoder does not reach are absent): IPv4/IPv6
    defragmentation, then the TCP analysis, as `read --json` does."""
    an = TcpAnalyzer()
    dfr = Defragmenter()
    rows: dict[int, dict[str, str]] = {}
    with open_capture(str(path)) as reader:
        for n, fr in enumerate(reader, 1):
            f = dfr.apply(n, fr, frame_fields(fr))
            extra = an.feed(n, f, fr[0])
            if extra is None:
                continue
            apply(f, extra)
            row = {k: _fmt(k, f.get(k)) for k in (*NUMBERS, *TIMES)}
            row.update({k: "1" if f.get(k) else "" for k in FLAGS})
            row["_ws.col.Info"] = str(f.get("_ws.col.Info", ""))
            msgs = f.get("_ws.expert.message") or []
            row["_ws.expert.message"] = ",".join(msgs if isinstance(msgs, list) else [msgs])
            rows[n] = row
    return rows


@dataclass
class Tally:
    tcp: int = 0  # frames tshark analysed
    short: int = 0  # frames with a TCP header cut before its end: tshark shows the numbers, no analysis
    decoded: int = 0  # of those, frames our decoder reached the TCP header of
    flagged: int = 0  # frames tshark flagged (any tcp.analysis flag), among the decoded
    flagged_all: int = 0  # ... among all
    flags_agree: int = 0
    extra: int = 0  # frames we flag that tshark does not
    numbers_agree: int = 0  # seq/ack/len/nxtseq
    all_agree: int = 0  # every compared field
    prefix_agree: int = 0  # Info column's "[TCP ...]" prefixes
    expert_agree: int = 0
    diffs: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for k in self.__dataclass_fields__:
            if k == "diffs":
                self.diffs += other.diffs
            else:
                setattr(self, k, getattr(self, k) + getattr(other, k))


def _tcp_experts(msgs: str) -> list[str]:
    return [m for m in msgs.split(",") if m and _TCP_EXPERT.match(m)]


def compare(path: Path) -> Tally:
    theirs, ours = tshark_rows(path), our_rows(path)
    t = Tally()
    for n, tr in theirs.items():
        if not tr["tcp.len"] and n not in ours:  # a short segment (no analysis in tshark) left alone by us
            t.short += 1
            continue
        t.tcp += 1
        tflags = tuple(tr[k] != "" for k in FLAGS)
        if any(tflags):
            t.flagged_all += 1
        orow = ours.get(n)
        if orow is None:
            continue
        t.decoded += 1
        oflags = tuple(orow[k] != "" for k in FLAGS)
        if any(tflags):
            t.flagged += 1
            t.flags_agree += tflags == oflags
        elif any(oflags):
            t.extra += 1
        t.numbers_agree += all(tr[k] == orow[k] for k in NUMBERS[:4])
        bad = [(k, tr[k], orow[k]) for k in (*NUMBERS, *TIMES) if tr[k] != orow[k]]
        bad += [(k, tr[k], orow[k]) for k in FLAGS if (tr[k] != "") != (orow[k] != "")]
        tp = _PREFIX.match(tr["_ws.col.Info"])
        op = _PREFIX.match(orow["_ws.col.Info"])
        tpre, opre = tp.group(0) if tp else "", op.group(0) if op else ""
        # prefixes from other dissectors (e.g. "[TCP segment of a reassembled PDU]") are not ours
        tpre = "".join(
            p for p in re.findall(r"\[[^\]]*\] ", tpre) if p != "[TCP segment of a reassembled PDU] "
        )
        t.prefix_agree += tpre == opre
        if tpre != opre:
            bad.append(("info prefix", tpre, opre))
        te, oe = _tcp_experts(tr["_ws.expert.message"]), _tcp_experts(orow["_ws.expert.message"])
        t.expert_agree += te == oe
        if te != oe:
            bad.append(("expert", ",".join(te), ",".join(oe)))
        if not bad:
            t.all_agree += 1
        else:
            t.diffs.append(f"{path.name} #{n}: {bad}")
    return t
