"""Background work after a booking commits: mail and calendar writes, retried with back-off.

Each task records its attempt on the booking (`mail_state`, `calendar_state`, attempts and the
last error), so the host sees it in admin and in the API's `delivery`. With the database
backend a failed attempt is queued again with `run_after`; the immediate backend (tests, tiny
installs) cannot defer, so there a failure is final and marked `failed`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task, task_backends

from scheduler.models import Booking, Calendar, Delivery

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1


def _can_defer() -> bool:
    return bool(task_backends["default"].supports_defer)


def _retry_later(fn, attempts: int, *args) -> bool:
    if not _can_defer() or attempts >= MAX_ATTEMPTS:
        return False
    delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
    fn.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(*args)
    return True


def _record(booking_id: int, kind: str, *, ok: bool, error: str = "", final: bool) -> int:
    """Store the outcome of one attempt; returns the attempt count."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        attempts = getattr(booking, f"{kind}_attempts") + 1
        setattr(booking, f"{kind}_attempts", attempts)
        if ok:
            setattr(booking, f"{kind}_state", Delivery.DONE)
            setattr(booking, f"{kind}_error", "")
        else:
            setattr(booking, f"{kind}_error", error[:2000])
            setattr(booking, f"{kind}_state", Delivery.FAILED if final else Delivery.PENDING)
        booking.save(update_fields=[f"{kind}_attempts", f"{kind}_state", f"{kind}_error"])
        return attempts


@task()
def deliver_mail(booking_id: int, method: str, sequence: int) -> str:
    """Send the invitee's invite (or cancellation) and the host's notice."""
    from scheduler import invites

    booking = Booking.objects.select_related("account", "profile").filter(pk=booking_id).first()
    if booking is None:
        return "gone"
    if booking.sequence > sequence:
        return "superseded"  # a newer change sent its own message
    try:
        invites.send_booking_mail(booking, method)
    except Exception as exc:  # noqa: BLE001 - any mail failure is retried, never raised
        logger.warning("mail for booking %s failed: %s", booking_id, exc)
        attempts = booking.mail_attempts + 1
        retried = _retry_later(deliver_mail, attempts, booking_id, method, sequence)
        _record(
            booking_id, "mail", ok=False, error=f"{type(exc).__name__}: {exc}", final=not retried
        )
        return "retry" if retried else "failed"
    _record(booking_id, "mail", ok=True, final=True)
    return "sent"


@task()
def sync_calendar(booking_id: int, action: str, sequence: int) -> str:
    """Write the booking to (or remove it from) the primary calendar."""
    from scheduler import calendars

    booking = Booking.objects.select_related("account", "profile").filter(pk=booking_id).first()
    if booking is None:
        return "gone"
    if booking.sequence > sequence:
        return "superseded"
    try:
        if action == "remove":
            calendars.remove(booking)
        else:
            calendars.write(booking)
    except Exception as exc:  # noqa: BLE001 - any calendar failure is retried, never raised
        logger.warning("calendar %s for booking %s failed: %s", action, booking_id, exc)
        attempts = booking.calendar_attempts + 1
        retried = _retry_later(sync_calendar, attempts, booking_id, action, sequence)
        _record(
            booking_id,
            "calendar",
            ok=False,
            error=f"{type(exc).__name__}: {exc}",
            final=not retried,
        )
        return "retry" if retried else "failed"
    _record(booking_id, "calendar", ok=True, final=True)
    return "done"


@task()
def refresh_calendar(calendar_id: int) -> str:
    """Fetch an ics/caldav calendar again and store its parsed busy copy."""
    from scheduler.calendars import refresh

    calendar = Calendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        return "gone"
    refresh.refresh(calendar)
    return "done"


def dispatch(booking_id: int, *, mail: str | None = None, calendar: str | None = None) -> None:
    """Queue the work a committed change needs. Enqueueing must never undo a booking."""
    sequence = Booking.objects.filter(pk=booking_id).values_list("sequence", flat=True).first()
    if sequence is None:
        return
    for fn, arg in ((deliver_mail, mail), (sync_calendar, calendar)):
        if not arg:
            continue
        try:
            fn.enqueue(booking_id, arg, sequence)
        except Exception:  # noqa: BLE001
            logger.exception("could not queue %s for booking %s", fn.name, booking_id)
