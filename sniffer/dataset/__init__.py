"""Captures as a columnar dataset: `sniffer export` (Parquet) and `sniffer sql` (DuckDB)."""
