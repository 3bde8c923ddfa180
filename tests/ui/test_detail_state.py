"""The TUI's detail pane with the conversation state (model.tcptree over the packet list's
model.tcpcolumns state): a retransmission's [SEQ/ACK analysis], an HTTP response over two segments
(the segment says where it was reassembled, the completing frame lists the segments and decodes the
response, its bytes in this frame highlighted), a fragmented IPv6 DNS answer decoded in its last
fragment; files (pilot) and live (root: segments sent between two test namespaces)."""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Any

import pytest

from sniffer.model.store import PacketStore
from sniffer.netns import netns
from sniffer.ui.app import SnifferApp
from sniffer.ui.sources import LiveCaptureSource

from .conftest import ROOT, wait_until

WORKSHOP = ROOT / "tests" / "corpus" / "tcp" / "zeek__workshop_2011_browse.pcap"


def _texts(app: Any) -> list[str]:
    d = app.detail.dnode
    return [] if d is None else [n.text.strip() for n in d.walk()]


async def _loaded(pilot: Any) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.source.status.done and app.plist.count == app.store.count > 0)
    await wait_until(
        pilot, lambda: app.plist.tcpcols is not None and app.plist.tcpcols.fed == app.store.count
    )


async def _goto(pilot: Any, number: int) -> list[str]:
    await pilot.press("g", *str(number), "enter")
    await wait_until(pilot, lambda: pilot.app.shown_index == number - 1)
    await pilot.pause()
    return _texts(pilot.app)


async def test_http_over_two_segments(make_app: Any) -> None:
    app = make_app(WORKSHOP)
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        first = await _goto(pilot, 6)
        assert "[Reassembled PDU in frame: 8]" in first
        assert "TCP segment data (187 bytes)" in first
        assert "Hypertext Transfer Protocol" not in first
        assert "Sequence Number: 1    (relative sequence number)" in first
        last = await _goto(pilot, 8)
        assert "[2 Reassembled TCP Segments (189 bytes): #6(187), #8(2)]" in last
        assert "Hypertext Transfer Protocol" in last
        assert "Info: HTTP/1.1 304 Not Modified" in last
        # the response's last bytes are this frame's: the hex view highlights them
        node = next(n for n in app.detail.dnode.walk() if n.text == "\\r\\n" and n.start >= 0)
        app.hexview.highlight(node.start, node.length)
        assert (node.start, node.length) == (54, 2)


