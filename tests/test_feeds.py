"""The account's calendar feeds (SPEC §9) over HTTP: the bookings feed carries the invites'
UID and SEQUENCE and recent cancellations, the free/busy feed is exactly the merged busy time
of an ICS feed read from a real server, builtin events and bookings (personal and group),
clipped to the window and revealing nothing else; keys, ETags and admin rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from scheduler.calendars.ical import Method, booking_calendar
from scheduler.models import Attendee, Booking, Calendar, Organization
from tests.factory import make_account, make_booking, make_event, make_profile
from tests.fixtures.feeds import static

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # a Monday morning
HI = NOW + timedelta(days=90)  # FEED_FREEBUSY_DAYS
BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


def at(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2030, month, day, hour, minute, tzinfo=UTC)


def ics_time(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


# The host's ICS feed: (uid, start, end, extra lines). Busy ones are listed in BUSY_IN_FEED.
FEED_EVENTS = [
    ("running@feed", at(7, 5), at(7, 7), ""),  # began before the window: clipped to now
    ("a@feed", at(8, 9), at(8, 10), ""),
    ("b@feed", at(8, 9, 30), at(8, 11), ""),  # overlaps a
    ("free@feed", at(9, 9), at(9, 10), "TRANSP:TRANSPARENT\r\n"),
    ("off@feed", at(9, 12), at(9, 13), "STATUS:CANCELLED\r\n"),
    ("empty@feed", at(9, 18), at(9, 18), ""),  # zero length
    ("weekly@feed", at(9, 15), at(9, 16), "RRULE:FREQ=WEEKLY;COUNT=3\r\n"),
    ("edge@feed", at(7, 5, month=4), at(7, 7, month=4), ""),  # crosses the window's end
    ("later@feed", at(20, 9, month=4), at(20, 10, month=4), ""),
    ("past@feed", at(6, 9), at(6, 10), ""),
]
ALL_DAY = (
    "BEGIN:VEVENT\r\nUID:allday@feed\r\nDTSTAMP:20300101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20300112\r\nDTEND;VALUE=DATE:20300113\r\n"
    "SUMMARY:Secret offsite\r\nEND:VEVENT\r\n"
)
BUSY_IN_FEED = [
    (at(7, 5), at(7, 7)),
    (at(8, 9), at(8, 10)),
    (at(8, 9, 30), at(8, 11)),
    *[(at(9 + 7 * k, 15), at(9 + 7 * k, 16)) for k in range(3)],
    # An all-day event covers its local date in the account's zone (SPEC §3 rule 4).
    (datetime(2030, 1, 12, tzinfo=BERLIN), datetime(2030, 1, 13, tzinfo=BERLIN)),
    (at(7, 5, month=4), at(7, 7, month=4)),
    (at(20, 9, month=4), at(20, 10, month=4)),
    (at(6, 9), at(6, 10)),
]


def feed_body() -> bytes:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
        f"DTSTART:{ics_time(start)}\r\nDTEND:{ics_time(end)}\r\n"
        f"SUMMARY:Secret {uid}\r\nDESCRIPTION:private notes\r\n{extra}END:VEVENT\r\n"
        for uid, start, end, extra in FEED_EVENTS
    )
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    return f"{head}{events}{ALL_DAY}END:VCALENDAR\r\n".encode()


def union(intervals, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """The sorted union of `intervals` clipped to `[lo, hi)`, written here from SPEC alone."""
    clipped = sorted((max(s, lo), min(e, hi)) for s, e in intervals if min(e, hi) > max(s, lo))
    out: list[tuple[datetime, datetime]] = []
    for start, end in clipped:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def allow_loopback():
    with override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True, CALENDAR_TIMEOUT_SECONDS=2):
        yield


@pytest.fixture
def world(feed_server):
    """Ada (Berlin) with an ICS feed, builtin events, bookings of her own and one of Ben's
    group bookings she attends, reservations, recent and old cancellations."""
    ada = make_account(
        handle="ada", name="Ada Host", email="ada@example.com", timezone="Europe/Berlin"
    )
    ben = make_account(handle="ben", name="Ben Host", email="ben@example.com")
    url = feed_server.route("/ada.ics", static(feed_body()))
    Calendar.objects.create(account=ada, kind="ics", role="busy", url=url, name="work")
    dentist = make_event(ada, at(8, 11), at(8, 12), summary="Secret dentist")  # touches b
    make_event(ada, at(10, 8), at(10, 9), summary="Secret free", transparent=True)
    mine = make_profile(ada, name="intro", subject="Intro with {{name}}")
    his = make_profile(ben, name="team")

    def book(profile, start, end, **kw):
        kw.setdefault("subject", "Secret subject")
        kw.setdefault("email", "bob@invitee.example")
        return make_booking(profile, start, end, **kw)

    rows = {
        "personal": book(mine, at(10, 14), at(10, 14, 30), sequence=2),
        "past": book(mine, at(2, 9), at(2, 10)),
        "held": book(
            mine,
            at(13, 10),
            at(13, 10, 30),
            status="reserved",
            expires_at=NOW + timedelta(minutes=15),
        ),
        "expired": book(
            mine, at(13, 12), at(13, 13), status="reserved", expires_at=NOW - timedelta(minutes=1)
        ),
        "cancelled": book(
            mine,
            at(14, 10),
            at(14, 11),
            status="cancelled",
            sequence=1,
            cancelled_at=NOW - timedelta(days=5),
        ),
        "cancelled_long_ago": book(
            mine,
            at(15, 10),
            at(15, 11),
            status="cancelled",
            sequence=1,
            cancelled_at=NOW - timedelta(days=40),
        ),
        "released": book(
            mine,
            at(16, 10),
            at(16, 11),
            status="cancelled",
            expires_at=NOW - timedelta(days=1),
            cancelled_at=NOW - timedelta(days=1),
        ),
        "group": book(his, at(11, 10), at(11, 11), email="carol@invitee.example"),
        "bens_own": book(his, at(8, 13), at(8, 14), email="dan@invitee.example"),
    }
    group = rows["group"]
    Attendee.objects.create(
        booking=group,
        account=ada,
        position=1,
        start=group.start,
        end=group.end,
        status=group.status,
    )
    return {"ada": ada, "ben": ben, "dentist": dentist, "feed_url": url, **rows}


def get(client, account, feed: str, key: str | None = None, **headers):
    path = reverse(f"feed-{feed}", kwargs={"handle": account.handle})
    return client.get(path, {"key": account.feed_key if key is None else key}, **headers)


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content)


# --- free/busy ------------------------------------------------------------------------------


def test_freebusy_is_the_merged_busy_time_clipped_to_the_next_90_days(client, world, feed_server):
    ada = world["ada"]
    bookings_busy = [
        (world[name].start, world[name].end) for name in ("personal", "held", "group", "past")
    ]
    expected = union(
        [*BUSY_IN_FEED, (world["dentist"].start, world["dentist"].end), *bookings_busy], NOW, HI
    )

    cal = parse(get(client, ada, "freebusy"))

    assert feed_server.hits["/ada.ics"] == 1  # never read before: read for this answer
    (freebusy,) = cal.walk("VFREEBUSY")
    assert cal.walk("VEVENT") == []
    assert freebusy.decoded("DTSTART") == NOW and freebusy.decoded("DTEND") == HI
    periods = [tuple(p.dt) for p in freebusy.get("FREEBUSY")]
    assert periods == expected
    # Spot checks of the rules the union encodes, so a wrong expectation cannot hide.
    assert periods[0] == (NOW, at(7, 7))
    assert (at(8, 9), at(8, 12)) in periods
    assert periods[-1] == (at(7, 5, month=4), HI)
    assert all(str(p.params.get("FBTYPE", "BUSY")) == "BUSY" for p in freebusy.get("FREEBUSY"))


def test_freebusy_reveals_nothing_but_busy_time(client, world):
    response = get(client, world["ada"], "freebusy")
    body = response.content.decode()

    for word in ("SUMMARY", "DESCRIPTION", "LOCATION", "ATTENDEE", "Secret", "invitee.example"):
        assert word not in body
    uids = [uid for uid, *_ in FEED_EVENTS] + ["allday@feed", world["dentist"].uid]
    uids += [b.uid for b in Booking.objects.all()]
    assert not [uid for uid in uids if uid in body]
    (freebusy,) = parse(response).walk("VFREEBUSY")
    allowed = {"UID", "DTSTAMP", "DTSTART", "DTEND", "ORGANIZER", "FREEBUSY"}
    assert set(freebusy) <= allowed
    assert str(freebusy["ORGANIZER"]) == "mailto:ada@example.com"


# --- bookings -------------------------------------------------------------------------------


def _uid_and_sequence(booking: Booking) -> tuple[str, int]:
    (invite,) = icalendar.Calendar.from_ical(booking_calendar(booking, Method.REQUEST)).walk(
        "VEVENT"
    )
    return str(invite["UID"]), int(invite["SEQUENCE"])


def test_bookings_feed_carries_the_invites_uid_and_sequence(client, world):
    cal = parse(get(client, world["ada"], "bookings"))

    assert str(cal.get("METHOD", "PUBLISH")) == "PUBLISH"
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    listed = ("personal", "past", "group", "cancelled")
    assert set(events) == {world[name].uid for name in listed}
    for name in listed:
        uid, sequence = _uid_and_sequence(world[name])
        assert int(events[uid]["SEQUENCE"]) == sequence
    assert int(events[world["personal"].uid]["SEQUENCE"]) == 2
    assert str(events[world["cancelled"].uid]["STATUS"]) == "CANCELLED"
    for name in ("personal", "past", "group"):
        assert str(events[world[name].uid]["STATUS"]) == "CONFIRMED"
    group = events[world["group"].uid]
    assert group.decoded("DTSTART") == at(11, 10)
    assert str(group["ORGANIZER"]) == "mailto:ben@example.com"  # Ben's group booking


def test_bookings_feed_of_the_other_host_lists_the_group_booking_too(client, world):
    cal = parse(get(client, world["ben"], "bookings"))

    assert {str(e["UID"]) for e in cal.walk("VEVENT")} == {
        world["group"].uid,
        world["bens_own"].uid,
    }


# --- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", ["bookings", "freebusy"])
def test_a_wrong_or_missing_key_is_404(client, world, feed):
    ada, ben = world["ada"], world["ben"]
    path = reverse(f"feed-{feed}", kwargs={"handle": "ada"})

    assert get(client, ada, feed, key="wrong").status_code == 404
    assert get(client, ada, feed, key=ada.feed_key[:-1]).status_code == 404
    assert get(client, ada, feed, key="").status_code == 404
    assert client.get(path).status_code == 404
    assert get(client, ada, feed, key=ben.feed_key).status_code == 404
    assert get(client, ada, feed, key="é" * 10).status_code == 404
    unknown = reverse(f"feed-{feed}", kwargs={"handle": "nobody"})
    assert client.get(unknown, {"key": ada.feed_key}).status_code == 404
    assert get(client, ada, feed).status_code == 200
    assert client.post(path + f"?key={ada.feed_key}").status_code == 405


@pytest.mark.parametrize("feed", ["bookings", "freebusy"])
def test_an_organization_handle_has_no_feeds(client, world, feed):
    Organization.objects.create(handle="team", name="Team")
    path = reverse(f"feed-{feed}", kwargs={"handle": "team"})

    assert client.get(path, {"key": world["ada"].feed_key}).status_code == 404
    assert client.get(path, {"key": ""}).status_code == 404


def test_admin_rotates_the_key_and_shows_both_feed_links(admin_client, client, world):
    ada = world["ada"]
    old = ada.feed_key
    changelist = reverse("admin:scheduler_account_changelist")

    done = admin_client.post(
        changelist, {"action": "rotate_feed_key", "_selected_action": [ada.pk]}, follow=True
    )

    assert done.status_code == 200
    ada.refresh_from_db()
    world["ben"].refresh_from_db()
    assert ada.feed_key != old
    assert get(client, ada, "bookings", key=old).status_code == 404
    assert get(client, ada, "bookings").status_code == 200
    page = admin_client.get(reverse("admin:scheduler_account_change", args=[ada.pk]))
    text = page.content.decode()
    assert f"http://testserver/ada/bookings.ics?key={ada.feed_key}" in text
    assert f"http://testserver/ada/freebusy.ics?key={ada.feed_key}" in text


# --- caching --------------------------------------------------------------------------------


def test_bookings_feed_etag_and_304(client, world, frozen):
    ada = world["ada"]
    first = get(client, ada, "bookings")
    etag = first["ETag"]
    assert etag.startswith('"') and "private" in first["Cache-Control"]

    again = get(client, ada, "bookings", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    frozen.shift(timedelta(hours=1))  # the bytes do not depend on the clock
    assert get(client, ada, "bookings", HTTP_IF_NONE_MATCH=etag).status_code == 304

    make_booking(world["personal"].profile, at(17, 9), at(17, 10))
    changed = get(client, ada, "bookings", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert (
        get(client, ada, "bookings", HTTP_IF_NONE_MATCH=f'"x", {changed["ETag"]}').status_code
        == 304
    )


def test_freebusy_etag_and_304(client, world, frozen):
    ada = world["ada"]
    first = get(client, ada, "freebusy")
    etag = first["ETag"]
    assert etag.startswith('W/"') and "private" in first["Cache-Control"]

    assert get(client, ada, "freebusy", HTTP_IF_NONE_MATCH=etag).status_code == 304
    # Minutes later the window has moved but the busy time it holds has not changed.
    frozen.shift(timedelta(minutes=10))
    assert get(client, ada, "freebusy", HTTP_IF_NONE_MATCH=etag).status_code == 304

    make_event(ada, at(20, 9), at(20, 10))
    changed = get(client, ada, "freebusy", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    (freebusy,) = parse(changed).walk("VFREEBUSY")
    assert (at(20, 9), at(20, 10)) in [tuple(p.dt) for p in freebusy.get("FREEBUSY")]
    # Once the running event is over, the copy a client holds is no longer what it says.
    frozen.move_to(at(7, 7))
    assert get(client, ada, "freebusy", HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 200
