"""The sans-IO pieces every traffic generator shares: the payload tag, the report, the capture check."""
