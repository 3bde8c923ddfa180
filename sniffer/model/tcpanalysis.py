"""TCP conversation analysis like Wireshark's defaults (sans-IO): relative sequence numbers, window
scaling, ``tcp.analysis.*`` (retransmissions, duplicate ACKs, zero windows, lost segments...), RTTs,
bytes in flight, conversation timestamps, the Info column's "[TCP ...]" prefixes and expert info.

Feed every frame of a capture once, in order, to ``TcpAnalyzer.feed(number, fields, ts_ns)`` with the
fields of ``decode.fields.frame_fields``; it returns the extra fields of that frame (or None when the
frame has no analysable TCP header) and ``apply`` merges them into the frame's field dict. The checks
and their order follow ``tcp_analyze_sequence_number`` in Wireshark 4.0's epan/dissectors/packet-tcp.c
(a re-implementation from its documented behaviour; tests compare with tshark 4.0 on every corpus
capture with TCP). Memory: per conversation a few numbers plus the unacknowledged segments (at most
``MAX_UNACKED`` per direction, like Wireshark's TCP_MAX_UNACKED_SEGMENTS), and at most
``max_conversations`` conversations (the least recently used is forgotten).
"""

from __future__ import annotations

import os
import socket
import struct
from collections import OrderedDict
from typing import Any

from sniffer.decode.layers import ipv4, ipv6, link
from sniffer.frame import LINKTYPE_ETHERNET, Frame

TH_FIN = 0x01
TH_SYN = 0x02
TH_RST = 0x04
TH_PUSH = 0x08
TH_ACK = 0x10

# tcp.analysis flag bits (Wireshark's TCP_A_*)
A_RETRANSMISSION = 0x0001
A_LOST_PACKET = 0x0002
A_ACK_LOST_PACKET = 0x0004
A_KEEP_ALIVE = 0x0008
A_DUPLICATE_ACK = 0x0010
A_ZERO_WINDOW = 0x0020
A_ZERO_WINDOW_PROBE = 0x0040
A_ZERO_WINDOW_PROBE_ACK = 0x0080
A_KEEP_ALIVE_ACK = 0x0100
A_OUT_OF_ORDER = 0x0200
A_FAST_RETRANSMISSION = 0x0400
A_WINDOW_UPDATE = 0x0800
A_WINDOW_FULL = 0x1000
A_REUSED_PORTS = 0x2000
A_SPURIOUS_RETRANSMISSION = 0x4000

#: SNIFFER_DECODE_DEBUG=1 lets analysis exceptions through (as for the decoder)
DEBUG = bool(os.environ.get("SNIFFER_DECODE_DEBUG"))
#: unacknowledged segments kept per direction (Wireshark: TCP_MAX_UNACKED_SEGMENTS)
MAX_UNACKED = 10000
#: an out-of-order segment arrives within this long of the highest one when no initial RTT is known
OOO_THRESHOLD_NS = 3_000_000
#: a fast retransmission follows the duplicate ACKs within this long
FAST_RETRANS_NS = 20_000_000

# Expert severities and groups as tshark prints them (_ws.expert.severity / _ws.expert.group)
PI_CHAT = 0x00200000
PI_NOTE = 0x00400000
PI_WARN = 0x00600000
PI_ERROR = 0x00800000
PI_SEQUENCE = 0x02000000
SEVERITY_NAMES = {PI_CHAT: "Chat", PI_NOTE: "Note", PI_WARN: "Warning", PI_ERROR: "Error"}
GROUP_NAMES = {PI_SEQUENCE: "Sequence", 0x09000000: "Protocol", 0x07000000: "Malformed"}

#: (flag, field, Info prefix, expert message, severity) in the order Wireshark prints them
_PRINT: tuple[tuple[int, str, str, tuple[tuple[str, int], ...]], ...] = (
    (
        A_RETRANSMISSION,
        "tcp.analysis.retransmission",
        "[TCP Retransmission] ",
        (("This frame is a (suspected) retransmission", PI_NOTE),),
    ),
    (
        A_FAST_RETRANSMISSION,
        "tcp.analysis.fast_retransmission",
        "[TCP Fast Retransmission] ",
        (
            ("This frame is a (suspected) fast retransmission", PI_NOTE),
            ("This frame is a (suspected) retransmission", PI_NOTE),
        ),
    ),
    (
        A_SPURIOUS_RETRANSMISSION,
        "tcp.analysis.spurious_retransmission",
        "[TCP Spurious Retransmission] ",
        (
            ("This frame is a (suspected) spurious retransmission", PI_NOTE),
            ("This frame is a (suspected) retransmission", PI_NOTE),
        ),
    ),
    (
        A_OUT_OF_ORDER,
        "tcp.analysis.out_of_order",
        "[TCP Out-Of-Order] ",
        (("This frame is a (suspected) out-of-order segment", PI_WARN),),
    ),
    (
        A_REUSED_PORTS,
        "tcp.analysis.reused_ports",
        "[TCP Port numbers reused] ",
        (("A new tcp session is started with the same ports as an earlier session in this trace", PI_NOTE),),
    ),
    (
        A_LOST_PACKET,
        "tcp.analysis.lost_segment",
        "[TCP Previous segment not captured] ",
        (("Previous segment(s) not captured (common at capture start)", PI_WARN),),
    ),
    (
        A_ACK_LOST_PACKET,
        "tcp.analysis.ack_lost_segment",
        "[TCP ACKed unseen segment] ",
        (("ACKed segment that wasn't captured (common at capture start)", PI_WARN),),
    ),
    (
        A_WINDOW_UPDATE,
        "tcp.analysis.window_update",
        "[TCP Window Update] ",
        (("TCP window update", PI_CHAT),),
    ),
    (
        A_WINDOW_FULL,
        "tcp.analysis.window_full",
        "[TCP Window Full] ",
        (("TCP window specified by the receiver is now completely full", PI_WARN),),
    ),
    (A_KEEP_ALIVE, "tcp.analysis.keep_alive", "[TCP Keep-Alive] ", (("TCP keep-alive segment", PI_NOTE),)),
    (
        A_KEEP_ALIVE_ACK,
        "tcp.analysis.keep_alive_ack",
        "[TCP Keep-Alive ACK] ",
        (("ACK to a TCP keep-alive segment", PI_NOTE),),
    ),
    (A_DUPLICATE_ACK, "tcp.analysis.duplicate_ack", "", ()),  # its prefix and expert carry the numbers
    (
        A_ZERO_WINDOW_PROBE,
        "tcp.analysis.zero_window_probe",
        "[TCP ZeroWindowProbe] ",
        (("TCP Zero Window Probe", PI_NOTE),),
    ),
    (A_ZERO_WINDOW, "tcp.analysis.zero_window", "[TCP ZeroWindow] ", (("TCP Zero Window segment", PI_WARN),)),
    (
        A_ZERO_WINDOW_PROBE_ACK,
        "tcp.analysis.zero_window_probe_ack",
        "[TCP ZeroWindowProbeAck] ",
        (("ACK to a TCP Zero Window Probe", PI_NOTE),),
    ),
)

