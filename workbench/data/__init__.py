"""Data: bundled datasets, ingest and split, statistics, schema and validation."""
