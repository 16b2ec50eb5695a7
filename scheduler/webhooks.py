"""Sending webhook messages (SPEC §9): the task that POSTs one message, and what its answer
decides.

A message is POSTed as JSON, signed per the Standard Webhooks specification with the hook's
secret (`webhook-id` is the message's `msg_id`, the same on every retry; `webhook-timestamp`
and `webhook-signature` are made afresh for each attempt). The request goes through the
calendars' pinned transport (`calendars/net.py`): the SSRF check approves the address and
the connection goes there and nowhere else, and `WEBHOOK_TIMEOUT_SECONDS` bounds the whole
attempt (lookup, connection, TLS, sending, the answer's status line and headers). A receiver's
body is never read.

Any 2xx is success. A 410 turns the hook off at once. Any other answer, or none, is retried
after the next of `WEBHOOK_RETRY_DELAYS` (one attempt, then one retry per delay); when the last
retry fails the hook is turned off too, and its owner is mailed. Every attempt is recorded
(`WebhookAttempt`). The immediate task backend (tests, tiny installs) cannot wait, so there a
failed message is marked failed and the hook stays on; only a 410 turns it off.

The task runs after the booking's transaction has committed, so no account lock is held while
a receiver is called; a message already delivered is never sent again, and a task for a hook
that was turned off records nothing.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task
from standardwebhooks import Webhook as Signer

from scheduler import retries
from scheduler.calendars import net
from scheduler.models import Account, Webhook, WebhookAttempt, WebhookMessage

logger = logging.getLogger(__name__)

USER_AGENT = "booking-service-webhooks/1.0"
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Outcome:
    """The answer to one POST: its status (None when the receiver never answered) and why
    it failed (empty on success)."""

    status: int | None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


def body_of(message: WebhookMessage) -> str:
    """The exact text that is signed and sent."""
    return json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False)


def signed_headers(secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt sent at `at`."""
    signature = Signer(secret).sign(msg_id, at, body)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signature,
    }


def post(hook: Webhook, message: WebhookMessage) -> Outcome:
    """POST `message` to `hook` once, within WEBHOOK_TIMEOUT_SECONDS; never raises."""
    body = body_of(message)
    headers = signed_headers(hook.secret, message.msg_id, body, timezone.now())
    read = net.Read(seconds=settings.WEBHOOK_TIMEOUT_SECONDS)
    try:
        answer = read.request(
            "POST", hook.url, headers=headers, body=body, read_body=lambda status: False
        )
    except (ValueError, net.UpstreamError) as exc:  # ValueError: the SSRF check refused it
        return Outcome(None, str(exc) or type(exc).__name__)
    if 200 <= answer.status < 300:
        return Outcome(answer.status)
    return Outcome(answer.status, f"HTTP {answer.status} {answer.reason}".strip())


@task()
def deliver_webhook(message_id: int) -> str:
    """Send one webhook message; retried with back-off until the hook is turned off."""
    message = WebhookMessage.objects.select_related("webhook").filter(pk=message_id).first()
    if message is None:
        return "gone"
    if message.state != WebhookMessage.State.PENDING:
        return str(message.state)  # delivered or given up: never sent again
    if not message.webhook.active:
        return "inactive"
    outcome = post(message.webhook, message)
    return record(message_id, outcome)


def record(message_id: int, outcome: Outcome) -> str:
    """Store one attempt's outcome and decide what follows: done, a retry later, or the
    hook turned off (its owner mailed)."""
    now = timezone.now()
    with transaction.atomic():
        message = WebhookMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return "gone"  # the hook was deleted while its message was on the way
        WebhookAttempt.objects.create(
            message=message, at=now, status=outcome.status, error=outcome.error[:MAX_ERROR_CHARS]
        )
        message.attempts += 1
        verdict = _verdict(message, outcome, now)
        message.save(update_fields=["attempts", "state"])
        return verdict


def _verdict(message: WebhookMessage, outcome: Outcome, now: datetime) -> str:
    if message.state != WebhookMessage.State.PENDING:
        return "repeated"  # another run of this task (a worker that was presumed dead) decided
    if outcome.delivered:
        message.state = WebhookMessage.State.DONE
        return "delivered"
    logger.warning("webhook message %s failed: %s", message.msg_id, outcome.error)
    delays = settings.WEBHOOK_RETRY_DELAYS
    if outcome.gone:
        reason = "the receiver answered 410 Gone"
    elif message.attempts > len(delays):
        reason = f"all {message.attempts} attempts failed; the last: {outcome.error}"
    elif retries.can_defer():
        after = timedelta(seconds=delays[message.attempts - 1])
        deliver_webhook.using(run_after=now + after).enqueue(message.pk)
        return "retry"
    else:
        message.state = WebhookMessage.State.FAILED
        return "failed"
    message.state = WebhookMessage.State.FAILED
    deactivate(message.webhook_id, reason[:MAX_ERROR_CHARS], now)
    return "deactivated"


def deactivate(webhook_id: int, reason: str, now: datetime) -> bool:
    """Turn the hook off and queue the mail to its owner; False when it was already off."""
    turned_off = Webhook.objects.filter(pk=webhook_id, active=True).update(
        active=False, deactivated_at=now, deactivated_reason=reason
    )
    if turned_off:
        retries.enqueue(mail_deactivation, webhook_id)
    return bool(turned_off)


# --- telling the owner -------------------------------------------------------------------


def owner_emails(hook: Webhook) -> list[str]:
    """The account's address, or every member account's of an organization."""
    if hook.account_id is not None:
        return [hook.account.email] if hook.account.email else []
    members = Account.objects.filter(organization_id=hook.organization_id).order_by("pk")
    return sorted({a.email for a in members if a.email})


def deactivation_mail(hook: Webhook, to: list[str]) -> EmailMultiAlternatives:
    context: dict[str, Any] = {
        "hook": hook,
        "owner": hook.account or hook.organization,
        "area": "account" if hook.account_id else "group",
        "site_url": settings.SITE_URL,
    }
    subject = " ".join(render_to_string("email/webhook_off_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("email/webhook_off.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
    message.attach_alternative(render_to_string("email/webhook_off.html", context), "text/html")
    message.extra_headers["X-Webhook"] = str(hook.pk)
    return message


@task()
def mail_deactivation(webhook_id: int, attempts: int = 0) -> str:
    """Tell the hook's owner it was turned off (why, and its URL); retried on SMTP failure.
    Nothing is sent when the hook was turned on again (or deleted) meanwhile."""
    hook = Webhook.objects.select_related("account", "organization").filter(pk=webhook_id).first()
    if hook is None or hook.active:
        return "nothing to tell"
    to = owner_emails(hook)
    if not to:
        return "nobody to tell"
    try:
        deactivation_mail(hook, to).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any SMTP failure is retried
        logger.warning("mail about webhook %s failed: %s", webhook_id, exc)
        tried = attempts + 1
        retried = retries.retry_later(mail_deactivation, tried, webhook_id, tried)
        return "retry" if retried else "failed"
    return "sent"
