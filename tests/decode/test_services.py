"""The service decoders (DNS, NTP, SNMP, SSH, ...) agree with tshark's ``-T fields`` on real captures.

For each case, tshark (the oracle, run here) prints the listed fields of every packet of a public capture
(tcp.desegment_tcp_streams, ip/ipv6 defragmenting off: one packet at a time, as sniffer decodes) and
``frame_fields`` must give the same values, occurrence for occurrence, on every packet: present where
tshark has the field, absent where it has not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.decode.fields import frame_fields

TESTS = Path(__file__).resolve().parents[1]
CORPUS = TESTS / "corpus" / "captures"
SVC = TESTS / "corpus-svc" / "captures"

pytestmark = pytest.mark.skipif(
    shutil.which("tshark") is None and not os.environ.get("CI"), reason="tshark not installed"
)

_SEP = "\x1f"  # tshark's aggregator between occurrences (values may hold commas)

DNS_FIELDS = (
    "dns.id dns.flags dns.flags.response dns.flags.opcode dns.flags.authoritative dns.flags.truncated "
    "dns.flags.recdesired dns.flags.recavail dns.flags.z dns.flags.authenticated dns.flags.checkdisable "
    "dns.flags.rcode dns.flags.conflict dns.flags.tentative dns.count.queries dns.count.answers "
    "dns.count.auth_rr dns.count.add_rr dns.qry.name dns.qry.name.len dns.count.labels dns.qry.type "
    "dns.qry.class dns.qry.qu dns.resp.name dns.resp.type dns.resp.class dns.resp.cache_flush dns.resp.ttl "
    "dns.resp.len dns.a dns.aaaa dns.cname dns.ns dns.ptr.domain_name dns.soa.mname dns.soa.rname "
    "dns.soa.serial_number dns.soa.refresh_interval dns.soa.retry_interval dns.soa.expire_limit "
    "dns.soa.minimum_ttl dns.srv.service dns.srv.proto dns.srv.name dns.srv.priority dns.srv.weight "
    "dns.srv.port dns.srv.target dns.mx.preference dns.mx.mail_exchange dns.txt dns.nsec.next_domain_name "
    "dns.rr.udp_payload_size dns.resp.ext_rcode dns.resp.edns0_version dns.resp.z dns.resp.z.do "
    "dns.opt.code dns.opt.len dns.opt.data _ws.col.Protocol _ws.col.Info"
).split()

SSH_FIELDS = (
    "ssh.protocol ssh.direction ssh.packet_length ssh.padding_length ssh.message_code ssh.cookie "
    "ssh.kex_algorithms ssh.kex_algorithms_length ssh.server_host_key_algorithms "
    "ssh.encryption_algorithms_client_to_server ssh.mac_algorithms_server_to_client "
    "ssh.compression_algorithms_client_to_server ssh.languages_server_to_client ssh.first_kex_packet_follows "
    "ssh.padding_string"
).split()

NTP_FIELDS = (
    "ntp.flags ntp.flags.li ntp.flags.vn ntp.flags.mode ntp.stratum ntp.ppoll ntp.precision ntp.rootdelay "
    "ntp.rootdispersion ntp.refid ntp.reftime ntp.org ntp.rec ntp.xmt ntp.keyid ntp.mac ntp.ctrl.flags2 "
    "ntp.ctrl.flags2.r ntp.ctrl.flags2.error ntp.ctrl.flags2.more ntp.ctrl.flags2.opcode ntp.ctrl.sequence "
    "ntp.ctrl.status ntp.ctrl.offset ntp.ctrl.count ntp.priv.flags.r ntp.priv.flags.more ntp.priv.auth "
    "ntp.priv.seq ntp.priv.impl ntp.priv.reqcode"
).split()
SYSLOG_FIELDS = ["syslog.facility", "syslog.level", "syslog.msg"]

TEXT_FIELDS = (
    "ftp.request ftp.response ftp.request.command ftp.request.arg ftp.response.code ftp.response.arg "
    "ftp.passive.ip ftp.passive.port pop.request.command pop.request.parameter pop.response.indicator "
    "pop.response.description irc.request.command irc.response.command irc.response.prefix "
    "irc.request.command_parameter irc.response.command_parameter irc.response.trailer irc.request.trailer"
).split()

#: on calls: a reply's program and procedure come from its call (tshark matches them across packets)
RPC_FIELDS = (
    "rpc.xid rpc.msgtyp rpc.version rpc.program rpc.programversion rpc.procedure rpc.lastfrag rpc.fraglen "
    "rpc.auth.flavor rpc.auth.length rpc.auth.stamp rpc.auth.machinename rpc.auth.uid rpc.auth.gid "
    "nfs.procedure_v3 nfs.fh.length nfs.fh.hash nfs.name nfs.offset3 nfs.count3 mount.procedure_v3 "
    "portmap.procedure_v2 portmap.port _ws.col.Protocol"
).split()

DNP3_FIELDS = (
    "dnp3.start dnp3.len dnp3.ctl dnp3.ctl.dir dnp3.ctl.prm dnp3.ctl.fcb dnp3.ctl.fcv dnp3.ctl.prifunc "
    "dnp3.ctl.secfunc dnp3.ctl.dfc dnp3.dst dnp3.src dnp3.addr dnp3.hdr.CRC dnp3.tr.ctl dnp3.tr.fin dnp3.tr.fir "
    "dnp3.tr.seq dnp3.al.ctl dnp3.al.fir dnp3.al.fin dnp3.al.con dnp3.al.uns dnp3.al.seq dnp3.al.func "
    "dnp3.al.iin dnp3.al.iin.rst dnp3.al.iin.dt dnp3.al.iin.tsr dnp3.al.iin.obju dnp3.al.iin.fcni _ws.col.Info"
).split()

SIP_FIELDS = (
    "sip.Method sip.r-uri sip.Status-Code sip.CSeq sip.CSeq.seq sip.CSeq.method sip.Call-ID sip.From sip.To "
    "sip.Via sip.Contact sip.Content-Length sip.Content-Type sip.Max-Forwards sip.Expires sip.User-Agent "
    "sdp.version sdp.owner sdp.session_name sdp.connection_info sdp.time sdp.media sdp.media_attr "
    "_ws.col.Protocol _ws.col.Info"
).split()

#: QUIC datagrams of long-header packets only (a short header's connection id length is known from the
#: handshake, state sniffer does not keep)
QUIC_LONG = "quic.header_form == 1 and not quic.short"
QUIC_FIELDS = (
    "quic.header_form quic.fixed_bit quic.long.packet_type quic.long.packet_type_v2 quic.version quic.dcil "
    "quic.dcid quic.scil quic.scid quic.token_length quic.length quic.packet_length _ws.col.Protocol"
).split()
#: a client's first Initial packet: decrypted with the keys its Destination Connection ID gives (later
#: ones use the first one's: tshark remembers it)
QUIC_CLIENT_FIRST = "udp.dstport == 443 and quic.packet_number == 0 and quic.long.packet_type == 0 or quic.long.packet_type_v2 == 1 and quic.packet_number == 0 and udp.dstport == 443"
QUIC_INITIAL_FIELDS = (
    "quic.packet_number quic.frame_type quic.padding_length quic.crypto.offset quic.crypto.length "
    "quic.ack.largest_acknowledged quic.ack.ack_delay quic.ack.ack_range_count quic.ack.first_ack_range "
    "_ws.col.Info"
).split()

SNMP_FIELDS = (
    "snmp.version snmp.community snmp.data snmp.request_id snmp.error_status snmp.error_index snmp.name "
    "snmp.value.int snmp.value.octets snmp.value.oid snmp.value.timeticks snmp.value.counter snmp.value.g32 "
    "snmp.value.ipv4 snmp.msgVersion snmp.msgID snmp.msgMaxSize snmp.msgFlags snmp.msgSecurityModel "
    "snmp.msgAuthoritativeEngineBoots snmp.msgAuthoritativeEngineTime snmp.msgUserName snmp.contextName "
    "_ws.col.Protocol _ws.col.Info"
).split()

NETBIOS_FIELDS = (
    "nbns.id nbns.flags nbns.flags.response nbns.flags.opcode nbns.flags.truncated nbns.flags.recdesired "
    "nbns.flags.broadcast nbns.flags.rcode nbns.count.queries nbns.count.answers nbns.count.add_rr nbns.name "
    "nbns.type nbns.class nbns.ttl nbns.data_length nbns.nb_flags nbns.nb_flags.group nbns.nb_flags.ont "
    "nbns.addr nbdgm.type nbdgm.flags nbdgm.dgram_id nbdgm.src.ip nbdgm.src.port nbdgm.dgram_len "
    "nbdgm.source_name nbdgm.destination_name smb.cmd smb.flags smb.flags2 smb.tid smb.pid smb.uid smb.mid "
    "smb.wct smb.trans_name mailslot.name browser.command browser.server browser.server_type "
    "browser.response_computer_name _ws.col.Protocol _ws.col.Info"
).split()
SMB2_FIELDS = (
    "nbss.type nbss.length smb2.protocol_id smb2.header_len smb2.credit.charge smb2.nt_status smb2.cmd "
    "smb2.flags smb2.flags.response smb2.flags.async smb2.flags.chained smb2.flags.signature smb2.chain_offset "
    "smb2.msg_id smb2.pid smb2.tid smb2.sesid _ws.col.Protocol"
).split()

DB_FIELDS = (
    "mysql.packet_length mysql.packet_number mysql.command mysql.query mysql.schema mysql.user mysql.protocol "
    "mysql.version mysql.thread_id mysql.response_code mysql.affected_rows mysql.server_status mysql.warnings "
    "mysql.num_fields pgsql.type pgsql.length pgsql.parameter_name pgsql.parameter_value pgsql.authtype "
    "pgsql.query _ws.col.Protocol _ws.col.Info"
).split()

AAA_FIELDS = (
    "radius.code radius.id radius.length radius.authenticator radius.avp.type radius.avp.length "
    "radius.User_Name kerberos.msg_type kerberos.pvno kerberos.error_code ldap.messageID ldap.protocolOp "
    "ldap.resultCode ldap.baseObject ldap.scope ldap.objectName _ws.col.Protocol"
).split()

#: (capture, fields[, tshark display filter choosing the packets compared]) : every packet of the capture is compared on those fields
CASES: list[tuple[Any, ...]] = [
    (CORPUS / "zeek__wikipedia.pcap", DNS_FIELDS),
    (CORPUS / "tcpdump__dns_udp.pcap", DNS_FIELDS),
    (CORPUS / "zeek__dns__mdns.pcap", DNS_FIELDS),
    (CORPUS / "tcpdump__dns-badcookie.pcap", DNS_FIELDS),
    (CORPUS / "dpkt__dns_icmp.pcap", DNS_FIELDS),
    (CORPUS / "dpkt__truncated_dns.pcap", DNS_FIELDS),
    (SVC / "zeek__ssh__ssh_kex_curve25519.pcap", SSH_FIELDS),
    (SVC / "zeek__var-services-std-ports.pcap", SSH_FIELDS + DNS_FIELDS + NTP_FIELDS),
    (SVC / "zeek__ntp__NTP-digest.pcap", NTP_FIELDS),
    (SVC / "zeek__ntp__ntpmode67.pcap", NTP_FIELDS),
    (SVC / "tcpdump__ntp-control.pcap", NTP_FIELDS),
    (SVC / "tcpdump__syslog_udp.pcap", SYSLOG_FIELDS),
    (SVC / "zeek__syslog-single-udp.pcap", SYSLOG_FIELDS),
    (SVC / "tcpdump__tftp.pcap", ["tftp.source_file", "tftp.type"]),
    (SVC / "zeek__ftp__ipv4.pcap", TEXT_FIELDS),
    (SVC / "zeek__pop3__pop3.pcap", TEXT_FIELDS),
    (SVC / "zeek__irc-basic.pcap", TEXT_FIELDS),
    (SVC / "zeek__nfs__nfs_write.pcap", RPC_FIELDS, "rpc.msgtyp == 0"),
    (SVC / "zeek__mount__mount_base.pcap", RPC_FIELDS, "rpc.msgtyp == 0"),
    (SVC / "zeek__nfs__nfs_write.pcap", ["rpc.xid", "rpc.msgtyp", "rpc.replystat", "rpc.state_accept"]),
    (SVC / "zeek__dnp3__dnp3.pcap", DNP3_FIELDS),
    (SVC / "zeek__sip__wireshark.pcap", SIP_FIELDS),
    (SVC / "tcpdump__RADIUS-RFC5176.pcap", AAA_FIELDS),
    (SVC / "zeek__ldap__aduser1.pcap", AAA_FIELDS, "ldap and not kerberos"),
    # (a TGS-REQ carries an AP-REQ in its pre-authentication data: not decoded)
    (SVC / "zeek__ldap__aduser1.pcap", AAA_FIELDS, "kerberos.msg_type == 10 or kerberos.msg_type == 11"),
    (SVC / "zeek__ldap__ldap-starttls.pcap", AAA_FIELDS, "ldap"),
    (SVC / "zeek__mysql__mysql.pcap", DB_FIELDS, "not mysql.field.name"),  # (column definitions: not decoded)
    (SVC / "zeek__postgresql__psql-login.pcap", DB_FIELDS, "pgsql.length"),
    (SVC / "tcpdump__eapon1.pcap", NETBIOS_FIELDS),
    (
        SVC / "tcpdump__eapon1.pcap",
        ["http.request.method", "http.request.uri", "http.host", *NETBIOS_FIELDS[-2:]],
        "ssdp",
    ),
    # (a Find response's entries are read with the information level its request gave: not here)
    (SVC / "zeek__smb__smb2readwrite.pcap", SMB2_FIELDS, "not smb2.cmd == 14"),
    (SVC / "zeek__smb__smb1.pcap", SMB2_FIELDS),
    # (Wireshark also names the file of later requests and responses, from the Create: state)
    (SVC / "zeek__smb__smb2readwrite.pcap", ["smb2.filename"], "smb2.cmd == 5 and smb2.flags.response == 0"),
    (SVC / "zeek__snmp__snmpv1_get.pcap", SNMP_FIELDS),
    (SVC / "zeek__snmp__snmpv3_get_next.pcap", SNMP_FIELDS),
    (SVC / "tcpdump__ip6-snmp-oid-unsigned.pcap", SNMP_FIELDS),
    (SVC / "tcpdump__quic_handshake.pcap", QUIC_FIELDS, QUIC_LONG),
    (SVC / "tcpdump__quic_retry.pcap", QUIC_FIELDS, QUIC_LONG),
    (SVC / "zeek__quic__quicv2-http3-443.pcap", QUIC_FIELDS, QUIC_LONG),
    (SVC / "tcpdump__quic_handshake.pcap", QUIC_INITIAL_FIELDS, QUIC_CLIENT_FIRST),
    (SVC / "tcpdump__quic_retry.pcap", QUIC_INITIAL_FIELDS, QUIC_CLIENT_FIRST),
    (SVC / "zeek__quic__quicv2-http3-443.pcap", QUIC_INITIAL_FIELDS, QUIC_CLIENT_FIRST),
    (SVC / "zeek__sip__sip-long-request-response-paths.pcap", SIP_FIELDS),
    # (a last transport segment: tshark shows the application fragment reassembled from the others)
    (SVC / "zeek__dnp3__dnp3_udp_read.pcap", DNP3_FIELDS[:-1], "not dnp3.al.fragment.count > 1"),
]

#: the protocols whose Protocol and Info columns are compared too (packets of others: only the fields)
INFO_CHECKED = (
    "dns",
    "mdns",
    "llmnr",
    "ntp",
    "syslog",
    "ftp",
    "irc",
    "dnp3",
    "sip",
    "quic",
    "snmp",
    "nbns",
    "browser",
)

#: Info columns tshark builds from state across packets (request/response tracking, TCP analysis):
#: these fields are compared only on packets of the protocols listed
_STATEFUL_INFO = {"_ws.col.Info", "_ws.col.Protocol"}


def tshark_fields(path: Path, fields: list[str], where: str = "") -> list[list[list[str]]]:
    """tshark's values: per packet, per field, the list of occurrences (empty when absent)."""
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", f"aggregator={_SEP}", "-E", "occurrence=a"]
    argv += [
        "-o",
        "tcp.desegment_tcp_streams:FALSE",
        "-o",
        "ip.defragment:FALSE",
        "-o",
        "ipv6.defragment:FALSE",
    ]
    if where:
        argv += ["-Y", where]
    argv += ["-e", "frame.number", "-e", "frame.protocols"]
    for f in fields:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = []
    for line in out.splitlines():
        cells = line.split("\t")
        rows.append([c.split(_SEP) if c else [] for c in cells])
    return rows


