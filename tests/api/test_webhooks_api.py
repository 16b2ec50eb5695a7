"""The webhook endpoints (SPEC §9): an account's under /v1/book/account/webhooks with its token,
an organization's under /v1/book/group/webhooks with an app key; the secret shown once, PATCH
answering the hook, DELETE `{"status": "Ok"}`, every attempt listed, another owner's hook 404,
and bad input naming the field."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from scheduler.models import AppKey, Organization, Webhook, WebhookAttempt, WebhookMessage
from tests.api.helpers import NOW, ApiClient, assert_error
from tests.factory import make_account, make_token

HOOKS = "/v1/book/account/webhooks"
GROUP_HOOKS = "/v1/book/group/webhooks"
URL = "https://hooks.example.com/booking"
OK = {"status": "Ok"}


@pytest.fixture(autouse=True)
def _offline(settings):
    """hooks.example.com does not resolve offline; the private-address tests turn this off."""
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(handle="acme", name="Acme")


@pytest.fixture
def gapi(client, org) -> ApiClient:
    """Acme's app key, as HTTP Basic clientId:secret."""
    _, raw = AppKey.issue(org, "tests")
    api = ApiClient(client)
    api.headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw.encode()).decode()}
    return api


@pytest.fixture
def other(client, db) -> ApiClient:
    """Another host, Olga, with her own token."""
    return ApiClient(client, make_token(make_account(handle="olga")))


def create(api: ApiClient, path: str = HOOKS, **fields) -> dict:
    body = {"url": URL, "events": ["booking.created", "booking.cancelled"], **fields}
    made = api("POST", path, body)
    assert made.status_code == 201, made.content
    return made.json()


# --- the account's hooks -----------------------------------------------------------------------


def test_a_new_hook_answers_its_secret_once(api, account):
    made = create(api)
    assert made["secret"].startswith("whsec_")
    assert made["url"] == URL and made["active"] is True
    assert made["events"] == ["booking.created", "booking.cancelled"]
    assert made["createdAt"] == "2030-01-07T06:00:00Z"
    assert Webhook.objects.get().account == account

    listed = api("GET", HOOKS).json()
    assert listed["totalSize"] == 1 and listed["done"] is True
    shown = {k: v for k, v in made.items() if k != "secret"}
    assert listed["records"] == [shown]
    assert api("GET", f"{HOOKS}/{made['id']}").json() == shown


def test_hooks_are_listed_in_pages(api, account):
    ids = [create(api, url=f"{URL}/{n}")["id"] for n in range(3)]
    first = api("GET", f"{HOOKS}?limit=2").json()
    assert [r["id"] for r in first["records"]] == ids[:2]
    assert (first["offset"], first["totalSize"], first["done"]) == (0, 3, False)
    rest = api("GET", f"{HOOKS}?limit=2&offset=2").json()
    assert [r["id"] for r in rest["records"]] == ids[2:] and rest["done"] is True


