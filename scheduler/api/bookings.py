"""Booking and reservations (SPEC §5): create, confirm, release, list, cancel, reschedule."""

from __future__ import annotations

from datetime import UTC
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Status

from scheduler.api.access import own_booking, own_profile, public_profile
from scheduler.api.errors import ERRORS, ApiError
from scheduler.api.routers import account, public
from scheduler.api.schemas import (
    MAX_OFFSET,
    BookingCreatedOut,
    BookingOut,
    BookingPage,
    Instant,
    MeetingIn,
    RescheduleIn,
    StatusOk,
)
from scheduler.api.serializers import booking_created_out, booking_out, page
from scheduler.models import Booking, Profile
from scheduler.rules.schedule import RESERVE_MINUTES
from scheduler.services import bookings

OK = {"status": "Ok"}


def meeting_args(payload: MeetingIn) -> dict[str, Any]:
    """The booking a CreateMeetingDto asks for, as `bookings.book`'s arguments."""
    info = payload.schedulerInfo
    return {
        "start": payload.time.start.astimezone(UTC),
        "end": payload.time.end.astimezone(UTC),
        "name": (info.name if info and info.name else None) or payload.name or "",
        "email": (info.email if info and info.email else None) or payload.email or "",
        "substitution_data": payload.substitutionData,
        "timezone_name": (info.timezone if info else None) or "",
        "language": (info.language if info else None) or "",
    }


def _create_meeting(profile: Profile, payload: MeetingIn, reserve: int | None) -> dict[str, Any]:
    booking = bookings.book(profile, **meeting_args(payload), reserve_minutes=reserve)
    return booking_created_out(booking)


@account.post(
    "/profiles/{id}/meeting", response={201: BookingCreatedOut, **ERRORS}, exclude_none=True
)
def account_create_meeting(
    request: HttpRequest,
    id: int,
    payload: MeetingIn,
    reserveForMinutes: int | None = Query(None, ge=RESERVE_MINUTES.lo, le=RESERVE_MINUTES.hi),
) -> Status:
    """Book a slot; `reserveForMinutes` holds it unconfirmed for that long instead."""
    return Status(201, _create_meeting(own_profile(request, id), payload, reserveForMinutes))


@public.post(
    "/{handle}/{name}/meeting", response={201: BookingCreatedOut, **ERRORS}, exclude_none=True
)
def public_create_meeting(
    request: HttpRequest,
    handle: str,
    name: str,
    payload: MeetingIn,
    reserveForMinutes: int | None = None,
) -> Status:
    """Book a slot without a token; reservations need the account API."""
    if reserveForMinutes is not None:
        raise ApiError(
            400,
            "Reservations need the account API",
            fields={"reserveForMinutes": ["is not allowed on the public endpoint"]},
        )
    # The attempt was counted by the API's middleware before the body was read.
    profile = public_profile(handle, name)
    booking = bookings.book(
        profile,
        **meeting_args(payload),
        verify=profile.require_email_verification,  # held until the invitee confirms
    )
    return Status(201, booking_created_out(booking))


@account.post("/reservations/{id}/confirm", response={200: BookingOut, **ERRORS}, exclude_none=True)
def confirm_reservation(request: HttpRequest, id: int) -> dict[str, Any]:
    """A live reservation becomes a confirmed booking."""
    return booking_out(bookings.confirm(own_booking(request, id)))


@account.delete("/reservations/{id}", response={200: StatusOk, **ERRORS})
def release_reservation(request: HttpRequest, id: int) -> dict[str, str]:
    """The reservation is let go and becomes cancelled."""
    bookings.release(own_booking(request, id))
    return OK


@account.get("/bookings", response={200: BookingPage, **ERRORS}, exclude_none=True)
def list_bookings(
    request: HttpRequest,
    status: Literal["reserved", "confirmed", "cancelled"] | None = None,
    timeMin: Instant | None = None,
    timeMax: Instant | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    """Bookings by start time; `timeMin`/`timeMax` keep those overlapping that window."""
    # Every booking the account attends: its own and group bookings (SPEC §8).
    rows = Booking.objects.filter(attendees__account=request.auth)
    if status:
        rows = rows.filter(status=status)
    if timeMin:
        rows = rows.filter(end__gt=timeMin)
    if timeMax:
        rows = rows.filter(start__lt=timeMax)
    ordered = (
        rows.select_related("account", "profile")
        .prefetch_related("attendees")
        .order_by("start", "id")
    )
    records = [booking_out(b) for b in ordered[offset : offset + limit]]
    return page(records, offset, rows.count())


@account.get("/bookings/{id}", response={200: BookingOut, **ERRORS}, exclude_none=True)
def get_booking(request: HttpRequest, id: int) -> dict[str, Any]:
    return booking_out(own_booking(request, id))


@account.delete("/bookings/{id}", response={200: StatusOk, **ERRORS})
def cancel_booking(request: HttpRequest, id: int) -> dict[str, str]:
    """Cancel: the invitee gets METHOD:CANCEL and the calendar event goes."""
    bookings.cancel(own_booking(request, id))
    return OK


@account.post("/bookings/{id}/reschedule", response={200: BookingOut, **ERRORS}, exclude_none=True)
def reschedule_booking(request: HttpRequest, id: int, payload: RescheduleIn) -> dict[str, Any]:
    """Extension: move a confirmed booking to another free slot (UID kept, SEQUENCE up)."""
    moved = bookings.reschedule(
        own_booking(request, id),
        start=payload.time.start.astimezone(UTC),
        end=payload.time.end.astimezone(UTC),
    )
    return booking_out(moved)
