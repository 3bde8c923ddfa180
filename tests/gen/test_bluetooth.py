"""AF_BLUETOOTH: where Python or the kernel lack it (this machine: both), one line says which."""

from __future__ import annotations

import errno
import socket

import pytest
from helpers.cli import run_sniffer

from sniffer.gen.traffic import bluetooth


@pytest.mark.parametrize(
    "args", [("bluetooth", "rfcomm"), ("bluetooth-server", "l2cap", "-d", "1"), ("bluetooth-hci", "-c", "1")]
)
def test_one_clear_line_when_missing(args: tuple[str, ...]) -> None:
    p = run_sniffer("gen", *args)
    err = p.stderr.decode()
    want = bluetooth.missing()
    if want is None:
        pytest.skip("this machine has AF_BLUETOOTH in Python and the kernel")
    assert p.returncode == 1 and p.stdout == b"", err
    assert err == f"sniffer: {want}\n" and "Traceback" not in err


class _Sock:
    def __init__(self, *a: object) -> None:
        pass

    def close(self) -> None:
        pass


def test_missing_names_python_and_kernel_separately(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_family(*a: object) -> None:
        raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")

    monkeypatch.setattr(socket, "AF_BLUETOOTH", 31, raising=False)
    monkeypatch.setattr(socket, "socket", no_family)
    text = bluetooth.missing() or ""
    assert "kernel" in text and "modprobe bluetooth" in text and "Python" not in text
    monkeypatch.setattr(socket, "socket", _Sock)
    assert bluetooth.missing() is None
    monkeypatch.delattr(socket, "AF_BLUETOOTH")
    text = bluetooth.missing() or ""
    assert "Python" in text and "kernel" not in text


def test_hci_events_are_described_one_line_each_and_never_raise() -> None:
    assert bluetooth.describe_hci(bytes.fromhex("040e0401030c00")) == (
        "event 0x0e Command Complete, 4 bytes: 01030c00"
    )
    assert (
        bluetooth.describe_hci(bytes.fromhex("043e0502"))
        == "event 0x3e LE Meta, 5 bytes (cut short: 1 of 5): 02"
    )
    assert bluetooth.describe_hci(bytes.fromhex("02aabb")) == "packet type 0x02, 2 bytes: aabb"
    assert bluetooth.describe_hci(b"") == "empty packet"
    assert bluetooth.describe_hci(b"\x04") == "packet type 0x04, 0 bytes: "


class _HciSock:
    """A raw HCI socket's stand-in: two queued events, then silence."""

    def __init__(self) -> None:
        self.pkts = [bytes.fromhex("040f0400010000"), bytes.fromhex("040e0401030c00")]
        self.opts: list[tuple[int, int, bytes]] = []
        self.closed = False

    def setsockopt(self, level: int, opt: int, value: bytes) -> None:
        self.opts.append((level, opt, value))

    def settimeout(self, t: float) -> None:
        assert t > 0

    def recv(self, n: int) -> bytes:
        if not self.pkts:
            raise TimeoutError
        return self.pkts.pop(0)

    def close(self) -> None:
        self.closed = True


def test_hci_events_ask_for_every_event_and_are_bounded_by_count_and_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    socks: list[_HciSock] = []

    def fake_open(dev: int = 0) -> _HciSock:
        socks.append(_HciSock())
        return socks[-1]

    monkeypatch.setattr(bluetooth, "hci_open", fake_open)
    assert list(bluetooth.hci_events(0, 1, 5.0)) == [bytes.fromhex("040f0400010000")]  # -c 1
    assert len(list(bluetooth.hci_events(0, 10, 5.0))) == 2  # then the timeout ends it
    assert all(s.closed for s in socks)
    # the filter lets every event type through: type mask bit 4 (events), both event masks full
    assert socks[0].opts == [(0, 2, bytes.fromhex("10000000ffffffffffffffff0000"))]
