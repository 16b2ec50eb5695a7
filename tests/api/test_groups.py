"""Aurinko's Group Booking API (SPEC §8): app keys, group profiles and their hosts,
availability with who is free, assignment (all / one, round robin, narrowing), reservations,
what every attendee gets (calendar event, notice, bookings list), cancel and reschedule through
a member's own API, dynamic availability, and the public endpoints under the organization's
handle.

The organization is Acme (Paris time, but its profiles here use Mon–Fri 09:00–17:00 UTC so slot
instants read as the work day) with four members whose ids ascend: Amy, Bob, Cat, Dan. Rival is
another organization with its own member Olga; Ada (the API tests' host) belongs to none.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from icalendar import Calendar as ICalendar

from scheduler.models import (
    Account,
    AppKey,
    Attendee,
    Booking,
    Event,
    Organization,
    Profile,
    Unit,
    UnitMember,
)
from scheduler.services import groups as group_service
from scheduler.services.errors import InvalidInput
from tests.api.conftest import UTC_WEEK
from tests.api.helpers import (
    BOOKINGS,
    NOW,
    PROFILES,
    ApiClient,
    assert_error,
    meeting_body,
    meeting_path,
)
from tests.factory import make_account, make_event, make_profile, make_token

G = "/v1/book/group"
GP = f"{G}/profiles"
RES = f"{G}/reservations"
OK = {"status": "Ok"}


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


def key_client(client, raw: str, *, bearer: bool = False) -> ApiClient:
    api = ApiClient(client)
    header = "Bearer " + raw.split(":", 1)[1] if bearer else basic(raw)
    api.headers = {"HTTP_AUTHORIZATION": header}
    return api


def at(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return datetime(2030, 1, day, hour, minute, tzinfo=UTC)


def z(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def body_at(hour: int, minute: int = 0, day: int = 7, minutes: int = 30, **extra) -> dict:
    start = at(hour, minute, day)
    return meeting_body(z(start), z(start + timedelta(minutes=minutes)), **extra)


def busy(account: Account, hour: int, minute: int = 0, day: int = 7, minutes: int = 30) -> Event:
    start = at(hour, minute, day)
    return make_event(account, start, start + timedelta(minutes=minutes), summary="busy")


def window(hour_from: int, hour_to: int, day: int = 7) -> str:
    return f"timeMin={z(at(hour_from, day=day))}&timeMax={z(at(hour_to, day=day))}"


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(handle="acme", name="Acme", timezone="Europe/Paris")


@pytest.fixture
def key(org) -> str:
    _, raw = AppKey.issue(org, "tests")
    return raw


@pytest.fixture
def gapi(client, key) -> ApiClient:
    """Acme's app key, as HTTP Basic clientId:secret."""
    return key_client(client, key)


@pytest.fixture
def hosts(org) -> SimpleNamespace:
    made = {
        name: make_account(
            handle=name,
            name=name.title(),
            email=f"{name}@acme.example",
            timezone="UTC",
            organization=org,
        )
        for name in ("amy", "bob", "cat", "dan")
    }
    assert made["amy"].pk < made["bob"].pk < made["cat"].pk < made["dan"].pk
    return SimpleNamespace(**made)


@pytest.fixture
def rival(client, db) -> SimpleNamespace:
    other = Organization.objects.create(handle="rival", name="Rival", timezone="UTC")
    olga = make_account(handle="olga", email="olga@rival.example", organization=other)
    _, raw = AppKey.issue(other)
    return SimpleNamespace(org=other, olga=olga, api=key_client(client, raw))


def new_profile(gapi: ApiClient, name: str = "team", **fields: Any) -> dict:
    body = {
        "name": name,
        "workHours": UTC_WEEK,
        "startAfterMinutes": 0,
        "subject": "Team call about {{topic}}",
        **fields,
    }
    made = gapi("POST", GP, body)
    assert made.status_code == 201, made.content
    return made.json()


def attach(gapi: ApiClient, pid: int, *accounts: Account) -> None:
    answer = gapi("POST", f"{GP}/{pid}/attachAccounts", {"accountIds": [a.pk for a in accounts]})
    assert answer.status_code == 200 and answer.json() == OK, answer.content


def attach_group(
    gapi: ApiClient, pid: int, ext_id: str, *accounts: Account, required: str | None = None
) -> None:
    group: dict[str, Any] = {"extId": ext_id, "accountIds": [a.pk for a in accounts]}
    if required:
        group["required"] = required
    answer = gapi("POST", f"{GP}/{pid}/attachGroups", {"groups": [group]})
    assert answer.status_code == 200 and answer.json() == OK, answer.content


def book(gapi: ApiClient, pid: int, body: dict, query: str = "") -> dict:
    answer = gapi("POST", f"{GP}/{pid}/meeting{query}", body)
    assert answer.status_code == 201, answer.content
    return answer.json()


def items(gapi: ApiClient, pid: int, query: str) -> list[dict]:
    answer = gapi("GET", f"{GP}/{pid}/meeting?{query}")
    assert answer.status_code == 200, answer.content
    return answer.json()["items"]


def ids(*accounts: Account) -> list[int]:
    return sorted(a.pk for a in accounts)


def state() -> tuple:
    """Everything a failed request must leave as it was."""
    return (
        Booking.objects.count(),
        Attendee.objects.count(),
        Event.objects.count(),
        Unit.objects.count(),
        UnitMember.objects.count(),
        sorted(Profile.objects.values_list("pk", "name", "required", "client_org_id")),
        sorted(UnitMember.objects.values_list("unit__ext_id", "unit__required", "account_id")),
        len(mail.outbox),
    )


def event_hosts(booking_id: int | str) -> list[int]:
    """The accounts whose builtin primary calendar holds an event of the booking."""
    rows = Event.objects.filter(booking_id=int(booking_id), calendar__role="primary")
    return sorted(rows.values_list("calendar__account_id", flat=True))


def member_api(client, account: Account) -> ApiClient:
    return ApiClient(client, make_token(account))


# --- app keys ------------------------------------------------------------------------------


def test_an_app_key_works_as_basic_and_as_a_bearer_secret(client, key, hosts):
    for api in (key_client(client, key), key_client(client, key, bearer=True)):
        answer = api("GET", f"{G}/accounts")
        assert answer.status_code == 200, answer.content
        assert [r["handle"] for r in answer.json()["records"]] == ["amy", "bob", "cat", "dan"]
    assert AppKey.objects.get().last_used_at is not None


def test_bad_app_credentials_are_401(client, key, rival, account):
    client_id, secret = key.split(":", 1)
    _, other_secret = AppKey.issue(rival.org)[1].split(":", 1)
    headers = [
        None,
        "Basic " + base64.b64encode(f"{client_id}:wrong".encode()).decode(),
        "Basic " + base64.b64encode(f"app_0000000000000000:{secret}".encode()).decode(),
        # Another key's id with this key's secret, and the reverse: both halves must match.
        "Basic " + base64.b64encode(f"{client_id}:{other_secret}".encode()).decode(),
        "Basic not-base64!",
        f"Bearer {key}",  # Bearer takes the secret alone
        f"Bearer {client_id}",
        "Bearer ",
        f"Bearer {make_token(account)}",  # an account token on a group path
    ]
    for header in headers:
        extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
        assert_error(ApiClient(client)("GET", f"{G}/accounts", **extra), 401, "unauthorized")


def test_a_revoked_app_key_is_401(client, org, key):
    api = key_client(client, key)
    assert api("GET", GP).status_code == 200
    group_service.revoke_app_key(AppKey.objects.get(organization=org))
    assert_error(api("GET", GP), 401, "unauthorized")
    assert_error(key_client(client, key, bearer=True)("GET", GP), 401, "unauthorized")


def test_an_app_key_on_an_account_path_is_401(client, key, hosts):
    for api in (key_client(client, key), key_client(client, key, bearer=True)):
        for path in (PROFILES, BOOKINGS, "/v1/book/account/workHours"):
            assert_error(api("GET", path), 401, "unauthorized")
    # …while the member's own token works there, and not on the group paths.
    amy = member_api(client, hosts.amy)
    assert amy("GET", PROFILES).status_code == 200
    assert_error(amy("GET", GP), 401, "unauthorized")
    assert_error(amy("GET", f"{G}/accounts"), 401, "unauthorized")


