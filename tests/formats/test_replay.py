"""`sniffer replay` across a veth, captured on the other side by sniffer's capture core."""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import run_sniffer, sniffer_argv, sniffer_env
from helpers.netns import Host, netns_pair

from sniffer.capture.live import LiveCapture
from sniffer.capture.pcapfile import open_capture, open_writer
from sniffer.frame import Frame

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[2]
CAPS = ROOT / "tests" / "corpus" / "captures"
SRC = bytes.fromhex("020000000001")
DST = bytes.fromhex("020000000002")


def frame(seq: int, size: int = 100) -> bytes:
    """An Ethernet/IPv4/UDP frame between addresses no namespace has, numbered by seq."""
    ip = bytes.fromhex("4500003200004000401100000a4dfe010a4dfe02")
    return (DST + SRC + b"\x08\x00" + ip + struct.pack("!I", seq) + bytes(size))[:size]


def write_pcap(path: Path, frames: list[tuple[int, bytes]], linktype: int = 1) -> None:
    with open_writer(path, format="pcap", linktype=linktype) as w:
        for ts, data in frames:
            w.write(Frame(ts, data, len(data), linktype))


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Host, Host]]:
    with netns_pair() as p:
        yield p


@pytest.fixture
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def replay_and_capture(
    a: Host, b: Host, *args: str, match_src: bytes | None = SRC
) -> tuple[dict, list[Frame]]:
    """Run `sniffer replay ... -i va --json` in a while capturing vb in b; (report, frames captured)."""
    cap = LiveCapture("vb", netns=b.ns, promisc=True)
    got: list[Frame] = []
    # Any socket asking for timestamps turns on the kernel's receive timestamps (a global switch):
    # then every packet is stamped when the veth hands it over (in the sender's context), not when a
    # busy machine gets round to the receive softirq. We measure the sender, not this machine's load.
    stamp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stamp.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_TIMESTAMPNS", 35), 1)
    with stamp, cap:
        time.sleep(0.1)
        res = run_sniffer("replay", *args, "-i", "va", "--json", ns=a.ns, timeout=120)
        assert res.returncode == 0, res.stderr.decode()
        time.sleep(0.3)
        cap.stop()
        for batch in cap.batches(timeout=0.5):
            got.extend(batch)
    report = json.loads(res.stdout)
    if match_src is not None:
        got = [f for f in got if f.data[6:12] == match_src]
    return report, got


def test_recorded_timing_byte_for_byte(pair: tuple[Host, Host], tmp: Path) -> None:
    a, b = pair
    gaps_ms = [0.3, 1, 2, 5, 0.5, 10, 3, 0.8, 20, 1.5] * 12  # 120 gaps, about 0.6 s in total
    ts = [1_700_000_000 * 10**9]
    for g in gaps_ms:
        ts.append(ts[-1] + int(g * 1e6))
    sent = [(t, frame(i, 60 + (i * 37) % 1400)) for i, t in enumerate(ts)]
    write_pcap(tmp / "timed.pcap", sent)
    # What the sender controls is the schedule and its own promptness; what it does not is when the
    # VM gets a CPU back. perf on this 2-vCPU VM (docs/replay.md, "Wake-ups on a VM"): in busy spells
    # of the host the timer interrupt that ends a sleep reaches the guest 1-2.5 ms late, the guest then
    # runs the sender within ~50 us, and no guest-side setting removes it (SCHED_FIFO and idle polling
    # do not); CI failed three runs in a row so (gaps 1.2-2.5 ms late, the report 1.2-2.5 ms late).
    # So the bound per gap is max(1 ms, 5%) plus the lateness the sender itself measured and reported:
    # a wrong or drifting schedule, or a stall the sender does not see, still fails; and the lateness
    # itself is bounded apart: never 10 ms (an RT-throttle stall is 50 ms, a blocking read or a garbage
    # collection several ms), over 1 ms for at most 10% of the packets, 0.5 ms on average. A clean run
    # (no gap beyond max(1 ms, 5%)) ends the test early; otherwise one of three runs must hold.
    attempts = []
    for _ in range(3):
        report, got = replay_and_capture(a, b, str(tmp / "timed.pcap"), "--multiplier", "1")
        assert report["packets_sent"] == len(sent) and report["failed"] == 0
        assert [f.data for f in got] == [d for _, d in sent]  # every byte, in order
        late_ns = int(report["timing_max_us"] * 1000)
        off, unexplained = [], []
        for i in range(1, len(sent)):
            want = sent[i][0] - sent[i - 1][0]
            have = got[i].ts_ns - got[i - 1].ts_ns
            bound = max(1_000_000, want * 0.05)
            if abs(have - want) > bound:
                off.append((i, want, have))
            if abs(have - want) > bound + late_ns:
                unexplained.append((i, want, have))
        lateness_ok = (
            report["timing_max_us"] < 10_000
            and report["timing_over_1ms"] <= len(sent) // 10
            and report["timing_mean_us"] < 500
        )
        keys = ("timing_mean_us", "timing_max_us", "timing_over_1ms", "realtime", "cpu_awake")
        attempts.append((off[:3], len(off), unexplained[:3], {k: report[k] for k in keys}))
        if not off or (not unexplained and lateness_ok):
            break
    else:
        pytest.fail(
            f"gaps off by more than max(1 ms, 5%) + the sender's own lateness in every run: {attempts}"
        )


