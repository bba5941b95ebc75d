"""Browser tests drive Debian's chromium through Playwright; they skip (saying why)
when it is missing, unless CUMULO_REQUIRE_BROWSER=1, as in CI, turns that into a failure.
Each step's screenshot lands in test-artifacts/portal/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "portal"


def _require_browser() -> None:
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is missing (pip install -e '.[test]')"
    if missing:
        if os.environ.get("CUMULO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CUMULO_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(f"no browser: {missing}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Shots:
    """Saves numbered screenshots of one test's steps."""

    def __init__(self, name: str) -> None:
        self.dir = ARTIFACTS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, page: Any, step: str, *, full_page: bool = False) -> Path:
        self.count += 1
        path = self.dir / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name.replace("[", "-").replace("]", ""))


def new_page(browser: Any, server: Server, *, locale: str = "en-US", width: int = 1280) -> Any:
    context = browser.new_context(
        base_url=server.portal_url,
        locale=locale,
        viewport={"width": width, "height": 900},
        extra_http_headers={"Accept-Language": f"{locale},{locale.split('-')[0]};q=0.9"},
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.portal_url)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def sign_in(page: Any, login: str, password: str) -> None:
    page.goto("/")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/credentials**")
