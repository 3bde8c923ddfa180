"""The socket-family generators (`sniffer gen ...`): one module per family, the run/serve front, the I/O drivers."""
