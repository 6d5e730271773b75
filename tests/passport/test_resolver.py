"""The Digital Link resolver as ledger configuration: validation, normalisation, storage, the
links passports carry, and the default passports directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.errors import ConfigError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.issue import digital_link, issue_passport, verify_passport
from batterytrace.passport.resolver import (
    DEFAULT_RESOLVER,
    RESOLVER_KEY,
    default_passport_dir,
    load_resolver,
    parse_resolver,
    resolver_for,
)
from batterytrace.storage.memory import MemoryStore
from batterytrace.storage.sqlite import SQLiteStore

NOW = 1_790_000_000


@pytest.mark.parametrize(("given", "base"), [
    ("https://id.example.com", "https://id.example.com/"),
    ("HTTPS://ID.Example.COM/", "https://id.example.com/"),
    ("https://example.com/dpp", "https://example.com/dpp/"),
    ("https://example.com:8443/a/b/", "https://example.com:8443/a/b/"),
    ("http://localhost:8000", "http://localhost:8000/"),
    ("http://127.0.0.1/x", "http://127.0.0.1/x/"),
    ("http://[::1]:9000/", "http://[::1]:9000/"),
])
def test_valid_resolvers_are_normalised(given: str, base: str) -> None:
    assert parse_resolver(given).base == base


@pytest.mark.parametrize(("given", "why"), [
    ("http://id.example.com/", "http is only allowed for localhost"),
    ("ftp://id.example.com/", "scheme must be https"),
    ("id.example.com", "scheme must be https"),
    ("https:///dpp", "no host"),
    ("https://user:pw@id.example.com/", "no user information"),
    ("https://user@id.example.com/", "no user information"),
    ("https://id.example.com/?x=1", "no query or fragment"),
    ("https://id.example.com/#top", "no query or fragment"),
    ("https://id.example.com/a//b", "empty, '.' or '..' segment"),
    ("https://id.example.com/a/../b", "empty, '.' or '..' segment"),
    ("https://id.example.com/01/04099999000753", "'01' segment"),
    ("https://id.example.com:99999/", "not a URL"),
    ("https://id.exa mple.com/", "without spaces"),
    ("https://id.example.com/\u00e9", "printable ASCII"),
    ("https://" + "a" * 300 + ".com/", "1 to 200 characters"),
    ("", "1 to 200 characters"),
])
def test_invalid_resolvers_are_refused_with_one_reason(given: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as info:
        parse_resolver(given)
    assert "\n" not in str(info.value)


def test_links_under_a_resolver_with_a_path_prefix() -> None:
    r = parse_resolver("https://labels.example.com/dpp")
    assert r.prefix == "/dpp/"
    assert r.model_link("04099999000753") == "https://labels.example.com/dpp/01/04099999000753"
    assert digital_link("4099999000753", "A/B1", r) == "https://labels.example.com/dpp/01/04099999000753/21/A%2FB1"
    # a string base is validated as a resolver too
    with pytest.raises(ConfigError, match="https"):
        digital_link("04099999000753", "S1", "http://evil.example.com")


def test_stored_in_the_ledger_and_accounted_for_by_log_verify(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "l.db"))
    Ledger(store, "did:key:z6MkoperatorXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX")
    assert load_resolver(store).base == DEFAULT_RESOLVER
    assert resolver_for(store, None).base == DEFAULT_RESOLVER
    assert store.get_meta(RESOLVER_KEY) is None  # nothing stored until given
    resolver_for(store, "https://ID.maker.example/p")
    assert store.get_meta(RESOLVER_KEY) == "https://id.maker.example/p/"
    store.close()
    again = SQLiteStore(str(tmp_path / "l.db"), create=False)
    assert resolver_for(again, None).base == "https://id.maker.example/p/"  # later commands default to it
    with pytest.raises(ConfigError):
        resolver_for(again, "http://id.maker.example/")
    assert load_resolver(again).base == "https://id.maker.example/p/"  # a refused value changes nothing
    verify_log(again)  # the setting is a known meta row, not an unexplained one
    again.close()


def test_passports_carry_links_under_the_ledgers_resolver() -> None:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    resolver_for(ledger.store, "https://dpp.voltara.example/batteries")
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, s.actors["voltara"].signing_key, issued_at=NOW)
    assert p.link.startswith("https://dpp.voltara.example/batteries/01/04099999000753/21/VM75-")
    claims = verify_passport(p.present("public"), log_operator=ledger.operator_did, now=NOW).claims
    assert claims["battery"]["digital_link"] == p.link
    other = issue_passport(ledger, s.packs[0], VOLTARA_VM75, s.actors["voltara"].signing_key, issued_at=NOW,
                           resolver=parse_resolver("http://localhost:8000"))
    assert other.link.startswith("http://localhost:8000/01/04099999000753/21/")


def test_one_default_passports_directory() -> None:
    assert default_passport_dir("demo.db") == Path("demo-passports")
    assert default_passport_dir("/var/lib/bt/ledger.sqlite") == Path("/var/lib/bt/ledger-passports")
    assert default_passport_dir("./batterytrace.db") == Path("batterytrace-passports")
    assert default_passport_dir("ledger") == Path("ledger-passports")
    assert default_passport_dir("postgresql://u@h/db") == Path("batterytrace-passports")
    assert default_passport_dir(":memory:") == Path("batterytrace-passports")
