"""Multicast end to end, in test namespaces joined by a veth: joins on the wire, streams, SSM, doctor."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import ROOT, run_sniffer, sniffer_argv, sniffer_env
from helpers.mcast_wire import IfaceCapture, frame_ts, tshark_fields, write_pcap
from helpers.netns import Host

from sniffer.gen.mcast.proc import read_memberships
from sniffer.model.multicast import MembershipView

pytestmark = pytest.mark.root


def start(host: Host, *args: str) -> subprocess.Popen[bytes]:
    """Start `sniffer ARGS` in ``host``'s namespace (stdout/stderr piped, unbuffered: a test may readline()
    first and communicate() later, which reads the raw pipe and would lose what a buffer had taken)."""
    return host.popen(
        sniffer_argv(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=sniffer_env(),
        cwd=ROOT,
        bufsize=0,
    )


def link_ready(a: Host, b: Host, timeout: float = 5.0) -> None:
    """Wait until the veth carries packets both ways: right after 'ip link set up' the kernel's linkwatch
    may not have activated the qdisc yet, and the first frames (our join reports) would be dropped."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ok4 = b.run("ping", "-c", "1", "-W", "0.3", a.addr4("va"), check=False).returncode == 0
        ok6 = ok4 and b.run("ping", "-6", "-c", "1", "-W", "0.3", a.addr6("va"), check=False).returncode == 0
        ll = [h.run("ip", "-6", "addr", "show", "scope", "link", check=False).stdout for h in (a, b)]
        if ok6 and all("inet6 fe80" in x and "tentative" not in x for x in ll):
            return
        time.sleep(0.05)
    raise AssertionError("the veth pair never carried a ping")


