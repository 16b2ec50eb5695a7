"""Embedding in a real browser (SPEC §10): another site frames `/ada/intro/?embed=1`, the
visitor books inside the frame with no cookie reaching the server, and the embedding page
receives `{type: "booking.created", uid}` from the frame, sent to its origin only.

The embedding page is served from a second loopback origin (127.0.0.1 on its own port, while
the live server is `localhost`: another origin, and another site, so the frame is a
third-party context). Every request to the live server has its cookies stripped, as a browser
that blocks third-party cookies would, and no answer of the flow may set one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from playwright.sync_api import expect, sync_playwright

from scheduler.models import Booking
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_pages_tour import ALL_WEEK, VIEWPORTS, audit
from tests.factory import make_account, make_profile

pytestmark = [pytest.mark.e2e]

OTHER = "https://other-shop.example"
PARENT_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bea's shop</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; padding: 12px; color: #1a1a1a; }
  iframe { display: block; width: 100%; height: 600px; border: 1px solid #888; }
</style>
</head>
<body>
<h1>Bea's shop: talk to Ada</h1>
<p id="status">Not booked yet</p>
<iframe src="{src}" title="Book a meeting with Ada"></iframe>
<script>
  window.received = [];
  window.addEventListener("message", function (event) {
    window.received.push({ origin: event.origin, data: event.data });
    if (event.data && event.data.type === "booking.created") {
      document.getElementById("status").textContent = "Booked: " + event.data.uid;
    }
    if (event.data && event.data.type === "booking.height") {
      document.querySelector("iframe").style.height = event.data.height + 2 + "px";
    }
  });
</script>
</body>
</html>
"""


class ParentSite:
    """The embedding site: one page holding the iframe, on 127.0.0.1 at a port of its own."""

    def __init__(self, frame_src: str) -> None:
        body = PARENT_PAGE.replace("{src}", frame_src).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def parent_site(live_server) -> Iterator[ParentSite]:
    site = ParentSite(f"{live_server.url}/ada/intro/?embed=1")
    yield site
    site.close()


