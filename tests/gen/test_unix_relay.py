"""`sniffer unix-relay`: relays AF_UNIX both ways and records a conversation tshark can follow."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers.cli import run_sniffer, sniffer_argv, sniffer_env

from sniffer.capture.pcapfile import open_capture
from sniffer.gen.core.payload import find_tags

TSHARK_CHECKS = [
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
]


def start(*args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        sniffer_argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sniffer_env()
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "for at most" in line, line
    return proc


def finish(proc: subprocess.Popen[bytes]) -> str:
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def tshark(pcap: Path, *args: str) -> str:
    res = subprocess.run(["tshark", *TSHARK_CHECKS, "-r", str(pcap), *args], capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout.decode()


@pytest.mark.parametrize(("utype", "style"), [("stream", "blocking"), ("seqpacket", "asyncio")])
def test_relay_connection_becomes_a_tcp_conversation(tmp_path: Path, utype: str, style: str) -> None:
    a, b, pcap = tmp_path / "a.sock", tmp_path / "b.sock", tmp_path / "relay.pcapng"
    server = start("gen", "unix-server", "--type", utype, "--path", str(b), "-c", "2", "-d", "20", "--json")
    relay = start("unix-relay", "--type", utype, "--listen", str(a), "--connect", str(b), "-w", str(pcap),
                  "-c", "2", "-d", "20", "--json")  # fmt: skip
    flows = []
    for flow in (0x1111, 0x2222):
        res = run_sniffer("gen", "unix", "--type", utype, "--path", str(a), "-c", "6", "--size", "300",
                          "--style", style, "--flow", str(flow), "--json")  # fmt: skip
        assert res.returncode == 0, res.stderr.decode()
        assert json.loads(res.stdout)["echoed"] == 6
        flows.append(flow)
    stats = json.loads(finish(relay))
    assert stats["connections"] == 2 and stats["bytes_client_to_server"] == 2 * 6 * 300
    assert stats["bytes_server_to_client"] == 2 * 6 * 300
    assert json.loads(finish(server))["connections"] == 2
    # our reader and the tag matcher see every message both ways
    with open_capture(str(pcap)) as rd:
        frames = list(rd)
    for flow in flows:
        tags = [t for fr in frames for t in find_tags(fr.data) if t.flow_id == flow]
        assert sorted(t.seq for t in tags) == sorted(list(range(6)) * 2)
    assert "AF_UNIX" in (frames[0].comment or "")
    # tshark: two TCP streams, no analysis complaints, good checksums, follow stream gives the bytes
    out = tshark(
        pcap, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.len", "-e", "tcp.analysis.flags",
        "-e", "_ws.malformed", "-e", "tcp.checksum.status", "-e", "tcp.payload", "-q", "-z", "follow,tcp,raw,1",
    ).splitlines()  # fmt: skip
    rows = [line.split("\t") for line in out]
    packets = [r for r in rows if len(r) == 6]
    assert {r[0] for r in packets} == {"0", "1"}
    assert all(r[2] == "" and r[3] == "" and r[4] == "1" for r in packets), packets
    hexdigits = set("0123456789abcdef")
    body = out[next(k for k, line in enumerate(out) if line.startswith("Node 1:")) + 1 :]
    follow = [line.strip() for line in body if line.strip() and set(line.strip()) <= hexdigits]
    data = bytes.fromhex("".join(follow))
    assert [t.flow_id for t in find_tags(data)] == [0x2222] * 12
    if utype == "seqpacket":  # records stay whole: one segment per message
        assert {r[1] for r in packets if r[1] != "0"} == {"300"}


def test_relay_bulk_keeps_every_byte(tmp_path: Path) -> None:
    a, b, pcap = tmp_path / "a.sock", tmp_path / "b.sock", tmp_path / "bulk.pcapng"
    server = start("gen", "unix-server", "--path", str(b), "--mode", "sink", "-c", "1", "-d", "20", "--json")
    relay = start(
        "unix-relay",
        "--listen",
        str(a),
        "--connect",
        str(b),
        "-w",
        str(pcap),
        "-c",
        "1",
        "-d",
        "20",
        "--json",
    )
    res = run_sniffer("gen", "unix", "--path", str(a), "--bulk", "--bytes", "6M", "--json")
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(finish(relay))["bytes_client_to_server"] == 6 << 20
    assert json.loads(finish(server))["bytes_received"] == 6 << 20
    fields = ("tcp.srcport", "tcp.dstport", "tcp.len", "tcp.analysis.flags", "_ws.malformed")
    rows = [
        r.split("\t")
        for r in tshark(pcap, "-T", "fields", *(x for f in fields for x in ("-e", f))).splitlines()
    ]
    assert {(r[0], r[1]) for r in rows} == {("40000", "5000"), ("5000", "40000")}
    assert sum(int(r[2]) for r in rows if r[0] == "40000") == 6 << 20
    assert all(r[3] == "" and r[4] == "" for r in rows)


def test_relay_dgram_becomes_udp(tmp_path: Path) -> None:
    a, b, pcap = tmp_path / "a.sock", tmp_path / "b.sock", tmp_path / "dgram.pcapng"
    server = start("gen", "unix-server", "--type", "dgram", "--path", str(b), "-c", "5", "-d", "20", "--json")
    relay = start("unix-relay", "--type", "dgram", "--listen", str(a), "--connect", str(b), "-w", str(pcap),
                  "-d", "20", "--json")  # fmt: skip
    res = run_sniffer("gen", "unix", "--type", "dgram", "--path", str(a), "-c", "5", "--flow", "77", "--json")
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(res.stdout)["echoed"] == 5
    finish(server)
    relay.terminate()
    stats = json.loads(finish(relay))
    assert stats["messages_client_to_server"] == 5 and stats["messages_server_to_client"] == 5
    lines = tshark(
        pcap, "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.checksum.status"
    )
    rows = [line.split("\t") for line in lines.splitlines()]
    assert rows == [["40000", "5000", "1"], ["5000", "40000", "1"]] * 5


def test_relay_errors_are_one_line(tmp_path: Path) -> None:
    res = run_sniffer(
        "unix-relay", "--listen", "/nonexistent/dir/a.sock", "--connect", "x", "-w", str(tmp_path / "o")
    )
    assert res.returncode == 1
    assert (
        res.stderr.decode()
        .strip()
        .splitlines()[-1]
        .startswith("sniffer: cannot listen on /nonexistent/dir/a.sock")
    )
