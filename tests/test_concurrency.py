"""Real parallelism: 50 clients against 4 gunicorn workers race for one slot (SPEC §5).

Runs on whichever database the suite uses (SQLite by default, PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from scheduler.models import Booking
from scheduler.rules.availability import DAY_NAMES
from tests.factory import make_account, make_profile, make_token
from tests.fixtures.servers import first_slot

CLIENTS = 50
ALL_DAY = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for day in DAY_NAMES
    ],
}

pytestmark = pytest.mark.slow


def _race(base: str, token: str, attempts: list[tuple[int, dict[str, str]]]) -> Counter:
    """POST every attempt at once (a barrier releases them together); count the statuses."""
    barrier = threading.Barrier(len(attempts))
    session_headers = {"Authorization": f"Bearer {token}"}

    def attempt(item: tuple[int, dict[str, str]]) -> int:
        profile_id, time = item
        barrier.wait(timeout=30)
        response = requests.post(
            f"{base}/v1/book/account/profiles/{profile_id}/meeting",
            json={"time": time, "schedulerInfo": {"name": "Racer", "email": "r@example.com"}},
            headers=session_headers,
            timeout=60,
        )
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "slot_unavailable"
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return Counter(pool.map(attempt, attempts))


def test_fifty_clients_one_slot_one_booking(live_app):
    account = make_account()
    token = make_token(account)
    profile = make_profile(account, work_hours=ALL_DAY, start_after_minutes=0)
    slot = first_slot(live_app, token, profile.pk)

    statuses = _race(live_app, token, [(profile.pk, slot)] * CLIENTS)

    assert statuses == Counter({201: 1, 409: CLIENTS - 1})
    assert Booking.objects.filter(account=account).count() == 1


def test_overlapping_slots_of_two_profiles_give_one_booking(live_app):
    account = make_account()
    token = make_token(account)
    short = make_profile(account, work_hours=ALL_DAY, duration_minutes=30, availability_step=60)
    long = make_profile(account, work_hours=ALL_DAY, duration_minutes=60, availability_step=60)
    slot = first_slot(live_app, token, long.pk)
    half = {"start": slot["start"], "end": first_slot(live_app, token, short.pk)["end"]}
    assert half["start"] == slot["start"]  # both profiles offer a slot starting together

    attempts = [(short.pk, half) if n % 2 else (long.pk, slot) for n in range(CLIENTS)]
    statuses = _race(live_app, token, attempts)

    assert statuses == Counter({201: 1, 409: CLIENTS - 1})
    assert Booking.objects.filter(account=account).count() == 1
