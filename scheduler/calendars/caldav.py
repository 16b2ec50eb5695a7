"""CalDAV calendars: reading busy time, and writing bookings to a primary calendar.

Reading makes a calendar-query REPORT with a time range and asks the server to expand the
recurrences (CALDAV:expand, RFC 4791 §9.6.5). The server's answer is used as it comes for events
with fixed instants (UTC or a TZID), which RFC 4791 has the server give in UTC. Series of all-day
or floating events (SPEC §3 reads them "in tz", the profile's zone, which the server does not
know) are read again unexpanded (calendar-multiget) and expanded here. A server that refuses to
expand (any answer but 207, or one we cannot read) is asked again without CALDAV:expand, and
everything is expanded here; resources it returns unexpanded anyway (RRULE/RDATE left in) are
expanded here too. Client-side expansion is the same code as for ICS feeds.

Writing PUTs one VEVENT per booking at `<calendar url>/<uid>.ics`; rescheduling PUTs the same
resource again with a higher SEQUENCE, cancelling DELETEs it.

Transport: the caldav library builds and reads the requests, but its HTTP session sends them
through `net.Read` (`_PinnedSession`): one read of a calendar (expand, fallback and multiget
REPORTs alike), or one PUT or DELETE, has one deadline (CALENDAR_TIMEOUT_SECONDS), each answer
is capped at CALENDAR_MAX_BYTES while it streams, and every connection goes to the address the
SSRF check approved. Its errors (net.UpstreamError) are not a refusal to expand: they end the
read, no fallback query follows.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

import icalendar
from caldav import DAVClient
from caldav.lib import http_sync
from caldav.lib.error import AuthorizationError
from caldav.response import DAVResponse
from django.conf import settings
from lxml import etree

from scheduler.calendars import busy_copy, ics, net
from scheduler.calendars.ical import booking_calendar
from scheduler.models import Booking, Calendar

logger = logging.getLogger(__name__)


class CalDAVError(Exception):
    """The CalDAV server refused or failed a request; the message names the URL and status."""


class _PinnedAdapter(http_sync.requests.adapters.BaseAdapter):
    """The caldav library's transport: each request sent through one `net.Read`.

    The answer comes back whole (read, capped, by the Read) in the HTTP library's own
    Response, its body in `raw` as a file, so the library reads it as it would a socket's.
    Proxies and `verify` are ignored: a proxy would resolve the name itself, and certificates
    are always checked.
    """

    def __init__(self, read: net.Read) -> None:
        super().__init__()
        self.read = read

    def send(self, request: http_sync.requests.PreparedRequest, **_options: object) -> object:
        answer = self.read.request(
            request.method, request.url, headers=dict(request.headers), body=request.body
        )
        response = http_sync.Response()
        response.status_code = answer.status
        response.reason = answer.reason
        response.headers = http_sync.CaseInsensitiveDict()
        for name, _value in answer.headers:
            response.headers[name] = answer.header(name)
        response.encoding = http_sync.requests.utils.get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(answer.body or b"")
        response.url = request.url
        response.request = request
        response.connection = self
        return response

    def close(self) -> None:
        pass


class _PinnedSession(http_sync.requests.Session):
    """A session whose every request, whatever its URL, goes through `_PinnedAdapter`, and
    that follows no redirect: a redirect would reach a host the SSRF check never saw."""

    def __init__(self, read: net.Read) -> None:
        super().__init__()
        self.trust_env = False  # no proxies or .netrc from the environment
        self.max_redirects = 0
        self._pinned = _PinnedAdapter(read)

    def get_adapter(self, url: str) -> _PinnedAdapter:
        return self._pinned


def _client(calendar: Calendar) -> DAVClient:
    """A client for one read (or one write) of `calendar`: one net.Read behind all its
    requests. ValueError now when the SSRF check refuses the URL."""
    read = net.Read()
    read.approve(calendar.url)
    client = DAVClient(
        url=calendar.url,
        username=calendar.username or None,
        password=calendar.password or None,
        timeout=settings.CALENDAR_TIMEOUT_SECONDS,
        enable_rfc6764=False,
        # Self-hosted servers on a LAN often speak plain HTTP; the SSRF rule decides reachability.
        require_tls=False,
    )
    client.session.close()
    client.session = _PinnedSession(read)
    return client


def _collection_url(calendar: Calendar) -> str:
    return calendar.url if calendar.url.endswith("/") else calendar.url + "/"


def resource_url(calendar: Calendar, uid: str) -> str:
    """Where a booking's event lives: the collection URL plus `<uid>.ics`, the UID quoted."""
    return _collection_url(calendar) + quote(uid, safe="") + ".ics"


