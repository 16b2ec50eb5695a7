"""Security headers and limits (SPEC §2, §6, §11 "Details"): 415 for bodies that are not JSON,
a Content-Security-Policy on every HTML page, `no-store` on a booking's token pages, no
`Server: gunicorn`, admin login throttling per username, persistent database connections and
the `check --deploy` error for a per-process cache."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from django.contrib.auth import authenticate, get_user_model

from scheduler.models import Profile
from tests.api.helpers import PROFILES, ApiClient, assert_error
from tests.factory import make_account, make_booking, make_profile, make_token
from tests.fixtures.servers import gunicorn_on_test_db

# --- 415: API bodies are JSON ----------------------------------------------------------------


@pytest.fixture
def api(client, account) -> ApiClient:
    return ApiClient(client, make_token(account))


def test_a_text_plain_post_is_415_and_writes_nothing(api):
    # A cross-site form may post text/plain without a CORS preflight.
    response = api("POST", PROFILES, '{"name": "intro"}', content_type="text/plain")
    error = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert Profile.objects.count() == 0


def test_a_body_without_a_content_type_is_415(client, account):
    token = make_token(account)
    response = client.generic(
        "POST", PROFILES, b'{"name": "intro"}', HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    # Django's test client sends application/octet-stream when no type is given.
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert Profile.objects.count() == 0


def test_json_with_parameters_is_read(api):
    response = api(
        "POST", PROFILES, {"name": "intro"}, content_type="application/json; charset=UTF-8"
    )
    assert response.status_code == 201, response.content


def test_requests_without_a_body_need_no_content_type(api):
    created = api("POST", PROFILES, {"name": "intro"}).json()
    path = f"{PROFILES}/{created['id']}"
    # The helper sends no body (length 0) with application/octet-stream for these.
    assert api("GET", path).status_code == 200
    assert api("DELETE", path).json() == {"status": "Ok"}


def test_an_oversized_body_is_413_before_its_type_is_judged(api, settings):
    settings.API_MAX_BODY_BYTES = 10
    response = api("POST", PROFILES, "x" * 100, content_type="text/plain")
    assert_error(response, 413, "payload_too_large")


# --- Content-Security-Policy on every HTML page; no-store on token pages --------------------


def directives(headers) -> dict[str, str]:
    policy = headers["Content-Security-Policy"]
    parts = [part.strip().split(None, 1) for part in policy.split(";") if part.strip()]
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_strict_policy(headers) -> None:
    """`headers`: a Django test response or a `requests` answer's headers."""
    found = directives(headers)
    assert found["default-src"] == "'self'"
    assert found["frame-ancestors"] == "'none'"
    assert found["form-action"] == "'self'"
    assert found["base-uri"] == "'none'"
    assert found["object-src"] == "'none'"
    for name in ("script-src", "style-src", "default-src"):
        assert "unsafe-inline" not in found.get(name, "") and "unsafe-eval" not in found.get(
            name, ""
        ), name


@pytest.fixture
def booked(account):
    profile = make_profile(account, name="intro", subject="Intro")
    start = datetime(2030, 1, 7, 9, tzinfo=UTC)
    return make_booking(profile, start, start + timedelta(minutes=30))


def test_every_html_page_sends_a_strict_policy(client, admin_client, booked):
    token = booked.manage_token()
    pages = [
        client.get("/ada/intro/"),
        client.get("/ada/missing/"),  # a 404 page
        client.get(f"/bookings/{token}/"),
        client.get(f"/bookings/{token}/cancel/"),
        client.get("/admin/login/"),
        client.get("/v1/docs"),
        admin_client.get("/admin/"),
        admin_client.get("/admin/scheduler/booking/"),
        admin_client.get(f"/admin/scheduler/booking/{booked.pk}/change/"),
        admin_client.get("/admin/scheduler/profile/add/"),
    ]
    for response in pages:
        assert response["Content-Type"].startswith("text/html"), response
        assert_strict_policy(response)


