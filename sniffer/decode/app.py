"""Application layers decoded by hand: DNS/mDNS (header and questions), DHCP (BOOTP + option 53), DHCPv6."""

from __future__ import annotations

from sniffer.decode.core import HEX4, TCP_PORTS, UDP_PORTS, Ctx, F, Header, ip4, mac

DNS_TYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    41: "OPT",
    43: "DS",
    46: "RRSIG",
    47: "NSEC",
    48: "DNSKEY",
    65: "HTTPS",
    255: "ANY",
}

DNS = Header(
    (
        F("dns.id", "Transaction ID", 0, 2, disp=HEX4),
        F("dns.flags", "Flags", 2, 2, disp=HEX4),
        F("dns.flags.response", "Response", 2, 1, mask=0x80),
        F("dns.flags.opcode", "Opcode", 2, 1, mask=0x78),
        F("dns.flags.authoritative", "Authoritative", 2, 1, mask=0x04),
        F("dns.flags.truncated", "Truncated", 2, 1, mask=0x02),
        F("dns.flags.recdesired", "Recursion desired", 2, 1, mask=0x01),
        F("dns.flags.recavail", "Recursion available", 3, 1, mask=0x80),
        F("dns.flags.rcode", "Reply code", 3, 1, mask=0x0F),
        F("dns.count.queries", "Questions", 4, 2),
        F("dns.count.answers", "Answer RRs", 6, 2),
        F("dns.count.auth_rr", "Authority RRs", 8, 2),
        F("dns.count.add_rr", "Additional RRs", 10, 2),
    )
)


def dns_name(data: bytes, base: int, off: int, lim: int) -> tuple[str, int] | None:
    """Read a (possibly compressed) DNS name at ``off`` of the message at ``base``; returns (name, bytes
    used at off) or None."""
    labels: list[str] = []
    used = -1
    hops = 0
    o = off
    while True:
        if o >= lim:
            return None
        ln = data[o]
        if ln == 0:
            if used < 0:
                used = o + 1 - off
            break
        if ln & 0xC0 == 0xC0:
            if o + 1 >= lim:
                return None
            if used < 0:
                used = o + 2 - off
            o = base + (((ln & 0x3F) << 8) | data[o + 1])
            hops += 1
            if hops > 64:
                return None
            continue
        if ln & 0xC0:
            return None
        if o + 1 + ln > lim:
            return None
        labels.append(data[o + 1 : o + 1 + ln].decode("latin-1"))
        o += 1 + ln
    return (".".join(labels) if labels else "<Root>"), used


def _dns(ctx: Ctx, off: int, end: int, proto: str) -> None:
    ctx.push("dns", "Domain Name System", off, 12)
    ctx.proto = proto
    v = DNS.read(ctx, off, end)
    if v is None:
        return
    data = ctx.data
    lim = min(end, len(data))
    resp = v["dns.flags.response"]
    did = v["dns.id"]
    opcode = v["dns.flags.opcode"]
    kind = "Standard query" if opcode == 0 else f"Opcode {opcode}"
    head = f"{kind}{' response' if resp else ''} 0x{did:04x}"
    if resp and v["dns.flags.rcode"]:
        head += f" rcode {v['dns.flags.rcode']}"
    o = off + 12
    parts = []
    for _ in range(min(v["dns.count.queries"], 256)):
        r = dns_name(data, off, o, lim)
        if r is None or o + r[1] + 4 > lim:
            ctx.short(lim + 1, end)
            break
        name, used = r
        qtype = int.from_bytes(data[o + used : o + used + 2], "big")
        qclass = int.from_bytes(data[o + used + 2 : o + used + 4], "big")
        node = ctx.sub(f"{name}: type {DNS_TYPES.get(qtype, qtype)}", "dns.qry", o, used + 4)
        ctx.add("dns.qry.name", name, o, used, "Name", None, node)
        ctx.add("dns.qry.type", qtype, o + used, 2, "Type", None, node)
        ctx.add("dns.qry.class", qclass & 0x7FFF, o + used + 2, 2, "Class", None, node)
        parts.append(f"{DNS_TYPES.get(qtype, qtype)} {name}")
        o += used + 4
    ctx.layer.length = o - off
    ctx.info = head + (" " + ", ".join(parts) if parts else "")


@UDP_PORTS.register(53)
def dissect_dns(ctx: Ctx, off: int, end: int) -> None:
    _dns(ctx, off, end, "DNS")


@UDP_PORTS.register(5353)
def dissect_mdns(ctx: Ctx, off: int, end: int) -> None:
    _dns(ctx, off, end, "MDNS")
    ctx.protos[-1] = "mdns"


@UDP_PORTS.register(5355)
def dissect_llmnr(ctx: Ctx, off: int, end: int) -> None:
    _dns(ctx, off, end, "LLMNR")
    ctx.protos[-1] = "llmnr"


@TCP_PORTS.register(53)
def dissect_dns_tcp(ctx: Ctx, off: int, end: int) -> None:
    if not ctx.has(off, 2, end):
        return
    ctx.add("dns.length", int.from_bytes(ctx.data[off : off + 2], "big"), off, 2, "Length")
    _dns(ctx, off + 2, end, "DNS")


