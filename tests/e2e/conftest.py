"""Browser fixtures: Debian's Chromium driven by Playwright, headless, one browser a module."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test
# body are still plain synchronous calls, so its async-safety guard must be told so.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
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