def _norm(v: Any) -> str:
    """One value as text both sides agree on: ints in decimal (tshark prints some in hex), byte strings
    as plain hex (tshark prints them without separators), booleans as 0/1."""
    s = str(v)
    if s.startswith("0x"):
        try:
            return str(int(s, 16))
        except ValueError:
            return s
    if s in ("True", "False"):
        return "1" if s == "True" else "0"
    if len(s) > 2 and s[2] == ":" and all(len(p) == 2 for p in s.split(":")):
        try:
            bytes.fromhex(s.replace(":", ""))
            return s.replace(":", "")
        except ValueError:
            return s
    return s.replace("\u2192", "->")


def _ours(fields: dict[str, Any], name: str) -> list[str]:
    v = fields.get(name)
    if v is None:
        return []
    # tshark prints an empty string value as nothing at all
    return [_norm(x) for x in (v if isinstance(v, list) else [v]) if x != ""]


def compare(path: Path, names: list[str], info_for: tuple[str, ...] = (), where: str = "") -> list[str]:
    """Differences between tshark and frame_fields on ``path`` (empty when they agree), on every packet
    or on those tshark's display filter ``where`` picks."""
    theirs = tshark_fields(path, names, where)
    with open_capture(str(path)) as r:
        frames = list(r)
    if not where:
        assert len(frames) == len(theirs), (path.name, len(frames), len(theirs))
    assert theirs, f"{path.name}: no packet to compare"
    bad = []
    for row in theirs:
        i = int(row[0][0])
        ours = frame_fields(frames[i - 1])
        layers = set(row[1][0].split(":")) if row[1] else set()
        for name, cell in zip(names, row[2:], strict=False):
            if name in _STATEFUL_INFO and not layers & set(info_for):
                continue
            want = [_norm(x) for x in cell if x not in ("", "<MISSING>")]  # (tshark's empty byte strings)
            got = _ours(ours, name)
            if want != got:
                bad.append(f"{path.name} #{i} {name}: ours {got[:8]} tshark {want[:8]}")
    return bad


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0].name}{'-' + c[2] if len(c) > 2 else ''}" for c in CASES])
def test_fields_agree_with_tshark(case: tuple[Any, ...]) -> None:
    path, names, where = (*case, "")[:3]
    bad = compare(path, names, INFO_CHECKED, where)
    assert not bad, "\n".join(bad[:30])


