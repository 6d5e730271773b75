"""Data model: participants, sites, lots with element buckets, attestations, signed events, policy."""
