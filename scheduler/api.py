"""The /v1/ JSON API (SPEC §2), shaped like Aurinko's Booking API.

Views parse and authorize; booking.py and availability.py decide. Every error leaves as
`{"error": {"code", "message", "fields"?}}`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from ninja import NinjaAPI, Query, Router, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from scheduler import booking as booking_ops
from scheduler import variables
from scheduler.auth import AccountToken
from scheduler.availability import add_period, local_instant, parse_period
from scheduler.middleware import error_response
from scheduler.models import Account, Booking, Calendar, Profile
from scheduler.schedule import (
    RuleError,
    default_work_hours,
    normalize_availability_intervals,
    normalize_work_hours,
)
from scheduler.schemas import (
    MAX_OFFSET,
    NULLABLE_PROFILE_FIELDS,
    AvailabilityOut,
    BookingCreatedOut,
    BookingOut,
    BookingPage,
    CalendarIn,
    CalendarOut,
    CalendarPage,
    ErrorOut,
    Instant,
    MeetingIn,
    MeetingQuery,
    ProfileIn,
    ProfileOut,
    ProfilePage,
    ProfilePatch,
    RescheduleIn,
    StatusOk,
    WorkHoursOut,
    page,
)


class UtcEncoder(NinjaJSONEncoder):
    """Instants leave in UTC with `Z` (SPEC: "the service answers in UTC"), whatever offset
    the client sent them with."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime) and o.utcoffset() is not None:
            o = o.astimezone(UTC)
        return super().default(o)


class UtcRenderer(JSONRenderer):
    encoder_class = UtcEncoder


api = NinjaAPI(
    title="Booking API",
    version="1.0.0",
    urls_namespace="v1",
    description="Self-hosted booking service with Aurinko Booking API-shaped endpoints.",
    renderer=UtcRenderer(),
    # The OpenAPI document and its page are read-only: other methods are 405, not 200.
    docs_decorator=require_safe,
)
account = Router(auth=AccountToken(), tags=["Booking"])
public = Router(tags=["Availability"])

# Every 4xx this API answers; ninja's codes_4xx leaves out 413.
ERRORS = {frozenset({400, 401, 403, 404, 405, 409, 413, 429}): ErrorOut}
OK = {"status": "Ok"}
MAX_ID = 2**63 - 1


