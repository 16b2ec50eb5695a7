"""Management commands of SPEC §8: createorg, createappkey, and createaccount --org."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.management import CommandError, call_command

from scheduler.models import Account, ApiToken, AppKey, Organization, hash_token
from scheduler.services import groups
from tests.factory import make_account

pytestmark = pytest.mark.django_db

ACCOUNTS = "/v1/book/group/accounts"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


# --- createorg -----------------------------------------------------------------------------


def test_createorg_makes_an_organization():
    out = run("createorg", "acme", "--name", "Acme Inc", "--timezone", "Europe/Paris")
    org = Organization.objects.get(handle="acme")
    assert (org.name, org.timezone) == ("Acme Inc", "Europe/Paris")
    assert "acme" in out and f"id: {org.pk}" in out.splitlines()
    run("createorg", "plain")
    plain = Organization.objects.get(handle="plain")
    assert (plain.name, plain.timezone) == ("plain", "UTC")  # the defaults


@pytest.mark.parametrize(
    ("handle", "zone", "expected"),
    [
        ("ada", "UTC", r"HANDLE 'ada'.*taken"),  # an account's handle: one namespace
        ("acme", "UTC", r"HANDLE 'acme'"),  # another organization's
        ("admin", "UTC", r"HANDLE 'admin'.*reserved"),
        ("v1", "UTC", r"HANDLE 'v1'.*reserved"),
        ("not a slug", "UTC", r"HANDLE 'not a slug'"),
        ("fresh", "Mars/Olympus", r"--timezone 'Mars/Olympus'.*IANA"),
    ],
)
def test_createorg_refuses_bad_input_and_writes_nothing(handle, zone, expected):
    make_account(handle="ada")
    Organization.objects.create(handle="acme", name="Acme")
    with pytest.raises(CommandError, match=expected):
        run("createorg", handle, "--timezone", zone)
    assert Organization.objects.count() == 1


# --- createappkey --------------------------------------------------------------------------


def test_createappkey_prints_a_key_that_works_as_basic_and_bearer(client):
    org = groups.create_organization("acme", "Acme", "UTC")
    make_account(handle="amy", organization=org)
    raw = run("createappkey", "acme").strip()
    assert len(raw.splitlines()) == 1
    client_id, secret = raw.split(":", 1)
    key = AppKey.objects.get(organization=org)
    assert key.client_id == client_id
    # Only a hash of the secret is stored.
    assert key.secret_hash == hash_token(secret)
    stored = [
        str(v) for v in AppKey.objects.values_list(*[f.attname for f in AppKey._meta.fields]).get()
    ]
    assert not any(secret in value for value in stored)

    for header in (basic(raw), f"Bearer {secret}"):
        answer = client.get(ACCOUNTS, HTTP_AUTHORIZATION=header)
        assert answer.status_code == 200, answer.content
        assert [r["handle"] for r in answer.json()["records"]] == ["amy"]
    for header in (f"Bearer {raw}", basic(f"{client_id}:nope"), basic(f"app_nobody:{secret}")):
        assert client.get(ACCOUNTS, HTTP_AUTHORIZATION=header).status_code == 401


def test_a_revoked_key_is_401_and_other_keys_still_work(client):
    org = groups.create_organization("acme", "Acme", "UTC")
    first = run("createappkey", "acme").strip()
    second = run("createappkey", "acme", "--key-name", "ci").strip()
    assert first != second and AppKey.objects.filter(organization=org).count() == 2
    key = AppKey.objects.get(client_id=first.split(":", 1)[0])
    groups.revoke_app_key(key)
    for header in (basic(first), "Bearer " + first.split(":", 1)[1]):
        answer = client.get(ACCOUNTS, HTTP_AUTHORIZATION=header)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
    assert client.get(ACCOUNTS, HTTP_AUTHORIZATION=basic(second)).status_code == 200


def test_a_key_belongs_to_its_organization(client):
    groups.create_organization("acme", "Acme", "UTC")
    rival = groups.create_organization("rival", "Rival", "UTC")
    make_account(handle="olga", organization=rival)
    raw = run("createappkey", "acme").strip()
    assert client.get(ACCOUNTS, HTTP_AUTHORIZATION=basic(raw)).json()["records"] == []


def test_createappkey_for_an_unknown_organization_is_an_error():
    make_account(handle="ada")  # an account's handle is not an organization
    for handle in ("nope", "ada"):
        with pytest.raises(CommandError, match=rf"HANDLE '{handle}'"):
            run("createappkey", handle)
    assert AppKey.objects.count() == 0


# --- createaccount --org -------------------------------------------------------------------


def test_createaccount_with_org_prints_the_id_before_the_token():
    org = groups.create_organization("acme", "Acme", "UTC")
    out = run("createaccount", "amy@example.com", "--handle", "amy", "--org", "acme")
    account = Account.objects.get(handle="amy")
    assert account.organization == org
    lines = out.strip().splitlines()
    token = lines[-1]
    assert ApiToken.authenticate(token).account == account
    id_lines = [i for i, line in enumerate(lines) if line.startswith("id: ")]
    assert len(id_lines) == 1 and lines[id_lines[0]] == f"id: {account.pk}"
    assert id_lines[0] < len(lines) - 1  # before the token


def test_createaccount_without_org_belongs_to_none_and_still_prints_its_id():
    out = run("createaccount", "bo@example.com", "--handle", "bo")
    account = Account.objects.get(handle="bo")
    assert account.organization is None
    assert f"id: {account.pk}" in out.splitlines()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--handle", "amy", "--org", "nope"], r"--org 'nope'"),
        (["--handle", "acme", "--org", "acme"], r"--handle 'acme'.*taken"),  # an org's handle
    ],
)
def test_createaccount_refuses_an_unknown_org_or_an_org_handle(args, expected):
    groups.create_organization("acme", "Acme", "UTC")
    with pytest.raises(CommandError, match=expected):
        run("createaccount", "x@example.com", *args)
    assert Account.objects.count() == 0 and ApiToken.objects.count() == 0


def test_the_printed_member_is_listed_by_the_group_api(client):
    run("createorg", "acme")
    raw = run("createappkey", "acme").strip()
    out = run(
        "createaccount", "amy@example.com", "--handle", "amy", "--name", "Amy", "--org", "acme"
    )
    member_id = int(next(line for line in out.splitlines() if line.startswith("id: "))[4:])
    records = client.get(ACCOUNTS, HTTP_AUTHORIZATION=basic(raw)).json()["records"]
    assert records == [
        {
            "id": member_id,
            "handle": "amy",
            "name": "Amy",
            "email": "amy@example.com",
            "timezone": "UTC",
        }
    ]