GROUP_PATHS = [
    ("GET", G + "/accounts"),
    ("GET", GP),
    ("POST", GP),
    ("GET", GP + "/{p}"),
    ("PATCH", GP + "/{p}"),
    ("DELETE", GP + "/{p}"),
    ("GET", GP + "/{p}/attachAccounts"),
    ("POST", GP + "/{p}/attachAccounts"),
    ("POST", GP + "/{p}/detachAccounts"),
    ("GET", GP + "/{p}/attachGroups"),
    ("POST", GP + "/{p}/attachGroups"),
    ("POST", GP + "/{p}/detachGroups"),
    ("GET", GP + "/{p}/meeting"),
    ("POST", GP + "/{p}/meeting"),
    ("POST", RES + "/{b}/confirm"),
    ("DELETE", RES + "/{b}"),
    ("POST", GP + "/dynamic/availability"),
]


def _group_body(method: str, template: str, hosts) -> Any:
    if method == "PATCH":
        return {"subject": "changed {{topic}}"}
    if method != "POST":
        return None
    if template == GP:
        return {"name": "fresh"}
    if template.endswith("/meeting"):
        return body_at(10)
    if template.endswith("Accounts"):
        return {"accountIds": [hosts.bob.pk]}
    if template.endswith("Groups"):
        return {"groups": [{"extId": "sales", "accountIds": [hosts.cat.pk]}]}
    if template.endswith("/availability"):
        return {"timeMin": z(at(9)), "timeMax": z(at(17)), "profileIds": [1]}
    return None


def _group_objects(gapi, hosts) -> dict[str, int]:
    made = new_profile(gapi)
    attach(gapi, made["id"], hosts.amy)
    attach_group(gapi, made["id"], "sales", hosts.cat)
    held = book(gapi, made["id"], body_at(9), "?reserveForMinutes=60")
    return {"p": made["id"], "b": int(held["id"])}


@pytest.mark.parametrize(("method", "template"), GROUP_PATHS)
def test_every_group_path_is_401_without_an_app_key(client, gapi, hosts, method, template):
    objects = _group_objects(gapi, hosts)
    before = state()
    for header in (None, "Bearer nope", basic("app_x:sk_y"), f"Bearer {make_token(hosts.amy)}"):
        extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
        path = template.format(**objects)
        body = _group_body(method, template, hosts)
        answer = ApiClient(client)(method, path, body, **extra)
        assert_error(answer, 401, "unauthorized")
    assert state() == before
    assert Booking.objects.get().status == "reserved"


@pytest.mark.parametrize(
    ("method", "template"), [p for p in GROUP_PATHS if "{" in p[1]], ids=lambda v: str(v)
)
def test_another_organizations_objects_are_404(client, gapi, hosts, rival, method, template):
    objects = _group_objects(gapi, hosts)
    before = state()
    answer = rival.api(method, template.format(**objects), _group_body(method, template, hosts))
    # Rival's app key sees none of Acme's objects (Acme's accounts in a body are 400 at most,
    # but the profile is looked up first).
    assert_error(answer, 404, "not_found")
    assert state() == before


def test_ids_that_name_nothing_are_404(gapi, hosts):
    for bad in ("0", "-1", "99999999", "99999999999999999999999"):
        assert_error(gapi("GET", f"{GP}/{bad}"), 404, "not_found")
        assert_error(gapi("GET", f"{GP}/{bad}/meeting"), 404, "not_found")
        assert_error(gapi("POST", f"{RES}/{bad}/confirm"), 404, "not_found")
        assert_error(gapi("DELETE", f"{RES}/{bad}"), 404, "not_found")
    assert_error(gapi("GET", f"{GP}/abc"), 400, "bad_request", "id")


def test_reservations_of_an_accounts_own_profile_are_404_on_the_group_path(
    client, gapi, hosts, account
):
    """A member's own (non-group) reservation is not the organization's object."""
    mine = make_profile(hosts.amy, name="mine", subject="{{topic}}", work_hours=UTC_WEEK)
    held = member_api(client, hosts.amy)(
        "POST", meeting_path(mine) + "?reserveForMinutes=10", body_at(9)
    ).json()
    assert_error(gapi("POST", f"{RES}/{held['id']}/confirm"), 404, "not_found")
    assert_error(gapi("DELETE", f"{RES}/{held['id']}"), 404, "not_found")
    assert Booking.objects.get().status == "reserved"


# --- the organization's accounts -----------------------------------------------------------


def test_accounts_lists_the_organizations_members_paged(gapi, hosts, rival, account):
    answer = gapi("GET", f"{G}/accounts").json()
    assert answer["totalSize"] == 4 and answer["offset"] == 0 and answer["done"] is True
    assert answer["records"][0] == {
        "id": hosts.amy.pk,
        "handle": "amy",
        "name": "Amy",
        "email": "amy@acme.example",
        "timezone": "UTC",
    }
    assert [r["id"] for r in answer["records"]] == ids(hosts.amy, hosts.bob, hosts.cat, hosts.dan)
    page = gapi("GET", f"{G}/accounts?limit=2&offset=1").json()
    assert [r["handle"] for r in page["records"]] == ["bob", "cat"]
    assert (page["offset"], page["totalSize"], page["done"]) == (1, 4, False)
    last = gapi("GET", f"{G}/accounts?limit=2&offset=2").json()
    assert last["done"] is True and len(last["records"]) == 2
    assert_error(gapi("GET", f"{G}/accounts?limit=0"), 400, "bad_request", "limit")
    assert_error(gapi("GET", f"{G}/accounts?limit=201"), 400, "bad_request", "limit")
    assert [r["handle"] for r in rival.api("GET", f"{G}/accounts").json()["records"]] == ["olga"]


# --- group profiles ------------------------------------------------------------------------


def test_create_answers_the_profile_with_its_defaults(gapi, org):
    made = gapi("POST", GP, {"name": "team"})
    assert made.status_code == 201, made.content
    got = made.json()
    assert got["name"] == "team" and isinstance(got["id"], int)
    assert got["required"] == "all" and got["clientOrgId"] == ""
    assert got["schedulerLink"] == "http://testserver/acme/team/"
    # Default week: Mon–Fri 09:00–17:00 in the organization's zone.
    assert got["workHours"]["timezone"] == "Europe/Paris"
    assert [d["dayOfWeek"] for d in got["workHours"]["daySchedules"]] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
    assert got["workHours"]["daySchedules"][0]["workingIntervals"] == [
        {"start": "09:00:00", "end": "17:00:00"}
    ]
    assert got["durationMinutes"] == 30 and got["timeAvailableFor"] == "P30D"
    assert gapi("GET", f"{GP}/{got['id']}").json() == got
    profile = Profile.objects.get(pk=got["id"])
    assert profile.organization == org and profile.account is None


def test_list_read_patch_delete(gapi, rival):
    first = new_profile(gapi, "alpha", clientOrgId="crm-1", required="one")
    second = new_profile(gapi, "beta")
    third = new_profile(gapi, "gamma")
    new_profile(rival.api, "alpha")  # same name in another organization: fine
    assert (first["clientOrgId"], first["required"]) == ("crm-1", "one")
    listed = gapi("GET", GP).json()
    assert [r["id"] for r in listed["records"]] == [first["id"], second["id"], third["id"]]
    assert listed["totalSize"] == 3 and listed["done"] is True
    page = gapi("GET", f"{GP}?limit=1&offset=1").json()
    assert [r["name"] for r in page["records"]] == ["beta"]
    assert (page["totalSize"], page["done"]) == (3, False)

    path = f"{GP}/{second['id']}"
    changed = gapi("PATCH", path, {"required": "one", "clientOrgId": "crm-2", "name": "beta2"})
    assert changed.status_code == 200 and changed.json() == OK
    got = gapi("GET", path).json()
    assert (got["required"], got["clientOrgId"], got["name"]) == ("one", "crm-2", "beta2")
    assert got["schedulerLink"] == "http://testserver/acme/beta2/"
    assert gapi("PATCH", path, {"durationMinutes": 45}).json() == OK
    assert gapi("GET", path).json()["required"] == "one"  # untouched fields stay

    before = state()
    assert_error(gapi("PATCH", path, {"required": "most"}), 400, "bad_request", "required")
    assert_error(gapi("PATCH", path, {"schedulerLink": "x"}), 400, "bad_request", "schedulerLink")
    assert_error(gapi("PATCH", path, {"name": "alpha"}), 409, "conflict")
    assert_error(gapi("POST", GP, {"name": "gamma"}), 409, "conflict")
    assert_error(gapi("POST", GP, {"name": "x", "required": "any"}), 400, "bad_request", "required")
    assert state() == before

    assert gapi("DELETE", path).json() == OK
    assert_error(gapi("GET", path), 404, "not_found")
    assert_error(gapi("DELETE", path), 404, "not_found")
    assert [r["name"] for r in gapi("GET", GP).json()["records"]] == ["alpha", "gamma"]