class ApiError(Exception):
    """An error answer in SPEC's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        fields: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.fields = status, message, code, fields
        self.headers = headers or {}


# --- error handlers -------------------------------------------------------------------------


def _field_path(loc: tuple | list) -> str:
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]  # ("body", <param name>, field, …)
    elif parts and parts[0] in {"query", "path", "header", "cookie"}:
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _message(error: dict) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "is required"
    msg = str(error.get("msg", "is invalid"))
    return msg.removeprefix("Value error, ")


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        messages = fields.setdefault(_field_path(error.get("loc", ())), [])
        message = _message(error)
        if message not in messages:
            messages.append(message)
    return error_response(400, "Invalid input: " + ", ".join(fields), fields=fields)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = exc.message
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        message = "The request body is not valid JSON"
    return error_response(exc.status_code, message)


def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(401, "A valid 'Authorization: Bearer <token>' header is required")
    response["WWW-Authenticate"] = 'Bearer realm="booking"'
    return response


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error_response(exc.status, exc.message, exc.code, exc.fields)
    for header, value in exc.headers.items():
        response[header] = value
    return response


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, str(exc) or "No such resource")


def _booking_error(request: HttpRequest, exc: booking_ops.BookingError) -> HttpResponse:
    return error_response(400, exc.message, fields=exc.fields)


def _slot_unavailable(request: HttpRequest, exc: booking_ops.SlotUnavailable) -> HttpResponse:
    return error_response(409, str(exc), "slot_unavailable")


def _not_allowed(request: HttpRequest, exc: booking_ops.NotAllowed) -> HttpResponse:
    return error_response(409, str(exc), "conflict")


for _exc, _handler in (
    (ValidationError, _validation_error),
    (AuthenticationError, _auth_error),
    (HttpError, _http_error),
    (ApiError, _api_error),
    (Http404, _not_found),
    (booking_ops.BookingError, _booking_error),
    (booking_ops.SlotUnavailable, _slot_unavailable),
    (booking_ops.NotAllowed, _not_allowed),
):
    api.add_exception_handler(_exc, _handler)


# --- output ---------------------------------------------------------------------------------


def profile_out(profile: Profile) -> dict[str, Any]:
    """A profile with every §1 field; workHours always carries its time zone."""
    hours = dict(profile.work_hours or default_work_hours())
    hours["timezone"] = profile.timezone
    return {
        "id": profile.pk,
        "name": profile.name,
        "durationMinutes": profile.duration_minutes,
        "availabilityStep": profile.availability_step,
        "bufferBetweenMinutes": profile.buffer_between_minutes,
        "startAfterMinutes": profile.start_after_minutes,
        "timeAvailableFor": profile.time_available_for,
        "startTime": profile.start_time,
        "endTime": profile.end_time,
        "subject": profile.subject,
        "description": profile.description,
        "location": profile.location,
        "openMeetingUrl": profile.open_meeting_url,
        "startConference": profile.start_conference,
        "schedulerLink": profile.scheduler_link,
        "workHours": hours,
        "availabilityIntervals": profile.availability_intervals or {"intervals": []},
        "maxBookingsPerDay": profile.max_bookings_per_day,
        "active": profile.active,
        "context": profile.context,
    }


def booking_out(booking: Booking) -> dict[str, Any]:
    """SPEC §5's booking; `id` is a string as in Aurinko's CreateMeetingResponse."""
    return {
        "id": str(booking.pk),
        "profileId": booking.profile_id,
        "start": booking.start,
        "end": booking.end,
        "status": booking.status,
        "name": booking.name,
        "email": booking.email,
        "substitutionData": {k: str(v) for k, v in (booking.substitution_data or {}).items()},
        "subject": booking.subject,
        "description": booking.description,
        "location": booking.location,
        "uid": booking.uid,
        "sequence": booking.sequence,
        "expiresAt": booking.expires_at,
        "createdAt": booking.created_at,
        "cancelUrl": booking_ops.cancel_url(booking),
        "rescheduleUrl": booking_ops.reschedule_url(booking),
        "delivery": {"mail": booking.mail_state, "calendar": booking.calendar_state},
    }


def _without_secrets(text: str, calendar: Calendar) -> str:
    """`text` with the calendar's password, and any password inside a URL, masked."""
    if len(calendar.password) >= 4:  # a shorter one would mask ordinary letters everywhere
        text = text.replace(calendar.password, "***")
    # Admin may store https://user:secret@host/…; the API refuses such URLs on input.
    return re.sub(r"(//[^/@:\s]*):[^/@\s]*@", r"\1:***@", text)


def calendar_out(calendar: Calendar) -> dict[str, Any]:
    """A calendar without its password, which is write-only (SPEC §2)."""
    return {
        "id": calendar.pk,
        "type": calendar.kind,
        "role": calendar.role,
        "name": calendar.name,
        "url": _without_secrets(calendar.url, calendar) or None,
        "username": calendar.username or None,
        "lastFetchedAt": calendar.last_fetched_at,
        "lastError": _without_secrets(calendar.last_error, calendar) or None,
        "createdAt": calendar.created_at,
    }


# --- helpers --------------------------------------------------------------------------------


def _get(queryset: Any, pk: int, what: str) -> Any:
    # Ids beyond a 64-bit integer would overflow the database driver.
    found = queryset.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if found is None:
        raise ApiError(404, f"No {what} with id {pk}")
    return found


def _own_profile(request: HttpRequest, pk: int) -> Profile:
    return _get(
        Profile.objects.select_related("account").filter(account=request.auth), pk, "profile"
    )


