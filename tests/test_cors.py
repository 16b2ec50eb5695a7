"""CORS (SPEC §10): the public `/v1/book/{handle}/{name}/meeting` endpoints answer browsers on
any origin, without credentials; the account and group endpoints answer no CORS at all."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from scheduler.models import Booking
from tests.factory import make_account, make_profile, make_token

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # a Monday, before the work day
ORIGIN = "https://shop.example"
PUBLIC = "/v1/book/ada/intro/meeting"
BODY = {
    "time": {"start": "2030-01-07T09:00:00Z", "end": "2030-01-07T09:30:00Z"},
    "schedulerInfo": {"name": "Ann", "email": "ann@example.com"},
}
CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
)


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def profile(db):
    account = make_account(handle="ada", name="Ada Host", timezone="UTC")
    return make_profile(account, name="intro")


def preflight(client: Client, path: str, method: str = "POST", **extra: str):
    return client.options(
        path,
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
        **extra,
    )


def assert_open_cors(response) -> None:
    assert response["Access-Control-Allow-Origin"] == "*"
    assert not response.has_header("Access-Control-Allow-Credentials")


def assert_no_cors(response) -> None:
    present = [h for h in CORS_HEADERS if response.has_header(h)]
    assert not present, present


def test_preflight_for_a_json_post_is_allowed_from_any_origin(client, profile):
    response = preflight(client, PUBLIC)
    assert response.status_code == 200
    assert_open_cors(response)
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "content-type" in response["Access-Control-Allow-Headers"].lower()
    assert int(response["Access-Control-Max-Age"]) > 0
    assert response.content == b""
    # The preflight is no booking attempt: it counts toward no rate limit and books nothing.
    assert not Booking.objects.exists()


def test_preflight_for_a_get_is_allowed_too(client, profile):
    response = preflight(client, PUBLIC + "?timeMin=2030-01-07T00:00:00Z", method="GET")
    assert response.status_code == 200
    assert_open_cors(response)


def test_preflight_of_an_unknown_profile_is_answered_like_any_other(client, db):
    # The browser then sends the request and reads the 404 (a JSON error) itself.
    response = preflight(client, "/v1/book/nobody/nothing/meeting")
    assert response.status_code == 200
    assert_open_cors(response)


def test_availability_from_another_origin(client, profile):
    response = client.get(
        PUBLIC,
        {"timeMin": "2030-01-07T00:00:00Z", "timeMax": "2030-01-08T00:00:00Z"},
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 200
    assert response.json()["items"]
    assert_open_cors(response)


def test_booking_from_another_origin_without_credentials(client, profile):
    response = client.post(
        PUBLIC, json.dumps(BODY), content_type="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 201, response.content
    assert_open_cors(response)
    assert not response.cookies  # nothing a browser would have to keep
    # A second booking of the same time is a 409 the page can read too.
    again = client.post(
        PUBLIC, json.dumps(BODY), content_type="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert again.status_code == 409
    assert_open_cors(again)


def test_errors_of_the_api_middleware_carry_cors_too(client, profile, settings):
    # A form post is 415 before any view runs; the calling page can still read why.
    refused = client.post(PUBLIC, {"x": "1"}, HTTP_ORIGIN=ORIGIN)
    assert refused.status_code == 415
    assert_open_cors(refused)
    settings.PUBLIC_BOOKING_RATE_LIMIT = 0
    limited = client.post(
        PUBLIC, json.dumps(BODY), content_type="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert limited.status_code == 429
    assert_open_cors(limited)
    assert "Retry-After" in limited["Access-Control-Expose-Headers"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/book/account",
        "/v1/book/account/profiles",
        "/v1/book/account/profiles/1/meeting",
        "/v1/book/account/bookings",
        "/v1/book/group/profiles",
        "/v1/book/group/profiles/1/meeting",
        "/v1/openapi.json",
    ],
)
def test_account_and_group_endpoints_answer_no_cors(client, profile, path):
    token = make_token(profile.account)
    assert_no_cors(preflight(client, path, HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert_no_cors(preflight(client, path, method="GET"))
    assert_no_cors(client.get(path, HTTP_ORIGIN=ORIGIN, HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert_no_cors(client.get(path, HTTP_ORIGIN=ORIGIN))


def test_public_pages_answer_no_cors(client, profile):
    assert_no_cors(client.get("/ada/intro/", HTTP_ORIGIN=ORIGIN))
    assert_no_cors(preflight(client, "/ada/intro/"))


def test_a_handle_named_like_the_account_area_is_not_public(client, db):
    # "account" and "group" are reserved handles: /v1/book/account/x/meeting is never public.
    assert_no_cors(preflight(client, "/v1/book/account/x/meeting"))
    assert_no_cors(preflight(client, "/v1/book/group/x/meeting"))
