"""Who may call what (SPEC §2): a good token or 401; another account's objects are 404; ids
that name nothing are 404 and ids that are not numbers 400."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from scheduler.models import Account, ApiToken, Booking, Calendar, Profile
from tests.api.helpers import (
    BOOKINGS,
    CALENDARS,
    NOW,
    PROFILES,
    RESERVATIONS,
    WORK_HOURS,
    ApiClient,
    assert_error,
    meeting_body,
)
from tests.factory import make_account, make_profile, make_token

ACCOUNT_PATHS = [
    ("GET", WORK_HOURS),
    ("GET", PROFILES),
    ("POST", PROFILES),
    ("GET", PROFILES + "/{p}"),
    ("PATCH", PROFILES + "/{p}"),
    ("DELETE", PROFILES + "/{p}"),
    ("GET", PROFILES + "/{p}/meeting"),
    ("POST", PROFILES + "/{p}/meeting"),
    ("POST", RESERVATIONS + "/{b}/confirm"),
    ("DELETE", RESERVATIONS + "/{b}"),
    ("GET", BOOKINGS),
    ("GET", BOOKINGS + "/{b}"),
    ("DELETE", BOOKINGS + "/{b}"),
    ("POST", BOOKINGS + "/{b}/reschedule"),
    ("GET", CALENDARS),
    ("POST", CALENDARS),
    ("DELETE", CALENDARS + "/{c}"),
]


def _objects(account: Account) -> dict[str, int]:
    """A profile, a reservation and a calendar of `account`, by the letters of ACCOUNT_PATHS."""
    profile = make_profile(account, name="mine")
    booking = Booking.objects.create(
        account=account,
        profile=profile,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, minutes=30),
        status=Booking.Status.RESERVED,
        expires_at=NOW + timedelta(days=1),
        name="Ann",
        email="ann@example.com",
    )
    calendar = Calendar.objects.create(
        account=account, kind="ics", role="busy", url="https://example.com/x.ics"
    )
    return {"p": profile.pk, "b": booking.pk, "c": calendar.pk}


def _body_for(method: str, path: str) -> Any:
    if method == "POST" and path.endswith("/meeting"):
        return meeting_body()
    if path.endswith("/reschedule"):
        return {"time": {"start": "2030-01-08T09:00:00Z", "end": "2030-01-08T09:30:00Z"}}
    if method == "POST" and path == CALENDARS:
        return {"type": "ics", "url": "https://example.com/y.ics"}
    if method in ("POST", "PATCH") and path.startswith(PROFILES):
        return {"name": "new-one"}
    return None


# --- tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "template"), ACCOUNT_PATHS)
def test_every_account_path_is_401_without_a_good_token(client, account, method, template):
    ids = _objects(account)
    path = template.format(**ids)
    body = _body_for(method, template)
    token, raw = ApiToken.issue(account)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=NOW - timedelta(minutes=1))
    for header in (None, "Bearer nope", "Token abc", f"Bearer {raw}", "Bearer "):
        extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
        response = ApiClient(client)(method, path, body, **extra)
        assert_error(response, 401, "unauthorized")
        assert response.has_header("WWW-Authenticate")
    assert Profile.objects.filter(account=account).count() == 1
    assert Booking.objects.get(pk=ids["b"]).status == Booking.Status.RESERVED
    assert Calendar.objects.filter(pk=ids["c"]).exists()


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer wrong", "Basic abc", "bk_not-a-bearer", "Bearer " + "x" * 300],
)
def test_missing_or_wrong_token_is_401(anon, account, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = anon("GET", PROFILES, **extra)
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(client, account):
    token, raw = ApiToken.issue(account)
    assert ApiClient(client, raw)("GET", PROFILES).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at="2020-01-01T00:00:00Z")
    assert_error(ApiClient(client, raw)("GET", PROFILES), 401, "unauthorized")


def test_token_records_last_use(api, account):
    assert ApiToken.objects.get(account=account).last_used_at is None
    api("GET", PROFILES)
    assert ApiToken.objects.get(account=account).last_used_at is not None


# --- another account's objects ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "template"), [p for p in ACCOUNT_PATHS if "{" in p[1]])
def test_another_accounts_objects_are_404_on_every_path(api, method, template):
    other = make_account()
    ids = _objects(other)
    response = api(method, template.format(**ids), _body_for(method, template))
    assert_error(response, 404, "not_found")
    assert Profile.objects.get(pk=ids["p"]).name == "mine"
    assert Booking.objects.get(pk=ids["b"]).status == Booking.Status.RESERVED
    assert Calendar.objects.filter(pk=ids["c"]).exists()


def test_other_accounts_profiles_are_404_and_stay_as_they_were(api, client):
    other = make_account()
    theirs = make_profile(other)
    for method in ("GET", "PATCH", "DELETE"):
        body = {"subject": "x"} if method == "PATCH" else None
        assert_error(api(method, f"{PROFILES}/{theirs.pk}", body), 404, "not_found")
    assert_error(api("GET", f"{PROFILES}/{theirs.pk}/meeting"), 404, "not_found")
    assert Profile.objects.get(pk=theirs.pk).subject == ""
    # …and the owner still sees it.
    assert ApiClient(client, make_token(other))("GET", f"{PROFILES}/{theirs.pk}").status_code == 200


# --- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["0", "-1", "99999999999999999999999", "9223372036854775808"])
@pytest.mark.parametrize(
    ("method", "template"), [p for p in ACCOUNT_PATHS if "{" in p[1] and "{p}" not in p[1]]
)
def test_ids_that_name_nothing_are_404(api, method, template, bad_id):
    path = template.format(p=bad_id, b=bad_id, c=bad_id)
    assert_error(api(method, path, _body_for(method, template)), 404, "not_found")


@pytest.mark.parametrize("bad_id", ["0", "-1", "99999999999999999999999"])
def test_profile_ids_that_name_nothing_are_404(api, bad_id):
    for method in ("GET", "PATCH", "DELETE"):
        response = api(method, f"{PROFILES}/{bad_id}", {} if method == "PATCH" else None)
        assert_error(response, 404, "not_found")
    assert_error(api("GET", f"{PROFILES}/{bad_id}/meeting"), 404, "not_found")


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "1e3"])
@pytest.mark.parametrize("path", [PROFILES + "/{}", BOOKINGS + "/{}", RESERVATIONS + "/{}/confirm"])
def test_ids_that_are_not_numbers_are_400_naming_id(api, path, bad_id):
    method = "POST" if path.endswith("confirm") else "GET"
    assert_error(api(method, path.format(bad_id)), 400, "bad_request", "id")
