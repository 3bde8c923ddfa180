"""The detail tree: every node inside the frame, fields equal to the flat dict, and each field's bytes
at its offset decode to its value."""

from __future__ import annotations

import socket

from sniffer.decode.fields import frame_fields
from sniffer.decode.tree import dissect

from .corpus_frames import corpus_frames

INT_FIELDS = {
    "eth.type",
    "ip.len",
    "ip.id",
    "ip.ttl",
    "ip.proto",
    "ip.checksum",
    "ipv6.plen",
    "ipv6.nxt",
    "ipv6.hlim",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq",
    "tcp.ack",
    "tcp.window_size_value",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "icmp.type",
    "icmp.code",
    "icmpv6.type",
    "icmpv6.code",
    "igmp.type",
    "igmp.num_grp_recs",
    "igmp.num_src",
    "igmp.record_type",
    "arp.opcode",
    "dns.id",
    "sll.pkttype",
    "icmpv6.mldr.nb_mcast_records",
    "icmpv6.mldr.mar.record_type",
    "icmpv6.mld.nb_sources",
    "vxlan.vni",
}
ADDR4 = {"ip.src", "ip.dst", "igmp.maddr", "igmp.saddr", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"}
ADDR6 = {
    "ipv6.src",
    "ipv6.dst",
    "icmpv6.mld.multicast_address",
    "icmpv6.mldr.mar.multicast_address",
    "icmpv6.mldr.mar.source_address",
    "icmpv6.nd.ns.target_address",
}
MACS = {"eth.src", "eth.dst", "arp.src.hw_mac", "arp.dst.hw_mac"}


def test_tree_nodes_match_the_bytes_and_the_fields() -> None:
    checked = 0
    for name, fr in corpus_frames():
        root = dissect(fr)
        assert root.to_fields() == frame_fields(fr), name
        data = fr.data
        layers = [n.field for n in root.children]
        assert layers[0] == "frame"
        for node in root.walk():
            assert node.offset >= 0 and node.length >= 0, (name, node)
            assert node.offset + node.length <= len(data), (name, node)
            if node.value is None:
                continue
            raw = data[node.offset : node.offset + node.length]
            f = node.field
            if f in INT_FIELDS:
                if f in ("vxlan.vni",) or node.length > 4 or (f == "ip.len" and raw == b"\0\0"):
                    continue  # (an ip.len of 0 is shown as the frame's length, as Wireshark does for TSO)
                assert int.from_bytes(raw, "big") == node.value, (name, node)
            elif f in ADDR4:
                assert socket.inet_ntop(socket.AF_INET, raw) == node.value, (name, node)
            elif f in ADDR6:
                assert socket.inet_ntop(socket.AF_INET6, raw) == node.value, (name, node)
            elif f in MACS:
                assert raw.hex(":") == node.value, (name, node)
            else:
                continue
            checked += 1
    assert checked > 15000
