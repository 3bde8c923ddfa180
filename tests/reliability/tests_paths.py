"""Paths the reliability tests share."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CAPS = CORPUS / "captures"
NMAP = CAPS / "zeek__nmap-vsn.pcap"  # 547 packets
