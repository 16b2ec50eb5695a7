"""Pydantic schemas of the /v1/ API, with SPEC's camelCase names as attribute names.

Input models forbid unknown fields and take booleans and integers strictly (`"yes"` is not
true, `"30"` is not 30), so every malformed field becomes a 400 naming it. Semantic checks
that pydantic can do per field (time zones, periods, URLs, time-of-day order) live here
too, so one request reports all its bad fields at once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)

from scheduler.rules import zones
from scheduler.rules.availability import DAY_NAMES, instant_text
from scheduler.rules.schedule import (
    BOOKINGS_PER_DAY,
    BUFFER_MINUTES,
    DEADLINE_MINUTES,
    DURATION_MINUTES,
    NOTICE_MINUTES,
    RuleError,
    check_active_period,
    check_date_range,
    check_end,
    check_horizon,
    check_reminders,
    check_start,
    is_timezone,
)

# Instants far from now would overflow datetime arithmetic (a window end plus a day).
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000
MAX_OFFSET = 2**31 - 1


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL, so it would fail at the write instead of here.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL (\\u0000) characters")
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _aware_instant(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be an instant with a UTC offset, e.g. 2026-03-02T14:00:00Z")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"year {value.year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}")
    # In UTC from here on: Python takes offsets up to ±23:59, PostgreSQL only up to ±15:59.
    return value.astimezone(UTC)


# "2026-03-02T14:00:00 01:00": a "+01:00" offset whose "+" a query string turned into a space.
_PLUS_AS_SPACE = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+ \d{2}:?\d{2}$")


def _iso_text(value: Any) -> Any:
    # pydantic would read a number as seconds since 1970; SPEC's instants are ISO 8601 text.
    if not isinstance(value, str | datetime | date):
        raise ValueError(f"{value!r} is not an ISO 8601 text such as 2026-03-02T14:00:00Z")
    if isinstance(value, str) and _PLUS_AS_SPACE.match(value):
        raise ValueError(
            f"{value!r} has a space where its UTC offset's '+' should be: in a query string "
            "'+' means a space, so URL-encode it as %2B (or give the time in UTC with Z)"
        )
    return value


def _reasonable_date(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"year {value.year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}")
    return value


def check_period(value: str) -> str:
    """An ISO 8601 period no longer than the longest horizon (rules/schedule.py decides)."""
    try:
        return check_horizon(value)
    except RuleError as exc:
        raise ValueError(next(iter(exc.errors.values()))[0]) from None


def _timezone(value: str) -> str:
    if not is_timezone(value):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/London")
    return value


def _http_url(value: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except DjangoValidationError as exc:
        raise ValueError(f"{value!r} is not an http(s) URL") from exc
    return value


def _email(value: str) -> str:
    if value:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise ValueError(f"{value!r} is not an email address") from exc
    return value


TimeOfDay = Annotated[
    StrictStr, Field(pattern=r"^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$", examples=["09:00:00"])
]
Instant = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_aware_instant)]
LocalDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(_reasonable_date)]
Period = Annotated[StrictStr, Field(max_length=40), AfterValidator(check_period)]
TimeZone = Annotated[StrictStr, Field(max_length=64), AfterValidator(_timezone)]
HttpUrl = Annotated[StrictStr, Field(max_length=1000), AfterValidator(_http_url)]
Email = Annotated[StrictStr, Field(max_length=254), AfterValidator(_email)]
Slug = Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")]
DayOfWeek = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Step = Literal[5, 10, 15, 20, 30, 60]

assert tuple(DayOfWeek.__args__) == DAY_NAMES  # type: ignore[attr-defined]


# --- schedules ------------------------------------------------------------------------------


class WorkingIntervalIn(InputModel):
    """Times and their order are checked by the rules of rules/schedule.py (the ones the
    profile service applies), here too so that one request reports every bad field at once."""

    start: TimeOfDay
    end: TimeOfDay

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        check_start(value)
        return value

    @field_validator("end")
    @classmethod
    def _end(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None:
            check_end(check_start(start), value)
        return value


class DayScheduleIn(InputModel):
    dayOfWeek: DayOfWeek
    workingIntervals: list[WorkingIntervalIn] = Field(default_factory=list, max_length=48)


class WorkHoursIn(InputModel):
    """Weekly hours; without `daySchedules` the default week (Mon–Fri 09:00–17:00) applies in
    the given zone, while `daySchedules: []` means no weekly hours at all."""

    timezone: TimeZone | None = None
    daySchedules: list[DayScheduleIn] | None = Field(None, max_length=28)


class AvailabilityIntervalIn(InputModel):
    dateStartInclusive: LocalDate
    dateEndInclusive: LocalDate | None = None
    hours: list[WorkingIntervalIn] = Field(default_factory=list, max_length=48)

    @field_validator("dateEndInclusive")
    @classmethod
    def _ordered(cls, value: date | None, info: ValidationInfo) -> date | None:
        first = info.data.get("dateStartInclusive")
        if value is not None and first is not None:
            check_date_range(first, value)
        return value


class AvailabilityIntervalsIn(InputModel):
    intervals: list[AvailabilityIntervalIn] = Field(default_factory=list, max_length=500)


class WorkingIntervalOut(OutputModel):
    start: str = Field(pattern=r"^\d{2}:\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}:\d{2}$")


class DayScheduleOut(OutputModel):
    dayOfWeek: DayOfWeek
    workingIntervals: list[WorkingIntervalOut]


class WorkHoursOut(OutputModel):
    timezone: str
    daySchedules: list[DayScheduleOut]


class AvailabilityIntervalOut(OutputModel):
    dateStartInclusive: date
    dateEndInclusive: date
    hours: list[WorkingIntervalOut]


class AvailabilityIntervalsOut(OutputModel):
    intervals: list[AvailabilityIntervalOut]


# --- profiles -------------------------------------------------------------------------------


class ProfileIn(InputModel):
    """A new profile (SPEC §1); every field but `name` has a default."""

    name: Slug
    durationMinutes: StrictInt = Field(30, ge=DURATION_MINUTES.lo, le=DURATION_MINUTES.hi)
    availabilityStep: Step = 30
    bufferBetweenMinutes: StrictInt = Field(0, ge=BUFFER_MINUTES.lo, le=BUFFER_MINUTES.hi)
    startAfterMinutes: StrictInt = Field(60, ge=NOTICE_MINUTES.lo, le=NOTICE_MINUTES.hi)
    timeAvailableFor: Period = "P30D"
    startTime: Instant | None = None
    endTime: Instant | None = None
    subject: StrictStr = Field("", max_length=500)
    description: StrictStr = Field("", max_length=10_000)
    location: StrictStr = Field("", max_length=500)
    openMeetingUrl: HttpUrl | None = None
    startConference: StrictBool = False
    workHours: WorkHoursIn | None = None
    availabilityIntervals: AvailabilityIntervalsIn | None = None
    maxBookingsPerDay: StrictInt | None = Field(
        None, ge=BOOKINGS_PER_DAY.lo, le=BOOKINGS_PER_DAY.hi
    )
    active: StrictBool = True
    context: StrictStr = Field("", max_length=10_000)
    # Notifications (SPEC §9); reminders are checked by rules/schedule.check_reminders, which
    # names each bad value.
    reminderMinutes: list[Any] = Field(default_factory=list)
    cancelNoticeMinutes: StrictInt | None = Field(
        None, ge=DEADLINE_MINUTES.lo, le=DEADLINE_MINUTES.hi
    )
    rescheduleNoticeMinutes: StrictInt | None = Field(
        None, ge=DEADLINE_MINUTES.lo, le=DEADLINE_MINUTES.hi
    )
    requireEmailVerification: StrictBool = False

    @field_validator("reminderMinutes", mode="before")
    @classmethod
    def _reminders(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        try:
            return check_reminders(value)
        except RuleError as exc:
            raise ValueError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            ) from None

    @field_validator("endTime")
    @classmethod
    def _end_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        # The rule itself lives in rules/schedule.py; checked here too so that one request
        # reports every bad field at once.
        try:
            check_active_period(info.data.get("startTime"), value)
        except RuleError as exc:
            raise ValueError(exc.errors["endTime"][0]) from None
        return value


class ProfilePatch(ProfileIn):
    """A partial update: only the fields sent change; each is validated as on create."""

    name: Slug | None = None  # type: ignore[assignment]
    durationMinutes: StrictInt | None = Field(  # type: ignore[assignment]
        None, ge=DURATION_MINUTES.lo, le=DURATION_MINUTES.hi
    )
    availabilityStep: Step | None = None  # type: ignore[assignment]
    bufferBetweenMinutes: StrictInt | None = Field(  # type: ignore[assignment]
        None, ge=BUFFER_MINUTES.lo, le=BUFFER_MINUTES.hi
    )
    startAfterMinutes: StrictInt | None = Field(  # type: ignore[assignment]
        None, ge=NOTICE_MINUTES.lo, le=NOTICE_MINUTES.hi
    )
    timeAvailableFor: Period | None = None  # type: ignore[assignment]
    subject: StrictStr | None = Field(None, max_length=500)  # type: ignore[assignment]
    description: StrictStr | None = Field(None, max_length=10_000)  # type: ignore[assignment]
    location: StrictStr | None = Field(None, max_length=500)  # type: ignore[assignment]
    startConference: StrictBool | None = None  # type: ignore[assignment]
    active: StrictBool | None = None  # type: ignore[assignment]
    context: StrictStr | None = Field(None, max_length=10_000)  # type: ignore[assignment]
    reminderMinutes: list[Any] | None = None  # type: ignore[assignment]
    requireEmailVerification: StrictBool | None = None  # type: ignore[assignment]
    # Output-only fields, so a profile read by GET can be sent back as it is: a value equal
    # to the stored one is ignored, another is refused as read-only.
    id: StrictInt | None = None
    schedulerLink: StrictStr | None = None

    @field_validator(
        "name",
        "durationMinutes",
        "availabilityStep",
        "bufferBetweenMinutes",
        "startAfterMinutes",
        "timeAvailableFor",
        "subject",
        "description",
        "location",
        "startConference",
        "active",
        "context",
        "requireEmailVerification",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Unset fields keep their stored value; an explicit null has no meaning for these.
        if value is None:
            raise ValueError("may not be null")
        return value


class ProfileOut(OutputModel):
    id: int
    name: str
    durationMinutes: int
    availabilityStep: int
    bufferBetweenMinutes: int
    startAfterMinutes: int
    timeAvailableFor: str
    startTime: datetime | None = None
    endTime: datetime | None = None
    subject: str
    description: str
    location: str
    openMeetingUrl: str | None = None
    startConference: bool
    schedulerLink: str
    workHours: WorkHoursOut
    availabilityIntervals: AvailabilityIntervalsOut
    maxBookingsPerDay: int | None = None
    active: bool
    context: str
    reminderMinutes: list[int]
    cancelNoticeMinutes: int | None = None
    rescheduleNoticeMinutes: int | None = None
    requireEmailVerification: bool


class ProfilePage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[ProfileOut]


class StatusOk(OutputModel):
    status: Literal["Ok"] = "Ok"


# --- availability ---------------------------------------------------------------------------


class SlotOut(OutputModel):
    start: datetime
    end: datetime


class AdditionalFieldOut(OutputModel):
    name: str
    type: Literal["string"] = "string"
    default: str | None = None
    required: bool


class AvailabilityOut(OutputModel):
    items: list[SlotOut]
    offset: int
    totalSize: int
    done: bool
    startTime: datetime
    endTime: datetime
    timeAvailableFor: str
    durationMinutes: int
    availabilityStep: int
    subject: str
    additionalFields: list[AdditionalFieldOut]
    nextFromDate: date | None = None


# --- bookings -------------------------------------------------------------------------------


class MeetingTimeIn(InputModel):
    start: Instant
    end: Instant

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError(f"{instant_text(value)} must be after start ({instant_text(start)})")
        return value


def _zone_name(value: str) -> str:
    found = zones.canonical(value)
    if found is None:
        raise ValueError(
            f"{value!r} is not a time zone (an IANA name such as Asia/Tokyo, or a city)"
        )
    return found


class SchedulerInfoIn(InputModel):
    id: StrictStr | None = Field(None, max_length=200)  # Aurinko's read-only id; ignored
    name: StrictStr | None = Field(None, max_length=200)
    email: Email | None = None
    # The invitee's zone (SPEC §10): their mails and pages show times in it. An alias is
    # stored under its canonical name.
    timezone: Annotated[StrictStr, AfterValidator(_zone_name)] | None = None
    language: StrictStr | None = Field(None, max_length=35)


class MeetingIn(InputModel):
    """Aurinko's CreateMeetingDto. `groupXids` and `accountIds` narrow a group booking's hosts
    (SPEC §8); the account and public endpoints accept and ignore them."""

    time: MeetingTimeIn
    schedulerInfo: SchedulerInfoIn | None = None
    name: StrictStr | None = Field(None, max_length=200)
    email: Email | None = None
    # Values are checked by services/bookings.validate_substitution, which names each bad key.
    substitutionData: dict[str, Any] | None = None
    groupXids: list[StrictStr] | None = Field(None, max_length=100)
    accountIds: list[StrictInt] | None = Field(None, max_length=100)


class RescheduleIn(InputModel):
    time: MeetingTimeIn


class DeliveryOut(OutputModel):
    mail: Literal["pending", "done", "failed", "none"]
    calendar: Literal["pending", "done", "failed", "none"]


class BookingOut(OutputModel):
    id: str
    profileId: int | None = None
    timezone: str | None = None
    language: str | None = None
    # Group bookings (SPEC §8): the group profile, who attends, and the group chosen under one.
    groupProfileId: int | None = None
    accountIds: list[int] | None = None
    groupXid: str | None = None
    start: datetime
    end: datetime
    status: Literal["reserved", "confirmed", "cancelled"]
    name: str
    email: str
    substitutionData: dict[str, str]
    subject: str
    description: str
    location: str
    uid: str
    sequence: int
    expiresAt: datetime | None = None
    createdAt: datetime
    cancelUrl: str
    rescheduleUrl: str
    delivery: DeliveryOut


class BookingCreatedOut(BookingOut):
    created: bool
    rescheduleToken: str
    reservationId: int | None = None
    ReservationId: int | None = None


class BookingPage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[BookingOut]


# --- calendars ------------------------------------------------------------------------------


class CalendarIn(InputModel):
    type: Literal["builtin", "ics", "caldav"]
    role: Literal["primary", "busy"] = "busy"
    url: StrictStr | None = Field(None, max_length=2000)
    username: StrictStr | None = Field(None, max_length=200)
    password: StrictStr | None = Field(None, max_length=500)
    name: StrictStr | None = Field(None, max_length=200)


class CalendarOut(OutputModel):
    id: int
    type: Literal["builtin", "ics", "caldav"]
    role: Literal["primary", "busy"]
    name: str
    url: str | None = None
    username: str | None = None
    lastFetchedAt: datetime | None = None
    lastError: str | None = None
    createdAt: datetime


class CalendarPage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[CalendarOut]


# --- errors ---------------------------------------------------------------------------------


class ErrorBody(OutputModel):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(OutputModel):
    error: ErrorBody


class MeetingQuery(BaseModel):
    """The query of `GET …/meeting` (SPEC §3), shared by the account and public endpoints."""

    timeMin: Instant | None = None
    timeMax: Instant | None = None
    fromDate: LocalDate | None = None
    intervalLength: Period | None = None
    limit: int = Field(1000, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


# --- group booking (SPEC §8) ----------------------------------------------------------------

Required = Literal["one", "all"]
AccountIds = Annotated[list[StrictInt], Field(max_length=1000)]


class GroupProfileIn(ProfileIn):
    clientOrgId: StrictStr = Field("", max_length=200)
    required: Required = "all"


class GroupProfilePatch(ProfilePatch):
    clientOrgId: StrictStr | None = Field(None, max_length=200)  # type: ignore[assignment]
    required: Required | None = None  # type: ignore[assignment]

    @field_validator("clientOrgId", "required", mode="before")
    @classmethod
    def _group_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class GroupProfileOut(ProfileOut):
    clientOrgId: str
    required: Required


class GroupProfilePage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[GroupProfileOut]


class GroupSlotOut(OutputModel):
    start: datetime
    end: datetime
    accountIds: list[int]
    groupXids: list[str]


class GroupAvailabilityOut(AvailabilityOut):
    items: list[GroupSlotOut]  # type: ignore[assignment]


class GroupMeetingQuery(MeetingQuery):
    required: Required | None = None


class AccountIdsIn(InputModel):
    accountIds: AccountIds


class GroupIn(InputModel):
    extId: StrictStr = Field(min_length=1, max_length=200)
    accountIds: AccountIds
    required: Required = "all"


class GroupsIn(InputModel):
    groups: list[GroupIn] = Field(max_length=1000)


class GroupDetachIn(InputModel):
    extId: StrictStr = Field(min_length=1, max_length=200)
    accountIds: AccountIds | None = None


class GroupsDetachIn(InputModel):
    groups: list[GroupDetachIn] = Field(max_length=1000)


class AttachedAccountsOut(OutputModel):
    accountIds: list[int]


class AttachedAccountsPage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[AttachedAccountsOut]


class AttachedGroupOut(OutputModel):
    extId: str
    accountIds: list[int]
    required: Required


class AttachedGroupsPage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[AttachedGroupOut]


class DynamicAvailabilityIn(InputModel):
    timeMin: Instant
    timeMax: Instant
    profileIds: list[StrictInt] | None = Field(None, max_length=1000)
    profileNames: list[StrictStr] | None = Field(None, max_length=1000)
    required: Required | None = None

    @field_validator("timeMax")
    @classmethod
    def _max_after_min(cls, value: datetime, info: ValidationInfo) -> datetime:
        low = info.data.get("timeMin")
        if low is not None and value <= low:
            raise ValueError(f"{instant_text(value)} must be after timeMin ({instant_text(low)})")
        return value


class DynamicAvailabilityOut(OutputModel):
    profileIds: list[int]


class OrgAccountOut(OutputModel):
    id: int
    handle: str
    name: str
    email: str
    timezone: str


class OrgAccountPage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[OrgAccountOut]


# --- feeds ----------------------------------------------------------------------------------


class FeedKeyOut(OutputModel):
    """A new feed key and the two feed addresses that carry it (SPEC §9)."""

    key: str
    bookingsUrl: str
    freebusyUrl: str


# --- webhooks (SPEC §9) ---------------------------------------------------------------------
# `url` and `events` are checked by services/webhooks.py (admin shares the rule), which names
# the field: an unknown event is an error of `events`, not of `events[2]`.


class WebhookIn(InputModel):
    url: StrictStr = Field(max_length=2000)
    events: list[StrictStr] = Field(max_length=100)
    active: StrictBool = True


class WebhookPatch(InputModel):
    url: StrictStr | None = Field(None, max_length=2000)
    events: list[StrictStr] | None = Field(None, max_length=100)
    active: StrictBool | None = None

    @field_validator("url", "events", "active", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class WebhookOut(OutputModel):
    id: int
    url: str
    events: list[str]
    active: bool
    createdAt: datetime
    deactivatedAt: datetime | None = None
    deactivatedReason: str | None = None


class WebhookCreatedOut(WebhookOut):
    secret: str


class WebhookPage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[WebhookOut]


class WebhookDeliveryOut(OutputModel):
    at: datetime
    status: int | None = None
    error: str
    messageId: str
    type: str


class WebhookDeliveryPage(OutputModel):
    offset: int
    totalSize: int
    done: bool
    records: list[WebhookDeliveryOut]


# --- the account itself (SPEC §10 "Details") ------------------------------------------------
# `timezone` and `embedOrigins` are checked by services/accounts.py (admin shares the rules),
# which names the field and stores an alias zone under its canonical name.


class AccountOut(OutputModel):
    id: int
    handle: str
    name: str
    email: str
    timezone: str
    embedOrigins: list[str]


class AccountPatch(InputModel):
    name: StrictStr | None = Field(None, max_length=200)
    timezone: StrictStr | None = Field(None, max_length=64)
    embedOrigins: list[StrictStr] | None = Field(None, max_length=100)
    # Output only; sent back unchanged (a GET's body, edited) they are ignored.
    id: StrictInt | None = None
    handle: StrictStr | None = None
    email: StrictStr | None = None

    @field_validator("name", "timezone", "embedOrigins", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value