def test_patch_answers_the_hook_and_changes_only_what_was_sent(api, account):
    hook = create(api)
    changed = api("PATCH", f"{HOOKS}/{hook['id']}", {"events": ["reservation.created"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["events"] == ["reservation.created"]
    assert changed.json()["url"] == URL and "secret" not in changed.json()
    moved = api("PATCH", f"{HOOKS}/{hook['id']}", {"url": URL + "/v2", "active": False}).json()
    assert (moved["url"], moved["active"]) == (URL + "/v2", False)
    assert moved["events"] == ["reservation.created"]


def test_turning_a_hook_on_again_clears_why_it_was_off(api, account):
    hook = create(api)
    Webhook.objects.filter(pk=hook["id"]).update(
        active=False, deactivated_at=NOW, deactivated_reason="the receiver answered 410 Gone"
    )
    off = api("GET", f"{HOOKS}/{hook['id']}").json()
    assert off["active"] is False and off["deactivatedAt"] == "2030-01-07T06:00:00Z"
    assert off["deactivatedReason"] == "the receiver answered 410 Gone"
    on = api("PATCH", f"{HOOKS}/{hook['id']}", {"active": True}).json()
    assert on["active"] is True
    assert "deactivatedAt" not in on and "deactivatedReason" not in on


def test_delete_answers_ok_and_the_hook_is_gone(api, account):
    hook = create(api)
    assert api("DELETE", f"{HOOKS}/{hook['id']}").json() == OK
    assert_error(api("GET", f"{HOOKS}/{hook['id']}"), 404, "not_found")
    assert not Webhook.objects.exists()


def test_another_account_s_hook_is_404_everywhere(api, account, other):
    hook = create(other)
    for method, path, body in (
        ("GET", f"{HOOKS}/{hook['id']}", None),
        ("PATCH", f"{HOOKS}/{hook['id']}", {"active": False}),
        ("DELETE", f"{HOOKS}/{hook['id']}", None),
        ("GET", f"{HOOKS}/{hook['id']}/deliveries", None),
    ):
        assert_error(api(method, path, body), 404, "not_found")
    assert api("GET", HOOKS).json()["totalSize"] == 0
    assert Webhook.objects.get().active


def test_the_hooks_need_a_token(anon, db):
    assert_error(anon("GET", HOOKS), 401, "unauthorized")
    made = anon("POST", HOOKS, {"url": URL, "events": ["booking.created"]})
    assert_error(made, 401, "unauthorized")


# --- deliveries ------------------------------------------------------------------------------


def test_every_attempt_is_listed_latest_first(api, account):
    hook = Webhook.objects.get(pk=create(api)["id"])
    first = WebhookMessage.objects.create(
        webhook=hook, msg_id="msg_one", event="booking.created", payload={}
    )
    second = WebhookMessage.objects.create(
        webhook=hook, msg_id="msg_two", event="booking.cancelled", payload={}
    )
    WebhookAttempt.objects.create(message=first, at=NOW, status=None, error="did not answer")
    WebhookAttempt.objects.create(message=first, at=NOW + timedelta(seconds=5), status=200)
    WebhookAttempt.objects.create(
        message=second, at=NOW + timedelta(minutes=1), status=500, error="HTTP 500"
    )
    page = api("GET", f"{HOOKS}/{hook.pk}/deliveries").json()
    assert (page["totalSize"], page["done"]) == (3, True)
    assert page["records"] == [
        {
            "at": "2030-01-07T06:01:00Z",
            "status": 500,
            "error": "HTTP 500",
            "messageId": "msg_two",
            "type": "booking.cancelled",
        },
        {
            "at": "2030-01-07T06:00:05Z",
            "status": 200,
            "error": "",
            "messageId": "msg_one",
            "type": "booking.created",
        },
        {
            "at": "2030-01-07T06:00:00Z",
            "error": "did not answer",
            "messageId": "msg_one",
            "type": "booking.created",
        },
    ]
    second_page = api("GET", f"{HOOKS}/{hook.pk}/deliveries?limit=1&offset=1").json()
    assert [r["at"] for r in second_page["records"]] == ["2030-01-07T06:00:05Z"]
    assert second_page["done"] is False


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": URL, "events": ["booking.made"]}, "events"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": "booking.created"}, "events"),
        ({"url": URL, "events": ["booking.created", "booking.created"]}, "events"),
        ({"url": URL}, "events"),
        ({"url": "ftp://hooks.example.com/x", "events": ["booking.created"]}, "url"),
        ({"url": "hooks.example.com/x", "events": ["booking.created"]}, "url"),
        ({"url": "https://", "events": ["booking.created"]}, "url"),
        ({"url": 42, "events": ["booking.created"]}, "url"),
        ({"events": ["booking.created"]}, "url"),
        ({"url": URL, "events": ["booking.created"], "active": "yes"}, "active"),
        ({"url": URL, "events": ["booking.created"], "secret": "whsec_x"}, "secret"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, account, body, field):
    assert_error(api("POST", HOOKS, body), 400, "bad_request", field)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_a_private_address_is_400_naming_url(api, account, settings, url):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = False
    error = assert_error(
        api("POST", HOOKS, {"url": url, "events": ["booking.created"]}), 400, "bad_request", "url"
    )
    assert set(error["fields"]) == {"url"}


def test_a_bad_patch_is_400_and_changes_nothing(api, account, settings):
    hook = create(api)
    path = f"{HOOKS}/{hook['id']}"
    assert_error(api("PATCH", path, {"events": ["nope"]}), 400, "bad_request", "events")
    assert_error(api("PATCH", path, {"url": None}), 400, "bad_request", "url")
    assert_error(api("PATCH", path, {"active": None}), 400, "bad_request", "active")
    settings.ALLOW_PRIVATE_CALENDAR_URLS = False
    assert_error(
        api("PATCH", path, {"url": "http://10.0.0.7/", "active": False}), 400, "bad_request", "url"
    )
    assert api("GET", path).json() == {k: v for k, v in hook.items() if k != "secret"}


# --- an organization's hooks ------------------------------------------------------------------


def test_an_organization_has_its_own_hooks_with_its_app_key(gapi, api, org, account):
    made = create(gapi, GROUP_HOOKS, events=["booking.created"])
    assert made["secret"].startswith("whsec_")
    assert Webhook.objects.get().organization == org
    assert gapi("GET", GROUP_HOOKS).json()["totalSize"] == 1
    assert gapi("PATCH", f"{GROUP_HOOKS}/{made['id']}", {"active": False}).json()["active"] is False
    assert gapi("GET", f"{GROUP_HOOKS}/{made['id']}/deliveries").json()["totalSize"] == 0
    # The account API does not see the organization's hook, nor the other way round.
    assert api("GET", HOOKS).json()["totalSize"] == 0
    assert_error(api("GET", f"{HOOKS}/{made['id']}"), 404, "not_found")
    mine = create(api)
    assert_error(gapi("GET", f"{GROUP_HOOKS}/{mine['id']}"), 404, "not_found")
    assert gapi("DELETE", f"{GROUP_HOOKS}/{made['id']}").json() == OK
    assert list(Webhook.objects.values_list("pk", flat=True)) == [mine["id"]]


def test_another_organization_s_hook_is_404(gapi, client, db):
    rival = Organization.objects.create(handle="rival", name="Rival")
    _, raw = AppKey.issue(rival)
    rival_api = ApiClient(client)
    rival_api.headers = {"HTTP_AUTHORIZATION": "Bearer " + raw.split(":", 1)[1]}
    hook = create(rival_api, GROUP_HOOKS)
    assert_error(gapi("GET", f"{GROUP_HOOKS}/{hook['id']}"), 404, "not_found")
    assert_error(gapi("DELETE", f"{GROUP_HOOKS}/{hook['id']}"), 404, "not_found")
    assert_error(gapi("POST", GROUP_HOOKS, {"url": URL, "events": ["x"]}), 400, "bad_request")


def test_the_group_hooks_need_an_app_key(api, account):
    assert_error(api("GET", GROUP_HOOKS), 401, "unauthorized")
