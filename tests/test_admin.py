"""Admin pages: every model renders, tokens are shown once, passwords never, cancel goes
through booking.py, the profile preview lists the next free slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from scheduler.models import Account, ApiToken, Booking, Calendar, Event, Profile
from scheduler.services import availability
from tests.factory import make_account, make_booking, make_event, make_profile

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def rows():
    account = make_account(handle="grace", timezone="Europe/London")
    profile = make_profile(account, name="intro", subject="Intro with {{company:}}")
    booking = make_booking(
        profile, NOW + timedelta(days=1, hours=2), NOW + timedelta(days=1, hours=2, minutes=30)
    )
    event = make_event(account, NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1))
    calendar = Calendar.objects.create(
        account=account,
        kind=Calendar.Kind.CALDAV,
        role=Calendar.Role.BUSY,
        url="https://dav.example.com/cal/",
        username="grace",
        password="s3cret-dav-password",
    )
    token, _ = ApiToken.issue(account, "ci")
    return {
        Account: account,
        Profile: profile,
        Booking: booking,
        Event: event,
        Calendar: calendar,
        ApiToken: token,
    }


MODELS = [Account, Profile, Booking, Event, Calendar, ApiToken]


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:scheduler_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_add_and_change_pages_render(admin_client, rows, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    assert admin_client.get(_url(model, "add")).status_code == 200
    assert admin_client.get(_url(model, "change", rows[model].pk)).status_code == 200


def test_booking_changelist_filters_and_search(admin_client, rows):
    booking = rows[Booking]
    page = admin_client.get(_url(Booking, "changelist"), {"q": booking.uid})
    assert page.status_code == 200 and booking.email in page.content.decode()
    page = admin_client.get(_url(Booking, "changelist"), {"q": "nobody-matches-this"})
    assert booking.email not in page.content.decode()
    page = admin_client.get(_url(Booking, "changelist"), {"status__exact": "cancelled"})
    assert booking.email not in page.content.decode()
    page = admin_client.get(_url(Booking, "changelist"), {"profile__id__exact": rows[Profile].pk})
    assert booking.email in page.content.decode()


def test_booking_change_page_shows_delivery_state_and_errors(admin_client, rows):
    booking = rows[Booking]
    Booking.objects.filter(pk=booking.pk).update(
        mail_state="failed", mail_attempts=3, mail_error="SMTPConnectError: refused"
    )
    page = admin_client.get(_url(Booking, "change", booking.pk)).content.decode()
    assert "SMTPConnectError: refused" in page
    assert "failed" in page.lower()


def test_token_added_in_admin_is_shown_once_and_works(admin_client, rows):
    account = rows[Account]
    response = admin_client.post(
        _url(ApiToken, "add"), {"account": account.pk, "name": "laptop"}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    raw = page.split("New API token for @grace: ")[1].split(" ")[0]
    assert raw.startswith("bk_")
    token = ApiToken.authenticate(raw)
    assert token is not None and token.name == "laptop" and token.account == account
    assert ApiToken.objects.filter(token_hash=token.token_hash).count() == 1
    # Only the hash is stored, and the value is not on any later page.
    assert raw not in admin_client.get(_url(ApiToken, "change", token.pk)).content.decode()
    assert raw not in admin_client.get(_url(Account, "change", account.pk)).content.decode()


def test_issue_token_action_shows_each_new_token_once(admin_client, rows):
    account = rows[Account]
    before = account.tokens.count()
    response = admin_client.post(
        _url(Account, "changelist"),
        {"action": "issue_token", "_selected_action": [account.pk]},
        follow=True,
    )
    page = response.content.decode()
    raw = page.split("New API token for @grace: ")[1].split(" ")[0]
    assert account.tokens.count() == before + 1
    assert ApiToken.authenticate(raw).account == account
    assert raw not in admin_client.get(_url(Account, "changelist")).content.decode()


def test_account_page_lists_tokens_by_prefix(admin_client, rows):
    token = rows[ApiToken]
    page = admin_client.get(_url(Account, "change", rows[Account].pk)).content.decode()
    assert token.prefix in page and token.token_hash not in page


def test_revoke_action_revokes_tokens(admin_client, rows):
    token = rows[ApiToken]
    admin_client.post(
        _url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.objects.active().filter(pk=token.pk).count() == 0


def _calendar_post(calendar: Calendar, **kw) -> dict:
    data = {
        "account": calendar.account_id,
        "name": "Work",
        "kind": calendar.kind,
        "role": calendar.role,
        "url": calendar.url,
        "username": calendar.username,
        "password": "",
    }
    data.update(kw)
    return data


def test_calendar_password_is_never_shown_and_kept_when_blank(admin_client, rows):
    calendar = rows[Calendar]
    page = admin_client.get(_url(Calendar, "change", calendar.pk)).content.decode()
    assert "s3cret-dav-password" not in page
    account_page = admin_client.get(_url(Account, "change", calendar.account_id)).content.decode()
    assert "s3cret-dav-password" not in account_page
    response = admin_client.post(_url(Calendar, "change", calendar.pk), _calendar_post(calendar))
    assert response.status_code == 302
    calendar.refresh_from_db()
    assert calendar.password == "s3cret-dav-password" and calendar.name == "Work"


def test_calendar_password_can_be_replaced_and_cleared(admin_client, rows):
    calendar = rows[Calendar]
    url = _url(Calendar, "change", calendar.pk)
    admin_client.post(url, _calendar_post(calendar, password="new-one"))
    calendar.refresh_from_db()
    assert calendar.password == "new-one"
    admin_client.post(url, _calendar_post(calendar, clear_password="on"))
    calendar.refresh_from_db()
    assert calendar.password == ""


def test_calendar_page_shows_fetch_state(admin_client, rows):
    calendar = rows[Calendar]
    Calendar.objects.filter(pk=calendar.pk).update(
        etag='"abc-123"',
        last_error="ConnectTimeout: feed did not answer",
        busy_intervals=[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
    )
    page = admin_client.get(_url(Calendar, "change", calendar.pk)).content.decode()
    assert "ConnectTimeout: feed did not answer" in page
    assert "abc-123" in page
    assert "busy intervals" in page.lower()
    listing = admin_client.get(_url(Calendar, "changelist")).content.decode()
    assert "ConnectTimeout" in listing


def test_cancel_action_goes_through_booking_cancel(admin_client, rows):
    booking = rows[Booking]
    account = rows[Account]
    from scheduler.calendars import builtin

    builtin.write(account.primary_calendar(), booking)
    assert Event.objects.filter(booking=booking).exists()
    action = {"action": "cancel_bookings", "_selected_action": [booking.pk]}
    # First a confirmation page: cancelling mails the invitee and cannot be undone.
    asked = admin_client.post(_url(Booking, "changelist"), action).content.decode()
    assert "Cancel 1 booking?" in asked and booking.email in asked
    assert 'name="confirm" value="yes"' in asked
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    response = admin_client.post(
        _url(Booking, "changelist"), {**action, "confirm": "yes"}, follow=True
    )
    assert "Cancelled 1 booking" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.sequence == 1 and booking.cancelled_at is not None
    assert booking.mail_state == "pending"  # the CANCEL mail is queued after commit
    assert not Event.objects.filter(booking=booking).exists()


def test_profile_page_previews_next_ten_slots_in_its_zone(admin_client, rows):
    profile = rows[Profile]
    Profile.objects.filter(pk=profile.pk).update(
        work_hours={
            "timezone": "America/New_York",
            "daySchedules": [
                {"dayOfWeek": "monday", "workingIntervals": [{"start": "09:00", "end": "17:00"}]}
            ],
        },
        start_after_minutes=0,
    )
    # 10:00–11:00 in New York (UTC-5) is busy.
    make_event(rows[Account], NOW + timedelta(hours=7), NOW + timedelta(hours=8))
    with time_machine.travel(NOW, tick=False):
        page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    assert "Times in America/New_York" in page
    assert "Mon 2026-03-02 09:00 – 09:30" in page
    assert "Mon 2026-03-02 09:30 – 10:00" in page
    assert "Mon 2026-03-02 10:00" not in page and "Mon 2026-03-02 10:30" not in page
    assert "Mon 2026-03-02 11:00 – 11:30" in page
    assert "Mon 2026-03-02 14:30 – 15:00" in page
    assert "Mon 2026-03-02 15:00" not in page  # only ten
    assert page.count("<li>Mon 2026-03-02") == 10
    assert profile.scheduler_link in page


def test_profile_preview_says_inactive(admin_client, rows):
    profile = rows[Profile]
    Profile.objects.filter(pk=profile.pk).update(active=False)
    page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    assert "inactive" in page


def test_profile_saved_in_admin_stores_normalised_hours(admin_client, rows):
    account = rows[Account]
    data = {
        "account": account.pk,
        "name": "deep-dive",
        "active": "on",
        "subject": "Deep dive",
        "duration_minutes": 60,
        "availability_step": 30,
        "buffer_between_minutes": 0,
        "start_after_minutes": 60,
        "time_available_for": "P4W",
        # The week's inputs (SPEC §10: fields, not JSON); an end of 00:00 is midnight.
        "work_hours-mode": "custom",
        "work_hours-timezone": "",
        "work_hours-monday-0-start": "09:00",
        "work_hours-monday-0-end": "00:00",
        "context": "",
    }
    response = admin_client.post(_url(Profile, "add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    profile = Profile.objects.get(name="deep-dive")
    assert profile.work_hours == {
        "daySchedules": [
            {"dayOfWeek": "monday", "workingIntervals": [{"start": "09:00:00", "end": "24:00:00"}]}
        ]
    }
    assert profile.rules().weekly == {0: ((9 * 3600, 24 * 3600),)}


def test_profile_admin_rejects_bad_hours_naming_the_field(admin_client, rows):
    data = {
        "account": rows[Account].pk,
        "name": "bad",
        "duration_minutes": 30,
        "availability_step": 7,
        "buffer_between_minutes": 0,
        "start_after_minutes": 0,
        "time_available_for": "30 days",
        "work_hours-mode": "custom",
        "work_hours-timezone": "Funland/Nowhere",
    }
    page = admin_client.post(_url(Profile, "add"), data).content.decode()
    assert "Funland/Nowhere" in page and "not an IANA time zone" in page
    assert "not one of 5, 10, 15, 20, 30, 60" in page
    assert "not an ISO 8601 period" in page
    assert not Profile.objects.filter(name="bad").exists()


def _add_booking(admin_client, profile, start, **extra):
    data = {
        "profile": profile.pk,
        "start_0": start.strftime("%Y-%m-%d"),
        "start_1": start.strftime("%H:%M:%S"),
        "name": "Bob",
        "email": "bob@example.com",
        "substitution_data": "{}",
        **extra,
    }
    return admin_client.post(_url(Booking, "add"), data)


def test_booking_add_refuses_a_taken_time(admin_client, rows):
    booking = rows[Booking]
    with time_machine.travel(NOW, tick=False):
        page = _add_booking(admin_client, rows[Profile], booking.start).content.decode()
    assert "Not a free time of" in page
    assert Booking.objects.count() == 1


def test_booking_add_refuses_a_time_outside_the_hours(admin_client, rows):
    sunday_night = datetime(2026, 3, 8, 23, tzinfo=UTC)
    with time_machine.travel(NOW, tick=False):
        page = _add_booking(admin_client, rows[Profile], sunday_night).content.decode()
    assert "Not a free time of" in page
    assert Booking.objects.count() == 1


def test_booking_add_books_through_the_service_like_the_api(
    admin_client, rows, mailoutbox, django_capture_on_commit_callbacks
):
    """Same checks, same invite, same calendar event as a booking made through the API."""
    profile = rows[Profile]
    with (
        time_machine.travel(NOW, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        start, end = availability.compute(profile).slots[0]
        response = _add_booking(
            admin_client, profile, start, substitution_data='{"company": "Acme"}'
        )
    assert response.status_code == 302, response.content.decode()[-2000:]
    made = Booking.objects.exclude(pk=rows[Booking].pk).get()
    assert (made.start, made.end, made.status) == (start, end, Booking.Status.CONFIRMED)
    assert made.subject == "Intro with Acme" and made.account == profile.account
    assert Event.objects.get(booking=made).start == start
    invite = next(m for m in mailoutbox if m.to == ["bob@example.com"])
    assert any("method=REQUEST" in mime for _, mime in invite.alternatives)


def test_booking_add_names_bad_variables(admin_client, rows):
    profile = rows[Profile]
    with time_machine.travel(NOW, tick=False):
        start, _ = availability.compute(profile).slots[0]
        page = _add_booking(
            admin_client, profile, start, substitution_data='{"nope": "x"}'
        ).content.decode()
    assert "substitutionData.nope" in page
    assert Booking.objects.count() == 1


@pytest.fixture
def staff_client(client, rows):
    user = User.objects.create_user("staffer", password="pw-staffer-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="scheduler"))
    mine = make_account(handle="mine", owner=user)
    make_profile(mine, name="my-profile")
    client.force_login(user)
    return client, mine


def test_staff_user_sees_only_accounts_they_own(staff_client, rows):
    client, mine = staff_client
    page = client.get(_url(Account, "changelist")).content.decode()
    assert "mine" in page and "grace" not in page
    assert client.get(_url(Account, "change", rows[Account].pk)).status_code == 302
    profiles = client.get(_url(Profile, "changelist")).content.decode()
    assert "my-profile" in profiles and "intro" not in profiles
    bookings = client.get(_url(Booking, "changelist")).content.decode()
    assert rows[Booking].email not in bookings
    add = client.get(_url(Profile, "add")).content.decode()
    assert "@mine" in add and "@grace" not in add


def test_calendar_url_on_a_private_address_is_refused(admin_client, rows, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = False
    data = _calendar_post(rows[Calendar], url="http://127.0.0.1:8080/private.ics", kind="ics")
    page = admin_client.post(_url(Calendar, "add"), data).content.decode()
    assert "127.0.0.1" in page and "loopback" in page
    assert not Calendar.objects.filter(url__contains="127.0.0.1").exists()
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    assert admin_client.post(_url(Calendar, "add"), data).status_code == 302
    assert Calendar.objects.filter(url__contains="127.0.0.1").exists()


# --- calendars follow the calendar service's rules, as in the API ---------------------------


def test_a_new_primary_added_in_admin_replaces_the_builtin_one(admin_client, rows, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    account = rows[Account]
    builtin = account.primary_calendar()
    data = _calendar_post(
        rows[Calendar], name="Fastmail", role="primary", url="http://127.0.0.1:9/dav/"
    )
    assert admin_client.post(_url(Calendar, "add"), data).status_code == 302
    primary = Calendar.objects.get(account=account, role="primary")
    assert (primary.name, primary.kind) == ("Fastmail", "caldav")
    assert not Calendar.objects.filter(pk=builtin.pk).exists()  # nothing left to read there


def test_an_ics_feed_cannot_be_made_primary_in_admin(admin_client, rows):
    data = _calendar_post(rows[Calendar], kind="ics", role="primary")
    page = admin_client.post(_url(Calendar, "add"), data).content.decode()
    assert "read-only" in page
    assert not Calendar.objects.filter(kind="ics").exists()


def test_the_builtin_primary_cannot_be_deleted_in_admin(admin_client, rows):
    builtin = rows[Account].primary_calendar()
    response = admin_client.post(_url(Calendar, "delete", builtin.pk), {"post": "yes"}, follow=True)
    assert "add another primary to replace it" in response.content.decode()
    assert Calendar.objects.filter(pk=builtin.pk).exists()
    # A busy source goes as usual.
    busy = rows[Calendar]
    admin_client.post(_url(Calendar, "delete", busy.pk), {"post": "yes"})
    assert not Calendar.objects.filter(pk=busy.pk).exists()