@pytest.fixture(scope="module")
def cookieless_browser():
    """Chromium told to block third-party cookies as well (the flag of Chrome's third-party
    cookie phase-out); the test strips them itself too, so it does not rely on the flag."""
    args = [*CHROMIUM_ARGS, "--test-third-party-cookie-phaseout"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser
        browser.close()


@pytest.fixture
def host(transactional_db, parent_site):
    cache.clear()
    # Two allowed origins: the frame must learn which one embeds it (from the Referer).
    account = make_account(
        handle="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        embed_origins=[OTHER, parent_site.origin],
    )
    return make_profile(
        account,
        name="intro",
        subject="Intro call about {{topic}}",
        description="A first conversation.",
        location="Video call",
        duration_minutes=30,
        work_hours=ALL_WEEK,
    )


class FramePage:
    """The embedded page as `audit()` reads a page: the frame's document, the tab's keys."""

    def __init__(self, page, frame) -> None:
        self.page, self.frame = page, frame
        self.keyboard = page.keyboard

    @property
    def url(self) -> str:
        return self.frame.url

    def evaluate(self, script: str):
        return self.frame.evaluate(script)


def audit_frame(page, viewport: str) -> None:
    frame = page.frame(url=re.compile(r"embed=1"))
    assert frame is not None
    if viewport == "desktop":
        # Focus into the frame first, so Tab walks the embedded page's own controls.
        page.frame_locator("iframe").locator("h1").click()
    audit(FramePage(page, frame), viewport)
    # No header, navigation or footer around the booking itself (the profile's own heading,
    # inside <main>, is the booking's).
    outside = "body > header, nav, footer, .locale-bar"
    assert frame.evaluate(f"() => document.querySelectorAll('{outside}').length") == 0


def snap(page, shots, name: str) -> None:
    """A full-page shot of the embedding page with the whole page in the viewport: Chromium
    leaves a cross-origin frame unpainted outside the viewport in a full-page shot."""
    size = page.viewport_size
    page.evaluate("() => window.scrollTo(0, 0)")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    page.wait_for_timeout(300)
    shots(page, name)
    page.set_viewport_size(size)


def test_booking_inside_a_frame_on_another_origin(
    cookieless_browser, live_server, parent_site, host, shots
):
    for viewport, size in VIEWPORTS.items():
        cache.clear()
        Booking.objects.all().delete()
        context = cookieless_browser.new_context(viewport=size, timezone_id="Europe/Berlin")
        live = live_server.url
        set_cookies: list[str] = []
        sent_cookies: list[str] = []

        def strip_cookies(route, request, sent=sent_cookies):
            # What a browser blocking third-party cookies sends: none.
            headers = {k: v for k, v in request.headers.items() if k.lower() != "cookie"}
            if "cookie" in {k.lower() for k in request.headers}:
                sent.append(request.url)
            route.continue_(headers=headers)

        def record(response, found=set_cookies, live=live):
            if response.url.startswith(live) and response.header_value("set-cookie"):
                found.append(response.url)

        context.route(re.compile(re.escape(live) + r"/.*"), strip_cookies)
        page = context.new_page()
        page.set_default_timeout(8000)
        page.on("response", record)
        page.goto(parent_site.origin + "/")
        frame = page.frame_locator("iframe")
        # The frame loads (its CSP names this origin), learns its parent, detects the zone.
        expect(frame.locator("h1")).to_contain_text("Intro call")
        embedded = page.frame(url=re.compile(r"tz=Europe%2FBerlin"))
        assert embedded is not None, [f.url for f in page.frames]
        assert "embed=1" in embedded.url
        assert "parent=" + parent_site.origin.replace(":", "%3A").replace("/", "%2F") in (
            embedded.url
        )
        snap(page, shots, f"{viewport}-embedded-month")
        audit_frame(page, viewport)

        frame.locator("a.day.free").nth(1).click()
        frame.locator("ul.times a").nth(2).click()
        expect(frame.get_by_label("Your name")).to_be_visible()
        snap(page, shots, f"{viewport}-embedded-form")
        audit_frame(page, viewport)

        frame.get_by_label("Your name").fill("Bea Guest")
        frame.get_by_label("Email address").fill("bea@example.com")
        frame.get_by_label("Topic").fill("Plans")
        frame.get_by_role("button", name="Confirm booking").click()
        expect(page.locator("#status")).to_contain_text("Booked: ", timeout=10000)
        expect(frame.locator("h1")).to_contain_text("You are booked")

        booking = Booking.objects.get()
        assert booking.status == Booking.Status.CONFIRMED
        received = page.evaluate("() => window.received")
        assert all(m["origin"] == live for m in received), received
        created = [m["data"] for m in received if m["data"]["type"] == "booking.created"]
        assert created == [{"type": "booking.created", "uid": booking.uid}]
        # The frame also told its height, so the page could fit it to its content.
        heights = [m["data"]["height"] for m in received if m["data"]["type"] == "booking.height"]
        assert heights and 200 < heights[-1] < 3000, heights
        done = page.frame(url=re.compile(r"done=booked"))
        assert done is not None and "embed=1" in done.url
        snap(page, shots, f"{viewport}-embedded-booked")
        audit_frame(page, viewport)

        assert set_cookies == [], set_cookies  # nothing in the flow even tries to set one
        assert sent_cookies == [], sent_cookies
        assert [c for c in context.cookies() if "localhost" in c["domain"]] == []
        context.close()


def test_an_origin_not_allowed_cannot_frame_the_page(
    cookieless_browser, live_server, transactional_db, shots
):
    make_profile(
        make_account(handle="ada", name="Ada", embed_origins=[OTHER]),
        name="intro",
        work_hours=ALL_WEEK,
    )
    site = ParentSite(f"{live_server.url}/ada/intro/?embed=1")
    try:
        context = cookieless_browser.new_context(viewport=VIEWPORTS["desktop"])
        page = context.new_page()
        blocked: list[str] = []
        page.on("console", lambda m: "frame-ancestors" in m.text and blocked.append(m.text))
        page.goto(site.origin + "/")
        page.wait_for_timeout(1000)
        frame = page.frame(url=re.compile(r"/ada/intro/"))
        # Chromium refuses the document: the frame holds an error page, not the booking page.
        assert frame is None or frame.evaluate("() => !document.querySelector('h1')")
        assert blocked, "Chromium did not report the frame-ancestors refusal"
        shots(page, "desktop-refused")
        context.close()
    finally:
        site.close()