def _own_booking(request: HttpRequest, pk: int) -> Booking:
    queryset = Booking.objects.select_related("account", "profile").filter(account=request.auth)
    return _get(queryset, pk, "booking")


def _public_profile(handle: str, name: str) -> Profile:
    profile = (
        Profile.objects.select_related("account")
        .filter(account__handle=handle, name=name, active=True)
        .first()
    )
    if profile is None:
        raise ApiError(404, f"No active booking profile {handle}/{name}")
    return profile


# --- profiles -------------------------------------------------------------------------------

_PROFILE_COLUMNS = {
    "name": "name",
    "durationMinutes": "duration_minutes",
    "availabilityStep": "availability_step",
    "bufferBetweenMinutes": "buffer_between_minutes",
    "startAfterMinutes": "start_after_minutes",
    "timeAvailableFor": "time_available_for",
    "startTime": "start_time",
    "endTime": "end_time",
    "subject": "subject",
    "description": "description",
    "location": "location",
    "openMeetingUrl": "open_meeting_url",
    "startConference": "start_conference",
    "workHours": "work_hours",
    "availabilityIntervals": "availability_intervals",
    "maxBookingsPerDay": "max_bookings_per_day",
    "active": "active",
    "context": "context",
}


def _profile_values(payload: ProfileIn, sent: set[str]) -> dict[str, Any]:
    """Model column values for the fields sent; rules normalised (times as HH:MM:SS)."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for field in sorted(sent):
        value = getattr(payload, field)
        if value is None and field not in NULLABLE_PROFILE_FIELDS:
            errors[field] = ["may not be null"]
            continue
        try:
            if field == "workHours" and value is not None:
                sent_hours = value.model_dump(exclude_none=True)
                if "daySchedules" not in sent_hours:
                    sent_hours["daySchedules"] = default_work_hours()["daySchedules"]
                value = normalize_work_hours(sent_hours)
            elif field == "availabilityIntervals" and value is not None:
                dumped = value.model_dump(mode="json", exclude_none=True)
                value = normalize_availability_intervals(dumped)
        except RuleError as exc:
            errors.update(exc.errors)
            continue
        values[_PROFILE_COLUMNS[field]] = value
    if errors:
        raise ApiError(400, "Invalid input: " + ", ".join(errors), fields=errors)
    return values


def _save_profile(profile: Profile) -> None:
    try:
        with transaction.atomic():
            clash = Profile.objects.filter(account_id=profile.account_id, name=profile.name)
            if clash.exclude(pk=profile.pk).exists():
                raise IntegrityError
            profile.save()
    except IntegrityError as exc:
        raise ApiError(
            409, f"The account already has a profile named {profile.name!r}", "conflict"
        ) from exc


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
    profiles = Profile.objects.select_related("account").filter(account=request.auth)
    records = [profile_out(p) for p in profiles.order_by("id")[offset : offset + limit]]
    return page(records, offset, profiles.count())


@account.post("/profiles", response={201: ProfileOut, **ERRORS}, exclude_none=True)
def create_profile(request: HttpRequest, payload: ProfileIn) -> Status:
    values = _profile_values(payload, set(ProfileIn.model_fields))
    profile = Profile(account=request.auth, **values)
    _save_profile(profile)
    return Status(201, profile_out(profile))


@account.get("/profiles/{id}", response={200: ProfileOut, **ERRORS}, exclude_none=True)
def get_profile(request: HttpRequest, id: int) -> dict[str, Any]:
    return profile_out(_own_profile(request, id))


@account.patch("/profiles/{id}", response={200: StatusOk, **ERRORS})
def update_profile(request: HttpRequest, id: int, payload: ProfilePatch) -> dict[str, str]:
    profile = _own_profile(request, id)
    for column, value in _profile_values(payload, payload.model_fields_set).items():
        setattr(profile, column, value)
    if profile.start_time and profile.end_time and profile.end_time <= profile.start_time:
        raise ApiError(
            400,
            "Invalid input: endTime",
            fields={"endTime": [f"must be after startTime ({profile.start_time.isoformat()})"]},
        )
    _save_profile(profile)
    return OK


@account.delete("/profiles/{id}", response={200: StatusOk, **ERRORS})
def delete_profile(request: HttpRequest, id: int) -> dict[str, str]:
    _own_profile(request, id).delete()
    return OK


# --- availability ---------------------------------------------------------------------------


def _availability(profile: Profile, query: MeetingQuery) -> dict[str, Any]:
    """SPEC §3's answer for the window the query asks for."""
    _check_window(query)
    time_min, time_max = query.timeMin, query.timeMax
    from_date, interval_length = query.fromDate, query.intervalLength
    limit, offset = query.limit, query.offset
    now = timezone.now()
    zone = profile.rules().zone
    start = time_min
    if start is None:
        day = from_date or now.astimezone(zone).date()
        start = local_instant(day, 0, zone)
    end = time_max
    if end is None and interval_length:
        end = add_period(start, parse_period(interval_length), zone)
    found = booking_ops.compute(profile, now, start, end)
    items = [{"start": s, "end": e} for s, e in found.slots[offset : offset + limit]]
    fields = variables.additional_fields(profile.subject, profile.description, profile.location)
    answer: dict[str, Any] = {
        "items": items,
        "offset": offset,
        "totalSize": len(found.slots),
        "done": offset + len(items) >= len(found.slots),
        "startTime": found.lo,
        "endTime": found.hi,
        "timeAvailableFor": profile.time_available_for,
        "durationMinutes": profile.duration_minutes,
        "availabilityStep": profile.availability_step,
        "subject": profile.subject,
        "additionalFields": [f.as_dict() for f in fields],
    }
    # Slots can come after the window only while both the horizon and the profile's own end
    # lie beyond it; otherwise a client following nextFromDate would never stop.
    last = min(found.horizon, profile.end_time or found.horizon)
    if last > found.hi:
        from_day = None if time_min is not None else start.astimezone(zone).date()
        answer["nextFromDate"] = _next_from_date(found.lo, found.hi, from_day, zone)
    return answer


