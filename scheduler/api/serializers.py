"""Models as the API's answers (SPEC §1, §2, §5), with Aurinko's field names."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from django.http import HttpResponse

from scheduler.models import Booking, Calendar, Profile, Webhook, WebhookAttempt
from scheduler.rules.schedule import default_work_hours

# One booking representation for the API and the webhooks (services/representation.py).
from scheduler.services.representation import booking_out, group_booking_fields

__all__ = [
    "booking_created_out",
    "booking_out",
    "calendar_out",
    "group_booking_fields",
    "group_profile_out",
    "page",
    "profile_out",
    "webhook_delivery_out",
    "webhook_out",
]


def page(records: list[Any], offset: int, total: int) -> dict[str, Any]:
    """SPEC's list envelope."""
    return {
        "offset": offset,
        "totalSize": total,
        "done": offset + len(records) >= total,
        "records": records,
    }


def profile_out(profile: Profile) -> dict[str, Any]:
    """A profile with every §1 field; workHours always carries its time zone."""
    hours = dict(profile.work_hours or default_work_hours())
    hours["timezone"] = profile.timezone
    return {
        "id": profile.pk,
        "name": profile.name,
        "durationMinutes": profile.duration_minutes,
        "availabilityStep": profile.availability_step,
        "bufferBetweenMinutes": profile.buffer_between_minutes,
        "startAfterMinutes": profile.start_after_minutes,
        "timeAvailableFor": profile.time_available_for,
        "startTime": profile.start_time,
        "endTime": profile.end_time,
        "subject": profile.subject,
        "description": profile.description,
        "location": profile.location,
        "openMeetingUrl": profile.open_meeting_url,
        "startConference": profile.start_conference,
        "schedulerLink": profile.scheduler_link,
        "workHours": hours,
        "availabilityIntervals": profile.availability_intervals or {"intervals": []},
        "maxBookingsPerDay": profile.max_bookings_per_day,
        "active": profile.active,
        "context": profile.context,
        "reminderMinutes": list(profile.reminder_minutes or []),
        "cancelNoticeMinutes": profile.cancel_notice_minutes,
        "rescheduleNoticeMinutes": profile.reschedule_notice_minutes,
        "requireEmailVerification": profile.require_email_verification,
    }


def group_profile_out(profile: Profile) -> dict[str, Any]:
    return {
        **profile_out(profile),
        "clientOrgId": profile.client_org_id,
        "required": profile.required,
    }


def booking_created_out(booking: Booking) -> dict[str, Any]:
    """A new booking (Aurinko's CreateMeetingResponse), with the reservation's id when held."""
    answer = booking_out(booking)
    answer.update({"created": True, "rescheduleToken": booking.manage_token()})
    if booking.status == Booking.Status.RESERVED:
        answer["reservationId"] = answer["ReservationId"] = booking.pk
    return answer


def calendar_out(calendar: Calendar) -> dict[str, Any]:
    """A calendar without its password, which is write-only (SPEC §2)."""
    return {
        "id": calendar.pk,
        "type": calendar.kind,
        "role": calendar.role,
        "name": calendar.name,
        "url": calendar.masked(calendar.url) or None,
        "username": calendar.username or None,
        "lastFetchedAt": calendar.last_fetched_at,
        "lastError": calendar.masked(calendar.last_error) or None,
        "createdAt": calendar.created_at,
    }


def webhook_out(hook: Webhook) -> dict[str, Any]:
    """A hook without its secret, which only the answer to its creation carries (SPEC §9)."""
    return {
        "id": hook.pk,
        "url": hook.url,
        "events": list(hook.events),
        "active": hook.active,
        "createdAt": hook.created_at,
        "deactivatedAt": hook.deactivated_at,
        "deactivatedReason": hook.deactivated_reason or None,
    }


def webhook_delivery_out(attempt: WebhookAttempt) -> dict[str, Any]:
    """One POST of a message: when, the HTTP status (absent when none came), the error."""
    return {
        "at": attempt.at,
        "status": attempt.status,
        "error": attempt.error,
        "messageId": attempt.message.msg_id,
        "type": attempt.message.event,
    }


def _instant(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_answer(payload: dict[str, Any]) -> HttpResponse:
    """`payload` written as JSON at once, instants in UTC with `Z` and whole seconds as every
    answer writes them, null fields left out: for answers of a thousand items (availability),
    where validating each item against the response schema again would cost more than the
    computation."""
    body = json.dumps({k: v for k, v in payload.items() if v is not None}, default=_instant)
    return HttpResponse(body, content_type="application/json; charset=utf-8")
