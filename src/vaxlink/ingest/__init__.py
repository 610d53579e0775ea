"""Bulk ingestion shared by the registry and dose records: read any tabular file, quarantine, store."""
