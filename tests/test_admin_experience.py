"""Admin as SPEC §10 asks: work hours and date overrides are form fields (a zone, weekdays with
intervals, rows of dates), checked by the same rules as the API with errors beside the inputs
that caused them, the JSON never shown; a booking is rescheduled from admin among its profile's
free times through the booking service (SEQUENCE up, the same invite mail), a taken time is
refused, a staff host moves only what they attend; times show and are taken in the account's
zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from scheduler.models import Booking, Profile
from scheduler.services import availability, bookings, groups, profiles
from tests.factory import make_account, make_booking, make_profile

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 08:00 UTC = 03:00 in New York (UTC−5 until 8 March).
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NY = "America/New_York"


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:scheduler_{model._meta.model_name}_{view}", args=args)


def _reschedule_url(booking: Booking) -> str:
    return reverse("admin:scheduler_booking_reschedule", args=[booking.pk])


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class World:
    """A staff host owning @mine (New York) and another staff user's @theirs, one profile and
    one booking each (Tuesday 10:00–10:30 in New York)."""

    def __init__(self) -> None:
        self.host = User.objects.create_user("host", password="pw-host-12345", is_staff=True)
        self.host.user_permissions.set(
            Permission.objects.filter(content_type__app_label="scheduler")
        )
        other = User.objects.create_user("other", password="pw-other-12345", is_staff=True)
        self.mine = make_account(handle="mine", name="My Host", timezone=NY, owner=self.host)
        self.theirs = make_account(handle="theirs", name="Their Host", owner=other)
        self.profile = make_profile(self.mine, name="intro", subject="Intro")
        self.their_profile = make_profile(self.theirs, name="their-call", subject="Theirs")
        tuesday_10_ny = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
        self.booking = make_booking(
            self.profile,
            tuesday_10_ny,
            tuesday_10_ny + timedelta(minutes=30),
            name="Ada Lovelace",
            email="ada@example.com",
        )
        self.their_booking = make_booking(
            self.their_profile,
            tuesday_10_ny,
            tuesday_10_ny + timedelta(minutes=30),
            email="them@example.com",
        )


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def host_client(client, world):
    client.force_login(world.host)
    return client


# --- work hours and overrides as fields ------------------------------------------------------


def _profile_post(profile: Profile, **fields) -> dict:
    """A personal profile's change form, its hours left to `fields` (all other inputs as the
    page shows them)."""
    data = {
        "account": profile.account_id,
        "name": profile.name,
        "active": "on",
        "subject": profile.subject,
        "duration_minutes": profile.duration_minutes,
        "availability_step": profile.availability_step,
        "buffer_between_minutes": profile.buffer_between_minutes,
        "start_after_minutes": profile.start_after_minutes,
        "time_available_for": profile.time_available_for,
        "context": "",
        "work_hours-mode": "default",
        "work_hours-timezone": "",
    }
    return {**data, **fields}


def _week(**days) -> dict:
    """Inputs of the week table: monday=[("09:00", "12:00"), …] → work_hours-monday-0-start…"""
    out = {"work_hours-mode": "custom"}
    for day, pairs in days.items():
        for k, (start, end) in enumerate(pairs):
            out[f"work_hours-{day}-{k}-start"] = start
            out[f"work_hours-{day}-{k}-end"] = end
    return out


def _override(i: int, first: str, last: str = "", off: bool = False, hours=()) -> dict:
    out = {f"availability_intervals-{i}-first": first, f"availability_intervals-{i}-last": last}
    if off:
        out[f"availability_intervals-{i}-off"] = "on"
    for k, (start, end) in enumerate(hours):
        out[f"availability_intervals-{i}-{k}-start"] = start
        out[f"availability_intervals-{i}-{k}-end"] = end
    return out


def _field_errors(page: str, field: str) -> str:
    """The errors admin shows above one field's inputs."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


