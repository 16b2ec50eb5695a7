"""Errors and transport on every /v1/ path (SPEC §2): methods, unknown paths, bodies that are
not JSON objects, sizes, odd numbers and characters, list paging, the OpenAPI document, no
input ever a 500, and what a client over real HTTP sees."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from scheduler.api import profiles as profiles_api
from scheduler.models import Booking, Profile
from tests.api.helpers import (
    BOOKINGS,
    CALENDARS,
    PROFILES,
    RESERVATIONS,
    WORK_HOURS,
    ApiClient,
    assert_error,
    meeting_body,
    meeting_path,
)
from tests.factory import make_account, make_profile, make_token
from tests.fixtures.servers import gunicorn_on_test_db

# --- methods ---------------------------------------------------------------------------------

WRONG_METHODS = [
    ("PUT", WORK_HOURS),
    ("POST", WORK_HOURS),
    ("DELETE", PROFILES),
    ("PUT", PROFILES + "/1"),
    ("POST", PROFILES + "/1"),
    ("DELETE", PROFILES + "/1/meeting"),
    ("GET", RESERVATIONS + "/1/confirm"),
    ("GET", RESERVATIONS + "/1"),
    ("POST", BOOKINGS),
    ("PATCH", BOOKINGS + "/1"),
    ("GET", BOOKINGS + "/1/reschedule"),
    ("DELETE", CALENDARS),
    ("GET", CALENDARS + "/1"),
    ("DELETE", "/v1/book/ada/intro/meeting"),
    ("POST", "/v1/openapi.json"),
    ("POST", "/v1/docs"),
]


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_wrong_methods_are_json_405(api, method, path):
    response = api(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.has_header("Allow")


def test_a_405_names_the_allowed_methods(api):
    response = api("PUT", PROFILES)
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/v1/openapi.json", "/v1/docs"])
def test_the_openapi_document_and_its_page_are_read_only_405_before_csrf(method, path):
    # A client that enforces CSRF, as a real one does: the method is what is wrong, not a
    # missing CSRF token, so the answer is a JSON 405 and not a 403.
    response = ApiClient(Client(enforce_csrf_checks=True))(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert {m.strip() for m in response["Allow"].split(",")} >= {"GET", "HEAD"}


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT"])
def test_v1_itself_is_no_resource_for_a_client_that_enforces_csrf(method):
    response = ApiClient(Client(enforce_csrf_checks=True))(method, "/v1/")
    assert_error(response, 404, "not_found")


def test_head_is_get_without_a_body(client, api, profile):
    answer = api.client.head(PROFILES, **api.headers)
    assert answer.status_code == 200 and answer.content == b""
    assert answer["Content-Type"].startswith("application/json")
    assert client.head(PROFILES).status_code == 401
    assert client.head(f"/v1/book/ada/{profile.name}/meeting").status_code == 200
    assert client.head(RESERVATIONS + "/1", **api.headers).status_code == 405


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/unknown",
        "/v1/nope",
        "/v1/",
        "/v1/book",
        "/v1/book/account/",  # GET /v1/book/account is the account itself (SPEC §10)
        "/v1/book/account/nope/1",
        "/v1/book/account/profiles/1/unknown",
        "/v1/book/account/profiles/",
        "/v1/book/ada",
        "/v1/book/ada/intro",
        "/v1/book/ada/intro/meeting/",
        "/v1/book/x/y/z/",
    ],
)
def test_unknown_paths_are_json_404(anon, path):
    for method in ("GET", "POST"):
        assert_error(anon(method, path), 404, "not_found")


def test_nul_in_a_path_is_404(anon, api, profile):
    assert_error(anon("GET", "/v1/book/ada%00/intro/meeting"), 404, "not_found")
    assert_error(anon("POST", "/v1/book/ada/intro%00/meeting", meeting_body()), 404, "not_found")
    assert_error(api("GET", f"{PROFILES}/{profile.pk}%00"), 404, "not_found")


def test_openapi_and_docs_are_served(client):
    schema = client.get("/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/v1/book/account/profiles/{id}/meeting" in schema["paths"]
    assert client.get("/v1/docs").status_code == 200


# --- bodies ----------------------------------------------------------------------------------


@override_settings(API_MAX_BODY_BYTES=2000)
@pytest.mark.parametrize("path", [PROFILES, "/v1/book/ada/intro/meeting"])
def test_oversized_bodies_are_413(api, profile, path):
    response = api("POST", path, {"name": "x", "context": "y" * 3000})
    assert_error(response, 413, "payload_too_large")
    assert Profile.objects.count() == 1 and Booking.objects.count() == 0


@override_settings(API_MAX_BODY_BYTES=1000)
def test_an_oversized_profile_is_413_and_not_written(api):
    response = api("POST", PROFILES, {"name": "x", "context": "y" * 2000})
    assert_error(response, 413, "payload_too_large")
    assert Profile.objects.count() == 0


@pytest.mark.parametrize(
    "raw", ["{", '{"name": "x",}', "nul", "\x00\x01", b"\xff\xfe{", "{'name': 'x'}", ""]
)
def test_malformed_json_is_400(api, raw):
    assert_error(api("POST", PROFILES, raw), 400, "bad_request")
    assert Profile.objects.count() == 0


def test_body_must_be_an_object_of_json(api):
    assert_error(api("POST", PROFILES, "{not json"), 400, "bad_request")
    assert_error(api("POST", PROFILES, "[1, 2]"), 400, "bad_request")
    assert_error(api("POST", PROFILES, ""), 400, "bad_request", "body")


@pytest.mark.parametrize("raw", ["[]", '"intro"', "1", "null", "true", '[{"name": "x"}]'])
def test_a_body_that_is_not_an_object_is_400(api, profile, raw):
    assert_error(api("POST", PROFILES, raw), 400, "bad_request")
    assert_error(api("PATCH", f"{PROFILES}/{profile.pk}", raw), 400, "bad_request")
    assert_error(api("POST", meeting_path(profile), raw), 400, "bad_request")
    assert Profile.objects.count() == 1


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/json"]
)
def test_a_json_body_may_carry_parameters(api, content_type):
    response = api("POST", PROFILES, {"name": "intro"}, content_type=content_type)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_a_body_that_is_not_json_is_415(api, content_type):
    response = api("POST", PROFILES, {"name": "intro"}, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert Profile.objects.count() == 0


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "١٢"])
def test_a_content_length_that_is_not_a_number_is_400(api, length):
    response = api("POST", PROFILES, {"name": "x"}, CONTENT_LENGTH=length)
    assert_error(response, 400, "bad_request")
    assert Profile.objects.count() == 0


# --- odd numbers and characters --------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "durationMinutes": 10**400},
        {"name": "x", "durationMinutes": 1e308},
        {"name": "x", "durationMinutes": -(10**40)},
        {"name": "x", "maxBookingsPerDay": 2**63},
        {"name": "x", "startAfterMinutes": 2**64},
        {"name": "x", "timeAvailableFor": "P99999999999999999999D"},
        {"name": "x", "startTime": "99999-01-01T00:00:00Z"},
        {"name": "x", "startTime": "0001-01-01T00:00:00Z"},
    ],
)
def test_huge_numbers_are_400(api, body):
    error = assert_error(api("POST", PROFILES, body), 400, "bad_request")
    assert set(error["fields"]) & (set(body) - {"name"})


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_400_naming_the_field(api, value):
    raw = '{"name": "x", "durationMinutes": ' + value + "}"
    assert_error(api("POST", PROFILES, raw), 400, "bad_request", "durationMinutes")
    assert Profile.objects.count() == 0


def test_unicode_round_trips_and_escapes_are_json(api):
    text = "Zoë’s 会議 🎉 \u202e"
    created = api("POST", PROFILES, {"name": "u", "subject": text, "context": text}).json()
    assert created["subject"] == text and created["context"] == text
    assert_error(api("POST", PROFILES, {"name": "会議"}), 400, "bad_request", "name")


def test_nul_characters_are_400_naming_the_field(api, profile):
    # PostgreSQL cannot store NUL in text: without the check this was a 500 there.
    body = {"name": "z", "subject": "a\x00b", "context": "\x00"}
    assert_error(api("POST", PROFILES, body), 400, "bad_request", "subject", "context")
    patch = api("PATCH", f"{PROFILES}/{profile.pk}", {"location": "\x00"})
    assert_error(patch, 400, "bad_request", "location")
    booking = meeting_body(substitutionData={"topic": "a\x00"}, name="x")
    response = api("POST", meeting_path(profile), booking)
    assert_error(response, 400, "bad_request", "substitutionData.topic")
    info = meeting_body(schedulerInfo={"name": "A\x00", "email": "a@example.com"})
    response = api("POST", meeting_path(profile), info)
    assert_error(response, 400, "bad_request", "schedulerInfo.name")
    assert Profile.objects.count() == 1 and Booking.objects.count() == 0


# --- lists: one envelope, one paging ---------------------------------------------------------


@pytest.mark.parametrize("path", [PROFILES, BOOKINGS, CALENDARS])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ],
)
def test_bad_paging_is_400_naming_the_parameter(api, path, query, field):
    assert_error(api("GET", f"{path}?{query}"), 400, "bad_request", field)


@pytest.mark.parametrize("path", [BOOKINGS, CALENDARS])
def test_other_lists_have_the_same_envelope(api, path):
    answer = api("GET", path + "?limit=200&offset=0").json()
    assert set(answer) == {"offset", "totalSize", "done", "records"}
    beyond = api("GET", path + "?offset=500").json()
    assert beyond["records"] == [] and beyond["done"] is True and beyond["offset"] == 500


# --- no input yields a 500 -------------------------------------------------------------------


def test_an_unexpected_exception_is_a_json_500_that_hides_its_cause(api, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(profiles_api, "profile_out", boom)
    api.client.raise_request_exception = False
    response = api("POST", PROFILES, {"name": "x"}, allow_500=True)
    assert_error(response, 500, "server_error")
    assert "fire" not in response.content.decode()


_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(
        ["monday", "24:00", "23:59:59", "P9999Y", "PT1H", "9999-12-31T23:59:59Z", "0001-01-01"]
        + ["2030-01-07T09:00:00+14:00", "Etc/GMT+12", "https://x.example/", "{{a}}", "\x00"]
    ),
)
_VALUES = st.recursive(
    _ODD,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["start", "end", "dayOfWeek", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)
_FULL_PROFILE = {
    "durationMinutes": 30,
    "timeAvailableFor": "P30D",
    "startTime": "2030-01-01T00:00:00Z",
    "endTime": "2031-01-01T00:00:00Z",
    "subject": "{{a}}",
    "openMeetingUrl": "https://m.example/",
    "maxBookingsPerDay": 2,
    "workHours": {
        "timezone": "UTC",
        "daySchedules": [
            {"dayOfWeek": "monday", "workingIntervals": [{"start": "09:00", "end": "17:00"}]}
        ],
    },
    "availabilityIntervals": {
        "intervals": [
            {
                "dateStartInclusive": "2030-01-08",
                "dateEndInclusive": "2030-01-09",
                "hours": [{"start": "10:00", "end": "12:00"}],
            }
        ]
    },
}
_FULL_MEETING = meeting_body(substitutionData={"a": "x"})


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value: ("workHours", "daySchedules", 0, "dayOfWeek"), …"""
    if isinstance(value, dict):
        inner = list(value.items())
    elif isinstance(value, list):
        inner = list(enumerate(value))
    else:
        inner = []
    found = [prefix] if prefix else []
    for key, item in inner:
        found += _paths(item, (*prefix, key))
    return found


