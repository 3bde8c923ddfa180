"""Stdlib/system peers (socat, a Python echo server), socket options, and errors as one clear line."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers.cli import run_sniffer, sniffer_argv, sniffer_env

from sniffer.gen.traffic.vsock import VMADDR_CID_LOCAL


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_line_error(res: subprocess.CompletedProcess[bytes], *words: str) -> str:
    assert res.returncode != 0
    err = res.stderr.decode()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sniffer: "), err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_tcp_echo_against_socat() -> None:
    port = free_port()
    proc = subprocess.Popen(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "PIPE"])
    try:
        for _ in range(50):
            res = run_sniffer(
                "gen", "tcp-echo", "--to", f"127.0.0.1:{port}", "-c", "20", "--size", "1000", "--json"
            )
            if res.returncode == 0:
                break
            time.sleep(0.05)
        rep = json.loads(res.stdout)
        assert rep["echoed"] == 20 and rep["bytes_received"] == 20_000 and "server" not in rep
    finally:
        proc.kill()
        proc.wait()


def test_udp_echo_against_a_stdlib_server() -> None:
    srv = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    srv.bind(("::1", 0))
    srv.settimeout(5)
    port = srv.getsockname()[1]
    got: list[bytes] = []

    def echo() -> None:
        try:
            for _ in range(8):
                data, addr = srv.recvfrom(2048)
                got.append(data)
                srv.sendto(data, addr)
        except TimeoutError:
            pass

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    res = run_sniffer("gen", "udp-echo", "--family", "inet6", "--to", f"[::1]:{port}", "-c", "8", "--json")
    t.join(5)
    srv.close()
    assert res.returncode == 0, res.stderr.decode()
    rep = json.loads(res.stdout)
    assert rep["echoed"] == 8 and len(got) == 8 and all(g[:4] == b"SnFg" for g in got)


def test_unix_stream_against_socat(tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"
    proc = subprocess.Popen(["socat", f"UNIX-LISTEN:{path},fork", "PIPE"])
    try:
        for _ in range(50):
            if path.exists():
                break
            time.sleep(0.05)
        res = run_sniffer("gen", "unix", "--path", str(path), "-c", "10", "--style", "epoll", "--json")
        assert res.returncode == 0, res.stderr.decode()
        assert json.loads(res.stdout)["echoed"] == 10
    finally:
        proc.kill()
        proc.wait()


def test_socket_options_are_set_and_reported() -> None:
    res = run_sniffer(
        "gen", "tcp-echo", "-c", "2", "--json", "--nodelay", "1", "--keepalive", "1", "--reuseaddr", "1",
        "--sndbuf", "65536", "--rcvbuf", "131072", "--linger", "0", "--ttl", "33",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr.decode()
    o = json.loads(res.stdout)["options"]
    assert o["TCP_NODELAY"] == 1 and o["SO_KEEPALIVE"] == 1 and o["SO_REUSEADDR"] == 1
    assert o["SO_SNDBUF"] == 2 * 65536 and o["SO_RCVBUF"] == 2 * 131072  # the kernel doubles them
    assert o["SO_LINGER"] == 0 and o["IP_TTL"] == 33
    # asked beside applied: the kernel doubles the buffers, the rest are as asked
    a = json.loads(res.stdout)["options_asked"]
    assert a == {
        "SO_REUSEADDR": 1, "SO_KEEPALIVE": 1, "SO_SNDBUF": 65536, "SO_RCVBUF": 131072, "SO_LINGER": 0,
        "TCP_NODELAY": 1, "IP_TTL": 33,
    }  # fmt: skip
    res = run_sniffer("gen", "tcp-echo", "-c", "1", "--sndbuf", "65536", "--nodelay", "1")
    line = next(x for x in res.stdout.decode().splitlines() if x.strip().startswith("options "))
    assert "SO_SNDBUF=131072 (asked 65536)" in line and "TCP_NODELAY=1 (asked 1)" in line, line
    assert "SO_KEEPALIVE=0 " in line and "SO_KEEPALIVE=0 (" not in line, line  # not asked: kernel's only
    res = run_sniffer("gen", "udp-echo", "-c", "1", "--json", "--mcast-ttl", "7", "--mcast-loop", "0")
    o = json.loads(res.stdout)["options"]
    assert o["IP_MULTICAST_TTL"] == 7 and o["IP_MULTICAST_LOOP"] == 0


def test_connection_refused_is_one_line() -> None:
    port = free_port()
    one_line_error(
        run_sniffer("gen", "tcp-echo", "--to", f"127.0.0.1:{port}"), "connection refused", str(port)
    )
    one_line_error(run_sniffer("gen", "tcp-conns", "-n", "3", "--to", f"127.0.0.1:{port}", "--style", "epoll"),
                   "refused")  # fmt: skip


def test_udp_without_a_peer_is_one_line() -> None:
    port = free_port(socket.SOCK_DGRAM)
    line = one_line_error(
        run_sniffer("gen", "udp-echo", "--to", f"127.0.0.1:{port}", "-c", "2", "--timeout", "0.2")
    )
    assert "refused" in line or "no echo" in line


def test_address_in_use_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        one_line_error(
            run_sniffer("gen", "tcp-echo-server", "--bind", f"127.0.0.1:{port}", "-d", "1"), "already in use"
        )


def test_unix_path_in_use_and_stale(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(path)
    live.listen()
    one_line_error(run_sniffer("gen", "unix-server", "--path", path, "-d", "1"), "already in use")
    live.close()  # the file stays: a stale socket, which the server replaces
    proc = subprocess.Popen(
        sniffer_argv("gen", "unix-server", "--path", path, "--perm", "600", "-c", "1", "-d", "10", "--json"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sniffer_env(),
    )  # fmt: skip
    assert proc.stderr is not None
    ready = proc.stderr.readline().decode()
    assert "srw-------" in ready, ready  # the socket file's permissions are shown
    res = run_sniffer("gen", "unix", "--path", path, "-c", "3", "--json")
    assert json.loads(res.stdout)["echoed"] == 3
    out, _ = proc.communicate(timeout=10)
    assert json.loads(out)["connections"] == 1
    assert not os.path.exists(path)


def test_unix_abstract_name() -> None:
    name = f"sniffer-test-{random.getrandbits(32):x}"
    res = run_sniffer(
        "gen", "unix", "--type", "dgram", "--abstract", name, "--self-peer", "-c", "3", "--json"
    )
    rep = json.loads(res.stdout)
    assert rep["peer"] == f"@{name}" and rep["echoed"] == 3


def vsock_loopback() -> bool:
    try:
        with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as s:
            s.bind((VMADDR_CID_LOCAL, socket.VMADDR_PORT_ANY))
        return True
    except OSError:
        return False


def test_vsock_echo_or_one_clear_line() -> None:
    res = run_sniffer("gen", "vsock", "-c", "3", "--json")
    if vsock_loopback():
        assert json.loads(res.stdout)["echoed"] == 3
    else:
        one_line_error(res, "AF_VSOCK", "vsock_loopback")


@pytest.mark.root
def test_raw_socket_without_privilege_is_one_line() -> None:
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", *sniffer_argv()]
    probe = subprocess.run([*argv[:5], sys.executable, "-c", "import sniffer"], env=sniffer_env(), cwd="/")
    if probe.returncode != 0:
        pytest.skip("user nobody cannot run this Python or read the checkout here")
    for what in (["rawip"], ["packet"]):
        res = subprocess.run(
            [*argv, "gen", *what, "-c", "1"], capture_output=True, env=sniffer_env(), cwd="/"
        )
        one_line_error(res, "permission denied", "CAP_NET_RAW")


def test_broadcast_needs_a_real_interface() -> None:
    one_line_error(run_sniffer("gen", "broadcast", "-i", "lo", "-c", "1"), "cannot broadcast")
    one_line_error(run_sniffer("gen", "broadcast", "-i", "nosuch0", "-c", "1"), "no interface")
    res = run_sniffer("gen", "broadcast", "-c", "1")
    assert res.returncode == 2 and b"-i/--interface" in res.stderr


def test_too_small_size_is_one_line() -> None:
    one_line_error(run_sniffer("gen", "udp-echo", "--size", "10"), "28 bytes")


@pytest.mark.parametrize(("server_style", "client_style"), [("asyncio", "select"), ("blocking", "epoll")])
def test_standalone_server_and_client_across_styles(server_style: str, client_style: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        sniffer_argv("gen", "tcp-echo-server", "--bind", f"127.0.0.1:{port}", "-c", "1", "-d", "20",
                     "--style", server_style, "--json"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sniffer_env(),
    )  # fmt: skip
    assert proc.stderr is not None
    assert "for at most 20 s or 1 connections" in proc.stderr.readline().decode()
    res = run_sniffer(
        "gen", "tcp-echo", "--to", f"127.0.0.1:{port}", "-c", "7", "--style", client_style, "--json"
    )
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(res.stdout)["echoed"] == 7
    out, _ = proc.communicate(timeout=10)
    stats = json.loads(out)
    assert stats["connections"] == 1 and stats["bytes_echoed"] == 7 * 64 and stats["style"] == server_style


def test_vsock_server_is_one_line_without_a_transport() -> None:
    if vsock_loopback():
        pytest.skip("this kernel has vsock loopback: the echo test covers the server")
    one_line_error(run_sniffer("gen", "vsock-server", "-d", "1"), "AF_VSOCK")


@pytest.mark.parametrize("style", ["blocking", "epoll", "asyncio"])
def test_servers_log_each_peer_and_show_options_asked_and_applied(style: str) -> None:
    """Each connection (TCP) and each new datagram peer (UDP) is logged on stderr as it comes; the
    options line shows the kernel's value with the one asked for (also after asyncio closed the socket)."""
    for kind, client in (("tcp-echo-server", "tcp-echo"), ("udp-echo-server", "udp-echo")):
        port = free_port(socket.SOCK_STREAM if kind.startswith("tcp") else socket.SOCK_DGRAM)
        server = subprocess.Popen(
            sniffer_argv("gen", kind, "--bind", f"127.0.0.1:{port}", "-d", "20", "-c", "2", "--style", style,
                         "--rcvbuf", "50000"),
            env=sniffer_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert server.stderr is not None
            assert "echo on" in server.stderr.readline()
            locals_ = []
            for _ in range(2):
                res = run_sniffer("gen", client, "--to", f"127.0.0.1:{port}", "-c", "1", "--json")
                assert res.returncode == 0, res.stderr.decode()
                locals_.append(json.loads(res.stdout)["local"])
            out, err = server.communicate(timeout=20)
        finally:
            server.kill()
            server.wait()
        want = "connection {} from {}" if kind.startswith("tcp") else "first datagram from {1}"
        for i, local in enumerate(locals_, 1):
            assert f"{kind}: " + want.format(i, local) in err, (err, locals_)
        assert "SO_RCVBUF=100000 (asked 50000)" in out, out


def test_guide_examples_are_named_by_their_section_in_help_and_docs() -> None:
    """The generators that are the guide's examples say which section they are, client and server alike,
    in `sniffer gen --help`, in each command's own --help, and in docs/gen.md's matrix."""
    sections = {
        "tcp-echo": "5.1",
        "tcp-echo-server": "5.1",
        "tcp-server": "5.1",
        "udp-echo": "5.2",
        "udp-echo-server": "5.2",
        "udp-server": "5.2",
    }
    top = " ".join(run_sniffer("gen", "--help").stdout.decode().split())
    docs = (Path(__file__).resolve().parents[2] / "docs" / "gen.md").read_text()
    for cmd, sec in sections.items():
        own = " ".join(run_sniffer("gen", cmd, "--help").stdout.decode().split())
        assert f"guide {sec}" in own, cmd
        assert f" {cmd} " in top  # listed
    assert "TCP echo client (guide 5.1)" in top and "UDP echo client (guide 5.2)" in top
    assert "(TCP echo, 5.1)" in docs and "(UDP echo, 5.2)" in docs


def test_a_server_socket_whose_setup_fails_leaves_no_descriptor() -> None:
    """closed_on_error / ip_server_socket: a bind that fails (address in use, address not here) closes
    the new socket before the error goes on."""
    from sniffer.gen.traffic.options import SockOpts
    from sniffer.gen.traffic.run import closed_on_error, ip_server_socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with pytest.raises(OSError), closed_on_error(s):
        s.bind(("192.0.2.1", 0))  # TEST-NET-1: not an address of this host (nothing is sent)
    assert s.fileno() == -1
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(OSError):
            ip_server_socket(socket.AF_INET, socket.SOCK_STREAM, SockOpts(), busy.getsockname())
        assert len(os.listdir("/proc/self/fd")) == before