def test_no_page_has_an_inline_script_or_style(client, admin_client, booked):
    """The policy allows none, so a page that had one would silently lose it."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>|<style\b|\sstyle=")
    token = booked.manage_token()
    for path, as_admin in [
        ("/ada/intro/", False),
        (f"/bookings/{token}/", False),
        (f"/bookings/{token}/reschedule/", False),
        ("/admin/login/", False),
        ("/admin/", True),
        (f"/admin/scheduler/booking/{booked.pk}/change/", True),
        (f"/admin/scheduler/profile/{booked.profile.pk}/change/", True),
        (f"/admin/scheduler/account/{booked.account.pk}/change/", True),
    ]:
        html = (admin_client if as_admin else client).get(path).content.decode()
        assert not inline.search(html), (path, inline.search(html).group(0))


def test_debug_error_pages_keep_their_inline_styles(client, booked, settings):
    settings.DEBUG = True
    assert_strict_policy(client.get("/ada/intro/"))  # pages keep the policy in development
    debug_404 = client.get("/no/such/page/here/")
    assert debug_404.status_code == 404 and "<style" in debug_404.content.decode()
    assert "Content-Security-Policy" not in debug_404


def test_json_answers_carry_no_page_policy(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200 and "Content-Security-Policy" not in response


def test_token_pages_are_never_stored(client, booked):
    token = booked.manage_token()
    for path in [
        f"/bookings/{token}/",
        f"/bookings/{token}/cancel/",
        f"/bookings/{token}/reschedule/",
        f"/bookings/{token}/invite.ics",
        "/bookings/not-a-token/",  # the not-found answer too
    ]:
        response = client.get(path)
        assert response["Cache-Control"] == "no-store", path
    # A cancel POST's answer as well.
    cancelled = client.post(f"/bookings/{token}/cancel/")
    assert cancelled["Cache-Control"] == "no-store"
    # Other pages keep their own caching rules.
    assert "no-store" not in client.get("/ada/intro/").get("Cache-Control", "")


# --- admin login throttling -------------------------------------------------------------------

PASSWORD = "right-horse-battery-staple"


@pytest.fixture
def admins(db):
    User = get_user_model()
    return (
        User.objects.create_superuser("boss", "boss@example.com", PASSWORD),
        User.objects.create_superuser("other", "other@example.com", PASSWORD),
    )


def login(client, username: str, password: str, address: str = "192.0.2.1"):
    """One admin login attempt from `address`, with no session left from the one before."""
    client.cookies.clear()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )
    return response


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_ten_failures_refuse_the_username_everywhere_for_15_minutes(client, admins):
    with time_machine.travel("2030-01-07T10:00:00Z", tick=False) as clock:
        for attempt in range(10):
            # From ten different addresses: the count is per username, not per address.
            failed = login(client, "boss", "wrong", address=f"198.51.100.{attempt + 1}")
            assert failed.status_code in (200, 429) and not logged_in(failed)
        refused = login(client, "boss", PASSWORD, address="203.0.113.9")
        assert not logged_in(refused)
        assert refused.status_code == 429
        assert "Content-Security-Policy" in refused
        # Another user is unaffected, from the same addresses.
        assert logged_in(login(client, "other", PASSWORD, address="198.51.100.1"))
        clock.shift(timedelta(minutes=14, seconds=50))
        assert not logged_in(login(client, "boss", PASSWORD))
        clock.shift(timedelta(seconds=20))
        assert logged_in(login(client, "boss", PASSWORD))


def test_nine_failures_do_not_lock(client, admins):
    with time_machine.travel("2030-01-07T10:00:00Z", tick=False):
        for _ in range(9):
            assert not logged_in(login(client, "boss", "wrong"))
        assert logged_in(login(client, "boss", PASSWORD))


def test_failures_older_than_15_minutes_do_not_count(client, admins):
    with time_machine.travel("2030-01-07T10:00:00Z", tick=False) as clock:
        for _ in range(9):
            login(client, "boss", "wrong")
        clock.shift(timedelta(minutes=16))
        assert not logged_in(login(client, "boss", "wrong"))  # one failure in this window
        assert logged_in(login(client, "boss", PASSWORD))


def test_attempts_during_a_lockout_do_not_extend_it(client, admins):
    with time_machine.travel("2030-01-07T10:00:00Z", tick=False) as clock:
        for _ in range(10):
            login(client, "boss", "wrong")
        clock.shift(timedelta(minutes=10))
        for _ in range(5):
            assert login(client, "boss", "wrong").status_code == 429
        clock.shift(timedelta(minutes=5, seconds=10))
        assert logged_in(login(client, "boss", PASSWORD))


def test_authenticate_without_a_request_is_not_throttled(admins):
    # A management command or a shell checks a password without any request.
    assert authenticate(username="boss", password=PASSWORD) == admins[0]
    assert authenticate(username="boss", password="wrong") is None


# --- in a real browser: the policy blocks nothing the pages use -------------------------------

ALL_WEEK = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "00:00", "end": "24:00"}]}
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}


@pytest.mark.e2e
def test_pages_admin_and_docs_run_under_the_policy_in_chromium(live_server, transactional_db):
    """Every page a visitor, a host or an API user opens, in Chromium with the policy on:
    the browser reports no violation, and the scripts that need to run (the zone detection,
    admin's inline rows and date pickers, Swagger UI) visibly do."""
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, E2E_NOW

    User = get_user_model()
    User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    account = make_account(handle="ada", name="Ada Host", email="ada@example.com")
    profile = make_profile(
        account, name="intro", subject="Intro about {{topic}}", work_hours=ALL_WEEK
    )
    violations: list[str] = []
    with time_machine.travel(E2E_NOW, tick=True), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(timezone_id="Europe/Berlin").new_page()
            page.on(
                "console",
                lambda m: (
                    violations.append(f"{page.url}: {m.text}")
                    if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
                    else None
                ),
            )
            page.add_init_script(
                "document.addEventListener('securitypolicyviolation', e => console.error("
                "'Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI));"
            )

            # The public page: its script detects the zone and rewrites the links.
            page.goto(f"{live_server.url}/ada/intro/")
            page.locator("a.day.free").first.click()
            expect(page.locator("body")).to_contain_text("Central European Time – Berlin")
            page.locator("ul.times a").first.click()
            page.get_by_label("Your name").fill("Bea Guest")
            page.get_by_label("Email address").fill("bea@example.com")
            page.get_by_label("Topic").fill("Plans")
            page.get_by_role("button", name="Confirm booking").click()
            page.wait_for_url(re.compile(r"/bookings/.+done=booked"))
            page.get_by_role("link", name="Cancel").click()
            page.get_by_role("button", name="Yes, cancel the booking").click()
            page.wait_for_url(re.compile(r"done=cancelled"))

            # Admin: log in (a form post to itself), then pages whose scripts must run.
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "boss")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#site-name")
            page.goto(f"{live_server.url}/admin/scheduler/account/{account.pk}/change/")
            rows = page.locator(".inline-related tr.form-row:not(.empty-form)")
            before = rows.count()
            page.locator(".add-row a").first.click()  # admin's inlines.js adds a row
            expect(rows).to_have_count(before + 1)
            page.goto(f"{live_server.url}/admin/scheduler/booking/add/")
            expect(page.locator(".datetimeshortcuts").first).to_be_visible()  # calendar widgets
            page.goto(f"{live_server.url}/admin/scheduler/profile/{profile.pk}/change/")
            page.goto(f"{live_server.url}/admin/scheduler/booking/")
            page.locator("#changelist-search input[type=text]").fill("Bea")
            page.keyboard.press("Enter")
            expect(page.locator("#result_list")).to_contain_text("Bea Guest")

            # The API's docs page: Swagger UI draws the operations.
            page.goto(f"{live_server.url}/v1/docs")
            page.wait_for_selector(".opblock", timeout=10_000)
            page.locator(".opblock-summary").first.click()
            page.wait_for_timeout(300)
        finally:
            browser.close()
    assert violations == []


