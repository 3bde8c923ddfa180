"""Synthesized Ethernet/IPv4/TCP and UDP frames for traffic no NIC carries (AF_UNIX relays).

A relayed unix connection becomes a TCP conversation between fixed loopback addresses with its own
client port, complete with handshake, correct sequence/acknowledgement numbers, checksums and FIN
teardown, so Wireshark's and tshark's "follow TCP stream" and our decoder show it as a conversation.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

from sniffer.checksum import checksum
from sniffer.frame import DIR_IN, DIR_OUT, LINKTYPE_ETHERNET, Frame

CLIENT_IP = bytes([127, 0, 0, 1])
SERVER_IP = bytes([127, 0, 0, 2])
CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")
ETH_IPV4 = b"\x08\x00"
MSS = 65483  # the largest TCP payload one loopback segment carries (MTU 65536)

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
IPPROTO_TCP, IPPROTO_UDP = 6, 17

_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHHH")


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    hdr = _IP.pack(0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def _l4_checksum(src: bytes, dst: bytes, proto: int, segment: bytes) -> int:
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(segment))
    return checksum(pseudo + segment)


def ether(src_mac: bytes, dst_mac: bytes, packet: bytes) -> bytes:
    return dst_mac + src_mac + ETH_IPV4 + packet


class TcpConversation:
    """One synthesized TCP connection; every method returns the frames to write, in order."""

    def __init__(self, client_port: int, server_port: int, comment: str | None = None) -> None:
        self.cport = client_port
        self.sport = server_port
        self.cseq = 1_000_000 + client_port * 7919 % 1_000_000  # any ISN: deterministic per port
        self.sseq = 5_000_000 + client_port * 104729 % 1_000_000
        self.ident = 0
        self.comment = comment
        self.closed_by: set[bool] = set()

    def _frame(
        self, from_client: bool, flags: int, payload: bytes = b"", comment: str | None = None
    ) -> Frame:
        if from_client:
            src, dst, sp, dp, seq, ack = CLIENT_IP, SERVER_IP, self.cport, self.sport, self.cseq, self.sseq
            smac, dmac = CLIENT_MAC, SERVER_MAC
        else:
            src, dst, sp, dp, seq, ack = SERVER_IP, CLIENT_IP, self.sport, self.cport, self.sseq, self.cseq
            smac, dmac = SERVER_MAC, CLIENT_MAC
        if not flags & TCP_ACK:
            ack = 0
        seg = _TCP.pack(sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0) + payload
        seg = seg[:16] + struct.pack("!H", _l4_checksum(src, dst, IPPROTO_TCP, seg)) + seg[18:]
        self.ident += 1
        data = ether(smac, dmac, ipv4(src, dst, IPPROTO_TCP, seg, self.ident))
        return Frame(
            time.time_ns(),
            data,
            len(data),
            LINKTYPE_ETHERNET,
            0,
            DIR_OUT if from_client else DIR_IN,
            "",
            comment,
        )

    def open(self) -> list[Frame]:
        out = [self._frame(True, TCP_SYN, comment=self.comment)]
        self.cseq += 1
        out.append(self._frame(False, TCP_SYN | TCP_ACK))
        self.sseq += 1
        out.append(self._frame(True, TCP_ACK))
        return out

    def data(self, from_client: bool, payload: bytes) -> Iterator[Frame]:
        """One segment per MSS (a seqpacket record shorter than MSS stays one segment)."""
        view = memoryview(payload)
        for i in range(0, len(payload), MSS):
            chunk = bytes(view[i : i + MSS])
            yield self._frame(from_client, TCP_PSH | TCP_ACK, chunk)
            if from_client:
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)

    def close(self, from_client: bool) -> list[Frame]:
        """A FIN from one side, acknowledged by the other; once both closed, the last ACK."""
        if from_client in self.closed_by:
            return []
        self.closed_by.add(from_client)
        out = [self._frame(from_client, TCP_FIN | TCP_ACK)]
        if from_client:
            self.cseq += 1
        else:
            self.sseq += 1
        out.append(self._frame(not from_client, TCP_ACK))
        return out

    def reset(self, from_client: bool) -> list[Frame]:
        self.closed_by.update((True, False))
        return [self._frame(from_client, TCP_RST | TCP_ACK)]


def udp_frame(
    from_client: bool,
    client_port: int,
    server_port: int,
    payload: bytes,
    ident: int,
    comment: str | None = None,
) -> Frame:
    """One synthesized UDP datagram between the fixed client and server addresses."""
    if from_client:
        src, dst, sp, dp, smac, dmac = CLIENT_IP, SERVER_IP, client_port, server_port, CLIENT_MAC, SERVER_MAC
    else:
        src, dst, sp, dp, smac, dmac = SERVER_IP, CLIENT_IP, server_port, client_port, SERVER_MAC, CLIENT_MAC
    seg = _UDP.pack(sp, dp, 8 + len(payload), 0) + payload
    csum = _l4_checksum(src, dst, IPPROTO_UDP, seg) or 0xFFFF
    seg = seg[:6] + struct.pack("!H", csum) + seg[8:]
    data = ether(smac, dmac, ipv4(src, dst, IPPROTO_UDP, seg, ident))
    return Frame(
        time.time_ns(), data, len(data), LINKTYPE_ETHERNET, 0, DIR_OUT if from_client else DIR_IN, "", comment
    )
