"""Model layer: packet index, display filters, flows, statistics. Imports decode only."""
