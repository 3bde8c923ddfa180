"""`sniffer ping` on loopback: replies counted and matched, output shape, options, the session API."""

from __future__ import annotations

import json
import re
import threading

import pytest

from sniffer.gen.ping.engine import PingOptions, PingSession, ProbeSent, ProbeTimeout, Reply

pytestmark = pytest.mark.root


def _json(run, *args: str, rc: int = 0) -> dict:  # type: ignore[no-untyped-def]
    p = run("ping", "--json", *args)
    assert p.returncode == rc, p.stderr.decode()
    return json.loads(p.stdout)


@pytest.mark.parametrize("addr", ["127.0.0.1", "::1"])
def test_loopback_replies_counted_and_matched(sniffer_cli, addr: str) -> None:  # type: ignore[no-untyped-def]
    doc = _json(sniffer_cli, "-c", "5", "-i", "0.01", "--id", "4242", "--seq", "100", addr)
    assert doc["socket"] == "raw"
    (t,) = doc["targets"]
    assert (t["transmitted"], t["received"], t["duplicates"], t["errors"], t["loss_pct"]) == (5, 5, 0, 0, 0)
    assert [p["seq"] for p in t["probes"]] == [100, 101, 102, 103, 104]
    for p in t["probes"]:
        assert p["status"] == "reply" and p["from"] == addr and p["bytes"] == 64
        assert p["checksum_ok"] in (True, None) and p["payload_error"] is None
        assert 0 < p["rtt_ms"] < 100
    rtt = t["rtt_ms"]
    assert rtt["min"] <= rtt["avg"] <= rtt["max"]


