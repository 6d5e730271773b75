"""The passport viewer in Debian's Chromium (Playwright), at 1366 and 390 px: every attribute a
level may read visible under its label, no raw schema key, chart text at least 12 px, no sideways
scrolling, error pages as pages, a stale sign-in cookie falling back with a notice, German pages,
sign in by keyboard; screenshots go to artifacts/."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_support import TOKEN_KEY, Served, live_server, serve
from batterytrace.api.app import create_app
from batterytrace.api.config import ApiConfig
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.credentials import issue_credential
from batterytrace.passport.attributes import ATTRIBUTES
from batterytrace.passport.issue import issue_passport, may_read
from batterytrace.passport.labels import FIELDS
from batterytrace.passport.registry import PassportDesk, PassportIssuer, save_presentations
from conf_pack_support import conf_world
from conftest import missing_service

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-gpu"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        missing_service(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("the playwright Python package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                              args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    s = serve(build_scenario(packs=1, legacy_packs=1), tmp_path_factory.mktemp("viewer"))
    with live_server(s.app) as url:
        yield s, url


PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1366, "height": 900}
AXE = Path(__file__).resolve().parents[2] / "tools" / "node" / "node_modules" / "axe-core" / "axe.min.js"


def _axe(page: Any) -> None:
    """axe-core (tools/node, scripts/node-tools.sh) finds no serious or critical violation."""
    if not AXE.exists():
        missing_service("axe-core is not installed (scripts/node-tools.sh installs it into tools/node)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, bad
# rendered size of each SVG text: its computed font size times the chart's scale on screen
CHART_FONT_PX = """() => Array.from(document.querySelectorAll('svg.chart text')).map(t =>
    parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""


def _labels(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#attributes dt .lbl").all_inner_texts()]


# chart text reaching past its chart's left or right edge (the SVG would clip it)
CHART_TEXT_OUTSIDE = """() => Array.from(document.querySelectorAll('svg.chart text')).filter(t => {
    const s = t.ownerSVGElement.getBoundingClientRect(), r = t.getBoundingClientRect();
    return r.left < s.left - 1 || r.right > s.right + 1; }).map(t => t.textContent)"""


def _check_layout(page: Any, width: int) -> None:
    sizes = page.evaluate(CHART_FONT_PX)
    assert sizes and min(sizes) >= 12.0, f"chart text {min(sizes):.1f} px at {width} px"
    outside = page.evaluate(CHART_TEXT_OUTSIDE)
    assert not outside, f"chart text clipped at {width} px: {outside[:3]}"
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"page scrolls sideways at {width} px ({scroll} px)"


@pytest.mark.parametrize(("viewport", "name"), [(PHONE, "390"), (DESKTOP, "1366")])
def test_public_passport_page_in_chromium(browser: Any, site: tuple[Served, str], viewport: dict[str, int],
                                          name: str) -> None:
    served, url = site
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = page.goto(url + served.link_path)
    assert response is not None and response.status == 200
    assert page.title().startswith("Voltara VM75 NMC811")
    for chart in ("carbon", "recycled", "flow"):
        box = page.locator(f'svg[data-chart="{chart}"]').bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 20, chart
    assert page.locator("[data-score]").count() == 2
    assert page.locator("#verified-line").inner_text().startswith("✓ Verified — issued by Voltara Motors AG")
    assert not page.locator("#technical ul").is_visible()  # the cryptography is collapsed
    assert page.locator("#chemistry").inner_text() == "NMC811"
    shown = _labels(page)
    public = {FIELDS[a.path].labels[0] for a in ATTRIBUTES if may_read("public", a.level)}
    assert not public - set(shown), sorted(public - set(shown))
    assert all(page.locator("#attributes dt .lbl", has_text=label).first.is_visible() for label in public)
    assert not [x for x in shown if re.search(r"\b[a-z]{2,}[A-Z]", x)]
    assert page.locator("#restricted").count() == 0
    _check_layout(page, viewport["width"])
    _axe(page)
    assert not errors, errors
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"passport-public-{name}.png"), full_page=True)
    page.close()