def _cell(page: str, name: str) -> str:
    """The table cell holding the input `name`, with the errors beside it."""
    found = re.search(rf'<td[^>]*>\s*(?:<span[^>]*>)?<input[^>]*name="{name}".*?</td>', page, re.S)
    assert found, f"no input {name}"
    return found.group(0)


def test_profile_page_shows_hours_as_inputs_never_as_json(admin_client, world):
    Profile.objects.filter(pk=world.profile.pk).update(
        work_hours={
            "timezone": "Asia/Tokyo",
            "daySchedules": [
                {
                    "dayOfWeek": "monday",
                    "workingIntervals": [
                        {"start": "09:00:00", "end": "12:00:00"},
                        {"start": "13:00:00", "end": "24:00:00"},
                    ],
                }
            ],
        },
        availability_intervals={
            "intervals": [
                {"dateStartInclusive": "2026-12-24", "dateEndInclusive": "2026-12-26", "hours": []}
            ]
        },
    )
    page = admin_client.get(_url(Profile, "change", world.profile.pk)).content.decode()
    assert "daySchedules" not in page and "dateStartInclusive" not in page
    assert '<option value="Asia/Tokyo" selected>' in page
    assert 'name="work_hours-mode" value="custom" checked' in page
    assert re.search(r'name="work_hours-monday-0-start" value="09:00"', page)
    assert re.search(r'name="work_hours-monday-1-end" value="00:00"', page)  # 24:00: midnight
    assert re.search(r'name="work_hours-tuesday-0-start" value=""', page)
    assert 'name="availability_intervals-0-first" id="id_availability_intervals-0-first"' in page
    assert re.search(r'name="availability_intervals-0-first"[^>]*value="2026-12-24"', page)
    assert re.search(r'name="availability_intervals-0-last" value="2026-12-26"', page)
    assert re.search(r'name="availability_intervals-0-off" value="on" checked', page)
    # A label points at the inputs: the zone select and the first override's date.
    assert 'for="id_work_hours-timezone"' in page
    assert 'for="id_availability_intervals-0-first"' in page


def test_default_hours_show_the_default_chosen_with_its_week_filled_in(admin_client, world):
    page = admin_client.get(_url(Profile, "change", world.profile.pk)).content.decode()
    assert 'name="work_hours-mode" value="default" checked' in page
    assert "Not set: the account&#x27;s zone (America/New_York)" in page
    assert re.search(r'name="work_hours-friday-0-start" value="09:00"', page)
    assert re.search(r'name="work_hours-saturday-0-start" value=""', page)
    add = admin_client.get(_url(Profile, "add")).content.decode()
    assert 'name="work_hours-mode" value="default" checked' in add
    assert "null" not in re.sub(r"<script.*?</script>", "", add, flags=re.S)


def test_saving_work_hours_through_the_fields_stores_the_normalised_json(admin_client, world):
    profile = world.profile
    data = _profile_post(
        profile,
        **_week(
            monday=[("09:00", "12:00"), ("13:00", "00:00"), ("", "")],
            wednesday=[("", ""), ("08:30", "10:15:30")],
            saturday=[("10:00", "11:00")],
        ),
        **{"work_hours-timezone": "Asia/Tokyo"},
    )
    response = admin_client.post(_url(Profile, "change", profile.pk), data)
    assert response.status_code == 302, _field_errors(response.content.decode(), "work_hours")
    profile.refresh_from_db()
    assert profile.work_hours == {
        "timezone": "Asia/Tokyo",
        "daySchedules": [
            {
                "dayOfWeek": "monday",
                "workingIntervals": [
                    {"start": "09:00:00", "end": "12:00:00"},
                    {"start": "13:00:00", "end": "24:00:00"},
                ],
            },
            {"dayOfWeek": "wednesday",
             "workingIntervals": [{"start": "08:30:00", "end": "10:15:30"}]},
            {"dayOfWeek": "saturday",
             "workingIntervals": [{"start": "10:00:00", "end": "11:00:00"}]},
        ],
    }  # fmt: skip
    assert profile.rules().weekly[0] == ((9 * 3600, 12 * 3600), (13 * 3600, 24 * 3600))
    assert profile.availability_intervals is None  # no override rows filled