def test_text_output_has_iputils_shape(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    p = sniffer_cli("ping", "-c", "3", "-i", "0.01", "-s", "100", "127.0.0.1")
    assert p.returncode == 0, p.stderr.decode()
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "PING 127.0.0.1 (127.0.0.1) 100(128) bytes of data."
    for i, line in enumerate(lines[1:4], start=1):
        assert re.fullmatch(rf"108 bytes from 127\.0\.0\.1: icmp_seq={i} ttl=64 time=\d+\.\d+ ms", line), line
    assert lines[5] == "--- 127.0.0.1 ping statistics ---"
    assert re.fullmatch(r"3 packets transmitted, 3 received, 0% packet loss, time \d+ms", lines[6])
    assert re.fullmatch(r"rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", lines[7])
    assert p.stderr == b""


def test_ipv6_header_line_and_options(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    p = sniffer_cli("ping", "-6", "-c", "2", "-i", "0.01", "-t", "7", "-Q", "0x10", "-p", "ff", "::1")
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr.decode()
    assert out.startswith("PING ::1(::1) 56 data bytes\n")  # iputils: no space before the parenthesis
    # the reply carries the replier's hop limit; -t/-Q/-p on the wire are checked with tshark in test_ping_netns
    assert "64 bytes from ::1: icmp_seq=2 ttl=64" in out and "wrong data" not in out


def test_several_targets_interleaved_with_fping_summary(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    p = sniffer_cli("ping", "-c", "4", "-i", "0.02", "127.0.0.1", "::1", "127.0.0.2")
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    froms = re.findall(r"bytes from (\S+): icmp_seq=(\d+)", out)
    assert sorted(froms) == sorted(
        (a, str(s)) for a in ("127.0.0.1", "::1", "127.0.0.2") for s in range(1, 5)
    )
    # interleaved: the first three replies come from three different targets
    assert len({a for a, _ in froms[:3]}) == 3
    assert re.search(r"^127\.0\.0\.1 : xmt/rcv/%loss = 4/4/0%, min/avg/max = ", out, re.M)
    assert re.search(r"^::1       : xmt/rcv/%loss = 4/4/0%", out, re.M)


def test_back_to_back_flood_bounded(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    doc = _json(sniffer_cli, "-c", "300", "-i", "0", "127.0.0.1")
    t = doc["targets"][0]
    assert (t["transmitted"], t["received"]) == (300, 300)
    assert doc["time_ms"] < 3000
    p = sniffer_cli("ping", "-i", "0", "127.0.0.1")
    assert p.returncode == 2 and p.stderr.decode().startswith("sniffer: -i 0 sends back to back")


def test_timestamp_request_type_13(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    p = sniffer_cli("ping", "-c", "2", "-i", "0.01", "--type", "13", "127.0.0.1")
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    assert "ICMP type 13 (Timestamp Request) code 0, 12 data bytes" in out
    assert (
        len(re.findall(r"20 bytes from 127\.0\.0\.1: icmp_seq=\d .*Timestamp Reply \(type=14 code=0\)", out))
        == 2
    )


def test_unanswered_type_times_out(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    # Linux does not answer address mask requests: the probe must end as lost after -W
    doc = _json(sniffer_cli, "-c", "1", "-W", "0.3", "--type", "17", "127.0.0.1", rc=1)
    t = doc["targets"][0]
    assert (t["transmitted"], t["received"], t["loss_pct"]) == (1, 0, 100)
    assert t["probes"][0]["status"] == "timeout"


def test_deadline_bounds_an_unbounded_run(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    doc = _json(sniffer_cli, "-w", "0.5", "-i", "0.05", "127.0.0.1")
    t = doc["targets"][0]
    assert 5 <= t["transmitted"] <= 12 and t["received"] >= t["transmitted"] - 1
    assert 400 <= doc["time_ms"] < 1500


def test_bad_arguments_are_one_line(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    for args, needle in (
        (("-c", "1", "no.such.host.invalid"), "cannot resolve"),
        (("-c", "1", "-I", "nosuchif0", "127.0.0.1"), "-I nosuchif0"),
        (("-c", "1", "-t", "0", "127.0.0.1"), "-t must be"),
        (("-c", "1", "-6", "127.0.0.1"), "cannot resolve"),
    ):
        p = sniffer_cli("ping", *args)
        err = p.stderr.decode()
        assert p.returncode != 0 and err.count("\n") == 1 and err.startswith("sniffer: ") and needle in err, (
            err
        )


def test_session_events_and_thread_stop() -> None:
    events: list[object] = []
    with PingSession(["127.0.0.1", "::1"], PingOptions(count=3, interval=0.01)) as s:
        stats = s.run(events.append)
    sent = [(e.target, e.seq) for e in events if isinstance(e, ProbeSent)]
    got = [(e.target, e.seq) for e in events if isinstance(e, Reply)]
    assert sorted(sent) == sorted(got) == [(t, q) for t in (0, 1) for q in (1, 2, 3)]
    for e in events:
        if isinstance(e, Reply):
            i = events.index(e)
            assert any(
                isinstance(x, ProbeSent) and (x.target, x.seq) == (e.target, e.seq) for x in events[:i]
            )
            assert e.rtt_ns > 0 and e.ts_ns > 0
    assert [st.received for st in stats] == [3, 3]

    # unbounded session in its own thread, stopped from outside (the TUI's way)
    seen = threading.Event()
    got2: list[object] = []

    def on(ev: object) -> None:
        got2.append(ev)
        if sum(isinstance(x, Reply) for x in got2) >= 3:
            seen.set()

    s2 = PingSession(["127.0.0.1"], PingOptions(interval=0.01))
    s2.start(on)
    assert seen.wait(5)
    s2.stop()
    s2.join(5)
    s2.close()
    assert s2.exception is None and s2.stats[0].received >= 3
    assert not any(isinstance(x, ProbeTimeout) for x in got2)


def test_payload_sources_and_bind_options(sniffer_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "payload.bin"
    f.write_bytes(b"sniffer-payload-")
    for extra in (
        ["--random"],
        ["--payload-file", str(f)],
        ["-I", "lo"],
        ["-I", "127.0.0.1"],
        ["-s", "0"],
        ["-s", "7"],
    ):
        doc = _json(sniffer_cli, "-c", "3", "-i", "0.01", *extra, "127.0.0.1")
        t = doc["targets"][0]
        assert (t["received"], t["damaged"]) == (3, 0), (extra, t)
    doc = _json(sniffer_cli, "-c", "2", "-i", "0.01", "-s", "1400", "-M", "do", "-I", "lo", "::1")
    assert doc["targets"][0]["probes"][0]["bytes"] == 1408


def test_ctrl_c_prints_the_summary() -> None:
    import signal
    import subprocess

    from helpers.cli import ROOT, sniffer_argv, sniffer_env

    p = subprocess.Popen(
        [*sniffer_argv("ping", "-i", "0.02", "-D", "127.0.0.1")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # readline() then communicate(): nothing may sit in a buffer in between
        env=sniffer_env(),
        cwd=ROOT,
    )
    try:
        assert p.stdout is not None
        head = p.stdout.readline() + p.stdout.readline()  # the PING header and a reply: the loop is running
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    finally:
        p.kill()
    text = (head + out).decode()
    assert p.returncode == 0, err
    assert "--- 127.0.0.1 ping statistics ---" in text and " 0% packet loss" in text
    assert re.search(r"^\[\d+\.\d{6}\] 64 bytes from 127\.0\.0\.1: icmp_seq=\d+", text, re.M)


def test_report_outstanding_with_O(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    p = sniffer_cli("ping", "-c", "2", "-i", "0.01", "-W", "0.2", "-O", "--type", "15", "127.0.0.1")
    out = p.stdout.decode()
    assert (
        p.returncode == 1 and "no answer yet for icmp_seq=1" in out and "no answer yet for icmp_seq=2" in out
    )
    assert "2 packets transmitted, 0 received, 100% packet loss" in out


def test_sequence_wraps_at_16_bits(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    doc = _json(sniffer_cli, "-c", "4", "-i", "0.01", "--seq", "65534", "127.0.0.1")
    t = doc["targets"][0]
    assert [p["seq"] for p in t["probes"]] == [65534, 65535, 0, 1]
    assert t["received"] == 4 and all(p["status"] == "reply" for p in t["probes"])


def test_library_count_is_probes_even_with_a_deadline() -> None:
    """The TUI bounds every run with a deadline: there -c still counts probes (iputils' -w meaning,
    where -c counts replies, is the CLI's, PingOptions.iputils_deadline)."""
    o = PingOptions(count=3, interval=0.01, timeout=0.3, deadline=5.0, icmp_type=17)  # never answered
    with PingSession(["127.0.0.1"], o) as s:
        (st,) = s.run()
    assert (st.transmitted, st.received) == (3, 0)
