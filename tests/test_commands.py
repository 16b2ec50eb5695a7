"""Management commands: createaccount and seed_demo."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from scheduler.models import Account, ApiToken, Booking, Profile
from tests.factory import make_account

pytestmark = pytest.mark.django_db

# seed_demo books from the free slots of "now": a fixed Monday morning, so what it makes does
# not depend on today's date.
SEED_NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def run(*args: str, **kw) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kw)
    return out.getvalue()


def test_createaccount_prints_a_working_token():
    out = run(
        "createaccount",
        "lin@example.com",
        "--handle",
        "lin",
        "--name",
        "Lin Host",
        "--timezone",
        "Asia/Kathmandu",
    )
    account = Account.objects.get(handle="lin")
    assert (account.email, account.name, account.timezone) == (
        "lin@example.com",
        "Lin Host",
        "Asia/Kathmandu",
    )
    raw = out.strip().splitlines()[-1]
    assert raw.startswith("bk_")
    assert ApiToken.authenticate(raw).account == account
    assert raw not in {t.token_hash for t in account.tokens.all()}  # only the hash is stored


@pytest.mark.parametrize(
    ("email", "handle", "zone", "expected"),
    [
        ("x@example.com", "taken", "UTC", r"--handle 'taken'.*already exists"),
        ("x@example.com", "admin", "UTC", r"--handle 'admin'.*reserved"),
        ("x@example.com", "v1", "UTC", r"--handle 'v1'.*reserved"),
        ("x@example.com", "not a slug", "UTC", r"--handle 'not a slug'.*slug"),
        ("not-an-email", "fresh", "UTC", r"EMAIL 'not-an-email'.*valid email"),
        ("x@example.com", "fresh", "Mars/Olympus", r"--timezone 'Mars/Olympus'.*IANA"),
        ("x@example.com", "fresh", "../../etc/passwd", r"--timezone.*IANA"),
    ],
)
def test_createaccount_refuses_bad_input_and_writes_nothing(email, handle, zone, expected):
    make_account(handle="taken")
    accounts, tokens = Account.objects.count(), ApiToken.objects.count()
    with pytest.raises(CommandError, match=expected):
        run("createaccount", email, "--handle", handle, "--timezone", zone)
    assert Account.objects.count() == accounts
    assert ApiToken.objects.count() == tokens


def _field(out: str, label: str) -> str:
    match = re.search(rf"^{label}:\s+(.+)$", out, re.MULTILINE)
    assert match, f"{label!r} missing from:\n{out}"
    return match.group(1).strip()


@pytest.fixture
def frozen():
    with time_machine.travel(SEED_NOW, tick=False) as traveller:
        yield traveller


def test_seed_demo_is_idempotent_and_prints_what_to_use(frozen, settings, monkeypatch):
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    first = run("seed_demo")
    counts = (Account.objects.count(), Profile.objects.count(), Booking.objects.count())
    second = run("seed_demo")
    assert (Account.objects.count(), Profile.objects.count(), Booking.objects.count()) == counts
    assert counts[:2] == (1, 2) and counts[2] >= 3

    account = Account.objects.get(handle="demo")
    assert set(account.profiles.values_list("name", flat=True)) == {"intro", "consult"}
    assert _field(second, "Demo page") == f"{settings.SITE_URL}/demo/intro/"

    # A fresh password each run; only the latest works, and it is not stored in clear.
    pw1 = _field(first, "Admin login").split(" / ")[1]
    pw2 = _field(second, "Admin login").split(" / ")[1]
    assert pw1 != pw2
    assert authenticate(username="admin", password=pw2) is not None
    assert authenticate(username="admin", password=pw1) is None
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and pw2 not in admin.password
    assert account.owner == admin

    # A new demo token each run, each one working.
    for out in (first, second):
        assert ApiToken.authenticate(_field(out, "API token")).account == account
    assert account.tokens.filter(name="demo").count() == 2


def test_seed_demo_makes_its_bookings_once_and_says_so(frozen):
    first = run("seed_demo")
    made = re.search(r"^Demo bookings:  (\d+) made$", first, re.MULTILINE)
    assert made and int(made.group(1)) > 0, first
    assert Booking.objects.count() == int(made.group(1))
    second = run("seed_demo")
    assert re.search(r"^Demo bookings:  none made\b", second, re.MULTILINE), second
    assert Booking.objects.count() == int(made.group(1))


def test_seed_demo_bookings_are_real_future_bookings(frozen, monkeypatch):
    run("seed_demo")
    account = Account.objects.get(handle="demo")
    bookings = list(Booking.objects.filter(account=account))
    assert len(bookings) == 3
    now = timezone.now()
    for booking in bookings:
        assert booking.start > now and booking.status == Booking.Status.CONFIRMED
        assert booking.events.get().start == booking.start  # written to the builtin calendar
    consult = account.profiles.get(name="consult")
    field_names = {f["name"] for f in _fields(consult)}
    assert field_names == {"topic", "company"}
    consult_booking = next(b for b in bookings if b.profile == consult)
    assert consult_booking.subject == "Consultation: Engines"
    assert consult_booking.end - consult_booking.start == timedelta(minutes=60)


def _fields(profile: Profile) -> list[dict]:
    from scheduler.rules import variables

    found = variables.additional_fields(profile.subject, profile.description, profile.location)
    return [f.as_dict() for f in found]


def test_seed_demo_uses_the_given_admin_password(frozen, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "correct-horse-battery")
    out = run("seed_demo")
    assert _field(out, "Admin login") == "admin / correct-horse-battery"
    assert authenticate(username="admin", password="correct-horse-battery") is not None
    assert {f["name"]: f["required"] for f in _fields(Profile.objects.get(name="consult"))} == {
        "topic": True,
        "company": False,
    }
