"""The dataset's two tables as Arrow schemas: the one place their columns are declared (docs/dataset.md
describes each). Changing a column's name or type is a new SCHEMA_VERSION."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

#: written into DATASET/_dataset.json; a dataset of another version is not appended to
SCHEMA_VERSION = 1

#: the ts columns' type
TS = pa.timestamp("us", tz="UTC")

PACKETS = pa.schema(
    [
        ("file", pa.string()),  # capture file (absolute path)
        ("frame_number", pa.int64()),  # frame.number: `sniffer tui -r FILE`, then g N
        ("offset", pa.int64()),  # byte offset of the packet's record in the file
        ("ts", TS),  # capture time (microseconds: what Spark/Trino/ClickHouse read natively)
        ("ts_ns", pa.int64()),  # exact capture time, ns since the epoch
        ("cap_len", pa.int32()),  # frame.cap_len
        ("len", pa.int32()),  # frame.len
        ("linktype", pa.int32()),
        ("interface", pa.int32()),  # frame.interface_id
        ("ifname", pa.string()),  # frame.interface_name (pcapng if_name), else null
        ("eth_src", pa.string()),
        ("eth_dst", pa.string()),
        ("ip_version", pa.int8()),
        ("src", pa.string()),  # ip.src / ipv6.src of the outermost IP header
        ("dst", pa.string()),
        ("ip_proto", pa.int16()),
        ("sport", pa.int32()),  # tcp/udp ports
        ("dport", pa.int32()),
        ("protocols", pa.string()),  # frame.protocols, e.g. eth:ethertype:ip:tcp:tls
        ("col_source", pa.string()),  # the packet list's Source / Destination / Protocol / Info columns
        ("col_destination", pa.string()),
        ("col_protocol", pa.string()),
        ("col_info", pa.string()),
        ("malformed", pa.bool_()),
        ("tcp_stream", pa.int64()),  # tcp.stream / udp.stream as Wireshark numbers them in the file
        ("udp_stream", pa.int64()),
        ("tcp_flags", pa.int16()),  # tcp.flags (12 bits)
        ("tcp_analysis", pa.list_(pa.string())),  # tcp.analysis.* flags set (short names); null: no TCP
        ("dns_qry_name", pa.string()),  # first dns.qry.name
        ("tls_handshake_version", pa.int32()),  # first tls.handshake.version (0x0301 = 769: TLS 1.0)
        ("tls_sni", pa.string()),  # tls.handshake.extensions_server_name
        ("http_host", pa.string()),  # http.host
    ]
)

FLOWS = pa.schema(
    [
        ("file", pa.string()),
        ("proto", pa.string()),  # tcp / udp
        ("stream", pa.int64()),  # tcp.stream / udp.stream: packets WHERE tcp_stream = stream AND file = file
        ("orig_h", pa.string()),  # the side that sent the first packet seen
        ("orig_p", pa.int32()),
        ("resp_h", pa.string()),
        ("resp_p", pa.int32()),
        ("ts", TS),  # first packet
        ("ts_ns", pa.int64()),
        ("last_ts_ns", pa.int64()),
        ("duration", pa.float64()),  # seconds
        ("orig_pkts", pa.int64()),
        ("orig_bytes", pa.int64()),  # frame bytes on the wire (frame.len), like tshark -z conv
        ("resp_pkts", pa.int64()),
        ("resp_bytes", pa.int64()),
        ("conn_state", pa.string()),  # Zeek's S0 S1 SF REJ S2 S3 RSTO RSTR SH OTH
        ("history", pa.string()),  # S/H/D/F/R from orig, s/h/d/f/r from resp (Zeek-like)
        ("service", pa.string()),  # first application Protocol column seen (DNS, TLSv1.2, HTTP...)
        ("first_frame", pa.int64()),  # frame numbers of the first and last packet
        ("last_frame", pa.int64()),
        ("tcp_analysis_count", pa.int64()),  # packets with a tcp.analysis flag (TCP; null for UDP)
    ]
)

#: columns of few distinct values (both tables): dictionary-encoded in the Parquet files
DICTIONARY = (
    "file",
    "linktype",
    "interface",
    "ifname",
    "eth_src",
    "eth_dst",
    "ip_version",
    "src",
    "dst",
    "ip_proto",
    "protocols",
    "col_source",
    "col_destination",
    "col_protocol",
    "malformed",
    "tcp_analysis",
    "dns_qry_name",
    "tls_handshake_version",
    "tls_sni",
    "http_host",
    "proto",
    "orig_h",
    "resp_h",
    "conn_state",
    "history",
    "service",
)

#: partition columns (hive layout: packets/date=2024-05-01/hour=13/part-....parquet), from ts in UTC
PARTITIONS = ("date", "hour")


def packet_schema(extra: Sequence[str] = ()) -> pa.Schema:
    """The packets schema with one string column per ``-e`` field (named by its Wireshark name)."""
    s = PACKETS
    for name in extra:
        s = s.append(pa.field(name, pa.string()))
    return s


def packet_columns(extra: Sequence[str] = ()) -> list[str]:
    return [f.name for f in PACKETS] + list(extra)
