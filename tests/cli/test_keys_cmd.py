"""``batterytrace key new``: an Ed25519 seed file only its owner reads, its did:key printed, never
an existing key overwritten by accident."""

from __future__ import annotations

import stat
from pathlib import Path

from batterytrace.keys import load_key
from cli_support import bt


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_new_writes_an_owner_only_seed_and_prints_its_did(tmp_path: Path) -> None:
    path = tmp_path / "mine.key"
    out = bt("key", "new", "--out", path)
    did = out.stdout.strip()
    assert did.startswith("did:key:z6Mk") and load_key(path).did == did
    assert mode(path) == 0o600
    assert "Traceback" not in out.stderr


def test_key_new_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "mine.key"
    first = bt("key", "new", "--out", path).stdout.strip()
    again = bt("key", "new", "--out", path, ok=False)
    assert again.returncode != 0 and "exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert load_key(path).did == first  # untouched
    path.chmod(0o644)
    forced = bt("key", "new", "--out", path, "--force").stdout.strip()
    assert forced != first and load_key(path).did == forced and mode(path) == 0o600


def test_key_new_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    bad = bt("key", "new", "--out", tmp_path / "nowhere" / "k.key", ok=False)
    assert bad.returncode != 0 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr
