"""Regressions from issue 15 (the analyst's workbench): truncated files, pipes, saving over the open
file, filter-bar keys, time formats, columns, tree actions."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from helpers.tui_pcapgen import PCAP_HDR, REC, mixed_frames

from .conftest import WIKIPEDIA, wait_until

SIZE = (120, 40)


def _records(frames: list[bytes], start: int = 0, step_us: int = 1000) -> bytes:
    out = []
    for i, f in enumerate(frames, start):
        t = i * step_us
        out.append(REC.pack(1_700_000_000 + t // 1_000_000, t % 1_000_000, len(f), len(f)) + f)
    return b"".join(out)


async def _loaded(make_app, path: Path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done)
        await pilot.pause(0.15)
        return app.plist.count, app.source.status.error


async def test_truncated_file_keeps_every_good_packet(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = WIKIPEDIA.read_bytes()
    # the counts `sniffer read` and tshark give for the same cuts
    for cut, good in ((3000, 13), (5000, 29)):
        path = tmp_path / f"cut{cut}.pcap"
        path.write_bytes(data[:cut])
        count, error = await _loaded(make_app, path)
        assert count == good, (cut, count)
        assert "truncated" in error
    one = tmp_path / "one.pcap"  # one good packet, then half of the next one
    frames = list(mixed_frames(2))
    one.write_bytes(PCAP_HDR + _records(frames)[: -len(frames[1]) // 2])
    assert (await _loaded(make_app, one))[0] == 1


async def test_fifo_closed_midway_keeps_every_packet(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frames = list(mixed_frames(30))
    fifo = tmp_path / "cap.fifo"
    os.mkfifo(fifo)
    body = _records(frames)

    def writer() -> None:
        with open(fifo, "wb") as f:
            f.write(PCAP_HDR + body[:-10])  # the writer dies in the middle of packet 30
            f.flush()
            time.sleep(0.1)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    app = make_app(fifo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done)
        await pilot.pause(0.15)
        assert app.plist.count == 29
        assert app.store.frame(28).data == frames[28]
    t.join(timeout=2)


def _run_in_pty(cmd: str, keys_after: str, timeout: float = 30.0) -> tuple[int, bytes]:
    """Run ``cmd`` (shell) with a pseudo-terminal as its controlling terminal; once ``keys_after``
    shows on screen, type "q". Returns (exit status, screen bytes)."""
    import pty
    import select
    import signal

    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal and its stdin/stdout
        os.environ["TERM"] = "xterm-256color"
        os.environ["COLUMNS"], os.environ["LINES"] = "120", "40"
        os.execvp("sh", ["sh", "-c", cmd])
    out = b""
    sent = False
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not sent and keys_after.encode() in out:
                time.sleep(0.3)
                os.write(fd, b"q")
                sent = True
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status), out
        while time.monotonic() < end:  # the terminal closed: the app is exiting
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status), out
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        return -1, out
    finally:
        os.close(fd)


def test_pipe_into_the_tui_reads_keys_from_the_terminal(tmp_path: Path) -> None:
    import shlex
    import sys

    sniffer = shlex.quote(str(Path(sys.executable).with_name("sniffer")))
    cmd = f"cat {shlex.quote(str(WIKIPEDIA))} | {sniffer} tui -r -"
    rc, screen = _run_in_pty(cmd, "Packets 136")
    assert b"Traceback" not in screen and b"UnicodeDecodeError" not in screen
    assert b"Packets 136" in screen, screen[-2000:]
    assert rc == 0  # "q" typed on the terminal quit the app


def test_pipe_without_a_terminal_is_one_error_line() -> None:
    import subprocess
    import sys

    sniffer = str(Path(sys.executable).with_name("sniffer"))
    p = subprocess.run(
        [sniffer, "tui", "-r", "-"],
        stdin=open(WIKIPEDIA, "rb"),
        capture_output=True,
        timeout=30,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
    )
    err = p.stderr.decode()
    assert p.returncode != 0
    assert err.startswith("sniffer: ") and err.count("\n") == 1 and "terminal" in err, err


async def test_save_over_the_open_file_asks_and_keeps_the_view(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from textual.widgets import Input

    from sniffer.capture.pcapfile import open_capture
    from sniffer.ui.screens import ConfirmScreen, SaveScreen

    path = tmp_path / "open.pcap"
    shutil.copy(WIKIPEDIA, path)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        before = app.store.frame(99).data
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, SaveScreen)
        app.screen.query_one("#save-path", Input).value = str(path)
        await pilot.press("enter", "enter")  # All (no filter, no marks), then the name: it exists
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing written
        await pilot.pause()
        assert path.read_bytes() == WIKIPEDIA.read_bytes()
        await pilot.press("ctrl+s")
        app.screen.query_one("#save-path", Input).value = str(path)
        await pilot.press("enter", "enter", "y")
        await wait_until(pilot, lambda: app.last_saved == str(path))
        # the view still reads the packets it indexed (the old file's inode), go to 100 works
        await pilot.press("g", *"100", "enter")
        await pilot.pause()
        assert app.plist.selected_index == 99
        assert app.store.frame(99).data == before
        assert app.hexview.data == before  # the bytes pane shows packet 100 from the old file
    with open_capture(str(path)) as r:  # the file is now the pcapng written, whole
        assert r.format == "pcapng"
        assert sum(1 for _ in r) == 136
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


async def test_save_dialog_defaults_to_displayed_with_a_filter(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.screens import SaveScreen

    app = make_app(WIKIPEDIA, display_filter="tcp")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.view.done and app.plist.count == 78)
        await pilot.press("down", "m")  # a mark too: the filter still wins
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SaveScreen)
        choices = screen.query_one("#save-which")
        assert choices.has_focus
        assert choices.pressed_index == 1  # Displayed
        assert choices._selected == 1  # and that is the highlighted one
        buttons = list(choices.query("RadioButton"))
        assert buttons[1].has_class("-selected") and not buttons[0].has_class("-selected")
        assert "Displayed (78)" in str(buttons[1].label)


async def test_tab_completes_slash_puts_the_cursor_at_the_end_ctrl_u_clears(
    make_app, mixed_pcap: Path
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(mixed_pcap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"tcp.dstp")
        await pilot.pause(0.2)
        await pilot.press("tab")
        assert app.filter_input.has_focus  # Tab stays in the bar
        assert app.filter_input.value == "tcp.dstport"
        await pilot.press(*" == 80 && ip.sr")
        await pilot.pause(0.2)
        await pilot.press("tab")  # several names start with ip.src: the shared prefix at least
        assert app.filter_input.value.startswith("tcp.dstport == 80 && ip.src")
        # a filter set from elsewhere (a panel's Enter on a conversation): / edits it at its end
        await pilot.press("escape")
        app.filter_input.value = "ip.addr == 10.0.0.2"
        app.filter_input.cursor_position = 0
        await pilot.press("slash")
        assert app.filter_input.cursor_position == len("ip.addr == 10.0.0.2")
        await pilot.press("ctrl+u")
        assert app.filter_input.value == ""


async def test_packet_without_timestamp_shows_an_empty_time(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from helpers.formats_builders import epb, idb, shb, spb

    frames = list(mixed_frames(3))
    ts = 1_700_000_000_000_000  # microseconds
    path = tmp_path / "spb.pcapng"
    path.write_bytes(
        shb() + idb() + epb("<", 0, ts, frames[0]) + spb("<", frames[1]) + epb("<", 0, ts + 1500, frames[2])
    )
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 3)
        times = [app.plist.time_text(r, r) for r in range(3)]
        assert times == ["0.000000", "", "0.001500"]
        app.plist.timefmt.kind = "delta"
        assert app.plist.time_text(2, 2) == "0.000000"  # the previous packet has no time: no delta


async def test_time_formats_and_precision(make_app, mixed_pcap: Path) -> None:  # type: ignore[no-untyped-def]
    import datetime

    app = make_app(mixed_pcap, display_filter="udp")  # packets 1, 2, 9, 10, 17... (step 1 ms)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.view.done and app.plist.count == 126)
        pl = app.plist
        texts = []
        for _ in range(7):
            texts.append((pl.timefmt.kind, pl.time_text(2, app.view.packet(2))))
            await pilot.press("t")
        ts = app.store.ts[8]  # display row 2 is packet 9
        local = datetime.datetime.fromtimestamp(ts / 1e9)
        utc = datetime.datetime.fromtimestamp(ts / 1e9, datetime.UTC)
        assert texts == [
            ("relative", "0.008000"),
            ("absolute", local.strftime("%H:%M:%S.%f")),
            ("date", local.strftime("%Y-%m-%d %H:%M:%S.%f")),
            ("utc", utc.strftime("%Y-%m-%d %H:%M:%S.%f")),
            ("epoch", f"{ts // 10**9}.{ts % 10**9 // 1000:06d}"),
            ("delta", "0.001000"),  # packet 8 was captured 1 ms before
            ("delta_displayed", "0.007000"),  # packet 2 was the previous one shown
        ]
        assert pl.timefmt.kind == "relative"  # the cycle is back at the start
        await pilot.press("T", "T", "T", "T")  # auto -> 0 -> 1 -> 2 -> 3 decimals
        assert pl.time_text(2, 8) == "0.008"
        assert any(k == "t" and d.startswith("Time format") for k, d in app.help_keys())


async def test_multicast_panel_on_a_file_leaves_this_machine_out(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.mcast import McastScreen

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done)
        await pilot.press("I")
        await wait_until(pilot, lambda: isinstance(app.screen, McastScreen) and app.screen.loaded)
        screen = app.screen
        assert screen.kernel_on is False
        await pilot.pause(0.3)
        assert "kernel table off" in str(screen.query_one("#panel-status").render())


async def test_columns_from_the_tree_and_by_name_kept_in_the_profile(make_app) -> None:  # type: ignore[no-untyped-def]
    import json

    from sniffer.ui.columns import profile_path
    from sniffer.ui.screens import PromptScreen

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        await pilot.press(*["down"] * 5)  # packet 6: HTTP GET over IPv4
        await pilot.press("2")  # the detail tree
        tree = app.detail
        # select the IPv4 layer's TTL field: open the layer and walk to the field
        ip_node = next(n for n in tree.root.children if n.data is not None and n.data.field == "ip")
        ip_node.expand()
        await pilot.pause()
        ttl = next(n for n in ip_node.children if n.data is not None and n.data.field == "ip.ttl")
        tree.move_cursor(ttl)
        await pilot.pause()
        assert app.selected_field is not None and app.selected_field.field == "ip.ttl"
        t0 = time.monotonic()
        await pilot.press("a")  # add as column
        await pilot.pause()
        assert time.monotonic() - t0 < 1.0
        assert app.plist.custom == ["ip.ttl"]
        header = app.plist.header_text(app.plist.columns())
        assert "ip.ttl" in header and header.index("Length") < header.index("ip.ttl") < header.index("Info")
        assert app.plist.custom_cells(5, app.plist.columns())[0].strip() == str(app.store.fields(5)["ip.ttl"])
        # by name, reordered, one removed: c opens the list
        await pilot.press("c")
        assert isinstance(app.screen, PromptScreen)
        inp = app.screen.query_one("#prompt")
        inp.value = "tcp.stream, ip.ttl frame.len"
        await pilot.press("enter")
        await pilot.pause()
        assert app.plist.custom == ["tcp.stream", "ip.ttl", "frame.len"]
        await pilot.press("c")
        app.screen.query_one("#prompt").value = "tcp.stream nosuch.field"
        await pilot.press("enter")
        await pilot.pause()
        assert app.plist.custom == ["tcp.stream", "ip.ttl", "frame.len"]  # refused, with a message
        await pilot.press("c")
        app.screen.query_one("#prompt").value = "ip.ttl"
        await pilot.press("enter")
        await pilot.pause()
        assert app.plist.custom == ["ip.ttl"]
    assert json.loads(profile_path().read_text())["columns"] == ["ip.ttl"]
    again = make_app(WIKIPEDIA)  # a new session starts with the saved columns
    assert again.plist.custom == ["ip.ttl"]


async def test_sort_by_any_column(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        store = app.store
        app.sort_by("length")
        await wait_until(pilot, lambda: app.plist.view is not app.view)
        lengths = [store.wirelen[app.plist.view.packet(r)] for r in range(136)]
        assert lengths == sorted(lengths)
        # ties keep capture order (a stable sort)
        same = [app.plist.view.packet(r) for r in range(136) if lengths[r] == 66]
        assert same == sorted(same)
        await pilot.press("O")  # reversed
        await wait_until(pilot, lambda: getattr(app.plist.view, "reverse", False))
        assert [store.wirelen[app.plist.view.packet(r)] for r in range(136)] == sorted(lengths, reverse=True)
        assert "Sorted by length" in app.status_text()
        # a click on the Protocol header sorts by protocol
        x = sum(w + 1 for _, w in app.plist.columns().spans()[:4]) + 1
        await pilot.click("#list", offset=(x + 1, 1))  # the border is row 0 of the widget, the header row 1
        await wait_until(pilot, lambda: getattr(app.plist.view, "column", "") == "protocol")
        protos = [store.row(app.plist.view.packet(r)).protocol for r in range(136)]
        assert protos == sorted(protos)
        # go to a packet and marks still work in sorted order
        await pilot.press("g", *"100", "enter")
        await pilot.pause()
        assert app.plist.selected_index == 99
        # o cycles to the next column; back to No. gives the capture order
        app.sort_by("no")
        await pilot.pause()
        assert app.plist.view is app.view


async def _select_field(app, pilot, layer: str, field: str) -> None:  # type: ignore[no-untyped-def]
    tree = app.detail
    node = next(n for n in tree.root.children if n.data is not None and n.data.field == layer)
    node.expand_all()
    await pilot.pause()

    def find(n):  # type: ignore[no-untyped-def]
        for c in n.children:
            if c.data is not None and c.data.field == field:
                return c
            got = find(c)
            if got is not None:
                return got
        return None

    target = find(node)
    assert target is not None, field
    tree.focus()
    tree.move_cursor(target)
    await pilot.pause()
    if app.selected_field is None or app.selected_field.field != field:
        # the cursor was already on that line (no highlight event): the field is the one under it
        app.selected_field = target.data
    assert app.selected_field is not None and app.selected_field.field == field


async def test_field_menu_filters_and_copies(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.screens import MenuScreen

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        await pilot.press(*["down"] * 5)  # packet 6: HTTP GET 141.142.220.118 -> 208.80.152.2
        await _select_field(app, pilot, "ip", "ip.dst")
        await pilot.press("x")
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("a")  # apply as filter
        await wait_until(pilot, lambda: app.view.done and app.plist.count == len(app.view))
        assert app.view.text == "ip.dst == 208.80.152.2"
        assert app.filter_input.value == app.view.text
        n_dst = len(app.view)
        assert 0 < n_dst < 136
        # and selected: the TCP destination port of the same packet
        app.plist.move_to(0)
        await pilot.pause()
        await _select_field(app, pilot, "tcp", "tcp.dstport")
        await pilot.press("x", "n")
        await wait_until(pilot, lambda: app.view.done and app.plist.count == len(app.view))
        assert app.view.text == "(ip.dst == 208.80.152.2) && (tcp.dstport == 80)"
        # not selected
        await _select_field(app, pilot, "tcp", "tcp.dstport")
        await pilot.press("x", "t")
        await wait_until(pilot, lambda: app.view.done and app.plist.count == len(app.view))
        assert app.view.text == "!(tcp.dstport == 80)"
        # prepare: the bar holds the filter, cursor at its end, nothing applied yet
        app.apply_filter("")
        await pilot.pause()
        app.plist.move_to(5)
        await pilot.pause()
        await _select_field(app, pilot, "ip", "ip.ttl")
        await pilot.press("x", "p")
        await pilot.pause()
        assert app.filter_input.has_focus and app.filter_input.value == "ip.ttl == 64"
        assert app.filter_input.cursor_position == len("ip.ttl == 64") and app.view.matched is None
        await pilot.press("escape")
        # copies go through OSC 52 (App.copy_to_clipboard) with a visible confirmation
        await _select_field(app, pilot, "ip", "ip.ttl")
        await pilot.press("x", "v")
        await pilot.pause()
        assert app.clipboard == "64"
        assert any("copied the value" in n.message for n in app._notifications)
        await pilot.press("x", "f")
        assert app.clipboard == "ip.ttl"
        await pilot.press("x", "b")
        assert app.clipboard == "40"
        await pilot.press("x", "r")
        text = app.clipboard
        assert text.splitlines()[0].startswith("Frame 6:") and "    Time to Live: 64" in text
        # expand / collapse all
        await pilot.press("x", "e")
        await pilot.pause()
        assert all(n.is_expanded for n in app.detail.root.children if n.children)
        await pilot.press("x", "l")
        await pilot.pause()
        assert not any(n.is_expanded for n in app.detail.root.children)
        # an HTTP string field: quoted when a bare word would not match
        await _select_field(app, pilot, "http", "http.request.method")
        await pilot.press("x", "a")
        await wait_until(pilot, lambda: app.view.done and app.plist.count == len(app.view))
        assert app.view.text in ('http.request.method == "GET"', "http.request.method == GET")
        assert len(app.view) > 0


async def test_follow_leaves_the_stream_filter_applied(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.follow import FollowStreamScreen

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        await pilot.press(*["down"] * 5, "F")
        await wait_until(
            pilot, lambda: isinstance(app.screen, FollowStreamScreen) and app.screen.followed is not None
        )
        n = app.screen.followed.index
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.view.done and app.plist.count == len(app.view) > 0)
        assert app.view.text == f"tcp.stream eq {n}" == app.filter_input.value
        assert app.plist.selected_index == 5  # still on the packet followed


# tshark -r captures/zeek__wikipedia.pcap -N dnmt -T fields -e frame.number -e _ws.col.Source -e _ws.col.Destination
TSHARK_NAMES = {
    2: ("gemini.local", "ff02::fb"),
    3: ("gemini.local", "224.0.0.251"),
    4: ("Cisco_4f:8e:f2", "Spanning-tree-(for-bridges)_00"),
    5: ("Cisco_be:8c:ff", "Broadcast"),
    22: ("141.142.220.118", "upload.pmtpa.wikimedia.org"),
}


async def test_name_resolution_is_off_by_default_and_matches_tshark(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.names import MANUF_PATHS

    assert any(p.exists() for p in MANUF_PATHS), "Wireshark's manuf file (tshark package) is needed"
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        pl = app.plist
        cols = pl.columns()

        def cells(n: int) -> tuple[str, str, str]:
            """Source and Destination as the list writes them (before cutting to the width), the row."""
            row = app.store.row(n - 1)
            text = pl.row_text(n - 1, row, cols, n - 1)
            return app.names.address(row.src), app.names.address(row.dst), text

        assert cells(22)[1] == "208.80.152.3"  # off: numbers, as tshark -n
        await pilot.press("r")
        await wait_until(pilot, lambda: app.names.scanned >= 136)
        await pilot.pause()
        for n, want in TSHARK_NAMES.items():
            assert cells(n)[:2] == want, n
        assert "49996 -> http(80) [SYN]" in cells(22)[2]
        assert "Names on" in app.status_text()
        await pilot.press("r")
        assert cells(4)[0] == "00:13:7f:4f:8e:f2"


async def test_resize_columns_with_keys_and_a_drag_kept_in_the_profile(make_app) -> None:  # type: ignore[no-untyped-def]
    import json

    from sniffer.ui.columns import profile_path

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.source.status.done and app.plist.count == 136)
        plist = app.plist
        app.set_columns(["ip.ttl"])
        await pilot.pause()
        src0, info0 = plist.width_of("source"), plist.columns().info
        # keys: } moves the current column (Source -> Destination), > widens it, < narrows it
        assert plist.current_column == "source"
        await pilot.press(">", ">", ">")
        assert plist.width_of("source") == src0 + 3
        assert plist.columns().info == info0 - 3  # Info takes what is left
        assert f"Source {src0 + 3} wide" in app.status_text()
        await pilot.press("}", "}", "}", "}")  # destination, protocol, length, ip.ttl
        assert plist.current_column == "ip.ttl"
        w = plist.width_of("ip.ttl")
        await pilot.press("<", "<")
        assert plist.width_of("ip.ttl") == w - 2
        # the header underlines the current column; Esc ends that
        strip = plist.render_line(0)
        assert any(seg.style is not None and seg.style.underline for seg in strip)
        await pilot.press("escape")
        assert not any(seg.style is not None and seg.style.underline for seg in plist.render_line(0))
        # a row is cut to the widths: the Source cell is as wide as the column
        text = plist.render_line(1).text
        a, b = plist.column_span("source", plist.columns())
        assert b - a == src0 + 3 and text[a:b].strip() == app.store.row(0).src
        # mouse: drag the border after Destination 5 columns to the right; the click does not sort
        cols = plist.columns()
        _, edge = plist.column_span("destination", cols)
        dst0 = plist.width_of("destination")
        await pilot.mouse_down("#list", offset=(edge + 1, 1))  # +1: the list's border
        await pilot.hover("#list", offset=(edge + 6, 1))
        await pilot.mouse_up("#list", offset=(edge + 6, 1))
        await pilot.pause()
        assert plist.width_of("destination") == dst0 + 5
        assert app.sort_column == "no" and plist.view is app.view
        # a click inside a header cell (not on a border) still sorts
        await pilot.click("#list", offset=(3, 1))
        await pilot.pause()
        assert app.sort_column == "no" and app.sort_reverse
    saved = json.loads(profile_path().read_text())
    assert saved["widths"] == {"source": src0 + 3, "ip.ttl": w - 2, "destination": dst0 + 5}
    assert saved["columns"] == ["ip.ttl"]
    again = make_app(WIKIPEDIA)  # a new session starts with the saved widths
    assert again.plist.widths == saved["widths"]


def test_vendors_resolve_without_wireshark_from_the_packaged_manuf(tmp_path: Path) -> None:
    """Where Wireshark's manuf file is absent, the copy scapy packages (a newer Wireshark's manuf:
    vendor names up to 12 characters) gives the vendors; the installed file wins where it exists."""
    from sniffer.ui.names import Resolver

    absent = Resolver(manuf=tmp_path / "no-wireshark" / "manuf")
    assert absent.has_manuf
    assert absent.mac("00:13:7f:4f:8e:f2") == "Cisco_4f:8e:f2"
    assert absent.mac("00:00:0a:01:02:03") == "OmronTateisi_01:02:03"
    assert absent.mac("ff:ff:ff:ff:ff:ff") == "Broadcast"
    assert absent.mac("02:00:00:00:00:01") == "02:00:00:00:00:01"  # a local address: no vendor
    from sniffer.ui.names import MANUF_PATHS, parse_manuf

    for path in (p for p in MANUF_PATHS if p.exists()):  # Debian's tshark 4.0: 8-character names
        want = parse_manuf(path.read_text(errors="replace"))[0]["00:00:0a"]
        assert Resolver().mac("00:00:0a:01:02:03") == f"{want}_01:02:03"
        break
