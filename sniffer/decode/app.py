"""Application layers decoded by hand: DNS/mDNS (header and questions), DHCP (BOOTP + option 53), DHCPv6."""

from __future__ import annotations

from typing import Any

from sniffer.decode.core import COLUMNS, HEX2, HEX4, TCP_PORTS, UDP_PORTS, Ctx, F, Header, Node, ip4, ip6, mac

#: record type -> Wireshark's short name (the Info column and the tree)
DNS_TYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    13: "HINFO",
    15: "MX",
    16: "TXT",
    17: "RP",
    18: "AFSDB",
    24: "SIG",
    25: "KEY",
    28: "AAAA",
    29: "LOC",
    33: "SRV",
    35: "NAPTR",
    39: "DNAME",
    41: "OPT",
    43: "DS",
    44: "SSHFP",
    46: "RRSIG",
    47: "NSEC",
    48: "DNSKEY",
    50: "NSEC3",
    51: "NSEC3PARAM",
    52: "TLSA",
    64: "SVCB",
    65: "HTTPS",
    99: "SPF",
    249: "TKEY",
    250: "TSIG",
    251: "IXFR",
    252: "AXFR",
    255: "ANY",
    256: "URI",
    257: "CAA",
}
DNS_CLASSES = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
DNS_OPCODES = {
    0: "Standard query",
    1: "Inverse query",
    2: "Server status request",
    4: "Zone change notification",
    5: "Dynamic update",
}
DNS_RCODES = {
    0: "No error",
    1: "Format error",
    2: "Server failure",
    3: "No such name",
    4: "Not implemented",
    5: "Refused",
    6: "Name exists",
    7: "RRset exists",
    8: "RRset does not exist",
    9: "Not authoritative",
    10: "Name out of zone",
}

_DNS_ID = (
    F("dns.id", "Transaction ID", 0, 2, disp=HEX4),
    F("dns.flags", "Flags", 2, 2, disp=HEX4),
    F("dns.flags.response", "Response", 2, 1, mask=0x80),
    F("dns.flags.opcode", "Opcode", 2, 1, mask=0x78, names=DNS_OPCODES),
)
_DNS_COUNTS = (
    F("dns.count.queries", "Questions", 4, 2),
    F("dns.count.answers", "Answer RRs", 6, 2),
    F("dns.count.auth_rr", "Authority RRs", 8, 2),
    F("dns.count.add_rr", "Additional RRs", 10, 2),
)
#: the header of a query (Wireshark shows the answer-only flags in responses alone)
DNS_QUERY = Header(
    (
        *_DNS_ID,
        F("dns.flags.truncated", "Truncated", 2, 1, mask=0x02),
        F("dns.flags.recdesired", "Recursion desired", 2, 1, mask=0x01),
        F("dns.flags.z", "Z", 3, 1, mask=0x40),
        F("dns.flags.checkdisable", "Non-authenticated data", 3, 1, mask=0x10),
        *_DNS_COUNTS,
    )
)
#: a query's AD bit, shown (like Wireshark) only when set
DNS_QUERY_AD = F("dns.flags.authenticated", "AD bit", 3, 1, mask=0x20)
DNS_RESPONSE = Header(
    (
        *_DNS_ID,
        F("dns.flags.authoritative", "Authoritative", 2, 1, mask=0x04),
        F("dns.flags.truncated", "Truncated", 2, 1, mask=0x02),
        F("dns.flags.recdesired", "Recursion desired", 2, 1, mask=0x01),
        F("dns.flags.recavail", "Recursion available", 3, 1, mask=0x80),
        F("dns.flags.z", "Z", 3, 1, mask=0x40),
        F("dns.flags.authenticated", "Answer authenticated", 3, 1, mask=0x20),
        F("dns.flags.checkdisable", "Non-authenticated data", 3, 1, mask=0x10),
        F("dns.flags.rcode", "Reply code", 3, 1, mask=0x0F, names=DNS_RCODES),
        *_DNS_COUNTS,
    )
)
DNS = DNS_RESPONSE  # every header field, for those who list them
_LLMNR_FLAGS = (
    F("dns.flags.conflict", "Conflict", 2, 1, mask=0x04),
    F("dns.flags.truncated", "Truncated", 2, 1, mask=0x02),
    F("dns.flags.tentative", "Tentative", 2, 1, mask=0x01),
)
#: LLMNR (RFC 4795) uses the DNS header with its own flags
LLMNR_QUERY = Header((*_DNS_ID, *_LLMNR_FLAGS, *_DNS_COUNTS))
LLMNR_RESPONSE = Header(
    (
        *_DNS_ID,
        *_LLMNR_FLAGS,
        F("dns.flags.rcode", "Reply code", 3, 1, mask=0x0F, names=DNS_RCODES),
        *_DNS_COUNTS,
    )
)