@pytest.mark.parametrize("mode", ["pps", "mbps"])
def test_rate_within_2_percent(pair: tuple[Host, Host], tmp: Path, mode: str) -> None:
    a, b = pair
    n = 10_000
    size = 200 if mode == "pps" else 500
    write_pcap(tmp / "rate.pcap", [(i, frame(i, size)) for i in range(n)])
    args = ["--pps", "20000"] if mode == "pps" else ["--mbps", "60"]  # 60 Mbps of 500 B = 15k pps
    report, got = replay_and_capture(a, b, str(tmp / "rate.pcap"), *args)
    assert report["packets_sent"] == n
    assert len(got) >= n * 0.98, f"captured only {len(got)}"
    seq = [struct.unpack_from("!I", f.data, 34)[0] for f in got]
    # packets per second = 1 / slope of the least-squares line through (sequence number, capture time):
    # every packet counts, so one late packet at either end cannot skew the figure
    slope = fit_slope(seq, [f.ts_ns / 1e9 for f in got])
    rate_pps = 1 / slope
    want_pps = 20000 if mode == "pps" else 60e6 / (size * 8)
    assert abs(rate_pps - want_pps) / want_pps < 0.02, (rate_pps, want_pps, report)


def fit_slope(xs: list[int], ys: list[float]) -> float:
    n = len(xs)
    mx = sum(xs) / n
    my = sum(ys) / n
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def test_sll_capture_is_converted_to_ethernet(pair: tuple[Host, Host]) -> None:
    a, b = pair
    with open_capture(CAPS / "zeek__linuxsll-arp.pcap") as r:
        orig = list(r)
    report, got = replay_and_capture(
        a, b, str(CAPS / "zeek__linuxsll-arp.pcap"), "--topspeed", match_src=None
    )
    got = [f for f in got if f.data[:6] == DST]
    expected = []
    for f in orig:
        halen = int.from_bytes(f.data[4:6], "big")
        src = f.data[6:12] if halen == 6 else None
        expected.append(DST + (src or b"?") + f.data[14:16] + f.data[16:])
    assert report["packets_sent"] == len(orig) == 12
    assert [f.data for f in got] == expected


def test_multi_interface_pcapng_with_two_link_types(pair: tuple[Host, Host]) -> None:
    a, b = pair
    path = CAPS / "pcapng-tg__output_le__basic__test006.pcapng"  # NULL and Ethernet interfaces
    with open_capture(path) as r:
        orig = list(r)
    assert {f.linktype for f in orig} == {0, 1}
    report, got = replay_and_capture(
        a, b, str(path), "--topspeed", "--dst-mac", "02:00:00:00:00:09", match_src=None
    )
    assert report["packets_sent"] == len(orig) and report["skipped"] == 0
    datas = [f.data for f in got]
    for f in orig:
        if f.linktype == 1:  # Ethernet: --dst-mac rewrites it too
            assert bytes.fromhex("020000000009") + f.data[6:] in datas
        else:  # NULL: 4-byte family header replaced by an Ethernet header
            assert any(
                d[:6] == bytes.fromhex("020000000009") and d[12:14] == b"\x08\x00" and d[14:] == f.data[4:]
                for d in datas
            )