#: the analysis' own expert items (message, severity), in the order of _tcpstate.c's M_* enum; the SYN
#: ones end before the server port, the duplicate ACK's before its number and ")"
_MSG: tuple[tuple[str, int], ...] = (
    ("Connection establish request (SYN): server port ", PI_CHAT),
    ("Connection establish acknowledge (SYN+ACK): server port ", PI_CHAT),
    ("Connection finish (FIN)", PI_CHAT),
    ("This frame initiates the connection closing", PI_NOTE),
    ("This frame undergoes the connection closing", PI_NOTE),
    ("Connection reset (RST)", PI_WARN),
    ("D-SACK Sequence", PI_WARN),
    ("Duplicate ACK (#", PI_NOTE),
)
_M_SYN, _M_SYNACK, _M_FIN, _M_FIN_ACTIVE, _M_FIN_PASSIVE, _M_RST, _M_DSACK, _M_DUPACK = range(8)

#: the tcp.analysis.* flag fields, in Wireshark's order
ANALYSIS_FLAGS = tuple(p[1] for p in _PRINT)

_flag_names: dict[int, tuple[str, ...]] = {}


def flag_names(af: int) -> tuple[str, ...]:
    """The tcp.analysis.* flag fields ``analyze`` sets for the A_* bits ``af`` (``feed_flags``' answer), in
    ANALYSIS_FLAGS order: a fast or spurious retransmission is a retransmission too."""
    names = _flag_names.get(af)
    if names is None:
        bits = af | A_RETRANSMISSION if af & (A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION) else af
        names = _flag_names[af] = tuple(p[1] for p in _PRINT if bits & p[0])
    return names


#: flags after which Wireshark does not hand the payload to the application dissector (the Protocol and
#: Info columns stay TCP's): tcp.no_subdissector_on_error
NO_SUBDISSECTOR = A_RETRANSMISSION | A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION | A_OUT_OF_ORDER

#: every field this module adds or replaces (a display filter naming one needs the analysis)
FIELDS = frozenset(
    {
        "tcp.seq",
        "tcp.ack",
        "tcp.nxtseq",
        "tcp.window_size",
        "tcp.window_size_scalefactor",
        "tcp.time_relative",
        "tcp.time_delta",
        "tcp.analysis",
        "tcp.analysis.flags",
        "tcp.analysis.acks_frame",
        "tcp.analysis.ack_rtt",
        "tcp.analysis.initial_rtt",
        "tcp.analysis.bytes_in_flight",
        "tcp.analysis.push_bytes_sent",
        "tcp.analysis.duplicate_ack_num",
        "tcp.analysis.duplicate_ack_frame",
        "tcp.analysis.rto",
        "tcp.analysis.rto_frame",
        "_ws.expert.message",
        "_ws.expert.severity",
        "_ws.expert.group",
        "tcp.connection.syn",
        "tcp.connection.synack",
        "tcp.connection.fin",
        "tcp.connection.rst",
        "tcp.connection.fin_active",
        "tcp.connection.fin_passive",
        "tcp.options.sack.dsack",
    }
    | {p[1] for p in _PRINT}
)


#: fields whose value the analysis replaces or that only it gives (tcp.seq is relative with it)
_PREFIXES = (
    "tcp.analysis",
    "tcp.seq",
    "tcp.ack",
    "tcp.nxtseq",
    "tcp.window_size",
    "tcp.time_",
    "_ws.expert.",
)


def needs_analysis(names: frozenset[str] | set[str]) -> bool:
    """True when any of the field ``names`` (a filter's, a column's) comes from this analysis.
    (tcp.seq_raw, tcp.ack_raw and tcp.window_size_value are plain header fields.)"""
    return any(
        (n.startswith(_PREFIXES) and n not in ("tcp.seq_raw", "tcp.ack_raw", "tcp.window_size_value"))
        or n in FIELDS
        or n in _REASSEMBLY  # model/reassembly follows the analysis
        for n in names
    )


_REASSEMBLY = frozenset({"tcp.segment", "tcp.segment.count", "tcp.reassembled.length"})


def _gt(a: int, b: int) -> bool:
    """a after b in 32-bit sequence space (Wireshark's GT_SEQ)."""
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000


def _lt(a: int, b: int) -> bool:
    return 0 < ((b - a) & 0xFFFFFFFF) < 0x80000000


class _Flow:
    """One direction of a conversation (Wireshark's tcp_flow_t and its tcp_analyze_seq_info)."""

    __slots__ = (
        "base_seq",
        "base_set",
        "dupacknum",
        "lastack",
        "lastacktime",
        "lastnondupack",
        "lastsegmentflags",
        "maxseqtobeacked",
        "nextseq",
        "nextseqframe",
        "nextseqtime",
        "push_bytes_sent",
        "push_set_last",
        "sacked",
        "segments",
        "valid_bif",
        "win_scale",
        "window",
        "window_syn",
    )

    def __init__(self) -> None:
        self.base_seq = 0
        self.base_set = False
        self.nextseq = 0
        self.nextseqframe = 0
        self.nextseqtime = 0
        self.maxseqtobeacked = 0
        self.lastack = 0
        self.lastacktime = 0
        self.lastnondupack = 0
        self.dupacknum = 0
        self.window = 0
        self.window_syn = True  # the window last seen came in a SYN (never scaled)
        self.win_scale = -1  # -1 unknown, -2 no scaling, else the shift
        self.lastsegmentflags = 0
        self.valid_bif = 1
        self.push_bytes_sent = 0
        self.push_set_last = False
        self.sacked = 0  # bytes covered by the SACK blocks of this side's last segment
        # unacknowledged segments, newest first: [frame, seq, nextseq, ts_ns]
        self.segments: list[list[int]] = []


class _Conv:
    __slots__ = ("fin", "first_ns", "first_rtt", "flow1", "flow2", "mru_syn", "prev_ns")

    def __init__(self, ts: int) -> None:
        self.flow1 = _Flow()
        self.flow2 = _Flow()
        self.first_ns = ts
        self.prev_ns = ts
        self.mru_syn = 0
        self.first_rtt = 0
        self.fin: _Flow | None = None  # the side that sent the first FIN


