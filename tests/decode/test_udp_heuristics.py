"""UDP heuristic dissectors (core.Heuristics: DTLS, STUN) on any port, on the full dissector and on the
read fast path: a datagram the heuristics take leaves the fast path; a look-alike stays plain UDP with the
same line either way. Conversation binding (core.Conversations): a TFTP request makes the transfer on
the new server port TFTP, in the dissector, the fast path and read's text loop."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.core import UDP_CONVERSATIONS, UDP_HEURISTICS
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import _fast, format_line, iter_text, slow_summary, summarize
from sniffer.frame import Frame

from .breadth import CAPS
from .test_breadth_fields import _ours, _tok


def _udp(payload: bytes, sport: int = 40000, dport: int = 50000) -> Frame:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, b"\n\0\0\1", b"\n\0\0\2")
    data = bytes(6) + bytes(5) + b"\1" + b"\x08\x00" + ip + udp
    return Frame(0, data, len(data), 1)


@pytest.fixture(autouse=True)
def _no_bound_conversations() -> Any:
    """Each test starts and ends with no bound conversation (they are process-wide state)."""
    UDP_CONVERSATIONS.clear()
    yield
    UDP_CONVERSATIONS.clear()


DTLS_CCS = bytes.fromhex("14fefd00000000000000000001") + b"\x01"
STUN_REQ = bytes.fromhex("000100002112a442") + bytes(range(12))


@pytest.mark.parametrize(
    ("payload", "proto", "info"),
    [
        (DTLS_CCS, "DTLSv1.2", "Change Cipher Spec"),
        (
            DTLS_CCS + bytes.fromhex("15feff000100000000000100020102"),
            "DTLSv1.2",
            "Change Cipher Spec, Encrypted Alert",
        ),
        (STUN_REQ, "STUN", "Binding Request"),
    ],
)
def test_heuristics_take_their_protocol_on_any_port(payload: bytes, proto: str, info: str) -> None:
    fr = _udp(payload)
    assert _fast(fr) is None  # the probe sends it to the dissector
    s = summarize(fr)
    assert (s.protocol, s.info) == (proto, info)


@pytest.mark.parametrize(
    "payload",
    [
        DTLS_CCS[:-1],  # a record longer than the datagram
        bytes.fromhex("00fe0000000000000000000000"),  # byte 1 0xfe, content type 0
        STUN_REQ + b"\0\0\0\0",  # cookie, but the length is not the rest of the datagram
        b"\x40" + STUN_REQ[1:],  # cookie, type bits set
    ],
)
def test_look_alikes_stay_udp_with_the_fast_path_line(payload: bytes) -> None:
    fr = _udp(payload)
    s = slow_summary(fr)
    assert s.protocol == "UDP"
    assert s.info == f"40000 -> 50000 Len={len(payload)}"


def test_probes_are_fast_path_shapes() -> None:
    with pytest.raises(ValueError):
        UDP_HEURISTICS.register(2, b"\0")
    assert 0xFE in UDP_HEURISTICS.probes(1, 1)
    assert 0x2112A442 in UDP_HEURISTICS.probes(4, 4)


def _udp_between(payload: bytes, src: bytes, sport: int, dst: bytes, dport: int) -> Frame:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, src, dst)
    data = bytes(6) + bytes(5) + b"\1" + b"\x08\x00" + ip + udp
    return Frame(0, data, len(data), 1)


def test_a_tftp_request_binds_the_transfer_on_any_server_port() -> None:
    client, server, other = b"\x0a\x09\0\1", b"\x0a\x09\0\2", b"\x0a\x09\0\3"
    data = _udp_between(b"\x00\x03\x00\x01" + bytes(100), server, 6000, client, 5000)
    ack = _udp_between(b"\x00\x04\x00\x01", client, 5000, server, 6000)
    UDP_CONVERSATIONS.clear()
    try:
        assert summarize(data).protocol == "UDP"  # no request seen yet: Wireshark too
        req = _udp_between(b"\x00\x01f\x00octet\x00", client, 5000, server, 69)
        assert summarize(req).info == "Read Request, File: f, Transfer type: octet"
        assert _fast(data) is None and _fast(ack) is None  # bound: off the fast path
        assert (summarize(data).protocol, summarize(data).info) == ("TFTP", "Data Packet, Block: 1 (last)")
        assert summarize(ack).info == "Acknowledgement, Block: 1"
        # another host talking to the same client port is not the transfer
        assert summarize(_udp_between(b"\x00\x04\x00\x01", other, 6000, client, 5000)).protocol == "UDP"
    finally:
        UDP_CONVERSATIONS.clear()


def test_the_read_loop_follows_the_tftp_transfer() -> None:
    UDP_CONVERSATIONS.clear()
    try:
        with open_capture(str(CAPS / "tcpdump__tftp.pcap")) as r:
            text = "".join(iter_text(r))
        assert [line.split()[5] for line in text.splitlines()] == ["TFTP"] * 7
        UDP_CONVERSATIONS.clear()
        with open_capture(str(CAPS / "tcpdump__tftp.pcap")) as r:
            assert text == "".join(format_line(i, fr) + "\n" for i, fr in enumerate(r, 1))
    finally:
        UDP_CONVERSATIONS.clear()


def _wg_frames() -> list[Frame]:
    rnd = bytes(range(7, 250))
    return [
        _udp(b"\x01\0\0\0" + struct.pack("<I", 0x11223344) + rnd[:140], 40000, 51820),  # 148 bytes
        _udp(b"\x02\0\0\0" + struct.pack("<II", 0x55667788, 0x11223344) + rnd[:80], 51820, 40000),  # 92
        _udp(b"\x03\0\0\0" + struct.pack("<I", 0x11223344) + rnd[:56], 40000, 51820),  # 64
        _udp(b"\x04\0\0\0" + struct.pack("<IQ", 0x55667788, 7) + rnd[:32], 40000, 51820),  # data
        _udp(b"\x04\0\0\0" + struct.pack("<IQ", 0x55667788, 8) + rnd[:16], 40000, 51820),  # keepalive
        _udp(b"\x04\0\0\0" + struct.pack("<IQ", 0x55667788, 8) + rnd[:17], 40000, 51820),  # not a WG length
    ]


def _ovpn_frames() -> list[Frame]:
    sid, rsid = bytes.fromhex("1122334455667788"), bytes.fromhex("8877665544332211")
    hmac = bytes(range(1, 21))
    return [
        _udp(bytes([7 << 3]) + sid + b"\x00" + struct.pack("!I", 0), 40000, 1194),
        _udp(
            bytes([8 << 3]) + rsid + b"\x01" + struct.pack("!I", 0) + sid + struct.pack("!I", 0), 1194, 40000
        ),
        _udp(bytes([5 << 3]) + sid + b"\x01" + struct.pack("!I", 1) + rsid, 40000, 1194),
        _udp(
            bytes([4 << 3 | 1]) + sid + b"\x00" + struct.pack("!I", 2) + b"\x17\x03\x03\x00\x02ab",
            40000,
            1194,
        ),
        _udp(bytes([9 << 3 | 1]) + b"\x00\x00\x05" + bytes(range(40)), 40000, 1194),
        _udp(bytes([6 << 3]) + bytes(range(40)), 40000, 1194),
        # tls-auth: an HMAC, packet id and net time after the session id
        _udp(
            bytes([7 << 3]) + sid + hmac + struct.pack("!II", 1, 1700000000) + b"\x00" + struct.pack("!I", 0),
            40000,
            1194,
        ),
    ]


def _bacnet_frames() -> list[Frame]:
    def bvlc(fn: int, npdu: str, extra: str = "") -> Frame:
        body = bytes.fromhex(extra) + bytes.fromhex(npdu)
        return _udp(bytes([0x81, fn]) + struct.pack("!H", 4 + len(body)) + body, 47808, 47808)

    return [
        bvlc(0x0B, "0120ffff00ff1008"),  # who-Is, broadcast to the global network
        bvlc(0x0B, "0120ffff00ff1000c4020004d22205c49103220104"),  # i-Am device,1234
        bvlc(0x0A, "01040005010c0c020004d2194d"),  # readProperty device,1234 object-name
        bvlc(0x0A, "010030010c0c020004d2194d3e7505004142434f3f"),  # its Complex-ACK
        bvlc(0x0A, "010020010f"),  # Simple-ACK writeProperty
        bvlc(0x0A, "010050010c91029120"),  # Error
        bvlc(0x04, "01001008", extra="0a000005bac0"),  # Forwarded-NPDU
        bvlc(0x0A, "0124000a0105ff0005020c0c00000001195500"),  # routed (DNET, DADR, hop count)
        bvlc(0x0A, "01040005030f0c0000000119553e44429600003f"),  # writeProperty
        bvlc(0x0A, "0100600209"),  # Reject
        bvlc(0x0A, "0100700204"),  # Abort
    ]


@pytest.mark.parametrize(
    ("frames", "fields"),
    [
        (_wg_frames, "wg.type wg.sender wg.receiver wg.counter"),
        (
            _bacnet_frames,
            "bvlc.type bvlc.function bacnet.version bacnet.control bacapp.type bacapp.confirmed_service "
            "bacapp.unconfirmed_service bacapp.invoke_id",
        ),
        (
            _ovpn_frames,
            "openvpn.opcode openvpn.keyid openvpn.sessionid openvpn.pid openvpn.mpidarraylength "
            "openvpn.mpidarrayelement openvpn.rsessionid openvpn.mpid openvpn.peerid",
        ),
    ],
    ids=["wireguard", "bacnet", "openvpn"],
)
def test_fields_and_columns_agree_with_tshark_on_built_frames(
    frames: Any, fields: str, tmp_path: Path
) -> None:
    frs = frames()
    path = tmp_path / "vpn.pcap"
    path.write_bytes(
        struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
        + b"".join(struct.pack("<IIII", 1, 0, len(f[1]), len(f[1])) + f[1] for f in frs)
    )
    names = ["_ws.col.Protocol", "_ws.col.Info", *fields.split()]
    args = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a"]
    for n in names:
        args += ["-e", n]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    bad = []
    for fr, line in zip(frs, out.splitlines(), strict=True):
        ours = frame_fields(fr)
        for name, cell in zip(names, line.split("\t"), strict=True):
            want = [_tok(x) for x in cell.split(",")] if cell else []
            got = _ours(ours.get(name))
            if name.startswith("_ws.col."):
                want, got = [cell], [ours[name].replace("->", "→")]
            if want != got:
                bad.append(f"{name}: tshark {want} sniffer {got}")
    assert not bad, "\n".join(bad)
