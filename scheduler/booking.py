"""Book, reserve, confirm, release, cancel and reschedule (SPEC §5).

Each operation is one transaction that first locks the account row, so bookings of one
account are serialised (on SQLite the IMMEDIATE transaction mode takes the write lock at
BEGIN; on PostgreSQL `SELECT … FOR UPDATE`), then recomputes the slot with availability.py,
then writes. Mail and calendar work is queued only after commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduler import availability, variables
from scheduler.calendars import account_busy
from scheduler.models import Account, Booking, Calendar, Delivery, Profile

MANAGE_SALT = "scheduler.booking.manage"


class BookingError(Exception):
    """Bad input for a booking; `fields` names each bad field."""

    def __init__(self, message: str, fields: Mapping[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class SlotUnavailable(Exception):
    """The requested time is not (or no longer) a free slot."""


class NotAllowed(Exception):
    """The operation does not apply to the booking in its current state."""


@dataclass(frozen=True)
class Availability:
    lo: datetime
    hi: datetime
    slots: list[tuple[datetime, datetime]]
    horizon: datetime


def _bookings_per_day(
    profile: Profile,
    zone: ZoneInfo,
    lo: datetime,
    hi: datetime,
    now: datetime,
    exclude_id: int | None = None,
) -> dict[date, int]:
    if not profile.max_bookings_per_day:
        return {}
    rows = Booking.objects.filter(profile=profile).live(now)
    rows = rows.overlapping(lo - timedelta(days=2), hi + timedelta(days=2))
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return dict(Counter(s.astimezone(zone).date() for s in rows.values_list("start", flat=True)))


def compute(
    profile: Profile,
    now: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    exclude_booking_id: int | None = None,
) -> Availability:
    """The profile's free slots in the window `[lo, hi)` of SPEC §3 rule 1."""
    now = now or timezone.now()
    rules = profile.rules()
    lo, hi = availability.window(rules, now, start, end)
    horizon = availability.horizon_end(rules, now)
    if not profile.active or hi <= lo:
        return Availability(lo, hi, [], horizon)
    buffer = timedelta(minutes=rules.buffer_minutes)
    busy = account_busy(
        profile.account,
        lo - buffer,
        hi + buffer,
        now=now,
        exclude_booking_id=exclude_booking_id,
        tz=rules.zone,  # all-day and floating events are read in the profile's zone (§3)
    )
    per_day = _bookings_per_day(profile, rules.zone, lo, hi, now, exclude_booking_id)
    slots = availability.slots_in_window(rules, busy, lo, hi, per_day)
    return Availability(lo, hi, slots, horizon)


def _check_slot(
    profile: Profile, start: datetime, end: datetime, now: datetime, exclude_id: int | None = None
) -> None:
    found = compute(
        profile,
        now,
        start - timedelta(minutes=1),
        end + timedelta(minutes=1),
        exclude_booking_id=exclude_id,
    )
    if (start, end) not in set(found.slots):
        raise SlotUnavailable(f"{start.isoformat()}–{end.isoformat()} is not a free slot")


def _lock_account(account_id: int) -> Account:
    return Account.objects.select_for_update().get(pk=account_id)


def manage_token(booking: Booking) -> str:
    """The unguessable token of the invitee's cancel/reschedule links."""
    return signing.Signer(salt=MANAGE_SALT).sign(f"{booking.pk}.{booking.secret}")


