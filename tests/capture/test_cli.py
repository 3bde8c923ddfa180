"""`sniffer capture` / `sniffer interfaces` end to end: files tshark reads, signals, faults, privileges."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from helpers.capture_cli import run_capture, start_capture
from helpers.capture_traffic import (
    ETH_P_EXPERIMENTAL,
    Blaster,
    Tcpdump,
    experimental_frames,
    send_udp,
    tshark_bytes,
    tshark_read,
)
from helpers.netns import sh

from sniffer.capture.afpacket import PacketSender
from sniffer.netns import netns

pytestmark = pytest.mark.root
EXPR = f"ether proto {ETH_P_EXPERIMENTAL:#x}"


def send_frames(ns: str, iface: str, frames: list[bytes]) -> None:
    with netns(ns):
        sender = PacketSender(iface)
    with sender:
        for f in frames:
            sender.send(f)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> tuple[int, str, str]:
    time.sleep(0.1)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


@pytest.mark.parametrize("fmt", ["pcapng", "pcap"])
def test_write_file_tshark_reads_same_count_and_bytes(netns_pair, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    path = tmp_path / f"out.{fmt}"
    sent = experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 100, size=200)
    proc = start_capture("--netns", b.ns, "-i", "vb", "-w", str(path), "-F", fmt, "-c", "100", EXPR)
    send_frames(a.ns, "va", sent)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "100 packets captured" in err.decode()
    assert os.stat(path).st_mode & 0o777 == 0o600
    rc, rows, terr = tshark_read(path, "frame.len", "frame.interface_name", "frame.packet_flags_direction")
    assert rc == 0 and terr == ""
    assert len(rows) == 100
    assert tshark_bytes(path, tmp_path) == sent
    if fmt == "pcapng":
        assert {r[1] for r in rows} == {"vb"}
        assert {int(r[2], 16) for r in rows} == {1}  # inbound


def test_write_to_stdout_feeds_tshark(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    sent = experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 20)
    proc = start_capture("--netns", b.ns, "-i", "vb", "-w", "-", "-c", "20", EXPR)
    send_frames(a.ns, "va", sent)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    (tmp_path / "stdout.pcapng").write_bytes(out)
    assert tshark_bytes(tmp_path / "stdout.pcapng", tmp_path) == sent


def test_lines_count_and_any(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    proc = start_capture("--netns", b.ns, "-i", "any", "-c", "5", "udp port 4444")
    send_udp(a.ns, b.addr4("vb"), 4444, [b"x" * 10] * 8)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == 5 and lines[0].startswith("1 ") and lines[4].startswith("5 ")
    assert "listening on any, link-type LINUX_SLL2" in proc.banner  # type: ignore[attr-defined]
    assert "5 packets captured" in err.decode()


def test_duration_stops(netns_pair) -> None:  # type: ignore[no-untyped-def]
    _a, b = netns_pair
    t0 = time.monotonic()
    res = run_capture("--netns", b.ns, "-i", "vb", "--duration", "0.5", "-q")
    assert res.returncode == 0, res.stderr
    assert 0.5 <= time.monotonic() - t0 < 10
    assert b"packets received by filter" in res.stderr and res.stdout == b""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_capture_leaves_a_valid_file(netns_pair, tmp_path: Path, sig: int) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    path = tmp_path / "sig.pcapng"
    frames = experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 20000, size=300)
    proc = start_capture("--netns", b.ns, "-i", "vb", "-w", str(path), EXPR)
    blaster = Blaster(a.ns, "va", frames, rate=5000).start()
    time.sleep(0.7)
    rc, _, err = stop(proc, sig)
    sent = blaster.stop()
    assert rc == 0, err
    rc, rows, terr = tshark_read(path)
    assert rc == 0 and terr == ""
    assert 0 < len(rows) < sent
    assert f"{len(rows)} packets captured" in err
    got = tshark_bytes(path, tmp_path)
    assert got == frames[: len(got)]  # in order, none missing, none duplicated


def test_disk_full_stops_with_message_and_valid_file(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    mnt = tmp_path / "small"
    mnt.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mnt))
    try:
        path = mnt / "full.pcapng"
        frames = experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 400, size=1400)
        proc = start_capture("--netns", b.ns, "-i", "vb", "-w", str(path), EXPR)
        send_frames(a.ns, "va", frames)
        _out, errb = proc.communicate(timeout=30)
        err = errb.decode()
        assert proc.returncode == 1, err
        assert "disk full" in err and err.count("sniffer:") == 1 and "Traceback" not in err
        rc, rows, terr = tshark_read(path)
        assert rc == 0 and terr == "", terr
        assert 50 < len(rows) < 400
        assert tshark_bytes(path, tmp_path) == frames[: len(rows)]
    finally:
        sh("umount", str(mnt), check=False)


def test_vanished_interface_ends_with_clear_message(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    path = tmp_path / "gone.pcapng"
    proc = start_capture("--netns", b.ns, "-i", "vb", "-w", str(path), EXPR)
    send_frames(a.ns, "va", experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 7))
    time.sleep(0.2)
    sh("ip", "-n", b.ns, "link", "del", "vb")
    _, errb = proc.communicate(timeout=30)
    err = errb.decode()
    assert proc.returncode == 1
    assert "sniffer: interface 'vb' was removed" in err and "Traceback" not in err
    rc, rows, _ = tshark_read(path)
    assert rc == 0 and len(rows) == 7


def test_unprivileged_user_gets_one_line() -> None:
    res = run_capture(
        "-i", "lo", "-c", "1", prefix=("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
    )
    err = res.stderr.decode()
    assert res.returncode == 1
    assert err.count("\n") == 1 and err.startswith("sniffer: capturing on lo: permission denied, CAP_NET_RAW")
    assert "setcap cap_net_raw,cap_net_admin=eip" in err


def test_drop_privileges_with_Z(netns_pair, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    nobody = pwd.getpwnam("nobody")
    outdir = Path(tempfile.mkdtemp(prefix="sniffer-Z-", dir="/tmp"))  # pytest's tmp is root-only
    request.addfinalizer(lambda: shutil.rmtree(outdir, ignore_errors=True))
    os.chown(outdir, nobody.pw_uid, nobody.pw_gid)
    path = outdir / "z.pcapng"
    proc = start_capture("--netns", b.ns, "-i", "vb", "-Z", "nobody", "-w", str(path), EXPR)
    deadline = time.monotonic() + 10
    while True:  # the banner comes once the sockets are open; -Z follows right after
        status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        ids = [line.split()[1:] for line in status if line.startswith(("Uid:", "Gid:", "Groups:"))]
        if ids[0] != ["0"] * 4 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    groups = sorted(str(g) for g in os.getgrouplist("nobody", nobody.pw_gid))
    assert ids[:2] == [[str(nobody.pw_uid)] * 4, [str(nobody.pw_gid)] * 4] and sorted(ids[2]) == groups
    send_frames(a.ns, "va", experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 3))
    rc, _, err = stop(proc)
    assert rc == 0, err
    assert path.stat().st_uid == nobody.pw_uid
    assert len(tshark_read(path)[1]) == 3


def test_rotation_by_size(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    base = tmp_path / "rot.pcapng"
    frames = experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 60, size=1000)
    proc = start_capture("--netns", b.ns, "-i", "vb", "-w", str(base), "-C", "0.02", "-c", "60", EXPR)
    send_frames(a.ns, "va", frames)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    files = sorted(tmp_path.glob("rot.pcapng*"), key=lambda p: (len(p.name), p.name))
    assert len(files) >= 3
    got: list[bytes] = []
    for f in files:
        assert tshark_read(f)[0] == 0
        got += tshark_bytes(f, tmp_path)
    assert got == frames


def test_bad_filter_and_usage_errors() -> None:
    res = run_capture("-i", "lo", "-f", "tcp portt 80")
    assert res.returncode == 1
    assert res.stderr.decode().startswith("sniffer: capture filter 'tcp portt 80': ")
    assert res.stderr.count(b"\n") == 1
    res = run_capture("-i", "nosuch0")
    assert res.returncode == 1 and b"no such interface 'nosuch0'" in res.stderr
    res = run_capture("-i", "lo", "-C", "1")
    assert res.returncode == 2 and b"-w" in res.stderr
    res = run_capture("-i", "lo", "--analysis", "-w", "/dev/null")
    assert res.returncode == 2 and b"--analysis changes the printed lines only" in res.stderr
    assert res.stderr.count(b"\n") == 1


def test_interfaces_lists_namespace(netns_pair, sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    _a, b = netns_pair
    res = sniffer_cli("interfaces", "--netns", b.ns, "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in map(json.loads, res.stdout.decode().splitlines())}
    assert rows["vb"]["mac"] == b.ifaces["vb"]["mac"]
    assert f"{b.addr4('vb')}/24" in rows["vb"]["addresses"]
    assert rows["vb"]["capture_linktype"].startswith("EN10MB") and rows["vb"]["state"] == "UP"
    text = sniffer_cli("interfaces", "--netns", b.ns).stdout.decode()
    assert "vb" in text and "any" in text and b.addr4("vb") in text


def test_any_to_pcapng_keeps_interfaces_and_display_filter(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    path = tmp_path / "any.pcapng"
    proc = start_capture(
        "--netns", b.ns, "-i", "any", "-w", str(path), "-c", "6", "-Y", "udp.dstport == 4545", "udp"
    )  # fmt: skip

    def traffic() -> None:
        send_udp(a.ns, b.addr4("vb"), 4546, [b"not-this"] * 4)  # captured by the BPF, not shown by -Y
        send_udp(a.ns, b.addr4("vb"), 4545, [b"remote"] * 3)
        send_udp(b.ns, "127.0.0.1", 4545, [b"local"] * 3)

    traffic()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    rc, rows, terr = tshark_read(
        path, "frame.interface_name", "sll.pkttype", "udp.dstport", "frame.packet_flags_direction"
    )
    assert rc == 0 and terr == ""
    assert sorted((r[0], r[2]) for r in rows) == sorted([("vb", "4545")] * 3 + [("lo", "4545")] * 3)
    assert {int(r[3], 16) for r in rows} == {1}


def test_any_without_display_filter_writes_from_ring_blocks(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """-i any -w (cooked ring, SLL2 headers built per packet, one IDB per interface as it first shows up;
    loopback once) through the ring-block writer, read back by tshark."""
    a, b = netns_pair
    path = tmp_path / "any.pcapng"
    proc = start_capture("--netns", b.ns, "-i", "any", "-w", str(path), "-c", "6", "udp port 4545")
    send_udp(a.ns, b.addr4("vb"), 4545, [b"remote-%d" % i for i in range(3)])
    send_udp(b.ns, "127.0.0.1", 4545, [b"local-%d" % i for i in range(3)])
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    rc, rows, terr = tshark_read(
        path, "frame.interface_name", "sll.ifindex", "frame.packet_flags_direction", "udp.payload"
    )
    assert rc == 0 and terr == ""
    got = sorted((r[0], bytes.fromhex(r[3].replace(":", "")), int(r[2], 16)) for r in rows)
    want = [("lo", b"local-%d" % i, 1) for i in range(3)] + [("vb", b"remote-%d" % i, 1) for i in range(3)]
    assert got == want
    assert len({r[1] for r in rows}) == 2


def test_sigusr1_prints_live_statistics(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    proc = start_capture("--netns", b.ns, "-i", "vb", "-q", EXPR)
    send_frames(a.ns, "va", experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 9))
    time.sleep(0.3)
    proc.send_signal(signal.SIGUSR1)
    assert proc.stderr is not None
    lines = [proc.stderr.readline().decode() for _ in range(4)]
    assert lines[0] == "9 packets captured\n" and lines[1] == "9 packets received by filter\n"
    assert proc.poll() is None  # still capturing
    rc, _, err = stop(proc)
    assert rc == 0 and "9 packets captured" in err


def test_rotation_by_time_stops_after_W_files(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _a, b = netns_pair
    t0 = time.monotonic()
    res = run_capture(
        "--netns", b.ns, "-i", "vb", "-w", str(tmp_path / "t.pcapng"), "-G", "0.4", "-W", "3", EXPR
    )
    assert res.returncode == 0, res.stderr
    assert 1.0 <= time.monotonic() - t0 < 15
    files = sorted(p.name for p in tmp_path.glob("t.pcapng*"))
    assert files == ["t.pcapng", "t.pcapng1", "t.pcapng2"]
    for f in files:
        assert tshark_read(tmp_path / f)[0] == 0


@pytest.mark.parametrize("no_promisc", [False, True])
def test_promiscuous_by_default_and_p_turns_it_off(netns_pair, no_promisc: bool) -> None:  # type: ignore[no-untyped-def]
    _a, b = netns_pair
    args = ["--netns", b.ns, "-i", "vb", "-q", *(["-p"] if no_promisc else [])]
    proc = start_capture(*args)
    # PACKET_ADD_MEMBERSHIP raises the device's promiscuity count (not the PROMISC admin flag)
    during = json.loads(b.run("ip", "-d", "-j", "link", "show", "vb").stdout)[0]["promiscuity"]
    rc, _, err = stop(proc)
    assert rc == 0, err
    after = json.loads(b.run("ip", "-d", "-j", "link", "show", "vb").stdout)[0]["promiscuity"]
    assert (during, after) == ((0 if no_promisc else 1), 0)


@pytest.mark.parametrize(("fmt", "side"), [("pcapng", "vb"), ("pcap", "vb"), ("pcapng", "va")])
def test_ring_block_writer_matches_tcpdump_stamps_bytes_direction(
    netns_pair, tmp_path: Path, fmt: str, side: str
) -> None:  # type: ignore[no-untyped-def]
    """`-w` builds records straight from the ring blocks: next to tcpdump (nanosecond) on the same
    traffic, tshark reads the same timestamps, lengths and bytes (snap length cut, VLAN tags put back),
    and in pcapng the interface name and direction (out on va, in on vb)."""
    a, b = netns_pair
    ns = a.ns if side == "va" else b.ns
    frames = []
    for i, f in enumerate(experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 90, size=60)):
        frames.append(f + bytes(range(256)) * (i % 6))  # 60..1596 bytes
    frames += [f[:12] + struct.pack(">HH", 0x8100, (3 << 13) | 42) + f[12:] for f in frames[:6]]
    expr = f"{EXPR} or vlan"
    td = Tcpdump(ns, side, tmp_path / "td.pcap", expr, ("--time-stamp-precision=nano", "-s", "1000"))
    path = tmp_path / f"s.{fmt}"
    proc = start_capture(
        "--netns", ns, "-i", side, "-w", str(path), "-F", fmt, "-s", "1000", "-c", "96", expr
    )
    send_frames(a.ns, "va", frames)
    _, err = proc.communicate(timeout=30)
    td.stop()
    assert proc.returncode == 0, err
    assert "96 packets captured" in err.decode()
    fields = ("frame.time_epoch", "frame.len", "frame.cap_len")
    rc, mine, terr = tshark_read(path, *fields, "frame.interface_name", "frame.packet_flags_direction")
    assert rc == 0 and terr == ""
    rc, theirs, _ = tshark_read(tmp_path / "td.pcap", *fields)
    assert rc == 0 and len(theirs) == 96
    assert [r[:3] for r in mine] == theirs
    want = [f[:1000] for f in frames]
    assert tshark_bytes(path, tmp_path) == want == tshark_bytes(tmp_path / "td.pcap", tmp_path)
    assert [int(r[1]) for r in mine] == [len(f) for f in frames]
    if fmt == "pcapng":
        assert {(r[3], int(r[4], 16)) for r in mine} == {(side, 2 if side == "va" else 1)}
