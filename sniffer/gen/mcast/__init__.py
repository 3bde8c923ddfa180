"""Multicast (`sniffer mcast ...`): join/receive and send streams, the kernel's /proc tables, doctor, watch."""