async def test_retransmission_and_fragmented_dns(make_app: Any, tmp_path: Path) -> None:
    from model.test_tcpanalysis import _conversation, _write
    from model.test_tcptree import _dns_answer6

    conv = _write(tmp_path / "conv.pcap", _conversation())
    app = make_app(conv)
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        t = await _goto(pilot, 7)
        assert "[Expert Info (Note/Sequence): This frame is a (suspected) retransmission]" in t
        assert "[The RTO for this segment was: 0.250000000 seconds]" in t
        assert "Retransmitted TCP segment data (100 bytes)" in t
        assert "Info: [TCP Retransmission] 40000 -> 80 [PSH, ACK] Seq=101 Ack=1 Win=64000 Len=100" in t
        t = await _goto(pilot, 10)
        assert "[Duplicate to the ACK in frame: 8]" in t and "[This is a TCP duplicate ack]" in t
    app = make_app(_dns_answer6(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        t = await _goto(pilot, 1)
        assert "[Reassembled IPv6 in frame: 4]" in t
        t = await _goto(pilot, 4)
        assert "[4 IPv6 Fragments (1657 bytes): #1(448), #4(448), #3(448), #2(313)]" in t
        assert "Domain Name System (response)" in t


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 1000, 0, 0) + data


@pytest.mark.root
async def test_live_detail_has_the_state(netns_pair) -> None:  # type: ignore[no-untyped-def]
    """Segments captured live: the retransmitted one's detail shows the analysis, an HTTP request over
    two segments is decoded in the second."""
    a, b = netns_pair
    store = PacketStore(spool=True)
    src = LiveCaptureSource(["vb"], store, bpf="tcp port 40124 or tcp port 8080", netns=b.ns)
    src.open()
    app = SnifferApp(store, src, live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        with netns(a.ns):
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        req = b"GET /detail HTTP/1.1\r\nHost: example.com\r\n\r\n"
        segs = [
            _tcp(50001, 40124, 1000, 0, 0x02),  # SYN
            _tcp(50001, 40124, 1001, 1, 0x18, b"x" * 100),
            _tcp(50001, 40124, 1001, 1, 0x18, b"x" * 100),  # the same again: a retransmission
        ]
        with raw:
            for seg in segs:
                raw.sendto(seg, (b.addr4("vb"), 0))
        # (an HTTP request over two segments, to port 8080: another conversation)
        with netns(a.ns):
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        with raw:
            for seg in (
                _tcp(50002, 8080, 5000, 0, 0x02),
                _tcp(50002, 8080, 5001, 1, 0x18, req[:20]),
                _tcp(50002, 8080, 5021, 1, 0x18, req[20:]),
            ):
                raw.sendto(seg, (b.addr4("vb"), 0))

        def ours(port: bytes) -> list[int]:
            return [i for i in range(store.count) if port in store.frame(i).data[20:40]]

        await wait_until(pilot, lambda: len(ours(b"\xc3\x51\x9c\xbc")) == 3)
        got = ours(b"\xc3\x51\x9c\xbc")
        await wait_until(pilot, lambda: app.plist.tcpcols is not None and app.plist.tcpcols.fed > got[2])
        await wait_until(pilot, lambda: app.plist.count > got[2])
        app.plist.move_to(got[2])
        await wait_until(pilot, lambda: app.shown_index == got[2])
        t = _texts(app)
        assert any(x.startswith("[Expert Info (Note/Sequence): This frame is a (suspected)") for x in t), t
        assert "Sequence Number: 1    (relative sequence number)" in t
        await wait_until(pilot, lambda: len(ours(b"\xc3\x52\x1f\x90")) == 3)
        got = ours(b"\xc3\x52\x1f\x90")
        await wait_until(pilot, lambda: app.plist.tcpcols.fed > got[2] and app.plist.count > got[2])
        app.plist.move_to(got[1])
        await wait_until(pilot, lambda: app.shown_index == got[1])
        assert "TCP segment data (20 bytes)" in _texts(app)
        assert f"[Reassembled PDU in frame: {got[2] + 1}]" in _texts(app)
        app.plist.move_to(got[2])
        await wait_until(pilot, lambda: app.shown_index == got[2])
        assert "Hypertext Transfer Protocol" in _texts(app)


def test_snapshot_reassembled_http(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Frame 8 of the browsing capture: its TCP layer open (relative numbers, the calculated window,
    [Timestamps], [SEQ/ACK analysis], TCP segment data), the reassembled segments (open) and the HTTP
    response."""
    from sniffer.ui.sources import open_file_source

    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await _goto(pilot, 8)
        await pilot.press("2", "down", "down", "down", "enter")  # the TCP layer, opened
        tree = pilot.app.detail
        for _ in range(60):  # down to the reassembled segments, opened
            node = tree.cursor_node
            if node is not None and node.data is not None and node.data.field == "tcp.segments":
                break
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()

    store, source = open_file_source(str(WORKSHOP))
    assert snap_compare(SnifferApp(store, source), terminal_size=(120, 48), run_before=before)


async def test_detail_follows_when_the_state_arrives(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A packet selected before the list's state reached it shows per packet, then (without a key) with
    the state once it arrives."""
    import threading

    from sniffer.model import tcpcolumns

    go = threading.Event()
    feed = tcpcolumns.TcpColumns.feed

    def slow(self: Any, frame: Any) -> Any:
        go.wait(20)
        return feed(self, frame)

    monkeypatch.setattr(tcpcolumns.TcpColumns, "feed", slow)
    app = make_app(WORKSHOP)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == app.store.count > 0)
        t = await _goto(pilot, 8)
        assert "Transmission Control Protocol, Src Port: 80, Dst Port: 49282, Seq: 920896189, Len: 2" in t
        assert not any("Reassembled TCP Segments" in x for x in t)
        go.set()
        await wait_until(pilot, lambda: any("Reassembled TCP Segments" in x for x in _texts(app)))
        assert "Hypertext Transfer Protocol" in _texts(app)
