"""The generators' sans-IO cores driven by hand: no socket, no driver, only the ops they yield."""

from __future__ import annotations

import pytest

from sniffer.gen.core.report import Report
from sniffer.gen.traffic.io import (
    Connect,
    RecvInto,
    SendAll,
    StreamServerState,
    _now,
    conn_echo_core,
)


def test_stream_server_core_echoes_counts_and_ends_at_eof() -> None:
    seen: list[str] = []
    from sniffer.gen.traffic.io import PeerLog

    st = StreamServerState("echo", lambda: False, None, PeerLog(seen.append))
    core = st.connection(("192.0.2.1", 4000))
    op = next(core)
    assert isinstance(op, RecvInto)
    op.view[:5] = b"hello"
    out = core.send(5)
    assert isinstance(out, SendAll) and bytes(out.data) == b"hello"
    op = core.send(None)
    assert isinstance(op, RecvInto)
    with pytest.raises(StopIteration):
        core.send(0)  # the peer's EOF
    assert st.stats == {"connections": 1, "bytes_received": 5, "bytes_echoed": 5, "messages": 1}
    assert st.done == 1 and st.running()  # no max: the server goes on
    assert seen == ["connection 1 from 192.0.2.1:4000"]


def test_stream_server_core_sink_times_out_to_look_at_stop_and_a_stop_ends_it() -> None:
    stopped = [False]
    st = StreamServerState("sink", lambda: stopped[0], 1, None)
    core = st.connection(("192.0.2.1", 4000))
    op = next(core)
    assert isinstance(op, RecvInto) and op.deadline <= _now() + 1
    op = core.throw(TimeoutError())  # nothing came within the poll interval: it asks again
    assert isinstance(op, RecvInto)
    assert core.send(1000).__class__ is RecvInto  # sink: counted, nothing sent back
    stopped[0] = True
    with pytest.raises(StopIteration):
        core.throw(TimeoutError())
    assert st.stats["bytes_received"] == 1000 and st.stats["bytes_echoed"] == 0
    assert st.done == 1 and not st.running()


def test_conn_echo_core_one_tagged_echo_and_its_failures() -> None:
    rep = Report("conns")
    core = conn_echo_core(rep, 0, ("192.0.2.1", 7), 64, 77, _now() + 5, 1.0)
    op = next(core)
    assert isinstance(op, Connect) and op.addr == ("192.0.2.1", 7)
    msg = core.send(None)
    assert isinstance(msg, SendAll) and len(msg.data) == 64
    rx = core.send(None)
    assert isinstance(rx, RecvInto)
    rx.view[:40] = bytes(msg.data)[:40]  # the echo comes in two reads
    rx2 = core.send(40)
    assert isinstance(rx2, RecvInto)
    rx2.view[:24] = bytes(msg.data)[40:]
    with pytest.raises(StopIteration):
        core.send(24)
    assert (rep.sent, rep.echoed, rep.errors, rep.bytes_sent, rep.bytes_received) == (1, 1, 0, 64, 64)
    assert len(rep.rtts_ns) == 1
    # refused: one error, noted once; a foreign echo: "bad echo"
    core = conn_echo_core(rep, 1, ("192.0.2.1", 7), 64, 78, _now() + 5, 1.0)
    next(core)
    with pytest.raises(StopIteration):
        core.throw(ConnectionRefusedError(111, "Connection refused"))
    core = conn_echo_core(rep, 2, ("192.0.2.1", 7), 64, 79, _now() + 5, 1.0)
    next(core)
    core.send(None)
    rx = core.send(None)
    assert isinstance(rx, RecvInto)
    rx.view[:64] = bytes(64)
    with pytest.raises(StopIteration):
        core.send(64)
    assert rep.sent == 3 and rep.errors == 2 and rep.echoed == 1
    assert rep.notes == ["connection 1: Connection refused"]


def test_dgram_server_core_echoes_counts_ignores_and_logs_each_peer_once() -> None:
    """The datagram server's decisions, shared by the blocking/selector and asyncio drivers."""
    from sniffer.gen.traffic.io import Channel, DgramServerCore, PeerLog

    class OddOnly(Channel):  # a channel that answers / counts only odd-length datagrams
        def reply(self, data: bytes, addr: object) -> tuple[bytes, object] | None:
            return (data.upper(), addr) if len(data) % 2 else None

        def count_in(self, data: bytes, addr: object) -> bool:
            return len(data) % 2 == 1

    seen: list[str] = []
    echo = DgramServerCore(OddOnly(None), "echo", PeerLog(seen.append))  # type: ignore[arg-type]
    assert echo.datagram(b"abc", ("10.0.0.1", 5)) == (b"ABC", ("10.0.0.1", 5))
    assert echo.datagram(b"ab", ("10.0.0.1", 5)) is None  # not ours: ignored, no answer
    assert echo.datagram(b"x", ("::1", 6)) == (b"X", ("::1", 6))
    assert echo.stats == {
        "messages": 2,
        "bytes_received": 4,
        "echoed": 0,
        "ignored": 1,
    }  # echoed: the driver's
    assert seen == ["first datagram from 10.0.0.1:5", "first datagram from [::1]:6"]
    assert echo.wants_more(3) and not echo.wants_more(2) and echo.wants_more(None)
    sink = DgramServerCore(OddOnly(None), "sink")  # type: ignore[arg-type]
    assert sink.datagram(b"abc", ("10.0.0.1", 5)) is None and sink.datagram(b"ab", ("10.0.0.1", 5)) is None
    sink.count(b"abcde", ("10.0.0.2", 7))
    assert sink.stats == {"messages": 2, "bytes_received": 8, "echoed": 0, "ignored": 1}