def test_the_default_saves_null_or_the_default_week_in_a_chosen_zone(admin_client, world):
    profile = world.profile
    Profile.objects.filter(pk=profile.pk).update(
        work_hours={"daySchedules": [{"dayOfWeek": "monday", "workingIntervals": []}]}
    )
    # The table still holds hours, but "the default" is chosen: they are not used.
    data = _profile_post(profile, **_week(monday=[("07:00", "08:00")]))
    data["work_hours-mode"] = "default"
    assert admin_client.post(_url(Profile, "change", profile.pk), data).status_code == 302
    profile.refresh_from_db()
    assert profile.work_hours is None
    data["work_hours-timezone"] = "Europe/Berlin"
    assert admin_client.post(_url(Profile, "change", profile.pk), data).status_code == 302
    profile.refresh_from_db()
    assert profile.work_hours["timezone"] == "Europe/Berlin"
    assert profile.rules().weekly == {d: ((9 * 3600, 17 * 3600),) for d in range(5)}


def test_no_intervals_at_all_is_no_weekly_hours(admin_client, world):
    profile = world.profile
    data = _profile_post(profile, **_week())
    assert admin_client.post(_url(Profile, "change", profile.pk), data).status_code == 302
    profile.refresh_from_db()
    assert profile.work_hours == {"daySchedules": []}
    assert availability.compute(profile).slots == []