#: the fixed part of a resource record after its name (type, class, TTL, data length)
DNS_RR = Header(
    (
        F("dns.resp.type", "Type", 0, 2, names=DNS_TYPES),
        F("dns.resp.class", "Class", 2, 2, disp=HEX4, names=DNS_CLASSES),
        F("dns.resp.ttl", "Time to live", 4, 4),
        F("dns.resp.len", "Data length", 8, 2),
    )
)
#: an EDNS0 OPT pseudo-record's fixed part (RFC 6891): class and TTL carry other things
DNS_OPT = Header(
    (
        F("dns.resp.type", "Type", 0, 2, names=DNS_TYPES),
        F("dns.rr.udp_payload_size", "UDP payload size", 2, 2),
        F("dns.resp.ext_rcode", "Higher bits in extended RCODE", 4, 1, disp=HEX2),
        F("dns.resp.edns0_version", "EDNS0 version", 5, 1),
        F("dns.resp.z", "Z", 6, 2, disp=HEX4),
        F("dns.resp.z.do", "DO bit", 6, 1, mask=0x80),
        F("dns.resp.z.reserved", "Reserved", 6, 2, mask=0x7FFF, disp=HEX4),
        F("dns.resp.len", "Data length", 8, 2),
    )
)
DNS_SOA = Header(
    (
        F("dns.soa.serial_number", "Serial Number", 0, 4),
        F("dns.soa.refresh_interval", "Refresh Interval", 4, 4),
        F("dns.soa.retry_interval", "Retry Interval", 8, 4),
        F("dns.soa.expire_limit", "Expire limit", 12, 4),
        F("dns.soa.minimum_ttl", "Minimum TTL", 16, 4),
    )
)
DNS_SRV = Header(
    (
        F("dns.srv.priority", "Priority", 0, 2),
        F("dns.srv.weight", "Weight", 2, 2),
        F("dns.srv.port", "Port", 4, 2),
    )
)
#: record types whose data is one domain name -> its field (and what the tree calls it)
_NAME_DATA = {
    2: ("dns.ns", "Name Server", "ns"),
    5: ("dns.cname", "CNAME", "cname"),
    12: ("dns.ptr.domain_name", "Domain Name", "ptr"),
    39: ("dns.dname", "Dname", "dname"),
}
#: the tree's section subtrees, in wire order
_SECTIONS = (
    ("dns.count.answers", "Answers"),
    ("dns.count.auth_rr", "Authoritative nameservers"),
    ("dns.count.add_rr", "Additional records"),
)
_MAX_RECORDS = 1024  # per section: a count beyond reason stops at the end of the bytes anyway


_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}
#: what Wireshark's format_text shows for a control character: C escapes, else three octal digits
_CONTROL = str.maketrans({c: _C_ESCAPES.get(c, f"\\{c:03o}") for c in (*range(0x20), 0x7F)})


def label_text(raw: bytes) -> str:
    """A DNS label as tshark shows it: UTF-8 (invalid bytes as U+FFFD), control characters escaped
    (``\\n``, ``\\000``), so that a hostile name never puts a raw newline or escape into a line."""
    return raw.decode("utf-8", "replace").translate(_CONTROL)


def dns_name(data: bytes, base: int, off: int, lim: int, text: bool = True) -> tuple[str, int] | None:
    """Read a (possibly compressed) DNS name at ``off`` of the message at ``base``; returns (name, bytes
    used at off) or None. ``text=False``: the same checks and length, the name left out ("")."""
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
        if not text:
            o += 1 + ln
            continue
        raw = data[o + 1 : o + 1 + ln]
        if raw.isascii():
            label = raw.decode("ascii")
            labels.append(label if label.isprintable() else label_text(raw))
        else:
            labels.append(label_text(raw))
        o += 1 + ln
    return (".".join(labels) if labels else "" if not text else "<Root>"), used


def _type_name(t: int) -> str:
    return DNS_TYPES.get(t) or f"Unknown ({t})"


