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
    BATTERYTRACE_TRUSTED_PROXIES  CIDRs of reverse proxies whose X-Forwarded-For / Forwarded is
                                  honoured for rate limiting, comma-separated; none

Request bodies are bounded per route while they are read (``body_limits``, bytes; JSON file only):
events 1 MiB, batch 32 MiB, capture ``capture_bytes``, passports 4 MiB, verify 1 MiB, statuslists
1 MiB, import (CSV) ``MAX_CSV_BYTES``, signin 16 KiB, other 16 KiB. Larger bodies are answered 413 before they are buffered.
    BATTERYTRACE_KEK_FILE         key-encryption key file that opens hosted (custodial) keys; none
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from batterytrace.errors import ConfigError
from batterytrace.ledger.csv_import import MAX_CSV_BYTES
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
    "trusted_proxies": "BATTERYTRACE_TRUSTED_PROXIES",
    "resolver": "BATTERYTRACE_RESOLVER",
    "kek_file": "BATTERYTRACE_KEK_FILE",
}

#: bytes per request body, by route (``capture`` defaults to ``capture_bytes``)
BODY_LIMIT_DEFAULTS: dict[str, int] = {
    "events": 1024 * 1024,
    "batch": 32 * 1024 * 1024,
    "passports": 4 * 1024 * 1024,
    "verify": 1024 * 1024,
    "statuslists": 1024 * 1024,
    "import": MAX_CSV_BYTES,
    "signin": 16 * 1024,
    "other": 16 * 1024,
}
BODY_LIMIT_ROUTES = (*BODY_LIMIT_DEFAULTS, "capture")


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
    trusted_proxies: tuple[str, ...] = ()
    body_limits: dict[str, int] = field(default_factory=dict)
    resolver: str | None = None  # GS1 Digital Link base; None: the ledger's stored resolver
    kek_file: str | None = None  # hosted keys (plain EPCIS capture) are usable only with it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passport_dir(self) -> Path:
        if self.passports:
            return Path(self.passports)
        return default_passport_dir(self.db)

    def body_limit(self, route: str) -> int:
        """Bytes a request body to ``route`` (one of ``BODY_LIMIT_ROUTES``) may have."""
        if route in self.body_limits:
            return self.body_limits[route]
        return self.capture_bytes if route == "capture" else BODY_LIMIT_DEFAULTS[route]

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
            if isinstance(values.get("trusted_proxies"), str):
                values["trusted_proxies"] = [p for p in values["trusted_proxies"].split(",") if p.strip()]
            if "trusted_proxies" in values:
                values["trusted_proxies"] = tuple(str(ipaddress.ip_network(str(p).strip(), strict=False))
                                                  for p in values["trusted_proxies"])
            if "body_limits" in values:
                limits = values["body_limits"]
                if not isinstance(limits, dict) or set(limits) - set(BODY_LIMIT_ROUTES):
                    raise ConfigError(f"body_limits: an object whose keys are among {', '.join(BODY_LIMIT_ROUTES)}")
                values["body_limits"] = {str(k): int(v) for k, v in limits.items()}
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid configuration value: {exc}") from exc
        if values.get("resolver") is not None:
            values["resolver"] = parse_resolver(str(values["resolver"])).base
        cfg = cls(**values)
        if cfg.rate_per_s < 0 or cfg.page_cache_s < 0 or cfg.rate_burst < 1 or cfg.capture_limit < 1 or cfg.capture_bytes < 1024:
            raise ConfigError("rate and capture limits must be positive")
        if any(v < 1024 for v in cfg.body_limits.values()):
            raise ConfigError("body_limits: at least 1024 bytes per route")
        return cfg
