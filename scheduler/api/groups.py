"""Aurinko's group booking API (SPEC §8): an organization's group profiles, their hosts,
availability and bookings, with an app key."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Status

from scheduler.api.access import get_or_404
from scheduler.api.availability import availability_out
from scheduler.api.bookings import meeting_args
from scheduler.api.errors import ERRORS, ApiError
from scheduler.api.profiles import OUTPUT_ONLY, changes_of
from scheduler.api.routers import group
from scheduler.api.schemas import (
    MAX_OFFSET,
    AccountIdsIn,
    AttachedAccountsPage,
    AttachedGroupsPage,
    BookingCreatedOut,
    BookingOut,
    DynamicAvailabilityIn,
    DynamicAvailabilityOut,
    GroupAvailabilityOut,
    GroupMeetingQuery,
    GroupProfileIn,
    GroupProfileOut,
    GroupProfilePage,
    GroupProfilePatch,
    GroupsDetachIn,
    GroupsIn,
    MeetingIn,
    OrgAccountPage,
    StatusOk,
)
from scheduler.api.serializers import (
    booking_created_out,
    booking_out,
    group_profile_out,
    json_answer,
    page,
)
from scheduler.models import Account, Booking, Profile
from scheduler.rules.schedule import RESERVE_MINUTES
from scheduler.services import bookings, groups, profiles
from scheduler.services.bookings import Narrowing
from scheduler.services.groups import GroupSpec

OK = {"status": "Ok"}


def _profile(request: HttpRequest, pk: int) -> Profile:
    rows = Profile.objects.select_related("organization").filter(organization=request.auth)
    return get_or_404(rows, pk, "group profile")


def _booking(request: HttpRequest, pk: int) -> Booking:
    rows = Booking.objects.select_related("account", "profile").filter(
        profile__organization=request.auth
    )
    return get_or_404(rows, pk, "booking")


def _paged(rows: list[Any], limit: int, offset: int) -> dict[str, Any]:
    return page(rows[offset : offset + limit], offset, len(rows))


Limit = Query(50, ge=1, le=200)
Offset = Query(0, ge=0, le=MAX_OFFSET)


# --- the organization's accounts -----------------------------------------------------------


@group.get("/accounts", response={200: OrgAccountPage, **ERRORS})
def list_accounts(request: HttpRequest, limit: int = Limit, offset: int = Offset) -> dict:
    """The organization's member accounts, by id."""
    rows = Account.objects.filter(organization=request.auth).order_by("pk")
    records = [
        {"id": a.pk, "handle": a.handle, "name": a.name, "email": a.email, "timezone": a.timezone}
        for a in rows[offset : offset + limit]
    ]
    return page(records, offset, rows.count())


# --- group profiles ------------------------------------------------------------------------


@group.get("/profiles", response={200: GroupProfilePage, **ERRORS}, exclude_none=True)
def list_profiles(request: HttpRequest, limit: int = Limit, offset: int = Offset) -> dict:
    rows = Profile.objects.select_related("organization").filter(organization=request.auth)
    records = [group_profile_out(p) for p in rows.order_by("id")[offset : offset + limit]]
    return page(records, offset, rows.count())


@group.post("/profiles", response={201: GroupProfileOut, **ERRORS}, exclude_none=True)
def create_profile(request: HttpRequest, payload: GroupProfileIn) -> Status:
    changes = changes_of(payload, set(GroupProfileIn.model_fields))
    return Status(201, group_profile_out(profiles.create(request.auth, changes)))


@group.get("/profiles/{id}", response={200: GroupProfileOut, **ERRORS}, exclude_none=True)
def get_profile(request: HttpRequest, id: int) -> dict:
    return group_profile_out(_profile(request, id))


@group.patch("/profiles/{id}", response={200: StatusOk, **ERRORS})
def update_profile(request: HttpRequest, id: int, payload: GroupProfilePatch) -> dict:
    profile = _profile(request, id)
    sent = set(payload.model_fields_set)
    stored = group_profile_out(profile)
    changed = {
        field: ["is read-only"]
        for field in OUTPUT_ONLY
        if field in sent and getattr(payload, field) != stored[field]
    }
    if changed:
        raise ApiError.invalid(changed)
    profiles.update(profile, changes_of(payload, sent - set(OUTPUT_ONLY)))
    return OK


@group.delete("/profiles/{id}", response={200: StatusOk, **ERRORS})
def delete_profile(request: HttpRequest, id: int) -> dict:
    profiles.delete(_profile(request, id))
    return OK


