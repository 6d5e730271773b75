"""Storage: one store protocol; SQLite (default), PostgreSQL and in-memory implementations."""

from batterytrace.storage.base import Store, StoredEvent, TreeHeadRecord, WriteBatch, open_store

__all__ = ["Store", "StoredEvent", "TreeHeadRecord", "WriteBatch", "open_store"]
