"""Service configuration: defaults, file, environment and overrides in that order; bad values refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batterytrace.api.config import ApiConfig
from batterytrace.errors import ConfigError


def test_precedence_file_env_overrides(tmp_path: Path) -> None:
    f = tmp_path / "svc.json"
    f.write_text(json.dumps({"db": "a.db", "rate_per_s": 5, "issuers": [["k.hex", "m.json"]]}))
    cfg = ApiConfig.load(f, env={"BATTERYTRACE_DB": "b.db", "BATTERYTRACE_RATE_BURST": "7"}, rate_per_s=None)
    assert (cfg.db, cfg.rate_per_s, cfg.rate_burst, cfg.issuers) == ("b.db", 5.0, 7, (("k.hex", "m.json"),))
    assert ApiConfig.load(f, env={}, db="c.db").db == "c.db"
    assert cfg.passport_dir == Path("b-passports")
    assert ApiConfig.load(env={"BATTERYTRACE_DB": "postgresql://x/y"}).passport_dir == Path("batterytrace-passports")
    env = {"BATTERYTRACE_ISSUERS": "a.key=a.json, b.key=b.json"}
    assert ApiConfig.load(env=env).issuers == (("a.key", "a.json"), ("b.key", "b.json"))


@pytest.mark.parametrize(("env", "message"), [
    ({"BATTERYTRACE_RATE_PER_S": "fast"}, "invalid configuration value"),
    ({"BATTERYTRACE_RATE_BURST": "0"}, "positive"),
    ({"BATTERYTRACE_PAGE_CACHE_S": "-1"}, "positive"),
    ({"BATTERYTRACE_ISSUERS": "a.key"}, "pairs"),
])
def test_bad_values_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ApiConfig.load(env=env)


def test_bad_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        ApiConfig.load(tmp_path / "missing.json", env={})
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ConfigError, match="JSON object"):
        ApiConfig.load(tmp_path / "list.json", env={})
    (tmp_path / "typo.json").write_text('{"dbb": "x"}')
    with pytest.raises(ConfigError, match="unknown configuration keys: dbb"):
        ApiConfig.load(tmp_path / "typo.json", env={})


def test_resolver_from_the_environment_is_validated_and_normalised() -> None:
    assert ApiConfig.load(env={"BATTERYTRACE_RESOLVER": "https://DPP.example.com/b"}).resolver == "https://dpp.example.com/b/"
    assert ApiConfig.load(env={}).resolver is None  # the ledger's stored resolver then applies
    with pytest.raises(ConfigError, match="http is only allowed for localhost"):
        ApiConfig.load(env={"BATTERYTRACE_RESOLVER": "http://dpp.example.com/"})
