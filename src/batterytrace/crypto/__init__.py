"""Cryptographic primitives: Ed25519 signatures and did:key, the RFC 9162 Merkle tree."""