def test_truncated_oversize_and_unconvertible(pair: tuple[Host, Host], tmp: Path) -> None:
    a, _b = pair
    # a capture with truncated packets: sent as captured, and said so
    res = run_sniffer("replay", str(CAPS / "dpkt__truncated_dns.pcap"), "-i", "va", "--topspeed", ns=a.ns)
    assert res.returncode == 0, res.stderr
    assert b"1 packets were cut short in the capture: sent as captured" in res.stdout
    # a frame bigger than the MTU is skipped and counted, the rest goes
    write_pcap(tmp / "big.pcap", [(0, frame(0)), (1, frame(1, 2000)), (2, frame(2))])
    res = run_sniffer("replay", str(tmp / "big.pcap"), "-i", "va", "--topspeed", "--json", ns=a.ns)
    rep = json.loads(res.stdout)
    assert (rep["packets_sent"], rep["skipped_oversize"]) == (2, 1)
    # a link type with no Ethernet form is refused before anything is sent
    write_pcap(tmp / "wifi.pcap", [(0, b"\x08\x00" + bytes(30))], linktype=105)
    res = run_sniffer("replay", str(tmp / "wifi.pcap"), "-i", "va", ns=a.ns)
    assert res.returncode == 1
    assert (
        res.stderr.decode().startswith("sniffer: ")
        and "link type 105 cannot be replayed" in res.stderr.decode()
    )
    assert b"Traceback" not in res.stderr


def test_limit_loop_duration_and_lo(pair: tuple[Host, Host], tmp: Path) -> None:
    a, _ = pair
    write_pcap(tmp / "x.pcap", [(i * 1000, frame(i)) for i in range(10)])
    res = run_sniffer(
        "replay", str(tmp / "x.pcap"), "-i", "lo", "--loop", "3", "--pps", "5000", "--json", ns=a.ns
    )
    rep = json.loads(res.stdout)
    assert (rep["packets_sent"], rep["loops"]) == (30, 3)
    assert rep["elapsed_s"] >= 29 / 5000 * 0.98  # from the first send to the last: 29 intervals
    res = run_sniffer(
        "replay", str(tmp / "x.pcap"), "-i", "lo", "--loop", "0", "--limit", "25", "--json", ns=a.ns
    )
    assert json.loads(res.stdout)["packets_sent"] == 25
    res = run_sniffer(
        "replay",
        str(tmp / "x.pcap"),
        "-i",
        "lo",
        "--loop",
        "0",
        "--pps",
        "100",
        "--duration",
        "0.3",
        "--json",
        ns=a.ns,
    )
    rep = json.loads(res.stdout)
    assert rep["stopped_by"] == "--duration" and 20 <= rep["packets_sent"] <= 40


def test_usage_errors_are_one_line() -> None:
    res = run_sniffer("replay", "nonexistent.pcap", "-i", "lo")
    assert (
        res.returncode == 1
        and res.stderr.decode().strip() == "sniffer: cannot open nonexistent.pcap: No such file or directory"
    )
    res = run_sniffer("replay", str(CAPS / "zeek__arp-who-has.pcap"), "-i", "nosuchif0")
    assert res.returncode == 1 and "no interface 'nosuchif0'" in res.stderr.decode()
    res = run_sniffer("replay", str(CAPS / "zeek__arp-who-has.pcap"))
    assert res.returncode == 2 and b"-i/--interface" in res.stderr


