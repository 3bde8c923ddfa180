"""Packet-list colouring after Wireshark's default colouring rules (first matching rule wins)."""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style

from sniffer.model.store import Row

DARK = "#12272e"

# (name, background, foreground) in Wireshark's default colorfilters order
RULES: dict[str, tuple[str, str]] = {
    "Bad TCP / malformed": (DARK, "#f78787"),
    "ICMP errors": (DARK, "#b7f774"),
    "ARP": ("#faf0d7", DARK),
    "ICMP": ("#fce0ff", DARK),
    "TCP RST": ("#a40000", "#fffc9c"),
    "SMB": ("#feffd0", DARK),
    "HTTP": ("#e4ffc7", DARK),
    "Routing": ("#fff3d6", DARK),
    "TCP SYN/FIN": ("#a0a0a0", DARK),
    "TCP": ("#e7e6ff", DARK),
    "UDP": ("#daeeff", DARK),
}

ICMP_ERRORS = (
    "unreachable",
    "time-to-live exceeded",
    "time exceeded",
    "ttl exceeded",
    "packet too big",
    "parameter problem",
    "source quench",
    "redirect",
)
ROUTING = {
    "IGMP",
    "IGMPV1",
    "IGMPV2",
    "IGMPV3",
    "OSPF",
    "BGP",
    "EIGRP",
    "VRRP",
    "CARP",
    "CDP",
    "HSRP",
    "PIM",
    "RIP",
}
OVER_TCP = {
    "TCP",
    "TLS",
    "TLSV1",
    "TLSV1.1",
    "TLSV1.2",
    "TLSV1.3",
    "SSL",
    "SSLV3",
    "SSH",
    "SSHV2",
    "FTP",
    "FTP-DATA",
    "SMTP",
    "IMAP",
    "POP",
    "TELNET",
    "MYSQL",
    "PGSQL",
    "REDIS",
    "MPTCP",
    "PPTP",
    "LDAP",
    "RDP",
}
OVER_UDP = {
    "UDP",
    "DNS",
    "MDNS",
    "LLMNR",
    "DHCP",
    "DHCPV6",
    "BOOTP",
    "NTP",
    "SSDP",
    "QUIC",
    "SNMP",
    "SYSLOG",
    "VXLAN",
    "NBNS",
    "TFTP",
    "RTP",
    "RTCP",
    "SIP",
    "UDP-LITE",
    "GQUIC",
    "WIREGUARD",
    "OPENVPN",
}
HTTP = {"HTTP", "HTTP2", "HTTP/JSON", "HTTP/XML", "OCSP"}
SMB = {"SMB", "SMB2", "NBSS", "NETBIOS"}


def rule_for(protocol: str, info: str, malformed: bool) -> str | None:
    """Name of the first Wireshark colouring rule matching a packet-list row, or None."""
    p = protocol.upper()
    if malformed:
        return "Bad TCP / malformed"
    low = info.lower()
    if p in ("ICMP", "ICMPV6"):
        if any(k in low for k in ICMP_ERRORS):
            return "ICMP errors"
        return "ICMP"
    if p in ("ARP", "RARP"):
        return "ARP"
    if p in ("MLD", "MLDV2", "MLDV1") or p.startswith("ICMP"):
        return "ICMP"
    if "[RST" in info or ", RST" in info:
        return "TCP RST"
    if p in SMB:
        return "SMB"
    if p in HTTP:
        return "HTTP"
    if p in ROUTING or p.startswith("IGMP"):
        return "Routing"
    if p in OVER_TCP:
        if "[SYN" in info or "FIN" in info.split("]")[0]:
            return "TCP SYN/FIN"
        return "TCP"
    if p in OVER_UDP:
        return "UDP"
    return None


@lru_cache(maxsize=64)
def _style(rule: str | None) -> Style:
    if rule is None:
        return Style()
    bg, fg = RULES[rule]
    return Style(color=fg, bgcolor=bg)


def row_style(row: Row) -> Style:
    """Rich style (background and foreground) of a row."""
    return _style(rule_for(row.protocol, row.info, row.malformed))


# Wireshark's "Bad TCP" rule (tcp.analysis.flags && !tcp.analysis.window_update && !tcp.analysis.keep_alive
# && !tcp.analysis.keep_alive_ack): the packet list applies it to the packets the expert pass flagged
BAD_TCP_STYLE = _style("Bad TCP / malformed")
