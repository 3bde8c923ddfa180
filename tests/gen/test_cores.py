"""The generators' sans-IO cores driven by hand: no socket, no driver, only the ops they yield."""

from __future__ import annotations

import pytest

from sniffer.gen.core.client import conn_echo_core
from sniffer.gen.core.ops import Connect, RecvInto, SendAll, now
from sniffer.gen.core.report import Report
from sniffer.gen.core.server import StreamServerState


def test_stream_server_core_echoes_counts_and_ends_at_eof() -> None:
    seen: list[str] = []
    from sniffer.gen.core.server import PeerLog

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
    assert isinstance(op, RecvInto) and op.deadline <= now() + 1
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
    core = conn_echo_core(rep, 0, ("192.0.2.1", 7), 64, 77, now() + 5, 1.0)
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
    core = conn_echo_core(rep, 1, ("192.0.2.1", 7), 64, 78, now() + 5, 1.0)
    next(core)
    with pytest.raises(StopIteration):
        core.throw(ConnectionRefusedError(111, "Connection refused"))
    core = conn_echo_core(rep, 2, ("192.0.2.1", 7), 64, 79, now() + 5, 1.0)
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
    from sniffer.gen.core.ops import Channel
    from sniffer.gen.core.server import DgramServer, PeerLog

    class OddOnly(Channel):  # a channel that answers / counts only odd-length datagrams
        def reply(self, data: bytes, addr: object) -> tuple[bytes, object] | None:
            return (data.upper(), addr) if len(data) % 2 else None

        def count_in(self, data: bytes, addr: object) -> bool:
            return len(data) % 2 == 1

    seen: list[str] = []
    echo = DgramServer(OddOnly(None), "echo", PeerLog(seen.append))  # type: ignore[arg-type]
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
    sink = DgramServer(OddOnly(None), "sink")  # type: ignore[arg-type]
    assert sink.datagram(b"abc", ("10.0.0.1", 5)) is None and sink.datagram(b"ab", ("10.0.0.1", 5)) is None
    sink.count(b"abcde", ("10.0.0.2", 7))
    assert sink.stats == {"messages": 2, "bytes_received": 8, "echoed": 0, "ignored": 1}


def test_resume_hands_results_and_errors_in_and_says_when_a_core_ended() -> None:
    from sniffer.gen.core.ops import resume

    def core():  # type: ignore[no-untyped-def]
        try:
            got = yield "first"
            yield f"got {got}"
        except TimeoutError:
            yield "timed out"

    c = core()
    assert resume(c) == "first"
    assert resume(c, 5) == "got 5"
    c = core()
    resume(c)
    assert resume(c, None, TimeoutError()) == "timed out"
    assert resume(c) is None  # ended


def test_connect_then_reports_the_connect_and_runs_the_rest() -> None:
    from sniffer.gen.core.ops import ConnectFailed, Sleep, connect_then

    def rest():  # type: ignore[no-untyped-def]
        yield Sleep(0.5)

    connected: list[bool] = []
    core = connect_then(("192.0.2.1", 7), 1.0, rest(), lambda: connected.append(True))
    op = next(core)
    assert isinstance(op, Connect) and op.addr == ("192.0.2.1", 7) and op.deadline <= now() + 1.0
    assert isinstance(core.send(None), Sleep) and connected == [True]
    core = connect_then(("192.0.2.1", 7), 1.0, rest())
    next(core)
    with pytest.raises(ConnectFailed) as info:
        core.throw(ConnectionRefusedError(111, "Connection refused"))
    assert isinstance(info.value.cause, ConnectionRefusedError)


