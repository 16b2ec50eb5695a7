"""Pydantic schemas of the /v1/ API, with SPEC's camelCase names as attribute names.

Input models forbid unknown fields and take booleans and integers strictly (`"yes"` is not
true, `"30"` is not 30), so every malformed field becomes a 400 naming it. Semantic checks
that pydantic can do per field (time zones, periods, URLs, time-of-day order) live here
too, so one request reports all its bad fields at once.
"""

from __future__ import annotations

from datetime import date, datetime
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

from scheduler.availability import DAY_NAMES, parse_period, parse_time_of_day
from scheduler.schedule import is_timezone

# Instants far from now would overflow datetime arithmetic (a window end plus a day).
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000
# A horizon longer than this would make one availability request compute years of slots.
MAX_HORIZON_DAYS = 366 * 2
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
    return value


def _iso_text(value: Any) -> Any:
    # pydantic would read a number as seconds since 1970; SPEC's instants are ISO 8601 text.
    if not isinstance(value, str | datetime | date):
        raise ValueError(f"{value!r} is not an ISO 8601 text such as 2026-03-02T14:00:00Z")
    return value


def _reasonable_date(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"year {value.year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}")
    return value


def check_period(value: str) -> str:
    """An ISO 8601 period no longer than MAX_HORIZON_DAYS."""
    period = parse_period(value)
    approx_days = (
        period.years * 366 + period.months * 31 + period.weeks * 7 + period.days
    ) + period.seconds / 86400
    if approx_days > MAX_HORIZON_DAYS:
        raise ValueError(f"{value!r} is longer than the maximum of P{MAX_HORIZON_DAYS}D")
    return value


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
    start: TimeOfDay
    end: TimeOfDay

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        parse_time_of_day(value)
        return value

    @field_validator("end")
    @classmethod
    def _end(cls, value: str, info: ValidationInfo) -> str:
        end = parse_time_of_day(value, allow_end_of_day=True)
        start = info.data.get("start")
        if start is not None and parse_time_of_day(start) >= end:
            raise ValueError(f"{value!r} must be after start ({start})")
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
        if value is not None and first is not None and value < first:
            raise ValueError(f"{value} is before dateStartInclusive ({first})")
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
    durationMinutes: StrictInt = Field(30, ge=5, le=720)
    availabilityStep: Step = 30
    bufferBetweenMinutes: StrictInt = Field(0, ge=0, le=240)
    startAfterMinutes: StrictInt = Field(60, ge=0, le=525_600)
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
    maxBookingsPerDay: StrictInt | None = Field(None, ge=1, le=1000)
    active: StrictBool = True
    context: StrictStr = Field("", max_length=10_000)

    @field_validator("endTime")
    @classmethod
    def _end_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("startTime")
        if value is not None and start is not None and value <= start:
            raise ValueError(f"{value.isoformat()} must be after startTime ({start.isoformat()})")
        return value


class ProfilePatch(ProfileIn):
    """A partial update: only the fields sent change; each is validated as on create."""

    name: Slug | None = None  # type: ignore[assignment]
    durationMinutes: StrictInt | None = Field(None, ge=5, le=720)  # type: ignore[assignment]
    availabilityStep: Step | None = None  # type: ignore[assignment]
    bufferBetweenMinutes: StrictInt | None = Field(None, ge=0, le=240)  # type: ignore[assignment]
    startAfterMinutes: StrictInt | None = Field(None, ge=0, le=525_600)  # type: ignore[assignment]
    timeAvailableFor: Period | None = None  # type: ignore[assignment]
    subject: StrictStr | None = Field(None, max_length=500)  # type: ignore[assignment]
    description: StrictStr | None = Field(None, max_length=10_000)  # type: ignore[assignment]
    location: StrictStr | None = Field(None, max_length=500)  # type: ignore[assignment]
    startConference: StrictBool | None = None  # type: ignore[assignment]
    active: StrictBool | None = None  # type: ignore[assignment]
    context: StrictStr | None = Field(None, max_length=10_000)  # type: ignore[assignment]

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
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Unset fields keep their stored value; an explicit null has no meaning for these.
        if value is None:
            raise ValueError("may not be null")
        return value


# Fields a client may set to null (meaning "none"); the others must hold a value when sent.
NULLABLE_PROFILE_FIELDS = frozenset(
    {
        "startTime",
        "endTime",
        "openMeetingUrl",
        "workHours",
        "availabilityIntervals",
        "maxBookingsPerDay",
    }
)


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
            raise ValueError(f"{value.isoformat()} must be after start ({start.isoformat()})")
        return value


class SchedulerInfoIn(InputModel):
    id: StrictStr | None = Field(None, max_length=200)  # Aurinko's read-only id; ignored
    name: StrictStr | None = Field(None, max_length=200)
    email: Email | None = None


class MeetingIn(InputModel):
    """Aurinko's CreateMeetingDto: `groupXids` and `accountIds` are accepted and ignored."""

    time: MeetingTimeIn
    schedulerInfo: SchedulerInfoIn | None = None
    name: StrictStr | None = Field(None, max_length=200)
    email: Email | None = None
    # Values are checked by booking.validate_substitution, which names each bad key.
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


def page(records: list[Any], offset: int, total: int) -> dict[str, Any]:
    """SPEC's list envelope."""
    return {
        "offset": offset,
        "totalSize": total,
        "done": offset + len(records) >= total,
        "records": records,
    }


class MeetingQuery(BaseModel):
    """The query of `GET …/meeting` (SPEC §3), shared by the account and public endpoints."""

    timeMin: Instant | None = None
    timeMax: Instant | None = None
    fromDate: LocalDate | None = None
    intervalLength: Period | None = None
    limit: int = Field(1000, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
