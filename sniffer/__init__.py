"""sniffer: packet capture and raw-socket analyzer for Linux."""

__version__ = "0.1.0"
