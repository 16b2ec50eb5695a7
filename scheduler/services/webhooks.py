"""Webhooks (SPEC §9): the hooks of accounts and organizations, and the messages each booking
event sends them. The API and admin change hooks through here; the booking service calls
`emit` at every change, inside the booking's transaction. Sending is the task in
`scheduler/webhooks.py`, after commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Q
from django.utils import timezone

from scheduler import retries
from scheduler.calendars.ssrf import validate_calendar_url
from scheduler.models import (
    Account,
    Attendee,
    Booking,
    Organization,
    Profile,
    Webhook,
    WebhookMessage,
)
from scheduler.rules.availability import instant_text
from scheduler.services.errors import InvalidInput
from scheduler.services.representation import booking_json
from scheduler.webhooks import deliver_webhook

MAX_URL_CHARS = 2000
EVENT_NAMES = ", ".join(Webhook.EVENTS)


# --- the rules of a hook -------------------------------------------------------------------


def events_errors(events: Any) -> list[str]:
    """Why `events` is not a non-empty list of distinct known event names (empty when it is)."""
    if not isinstance(events, list) or not events:
        return [f"must be a non-empty list of event names: {EVENT_NAMES}"]
    reasons = []
    for name in events:
        if name not in Webhook.EVENTS:
            reasons.append(f"{name!r} is not an event; the events are {EVENT_NAMES}")
    if len(set(map(str, events))) != len(events):
        reasons.append("names an event more than once")
    return reasons


def url_errors(url: Any) -> list[str]:
    """Why a hook may not POST to `url`: only http(s), and the calendars' SSRF rule (no
    loopback, private or link-local address unless ALLOW_PRIVATE_CALENDAR_URLS)."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return [f"{url!r} is not an http(s) URL; a webhook needs one"]
    if len(url) > MAX_URL_CHARS:
        return [f"is {len(url)} characters long; at most {MAX_URL_CHARS} are allowed"]
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return [f"{url!r} is not an http(s) URL"]
    try:
        validate_calendar_url(url)
    except ValueError as exc:
        return [str(exc)]
    return []


def check(changes: Mapping[str, Any]) -> dict[str, list[str]]:
    """The errors of a hook's `url` and `events` among `changes`, by field name."""
    errors: dict[str, list[str]] = {}
    if "url" in changes and (reasons := url_errors(changes["url"])):
        errors["url"] = reasons
    if "events" in changes and (reasons := events_errors(changes["events"])):
        errors["events"] = reasons
    if "active" in changes and not isinstance(changes["active"], bool):
        errors["active"] = [f"{changes['active']!r} is not true or false"]
    return errors


# --- changing hooks ------------------------------------------------------------------------


def create(
    owner: Account | Organization, *, url: str, events: list[str], active: bool = True
) -> Webhook:
    """A new hook of an account or an organization, with a new secret (shown once)."""
    errors = check({"url": url, "events": events, "active": active})
    if errors:
        raise InvalidInput.of(errors)
    owned = {"account": owner} if isinstance(owner, Account) else {"organization": owner}
    return Webhook.objects.create(
        **owned, url=url, events=list(events), active=active, secret=Webhook.new_secret()
    )


def update(hook: Webhook, changes: Mapping[str, Any]) -> Webhook:
    """Change `url`, `events` and `active`; turning a hook on again clears why it was off."""
    errors = check(changes)
    if errors:
        raise InvalidInput.of(errors)
    fields = [f for f in ("url", "events", "active") if f in changes]
    for field in fields:
        setattr(hook, field, list(changes[field]) if field == "events" else changes[field])
    if changes.get("active") is True and hook.deactivated_at is not None:
        hook.deactivated_at, hook.deactivated_reason = None, ""
        fields += ["deactivated_at", "deactivated_reason"]
    if fields:
        hook.save(update_fields=fields)
    return hook


def delete(hook: Webhook) -> None:
    """Remove the hook with its messages and attempts; its queued tasks find nothing."""
    hook.delete()


# --- events --------------------------------------------------------------------------------


def subscribers(booking: Booking, event: str) -> list[Webhook]:
    """The active hooks told of `event` on `booking`: every attending host's, and for a group
    booking its organization's. One query, as every change of every booking asks."""
    hosts = Attendee.objects.filter(booking_id=booking.pk).values("account_id")
    organization = Profile.objects.filter(pk=booking.profile_id).values("organization_id")
    owners = Q(account_id__in=hosts) | Q(organization_id__in=organization)
    # Filtered here: SQLite cannot look inside a JSON list.
    return [h for h in Webhook.objects.filter(owners, active=True) if event in h.events]


def new_msg_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def emit(booking: Booking, event: str) -> None:
    """Queue `event` for every active hook subscribed to it among the booking's hosts' (and, for
    a group booking, its organization's) webhooks, in the caller's transaction. No I/O: the
    message is stored with its body, and a task sends it after commit."""
    if event not in Webhook.EVENTS:
        raise ValueError(f"{event!r} is not a webhook event; the events are {EVENT_NAMES}")
    hooks = subscribers(booking, event)
    if not hooks:
        return
    payload = {
        "type": event,
        "timestamp": instant_text(timezone.now()),
        "data": booking_json(booking),  # as it reads after the event
    }
    for hook in hooks:
        message = WebhookMessage.objects.create(
            webhook=hook, msg_id=new_msg_id(), event=event, payload=payload
        )
        retries.enqueue(deliver_webhook, message.pk)
