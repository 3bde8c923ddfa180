"""Shared helpers for comparing our decoding with tshark's oracle TSVs (tests/corpus/oracle)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CAPS = CORPUS / "captures"
ORACLE = CORPUS / "oracle"

#: issue 2's "Must show" field list (plus the malformed flag, compared as present/absent)
MUST_SHOW = (
    "frame.len frame.cap_len frame.time_epoch eth.src eth.dst eth.type vlan.id sll.pkttype ip.src ip.dst "
    "ip.proto ip.ttl ip.id ip.len ip.flags.mf ip.frag_offset ipv6.src ipv6.dst ipv6.nxt ipv6.plen tcp.srcport "
    "tcp.dstport tcp.flags udp.srcport udp.dstport icmp.type icmp.code icmpv6.type icmpv6.code igmp.type "
    "igmp.version igmp.maddr arp.opcode dns.id dns.qry.name _ws.malformed"
).split()

#: the IGMP/MLD fields of the oracle (issue 6)
MCAST_FIELDS = (
    "igmp.type igmp.version igmp.maddr igmp.num_grp_recs igmp.record_type igmp.checksum.status "
    "icmpv6.type icmpv6.code icmpv6.mld.multicast_address icmpv6.mldr.nb_mcast_records "
    "icmpv6.mldr.mar.record_type icmpv6.mldr.mar.multicast_address icmpv6.checksum.status"
).split()


def expected_errors() -> dict[str, str]:
    """File -> libpcap's expected error, for the files broken at the file level."""
    out = {}
    with open(ORACLE / "libpcap-expected-errors.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out[row["file"]] = row["libpcap_expected_error (testprogs/TESTrun)"]
    # A section header and nothing else: tshark reads 0 packets, but libpcap (Debian's tcpdump here
    # too) refuses it exactly like pcapng-no-idb. We follow libpcap.
    out["pcapng-tg__output_le__basic__test002.pcapng"] = (
        "Failed opening: the capture file has no Interface Description Blocks"
    )
    return out


def oracle_rows(name: str) -> list[dict[str, str]]:
    """tshark's rows for the packets of ``name``. tshark 4.0 also shows some non-packet pcapng blocks
    (custom, decryption secrets) as frames with protocol column "PCAPNG"; capinfos and libpcap do not count
    them as packets, and neither do we."""
    with open(ORACLE / f"{name}.tsv", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [r for r in rows if r.get("_ws.col.Protocol") != "PCAPNG"]


def _tok(s: str) -> Any:
    if s.startswith("0x"):
        try:
            return int(s, 16)
        except ValueError:
            return s
    if s.isdigit():
        return int(s)
    return s


def norm_oracle(field: str, raw: str) -> Any:
    """The oracle's cell as a comparable value: None, a scalar, or a tuple for multi-valued fields."""
    if raw == "":
        return None
    if field == "_ws.malformed":
        return True
    if field in ("frame.time_epoch", "dns.qry.name"):
        parts = [raw] if field == "frame.time_epoch" else raw.split(",")
    else:
        parts = raw.split(",")
    vals = tuple(_tok(p) for p in parts)
    return vals[0] if len(vals) == 1 else vals


def norm_ours(field: str, fields: dict[str, Any]) -> Any:
    v = fields.get(field)
    if v is None:
        return None
    if field == "_ws.malformed":
        return True
    if isinstance(v, list):
        vals = tuple(_tok(str(x)) if isinstance(x, str) else x for x in v)
        return vals[0] if len(vals) == 1 else vals
    return _tok(v) if isinstance(v, str) and field != "frame.time_epoch" else v