def test_dgram_blast_core_batches_waits_for_room_and_stops_when_stalled() -> None:
    """Unpaced: batches of 256 (Burst); a datagram the full socket refused is sent again once there is
    room (SendTo) and the batch goes on after it; a socket that stays full ends the run."""
    from sniffer.gen.core.client import RunSettings, dgram_blast_core
    from sniffer.gen.core.ops import Burst, Channel, SendTo

    ch = Channel(None, ("192.0.2.1", 9))
    rep = Report("blast")
    core = dgram_blast_core(ch, rep, RunSettings(mode="blast", count=300, duration=5, size=64, flow_id=1))
    b = next(core)
    assert isinstance(b, Burst) and (b.first, b.end, b.last) == (0, 256, 299)
    wait = core.send((100, b"refused"))  # the socket took 0..99 and refused 100
    assert isinstance(wait, SendTo) and wait.data == b"refused" and wait.dest == ("192.0.2.1", 9)
    b = core.send(5)
    assert isinstance(b, Burst) and (b.first, b.end) == (101, 256)
    b = core.send((256, None))
    assert isinstance(b, Burst) and (b.first, b.end) == (256, 300)
    assert isinstance(core.send((290, b"x")), SendTo)
    with pytest.raises(StopIteration):
        core.throw(TimeoutError())  # no room for a second past the end: stalled
    assert (rep.sent, rep.bytes_sent) == (290, 290 * 64)


def test_dgram_blast_core_paced_sleeps_until_the_next_is_due() -> None:
    from sniffer.gen.core.client import RunSettings, dgram_blast_core
    from sniffer.gen.core.ops import Burst, Channel, Sleep

    rep = Report("blast")
    core = dgram_blast_core(Channel(None), rep, RunSettings(count=3, duration=5, pps=10, flow_id=1))
    b = next(core)
    assert isinstance(b, Burst) and (b.first, b.end) == (0, 1)  # the first is due at once
    s = core.send((1, None))
    assert isinstance(s, Sleep) and 0 < s.seconds <= 0.05  # the next one is due 0.1 s after the start
    core.close()


def test_dgram_server_core_echo_and_sink_loops() -> None:
    """DgramServer.core: echo answers with SendTo and counts it once sent; a sink takes what else is
    queued (RecvReady, bounded by what max_msgs leaves) and counts it; timeouts just look at stop."""
    from sniffer.gen.core.ops import Channel, RecvFrom, RecvReady, SendTo
    from sniffer.gen.core.server import DgramServer

    stop = [False]
    echo = DgramServer(Channel(None), "echo")
    core = echo.core(lambda: stop[0])
    op = next(core)
    assert isinstance(op, RecvFrom)
    assert isinstance(core.throw(TimeoutError()), RecvFrom)
    out = core.send((b"ping", ("10.0.0.1", 5)))
    assert isinstance(out, SendTo) and (out.data, out.dest) == (b"ping", ("10.0.0.1", 5))
    assert isinstance(core.send(4), RecvFrom)
    assert echo.stats == {"messages": 1, "bytes_received": 4, "echoed": 1, "ignored": 0}
    stop[0] = True
    with pytest.raises(StopIteration):
        core.throw(TimeoutError())

    sink = DgramServer(Channel(None), "sink")
    core = sink.core(lambda: False, max_msgs=4)
    next(core)
    ready = core.send((b"a", "x"))
    assert isinstance(ready, RecvReady) and ready.limit == 3
    with pytest.raises(StopIteration):  # four counted: max_msgs reached
        core.send([(b"bb", "x"), (b"cc", "y"), (b"dd", "y")])
    assert sink.stats == {"messages": 4, "bytes_received": 7, "echoed": 0, "ignored": 0}


def test_conn_plan_numbers_connections_and_counts_a_socket_that_could_not_be_made() -> None:
    from sniffer.gen.core.client import ConnPlan, RunSettings
    from sniffer.gen.core.payload import parse_tag

    rep = Report("conns")
    plan = ConnPlan(rep, ("192.0.2.1", 7), RunSettings(conns=2, duration=5, flow_id=100, size=64))
    assert plan.left() and not plan.over()
    assert plan.take() == 0

    def no_socket() -> None:
        raise OSError(24, "Too many open files")

    assert plan.open(0, no_socket) is None
    assert (rep.sent, rep.errors, rep.notes) == (1, 1, ["connection 0: Too many open files"])
    assert plan.take() == 1 and not plan.left()
    core = plan.core(1)
    assert isinstance(next(core), Connect)
    msg = core.send(None)
    assert isinstance(msg, SendAll)
    tag = parse_tag(bytes(msg.data))
    assert tag is not None and tag.flow_id == 101  # flow_id + index
    core.close()