def _rr_data(ctx: Ctx, base: int, rtype: int, d: int, dlen: int, lim: int, node: Node | None) -> str:
    """The record data at ``d`` (``dlen`` bytes): its fields; returns what the Info column shows of it."""
    data = ctx.data
    de = d + dlen
    if de > lim:
        return ""
    if rtype == 1 and dlen == 4:
        a = ip4(data[d:de])
        ctx.add("dns.a", a, d, 4, "Address", None, node)
        return a
    if rtype == 28 and dlen == 16:
        a = ip6(data[d:de])
        ctx.add("dns.aaaa", a, d, 16, "AAAA Address", None, node)
        return a
    nd = _NAME_DATA.get(rtype)
    if nd is not None:
        r = dns_name(data, base, d, de)
        if r is None:
            return ""
        ctx.add(nd[0], r[0], d, r[1], nd[1], None, node)
        return r[0]
    if rtype == 15 and dlen >= 3:
        pref = int.from_bytes(data[d : d + 2], "big")
        ctx.add("dns.mx.preference", pref, d, 2, "Preference", None, node)
        r = dns_name(data, base, d + 2, de)
        if r is None:
            return ""
        ctx.add("dns.mx.mail_exchange", r[0], d + 2, r[1], "Mail Exchange", None, node)
        return f"{pref} {r[0]}"
    if rtype == 6:
        m = dns_name(data, base, d, de)
        if m is None:
            return ""
        ctx.add("dns.soa.mname", m[0], d, m[1], "Primary name server", None, node)
        r = dns_name(data, base, d + m[1], de)
        if r is None:
            return m[0]
        ctx.add("dns.soa.rname", r[0], d + m[1], r[1], "Responsible authority's mailbox", None, node)
        DNS_SOA.read(ctx, d + m[1] + r[1], de, node)
        return m[0]
    if rtype == 33 and dlen >= 7:
        v = DNS_SRV.read(ctx, d, de, node)
        r = dns_name(data, base, d + 6, de)
        if v is None or r is None:
            return ""
        ctx.add("dns.srv.target", r[0], d + 6, r[1], "Target", None, node)
        return f"{v['dns.srv.priority']} {v['dns.srv.weight']} {v['dns.srv.port']} {r[0]}"
    if rtype == 16 or rtype == 99:
        o = d
        while o < de:
            n = data[o]
            if o + 1 + n > de:
                break
            ctx.add("dns.txt.length", n, o, 1, "TXT Length", None, node)
            ctx.add("dns.txt", data[o + 1 : o + 1 + n].decode("latin-1"), o + 1, n, "TXT", None, node)
            o += 1 + n
        return ""
    if rtype == 47:
        r = dns_name(data, base, d, de)
        if r is None:
            return ""
        ctx.add("dns.nsec.next_domain_name", r[0], d, r[1], "Next Domain Name", None, node)
        o = d + r[1]
        while o + 2 <= de:  # type bitmaps: window, length, bits; each type set is a dns.resp.type
            win, blen = data[o], data[o + 1]
            for i in range(min(blen, de - o - 2)):
                byte = data[o + 2 + i]
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        t = win * 256 + i * 8 + bit
                        ctx.add("dns.resp.type", t, o + 2 + i, 1, "RR type in bit map", None, node)
            o += 2 + blen
        return r[0]
    if rtype == 41:
        o = d
        while o + 4 <= de:
            code = int.from_bytes(data[o : o + 2], "big")
            ln = int.from_bytes(data[o + 2 : o + 4], "big")
            opt = ctx.sub(f"Option: {code}", "dns.opt", o, min(4 + ln, de - o), None, node)
            ctx.add("dns.opt.code", code, o, 2, "Option Code", None, opt)
            ctx.add("dns.opt.len", ln, o + 2, 2, "Option Length", None, opt)
            if o + 4 + ln > de:
                break
            if ln:
                ctx.add(
                    "dns.opt.data", data[o + 4 : o + 4 + ln].hex(":"), o + 4, ln, "Option Data", None, opt
                )
            o += 4 + ln
    return ""