def _next_from_date(lo: datetime, hi: datetime, from_day: date | None, zone: ZoneInfo) -> date:
    """The local date holding the window's end (the day after, when it ends at midnight), so a
    window cut at mid-day leaves the rest of that day to the next request. A request that
    started at `from_day`'s midnight gets a later date, so a client following nextFromDate
    with the same intervalLength always moves forward; and nothing before `lo` (now plus the
    notice, or the profile's start) can be a slot, so an empty window in the past jumps there."""
    days = [hi.astimezone(zone).date(), lo.astimezone(zone).date()]
    if from_day is not None:
        days.append(from_day + timedelta(days=1))
    return max(days)


def _check_window(query: MeetingQuery) -> None:
    if query.timeMin is not None and query.timeMax is not None and query.timeMax <= query.timeMin:
        why = f"{query.timeMax.isoformat()} must be after timeMin ({query.timeMin.isoformat()})"
        raise ApiError(400, f"Invalid input: timeMax {why}", fields={"timeMax": [why]})


@account.get("/profiles/{id}/meeting", response={200: AvailabilityOut, **ERRORS}, exclude_none=True)
def account_meeting_times(
    request: HttpRequest, id: int, query: Query[MeetingQuery]
) -> dict[str, Any]:
    """Free slots; an inactive profile answers 200 with no items."""
    return _availability(_own_profile(request, id), query)


@public.get(
    "/{handle}/{name}/meeting", response={200: AvailabilityOut, **ERRORS}, exclude_none=True
)
def public_meeting_times(
    request: HttpRequest, handle: str, name: str, query: Query[MeetingQuery]
) -> dict[str, Any]:
    """Free slots of an active profile, no token needed; an inactive one is 404."""
    return _availability(_public_profile(handle, name), query)


# --- booking --------------------------------------------------------------------------------


