"""Retrying background work with back-off, and recording each attempt on the booking.

Each delivery channel keeps its state on the booking (`mail_state`, `calendar_state`, their
attempts and last error), so the host sees it in admin and in the API's `delivery`. With the
database backend a failed attempt is queued again with `run_after`; the immediate backend
(tests, tiny installs) cannot defer, so there a failure is final and marked `failed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task_backends
from django_tasks_db.models import DBTaskResult

from scheduler.models import Booking, Delivery

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1


@dataclass(frozen=True)
class Channel:
    """Where a channel keeps its delivery state on the booking."""

    state: str
    attempts: str
    error: str


MAIL = Channel("mail_state", "mail_attempts", "mail_error")
CALENDAR = Channel("calendar_state", "calendar_attempts", "calendar_error")


def can_defer() -> bool:
    return bool(task_backends["default"].supports_defer)


def enqueue(task: Any, *args: Any) -> None:
    """Queue `task(*args)` as part of the current transaction.

    With the database backend the task's row is written in the caller's transaction, so the
    change and its background work commit together or not at all: nothing is lost when the
    process dies right after commit or a second write would fail. The immediate backend runs
    the task at once, so there it waits for the commit (a rolled-back change sends nothing).
    """
    if can_defer():
        task.enqueue(*args)
    else:
        transaction.on_commit(lambda: task.enqueue(*args))


def enqueue_at(task: Any, when: datetime, *args: Any) -> bool:
    """Queue `task(*args)` to run at `when`, in the current transaction; False (nothing
    queued) when the backend cannot defer (the immediate backend of tests and tiny installs
    would run it at once)."""
    if not can_defer():
        return False
    task.using(run_after=when).enqueue(*args)
    return True


def retry_later(task: Any, attempts: int, *args: Any) -> bool:
    """Queue `task(*args)` again after the back-off for `attempts`; False when it may not."""
    if not can_defer() or attempts >= MAX_ATTEMPTS:
        return False
    delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
    task.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(*args)
    return True


def attempts_so_far(booking: Booking, channel: Channel) -> int:
    return int(getattr(booking, channel.attempts))


def record_attempt(
    booking_id: int, channel: Channel, *, ok: bool, error: str = "", final: bool
) -> int:
    """Store the outcome of one attempt; returns the attempt count."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        attempts = attempts_so_far(booking, channel) + 1
        setattr(booking, channel.attempts, attempts)
        if ok:
            setattr(booking, channel.state, Delivery.DONE)
            setattr(booking, channel.error, "")
        else:
            setattr(booking, channel.error, error[:2000])
            setattr(booking, channel.state, Delivery.FAILED if final else Delivery.PENDING)
        booking.save(update_fields=[channel.attempts, channel.state, channel.error])
        return attempts


def attempt(
    task: Any,
    channel: Channel,
    booking: Booking,
    args: tuple[Any, ...],
    work: Callable[[], None],
    *,
    done: str = "done",
) -> str:
    """Run one attempt of `task(*args)` for `booking`: record it, and on failure queue the
    next attempt after the back-off. Any failure is retried or recorded, never raised."""
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - every failure is retried or recorded
        logger.warning("%s for booking %s failed: %s", task.name, booking.pk, exc)
        attempts = attempts_so_far(booking, channel) + 1
        retried = retry_later(task, attempts, *args)
        error = f"{type(exc).__name__}: {exc}"
        record_attempt(booking.pk, channel, ok=False, error=error, final=not retried)
        return "retry" if retried else "failed"
    record_attempt(booking.pk, channel, ok=True, final=True)
    return done


def requeue_abandoned(now: datetime | None = None) -> int:
    """Tasks a worker claimed more than TASK_LEASE_SECONDS ago and never finished: the worker
    died (kill -9, out of memory, a lost host). Queue them again for any worker; every task is
    idempotent (sent mails are recorded per message, calendar writes go by UID)."""
    now = now or timezone.now()
    abandoned = DBTaskResult.objects.running().filter(
        started_at__lt=now - timedelta(seconds=settings.TASK_LEASE_SECONDS)
    )
    count = abandoned.update(status=TaskResultStatus.READY, run_after=now, started_at=None)
    if count:
        logger.warning("queued %s task(s) again whose worker died", count)
    return count


def prune_finished(now: datetime | None = None) -> int:
    """Delete finished task rows older than TASK_RETENTION_DAYS; the outcome that matters
    is recorded on the booking itself."""
    now = now or timezone.now()
    old = DBTaskResult.objects.finished().filter(
        finished_at__lt=now - timedelta(days=settings.TASK_RETENTION_DAYS)
    )
    deleted, _ = old.delete()
    return deleted
