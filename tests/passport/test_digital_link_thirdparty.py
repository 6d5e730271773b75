"""Every GS1 Digital Link the project emits, checked by a third party: digital-link.js (the
EVRYTHNG/Digimarc GS1 Digital Link toolkit, npm, installed into tools/node by
scripts/node-tools.sh; tools/node/check-digital-links.js runs it over one JSON batch).

What digital-link.js checks: the GS1 Digital Link ABNF grammar it compiles in (primary key and
key qualifier syntax: a GTIN of 14 digits, AI 21 as 1 to 20 CSET 82 characters with the
URI-reserved ones percent-encoded; query parameters) and the check digit of the GTIN. It pads a
GTIN-8, -12 or -13 whose check digit holds to 14 digits itself before checking, so a short GTIN
would pass it; that we write 14 digits is asserted as the URI it writes back equalling ours. It does
not check the resolver's domain (``parse_resolver`` keeps http to loopback hosts; digital-link.js
takes any http host): only the GS1 part of a link is compared.

One known difference, asserted precisely: its grammar (like the GS1 Digital Link ABNF files, 1.0 to
1.4.1, shipped with it) has the double quote of CSET 82 as a literal ``"``, not ``%22``. A ``"`` is
not a character of any URI (RFC 3986 §2), so we percent-encode it as every other character outside
the unreserved set, as GS1's Barcode Syntax Engine does; digital-link.js refuses that one form."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from api_support import Served, serve
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.epcis import export_events
from batterytrace.model.identifiers import (
    GS1_CANONICAL_BASE,
    GS1_CSET82,
    IdentifierError,
    canonical_digital_link,
    check_serial,
    gtin_check_digit,
    normalise_gtin,
)
from batterytrace.passport.issue import digital_link, issue_passport, verify_passport
from batterytrace.passport.resolver import load_resolver, parse_resolver
from conftest import missing_service

NODE_TOOLS = Path(__file__).resolve().parents[2] / "tools" / "node"
CHECKER = NODE_TOOLS / "check-digital-links.js"
PINNED = json.loads((NODE_TOOLS / "package.json").read_text())["dependencies"]["digital-link.js"]
NOW = 1_790_000_000
GTIN = "04099999000753"
SHORT_GTINS = [body + str(gtin_check_digit(body)) for body in ("4099999", "40999990007", "409999900075")]  # -8, -12, -13
RESOLVERS = ("https://id.batterytrace.example/", "https://dpp.voltara.example/batteries", "http://localhost:8000")


def digital_link_js(uris: list[str]) -> dict[str, dict[str, Any]]:
    """What digital-link.js makes of each of ``uris`` (one node process for the batch)."""
    node = shutil.which("node")
    if node is None:
        missing_service("node is not installed (apt-get install nodejs npm; scripts/node-tools.sh installs digital-link.js)")
    installed = NODE_TOOLS / "node_modules" / "digital-link.js" / "package.json"
    if not installed.exists():
        missing_service("digital-link.js is not installed (scripts/node-tools.sh installs it into tools/node)")
    assert json.loads(installed.read_text())["version"] == PINNED, "tools/node is stale: run scripts/node-tools.sh"
    done = subprocess.run([str(node), str(CHECKER)], input=json.dumps(uris), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert [r["uri"] for r in results] == uris
    return {r["uri"]: r for r in results}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=2, legacy_packs=1)


@pytest.fixture(scope="module")
def served(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = serve(scenario, tmp_path_factory.mktemp("dl"), resolver="https://dpp.voltara.example/batteries")
    yield s
    s.client.close()


@pytest.fixture(scope="module")
def emitted(scenario: Scenario, served: Served) -> dict[str, set[str]]:
    """Every Digital Link the demo's passports, linkset and EPCIS export carry, by where."""
    ledger, key = served.ledger, scenario.actors["voltara"].signing_key
    identities = [(lot.gtin, lot.serial) for lot in map(ledger.store.get_lot, scenario.packs)
                  if lot is not None and lot.gtin and lot.serial]
    assert len(identities) == len(scenario.packs) >= 2
    ledger.sign_tree_head(scenario.actors["operator"].signing_key)
    passports: set[str] = set()
    for pack in scenario.packs:
        for base in RESOLVERS:
            p = issue_passport(ledger, pack, VOLTARA_VM75, key, issued_at=NOW, resolver=parse_resolver(base))
            claims = verify_passport(p.present("public"), log_operator=ledger.operator_did, now=NOW).claims
            assert claims["battery"]["digital_link"] == p.link
            passports.add(p.link)
    linkset: set[str] = set()
    for gtin, serial in identities:
        r = served.client.get(f"/batteries/01/{gtin}/21/{quote(serial, safe='')}?linkType=all")
        assert r.status_code == 200, r.text
        (context,) = r.json()["linkset"]
        linkset.add(context["anchor"])
        linkset.update(t["href"] for rel, targets in context.items() if rel != "anchor" for t in targets)
    model = served.client.get(f"/batteries/01/{GTIN}", headers={"accept": "application/json"})
    assert model.status_code == 200, model.text
    registry = {s for s in strings(model.json()) if "/01/" in s and s.startswith("https://")}
    epcis = {s for s in strings(export_events(scenario.events)) if s.startswith(GS1_CANONICAL_BASE)}
    assert {canonical_digital_link(g, s) for g, s in identities} <= epcis
    assert {digital_link(g, s, load_resolver(ledger.store)) for g, s in identities} <= linkset
    return {"passport": passports, "linkset": linkset, "registry": registry, "epcis": epcis}


