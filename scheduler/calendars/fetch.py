"""Fetching an ICS feed over HTTP: conditional GET, time-outs, a size cap, checked redirects."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
from django.conf import settings

from scheduler.calendars.ssrf import validate_calendar_url

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
USER_AGENT = "booking-service/0.1 (calendar feed reader)"


class FetchError(Exception):
    """The feed could not be fetched; the message says why, for Calendar.last_error."""


@dataclass(frozen=True)
class Fetched:
    """A fetch result: `body` is None when the server answered 304 Not Modified."""

    body: bytes | None
    etag: str
    last_modified: str


def _read_capped(
    response: requests.Response, url: str, max_bytes: int, deadline: float, limit: float
) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{url} declares {declared} bytes; the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"{url} sent more than {max_bytes} bytes; the limit is {max_bytes}")
        # The read time-out bounds each wait; this bounds a server that trickles bytes forever.
        if time.monotonic() > deadline:
            raise FetchError(f"{url} took longer than {limit:g}s in total")
        chunks.append(chunk)
    return b"".join(chunks)


def total_seconds() -> float:
    """The most one read of a feed may take, redirects and a trickling answer included."""
    return 3 * settings.CALENDAR_TIMEOUT_SECONDS


def fetch_feed(url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET `url`, following at most 5 redirects, each target checked against SSRF first.

    `etag`/`last_modified` make it conditional; a 304 returns `body=None`.
    Raises FetchError (or ValueError from the SSRF check) on any failure.
    """
    timeout = settings.CALENDAR_TIMEOUT_SECONDS
    max_bytes = settings.CALENDAR_MAX_BYTES
    deadline = time.monotonic() + total_seconds()
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        validate_calendar_url(current)
        try:
            response = requests.get(
                current,
                headers=headers,
                timeout=(timeout, timeout),
                stream=True,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise FetchError(f"{current} did not answer within {timeout:g}s") from exc
        except requests.RequestException as exc:
            raise FetchError(f"{current} could not be reached: {exc}") from exc
        with response:
            status = response.status_code
            if status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"{current} answered {status} without a Location")
                current = urljoin(current, location)
                continue
            if status == 304:
                return Fetched(
                    None,
                    response.headers.get("ETag", etag),
                    response.headers.get("Last-Modified", last_modified),
                )
            if status != 200:
                raise FetchError(f"{current} answered HTTP {status}; expected 200")
            try:
                body = _read_capped(response, current, max_bytes, deadline, total_seconds())
            except requests.RequestException as exc:
                raise FetchError(f"{current} failed while sending the feed: {exc}") from exc
            return Fetched(
                body, response.headers.get("ETag", ""), response.headers.get("Last-Modified", "")
            )
    raise FetchError(f"{url} redirected more than {MAX_REDIRECTS} times")
