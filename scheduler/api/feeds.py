"""The account's calendar feed key (SPEC §9): rotating it cuts off every old feed link."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from scheduler.api.errors import ERRORS
from scheduler.api.routers import account
from scheduler.api.schemas import FeedKeyOut
from scheduler.services import feeds


@account.post("/feedKey", response={200: FeedKeyOut, **ERRORS})
def rotate_feed_key(request: HttpRequest) -> dict[str, Any]:
    """A new key for the account's feeds; links holding the old key answer 404 from now on."""
    key = feeds.rotate_key(request.auth)
    links = feeds.links(request.auth)
    return {"key": key, "bookingsUrl": links.bookings_url, "freebusyUrl": links.freebusy_url}
