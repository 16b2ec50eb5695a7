"""Contract tests: our OpenAPI document fuzzed by schemathesis, and our answers checked
against Aurinko's own OpenAPI document for the same operations."""

from __future__ import annotations

import json

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.helpers import ApiClient, assert_aurinko
from tests.factory import make_profile, make_token

# --- schemathesis against /v1/openapi.json --------------------------------------------------


@pytest.fixture
def one_transaction(db):
    """Requests run in-process on the test transaction: Django must not close the
    connection after each request, as its test client also arranges."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def known(account):
    """A real profile and token, so fuzzed requests also reach past 401 and 404."""
    profile = make_profile(account, name="intro", subject="{{topic:}}")
    return {"token": make_token(account), "profile": profile}


# Reading the document touches no database, so it can be loaded at collection time.
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", get_wsgi_application())


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi(case, known, one_transaction):
    params = case.path_parameters or {}
    # Half the ids point at a real profile so the fuzzing gets past the 404.
    if isinstance(params.get("id"), int) and params["id"] % 2 == 0:
        params["id"] = known["profile"].pk
    if isinstance(params.get("handle"), str) and len(params["handle"]) % 2 == 0:
        case.path_parameters["handle"] = known["profile"].account.handle
        case.path_parameters["name"] = known["profile"].name
    case.call_and_validate(
        headers={"Authorization": f"Bearer {known['token']}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


# --- Aurinko's schemas ----------------------------------------------------------------------


NOW = "2030-01-07T06:00:00Z"


def test_our_answers_validate_against_aurinkos_schemas(client, account, token):
    # ApiClient validates every answer too; the explicit checks name each operation.
    api = ApiClient(client, token)
    with time_machine.travel(NOW, tick=False):
        assert_aurinko("workHours", api("GET", "/v1/book/account/workHours").json())

        created = api(
            "POST",
            "/v1/book/account/profiles",
            {
                "name": "intro",
                "subject": "Intro: {{topic}}",
                "description": "{{notes:none}}",
                "startTime": "2030-01-01T00:00:00Z",
                "openMeetingUrl": "https://meet.example.com/x",
                "availabilityIntervals": {
                    "intervals": [{"dateStartInclusive": "2030-01-09", "hours": []}]
                },
                "maxBookingsPerDay": 4,
            },
        )
        assert created.status_code == 201
        assert_aurinko("create", created.json())
        pk = created.json()["id"]
        profiles = "/v1/book/account/profiles"
        assert_aurinko("getAccBookings", api("GET", profiles).json())
        assert_aurinko("getBooking", api("GET", f"{profiles}/{pk}").json())
        patched = api("PATCH", f"{profiles}/{pk}", {"subject": "Intro: {{topic}}!"})
        assert_aurinko("updateBooking", patched.json())

        times = api("GET", f"{profiles}/{pk}/meeting?fromDate=2030-01-07&intervalLength=P1D")
        assert times.json()["items"] and "nextFromDate" in times.json()
        assert_aurinko("bookingAccountMeetingTimes", times.json())
        public = "/v1/book/ada/intro/meeting"
        assert_aurinko("getMeetingTimes", client.get(public).json())

        slots = times.json()["items"]
        meeting = {"time": slots[0], "schedulerInfo": {"name": "A", "email": "a@example.com"}}
        meeting["substitutionData"] = {"topic": "x"}
        booked = api("POST", f"{profiles}/{pk}/meeting", meeting)
        assert_aurinko("bookingAccountCreateMeeting", booked.json())
        reserved = api(
            "POST", f"{profiles}/{pk}/meeting?reserveForMinutes=10", {**meeting, "time": slots[1]}
        )
        assert_aurinko("bookingAccountCreateMeeting", reserved.json())
        rid = reserved.json()["ReservationId"]
        confirmed = api("POST", f"/v1/book/account/reservations/{rid}/confirm")
        assert_aurinko("bookingAccountReservationConfirm", confirmed.json())
        another = api(
            "POST", f"{profiles}/{pk}/meeting?reserveForMinutes=10", {**meeting, "time": slots[2]}
        )
        released = api("DELETE", f"/v1/book/account/reservations/{another.json()['id']}")
        assert_aurinko("bookingAccountReservationDelete", released.json())

        by_public = ApiClient(client)("POST", public, {**meeting, "time": slots[3]})
        assert by_public.status_code == 201
        assert_aurinko("createMeeting", by_public.json())

        deleted = api("DELETE", f"{profiles}/{pk}")
        assert_aurinko("deleteBooking", deleted.json())


def test_our_openapi_names_every_spec_endpoint(client):
    paths = json.loads(client.get("/v1/openapi.json").content)["paths"]
    expected = {
        "/v1/book/account/workHours": {"get"},
        "/v1/book/account/profiles": {"get", "post"},
        "/v1/book/account/profiles/{id}": {"get", "patch", "delete"},
        "/v1/book/account/profiles/{id}/meeting": {"get", "post"},
        "/v1/book/account/reservations/{id}/confirm": {"post"},
        "/v1/book/account/reservations/{id}": {"delete"},
        "/v1/book/account/bookings": {"get"},
        "/v1/book/account/bookings/{id}": {"get", "delete"},
        "/v1/book/account/bookings/{id}/reschedule": {"post"},
        "/v1/book/account/calendars": {"get", "post"},
        "/v1/book/account/calendars/{id}": {"delete"},
        "/v1/book/{handle}/{name}/meeting": {"get", "post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
