"""`sniffer export` on Dask: a real `dask scheduler` and two `dask worker` processes on 127.0.0.1 (started
here) produce the same dataset as the run in one process; so do two forked local workers (--workers 2)
and a local Dask cluster (--scheduler local)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dataset.helpers import app_capture
from dataset.test_export import CORPUS, table
from sniffer import cli

DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dataset(ds: Path) -> tuple[list[Any], list[Any], list[str]]:
    """Both tables' rows (sorted) and the part files' names: what must not depend on where it ran."""

    def rows(name: str) -> list[Any]:
        return sorted(tuple(sorted((k, str(v)) for k, v in r.items())) for r in table(ds, name))

    parts = sorted(p.relative_to(ds).as_posix() for p in ds.rglob("*.parquet"))
    return rows("packets"), rows("flows"), parts


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    d = tmp_path_factory.mktemp("dask-in")
    big = d / "big.pcap"
    # one pcap big enough to be cut into byte ranges (--split-size 16K), plus corpus files
    from sniffer.capture.pcapfile import open_capture, open_writer

    with open_writer(str(big), "pcap") as w:
        for name in ("zeek__wikipedia.pcap", "dpkt__dns_icmp.pcap") * 3:
            with open_capture(str(CORPUS / name)) as r:
                for fr in r:
                    w.write(fr)
    app_capture(d / "app.pcap")
    return [str(big), str(d / "app.pcap"), str(CORPUS / "zeek__wikipedia.pcap"), str(CORPUS / "*nmap*")]


@pytest.fixture(scope="module")
def local(inputs: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    ds = tmp_path_factory.mktemp("local") / "ds"
    assert cli.main(["export", *inputs, "--out", str(ds), "--workers", "1", "--split-size", "16K", "-q"]) == 0
    return _dataset(ds)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, stopped afterwards."""
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    common = {"cwd": tmp_path, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            start_new_session=True,
            **common,  # type: ignore[arg-type]
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    raise RuntimeError("dask scheduler did not start") from None
                time.sleep(0.2)
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        *(str(DASK), "worker", addr, "--nthreads", "1", "--no-dashboard"),
                        *(
                            "--host",
                            "127.0.0.1",
                            "--name",
                            f"w{i}",
                            "--local-directory",
                            str(tmp_path / f"w{i}"),
                        ),
                    ],
                    start_new_session=True,
                    **common,  # type: ignore[arg-type]
                )
            )
        from distributed import Client

        with Client(addr, timeout=30) as c:
            c.wait_for_workers(2, timeout=60)
            assert len(c.scheduler_info()["workers"]) == 2
        yield addr
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)


@pytest.mark.slow
def test_dask_cluster_on_loopback_gives_the_local_dataset(
    cluster: str, inputs: list[str], local: tuple[Any, ...], tmp_path: Path
) -> None:
    ds = tmp_path / "ds"
    assert (
        cli.main(["export", *inputs, "--out", str(ds), "--scheduler", cluster, "--split-size", "16K", "-q"])
        == 0
    )
    got = _dataset(ds)
    assert got[2] == local[2] and len(got[2]) > 10  # the same part files (the big pcap in ranges)
    assert got[0] == local[0] and got[1] == local[1]
    # both workers did some of it
    from distributed import Client

    with Client(cluster) as c:
        done = c.run(lambda dask_worker: len(dask_worker.data) + dask_worker.state.executed_count)
    assert len(done) == 2 and all(n > 0 for n in done.values())


@pytest.mark.slow
@pytest.mark.parametrize("how", [[], ["--scheduler", "local"]], ids=["fork-pool", "dask-local"])
def test_local_workers_give_the_same_dataset(
    inputs: list[str], local: tuple[Any, ...], tmp_path: Path, how: list[str]
) -> None:
    """--workers 2: two forked worker processes; with --scheduler local, a local Dask cluster."""
    ds = tmp_path / "ds"
    argv = ["export", *inputs, "--out", str(ds), "--workers", "2", "--split-size", "16K", "-q", *how]
    assert cli.main(argv) == 0
    assert _dataset(ds) == local


def test_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "sniffer", "export", str(CORPUS / "zeek__wikipedia.pcap")]
    r = subprocess.run(
        [*cmd, "--out", str(tmp_path), "--scheduler", f"tcp://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"sniffer: export: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