def test_a_group_profile_may_share_a_name_with_a_members_own_profile(gapi, hosts):
    make_profile(hosts.amy, name="team")
    assert new_profile(gapi, "team")["schedulerLink"] == "http://testserver/acme/team/"


# --- attached accounts ---------------------------------------------------------------------


def test_attach_and_detach_accounts(gapi, hosts):
    pid = new_profile(gapi)["id"]
    path = f"{GP}/{pid}/attachAccounts"
    assert gapi("GET", path).json() == {"offset": 0, "totalSize": 0, "done": True, "records": []}
    attach(gapi, pid, hosts.dan, hosts.amy, hosts.cat)
    attach(gapi, pid, hosts.amy)  # again: changes nothing
    listed = gapi("GET", path).json()
    assert listed["records"] == [{"accountIds": [a]} for a in ids(hosts.amy, hosts.cat, hosts.dan)]
    assert listed["totalSize"] == 3
    assert UnitMember.objects.filter(profile_id=pid).count() == 3
    page = gapi("GET", f"{path}?limit=1&offset=1").json()
    assert page["records"] == [{"accountIds": [hosts.cat.pk]}] and page["done"] is False

    detach = f"{GP}/{pid}/detachAccounts"
    answer = gapi("POST", detach, {"accountIds": [hosts.cat.pk, hosts.bob.pk]})
    assert answer.status_code == 200 and answer.json() == OK
    assert gapi("POST", detach, {"accountIds": [hosts.cat.pk]}).json() == OK  # not there: no-op
    assert gapi("GET", path).json()["records"] == [
        {"accountIds": [hosts.amy.pk]},
        {"accountIds": [hosts.dan.pk]},
    ]
    assert Unit.objects.filter(profile_id=pid).count() == 2  # the emptied unit went too
    # A group member is not an attached account: detaching it changes nothing.
    attach_group(gapi, pid, "sales", hosts.bob)
    before = state()
    assert gapi("POST", detach, {"accountIds": [hosts.bob.pk]}).json() == OK
    assert state() == before


def test_a_bad_account_is_named_by_position_and_nothing_is_attached(gapi, hosts, rival, account):
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy)
    path = f"{GP}/{pid}/attachAccounts"
    before = state()
    cases = [
        ([hosts.bob.pk, rival.olga.pk], "accountIds[1]"),  # another organization's
        ([987654, hosts.bob.pk], "accountIds[0]"),  # nobody
        ([hosts.bob.pk, hosts.cat.pk, account.pk], "accountIds[2]"),  # in no organization
    ]
    for accounts, field in cases:
        error = assert_error(
            gapi("POST", path, {"accountIds": accounts}), 400, "bad_request", field
        )
        assert list(error["fields"]) == [field]
        assert state() == before
    for bad in ([0], ["1"], [1.5], None, "x"):
        assert_error(gapi("POST", path, {"accountIds": bad}), 400, "bad_request")
    assert_error(
        gapi("POST", f"{GP}/{pid}/detachAccounts", {"accountIds": [hosts.amy.pk, rival.olga.pk]}),
        400,
        "bad_request",
        "accountIds[1]",
    )
    assert state() == before
    assert gapi("GET", path).json()["records"] == [{"accountIds": [hosts.amy.pk]}]


def test_an_account_may_be_one_unit_only(gapi, hosts):
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy)
    attach_group(gapi, pid, "sales", hosts.bob, hosts.cat)
    before = state()
    # A group member cannot be attached as well…
    answer = gapi(
        "POST", f"{GP}/{pid}/attachAccounts", {"accountIds": [hosts.dan.pk, hosts.cat.pk]}
    )
    assert_error(answer, 400, "bad_request", "accountIds[1]")
    # …nor an attached account (or another group's member) join a group.
    groups = {"groups": [{"extId": "exec", "accountIds": [hosts.dan.pk, hosts.amy.pk]}]}
    answer = gapi("POST", f"{GP}/{pid}/attachGroups", groups)
    assert_error(answer, 400, "bad_request", "groups[0].accountIds[1]")
    groups = {"groups": [{"extId": "exec", "accountIds": [hosts.bob.pk]}]}
    assert_error(
        gapi("POST", f"{GP}/{pid}/attachGroups", groups),
        400,
        "bad_request",
        "groups[0].accountIds[0]",
    )
    # Two groups of one request may not share an account either.
    groups = {
        "groups": [
            {"extId": "exec", "accountIds": [hosts.dan.pk]},
            {"extId": "ops", "accountIds": [hosts.dan.pk]},
        ]
    }
    assert_error(
        gapi("POST", f"{GP}/{pid}/attachGroups", groups),
        400,
        "bad_request",
        "groups[1].accountIds[0]",
    )
    assert state() == before


# --- groups --------------------------------------------------------------------------------


def test_attach_replace_and_list_groups(gapi, hosts):
    pid = new_profile(gapi)["id"]
    path = f"{GP}/{pid}/attachGroups"
    body = {
        "groups": [
            {"extId": "sales", "accountIds": [hosts.cat.pk, hosts.bob.pk], "required": "one"},
            {"extId": "exec", "accountIds": [hosts.dan.pk]},
        ]
    }
    assert gapi("POST", path, body).json() == OK
    listed = gapi("GET", path).json()
    assert listed["records"] == [
        {"extId": "sales", "accountIds": ids(hosts.bob, hosts.cat), "required": "one"},
        {"extId": "exec", "accountIds": [hosts.dan.pk], "required": "all"},  # the default
    ]
    assert listed["totalSize"] == 2 and listed["done"] is True
    page = gapi("GET", f"{path}?limit=1&offset=1").json()
    assert [g["extId"] for g in page["records"]] == ["exec"] and page["totalSize"] == 2
    # The same extId replaces the group, which keeps its place in attach order.
    attach_group(gapi, pid, "sales", hosts.amy, required="all")
    assert gapi("GET", path).json()["records"] == [
        {"extId": "sales", "accountIds": [hosts.amy.pk], "required": "all"},
        {"extId": "exec", "accountIds": [hosts.dan.pk], "required": "all"},
    ]
    # Bob and Cat are free to be units again.
    attach(gapi, pid, hosts.bob)
    attach_group(gapi, pid, "ops", hosts.cat)
    assert [g["extId"] for g in gapi("GET", path).json()["records"]] == ["sales", "exec", "ops"]
    # Re-attaching what is there changes nothing.
    before = state()
    attach_group(gapi, pid, "exec", hosts.dan)
    assert state() == before


def test_bad_groups_are_400_and_nothing_changes(gapi, hosts, rival):
    pid = new_profile(gapi)["id"]
    attach_group(gapi, pid, "sales", hosts.bob)
    path = f"{GP}/{pid}/attachGroups"
    before = state()
    good = {"extId": "exec", "accountIds": [hosts.dan.pk]}
    cases = [
        ([good, {"extId": "ops", "accountIds": []}], "groups[1].accountIds"),  # empty
        (
            [{"extId": "ops", "accountIds": [hosts.amy.pk, rival.olga.pk]}],
            "groups[0].accountIds[1]",
        ),
        ([good, {"extId": "ops", "accountIds": [424242]}], "groups[1].accountIds[0]"),
        ([{"extId": "sales", "accountIds": []}], "groups[0].accountIds"),  # emptying by attach
    ]
    for groups, field in cases:
        assert_error(gapi("POST", path, {"groups": groups}), 400, "bad_request", field)
        assert state() == before
    for bad in (
        {"groups": [{"extId": "", "accountIds": [hosts.amy.pk]}]},
        {"groups": [{"accountIds": [hosts.amy.pk]}]},
        {"groups": [{"extId": "x", "accountIds": [hosts.amy.pk], "required": "some"}]},
        {"groups": [{"extId": "x"}]},
    ):
        assert_error(gapi("POST", path, bad), 400, "bad_request")
    assert state() == before