def booking_from_token(token: str) -> Booking | None:
    try:
        value = signing.Signer(salt=MANAGE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    pk, _, secret = value.partition(".")
    booking = Booking.objects.select_related("account", "profile").filter(pk=pk).first()
    if booking is None or booking.secret != secret:
        return None
    return booking


def manage_url(booking: Booking) -> str:
    return f"{settings.SITE_URL}/bookings/{manage_token(booking)}/"


def cancel_url(booking: Booking) -> str:
    return manage_url(booking) + "cancel/"


def reschedule_url(booking: Booking) -> str:
    return manage_url(booking) + "reschedule/"


def meeting_url(booking: Booking, profile: Profile | None) -> str:
    if booking.conference_url:
        return booking.conference_url
    return (profile.open_meeting_url or "") if profile else ""


def _render(booking: Booking, profile: Profile) -> None:
    """Fill subject, description and location from the profile's templates."""
    fields = variables.additional_fields(profile.subject, profile.description, profile.location)
    values = variables.values_for(fields, booking.substitution_data or {})
    zone = profile.rules().zone
    values.update(
        {
            "name": booking.name,
            "email": booking.email,
            "startTime": booking.start.astimezone(zone).isoformat(),
            "endTime": booking.end.astimezone(zone).isoformat(),
            "openMeetingUrl": meeting_url(booking, profile),
            "cancelUrl": cancel_url(booking),
            "rescheduleUrl": reschedule_url(booking),
            "rescheduleToken": manage_token(booking),
        }
    )
    booking.subject = variables.render(profile.subject, values)
    booking.description = variables.render(profile.description, values)
    booking.location = variables.render(profile.location, values)
    if not booking.location and booking.conference_url:
        booking.location = booking.conference_url


def validate_substitution(profile: Profile, data: Mapping[str, object] | None) -> dict[str, str]:
    """Unknown keys and missing required variables are errors naming each field."""
    data = dict(data or {})
    fields = variables.additional_fields(profile.subject, profile.description, profile.location)
    errors: dict[str, list[str]] = {}
    for key in variables.unknown_keys(fields, data):
        errors[f"substitutionData.{key}"] = ["is not a variable of this profile"]
    for key, value in data.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            errors[f"substitutionData.{key}"] = ["must be a string"]
        elif "\x00" in f"{key}{value}":
            errors[f"substitutionData.{key}"] = ["must not contain NUL (\\u0000) characters"]
    for key in variables.missing_required(fields, {k: v for k, v in data.items() if v is not None}):
        errors[f"substitutionData.{key}"] = ["is required"]
    if errors:
        raise BookingError("Invalid substitutionData", errors)
    return {k: str(v) for k, v in data.items() if v is not None}


def _after_commit(booking_id: int, mail: str | None, calendar: str | None) -> None:
    from scheduler import tasks

    def run() -> None:
        tasks.dispatch(booking_id, mail=mail, calendar=calendar)

    transaction.on_commit(run)


def _start_delivery(booking: Booking, mail: str | None, calendar: str | None) -> None:
    """Mark what must happen after commit; the builtin calendar is written right here."""
    if mail:
        booking.mail_state = Delivery.PENDING
        booking.mail_attempts = 0
        booking.mail_error = ""
    if calendar:
        primary = booking.account.primary_calendar()
        if primary.kind == Calendar.Kind.CALDAV:
            booking.calendar_state = Delivery.PENDING
            booking.calendar_attempts = 0
            booking.calendar_error = ""
        else:
            from scheduler.calendars import builtin

            if calendar == "remove":
                builtin.remove(primary, booking)
            else:
                builtin.write(primary, booking)
            booking.calendar_state = Delivery.DONE
            calendar = None
    booking.save()
    if mail or calendar:
        _after_commit(booking.pk, mail, calendar)


def book(
    profile: Profile,
    *,
    start: datetime,
    end: datetime,
    name: str = "",
    email: str = "",
    substitution_data: Mapping[str, object] | None = None,
    reserve_minutes: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Take `[start, end)` if it is a free slot right now; otherwise SlotUnavailable."""
    data = validate_substitution(profile, substitution_data)
    if reserve_minutes is not None and not 1 <= reserve_minutes <= 7 * 24 * 60:
        raise BookingError(
            "Invalid reserveForMinutes", {"reserveForMinutes": ["must be between 1 and 10080"]}
        )
    try:
        with transaction.atomic():
            _lock_account(profile.account_id)
            now = now or timezone.now()
            profile = Profile.objects.select_related("account").get(pk=profile.pk)
            if not profile.active:
                raise SlotUnavailable("This profile is not active")
            _expire_reservations(profile.account_id, start, end, now)
            _check_slot(profile, start, end, now)
            reserved = reserve_minutes is not None
            booking = Booking.objects.create(
                account=profile.account,
                profile=profile,
                start=start,
                end=end,
                status=Booking.Status.RESERVED if reserved else Booking.Status.CONFIRMED,
                expires_at=now + timedelta(minutes=reserve_minutes) if reserved else None,
                name=name,
                email=email,
                substitution_data=data,
            )
            if profile.start_conference:
                booking.conference_url = settings.CONFERENCE_URL_TEMPLATE.format(
                    uid=booking.uid.split("@")[0]
                )
            _render(booking, profile)
            if reserved:
                booking.save()
            else:
                _start_delivery(booking, mail="request", calendar="write")
            return booking
    except IntegrityError as exc:
        # The PostgreSQL exclusion constraint caught what the lock should have: still a 409.
        raise SlotUnavailable("The slot was just taken") from exc


def _expire_reservations(account_id: int, start: datetime, end: datetime, now: datetime) -> None:
    """Expired reservations stop blocking by themselves; mark the ones in the way so the
    database constraint agrees with the rule."""
    Booking.objects.filter(
        account_id=account_id,
        status=Booking.Status.RESERVED,
        expires_at__lte=now,
        start__lt=end + timedelta(days=1),
        end__gt=start - timedelta(days=1),
    ).update(status=Booking.Status.CANCELLED, cancelled_at=now)


def _locked_booking(booking_id: int, account_id: int) -> Booking:
    _lock_account(account_id)
    return Booking.objects.select_related("account", "profile").get(pk=booking_id)


def confirm(booking: Booking, now: datetime | None = None) -> Booking:
    """A live reservation becomes a confirmed booking."""
    with transaction.atomic():
        booking = _locked_booking(booking.pk, booking.account_id)
        now = now or timezone.now()
        if booking.status != Booking.Status.RESERVED:
            raise NotAllowed(f"Booking {booking.pk} is {booking.status}, not a reservation")
        if not booking.is_live(now):
            raise SlotUnavailable("The reservation has expired")
        booking.status = Booking.Status.CONFIRMED
        booking.expires_at = None
        _start_delivery(booking, mail="request", calendar="write")
        return booking


def release(booking: Booking, now: datetime | None = None) -> Booking:
    """A reservation is let go (becomes cancelled); confirmed bookings are untouched."""
    with transaction.atomic():
        booking = _locked_booking(booking.pk, booking.account_id)
        if booking.status == Booking.Status.CONFIRMED:
            raise NotAllowed(f"Booking {booking.pk} is confirmed; cancel it instead")
        if booking.status == Booking.Status.RESERVED:
            booking.status = Booking.Status.CANCELLED
            booking.cancelled_at = now or timezone.now()
            booking.save()
        return booking


def cancel(booking: Booking, now: datetime | None = None) -> Booking:
    """Cancel a booking: CANCEL mail with a higher SEQUENCE, event removed. Idempotent."""
    with transaction.atomic():
        booking = _locked_booking(booking.pk, booking.account_id)
        if booking.status == Booking.Status.CANCELLED:
            return booking
        was_confirmed = booking.status == Booking.Status.CONFIRMED
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = now or timezone.now()
        if was_confirmed:
            booking.sequence += 1
            _start_delivery(booking, mail="cancel", calendar="remove")
        else:
            booking.save()
        return booking


def reschedule(
    booking: Booking, *, start: datetime, end: datetime, now: datetime | None = None
) -> Booking:
    """Move a confirmed booking to another free slot of its profile; UID kept, SEQUENCE up."""
    with transaction.atomic():
        booking = _locked_booking(booking.pk, booking.account_id)
        now = now or timezone.now()
        if booking.status != Booking.Status.CONFIRMED:
            raise NotAllowed(f"Booking {booking.pk} is {booking.status}; it cannot be moved")
        profile = booking.profile
        if profile is None:
            raise NotAllowed("The booking's profile no longer exists")
        _expire_reservations(booking.account_id, start, end, now)
        _check_slot(profile, start, end, now, exclude_id=booking.pk)
        if (booking.start, booking.end) == (start, end):
            return booking  # its own time: nothing moves, so no new SEQUENCE and no mail
        booking.start, booking.end = start, end
        booking.sequence += 1
        _render(booking, profile)
        try:
            with transaction.atomic():
                _start_delivery(booking, mail="request", calendar="write")
        except IntegrityError as exc:
            raise SlotUnavailable("The slot was just taken") from exc
        return booking
