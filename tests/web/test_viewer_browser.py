"""The passport viewer in Debian's Chromium (Playwright): open a passport by its Digital Link,
charts and scores render, no legitimate-interest field on the public page, sign in by keyboard;
screenshots go to artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_support import Served, live_server, serve
from batterytrace.demo.scenario import build_scenario
from batterytrace.passport.issue import FIELD_LEVELS
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
    page.get_by_label("Access token").fill(served.token("commission"))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/signin" not in u)
    assert page.url.endswith(served.link_path)
    restricted = page.locator("#restricted")
    assert restricted.count() == 1
    assert "stateOfCharge" in restricted.inner_text() and "DismantlingManual" in restricted.inner_text()
    page.screenshot(path=str(ARTIFACTS / "passport-commission.png"), full_page=True)
    context.close()
