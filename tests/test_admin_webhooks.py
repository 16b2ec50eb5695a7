"""Webhooks in admin (SPEC §9): every hook with its recent attempts, every message with its
attempts; a staff host sees only their own accounts' hooks (an organization's are for
superusers); changes go through the API's rules; ticking "Active" turns a hook on again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from scheduler.models import Organization, Webhook, WebhookAttempt, WebhookMessage
from scheduler.services import webhooks
from tests.factory import make_account

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
URL = "https://hooks.example.com/mine"


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:scheduler_{model._meta.model_name}_{view}", args=args)


@pytest.fixture(autouse=True)
def _setting(settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True  # example.com does not resolve offline
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(db):
    host = User.objects.create_user("host", password="pw-host-12345", is_staff=True)
    host.user_permissions.set(Permission.objects.filter(content_type__app_label="scheduler"))
    mine = make_account(handle="mine", owner=host)
    theirs = make_account(handle="theirs")
    org = Organization.objects.create(handle="acme", name="Acme")
    hooks = {
        "mine": webhooks.create(mine, url=URL, events=["booking.created"]),
        **{
            name: webhooks.create(
                owner, url=f"https://hooks.example.com/{name}", events=["booking.created"]
            )
            for name, owner in (("theirs", theirs), ("org", org))
        },
    }
    message = WebhookMessage.objects.create(
        webhook=hooks["mine"], msg_id="msg_first", event="booking.created", payload={"type": "x"}
    )
    WebhookAttempt.objects.create(message=message, at=NOW, status=503, error="HTTP 503 Busy")
    WebhookAttempt.objects.create(message=message, at=NOW + timedelta(seconds=5), status=200)
    return host, hooks, message


def test_a_host_sees_only_their_own_hooks_with_every_attempt(client, setup):
    host, hooks, message = setup
    client.force_login(host)
    listing = client.get(_url(Webhook, "changelist")).content.decode()
    assert URL in listing
    assert "/theirs" not in listing and "/org" not in listing
    for other in ("theirs", "org"):
        assert client.get(_url(Webhook, "change", hooks[other].pk)).status_code == 302
    page = client.get(_url(Webhook, "change", hooks["mine"].pk)).content.decode()
    assert "msg_first" in page and "HTTP 503 Busy" in page and "200" in page
    assert hooks["mine"].secret not in page
    detail = client.get(_url(WebhookMessage, "change", message.pk)).content.decode()
    assert "HTTP 503 Busy" in detail and "msg_first" in detail
    messages = client.get(_url(WebhookMessage, "changelist") + f"?webhook={hooks['mine'].pk}")
    assert messages.status_code == 200 and "msg_first" in messages.content.decode()
    assert client.get(_url(Webhook, "add")).status_code == 403


def test_a_superuser_sees_the_organization_s_hooks(admin_client, setup):
    _, hooks, _ = setup
    listing = admin_client.get(_url(Webhook, "changelist")).content.decode()
    assert "/org" in listing and "Acme" in listing


def test_ticking_active_turns_a_hook_on_again_and_bad_changes_are_refused(client, setup, settings):
    host, hooks, _ = setup
    hook = hooks["mine"]
    Webhook.objects.filter(pk=hook.pk).update(
        active=False, deactivated_at=NOW, deactivated_reason="the receiver answered 410 Gone"
    )
    client.force_login(host)
    path = _url(Webhook, "change", hook.pk)
    answer = client.post(path, {"url": URL, "events": ["booking.created"], "active": "on"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    hook.refresh_from_db()
    assert hook.active and hook.deactivated_at is None and hook.deactivated_reason == ""

    settings.ALLOW_PRIVATE_CALENDAR_URLS = False
    refused = client.post(path, {"url": "http://10.0.0.7/", "events": ["booking.created"]})
    assert refused.status_code == 200
    assert "private" in refused.content.decode()
    none = client.post(path, {"url": URL, "events": [], "active": "on"})
    assert none.status_code == 200
    hook.refresh_from_db()
    assert hook.url == URL and hook.events == ["booking.created"] and hook.active
