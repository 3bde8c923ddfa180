"""ping, fping, traceroute and `gen icmp`: the ICMP engine, its packet builder/parser and its modes."""