def test_display_filter_replays_only_matching_packets(pair: tuple[Host, Host]) -> None:
    a, b = pair
    path = CAPS / "zeek__icmp__5-pings.pcap"  # 5 echo requests, 5 replies
    report, got = replay_and_capture(a, b, str(path), "--topspeed", "-Y", "icmp.type == 8", match_src=None)
    assert (report["packets_sent"], report["skipped_filtered"]) == (5, 5)
    with open_capture(path) as r:
        requests = [f.data for f in r if f.data[34] == 8]
    assert [f.data for f in got if f.data in requests] == requests
    res = run_sniffer("replay", str(path), "-i", "va", "-Y", "icmp.type ==", ns=a.ns)
    assert res.returncode != 0 and res.stderr.startswith(b"sniffer: ") and b"Traceback" not in res.stderr


def test_netns_option_opens_the_interface_in_that_namespace(pair: tuple[Host, Host], tmp: Path) -> None:
    a, _ = pair
    write_pcap(tmp / "x.pcap", [(i, frame(i)) for i in range(3)])
    res = run_sniffer("replay", str(tmp / "x.pcap"), "-i", "va", "--netns", a.ns, "--topspeed", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["packets_sent"] == 3


def test_packets_without_timestamps_go_right_after_the_previous(pair: tuple[Host, Host]) -> None:
    a, _ = pair
    # three sections, both byte orders, SPBs (no timestamp) between timestamped EPBs
    path = CAPS / "pcapng-tg__output_le__difficult__test202.pcapng"
    res = run_sniffer("replay", str(path), "-i", "va", "--multiplier", "1000", "--json", ns=a.ns)
    rep = json.loads(res.stdout)
    assert rep["packets_sent"] == 8 and rep["truncated_in_capture"] == 6
    assert rep["elapsed_s"] < 5 and rep["timing_max_us"] < 100_000  # not "late" by 42 years


def test_no_stall_across_a_second_at_10k_pps(pair: tuple[Host, Host], tmp: Path) -> None:
    """A real-time sender that spins through the waits is throttled by the kernel for 50 ms of every
    second (sched_rt_runtime_us): 1.3 s at 10,000 pps crosses that point; no silence may last 10 ms."""
    a, b = pair
    n = 13_000
    write_pcap(tmp / "p.pcap", [(i, frame(i)) for i in range(n)])
    attempts = []
    for _ in range(2):  # a shared machine may stall anyone once; the bug stalls every second
        report, got = replay_and_capture(a, b, str(tmp / "p.pcap"), "--pps", "10000")
        assert report["packets_sent"] == n
        ts = [f.ts_ns for f in got]
        worst = max(t2 - t1 for t1, t2 in itertools.pairwise(ts)) / 1e6
        attempts.append((worst, report["timing_max_us"], len(got)))
        if worst < 10 and report["timing_max_us"] < 10_000:
            break
    assert attempts[-1][0] < 10 and attempts[-1][1] < 10_000, attempts


def test_rate_report_counts_the_sending_only(pair: tuple[Host, Host], tmp: Path) -> None:
    """The reported rate is the rate of the packets, not diluted by opening the file and socket."""
    a, b = pair
    n = 5000
    size = 500
    write_pcap(tmp / "m.pcap", [(i, frame(i, size)) for i in range(n)])
    report, _got = replay_and_capture(a, b, str(tmp / "m.pcap"), "--mbps", "50")
    assert report["packets_sent"] == n
    assert abs(report["rate_mbps"] - 50) / 50 < 0.01, report
    assert abs(report["rate_pps"] - 50e6 / (size * 8)) / (50e6 / (size * 8)) < 0.01, report


def test_src_and_dst_mac_rewrite_ethernet_captures(pair: tuple[Host, Host], tmp: Path) -> None:
    a, b = pair
    write_pcap(tmp / "e.pcap", [(i, frame(i)) for i in range(5)])
    new_src, new_dst = bytes.fromhex("02aa00000001"), bytes.fromhex("02bb00000002")
    report, got = replay_and_capture(
        a,
        b,
        str(tmp / "e.pcap"),
        "--topspeed",
        "--src-mac",
        "02:aa:00:00:00:01",
        "--dst-mac",
        "02:bb:00:00:00:02",
        match_src=new_src,
    )
    assert report["packets_sent"] == 5
    assert [f.data for f in got] == [new_dst + new_src + frame(i)[12:] for i in range(5)]
    # only one of them: the other stays as captured
    report, got = replay_and_capture(
        a, b, str(tmp / "e.pcap"), "--topspeed", "--dst-mac", "02:bb:00:00:00:02", match_src=SRC
    )
    assert [f.data for f in got] == [new_dst + frame(i)[6:] for i in range(5)]


def _scapy_frames() -> list[bytes]:
    from scapy.layers.inet import IP, TCP, UDP, Ether
    from scapy.layers.inet6 import IPv6

    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    return [
        bytes(eth / IP(src="10.1.0.5", dst="10.2.0.7") / UDP(sport=1000, dport=2000) / (b"x" * 20)),
        bytes(eth / IP(src="10.1.3.4", dst="10.3.0.1") / TCP(sport=1, dport=80, flags="S")),
        bytes(eth / IPv6(src="fd01::5", dst="fd02::7") / UDP(sport=5, dport=6) / (b"y" * 10)),
    ]


def _checksums_ok(data: bytes) -> bool:
    from scapy.layers.inet import Ether

    pkt = Ether(data)
    again = Ether(data)
    for layer in ("IP", "TCP", "UDP"):
        if again.haslayer(layer) and hasattr(again[layer], "chksum"):
            del again[layer].chksum
    return bytes(pkt) == bytes(Ether(bytes(again)))


def test_ip_maps_pnat_and_checksums(pair: tuple[Host, Host], tmp: Path) -> None:
    a, b = pair
    frames = _scapy_frames()
    write_pcap(tmp / "ip.pcap", [(i, f) for i, f in enumerate(frames)])
    report, got = replay_and_capture(
        a,
        b,
        str(tmp / "ip.pcap"),
        "--topspeed",
        "--srcipmap",
        "10.1.0.0/16:192.168.0.0/16",
        "--dstipmap",
        "10.2.0.0/24:172.16.5.0/24",
        "--pnat",
        "[fd01::]/64:[fd09::]/64,[fd02::]/64:[fd0a::]/64",
    )
    assert report["packets_sent"] == 3 and len(got) == 3
    v4a, v4b, v6 = (f.data for f in got)
    assert (socket.inet_ntoa(v4a[26:30]), socket.inet_ntoa(v4a[30:34])) == ("192.168.0.5", "172.16.5.7")
    assert (socket.inet_ntoa(v4b[26:30]), socket.inet_ntoa(v4b[30:34])) == ("192.168.3.4", "10.3.0.1")
    src6 = socket.inet_ntop(socket.AF_INET6, v6[22:38])
    dst6 = socket.inet_ntop(socket.AF_INET6, v6[38:54])
    assert (src6, dst6) == ("fd09::5", "fd0a::7")
    assert all(_checksums_ok(f.data) for f in got)


def test_unique_ip_across_loops_preload_and_fixcsum(pair: tuple[Host, Host], tmp: Path) -> None:
    a, b = pair
    bad = bytearray(_scapy_frames()[0])
    bad[24:26] = b"\xde\xad"  # a wrong IPv4 header checksum in the capture
    write_pcap(tmp / "u.pcap", [(0, bytes(bad))])
    report, got = replay_and_capture(
        a, b, str(tmp / "u.pcap"), "--topspeed", "--loop", "3", "--unique-ip", "--preload-pcap", "--fixcsum"
    )
    assert report["packets_sent"] == 3 and len(got) == 3
    assert [socket.inet_ntoa(f.data[26:30]) for f in got] == ["10.1.0.5", "10.1.0.6", "10.1.0.7"]
    assert [socket.inet_ntoa(f.data[30:34]) for f in got] == ["10.2.0.7", "10.2.0.8", "10.2.0.9"]
    assert all(_checksums_ok(f.data) for f in got)
    res = run_sniffer("replay", str(tmp / "u.pcap"), "-i", "va", "--unique-ip", ns=a.ns)
    assert res.returncode == 2 and b"--loop" in res.stderr


def test_periodic_stats(pair: tuple[Host, Host], tmp: Path) -> None:
    a, _b = pair
    write_pcap(tmp / "s.pcap", [(i, frame(i)) for i in range(60)])
    res = run_sniffer("replay", str(tmp / "s.pcap"), "-i", "va", "--pps", "200", "--stats", "0.1", ns=a.ns)
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.decode().splitlines() if " packets (" in ln and "bytes) sent in" in ln]
    assert 2 <= len(lines) <= 4, res.stdout  # about one every 0.1 s of a 0.3 s run