def _replaced(base: dict, path: tuple, value: Any) -> dict:
    out = json.loads(json.dumps(base))
    here = out
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = value
    return out


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_one_odd_value_anywhere_is_never_a_500(api, account, data):
    """A valid body with one value anywhere in it replaced by something odd: 2xx or a JSON
    4xx (checked by ApiClient), never a 500 — on SQLite and PostgreSQL alike."""
    profile = Profile.objects.filter(account=account, name="base").first()
    profile = profile or make_profile(account, name="base", subject="{{a:}}")
    value = data.draw(_VALUES)
    target = data.draw(st.sampled_from(["create", "patch", "meeting"]))
    if target == "meeting":
        body = _replaced(_FULL_MEETING, data.draw(st.sampled_from(_paths(_FULL_MEETING))), value)
        response = api("POST", meeting_path(profile), body)
    else:
        body = _replaced(_FULL_PROFILE, data.draw(st.sampled_from(_paths(_FULL_PROFILE))), value)
        if target == "create":
            body["name"] = f"n{Profile.objects.count()}"
            response = api("POST", PROFILES, body)
        else:
            response = api("PATCH", f"{PROFILES}/{profile.pk}", body)
    assert response.status_code in (200, 201, 400, 409), response.content


# --- over real HTTP --------------------------------------------------------------------------


