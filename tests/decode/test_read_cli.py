"""`sniffer read`: lines, JSON Lines, -c, stdin, broken files, closed pipes and Ctrl-C."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from helpers.cli import run_sniffer, sniffer_argv, sniffer_env

from .oracle import CAPS, oracle_rows

NMAP = CAPS / "zeek__nmap-vsn.pcap"  # 547 packets


def test_one_line_per_packet() -> None:
    r = run_sniffer("read", str(NMAP))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert len(lines) == len(oracle_rows(NMAP.name)) == 547
    assert lines[0].split()[0] == "1" and " TCP 78 58024 -> 80 [SYN]" in lines[0]
    assert lines[-1].startswith("547 ")


def test_json_lines_with_lists_and_malformed() -> None:
    r = run_sniffer("read", "--json", str(CAPS / "zeek__icmp__icmp-destunreach-udp.pcap"))
    (obj,) = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert obj["frame.number"] == 1
    assert obj["ip.src"] == ["192.168.1.102", "192.168.1.1"]
    assert obj["ip.ttl"] == [128, 64]
    assert "_ws.malformed" not in obj
    r = run_sniffer("read", "--json", str(CAPS / "tcpdump__ipv6_invalid_length.pcap"))
    (obj,) = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert obj["_ws.malformed"].startswith("Malformed Packet")


def test_count_and_stdin() -> None:
    r = run_sniffer("read", "-c", "3", str(NMAP))
    assert len(r.stdout.decode().splitlines()) == 3
    data = NMAP.read_bytes()
    for args in (("read", "-"), ("read", "-r", "-")):
        r = run_sniffer(*args, input=data)
        assert r.returncode == 0, r.stderr
        assert len(r.stdout.decode().splitlines()) == 547
    r = run_sniffer("read", "--json", "-c", "2", "-", input=data)
    assert [json.loads(x)["frame.number"] for x in r.stdout.decode().splitlines()] == [1, 2]


def test_broken_file_prints_packets_then_one_line(tmp_path: Path) -> None:
    data = NMAP.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:3000])
    r = run_sniffer("read", str(cut))
    assert r.returncode != 0
    lines = r.stdout.decode().splitlines()
    assert 10 < len(lines) < 547
    err = r.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"sniffer: {cut}: ") and "(at byte offset " in err
    r = run_sniffer("read", str(tmp_path / "missing.pcap"))
    assert (
        r.returncode != 0
        and r.stderr.decode().startswith("sniffer: ")
        and "Traceback" not in r.stderr.decode()
    )


def test_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big.pcap"
    data = NMAP.read_bytes()
    body = data[24:]
    big.write_bytes(data[:24] + body * 40)  # ~22k packets
    p = subprocess.Popen(
        sniffer_argv("read", str(big)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sniffer_env()
    )
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    assert first.startswith(b"1 ")
    p.stdout.close()  # like `| head -1`
    rc = p.wait(timeout=60)
    err = p.stderr.read().decode()
    assert rc == 0 and err == "", (rc, err)


def test_ctrl_c_exits_quietly(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen(
        sniffer_argv("read", str(fifo)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sniffer_env()
    )
    with open(fifo, "wb") as w:
        w.write(NMAP.read_bytes()[:2000])  # header and some packets, then the writer stalls
        w.flush()
        assert p.stdout is not None
        assert p.stdout.readline().startswith(b"1 ")  # streamed at once from a FIFO
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=30)
    assert p.stderr is not None
    err = p.stderr.read().decode()
    assert "Traceback" not in err and rc in (130, 0), (rc, err)


def test_display_filter_or_clear_message() -> None:
    r = run_sniffer("read", "-Y", "arp", str(NMAP))
    if importlib.util.find_spec("sniffer.model.filters") is None:
        assert r.returncode == 2
        assert r.stderr.decode().startswith("sniffer: display filters (-Y) are not available")
        return
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines and all(" ARP " in x for x in lines)
    assert len(lines) == sum(1 for row in oracle_rows(NMAP.name) if row["arp.opcode"])


def _big(tmp_path: Path, copies: int) -> Path:
    data = NMAP.read_bytes()
    p = tmp_path / "big.pcap"
    p.write_bytes(data[:24] + data[24:] * copies)
    return p


def test_parallel_formatting_gives_the_same_text(tmp_path: Path) -> None:
    big = _big(tmp_path, 40)  # 21880 packets: several blocks per process
    one = run_sniffer("read", "-j", "1", str(big))
    assert one.returncode == 0 and one.stdout.count(b"\n") == 547 * 40
    for jobs in ("2", "3"):
        many = run_sniffer("read", "-j", jobs, str(big))
        assert many.returncode == 0, many.stderr
        assert many.stdout == one.stdout
    part = run_sniffer("read", "-j", "2", "-c", "9000", str(big))
    assert part.stdout == b"".join(one.stdout.splitlines(keepends=True)[:9000])


def test_parallel_formatting_of_a_broken_file(tmp_path: Path) -> None:
    big = _big(tmp_path, 40)
    data = big.read_bytes()
    for cut_at in (len(data) // 3, len(data) // 2 + 777):
        cut = tmp_path / f"cut{cut_at}.pcap"
        cut.write_bytes(data[:cut_at])
        one = run_sniffer("read", "-j", "1", str(cut))
        two = run_sniffer("read", "-j", "2", str(cut))
        assert one.returncode == two.returncode != 0
        assert two.stdout == one.stdout and len(one.stdout) > 1000
        assert two.stderr == one.stderr and b"(at byte offset " in one.stderr