def test_rewriting_matches_tcprewrite_byte_for_byte(pair: tuple[Host, Host], tmp: Path) -> None:
    """tcprewrite is the oracle: the same maps give the same bytes on the wire as its output file."""
    import shutil
    import subprocess

    if shutil.which("tcprewrite") is None:
        pytest.fail("tcprewrite (package tcpreplay) is missing: run scripts/bootstrap.sh")
    a, b = pair
    frames = _scapy_frames()
    write_pcap(tmp / "in.pcap", [(i, f) for i, f in enumerate(frames)])
    for maps in (
        ["--srcipmap=10.1.0.0/16:192.168.0.0/16", "--dstipmap=10.2.0.0/24:172.16.5.0/24"],
        ["--pnat=10.1.0.0/16:192.168.0.0/16,[fd01::/64]:[fd09::/64],[fd02::/64]:[fd0a::/64]"],
    ):
        subprocess.run(
            [
                "tcprewrite",
                *maps,
                "--enet-dmac=02:bb:00:00:00:02",
                "-i",
                str(tmp / "in.pcap"),
                "-o",
                str(tmp / "out.pcap"),
            ],
            check=True,
            capture_output=True,
        )
        with open_capture(tmp / "out.pcap") as r:
            want = [f.data for f in r]
        _report, got = replay_and_capture(
            a, b, str(tmp / "in.pcap"), "--topspeed", *maps, "--enet-dmac", "02:bb:00:00:00:02"
        )
        # from the EtherType on, every frame is the same; tcprewrite 4.4.3 also puts 33:33:... MACs on
        # IPv6 frames, whatever --enet-dmac says, so MACs are compared on the IPv4 ones only
        assert [f.data[12:] for f in got] == [w[12:] for w in want], maps
        assert [f.data for f in got[:2]] == want[:2], maps


