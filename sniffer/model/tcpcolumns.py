"""The packet list's Protocol and Info columns with the conversation state, in bounded memory (sans-IO).

Feed every frame of a capture once, in order (``feed``, or ``note`` with a TCP analysis and reassembly
verdict someone else computed); ``columns(index, protocol, info, frame)`` then turns the per-packet
columns of a frame into Wireshark's default view: the "[TCP Retransmission]"-style prefixes, relative
Seq/Ack and the scaled Win, "[TCP segment of a reassembled PDU]" on the segments of a PDU completed
later, the reassembled PDU's columns on the frame that completes it, and TCP's own columns after a
retransmission or an out-of-order segment (Wireshark does not dissect the payload again). ``bad(index)``
says whether the frame matches Wireshark's "Bad TCP" colouring rule.

Memory: a kind byte per frame; the frames the state says something of (TCP segments, IP fragments: the
"slots", found by rank: a count per 256 frames plus a count of the non-TCP kind bytes since) have 21 more
bytes: five 32-bit numbers (relative Seq/Ack, scaled Win, the conversation's previous frame and the frame
a segment or fragment was reassembled in) and a prefix code (the "[TCP ...]" prefix text kept once in a
small table; a Dup ACK's, which names frames, in a dict by frame), plus the columns of completed PDUs (at
most ``max_pdus``; older ones go back to the per-packet view) and, per conversation, a short text key to
its last frame: nothing of the frame itself is kept; ``columns`` reads the TCP header again from the
frame it is given (the rows on screen). 1M frames, 50k TCP conversations, 45% of the frames flagged:
~25 MB (it was ~78 MB with a number per frame in each array and the prefixes in a dict by frame).

The detail pane's state (``state``): the frames of the selected frame's conversation are found through
the previous-frame links and fed again, in order, to a new analysis and reassembly (the same code, the
same frames: the same answers, as the analysis and reassembly of one conversation depend on its frames
alone), which gives that frame's whole analysis and reassembly verdict without keeping them for every frame.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from typing import Any

from sniffer.frame import Frame
from sniffer.model.reassembly import DECODE, SEGMENT_INFO, TcpReassembler, _middle, apply_columns
from sniffer.model.reassembly import SEGMENT as RA_SEGMENT
from sniffer.model.tcpanalysis import (
    DEBUG,
    FRAGMENT,
    NO_SUBDISSECTOR,
    TcpAnalyzer,
    apply,
    fast_segment,
    segment,
)

# kinds (the low bits of the kind byte)
PLAIN = 0  # no TCP analysis: the per-packet columns
TCP = 1  # prefix and relative numbers on the per-packet columns
SEGMENT = 2  # a segment of a PDU completed later: TCP's columns and the note
OWN = 3  # a retransmission or out-of-order segment: TCP's own columns (the payload not dissected)
PDU = 4  # completes a reassembled PDU: that PDU's columns (kept in ``pdus``)
FIXED = 5  # an IP fragment: its columns as the defragmenter and the analysis left them (in ``pdus``)
BAD = 0x80  # Wireshark's "Bad TCP" rule
PREFIX_DICT = 255  # a prefix code: the frame's prefix is in ``dupack``

#: analysis flags that do not make a frame "Bad TCP" (Wireshark's rule leaves them out)
NOT_BAD = ("tcp.analysis.window_update", "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack")

_SEQ = re.compile(r"\] Seq=\d+")
_ACK = re.compile(r" Ack=\d+")
_WIN = re.compile(r" Win=\d+")


def is_bad(extra: dict[str, Any] | None) -> bool:
    """Wireshark's "Bad TCP" colouring rule on a frame's analysis: tcp.analysis.flags &&
    !tcp.analysis.window_update && !tcp.analysis.keep_alive && !tcp.analysis.keep_alive_ack."""
    return extra is not None and "tcp.analysis.flags" in extra and not any(k in extra for k in NOT_BAD)


class TcpColumns:
    """The list columns of the frames fed so far (see the module's docstring)."""

    def __init__(self, reassembly: bool = True, max_pdus: int = 200_000) -> None:
        self.reassembly = reassembly
        self.max_pdus = max_pdus
        self._tcp: Any = None  # TcpAnalyzer and TcpReassembler, made by the first ``feed``
        self._ra: Any = None
        self.kind = bytearray()  # per frame
        #: the number of slots (frames of a kind other than PLAIN) before frame 256 * k
        self._base = array("I")
        # per slot: relative Seq/Ack and scaled Win, the conversation's previous frame (index + 1; 0:
        # none) and, for a segment or fragment, the frame its PDU or datagram was reassembled in
        # (index + 1; 0: none, or not yet); the prefix code (0: none; PREFIX_DICT: in ``dupack``)
        self.seq = array("I")
        self.ack = array("I")
        self.win = array("I")
        self.prev = array("I")
        self.later = array("I")
        self.pcode = bytearray()
        self.prefixes: list[str] = [""]  # prefix code -> text
        self._pcodes: dict[str, int] = {}
        self.dupack: dict[int, str] = {}  # frame -> its prefix when it names frames (a Dup ACK's)
        #: conversation (a short text) -> its last frame (index + 1)
        self._last: dict[str, int] = {}
        self.addrs: dict[Any, Any] = {}  # (see _step)
        self.max_conversations = 100_000
        #: a frame that completed a datagram -> its fragments' frame numbers (at most max_pdus)
        self.frags: dict[int, tuple[int, ...]] = {}
        self.pdus: dict[int, tuple[str, str]] = {}
        self.errors = 0  # frames left per packet by a bug (SNIFFER_DECODE_DEBUG=1 raises)
        #: the detail pane's last replay: (frame index, its analyzer, its reassembler)
        self._replay: tuple[int, Any, Any, FrameState] | None = None

    @property
    def fed(self) -> int:
        """How many frames were fed (the next one's index)."""
        return len(self.kind)

    def feed(self, frame: Frame) -> dict[str, Any] | None:
        """Analyse the next frame (its TCP analysis and reassembly); returns its analysis fields."""
        if self._tcp is None:
            self._tcp = TcpAnalyzer()
            self._ra = TcpReassembler() if self.reassembly else None
        n = len(self.kind) + 1
        slots, bases = len(self.seq), len(self._base)
        try:
            extra, v, fragment = _step(self._tcp, self._ra, n, frame, self.addrs, light=True)
            self.note(frame, extra, v, fragment)
            res: dict[str, Any] | None = extra
        except Exception:  # a bug here must not stop the list's state: this frame per packet
            if DEBUG:
                raise
            i = n - 1  # whatever this frame left half-written goes (later entries of earlier frames stay)
            del self.kind[i:], self._base[bases:]
            for a in (self.seq, self.ack, self.win, self.prev, self.later, self.pcode):
                del a[slots:]
            self.dupack.pop(i, None)
            self.pdus.pop(i, None)
            self.note(frame, None)
            self.errors += 1
            return None
        return res

    def _slot(self, index: int) -> int:
        """The slot of frame ``index`` (fed, of a kind other than PLAIN)."""
        start = index & ~0xFF
        return self._base[index >> 8] + (index - start) - self.kind.count(PLAIN, start, index)

    def prev_of(self, index: int) -> int:
        """The previous frame of frame ``index``'s conversation (its index + 1; 0: none)."""
        return self.prev[self._slot(index)] if self.kind[index] != PLAIN else 0

    def later_of(self, index: int) -> int:
        """The frame where frame ``index``'s PDU or datagram was reassembled (index + 1; 0: none, not yet)."""
        return self.later[self._slot(index)] if index < len(self.kind) and self.kind[index] != PLAIN else 0

    def _set_later(self, m: int, i: int) -> None:
        """Frame ``m`` (a number) of a PDU or datagram completed in frame ``i`` (an index): its link."""
        if m != i + 1 and 0 < m <= i and self.kind[m - 1] != PLAIN:
            self.later[self._slot(m - 1)] = i + 1

    def _prefix_code(self, i: int, p: str) -> int:
        if not p:
            return 0
        c = self._pcodes.get(p)
        if c is None:
            if "#" in p or len(self.prefixes) >= PREFIX_DICT:  # it names frames; the table is full
                self.dupack[i] = p
                return PREFIX_DICT
            c = self._pcodes[p] = len(self.prefixes)
            self.prefixes.append(p)
        return c

    def state(self, index: int, read: Callable[[int], Frame]) -> FrameState | None:
        """The whole conversation state of frame ``index`` (None while it is not fed yet): its
        conversation's frames (``read(index)`` gives a frame) fed again, in order, to a new analysis and
        reassembly. Going on to a later frame of the conversation last asked about feeds only the
        frames between (the detail pane walking down a conversation)."""
        if index >= len(self.kind):
            return None
        rp = self._replay
        if rp is not None and rp[0] == index:
            return rp[3]
        back: list[int] = []
        j = index + 1
        hit = False
        while j:
            if rp is not None and j - 1 == rp[0]:
                hit = True
                break
            back.append(j - 1)
            j = self.prev_of(j - 1)
        if hit and rp is not None:
            tcp, ra = rp[1], rp[2]
        else:
            tcp, ra = TcpAnalyzer(), TcpReassembler() if self.reassembly else None
        back.reverse()
        out = FrameState(self, index, read(index), None, None, None, None)
        for k in back:
            for m in sorted(self.frags.get(k, ())):  # a datagram's fragments before the frame completing it
                if m - 1 != k and m - 1 < len(self.kind):
                    _step(tcp, ra, m, read(m - 1), self.addrs)
            frame = read(k)
            try:
                extra, v, fragment = _step(tcp, ra, k + 1, frame, self.addrs)
            except Exception:
                if DEBUG:
                    raise
                extra, v, fragment = None, None, None
            if k == index:
                rebuilt = tcp._defrag.last if fragment is not None and tcp._defrag is not None else None
                out = FrameState(self, index, frame, extra, v, fragment, rebuilt)
        self._replay = (index, tcp, ra, out)
        return out

    def note(
        self,
        frame: Frame,
        extra: dict[str, Any] | None,
        verdict: Any = None,
        fragment: dict[str, Any] | None = None,
    ) -> None:
        """Record the next frame from its analysis (``TcpAnalyzer``), its reassembly verdict and, for an
        IP fragment, its (defragmented) fields."""
        i = len(self.kind)
        if not i & 0xFF:
            self._base.append(len(self.seq))
        if fragment is None and extra is None:
            self.kind.append(PLAIN)
            return
        prev = 0
        if extra is not None:  # the conversation's frames, linked backwards
            sp, dp = extra["_tcp.raw"][:2]
            a, b = extra["_tcp.addr"]
            key = f"{a} {sp} {b} {dp}" if (a, sp) <= (b, dp) else f"{b} {dp} {a} {sp}"
            last = self._last
            prev = last.pop(key, 0)
            last[key] = i + 1
            if len(last) > self.max_conversations:
                del last[next(iter(last))]
        if fragment is not None:  # the columns of the defragmenter and the analysis, as they are
            f = apply(dict(fragment), extra)
            self._keep(i, (str(f.get("_ws.col.Protocol", "")), str(f.get("_ws.col.Info", ""))))
            self._append(0, 0, 0, prev, 0)  # (the slot before the kind byte: a reader sees both)
            self.kind.append(FIXED | (BAD if is_bad(extra) else 0))
            frs = fragment.get("ip.fragment", fragment.get("ipv6.fragment"))
            if type(frs) is list:  # this frame completed a datagram
                self.frags[i] = tuple(frs)
                if len(self.frags) > self.max_pdus:
                    del self.frags[next(iter(self.frags))]
                for m in frs:
                    self._set_later(m, i)
            return
        assert extra is not None
        if verdict is not None and verdict.frames:
            for m in verdict.frames:
                self._set_later(m, i)
        k = TCP
        if verdict is not None and verdict.kind == RA_SEGMENT:
            k = SEGMENT
            if verdict.info != _middle(extra["_tcp.raw"]):  # the first segment's: HTTP's line, TLS's none
                self._keep(i, ("TCP", verdict.info))
        elif extra["_tcp.flags"] & NO_SUBDISSECTOR:
            k = OWN
        elif verdict is not None and verdict.kind == DECODE:
            try:
                cols = apply_columns("", "", verdict, frame)
            except Exception:  # a decoder bug: the per-packet view
                cols = ("", "")
            if cols[0]:  # ("": the PDU decodes as TCP's own: per packet)
                self._keep(i, cols)
                k = PDU
        if is_bad(extra):
            k |= BAD
        self._append(
            extra["tcp.seq"] & 0xFFFFFFFF,
            extra["tcp.ack"] & 0xFFFFFFFF,
            min(extra["tcp.window_size"], 0xFFFFFFFF),
            prev,
            self._prefix_code(i, extra["_tcp.prefix"]),
        )
        self.kind.append(k)  # last: ``fed`` counts the frame once its slot is written (another thread reads)

    def _append(self, seq: int, ack: int, win: int, prev: int, pcode: int) -> None:
        """The next slot."""
        self.seq.append(seq)
        self.ack.append(ack)
        self.win.append(win)
        self.prev.append(prev)
        self.later.append(0)
        self.pcode.append(pcode)

    def _keep(self, i: int, cols: tuple[str, str]) -> None:
        """Keep frame ``i``'s columns (at most max_pdus: the oldest go back to the per-packet view)."""
        pdus = self.pdus
        if len(pdus) >= self.max_pdus:
            old = next(iter(pdus))
            del pdus[old]
            if old < len(self.kind) and self.kind[old] & ~BAD == PDU:  # (a FIXED frame without its
                self.kind[old] = (self.kind[old] & BAD) | TCP  # columns shows the per-packet ones)
        pdus[i] = cols

    def bad(self, index: int) -> bool:
        """Does the frame match Wireshark's "Bad TCP" rule (False while not fed yet)?"""
        return index < len(self.kind) and bool(self.kind[index] & BAD)

    def columns(
        self, index: int, protocol: str, info: str, frame: Frame | Callable[[int], Frame] | None = None
    ) -> tuple[str, str]:
        """The frame's (Protocol, Info) with the conversation state, from its per-packet columns;
        ``frame`` (its bytes, or a function of the index that reads them: called only when needed) is
        read for the kinds that show TCP's own columns."""
        if index >= len(self.kind):
            return protocol, info
        k = self.kind[index] & ~BAD
        if k == PLAIN:
            return protocol, info
        if k == FIXED:
            return self.pdus.get(index, (protocol, info))
        if k == PDU or (k == SEGMENT and index in self.pdus):
            protocol, info = self.pdus.get(index, (protocol, info))
        elif (k == SEGMENT or protocol != "TCP") and k != TCP and frame is not None:
            # TCP's own line (a segment; a retransmission the per-packet view shows as its payload)
            if callable(frame):
                frame = frame(index)
            seg = fast_segment(frame)
            if seg is None or len(seg) != 11:  # tunnels, PPPoE...: the decoder finds the TCP header
                from sniffer.decode.fields import frame_fields

                seg = segment(frame_fields(frame))
            if seg is not None:
                from sniffer.decode.inet import tcp_info

                sport, dport, seq, ack, flags, win, seglen = seg[2:9]
                info = tcp_info(sport, dport, flags, seq, ack, win, seglen)
                protocol = "TCP"
                if k == SEGMENT:
                    info = f"{info} {SEGMENT_INFO}"
        slot = self._slot(index)
        if "] Seq=" in info:
            info = _SEQ.sub(f"] Seq={self.seq[slot]}", info, 1)
            info = _ACK.sub(f" Ack={self.ack[slot]}", info, 1)
            info = _WIN.sub(f" Win={self.win[slot]}", info, 1)
        c = self.pcode[slot]
        if c:
            info = (self.dupack.get(index, "") if c == PREFIX_DICT else self.prefixes[c]) + info
        return protocol, info


MAX_ADDRS = 1 << 18  # addresses shared by the state's keys (TcpColumns.addrs; then it starts over)


def _shared(addrs: dict[Any, Any], a: Any, b: Any) -> tuple[Any, Any]:
    """The one object ``addrs`` holds for each of the addresses ``a`` and ``b`` (see _step)."""
    ia, ib = addrs.get(a), addrs.get(b)
    if ia is None or ib is None:
        if len(addrs) >= MAX_ADDRS:
            addrs.clear()
        ia = addrs.setdefault(a, a)
        ib = addrs.setdefault(b, b)
    return ia, ib


def _step(
    tcp: TcpAnalyzer,
    ra: TcpReassembler | None,
    n: int,
    frame: Frame,
    addrs: dict[Any, Any],
    light: bool = False,
) -> tuple[dict[str, Any] | None, Any, dict[str, Any] | None]:
    """One frame through the analysis and reassembly: (its analysis fields, its reassembly verdict,
    the defragmenter's fields when it is an IP fragment): what the list and the detail pane keep of it.
    ``addrs``: address -> the same address (("ip", "10.0.0.1")), so that the analysis and reassembly
    keys of every conversation hold one object per host instead of each its own copies (fast_segment
    makes a new tuple and text per packet): 1M packets, 50k conversations: 11 MB less. ``light`` (the
    list, which keeps only a fragment's columns): an IPv4 fragment that completes nothing is held from its
    bytes, its "fields" only its Protocol and Info (the detail pane's replay decodes it whole)."""
    if tcp.native:  # the header read and the analysis in C; the addresses shared after it
        extra = tcp.feed_fast(n, frame)
        fragment = None
        if extra is FRAGMENT:
            ff = tcp.fast_fragment(n, frame) if light else None
            if ff is not None:
                return None, None, {"_ws.col.Protocol": "IPv4", "_ws.col.Info": ff[2]}
            extra = tcp.feed_segment(n, frame, FRAGMENT)
            fragment = tcp.last_fields
        elif extra is not None:
            extra["_tcp.addr"] = _shared(addrs, *extra["_tcp.addr"])
        v = None
        if ra is not None and extra is not None and fragment is None:
            v = ra.feed(n, frame, extra)
        return extra, v, fragment
    seg = fast_segment(frame)
    if seg is FRAGMENT and light:
        ff = tcp.fast_fragment(n, frame)
        if ff is not None:
            return None, None, {"_ws.col.Protocol": "IPv4", "_ws.col.Info": ff[2]}
    if seg is not None and len(seg) == 11:  # a segment (not FRAGMENT, _UNKNOWN): its addresses shared
        seg = (*_shared(addrs, seg[0], seg[1]), *seg[2:])
    extra = tcp.feed_segment(n, frame, seg)
    fragment = tcp.last_fields if seg is FRAGMENT else None
    v = None
    if ra is not None and extra is not None and fragment is None:
        v = ra.feed(n, frame, extra)
    return extra, v, fragment


class FrameState:
    """What the conversation state says of one frame (``TcpColumns.state``): its TCP analysis fields
    (``extra``), reassembly verdict, the defragmenter's fields and rebuilt datagram (an IP fragment), and
    where its PDU or datagram was reassembled (``later``: a frame number, 0 none)."""

    __slots__ = ("cols", "extra", "fragment", "frame", "index", "later", "rebuilt", "verdict")

    def __init__(
        self,
        cols: TcpColumns,
        index: int,
        frame: Frame,
        extra: dict[str, Any] | None,
        verdict: Any,
        fragment: dict[str, Any] | None,
        rebuilt: Any,
    ) -> None:
        self.cols = cols
        self.index = index
        self.frame = frame
        self.extra = extra
        self.verdict = verdict
        self.fragment = fragment
        self.rebuilt = rebuilt
        self.later = cols.later_of(index)

    @property
    def number(self) -> int:
        return self.index + 1

    def columns(self, protocol: str, info: str) -> tuple[str, str]:
        """The list's (Protocol, Info) of this frame (from its per-packet columns)."""
        return self.cols.columns(self.index, protocol, info, self.frame)
