"""Headless Chromium (Debian's /usr/bin/chromium) driving web/ as served by the local runner.

The runners come from tests/e2e/conftest.py (same start-up, readiness probe and clean stop);
this file adds the browser and a page factory that records uncaught JavaScript errors.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import ROOT, Runner, start_runner, stop_runner

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ACCESS_TOKEN_TTL = 5  # seconds: short enough to watch a token expire inside a test
UI_TIMEOUT_MS = 10_000  # default bound for every Playwright wait, action and expect()


def _start(factory: pytest.TempPathFactory, **settings: str) -> Iterator[Runner]:
    runner = start_runner(factory.mktemp("browser-runner"), **settings)
    try:
        yield runner
    finally:
        assert stop_runner(runner) == 0, "runner did not exit cleanly"


@pytest.fixture(scope="session")
def short_ttl_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """Given the local runner with access tokens that live ACCESS_TOKEN_TTL seconds."""
    yield from _start(tmp_path_factory, ACCESS_TOKEN_TTL=f"{ACCESS_TOKEN_TTL}s")


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """Given the local runner with the template's token lifetime (15 minutes): no expiry mid-test."""
    yield from _start(tmp_path_factory)


@pytest.fixture(scope="session")
def confirming_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """Given the local runner with EMAIL_CONFIRMATION=true: new accounts must follow a mailed link."""
    yield from _start(tmp_path_factory, EMAIL_CONFIRMATION="true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright is a dev dependency, so it is always there. Chromium comes from Debian: on a
    # developer's machine without it the tests skip, in CI (.ci/run installs it) they must run.
    from playwright import sync_api

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run must install it")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    sync_api.expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh browser context (its own cookie jar: another "device").

    Every context is closed at the end; an uncaught error in the page's JavaScript fails the test.
    """
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def _new_page(**context_options: object) -> Page:
        context = browser.new_context(**context_options)  # type: ignore[arg-type]
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield _new_page
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught JavaScript errors: {errors}"