@pytest.mark.parametrize("split", [("--cidr", "10.1.0.0/16"), ("--server-port", "80")])
def test_two_interfaces_client_server_split(
    pair: tuple[Host, Host], tmp: Path, split: tuple[str, str]
) -> None:
    """tcpprep's split: client -> server packets on -i, server -> client ones on --intf2."""
    from scapy.layers.inet import IP, TCP, Ether

    a, b = pair
    if "va2" not in a.run("ip", "link").stdout:
        x, y = f"snx{os.getpid() % 100000}", f"sny{os.getpid() % 100000}"
        subprocess.run(["ip", "link", "add", x, "type", "veth", "peer", "name", y], check=True)
        subprocess.run(["ip", "link", "set", x, "netns", a.ns, "name", "va2"], check=True)
        subprocess.run(["ip", "link", "set", y, "netns", b.ns, "name", "vb2"], check=True)
        a.run("ip", "link", "set", "va2", "up")
        b.run("ip", "link", "set", "vb2", "up")
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    c2s = [
        bytes(eth / IP(src="10.1.0.5", dst="10.2.0.7") / TCP(sport=1000, dport=80, seq=i)) for i in range(3)
    ]
    s2c = [
        bytes(eth / IP(src="10.2.0.7", dst="10.1.0.5") / TCP(sport=80, dport=1000, seq=i)) for i in range(3)
    ]
    frames = [f for pair_ in zip(c2s, s2c, strict=True) for f in pair_]
    write_pcap(tmp / "cs.pcap", [(i * 1000, f) for i, f in enumerate(frames)])
    caps = [LiveCapture(iface, netns=b.ns, promisc=True) for iface in ("vb", "vb2")]
    got: list[list[bytes]] = [[], []]
    with caps[0], caps[1]:
        time.sleep(0.1)
        res = run_sniffer(
            "replay", str(tmp / "cs.pcap"), "-i", "va", "--intf2", "va2", *split, "--json", ns=a.ns
        )
        assert res.returncode == 0, res.stderr.decode()
        time.sleep(0.3)
        for k, cap in enumerate(caps):
            cap.stop()
            for batch in cap.batches(timeout=0.5):
                got[k].extend(f.data for f in batch if f.data[6:12] == SRC)
    rep = json.loads(res.stdout)
    assert (rep["packets_sent"], rep["packets_sent_intf2"]) == (6, 3)
    assert got == [c2s, s2c]
    res = run_sniffer("replay", str(tmp / "cs.pcap"), "-i", "va", "--intf2", "va2", ns=a.ns)
    assert res.returncode == 2 and b"--cidr" in res.stderr