class TcpAnalyzer:
    """Per-conversation TCP state; ``feed`` each frame in capture order."""

    def __init__(self, max_conversations: int = 100_000) -> None:
        self._convs: OrderedDict[tuple[Any, ...], _Conv] = OrderedDict()
        self._max = max_conversations
        self._defrag: Any = None  # a Defragmenter once feed_frame meets a fragment
        #: the full (defragmented) fields of the frame feed_frame last decoded that way, else None
        self.last_fields: dict[str, Any] | None = None
        #: that frame's per-packet (source, destination, protocol, info) columns (the summary's), else None
        self.last_columns: tuple[str, str, str, str] | None = None
        self._forgotten = 0
        #: the state in C where it was built (model/_tcpstate.c: the same analysis, tested identical)
        self._core = _native_core(max_conversations)
        self.errors = 0  # frames left unanalysed by an analysis bug (SNIFFER_DECODE_DEBUG=1 raises)

    @property
    def native(self) -> bool:
        """True when the state is the C core's (model/_tcpstate.c)."""
        return self._core is not None

    def text_batch(self, *args: Any) -> Any:
        """The native core's text_batch (read --analysis' loop; _tcpstate.c): only where ``native``."""
        return self._core.text_batch(*args)  # type: ignore[union-attr]

    @property
    def conversations(self) -> int:
        """Conversations held now."""
        return len(self._convs) if self._core is None else int(self._core.conversations)

    @property
    def forgotten(self) -> int:
        """Conversations dropped to stay within max_conversations."""
        return self._forgotten if self._core is None else self._core.forgotten

    def feed(self, number: int, fields: dict[str, Any], ts_ns: int) -> dict[str, Any] | None:
        """The analysis fields of one frame (None when it has no TCP header to analyse)."""
        try:
            seg = segment(fields)
            if seg is None:
                return None
            return self.analyze(number, ts_ns, *seg)
        except Exception:  # a bug here must not take a read or a capture down: no analysis for it
            if DEBUG:
                raise
            self.errors += 1
            return None

    def feed_frame(
        self, number: int, frame: Frame, fields: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """``feed`` for a capture Frame: its TCP header read straight from the bytes on the common
        link types (no full decode); other encapsulations go through ``decode.fields.frame_fields``
        (or ``fields``, when the caller already has the frame's), IP fragments through a Defragmenter
        (so a fragmented segment is analysed in its last fragment)."""
        if fields is None:
            r = self.feed_fast(number, frame)
            if r is not FRAGMENT:
                return r  # type: ignore[no-any-return]
            return self.feed_segment(number, frame, FRAGMENT)
        return self.feed_segment(number, frame, fast_segment(frame), fields)

    def feed_fast(self, number: int, frame: Frame, flags_only: bool = False) -> Any:
        """``feed_frame`` without its defragmentation: FRAGMENT for an IP fragment (the caller's to
        decode; nothing is fed), else the frame's analysis (``feed_flags``' answer when ``flags_only``).
        The native core reads the TCP header and analyses the segment in one call."""
        core = self._core
        if core is not None:
            try:
                r = core.frame(number, frame, flags_only)
            except Exception:
                if DEBUG:
                    raise
                self.errors += 1
                self.last_fields = self.last_columns = None
                return None
            if r is not _UNKNOWN and r is not FRAGMENT:
                self.last_fields = self.last_columns = None
                return r
            seg: tuple[Any, ...] | None = r
        else:
            seg = fast_segment(frame)
        if seg is FRAGMENT:
            return FRAGMENT
        if flags_only:
            return self.feed_flags(number, frame, seg)
        return self.feed_segment(number, frame, seg)

    def feed_segment(
        self, number: int, frame: Frame, seg: tuple[Any, ...] | None, fields: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """``feed_frame`` with the frame's ``fast_segment`` already taken."""
        seg = self._placed(number, frame, seg, fields)
        if seg is None:
            return None
        try:
            return self.analyze(number, frame[0], *seg)
        except Exception:
            if DEBUG:
                raise
            self.errors += 1
            return None

    def fast_fragment(self, number: int, frame: Frame) -> tuple[str, str, str] | None:
        """An IP fragment (``fast_segment``'s FRAGMENT) that completes nothing, held by this analyzer's
        defragmenter from its bytes (``Defragmenter.fast_fragment``): its (source, destination, Info);
        None, nothing done, for the others (``feed_segment`` with FRAGMENT then)."""
        from sniffer.model.defrag import Defragmenter

        if self._defrag is None:
            self._defrag = Defragmenter()
        self.last_fields = self.last_columns = None
        return self._defrag.fast_fragment(number, frame)  # type: ignore[no-any-return]

    def _placed(
        self, number: int, frame: Frame, seg: tuple[Any, ...] | None, fields: dict[str, Any] | None
    ) -> tuple[Any, ...] | None:
        """The segment of a frame ``fast_segment`` could not place (_UNKNOWN: from its fields; FRAGMENT:
        from its reassembled datagram, in the last fragment), else ``seg`` itself. Sets ``last_fields``
        and ``last_columns`` to what a decode made here (None when none was needed)."""
        self.last_fields = self.last_columns = None
        if seg is _UNKNOWN or seg is FRAGMENT:
            from sniffer.decode.engine import run
            from sniffer.model.defrag import Defragmenter

            if fields is None:
                ctx = run(frame, False)  # (decode.fields.frame_fields, and the columns of the same run)
                fields = ctx.fields
                self.last_columns = (ctx.src, ctx.dst, ctx.proto, ctx.info)
            if seg is FRAGMENT:  # the TCP header of a fragmented datagram is in its last fragment
                if self._defrag is None:
                    self._defrag = Defragmenter()
                fields = self._defrag.apply(number, frame, fields)
            self.last_fields = fields
            seg = segment(fields)
        return seg

    def _start(
        self, ts: int, src: Any, dst: Any, sport: int, dport: int, seq: int, flags: int, wscale: int | None
    ) -> tuple[_Conv, _Flow, _Flow, int]:
        """The segment's conversation (a new one for a SYN reusing the ports), its sending and receiving
        sides and the A_REUSED_PORTS flag; the initial RTT and window scaling updated from the segment."""
        if (src, sport) <= (dst, dport):
            key = (src, sport, dst, dport)
            forward = True
        else:
            key = (dst, dport, src, sport)
            forward = False
        convs = self._convs
        conv = convs.get(key)
        aflags = 0
        if conv is None:
            conv = convs[key] = _Conv(ts)
            if len(convs) > self._max:
                convs.popitem(last=False)
                self._forgotten += 1
        else:
            convs.move_to_end(key)
            fwd0 = conv.flow1 if forward else conv.flow2
            if flags & (TH_SYN | TH_ACK) == TH_SYN and fwd0.base_set and seq != fwd0.base_seq:
                conv = convs[key] = _Conv(ts)  # a new connection on the same ports
                aflags |= A_REUSED_PORTS
        fwd, rev = (conv.flow1, conv.flow2) if forward else (conv.flow2, conv.flow1)
        # initial RTT: from the latest SYN to the first ACK without SYN
        fa = flags & (TH_SYN | TH_ACK)
        if fa == TH_ACK and conv.mru_syn and not conv.first_rtt:
            conv.first_rtt = ts - conv.mru_syn
        if flags & TH_SYN:
            if fa == TH_SYN:
                conv.mru_syn = ts
            # window scaling: the SYN's option, checked against the other side's
            if wscale is not None:
                fwd.win_scale = min(wscale, 14)
            if fwd.win_scale == -1:
                fwd.win_scale = rev.win_scale = -2
            elif fa == TH_SYN | TH_ACK and rev.win_scale == -2:
                fwd.win_scale = -2
        return conv, fwd, rev, aflags

    def feed_flags(
        self, number: int, frame: Frame, seg: tuple[Any, ...] | None, fields: dict[str, Any] | None = None
    ) -> int | None:
        """The flags-only mode: ``feed_segment``'s tcp.analysis flags alone, as the A_* bits of
        ``flag_names`` (0: an analysed segment without any), None when the frame has no TCP header to
        analyse. The checks and the state they read are the same (so are the flags: a test compares the
        two modes on every corpus capture), but nothing else is made: no relative numbers, RTTs, bytes
        in flight (no list of unacknowledged segments is kept), expert items or Info prefixes. Feed an
        analyzer in one mode only."""
        seg = self._placed(number, frame, seg, fields)
        if seg is None:
            return None
        try:
            src, dst, sport, dport, seq, ack, flags, window, seglen, wscale, _sack = seg
            ts = frame[0]
            if self._core is not None:
                return int(
                    self._core.flags(
                        number, ts, src, dst, sport, dport, seq, ack, flags, window, seglen, wscale
                    )
                )
            conv, fwd, rev, aflags = self._start(ts, src, dst, sport, dport, seq, flags, wscale)
            ta = self._sequence(number, ts, seq, ack, seglen, flags, window, conv, fwd, rev, aflags, False)
            return ta[0] if ta is not None else 0
        except Exception:
            if DEBUG:
                raise
            self.errors += 1
            return None

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
    ) -> dict[str, Any]:
        """Analyse one segment (raw header values); returns its extra fields (see ``apply``)."""
        if self._core is not None:
            return self._core.analyze(  # type: ignore[no-any-return]
                number, ts, src, dst, sport, dport, seq, ack, flags, window, seglen, wscale, sack
            )
        conv, fwd, rev, aflags = self._start(ts, src, dst, sport, dport, seq, flags, wscale)
        out: dict[str, Any] = {}

        # conversation timestamps
        out["tcp.time_relative"] = (ts - conv.first_ns) / 1e9
        out["tcp.time_delta"] = (ts - conv.prev_ns) / 1e9
        conv.prev_ns = ts

        ta = self._sequence(number, ts, seq, ack, seglen, flags, window, conv, fwd, rev, aflags)
        # the SACKed bytes of this segment's option count against the other side's bytes in flight
        fwd.sacked = sum((re - le) & 0xFFFFFFFF for le, re in sack) if sack else 0

        # relative numbers (after the analysis: it may have set the base sequence numbers)
        rseq = (seq - fwd.base_seq) & 0xFFFFFFFF
        out["tcp.seq"] = rseq
        if flags & TH_ACK:
            out["tcp.ack"] = (ack - rev.base_seq) & 0xFFFFFFFF
        else:
            out["tcp.ack"] = ack
        nxt = seglen + (1 if flags & (TH_SYN | TH_FIN) else 0)
        out["tcp.nxtseq"] = (rseq + nxt) & 0xFFFFFFFF
        if flags & TH_SYN:
            out["tcp.window_size"] = window
        else:
            ws = fwd.win_scale
            out["tcp.window_size"] = window << ws if ws >= 0 else window
            out["tcp.window_size_scalefactor"] = 1 << ws if ws >= 0 else ws

        experts: list[tuple[str, int, int]] = []
        if flags & TH_SYN:
            if flags & TH_ACK:
                out["tcp.connection.synack"] = 1
                experts.append((f"{_MSG[_M_SYNACK][0]}{sport}", _MSG[_M_SYNACK][1], 0))
            else:
                out["tcp.connection.syn"] = 1
                experts.append((f"{_MSG[_M_SYN][0]}{dport}", _MSG[_M_SYN][1], 0))
        if flags & TH_FIN:
            out["tcp.connection.fin"] = 1
            experts.append((*_MSG[_M_FIN], 0))
            if conv.fin is None or conv.fin is fwd:
                conv.fin = fwd  # the side that closes first
                out["tcp.connection.fin_active"] = 1
                experts.append((*_MSG[_M_FIN_ACTIVE], 0))
            else:
                out["tcp.connection.fin_passive"] = 1
                experts.append((*_MSG[_M_FIN_PASSIVE], 0))
        if flags & TH_RST:
            out["tcp.connection.rst"] = 1
            experts.append((*_MSG[_M_RST], 0))

        if sack and flags & TH_ACK and _lt(sack[0][0], ack):
            out["tcp.options.sack.dsack"] = 1  # the first SACK block reports data received twice
            experts.append((*_MSG[_M_DSACK], 0))
        prefix = ""
        if ta is not None:
            af = ta[0]
            if af:
                out["tcp.analysis.flags"] = 1
                for bit, name, pre, msgs in _PRINT:
                    if af & bit:
                        out[name] = 1
                        if bit & (A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION):
                            out["tcp.analysis.retransmission"] = 1  # its expert item is this field too
                        if bit == A_DUPLICATE_ACK:
                            pre = f"[TCP Dup ACK {ta[4]}#{ta[3]}] "
                        prefix = pre + prefix  # each one goes in front of the ones before
                        for m, sev in msgs:
                            experts.append((m, sev, 0))
                if af & A_RETRANSMISSION and ta[6]:
                    out["tcp.analysis.rto"] = ta[6] / 1e9
                    out["tcp.analysis.rto_frame"] = ta[7]
            if ta[3]:
                out["tcp.analysis.duplicate_ack_num"] = ta[3]
                out["tcp.analysis.duplicate_ack_frame"] = ta[4]
                experts.append((f"{_MSG[_M_DUPACK][0]}{ta[3]})", _MSG[_M_DUPACK][1], 0))
            if ta[1]:
                out["tcp.analysis.acks_frame"] = ta[1]
                if ta[2]:
                    out["tcp.analysis.ack_rtt"] = ta[2] / 1e9
            if conv.first_rtt:
                out["tcp.analysis.initial_rtt"] = conv.first_rtt / 1e9
            if ta[5]:
                out["tcp.analysis.bytes_in_flight"] = ta[5]
                out["tcp.analysis.push_bytes_sent"] = ta[8]
        if experts:
            out["_ws.expert.message"] = [e[0] for e in experts]
            out["_ws.expert.severity"] = [e[1] for e in experts]
            out["_ws.expert.group"] = [PI_SEQUENCE] * len(experts)
        out["_tcp.prefix"] = prefix
        out["_tcp.flags"] = ta[0] if ta is not None else 0
        out["_tcp.raw"] = (sport, dport, seq, ack, flags, window, seglen)
        out["_tcp.addr"] = (src, dst)
        return out

    def _sequence(
        self,
        number: int,
        ts: int,
        seq: int,
        ack: int,
        seglen: int,
        flags: int,
        window: int,
        conv: _Conv,
        fwd: _Flow,
        rev: _Flow,
        aflags: int,
        track: bool = True,
    ) -> list[int] | None:
        """Wireshark's tcp_analyze_sequence_number. Returns the frame's 'ta':
        [flags, acks_frame, ack_rtt_ns, dupack_num, dupack_frame, bytes_in_flight, rto_ns, rto_frame,
        push_bytes_sent] or None when the frame has nothing to report. Not ``track``: the flags-only
        mode (``feed_flags``), without the unacknowledged segments (they give RTTs and bytes in flight,
        never a flag)."""
        ta = [aflags, 0, 0, 0, 0, 0, 0, 0, 0]
        has = bool(aflags)  # Wireshark's "ta" exists for this frame
        if not fwd.base_set:
            fwd.base_seq = seq if flags & TH_SYN else (seq - 1) & 0xFFFFFFFF
            fwd.base_set = True
        if not rev.base_set and flags & TH_ACK:
            rev.base_seq = (ack - 1) & 0xFFFFFFFF
            rev.base_set = True
        if flags & TH_ACK:
            rev.valid_bif = 1

        nextseq = fwd.nextseq
        no_sfr = not flags & (TH_SYN | TH_FIN | TH_RST)
        checked = False
        # ZERO WINDOW PROBE: one byte at the next expected sequence number into a zero window
        if seglen == 1 and seq == nextseq and rev.window == 0:
            ta[0] |= A_ZERO_WINDOW_PROBE
            has = True
            checked = True
        if not checked:
            if window == 0 and no_sfr:
                ta[0] |= A_ZERO_WINDOW
                has = True
            # LOST PACKET: beyond the highest sequence number seen
            if nextseq and _gt(seq, nextseq) and not flags & TH_RST:
                ta[0] |= A_LOST_PACKET
                has = True
                fwd.valid_bif = 0
            # KEEP ALIVE: 0 or 1 byte one before the next expected sequence number
            if seglen <= 1 and seq == (nextseq - 1) & 0xFFFFFFFF and no_sfr:
                ta[0] |= A_KEEP_ALIVE
                has = True
            # WINDOW UPDATE: nothing new but the window
            if (
                seglen == 0
                and window
                and window != fwd.window
                and seq == nextseq
                and ack == fwd.lastack
                and no_sfr
            ):
                ta[0] |= A_WINDOW_UPDATE
                has = True
            # WINDOW FULL: the data reaches the edge of the receiver's advertised window
            if seglen > 0 and rev.win_scale != -1 and no_sfr:
                shift = 0 if rev.window_syn or rev.win_scale == -2 else rev.win_scale
                if (seq + seglen) & 0xFFFFFFFF == (rev.lastack + (rev.window << shift)) & 0xFFFFFFFF:
                    ta[0] |= A_WINDOW_FULL
                    has = True
            same = seglen == 0 and window == fwd.window and seq == nextseq and no_sfr
            # KEEP ALIVE ACK
            if same and window and ack == fwd.lastack and rev.lastsegmentflags & A_KEEP_ALIVE:
                ta[0] |= A_KEEP_ALIVE_ACK
                has = True
                checked = True
            # ZERO WINDOW PROBE ACK
            elif (
                same
                and window == 0
                and (ack == fwd.lastack or ack == (fwd.lastack + 1) & 0xFFFFFFFF)
                and rev.lastsegmentflags & A_ZERO_WINDOW_PROBE
            ):
                ta[0] |= A_ZERO_WINDOW_PROBE_ACK
                has = True
                if ack == (fwd.lastack + 1) & 0xFFFFFFFF:  # the receiver took the probe's byte
                    rev.nextseq = rev.maxseqtobeacked = ack
                checked = True
            # DUPLICATE ACK
            elif same and window and ack == fwd.lastack:
                fwd.dupacknum += 1
                ta[0] |= A_DUPLICATE_ACK
                has = True
                ta[3] = fwd.dupacknum
                ta[4] = fwd.lastnondupack
        # finished_fwd:
        ack_changed = ack != fwd.lastack
        if ack_changed:
            fwd.lastnondupack = number
            fwd.dupacknum = 0
        # ACKED LOST PACKET: this acks beyond what we saw the other side send (tshark 4.0 reports it
        # when the ACK number moves; a repeated ACK number is not reported again)
        if rev.maxseqtobeacked and _gt(ack, rev.maxseqtobeacked) and flags & TH_ACK:
            ta[0] |= A_ACK_LOST_PACKET if ack_changed else A_NONE
            has = True
            rev.maxseqtobeacked = rev.nextseq
        # RETRANSMISSION / FAST RETRANSMISSION / SPURIOUS / OUT-OF-ORDER
        if seglen > 0 or flags & (TH_SYN | TH_FIN):
            not_advanced = nextseq and _lt(seq, nextseq)
            if ta[0] & A_KEEP_ALIVE:
                pass
            elif seglen > 0 and rev.lastack and not _gt((seq + seglen) & 0xFFFFFFFF, rev.lastack):
                # all of it was acknowledged already (checked first, as tshark 4.0.17 does: a segment
                # sent again within the out-of-order threshold is spurious, not out-of-order)
                ta[0] |= A_SPURIOUS_RETRANSMISSION
                has = True
            elif (
                not_advanced
                and rev.dupacknum >= 2
                and rev.lastack == seq
                and 0 <= ts - rev.lastacktime < FAST_RETRANS_NS  # (unsigned in Wireshark)
            ):
                ta[0] |= A_FAST_RETRANSMISSION
                has = True
            else:
                thres = conv.first_rtt or OOO_THRESHOLD_NS
                synfin = 1 if flags & (TH_SYN | TH_FIN) else 0
                if (
                    not_advanced
                    and 0
                    <= ts - fwd.nextseqtime
                    < thres  # (unsigned in Wireshark: never when time goes back)
                    and nextseq != (seq + seglen + synfin) & 0xFFFFFFFF
                ):
                    ta[0] |= A_OUT_OF_ORDER
                    has = True
                elif not_advanced:
                    ta[0] |= A_RETRANSMISSION
                    has = True
                    ta[6] = ts - fwd.nextseqtime
                    ta[7] = fwd.nextseqframe
        # remember the segment
        nseq = (seq + seglen) & 0xFFFFFFFF
        if seglen or flags & (TH_SYN | TH_FIN):
            if flags & (TH_SYN | TH_FIN):
                nseq = (nseq + 1) & 0xFFFFFFFF
            if track and len(fwd.segments) < MAX_UNACKED:
                fwd.segments.insert(0, [number, seq, nseq, ts])
        zwp = ta[0] & A_ZERO_WINDOW_PROBE
        if _gt(nseq, fwd.nextseq) or not fwd.nextseq:
            if not zwp:
                fwd.nextseq = nseq
                fwd.nextseqframe = number
                fwd.nextseqtime = ts
        if seq == fwd.maxseqtobeacked or not fwd.maxseqtobeacked:
            if not zwp:
                fwd.maxseqtobeacked = fwd.nextseq
        fwd.window = window
        fwd.window_syn = bool(flags & TH_SYN)
        fwd.lastack = ack
        fwd.lastacktime = ts
        fwd.lastsegmentflags = ta[0]
        if not track:
            return ta if has else None
        # drop what this ACKs in the other direction; an exact match gives the RTT
        segs = rev.segments
        if segs:
            keep = []
            for s in segs:
                if ack == s[2]:
                    ta[0] |= A_NONE
                    has = True
                    ta[1] = s[0]
                    ta[2] = ts - s[3]
                elif _gt(ack, s[1]) and not _gt(ack, s[2]):
                    s[1] = ack
                    keep.append(s)
                    continue
                elif _gt(s[2], ack):
                    keep.append(s)
                    continue
            rev.segments = keep
        # bytes in flight after this frame
        segs = fwd.segments
        if seglen and segs and fwd.valid_bif:
            base = fwd.base_seq
            first = (segs[0][1] - base) & 0xFFFFFFFF
            last = (segs[0][2] - base) & 0xFFFFFFFF
            for s in segs:
                a = (s[1] - base) & 0xFFFFFFFF
                b = (s[2] - base) & 0xFFFFFFFF
                if b > last:
                    last = b
                if a < first:
                    first = a
            in_flight = (last - first) & 0xFFFFFFFF
            if flags & (TH_SYN | TH_FIN):
                in_flight -= 1  # the SYN/FIN octet is not data in flight
            if 0 < in_flight < 2_000_000_000:
                ta[0] |= A_NONE
                has = True
                psh = flags & TH_PUSH
                if psh and not fwd.push_set_last:
                    fwd.push_bytes_sent += seglen
                    fwd.push_set_last = True
                elif psh or fwd.push_set_last:
                    fwd.push_bytes_sent = seglen
                    fwd.push_set_last = bool(psh)
                else:
                    fwd.push_bytes_sent += seglen
                # less what the receiver's last SACK blocks say it holds (tshark 4.0 then shows
                # nothing when that leaves 0 or less)
                in_flight = (in_flight - rev.sacked) & 0xFFFFFFFF
                if 0 < in_flight < 2_000_000_000:
                    ta[5] = in_flight
                    ta[8] = fwd.push_bytes_sent
        return ta if has else None


A_NONE = 0


def segment(fields: dict[str, Any]) -> tuple[Any, ...] | None:
    """(src, dst, sport, dport, seq, ack, flags, window, seglen, wscale, SACK blocks) of the frame's TCP header from
    its decoded fields; None without one (or when it is only quoted inside an ICMP error)."""
    seqr = fields.get("tcp.seq_raw")
    if seqr is None or "tcp.len" not in fields:
        return None
    protos = fields.get("frame.protocols", "")
    parts = protos.split(":")
    try:
        t = parts.index("tcp")
    except ValueError:
        return None
    if "icmp" in parts[:t] or "icmpv6" in parts[:t]:
        return None
    ipname = None
    for p in reversed(parts[:t]):
        if p in ("ip", "ipv6"):
            ipname = p
            break
    if ipname is None:
        return None
    src = _last(fields.get(f"{ipname}.src"))
    dst = _last(fields.get(f"{ipname}.dst"))
    if isinstance(seqr, list):
        return None
    ws = fields.get("tcp.options.wscale.shift")
    le, re = fields.get("tcp.options.sack_le"), fields.get("tcp.options.sack_re")
    sack = None
    if le is not None and re is not None:
        les, res = (le if type(le) is list else [le]), (re if type(re) is list else [re])
        sack = tuple(zip(les, res, strict=False))
    return (
        (ipname, src),
        (ipname, dst),
        _last(fields["tcp.srcport"]),
        _last(fields["tcp.dstport"]),
        seqr,
        _last(fields["tcp.ack_raw"]),
        _last(fields["tcp.flags"]),
        _last(fields["tcp.window_size_value"]),
        _last(fields["tcp.len"]),
        _last(ws) if ws is not None else None,
        sack,
    )


def _last(v: Any) -> Any:
    return v[-1] if type(v) is list else v


def apply(fields: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """Merge a frame's analysis (from ``TcpAnalyzer.feed``) into its field dict, in place: relative
    tcp.seq/tcp.ack, the analysis fields, expert info, and the Protocol/Info columns as Wireshark
    shows them (a "[TCP ...]" prefix; a retransmitted payload is not decoded again)."""
    if not extra:
        return fields
    info = fields.get("_ws.col.Info", "")
    if isinstance(info, str):
        proto, info = columns(fields.get("_ws.col.Protocol", ""), info, extra)
        fields["_ws.col.Protocol"], fields["_ws.col.Info"] = proto, info
    for k, v in extra.items():
        if k[0] == "_":
            if k.startswith("_ws.expert."):
                old = fields.get(k)
                if old is None:
                    fields[k] = v
                else:
                    fields[k] = (old if type(old) is list else [old]) + v
            continue
        fields[k] = v
    return fields


def columns(proto: str, info: str, extra: dict[str, Any]) -> tuple[str, str]:
    """The Protocol and Info columns of a frame (as the per-packet decoder gives them) with its TCP
    analysis: relative Seq/Ack, the scaled Win, the "[TCP ...]" prefixes; after a retransmission or
    an out-of-order segment the payload is not decoded again (Wireshark's tcp.no_subdissector_on_error),
    so the columns are TCP's own."""
    sp, dp, seq, ack, flags, win, seglen = extra["_tcp.raw"]
    if extra["_tcp.flags"] & NO_SUBDISSECTOR and proto != "TCP":
        from sniffer.decode.inet import tcp_flags_str

        proto = "TCP"
        info = f"{sp} -> {dp} [{tcp_flags_str(flags)}] Seq={seq}"
        if flags & TH_ACK:
            info += f" Ack={ack}"
        info += f" Win={win} Len={seglen}"
    info = info.replace(f"] Seq={seq}", f"] Seq={extra['tcp.seq']}", 1)
    if flags & TH_ACK:
        info = info.replace(f" Ack={ack}", f" Ack={extra['tcp.ack']}", 1)
    info = info.replace(f" Win={win}", f" Win={extra['tcp.window_size']}", 1)
    return proto, extra["_tcp.prefix"] + info


# ---------------------------------------------------------------------------------------------------
# the TCP header straight from the bytes (the common link types; the rest via the full decoder)

_UNKNOWN = ("unknown",)
#: fast_segment's answer for an IP fragment (IPv4 MF or offset, an IPv6 Fragment header): only the
#: defragmenter and the decoder can tell what it carries
FRAGMENT = ("fragment",)
_u16 = struct.Struct("!H").unpack_from
_TCPHDR = struct.Struct("!HHIIHH")
#: UDP ports that carry tunnels (VXLAN, Geneve, GTP-U, GRE-in-UDP, AYIYA, Teredo, L2TP, CAPWAP...):
#: TCP inside them is found by the full decoder
TUNNEL_UDP_PORTS = frozenset({4789, 8472, 6081, 2152, 4754, 5072, 3544, 1701, 5246, 5247, 4341, 6635})
#: IP protocols that are certainly not TCP nor carry it (ICMP errors quote TCP but are not analysed;
#: ESP is encrypted): ICMP, IGMP, ICMPv6, EIGRP, OSPF, PIM, VRRP, PGM, SCTP, ESP, no next header
_NOT_TCP = frozenset({1, 2, 58, 88, 89, 103, 112, 113, 132, 50, 59})
_IPV6_EXT = (0, 43, 60)
#: ethertypes that never carry IP: ARP, RARP, LLDP, PTP, DECnet, EAPOL, slow protocols (LACP), IPX,
#: AppleTalk/AARP, MACsec (encrypted), FCoE/FIP, loopback, EtherCAT, PROFINET, GOOSE/SV, CFM, MVRP/MMRP
_NOT_IP_ETHERTYPES = frozenset(
    {
        0x0806,
        0x8035,
        0x88CC,
        0x88F7,
        0x6001,
        0x6002,
        0x6003,
        0x6004,
        0x6005,
        0x6006,
        0x6007,
        0x888E,
        0x8809,
        0x8137,
        0x809B,
        0x80F3,
        0x88E5,
        0x8906,
        0x8914,
        0x9000,
        0x88A4,
        0x8892,
        0x88B8,
        0x88BA,
        0x8902,
        0x88F5,
        0x88F6,
    }
)


_ntoa = socket.inet_ntoa
_ntop = socket.inet_ntop
_AF_INET6 = socket.AF_INET6


def tcp_options(d: bytes, o: int, oend: int) -> tuple[int | None, tuple[tuple[int, int], ...] | None] | None:
    """The window scale shift and the first SACK blocks of the TCP options d[o:oend] (None, None
    when absent); None if an option's length is bogus (the decoder decides what that means)."""
    wscale: int | None = None
    sack: tuple[tuple[int, int], ...] | None = None
    while o < oend:
        kind = d[o]
        if kind == 0:
            break
        if kind == 1:
            o += 1
            continue
        if o + 1 >= oend:
            break
        ln = d[o + 1]
        if ln < 2 or o + ln > oend:
            return None
        if kind == 3 and ln == 3:
            wscale = d[o + 2]
        elif kind == 5 and ln >= 10 and sack is None:
            sack = tuple(
                (int.from_bytes(d[b : b + 4], "big"), int.from_bytes(d[b + 4 : b + 8], "big"))
                for b in range(o + 2, o + ln - 7, 8)
            )
        o += ln
    return wscale, sack


def fast_segment(frame: Frame) -> tuple[Any, ...] | None:
    """``segment`` from the frame's bytes: None when the frame certainly carries no analysable TCP
    header, ``FRAGMENT`` for an IP fragment, ``_UNKNOWN`` when only the full decoder can tell
    (tunnels, other link types). One walk of the headers (decode.layers.link), no text but the
    addresses of a TCP segment."""
    d = frame[1]
    try:
        lk = link(d, frame[3])
    except (struct.error, IndexError):
        return _UNKNOWN
    if lk is None:
        return _UNKNOWN
    et, off, _ = lk
    n = len(d)
    if et == 0x0800:
        h = ipv4(d, off)
        if h is None:  # cut before the addresses, or not version 4: only the fragment bits can be read
            return FRAGMENT if n >= off + 8 and _u16(d, off + 6)[0] & 0x3FFF else _UNKNOWN
        if h.frag & 0x3FFF:
            return FRAGMENT  # (defrag.is_fragment's test)
        if h.hlen < 20 or h.length < h.hlen:
            return _UNKNOWN  # options cut, bogus lengths: the decoder's business
        proto = h.proto
        l4 = off + h.hlen
        if proto != 6:
            return _not_tcp(proto, d, l4, n)
        ipname = "ip"
        src, dst = _ntoa(h.src), _ntoa(h.dst)
        end = off + h.length
    elif et == 0x86DD:
        h = ipv6(d, off)
        if h is None:
            return _UNKNOWN
        proto = h.proto
        l4 = off + 40
        while proto in _IPV6_EXT:
            if n < l4 + 8:
                return _UNKNOWN
            proto, l4 = d[l4], l4 + (d[l4 + 1] + 1) * 8
        if proto == 44:
            return FRAGMENT
        if h.length == 40:
            return _UNKNOWN  # jumbogram
        if proto != 6:
            return _not_tcp(proto, d, l4, n)
        ipname = "ipv6"
        src, dst = _ntop(_AF_INET6, h.src), _ntop(_AF_INET6, h.dst)
        end = off + h.length
    elif et in _NOT_IP_ETHERTYPES:
        return None
    elif et < 0x0600 and frame[3] == LINKTYPE_ETHERNET:
        # 802.3 length: LLC. Only SNAP (AA; not Cisco's OUI: CDP, VTP, DTP, PVST) and LLC's IP SAP (06)
        # may carry IP
        if n <= off + 5 or d[off] == 0x06:
            return _UNKNOWN
        return _UNKNOWN if d[off] == 0xAA and d[off + 3 : off + 6] != b"\x00\x00\x0c" else None
    else:
        return _UNKNOWN
    if n < l4 + 20:
        return _UNKNOWN
    sport, dport, seq, ack, offflags, win = _TCPHDR.unpack_from(d, l4)
    hl = (offflags >> 12) * 4
    if hl < 20 or l4 + hl > n:
        return _UNKNOWN  # the decoder decides what a bogus or cut header means
    wscale: int | None = None
    sack: tuple[tuple[int, int], ...] | None = None
    if hl > 20:
        opts = tcp_options(d, l4 + 20, l4 + hl)
        if opts is None:
            return _UNKNOWN
        wscale, sack = opts
    seglen = end - l4 - hl
    if seglen < 0:
        seglen = 0
    return (
        (ipname, src),
        (ipname, dst),
        sport,
        dport,
        seq,
        ack,
        offflags & 0x0FFF,
        win,
        seglen,
        wscale,
        sack,
    )


def _not_tcp(proto: int, d: bytes, l4: int, n: int) -> tuple[Any, ...] | None:
    """fast_segment's answer for an IP payload that is not TCP itself."""
    if proto in _NOT_TCP:
        return None
    if proto == 17 and n >= l4 + 4:
        sp, dp = _u16(d, l4)[0], _u16(d, l4 + 2)[0]
        return _UNKNOWN if sp in TUNNEL_UDP_PORTS or dp in TUNNEL_UDP_PORTS else None
    return _UNKNOWN


_core_mod: list[Any] = []


def _tunnels() -> int:
    """The encapsulations the native header read walks into to place a TCP segment that
    ``fast_segment`` leaves to the decoder (``segment`` of its fields finds the same: a test checks every
    corpus frame): bits of _tcpstate.c's TUN_*, each while the registered dissectors are the ones it
    copies. PPPoE sessions (1), PBB (2), MPLS (4), GRE version 0 carrying IP (8) or Ethernet (16), AH (32),
    IP in IP (64), and on UDP (the port inet.udp_payload would choose, no conversation bound) VXLAN (128),
    Geneve (256), GRE-in-UDP (512), AYIYA forwarding IP (1024); only whole datagrams."""
    from sniffer.decode import (
        engine,  # noqa: F401  (imports every protocol module: fills the tables)
        inet,
        link,
        tunnels,
    )
    from sniffer.decode.core import ETHERTYPES, IP_PROTOS, UDP_PORTS
    from sniffer.decode.layers import VLAN_TYPES

    eth, ip = ETHERTYPES.map, IP_PROTOS.map
    if not (
        eth.get(0x0800) is inet.dissect_ipv4
        and eth.get(0x86DD) is inet.dissect_ipv6
        and ip.get(6) is inet.dissect_tcp
        and all(eth.get(t) in (link.dissect_vlan, link.dissect_8021ad) for t in VLAN_TYPES)
    ):
        return 0
    ppp = tunnels.PPP_PROTOS.map
    t = 0
    if (
        eth.get(0x8864) is tunnels.dissect_pppoes
        and ppp.get(0x0021) is tunnels._ppp_ip
        and ppp.get(0x0057) is tunnels._ppp_ipv6
    ):
        t |= 1
    if eth.get(0x88E7) is tunnels.dissect_pbb:
        t |= 2
    if eth.get(0x8847) is tunnels.dissect_mpls and eth.get(0x8848) is tunnels.dissect_mpls:
        t |= 4
    if ip.get(47) is inet.dissect_gre and not any(p in inet.GRE_PROTOS.map for p in (0x0800, 0x86DD, 0x6558)):
        t |= 8 | 16
    if ip.get(51) is inet.dissect_ah:
        t |= 32
    if ip.get(4) is inet.dissect_ipv4 and ip.get(41) is inet.dissect_ipv6:
        t |= 64
    udp = UDP_PORTS.map
    if udp.get(4789) is inet.dissect_vxlan:
        t |= 128
    if udp.get(6081) is tunnels.dissect_geneve:
        t |= 256
    if udp.get(4754) is tunnels.dissect_gre_in_udp and t & 8:
        t |= 512
    if udp.get(5072) is tunnels.dissect_ayiya and t & 64:
        t |= 1024
    return t


def _udp_dispatch() -> tuple[Any, Any]:
    """What inet.udp_payload chooses by: the ports with a dissector, the bound conversations (live)."""
    from sniffer.decode.core import UDP_CONVERSATIONS, UDP_PORTS

    return tuple(UDP_PORTS.map), UDP_CONVERSATIONS.map


def _native_core(max_conversations: int) -> Any | None:
    """A new C state (model/_tcpstate.c's Core), or None where it was not built or SNIFFER_NO_NATIVE=1 is
    set (the Python code above then runs alone)."""
    mod = _native_module()
    return None if mod is None else mod.Core(max_conversations)


def _native_module() -> Any | None:
    """model/_tcpstate given this module's tables (once), or None (not built, SNIFFER_NO_NATIVE=1)."""
    if not _core_mod:
        mod = None
        if os.environ.get("SNIFFER_NO_NATIVE", "") in ("", "0"):
            try:
                from sniffer.model import _tcpstate
            except ImportError:
                pass
            else:
                from sniffer.decode.inet import TCP_FLAG_NAMES
                from sniffer.decode.layers import VLAN_TYPES

                _tcpstate.setup(
                    _PRINT,
                    tuple(m[0] for m in _MSG),
                    tuple(m[1] for m in _MSG),
                    PI_SEQUENCE,
                    (MAX_UNACKED, OOO_THRESHOLD_NS, FAST_RETRANS_NS),
                    FRAGMENT,
                    _UNKNOWN,
                    VLAN_TYPES,
                    _NOT_IP_ETHERTYPES,
                    TUNNEL_UDP_PORTS,
                    _IPV6_EXT,
                    _NOT_TCP,
                    TCP_FLAG_NAMES,
                    _tunnels(),
                    *_udp_dispatch(),
                )
                mod = _tcpstate
        _core_mod.append(mod)
    return _core_mod[0]


def native_line() -> Any | None:
    """The native core's ``analysed_line(line, number, wirelen, extra, NO_SUBDISSECTOR)`` (read
    --analysis' line of an analysed TCP frame from its per-packet line: ``columns``' changes made to the
    line; None when the line is not of that form), or None where it was not built."""
    mod = _native_module()
    return None if mod is None else mod.analysed_line


def group_name(g: int) -> str:
    from sniffer.model.expert import GROUP_NAMES as LAYER_GROUPS

    return GROUP_NAMES.get(g) or LAYER_GROUPS.get(g, str(g))


class ExpertTally:
    """Counts expert items per (severity, group, protocol, message) in order of first appearance, and
    prints them like ``tshark -q -z expert``."""

    _SECTIONS = ((PI_ERROR, "Errors"), (PI_WARN, "Warns"), (PI_NOTE, "Notes"), (PI_CHAT, "Chats"))

    def __init__(self) -> None:
        self.counts: dict[tuple[int, int, str, str], int] = {}

    def add(self, fields: dict[str, Any], protocol: str = "TCP") -> None:
        msgs = fields.get("_ws.expert.message")
        if not msgs:
            return
        sevs, groups = fields["_ws.expert.severity"], fields["_ws.expert.group"]
        for m, s, g in zip(msgs, sevs, groups, strict=False):
            key = (s, g, protocol, m)
            self.counts[key] = self.counts.get(key, 0) + 1

    def add_items(self, found: list[tuple[str, int, int, str]]) -> None:
        """Count (message, severity, group, protocol) items (``model.expert.items``)."""
        for m, s, g, p in found:
            key = (s, g, p, m)
            self.counts[key] = self.counts.get(key, 0) + 1

    def format(self) -> str:
        out = []
        for sev, name in self._SECTIONS:
            rows = [(k, n) for k, n in self.counts.items() if k[0] == sev]
            if not rows:
                continue
            out.append(f"\n{name} ({sum(n for _, n in rows)})\n=============")
            out.append("   Frequency      Group           Protocol  Summary")
            for (_, g, proto, msg), n in rows:
                out.append(f"{n:12d}{group_name(g):>11}{proto:>19}  {msg}")
        return "\n".join(out) + "\n"
