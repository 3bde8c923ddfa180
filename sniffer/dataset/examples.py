"""The documented example queries of `sniffer sql` (docs/dataset.md shows them; a test runs each)."""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "top talkers": (
        "SELECT src, count(*) AS packets, sum(len) AS bytes FROM packets "
        "WHERE src IS NOT NULL GROUP BY src ORDER BY bytes DESC LIMIT 10"
    ),
    "DNS names": (
        "SELECT dns_qry_name, count(*) AS queries FROM packets "
        "WHERE dns_qry_name IS NOT NULL AND col_info NOT LIKE '%response%' "
        "GROUP BY dns_qry_name ORDER BY queries DESC, dns_qry_name LIMIT 20"
    ),
    "TLS versions": (
        "SELECT src, printf('0x%04x', tls_handshake_version) AS version, any_value(tls_sni) AS sni, "
        "count(*) AS hellos FROM packets WHERE col_info LIKE 'Client Hello%' "
        "GROUP BY ALL ORDER BY version, src"
    ),
    "conversations of one address": (
        "SELECT proto, orig_h, orig_p, resp_h, resp_p, conn_state, orig_pkts + resp_pkts AS packets, "
        "file, first_frame FROM flows WHERE '127.0.0.2' IN (orig_h, resp_h) ORDER BY ts_ns"
    ),
    "packets of one conversation (then sniffer tui -r FILE, g N)": (
        "SELECT file, frame_number, col_info FROM packets WHERE tcp_stream = 0 ORDER BY file, frame_number"
    ),
}