DHCP_TYPES = {
    1: "Discover",
    2: "Offer",
    3: "Request",
    4: "Decline",
    5: "ACK",
    6: "NAK",
    7: "Release",
    8: "Inform",
}
BOOTP = Header(
    (
        F("dhcp.type", "Message type", 0, 1),
        F("dhcp.hw.type", "Hardware type", 1, 1),
        F("dhcp.hw.len", "Hardware address length", 2, 1),
        F("dhcp.hops", "Hops", 3, 1),
        F("dhcp.id", "Transaction ID", 4, 4, disp=lambda v: f"0x{v:08x}"),
        F("dhcp.secs", "Seconds elapsed", 8, 2),
        F("dhcp.flags", "Bootp flags", 10, 2, disp=HEX4),
        F("dhcp.ip.client", "Client IP address", 12, 4, "ip4"),
        F("dhcp.ip.your", "Your (client) IP address", 16, 4, "ip4"),
        F("dhcp.ip.server", "Next server IP address", 20, 4, "ip4"),
        F("dhcp.ip.relay", "Relay agent IP address", 24, 4, "ip4"),
    )
)


@UDP_PORTS.register(67, 68)
def dissect_dhcp(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("dhcp", "Dynamic Host Configuration Protocol", off, 240)
    ctx.proto = "BOOTP"
    v = BOOTP.read(ctx, off, end)
    if v is None:
        return
    data = ctx.data
    op = v["dhcp.type"]
    chaddr = ""
    if v["dhcp.hw.len"] == 6 and ctx.has(off + 28, 6, end):
        chaddr = mac(data[off + 28 : off + 34])
        ctx.add("dhcp.hw.mac_addr", chaddr, off + 28, 6, "Client MAC address")
    ctx.info = f"Boot {'Request' if op == 1 else 'Reply'} from {chaddr}" if chaddr else "Boot"
    if not ctx.has(off + 236, 4, end):
        if ctx.truncated:
            ctx.info += " [Packet size limited during capture]"
        return
    if data[off + 236 : off + 240] != b"\x63\x82\x53\x63":
        return
    ctx.add(
        "dhcp.cookie", ip4(data[off + 236 : off + 240]), off + 236, 4, "Magic cookie", "Magic cookie: DHCP"
    )
    o = off + 240
    lim = min(end, len(data))
    while o < lim:
        code = data[o]
        if code == 255:
            break
        if code == 0:
            o += 1
            continue
        if o + 1 >= lim:
            break
        ln = data[o + 1]
        if o + 2 + ln > lim:
            break
        ctx.add("dhcp.option.type", code, o, 1, "Option")
        if code == 53 and ln == 1:
            mt = data[o + 2]
            ctx.add("dhcp.option.dhcp", mt, o + 2, 1, "DHCP", f"DHCP: {DHCP_TYPES.get(mt, mt)} ({mt})")
            ctx.proto = "DHCP"
            ctx.info = f"DHCP {DHCP_TYPES.get(mt, mt)} - Transaction ID 0x{v['dhcp.id']:x}"
        elif code == 50 and ln == 4:
            ctx.add(
                "dhcp.option.requested_ip_address", ip4(data[o + 2 : o + 6]), o + 2, 4, "Requested IP Address"
            )
        elif code == 12:
            ctx.add(
                "dhcp.option.hostname", data[o + 2 : o + 2 + ln].decode("latin-1"), o + 2, ln, "Host Name"
            )
        o += 2 + ln


DHCPV6_TYPES = {
    1: "Solicit",
    2: "Advertise",
    3: "Request",
    4: "Confirm",
    5: "Renew",
    6: "Rebind",
    7: "Reply",
    8: "Release",
    9: "Decline",
    10: "Reconfigure",
    11: "Information-request",
    12: "Relay-forw",
    13: "Relay-reply",
}


@UDP_PORTS.register(546, 547)
def dissect_dhcpv6(ctx: Ctx, off: int, end: int) -> None:
    ctx.push("dhcpv6", "DHCPv6", off, 4)
    ctx.proto = "DHCPv6"
    if not ctx.has(off, 1, end):
        return
    mt = ctx.data[off]
    ctx.add(
        "dhcpv6.msgtype",
        mt,
        off,
        1,
        "Message type",
        f"Message type: {DHCPV6_TYPES.get(mt, 'Unknown')} ({mt})",
    )
    name = DHCPV6_TYPES.get(mt, f"Unknown message type {mt}")
    if mt in (12, 13):
        ctx.info = name
        return
    if not ctx.has(off + 1, 3, end):
        ctx.info = name
        return
    xid = int.from_bytes(ctx.data[off + 1 : off + 4], "big")
    ctx.add("dhcpv6.xid", xid, off + 1, 3, "Transaction ID", f"Transaction ID: 0x{xid:06x}")
    ctx.info = f"{name} XID: 0x{xid:06x}"
