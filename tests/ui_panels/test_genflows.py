"""Generated flows screen: flows found by the gen payload tag, missing sequence numbers, marking, jumping to gaps."""

from __future__ import annotations

from textual.widgets import DataTable

from .conftest import GEN_FLOWS, SIZE, loaded, wait_until


async def open_gen(app, pilot):  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.genflows import GenFlowsScreen

    screen = GenFlowsScreen()
    app.push_screen(screen)
    await wait_until(pilot, lambda: screen.flows is not None)
    await pilot.pause()
    return screen


async def test_flows_and_missing_seqs(make_app, gen_pcap) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.genflows import gap_markers, generated_indices

    app = make_app(gen_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await open_gen(app, pilot)
        t = screen.query_one("#gen-flows", DataTable)
        rows = {str(t.get_row_at(r)[0]): [str(c) for c in t.get_row_at(r)] for r in range(t.row_count)}
        assert set(rows) == {f"{fid:08x}" for fid in GEN_FLOWS}
        lossy = rows["0a0b0c0d"]
        assert lossy[4] == "7" and lossy[7] == "0-9" and lossy[8] == "3" and lossy[9] == "3-4, 7"
        assert rows["11223344"][4] == "5" and rows["11223344"][8] == "0" and rows["11223344"][9] == "none"
        # gaps of the lossy flow (first row): after packets carrying seq 2 and seq 6
        flows = screen.flows
        fl = flows[0x0A0B0C0D]
        store = app.store
        g = screen.query_one("#gen-gaps", DataTable)
        gaps = [[str(c) for c in g.get_row_at(r)] for r in range(g.row_count)]
        assert [r[:2] for r in gaps] == [["3-4", "2"], ["7", "1"]]
        assert int(gaps[0][2]) - 1 == fl.seq_at[2] and int(gaps[0][3]) - 1 == fl.seq_at[5]
        assert b"SnFg" in store.frame(fl.seq_at[2]).data
        # the packet-list helpers: every generated packet, the gap positions
        gen = generated_indices(flows)
        assert len(gen) == sum(len(s) for s, _ in GEN_FLOWS.values()) == store.count - 1
        assert 0 not in gen  # the untagged packet
        assert set(gap_markers(flows)) == {fl.seq_at[2], fl.seq_at[6]}
        # x marks the gap edges, m every generated packet, in the packet list
        await pilot.press("x")
        assert app.plist.marks == {fl.seq_at[2], fl.seq_at[6]}
        await pilot.press("m")
        assert app.plist.marks == gen
        # Enter on a gap closes the screen and selects the packet before the gap
        g.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen is not screen
        assert app.plist.selected_index == fl.seq_at[6]