# --- hosts ---------------------------------------------------------------------------------


@group.get("/profiles/{id}/attachAccounts", response={200: AttachedAccountsPage, **ERRORS})
def list_attached_accounts(
    request: HttpRequest, id: int, limit: int = Limit, offset: int = Offset
) -> dict:
    """One record per attached account, ascending."""
    ids = groups.attached_accounts(_profile(request, id))
    return _paged([{"accountIds": [a]} for a in ids], limit, offset)


@group.post("/profiles/{id}/attachAccounts", response={200: StatusOk, **ERRORS})
def attach_accounts(request: HttpRequest, id: int, payload: AccountIdsIn) -> dict:
    groups.attach_accounts(_profile(request, id), payload.accountIds)
    return OK


@group.post("/profiles/{id}/detachAccounts", response={200: StatusOk, **ERRORS})
def detach_accounts(request: HttpRequest, id: int, payload: AccountIdsIn) -> dict:
    groups.detach_accounts(_profile(request, id), payload.accountIds)
    return OK


@group.get("/profiles/{id}/attachGroups", response={200: AttachedGroupsPage, **ERRORS})
def list_attached_groups(
    request: HttpRequest, id: int, limit: int = Limit, offset: int = Offset
) -> dict:
    """The groups in attach order."""
    return _paged(groups.attached_groups(_profile(request, id)), limit, offset)


@group.post("/profiles/{id}/attachGroups", response={200: StatusOk, **ERRORS})
def attach_groups(request: HttpRequest, id: int, payload: GroupsIn) -> dict:
    specs = [GroupSpec(g.extId, g.accountIds, g.required) for g in payload.groups]
    groups.attach_groups(_profile(request, id), specs)
    return OK


@group.post("/profiles/{id}/detachGroups", response={200: StatusOk, **ERRORS})
def detach_groups(request: HttpRequest, id: int, payload: GroupsDetachIn) -> dict:
    specs = [GroupSpec(g.extId, g.accountIds) for g in payload.groups]
    groups.detach_groups(_profile(request, id), specs)
    return OK


# --- availability and booking --------------------------------------------------------------


@group.get(
    "/profiles/{id}/meeting", response={200: GroupAvailabilityOut, **ERRORS}, exclude_none=True
)
def meeting_times(request: HttpRequest, id: int, query: Query[GroupMeetingQuery]) -> HttpResponse:
    """Free slots, each with the hosts free then (`accountIds`) and the free groups."""
    answer = availability_out(_profile(request, id), query, required=query.required, hosts=True)
    return json_answer(answer)


@group.post(
    "/profiles/{id}/meeting", response={201: BookingCreatedOut, **ERRORS}, exclude_none=True
)
def create_meeting(
    request: HttpRequest,
    id: int,
    payload: MeetingIn,
    required: str | None = None,
    reserveForMinutes: int | None = Query(None, ge=RESERVE_MINUTES.lo, le=RESERVE_MINUTES.hi),
) -> Status:
    """Book a slot with the hosts SPEC §8 chooses; `accountIds`/`groupXids` narrow them."""
    profile = _profile(request, id)
    narrowing = Narrowing(tuple(payload.accountIds or ()), tuple(payload.groupXids or ()))
    booking = bookings.book(
        profile,
        **meeting_args(payload),
        reserve_minutes=reserveForMinutes,
        required=required,
        narrowing=narrowing,
    )
    return Status(201, booking_created_out(booking))


@group.post("/reservations/{id}/confirm", response={200: BookingOut, **ERRORS}, exclude_none=True)
def confirm_reservation(request: HttpRequest, id: int) -> dict:
    return booking_out(bookings.confirm(_booking(request, id)))


@group.delete("/reservations/{id}", response={200: StatusOk, **ERRORS})
def release_reservation(request: HttpRequest, id: int) -> dict:
    bookings.release(_booking(request, id))
    return OK


@group.post("/profiles/dynamic/availability", response={200: DynamicAvailabilityOut, **ERRORS})
def dynamic_availability(request: HttpRequest, payload: DynamicAvailabilityIn) -> dict:
    """The group profiles with at least one slot inside `[timeMin, timeMax)`."""
    found = groups.available_profiles(
        request.auth,
        time_min=payload.timeMin.astimezone(UTC),
        time_max=payload.timeMax.astimezone(UTC),
        ids=payload.profileIds or (),
        names=payload.profileNames or (),
        required=payload.required,
    )
    return {"profileIds": found}
