"""Operator key files: 32-byte Ed25519 seeds stored as hex, readable by the owner only."""

from __future__ import annotations

import os
from pathlib import Path

from batterytrace.crypto.signing import SigningKey
from batterytrace.encoding import hex_decode
from batterytrace.errors import ConfigError, EncodingError

__all__ = ["default_key_path", "default_token_key_path", "load_key", "load_or_create_key", "save_key"]


def default_key_path(db: str) -> Path:
    if db.startswith(("postgresql://", "postgres://")):
        return Path("batterytrace-operator.key")
    return Path(db + ".operator.key")


def default_token_key_path(db: str) -> Path:
    """The ledger's token key (signs bearer tokens; distinct from the operator key)."""
    if db.startswith(("postgresql://", "postgres://")):
        return Path("batterytrace-token.key")
    return Path(db + ".token.key")


def load_or_create_key(path: Path) -> SigningKey:
    """The key in ``path``, or a new random one saved there (mode 0600)."""
    if path.exists():
        return load_key(path)
    key = SigningKey.generate()
    save_key(key, path)
    return key


def save_key(key: SigningKey, path: Path, *, overwrite: bool = True) -> None:
    """Write ``key``'s seed to ``path``, readable and writable by its owner only (mode 0600, also
    when an existing file is replaced). Without ``overwrite`` an existing file is refused
    (``ConfigError``), atomically: two writers never both get the file."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise ConfigError(f"key file {path} exists; refusing to overwrite it") from exc
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.seed.hex() + "\n")


def load_key(path: Path) -> SigningKey:
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"key file {path} does not hold a 32-byte hex seed (it is a binary file)") from exc
    try:
        return SigningKey(hex_decode(text, 32))
    except EncodingError as exc:
        raise ConfigError(f"key file {path} does not hold a 32-byte hex seed") from exc
