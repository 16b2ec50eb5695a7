"""Teams in admin (SPEC §8): organizations and their members, app keys shown once, group
profiles with their hosts (saved through the group service, bad choices named beside the
field), the preview of the next free times with who would attend, and group bookings as a
host who attends one sees and cancels them."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from scheduler.models import (
    Account,
    AppKey,
    Attendee,
    Booking,
    Organization,
    Profile,
    Unit,
    UnitMember,
)
from scheduler.services import bookings, groups, profiles
from scheduler.services.groups import GroupSpec
from tests.factory import make_account, make_event, make_profile

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday; the team works 09:00–17:00 UTC
APP_KEY_MESSAGE = re.compile(r"New app key for @acme \(clientId:secret\): (app_\w+:sk_[\w-]+)")


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:scheduler_{model._meta.model_name}_{view}", args=args)


class Team:
    """An organization of three: `ann` (the lowest id, so the organizer of an `all` booking)
    belongs to another staff user, `bob` to the staff user `host`; `zed` is no member."""

    def __init__(self) -> None:
        self.host = User.objects.create_user("host", password="pw-host-12345", is_staff=True)
        self.host.user_permissions.set(
            Permission.objects.filter(content_type__app_label="scheduler")
        )
        other = User.objects.create_user("other", password="pw-other-12345", is_staff=True)
        self.org = groups.create_organization("acme", "Acme", "UTC")
        self.ann = make_account(handle="ann", name="Ann", owner=other, organization=self.org)
        self.bob = make_account(handle="bob", name="Bob", owner=self.host, organization=self.org)
        self.cat = make_account(handle="cat", name="Cat", organization=self.org)
        self.zed = make_account(handle="zed", name="Zed")

    def profile(self, name: str = "team-call", required: str = "all", **changes) -> Profile:
        changes = {"name": name, "required": required, "startAfterMinutes": 0, **changes}
        return profiles.create(self.org, changes)


@pytest.fixture
def team() -> Team:
    return Team()


@pytest.fixture
def host_client(client, team):
    client.force_login(team.host)
    return client


def _errors(page: str) -> str:
    """The text of every error list on an admin page."""
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S))


def _field_errors(page: str, field: str) -> str:
    """The errors shown beside one field (`units-0-members` for a group's row)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


# --- organizations and membership ------------------------------------------------------------


def test_organization_pages_render_and_list_members_and_group_profiles(admin_client, team):
    profile = team.profile()
    assert admin_client.get(_url(Organization, "changelist")).status_code == 200
    assert admin_client.get(_url(Organization, "add")).status_code == 200
    page = admin_client.get(_url(Organization, "change", team.org.pk)).content.decode()
    assert "Ann (@ann)" in page and "Bob (@bob)" in page and "@zed" not in page
    assert _url(Profile, "change", profile.pk) in page and "team-call" in page
    assert f"{_url(Profile, 'add')}?organization={team.org.pk}" in page
    assert f"{_url(AppKey, 'add')}?organization={team.org.pk}" in page


def test_organization_added_in_admin_shares_the_handle_namespace_with_accounts(admin_client, team):
    taken = {"handle": "ann", "name": "Clash", "timezone": "UTC", **_no_keys()}
    page = admin_client.post(_url(Organization, "add"), taken).content.decode()
    assert "&#x27;ann&#x27; is already taken" in _field_errors(page, "handle")
    assert not Organization.objects.filter(name="Clash").exists()
    fresh = {"handle": "globex", "name": "Globex", "timezone": "Europe/Paris", **_no_keys()}
    assert admin_client.post(_url(Organization, "add"), fresh).status_code == 302
    assert Organization.objects.get(handle="globex").timezone == "Europe/Paris"


def _no_keys() -> dict:
    """The (read-only) app keys inline's management form."""
    return {
        "app_keys-TOTAL_FORMS": "0",
        "app_keys-INITIAL_FORMS": "0",
        "app_keys-MIN_NUM_FORMS": "0",
        "app_keys-MAX_NUM_FORMS": "1000",
    }


def _account_post(account: Account, **changes) -> dict:
    data = {
        "handle": account.handle,
        "name": account.name,
        "email": account.email,
        "timezone": account.timezone,
        "organization": account.organization_id or "",
        "owner": account.owner_id or "",
        "calendars-TOTAL_FORMS": "0",
        "calendars-INITIAL_FORMS": "0",
        "tokens-TOTAL_FORMS": "0",
        "tokens-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


def test_an_account_joins_in_admin_and_leaving_takes_it_off_the_group_profiles(admin_client, team):
    url = _url(Account, "change", team.zed.pk)
    assert admin_client.post(url, _account_post(team.zed, organization=team.org.pk)).status_code
    team.zed.refresh_from_db()
    assert team.zed.organization == team.org
    profile = team.profile()
    groups.attach_accounts(profile, [team.zed.pk])
    groups.attach_groups(profile, [GroupSpec("pair", [team.ann.pk, team.bob.pk])])
    # Leaving goes through groups.join: off every unit of the organization's profiles.
    assert admin_client.post(url, _account_post(team.zed, organization="")).status_code == 302
    team.zed.refresh_from_db()
    assert team.zed.organization is None
    assert not UnitMember.objects.filter(account=team.zed).exists()
    assert groups.attached_accounts(profile) == []
    assert groups.attached_groups(profile)[0]["accountIds"] == [team.ann.pk, team.bob.pk]
    listing = admin_client.get(_url(Account, "changelist")).content.decode()
    assert "Acme (@acme)" in listing


# --- app keys --------------------------------------------------------------------------------


def _basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


def test_app_key_added_in_admin_is_shown_once_works_and_stops_when_revoked(
    admin_client, client, team
):
    team.profile()
    response = admin_client.post(
        _url(AppKey, "add"), {"organization": team.org.pk, "name": "crm"}, follow=True
    )
    assert response.status_code == 200
    raw = APP_KEY_MESSAGE.search(response.content.decode()).group(1)
    client_id = raw.split(":")[0]
    key = AppKey.objects.get(client_id=client_id)
    assert key.name == "crm" and key.organization == team.org and key.revoked_at is None
    # Only the secret's hash is stored, and neither the secret nor its hash is shown again.
    for page in (
        admin_client.get(_url(AppKey, "change", key.pk)).content.decode(),
        admin_client.get(_url(AppKey, "changelist")).content.decode(),
        admin_client.get(_url(Organization, "change", team.org.pk)).content.decode(),
    ):
        assert client_id in page
        assert raw not in page and raw.split(":")[1] not in page and key.secret_hash not in page
    answer = client.get("/v1/book/group/profiles", HTTP_AUTHORIZATION=_basic(raw))
    assert answer.status_code == 200
    assert [p["name"] for p in answer.json()["records"]] == ["team-call"]

    revoked = admin_client.post(
        _url(AppKey, "changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    assert "Revoked 1 app key(s)." in revoked.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert client.get("/v1/book/group/profiles", HTTP_AUTHORIZATION=_basic(raw)).status_code == 401


# --- group profiles and their hosts ----------------------------------------------------------


def _profile_post(team: Team, *, attached=(), rows=(), initial: int = 0, **changes) -> dict:
    """A group profile's form: its fields, the attached accounts, and the groups' rows
    `(unit id or "", extId, required, [accounts], delete)`."""
    data = {
        "organization": team.org.pk,
        "name": "team-call",
        "required": "all",
        "client_org_id": "",
        "active": "on",
        "duration_minutes": 30,
        "availability_step": 30,
        "buffer_between_minutes": 0,
        "start_after_minutes": 0,
        "time_available_for": "P30D",
        "attached_accounts": [a.pk for a in attached],
        "units-TOTAL_FORMS": str(len(rows)),
        "units-INITIAL_FORMS": str(initial),
        "units-MIN_NUM_FORMS": "0",
        "units-MAX_NUM_FORMS": "1000",
    }
    for i, (unit_id, ext_id, required, members, delete) in enumerate(rows):
        data[f"units-{i}-id"] = unit_id
        data[f"units-{i}-ext_id"] = ext_id
        data[f"units-{i}-required"] = required
        data[f"units-{i}-members"] = [a.pk for a in members]
        if delete:
            data[f"units-{i}-DELETE"] = "on"
    return {**data, **changes}


def test_add_group_profile_page_offers_the_organizations_members(admin_client, team):
    listing = admin_client.get(_url(Profile, "changelist")).content.decode()
    assert f"{_url(Profile, 'add')}?organization=" in listing  # the "Add group profile" button
    page = admin_client.get(_url(Profile, "add"), {"organization": team.org.pk}).content.decode()
    assert "Add group profile" in page
    assert 'name="attached_accounts"' in page and 'name="units-0-ext_id"' in page
    assert "Bob (@bob)" in page and "Zed (@zed)" not in page
    personal = admin_client.get(_url(Profile, "add")).content.decode()
    assert 'name="attached_accounts"' not in personal and 'name="account"' in personal


def test_group_profile_added_in_admin_with_attached_accounts_and_groups(admin_client, team):
    data = _profile_post(
        team,
        required="one",
        attached=[team.ann],
        rows=[("", "sales", "one", [team.bob, team.cat], False)],
    )
    response = admin_client.post(f"{_url(Profile, 'add')}?organization={team.org.pk}", data)
    assert response.status_code == 302, _errors(response.content.decode())
    profile = Profile.objects.get(organization=team.org, name="team-call")
    assert profile.account is None and profile.required == "one"
    assert groups.attached_accounts(profile) == [team.ann.pk]
    assert groups.attached_groups(profile) == [
        {"extId": "sales", "accountIds": [team.bob.pk, team.cat.pk], "required": "one"}
    ]
    page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    assert "Acme (@acme)" in page and 'value="sales"' in page
    listing = admin_client.get(_url(Profile, "changelist")).content.decode()
    assert "Acme (@acme) — team" in listing


def test_add_group_profile_refuses_an_outsider_in_a_group(admin_client, team):
    data = _profile_post(team, rows=[("", "sales", "all", [team.ann, team.zed], False)])
    response = admin_client.post(f"{_url(Profile, 'add')}?organization={team.org.pk}", data)
    assert response.status_code == 200
    assert "@zed is not a member of @acme" in _field_errors(
        response.content.decode(), "units-0-members"
    )
    assert not Profile.objects.filter(organization=team.org).exists()


def test_group_profile_hosts_change_and_move_between_units_in_one_save(admin_client, team):
    profile = team.profile()
    groups.attach_accounts(profile, [team.ann.pk])
    groups.attach_groups(profile, [GroupSpec("sales", [team.bob.pk, team.cat.pk])])
    sales = Unit.objects.get(profile=profile, ext_id="sales")
    # Ann goes into sales and Bob out of it to be attached; a new group "lead" takes Cat.
    data = _profile_post(
        team,
        attached=[team.bob],
        rows=[
            (sales.pk, "sales", "all", [team.ann], False),
            ("", "lead", "one", [team.cat], False),
        ],
        initial=1,
    )
    response = admin_client.post(_url(Profile, "change", profile.pk), data)
    assert response.status_code == 302, _errors(response.content.decode())
    assert groups.attached_accounts(profile) == [team.bob.pk]
    assert groups.attached_groups(profile) == [
        {"extId": "sales", "accountIds": [team.ann.pk], "required": "all"},
        {"extId": "lead", "accountIds": [team.cat.pk], "required": "one"},
    ]
    assert Unit.objects.get(profile=profile, ext_id="sales").pk == sales.pk  # kept its place
    # Deleting a group's row detaches it.
    data = _profile_post(
        team,
        attached=[team.bob],
        rows=[
            (sales.pk, "sales", "all", [team.ann], True),
            (Unit.objects.get(ext_id="lead").pk, "lead", "one", [team.cat], False),
        ],
        initial=2,
    )
    assert admin_client.post(_url(Profile, "change", profile.pk), data).status_code == 302
    assert [g["extId"] for g in groups.attached_groups(profile)] == ["lead"]


@pytest.mark.parametrize(
    ("attached", "rows", "field", "message"),
    [
        ("zed", [], "attached_accounts", "@zed is not a member of @acme"),
        ("", [("sales", "all", "zed")], "units-0-members", "@zed is not a member of @acme"),
        (
            "ann",
            [("sales", "all", "ann bob")],
            "units-0-members",
            "@ann is an attached account too: an account may be one unit of a profile only",
        ),
        (
            "",
            [("sales", "all", "ann"), ("ops", "one", "bob ann")],
            "units-1-members",
            "@ann is in group &#x27;sales&#x27; too",
        ),
        ("", [("sales", "all", "")], "units-0-members", "A group needs at least one account."),
        ("", [("", "all", "ann")], "units-0-ext_id", "This field is required."),
        (
            "",
            [("sales", "all", "ann"), ("sales", "all", "bob")],
            "units-1-ext_id",
            "&#x27;sales&#x27; is another group&#x27;s extId too",
        ),
    ],
    ids=[
        "outsider-attached",
        "outsider-in-group",
        "attached-and-in-group",
        "in-two-groups",
        "empty-group",
        "no-ext-id",
        "ext-id-twice",
    ],
)
def test_bad_hosts_are_form_errors_beside_the_field_and_nothing_is_saved(
    admin_client, team, attached, rows, field, message
):
    profile = team.profile()
    groups.attach_accounts(profile, [team.cat.pk])
    accounts = {a.handle: a for a in (team.ann, team.bob, team.cat, team.zed)}
    data = _profile_post(
        team,
        attached=[accounts[h] for h in attached.split()],
        rows=[("", e, r, [accounts[h] for h in m.split()], False) for e, r, m in rows],
    )
    response = admin_client.post(_url(Profile, "change", profile.pk), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in _field_errors(page, field), _errors(page)
    assert groups.attached_accounts(profile) == [team.cat.pk]
    assert groups.attached_groups(profile) == []


def test_group_profile_name_taken_in_the_organization_is_a_form_error(admin_client, team):
    team.profile()
    page = admin_client.post(
        f"{_url(Profile, 'add')}?organization={team.org.pk}", _profile_post(team)
    ).content.decode()
    assert "@acme already has a profile named &#x27;team-call&#x27;" in _field_errors(page, "name")
    assert Profile.objects.filter(organization=team.org).count() == 1


def test_a_personal_profile_needs_its_account(admin_client, team):
    data = _profile_post(team, name="solo")
    del data["organization"]
    page = admin_client.post(_url(Profile, "add"), data).content.decode()
    assert "This field is required." in _field_errors(page, "account")
    assert not Profile.objects.filter(name="solo").exists()


# --- the preview -----------------------------------------------------------------------------


def _preview_rows(page: str) -> list[list[str]]:
    table = page.split('class="group-preview"')[1].split("</table>")[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    ]


def test_group_profile_page_previews_the_next_ten_times_with_who_would_attend(admin_client, team):
    profile = team.profile(required="one")
    groups.attach_accounts(profile, [team.ann.pk, team.bob.pk])
    # Ann is busy 09:00–10:00, Bob 09:30–10:30.
    make_event(team.ann, NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    make_event(team.bob, NOW + timedelta(hours=1, minutes=30), NOW + timedelta(hours=2.5))
    with time_machine.travel(NOW, tick=False):
        page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    assert "with required=one" in page
    rows = _preview_rows(page)
    assert len(rows) == 10
    assert rows[0] == ["Mon 2026-03-02 09:00 – 09:30", "Bob (@bob)", "—", "Bob (@bob)"]
    # 09:30–10:00 nobody is free, so no slot; at 10:00 only Ann is.
    assert rows[1] == ["Mon 2026-03-02 10:00 – 10:30", "Ann (@ann)", "—", "Ann (@ann)"]
    # Both are free: round robin starts with the attached account of the lowest id.
    assert rows[2] == ["Mon 2026-03-02 10:30 – 11:00", "Ann (@ann), Bob (@bob)", "—", "Ann (@ann)"]


def test_group_preview_names_the_free_groups_and_whoever_all_takes(admin_client, team):
    profile = team.profile(required="all")
    groups.attach_accounts(profile, [team.ann.pk])
    groups.attach_groups(profile, [GroupSpec("sales", [team.bob.pk, team.cat.pk], "one")])
    make_event(team.bob, NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    with time_machine.travel(NOW, tick=False):
        page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    rows = _preview_rows(page)
    assert rows[0] == [
        "Mon 2026-03-02 09:00 – 09:30",
        "Ann (@ann), Cat (@cat)",
        "sales",
        "Ann (@ann), Cat (@cat)",
    ]
    # Both of sales are free at 10:00: the one with fewer bookings goes, ties to the lower id.
    assert rows[2][1:] == ["Ann (@ann), Bob (@bob), Cat (@cat)", "sales", "Ann (@ann), Bob (@bob)"]


def test_group_preview_without_hosts_says_so(admin_client, team):
    profile = team.profile()
    page = admin_client.get(_url(Profile, "change", profile.pk)).content.decode()
    assert "No hosts yet" in page


# --- group bookings as a host sees them ------------------------------------------------------


def _group_booking(team: Team) -> Booking:
    profile = team.profile(required="all")
    groups.attach_accounts(profile, [team.ann.pk, team.bob.pk])
    with time_machine.travel(NOW, tick=False):
        start = NOW + timedelta(hours=2)
        return bookings.book(
            profile,
            start=start,
            end=start + timedelta(minutes=30),
            name="Ivy",
            email="ivy@example.com",
        )


def test_staff_host_sees_a_group_booking_they_attend_with_its_hosts(host_client, team):
    booking = _group_booking(team)
    assert booking.account == team.ann  # Bob attends but is not the organizer
    assert booking.attendee_ids() == [team.ann.pk, team.bob.pk]
    listing = host_client.get(_url(Booking, "changelist")).content.decode()
    assert "ivy@example.com" in listing and "@ann, @bob" in listing
    page = host_client.get(_url(Booking, "change", booking.pk)).content.decode()
    assert "Ann (@ann) (organizer), Bob (@bob)" in page and "required=all" in page
    # A group booking that chose somebody else is not theirs to see.
    solo = team.profile(name="ann-only")
    groups.attach_accounts(solo, [team.ann.pk])
    with time_machine.travel(NOW, tick=False):
        start = NOW + timedelta(hours=4)
        other = bookings.book(
            solo, start=start, end=start + timedelta(minutes=30), email="joe@example.com"
        )
    assert "joe@example.com" not in host_client.get(_url(Booking, "changelist")).content.decode()
    assert host_client.get(_url(Booking, "change", other.pk)).status_code == 302


def test_staff_host_cancels_a_group_booking_for_everyone(host_client, team):
    booking = _group_booking(team)
    action = {"action": "cancel_bookings", "_selected_action": [booking.pk]}
    asked = host_client.post(_url(Booking, "changelist"), action).content.decode()
    assert "ivy@example.com" in asked and 'name="confirm" value="yes"' in asked
    response = host_client.post(
        _url(Booking, "changelist"), {**action, "confirm": "yes"}, follow=True
    )
    assert "Cancelled 1 booking" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.cancelled_at is not None
    statuses = set(Attendee.objects.filter(booking=booking).values_list("status", flat=True))
    assert statuses == {Booking.Status.CANCELLED}


def test_staff_host_has_no_say_in_organizations_app_keys_or_group_profiles(host_client, team):
    profile = team.profile()
    key, _ = groups.issue_app_key(team.org, "crm")
    assert host_client.get(_url(Organization, "changelist")).status_code == 403
    assert host_client.get(_url(Organization, "change", team.org.pk)).status_code == 403
    assert host_client.get(_url(AppKey, "changelist")).status_code == 403
    assert host_client.get(_url(AppKey, "change", key.pk)).status_code == 403
    assert host_client.get(_url(Profile, "change", profile.pk)).status_code == 302
    assert "team-call" not in host_client.get(_url(Profile, "changelist")).content.decode()
    # "?organization=" means nothing to a host: the personal form, their accounts only.
    page = host_client.get(_url(Profile, "add"), {"organization": team.org.pk}).content.decode()
    assert 'name="attached_accounts"' not in page and 'name="organization"' not in page
    # Nor may a host put their account in a team.
    mine = host_client.get(_url(Account, "change", team.bob.pk)).content.decode()
    assert 'name="organization"' not in mine and "Acme (@acme)" in mine
    index = host_client.get(reverse("admin:index")).content.decode()
    assert "App keys" not in index and "Organizations" not in index


def test_staff_host_booking_list_still_has_their_personal_bookings(host_client, team):
    profile = make_profile(team.bob, name="bob-call")
    with time_machine.travel(NOW, tick=False):
        start = NOW + timedelta(hours=3)
        bookings.book(profile, start=start, end=start + timedelta(minutes=30), email="p@x.org")
    listing = host_client.get(_url(Booking, "changelist")).content.decode()
    assert "p@x.org" in listing and "@bob" in listing


# --- a browser tour, with screenshots --------------------------------------------------------


@pytest.fixture
def team_tour(transactional_db):
    User.objects.create_superuser("boss", "boss@example.com", "pw-boss-12345")
    org = groups.create_organization("acme", "Acme", "UTC")
    for handle in ("ann", "bob", "cat"):
        make_account(handle=handle, name=handle.title(), organization=org)
    return org


def test_teams_tour_in_a_browser(live_server, team_tour, settings):
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Shots

    settings.SITE_URL = live_server.url
    shots = Shots("admin_groups")
    org = team_tour
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "boss")
            page.fill("#id_password", "pw-boss-12345")
            page.click("input[type=submit]")
            page.wait_for_selector("#site-name")

            page.goto(live_server.url + _url(Organization, "change", org.pk))
            expect(page.get_by_role("link", name="Ann (@ann)")).to_be_visible()
            shots(page, "organization")
            page.get_by_role("link", name="Issue an app key").click()
            page.fill("#id_name", "crm")
            page.click("input[name=_save]")
            expect(page.locator(".messagelist")).to_contain_text("New app key for @acme")
            raw = APP_KEY_MESSAGE.search(page.locator(".messagelist").inner_text()).group(1)
            shots(page, "app-key-issued")

            page.goto(live_server.url + _url(Organization, "change", org.pk))
            page.get_by_role("link", name="Add one").click()
            expect(page.get_by_role("heading", name="Add group profile")).to_be_visible()
            page.fill("#id_name", "team-call")
            page.select_option("#id_required", "one")
            page.select_option("#id_attached_accounts_from", label="Ann (@ann)")
            page.click("#id_attached_accounts_add")
            page.fill("#id_units-0-ext_id", "sales")
            page.select_option("#id_units-0-members", label=["Bob (@bob)", "Cat (@cat)"])
            shots(page, "group-profile-add")
            page.click("input[name=_continue]")
            expect(page.locator(".messagelist")).to_contain_text("was added successfully")
            expect(page.locator("table.group-preview tbody tr")).to_have_count(10)
            expect(page.locator("table.group-preview tbody tr").first).to_contain_text(
                "Ann (@ann), Bob (@bob), Cat (@cat)"
            )
            page.locator(".field-next_slots").scroll_into_view_if_needed()
            shots(page, "group-profile-preview")
        finally:
            browser.close()
    profile = Profile.objects.get(organization=org, name="team-call")
    assert [Account.objects.get(pk=a).handle for a in groups.attached_accounts(profile)] == ["ann"]
    assert groups.attached_groups(profile)[0]["extId"] == "sales"
    assert AppKey.objects.get(client_id=raw.split(":")[0]).name == "crm"
