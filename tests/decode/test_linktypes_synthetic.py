"""Protocols the breadth corpus has no capture of (FDDI, NFLOG, IPoIB, PPI, RIPng, HSRP): frames built
here, written to a pcap per link type, read back by tshark (the oracle) and by sniffer; the Protocol and
Info columns and the listed fields must be equal."""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_writer
from sniffer.decode.fields import frame_fields
from sniffer.decode.summary import summarize
from sniffer.frame import Frame

from .test_breadth_fields import TSHARK, _ours, _tok


def _cs(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ip4udp(src: str, dst: str, sp: int, dp: int, payload: bytes, ttl: int = 64) -> bytes:
    udp = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        1,
        0,
        ttl,
        17,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return ip[:10] + struct.pack("!H", _cs(ip)) + ip[12:] + udp


def _ip6udp(src: str, dst: str, sp: int, dp: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload
    a6 = socket.inet_pton
    return struct.pack("!IHBB16s16s", 0x60000000, len(udp), 17, 255, a6(10, src), a6(10, dst)) + udp


def _eth(et: int) -> bytes:
    return bytes.fromhex("01005e000002 00000c07ac01") + struct.pack("!H", et)


def _tlv(t: int, v: bytes) -> bytes:
    b = struct.pack("<HH", 4 + len(v), t) + v
    return b + bytes(-len(b) % 4)


DNS_QUERY = bytes.fromhex("123401000001000000000000") + b"\x01a\x00\x00\x01\x00\x01"
HSRP = bytes([0, 0, 16, 3, 10, 100, 1, 0]) + b"cisco\0\0\0" + socket.inet_aton("10.0.0.254")
RIPNG = (
    bytes([2, 1, 0, 0])
    + socket.inet_pton(10, "2001:db8::")
    + struct.pack("!HBB", 0, 32, 1)
    + socket.inet_pton(10, "2001:db8:1::")
    + struct.pack("!HBB", 7, 48, 2)
)
RIPNG_REQ = bytes([1, 1, 0, 0]) + bytes(16) + struct.pack("!HBB", 0, 0, 16)
WLAN_DATA = (  # 802.11 data frame to the DS, LLC/SNAP, IPv4/UDP/DNS
    bytes.fromhex("0801 3a01 00112233aabb 0a0b0c0d0e0f 001122334455 1000 aaaa03000000 0800")
    + _ip4udp("192.168.1.2", "192.168.1.1", 5353, 53, DNS_QUERY)
)

ICMP6_ECHO = bytes.fromhex("8000 0000 1234 0001") + b"ping"
TEREDO_IP6 = struct.pack(
    "!IHBB16s16s",
    0x60000000,
    len(ICMP6_ECHO),
    58,
    64,
    socket.inet_pton(10, "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
    socket.inet_pton(10, "2001:db8::1"),
)
TEREDO_IP6 = TEREDO_IP6 + ICMP6_ECHO  # checksum left 0: tshark only flags it
ORIGIN = (
    b"\x00\x00" + struct.pack("!H", 40000 ^ 0xFFFF) + bytes(b ^ 0xFF for b in socket.inet_aton("192.0.2.45"))
)
GTP_INNER = _ip4udp("10.9.0.1", "10.9.0.2", 4000, 4001, b"gtp-payload")
GTP_U = bytes.fromhex("30ff") + struct.pack("!HI", len(GTP_INNER), 0x1234) + GTP_INNER

HCI_RESET = bytes([0x03, 0x0C, 0x00])
HCI_RESET_DONE = bytes([0x0E, 0x04, 0x01, 0x03, 0x0C, 0x00])
HCI_INQUIRY = bytes([0x01, 0x04, 0x05, 0x33, 0x8B, 0x9E, 0x08, 0x00])
HCI_INQUIRY_STATUS = bytes([0x0F, 0x04, 0x00, 0x01, 0x01, 0x04])
HCI_DISCONNECTED = bytes([0x05, 0x04, 0x00, 0x40, 0x00, 0x13])
L2CAP_INFO_REQ = (
    struct.pack("<HH", 0x2001, 10) + struct.pack("<HH", 6, 1) + bytes([0x0A, 0x01, 0x02, 0x00, 0x02, 0x00])
)
BT_FIELDS = (
    "bthci_cmd.opcode bthci_cmd.param_length bthci_evt.code bthci_evt.param_length bthci_evt.num_command_packets "
    "bthci_evt.opcode bthci_evt.status bthci_acl.chandle bthci_acl.pb_flag bthci_acl.bc_flag bthci_acl.length "
    "btl2cap.length btl2cap.cid btl2cap.cmd_code btl2cap.cmd_ident btl2cap.cmd_length"
)

#: link type -> (frames, fields compared)
CASES: dict[int, tuple[list[bytes], str]] = {
    1: (
        [
            _eth(0x0800) + _ip4udp("10.0.0.1", "224.0.0.2", 1985, 1985, HSRP, ttl=1),
            _eth(0x86DD) + _ip6udp("fe80::1", "ff02::9", 521, 521, RIPNG),
            _eth(0x86DD) + _ip6udp("fe80::1", "ff02::9", 521, 521, RIPNG_REQ),
            _eth(0x0800) + _ip4udp("192.0.2.1", "198.51.100.7", 3544, 40000, TEREDO_IP6),
            _eth(0x0800) + _ip4udp("192.0.2.1", "198.51.100.7", 3544, 40000, ORIGIN + TEREDO_IP6),
            _eth(0x0800) + _ip4udp("172.16.0.1", "172.16.0.2", 2152, 2152, GTP_U),
        ],
        "hsrp.version hsrp.opcode hsrp.state hsrp.hellotime hsrp.holdtime hsrp.priority hsrp.group "
        "hsrp.virt_ip ripng.cmd ripng.version ripng.rte.ipv6_prefix ripng.rte.route_tag "
        "ripng.rte.prefix_length ripng.rte.metric teredo.orig.port teredo.orig.addr ipv6.src ipv6.dst "
        "icmpv6.type gtp.flags gtp.message gtp.length gtp.teid ip.src udp.srcport",
    ),
    187: (
        [
            b"\x01" + HCI_RESET,
            b"\x04" + HCI_RESET_DONE,
            b"\x01" + HCI_INQUIRY,
            b"\x04" + HCI_INQUIRY_STATUS,
            b"\x04" + HCI_DISCONNECTED,
            b"\x02" + L2CAP_INFO_REQ,
        ],
        "hci_h4.type " + BT_FIELDS,
    ),
    201: (
        [b"\0\0\0\0\x01" + HCI_RESET, b"\0\0\0\x01\x04" + HCI_RESET_DONE, b"\0\0\0\x01\x02" + L2CAP_INFO_REQ],
        "hci_h4.type hci_h4.direction " + BT_FIELDS,
    ),
    254: (
        [
            b"\0\0\0\x02" + HCI_RESET,
            b"\0\0\0\x03" + HCI_RESET_DONE,
            b"\0\0\0\x05" + L2CAP_INFO_REQ,
            b"\0\0\0\x04" + L2CAP_INFO_REQ,
        ],
        "hci_mon.adapter_id hci_mon.opcode " + BT_FIELDS,
    ),
    10: (
        [
            bytes([0x50])
            + bytes.fromhex("0000c0ffee01 0000c0ffee02 aaaa03000000 0800")
            + _ip4udp("10.1.1.1", "10.1.1.2", 1234, 53, DNS_QUERY)
        ],
        "fddi.fc fddi.dst fddi.src fddi.addr llc.dsap llc.type ip.src ip.dst dns.id",
    ),
    239: (
        [
            bytes([2, 0])
            + struct.pack("!H", 5)
            + _tlv(1, b"\x08\x00\x01\x00")
            + _tlv(10, b"DROP: \0")
            + _tlv(9, _ip4udp("10.2.2.2", "10.2.2.3", 5000, 6000, b"hello"))
        ],
        "nflog.family nflog.version nflog.res_id nflog.tlv_length nflog.tlv_type nflog.protocol nflog.hook "
        "nflog.prefix ip.src udp.dstport",
    ),
    242: (
        [
            bytes.fromhex("60000000")
            + bytes(36)
            + b"\x08\x00\x00\x00"
            + _ip4udp("10.3.3.3", "10.3.3.4", 7000, 7001, b"abc")
        ],
        "ipoib.type ipoib.reserved ip.src ip.dst",
    ),
    105: (
        [WLAN_DATA],
        "wlan.fc.type_subtype wlan.flags wlan.duration wlan.ra wlan.ta wlan.da wlan.sa wlan.bssid wlan.seq wlan.frag ip.src",
    ),
    192: (
        [struct.pack("<BBHI", 0, 0, 8, 105) + WLAN_DATA],
        "ppi.version ppi.flags ppi.length ppi.dlt wlan.fc.type_subtype wlan.bssid ip.dst dns.id",
    ),
}


@pytest.mark.parametrize("linktype", sorted(CASES))
def test_synthetic_frames_agree_with_tshark(tmp_path: Path, linktype: int) -> None:
    datas, fields = CASES[linktype]
    frames = [Frame(1_700_000_000_000_000_000 + i * 1000, d, len(d), linktype) for i, d in enumerate(datas)]
    path = tmp_path / f"lt{linktype}.pcap"
    with open_writer(str(path), format="pcap", linktype=linktype) as w:
        for fr in frames:
            w.write(fr)
    names = ["_ws.col.Protocol", "_ws.col.Info", *fields.split()]
    args = [*TSHARK, "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a"]
    args += ["-E", "aggregator=,"]
    for n in names:
        args += ["-e", n]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == len(frames)
    bad = []
    for i, (row, fr) in enumerate(zip(rows, frames, strict=True)):
        s = summarize(fr)
        if (s.protocol, s.info.replace("->", "\u2192")) != (row[0], row[1]):
            bad.append(f"frame {i + 1} columns: tshark {row[:2]} sniffer {[s.protocol, s.info]}")
        ours: dict[str, Any] = frame_fields(fr)
        for name, cell in zip(names[2:], row[2:], strict=True):
            want = [_tok(x) for x in cell.split(",")] if cell else []
            got = _ours(ours.get(name))
            if want != got:
                bad.append(f"frame {i + 1} {name}: tshark {want} sniffer {got}")
    assert not bad, "\n".join(bad)
