"""AF_BLUETOOTH: where Python or the kernel lack it (this machine: both), one line says which."""

from __future__ import annotations

import errno
import socket

import pytest
from helpers.cli import run_sniffer

from sniffer.gen import bluetooth


@pytest.mark.parametrize("args", [("bluetooth", "rfcomm"), ("bluetooth-server", "l2cap", "-d", "1")])
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
