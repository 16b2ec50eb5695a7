"""Booking profiles and the default week (SPEC §1, §2)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Status

from scheduler.api.access import own_profile
from scheduler.api.errors import ERRORS, ApiError
from scheduler.api.routers import account
from scheduler.api.schemas import (
    MAX_OFFSET,
    ProfileIn,
    ProfileOut,
    ProfilePage,
    ProfilePatch,
    StatusOk,
    WorkHoursOut,
)
from scheduler.api.serializers import page, profile_out
from scheduler.models import Profile
from scheduler.rules.schedule import default_work_hours
from scheduler.services import profiles

OK = {"status": "Ok"}
# Fields a GET answers but nobody sets; sent back unchanged they are ignored.
OUTPUT_ONLY = ("id", "schedulerLink")


def changes_of(payload: ProfileIn, sent: set[str]) -> dict[str, Any]:
    """SPEC's fields as sent, JSON-shaped (nested schedules as plain dicts)."""
    changes: dict[str, Any] = {}
    for field in sent:
        value = getattr(payload, field)
        if field in ("workHours", "availabilityIntervals") and value is not None:
            value = value.model_dump(mode="json", exclude_none=True)
        changes[field] = value
    return changes


@account.get("/workHours", response={200: WorkHoursOut, **ERRORS}, exclude_none=True)
def work_hours(request: HttpRequest) -> dict[str, Any]:
    """The account's default week: Monday–Friday 09:00–17:00 in its time zone."""
    return default_work_hours(request.auth.timezone)


@account.get("/profiles", response={200: ProfilePage, **ERRORS}, exclude_none=True)
def list_profiles(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    rows = Profile.objects.select_related("account").filter(account=request.auth)
    records = [profile_out(p) for p in rows.order_by("id")[offset : offset + limit]]
    return page(records, offset, rows.count())


@account.post("/profiles", response={201: ProfileOut, **ERRORS}, exclude_none=True)
def create_profile(request: HttpRequest, payload: ProfileIn) -> Status:
    profile = profiles.create(request.auth, changes_of(payload, set(ProfileIn.model_fields)))
    return Status(201, profile_out(profile))


@account.get("/profiles/{id}", response={200: ProfileOut, **ERRORS}, exclude_none=True)
def get_profile(request: HttpRequest, id: int) -> dict[str, Any]:
    return profile_out(own_profile(request, id))


@account.patch("/profiles/{id}", response={200: StatusOk, **ERRORS})
def update_profile(request: HttpRequest, id: int, payload: ProfilePatch) -> dict[str, str]:
    profile = own_profile(request, id)
    sent = set(payload.model_fields_set)
    stored = profile_out(profile)
    changed = {
        field: ["is read-only"]
        for field in OUTPUT_ONLY
        if field in sent and getattr(payload, field) != stored[field]
    }
    if changed:
        raise ApiError.invalid(changed)
    profiles.update(profile, changes_of(payload, sent - set(OUTPUT_ONLY)))
    return OK


@account.delete("/profiles/{id}", response={200: StatusOk, **ERRORS})
def delete_profile(request: HttpRequest, id: int) -> dict[str, str]:
    profiles.delete(own_profile(request, id))
    return OK
