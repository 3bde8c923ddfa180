"""Closed loop on loopback: `sniffer gen udp-echo` captured live by the TUI, every 5th request dropped by an
nftables egress rule on lo (before the capture tap); the generated-flows screen names exactly the sequence
numbers the echo server never received."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading

import pytest
from helpers.cli import run_sniffer
from textual.widgets import DataTable

from sniffer.model.store import PacketStore
from sniffer.ui.app import SnifferApp
from sniffer.ui.sources import LiveCaptureSource

from .conftest import SIZE, wait_until

COUNT, FLOW, TABLE = 20, 0x5A17, "sniffer_panels_test"


def echo_server(sock: socket.socket, stop: threading.Event, seen: list[int]) -> None:
    from sniffer.gen.core.payload import parse_tag

    sock.settimeout(0.05)
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(65535)
        except TimeoutError:
            continue
        tag = parse_tag(data)
        if tag is not None:
            seen.append(tag.seq)
        sock.sendto(data, peer)


@pytest.mark.root
async def test_gen_flow_gaps_from_live_capture() -> None:
    from sniffer.ui.panels.genflows import GenFlowsScreen

    if shutil.which("nft") is None:
        pytest.skip("nftables is not installed")
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    stop = threading.Event()
    seen: list[int] = []
    th = threading.Thread(target=echo_server, args=(srv, stop, seen), daemon=True)
    th.start()
    rules = (
        f'table netdev {TABLE} {{\n chain eg {{\n  type filter hook egress device "lo" priority 0;\n'
        f"  udp dport {port} numgen inc mod 5 == 2 drop\n }}\n}}\n"
    )
    subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)
    store = PacketStore(spool=True)
    src = LiveCaptureSource(["lo"], store, bpf=f"udp port {port}")
    src.open()
    try:
        app = SnifferApp(store, src, live=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.2)
            gen = asyncio.to_thread(
                run_sniffer, "gen", "udp-echo", "--to", f"127.0.0.1:{port}", "-c", str(COUNT),
                "--flow", str(FLOW), "--timeout", "0.05", timeout=60,
            )  # fmt: skip
            res = await gen
            assert res.returncode in (0, 1), res.stderr
            dropped = sorted(set(range(COUNT)) - set(seen))
            assert dropped == [s for s in range(COUNT) if s % 5 == 2]  # the rule did what it says
            sent_ok = COUNT - len(dropped)
            await wait_until(pilot, lambda: store.count >= 2 * sent_ok)
            screen = GenFlowsScreen()
            app.push_screen(screen)
            await wait_until(pilot, lambda: screen.flows is not None)
            fl = screen.flows[FLOW]
            assert fl.missing() == dropped
            assert len(fl.packets) == 2 * sent_ok  # request and echo of each one that got through
            t = screen.query_one("#gen-flows", DataTable)
            row = [str(c) for c in t.get_row_at(0)]
            assert row[0] == f"{FLOW:08x}" and row[8] == str(len(dropped)) and row[9] == "2, 7, 12, 17"
            await pilot.press("escape")
    finally:
        subprocess.run(["nft", "delete", "table", "netdev", TABLE], check=False)
        stop.set()
        th.join(2)
        srv.close()
        store.close()
