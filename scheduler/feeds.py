"""The account's calendar feeds (SPEC §9): `/{handle}/bookings.ics` and `/{handle}/freebusy.ics`,
opened by `?key=` (services/feeds.py builds them).

Anything that does not open a feed is the same bare 404, so a wrong key tells nothing about
the handle. A feed's address carries its key, so no shared cache may keep an answer; the
calendar app itself may, and asks again with If-None-Match.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.utils.http import parse_etags
from django.views.decorators.http import require_safe

from scheduler.models import Account
from scheduler.services import feeds

CACHE_CONTROL = "private, no-cache"


def _weak(etag: str) -> str:
    return etag.removeprefix("W/")


def _not_modified(request: HttpRequest, etag: str) -> bool:
    """If-None-Match by weak comparison (RFC 9110 13.1.2), as a GET's must be."""
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    return "*" in wanted or _weak(etag) in {_weak(tag) for tag in wanted}


def _serve(
    request: HttpRequest, handle: str, build: Callable[[Account, datetime], feeds.Feed]
) -> HttpResponse:
    account = feeds.account_for(handle, request.GET.get("key", ""))
    if account is None:
        return HttpResponseNotFound(b"No such feed\n", content_type="text/plain; charset=utf-8")
    feed = build(account, timezone.now())
    if _not_modified(request, feed.etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(feed.body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = feed.etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


@require_safe
def bookings_ics(request: HttpRequest, handle: str) -> HttpResponse:
    """Confirmed bookings the account attends, and its recent cancellations."""
    return _serve(request, handle, feeds.bookings_feed)


@require_safe
def freebusy_ics(request: HttpRequest, handle: str) -> HttpResponse:
    """One VFREEBUSY of the account's busy time for the next FEED_FREEBUSY_DAYS."""
    return _serve(request, handle, feeds.freebusy_feed)
