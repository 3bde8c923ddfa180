"""Remote capture over OpenSSH: an sshd started inside a test namespace with a throwaway key serves two
remote interfaces (veths of that namespace); pings the test sends inside its namespaces arrive merged in
time order in a pcapng that tshark reads (sniffer capture) and in the TUI's packet list (pilot)."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.netns import Host, netns_chain

from sniffer.capture.remote import Merger, RemoteSpec, parse_remote, remote_command, ssh_argv
from sniffer.errors import UsageError
from sniffer.frame import Frame

VENV_BIN = str(Path(sys.executable).parent)


def test_spec_and_command() -> None:
    s = parse_remote("ssh://ops@sensor-1:2222/eth0")
    assert s == RemoteSpec("ops", "sensor-1", 2222, "eth0", "ssh://ops@sensor-1:2222/eth0")
    assert parse_remote("ssh://[fd00::1]/br0").host == "fd00::1" and parse_remote("ssh://h/lo").user is None
    with pytest.raises(UsageError, match="ssh://\\[USER@\\]HOST"):
        parse_remote("ssh://host")
    cmd = remote_command(s, "port 53 and host 10.0.0.1", 96)
    assert "exec sniffer capture -i eth0 -s 96 -f 'port 53 and host 10.0.0.1' -w -" in cmd
    assert "exec tcpdump --immediate-mode -U -n -i eth0 -s 96 -w - 'port 53 and host 10.0.0.1'" in cmd
    argv = ssh_argv(s, "true")
    assert (
        argv[-2:] == ["ops@sensor-1", "true"]
        and ["-p", "2222"] == argv[argv.index("-p") : argv.index("-p") + 2]
    )


def _f(ts: int) -> Frame:
    return Frame(ts, b"", 0, 1)


def test_merger_orders_by_time_and_waits_for_quiet_streams() -> None:
    m = Merger(2, delay_ns=100)
    m.push(0, _f(10), now_ns=0)
    m.push(0, _f(30), now_ns=0)
    assert m.pop(now_ns=50) == []  # stream 1 may still send something earlier
    m.push(1, _f(20), now_ns=60)
    assert [f.ts_ns for _s, f in m.pop(now_ns=60)] == [10, 20]  # 30 waits: stream 1 is empty again
    assert [f.ts_ns for _s, f in m.pop(now_ns=101)] == [30]  # waited long enough
    m.push(1, _f(40), now_ns=200)
    m.end(0)
    assert [(s, f.ts_ns) for s, f in m.pop(now_ns=200)] == [(1, 40)]  # an ended stream holds nothing back
    m.end(1)
    assert m.done


@dataclass
class SshHost:
    host: Host
    left: Host  # pings the host's interface l0
    right: Host  # pings the host's interface r1
    ssh: str  # SNIFFER_SSH for the test
    specs: list[str]

    def ping_both(self, count: int = 40, interval: float = 0.05) -> None:
        """Bounded pings into both remote interfaces at once (inside the test's namespaces)."""
        ps = [
            self.left.popen(
                ["ping", "-q", "-c", str(count), "-i", str(interval), self.host.addr4("l0")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            self.right.popen(
                ["ping", "-q", "-c", str(count), "-i", str(interval), self.host.addr4("r1")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        ]
        for p in ps:
            p.wait(30)


@pytest.fixture
def ssh_host(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SshHost]:
    """sniffer is on the host's PATH, unless the test is parametrized with remote_tool="tcpdump"."""
    tool = getattr(request, "param", "sniffer")
    if os.geteuid() != 0 or not shutil.which("sshd", path="/usr/sbin:/usr/bin") or not shutil.which("ssh"):
        if os.environ.get("CI"):
            pytest.fail("needs root, OpenSSH (openssh-server, openssh-client: scripts/bootstrap.sh)")
        pytest.skip("needs root and OpenSSH")
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)], check=True
        )
    (tmp_path / "authorized_keys").write_text((tmp_path / "client_key.pub").read_text())
    os.makedirs("/run/sshd", exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "sshd_config"
    cfg.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp_path / 'host_key'}\nPidFile {tmp_path / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"SetEnv PATH={VENV_BIN + ':' if tool == 'sniffer' else ''}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    )
    with netns_chain(3, forward=False) as (left, host, right):
        sshd = host.popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 20
            while host.run("ss", "-ltnH", f"sport = :{port}").stdout.strip() == "":
                assert sshd.poll() is None, sshd.stderr.read().decode() if sshd.stderr else ""
                assert time.monotonic() < deadline, "sshd did not start"
                time.sleep(0.1)
            ssh = (
                f"ip netns exec {host.ns} ssh -i {tmp_path / 'client_key'} -o StrictHostKeyChecking=no "
                "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10"
            )
            specs = [f"ssh://root@127.0.0.1:{port}/l0", f"ssh://root@127.0.0.1:{port}/r1"]
            yield SshHost(host, left, right, ssh, specs)
        finally:
            sshd.terminate()
            sshd.wait(10)


def _tshark(path: Path) -> list[tuple[str, int]]:
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "frame.interface_name", "-e", "frame.time_epoch"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    rows = []
    for line in out.splitlines():
        name, t = line.split("\t")
        sec, _, frac = t.partition(".")
        rows.append((name, int(sec) * 10**9 + int((frac + "000000000")[:9])))
    return rows


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.parametrize("ssh_host", ["sniffer", "tcpdump"], indirect=True)
def test_capture_two_remote_interfaces_into_one_pcapng(ssh_host: SshHost, tmp_path: Path) -> None:
    """Remote sniffer capture -w - (pcapng), or tcpdump -U -w - (pcap) where sniffer is not installed."""
    out = tmp_path / "merged.pcapng"
    env = {**os.environ, "SNIFFER_SSH": ssh_host.ssh}
    argv = [sys.executable, "-m", "sniffer", "capture", *(x for s in ssh_host.specs for x in ("-i", s))]
    cap = subprocess.Popen(
        [*argv, "-f", "icmp", "-w", str(out), "--duration", "9"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)  # ssh, login and the remote capture starting
    ssh_host.ping_both(count=40, interval=0.05)
    _, err = cap.communicate(timeout=60)
    assert cap.returncode == 0, err
    rows = _tshark(out)
    label = "127.0.0.1/"
    by = {n: [t for name, t in rows if name == n] for n in (label + "l0", label + "r1")}
    assert {n for n, _ in rows} == set(by)  # an IDB per remote interface, named HOST/IFACE
    assert all(len(v) >= 60 for v in by.values()), {k: len(v) for k, v in by.items()}  # 40 requests + replies
    times = [t for _n, t in rows]
    assert times == sorted(times)  # merged in time order
    # the two streams really interleave (the pings ran at the same time)
    switches = sum(1 for a, b in itertools.pairwise(rows) if a[0] != b[0])
    assert switches > 20
    assert f"{len(rows)} packets captured" in err


async def wait_until(pilot: object, cond: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.1)  # type: ignore[attr-defined]


@pytest.mark.root
@pytest.mark.slow
async def test_tui_shows_two_remote_interfaces_merged(
    ssh_host: SshHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sniffer.model.store import PacketStore
    from sniffer.ui.app import SnifferApp
    from sniffer.ui.remote import RemoteSource

    monkeypatch.setenv("SNIFFER_SSH", ssh_host.ssh)
    store = PacketStore(spool=True)
    src = RemoteSource(ssh_host.specs, store, bpf="icmp")
    src.open()
    app = SnifferApp(store, src, live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(3)
        t = threading.Thread(target=ssh_host.ping_both, kwargs={"count": 20, "interval": 0.05})
        t.start()
        try:

            def names() -> dict[str, int]:
                got: dict[str, int] = {}
                for i in range(store.count):
                    n = store.frame(i).ifname
                    got[n] = got.get(n, 0) + 1
                return got

            await wait_until(
                pilot,
                lambda: (
                    names().get("127.0.0.1/l0", 0) >= 40
                    and names().get("127.0.0.1/r1", 0) >= 40
                    and app.plist.count == store.count
                ),
                timeout=30,
            )
        finally:
            t.join(30)
        times = [store.frame(i).ts_ns for i in range(store.count)]
        assert times == sorted(times)
        assert src.status.error == ""
        # the packet list has a HOST/IFACE column (sshdump's interface), before Info
        assert "frame.interface_name" in app.plist.custom
        await pilot.press("home")
        await pilot.pause(0.2)
        lines = [app.plist.render_line(y).text for y in range(app.plist.size.height)]
        assert "frame.interface_name" in lines[0]
        assert any("127.0.0.1/l0" in ln for ln in lines[1:]) and any("127.0.0.1/r1" in ln for ln in lines[1:])
    src.stop()


def test_unreachable_host_is_one_error_line(tmp_path: Path) -> None:
    if not shutil.which("ssh"):
        if os.environ.get("CI"):
            pytest.fail("needs the OpenSSH client (scripts/bootstrap.sh)")
        pytest.skip("no ssh client")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    env = {**os.environ, "SNIFFER_SSH": "ssh -o ConnectTimeout=5 -o StrictHostKeyChecking=no"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "sniffer",
            "capture",
            "-i",
            f"ssh://127.0.0.1:{port}/eth0",
            "-w",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 1
    last = r.stderr.splitlines()[-1]
    assert (
        last.startswith(f"sniffer: ssh://127.0.0.1:{port}/eth0: ssh exited with status 255: ")
        and "refused" in last
    )
    assert "Traceback" not in r.stderr
    # the file is a valid, empty pcapng
    from sniffer.capture.pcapfile import open_capture

    with open_capture(str(tmp_path / "x")) as rd:
        assert list(rd) == []
