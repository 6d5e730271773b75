"""The passport viewer in Debian's Chromium (Playwright): open a passport by its Digital Link,
charts and scores render, no legitimate-interest field on the public page, sign in by keyboard;
screenshots go to artifacts/."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_support import Served, live_server, serve
from batterytrace.api.app import create_app
from batterytrace.api.config import ApiConfig
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.passport.issue import FIELD_LEVELS, issue_passport
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


def test_public_passport_page_in_chromium(browser: Any, site: tuple[Served, str]) -> None:
    served, url = site
    page = browser.new_page(viewport={"width": 412, "height": 900})  # a phone
    response = page.goto(url + served.link_path)
    assert response is not None and response.status == 200
    for chart in ("carbon", "recycled", "origin-Co"):
        box = page.locator(f'svg[data-chart="{chart}"]').bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 20, chart
        assert page.locator(f'svg[data-chart="{chart}"] rect').count() >= 2
    assert page.locator("[data-score]").count() == 2
    assert "/100" in page.locator("[data-score]").first.inner_text()
    assert "passed" in page.locator("#verification").inner_text()
    assert page.locator("#chemistry").inner_text() == "NMC811"
    text = page.content()
    li_names = {p.rsplit(".", 1)[-1] for fields in FIELD_LEVELS.values() for p, lvl in fields.items()
                if lvl != "public"}
    assert not [n for n in li_names if n in text]
    assert page.locator("#restricted").count() == 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 412 + 1, f"page scrolls sideways on a phone ({width} px)"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "passport-public.png"), full_page=True)
    page.close()


def test_sign_in_by_keyboard_shows_restricted_data(browser: Any, site: tuple[Served, str]) -> None:
    served, url = site
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(url + served.link_path)
    page.get_by_role("link", name="Sign in (legitimate interest)").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/signin**")
    page.get_by_label("Access token").fill(served.token("legitimate_interest"))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/signin" not in u)
    assert page.url.endswith(served.link_path)
    restricted = page.locator("#restricted")
    assert restricted.count() == 1
    assert "stateOfCharge" in restricted.inner_text() and "DismantlingManual" in restricted.inner_text()
    page.screenshot(path=str(ARTIFACTS / "passport-legitimate-interest.png"), full_page=True)
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
    verification = page.locator("#verification").inner_text()
    assert "ZK claims" in verification and "proved by" in verification and "grams stay confidential" in verification
    assert "failed" not in verification.lower()
    box = page.locator('svg[data-chart="recycled"]').bounding_box()
    assert box is not None and box["width"] > 200
    assert f"{post:.1f} %" in page.locator("table").first.inner_text()  # Co post-consumer, as proved
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "passport-confidential.png"), full_page=True)
    page.close()
