"""Wireshark's "Bad TCP" colouring in the live packet list: TCP segments sent (raw sockets) between two
test namespaces, captured by the TUI on a veth: the retransmitted one is coloured and shows
"[TCP Retransmission]" as it arrives, the others not (root)."""

from __future__ import annotations

import re
import socket
import struct

import pytest

from sniffer.model.store import PacketStore
from sniffer.netns import netns
from sniffer.ui.app import SnifferApp
from sniffer.ui.sources import LiveCaptureSource

from .conftest import wait_until


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"") -> bytes:
    # (the checksum is left 0: the receiving kernel drops the segments, the capture still sees them)
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 1000, 0, 0) + data


@pytest.mark.root
async def test_live_list_colours_bad_tcp(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    store = PacketStore(spool=True)
    src = LiveCaptureSource(["vb"], store, bpf="tcp port 40123", netns=b.ns)
    src.open()
    app = SnifferApp(store, src, live=True)
    async with app.run_test(size=(120, 30)) as pilot:
        with netns(a.ns):
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        dst = (b.addr4("vb"), 0)
        segs = [
            _tcp(50000, 40123, 1000, 0, 0x02),  # SYN
            _tcp(50000, 40123, 1001, 1, 0x18, b"x" * 100),  # data
            _tcp(50000, 40123, 1101, 1, 0x18, b"y" * 100),  # data
            _tcp(50000, 40123, 1001, 1, 0x18, b"x" * 100),  # the first again: a retransmission
        ]
        with raw:
            for seg in segs:
                raw.sendto(seg, dst)

        def ours() -> list[int]:
            return [i for i in range(store.count) if b"\xc3\x50\x9c\xbb" in store.frame(i).data[20:40]]

        await wait_until(pilot, lambda: len(ours()) == 4)
        got = ours()
        tc = app.plist.tcpcols
        await wait_until(pilot, lambda: app.plist.tcpcols.bad(got[3]))
        assert not any(app.plist.tcpcols.bad(i) for i in got[:3])
        assert tc is app.plist.tcpcols
        # the row is painted in the Bad TCP style (the cursor moved away from it)
        from sniffer.ui.colors import BAD_TCP_STYLE

        plist = app.plist
        await wait_until(pilot, lambda: plist.count == store.count)
        plist.move_to(0)
        plist.scroll_to(y=max(0, got[3] - 2), animate=False)
        await pilot.pause(0.2)
        strip = plist.render_line(got[3] - int(plist.scroll_y) + 1)
        assert any(seg.style is not None and seg.style.bgcolor == BAD_TCP_STYLE.bgcolor for seg in strip)
        # (sent within 3 ms of the segment after it: tshark calls it out-of-order, else a retransmission)
        text = "".join(seg.text for seg in strip)
        assert re.search(r"\[TCP (Retransmission|Out-Of-Order)\] 50000 -> 40123", text), text
        row = store.row(got[1])  # the Info column has relative numbers, as Wireshark's
        info = plist.tcpcols.columns(got[1], row.protocol, row.info, store.frame(got[1]))[1]
        assert info == "50000 -> 40123 [PSH, ACK] Seq=1 Ack=1 Win=1000 Len=100", info
        strip = plist.render_line(got[2] - int(plist.scroll_y) + 1)
        assert not any(seg.style is not None and seg.style.bgcolor == BAD_TCP_STYLE.bgcolor for seg in strip)