def _create_meeting(profile: Profile, payload: MeetingIn, reserve: int | None) -> dict[str, Any]:
    info = payload.schedulerInfo
    name = (info.name if info and info.name else None) or payload.name or ""
    email = (info.email if info and info.email else None) or payload.email or ""
    booking = booking_ops.book(
        profile,
        start=payload.time.start.astimezone(UTC),
        end=payload.time.end.astimezone(UTC),
        name=name,
        email=email,
        substitution_data=payload.substitutionData,
        reserve_minutes=reserve,
    )
    answer = booking_out(booking)
    answer.update({"created": True, "rescheduleToken": booking_ops.manage_token(booking)})
    if booking.status == Booking.Status.RESERVED:
        answer["reservationId"] = answer["ReservationId"] = booking.pk
    return answer


@account.post(
    "/profiles/{id}/meeting", response={201: BookingCreatedOut, **ERRORS}, exclude_none=True
)
def account_create_meeting(
    request: HttpRequest,
    id: int,
    payload: MeetingIn,
    reserveForMinutes: int | None = Query(None, ge=1, le=7 * 24 * 60),
) -> Status:
    """Book a slot; `reserveForMinutes` holds it unconfirmed for that long instead."""
    return Status(201, _create_meeting(_own_profile(request, id), payload, reserveForMinutes))


