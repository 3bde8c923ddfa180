"""Follow stream screen: the reassembled payload equals tshark's follow,tcp/udp for the selected packet's stream."""

from __future__ import annotations

import pytest

from .conftest import DNS_UDP, SIZE, WIKIPEDIA, loaded, tshark, wait_until

pytest.importorskip("sniffer.model.flows")  # filters' model/flows.py (until it is on main)


def tshark_follow(
    path: str, proto: str, stream: int
) -> tuple[list[str], list[bytes], list[tuple[int, bytes]]]:
    """(node lines, payload per direction, chunks in order) of tshark -q -z follow,PROTO,raw,STREAM."""
    nodes: list[str] = []
    data = [b"", b""]
    chunks = []
    for line in tshark("-r", path, "-q", "-z", f"follow,{proto},raw,{stream}").splitlines():
        if line.startswith("Node "):
            nodes.append(line.split(": ", 1)[1])
        elif nodes and line.strip() and not line.startswith("="):
            d = 1 if line.startswith("\t") else 0
            data[d] += bytes.fromhex(line.strip())
            chunks.append((d, bytes.fromhex(line.strip())))
    return nodes, data, chunks


async def open_follow(app, pilot, **kw):  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.follow import FollowStreamScreen

    screen = FollowStreamScreen(**kw)
    app.push_screen(screen)
    await wait_until(pilot, lambda: screen.followed is not None or bool(screen.error))
    await pilot.pause()
    return screen


async def test_follow_selected_tcp_stream_equals_tshark(make_app) -> None:  # type: ignore[no-untyped-def]
    from sniffer.ui.panels.follow import CLIENT_STYLE, SERVER_STYLE, ascii_text, render_followed

    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("g", *"30", "enter")  # a packet in the middle of a later HTTP connection
        await pilot.pause()
        assert app.plist.selected_index == 29
        screen = await open_follow(app, pilot)
        f = screen.followed
        proto, n = screen.stream
        assert proto == "tcp" and n > 0
        nodes, data, chunks = tshark_follow(str(WIKIPEDIA), "tcp", n)
        assert [f"{f.a[0]}:{f.a[1]}", f"{f.b[0]}:{f.b[1]}"] == nodes
        assert f.data(0) == data[0] and f.data(1) == data[1] and data[0] and data[1]
        assert [(d, c) for d, c in f.chunks] == chunks
        body = screen.body_text()
        assert body.startswith("GET ") and "HTTP/1." in body
        pos = 0
        for _, c in chunks:  # every chunk's text shows, in tshark's order
            pos = body.index(ascii_text(c), pos)
        # client red, server blue: every chunk's text carries its direction's style
        text = render_followed(f)
        styles = {str(span.style) for span in text.spans}
        assert styles == {CLIENT_STYLE, SERVER_STYLE}
        # next stream, hex mode
        await pilot.press("n")
        await wait_until(pilot, lambda: screen.stream == ("tcp", n + 1) and screen.followed.index == n + 1)
        await pilot.press("h")
        nodes, data, _ = tshark_follow(str(WIKIPEDIA), "tcp", n + 1)
        hexbody = screen.body_text()
        assert hexbody.startswith("00000000  ") and data[0][:4].hex(" ") in hexbody
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_follow_udp_and_non_stream_packet(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(DNS_UDP)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await open_follow(app, pilot, stream=("udp", 0))
        _nodes, data, chunks = tshark_follow(str(DNS_UDP), "udp", 0)
        f = screen.followed
        assert f.data(0) == data[0] and f.data(1) == data[1] and list(f.chunks) == chunks
        assert "www.tcpdump.org" in screen.body_text()
        await pilot.press("escape")
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        arp = next(i for i in range(app.store.count) if app.store.row(i).protocol == "ARP")
        screen = await open_follow(app, pilot, index=arp)
        assert screen.followed is None and "not TCP or UDP" in screen.error


async def test_follow_one_direction_search_and_save(make_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """d shows one direction only, / finds text, w saves the text shown or the raw bytes (issue 15)."""
    app = make_app(WIKIPEDIA)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await open_follow(app, pilot, index=5)  # packet 6: GET / over TCP
        both = screen.raw_bytes()
        assert b"GET / HTTP/1.1" in both and b"HTTP/1.0 304" in both
        await pilot.press("d")  # A -> B only: the request
        assert screen.direction == 0
        assert b"GET / HTTP/1.1" in screen.raw_bytes() and b"HTTP/1.0 304" not in screen.raw_bytes()
        assert "HTTP/1.0 304" not in screen.body_text()
        await pilot.press("d")  # B -> A only: the response
        assert b"HTTP/1.0 304" in screen.raw_bytes() and b"GET /" not in screen.raw_bytes()
        await pilot.press("d")  # both again
        assert screen.raw_bytes() == both
        line = screen.find("not modified")
        assert line is not None and "not modified" in screen.body_text().lower().splitlines()[line]
        assert screen.find("no such text anywhere") is None
        assert screen.save(str(tmp_path / "s.bin")) and (tmp_path / "s.bin").read_bytes() == both
        assert screen.save(str(tmp_path / "s.txt"))
        assert (tmp_path / "s.txt").read_text() == screen.body_text()
