"""Admin as a host uses it: a staff user who owns one account manages only that account's
things; the pages read well (hours in words, states in plain words, the token button, the
cancel confirmation); and a browser tour through them leaves screenshots in
test-artifacts/admin_host/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from scheduler.models import Account, ApiToken, Booking, Calendar, Event, Profile
from tests.factory import make_account, make_booking, make_event, make_profile

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
TOKEN_MESSAGE = re.compile(r"New API token for @(\w+): (bk_[\w-]+)")


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:scheduler_{model._meta.model_name}_{view}", args=args)


class Hosts:
    """Two hosts side by side: `mine` belongs to the staff user `host`, `theirs` to another."""

    def __init__(self) -> None:
        self.host = User.objects.create_user("host", password="pw-host-12345", is_staff=True)
        self.host.user_permissions.set(
            Permission.objects.filter(content_type__app_label="scheduler")
        )
        self.other = User.objects.create_user("other", password="pw-other-12345", is_staff=True)
        self.mine = make_account(handle="mine", name="My Host", owner=self.host)
        self.theirs = make_account(handle="theirs", name="Their Host", owner=self.other)
        self.my_profile = make_profile(self.mine, name="my-call", subject="Mine")
        self.their_profile = make_profile(self.theirs, name="their-call", subject="Theirs")
        start = timezone.now() + timedelta(days=3)
        self.my_booking = make_booking(
            self.my_profile, start, start + timedelta(minutes=30), email="me@example.com"
        )
        self.their_booking = make_booking(
            self.their_profile, start, start + timedelta(minutes=30), email="them@example.com"
        )
        self.their_event = make_event(
            self.theirs, start + timedelta(hours=2), start + timedelta(hours=3), summary="Dentist"
        )
        self.their_token, _ = ApiToken.issue(self.theirs, "their-ci")
        self.their_calendar = self.theirs.primary_calendar()


@pytest.fixture
def hosts(db) -> Hosts:
    return Hosts()


@pytest.fixture
def host_client(client, hosts):
    client.force_login(hosts.host)
    return client


# --- a host manages only their own account's things --------------------------------------


@pytest.mark.parametrize(
    ("model", "theirs_text"),
    [
        (Account, "@theirs"),
        (Profile, "their-call"),
        (Booking, "them@example.com"),
        (Event, "Dentist"),
        (ApiToken, "their-ci"),
        (Calendar, "Their Host"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else v,
)
def test_host_lists_show_only_their_own_rows(host_client, hosts, model, theirs_text):
    page = host_client.get(_url(model, "changelist"))
    assert page.status_code == 200
    assert theirs_text not in page.content.decode()


def test_host_lists_do_show_their_own_rows(host_client, hosts):
    assert "@mine" in host_client.get(_url(Account, "changelist")).content.decode()
    assert "my-call" in host_client.get(_url(Profile, "changelist")).content.decode()
    assert "me@example.com" in host_client.get(_url(Booking, "changelist")).content.decode()


@pytest.mark.parametrize(
    "attr",
    ["theirs", "their_profile", "their_booking", "their_event", "their_token", "their_calendar"],
)
def test_host_cannot_open_another_accounts_object(host_client, hosts, attr):
    obj = getattr(hosts, attr)
    response = host_client.get(_url(type(obj), "change", obj.pk))
    # Admin answers an object outside the queryset as "does not exist": back to the index.
    assert response.status_code == 302 and response.url == reverse("admin:index")


def test_host_cannot_change_another_accounts_profile_by_post(host_client, hosts):
    profile = hosts.their_profile
    response = host_client.post(
        _url(Profile, "change", profile.pk),
        {"account": hosts.theirs.pk, "name": "hijacked", "duration_minutes": 30},
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.name == "their-call"


def test_host_add_forms_offer_only_their_own_account(host_client, hosts):
    for model in (Profile, Calendar, ApiToken, Booking):
        page = host_client.get(_url(model, "add")).content.decode()
        assert "@mine" in page or "mine/my-call" in page, model
        assert "@theirs" not in page and "theirs/their-call" not in page, model
    event_add = host_client.get(_url(Event, "add")).content.decode()
    assert "Their Host" not in event_add


def test_host_cannot_add_a_profile_to_another_account(host_client, hosts):
    data = {
        "account": hosts.theirs.pk,
        "name": "sneaky",
        "duration_minutes": 30,
        "availability_step": 30,
        "buffer_between_minutes": 0,
        "start_after_minutes": 60,
        "time_available_for": "P30D",
    }
    page = host_client.post(_url(Profile, "add"), data).content.decode()
    assert "Select a valid choice" in page
    assert not Profile.objects.filter(name="sneaky").exists()
    data["account"] = hosts.mine.pk
    assert host_client.post(_url(Profile, "add"), data).status_code == 302
    assert Profile.objects.get(name="sneaky").account == hosts.mine


def test_host_cannot_cancel_another_accounts_booking(host_client, hosts):
    action = {
        "action": "cancel_bookings",
        "_selected_action": [hosts.their_booking.pk, hosts.my_booking.pk],
        "confirm": "yes",
    }
    host_client.post(_url(Booking, "changelist"), action)
    hosts.their_booking.refresh_from_db()
    hosts.my_booking.refresh_from_db()
    assert hosts.their_booking.status == Booking.Status.CONFIRMED
    assert hosts.my_booking.status == Booking.Status.CANCELLED


def test_host_cannot_revoke_another_accounts_token(host_client, hosts):
    host_client.post(
        _url(ApiToken, "changelist"),
        {"action": "revoke", "_selected_action": [hosts.their_token.pk]},
    )
    hosts.their_token.refresh_from_db()
    assert hosts.their_token.revoked_at is None


def test_host_issues_tokens_only_for_their_own_account(host_client, hosts):
    theirs = host_client.post(_url(Account, "issue_token", hosts.theirs.pk))
    assert theirs.status_code == 404
    assert hosts.theirs.tokens.count() == 1
    mine = host_client.post(_url(Account, "issue_token", hosts.mine.pk), follow=True)
    handle, raw = TOKEN_MESSAGE.search(mine.content.decode()).groups()
    assert handle == "mine" and ApiToken.authenticate(raw).account == hosts.mine


def test_host_account_they_add_is_theirs_and_owner_is_not_theirs_to_give(host_client, hosts):
    data = {
        "handle": "second",
        "name": "Second",
        "email": "second@example.com",
        "timezone": "UTC",
        "owner": hosts.other.pk,  # ignored: the field is read-only for a host
        "calendars-TOTAL_FORMS": 0,
        "calendars-INITIAL_FORMS": 0,
        "tokens-TOTAL_FORMS": 0,
        "tokens-INITIAL_FORMS": 0,
    }
    response = host_client.post(_url(Account, "add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Account.objects.get(handle="second").owner == hosts.host


def test_host_without_auth_permissions_cannot_manage_users(host_client, hosts):
    assert host_client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_host_with_no_account_sees_nothing(client, hosts):
    newcomer = User.objects.create_user("newcomer", password="pw-new-12345", is_staff=True)
    newcomer.user_permissions.set(Permission.objects.filter(content_type__app_label="scheduler"))
    client.force_login(newcomer)
    for model in (Account, Profile, Booking):
        page = client.get(_url(model, "changelist")).content.decode()
        # Not in the rows, nor in the filters beside them.
        assert "@mine" not in page and "@theirs" not in page
        assert "my-call" not in page and "their-call" not in page


# --- pages read well -----------------------------------------------------------------------


def test_issue_token_button_wants_a_post(admin_client, hosts):
    url = _url(Account, "issue_token", hosts.mine.pk)
    assert admin_client.get(url).status_code == 405
    page = admin_client.get(_url(Account, "change", hosts.mine.pk)).content.decode()
    assert f'action="{url}"' in page and "Issue a new API token" in page


def test_account_page_lists_its_profiles_with_public_links(admin_client, hosts):
    page = admin_client.get(_url(Account, "change", hosts.mine.pk)).content.decode()
    assert hosts.my_profile.scheduler_link in page
    assert _url(Profile, "change", hosts.my_profile.pk) in page


def test_profile_with_default_hours_shows_empty_boxes_and_the_week_in_words(admin_client, hosts):
    page = admin_client.get(_url(Profile, "change", hosts.my_profile.pk)).content.decode()
    assert ">null</textarea>" not in page
    assert "Mon–Fri 09:00–17:00" in page and "Sat–Sun off" in page
    assert "the default, as no work hours are set" in page


def test_profile_hours_in_words_follow_the_json(admin_client, hosts):
    profile = hosts.my_profile
    Profile.objects.filter(pk=profile.pk).update(
        work_hours={
            "timezone": "Asia/Kathmandu",
            "daySchedules": [
                {"dayOfWeek": day, "workingIntervals": [{"start": "08:00:00", "end": "12:00:00"}]}
                for day in ("monday", "tuesday", "wednesday")
            ]
            + [
                {
                    "dayOfWeek": "saturday",
                    "workingIntervals": [
                        {"start": "10:00:00", "end": "11:00:00"},
                        {"start": "20:00:00", "end": "24:00:00"},
                    ],
                }
            ],
        },
        availability_intervals={
            "intervals": [
                {"dateStartInclusive": "2026-12-24", "dateEndInclusive": "2026-12-26", "hours": []},
                {
                    "dateStartInclusive": "2026-12-31",
                    "dateEndInclusive": "2026-12-31",
                    "hours": [{"start": "09:00:00", "end": "10:00:00"}],
                },
            ]
        },
    )
    page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    assert "Every week, in Asia/Kathmandu (set here)" in page
    for line in ("Mon–Wed 08:00–12:00", "Thu–Fri off", "Sat 10:00–11:00, 20:00–24:00", "Sun off"):
        assert f"<li>{line}</li>" in page, line
    assert "<li>Thu 24 Dec 2026 – Sat 26 Dec 2026: off</li>" in page
    assert "<li>Thu 31 Dec 2026: 09:00–10:00</li>" in page
    listing = admin_client.get(_url(Profile, "changelist")).content.decode()
    assert "Mon–Wed 08:00–12:00; Thu–Fri off; Sat 10:00–11:00, 20:00–24:00; Sun off" in listing


def test_profile_page_names_the_fields_the_invitee_fills(admin_client, hosts):
    Profile.objects.filter(pk=hosts.my_profile.pk).update(
        subject="Call about {{topic}}", description="{{company:}} {{name}}"
    )
    page = admin_client.get(_url(Profile, "change", hosts.my_profile.pk)).content.decode()
    assert "name, email, topic (required), company (optional)" in page


def test_calendar_state_in_plain_words(admin_client, hosts):
    feed = Calendar.objects.create(
        account=hosts.mine, kind=Calendar.Kind.ICS, role=Calendar.Role.BUSY, name="Feed",
        url="https://calendar.example.com/feed.ics",
    )  # fmt: skip
    page = admin_client.get(_url(Calendar, "change", feed.pk)).content.decode()
    assert "Not fetched yet" in page
    Calendar.objects.filter(pk=feed.pk).update(
        last_fetched_at=timezone.now() - timedelta(hours=2),
        last_attempt_at=timezone.now() - timedelta(minutes=5),
        busy_intervals=[[1.0, 2.0], [3.0, 4.0]],
    )
    page = admin_client.get(_url(Calendar, "change", feed.pk)).content.decode()
    assert "OK: fetched 2\xa0hours ago, 2 busy interval(s) in the copy." in page
    Calendar.objects.filter(pk=feed.pk).update(last_error="ReadTimeout: no answer in 10 s")
    page = admin_client.get(_url(Calendar, "change", feed.pk)).content.decode()
    assert "Last fetch failed (5\xa0minutes ago): ReadTimeout: no answer in 10 s" in page
    assert "busy time still comes from the copy of 2\xa0hours ago" in page
    builtin = admin_client.get(_url(Calendar, "change", hosts.mine.primary_calendar().pk))
    assert "Built-in: 0 event(s) stored here." in builtin.content.decode()


@pytest.fixture
def at_now():
    """The clock stopped at NOW from the start, so the login and `hosts`' bookings (three
    days after "today") are made at NOW too, whatever today is."""
    with time_machine.travel(NOW, tick=False):
        yield


def test_bookings_list_shows_local_times_and_filters_upcoming_and_past(at_now, admin_client, hosts):
    zone_account = make_account(handle="kat", timezone="Asia/Kathmandu")
    profile = make_profile(zone_account, name="zoned")
    past = make_booking(
        profile, NOW - timedelta(days=1), NOW - timedelta(days=1) + timedelta(minutes=45),
        name="Past Person", email="past@example.com",
    )  # fmt: skip
    Booking.objects.filter(pk=past.pk).update(mail_state="failed", calendar_state="done")
    listing = admin_client.get(_url(Booking, "changelist")).content.decode()
    upcoming = admin_client.get(_url(Booking, "changelist"), {"when": "upcoming"})
    gone = admin_client.get(_url(Booking, "changelist"), {"when": "past"})
    # 2026-03-01 08:00 UTC is 13:45 in Kathmandu (+05:45).
    assert "Sun 01 Mar 2026 13:45–14:30 (Asia/Kathmandu)" in listing
    assert "mail FAILED · calendar written" in listing
    assert "past@example.com" not in upcoming.content.decode()
    assert "me@example.com" in upcoming.content.decode()
    assert "past@example.com" in gone.content.decode()
    assert "me@example.com" not in gone.content.decode()


def test_cancel_confirmation_skips_cancelled_and_back_out_changes_nothing(admin_client, hosts):
    Booking.objects.filter(pk=hosts.their_booking.pk).update(
        status=Booking.Status.CANCELLED, sequence=1
    )
    page = admin_client.post(
        _url(Booking, "changelist"),
        {
            "action": "cancel_bookings",
            "_selected_action": [hosts.my_booking.pk, hosts.their_booking.pk],
        },
    ).content.decode()
    assert "Cancel 1 booking?" in page
    assert "1 selected booking is already cancelled" in page
    assert "me@example.com" in page and "them@example.com" not in page
    hosts.my_booking.refresh_from_db()
    assert hosts.my_booking.status == Booking.Status.CONFIRMED


def test_booking_page_offers_cancel_only_while_live(admin_client, hosts):
    booking = hosts.my_booking
    page = admin_client.get(_url(Booking, "change", booking.pk)).content.decode()
    assert "Cancel booking…" in page
    assert f'name="_selected_action" value="{booking.pk}"' in page
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED)
    page = admin_client.get(_url(Booking, "change", booking.pk)).content.decode()
    assert "Cancel booking…" not in page


# --- a browser tour, with screenshots ----------------------------------------------------


@pytest.fixture
def tour(transactional_db):
    """A superuser and the seeded-demo shape of data: one host, a profile, bookings, a feed."""
    admin_user = User.objects.create_superuser("boss", "boss@example.com", "pw-boss-12345")
    account = make_account(handle="demo", name="Demo Host", timezone="Europe/London")
    account.owner = admin_user
    account.save()
    profile = make_profile(
        account, name="consult", subject="Consultation: {{topic}}", duration_minutes=60,
        description="Company: {{company:}}", start_after_minutes=60,
    )  # fmt: skip
    ApiToken.issue(account, "laptop")
    start = (timezone.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0)
    booking = make_booking(
        profile, start, start + timedelta(hours=1), name="Ada Lovelace", email="ada@example.com"
    )
    make_booking(
        profile, start - timedelta(days=7), start - timedelta(days=7, minutes=-60),
        name="Past Guest", email="past@example.com",
    )  # fmt: skip
    feed = Calendar.objects.create(
        account=account, kind=Calendar.Kind.ICS, role=Calendar.Role.BUSY, name="Work feed",
        url="https://calendar.example.com/work.ics",
        last_fetched_at=timezone.now() - timedelta(hours=3),
        last_attempt_at=timezone.now() - timedelta(minutes=4),
        last_error="ReadTimeout: the feed did not answer within 10 s",
        busy_intervals=[[1.0, 2.0]] * 12,
        busy_from=timezone.now() - timedelta(days=1),
        busy_until=timezone.now() + timedelta(days=400),
    )  # fmt: skip
    return {"account": account, "profile": profile, "booking": booking, "feed": feed}


def test_admin_tour_in_a_browser(live_server, tour, settings):
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Shots

    settings.SITE_URL = live_server.url
    # The feed's copy is fresh and wide enough: the slot preview must not go to the network.
    settings.CALENDAR_REFRESH_SECONDS = 10**6
    shots = Shots("admin_host")
    account, booking = tour["account"], tour["booking"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "boss")
            page.fill("#id_password", "pw-boss-12345")
            page.click("input[type=submit]")
            page.wait_for_selector("#site-name")

            page.goto(live_server.url + _url(Account, "change", account.pk))
            shots(page, "account")
            page.get_by_role("button", name="Issue a new API token").click()
            expect(page.locator(".messagelist")).to_contain_text("New API token")
            message = page.locator(".messagelist").inner_text()
            raw = TOKEN_MESSAGE.search(message).group(2)
            shots(page, "token-issued")
            page.reload()
            assert raw not in page.content()  # shown once

            page.goto(live_server.url + _url(Profile, "change", tour["profile"].pk))
            expect(page.get_by_text("Mon–Fri 09:00–17:00")).to_be_visible()
            expect(page.locator(".field-next_slots li")).to_have_count(10)
            expect(page.get_by_role("link", name=tour["profile"].scheduler_link)).to_be_visible()
            shots(page, "profile")

            page.goto(live_server.url + _url(Booking, "changelist"))
            expect(page.get_by_text("Past Guest")).to_be_visible()
            page.get_by_role("link", name="Upcoming").click()
            expect(page.get_by_text("Ada Lovelace")).to_be_visible()
            expect(page.get_by_text("Past Guest")).to_have_count(0)
            shots(page, "bookings-upcoming")

            page.goto(live_server.url + _url(Booking, "change", booking.pk))
            shots(page, "booking")
            page.get_by_role("button", name="Cancel booking…").click()
            expect(page.get_by_text("Cancel 1 booking?")).to_be_visible()
            shots(page, "cancel-confirm")
            page.get_by_role("button", name="Yes, cancel and notify").click()
            expect(page.locator(".messagelist")).to_contain_text("Cancelled 1 booking")
            shots(page, "cancelled")

            page.goto(live_server.url + _url(Calendar, "change", tour["feed"].pk))
            expect(
                page.get_by_text("Last fetch failed (4 minutes ago): ReadTimeout")
            ).to_be_visible()
            shots(page, "calendar")
        finally:
            browser.close()
    # ORM calls wait until the browser is gone: inside Playwright's context they would open a
    # second database connection that outlives the test.
    assert ApiToken.authenticate(raw).account == account
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