def _dns_record(
    ctx: Ctx, base: int, o: int, lim: int, mdns: bool, into: Node | None
) -> tuple[int, str] | None:
    """One resource record at ``o``: its fields; returns (its end, its Info text) or None if cut."""
    data = ctx.data
    lean = ctx.lean
    r = dns_name(data, base, o, lim, not lean)  # (the Info shows no owner name: only its length is needed)
    if r is None or o + r[1] + 10 > lim:
        return None
    name, used = r
    f = o + used
    rtype = int.from_bytes(data[f : f + 2], "big")
    rclass = int.from_bytes(data[f + 2 : f + 4], "big")
    dlen = int.from_bytes(data[f + 8 : f + 10], "big")
    if lean > COLUMNS:  # protocols only: the record's length; of its data, what may flag it cut (SOA, SRV)
        if rtype == 6 or rtype == 33:
            _rr_data(ctx, base, rtype, f + 10, dlen, lim, None)
        if f + 10 + dlen > lim:
            return None
        return f + 10 + dlen, ""
    tname = _type_name(rtype)
    if lean:  # columns only: what the Info shows of the record
        flush = mdns and rtype != 41 and bool(rclass & 0x8000)
        info = "OPT" if rtype == 41 else f"{tname}, cache flush" if flush else tname
        shown = _rr_data(ctx, base, rtype, f + 10, dlen, lim, None)
        if shown:
            info = f"{info} {shown}"
        if f + 10 + dlen > lim:
            return None
        return f + 10 + dlen, info
    node = ctx.sub(name, "", o, used + 10 + dlen, None, into)
    parts = name.split(".", 2) if rtype == 33 else ()
    if len(parts) == 3:  # SRV: Wireshark shows the owner name as _service._proto.name
        ctx.add("dns.srv.service", parts[0], o, used, "Service", None, node)
        ctx.add("dns.srv.proto", parts[1], o, used, "Protocol", None, node)
        ctx.add("dns.srv.name", parts[2], o, used, "Name", None, node)
    else:
        ctx.add("dns.resp.name", name, o, used, "Name", None, node)
    flush = False
    if rtype == 41:
        DNS_OPT.read(ctx, f, lim, node)
        info = "OPT"
        text = f"{name}: type OPT"
    else:
        ctx.add("dns.resp.type", rtype, f, 2, "Type", f"Type: {tname} ({rtype})", node)
        if mdns:
            flush = bool(rclass & 0x8000)
            ctx.add("dns.resp.cache_flush", int(flush), f + 2, 2, "Cache flush", None, node)
            rclass &= 0x7FFF
        ctx.add("dns.resp.class", rclass, f + 2, 2, "Class", None, node)
        ctx.add(
            "dns.resp.ttl", int.from_bytes(data[f + 4 : f + 8], "big"), f + 4, 4, "Time to live", None, node
        )
        ctx.add("dns.resp.len", dlen, f + 8, 2, "Data length", None, node)
        info = f"{tname}, cache flush" if flush else tname
        text = f"{name}: type {tname}, class {DNS_CLASSES.get(rclass, f'0x{rclass:04x}')}"
    shown = _rr_data(ctx, base, rtype, f + 10, dlen, lim, node)
    if shown:
        info = f"{info} {shown}"
        if node is not None:
            node.text = f"{text}, {_NAME_DATA.get(rtype, ('', '', 'addr' if rtype in (1, 28) else 'data'))[2]} {shown}"
    elif node is not None:
        node.text = text
    if f + 10 + dlen > lim:
        return None
    return f + 10 + dlen, info


