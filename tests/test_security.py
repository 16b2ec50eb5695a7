"""Security headers and limits (SPEC §2, §6, §11 "Details"): 415 for bodies that are not JSON,
a Content-Security-Policy on every HTML page, `no-store` on a booking's token pages, no
`Server: gunicorn`, admin login throttling per username, persistent database connections and
the `check --deploy` error for a per-process cache."""

from __future__ import annotations

import pytest

from scheduler.models import Profile
from tests.api.helpers import PROFILES, ApiClient, assert_error
from tests.factory import make_token

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