_CALDAV = "urn:ietf:params:xml:ns:caldav"
_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><C:calendar-data>{expand}</C:calendar-data></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
<C:time-range start="{start}" end="{end}"/>
</C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
_MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><C:calendar-data/></D:prop>
{hrefs}
</C:calendar-multiget>"""
_RECURRENCE_RULES = ("RRULE", "RDATE", "EXRULE")


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _multistatus(response: DAVResponse, what: str) -> dict[str, str]:
    """`{href: calendar data}` of a 207 answer; CalDAVError for any other answer.

    Some servers (Bedework) answer an expanded query with one response per instance under the
    same href, so the VEVENTs of repeated hrefs are gathered into the first one's VCALENDAR.
    """
    if response.status != 207:
        raise CalDAVError(f"{what} answered HTTP {response.status}; expected 207")
    # Parsed by the caldav library (no entities, no network access); unset when not XML.
    root = getattr(response, "tree", None)
    if root is None or root.tag != "{DAV:}multistatus":
        found = "no XML" if root is None else f"<{root.tag}>"
        raise CalDAVError(f"{what} answered 207 with {found}; expected a DAV:multistatus")
    found: dict[str, list[str]] = {}
    for item in root.iter("{DAV:}response"):
        href = item.findtext("{DAV:}href", default="").strip()
        for propstat in item.iter("{DAV:}propstat"):
            if " 200 " not in propstat.findtext("{DAV:}status", default="") + " ":
                continue
            data = propstat.findtext(f".//{{{_CALDAV}}}calendar-data", default="")
            if href and data.strip():
                found.setdefault(href, []).append(data)
    return {href: _join(parts) for href, parts in found.items()}


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    first = ics.load_calendar(parts[0])
    for extra in parts[1:]:
        for event in ics.load_calendar(extra).walk("VEVENT"):
            first.add_component(event)
    return first.to_ical().decode()


def _query(client: DAVClient, url: str, lo: datetime, hi: datetime, expand: bool) -> dict:
    window = {"start": _stamp(lo), "end": _stamp(hi)}
    expand_element = '<C:expand start="{start}" end="{end}"/>'.format(**window) if expand else ""
    body = _QUERY.format(expand=expand_element, **window)
    what = f"REPORT calendar-query{' with expand' if expand else ''} on {url}"
    return _multistatus(client.report(url, body, depth=1), what)


def _multiget(client: DAVClient, url: str, hrefs: Collection[str]) -> dict:
    body = _MULTIGET.format(
        hrefs="\n".join(f"<D:href>{xml_escape(href)}</D:href>" for href in sorted(hrefs))
    )
    return _multistatus(client.report(url, body, depth=1), f"REPORT calendar-multiget on {url}")


def _is_local(prop: object) -> bool:
    value = getattr(prop, "dt", None)
    return value is not None and (not isinstance(value, datetime) or value.tzinfo is None)


def _kind(calendar: icalendar.Calendar) -> str:
    """How to read one resource of an expanded answer.

    "unexpanded": the server left the series as a rule (expand ignored): expand it here.
    "local series": instances of an all-day or floating series, which the server placed with
    its own idea of the zone; they are read again unexpanded and expanded here.
    "ready": single events and instances with fixed times, used as they are.
    """
    events = calendar.walk("VEVENT")
    if any(name in event for event in events for name in _RECURRENCE_RULES):
        return "unexpanded"
    expanded = any("RECURRENCE-ID" in event for event in events)
    local = any(_is_local(event.get(name)) for event in events for name in ("DTSTART", "DTEND"))
    return "local series" if expanded and local else "ready"


def read_objects(calendar: Calendar, lo: datetime, hi: datetime) -> tuple[list, str]:
    """The calendar's VCALENDARs with an instance in `[lo, hi)` and how they were read.

    The mode is "server" (the server's expansion, with all-day and floating series re-read
    unexpanded) or "client" (the server refused or ignored expand: series expanded here).
    """
    client = _client(calendar)
    url = _collection_url(calendar)
    try:
        found = _query(client, url, lo, hi, expand=True)
        parsed = {href: ics.load_calendar(data) for href, data in found.items()}
    except (CalDAVError, ics.FeedError, AuthorizationError, etree.XMLSyntaxError) as refused:
        # Radicale answers 500 to expanding a floating series; others 403 or 501 to expand at
        # all. A 401 (wrong password) fails again below and is reported from there.
        logger.info("CalDAV expand refused on %s (%s); expanding client-side", url, refused)
        found = _query(client, url, lo, hi, expand=False)
        return [ics.load_calendar(data) for data in found.values()], "client"
    kinds = {href: _kind(cal) for href, cal in parsed.items()}
    again = {href for href, kind in kinds.items() if kind == "local series"}
    if again:
        for href, data in _multiget(client, url, again).items():
            parsed[href] = ics.load_calendar(data)
    if "unexpanded" in kinds.values():
        logger.info("CalDAV server on %s ignored expand; expanding client-side", url)
        return list(parsed.values()), "client"
    return list(parsed.values()), "server"


def busy_entries(calendar: Calendar, lo: datetime, hi: datetime) -> list:
    """The busy copy (busy_copy format) of the CalDAV calendar over `[lo, hi)`.

    Our own bookings on a primary calendar are left out: availability reads them from the
    database, where a cancelled or moved booking stops blocking at once.
    """
    # The server matches floating and all-day events in its own zone; the padding covers ours.
    parsed, _ = read_objects(calendar, lo - ics.PAD, hi + ics.PAD)
    uids = {str(e.get("UID", "")) for cal in parsed for e in cal.walk("VEVENT")}
    ours = set(
        Booking.objects.filter(account_id=calendar.account_id, uid__in=uids).values_list(
            "uid", flat=True
        )
    )
    absolute: ics.Intervals = []
    local: ics.Intervals = []
    for cal in parsed:
        fixed, wall_clock = ics.blocking_intervals(cal, lo, hi, skip_uids=ours)
        absolute += fixed
        local += wall_clock
    return busy_copy.encode(absolute, local)


def write(calendar: Calendar, booking: Booking) -> None:
    """PUT the booking's event (creating or replacing it); CalDAVError unless the server agrees."""
    url = resource_url(calendar, booking.uid)
    response = _client(calendar).put(
        url, booking_calendar(booking, None), {"Content-Type": "text/calendar; charset=utf-8"}
    )
    if response.status not in (200, 201, 204):
        raise CalDAVError(f"PUT {url} answered HTTP {response.status}; expected 201 or 204")


def remove(calendar: Calendar, booking: Booking) -> None:
    """DELETE the booking's event; one that is already gone counts as removed."""
    url = resource_url(calendar, booking.uid)
    response = _client(calendar).delete(url)
    if response.status not in (200, 204, 404, 410):
        raise CalDAVError(f"DELETE {url} answered HTTP {response.status}; expected 204")