def cset82_serials() -> list[str]:
    """Serials that between them hold every CSET 82 character, each beside letters and digits."""
    special = sorted(c for c in GS1_CSET82 if not c.isalnum())
    return ["A" + c + "1" for c in special] + ["".join(special[i:i + 20]) for i in range(0, len(special), 20)] + ["Z" * 20]


# Identities our code refuses (tests/attacks/test_identity.py), as the URI it would have written
# had it not refused them, with what digital-link.js says: "checkDigit" (the grammar takes it, the
# check digit does not hold), "grammar" (the ABNF refuses it), "parse" (no identifier found at all).
REFUSED = [
    ("04099999000754", "S1", "checkDigit"),
    ("4099999000750", "S1", "grammar"),  # GTIN-13, wrong check digit: left unpadded, not 14 digits
    ("409999900075", "S1", "grammar"),  # 12 digits, wrong check digit
    ("0409999900075", "S1", "grammar"),  # 13 digits whose check digit is wrong
    ("040999990007534", "S1", "grammar"),  # 15 digits
    ("0409999900075X", "S1", "grammar"),
    ("０４０９９９９９０００７５３", "S1", "grammar"),  # full-width digits
    (GTIN, "", "parse"),  # empty serial: "01/<gtin>/21/" has no serial segment
    (GTIN, "VM75 000001", "grammar"),  # space is not CSET 82
    (GTIN, "VM75#1", "grammar"),
    (GTIN, "VM75-ÄÖ", "grammar"),
    (GTIN, "X" * 21, "grammar"),
    (GTIN, "S1\n", "grammar"),
    (GTIN, "S~1", "grammar"),  # "~" is URI-unreserved but not CSET 82
]


def refused_uri(gtin: str, serial: str) -> str:
    return f"{GS1_CANONICAL_BASE}01/{quote(gtin, safe='')}/21/{quote(serial, safe='')}"


@pytest.fixture(scope="module")
def verdicts(emitted: dict[str, set[str]]) -> dict[str, dict[str, Any]]:
    ours = [canonical_digital_link(GTIN, s) for s in cset82_serials()]
    ours += [digital_link(GTIN, s, base) for s in cset82_serials() for base in RESOLVERS]
    ours += [canonical_digital_link(g, "S1") for g in SHORT_GTINS]
    uris = sorted(set().union(*emitted.values(), ours)) + [refused_uri(g, s) for g, s, _ in REFUSED]
    return digital_link_js(uris)


def test_every_emitted_digital_link_is_valid(emitted: dict[str, set[str]], verdicts: dict[str, dict[str, Any]]) -> None:
    """Passports under three resolvers, the linkset and model page of each battery, the EPCIS export
    of the whole demo history: digital-link.js validates each, reads back exactly the URI we wrote
    (nothing left unparsed, no 13-digit GTIN it had to pad), and the GTIN and serial we meant."""
    for where, uris in emitted.items():
        assert uris, where
        for uri in uris:
            got = verdicts[uri]
            assert got["valid"] and got["grammar"] and got["checkDigit"] is True, (where, got)
            assert got["webUri"] == uri, (where, got)
            (gtin,) = got["identifier"].values()
            assert len(gtin) == 14 and normalise_gtin(gtin) == gtin, (where, got)
            if "21" in got["keyQualifiers"]:
                assert check_serial(unquote(got["keyQualifiers"]["21"])), (where, got)


def test_every_cset82_character_is_written_as_digital_link_js_reads_it(verdicts: dict[str, dict[str, Any]]) -> None:
    """Serials holding each CSET 82 character, under the canonical and three resolver bases: valid,
    the serial read back percent-decoded is ours — except the double quote (module docstring): our
    ``%22`` is where the grammar stops, and the literal ``"`` it wants instead is not a URI character."""
    for serial in cset82_serials():
        for uri in [canonical_digital_link(GTIN, serial)] + [digital_link(GTIN, serial, b) for b in RESOLVERS]:
            got = verdicts[uri]
            assert unquote(got["keyQualifiers"]["21"]) == serial and got["checkDigit"] is True, got
            if '"' in serial:
                assert not got["valid"] and not got["grammar"], got
                assert got["unmatched"].startswith("%22"), got  # the quote is what it refuses
            else:
                assert got["valid"] and got["webUri"] == uri, got
    with_quote = digital_link_js(['https://id.gs1.org/01/04099999000753/21/A"1'])
    assert next(iter(with_quote.values()))["valid"]  # the grammar's literal quote, outside RFC 3986


def test_short_gtins_are_written_in_14_digits(verdicts: dict[str, dict[str, Any]]) -> None:
    """GTIN-8, -12 and -13 given to us come out as 14 digits: digital-link.js would pad a shorter
    one itself (its 1.2 grammar takes it), so the URI it writes back equals ours only if we did."""
    for gtin in SHORT_GTINS:
        uri = canonical_digital_link(gtin, "S1")
        assert f"/01/{gtin.zfill(14)}/" in uri
        assert verdicts[uri]["valid"] and verdicts[uri]["webUri"] == uri


@pytest.mark.parametrize(("gtin", "serial", "why"), REFUSED)
def test_identities_we_refuse_digital_link_js_refuses(gtin: str, serial: str, why: str,
                                                      verdicts: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(IdentifierError):
        canonical_digital_link(gtin, serial)
    with pytest.raises(BatterytraceError, match="no GS1 Digital Link"):
        digital_link(gtin, serial)
    got = verdicts[refused_uri(gtin, serial)]
    assert not got["valid"], got
    if why == "checkDigit":
        assert got["grammar"] and got["checkDigit"] is False, got
    elif why == "grammar":
        assert not got["grammar"] and got["error"] is None, got
    else:
        assert got["error"] == "Must contain at least the identifier", got
