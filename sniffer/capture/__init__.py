"""Capture layer: frames from files (pcap/pcapng) and live sockets (AF_PACKET). stdlib + libpcap only."""
