"""A booking as the outside world reads it (SPEC §5): the API's answers and the `data` of
every webhook message are built here, so the two cannot disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.models import Booking
from scheduler.rules.availability import instant_text


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
        "timezone": booking.invitee_zone.key,
        "language": booking.language or None,
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


def json_safe(value: Any) -> Any:
    """`value` as the API sends it: instants in UTC with `Z` and whole seconds, and no nulls
    (the API leaves out empty fields)."""
    if isinstance(value, datetime):
        return instant_text(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def booking_json(booking: Booking) -> dict[str, Any]:
    """The booking exactly as the API answers it, ready for `json.dumps`."""
    return json_safe(booking_out(booking))