# --- gunicorn: no Server header; the same headers as in-process --------------------------------


@pytest.fixture
def one_gunicorn(transactional_db):
    with gunicorn_on_test_db(workers=1) as base:
        yield base


def test_gunicorn_sends_no_server_header(one_gunicorn, booked):
    answers = {
        "api": requests.get(f"{one_gunicorn}/v1/openapi.json", timeout=10),
        "api error": requests.post(f"{one_gunicorn}/v1/book/account/profiles", timeout=10),
        "page": requests.get(f"{one_gunicorn}/admin/login/", timeout=10),
        "static": requests.get(f"{one_gunicorn}/static/css/site.css", timeout=10),
        "token page": requests.get(f"{one_gunicorn}/bookings/{booked.manage_token()}/", timeout=10),
    }
    for name, answer in answers.items():
        assert "Server" not in answer.headers, (name, answer.headers.get("Server"))
        assert answer.status_code < 500, name
    assert answers["token page"].status_code == 200
    assert_strict_policy(answers["page"].headers)
    assert_strict_policy(answers["token page"].headers)
    assert answers["token page"].headers["Cache-Control"] == "no-store"
    # A raw HTTP/1.0 answer (no keep-alive, no chunking) has none either.
    host, port = one_gunicorn.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"GET /v1/openapi.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = raw.recv(4096)
            if not chunk:
                break
            head += chunk
    assert head.startswith(b"HTTP/1.0 200")
    assert b"\r\nserver:" not in head.split(b"\r\n\r\n")[0].lower()


