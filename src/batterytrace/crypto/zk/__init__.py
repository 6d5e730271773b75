"""Zero-knowledge proofs on ristretto255 for confidential quantities (see docs/zk.md)."""
