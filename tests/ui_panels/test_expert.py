"""Expert information panel (issue 14): the counts equal `sniffer stats --expert` (tshark -z expert's
layout) on a corpus capture with TCP analysis items and on one with every kind of item (bad checksums,
malformed packets, protocol warnings, TTL notes, HTTP chats), Enter goes to the packet, and the packets
of Wireshark's "Bad TCP" rule get its colours in the packet list."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, SIZE, loaded, wait_until

PPPOE = ROOT / "tests" / "corpus" / "tcp" / "zeek__pppoe-over-qinq.pcap"  # retransmissions, dup ACKs, D-SACK
#: captures whose frames make the mixed one (each one's items: tests/model/test_expert.py checks them
#: against tshark): TCP analysis; ICMP bad checksum; ICMPv6 malformed; Ethernet group source; HTTP chat;
#: IPv4 TTL notes
MIXED = [
    PPPOE,
    ROOT / "tests" / "corpus" / "captures" / "zeek__chksums__ip4-icmp-bad-chksum.pcap",
    ROOT / "tests" / "corpus" / "captures" / "zeek__icmp__icmp6-nd-short-options.pcap",
    ROOT / "tests" / "corpus-breadth" / "captures" / "zeek__snmp__snmpv3_get_next.pcap",
    ROOT / "tests" / "corpus-breadth" / "captures" / "tcpdump__ipv4_tcp_http_xml.pcap",
    ROOT / "tests" / "corpus-breadth" / "captures" / "tcpdump__lmp.pcap",
]
BAD_TCP = "tcp.analysis.flags && !tcp.analysis.window_update && !tcp.analysis.keep_alive && !tcp.analysis.keep_alive_ack"
SECTION = {"Errors": "Error", "Warns": "Warning", "Notes": "Note", "Chats": "Chat"}


def _cli(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "sniffer", *args], capture_output=True, text=True, check=True)
    return out.stdout


def mixed_capture(path: Path) -> Path:
    """The frames of MIXED one after the other (their own timestamps) in one pcap at ``path``."""
    from sniffer.capture.pcapfile import PcapWriter, open_capture

    w = PcapWriter(str(path))
    for p in MIXED:
        with open_capture(str(p)) as r:
            for fr in r:
                w.write(fr)
    w.close()
    return path


def cli_expert_counts(path: Path = PPPOE) -> dict[tuple[str, str, str, str], int]:
    """(severity, group, protocol, summary) -> frequency from `sniffer stats --expert`."""
    counts: dict[tuple[str, str, str, str], int] = {}
    sev = ""
    for line in _cli("stats", "--expert", str(path)).splitlines():
        m = re.match(r"(\w+) \(\d+\)$", line)
        if m:
            sev = SECTION[m.group(1)]
            continue
        if sev and re.match(r"\s+\d+ ", line):  # tshark's fixed columns (protocols have spaces)
            counts[(sev, line[12:23].strip(), line[23:42].strip(), line[44:])] = int(line[:12])
    return counts


async def test_expert_counts_equal_stats_expert_and_enter_jumps(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.expert import ExpertScreen
    from sniffer.ui.vtable import VirtualTable

    expected = cli_expert_counts()
    assert len(expected) >= 10 and sum(expected.values()) == 80
    app = make_app(PPPOE)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("E")
        await wait_until(pilot, lambda: isinstance(app.screen, ExpertScreen) and app.screen.ready)
        table = app.screen.query_one(VirtualTable)
        rows = [table.rows[k] for k in table.order]
        assert {(r[0], r[1], r[2], r[3]): r[4] for r in rows} == expected
        assert [r[0] for r in rows] == sorted((r[0] for r in rows), key=["Warning", "Note", "Chat"].index)
        # Enter on the out-of-order row: the list selects its first packet
        row = next(k for k, r in enumerate(rows) if "out-of-order" in r[3])
        first = rows[row][5]
        table.move_to(row)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExpertScreen))
        assert app.plist.view.packet(app.plist.cursor) + 1 == first
        # every item: one row per item, Enter goes to that packet
        await pilot.press("E")
        await wait_until(pilot, lambda: isinstance(app.screen, ExpertScreen) and app.screen.ready)
        await pilot.press("p")
        table = app.screen.query_one(VirtualTable)
        assert table.row_count == 80
        table.move_to(40)
        number = table.rows[table.order[40]][0]
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExpertScreen))
        assert app.plist.view.packet(app.plist.cursor) + 1 == number


async def test_bad_tcp_rows_coloured(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.colors import BAD_TCP_STYLE

    flagged = {int(line.split()[0]) for line in _cli("read", "-Y", BAD_TCP, str(PPPOE)).splitlines()}
    assert len(flagged) == 38
    app = make_app(PPPOE)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        # a file this size gets the expert pass on load: no panel needed for the colours
        await wait_until(pilot, lambda: bool(app.plist.bad_tcp))
        assert {i + 1 for i in app.plist.bad_tcp} == flagged
        plist = app.plist
        plist.move_to(0)
        await pilot.pause()
        for number in (13, 14, 12):  # 13 and 14 are Bad TCP, 12 is not
            strip = plist.render_line(number)  # line 0 is the header, row r is line r + 1
            style = next(iter(strip)).style
            assert style is not None
            bad = style.bgcolor == BAD_TCP_STYLE.bgcolor and style.color == BAD_TCP_STYLE.color
            assert bad == (number in flagged), number


async def test_every_kind_of_item_grouped_and_enter_jumps(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Not only the TCP analysis: checksum, malformed, protocol and TTL items, each severity, with the
    counts of `stats --expert`; Enter on the bad checksum row selects the ICMP packet."""
    from sniffer.ui.panels.expert import ExpertScreen
    from sniffer.ui.vtable import VirtualTable

    path = mixed_capture(tmp_path / "mixed.pcap")
    expected = cli_expert_counts(path)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("E")
        await wait_until(pilot, lambda: isinstance(app.screen, ExpertScreen) and app.screen.ready)
        table = app.screen.query_one(VirtualTable)
        rows = [table.rows[k] for k in table.order]
        assert {(r[0], r[1], r[2], r[3]): r[4] for r in rows} == expected
        assert {r[0] for r in rows} == {"Error", "Warning", "Note", "Chat"}
        assert {"Checksum", "Malformed", "Protocol", "Sequence"} <= {r[1] for r in rows}
        assert {"TCP", "ICMP", "ICMPv6", "Ethernet", "HTTP", "IPv4"} <= {r[2] for r in rows}
        assert [r[0] for r in rows] == sorted(
            (r[0] for r in rows), key=["Error", "Warning", "Note", "Chat"].index
        )
        row = next(k for k, r in enumerate(rows) if r[1] == "Checksum")
        first = rows[row][5]
        assert first == 86 + 1  # the ICMP packet after PPPOE's 86
        table.move_to(row)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExpertScreen))
        assert app.plist.view.packet(app.plist.cursor) + 1 == first


async def test_list_shows_the_conversation_state(make_app) -> None:  # type: ignore[no-untyped-def]
    """A file's packet list shows Wireshark's default view (the lines of `read --analysis`): "[TCP ...]"
    prefixes, relative numbers, "[TCP segment of a reassembled PDU]", TCP's own columns after a
    retransmission; the Bad TCP rows in its colours."""
    from sniffer.ui.colors import BAD_TCP_STYLE

    want = {int(line.split()[0]): line for line in _cli("read", "--analysis", str(PPPOE)).splitlines()}
    app = make_app(PPPOE)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        plist = app.plist
        await wait_until(pilot, lambda: plist.tcpcols is not None and plist.tcpcols.fed == app.store.count)
        plist.move_to(0)
        plist.scroll_to(y=20, animate=False)
        await pilot.pause()
        for number, expect in (
            (22, "[TCP segment of a reassembled PDU]"),
            (25, "[TCP Spurious Retransmission] 443 -> 20394 [PSH, ACK] Seq=3337"),
            (28, "[TCP Retransmission] 20394 -> 443 [ACK] Seq=836 Ack=3388"),
        ):
            assert expect in want[number]
            strip = plist.render_line(number - int(plist.scroll_y))  # row r is line r + 1
            text = "".join(seg.text for seg in strip)
            assert text.lstrip().startswith(f"{number} ") and expect[:40] in text, text
            bad = "Retransmission" in expect
            assert any(s.style is not None and s.style.bgcolor == BAD_TCP_STYLE.bgcolor for s in strip) == bad