# --- settings read in a fresh process: persistent connections, the shared-cache check --------

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "SECRET_KEY": "s" * 60,
    "DEBUG": "false",
    "SITE_URL": "https://book.example.com",
    "ALLOWED_HOSTS": "book.example.com",
}


def fresh(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """`python <args>` with a clean environment, as an operator's process would start."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"}
    clean["DJANGO_SETTINGS_MODULE"] = "booking_site.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


DATABASE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({"age": db["CONN_MAX_AGE"], "checks": db["CONN_HEALTH_CHECKS"]}))
"""


def database_settings(**env: str) -> dict:
    result = fresh(["-c", DATABASE], SECRET_KEY="k", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_connections_persist_with_health_checks():
    pg = "postgres://booking@db.internal:5432/booking"
    assert database_settings(DATABASE_URL=pg) == {"age": 60, "checks": True}
    assert database_settings(DATABASE_URL=pg, CONN_MAX_AGE="300") == {"age": 300, "checks": True}
    assert database_settings(DATABASE_URL=pg, CONN_MAX_AGE="0") == {"age": 0, "checks": True}
    # SQLite opens a file per request, as before.
    assert database_settings(DATABASE_URL="sqlite:////tmp/x.sqlite3")["age"] == 0


def check_deploy(tmp_path, **env: str) -> subprocess.CompletedProcess:
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}"}
    return fresh(["manage.py", "check", "--deploy"], **{**PRODUCTION, **database, **env})


def test_a_per_process_cache_in_production_is_a_deploy_error(tmp_path):
    for url in ("locmemcache://", "dummycache://", None):
        result = check_deploy(tmp_path, **({"CACHE_URL": url} if url else {}))
        assert result.returncode != 0, url
        assert "scheduler.E001" in result.stderr and "CACHE_URL" in result.stderr, url


def test_a_shared_cache_passes_the_check(tmp_path):
    for url in ("redis://cache.internal:6379/1", "dbcache://cache_table"):
        result = check_deploy(tmp_path, CACHE_URL=url)
        assert "scheduler.E001" not in result.stdout + result.stderr, url
        assert result.returncode == 0, result.stderr


def test_the_check_is_for_deploys_with_debug_off_only(tmp_path):
    # DEBUG=true (development) and plain `check` (run by migrate and runserver) say nothing.
    assert "scheduler.E001" not in check_deploy(tmp_path, DEBUG="true").stderr
    plain = fresh(
        ["manage.py", "check"],
        **PRODUCTION,
        DATABASE_URL=f"sqlite:///{tmp_path / 'plain.sqlite3'}",
    )
    assert plain.returncode == 0 and "scheduler.E001" not in plain.stderr