def test_detach_groups(gapi, hosts, rival):
    pid = new_profile(gapi)["id"]
    path = f"{GP}/{pid}/attachGroups"
    detach = f"{GP}/{pid}/detachGroups"
    attach_group(gapi, pid, "sales", hosts.amy, hosts.bob, required="one")
    attach_group(gapi, pid, "exec", hosts.cat)
    attach_group(gapi, pid, "ops", hosts.dan)
    # Some accounts: the group stays with the rest.
    answer = gapi("POST", detach, {"groups": [{"extId": "sales", "accountIds": [hosts.bob.pk]}]})
    assert answer.status_code == 200 and answer.json() == OK
    assert gapi("GET", path).json()["records"][0] == {
        "extId": "sales",
        "accountIds": [hosts.amy.pk],
        "required": "one",
    }
    # A group left with no accounts is removed.
    gapi("POST", detach, {"groups": [{"extId": "sales", "accountIds": [hosts.amy.pk]}]})
    # No accounts, or an empty list: the whole group.
    gapi("POST", detach, {"groups": [{"extId": "exec"}, {"extId": "ops", "accountIds": []}]})
    assert gapi("GET", path).json()["records"] == []
    assert Unit.objects.filter(profile_id=pid).count() == 0
    # What is not there changes nothing; another organization's account is 400.
    assert gapi("POST", detach, {"groups": [{"extId": "nope"}]}).json() == OK
    attach_group(gapi, pid, "sales", hosts.amy)
    before = state()
    bad = {"groups": [{"extId": "sales", "accountIds": [hosts.amy.pk, rival.olga.pk]}]}
    assert_error(gapi("POST", detach, bad), 400, "bad_request", "groups[0].accountIds[1]")
    assert state() == before


def test_a_member_leaving_the_organization_leaves_its_profiles(gapi, hosts, rival):
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy, hosts.bob)
    attach_group(gapi, pid, "sales", hosts.cat)
    group_service.join(hosts.cat, rival.org)
    group_service.join(hosts.amy, None)
    assert gapi("GET", f"{GP}/{pid}/attachAccounts").json()["records"] == [
        {"accountIds": [hosts.bob.pk]}
    ]
    assert gapi("GET", f"{GP}/{pid}/attachGroups").json()["records"] == []


# --- availability --------------------------------------------------------------------------


@pytest.fixture
def trio(gapi, hosts) -> dict:
    """`team` (required all): Amy and Bob attached, and the `all` group `pair` of Cat and Dan.
    Busy: Amy 09:00–09:30, Cat 10:00–10:30, Bob 11:00–12:00 on Monday."""
    made = new_profile(gapi)
    attach(gapi, made["id"], hosts.bob, hosts.amy)
    attach_group(gapi, made["id"], "pair", hosts.cat, hosts.dan)
    busy(hosts.amy, 9)
    busy(hosts.cat, 10)
    busy(hosts.bob, 11, minutes=60)
    return made


def test_availability_under_all_and_one(gapi, hosts, trio):
    pid = trio["id"]
    everyone = ids(hosts.amy, hosts.bob, hosts.cat, hosts.dan)
    expected_all = [
        {"start": z(at(9, 30)), "end": z(at(10)), "accountIds": everyone, "groupXids": ["pair"]},
        {"start": z(at(10, 30)), "end": z(at(11)), "accountIds": everyone, "groupXids": ["pair"]},
    ]
    assert items(gapi, pid, window(9, 12) + "&required=all") == expected_all
    assert items(gapi, pid, window(9, 12)) == expected_all  # the profile's own mode
    got = gapi("GET", f"{GP}/{pid}/meeting?{window(9, 12)}&required=one").json()
    pair = ids(hosts.cat, hosts.dan)
    assert got["items"] == [
        {
            "start": z(at(9)),
            "end": z(at(9, 30)),
            "accountIds": [hosts.bob.pk, *pair],
            "groupXids": ["pair"],
        },
        {"start": z(at(9, 30)), "end": z(at(10)), "accountIds": everyone, "groupXids": ["pair"]},
        # Cat busy: her `all` group is not free, so neither she nor Dan is named.
        {
            "start": z(at(10)),
            "end": z(at(10, 30)),
            "accountIds": ids(hosts.amy, hosts.bob),
            "groupXids": [],
        },
        {"start": z(at(10, 30)), "end": z(at(11)), "accountIds": everyone, "groupXids": ["pair"]},
        {
            "start": z(at(11)),
            "end": z(at(11, 30)),
            "accountIds": [hosts.amy.pk, *pair],
            "groupXids": ["pair"],
        },
        {
            "start": z(at(11, 30)),
            "end": z(at(12)),
            "accountIds": [hosts.amy.pk, *pair],
            "groupXids": ["pair"],
        },
    ]
    assert got["totalSize"] == 6 and got["done"] is True and got["offset"] == 0
    assert got["startTime"] == z(at(9)) and got["endTime"] == z(at(12))
    assert got["durationMinutes"] == 30 and got["availabilityStep"] == 30
    assert got["additionalFields"] == [{"name": "topic", "type": "string", "required": True}]
    # Paging over the items.
    page = gapi("GET", f"{GP}/{pid}/meeting?{window(9, 12)}&required=one&limit=2&offset=1").json()
    assert [i["start"] for i in page["items"]] == [z(at(9, 30)), z(at(10))]
    assert (page["offset"], page["totalSize"], page["done"]) == (1, 6, False)
    # A profile whose own mode is `one` answers that without `required`.
    assert gapi("PATCH", f"{GP}/{pid}", {"required": "one"}).json() == OK
    assert items(gapi, pid, window(9, 12)) == got["items"]
    assert items(gapi, pid, window(9, 12) + "&required=all") == expected_all


def test_bad_availability_queries_are_400(gapi, trio):
    path = f"{GP}/{trio['id']}/meeting"
    assert_error(gapi("GET", f"{path}?required=most"), 400, "bad_request", "required")
    assert_error(gapi("GET", f"{path}?{window(12, 9)}"), 400, "bad_request", "timeMax")
    assert_error(gapi("GET", f"{path}?limit=0"), 400, "bad_request", "limit")


def test_groupxids_are_always_there_and_no_units_means_no_slots(gapi, hosts):
    alone = new_profile(gapi, "alone")
    attach(gapi, alone["id"], hosts.amy)
    got = items(gapi, alone["id"], window(9, 10))
    assert got == [
        {"start": z(at(9)), "end": z(at(9, 30)), "accountIds": [hosts.amy.pk], "groupXids": []},
        {"start": z(at(9, 30)), "end": z(at(10)), "accountIds": [hosts.amy.pk], "groupXids": []},
    ]
    empty = new_profile(gapi, "empty")
    for mode in ("", "&required=one", "&required=all"):
        answer = gapi("GET", f"{GP}/{empty['id']}/meeting?{window(9, 17)}{mode}").json()
        assert answer["items"] == [] and answer["totalSize"] == 0
    assert_error(gapi("POST", f"{GP}/{empty['id']}/meeting", body_at(9)), 409, "slot_unavailable")
    assert Booking.objects.count() == 0


def test_a_one_groups_free_members_are_named(gapi, hosts):
    pid = new_profile(gapi)["id"]
    attach_group(gapi, pid, "desk", hosts.bob, hosts.cat, hosts.dan, required="one")
    attach_group(gapi, pid, "lead", hosts.amy, required="one")
    busy(hosts.cat, 9, minutes=60)
    busy(hosts.bob, 9, 30)
    busy(hosts.dan, 9, 30)
    got = items(gapi, pid, window(9, 10) + "&required=one")
    assert got == [
        {
            "start": z(at(9)),
            "end": z(at(9, 30)),
            "accountIds": ids(hosts.amy, hosts.bob, hosts.dan),
            "groupXids": ["desk", "lead"],  # attach order
        },
        {
            "start": z(at(9, 30)),
            "end": z(at(10)),
            "accountIds": [hosts.amy.pk],
            "groupXids": ["lead"],
        },
    ]
    assert [i["start"] for i in items(gapi, pid, window(9, 10) + "&required=all")] == [z(at(9))]


