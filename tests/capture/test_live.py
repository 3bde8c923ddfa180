"""LiveCapture on real veth pairs in test namespaces: exactness, direction, VLAN, filters, faults."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from helpers.capture_traffic import (
    ETH_P_EXPERIMENTAL,
    Tcpdump,
    experimental_frames,
    read_pcap_bytes,
    send_udp,
)
from helpers.netns import sh

from sniffer.capture.afpacket import PacketSender, RingConfig
from sniffer.capture.live import LiveCapture
from sniffer.errors import CaptureError, FilterError, InterfaceGoneError
from sniffer.frame import DIR_IN, DIR_OUT, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, Frame
from sniffer.netns import netns

pytestmark = pytest.mark.root


def collect(cap: LiveCapture) -> list[Frame]:
    frames: list[Frame] = []
    for batch in cap.batches():
        frames.extend(batch)
    return frames


def run_capture(caps: list[LiveCapture], traffic) -> list[list[Frame]]:  # type: ignore[no-untyped-def]
    """Start the captures, run ``traffic()``, stop them, return what each captured."""
    results: list[list[Frame]] = [[] for _ in caps]
    threads = []
    for cap, out in zip(caps, results, strict=True):
        cap.start()
        t = threading.Thread(target=lambda c=cap, o=out: o.extend(collect(c)))
        t.start()
        threads.append(t)
    try:
        traffic()
        time.sleep(0.05)
    finally:
        for cap in caps:
            cap.stop()
        for t in threads:
            t.join(10)
    return results


def test_raw_frames_captured_once_byte_for_byte_with_direction(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    sent = experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 200, size=98)
    expr = f"ether proto {ETH_P_EXPERIMENTAL:#x}"
    on_b = LiveCapture("vb", bpf=expr, netns=b.ns)
    on_a = LiveCapture("va", bpf=expr, netns=a.ns)

    def traffic() -> None:
        with netns(a.ns):
            sender = PacketSender("va")
        with sender:
            for frame in sent:
                sender.send(frame)

    got_b, got_a = run_capture([on_b, on_a], traffic)
    assert [f.data for f in got_b] == sent
    assert [f.data for f in got_a] == sent
    assert {(f.direction, f.ifname, f.linktype, f.wirelen == len(f.data)) for f in got_b} == {
        (DIR_IN, "vb", LINKTYPE_ETHERNET, True)
    }
    assert {(f.direction, f.ifname) for f in got_a} == {(DIR_OUT, "va")}
    ts = [f.ts_ns for f in got_b]
    assert ts == sorted(ts) and abs(ts[0] / 1e9 - time.time()) < 60
    st = on_b.stats()
    assert (st.received, st.kernel_dropped, st.backpressure_dropped, st.captured) == (200, 0, 0, 200)


def test_udp_from_real_sockets_and_snaplen(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    payloads = [b"payload-%03d-" % i + b"x" * 300 for i in range(50)]
    cap = LiveCapture("vb", bpf="udp port 5555", netns=b.ns)
    short = LiveCapture("vb", bpf="udp port 5555", snaplen=64, netns=b.ns)
    got, got_short = run_capture([cap, short], lambda: send_udp(a.ns, b.addr4("vb"), 5555, payloads))
    assert [f.data[42:] for f in got] == payloads
    for f in got:
        assert f.data[26:30] == socket.inet_aton(a.addr4("va"))
        assert f.data[30:34] == socket.inet_aton(b.addr4("vb"))
        assert struct.unpack(">H", f.data[36:38])[0] == 5555
    assert [len(f.data) for f in got_short] == [64] * 50
    assert [f.wirelen for f in got_short] == [len(f.data) for f in got]
    assert [f.data[:64] for f in got] == [f.data for f in got_short]


def test_any_uses_sll2_keeps_interface_and_loopback_once(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    cap = LiveCapture("any", bpf="udp port 6000 or udp port 6001", netns=b.ns)

    def traffic() -> None:
        send_udp(a.ns, b.addr4("vb"), 6000, [b"from-a-%d" % i for i in range(10)])
        send_udp(b.ns, "127.0.0.1", 6001, [b"local-%d" % i for i in range(10)])

    (got,) = run_capture([cap], traffic)
    assert {f.linktype for f in got} == {LINKTYPE_LINUX_SLL2}
    remote = [f for f in got if f.ifname == "vb"]
    local = [f for f in got if f.ifname == "lo"]
    assert len(remote) == 10 and len(local) == 10  # lo frames are seen once, not twice
    assert {f.direction for f in remote} == {DIR_IN}
    for f in remote:
        proto, _res, ifindex, hatype, pkttype, halen = struct.unpack(">HHiHBB", f.data[:12])
        assert (proto, hatype, pkttype, halen) == (0x0800, 1, 0, 6)
        assert ifindex == f.interface
        assert f.data[12:18] == bytes.fromhex(a.ifaces["va"]["mac"].replace(":", ""))
    assert [f.data[20 + 28 :] for f in remote] == [b"from-a-%d" % i for i in range(10)]


def test_vlan_tag_stripped_by_the_kernel_is_restored(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    # 802.1Q-tagged frames sent in-band; the receive path untags them (skb_vlan_untag) before the
    # packet socket sees them, leaving the tag only in the ring's tp_vlan_tci
    plain = experimental_frames(a.ifaces["va"]["mac"], b.ifaces["vb"]["mac"], 5, size=80)
    tagged = [f[:12] + struct.pack(">HH", 0x8100, (3 << 13) | 42) + f[12:] for f in plain]
    cap = LiveCapture("vb", netns=b.ns)

    def traffic() -> None:
        with netns(a.ns):
            sender = PacketSender("va")
        with sender:
            for frame in tagged:
                sender.send(frame)

    (got,) = run_capture([cap], traffic)
    mine = [f for f in got if f.data[12:14] == b"\x81\x00"]
    assert [f.data for f in mine] == tagged
    assert [f.wirelen for f in mine] == [len(t) for t in tagged]


def test_filter_matches_tcpdump_on_the_same_traffic(netns_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    expr = "(udp and (port 53 or portrange 7000-7010)) or icmp or (tcp[tcpflags] & tcp-syn != 0)"
    td = Tcpdump(b.ns, "vb", tmp_path / "td.pcap", expr)
    cap = LiveCapture("vb", bpf=expr, netns=b.ns)

    def traffic() -> None:
        for port in (53, 54, 7000, 7005, 7011, 9999):
            send_udp(a.ns, b.addr4("vb"), port, [b"q%d" % port] * 3)
        send_udp(a.ns, b.addr6("vb"), 7001, [b"six"] * 2, socket.AF_INET6)
        a.run("ping", "-c", "3", "-i", "0.05", "-W", "1", b.addr4("vb"), check=False)
        with netns(a.ns):
            for port in (80, 81):
                s = socket.socket()
                s.settimeout(0.5)
                try:
                    s.connect((b.addr4("vb"), port))
                except OSError:
                    pass
                s.close()
        time.sleep(0.1)

    (got,) = run_capture([cap], traffic)
    td.stop()
    want = read_pcap_bytes(td.path)
    assert len(want) >= 3 * 4 + 2 + 6 + 2
    assert Counter(f.data for f in got) == Counter(want)


def test_bad_filter_reports_libpcaps_message() -> None:
    with pytest.raises(FilterError, match="syntax error"):
        LiveCapture("lo", bpf="udp prot 53").open()


def test_unknown_interface() -> None:
    with pytest.raises(CaptureError, match="no such interface 'nosuch0'"):
        LiveCapture("nosuch0").open()


def test_vanished_interface_ends_with_clear_error(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    cap = LiveCapture("vb", netns=b.ns).start()
    send_udp(a.ns, b.addr4("vb"), 7000, [b"before"] * 5)
    time.sleep(0.1)
    sh("ip", "-n", b.ns, "link", "del", "vb")
    frames: list[Frame] = []
    with pytest.raises(InterfaceGoneError, match="interface 'vb' was removed"):
        for batch in cap.batches():
            frames.extend(batch)
    assert sum(f.data.endswith(b"before") and f.direction == DIR_IN for f in frames) == 5
    assert not cap.running


def test_slow_consumer_backpressure_is_counted_not_kernel_drops(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    ring = RingConfig(block_size=1 << 16, block_count=8, block_timeout_ms=5)
    cap = LiveCapture("vb", bpf="udp port 7100", netns=b.ns, ring=ring, buffer_bytes=1 << 16).start()
    n = 3000
    for _ in range(0, n, 100):  # the consumer reads nothing meanwhile
        send_udp(a.ns, b.addr4("vb"), 7100, [b"z" * 200] * 100)
        time.sleep(0.005)
    time.sleep(0.1)
    cap.stop()
    got = collect(cap)
    st = cap.stats()
    assert st.kernel_dropped == 0
    assert st.backpressure_dropped > 0
    assert st.received == n
    assert len(got) + st.backpressure_dropped == n == st.captured + st.backpressure_dropped


def test_made_inside_a_namespace_captures_there_even_when_started_outside(netns_pair) -> None:  # type: ignore[no-untyped-def]
    a, b = netns_pair
    with netns(b.ns):
        cap = LiveCapture("vb", bpf="udp port 6100")
    (got,) = run_capture([cap], lambda: send_udp(a.ns, b.addr4("vb"), 6100, [b"in-ns"] * 4))
    assert [f.data[-5:] for f in got] == [b"in-ns"] * 4 and {f.ifname for f in got} == {"vb"}


def test_any_refuses_filters_on_link_header_bytes_it_cannot_see() -> None:
    with pytest.raises(FilterError, match="not available on -i any"):
        LiveCapture("any", bpf="ether[6] == 2").open()