def terminate(p: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the sniffer process (`ip netns exec` execs it, so p.pid is python itself)."""
    p.send_signal(sig)


def wait_membership(host: Host, iface: str, group: str, present: bool = True, timeout: float = 8.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(m.group == group for m in read_memberships(iface, host.ns)) == present:
            return
        time.sleep(0.02)
    raise AssertionError(f"{group} {'never appeared' if present else 'never left'} on {iface} in {host.ns}")


def finish(p: subprocess.Popen[bytes], timeout: float = 15) -> dict[str, Any]:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err.decode()
    return json.loads(out)  # type: ignore[no-any-return]


def mcast_fields(frames: list[Any], tmp: Path) -> list[dict[str, Any]]:
    """The IGMP/MLD packets among ``frames``, as the oracle (tshark) decodes them."""
    rows = tshark_fields(write_pcap(tmp / "cap.pcap", frames))
    return [f for f in rows if "igmp.type" in f or str(f.get("icmpv6.type")) in ("130", "131", "132", "143")]


def _as_list(v: Any) -> list[Any]:
    return [] if v is None else list(v) if isinstance(v, list) else [v]


def oracle_records(f: dict[str, Any], v6: bool) -> list[tuple[str, str, str | None, list[str]]]:
    """(message type, group, record type or None, sources) for each group record of one packet
    (the kernel merges pending changes, so one report may carry several groups' records)."""
    if ("icmpv6.type" if v6 else "igmp.type") not in f or (v6 and "igmp.type" in f):
        return []
    mtype = str(f["icmpv6.type"] if v6 else f["igmp.type"])
    pre = "icmpv6.mldr.mar." if v6 else "igmp."
    types = _as_list(f.get(pre + "record_type"))
    if not types:  # v1/v2 report, leave/done: one group, no record
        g = f.get("icmpv6.mld.multicast_address") if v6 else f.get("igmp.maddr")
        return [(mtype, str(g), None, [])]
    groups = _as_list(f.get(pre + ("multicast_address" if v6 else "maddr")))
    counts = [int(n) for n in _as_list(f.get(pre + ("nb_sources" if v6 else "num_src")))]
    sources = _as_list(f.get(pre + ("source_address" if v6 else "saddr")))
    out: list[tuple[str, str, str | None, list[str]]] = []
    pos = 0
    for t, g, n in zip(types, groups, counts, strict=True):
        out.append((mtype, str(g), str(t), sources[pos : pos + n]))
        pos += n
    return out


def our_decoder_agrees(frames: list[Any], oracle: list[dict[str, Any]]) -> None:
    """Our decoder (sniffer.decode.fields.frame_fields) gives the oracle's igmp/mld fields."""
    from sniffer.decode.fields import frame_fields

    ours = [frame_fields(f) for f in frames]
    ours = [f for f in ours if "igmp.type" in f or str(f.get("icmpv6.type")) in ("130", "131", "132", "143")]
    keys = ("igmp.type", "igmp.maddr", "igmp.record_type", "igmp.saddr", "icmpv6.mldr.mar.record_type")

    def norm(v: Any) -> list[str]:
        vals = v if isinstance(v, list) else [v]
        return [str(int(x, 0)) if str(x).startswith("0x") else str(x) for x in vals]

    assert [{k: norm(f[k]) for k in keys if k in f} for f in ours] == [
        {k: norm(f[k]) for k in keys if k in f} for f in oracle
    ]


CASES = {
    # case: (group, ssm, sysctl, join report (type, record type), leave report)
    "igmpv3-asm": ("239.3.3.3", False, None, ("0x22", "4"), ("0x22", "3")),
    "igmpv3-ssm": ("232.3.3.3", True, None, ("0x22", "5"), ("0x22", "6")),
    "igmpv2": ("239.3.3.4", False, "net.ipv4.conf.vb.force_igmp_version=2", ("0x16", None), ("0x17", None)),
    "mldv2-asm": ("ff15::3:3", False, None, ("143", "4"), ("143", "3")),
    "mldv2-ssm": ("ff35::3:3", True, None, ("143", "5"), ("143", "6")),
    "mldv1": ("ff15::3:4", False, "net.ipv6.conf.vb.force_mld_version=1", ("131", None), ("132", None)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_join_shows_in_groups_and_on_the_wire_then_leaves(
    netns_pair: tuple[Host, Host], tmp_path: Path, case: str
) -> None:
    a, b = netns_pair
    link_ready(a, b)
    group, ssm, sysctl, join_msg, leave_msg = CASES[case]
    v6 = ":" in group
    src = a.addr6("va") if v6 else a.addr4("va")
    if sysctl:
        b.run("sysctl", "-qw", sysctl)
    with IfaceCapture(a.ns, "va") as cap:
        time.sleep(0.05)
        p = start(
            b,
            "mcast",
            "join",
            group,
            "-i",
            "vb",
            "--duration",
            "20",
            "--json",
            *(["-s", src] if ssm else []),
        )
        wait_membership(b, "vb", group)
        table = run_sniffer("mcast", "groups", "--json", "-i", "vb", ns=b.ns)
        assert table.returncode == 0, table.stderr
        (row,) = [r for r in json.loads(table.stdout) if r["group"] == group]
        assert row["users"] == 1 and row["ifname"] == "vb"
        assert row["mode"] == ("include" if ssm else "exclude")
        assert [s["address"] for s in row["sources"]] == ([src] if ssm else [])
        if not v6:
            assert row["querier"] == ("V2" if sysctl else "V3")
            assert row["forced_version"] == (2 if sysctl else 0)
        time.sleep(0.2)
        terminate(p)  # leave now
        report = finish(p)
        assert report["groups"][0]["kind"] == ("SSM" if ssm else "ASM")
        wait_membership(b, "vb", group, present=False)
        frames = cap.stop(settle=0.25)
    msgs = mcast_fields(frames, tmp_path)
    our_decoder_agrees(frames, msgs)
    seen = [r for f in msgs for r in oracle_records(f, v6) if r[1] == group]
    join_i = next(i for i, r in enumerate(seen) if (r[0], r[2]) == join_msg)
    leave_i = next(i for i, r in enumerate(seen) if (r[0], r[2]) == leave_msg)
    assert join_i < leave_i, seen
    if ssm:
        assert seen[join_i][3] == [src] and seen[leave_i][3] == [src]
    elif join_msg[1] is not None:
        assert seen[join_i][3] == []  # (*,G): no sources in the TO_EX record
    # the membership view puts the same story on b's timeline
    view = MembershipView()
    for f in msgs:
        view.observe(frame_ts(f), f)
    g = view.group(group)
    assert g is not None
    events = [e.event for e in g.timeline if e.event in ("join", "leave")]
    assert events[0] == "join" and events[-1] == "leave" and g.members == {}
    assert g.version == (int(sysctl[-1]) if sysctl else (2 if v6 else 3))
    # fed from the capture core's frames through our decoder, the view tells the same story
    ours = MembershipView()
    for fr in frames:
        ours.observe_frame(fr)
    g2 = ours.group(group)
    assert g2 is not None
    assert [(e.event, e.who, e.detail) for e in g2.timeline] == [
        (e.event, e.who, e.detail) for e in g.timeline
    ]


def test_every_datagram_arrives_with_ttl_and_delay(netns_pair: tuple[Host, Host]) -> None:
    a, b = netns_pair
    link_ready(a, b)
    p = start(b, "mcast", "join", "239.4.4.4", "-i", "vb", "--duration", "8", "--until-end", "--json")
    wait_membership(b, "vb", "239.4.4.4")
    sent = run_sniffer(
        "mcast", "send", "239.4.4.4", "-i", "va", "--rate", "2000", "-c", "600", "--ttl", "3", "--size", "200",
        "--json", ns=a.ns,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] == 600
    (st,) = finish(p)["groups"][0]["streams"]
    assert (st["packets"], st["lost"], st["gaps"], st["duplicates"], st["reordered"]) == (600, 0, 0, 0, 0)
    assert st["source"] == a.addr4("va") and st["bytes"] == 600 * 200
    assert st["ttl"] == {"min": 3, "max": 3}
    assert st["complete"] and 0 <= st["delay_ms"]["min"] <= st["delay_ms"]["max"] < 1000


def test_losses_injected_with_nftables_are_counted_exactly(netns_pair: tuple[Host, Host]) -> None:
    a, b = netns_pair
    link_ready(a, b)
    b.run("nft", "add", "table", "inet", "snf")
    b.run("nft", "add", "chain", "inet", "snf", "inp", "{ type filter hook input priority 0; }")
    b.run(
        "nft",
        "add",
        "rule",
        "inet",
        "snf",
        "inp",
        "udp",
        "dport",
        "4321",
        "numgen",
        "inc",
        "mod",
        "10",
        "==",
        "0",
        "drop",
    )
    p = start(
        b, "mcast", "join", "239.5.5.5", "-i", "vb", "-p", "4321", "--duration", "8", "--until-end", "--json"
    )
    wait_membership(b, "vb", "239.5.5.5")
    sent = run_sniffer(
        "mcast", "send", "239.5.5.5", "-p", "4321", "-i", "va", "--rate", "2000", "-c", "1000", ns=a.ns
    )
    assert sent.returncode == 0, sent.stderr
    (st,) = finish(p)["groups"][0]["streams"]
    # numgen drops the 1st, 11th, 21st ... datagram: seq 0, 10, ..., 990 (the head loss is counted
    # because the receiver was joined before the stream started)
    assert (st["packets"], st["lost"], st["gaps"], st["duplicates"]) == (900, 100, 100, 0)
    assert st["loss_pct"] == 10.0
    # and the doctor names the rule
    rc, checks = doctor(b, "239.5.5.5", "-i", "vb", "-p", "4321")
    assert rc == 1 and checks["firewall"]["status"] == "FAIL"
    assert "numgen" in checks["firewall"]["message"] and "4321" in checks["firewall"]["message"]


def test_ssm_join_receives_only_from_its_source(netns_pair: tuple[Host, Host]) -> None:
    a, b = netns_pair
    link_ready(a, b)
    s1 = a.addr4("va")
    s2 = s1.rsplit(".", 1)[0] + ".11"
    a.run("ip", "addr", "add", f"{s2}/24", "dev", "va")
    group = "232.6.6.6"
    ssm = start(b, "mcast", "join", group, "-s", s1, "-i", "vb", "--duration", "30", "--json")
    asm = start(b, "mcast", "join", "239.6.6.6", "-i", "vb", "--duration", "30", "--json")
    wait_membership(b, "vb", group)
    wait_membership(b, "vb", "239.6.6.6")
    senders = [
        start(a, "mcast", "send", grp, "-i", "va", "-s", src, "--rate", "1000", "-c", "200")
        for grp in (group, "239.6.6.6")
        for src in (s1, s2)
    ]
    for s in senders:
        assert s.wait(timeout=30) == 0
    time.sleep(0.3)
    terminate(ssm)
    terminate(asm)
    (only,) = finish(ssm)["groups"][0]["streams"]
    assert only["source"] == s1 and only["packets"] == 200 and only["lost"] == 0
    both = finish(asm)["groups"][0]["streams"]
    assert sorted(s["source"] for s in both) == sorted([s1, s2])
    assert all(s["packets"] == 200 for s in both)


def doctor(host: Host, *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    r = run_sniffer("mcast", "doctor", *args, "--listen", "0", "--json", ns=host.ns)
    checks = json.loads(r.stdout)
    return r.returncode, {c["check"]: c for c in checks}


def test_doctor_names_strict_rp_filter_without_a_route_back(netns_pair: tuple[Host, Host]) -> None:
    a, b = netns_pair
    link_ready(a, b)
    far = "10.123.45.1"  # a sender address b has no route to
    a.run("ip", "addr", "add", f"{far}/32", "dev", "va")
    for conf in ("all", "vb"):
        b.run("sysctl", "-qw", f"net.ipv4.conf.{conf}.rp_filter=1")
    rc, checks = doctor(b, "239.7.7.7", "-i", "vb", "-s", far)
    assert rc == 1 and checks["rp_filter"]["status"] == "FAIL"
    assert "rp_filter" in checks["rp_filter"]["fix"] and far in checks["rp_filter"]["message"]
    # and it is real: nothing arrives from that source until the route exists
    p = start(b, "mcast", "join", "239.7.7.7", "-i", "vb", "--duration", "30", "--json")
    wait_membership(b, "vb", "239.7.7.7")
    sent = run_sniffer(
        "mcast", "send", "239.7.7.7", "-i", "va", "-s", far, "--rate", "500", "-c", "50", ns=a.ns
    )
    assert sent.returncode == 0
    time.sleep(0.3)
    terminate(p)
    assert finish(p)["groups"][0]["streams"] == []
    b.run("ip", "route", "add", far, "dev", "vb")
    rc, checks = doctor(b, "239.7.7.7", "-i", "vb", "-s", far)
    assert checks["rp_filter"]["status"] == "OK" and rc == 0
    p = start(b, "mcast", "join", "239.7.7.7", "-i", "vb", "--duration", "5", "--until-end", "--json")
    wait_membership(b, "vb", "239.7.7.7")
    assert (
        run_sniffer(
            "mcast", "send", "239.7.7.7", "-i", "va", "-s", far, "--rate", "500", "-c", "50", ns=a.ns
        ).returncode
        == 0
    )
    (st,) = finish(p)["groups"][0]["streams"]
    assert st["packets"] == 50


def test_doctor_names_forced_igmp_version_down_link_and_no_multicast(netns_pair: tuple[Host, Host]) -> None:
    a, b = netns_pair
    link_ready(a, b)
    src = a.addr4("va")
    rc, checks = doctor(b, "232.8.8.8", "-i", "vb", "-s", src)
    assert rc == 0, checks
    assert {c["status"] for c in checks.values()} <= {"OK", "INFO", "WARN"}
    b.run("sysctl", "-qw", "net.ipv4.conf.vb.force_igmp_version=2")
    rc, checks = doctor(b, "232.8.8.8", "-i", "vb", "-s", src)
    assert rc == 1 and checks["igmp version"]["status"] == "FAIL"
    assert "force_igmp_version=0" in checks["igmp version"]["fix"]
    b.run("sysctl", "-qw", "net.ipv4.conf.vb.force_igmp_version=0")
    b.run("ip", "link", "set", "vb", "multicast", "off")
    rc, checks = doctor(b, "232.8.8.8", "-i", "vb", "-s", src)
    assert rc == 1 and checks["interface multicast"]["status"] == "FAIL"
    assert checks["interface multicast"]["fix"] == "ip link set vb multicast on"
    b.run("ip", "link", "set", "vb", "multicast", "on")
    b.run("ip", "link", "set", "vb", "down")
    rc, checks = doctor(b, "232.8.8.8", "-i", "vb", "-s", src)
    assert rc == 1 and checks["interface up"]["status"] == "FAIL"
    assert checks["interface up"]["fix"] == "ip link set vb up"


def test_groups_watch_reports_join_and_leave(netns_pair: tuple[Host, Host]) -> None:
    _a, b = netns_pair
    w = start(b, "mcast", "groups", "--watch", "--json", "-i", "vb", "--interval", "0.05", "--duration", "30")
    assert w.stdout is not None
    first = w.stdout.readline()  # the table is printed: the watch is running
    assert json.loads(first)["event"] == "present"
    j = start(b, "mcast", "join", "239.9.9.9", "-i", "vb", "--duration", "0.6")
    assert j.wait(timeout=10) == 0
    time.sleep(0.5)
    terminate(w)
    out, err = w.communicate(timeout=10)
    assert w.returncode == 0, err
    events = [(e["event"], e["group"]) for e in map(json.loads, out.splitlines()) if e["event"] != "present"]
    assert events == [("join", "239.9.9.9"), ("leave", "239.9.9.9")]


def test_send_refuses_to_pick_a_real_interface_and_stays_on_lo(netns_pair: tuple[Host, Host]) -> None:
    _a, b = netns_pair
    # IPv4 without -i goes to lo (and a lo join there receives it)
    p = start(b, "mcast", "join", "239.10.10.10", "--duration", "5", "--until-end", "--json")
    wait_membership(b, "lo", "239.10.10.10")
    sent = run_sniffer("mcast", "send", "239.10.10.10", "--rate", "200", "-c", "20", "--json", ns=b.ns)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["iface"] == "lo" and json.loads(sent.stdout)["source"] == "127.0.0.1"
    (st,) = finish(p)["groups"][0]["streams"]
    assert st["packets"] == 20
    # IPv6 has no working lo path: it must be named, and the error says so in one line
    r = run_sniffer("mcast", "send", "ff15::1", ns=b.ns)
    assert r.returncode == 2 and r.stderr.decode().startswith("sniffer: IPv6 multicast needs an interface")
    assert r.stderr.decode().count("\n") == 1


def igmp_checksum(data: bytes) -> int:
    s = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def send_igmpv2_query(host: Host, iface: str, max_resp_ds: int = 10) -> None:
    """An IGMPv2 general query (8 bytes, max response in 1/10 s) to 224.0.0.1 on ``iface``."""
    import socket

    from sniffer.gen.mcast.stream import IP_MULTICAST_IF, IP_MULTICAST_TTL, SOL_IP, ip_mreqn
    from sniffer.netns import netns

    msg = bytes([0x11, max_resp_ds, 0, 0, 0, 0, 0, 0])
    msg = msg[:2] + igmp_checksum(msg).to_bytes(2, "big") + msg[4:]
    with netns(host.ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    try:
        s.setsockopt(SOL_IP, IP_MULTICAST_IF, ip_mreqn("0.0.0.0", _ifindex(host, iface)))
        s.setsockopt(SOL_IP, IP_MULTICAST_TTL, 1)
        s.sendto(msg, ("224.0.0.1", 0))
    finally:
        s.close()


def _ifindex(host: Host, iface: str) -> int:
    return int(host.run("cat", f"/sys/class/net/{iface}/ifindex").stdout)


def test_igmpv2_querier_on_the_link_shows_in_groups_view_and_doctor(
    netns_pair: tuple[Host, Host], tmp_path: Path
) -> None:
    a, b = netns_pair
    link_ready(a, b)
    p = start(b, "mcast", "join", "239.11.11.11", "-i", "vb", "--duration", "20", "--json")
    wait_membership(b, "vb", "239.11.11.11")
    time.sleep(0.3)  # let the unsolicited v3 reports go first
    with IfaceCapture(a.ns, "va") as cap:
        send_igmpv2_query(a, "va", max_resp_ds=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(is_igmp(f.data, 0x16) for f in cap.snapshot()):
                break
            time.sleep(0.05)
        frames = cap.stop(settle=0.1)
    msgs = mcast_fields(frames, tmp_path)
    view = MembershipView()
    for f in msgs:
        view.observe(frame_ts(f), f)
    assert [(q.address, q.version) for q in view.queriers()] == [(a.addr4("va"), 2)]
    g = view.group("239.11.11.11")
    assert g is not None and g.version == 2 and b.addr4("vb") in g.members  # b answered in v2
    (row,) = [r for r in json.loads(run_sniffer("mcast", "groups", "--json", "-i", "vb", ns=b.ns).stdout)
              if r["group"] == "239.11.11.11"]  # fmt: skip
    assert row["querier"] == "V2" and row["forced_version"] == 0
    rc, checks = doctor(b, "232.11.11.11", "-i", "vb", "-s", a.addr4("va"))
    assert rc == 1 and checks["igmp version"]["status"] == "FAIL"
    assert "querier" in checks["igmp version"]["message"]
    terminate(p)  # a signal ends the join cleanly: report printed, group left
    assert finish(p)["groups"][0]["group"] == "239.11.11.11"
    wait_membership(b, "vb", "239.11.11.11", present=False, timeout=2)


def is_igmp(frame: bytes, igmp_type: int) -> bool:
    if frame[12:14] != b"\x08\x00" or frame[23] != 2:
        return False
    ihl = (frame[14] & 0x0F) * 4
    return len(frame) > 14 + ihl and frame[14 + ihl] == igmp_type


def test_watch_merges_wire_reports_kernel_table_and_stream(netns_pair: tuple[Host, Host]) -> None:
    a, b = netns_pair
    link_ready(a, b)
    w = start(b, "mcast", "watch", "-i", "vb", "--duration", "30", "--json")
    assert w.stdout is not None
    first = w.stdout.readline()  # kernel-present lines come once the capture is open
    assert json.loads(first)["event"] == "kernel-present"
    j = start(b, "mcast", "join", "239.12.12.12", "-i", "vb", "--duration", "1.2")
    wait_membership(b, "vb", "239.12.12.12")
    sent = run_sniffer("mcast", "send", "239.12.12.12", "-i", "va", "--rate", "200", "-c", "40", ns=a.ns)
    assert sent.returncode == 0 and j.wait(timeout=10) == 0
    time.sleep(1.0)  # the kernel's retransmitted leave, and one more /proc poll
    terminate(w)
    out, err = w.communicate(timeout=15)
    assert w.returncode == 0, err
    lines = [json.loads(x) for x in (first + out).splitlines()]
    summary = lines[-1]
    events = [(e["event"], e["who"]) for e in lines[:-1] if e["group"] == "239.12.12.12"]
    me = b.addr4("vb")
    # the wire and /proc tell the same story; their order may differ (the kernel may hold a report
    # back up to 1 s to merge it with pending ones, and /proc is polled)
    assert events.index(("join", me)) < events.index(("leave", me))
    assert events.index(("kernel-join", "vb")) < events.index(("kernel-leave", "vb"))
    kinds = {e for e, _ in events}
    assert {"join", "leave", "kernel-join", "kernel-leave"} <= kinds <= {
        "join", "leave", "kernel-join", "kernel-leave", "report"  # report: the kernel's retransmission
    }  # fmt: skip
    assert all(e["event"] == "kernel-present" for e in lines[:-1] if e["group"] == "224.0.0.1")
    (row,) = [r for r in summary["summary"] if r["group"] == "239.12.12.12"]
    assert row["version"] == 3 and row["packets"] == 40 and row["lost"] == 0 and row["members"] == []
    (st,) = [s for s in summary["streams"] if s["group"] == "239.12.12.12"]
    assert st["source"] == a.addr4("va") and st["complete"] and st["ttl"] == {"min": 1, "max": 1}


def test_doctor_listens_and_reports_the_ttl_of_what_arrives(netns_pair: tuple[Host, Host]) -> None:
    a, b = netns_pair
    link_ready(a, b)
    sender = start(
        a, "mcast", "send", "239.13.13.13", "-i", "va", "--ttl", "5", "--rate", "50", "--duration", "20"
    )
    try:
        r = run_sniffer("mcast", "doctor", "239.13.13.13", "-i", "vb", "--listen", "1", "--json", ns=b.ns)
        checks = {c["check"]: c for c in json.loads(r.stdout)}
        assert checks["arrivals"]["status"] == "OK", checks["arrivals"]
        assert "TTL 5" in checks["arrivals"]["message"] and "1 sender" in checks["arrivals"]["message"]
    finally:
        terminate(sender)
        assert sender.wait(timeout=10) == 0
    r = run_sniffer("mcast", "doctor", "239.13.13.13", "-i", "vb", "--listen", "0.3", "--json", ns=b.ns)
    checks = {c["check"]: c for c in json.loads(r.stdout)}
    assert checks["arrivals"]["status"] == "WARN" and "nothing arrived" in checks["arrivals"]["message"]


def test_ssm_join_followed_by_another_group_is_not_shown_as_any_source(netns_pair: tuple[Host, Host]) -> None:
    """/proc/net/mcfilter starts at the first interface whose newest group has sources: once an ASM
    group is joined after an SSM one on vb, the SSM group's source vanishes from it (the kernel's filter
    still holds). Emptiness there is not "exclude, any source"."""
    a, b = netns_pair
    link_ready(a, b)
    src = a.addr4("va")
    ssm = start(b, "mcast", "join", "232.6.6.7", "-s", src, "-i", "vb", "--duration", "30", "--json")
    wait_membership(b, "vb", "232.6.6.7")
    (row,) = [m for m in read_memberships("vb", b.ns) if m.group == "232.6.6.7"]
    assert row.mode == "include" and [s.address for s in row.sources] == [src]
    asm = start(b, "mcast", "join", "239.6.6.8", "-i", "vb", "--duration", "30", "--json")
    try:
        wait_membership(b, "vb", "239.6.6.8")
        table = run_sniffer("mcast", "groups", "--json", "-i", "vb", ns=b.ns)
        rows = {r["group"]: r for r in json.loads(table.stdout)}
        assert rows["232.6.6.7"]["mode"] != "exclude", rows["232.6.6.7"]
        assert rows["232.6.6.7"]["mode"] in ("include", "unknown")
        assert rows["239.6.6.8"]["mode"] == "exclude"  # the newest group: known to have no sources
        _rc, checks = doctor(b, "232.6.6.7", "-i", "vb", "-s", src)
        msg = checks["membership"]["message"]
        assert "any source" not in msg or "not visible" in msg, msg
        assert "exclude" not in msg, msg
    finally:
        terminate(ssm)
        terminate(asm)
        finish(ssm)
        finish(asm)


def test_doctor_names_the_table_and_chain_of_a_policy_drop(netns_pair: tuple[Host, Host]) -> None:
    _a, b = netns_pair
    b.run("nft", "add", "table", "ip", "edge")
    b.run("nft", "add", "chain", "ip", "edge", "gate", "{ type filter hook input priority 0; policy drop; }")
    rc, checks = doctor(b, "239.7.7.9", "-i", "vb", "-p", "4444")
    fw = checks["firewall"]
    assert fw["status"] == "WARN" and "ip edge" in fw["message"] and "gate" in fw["message"], fw
    assert fw["fix"] == "nft insert rule ip edge gate udp dport 4444 accept", fw
    # and the fix works: after it, the chain no longer drops the port
    b.run(*fw["fix"].split())
    b.run("nft", "add", "rule", "ip", "edge", "gate", "udp", "dport", "5555", "drop")
    rc, checks = doctor(b, "239.7.7.9", "-i", "vb", "-p", "5555")
    fw = checks["firewall"]
    assert rc == 1 and fw["status"] == "FAIL" and "ip edge gate" in fw["message"], fw
    assert fw["fix"].startswith("nft delete rule ip edge gate handle "), fw
    b.run(*fw["fix"].split())
    assert "5555" not in b.run("nft", "list", "ruleset").stdout