def test_dns_answers_of_wikipedia_packet_21() -> None:
    """The issue's example: 'Answer RRs: 2' and the tree showed only the query."""
    with open_capture(str(CORPUS / "zeek__wikipedia.pcap")) as r:
        fr = list(r)[20]
    f = frame_fields(fr)
    assert f["dns.count.answers"] == 2
    assert f["dns.cname"] == "upload.pmtpa.wikimedia.org"
    assert f["dns.a"] == ["208.80.152.3", "208.80.152.130", "208.80.152.142", "91.198.174.4"]
    assert f["dns.ns"] == ["ns1.wikimedia.org", "ns2.wikimedia.org", "ns0.wikimedia.org"]
    from sniffer.decode.tree import dissect

    dns = next(n for n in dissect(fr).children if n.field == "dns")
    labels = [c.name for c in dns.children]
    assert labels[-4:] == ["Queries", "Answers", "Authoritative nameservers", "Additional records"]


def test_filters_know_every_field_compared_here() -> None:
    """Each field the cases above check is one the display-filter engine accepts (its list of what
    sniffer decodes is derived from the decoders: nothing to keep in step by hand)."""
    from sniffer.model.filters import compile_filter, decoded_names

    known = decoded_names()
    names = {n for case in CASES for n in case[1] if not n.startswith("_ws.col.")}
    assert names - known == set()
    compile_filter(" or ".join(sorted(names)))