@pytest.fixture
def one_worker(transactional_db):
    """gunicorn with one worker on the test database: what a client on the network sees."""
    with gunicorn_on_test_db(workers=1) as base:
        yield base


def test_a_client_over_http_gets_json_for_everything(one_worker):
    account = make_account(handle="ada", timezone="UTC")
    auth = {"Authorization": f"Bearer {make_token(account)}"}
    base = one_worker + "/v1/book/account"
    # Time is not frozen in the server process, so book the first slot it offers.
    created = requests.post(f"{base}/profiles", json={"name": "intro"}, headers=auth, timeout=10)
    assert created.status_code == 201
    pk = created.json()["id"]
    slots = requests.get(f"{base}/profiles/{pk}/meeting", headers=auth, timeout=10).json()
    body = {"time": slots["items"][0], "schedulerInfo": {"name": "A", "email": "a@example.com"}}
    booked = requests.post(f"{base}/profiles/{pk}/meeting", json=body, headers=auth, timeout=10)
    assert booked.status_code == 201 and booked.json()["status"] == "confirmed"
    again = requests.post(f"{base}/profiles/{pk}/meeting", json=body, headers=auth, timeout=10)
    assert again.status_code == 409
    cancelled = requests.delete(f"{base}/bookings/{booked.json()['id']}", headers=auth, timeout=10)
    assert cancelled.json() == {"status": "Ok"}

    json_auth = {**auth, "Content-Type": "application/json"}
    answers = [
        requests.get(one_worker + "/v1/unknown", timeout=10),
        requests.get(f"{base}/profiles", timeout=10),
        requests.put(f"{base}/profiles", headers=auth, timeout=10),
        requests.post(f"{base}/profiles", data="{", headers=json_auth, timeout=10),
        requests.post(f"{base}/profiles", data="x" * 70_000, headers=auth, timeout=10),
        requests.post(f"{base}/profiles", data='{"name": "x"}', headers=auth, timeout=10),
    ]
    assert [a.status_code for a in answers] == [404, 401, 405, 400, 413, 415]
    for answer in answers:
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["error"]["message"]

    head = requests.head(f"{base}/profiles", headers=auth, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0

    host = urlsplit(one_worker)
    raw = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    raw.request("GET", "/v1/book/ada/intro/meeting%00")
    response = raw.getresponse()
    assert response.status == 404 and json.loads(response.read())["error"]
    raw.close()