def test_read_ahead_keeps_order_bounds_memory_and_passes_errors_on() -> None:
    """The read-ahead thread of timed modes (files over 32 MiB, or --no-preload): the frames in order,
    a reader's error raised after the frames before it, never more than batch * (depth + 2) frames read
    ahead, and the thread gone once the consumer stops. No network."""
    import threading

    from sniffer.commands.replay import read_ahead
    from sniffer.errors import PcapFormatError

    def frames(n: int, fail: bool) -> Iterator[Frame]:
        for i in range(n):
            yield Frame(i, frame(i), 100, 1)
        if fail:
            raise PcapFormatError("truncated dump file; tried to read 16 header bytes, only got 3", 99)

    got = list(read_ahead(frames(2500, False), batch=64, depth=4))
    assert [f.ts_ns for f in got] == list(range(2500))
    it = read_ahead(frames(300, True), batch=64, depth=4)
    seen = []
    with pytest.raises(PcapFormatError, match="truncated dump file"):
        for f in it:
            seen.append(f.ts_ns)
    assert seen == list(range(300))
    produced = [0]

    def endless() -> Iterator[Frame]:
        for i in itertools.count():
            produced[0] = i
            yield Frame(i, b"", 0, 1)

    before = threading.active_count()
    it = read_ahead(endless(), batch=64, depth=4)
    assert [next(it).ts_ns for _ in range(10)] == list(range(10))
    time.sleep(0.3)
    assert produced[0] <= 64 * (4 + 2)  # the queue is full: the reader waits
    it.close()
    assert threading.active_count() == before


def test_no_preload_reads_ahead_and_keeps_every_packet(pair: tuple[Host, Host], tmp: Path) -> None:
    """--no-preload in a timed mode: the file is read by the read-ahead thread while the sender keeps
    the rate; every packet arrives in order, and a damaged tail stops the run with one line after the
    packets before it were sent."""
    a, b = pair
    n = 3000
    write_pcap(tmp / "ra.pcap", [(i, frame(i)) for i in range(n)])
    report, got = replay_and_capture(a, b, str(tmp / "ra.pcap"), "--pps", "20000", "--no-preload")
    assert report["packets_sent"] == n
    seq = [struct.unpack_from("!I", f.data, 34)[0] for f in got]
    assert seq == sorted(seq) and len(seq) >= n * 0.98
    with open(tmp / "ra.pcap", "ab") as f:
        f.write(b"\x01\x02\x03")  # a record header cut short
    res = run_sniffer("replay", str(tmp / "ra.pcap"), "-i", "va", "--pps", "50000", "--no-preload", ns=a.ns)
    err = res.stderr.decode()
    assert res.returncode != 0 and err.startswith("sniffer: ") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_the_cpu_wake_up_request_holds_while_sending_and_ends_with_it(
    pair: tuple[Host, Host], tmp: Path
) -> None:
    """Timed modes ask for a CPU wake-up latency of 0 (idle CPUs poll: a halted vCPU wakes up late);
    the kernel's aggregate request reads 0 while the sender runs and is back to what it was after."""
    import struct

    from sniffer.timing import CPU_DMA_LATENCY, hold_cpu_awake

    def current() -> int:
        with open(CPU_DMA_LATENCY, "rb", buffering=0) as f:
            return int(struct.unpack("=i", f.read(4))[0])

    before = current()
    held = hold_cpu_awake()
    assert held is not None  # root
    assert current() == 0
    held.close()
    assert current() == before
    a, b = pair
    write_pcap(tmp / "slow.pcap", [(i * 50_000_000, frame(i)) for i in range(8)])  # 0.35 s
    proc = subprocess.Popen(
        ["ip", "netns", "exec", a.ns, *sniffer_argv("replay", str(tmp / "slow.pcap"), "-i", "va", "--json")],
        stdout=subprocess.PIPE,
        env=sniffer_env(),
        cwd=ROOT,
    )
    seen = []
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        seen.append(current())
        time.sleep(0.01)
    out, _ = proc.communicate(timeout=30)
    assert json.loads(out)["cpu_awake"] is True
    assert 0 in seen
    assert current() == before
    report, _got = replay_and_capture(a, b, str(tmp / "slow.pcap"), "--no-realtime")
    assert report["cpu_awake"] is False and report["realtime"] is False