def test_a_members_own_bookings_and_other_group_bookings_make_them_busy(client, gapi, hosts):
    """Busy is per account: its calendars, and its bookings of every profile, group bookings
    it attends included — so nobody is ever double-booked across them."""
    mine = make_profile(hosts.amy, name="mine", subject="{{topic}}", work_hours=UTC_WEEK)
    amy = member_api(client, hosts.amy)
    assert amy("POST", meeting_path(mine), body_at(9)).status_code == 201
    first = new_profile(gapi, "first")
    attach(gapi, first["id"], hosts.amy, hosts.bob)
    second = new_profile(gapi, "second")
    attach(gapi, second["id"], hosts.bob, hosts.cat)
    assert [i["start"] for i in items(gapi, first["id"], window(9, 11))] == [
        z(at(9, 30)),
        z(at(10)),
        z(at(10, 30)),
    ]
    assert_error(gapi("POST", f"{GP}/{first['id']}/meeting", body_at(9)), 409, "slot_unavailable")
    book(gapi, second["id"], body_at(10))  # Bob and Cat
    assert [i["start"] for i in items(gapi, first["id"], window(9, 11))] == [
        z(at(9, 30)),
        z(at(10, 30)),
    ]
    assert_error(gapi("POST", f"{GP}/{first['id']}/meeting", body_at(10)), 409, "slot_unavailable")
    # Bob's own profile sees the group booking as busy too.
    bobs = make_profile(hosts.bob, name="bobs", subject="{{topic}}", work_hours=UTC_WEEK)
    bob = member_api(client, hosts.bob)
    starts = {
        i["start"] for i in bob("GET", meeting_path(bobs) + "?" + window(9, 11)).json()["items"]
    }
    assert starts == {z(at(9)), z(at(9, 30)), z(at(10, 30))}
    assert_error(bob("POST", meeting_path(bobs), body_at(10)), 409, "slot_unavailable")


def test_the_per_day_cap_counts_this_profiles_bookings(gapi, hosts):
    pid = new_profile(gapi, maxBookingsPerDay=1, required="one")["id"]
    attach(gapi, pid, hosts.amy, hosts.bob)
    other = new_profile(gapi, "other")["id"]
    attach(gapi, other, hosts.cat)
    book(gapi, other, body_at(9))
    assert len(items(gapi, pid, window(9, 17))) == 16
    book(gapi, pid, body_at(9))
    assert items(gapi, pid, window(9, 17)) == []
    assert len(items(gapi, pid, window(9, 17, day=8))) == 16
    assert_error(gapi("POST", f"{GP}/{pid}/meeting", body_at(11)), 409, "slot_unavailable")


def test_buffer_applies_to_every_member(gapi, hosts):
    pid = new_profile(gapi, bufferBetweenMinutes=15, required="one")["id"]
    attach(gapi, pid, hosts.amy, hosts.bob)
    busy(hosts.amy, 10)
    busy(hosts.bob, 11)
    got = {i["start"]: i["accountIds"] for i in items(gapi, pid, window(9, 12))}
    assert got == {
        z(at(9)): ids(hosts.amy, hosts.bob),
        z(at(9, 30)): [hosts.bob.pk],  # Amy's 10:00 is within her buffer
        z(at(10)): [hosts.bob.pk],
        z(at(11)): [hosts.amy.pk],
        z(at(11, 30)): [hosts.amy.pk],
    }


# --- booking: who attends ------------------------------------------------------------------


def test_booking_under_all_sends_every_unit(
    client, gapi, hosts, django_capture_on_commit_callbacks
):
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy)
    attach_group(gapi, pid, "desk", hosts.bob, hosts.cat, required="one")
    with django_capture_on_commit_callbacks(execute=True):
        first = book(gapi, pid, body_at(9))
    assert first["accountIds"] == ids(hosts.amy, hosts.bob)  # Bob: tie, lowest id
    assert "groupXid" not in first
    assert first["groupProfileId"] == pid and first["profileId"] == pid
    assert first["status"] == "confirmed" and first["created"] is True
    assert first["subject"] == "Team call about roadmap"
    assert first["delivery"]["calendar"] == "done"  # builtin calendars, in the transaction
    assert Booking.objects.get(pk=int(first["id"])).mail_state == "done"
    assert event_hosts(first["id"]) == ids(hosts.amy, hosts.bob)
    booking = Booking.objects.get(pk=int(first["id"]))
    assert booking.account == hosts.amy  # the organizer: the first attendee
    # Cat has fewer bookings of this profile than Bob now.
    second = book(gapi, pid, body_at(9, 30))
    assert second["accountIds"] == ids(hosts.amy, hosts.cat)
    third = book(gapi, pid, body_at(10))
    assert third["accountIds"] == ids(hosts.amy, hosts.bob)


def test_every_attendee_gets_the_event_a_notice_and_the_booking_in_their_list(
    client, gapi, hosts, django_capture_on_commit_callbacks
):
    pid = new_profile(gapi)["id"]
    attach_group(gapi, pid, "pair", hosts.amy, hosts.bob)
    attach(gapi, pid, hosts.dan, hosts.cat)
    with django_capture_on_commit_callbacks(execute=True):
        made = book(gapi, pid, body_at(9))
    everyone = ids(hosts.amy, hosts.bob, hosts.cat, hosts.dan)
    assert made["accountIds"] == everyone  # ascending, whoever organizes
    # Every attendee's primary (builtin) calendar holds the event, with the booking's UID.
    events = Event.objects.filter(booking_id=int(made["id"]))
    assert sorted(e.calendar.account_id for e in events) == everyone
    assert {(e.uid, e.start, e.end) for e in events} == {(made["uid"], at(9), at(9, 30))}
    # Mail: the invitee's invite and one notice per host.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        ["ann@example.com"] + [f"{h}@acme.example" for h in ("amy", "bob", "cat", "dan")]
    )
    invite = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    raw = next(c for c, kind in invite.alternatives if kind.startswith("text/calendar"))
    raw = raw if isinstance(raw, str) else raw.decode()
    event = ICalendar.from_ical(raw).walk("VEVENT")[0]
    unfolded = raw.replace("\r\n ", "")
    assert unfolded.count("\nORGANIZER") == 1
    # The first attendee organizes: attached accounts by id (Cat, Dan), then the groups in
    # attach order (Amy and Bob of `pair`), although Amy's id is the lowest.
    organizer = Booking.objects.get(pk=int(made["id"])).account
    assert organizer == hosts.cat
    assert str(event["ORGANIZER"]) == "mailto:cat@acme.example"
    attendees = [str(a) for a in event["ATTENDEE"]]
    assert sorted(attendees) == sorted(
        ["mailto:ann@example.com"] + [f"mailto:{h}@acme.example" for h in ("amy", "bob", "dan")]
    )
    assert "mailto:cat@acme.example" not in attendees
    for host in (hosts.amy, hosts.bob, hosts.cat, hosts.dan):
        notice = [m for m in mail.outbox if m.to == [host.email]]
        assert len(notice) == 1 and "Ann" in notice[0].subject
    # Each host sees it in their own bookings list, with the group fields.
    for host in (hosts.amy, hosts.bob, hosts.cat, hosts.dan):
        listed = member_api(client, host)("GET", BOOKINGS).json()
        assert [r["id"] for r in listed["records"]] == [made["id"]]
        record = listed["records"][0]
        assert record["groupProfileId"] == pid and record["accountIds"] == everyone
        one = member_api(client, host)("GET", f"{BOOKINGS}/{made['id']}").json()
        assert one["groupProfileId"] == pid and one["accountIds"] == everyone


def test_non_attendees_do_not_see_the_booking(client, gapi, hosts):
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy)
    made = book(gapi, pid, body_at(9))
    bob = member_api(client, hosts.bob)
    assert bob("GET", BOOKINGS).json()["records"] == []
    assert_error(bob("GET", f"{BOOKINGS}/{made['id']}"), 404, "not_found")
    assert_error(bob("DELETE", f"{BOOKINGS}/{made['id']}"), 404, "not_found")
    assert Booking.objects.get().status == "confirmed"


