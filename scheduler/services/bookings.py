"""Book, reserve, confirm, release, cancel and reschedule (SPEC §5).

Each operation makes the account's external calendars fresh first (I/O, no lock held), then
runs one transaction that locks the account row, so bookings of one account are serialised
(on SQLite the IMMEDIATE transaction mode takes the write lock at BEGIN; on PostgreSQL
`SELECT … FOR UPDATE`), recomputes the slot from stored copies only, and writes. Mail and
CalDAV work is queued in the same transaction (it runs after commit); the builtin calendar is a
table, written in the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduler import invites, retries
from scheduler.calendars import refresh, sync
from scheduler.calendars.ical import Method
from scheduler.calendars.sync import Action
from scheduler.models import Account, Booking, Delivery, Profile
from scheduler.rules import schedule, variables
from scheduler.rules.availability import instant_text
from scheduler.services.availability import is_free
from scheduler.services.errors import Conflict, InvalidInput, SlotUnavailable


def _check_slot(
    profile: Profile, start: datetime, end: datetime, now: datetime, exclude_id: int | None = None
) -> None:
    if not is_free(profile, start, end, now, exclude_id):
        raise SlotUnavailable(f"{instant_text(start)}–{instant_text(end)} is not a free slot")


# Written by the mail task alone (outside the account lock): a booking saved here from an
# earlier read must never put back an older list, or a retry would send a message again.
_TASK_OWNED = frozenset({"mail_sent"})
_SAVED_FIELDS = [
    f.name for f in Booking._meta.concrete_fields if not f.primary_key and f.name not in _TASK_OWNED
]


def _save(booking: Booking) -> None:
    booking.save(update_fields=_SAVED_FIELDS)


def _lock_account(account_id: int) -> Account:
    return Account.objects.select_for_update().get(pk=account_id)


def _make_fresh(profile: Profile, end: datetime, now: datetime | None) -> None:
    """Read the calendars the slot check needs before the lock: never I/O under it."""
    until = end + timedelta(minutes=profile.buffer_between_minutes)
    refresh.make_fresh(profile.account, now, until=until)


def render(booking: Booking, profile: Profile) -> None:
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
            "openMeetingUrl": booking.meeting_url(),
            "cancelUrl": booking.cancel_url(),
            "rescheduleUrl": booking.reschedule_url(),
            "rescheduleToken": booking.manage_token(),
        }
    )
    booking.subject = variables.render(profile.subject, values)
    booking.description = variables.render(profile.description, values)
    booking.location = variables.render(profile.location, values)
    if not booking.location and booking.conference_url:
        booking.location = booking.conference_url


def validate_substitution(profile: Profile, data: Mapping[str, object] | None) -> dict[str, str]:
    """Values must be strings (or null, meaning not given) of at most
    `variables.MAX_VALUE_LENGTH` characters; unknown keys and missing required variables are
    errors naming each field."""
    data = dict(data or {})
    fields = variables.additional_fields(profile.subject, profile.description, profile.location)
    errors: dict[str, list[str]] = {}
    for key in variables.unknown_keys(fields, data):
        errors[f"substitutionData.{key}"] = ["is not a variable of this profile"]
    for key, value in data.items():
        if value is not None and not isinstance(value, str):
            errors[f"substitutionData.{key}"] = [f"{value!r} is not a string"]
        elif "\x00" in f"{key}{value}":
            errors[f"substitutionData.{key}"] = ["must not contain NUL (\\u0000) characters"]
        elif value is not None and len(value) > variables.MAX_VALUE_LENGTH:
            errors[f"substitutionData.{key}"] = [
                f"is {len(value)} characters long; at most {variables.MAX_VALUE_LENGTH} are allowed"
            ]
    for key in variables.missing_required(fields, {k: v for k, v in data.items() if v is not None}):
        errors[f"substitutionData.{key}"] = ["is required"]
    if errors:
        raise InvalidInput("Invalid substitutionData", errors)
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _deliver(booking: Booking, mail: Method | None, calendar: Action | None) -> None:
    """Mark what must happen after commit and save; the builtin calendar is written here."""
    if mail:
        booking.mail_state = Delivery.PENDING
        booking.mail_attempts = 0
        booking.mail_error = ""
    if calendar:
        primary = booking.account.primary_calendar()
        if sync.is_local(primary):
            sync.apply(booking, calendar, primary)
            booking.calendar_state = Delivery.DONE
            calendar = None
        else:
            booking.calendar_state = Delivery.PENDING
            booking.calendar_attempts = 0
            booking.calendar_error = ""
    _save(booking)
    # In this transaction: the booking and its background work commit together.
    if mail:
        retries.enqueue(invites.deliver_mail, booking.pk, mail.value, booking.sequence)
    if calendar:
        retries.enqueue(sync.sync_calendar, booking.pk, calendar.value, booking.sequence)


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
    if reserve_minutes is not None:
        try:
            schedule.RESERVE_MINUTES.check(reserve_minutes, "reserveForMinutes")
        except schedule.RuleError as exc:
            raise InvalidInput("Invalid reserveForMinutes", exc.errors) from exc
    _make_fresh(profile, end, now)
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
            render(booking, profile)
            if reserved:
                _save(booking)
            else:
                _deliver(booking, Method.REQUEST, Action.WRITE)
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
            raise Conflict(f"Booking {booking.pk} is {booking.status}, not a reservation")
        if not booking.is_live(now):
            raise SlotUnavailable("The reservation has expired")
        booking.status = Booking.Status.CONFIRMED
        booking.expires_at = None
        _deliver(booking, Method.REQUEST, Action.WRITE)
        return booking


def release(booking: Booking, now: datetime | None = None) -> Booking:
    """A reservation is let go (becomes cancelled); confirmed bookings are untouched."""
    with transaction.atomic():
        booking = _locked_booking(booking.pk, booking.account_id)
        if booking.status == Booking.Status.CONFIRMED:
            raise Conflict(f"Booking {booking.pk} is confirmed; cancel it instead")
        if booking.status == Booking.Status.RESERVED:
            booking.status = Booking.Status.CANCELLED
            booking.cancelled_at = now or timezone.now()
            _save(booking)
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
            _deliver(booking, Method.CANCEL, Action.REMOVE)
        else:
            _save(booking)
        return booking


def reschedule(
    booking: Booking, *, start: datetime, end: datetime, now: datetime | None = None
) -> Booking:
    """Move a confirmed booking to another free slot of its profile; UID kept, SEQUENCE up."""
    if booking.profile is not None:
        _make_fresh(booking.profile, end, now)
    with transaction.atomic():
        booking = _locked_booking(booking.pk, booking.account_id)
        now = now or timezone.now()
        if booking.status != Booking.Status.CONFIRMED:
            raise Conflict(f"Booking {booking.pk} is {booking.status}; it cannot be moved")
        profile = booking.profile
        if profile is None:
            raise Conflict("The booking's profile no longer exists")
        _expire_reservations(booking.account_id, start, end, now)
        _check_slot(profile, start, end, now, exclude_id=booking.pk)
        if (booking.start, booking.end) == (start, end):
            return booking  # its own time: nothing moves, so no new SEQUENCE and no mail
        booking.start, booking.end = start, end
        booking.sequence += 1
        render(booking, profile)
        try:
            with transaction.atomic():
                _deliver(booking, Method.REQUEST, Action.WRITE)
        except IntegrityError as exc:
            raise SlotUnavailable("The slot was just taken") from exc
        return booking
