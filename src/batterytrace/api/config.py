"""Service configuration: from environment variables (``BATTERYTRACE_*``) or a JSON file.

    BATTERYTRACE_DB               ledger URL (SQLite path or postgresql:// URL); ./batterytrace.db
    BATTERYTRACE_PASSPORTS        directory of issued passports; beside a SQLite ledger <db>-passports,
                                  else ./batterytrace-passports (passport/resolver.py default_passport_dir)
    BATTERYTRACE_RESOLVER         GS1 Digital Link resolver base URL; stored as the ledger's resolver
    BATTERYTRACE_ISSUERS          issuer key and master data pairs "key.hex=master.json,..."
    BATTERYTRACE_OPERATOR_KEY     operator key file: signs tree heads before issuing a passport
    BATTERYTRACE_RATE_PER_S       requests per second per client (0 disables); 50
    BATTERYTRACE_RATE_BURST       burst size per client; 200
    BATTERYTRACE_CAPTURE_LIMIT    events per capture document; 50000
    BATTERYTRACE_CAPTURE_BYTES    bytes per capture document; 64 MiB
    BATTERYTRACE_PAGE_CACHE_S     seconds a public passport answer is reused (0 disables); 2
    BATTERYTRACE_KEK_FILE         key-encryption key file that opens hosted (custodial) keys; none
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from batterytrace.errors import ConfigError
from batterytrace.passport.resolver import default_passport_dir, parse_resolver

__all__ = ["ApiConfig"]

_ENV = {
    "db": "BATTERYTRACE_DB",
    "passports": "BATTERYTRACE_PASSPORTS",
    "issuers": "BATTERYTRACE_ISSUERS",
    "operator_key": "BATTERYTRACE_OPERATOR_KEY",
    "rate_per_s": "BATTERYTRACE_RATE_PER_S",
    "rate_burst": "BATTERYTRACE_RATE_BURST",
    "capture_limit": "BATTERYTRACE_CAPTURE_LIMIT",
    "capture_bytes": "BATTERYTRACE_CAPTURE_BYTES",
    "page_cache_s": "BATTERYTRACE_PAGE_CACHE_S",
    "resolver": "BATTERYTRACE_RESOLVER",
    "kek_file": "BATTERYTRACE_KEK_FILE",
}


@dataclass(frozen=True)
class ApiConfig:
    db: str = "./batterytrace.db"
    passports: str | None = None
    issuers: tuple[tuple[str, str], ...] = ()  # (key file, master data file)
    operator_key: str | None = None
    rate_per_s: float = 50.0
    rate_burst: int = 200
    capture_limit: int = 50_000
    capture_bytes: int = 64 * 1024 * 1024
    page_cache_s: float = 2.0
    resolver: str | None = None  # GS1 Digital Link base; None: the ledger's stored resolver
    kek_file: str | None = None  # hosted keys (plain EPCIS capture) are usable only with it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passport_dir(self) -> Path:
        if self.passports:
            return Path(self.passports)
        return default_passport_dir(self.db)

    @classmethod
    def load(cls, file: Path | None = None, env: Mapping[str, str] | None = None,
             **overrides: Any) -> ApiConfig:
        """Defaults, then the JSON file, then the environment, then ``overrides`` (not None)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if file is not None:
            try:
                data = json.loads(file.read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read service configuration {file}: {exc}") from exc
            if not isinstance(data, dict):
                raise ConfigError(f"{file}: the configuration is a JSON object")
            values.update(data)
        for name, var in _ENV.items():
            if var in env:
                values[name] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)} - {"extra"}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
        try:
            if isinstance(values.get("issuers"), str):
                pairs = [p.split("=", 1) for p in values["issuers"].split(",") if p.strip()]
                if any(len(p) != 2 for p in pairs):
                    raise ConfigError("issuers: expected key-file=master-file pairs separated by commas")
                values["issuers"] = tuple((k.strip(), m.strip()) for k, m in pairs)
            elif "issuers" in values:
                values["issuers"] = tuple((str(k), str(m)) for k, m in values["issuers"])
            for name, kind in (("rate_per_s", float), ("rate_burst", int), ("capture_limit", int),
                               ("capture_bytes", int), ("page_cache_s", float)):
                if name in values:
                    values[name] = kind(values[name])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid configuration value: {exc}") from exc
        if values.get("resolver") is not None:
            values["resolver"] = parse_resolver(str(values["resolver"])).base
        cfg = cls(**values)
        if cfg.rate_per_s < 0 or cfg.page_cache_s < 0 or cfg.rate_burst < 1 or cfg.capture_limit < 1 or cfg.capture_bytes < 1024:
            raise ConfigError("rate and capture limits must be positive")
        return cfg
