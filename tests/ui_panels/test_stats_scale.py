"""Statistics at scale (issue 15): many conversations are counted in a worker and shown in virtual
tables (no widget per row); keys answer while counting; sort and row filter work on every row."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.tui_pcapgen import many_flows_frames, write_frames
from textual.widgets import TabbedContent

from sniffer.ui.vtable import VirtualTable

from .conftest import SIZE, loaded, wait_until

FLOWS = 10_000


@pytest.fixture(scope="module")
def flows_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30,000 packets over 10,000 conversations (5,000 TCP, 5,000 UDP), each between its own hosts."""
    return write_frames(tmp_path_factory.mktemp("scale") / "flows.pcap", many_flows_frames(3 * FLOWS, FLOWS))


async def test_many_conversations_stay_responsive(make_app, flows_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.stats import StatisticsScreen

    app = make_app(flows_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = StatisticsScreen()
        app.push_screen(screen)
        await pilot.pause()
        # while the worker counts, the screen takes keys (tabs switch); latency is measured in bench/tui.py
        screen.query_one("#stats-tabs", TabbedContent).active = "tab-conv"
        await pilot.pause()
        await pilot.press("right")  # the Conversations tab row: IPv4 -> IPv6
        screen.query_one("#conv-tabs", TabbedContent).active = "tab-conv-tcp"
        await wait_until(pilot, lambda: screen.stats is not None, timeout=60)
        await pilot.pause()
        tcp = screen.query_one("#conv-tcp", VirtualTable)
        udp = screen.query_one("#conv-udp", VirtualTable)
        ip = screen.query_one("#conv-ip", VirtualTable)
        assert (tcp.row_count, udp.row_count, ip.row_count) == (FLOWS // 2, FLOWS // 2, FLOWS)
        # no widget per row: the whole screen is a handful of widgets whatever the row count
        assert len(list(screen.query("*"))) < 200
        # sort by Packets (largest first), then reversed with "s"; the sort keeps the row selected
        tcp.focus()
        await pilot.pause()
        packets = [c.label for c in tcp.columns].index("Packets")
        tcp.sort_by(packets)
        got = [int(tcp.get_row_at(r)[packets]) for r in range(tcp.row_count)]
        assert got == sorted(got, reverse=True)
        await pilot.press("s")
        got = [int(tcp.get_row_at(r)[packets]) for r in range(tcp.row_count)]
        assert got == sorted(got) and tcp.sort_reverse is False
        # ">" moves the sort to the next column (Bytes)
        await pilot.press("greater_than_sign")
        assert tcp.sort_column == packets + 1
        # the rows filter: "/" then text: only the rows containing it
        await pilot.press("slash", *"10.0.0.")
        await pilot.pause()
        rows = [tcp.get_row_at(r) for r in range(tcp.row_count)]
        assert 0 < len(rows) < FLOWS // 2
        assert all("10.0.0." in " ".join(r) for r in rows)
        await pilot.press("enter")  # back to the table
        assert tcp.has_focus
        # Enter on a row applies the conversation as display filter
        await pilot.press("home", "enter")
        await pilot.pause()
        assert app.screen is not screen
        assert app.view.text.startswith("ip.addr == 10.0.0.")
        # the filter bar holds the text with the cursor at its end
        assert app.filter_input.cursor_position == len(app.filter_input.value)


async def test_statistics_follow_a_growing_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a live source (here a file being written, --follow) the tables take in new packets as they
    arrive, counted into the same tables rather than from scratch."""
    from helpers.tui_pcapgen import PCAP_HDR, REC

    from sniffer.model.store import PacketStore
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.panels import stats as stats_panel
    from sniffer.ui.panels.stats import StatisticsScreen
    from sniffer.ui.sources import FileSource

    frames = list(many_flows_frames(60, 30))

    def records(part: list[bytes], start: int) -> bytes:
        return b"".join(
            REC.pack(1_700_000_000, (start + k) * 1000, len(f), len(f)) + f for k, f in enumerate(part)
        )

    path = tmp_path / "grow.pcap"
    path.write_bytes(PCAP_HDR + records(frames[:20], 0))  # 20 packets: 20 conversations
    store = PacketStore(str(path))
    app = SnifferApp(store, FileSource(str(path), store, follow=True), live=True)
    monkeypatch.setattr(stats_panel, "LIVE_REFRESH_S", 0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.plist.count == 20)
        screen = StatisticsScreen()
        app.push_screen(screen)
        await wait_until(pilot, lambda: screen.hierarchy is not None and screen.counts.get("conv-ip") == 20)
        first = screen.stats
        with open(path, "ab") as f:
            f.write(records(frames[20:], 20))  # 40 more: conversations 20..29 new, 0..19 seen again
        await wait_until(pilot, lambda: screen.scanned == 60 and not screen.scanning, timeout=30)
        assert screen.counts["conv-ip"] == 30
        assert screen.stats is first  # added to, not recounted
        assert screen.stats.frames == 60
        tcp = screen.query_one("#conv-tcp", VirtualTable)
        assert sum(int(tcp.get_row_at(r)[3]) for r in range(tcp.row_count)) == 30  # 30 TCP packets
        phs = screen.query_one("#phs", VirtualTable)
        assert int(phs.get_row_at(0)[2]) == 60  # the hierarchy counted them too


async def test_big_table_sorts_and_filters_in_a_thread() -> None:
    """From BIG_TABLE rows the sort and the rows filter run in a thread (the screen keeps taking keys
    meanwhile); sorting is stable like Python's, keeps the row under the cursor selected, and each
    column's order is kept for the next sort by it."""
    from textual.app import App, ComposeResult

    from sniffer.ui import vtable
    from sniffer.ui.vtable import Column

    n = 300_000
    rows = [(f"10.{i % 7}.{i % 251}.{i % 13}", (i * 7919) % 1000, i) for i in range(n)]
    cols = [Column("Address"), Column("Bytes", True), Column("Row", True)]

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield VirtualTable(cols, id="t")

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        t = app.query_one(VirtualTable)
        t.set_data(cols, rows)
        t.focus()
        await pilot.press("down", "down", "down")  # data row 3 under the cursor
        t.sort_by(1)  # Bytes, largest first: in a thread (pyarrow sorts without the GIL)
        assert t.sorting
        await pilot.press("down")  # the UI goes on meanwhile
        await wait_until(pilot, lambda: not t.sorting)
        assert list(t.order) == sorted(range(n), key=lambda i: rows[i][1], reverse=True)  # stable
        assert t.order[t.cursor] == 4
        t.sort_by(0)  # text column ascending
        await wait_until(pilot, lambda: not t.sorting)
        assert list(t.order) == sorted(range(n), key=lambda i: rows[i][0])
        t.sort_by(1)  # back to Bytes: its order was kept, no thread
        assert not t.sorting and t.order[t.cursor] == 4
        t.sort_by(0)
        assert not t.sorting
        keep = t.order[t.cursor]
        t.set_filter("10.3.")
        assert t.sorting  # in a thread: the UI goes on
        await pilot.press("down")
        await wait_until(pilot, lambda: not t.sorting)
        assert all(rows[i][0].startswith("10.3.") for i in t.order)
        assert len(t.order) == sum(1 for r in rows if r[0].startswith("10.3."))
        t.set_filter("")
        assert len(t.order) == n
        assert vtable.BIG_TABLE <= n and keep >= 0


async def test_statistics_hold_the_list_state_thread(
    make_app,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While Statistics counts, the packet list's TCP-state thread waits (the two shared one core: at 1M
    packets the tables took 2.5x tshark's time with it running, 1.0x without); it goes on afterwards."""
    from sniffer.ui.panels import stats as stats_panel
    from sniffer.ui.panels.stats import StatisticsScreen

    path = write_frames(tmp_path / "f.pcap", many_flows_frames(3000, 1000))
    app = make_app(path)
    fed_during: list[tuple[int, int]] = []
    count = stats_panel.compute_statistics

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        before = app.plist.tcpcols.fed
        out = count(*a, **kw)
        fed_during.append((before, app.plist.tcpcols.fed))
        return out

    monkeypatch.setattr(stats_panel, "compute_statistics", spy)
    hold = app.held_background()
    hold.__enter__()  # the state thread starts held: the file loads, nothing of it is fed yet
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 3000)
        await pilot.pause(0.3)
        assert app.plist.tcpcols.fed == 0
        screen = StatisticsScreen()
        app.push_screen(screen)
        # the scan has started (on a busy machine the first pass may already be over when this looks)
        await wait_until(pilot, lambda: screen.scanning or bool(fed_during))
        hold.__exit__(None, None, None)  # the screen's own hold keeps the state thread waiting
        await wait_until(pilot, lambda: screen.hierarchy is not None, timeout=60)
        assert fed_during == [(0, 0), (0, 0)]  # neither pass (counting, hierarchy) ran beside it
        assert screen.counts["conv-tcp"] == 500
        await wait_until(pilot, lambda: app.plist.tcpcols.fed == 3000, timeout=60)
        assert app._background_go.is_set()


async def test_big_table_sorts_encoded_text_without_converting_rows() -> None:
    """A statistics table keeps its address columns dictionary-encoded (``columns.Strings``): a sort by
    one ranks the distinct strings and sorts the rows' ranks in pyarrow (no million-string conversion
    under the GIL), in a thread, stable both ways, the same order as Python's sort of the texts."""
    from array import array

    from textual.app import App, ComposeResult

    from sniffer.ui.columns import Strings, row_of, sorted_order
    from sniffer.ui.vtable import Column, ColumnRows, sort_keys

    n = 200_000
    texts = [f"10.{(k * 31) % 97}.{k % 251}.{k % 13}" for k in (i % 5000 for i in range(n))]
    enc = Strings.encode(texts)
    assert list(enc) == texts and enc[5] == texts[5] and enc[3:7] == texts[3:7]
    assert len(enc.values) < n // 10  # each distinct address once
    assert list(sorted_order(enc, False)) == sorted(range(n), key=texts.__getitem__)
    assert list(sorted_order(enc, True)) == sorted(range(n), key=texts.__getitem__, reverse=True)  # stable
    big = ColumnRows([enc, array("q", range(n))]).repeat(3 * n)
    assert len(big) == 3 * n and big[n + 2] == (texts[2], 2)
    cols = [Column("Address A"), Column("Row", True)]
    assert sort_keys(cols, big, 0) is big.cols[0]  # the encoded column itself, no list of strings

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield VirtualTable(cols, id="t")

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        t = app.query_one(VirtualTable)
        t.set_data(cols, big)
        t.focus()
        t.sort_by(0)
        assert t.sorting  # in a thread
        await pilot.press("down")  # the UI goes on meanwhile
        await wait_until(pilot, lambda: not t.sorting)
        # the cursor's row is found in the 600k-row order by pyarrow (no Python int per row)
        order = t.order
        assert row_of(order, order[123_456]) == 123_456 and row_of(order, 10**9) == -1
        assert row_of(range(10), 4) == 4 and row_of([3, 1, 2], 2) == 2 and row_of(range(3), -1) == -1
        got = [big[i] for i in t.order[:1000]]
        assert got == sorted(big, key=lambda r: r[0])[:1000]
        assert t.get_row_at(0)[0] == min(texts)


def test_statistics_rows_are_kept_by_column(tmp_path: Path) -> None:
    """The conversation and endpoint tables keep numbers in typed arrays (ColumnRows): the same rows as
    tuples would hold, at about a third of the memory; sort and width read the arrays directly."""
    import sys
    from array import array

    from sniffer.ui.panels.stats import (
        CONV_COLUMNS,
        STREAM_COLUMN,
        compute_statistics,
        conversation_rows,
        endpoint_rows,
    )
    from sniffer.ui.sources import open_file_source
    from sniffer.ui.vtable import ColumnRows, measure, sort_keys

    path = write_frames(tmp_path / "f.pcap", many_flows_frames(4000, 2000))
    store, source = open_file_source(str(path))
    source.run()  # indexed here, no thread
    st = compute_statistics(store, list(range(store.count)), hierarchy=False)
    conv = conversation_rows(st, "tcp")
    assert isinstance(conv, ColumnRows) and len(conv) == 1000
    by_tuples = [
        (c.stream, c.a, c.b, sum(c.frames), sum(c.bytes), c.frames[0], c.bytes[0], c.frames[1], c.bytes[1])
        for c in st.conversations("tcp")
    ]
    assert [r[:9] for r in conv] == by_tuples
    assert conv[3][:9] == by_tuples[3] and [r[:9] for r in conv[2:4]] == by_tuples[2:4]
    cols = [STREAM_COLUMN, *CONV_COLUMNS]
    assert isinstance(sort_keys(cols, conv, 4), array)  # Bytes: the array itself, no list of ints
    assert measure(cols, conv) == measure(cols, list(conv))
    for kind in (
        "ip",
        "tcp",
        "udp",
    ):  # the endpoints, summed from the conversation rows, as the model sums them
        ep = endpoint_rows(conversation_rows(st, kind), kind != "ip")
        assert list(ep) == [
            (e.address, e.frames, e.bytes, e.tx_frames, e.tx_bytes, e.rx_frames, e.rx_bytes)
            for e in st.endpoints(kind)
        ]

    def size(rows: object) -> int:
        if isinstance(rows, ColumnRows):
            return sum(sys.getsizeof(c) for c in rows.cols if isinstance(c, array))
        return sum(sys.getsizeof(r) + sum(sys.getsizeof(v) for v in r[3:]) for r in rows)  # type: ignore[attr-defined]

    assert size(conv) * 3 < size(list(conv))


def test_final_tables_free_the_counted_ones(tmp_path: Path) -> None:
    """A file's counts are final: ``build_tables(final=True)`` drops each counted conversation table once
    its rows are made (no second copy held while the rest are built) and gives the same tables as when
    the counts are kept (a live capture, whose tables grow)."""
    from sniffer.ui.panels.stats import CONV_KINDS, build_tables, compute_statistics
    from sniffer.ui.sources import open_file_source

    path = write_frames(tmp_path / "f.pcap", many_flows_frames(4000, 1500))
    store, source = open_file_source(str(path))
    source.run()
    kept = compute_statistics(store, list(range(store.count)), hierarchy=False)
    final = compute_statistics(store, list(range(store.count)), hierarchy=False)
    a, b = build_tables(kept), build_tables(final, final=True)
    assert a is not None and b is not None and a.keys() == b.keys() and len(a) == 2 * len(CONV_KINDS)
    for key in a:
        assert a[key][0] == b[key][0] and list(a[key][1]) == list(b[key][1]) and a[key][2] == b[key][2]
    assert len(a["conv-ip"][1]) == 1500 and len(a["conv-tcp"][1]) == 750 and len(a["ep-udp"][1]) > 750
    assert all(kept.conversations(k) for k in ("ip", "tcp", "udp"))
    assert not any(final.conversations(k) for k in ("eth", "ip", "ipv6", "tcp", "udp"))
    assert (final.frames, final.bytes, final.io()) == (kept.frames, kept.bytes, kept.io())
    assert build_tables(kept, cancelled=lambda: True) is None


async def test_file_statistics_keep_one_copy_of_the_tables(make_app, flows_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    """On a file the screen keeps its tables' rows, not the counted conversations as well (at 1M packets
    and 100k conversations both together were ~100 MB); the totals and the I/O rate stay."""
    from sniffer.ui.panels.stats import StatisticsScreen

    app = make_app(flows_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = StatisticsScreen()
        app.push_screen(screen)
        await wait_until(pilot, lambda: screen.stats is not None, timeout=60)
        assert screen.counts["conv-ip"] == FLOWS and screen.counts["conv-tcp"] == FLOWS // 2
        assert screen.stats.conversations("ip") == [] and screen.stats.flows.tcp == []
        assert screen.stats.frames == 3 * FLOWS and screen.stats.io()
        await pilot.press("r")  # a rescan counts from scratch: the same tables
        await wait_until(pilot, lambda: screen.hierarchy is not None and not screen.scanning, timeout=60)
        assert screen.counts["conv-ip"] == FLOWS and screen.counts["ep-ip"] == 2 * FLOWS


async def test_closed_statistics_screen_is_freed(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Closing Statistics frees its counts and tables. The counting freezes what is alive (gc.freeze:
    no full collection over its millions of objects); the screen was alive then, so each closed screen
    stayed frozen with its tables and counts (hundreds of MB at 1M packets, per S)."""
    import gc
    import weakref

    from sniffer.ui.panels.stats import StatisticsScreen

    path = write_frames(tmp_path / "f.pcap", many_flows_frames(3000, 1000))
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        refs = []
        for _ in range(3):
            screen = StatisticsScreen()
            app.push_screen(screen)
            await wait_until(pilot, lambda s=screen: s.hierarchy is not None, timeout=60)
            refs.append((weakref.ref(screen), weakref.ref(screen.stats)))
            await pilot.press("escape")
            await wait_until(pilot, lambda s=screen: not s.is_attached and not s.workers)
        del screen
        await pilot.pause(0.2)
        gc.collect()
        # (Textual's context keeps the last closed screen and its last worker: one, not one per S)
        assert [(s(), st()) for s, st in refs[:2]] == [(None, None), (None, None)]
        assert refs[2][1]() is None  # the counts of the last one are gone too


def test_endpoint_order_at_scale_is_most_bytes_then_address() -> None:
    """Many endpoints are sorted in slices and merged (one ``sorted`` held the GIL ~0.3 s at 100k
    endpoints): the same order as one sort, most bytes first, ties by address."""
    import random
    from array import array

    from sniffer.ui.panels.stats import SORT_SLICE, endpoint_rows
    from sniffer.ui.vtable import ColumnRows

    rnd = random.Random(15)
    n = 40_000
    a = [f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(2)}" for _ in range(n)]
    b = [f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(2)}" for _ in range(n)]
    nums = [array("q", [rnd.randrange(4) for _ in range(n)]) for _ in range(6)]
    rows = endpoint_rows(ColumnRows([a, b, *nums]), False)
    eps: dict[str, list[int]] = {}
    for i in range(n):
        for addr, f0, b0, f1, b1 in (
            (a[i], nums[2][i], nums[3][i], nums[4][i], nums[5][i]),
            (b[i], nums[4][i], nums[5][i], nums[2][i], nums[3][i]),
        ):
            e = eps.setdefault(addr, [0, 0, 0, 0])
            e[0] += f0
            e[1] += b0
            e[2] += f1
            e[3] += b1
    assert len(eps) > 3 * SORT_SLICE
    assert list(rows.cols[0]) == sorted(eps, key=lambda k: (-(eps[k][1] + eps[k][3]), k))
    assert list(rows.cols[2]) == [eps[k][1] + eps[k][3] for k in rows.cols[0]]
