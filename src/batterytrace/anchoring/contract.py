"""The CheckpointRegistry contract: its Vyper source, the checked-in compiled artifact, and the
hash that binds an on-chain record to one signed checkpoint.

The artifact (``CheckpointRegistry.json``: ABI, deploy bytecode, compiler version) is what the
client deploys, so running the client needs no compiler; ``compile_registry`` rebuilds it from the
source with the ``vyper`` package and a test checks the two agree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from batterytrace.canonical import canonical_json
from batterytrace.errors import ConfigError
from batterytrace.ledger.checkpoint import Checkpoint

__all__ = [
    "ANCHOR_DOMAIN",
    "SOURCE_NAME",
    "RegistryArtifact",
    "checkpoint_hash",
    "compile_registry",
    "load_artifact",
    "registry_source",
]

SOURCE_NAME = "CheckpointRegistry.vy"
ARTIFACT_NAME = "CheckpointRegistry.json"
ANCHOR_DOMAIN = b"batterytrace/anchor/v1\x00"


@dataclass(frozen=True)
class RegistryArtifact:
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed deploy code
    compiler: str

    def to_dict(self) -> dict[str, Any]:
        return {"contract": "CheckpointRegistry", "compiler": self.compiler, "abi": self.abi,
                "bytecode": self.bytecode}


def checkpoint_hash(cp: Checkpoint) -> bytes:
    """SHA-256 over the domain tag and the canonical JSON of the whole signed checkpoint (size,
    root, time, log id and signature): what the contract stores next to the root. The signature of
    the checkpoint's note form is not covered: the chain's record carries the JSON form only."""
    return hashlib.sha256(ANCHOR_DOMAIN + canonical_json(cp.to_dict(note=False))).digest()


def registry_source() -> str:
    return resources.files("batterytrace.anchoring").joinpath(SOURCE_NAME).read_text(encoding="utf-8")


def compile_registry() -> RegistryArtifact:
    """Compile the contract source with the installed ``vyper`` package."""
    import vyper

    out = vyper.compile_code(registry_source(), output_formats=["abi", "bytecode"])
    return RegistryArtifact(abi=out["abi"], bytecode=out["bytecode"], compiler=f"vyper {vyper.__version__}")


def load_artifact() -> RegistryArtifact:
    try:
        text = resources.files("batterytrace.anchoring").joinpath(ARTIFACT_NAME).read_text(encoding="utf-8")
        data = json.loads(text)
        return RegistryArtifact(abi=data["abi"], bytecode=data["bytecode"], compiler=data["compiler"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"the compiled CheckpointRegistry artifact is missing or corrupt: {exc}") from exc


def write_artifact(path: str) -> None:
    """Regenerate the checked-in artifact (``python -m batterytrace.anchoring.contract PATH``)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(compile_registry().to_dict(), fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":  # pragma: no cover
    import sys

    write_artifact(sys.argv[1])
