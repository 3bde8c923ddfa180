"""Remote capture over OpenSSH, like Wireshark's sshdump: ``ssh://[USER@]HOST[:PORT]/IFACE``.

Each remote interface is one ``ssh`` process running ``sniffer capture -i IFACE -w -`` on the host (or
``tcpdump -U -w -`` where sniffer is absent); its stdout is a pcap/pcapng stream read by the ordinary
streaming reader in a thread of its own. ``Merger`` (sans-IO) puts the frames of all hosts into one time
order: a frame is released once every open stream has something later queued, or after it has waited
``delay`` (a quiet host does not hold the others back longer than that). Each frame's ``interface`` is
the index of its remote source and ``ifname`` is ``HOST/IFACE``, so a pcapng writer gives one IDB per
remote interface.

The ssh command is ``$SNIFFER_SSH`` (default ``ssh``), split like a shell would, followed by
``-o BatchMode=yes`` (no password prompts: keys or an agent), ``-p PORT`` and ``USER@HOST``; put
identity files and host-key options there or in ~/.ssh/config.
"""

from __future__ import annotations

import heapq
import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from typing import BinaryIO, NamedTuple, cast

from sniffer.errors import CaptureError, UsageError
from sniffer.frame import Frame

_SPEC = re.compile(
    r"^ssh://(?:(?P<user>[^@/]+)@)?(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?/(?P<iface>[^/]+)$"
)
#: how long a frame waits for a quiet host before it is released (a later frame of that host would be out of order)
DELAY_NS = 500_000_000


class RemoteSpec(NamedTuple):
    user: str | None
    host: str
    port: int | None
    iface: str
    text: str

    @property
    def label(self) -> str:
        """HOST/IFACE: the interface name in the packet list and in the pcapng IDB."""
        return f"{self.host}/{self.iface}"


def is_remote(text: str) -> bool:
    return text.startswith("ssh://")


def parse_remote(text: str) -> RemoteSpec:
    m = _SPEC.match(text)
    if m is None:
        raise UsageError(f"{text}: a remote interface is ssh://[USER@]HOST[:PORT]/IFACE")
    port = int(m["port"]) if m["port"] else None
    return RemoteSpec(m["user"], m["host"].strip("[]"), port, m["iface"], text)


def remote_command(spec: RemoteSpec, bpf: str | None = None, snaplen: int = 262144) -> str:
    """The shell command run on the host: sniffer if it is installed there, else tcpdump."""
    iface = shlex.quote(spec.iface)
    flt = f" -f {shlex.quote(bpf)}" if bpf else ""
    tflt = f" {shlex.quote(bpf)}" if bpf else ""
    return (
        f"if command -v sniffer >/dev/null 2>&1; then exec sniffer capture -i {iface} -s {snaplen}{flt} -w -; "
        f"else exec tcpdump --immediate-mode -U -n -i {iface} -s {snaplen} -w -{tflt}; fi"
    )


def ssh_argv(spec: RemoteSpec, command: str) -> list[str]:
    base = shlex.split(os.environ.get("SNIFFER_SSH", "ssh"))
    argv = [*base, "-o", "BatchMode=yes", "-T"]
    if spec.port:
        argv += ["-p", str(spec.port)]
    argv += ["--", f"{spec.user}@{spec.host}" if spec.user else spec.host, command]
    return argv


class Merger:
    """Sans-IO k-way merge of live streams by time. push/end as data arrives; pop(now) gives what is ready."""

    def __init__(self, streams: int, delay_ns: int = DELAY_NS) -> None:
        self._heap: list[tuple[int, int, int, int, Frame]] = []  # (ts, stream, seq, arrival, frame)
        self._pending = [0] * streams
        self._open = [True] * streams
        self._seq = 0
        self.delay_ns = delay_ns

    def push(self, stream: int, frame: Frame, now_ns: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (frame[0], stream, self._seq, now_ns, frame))
        self._pending[stream] += 1

    def end(self, stream: int) -> None:
        self._open[stream] = False

    @property
    def done(self) -> bool:
        return not self._heap and not any(self._open)

    def pop(self, now_ns: int) -> list[tuple[int, Frame]]:
        out: list[tuple[int, Frame]] = []
        heap = self._heap
        while heap:
            _ts, stream, _seq, arrived, frame = heap[0]
            waiting = any(o and not self._pending[i] for i, o in enumerate(self._open))
            if waiting and now_ns - arrived < self.delay_ns:
                break
            heapq.heappop(heap)
            self._pending[stream] -= 1
            out.append((stream, frame))
        return out


class RemoteCapture:
    """Captures on remote interfaces over ssh; ``frames()`` yields (source index, Frame) in time order."""

    def __init__(self, specs: Sequence[RemoteSpec], bpf: str | None = None, snaplen: int = 262144) -> None:
        self.specs = list(specs)
        self.bpf = bpf
        self.snaplen = snaplen
        self._procs: list[subprocess.Popen[bytes]] = []
        self._threads: list[threading.Thread] = []
        self._q: queue.Queue[tuple[int, Frame | None, str]] = queue.Queue(maxsize=65536)
        self._stop = threading.Event()
        self.errors: list[str] = []
        self.counts = [0] * len(self.specs)

    def start(self) -> None:
        for i, spec in enumerate(self.specs):
            argv = ssh_argv(spec, remote_command(spec, self.bpf, self.snaplen))
            try:
                p = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError as exc:
                self.stop()
                raise CaptureError(f"{spec.text}: cannot run {argv[0]}: {exc.strerror or exc}") from None
            self._procs.append(p)
            t = threading.Thread(target=self._read, args=(i, p), name=f"sniffer-ssh-{i}", daemon=True)
            self._threads.append(t)
            t.start()

    def _read(self, i: int, p: subprocess.Popen[bytes]) -> None:
        from sniffer.capture.pcapfile import open_capture

        spec = self.specs[i]
        err = ""
        assert p.stdout is not None and p.stderr is not None
        stderr_lines: list[str] = []

        def drain() -> None:
            assert p.stderr is not None
            for line in p.stderr:
                stderr_lines.append(line.decode(errors="replace").strip())
                del stderr_lines[:-20]

        et = threading.Thread(target=drain, daemon=True)
        et.start()
        try:
            with open_capture(cast(BinaryIO, p.stdout)) as rd:
                for fr in rd:
                    self._q.put((i, fr._replace(interface=i, ifname=spec.label), ""))
                    if self._stop.is_set():
                        break
        except Exception as exc:  # a damaged stream ends this source; the reason is reported
            err = str(exc)
        finally:
            if not self._stop.is_set():
                p.wait()
                et.join(2)
                if p.returncode:
                    detail = next((s for s in reversed(stderr_lines) if s and "packets" not in s), "") or err
                    err = f"ssh exited with status {p.returncode}" + (f": {detail}" if detail else "")
            try:
                self._q.put((i, None, err), timeout=1)
            except queue.Full:
                pass

    def batches(
        self, delay_ns: int = DELAY_NS, until: float | None = None
    ) -> Iterator[list[tuple[int, Frame]]]:
        """What is ready every ~50 ms (possibly nothing), in time order, until every stream ends, stop()
        is called or time.monotonic() passes ``until``."""
        m = Merger(len(self.specs), delay_ns)
        while not m.done and not self._stop.is_set():
            if until is not None and time.monotonic() >= until:
                return
            try:
                i, fr, err = self._q.get(timeout=0.05)
                while True:
                    if fr is None:
                        m.end(i)
                        if err:
                            self.errors.append(f"{self.specs[i].text}: {err}")
                    else:
                        m.push(i, fr, time.monotonic_ns())
                    i, fr, err = self._q.get_nowait()
            except queue.Empty:
                pass
            ready = m.pop(time.monotonic_ns())
            for i, _fr in ready:
                self.counts[i] += 1
            yield ready

    def frames(self, delay_ns: int = DELAY_NS, until: float | None = None) -> Iterator[tuple[int, Frame]]:
        """(source index, Frame) in time order (see batches)."""
        for batch in self.batches(delay_ns, until):
            yield from batch

    def stop(self) -> None:
        self._stop.set()
        for p in self._procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self._procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        while True:  # unblock readers stuck on a full queue
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        for t in self._threads:
            t.join(2)

    def __enter__(self) -> RemoteCapture:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
