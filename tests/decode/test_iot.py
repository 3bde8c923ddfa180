"""MQTT, Modbus/TCP, OpenFlow (decode.iot) and HTTP/2 with its preface (decode.http2) against tshark on segments built here (no public capture of them is in
the corpora): every listed field of every packet, and the Protocol and Info columns, equal tshark's."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import summarize

from .httptls import ip4_tcp_frame, pcap

pytestmark = pytest.mark.skipif(
    shutil.which("tshark") is None and not os.environ.get("CI"), reason="tshark not installed"
)


def _rl(n: int) -> bytes:
    out = b""
    while True:
        b, n = n % 128, n // 128
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _s(x: bytes) -> bytes:
    return struct.pack("!H", len(x)) + x


def _mq(t: int, flags: int, body: bytes) -> bytes:
    return bytes([t << 4 | flags]) + _rl(len(body)) + body


def _mb(trans: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack("!HHHB", trans, 0, len(pdu) + 1, unit) + pdu


def _of(version: int, t: int, body: bytes = b"", xid: int = 1) -> bytes:
    return struct.pack("!BBHI", version, t, 8 + len(body), xid) + body


_H2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _h2(t: int, flags: int, sid: int, body: bytes) -> bytes:
    return struct.pack("!I", len(body))[1:] + bytes([t, flags]) + struct.pack("!I", sid) + body


#: (client -> server?, server port, payload)
MESSAGES: list[tuple[bool, int, bytes]] = [
    (True, 1883, _mq(1, 0, _s(b"MQTT") + b"\x04\x02\x00\x3c" + _s(b"client-1"))),
    (False, 1883, _mq(2, 0, b"\x01\x00")),
    (True, 1883, _mq(3, 0, _s(b"a/b") + b"hello")),
    (True, 1883, _mq(3, 2, _s(b"a/c") + b"\x00\x07" + b"hi")),
    (True, 1883, _mq(3, 0x0B, _s(b"sensors/t") + b"\x00\x08" + b"21.5")),
    (False, 1883, _mq(4, 0, b"\x00\x07")),
    (True, 1883, _mq(8, 2, b"\x00\x09" + _s(b"x/#") + b"\x01" + _s(b"y/+") + b"\x00")),
    (False, 1883, _mq(9, 0, b"\x00\x09\x01\x00")),
    (True, 1883, _mq(12, 0, b"") + _mq(14, 0, b"")),
    (False, 1883, _mq(13, 0, b"")),
    (True, 1883, _mq(10, 2, b"\x00\x0a" + _s(b"x/#"))),
    (False, 1883, _mq(11, 0, b"\x00\x0a")),
    (True, 502, _mb(1, 1, b"\x03" + struct.pack("!HH", 0, 10))),
    (False, 502, _mb(1, 1, b"\x03\x04\x00\x01\x00\x02")),
    (True, 502, _mb(2, 17, b"\x06" + struct.pack("!HH", 5, 99))),
    (False, 502, _mb(2, 17, b"\x86\x02")),
    (True, 502, _mb(3, 255, b"\x01" + struct.pack("!HH", 100, 16))),
    (True, 502, _mb(4, 2, b"\x10" + struct.pack("!HHB", 1, 2, 4) + b"\x00\x0a\x01\x02")),
    (True, 6653, _of(1, 0)),
    (False, 6653, _of(4, 0)),
    (True, 6653, _of(4, 5, xid=2)),
    (False, 6653, _of(4, 6, struct.pack("!QIBB2xII", 1, 256, 254, 0, 0x4F, 0), xid=2)),
    (True, 6653, _of(4, 2, b"ab", xid=3)),
    (True, 6653, _of(1, 2, xid=4) + _of(1, 3, xid=5)),
    (False, 6653, _of(5, 2, b"xyz", xid=9)),
    (
        True,
        80,
        _H2
        + _h2(4, 0, 0, b"\x00\x03\x00\x00\x00\x64\x00\x04\x00\x00\xff\xff")
        + _h2(8, 0, 0, b"\x00\x0f\x00\x01")
        + _h2(1, 5, 1, b"\x82\x86\x84\x41\x0bexample.com"),
    ),
    (True, 8080, _H2),
    (True, 80, _H2 + _h2(6, 0, 0, b"12345678") + _h2(7, 0, 0, bytes(8))),
    (True, 80, _H2 + _h2(1, 4, 3, b"\x83\x87\x04\x06/a?b=1")),
]

FIELDS = (
    "mqtt.hdrflags mqtt.msgtype mqtt.dupflag mqtt.qos mqtt.retain mqtt.hdr_reserved mqtt.len mqtt.proto_len "
    "mqtt.protoname mqtt.ver mqtt.conflags mqtt.conflag.uname mqtt.conflag.qos mqtt.conflag.cleansess "
    "mqtt.kalive mqtt.clientid_len mqtt.clientid mqtt.conack.flags mqtt.conack.flags.sp "
    "mqtt.connack.reason_code mqtt.topic_len mqtt.topic mqtt.msgid mqtt.sub.qos mqtt.suback.reason_code "
    "mbtcp.trans_id mbtcp.prot_id mbtcp.len mbtcp.unit_id modbus.func_code modbus.reference_num "
    "modbus.word_cnt modbus.bit_cnt modbus.byte_cnt modbus.exception_code openflow.version openflow_1_0.type "
    "openflow.length openflow.xid openflow_v4.version openflow_v4.type openflow_v4.length openflow_v4.xid "
    "openflow_v5.version openflow_v5.type openflow_v5.xid http2.magic http2.length http2.type http2.flags http2.r "
    "http2.streamid http2.settings.id http2.settings.max_concurrent_streams http2.settings.initial_window_size "
    "http2.window_update.window_size_increment http2.goaway.last_stream_id http2.goaway.error "
    "frame.protocols _ws.col.Protocol"
).split()


def _tok(s: str) -> Any:
    if s.startswith("0x"):
        return int(s, 16)
    if s in ("True", "False"):
        return int(s == "True")
    return int(s) if s.lstrip("-").isdigit() else s


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = []
    for i, (to_server, port, payload) in enumerate(MESSAGES):
        client = 40000 + 2 * i  # a conversation each: tshark's TCP analysis sees no retransmission
        frames.append(
            ip4_tcp_frame(client, port, payload) if to_server else ip4_tcp_frame(port, client, payload)
        )
    p = tmp_path_factory.mktemp("iot") / "iot.pcap"
    p.write_bytes(pcap(frames))
    return p


def _tshark(path: Path, fields: list[str]) -> list[list[str]]:
    args = ["tshark", "-n", "-o", "tcp.desegment_tcp_streams:FALSE", "-r", str(path), "-T", "fields"]
    args += ["-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\x1f"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_fields_agree_with_tshark(capture: Path) -> None:
    rows = _tshark(capture, FIELDS)
    with open_capture(str(capture)) as r:
        frames = list(r)
    assert len(rows) == len(frames) == len(MESSAGES)
    bad = []
    for i, (row, fr) in enumerate(zip(rows, frames, strict=True)):
        ours = frame_fields(fr)
        for name, cell in zip(FIELDS, row, strict=True):
            cell = cell.replace("\\r", "\r").replace("\\n", "\n")  # (tshark escapes line ends)
            want = [_tok(x) for x in cell.split("\x1f")] if cell else []
            v = ours.get(name)
            got = (
                []
                if v is None
                else [_tok(x) if isinstance(x, str) else x for x in (v if isinstance(v, list) else [v])]
            )
            if want != got:
                bad.append(f"frame {i + 1} {name}: tshark {want} sniffer {got}")
    assert not bad, "\n".join(bad[:30])


def test_columns_agree_with_tshark(capture: Path) -> None:
    rows = _tshark(capture, ["_ws.col.Protocol", "_ws.col.Info"])
    with open_capture(str(capture)) as r:
        got = [summarize(fr) for fr in r]
    assert [(s.protocol, s.info) for s in got] == [(r[0], r[1]) for r in rows]