def _rate_limit(request: HttpRequest) -> None:
    """At most PUBLIC_BOOKING_RATE_LIMIT public API bookings per client address per hour."""
    from scheduler import ratelimit

    limit = settings.PUBLIC_BOOKING_RATE_LIMIT
    retry = ratelimit.hit("api-book", ratelimit.client_ip(request), limit) if limit > 0 else None
    if retry is not None:
        raise ApiError(
            429,
            f"Too many bookings from this address; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )


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
    profile = _public_profile(handle, name)
    _rate_limit(request)
    return Status(201, _create_meeting(profile, payload, None))


# --- reservations and bookings --------------------------------------------------------------


@account.post("/reservations/{id}/confirm", response={200: BookingOut, **ERRORS}, exclude_none=True)
def confirm_reservation(request: HttpRequest, id: int) -> dict[str, Any]:
    """A live reservation becomes a confirmed booking."""
    return booking_out(booking_ops.confirm(_own_booking(request, id)))


@account.delete("/reservations/{id}", response={200: StatusOk, **ERRORS})
def release_reservation(request: HttpRequest, id: int) -> dict[str, str]:
    """The reservation is let go and becomes cancelled."""
    booking_ops.release(_own_booking(request, id))
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
    bookings = Booking.objects.filter(account=request.auth)
    if status:
        bookings = bookings.filter(status=status)
    if timeMin:
        bookings = bookings.filter(end__gt=timeMin)
    if timeMax:
        bookings = bookings.filter(start__lt=timeMax)
    rows = bookings.select_related("account", "profile").order_by("start", "id")
    records = [booking_out(b) for b in rows[offset : offset + limit]]
    return page(records, offset, bookings.count())


@account.get("/bookings/{id}", response={200: BookingOut, **ERRORS}, exclude_none=True)
def get_booking(request: HttpRequest, id: int) -> dict[str, Any]:
    return booking_out(_own_booking(request, id))


@account.delete("/bookings/{id}", response={200: StatusOk, **ERRORS})
def cancel_booking(request: HttpRequest, id: int) -> dict[str, str]:
    """Cancel: the invitee gets METHOD:CANCEL and the calendar event goes."""
    booking_ops.cancel(_own_booking(request, id))
    return OK


@account.post("/bookings/{id}/reschedule", response={200: BookingOut, **ERRORS}, exclude_none=True)
def reschedule_booking(request: HttpRequest, id: int, payload: RescheduleIn) -> dict[str, Any]:
    """Extension: move a confirmed booking to another free slot (UID kept, SEQUENCE up)."""
    moved = booking_ops.reschedule(
        _own_booking(request, id),
        start=payload.time.start.astimezone(UTC),
        end=payload.time.end.astimezone(UTC),
    )
    return booking_out(moved)


# --- calendars ------------------------------------------------------------------------------


def _calendar_errors(payload: CalendarIn) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if payload.type == "ics" and payload.role == "primary":
        errors["role"] = ["an ics feed is read-only; it can only be 'busy'"]
    if payload.type == "builtin" and payload.role == "busy":
        errors["role"] = ["the builtin calendar can only be 'primary'"]
    if payload.type in ("ics", "caldav"):
        url = payload.url or ""
        if not url.lower().startswith(("http://", "https://")):
            errors["url"] = [f"{url!r} is not an http(s) URL; a {payload.type} calendar needs one"]
        else:
            from scheduler.schemas import _http_url

            try:
                _http_url(url)
                if urlsplit(url).password is not None:
                    raise ValueError(
                        f"{_without_secrets(url, Calendar())!r} holds a password; "
                        "send it as 'password' instead, which is never returned"
                    )
                _check_ssrf(url)
            except ValueError as exc:
                errors["url"] = [str(exc)]
    return errors


def _check_ssrf(url: str) -> None:
    try:
        from scheduler.calendars.ssrf import validate_calendar_url
    except ImportError:  # the calendars module has not landed yet
        return
    validate_calendar_url(url)


@account.get("/calendars", response={200: CalendarPage, **ERRORS}, exclude_none=True)
def list_calendars(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    """The account's calendars, the primary first; builtin is the default primary."""
    request.auth.primary_calendar()
    calendars = Calendar.objects.filter(account=request.auth).order_by("-role", "id")
    records = [calendar_out(c) for c in calendars[offset : offset + limit]]
    return page(records, offset, calendars.count())


@account.post("/calendars", response={201: CalendarOut, **ERRORS}, exclude_none=True)
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status:
    """Add a calendar; a new primary replaces the old one (see the README, API section)."""
    errors = _calendar_errors(payload)
    if errors:
        raise ApiError(400, "Invalid input: " + ", ".join(errors), fields=errors)
    owner: Account = request.auth
    with transaction.atomic():
        Account.objects.select_for_update().get(pk=owner.pk)
        current = owner.calendars.filter(role=Calendar.Role.PRIMARY).first()
        if payload.type == "builtin" and current and current.kind == Calendar.Kind.BUILTIN:
            raise ApiError(409, "The builtin calendar is already the primary", "conflict")
        if payload.role == "primary":
            _retire_primary(owner)
        calendar = Calendar.objects.create(
            account=owner,
            kind=payload.type,
            role=payload.role,
            name=payload.name or "",
            url=payload.url if payload.type != "builtin" and payload.url else "",
            username=payload.username or "",
            password=payload.password or "",
        )
    return Status(201, calendar_out(calendar))


def _retire_primary(owner: Account) -> None:
    """CalDAV primaries stay as busy sources; a builtin one has nothing to read, so it goes."""
    for old in Calendar.objects.filter(account=owner, role=Calendar.Role.PRIMARY):
        if old.kind == Calendar.Kind.CALDAV:
            old.role = Calendar.Role.BUSY
            old.save(update_fields=["role"])
        else:
            old.delete()


@account.delete("/calendars/{id}", response={200: StatusOk, **ERRORS})
def delete_calendar(request: HttpRequest, id: int) -> dict[str, str]:
    """Remove a calendar; without a primary the builtin one becomes primary again."""
    calendar = _get(Calendar.objects.filter(account=request.auth), id, "calendar")
    if calendar.kind == Calendar.Kind.BUILTIN and calendar.role == Calendar.Role.PRIMARY:
        raise ApiError(
            409,
            "The builtin calendar is the default primary; add another primary to replace it",
            "conflict",
        )
    with transaction.atomic():
        calendar.delete()
    return OK


api.add_router("/book/account", account)
api.add_router("/book", public)