def _run_captured(a: Host, b: Host, argv: list[str]) -> tuple[subprocess.CompletedProcess[str], list[bytes]]:
    """Run argv in a while capturing vb in b: (the process, our frames as they arrived)."""
    cap = LiveCapture("vb", netns=b.ns, promisc=True)
    got: list[bytes] = []
    with cap:
        time.sleep(0.1)
        p = subprocess.run(
            ["ip", "netns", "exec", a.ns, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env=sniffer_env(),
            cwd=ROOT,
        )
        time.sleep(0.3)
        cap.stop()
        for batch in cap.batches(timeout=0.5):
            got.extend(f.data for f in batch if f.data[6:12] == SRC)
    return p, got


@pytest.mark.parametrize(
    "opts",
    [
        ("--pps", "4000"),
        ("--pps", "4000", "--loop", "2"),
        ("--pps", "4000", "--limit", "37"),
        ("--topspeed",),
    ],
    ids=["pps", "loop", "limit", "topspeed"],
)
def test_same_frames_and_counts_as_tcpreplay(
    pair: tuple[Host, Host], tmp: Path, opts: tuple[str, ...]
) -> None:
    """tcpreplay side by side, same file and options onto the same veth: the same frames arrive in the
    same order, both report the same packet and byte counts and both exit 0; a missing file or
    interface fails both (tcpreplay exits 255 there, sniffer 1: sniffer's exit codes are its own)."""
    import re
    import shutil

    if shutil.which("tcpreplay") is None:
        pytest.fail("tcpreplay is missing: run scripts/bootstrap.sh")
    a, b = pair
    sizes = [60, 64, 100, 576, 1000, 1514]
    write_pcap(tmp / "t.pcap", [(i * 250_000, frame(i, sizes[i % len(sizes)])) for i in range(90)])
    real, real_got = _run_captured(a, b, ["tcpreplay", "-i", "va", *opts, str(tmp / "t.pcap")])
    ours, our_got = _run_captured(
        a, b, sniffer_argv("replay", "-i", "va", "--json", *opts, str(tmp / "t.pcap"))
    )
    assert (real.returncode, ours.returncode) == (0, 0), (real.stderr, ours.stderr)
    m = re.search(r"Actual: (\d+) packets \((\d+) bytes\)", real.stdout)
    assert m, real.stdout
    rep = json.loads(ours.stdout)
    assert (rep["packets_sent"], rep["bytes_sent"]) == (int(m.group(1)), int(m.group(2)))
    assert our_got == real_got and len(our_got) == int(m.group(1))
    for argv in (["-i", "va", str(tmp / "nosuch.pcap")], ["-i", "nosuchif0", str(tmp / "t.pcap")]):
        real = subprocess.run(
            ["ip", "netns", "exec", a.ns, "tcpreplay", *argv], capture_output=True, text=True
        )
        ours_b = run_sniffer("replay", *argv, ns=a.ns)
        assert (real.returncode, ours_b.returncode) == (255, 1), (real.stderr, ours_b.stderr)
        assert ours_b.stderr.decode().startswith("sniffer: ") and ours_b.stderr.decode().count("\n") == 1
