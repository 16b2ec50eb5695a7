"""Models as the API's answers (SPEC §1, §2, §5), with Aurinko's field names."""

from __future__ import annotations

from typing import Any

from scheduler.models import Booking, Calendar, Profile
from scheduler.rules.schedule import default_work_hours


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


def booking_out(booking: Booking) -> dict[str, Any]:
    """SPEC §5's booking; `id` is a string as in Aurinko's CreateMeetingResponse."""
    return {
        "id": str(booking.pk),
        "profileId": booking.profile_id,
        "start": booking.start,
        "end": booking.end,
        "status": booking.status,
        "name": booking.name,
        "email": booking.email,
        "substitutionData": {k: str(v) for k, v in (booking.substitution_data or {}).items()},
        "subject": booking.subject,
        "description": booking.description,
        "location": booking.location,
        "uid": booking.uid,
        "sequence": booking.sequence,
        "expiresAt": booking.expires_at,
        "createdAt": booking.created_at,
        "cancelUrl": booking.cancel_url(),
        "rescheduleUrl": booking.reschedule_url(),
        "delivery": {"mail": booking.mail_state, "calendar": booking.calendar_state},
        **group_booking_fields(booking),
    }


def group_booking_fields(booking: Booking) -> dict[str, Any]:
    """A group booking's group profile, hosts (ascending) and the group chosen (SPEC §8)."""
    if not booking.group_mode:
        return {}
    out: dict[str, Any] = {
        "groupProfileId": booking.profile_id,
        "accountIds": sorted(a.account_id for a in booking.attendees.all()),
    }
    if booking.group_xid:
        out["groupXid"] = booking.group_xid
    return out


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
