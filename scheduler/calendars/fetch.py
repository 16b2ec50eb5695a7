"""Fetching an ICS feed over HTTP: conditional GET, one deadline, a size cap, checked redirects.

One fetch is one `net.Read`: every hop of it connects to the address its SSRF check approved,
all of them and the body end by CALENDAR_TIMEOUT_SECONDS after the fetch began, and the body
is capped at CALENDAR_MAX_BYTES while it streams (SPEC §11).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings

from scheduler.calendars import net

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "booking-service/0.1 (calendar feed reader)"


class FetchError(Exception):
    """The feed could not be fetched; the message says why, for Calendar.last_error."""


@dataclass(frozen=True)
class Fetched:
    """A fetch result: `body` is None when the server answered 304 Not Modified."""

    body: bytes | None
    etag: str
    last_modified: str


def total_seconds() -> float:
    """The most one read of a calendar may take: every request, redirect and the whole body."""
    return float(settings.CALENDAR_TIMEOUT_SECONDS)


def fetch_feed(url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET `url`, following at most 5 redirects, each target checked against SSRF first and
    connected to at the address that check approved.

    `etag`/`last_modified` make it conditional; a 304 returns `body=None`.
    Raises FetchError (or ValueError from the SSRF check) on any failure.
    """
    read = net.Read()
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            answer = read.request(
                "GET", current, headers=headers, read_body=lambda status: status == 200
            )
        except net.UpstreamError as exc:
            raise FetchError(str(exc)) from exc
        status = answer.status
        if status in REDIRECT_STATUSES:
            location = answer.header("Location")
            if not location:
                raise FetchError(f"{current} answered {status} without a Location")
            current = urljoin(current, location)
            continue
        if status == 304:
            return Fetched(
                None, answer.header("ETag", etag), answer.header("Last-Modified", last_modified)
            )
        if status != 200:
            raise FetchError(f"{current} answered HTTP {status}; expected 200")
        return Fetched(answer.body, answer.header("ETag"), answer.header("Last-Modified"))
    raise FetchError(f"{url} redirected more than {MAX_REDIRECTS} times")
