"""Ledger layer: rules, ingest, transparency log, trace."""
