"""Decode layer: pure functions, bytes in, summary/fields/tree out. Never imports scapy on the summary path."""