def test_sign_in_by_keyboard_shows_restricted_data(browser: Any, site: tuple[Served, str]) -> None:
    served, url = site
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(url + served.link_path)
    page.get_by_role("link", name="Sign in (repairers, recyclers, authorities)").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/signin**")
    page.get_by_label("Access token").fill(served.token("legitimate_interest"))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/signin" not in u)
    assert page.url.endswith(served.link_path)
    assert page.locator("#restricted").count() == 1
    shown = set(_labels(page))
    readable = {FIELDS[a.path].labels[0] for a in ATTRIBUTES if may_read("legitimate_interest", a.level)}
    assert not readable - shown, sorted(readable - shown)
    assert page.get_by_role("link", name="Dismantling manual (PDF)").is_visible()
    assert "last updated" in page.locator("#attributes").inner_text()
    # the lineage a token level may trace: mines → refinery → cathode and cell makers → assembly → pack
    stages = page.locator('svg[data-chart="stages"]')
    assert stages.is_visible()
    drawn = " ".join(stages.locator("text").all_text_contents())
    for name in ("Mines and recyclers", "Refiners", "Cathode makers", "Cell makers", "Module and pack assembly",
                 "Kasonta Cobalt SA", "Kivijärvi Battery Chemicals Oy", "Nordcell Batteries AB", "DR Congo"):
        assert name in drawn, name
    page.screenshot(path=str(ARTIFACTS / "passport-legitimate-interest-1366.png"), full_page=True)
    page.set_viewport_size(PHONE)
    _check_layout(page, PHONE["width"])
    page.screenshot(path=str(ARTIFACTS / "passport-legitimate-interest-390.png"), full_page=True)
    _axe(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.locator("#restricted").count() == 0 and page.locator("#signin").count() == 1
    context.close()


def test_an_authority_finds_the_declaration_and_test_reports(browser: Any, site: tuple[Served, str]) -> None:
    served, url = site
    context = browser.new_context(viewport=DESKTOP)
    context.add_cookies([{"name": "bt_token", "value": served.token("authorities"), "url": url}])
    page = context.new_page()
    page.goto(url + served.link_path)
    assert page.get_by_role("link", name="voltara.example.com/docs/vm75/test-reports.pdf").is_visible()
    assert page.get_by_role("link", name="voltara.example.com/docs/vm75/eu-declaration-of-conformity.pdf").is_visible()
    assert "Remaining capacity" not in _labels(page)  # not for authorities
    page.screenshot(path=str(ARTIFACTS / "passport-authorities-1366.png"), full_page=True)
    context.close()


def test_german_page_and_language_switch(browser: Any, site: tuple[Served, str]) -> None:
    served, url = site
    context = browser.new_context(viewport=PHONE, locale="de-DE", extra_http_headers={"Accept-Language": "de-DE,de"})
    page = context.new_page()
    page.goto(url + served.link_path)
    assert page.locator("html").get_attribute("lang") == "de"
    shown = set(_labels(page))
    assert {"EU-Konformitätserklärung", "Batteriemasse", "Herstellungsort"} <= shown
    assert page.locator("#verified-line").inner_text().startswith("✓ Geprüft — ausgestellt von")
    _check_layout(page, PHONE["width"])
    page.screenshot(path=str(ARTIFACTS / "passport-public-de-390.png"), full_page=True)
    _axe(page)
    page.get_by_role("link", name="Français").click()
    page.wait_for_load_state()
    assert "Déclaration UE de conformité" in _labels(page)
    page.goto(url + served.link_path)  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "fr"
    context.close()


@pytest.mark.parametrize(("case", "status", "heading"), [
    ("unknown", 404, "No passport found"), ("malformed", 400, "This is not a valid GTIN"),
    ("check-digit", 400, "This is not a valid GTIN")])
def test_error_pages_are_pages(browser: Any, site: tuple[Served, str], case: str, status: int, heading: str) -> None:
    served, url = site
    wrong = served.gtin[:-1] + str((int(served.gtin[-1]) + 1) % 10)
    path = {"unknown": f"/01/{served.gtin}/21/NOPE-1", "malformed": f"/01/40999990007/21/{served.serial}",
            "check-digit": f"/01/{wrong}/21/{served.serial}"}[case]
    for viewport, name in ((PHONE, "390"), (DESKTOP, "1366")):
        page = browser.new_page(viewport=viewport)
        response = page.goto(url + path)
        assert response is not None and response.status == status
        assert response.headers["content-type"].startswith("text/html")
        assert page.locator('meta[name="viewport"]').count() == 1
        assert page.locator("#error-title").inner_text() == heading
        assert page.get_by_label("GTIN (13 or 14 digits)").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
        page.screenshot(path=str(ARTIFACTS / f"error-{case}-{name}.png"), full_page=True)
        _axe(page)
        page.close()


def test_search_accepts_an_ean13(browser: Any, site: tuple[Served, str]) -> None:
    served, url = site
    page = browser.new_page(viewport=PHONE)
    page.goto(url + "/")
    page.get_by_label("GTIN (13 or 14 digits)").fill(served.gtin[1:])
    page.get_by_label("Serial number").fill(served.serial)
    page.get_by_role("button", name="Open passport").click()
    page.wait_for_url("**" + served.link_path)
    assert page.locator("#title").inner_text() == "Voltara VM75 NMC811"
    page.close()


def test_a_stale_sign_in_cookie_shows_the_public_page_with_a_notice(browser: Any, site: tuple[Served, str]) -> None:
    served, url = site
    context = browser.new_context(viewport=PHONE)
    context.add_cookies([{"name": "bt_token", "value": "expired.or.foreign", "url": url}])
    page = context.new_page()
    response = page.goto(url + served.link_path)
    assert response is not None and response.status == 200
    assert "expired" in page.locator("#notice").inner_text()
    assert "Battery mass" in _labels(page)
    page.screenshot(path=str(ARTIFACTS / "passport-cookie-fallback-390.png"), full_page=True)
    context.close()


def test_operator_view(browser: Any, site: tuple[Served, str]) -> None:
    served, url = site
    now = int(time.time())
    token, _ = issue_credential(served.ledger.store, served.ledger.ledger_id, TOKEN_KEY,
                                served.scenario.actors["voltara"].did, "participant", now, now + 600)
    context = browser.new_context(viewport=PHONE)
    context.add_cookies([{"name": "bt_token", "value": token, "url": url}])
    page = context.new_page()
    assert page.goto(url + "/operator").status == 200  # type: ignore[union-attr]
    assert page.locator("#operator-batteries tbody tr").count() >= 2
    assert page.get_by_role("link", name="CSV").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    _axe(page)
    page.screenshot(path=str(ARTIFACTS / "operator-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "operator-1366.png"), full_page=True)
    context.close()


@pytest.fixture(scope="module")
def confidential_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, float]]:
    """The small confidential pack of conf_pack_support, its passport issued with the lineage
    openings and published to the desk the viewer reads."""
    world = conf_world()
    directory = tmp_path_factory.mktemp("confidential-viewer")
    voltara = world.s.actors["voltara"].signing_key
    desk = PassportDesk(world.ledger, directory, [PassportIssuer(voltara, VOLTARA_VM75)])
    p = issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, voltara, issued_at=int(time.time()),
                       openings=world.run.store("voltara"))
    save_presentations(p, directory)
    app = create_app(ApiConfig.load(env={}, db=":memory:", rate_per_s=0), world.ledger, desk)
    pack = world.ledger.store.get_lot(world.packs[0])
    assert pack is not None
    held = world.run.store("voltara").get(world.packs[0])
    co = {k: o.value for k, o in held.items() if k.startswith("Co/")}
    post = 10_000 * sum(g for k, g in co.items() if "recycled-post" in k) // sum(co.values()) / 100
    with live_server(app) as url:
        yield url, f"/01/{pack.gtin}/21/{pack.serial}", post


def test_confidential_passport_page_shows_the_proved_figures(browser: Any, confidential_site: tuple[str, str, float]) -> None:
    url, path, post = confidential_site
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    response = page.goto(url + path)
    assert response is not None and response.status == 200
    verification = page.locator("#verification")
    assert verification.locator("#verified-line").inner_text().startswith("✓ Verified")
    page.locator("#checked summary").click()
    assert "zero-knowledge proofs; the quantities stay confidential" in verification.inner_text()
    assert "failed" not in verification.inner_text().lower()
    assert "kept confidential" in page.locator("#attributes").inner_text()  # no grams
    _check_layout(page, 1200)
    box = page.locator('svg[data-chart="recycled"]').bounding_box()
    assert box is not None and box["width"] > 200
    assert f"{post:.1f} %" in page.locator("table").first.inner_text()  # Co post-consumer, as proved
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "passport-confidential-1366.png"), full_page=True)
    page.close()
