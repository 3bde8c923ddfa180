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
    ("zeek__ncp.pcap", "ncp.type == 0x2222", "ncp.func ncp.subfunc"),
    (
        "tcpdump__afs.pcap",
        "afs && !icmp && ip.flags.mf == 0 && ip.frag_offset == 0",
        "rx.callnumber rx.seq afs.fs.opcode afs.cb.opcode afs.prot.opcode afs.vldb.opcode afs.backup.opcode",
    ),
    (
        "tcpdump__arcnet-rfc1201-arp-icmp-http.pcap",
        "arp",
        "arp.hw.type arp.hw.size arp.opcode arp.src.hw arp.src.proto_ipv4 arp.dst.hw arp.dst.proto_ipv4",
    ),
    (
        "tcpdump__nsh-over-vxlan-gpe.pcap",
        "nsh",
        "vxlan.flags vxlan.next_proto vxlan.vni nsh.version nsh.Obit nsh.CBit nsh.ttl nsh.length nsh.mdtype "
        "nsh.nextproto nsh.spi nsh.si udp.srcport ip.src",
    ),
    ("tcpdump__DECnet_Phone.pcap", "dec_dna.nsp.msg_type", "dec_dna.nsp.msg_type dec_dna.nsp.segnum"),
    (
        "tcpdump__ipx.pcap",
        "nmpi",
        "ipx.packet_type ipx.dst.socket nmpi.packettype nmpi.name_flags nmpi.conn_control nmpi.opcode "
        "nmpi.name_type nmpi.messageid browser.command",
    ),
    (
        "tcpdump__afs.pcap",
        "kerberos && udp.dstport == 4444 && !icmp",
        "kerberos.tkt_vno kerberos.realm kerberos.SNameString kerberos.etype",
    ),
    ("tcpdump__tftp.pcap", "tftp", "tftp.opcode tftp.source_file tftp.type tftp.block"),
    (
        "zeek__rdp__rdpeudp-handshake-success.pcap",
        "rdpudp",
        "rdpudp.snsourceack rdpudp.receivewindowsize rdpudp.flags rdpudp.flags.syn rdpudp.flags.ack "
        "rdpudp.flags.data rdpudp.flags.correlationid rdpudp.flags.synex rdpudp.initialsequencenumber "
        "rdpudp.upstreammtu rdpudp.downstreammtu rdpudp.synex.flags rdpudp.synex.version "
        "rdpudp.data.sncoded rdpudp.data.sourceStart",
    ),
    (
        "tcpdump__isup.pcap",
        "m3ua",
        "sctp.data_payload_proto_id m3ua.version m3ua.reserved m3ua.message_class m3ua.message_type "
        "m3ua.message_length m3ua.parameter_tag m3ua.parameter_length",
    ),
    (
        "tcpdump__lwres_with_extra.pcap",
        "lwres",
        "udp.length lwres.length lwres.version lwres.flags lwres.serial lwres.opcode lwres.result "
        "lwres.recvlen lwres.authtype lwres.authlen",
    ),
    ("tcpdump__ip6-snmp-oid-unsigned.pcap", "udp", "dhcpv6.msgtype"),
    (
        "tcpdump__lwapp-data.pcap",
        "lwapp",
        "lwapp.apid lwapp.version lwapp.slotId lwapp.flags lwapp.flags.type lwapp.fragmentId lwapp.Length "
        "lwapp.rssi lwapp.snr lwapp.control.type lwapp.control.seqno lwapp.control.length wlan.fc.type_subtype",
    ),
    ("tcpdump__wccp_redirect_gre.pcap", "gre", "gre.proto ip.src ip.dst tcp.srcport tcp.dstport"),
    (
        "zeek__tls__dtls1_2.pcap",
        "dtls",
        "dtls.record.content_type dtls.record.version dtls.record.epoch dtls.record.sequence_number "
        "dtls.record.length dtls.handshake.type dtls.handshake.length dtls.handshake.message_seq "
        "dtls.handshake.fragment_offset dtls.handshake.fragment_length",
    ),
    (
        "zeek__tls__webrtc-stun.pcap",
        "stun",
        "stun.type stun.type.class stun.type.method stun.length stun.attribute stun.att.length "
        "stun.att.username stun.att.priority stun.att.family stun.att.port stun.att.ipv4 stun.att.crc32",
    ),
    (
        "zeek__tls__webrtc-stun.pcap",
        "dtls",
        "dtls.record.content_type dtls.record.version dtls.record.epoch dtls.record.length dtls.handshake.type",
    ),
    (
        "zeek__ieee80211.15.4.pcap",
        "wpan",
        "wpan.fcf wpan.frame_type wpan.security wpan.pending wpan.ack_request wpan.pan_id_compression "
        "wpan.dst_addr_mode wpan.version wpan.src_addr_mode wpan.seq_no wpan.dst_pan wpan.dst16",
    ),
    (
        "tcpdump__sflow_expanded.pcap",
        "sflow",
        "sflow_245.version sflow_245.agenttype sflow_245.agent sflow_245.sub_agent_id "
        "sflow_245.sequence_number sflow_245.sysuptime sflow_245.numsamples",
    ),
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
    # wrappers and link types (tunnels.py), layer-2 control (l2ctl.py)
    (
        "tcpdump__pppoes.pcap",
        "pppoes",
        "pppoe.version pppoe.type pppoe.code pppoe.session_id pppoe.payload_length ppp.protocol ppp.code ppp.identifier ppp.length lcp.magic_number",
    ),
    (
        "tcpdump__pppoe.pcap",
        "pppoed",
        "pppoe.version pppoe.type pppoe.code pppoe.session_id pppoe.payload_length",
    ),
    ("zeek__pppoe-over-qinq.pcap", "ppp", "pppoe.session_id ppp.protocol ip.src ip.dst tcp.srcport"),
    (
        "tcpdump__mpls-traceroute.pcap",
        "ppp",
        "ppp.address ppp.control ppp.protocol mpls.label mpls.exp mpls.bottom mpls.ttl ip.src ip.dst",
    ),
    ("tcpdump__lspping-fec-ldp.pcap", "mpls", "mpls.label mpls.exp mpls.bottom mpls.ttl ip.src"),
    ("zeek__mixed-vlan-mpls.pcap", "mpls", "vlan.id mpls.label mpls.exp mpls.bottom mpls.ttl ip.src ip.dst"),
    ("tcpdump__mpls-over-udp.pcap", "mpls", "mpls.label mpls.bottom mpls.ttl ip.src ip.dst"),
    (
        "tcpdump__chdlc-slarp.pcap",
        "slarp",
        "chdlc.address chdlc.control chdlc.protocol slarp.ptype slarp.mysequence slarp.yoursequence",
    ),
    (
        "tcpdump__geneve.pcap",
        "geneve",
        "geneve.version geneve.flags geneve.proto_type geneve.vni eth.src ip.src ip.dst",
    ),
    (
        "zeek__tunnels__ayiya3.pcap",
        "ayiya",
        "ayiya.idlen ayiya.idtype ayiya.siglen ayiya.hashmethod ayiya.authmethod ayiya.opcode ayiya.nextheader ipv6.src ipv6.dst",
    ),
    ("zeek__tunnels__gre-over-udp-4754.pcap", "gre", "gre.proto ip.src ip.dst udp.srcport dns.id"),
    (
        "zeek__tunnels__gtp__gtp4_udp_2152_inside.pcap",
        "gtp",
        "gtp.flags gtp.flags.version gtp.message gtp.length gtp.teid ip.src ip.dst",
    ),
    (
        "tcpdump__l2tp-avp-overflow.pcap",
        "l2tp",
        "l2tp.type l2tp.length_bit l2tp.seq_bit l2tp.version l2tp.length l2tp.tunnel l2tp.session l2tp.Ns l2tp.Nr",
    ),
    (
        "tcpdump__isakmp4500.pcap",
        "udpencap",
        "udpencap.nat_keepalive esp.spi esp.sequence isakmp.exchangetype isakmp.version isakmp.flags isakmp.length",
    ),
    (
        "tcpdump__ikev2four.pcap",
        "isakmp",
        "isakmp.exchangetype isakmp.version isakmp.flags isakmp.messageid isakmp.length",
    ),
    (
        "zeek__pbb.pcap",
        "ieee8021ah",
        "ieee8021ah.priority ieee8021ah.drop ieee8021ah.nca ieee8021ah.isid ieee8021ah.cdst ieee8021ah.csrc ieee8021ah.etype",
    ),
    (
        "zeek__cisco-fabric-path.pcap",
        "cfp",
        "cfp.ftag cfp.ttl cfp.fcs eth.src eth.dst eth.type ip.src ip.dst tcp.window_size_value udp.length",
    ),
    (
        "tcpdump__802.1D_spanning_tree.pcap",
        "stp",
        "stp.protocol stp.version stp.type stp.flags stp.root.prio stp.root.ext stp.root.hw stp.root.cost stp.bridge.prio stp.bridge.ext stp.bridge.hw stp.port stp.msg_age stp.max_age stp.hello stp.forward",
    ),
    (
        "tcpdump__rpvstp-trunk-native-vid5.pcap",
        "stp || dtp || vtp",
        "llc.oui llc.cisco_pid stp.version stp.type stp.root.prio stp.root.ext stp.root.hw stp.port dtp.version vtp.version vtp.code vtp.conf_rev_num",
    ),
    (
        "tcpdump__lldp-app-priority.pcap",
        "lldp",
        "lldp.tlv.type lldp.tlv.len lldp.chassis.subtype lldp.chassis.id.mac lldp.port.subtype lldp.time_to_live lldp.tlv.system.name lldp.tlv.system.desc",
    ),
    (
        "zeek__lldp.pcap",
        "lldp",
        "lldp.tlv.type lldp.tlv.len lldp.chassis.subtype lldp.chassis.id.mac lldp.port.subtype lldp.port.id lldp.time_to_live lldp.tlv.system.name lldp.tlv.system.desc",
    ),
    (
        "zeek__cdp-v1.pcap",
        "cdp",
        "cdp.version cdp.ttl cdp.checksum cdp.tlv.type cdp.tlv.len cdp.deviceid cdp.portid cdp.platform",
    ),
    (
        "tcpdump__UDLD.pcap",
        "udld",
        "udld.version udld.opcode udld.flags udld.checksum udld.tlv.type udld.tlv.len udld.device_id udld.sent_through_interface",
    ),
    (
        "tcpdump__eapon1.pcap",
        "eapol && !(eap.type == 18)",
        "eapol.version eapol.type eapol.len eap.code eap.id eap.len eap.type eap.identity",
    ),
    (
        "tcpdump__ISIS_level1_adjacency.pcap",
        "isis",
        "isis.irpd isis.len isis.version isis.sysid_len isis.type isis.version2 isis.reserved isis.max_area_adr isis.hello.circuit_type isis.hello.source_id isis.hello.holding_timer isis.hello.pdu_length isis.lsp.pdu_length isis.lsp.remaining_life isis.lsp.lsp_id isis.lsp.sequence_number isis.csnp.source_id isis.csnp.start_lsp_id isis.csnp.end_lsp_id isis.psnp.source_id",
    ),
    ("tcpdump__spb.pcap", "isis", "isis.type isis.hello.source_id isis.lsp.lsp_id isis.lsp.sequence_number"),
    (
        "tcpdump__ptp_ethernet.pcap",
        "ptp",
        "ptp.v2.majorsdoid ptp.v2.messagetype ptp.v2.versionptp ptp.v2.messagelength ptp.v2.domainnumber ptp.v2.flags ptp.v2.clockidentity ptp.v2.sourceportid ptp.v2.sequenceid ptp.v2.controlfield ptp.v2.logmessageperiod",
    ),
    (
        "tcpdump__ipx.pcap",
        "ipx",
        "ipx.checksum ipx.len ipx.hops ipx.packet_type ipx.dst.net ipx.dst.node ipx.dst.socket ipx.src.net ipx.src.node ipx.src.socket",
    ),
    (
        "zeek__communityid__sctp.pcap",
        "sctp",
        "sctp.srcport sctp.dstport sctp.verification_tag sctp.checksum sctp.chunk_type sctp.chunk_flags "
        "sctp.chunk_length sctp.data_tsn_raw sctp.data_sid sctp.data_ssn sctp.data_payload_proto_id "
        "sctp.sack_cumulative_tsn_ack_raw sctp.sack_a_rwnd sctp.init_initiate_tag sctp.init_initial_tsn "
        "sctp.initack_initiate_tag sctp.initack_initial_tsn",
    ),
    (
        "tcpdump__arcnet-rfc1201-arp-icmp-http.pcap",
        "arcnet",
        "arcnet.src arcnet.dst arcnet.split_flag arcnet.sequence ip.src ip.dst",
    ),
    (
        "tcpdump__ipv6_mobility_1.pcap",
        "mipv6",
        "mip6.proto mip6.hlen mip6.mhtype mip6.reserved mip6.csum ipv6.src",
    ),
    (
        "tcpdump__lspping-fec-ldp.pcap",
        "mpls_echo.version",
        "mpls_echo.version mpls_echo.flags mpls_echo.msg_type mpls_echo.reply_mode mpls_echo.return_code mpls_echo.return_subcode mpls_echo.sender_handle mpls_echo.sequence",
    ),
    (
        "zeek__radiotap.pcap",
        "wlan",
        "radiotap.version radiotap.length radiotap.flags wlan.fc.type_subtype wlan.flags wlan.duration wlan.ra wlan.ta "
        "wlan.da wlan.sa wlan.bssid wlan.addr wlan.seq wlan.frag llc.dsap ip.src ipv6.src",
    ),
    (
        "tcpdump__status_code-1.pcap",
        "wlan",
        "wlan.fc.type_subtype wlan.flags wlan.ra wlan.ta wlan.bssid wlan.seq wlan.frag",
    ),
    (
        "zeek__ncp.pcap",
        "ncp",
        "ncp.ip.signature ncp.ip.length ncp.ip.version ncp.ip.replybufsize ncp.type ncp.seq ncp.connection "
        "ncp.task ncp.completion_code ncp.connection_status",
    ),
    (
        "tcpdump__afs.pcap",
        "rx && !icmp && rx.type != 6 && rx.type != 7",
        "rx.cid rx.callnumber rx.seq rx.serial rx.type rx.flags rx.userstatus rx.securityindex rx.spare "
        "rx.serviceid rx.reason",
    ),
    (
        "tcpdump__pgm_poll_polr.pcap",
        "pgm",
        "pgm.hdr.sport pgm.hdr.dport pgm.hdr.type pgm.hdr.opts pgm.hdr.cksum pgm.hdr.tsdulen",
    ),
    (
        "tcpdump__NHRP_registration.pcap",
        "nhrp",
        "nhrp.hdr.afn nhrp.hdr.pro.type nhrp.hdr.hopcnt nhrp.hdr.pktsz nhrp.hdr.chksum nhrp.hdr.extoff nhrp.hdr.version nhrp.hdr.op.type nhrp.reqid",
    ),
    ("tcpdump__lisp_eid_register.pcap", "lisp", "lisp.type"),
    ("tcpdump__OLSRv1_HNA_sgw_1.pcap", "olsr", "olsr.packet_len olsr.packet_seq_num"),
    ("tcpdump__rsvp_cap.pcap", "rsvp", "rsvp.msg"),
    (
        "tcpdump__mrinfo_query.pcap",
        "dvmrp",
        "igmp.type dvmrp.version dvmrp.type dvmrp.v3.code dvmrp.checksum",
    ),
    ("tcpdump__PIM-SM_join_prune.pcap", "pim.version == 1", "igmp.type pim.code pim.version"),
    ("tcpdump__arista_ether.pcap", "avsp", "avsp.sub_type avsp.ver avsp.etype ip.src"),
    (
        "zeek__vntag.pcap",
        "vntag",
        "vntag.dir vntag.ptr vntag.dst vntag.looped vntag.version vntag.src vntag.etype vlan.id ip.src",
    ),
    ("tcpdump__macsec-encrypted.pcap", "macsec", "macsec.TCI macsec.AN macsec.SL macsec.PN"),
    (
        "tcpdump__slow-ossp.pcap",
        "ossp",
        "slow.subtype ossp.oui ossp.itu.subtype ossp.esmc.version ossp.esmc.event_flag ossp.esmc.tlv_ql_ssm",
    ),
    (
        "tcpdump__vsock-1.pcapng",
        "vsock",
        "vsock.src_cid vsock.dst_cid vsock.src_port vsock.dst_port vsock.op vsock.trans vsock.trans_len "
        "vsock.virtio.src_cid vsock.virtio.dst_cid vsock.virtio.src_prot vsock.virtio.dst_prot vsock.virtio.len "
        "vsock.virtio.type vsock.virtio.op vsock.virtio.flags vsock.virtio.buf_alloc vsock.virtio.fwd_cnt",
    ),
    (
        "tcpdump__LINKTYPE_PKTAP.pcap",
        "pktap",
        "pktap.hdrlen pktap.rectype pktap.dlt pktap.ifname eth.src ip.src dns.id",
    ),
    (
        "tcpdump__rpvstp-trunk-native-vid5.pcap",
        "loop",
        "loop.skipcount loop.function loop.relevant_function loop.receipt_number",
    ),
    ("zeek__pbb.pcap", "bofl", "bofl.pdu bofl.sequence"),
    ("tcpdump__afs.pcap", "afs.fs.opcode && udp.dstport == 7000", "afs.fs.opcode rx.type"),
    ("tcpdump__afs.pcap", "afs.vldb.opcode && udp.dstport == 7003", "afs.vldb.opcode rx.type"),
    (
        "zeek__tunnels__gre-aruba-ccmp.pcap",
        "wlan",
        "gre.proto wlan.fc.type_subtype wlan.flags wlan.ra wlan.ta wlan.da wlan.sa wlan.bssid wlan.seq",
    ),
    (
        "tcpdump__erspan-type-iii-pb-1.pcap",
        "erspan",
        "erspan.version erspan.vlan erspan.cos erspan.encap erspan.bso erspan.truncated erspan.spanid",
    ),
    (
        "tcpdump__resp_1_benchmark.pcap",
        "resp",
        "resp.string resp.error resp.integer resp.bulk_string.length resp.array.length "
        "_ws.col.Protocol _ws.col.Info",
    ),
    ("zeek__redis__set.pcap", "resp", "resp.string resp.bulk_string.length resp.array.length _ws.col.Info"),
    ("zeek__finger__standard.pcap", "finger", "_ws.col.Protocol _ws.col.Info"),
    ("tcpdump__whois.pcap", "whois.query", "_ws.col.Protocol _ws.col.Info"),
    ("zeek__tcp-syslog.pcap", "rsh", "_ws.col.Protocol _ws.col.Info"),
    ("zeek__gnutella__max-header.pcapng", "gnutella", "_ws.col.Protocol"),
    ("tcpdump__ipv4_tcp_http_xml.pcap", "xml", "frame.protocols _ws.col.Protocol _ws.col.Info"),
    (
        "zeek__dce-rpc__dce_rpc_netlogon.pcapng",
        "dcerpc.pkt_type == 11 || dcerpc.pkt_type == 12",
        "dcerpc.ver dcerpc.ver_minor dcerpc.pkt_type dcerpc.cn_flags dcerpc.cn_frag_len dcerpc.cn_auth_len "
        "dcerpc.cn_call_id dcerpc.cn_max_xmit dcerpc.cn_max_recv dcerpc.cn_assoc_group dcerpc.cn_num_ctx_items "
        "dcerpc.cn_ctx_id dcerpc.cn_num_trans_items dcerpc.cn_bind_to_uuid dcerpc.cn_bind_if_ver "
        "dcerpc.cn_bind_if_ver_minor dcerpc.cn_bind_trans_id dcerpc.cn_bind_trans_ver dcerpc.cn_sec_addr_len "
        "dcerpc.cn_sec_addr dcerpc.cn_num_results dcerpc.cn_ack_result dcerpc.cn_ack_reason "
        "dcerpc.cn_ack_trans_id dcerpc.cn_ack_trans_ver _ws.col.Protocol",
    ),
    (
        "zeek__dce-rpc__cs_window7-join_stream092.pcap",
        "dcerpc",
        "dcerpc.ver dcerpc.pkt_type dcerpc.cn_flags dcerpc.cn_frag_len dcerpc.cn_call_id dcerpc.cn_alloc_hint "
        "dcerpc.cn_ctx_id dcerpc.cn_cancel_count dcerpc.cn_max_xmit dcerpc.cn_num_results",
    ),
    (
        "tcpdump__wccp_redirect_gre.pcap",
        "dcerpc",
        "smb.trans_name dcerpc.pkt_type dcerpc.cn_call_id dcerpc.cn_alloc_hint dcerpc.cn_ctx_id dcerpc.opnum "
        "frame.protocols _ws.col.Protocol",
    ),
    # (a response's opnum is the request's: tshark matches them across packets)
    (
        "zeek__dce-rpc__cs_window7-join_stream092.pcap",
        "dcerpc.pkt_type == 0",
        "dcerpc.opnum dcerpc.cn_ctx_id",
    ),
    (
        "zeek__tls__tls13_wolfssl.pcap",
        "tls.handshake",
        "tls.record.content_type tls.record.version tls.record.length tls.handshake.type "
        "tls.handshake.extensions.supported_version _ws.col.Protocol _ws.col.Info",
    ),
    ("zeek__bittorrent__tracker.pcap", "http.request", "http.request.method http.request.uri _ws.col.Info"),
    (
        "zeek__tls__ssl-v2.pcap",
        "tls && frame.number <= 8",
        "tls.record.version tls.record.length tls.handshake.type tls.handshake.version "
        "tls.handshake.cipher_spec_len tls.handshake.session_id_length tls.handshake.challenge_length "
        "tls.handshake.cipherspec tls.handshake.session_id_hit tls.handshake.cert_type "
        "tls.handshake.certificate_length tls.handshake.connection_id_length tls.handshake.clear_key_length "
        "tls.handshake.encrypted_key_length tls.handshake.key_arg_length _ws.col.Protocol _ws.col.Info",
    ),
    ("tcpdump__nfs-write-verf-cookie.pcapng", "tls", "tls.record.version tls.record.length _ws.col.Protocol"),
    (
        "zeek__rdp__rdp-x509.pcap",
        "cotp.type == 0x0e || cotp.type == 0x0d",
        "tpkt.version tpkt.reserved tpkt.length cotp.li cotp.type cotp.destref cotp.srcref cotp.class "
        "cotp.opts.extended_formats cotp.opts.no_explicit_flow_control rdp.rt_cookie rdp.neg_type "
        "rdp.neg_length rdp.negReq.requestedProtocols rdp.negReq.selectedProtocol _ws.col.Protocol",
    ),
    (
        "zeek__mmsX.pcap",
        "tpkt",
        "tpkt.version tpkt.length cotp.li cotp.type cotp.srcref cotp.destref _ws.col.Protocol",
    ),
    (
        "zeek__tls__xmpp-starttls.pcap",
        "xmpp",
        "xmpp.in xmpp.out xmpp.xmlns xmpp.xml_header_version frame.protocols _ws.col.Protocol _ws.col.Info",
    ),
    (
        "zeek__tls__xmpp-starttls.pcap",
        "tls.record.content_type == 20 || tls.alert_message",
        "tls.record.content_type tls.record.length frame.protocols _ws.col.Protocol",
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