def test_round_robin_takes_turns_by_fewest_live_bookings(gapi, hosts):
    pid = new_profile(gapi, required="one")["id"]
    attach(gapi, pid, hosts.bob, hosts.amy)  # attach order does not matter: by id
    attach_group(gapi, pid, "desk", hosts.cat, hosts.dan, required="one")
    chosen = []
    for k in range(7):
        made = book(gapi, pid, body_at(9 + k // 2, 30 * (k % 2)))
        chosen.append((made["accountIds"], made.get("groupXid")))
    amy, bob, cat, dan = ([h.pk] for h in (hosts.amy, hosts.bob, hosts.cat, hosts.dan))
    assert chosen == [
        (amy, None),
        (bob, None),
        (cat, "desk"),
        (amy, None),
        (bob, None),
        (dan, "desk"),  # Cat has had one; Dan none
        (amy, None),
    ]
    stored = Booking.objects.order_by("start").values_list("unit_key", "group_mode")
    assert list(stored)[2] == ("group:desk", "one")


def test_ties_between_groups_go_by_attach_order(gapi, hosts):
    pid = new_profile(gapi, required="one")["id"]
    attach_group(gapi, pid, "zeta", hosts.dan)
    attach_group(gapi, pid, "alpha", hosts.amy, hosts.bob)  # an `all` group
    attach_group(gapi, pid, "zeta", hosts.cat, hosts.dan, required="one")  # replaced: keeps place
    first = book(gapi, pid, body_at(9))
    second = book(gapi, pid, body_at(9, 30))
    third = book(gapi, pid, body_at(10))
    assert (first["groupXid"], first["accountIds"]) == ("zeta", [hosts.cat.pk])
    assert (second["groupXid"], second["accountIds"]) == ("alpha", ids(hosts.amy, hosts.bob))
    assert (third["groupXid"], third["accountIds"]) == ("zeta", [hosts.dan.pk])


def test_a_busy_unit_is_passed_over(gapi, hosts):
    pid = new_profile(gapi, required="one")["id"]
    attach(gapi, pid, hosts.amy, hosts.bob)
    attach_group(gapi, pid, "desk", hosts.cat, hosts.dan, required="one")
    busy(hosts.amy, 9)
    busy(hosts.cat, 9, 30)
    assert book(gapi, pid, body_at(9))["accountIds"] == [hosts.bob.pk]  # Amy is busy
    # Amy has had no turn yet, and ties go to attached accounts before groups.
    assert book(gapi, pid, body_at(9, 30))["accountIds"] == [hosts.amy.pk]
    # Now the desk's turn; Cat is busy, so it sends Dan.
    made = book(gapi, pid, body_at(9, 30))
    assert (made["groupXid"], made["accountIds"]) == ("desk", [hosts.dan.pk])


def test_bookings_under_all_count_for_no_units_turn_but_members_attend(gapi, hosts):
    pid = new_profile(gapi, required="one")["id"]
    attach(gapi, pid, hosts.amy)
    attach_group(gapi, pid, "desk", hosts.cat, hosts.dan, required="one")
    under_all = book(gapi, pid, body_at(9), "?required=all")
    assert under_all["accountIds"] == ids(hosts.amy, hosts.cat) and "groupXid" not in under_all
    assert Booking.objects.get().unit_key == "" and Booking.objects.get().group_mode == "all"
    # Amy's unit still has had no turn; after her, the desk sends Dan (Cat attended one).
    assert book(gapi, pid, body_at(10))["accountIds"] == [hosts.amy.pk]
    made = book(gapi, pid, body_at(10, 30))
    assert (made["groupXid"], made["accountIds"]) == ("desk", [hosts.dan.pk])


def _past_booking(
    profile_id: int, host: Account, start: datetime, unit_key: str, minutes: int = 30, **kw
) -> Booking:
    booking = Booking.objects.create(
        account=host,
        profile_id=profile_id,
        start=start,
        end=start + timedelta(minutes=minutes),
        name="Old",
        email="old@example.com",
        group_mode="one",
        unit_key=unit_key,
        **kw,
    )
    return booking


def test_only_live_bookings_of_the_last_30_days_of_this_profile_count(gapi, hosts, frozen):
    pid = new_profile(gapi, required="one")["id"]
    other = new_profile(gapi, "other", required="one")["id"]
    attach(gapi, pid, hosts.amy, hosts.bob)
    attach(gapi, other, hosts.amy)
    amy = f"account:{hosts.amy.pk}"
    # None of these is a turn of Amy's for `team`:
    _past_booking(pid, hosts.amy, NOW - timedelta(days=30, minutes=1), amy, 1)  # too long ago
    _past_booking(pid, hosts.amy, NOW + timedelta(days=2), amy, status="cancelled")
    _past_booking(
        pid,
        hosts.amy,
        NOW + timedelta(days=2, hours=3),
        amy,
        status="reserved",
        expires_at=NOW - timedelta(seconds=1),
    )
    _past_booking(other, hosts.amy, NOW + timedelta(days=3), amy)  # another profile's
    assert book(gapi, pid, body_at(9))["accountIds"] == [hosts.amy.pk]
    Booking.objects.filter(start=at(9)).update(status="cancelled")
    Attendee.objects.filter(start=at(9)).update(status="cancelled")
    # A live reservation, and a confirmed booking 30 days ago exactly, do count.
    _past_booking(pid, hosts.amy, NOW - timedelta(days=30), amy)
    assert book(gapi, pid, body_at(9, 30))["accountIds"] == [hosts.bob.pk]
    _past_booking(
        pid,
        hosts.amy,
        NOW + timedelta(days=4),
        amy,
        status="reserved",
        expires_at=NOW + timedelta(hours=1),
    )
    # Amy 2, Bob 1: Bob again.
    assert book(gapi, pid, body_at(10))["accountIds"] == [hosts.bob.pk]


# --- narrowing -----------------------------------------------------------------------------


@pytest.fixture
def mixed(gapi, hosts) -> int:
    """`team` under one: Amy attached, the `one` group `desk` (Bob, Cat), the `all` group
    `pair` (Dan)."""
    pid = new_profile(gapi, required="one")["id"]
    attach(gapi, pid, hosts.amy)
    attach_group(gapi, pid, "desk", hosts.bob, hosts.cat, required="one")
    attach_group(gapi, pid, "pair", hosts.dan)
    return pid


def test_accountids_and_groupxids_narrow_the_choice(gapi, hosts, mixed):
    made = book(gapi, mixed, body_at(9, accountIds=[hosts.cat.pk]))
    assert (made["accountIds"], made["groupXid"]) == ([hosts.cat.pk], "desk")
    made = book(gapi, mixed, body_at(9, 30, groupXids=["pair"]))
    assert (made["accountIds"], made["groupXid"]) == ([hosts.dan.pk], "pair")
    made = book(gapi, mixed, body_at(10, groupXids=["desk"]))
    assert (made["accountIds"], made["groupXid"]) == ([hosts.bob.pk], "desk")
    made = book(gapi, mixed, body_at(10, 30, accountIds=[hosts.amy.pk]))
    assert made["accountIds"] == [hosts.amy.pk] and "groupXid" not in made
    # Several named: the fewest turns among them (Amy 1, pair 1, desk 2 → Amy by order).
    made = book(gapi, mixed, body_at(11, accountIds=[hosts.dan.pk, hosts.amy.pk]))
    assert made["accountIds"] == [hosts.amy.pk]
    # Under all, naming a `one` group's member sends that member.
    made = book(gapi, mixed, body_at(12, accountIds=[hosts.cat.pk]), "?required=all")
    assert made["accountIds"] == ids(hosts.amy, hosts.cat, hosts.dan)


def test_a_named_choice_that_is_not_free_is_409_and_writes_nothing(
    gapi, hosts, mixed, django_capture_on_commit_callbacks
):
    busy(hosts.cat, 9)
    busy(hosts.amy, 9, 30)
    before = state()
    with django_capture_on_commit_callbacks(execute=True):
        for minute, extra, query in (
            (0, {"accountIds": [hosts.cat.pk]}, ""),
            (0, {"accountIds": [hosts.cat.pk]}, "?required=all"),  # else Bob would go
            (30, {"accountIds": [hosts.amy.pk]}, ""),
            (30, {"groupXids": ["pair"], "accountIds": [hosts.amy.pk]}, "?required=all"),
            (30, {}, "?required=all"),
        ):
            answer = gapi("POST", f"{GP}/{mixed}/meeting{query}", body_at(9, minute, **extra))
            assert_error(answer, 409, "slot_unavailable")
    assert state() == before
    # Unnamed, the free desk member goes.
    made = book(gapi, mixed, body_at(9, groupXids=["desk"]))
    assert made["accountIds"] == [hosts.bob.pk]


def test_ids_not_in_the_profile_are_400_naming_them(gapi, org, hosts, mixed, rival, account):
    eve = make_account(handle="eve", organization=org)
    before = state()
    cases = [
        ({"accountIds": [hosts.amy.pk, rival.olga.pk]}, "accountIds[1]"),
        ({"accountIds": [account.pk]}, "accountIds[0]"),  # Ada, in no organization
        ({"accountIds": [eve.pk]}, "accountIds[0]"),  # a member, but not of this profile
        ({"accountIds": [31337]}, "accountIds[0]"),
        ({"groupXids": ["desk", "nope"]}, "groupXids[1]"),
    ]
    for extra, field in cases:
        answer = gapi("POST", f"{GP}/{mixed}/meeting", body_at(9, **extra))
        assert_error(answer, 400, "bad_request", field)
    assert state() == before


def test_bad_booking_requests_write_nothing(gapi, hosts, mixed):
    busy(hosts.amy, 9)
    busy(hosts.bob, 9)
    busy(hosts.cat, 9)
    busy(hosts.dan, 9)
    before = state()
    path = f"{GP}/{mixed}/meeting"
    assert_error(gapi("POST", path, body_at(9)), 409, "slot_unavailable")  # everyone busy
    assert_error(gapi("POST", path, body_at(20)), 409, "slot_unavailable")  # after hours
    assert_error(gapi("POST", path, body_at(9, 10)), 409, "slot_unavailable")  # off the grid
    assert_error(gapi("POST", path, body_at(10, minutes=45)), 409, "slot_unavailable")
    assert_error(gapi("POST", path + "?required=some", body_at(10)), 400, "bad_request", "required")
    assert_error(
        gapi("POST", path, body_at(10, substitutionData={})),
        400,
        "bad_request",
        "substitutionData.topic",
    )
    assert_error(gapi("POST", path, body_at(10, accountIds=["x"])), 400, "bad_request")
    for minutes in ("0", "x", "100000"):
        answer = gapi("POST", f"{path}?reserveForMinutes={minutes}", body_at(10))
        assert_error(answer, 400, "bad_request", "reserveForMinutes")
    assert state() == before


# --- reservations --------------------------------------------------------------------------


def test_reserve_confirm_and_release(
    client, gapi, hosts, mixed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        held = book(gapi, mixed, body_at(9), "?reserveForMinutes=15&required=all")
    assert held["status"] == "reserved" and held["expiresAt"] == "2030-01-07T06:15:00Z"
    assert held["reservationId"] == held["ReservationId"] == int(held["id"])
    assert held["accountIds"] == ids(hosts.amy, hosts.bob, hosts.dan)
    assert len(mail.outbox) == 0 and event_hosts(held["id"]) == []  # nothing until confirmed
    # The hold makes its hosts busy.
    assert z(at(9)) not in [i["start"] for i in items(gapi, mixed, window(9, 10) + "&required=all")]
    one = items(gapi, mixed, window(9, 10) + "&required=one")[0]
    assert one["accountIds"] == [hosts.cat.pk] and one["groupXids"] == ["desk"]

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = gapi("POST", f"{RES}/{held['reservationId']}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    got = confirmed.json()
    assert got["status"] == "confirmed" and "expiresAt" not in got
    assert got["accountIds"] == held["accountIds"] and got["groupProfileId"] == mixed
    assert event_hosts(held["id"]) == held["accountIds"]
    assert len(mail.outbox) == 4  # the invite and three notices
    # Neither path touches a confirmed booking.
    assert_error(gapi("POST", f"{RES}/{held['id']}/confirm"), 409, "conflict")
    assert_error(gapi("DELETE", f"{RES}/{held['id']}"), 409, "conflict")

    other = book(gapi, mixed, body_at(10), "?reserveForMinutes=5")
    assert other["accountIds"] == [hosts.amy.pk]
    answer = gapi("DELETE", f"{RES}/{other['id']}")
    assert answer.status_code == 200 and answer.json() == OK
    assert Booking.objects.get(pk=int(other["id"])).status == "cancelled"
    assert_error(gapi("POST", f"{RES}/{other['id']}/confirm"), 409, "conflict")
    assert gapi("DELETE", f"{RES}/{other['id']}").json() == OK  # again: no-op
    # Released: Amy is free at 10:00 again.
    ten = items(gapi, mixed, window(10, 11) + "&required=one")[0]
    assert hosts.amy.pk in ten["accountIds"]
    # A member may confirm a hold through their own API too.
    third = book(gapi, mixed, body_at(11), "?reserveForMinutes=5")
    member = Account.objects.get(pk=third["accountIds"][0])
    answer = member_api(client, member)(
        "POST", f"/v1/book/account/reservations/{third['id']}/confirm"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "confirmed"


def test_an_expired_group_reservation_frees_its_hosts(gapi, hosts, mixed, frozen):
    held = book(gapi, mixed, body_at(9), "?reserveForMinutes=5&required=all")
    frozen.shift(timedelta(minutes=6))
    assert_error(gapi("POST", f"{RES}/{held['id']}/confirm"), 409, "slot_unavailable")
    again = book(gapi, mixed, body_at(9), "?required=all")
    assert again["accountIds"] == held["accountIds"]


# --- cancel and reschedule through a member's account API ----------------------------------


def test_cancelling_through_any_attendee_cancels_for_everyone(
    client, gapi, hosts, django_capture_on_commit_callbacks
):
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy, hosts.bob, hosts.cat)
    with django_capture_on_commit_callbacks(execute=True):
        made = book(gapi, pid, body_at(9))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = member_api(client, hosts.cat)("DELETE", f"{BOOKINGS}/{made['id']}")
    assert answer.status_code == 200 and answer.json() == OK
    for host in (hosts.amy, hosts.bob, hosts.cat):
        seen = member_api(client, host)("GET", f"{BOOKINGS}/{made['id']}").json()
        assert seen["status"] == "cancelled"
    assert set(Attendee.objects.values_list("status", flat=True)) == {"cancelled"}
    assert event_hosts(made["id"]) == []
    cancel = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    raw = next(c for c, kind in cancel.alternatives if kind.startswith("text/calendar"))
    raw = raw if isinstance(raw, str) else raw.decode()
    assert "METHOD:CANCEL" in raw and made["uid"] in raw.replace("\r\n ", "")
    assert "SEQUENCE:1" in raw
    assert sorted(m.to[0] for m in mail.outbox if m.to != ["ann@example.com"]) == [
        "amy@acme.example",
        "bob@acme.example",
        "cat@acme.example",
    ]
    # Everyone is free again.
    assert items(gapi, pid, window(9, 10))[0]["start"] == z(at(9))
    # Cancelling again through another attendee changes nothing.
    before = state()
    assert member_api(client, hosts.amy)("DELETE", f"{BOOKINGS}/{made['id']}").json() == OK
    assert state() == before


def _reschedule(api: ApiClient, booking_id: str, hour: int, minute: int = 0):
    start = at(hour, minute)
    body = {"time": {"start": z(start), "end": z(start + timedelta(minutes=30))}}
    return api("POST", f"{BOOKINGS}/{booking_id}/reschedule", body)


def test_reschedule_keeps_the_attendees_when_they_are_all_free(
    client, gapi, hosts, django_capture_on_commit_callbacks
):
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy)
    attach_group(gapi, pid, "desk", hosts.bob, hosts.cat, required="one")
    # Cat was named, although choosing again would send Bob (no turns, lower id).
    made = book(gapi, pid, body_at(9, accountIds=[hosts.cat.pk]))
    assert made["accountIds"] == ids(hosts.amy, hosts.cat)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        moved = _reschedule(member_api(client, hosts.cat), made["id"], 10)
    assert moved.status_code == 200, moved.content
    got = moved.json()
    assert got["accountIds"] == made["accountIds"] and got["uid"] == made["uid"]
    assert got["start"] == z(at(10)) and got["sequence"] == 1
    events = Event.objects.filter(booking_id=int(made["id"]))
    assert sorted(e.calendar.account_id for e in events) == made["accountIds"]
    assert {e.start for e in events} == {at(10)}
    invite = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    raw = next(c for c, kind in invite.alternatives if kind.startswith("text/calendar"))
    raw = raw if isinstance(raw, str) else raw.decode()
    assert "METHOD:REQUEST" in raw and "SEQUENCE:1" in raw
    # Under one as well: Bob keeps it though Amy, attached since, would be chosen afresh.
    solo = new_profile(gapi, "solo", required="one")["id"]
    attach(gapi, solo, hosts.bob)
    theirs = book(gapi, solo, body_at(14))
    attach(gapi, solo, hosts.amy)
    moved = _reschedule(member_api(client, hosts.bob), theirs["id"], 15)
    assert moved.status_code == 200, moved.content
    assert moved.json()["accountIds"] == [hosts.bob.pk]
    assert event_hosts(theirs["id"]) == [hosts.bob.pk]


def test_reschedule_chooses_again_when_an_attendee_is_busy(client, gapi, hosts):
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy)
    attach_group(gapi, pid, "desk", hosts.bob, hosts.cat, required="one")
    made = book(gapi, pid, body_at(9))
    assert made["accountIds"] == ids(hosts.amy, hosts.bob)
    busy(hosts.bob, 10)
    moved = _reschedule(member_api(client, hosts.amy), made["id"], 10)
    assert moved.status_code == 200, moved.content
    got = moved.json()
    assert got["accountIds"] == ids(hosts.amy, hosts.cat)
    # Bob's event went away; Cat has it now; Bob no longer sees the booking.
    assert event_hosts(made["id"]) == ids(hosts.amy, hosts.cat)
    assert Event.objects.filter(calendar__account=hosts.bob, booking__isnull=False).count() == 0
    assert_error(member_api(client, hosts.bob)("GET", f"{BOOKINGS}/{made['id']}"), 404, "not_found")
    assert member_api(client, hosts.cat)("GET", f"{BOOKINGS}/{made['id']}").status_code == 200
    # Bob is free at 09:00 again.
    assert items(gapi, pid, window(9, 10) + "&required=one")[0]["accountIds"] == ids(
        hosts.amy, hosts.bob, hosts.cat
    )


def test_reschedule_under_one_moves_to_another_unit(client, gapi, hosts):
    pid = new_profile(gapi, required="one")["id"]
    attach(gapi, pid, hosts.amy, hosts.bob)
    made = book(gapi, pid, body_at(9))
    assert made["accountIds"] == [hosts.amy.pk]
    busy(hosts.amy, 11)
    moved = _reschedule(member_api(client, hosts.amy), made["id"], 11)
    assert moved.status_code == 200, moved.content
    assert moved.json()["accountIds"] == [hosts.bob.pk]
    assert event_hosts(made["id"]) == [hosts.bob.pk]
    booking = Booking.objects.get(pk=int(made["id"]))
    assert booking.account == hosts.bob and booking.unit_key == f"account:{hosts.bob.pk}"
    # Nobody free: 409, and nothing moves.
    busy(hosts.amy, 12)
    busy(hosts.bob, 12)
    before = state()
    answer = _reschedule(member_api(client, hosts.bob), made["id"], 12)
    assert_error(answer, 409, "slot_unavailable")
    assert state() == before
    assert Booking.objects.get(pk=int(made["id"])).start == at(11)


# --- dynamic availability ------------------------------------------------------------------


def test_dynamic_availability(gapi, hosts, rival):
    path = f"{GP}/dynamic/availability"
    both = new_profile(gapi, "both")["id"]  # all: Amy and Bob
    attach(gapi, both, hosts.amy, hosts.bob)
    solo = new_profile(gapi, "solo")["id"]
    attach(gapi, solo, hosts.cat)
    either = new_profile(gapi, "either", required="one")["id"]
    attach(gapi, either, hosts.amy, hosts.dan)
    empty = new_profile(gapi, "empty")["id"]
    theirs = new_profile(rival.api, "both")["id"]
    attach(rival.api, theirs, rival.olga)
    busy(hosts.amy, 9, minutes=60)
    busy(hosts.dan, 9, minutes=60)
    span = {"timeMin": z(at(9)), "timeMax": z(at(10))}

    def found(**extra) -> list[int]:
        answer = gapi("POST", path, {**span, **extra})
        assert answer.status_code == 200, answer.content
        return answer.json()["profileIds"]

    everything = [both, solo, either, empty, theirs, 99999]
    assert found(profileIds=everything) == [solo]
    assert found(profileIds=everything, required="one") == [both, solo]
    assert found(profileIds=everything, required="all") == [solo]
    # Names and ids together are their union; the answer is ascending; Rival's are ignored.
    assert found(profileIds=[solo], profileNames=["both", "nope"], required="one") == [both, solo]
    assert found(profileNames=["solo", "both"], required="one") == [both, solo]
    assert found(profileIds=[theirs]) == []
    assert found() == []
    # Only slots inside [timeMin, timeMax) count.
    busy(hosts.cat, 9, minutes=60)
    later = {"timeMin": z(at(10)), "timeMax": z(at(10, 29))}
    assert gapi("POST", path, {**later, "profileIds": [solo]}).json()["profileIds"] == []
    later["timeMax"] = z(at(10, 30))
    assert gapi("POST", path, {**later, "profileIds": [solo]}).json()["profileIds"] == [solo]
    # Bad input.
    assert_error(
        gapi("POST", path, {"timeMin": z(at(10)), "timeMax": z(at(9))}),
        400,
        "bad_request",
        "timeMax",
    )
    assert_error(gapi("POST", path, {"timeMax": z(at(9))}), 400, "bad_request", "timeMin")
    assert_error(gapi("POST", path, {**span, "required": "some"}), 400, "bad_request", "required")
    assert_error(gapi("POST", path, {**span, "profileIds": ["x"]}), 400, "bad_request")


# --- public endpoints and pages ------------------------------------------------------------


def test_public_endpoint_and_page_under_the_organizations_handle(client, anon, gapi, hosts):
    made = new_profile(gapi, "team", required="one")
    attach(gapi, made["id"], hosts.amy, hosts.bob)
    busy(hosts.amy, 9)
    path = "/v1/book/acme/team/meeting"
    got = anon("GET", f"{path}?{window(9, 10)}")
    assert got.status_code == 200, got.content
    assert got.json()["items"] == [
        {"start": z(at(9)), "end": z(at(9, 30))},
        {"start": z(at(9, 30)), "end": z(at(10))},
    ]
    booked = anon("POST", path, body_at(9))
    assert booked.status_code == 201, booked.content
    assert booked.json()["accountIds"] == [hosts.bob.pk]
    assert booked.json()["groupProfileId"] == made["id"]
    assert_error(
        anon("POST", path + "?reserveForMinutes=5", body_at(10)),
        400,
        "bad_request",
        "reserveForMinutes",
    )
    assert_error(anon("POST", path, body_at(9)), 409, "slot_unavailable")
    page = client.get("/acme/team/")
    assert page.status_code == 200
    assert "Team call" in page.content.decode()
    # Booking through the page: Amy's turn (Bob had the 09:00).
    posted = client.post(
        "/acme/team/",
        {"slot": z(at(9, 30)), "name": "Bea", "email": "bea@example.com", "var_topic": "Plans"},
    )
    assert posted.status_code == 302, posted.content.decode()[:2000]
    by_page = Booking.objects.get(email="bea@example.com")
    assert (by_page.start, by_page.attendee_ids()) == (at(9, 30), [hosts.amy.pk])
    assert event_hosts(by_page.pk) == [hosts.amy.pk]
    assert client.get("/acme/nope/").status_code == 404
    assert_error(anon("GET", "/v1/book/acme/nope/meeting"), 404, "not_found")
    # An inactive group profile is 404 in public.
    assert gapi("PATCH", f"{GP}/{made['id']}", {"active": False}).json() == OK
    assert_error(anon("GET", path), 404, "not_found")
    assert client.get("/acme/team/").status_code == 404
    # …and answers no items to its organization.
    assert items(gapi, made["id"], window(9, 17)) == []


def test_handles_are_one_namespace_for_accounts_and_organizations(org, account):
    with pytest.raises(InvalidInput) as caught:
        group_service.create_organization("ada", "Ada's team", "UTC")  # Ada's handle
    assert "handle" in caught.value.fields
    with pytest.raises(InvalidInput):
        group_service.create_organization("admin", "Admin", "UTC")  # a word of the site
    taken = Account(handle="acme", name="A", email="a@example.com", timezone="UTC")
    with pytest.raises(ValidationError) as refused:
        taken.full_clean()
    assert "handle" in refused.value.message_dict
    assert Organization.objects.filter(handle="ada").count() == 0


def test_ids_beyond_a_64_bit_integer_are_400_or_ignored_never_500(gapi, hosts):
    """No input yields a 500: SQLite's driver cannot even bind such a number."""
    pid = new_profile(gapi)["id"]
    attach(gapi, pid, hosts.amy)
    huge, before = 2**70, state()
    bodies = [
        (f"{GP}/{pid}/attachAccounts", {"accountIds": [hosts.bob.pk, huge]}, "accountIds[1]"),
        (f"{GP}/{pid}/detachAccounts", {"accountIds": [-huge]}, "accountIds[0]"),
        (
            f"{GP}/{pid}/attachGroups",
            {"groups": [{"extId": "g", "accountIds": [huge]}]},
            "groups[0].accountIds[0]",
        ),
        (
            f"{GP}/{pid}/detachGroups",
            {"groups": [{"extId": "g", "accountIds": [huge]}]},
            "groups[0].accountIds[0]",
        ),
        (f"{GP}/{pid}/meeting", body_at(9, accountIds=[huge]), "accountIds[0]"),
    ]
    for path, body, field in bodies:
        assert_error(gapi("POST", path, body), 400, "bad_request", field)
    assert state() == before
    span = {"timeMin": z(at(9)), "timeMax": z(at(10)), "profileIds": [huge, -huge, pid]}
    assert gapi("POST", f"{GP}/dynamic/availability", span).json() == {"profileIds": [pid]}
