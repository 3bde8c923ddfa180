"""The `tui` and `demo` commands from the command line: errors are one line, never a traceback."""

from __future__ import annotations

from pathlib import Path


def test_missing_file_is_one_line(sniffer_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = sniffer_cli("tui", "-r", str(tmp_path / "nope.pcap"), timeout=60)
    assert r.returncode != 0
    err = r.stderr.decode().strip().splitlines()
    assert err == [f"sniffer: {tmp_path / 'nope.pcap'}: no such file"]


def test_not_a_capture_is_one_line(sniffer_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is not a capture file at all")
    r = sniffer_cli("tui", "-r", str(bad), timeout=60)
    err = r.stderr.decode().strip().splitlines()
    assert r.returncode != 0 and len(err) == 1 and err[0].startswith("sniffer: ")
    assert "Traceback" not in r.stderr.decode()


def test_tui_needs_a_source(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    r = sniffer_cli("tui", timeout=60)
    assert r.returncode == 2
    assert r.stderr.decode().strip() == (
        "sniffer: give a source: -i IFACE for live capture or -r FILE (see 'sniffer tui -h')"
    )


def test_bad_speed_and_bad_interface(sniffer_cli) -> None:  # type: ignore[no-untyped-def]
    r = sniffer_cli("tui", "-r", "captures/zeek__wikipedia.pcap", "--speed", "fast", timeout=60)
    assert r.returncode == 2 and "--speed" in r.stderr.decode() and "Traceback" not in r.stderr.decode()
    r = sniffer_cli("tui", "-i", "nosuchif0", timeout=60)
    assert r.returncode != 0 and "nosuchif0" in r.stderr.decode() and len(r.stderr.decode().splitlines()) == 1
