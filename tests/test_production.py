"""Production smoke: the site as `gunicorn booking_site.wsgi` serves it with DEBUG=false.

One fresh SQLite database and one `collectstatic` folder in a temporary directory, set up by
the same commands an operator runs (migrate, collectstatic, seed_demo), then checked over real
HTTP: the admin has its CSS, /v1/docs loads its Swagger UI from our own static files (no CDN),
the demo page and its assets load, and errors are not Django's debug pages.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.fixtures.servers import ROOT, free_port, wait_for_http

ADMIN_PASSWORD = "prod-smoke-" + secrets.token_urlsafe(8)

SETUP = """
import django
from django.core.management import call_command
django.setup()
call_command("migrate", verbosity=0, interactive=False)
call_command("collectstatic", verbosity=0, interactive=False)
call_command("seed_demo")
"""


class Assets(HTMLParser):
    """The stylesheet and script URLs a page asks the browser to load."""

    def __init__(self) -> None:
        super().__init__()
        self.styles: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.styles.append(values["href"])
        elif tag == "script" and values.get("src"):
            self.scripts.append(values["src"])


def assets(html: str) -> Assets:
    parser = Assets()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[str]:
    """A production-configured gunicorn on a fresh database; yields its base URL."""
    tmp = tmp_path_factory.mktemp("production")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "DJANGO_SETTINGS_MODULE": "booking_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{tmp / 'site.sqlite3'}",
        "STATIC_ROOT": str(tmp / "static"),
        "TASKS_BACKEND": "immediate",
        "EMAIL_URL": "dummymail://",
        "DEMO_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    setup = subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr
    assert (tmp / "static" / "ninja" / "swagger-ui-bundle.js.gz").is_file()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "booking_site.wsgi", "-b", f"127.0.0.1:{port}"]
        + ["-w", "2", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_http(base + "/admin/login/")
    except RuntimeError:
        proc.kill()
        raise
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def fetch_assets(base: str, page_url: str, html: str) -> list[requests.Response]:
    """Every stylesheet and script of `html`, all of which must be ours (no CDN)."""
    found = assets(html)
    answers = []
    for ref, kind in [(u, "text/css") for u in found.styles] + [
        (u, "javascript") for u in found.scripts
    ]:
        url = urljoin(page_url, ref)
        assert urlsplit(url).netloc == urlsplit(base).netloc, f"{ref} is not served by the site"
        answer = requests.get(url, timeout=5)
        assert answer.status_code == 200, f"{url}: {answer.status_code}"
        assert kind in answer.headers["Content-Type"], f"{url}: {answer.headers['Content-Type']}"
        answers.append(answer)
    return answers


def test_admin_login_page_has_its_css_served_compressed(site):
    page = requests.get(f"{site}/admin/login/", timeout=5)
    assert page.status_code == 200
    styles = assets(page.text).styles
    assert "/static/admin/css/base.css" in styles
    for answer in fetch_assets(site, page.url, page.text):
        assert len(answer.content) > 0
    # The collected copy is served, with its precompressed variant.
    css = requests.get(
        f"{site}/static/admin/css/base.css", headers={"Accept-Encoding": "gzip"}, timeout=5
    )
    assert css.headers.get("Content-Encoding") == "gzip"
    assert "text/css" in css.headers["Content-Type"]


def test_admin_login_with_the_seeded_admin(site):
    session = requests.Session()
    form = session.get(f"{site}/admin/login/", timeout=5)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = session.post(
        f"{site}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": "admin", "password": ADMIN_PASSWORD},
        headers={"Referer": f"{site}/admin/login/"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.url == f"{site}/admin/"
    assert "Booking administration" in answer.text
    assert "Bookings" in answer.text and "Profiles" in answer.text
    bookings = session.get(f"{site}/admin/scheduler/booking/", timeout=10)
    assert bookings.status_code == 200
    assert "Grace Hopper" in bookings.text  # a booking seed_demo made


def test_api_docs_load_swagger_from_our_static_files(site):
    page = requests.get(f"{site}/v1/docs", timeout=5)
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    served = fetch_assets(site, page.url, page.text)
    urls = [a.url for a in served]
    assert any(u.endswith("/static/ninja/swagger-ui-bundle.js") for u in urls)
    assert any(u.endswith("/static/ninja/swagger-ui.css") for u in urls)
    schema = requests.get(f"{site}/v1/openapi.json", timeout=5).json()
    assert "/v1/book/account/profiles" in schema["paths"]


def test_api_docs_render_in_a_browser_with_no_network(site):
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def only_local(route) -> None:
                if route.request.url.startswith(site):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(f"{site}/v1/docs")
            # Swagger UI draws one block per operation once its bundle has run.
            page.wait_for_selector(".opblock", timeout=10_000)
            assert page.locator(".opblock").count() >= 10
            assert "Booking API" in page.title()
        finally:
            browser.close()
    assert outside == []


def test_demo_page_and_its_assets(site):
    page = requests.get(f"{site}/demo/intro/", timeout=10)
    assert page.status_code == 200
    assert "Intro call" in page.text
    assert 'class="day free' in page.text  # days with free times are links
    fetch_assets(site, page.url, page.text)
    availability = requests.get(f"{site}/v1/book/demo/intro/meeting", timeout=10)
    assert availability.status_code == 200 and availability.json()["items"]


def test_errors_are_not_debug_pages(site):
    missing = requests.get(f"{site}/demo/no-such-profile/", timeout=5)
    assert missing.status_code == 404
    assert "Traceback" not in missing.text and "DEBUG = True" not in missing.text
    api_missing = requests.get(f"{site}/v1/book/account/profiles", timeout=5)
    assert api_missing.status_code == 401
    assert api_missing.headers["Content-Type"].startswith("application/json")
    bad_host = requests.get(f"{site}/admin/login/", headers={"Host": "evil.example"}, timeout=5)
    assert bad_host.status_code == 400
    assert "DisallowedHost" not in bad_host.text