def _dns(ctx: Ctx, off: int, end: int, proto: str) -> None:
    ctx.push("dns", "Domain Name System", off, 12)
    ctx.proto = proto
    data = ctx.data
    lim = min(end, len(data))
    resp = off + 2 < lim and data[off + 2] & 0x80
    if proto == "LLMNR":
        v = (LLMNR_RESPONSE if resp else LLMNR_QUERY).read(ctx, off, end)
    else:
        v = (DNS_RESPONSE if resp else DNS_QUERY).read(ctx, off, end)
    if v is None:
        return
    if not resp and proto != "LLMNR" and data[off + 3] & 0x20:
        ctx.add(DNS_QUERY_AD.name, 1, off + 3, 1, DNS_QUERY_AD.label)
    mdns = proto == "MDNS"
    if ctx.lean > COLUMNS:  # protocols only: where the records end (no name, no Info)
        _dns_protos(ctx, off, end, v, lim)
        return
    did = v["dns.id"]
    opcode = v["dns.flags.opcode"]
    kind = DNS_OPCODES.get(opcode) or f"Unknown operation ({opcode})"
    head = f"{kind}{' response' if resp else ''} 0x{did:04x}"
    if resp and v["dns.flags.rcode"]:
        rc = v["dns.flags.rcode"]
        head += f" {DNS_RCODES.get(rc, f'Unknown error ({rc})')}"
    if ctx.tree:
        ctx.layer.text = f"Domain Name System ({'response' if resp else 'query'})"
    o = off + 12
    parts = []
    cut = False
    lean = ctx.lean
    qs = ctx.sub("Queries", "", o, 0) if v["dns.count.queries"] else None
    for _ in range(min(v["dns.count.queries"], _MAX_RECORDS)):
        r = dns_name(data, off, o, lim)
        if r is None or o + r[1] + 4 > lim:
            cut = True
            break
        name, used = r
        qtype = int.from_bytes(data[o + used : o + used + 2], "big")
        qclass = int.from_bytes(data[o + used + 2 : o + used + 4], "big")
        tname = _type_name(qtype)
        if not lean:  # (fields only)
            node = ctx.sub(
                f"{name}: type {tname}, class {DNS_CLASSES.get(qclass & 0x7FFF, f'0x{qclass:04x}')}",
                "dns.qry",
                o,
                used + 4,
                None,
                qs,
            )
            ctx.add("dns.qry.name", name, o, used, "Name", None, node)
            ctx.add("dns.qry.name.len", len(name), o, used, "Name Length", None, node)
            ctx.add("dns.count.labels", name.count(".") + 1, o, used, "Label Count", None, node)
            ctx.add("dns.qry.type", qtype, o + used, 2, "Type", f"Type: {tname} ({qtype})", node)
            if mdns:
                ctx.add("dns.qry.qu", qclass >> 15, o + used + 2, 2, '"QU" question', None, node)
                qclass &= 0x7FFF
            ctx.add("dns.qry.class", qclass, o + used + 2, 2, "Class", None, node)
        part = f"{tname} {name}"
        if mdns:
            part += ', "QU" question' if data[o + used + 2] & 0x80 else ', "QM" question'
        parts.append(part)
        o += used + 4
    if qs is not None:
        qs.length = o - qs.offset
    for count, label in _SECTIONS:
        n = v[count]
        if cut or not n:
            continue
        sec = ctx.sub(label, "", o, 0)
        start = o
        for _ in range(min(n, _MAX_RECORDS)):
            rec = _dns_record(ctx, off, o, lim, mdns, sec)
            if rec is None:
                cut = True
                break
            o, shown = rec
            parts.append(shown)
        if sec is not None:
            sec.length = o - start
    if cut and not ctx.quote:  # (a packet quoted in an ICMP error is cut by design)
        ctx.short(lim + 1, end)
    ctx.layer.length = o - off
    ctx.info = head + (" " + " ".join(parts) if parts else "")
    if ctx.truncated:  # Wireshark appends its note to DNS's Info without a space
        ctx.info += "[Packet size limited during capture]"


def _dns_protos(ctx: Ctx, off: int, end: int, v: dict[str, Any], lim: int) -> None:
    """The rest of ``_dns`` for the protocols-only dissection: the same walk of the questions and
    records, the same verdict when they are cut, no text."""
    data = ctx.data
    o = off + 12
    cut = False
    for _ in range(min(v["dns.count.queries"], _MAX_RECORDS)):
        r = dns_name(data, off, o, lim, False)
        if r is None or o + r[1] + 4 > lim:
            cut = True
            break
        o += r[1] + 4
    for count, _label in _SECTIONS:
        n = v[count]
        if cut or not n:
            continue
        for _ in range(min(n, _MAX_RECORDS)):
            rec = _dns_record(ctx, off, o, lim, False, None)
            if rec is None:
                cut = True
                break
            o = rec[0]
    if cut and not ctx.quote:
        ctx.short(lim + 1, end)


@UDP_PORTS.register(53)
def dissect_dns(ctx: Ctx, off: int, end: int) -> None:
    _dns(ctx, off, end, "DNS")


@UDP_PORTS.register(5353)
def dissect_mdns(ctx: Ctx, off: int, end: int) -> None:
    _dns(ctx, off, end, "MDNS")
    ctx.protos[-1] = "mdns"


LLMNR_PORT = 5355


@UDP_PORTS.register(LLMNR_PORT)
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
            ctx.info = f"DHCP {DHCP_TYPES.get(mt, mt)!s:<8} - Transaction ID 0x{v['dhcp.id']:x}"
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
    name = DHCPV6_TYPES.get(mt) or f"Unknown message type {mt}"
    if mt in (12, 13):
        ctx.info = name
        return
    if not ctx.has(off + 1, 3, end):
        ctx.info = name
        return
    xid = int.from_bytes(ctx.data[off + 1 : off + 4], "big")
    ctx.add("dhcpv6.xid", xid, off + 1, 3, "Transaction ID", f"Transaction ID: 0x{xid:06x}")
    ctx.info = f"{name} XID: 0x{xid:06x}"
