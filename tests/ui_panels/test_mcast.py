"""Multicast panel: groups, members and versions from IGMP seen on the wire (tshark as oracle), the kernel's
table for a group joined by the test, and per-stream loss and gaps for a sequence-numbered group stream."""

from __future__ import annotations

import socket

import pytest
from textual.widgets import DataTable, Static

from .conftest import IGMP, MC_GROUP, MC_PORT, MC_SEQS, SIZE, loaded, tshark, wait_until

LEAVES = {"0x17"}
REPORTS = {"0x12": 1, "0x16": 2, "0x22": 3}


def igmp_oracle() -> dict[str, dict[str, object]]:
    """Per group from tshark's IGMP fields: reports, leaves, members at the end, last version."""
    out: dict[str, dict[str, object]] = {}
    lines = tshark("-r", str(IGMP), "-T", "fields", "-e", "ip.src", "-e", "igmp.type", "-e", "igmp.maddr",
                   "-e", "igmp.record_type", "-e", "igmp.num_src")  # fmt: skip
    for line in lines.splitlines():
        src, typ, maddrs, rtypes, nsrcs = (line.split("\t") + [""] * 5)[:5]
        if typ not in LEAVES and typ not in REPORTS:
            continue
        groups = maddrs.split(",")
        rts = rtypes.split(",") if rtypes else [""] * len(groups)
        ns = nsrcs.split(",") if nsrcs else ["0"] * len(groups)
        for g, rt, n in zip(groups, rts, ns, strict=True):
            st = out.setdefault(g, {"reports": 0, "leaves": 0, "members": set(), "version": None})
            leave = typ in LEAVES or (rt in ("1", "3") and n == "0")
            if typ in REPORTS:
                st["reports"] += 1  # type: ignore[operator]
                st["version"] = REPORTS[typ]
            if leave:
                st["leaves"] += 1  # type: ignore[operator]
                st["members"].discard(src)  # type: ignore[attr-defined]
            else:
                st["members"].add(src)  # type: ignore[attr-defined]
    return out


async def open_mcast(app, pilot, **kw):  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.mcast import McastScreen

    screen = McastScreen(**kw)
    app.push_screen(screen)
    await wait_until(pilot, lambda: screen.loaded)
    await pilot.pause()
    return screen


async def test_groups_from_igmp_equal_tshark(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(IGMP)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await open_mcast(app, pilot, kernel=None)
        rows = {r["group"]: r for r in screen.group_rows()}
        table = screen.query_one("#mc-groups", DataTable)
        shown = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        timeline = screen.query_one("#mc-timeline", DataTable).row_count
    oracle = igmp_oracle()
    assert set(rows) == set(oracle) == set(shown) and len(oracle) >= 2
    for g, want in oracle.items():
        assert rows[g]["reports"] == want["reports"], g
        assert rows[g]["leaves"] == want["leaves"], g
        assert set(rows[g]["members"]) == want["members"], g
        assert rows[g]["version"] == want["version"], g
    first = sorted(oracle)[0]  # the table is in address order and the first group is selected
    assert shown[0] == first and timeline == oracle[first]["reports"] + (
        oracle[first]["leaves"] if oracle[first]["version"] != 3 else 0
    )


async def test_kernel_table_shows_a_group_joined_here(make_app) -> None:  # type: ignore[no-untyped-def]
    group = "239.77.1.2"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        app = make_app(IGMP)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            screen = await open_mcast(app, pilot, refresh_s=0.1)
            assert group not in {r["group"] for r in screen.group_rows()}

            def events() -> list[str]:
                g = screen.mview.group(group)
                return [] if g is None else [e.event for e in g.timeline if e.who == "lo"]

            mreq = socket.inet_aton(group) + socket.inet_aton("127.0.0.1")
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)  # join while the panel watches
            await wait_until(pilot, lambda: "kernel-join" in events())
            rows = {r["group"]: r for r in screen.group_rows()}
            assert any(k.startswith("lo(") for k in rows[group]["kernel"])
            s.close()  # leave: the next refresh sees the kernel drop it
            await wait_until(pilot, lambda: "kernel-leave" in events())
            assert events()[-2:] == ["kernel-join", "kernel-leave"]
            await pilot.press("k")  # kernel table off
            status = screen.query_one("#panel-status", Static)
            await wait_until(pilot, lambda: "kernel table off" in str(status.render()))
    finally:
        s.close()


async def test_stream_loss_and_gaps(make_app, mcast_pcap) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sniffer.model.l4")  # filters' transport layer (until it is on main)
    app = make_app(mcast_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await open_mcast(app, pilot, kernel=None)
        (row,) = screen.group_rows()
        st = screen.query_one("#mc-streams", DataTable)
        cells = [str(c) for c in st.get_row_at(0)]
    lost = 20 - len(MC_SEQS)
    assert row["group"] == MC_GROUP and row["streams"] == 1 and row["packets"] == len(MC_SEQS)
    assert row["lost"] == lost == 3
    assert cells[0].startswith("10.0.0.1:4321") and cells[1] == str(MC_PORT)
    assert cells[2] == str(len(MC_SEQS)) and cells[4] == "3" and cells[5] == "2"  # lost 3 in 2 gaps
    assert abs(float(cells[3]) - 1000.0) < 1.0  # one datagram per ms in the capture
