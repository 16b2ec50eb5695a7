"""Browser fixtures: Debian's Chromium driven by Playwright, headless, one browser a module,
and a clock that starts at the same instant in every run."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

# Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test
# body are still plain synchronous calls, so its async-safety guard must be told so.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Monday 2030-01-07 08:10 UTC: most of a month of free days ahead (the tours click the second
# free day of the month), winter time in the zones the tests name (St John's is UTC−03:30),
# and ten minutes clear of a slot boundary.
E2E_NOW = datetime(2030, 1, 7, 8, 10, tzinfo=UTC)
# Debian's Chromium (DESIGN.md); CHROMIUM names another binary on a machine without it.
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def clock():
    """The server's clock starts at E2E_NOW and then runs (tick=True), whatever today is.

    time_machine patches the process's clock, so the live server's thread, which decides
    availability, reads it too. The browser keeps its own clock; the pages do not read it.
    """
    with time_machine.travel(E2E_NOW, tick=True) as traveller:
        yield traveller


class BritishBrowser:
    """The browser, whose new contexts speak British English (Accept-Language en-GB) unless
    a test passes another `locale`. Chromium's own default is en-US, which the pages answer
    with 12-hour times (SPEC §10); most tests read 24-hour times."""

    def __init__(self, browser) -> None:
        self._browser = browser

    def new_context(self, **options):
        options.setdefault("locale", "en-GB")
        return self._browser.new_context(**options)

    def new_page(self, **options):
        options.setdefault("locale", "en-GB")
        return self._browser.new_page(**options)

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield BritishBrowser(browser)
        browser.close()


class Shots:
    """Numbered screenshots of each step in test-artifacts/<test name>/."""

    def __init__(self, name: str) -> None:
        self.dir = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, page, step: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.dir / f"{self.count:02d}-{step}.png"), full_page=True)


@pytest.fixture
def shots(request) -> Iterator[Shots]:
    yield Shots(request.node.name)
