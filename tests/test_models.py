"""Model validation (full_clean) and the rules the database itself enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from scheduler.models import Account, ApiToken, Booking, Calendar, Event, Profile, hash_token
from scheduler.services import calendars
from tests.factory import make_account, make_booking, make_profile

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)


def refused(**fields) -> dict[str, list[str]]:
    """The validation errors of an unsaved profile with these fields."""
    profile = Profile(account=make_account(), name=fields.pop("name", "meet"), **fields)
    with pytest.raises(ValidationError) as caught:
        profile.full_clean()
    return caught.value.message_dict


def db_refuses(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize("step", [5, 10, 15, 20, 30, 60])
def test_allowed_steps_validate(step):
    Profile(account=make_account(), name="ok", availability_step=step).full_clean()


@pytest.mark.parametrize("step", [1, 7, 25, 45, 90])
def test_other_steps_are_refused(step):
    assert "5, 10, 15, 20, 30, 60" in refused(availability_step=step)["availability_step"][0]


def test_duration_buffer_and_cap_ranges():
    assert "duration_minutes" in refused(duration_minutes=4)
    assert "duration_minutes" in refused(duration_minutes=721)
    assert "buffer_between_minutes" in refused(buffer_between_minutes=241)
    assert "max_bookings_per_day" in refused(max_bookings_per_day=0)


@pytest.mark.parametrize("period", ["P30D", "P4W", "P3M", "P1Y", "PT36H"])
def test_iso_periods_validate(period):
    Profile(account=make_account(), name="ok", time_available_for=period).full_clean()


@pytest.mark.parametrize("period", ["30 days", "P", "P0D", "1M", "P1.5D"])
def test_bad_periods_are_refused(period):
    errors = refused(time_available_for=period)["time_available_for"]
    assert "period" in errors[0]


def test_work_hours_validation_names_the_problem():
    bad_day = {"daySchedules": [{"dayOfWeek": "mon", "workingIntervals": []}]}
    assert "'mon' is not one of monday" in refused(work_hours=bad_day)["work_hours"][0]
    backwards = {
        "daySchedules": [
            {"dayOfWeek": "monday", "workingIntervals": [{"start": "12:00", "end": "09:00"}]}
        ]
    }
    assert "must be after start" in refused(work_hours=backwards)["work_hours"][0]
    bad_zone = {"timezone": "Moon/Base", "daySchedules": []}
    assert "IANA" in refused(work_hours=bad_zone)["work_hours"][0]
    start_24 = {
        "daySchedules": [
            {"dayOfWeek": "monday", "workingIntervals": [{"start": "24:00", "end": "24:00"}]}
        ]
    }
    assert "24:00 may only end" in refused(work_hours=start_24)["work_hours"][0]
    bad_override = {"intervals": [{"dateStartInclusive": "2026-02-30", "hours": []}]}
    assert "not a date" in refused(availability_intervals=bad_override)["availability_intervals"][0]


def test_clean_stores_normalised_hours_with_24_00_end():
    profile = Profile(
        account=make_account(),
        name="late",
        work_hours={
            "daySchedules": [
                {"dayOfWeek": "Friday", "workingIntervals": [{"start": "20:00", "end": "24:00"}]}
            ]
        },
        availability_intervals={"intervals": [{"dateStartInclusive": "2030-01-04", "hours": []}]},
    )
    profile.full_clean()
    assert profile.work_hours["daySchedules"] == [
        {"dayOfWeek": "friday", "workingIntervals": [{"start": "20:00:00", "end": "24:00:00"}]}
    ]
    assert profile.availability_intervals["intervals"][0]["dateEndInclusive"] == "2030-01-04"
    assert profile.rules().weekly == {4: ((20 * 3600, 24 * 3600),)}


def test_active_period_must_be_ordered():
    assert "end_time" in refused(start_time=T0, end_time=T0)


def test_account_zone_and_handle():
    account = Account(handle="ok-handle", name="N", email="n@example.com", timezone="Nowhere/X")
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert "IANA" in caught.value.message_dict["timezone"][0]
    for handle in ("admin", "V1", "static", "docs", "api", "bookings", "account"):
        account = Account(handle=handle, name="N", email="n@example.com", timezone="UTC")
        with pytest.raises(ValidationError) as caught:
            account.full_clean()
        assert "reserved" in caught.value.message_dict["handle"][0]
    with pytest.raises(ValidationError):
        Account(handle="no spaces", name="N", email="n@example.com").full_clean()


def test_calendar_kind_and_role_rules():
    """The one place these live is the calendar service; admin and the API both call it."""
    assert "read-only" in calendars.check("ics", "primary", "https://x.example/a.ics")["role"][0]
    assert "only be 'primary'" in calendars.check("builtin", "busy", "")["role"][0]
    assert "needs one" in calendars.check("caldav", "busy", "")["url"][0]


# --- database constraints ----------------------------------------------------------------


def test_one_profile_name_per_account():
    account = make_account()
    make_profile(account, name="intro")
    make_profile(make_account(), name="intro")  # another account may use it
    db_refuses(lambda: make_profile(account, name="intro"))


def test_booking_end_after_start():
    profile = make_profile()
    db_refuses(lambda: make_booking(profile, T0, T0))
    db_refuses(lambda: make_booking(profile, T0, T0 - timedelta(minutes=30)))


def test_reservation_needs_an_expiry():
    profile = make_profile()
    db_refuses(lambda: make_booking(profile, T0, T0 + timedelta(minutes=30), status="reserved"))


def test_one_primary_calendar_per_account():
    account = make_account()
    account.primary_calendar()
    db_refuses(lambda: Calendar.objects.create(account=account, kind="caldav", role="primary"))
    Calendar.objects.create(account=account, kind="caldav", role="busy", url="https://x.example")


def test_ics_calendar_is_never_primary_in_the_database():
    account = make_account()
    db_refuses(lambda: Calendar.objects.create(account=account, kind="ics", role="primary"))


def test_profile_checks_in_the_database():
    account = make_account()
    db_refuses(lambda: make_profile(account, availability_step=7))
    db_refuses(lambda: make_profile(account, duration_minutes=1000))
    db_refuses(lambda: make_profile(account, buffer_between_minutes=300))
    db_refuses(lambda: make_profile(account, start_time=T0, end_time=T0 - timedelta(hours=1)))


def test_event_end_not_before_start_and_uid_unique_per_calendar():
    calendar = make_account().primary_calendar()
    db_refuses(lambda: Event.objects.create(calendar=calendar, start=T0, end=T0 - timedelta(1)))
    Event.objects.create(calendar=calendar, uid="u1", start=T0, end=T0)  # zero length is allowed
    db_refuses(lambda: Event.objects.create(calendar=calendar, uid="u1", start=T0, end=T0))


def test_handle_is_unique_in_the_database():
    make_account(handle="same")
    db_refuses(lambda: make_account(handle="same"))


# --- behaviour ---------------------------------------------------------------------------


def test_primary_calendar_is_created_once_as_builtin():
    account = make_account()
    first = account.primary_calendar()
    assert (first.kind, first.role) == ("builtin", "primary")
    assert account.primary_calendar() == first
    assert account.calendars.count() == 1


def test_tokens_store_only_a_hash_and_can_be_revoked():
    account = make_account()
    token, raw = ApiToken.issue(account, "ci")
    assert raw.startswith("bk_") and token.prefix == raw[:10]
    assert token.token_hash == hash_token(raw) and raw not in token.token_hash
    found = ApiToken.authenticate(raw)
    assert found == token and found.last_used_at is not None
    assert ApiToken.authenticate(raw + "x") is None
    assert ApiToken.authenticate("") is None
    assert ApiToken.authenticate("x" * 500) is None
    token.revoked_at = T0
    token.save()
    assert token.revoked and ApiToken.authenticate(raw) is None


def test_live_and_overlapping_bookings():
    profile = make_profile()
    now = T0 - timedelta(days=1)
    confirmed = make_booking(profile, T0, T0 + timedelta(minutes=30))
    live_hold = make_booking(
        profile,
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
        status="reserved",
        expires_at=now + timedelta(minutes=5),
    )
    make_booking(
        profile,
        T0 + timedelta(hours=3),
        T0 + timedelta(hours=4),
        status="reserved",
        expires_at=now - timedelta(minutes=5),
    )
    make_booking(profile, T0 + timedelta(hours=5), T0 + timedelta(hours=6), status="cancelled")
    assert set(Booking.objects.live(now)) == {confirmed, live_hold}
    assert confirmed.is_live(now) and live_hold.is_live(now)
    assert not live_hold.is_live(now + timedelta(minutes=10))
    # Touching is not overlapping.
    assert (
        list(Booking.objects.overlapping(T0 + timedelta(minutes=30), T0 + timedelta(hours=1))) == []
    )
    assert list(
        Booking.objects.overlapping(T0 + timedelta(minutes=29), T0 + timedelta(hours=1))
    ) == [confirmed]


def test_scheduler_link_and_timezone(settings):
    settings.SITE_URL = "https://book.example.com"
    account = make_account(handle="lin", timezone="Asia/Kathmandu")
    profile = make_profile(account, name="intro")
    assert profile.scheduler_link == "https://book.example.com/lin/intro/"
    assert profile.timezone == "Asia/Kathmandu"
    profile.work_hours = {"timezone": "Europe/London", "daySchedules": []}
    assert profile.timezone == "Europe/London"
    assert profile.rules().timezone == "Europe/London"
