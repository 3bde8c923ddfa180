"""The service decoders (issue 13's group 3), loaded together: importing this module registers them in
the UDP_PORTS / TCP_PORTS tables. One module per protocol family:

- ``app``: DNS, mDNS, LLMNR, DHCP, DHCPv6 (loaded by the engine itself)
- ``mgmt``: NTP, Syslog, TFTP
- ``ssh``: SSH
- ``text``: FTP, POP, IMAP, SMTP, IRC, Telnet
- ``rpc``: ONC RPC, Portmap, MOUNT, NFSv3, NFSACL
- ``ics``: DNP3
- ``db``: MySQL, PostgreSQL
- ``aaa``: RADIUS, Kerberos, LDAP
- ``voip``: SIP, SDP
- ``quic``: QUIC
- ``snmp``: SNMP
- ``netbios``: NBNS, NBDS, NBSS; ``smb``: SMB, SMB2, mailslot, Browser
- ``tcpsvc``: RESP (Redis), Finger, WHOIS, RSH, Gnutella
- ``xmpp``: XMPP client streams (and TLS after STARTTLS)
- ``osi``: TPKT, COTP, RDP connection negotiation (TCP 102, 3389)
- ``iot``: MQTT, Modbus/TCP, OpenFlow
- ``dcerpc``: DCE/RPC (heuristic on any TCP port, and 135); ``tcpheur``: TCP heuristics (TLS, HTTP, DCE/RPC)
"""

from __future__ import annotations

from sniffer.decode import (  # noqa: F401  (they fill the tables)
    aaa,
    db,
    dcerpc,
    ics,
    iot,
    mgmt,
    netbios,
    osi,
    quic,
    rpc,
    smb,
    snmp,
    ssh,
    tcpsvc,
    text,
    voip,
    xmpp,
)