@pytest.mark.parametrize(
    ("pairs", "cell", "why"),
    [
        ([("12:00", "09:00")], "work_hours-tuesday-0-start", "must be after start (12:00:00)"),
        ([("09:00", "09:00")], "work_hours-tuesday-0-start", "must be after start (09:00:00)"),
        ([("09:00", "")], "work_hours-tuesday-0-start", "give both a start and an end"),
        ([("9am", "17:00")], "work_hours-tuesday-0-start", "&#x27;9am&#x27; is not a time"),
        (
            [("09:00", "12:00"), ("11:30", "13:00")],
            "work_hours-tuesday-1-start",
            "overlaps 09:00–12:00",
        ),
        (
            [("08:00", "17:00"), ("", ""), ("12:00", "13:00")],
            "work_hours-tuesday-2-start",
            "overlaps 08:00–17:00",
        ),
    ],
    ids=["end-before-start", "empty", "half", "not-a-time", "overlap", "inside"],
)
def test_bad_intervals_are_errors_beside_the_inputs_and_nothing_is_saved(
    admin_client, world, pairs, cell, why
):
    profile = world.profile
    data = _profile_post(profile, **_week(monday=[("09:00", "17:00")], tuesday=pairs))
    response = admin_client.post(_url(Profile, "change", profile.pk), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert why in _field_errors(page, "work_hours")
    assert "Tuesday" in _field_errors(page, "work_hours")
    assert why in _cell(page, cell)
    assert "errorlist" not in _cell(page, "work_hours-monday-0-start")
    # What was typed is shown again, to be corrected.
    assert f'name="work_hours-tuesday-0-start" value="{pairs[0][0]}"' in page
    assert 'name="work_hours-mode" value="custom" checked' in page
    profile.refresh_from_db()
    assert profile.work_hours is None


def test_touching_intervals_are_fine(admin_client, world):
    profile = world.profile
    data = _profile_post(profile, **_week(friday=[("09:00", "12:00"), ("12:00", "17:00")]))
    assert admin_client.post(_url(Profile, "change", profile.pk), data).status_code == 302
    profile.refresh_from_db()
    assert profile.rules().weekly == {4: ((9 * 3600, 12 * 3600), (12 * 3600, 17 * 3600))}


def test_an_unknown_zone_is_an_error_beside_the_zone(admin_client, world):
    data = _profile_post(world.profile, **{"work_hours-timezone": "Mars/Olympus"})
    page = admin_client.post(_url(Profile, "change", world.profile.pk), data).content.decode()
    assert "not an IANA time zone" in _field_errors(page, "work_hours")
    zone = re.search(r'<div class="hours-zone">.*?</div>', page, re.S).group(0)
    assert "not an IANA time zone" in zone and 'aria-invalid="true"' in zone


def test_overrides_saved_through_the_rows(admin_client, world):
    profile = world.profile
    data = _profile_post(
        profile,
        **_override(0, "2026-12-24", "2026-12-26", off=True),
        **_override(1, "", ""),  # a blank row is ignored
        **_override(2, "2026-12-31", hours=[("09:00", "10:00"), ("", ""), ("15:00", "00:00")]),
    )
    response = admin_client.post(_url(Profile, "change", profile.pk), data)
    assert response.status_code == 302, _field_errors(
        response.content.decode(), "availability_intervals"
    )
    profile.refresh_from_db()
    assert profile.availability_intervals == {
        "intervals": [
            {"dateStartInclusive": "2026-12-24", "dateEndInclusive": "2026-12-26", "hours": []},
            {
                "dateStartInclusive": "2026-12-31",
                "dateEndInclusive": "2026-12-31",
                "hours": [
                    {"start": "09:00:00", "end": "10:00:00"},
                    {"start": "15:00:00", "end": "24:00:00"},
                ],
            },
        ]
    }
    page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    assert "<li>Thu 24 Dec 2026 – Sat 26 Dec 2026: off</li>" in page  # the summary in words
    assert re.search(r'name="availability_intervals-1-1-end" value="00:00"', page)
    # No rows left: no overrides.
    cleared = _profile_post(profile, **_override(0, ""), **_override(1, ""))
    assert admin_client.post(_url(Profile, "change", profile.pk), cleared).status_code == 302
    profile.refresh_from_db()
    assert profile.availability_intervals is None


@pytest.mark.parametrize(
    ("row", "cell", "why"),
    [
        (
            _override(0, "2026-12-26", "2026-12-24", off=True),
            "availability_intervals-0-last",
            "must not be before the first date",
        ),
        (
            _override(0, "2026-12-24", off=True, hours=[("09:00", "10:00")]),
            "availability_intervals-0-off",
            "either hours or “unavailable all day”, not both",
        ),
        (
            _override(0, "2026-12-24"),
            "availability_intervals-0-off",
            "give its hours, or tick “unavailable all day”",
        ),
        (
            _override(0, "", hours=[("09:00", "10:00")]),
            "availability_intervals-0-first",
            "give the date it starts on",
        ),
        (
            _override(0, "2026-12-24", hours=[("10:00", "09:00")]),
            "availability_intervals-0-0-start",
            "must be after start (10:00:00)",
        ),
        (
            _override(0, "2026-12-24", hours=[("09:00", "11:00"), ("10:00", "12:00")]),
            "availability_intervals-0-1-start",
            "overlaps 09:00–11:00",
        ),
    ],
    ids=["backwards", "off-and-hours", "neither", "no-date", "end-before-start", "overlap"],
)
def test_bad_override_rows_are_errors_beside_the_inputs(admin_client, world, row, cell, why):
    profile = world.profile
    response = admin_client.post(_url(Profile, "change", profile.pk), _profile_post(profile, **row))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Override 1" in _field_errors(page, "availability_intervals")
    assert why in _field_errors(page, "availability_intervals")
    assert why in _cell(page, cell)
    profile.refresh_from_db()
    assert profile.availability_intervals is None


def test_group_profile_hours_are_fields_too(admin_client, world):
    org = groups.create_organization("acme", "Acme", "Europe/Paris")
    ann = make_account(handle="ann", name="Ann", organization=org)
    profile = profiles.create(org, {"name": "team-call", "startAfterMinutes": 0})
    groups.attach_accounts(profile, [ann.pk])
    page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    assert "Not set: the organization&#x27;s zone (Europe/Paris)" in page
    data = {
        "organization": org.pk,
        "name": "team-call",
        "required": "all",
        "client_org_id": "",
        "active": "on",
        "duration_minutes": 30,
        "availability_step": 30,
        "buffer_between_minutes": 0,
        "start_after_minutes": 0,
        "time_available_for": "P30D",
        "attached_accounts": [ann.pk],
        "units-TOTAL_FORMS": "0",
        "units-INITIAL_FORMS": "0",
        "units-MIN_NUM_FORMS": "0",
        "units-MAX_NUM_FORMS": "1000",
        **_week(thursday=[("14:00", "18:00")]),
    }
    response = admin_client.post(_url(Profile, "change", profile.pk), data)
    assert response.status_code == 302, _field_errors(response.content.decode(), "work_hours")
    profile.refresh_from_db()
    assert profile.work_hours == {
        "daySchedules": [
            {
                "dayOfWeek": "thursday",
                "workingIntervals": [{"start": "14:00:00", "end": "18:00:00"}],
            }
        ]
    }
    bad = {**data, **_week(thursday=[("14:00", "18:00"), ("17:00", "19:00")])}
    page = admin_client.post(_url(Profile, "change", profile.pk), bad).content.decode()
    assert "Thursday, 2nd interval: overlaps 14:00–18:00" in _field_errors(page, "work_hours")


# --- times in the account's zone ----------------------------------------------------------


def test_booking_list_and_page_show_times_in_the_accounts_zone_labelled(admin_client, world):
    listing = admin_client.get(_url(Booking, "changelist")).content.decode()
    assert "Tue 03 Mar 2026 10:00–10:30 (America/New_York)" in listing  # 15:00 UTC
    assert "Tue 03 Mar 2026 15:00–15:30 (UTC)" in listing  # @theirs is in UTC
    page = admin_client.get(_url(Booking, "change", world.booking.pk)).content.decode()
    assert "Times in America/New_York, the account's time zone." in page
    assert "2026-03-03 15:00" not in page  # the title and breadcrumb too
    assert "Tue 03 Mar 2026 10:00–10:30 (America/New_York)" in page
    start = re.search(r'field-start">.*?<div class="readonly">(.*?)</div>', page, re.S).group(1)
    assert "10 a.m." in start or "10:00" in start, start
    assert "3 p.m." not in start and "15:00" not in start


def test_booking_added_in_admin_takes_its_time_in_the_accounts_zone(
    admin_client, world, mailoutbox, django_capture_on_commit_callbacks
):
    data = {
        "profile": world.profile.pk,
        "start_0": "2026-03-04",
        "start_1": "11:00:00",  # 11:00 in New York = 16:00 UTC
        "name": "Bob",
        "email": "bob@example.com",
        "substitution_data": "{}",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_url(Booking, "add"), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    made = Booking.objects.get(email="bob@example.com")
    assert made.start == datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
    assert any(m.to == ["bob@example.com"] for m in mailoutbox)
    # 07:00 in New York is before the profile's hours, though 07:00 UTC would be 02:00 there.
    data.update(start_1="07:00:00", email="early@example.com")
    page = admin_client.post(_url(Booking, "add"), data).content.decode()
    assert "Not a free time of" in page
    assert not Booking.objects.filter(email="early@example.com").exists()


# --- reschedule ---------------------------------------------------------------------------------


def _sequence(message) -> int:
    raw = message.message().as_string()
    return int(re.search(r"^SEQUENCE:(\d+)", raw, re.M).group(1))


def test_reschedule_page_lists_the_free_times_in_the_accounts_zone(admin_client, world):
    booking = world.booking
    page = admin_client.get(_reschedule_url(booking)).content.decode()
    assert "Free times, in America/New_York" in page
    assert "Tue 03 Mar 2026 10:00–10:30 (America/New_York)" in page
    # Monday from 09:00 New York time (14:00 UTC); its own time counts free, marked as now.
    assert "Monday 2 March 2026" in page
    assert 'name="start" value="2026-03-02T09:00"' in page
    assert "10:00–10:30 (now)" in page
    assert 'name="start" value="2026-03-03T10:00" class' not in page  # not a button
    assert 'name="start" value="2026-03-02T08:30"' not in page
    # A week at a time, with the later times a link away.
    assert "Later times" in page and "Monday 9 March 2026" not in page
    later = re.search(r'href="\?from=([\d-]+)"', page).group(1)
    page2 = admin_client.get(_reschedule_url(booking), {"from": later}).content.decode()
    assert "Earlier times" in page2 and "Monday 2 March 2026" not in page2


def test_reschedule_from_admin_moves_the_booking_and_mails_the_new_invite(
    admin_client, world, mailoutbox, django_capture_on_commit_callbacks
):
    booking = world.booking
    uid = booking.uid
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_reschedule_url(booking), {"start": "2026-03-04T14:00"})
    assert response.status_code == 302
    assert response.url == _url(Booking, "change", booking.pk)
    booking.refresh_from_db()
    assert booking.start == datetime(2026, 3, 4, 19, 0, tzinfo=UTC)  # 14:00 in New York
    assert booking.end == booking.start + timedelta(minutes=30)
    assert (booking.uid, booking.sequence, booking.status) == (uid, 1, Booking.Status.CONFIRMED)
    invite = [m for m in mailoutbox if m.to == ["ada@example.com"]]
    assert len(invite) == 1
    assert any("method=REQUEST" in mime for _, mime in invite[0].alternatives)
    assert _sequence(invite[0]) == 1 and uid in invite[0].message().as_string()
    followed = admin_client.get(response.url).content.decode()
    assert "Moved to Wed 04 Mar 2026 14:00–14:30 (America/New_York)" in followed


def test_reschedule_refuses_a_taken_time_and_keeps_the_booking(
    admin_client, world, mailoutbox, django_capture_on_commit_callbacks
):
    booking = world.booking
    taken = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # Wed 10:00 in New York
    make_booking(world.profile, taken, taken + timedelta(minutes=30), email="bea@example.com")
    page = admin_client.get(_reschedule_url(booking)).content.decode()
    assert 'value="2026-03-04T10:00" class' not in page
    assert 'value="2026-03-04T10:30" class' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_reschedule_url(booking), {"start": "2026-03-04T10:00"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Wed 04 Mar 2026 10:00 (America/New_York) is not a free time" in text
    # Outside the hours, and not a time at all, are refused too.
    for typed, why in [("2026-03-07T10:00", "is not a free time"), ("soon", "is not a date")]:
        assert why in admin_client.post(_reschedule_url(booking), {"start": typed}).content.decode()
    booking.refresh_from_db()
    assert booking.start == datetime(2026, 3, 3, 15, 0, tzinfo=UTC) and booking.sequence == 0
    assert mailoutbox == []


def test_reschedule_is_reachable_from_the_booking_page_and_the_list(admin_client, world):
    booking = world.booking
    page = admin_client.get(_url(Booking, "change", booking.pk)).content.decode()
    assert f'href="{_reschedule_url(booking)}"' in page and "Reschedule…" in page
    assert "Cancel booking…" in page
    action = {"action": "reschedule_booking", "_selected_action": [booking.pk]}
    response = admin_client.post(_url(Booking, "changelist"), action)
    assert response.status_code == 302 and response.url == _reschedule_url(booking)
    two = {**action, "_selected_action": [booking.pk, world.their_booking.pk]}
    followed = admin_client.post(_url(Booking, "changelist"), two, follow=True).content.decode()
    assert "Select one booking to reschedule" in followed
    listing = admin_client.get(_url(Booking, "changelist")).content.decode()
    assert 'value="reschedule_booking"' in listing and 'value="cancel_bookings"' in listing


def test_a_cancelled_booking_cannot_be_rescheduled(admin_client, world):
    booking = world.booking
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED)
    page = admin_client.get(_url(Booking, "change", booking.pk)).content.decode()
    assert "Reschedule…" not in page
    followed = admin_client.post(
        _reschedule_url(booking), {"start": "2026-03-04T14:00"}, follow=True
    ).content.decode()
    assert "This booking cannot be moved: it is cancelled" in followed
    booking.refresh_from_db()
    assert booking.sequence == 0


def test_staff_host_reschedules_their_own_booking_only(
    host_client, world, mailoutbox, django_capture_on_commit_callbacks
):
    theirs = world.their_booking
    assert host_client.get(_reschedule_url(theirs)).status_code == 404
    assert (
        host_client.post(_reschedule_url(theirs), {"start": "2026-03-04T10:00"}).status_code == 404
    )
    theirs.refresh_from_db()
    assert theirs.sequence == 0
    action = {"action": "reschedule_booking", "_selected_action": [theirs.pk]}
    host_client.post(_url(Booking, "changelist"), action)  # not in their list: nothing happens
    mine = world.booking
    with django_capture_on_commit_callbacks(execute=True):
        response = host_client.post(_reschedule_url(mine), {"start": "2026-03-05T09:30"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.start == datetime(2026, 3, 5, 14, 30, tzinfo=UTC) and mine.sequence == 1
    assert [m.to for m in mailoutbox if "REQUEST" in str(m.alternatives)] == [["ada@example.com"]]


def test_staff_host_without_change_permission_cannot_reschedule(client, world):
    world.host.user_permissions.set(Permission.objects.filter(codename="view_booking"))
    client.force_login(world.host)
    assert client.get(_url(Booking, "change", world.booking.pk)).status_code == 200
    assert client.get(_reschedule_url(world.booking)).status_code == 404


def test_a_group_booking_is_moved_for_every_host_and_may_choose_again(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    """Under `one`, a host busy at the new time gives the booking to another who is free;
    the staff host who attends it may move it."""
    org = groups.create_organization("acme", "Acme", "UTC")
    world.mine.organization = org
    world.mine.save()
    cat = make_account(handle="cat", name="Cat", organization=org)
    profile = profiles.create(org, {"name": "team", "required": "one", "startAfterMinutes": 0})
    groups.attach_accounts(profile, [world.mine.pk, cat.pk])
    start = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # free for both hosts
    booking = bookings.book(
        profile, start=start, end=start + timedelta(minutes=30), email="ivy@example.com"
    )
    assert booking.attendee_ids() == [world.mine.pk]  # the first in turn: @mine
    # @mine is busy Wednesday 15:00 UTC; @cat is free then.
    busy = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    make_booking(make_profile(world.mine), busy, busy + timedelta(minutes=30))
    client.force_login(world.host)  # who attends it through @mine
    zone = booking.account.timezone  # the organizer's: @mine's New York
    page = client.get(_reschedule_url(booking)).content.decode()
    assert f"Free times, in {zone}" in page
    typed = f"{busy.astimezone(ZoneInfo(zone)):%Y-%m-%dT%H:%M}"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_reschedule_url(booking), {"start": typed})
    assert response.status_code == 302, re.findall(r"errorlist.*?</ul>", response.content.decode())
    booking.refresh_from_db()
    assert booking.start == busy and booking.sequence == 1
    assert booking.attendee_ids() == [cat.pk]  # chosen again: the host free then
    assert booking.account == cat
    assert any(m.to == ["ivy@example.com"] for m in mailoutbox)
    # No longer theirs: back to their list, told why.
    assert response.url == _url(Booking, "changelist")
    assert "other hosts attend it now" in client.get(response.url).content.decode()


def test_a_cancelled_bookings_page_shows_no_join_link(admin_client, world):
    room = "https://meet.example.com/room-42"
    Booking.objects.filter(pk=world.booking.pk).update(conference_url=room)
    assert room in admin_client.get(_url(Booking, "change", world.booking.pk)).content.decode()
    Booking.objects.filter(pk=world.booking.pk).update(status=Booking.Status.CANCELLED)
    page = admin_client.get(_url(Booking, "change", world.booking.pk)).content.decode()
    assert room not in page and "the booking is cancelled" in page
