"""`sniffer ping` across test namespaces: matching, loss injected with nftables, ICMP errors from a
router with the quoted header decoded, --trace, damaged replies, and tshark as the oracle for what we send."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import run_sniffer
from helpers.netns import Host, netns_chain, netns_pair

pytestmark = pytest.mark.root
RESPONDER = Path(__file__).resolve().parent.parent / "helpers" / "ping_responder.py"


def ping_json(host: Host, *args: str, rc: int | None = 0) -> dict:
    p = run_sniffer("ping", "--json", *args, ns=host.ns, timeout=60)
    if rc is not None:
        assert p.returncode == rc, (p.stdout.decode()[-2000:], p.stderr.decode())
    return json.loads(p.stdout)


def no_ratelimit(host: Host) -> None:
    host.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    host.run("sysctl", "-qw", "net.ipv6.icmp.ratelimit=0")


def nft(host: Host, *rules: str) -> None:
    host.run("nft", "add", "table", "inet", "t")
    host.run("nft", "add chain inet t in { type filter hook input priority 0 ; }")
    for r in rules:
        host.run("nft", f"add rule inet t in {r}")


def test_pair_tshark_decodes_every_probe(tmp_path: Path) -> None:
    pcap = tmp_path / "probes.pcap"
    with netns_pair() as (a, b):
        cap = b.popen(
            [
                "tcpdump",
                "-i",
                "vb",
                "-n",
                "-U",
                "--immediate-mode",
                "-w",
                str(pcap),
                "icmp or (icmp6 and ip6[40] >= 128 and ip6[40] <= 129)",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            time.sleep(0.8)  # tcpdump has no ready signal; it prints "listening" on stderr before this anyway
            v4, v6 = b.addr4("vb"), b.addr6("vb")
            doc = ping_json(
                a,
                "-c",
                "6",
                "-i",
                "0.01",
                "-t",
                "9",
                "-Q",
                "0x20",
                "-p",
                "abcd",
                "-s",
                "100",
                "--id",
                "777",
                "--seq",
                "10",
                v4,
                v6,
            )
            for t in doc["targets"]:
                assert (t["transmitted"], t["received"], t["damaged"]) == (6, 6, 0), t
                assert [p["seq"] for p in t["probes"]] == list(range(10, 16))
                assert all(p["status"] == "reply" for p in t["probes"])
            ts = ping_json(a, "-c", "2", "-i", "0.01", "--type", "13", "--id", "900", v4)
            assert ts["targets"][0]["received"] == 2
            time.sleep(0.3)
        finally:
            cap.terminate()
            cap.wait(5)
    fields = [
        "frame.number",
        "ip.src",
        "ipv6.src",
        "icmp.type",
        "icmpv6.type",
        "icmp.checksum.status",
        "icmpv6.checksum.status",
        "_ws.malformed",
        "ip.ttl",
        "ipv6.hlim",
        "ip.dsfield",
        "ipv6.tclass",
        "icmp.ident",
        "icmpv6.echo.identifier",
        "icmp.seq",
        "icmpv6.echo.sequence_number",
        "data.data",
    ]
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-T",
            "fields",
            "-E",
            "separator=|",
            *[arg for f in fields for arg in ("-e", f)],
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines()]
    ours = [r for r in rows if r["icmp.type"] in ("8", "13") or r["icmpv6.type"] == "128"]
    assert len(ours) == 14, out
    for r in ours:
        assert r["_ws.malformed"] == "", r
        assert "1" in (r["icmp.checksum.status"], r["icmpv6.checksum.status"]), r  # 1 = Good
        if r["icmp.type"] == "13":
            assert r["icmp.ident"] == "900"
            continue
        assert r["ip.ttl"] == "9" or r["ipv6.hlim"] == "9", r
        assert r["ip.dsfield"] in ("0x20", "32") or r["ipv6.tclass"] in ("0x20", "0x00000020", "32"), r
        # --id is the first target's identifier; the next target gets the next one
        assert int(r["icmp.ident"] or r["icmpv6.echo.identifier"], 0) == (777 if r["icmp.ident"] else 778)
        # the fill after the 16-byte timeval is the pattern (tshark may take 8 of the 16 bytes as a time)
        assert r["data.data"].endswith("abcd" * 42) and len(r["data.data"]) in (184, 200), r
    assert sorted(
        int(r["icmp.seq"] or r["icmpv6.echo.sequence_number"], 0) for r in ours if r["icmp.type"] != "13"
    ) == sorted(list(range(10, 16)) * 2)
    # and tshark pairs each of our requests with a reply
    assert sum(1 for r in rows if r["icmp.type"] == "0" or r["icmpv6.type"] == "129") == 12


def test_loss_injected_with_nftables_every_second_probe() -> None:
    with netns_pair() as (a, b):
        nft(
            b,
            "icmp type echo-request numgen inc mod 2 == 0 drop",
            "icmpv6 type echo-request numgen inc mod 2 == 0 drop",
        )
        doc = ping_json(a, "-c", "20", "-i", "0.005", "-W", "0.5", b.addr4("vb"), b.addr6("vb"), rc=None)
        for t in doc["targets"]:
            assert (t["transmitted"], t["received"], t["loss_pct"]) == (20, 10, 50.0), t
            got = [p["seq"] for p in t["probes"] if p["status"] == "reply"]
            # like iputils, the run ends 2 RTTs after the last probe, before -W 0.5 ran out for the lost ones
            lost = [p["seq"] for p in t["probes"] if p["status"] in ("timeout", "no-answer")]
            assert got == list(range(2, 21, 2)) and lost == list(range(1, 21, 2))


def test_loss_injected_random_is_statistically_bounded() -> None:
    with netns_pair() as (a, b):
        nft(b, "icmp type echo-request numgen random mod 4 == 0 drop")
        doc = ping_json(a, "-c", "400", "-i", "0.002", "-W", "0.5", "-q", b.addr4("vb"), rc=None)
        t = doc["targets"][0]
        # expected loss 25 %; with n=400 the std dev is ~2.2 %: 6 sigma either side never fails by chance
        assert t["transmitted"] == 400 and 12 <= t["loss_pct"] <= 38, t


@pytest.mark.parametrize("v6", [False, True])
def test_ttl_1_time_exceeded_from_router_with_quoted_header(v6: bool) -> None:
    with netns_chain(3) as (a, r, b):
        no_ratelimit(r)
        dst = b.addr6("l1") if v6 else b.addr4("l1")
        src = a.addr6("r0") if v6 else a.addr4("r0")
        router = r.addr6("l0") if v6 else r.addr4("l0")
        doc = ping_json(a, "-c", "3", "-i", "0.01", "-W", "1", "-t", "1", "--id", "4321", dst, rc=1)
        t = doc["targets"][0]
        assert (t["transmitted"], t["received"], t["errors"]) == (3, 0, 3)
        for seq, p in enumerate(t["probes"], start=1):
            assert p["status"] == "error" and p["from"] == router
            assert p["type"] == (3 if v6 else 11) and p["code"] == 0
            q = p["quoted"]
            assert (q["src"], q["dst"], q["ttl"], q["icmp_id"], q["icmp_seq"]) == (src, dst, 1, 4321, seq)
            assert q["icmp_type"] == (128 if v6 else 8)
        text = run_sniffer("ping", "-v", "-c", "1", "-t", "1", "-W", "1", dst, ns=a.ns).stdout.decode()
        want = "Time exceeded: Hop limit" if v6 else "Time to live exceeded"
        assert f"From {router} icmp_seq=1 {want} [quoted IPv{6 if v6 else 4} {src} > {dst}" in text, text


@pytest.mark.parametrize("v6", [False, True])
def test_trace_lists_router_then_target(v6: bool) -> None:
    with netns_chain(3) as (a, r, b):
        no_ratelimit(r)
        dst = b.addr6("l1") if v6 else b.addr4("l1")
        router = r.addr6("l0") if v6 else r.addr4("l0")
        p = run_sniffer("ping", "--trace", "--json", "-W", "1", dst, ns=a.ns)
        assert p.returncode == 0, p.stderr.decode()
        doc = json.loads(p.stdout)
        assert doc["reached"] is True and [h["ttl"] for h in doc["hops"]] == [1, 2]
        assert [pr["from"] for pr in doc["hops"][0]["probes"]] == [router] * 3
        assert [pr["from"] for pr in doc["hops"][1]["probes"]] == [dst] * 3
        lines = run_sniffer("ping", "--trace", "-W", "1", dst, ns=a.ns).stdout.decode().splitlines()
        assert lines[1].split()[:2] == ["1", router] and lines[2].split()[:2] == ["2", dst], lines


def test_destination_unreachable_reported_per_probe() -> None:
    with netns_pair() as (a, b):
        nft(
            b,
            "icmp type echo-request reject with icmp type host-unreachable",
            "icmpv6 type echo-request reject with icmpv6 type admin-prohibited",
        )
        no_ratelimit(b)
        p = run_sniffer("ping", "-c", "2", "-i", "0.01", "-W", "1", b.addr4("vb"), b.addr6("vb"), ns=a.ns)
        out = p.stdout.decode()
        assert p.returncode == 1
        assert out.count(f"From {b.addr4('vb')} icmp_seq=") == 2 and "Destination Host Unreachable" in out
        assert out.count(f"From {b.addr6('vb')} icmp_seq=") == 2 and "Administratively prohibited" in out
        assert "xmt/rcv/%loss = 2/0/100%, err = 2" in out


@pytest.mark.parametrize("v6", [False, True])
def test_packet_too_big_from_router(v6: bool) -> None:
    with netns_chain(3) as (a, r, b):
        no_ratelimit(r)
        r.run("ip", "link", "set", "r1", "mtu", "1280")
        b.run("ip", "link", "set", "l1", "mtu", "1280")
        dst = b.addr6("l1") if v6 else b.addr4("l1")
        doc = ping_json(a, "-c", "1", "-W", "1", "-s", "1400", "-M", "do", dst, rc=1)
        p = doc["targets"][0]["probes"][0]
        assert p["status"] == "error" and p["from"] == (r.addr6("l0") if v6 else r.addr4("l0"))
        if v6:
            assert (p["type"], p["error"]) == (2, "Packet too big: mtu=1280")
        else:
            assert (p["type"], p["code"], p["error"]) == (3, 4, "Frag needed and DF set (mtu = 1280)")
        assert p["quoted"]["length"] == 1428 + (20 if v6 else 0)
        # now the kernel knows the path MTU: the next oversized DF probe fails locally
        doc = ping_json(a, "-c", "1", "-W", "1", "-s", "1400", "-M", "do", dst, rc=1)
        p = doc["targets"][0]["probes"][0]
        assert p["status"] in ("local-error", "error") and doc["targets"][0]["received"] == 0


def test_duplicate_and_damaged_replies() -> None:
    with netns_pair() as (a, b):
        b.run("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        resp = b.popen(
            [sys.executable, str(RESPONDER), "4", "20", "2=dup", "3=badsum", "4=baddata"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert resp.stdout is not None and resp.stdout.readline() == b"ready\n"
            p = run_sniffer("ping", "-c", "4", "-i", "0.05", "-W", "1", b.addr4("vb"), ns=a.ns)
        finally:
            resp.kill()
            resp.wait(5)
        out = p.stdout.decode()
        lines = [ln for ln in out.splitlines() if "bytes from" in ln]
        assert len(lines) == 5, out
        assert "icmp_seq=1" in lines[0] and "(" not in lines[0]
        assert "icmp_seq=2" in lines[1] and "icmp_seq=2" in lines[2] and lines[2].endswith("(DUP!)")
        assert "icmp_seq=3" in lines[3] and lines[3].endswith("(BAD CHECKSUM!)")
        assert "icmp_seq=4" in lines[4] and lines[4].endswith(
            "(wrong data byte #22 should be 0x16 but was 0xe9)"
        )
        assert "4 packets transmitted, 4 received, +1 duplicates, +2 corrupted, 0% packet loss" in out


@pytest.mark.parametrize("v6", [False, True])
def test_icmp_error_goes_through_the_shared_decoder(v6: bool) -> None:
    with netns_chain(3) as (a, r, b):
        no_ratelimit(r)
        dst = b.addr6("l1") if v6 else b.addr4("l1")
        doc = ping_json(a, "-c", "1", "-W", "1", "-t", "1", "--id", "999", dst, rc=1)
        d = doc["targets"][0]["probes"][0]["decoded"]
        ip, proto = ("ipv6", "icmpv6") if v6 else ("ip", "icmp")
        assert d["_ws.col.Protocol"] == ("ICMPv6" if v6 else "ICMP") and "_ws.malformed" not in d
        assert d[f"{ip}.src"] == [
            r.addr6("l0") if v6 else r.addr4("l0"),
            a.addr6("r0") if v6 else a.addr4("r0"),
        ]
        assert d[f"{ip}.dst"][1] == dst
        assert d[f"{proto}.type"] == ([3, 128] if v6 else [11, 8])
        assert d[f"{proto}.checksum.status"] in (1, [1, 1])


def test_ipv6_link_local_with_scope_and_bind_to_device() -> None:
    with netns_pair() as (a, b):
        lines = b.run("ip", "-6", "-o", "addr", "show", "dev", "vb", "scope", "link").stdout
        ll = lines.split("inet6 ")[1].split("/")[0]
        doc = ping_json(a, "-c", "2", "-i", "0.01", f"{ll}%va")
        t = doc["targets"][0]
        assert t["address"] == f"{ll}%va" and t["received"] == 2
        assert {p["from"].split("%")[0] for p in t["probes"]} == {ll}
        doc = ping_json(a, "-c", "2", "-i", "0.01", "-I", "va", b.addr4("vb"))
        assert doc["targets"][0]["received"] == 2
        # bound to lo, the probe cannot reach the peer: nothing comes back
        doc = ping_json(a, "-c", "1", "-W", "0.3", "-I", "lo", b.addr4("vb"), rc=1)
        assert doc["targets"][0]["received"] == 0


def test_late_reply_after_timeout_is_counted_and_marked() -> None:
    with netns_pair() as (a, b):
        b.run("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        resp = b.popen(
            [sys.executable, str(RESPONDER), "3", "20", "1=late", "3=drop"], stdout=subprocess.PIPE
        )
        try:
            assert resp.stdout is not None and resp.stdout.readline() == b"ready\n"
            doc = ping_json(a, "-c", "3", "-i", "0.3", "-W", "0.2", b.addr4("vb"), rc=None)
        finally:
            resp.kill()
            resp.wait(5)
        t = doc["targets"][0]
        assert (t["transmitted"], t["received"]) == (3, 2)
        p1, p2, p3 = t["probes"]
        assert p1["status"] == "reply" and p1.get("late") is True and p1["rtt_ms"] > 300
        assert p2["status"] == "reply" and "late" not in p2
        assert p3["status"] == "timeout"


def test_fragmented_probes_and_replies_reassemble() -> None:
    with netns_pair() as (a, b):
        for dst in (b.addr4("vb"), b.addr6("vb")):
            doc = ping_json(a, "-c", "2", "-i", "0.01", "-s", "4000", "-M", "dont", "-p", "5a", dst)
            t = doc["targets"][0]
            assert (t["received"], t["damaged"]) == (2, 0)
            assert {p["bytes"] for p in t["probes"]} == {4008}
