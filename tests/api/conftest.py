"""Fixtures of the /v1/ API tests: a frozen clock, the host Ada, her clients and profiles."""

from __future__ import annotations

import pytest
import time_machine

from scheduler.models import Account, Profile
from tests.api.helpers import NOW, ApiClient
from tests.factory import make_account, make_profile, make_token

UTC_WEEK = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "09:00:00", "end": "17:00:00"}]}
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    ],
}


@pytest.fixture(autouse=True)
def frozen():
    """Every API test runs at NOW (Monday 2030-01-07 06:00 UTC) unless it moves the clock."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def account(db) -> Account:
    """Ada, in Berlin: UTC+1 in January, so her default week is 08:00–16:00 UTC."""
    return make_account(
        handle="ada", name="Ada Host", email="ada@example.com", timezone="Europe/Berlin"
    )


@pytest.fixture
def api(client, account) -> ApiClient:
    """Ada's own API client (her token)."""
    return ApiClient(client, make_token(account))


@pytest.fixture
def anon(client) -> ApiClient:
    """A client without a token, as the public endpoints are used."""
    return ApiClient(client)


@pytest.fixture
def profile(account) -> Profile:
    """Ada's `intro` in her default week (Berlin): one required variable (`topic`) and two
    with defaults (`notes`, `room`)."""
    return make_profile(
        account,
        name="intro",
        subject="Intro with {{name}}: {{topic}}",
        description="Notes: {{notes:none given}}",
        location="{{room:Lobby}}",
    )


@pytest.fixture
def utc_profile(account) -> Profile:
    """Ada's `intro` with its hours pinned to Mon–Fri 09:00–17:00 UTC, so slot instants read as
    the work day; `topic` is required, `room` defaults to Lobby."""
    return make_profile(
        account,
        name="intro",
        subject="Intro with {{name}}: {{topic}}",
        location="{{room:Lobby}}",
        work_hours=UTC_WEEK,
    )
