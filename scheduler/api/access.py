"""Finding the objects a request may touch: its own account's, or an active public profile."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from scheduler.api.errors import ApiError
from scheduler.models import Booking, Calendar, Profile

MAX_ID = 2**63 - 1


def get_or_404(queryset: Any, pk: int, what: str) -> Any:
    # Ids beyond a 64-bit integer would overflow the database driver.
    found = queryset.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if found is None:
        raise ApiError(404, f"No {what} with id {pk}")
    return found


def own_profile(request: HttpRequest, pk: int) -> Profile:
    profiles = Profile.objects.select_related("account").filter(account=request.auth)
    return get_or_404(profiles, pk, "profile")


def own_booking(request: HttpRequest, pk: int) -> Booking:
    """A booking the account attends: its own, or a group booking it was chosen for."""
    bookings = Booking.objects.select_related("account", "profile").filter(
        attendees__account=request.auth
    )
    return get_or_404(bookings, pk, "booking")


def own_calendar(request: HttpRequest, pk: int) -> Calendar:
    return get_or_404(Calendar.objects.filter(account=request.auth), pk, "calendar")


def public_profile(handle: str, name: str) -> Profile:
    profile = Profile.objects.at(handle, name).filter(active=True).first()
    if profile is None:
        raise ApiError(404, f"No active booking profile {handle}/{name}")
    return profile
