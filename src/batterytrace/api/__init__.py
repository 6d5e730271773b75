"""REST API and web services over the ledger (FastAPI)."""
