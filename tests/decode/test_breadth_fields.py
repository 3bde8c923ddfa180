"""Each protocol added for breadth (issue 13) gives tshark's field values on the breadth-corpus packets
that carry it: tshark runs here (``-T fields``, per-packet settings) on the real captures and every listed
field of every matching packet must be equal."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.fields import frame_fields

from .breadth import CAPS

#: (capture, display filter selecting the packets, fields compared)
CASES: list[tuple[str, str, str]] = [
    ("tcpdump__pim-packet-assortment.pcap", "pim", "pim.version pim.type pim.cksum"),
    ("tcpdump__PIM-SM_join_prune.pcap", "ip.proto == 103", "pim.version pim.type"),
    (
        "tcpdump__vrrp.pcap",
        "vrrp",
        "vrrp.version vrrp.type vrrp.virt_rtr_id vrrp.prio vrrp.addr_count "
        "vrrp.checksum vrrp.ip_addr vrrp.ipv6_addr vrrp.adver_int vrrp.short_adver_int",
    ),
    (
        "tcpdump__OSPFv2_Capture_FINAL.pcapng",
        "ospf",
        "ospf.version ospf.msg ospf.packet_length ospf.srcrouter "
        "ospf.area_id ospf.checksum ospf.auth.type ospf.hello.network_mask ospf.hello.hello_interval "
        "ospf.hello.router_priority ospf.hello.router_dead_interval ospf.hello.designated_router "
        "ospf.hello.backup_designated_router ospf.hello.active_neighbor",
    ),
    (
        "tcpdump__OSPFv3_with_AH.pcap",
        "ospf",
        "ospf.version ospf.msg ospf.packet_length ospf.srcrouter "
        "ospf.area_id ospf.instance_id ospf.hello.interface_id ospf.hello.router_priority "
        "ospf.hello.hello_interval ospf.hello.router_dead_interval ospf.hello.designated_router",
    ),
    (
        "tcpdump__EIGRP_adjacency.pcap",
        "eigrp",
        "eigrp.version eigrp.opcode eigrp.checksum eigrp.flags eigrp.seq eigrp.ack eigrp.vrid eigrp.as",
    ),
    (
        "tcpdump__bgp-4byte-asn.pcap",
        "bgp",
        "bgp.length bgp.type bgp.open.version bgp.open.myas "
        "bgp.open.holdtime bgp.open.identifier bgp.open.opt.len",
    ),
    (
        "tcpdump__bfd-raw-auth-md5.pcap",
        "bfd",
        "bfd.version bfd.diag bfd.sta bfd.flags bfd.flags.a "
        "bfd.detect_time_multiplier bfd.message_length bfd.my_discriminator bfd.your_discriminator "
        "bfd.desired_min_tx_interval bfd.required_min_rx_interval bfd.required_min_echo_interval "
        "bfd.auth.type bfd.auth.len",
    ),
    (
        "tcpdump__ldp-common-session.pcap",
        "ldp",
        "ldp.hdr.version ldp.hdr.pdu_len ldp.hdr.ldpid.lsr "
        "ldp.hdr.ldpid.lsid ldp.msg.type ldp.msg.len ldp.msg.id",
    ),
    (
        "tcpdump__ripv1v2.pcap",
        "rip",
        "rip.command rip.version rip.family rip.ip rip.metric rip.netmask rip.next_hop rip.route_tag",
    ),
]

TSHARK = [
    "tshark",
    "-n",
    "-o",
    "tcp.desegment_tcp_streams:FALSE",
    "-o",
    "ip.defragment:FALSE",
    "-o",
    "ipv6.defragment:FALSE",
]


def _tok(s: str) -> Any:
    if s.startswith("0x"):
        try:
            return int(s, 16)
        except ValueError:
            return s
    return int(s) if s.isdigit() else s


def _ours(v: Any) -> list[Any]:
    if v is None:
        return []
    vals = v if isinstance(v, list) else [v]
    return [_tok(x) if isinstance(x, str) else x for x in vals]


@pytest.mark.parametrize(("capture", "filt", "fields"), CASES, ids=[c[0] + ":" + c[1] for c in CASES])
def test_fields_agree_with_tshark(capture: str, filt: str, fields: str) -> None:
    names = fields.split()
    args = [
        *TSHARK,
        "-r",
        str(CAPS / capture),
        "-Y",
        filt,
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-e",
        "frame.number",
    ]
    for n in names:
        args += ["-e", n]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows, f"tshark found no {filt} in {capture}"
    with open_capture(str(CAPS / capture)) as r:
        frames = list(r)
    bad = []
    for row in rows:
        ours = frame_fields(frames[int(row[0]) - 1])
        for name, cell in zip(names, row[1:], strict=True):
            want = [_tok(x) for x in cell.split(",")] if cell else []
            got = _ours(ours.get(name))
            if want != got:
                bad.append(f"frame {row[0]} {name}: tshark {want} sniffer {got}")
    assert not bad, "\n".join(bad[:20])
