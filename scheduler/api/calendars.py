"""An account's calendars (SPEC §2): list, add, remove."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Status

from scheduler.api.access import own_calendar
from scheduler.api.errors import ERRORS
from scheduler.api.routers import account
from scheduler.api.schemas import MAX_OFFSET, CalendarIn, CalendarOut, CalendarPage, StatusOk
from scheduler.api.serializers import calendar_out, page
from scheduler.models import Calendar
from scheduler.services import calendars

OK = {"status": "Ok"}


@account.get("/calendars", response={200: CalendarPage, **ERRORS}, exclude_none=True)
def list_calendars(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    """The account's calendars, the primary first; builtin is the default primary."""
    request.auth.primary_calendar()
    rows = Calendar.objects.filter(account=request.auth).order_by("-role", "id")
    records = [calendar_out(c) for c in rows[offset : offset + limit]]
    return page(records, offset, rows.count())


@account.post("/calendars", response={201: CalendarOut, **ERRORS}, exclude_none=True)
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status:
    """Add a calendar; a new primary replaces the old one (see the README, API section)."""
    calendar = calendars.add(
        request.auth,
        kind=payload.type,
        role=payload.role,
        name=payload.name or "",
        url=payload.url or "",
        username=payload.username or "",
        password=payload.password or "",
    )
    return Status(201, calendar_out(calendar))


@account.delete("/calendars/{id}", response={200: StatusOk, **ERRORS})
def delete_calendar(request: HttpRequest, id: int) -> dict[str, str]:
    """Remove a calendar; without a primary the builtin one becomes primary again."""
    calendars.remove(own_calendar(request, id))
    return OK
