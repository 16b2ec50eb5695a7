"""Free slots of a profile (SPEC §3), for the account and on the public endpoint."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query

from scheduler.api.access import own_profile, public_profile
from scheduler.api.errors import ERRORS
from scheduler.api.routers import account, public
from scheduler.api.schemas import AvailabilityOut, MeetingQuery
from scheduler.api.serializers import json_answer
from scheduler.models import Profile
from scheduler.rules import variables
from scheduler.services import availability


def availability_out(
    profile: Profile, query: MeetingQuery, *, required: str | None = None, hosts: bool = False
) -> dict[str, Any]:
    """SPEC §3's answer for the window the query asks for; with `hosts`, a group profile's
    items name who is free (SPEC §8: the public endpoint's items are `{start, end}` only)."""
    answer = availability.query(
        profile,
        time_min=query.timeMin,
        time_max=query.timeMax,
        from_date=query.fromDate,
        interval_length=query.intervalLength,
        required=required,
    )
    found, limit, offset = answer.found, query.limit, query.offset
    if hosts and found.items is not None:
        items = [
            {
                "start": i.start,
                "end": i.end,
                "accountIds": list(i.account_ids),
                "groupXids": list(i.group_xids),
            }
            for i in found.items[offset : offset + limit]
        ]
    else:
        items = [{"start": s, "end": e} for s, e in found.slots[offset : offset + limit]]
    fields = variables.additional_fields(profile.subject, profile.description, profile.location)
    out: dict[str, Any] = {
        "items": items,
        "offset": offset,
        "totalSize": len(found.slots),
        "done": offset + len(items) >= len(found.slots),
        "startTime": found.lo,
        "endTime": found.hi,
        "timeAvailableFor": profile.time_available_for,
        "durationMinutes": profile.duration_minutes,
        "availabilityStep": profile.availability_step,
        "subject": profile.subject,
        "additionalFields": [f.as_dict() for f in fields],
    }
    if answer.next_from_date is not None:
        out["nextFromDate"] = answer.next_from_date
    return out


@account.get("/profiles/{id}/meeting", response={200: AvailabilityOut, **ERRORS}, exclude_none=True)
def account_meeting_times(
    request: HttpRequest, id: int, query: Query[MeetingQuery]
) -> HttpResponse:
    """Free slots; an inactive profile answers 200 with no items."""
    return json_answer(availability_out(own_profile(request, id), query))


@public.get(
    "/{handle}/{name}/meeting", response={200: AvailabilityOut, **ERRORS}, exclude_none=True
)
def public_meeting_times(
    request: HttpRequest, handle: str, name: str, query: Query[MeetingQuery]
) -> HttpResponse:
    """Free slots of an active profile, no token needed; an inactive one is 404."""
    return json_answer(availability_out(public_profile(handle, name), query))
