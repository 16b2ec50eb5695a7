"""Book, reserve, confirm, release, cancel and reschedule (SPEC §5), for an account's own
profiles and group profiles (SPEC §8) alike.

Each operation makes the hosts' external calendars fresh first (I/O, no lock held), then runs
one transaction that locks every host account it may book, in ascending id order, so bookings
touching one account are serialised (on SQLite the IMMEDIATE transaction mode takes the write
lock at BEGIN; on PostgreSQL `SELECT … FOR UPDATE`), recomputes the slot (and, for a group
profile, who attends) from stored copies only, and writes. Mail and CalDAV work is queued in
the same transaction (it runs after commit); the builtin calendar is a table, written in the
transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduler import invites, retries
from scheduler.calendars import sync
from scheduler.calendars.ical import Method
from scheduler.calendars.sync import Action
from scheduler.models import Account, Attendee, Booking, Calendar, Delivery, Profile
from scheduler.rules import group, schedule, variables, zones
from scheduler.rules.availability import instant_text
from scheduler.services import availability, webhooks
from scheduler.services.errors import Conflict, InvalidInput, ServiceError, SlotUnavailable

# A booking counts for round robin's turns while it is live and starts at most this long ago.
TURN_WINDOW = timedelta(days=30)


def _not_free(start: datetime, end: datetime) -> SlotUnavailable:
    return SlotUnavailable(f"{instant_text(start)}–{instant_text(end)} is not a free slot")


def _check_slot(
    profile: Profile, start: datetime, end: datetime, now: datetime, exclude_id: int | None = None
) -> None:
    if not availability.is_free(profile, start, end, now, exclude_id):
        raise _not_free(start, end)


def _turns(profile: Profile, now: datetime, exclude_id: int | None) -> tuple[Counter, Counter]:
    """Live bookings of the profile (from 30 days ago on) per chosen unit and per attendee."""
    live = Booking.objects.filter(profile=profile, start__gte=now - TURN_WINDOW).live(now)
    if exclude_id is not None:
        live = live.exclude(pk=exclude_id)
    units = Counter(live.exclude(unit_key="").values_list("unit_key", flat=True))
    members = Counter(
        Attendee.objects.filter(booking__in=live).values_list("account_id", flat=True)
    )
    return units, members


@dataclass(frozen=True)
class Narrowing:
    """A group booking request's `accountIds` and `groupXids`: the hosts it may choose."""

    accounts: tuple[int, ...] = ()
    groups: tuple[str, ...] = ()


def check_narrowing(
    profile: Profile, narrowing: Narrowing, units: list[group.Unit] | None = None
) -> None:
    """Ids the profile does not hold are errors naming each by position."""
    units = profile.group_units() if units is None else units
    known_accounts = {a for u in units for a in u.members}
    known_groups = {u.ext_id for u in units if u.is_group}
    errors: dict[str, list[str]] = {}
    for i, account_id in enumerate(narrowing.accounts):
        if account_id not in known_accounts:
            errors[f"accountIds[{i}]"] = [f"account {account_id} is not a host of this profile"]
    for i, ext_id in enumerate(narrowing.groups):
        if ext_id not in known_groups:
            errors[f"groupXids[{i}]"] = [f"{ext_id!r} is not a group of this profile"]
    if errors:
        raise InvalidInput.of(errors)


def _choose(
    profile: Profile,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    mode: str,
    narrowing: Narrowing,
    exclude_id: int | None = None,
    found: availability.Hosts | None = None,
) -> group.Choice:
    """Who attends `[start, end)` (SPEC §8), or SlotUnavailable. `found` are the profile's
    hosts as read before the lock (the accounts locked)."""
    if not profile.is_group:
        _check_slot(profile, start, end, now, exclude_id)
        return group.Choice((profile.account_id,), "")
    found = found or availability.hosts(profile)
    free = availability.free_accounts_at(profile, start, end, now, exclude_id, found.accounts)
    choice = None
    if free is not None:
        unit_turns, member_turns = _turns(profile, now, exclude_id)
        choice = group.choose(
            found.units,
            free,
            mode,
            unit_turns=unit_turns,
            member_turns=member_turns,
            accounts=narrowing.accounts,
            groups=narrowing.groups,
        )
    if choice is None:
        raise _not_free(start, end)
    return choice


def likely_attendees(
    profile: Profile, items: Iterable[group.Item], now: datetime | None = None
) -> list[group.Choice | None]:
    """Who a booking at each of a group profile's free `items` (found under its own
    `required`) would get if made now: the choice `book` makes, for previews. Booking
    chooses again under the lock."""
    now = now or timezone.now()
    units = profile.group_units()
    unit_turns, member_turns = _turns(profile, now, None)
    return [
        group.choose(
            units,
            set(item.account_ids),  # only free units' free members: the same choice
            profile.required,
            unit_turns=unit_turns,
            member_turns=member_turns,
        )
        for item in items
    ]


def _set_attendees(booking: Booking, account_ids: Iterable[int]) -> list[int]:
    """Make `account_ids` (the organizer first) the booking's attendees; the ids removed."""
    wanted = list(account_ids)
    current = set(booking.attendees.values_list("account_id", flat=True))
    removed = sorted(current - set(wanted))
    booking.attendees.filter(account_id__in=removed).delete()
    copy = booking._attendee_copy()
    for position, account_id in enumerate(wanted):
        Attendee.objects.update_or_create(
            booking=booking, account_id=account_id, defaults={"position": position, **copy}
        )
    return removed


# Written by the mail task alone (outside the account lock): a booking saved here from an
# earlier read must never put back an older list, or a retry would send a message again.
_TASK_OWNED = frozenset({"mail_sent"})
_SAVED_FIELDS = [
    f.name for f in Booking._meta.concrete_fields if not f.primary_key and f.name not in _TASK_OWNED
]


def _save(booking: Booking) -> None:
    booking.save(update_fields=_SAVED_FIELDS)


def _lock_accounts(account_ids: Collection[int]) -> None:
    """Lock every account a booking may touch, in ascending id order (no deadlock between two
    bookings locking overlapping sets)."""
    ids = sorted(set(account_ids))
    locked = list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(ids):
        raise Conflict("A host of this booking no longer exists")


def _make_fresh(
    profile: Profile, end: datetime, now: datetime | None, found: availability.Hosts
) -> None:
    """Read the calendars the slot check needs before the lock: never I/O under it."""
    until = end + timedelta(minutes=profile.buffer_between_minutes)
    availability.make_fresh(profile, now, until=until, found=found)


def _add_attendees(booking: Booking, account_ids: Sequence[int]) -> None:
    """The hosts after the organizer (already an attendee) of a new booking."""
    copy = booking._attendee_copy()
    Attendee.objects.bulk_create(
        Attendee(booking=booking, account_id=a, position=i, **copy)
        for i, a in enumerate(account_ids[1:], start=1)
    )


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


def _deliver(
    booking: Booking,
    mail: Method | None,
    calendar: Action | None,
    *,
    removed: Collection[int] = (),
) -> None:
    """Mark what must happen after commit and save. Builtin calendars are written here; every
    attendee's primary gets the event, and hosts in `removed` lose theirs."""
    if mail:
        booking.mail_state = Delivery.PENDING
        booking.mail_attempts = 0
        booking.mail_error = ""
    remote: list[int] = []
    gone: list[int] = []
    if calendar:
        hosts = [(a, calendar) for a in booking.attendee_ids()]
        hosts += [(a, Action.REMOVE) for a in removed]
        primaries = primary_calendars([a for a, _ in hosts])
        local: dict[Action, list] = {}
        for account_id, action in hosts:
            primary = primaries[account_id]
            if sync.is_local(primary):
                local.setdefault(action, []).append(primary)
            else:
                (gone if action == Action.REMOVE else remote).append(account_id)
        for action, calendars in local.items():
            sync.apply_local(booking, action, calendars)
        booking.calendar_state = Delivery.PENDING if remote or gone else Delivery.DONE
        booking.calendar_attempts = 0
        booking.calendar_error = ""
    _save(booking)
    # In this transaction: the booking and its background work commit together.
    if mail:
        retries.enqueue(invites.deliver_mail, booking.pk, mail.value, booking.sequence)
    if mail == Method.REQUEST and booking.status == Booking.Status.CONFIRMED:
        _queue_reminders(booking)
    if remote:
        retries.enqueue(sync.sync_calendar, booking.pk, calendar.value, booking.sequence)
    if gone:
        retries.enqueue(
            sync.sync_calendar, booking.pk, Action.REMOVE.value, booking.sequence, sorted(gone)
        )


def _queue_reminders(booking: Booking) -> None:
    """One delayed task per reminder of the profile, at `start − m` (SPEC §9). A reminder
    whose time has passed is not sent; tasks queued for an earlier start see the booking
    moved and stop, so a reschedule re-times them by queueing its own."""
    profile = booking.profile
    if profile is None or not booking.email:
        return
    now = timezone.now()
    start_ts = int(booking.start.timestamp())
    for minutes in profile.reminder_minutes or ():
        at = booking.start - timedelta(minutes=minutes)
        if at > now:
            retries.enqueue_at(invites.send_reminder, at, booking.pk, minutes, start_ts)


class TooLate(ServiceError):
    """The invitee's deadline to cancel or move the booking has passed (SPEC §9)."""


def invitee_deadline(booking: Booking, action: str) -> datetime | None:
    """The instant after which the invitee may no longer `action` ("cancel" or
    "reschedule") the booking; None when the profile sets no deadline."""
    profile = booking.profile
    notice = None
    if profile is not None:
        notice = (
            profile.cancel_notice_minutes
            if action == "cancel"
            else (profile.reschedule_notice_minutes)
        )
    return None if notice is None else booking.start - timedelta(minutes=notice)


def invitee_too_late(booking: Booking, action: str, now: datetime | None = None) -> bool:
    deadline = invitee_deadline(booking, action)
    return deadline is not None and (now or timezone.now()) > deadline


def invitee_locale(timezone_name: str, language: str) -> tuple[str, str]:
    """The invitee's zone under its canonical name and their language tag (SPEC §10); an
    unknown zone is an error naming `timezone`, an unsupported language is left out."""
    zone = ""
    if timezone_name:
        zone = zones.canonical(timezone_name) or ""
        if not zone:
            why = (
                f"{timezone_name!r} is not a time zone (an IANA name such as Asia/Tokyo, or a city)"
            )
            raise InvalidInput.of({"timezone": [why]})
    return zone, supported_language(language)


def supported_language(tag: str) -> str:
    """`tag` (e.g. "de", "en-US") when the site speaks its language, else ""."""
    tag = (tag or "").strip().replace("_", "-")
    primary = tag.split("-")[0].lower()
    if not primary or primary not in {code for code, _ in settings.LANGUAGES} or len(tag) > 10:
        return ""
    parts = tag.split("-")
    return "-".join([primary, *(p.upper() if len(p) == 2 else p for p in parts[1:])])


def primary_calendars(account_ids: Collection[int]) -> dict[int, Calendar]:
    """Each account's primary calendar in one query; a builtin one is made where missing."""
    found = {
        c.account_id: c
        for c in Calendar.objects.filter(account_id__in=account_ids, role=Calendar.Role.PRIMARY)
    }
    for account in Account.objects.filter(pk__in=set(account_ids) - set(found)):
        found[account.pk] = account.primary_calendar()
    return found


def _mode(profile: Profile, required: str | None) -> str:
    if required is not None and required not in group.MODES:
        raise InvalidInput.of({"required": [f"{required!r} is not one of one, all"]})
    return required or profile.required


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
    required: str | None = None,
    narrowing: Narrowing = Narrowing(),
    verify: bool = False,
    timezone_name: str = "",
    language: str = "",
) -> Booking:
    """Take `[start, end)` if it is a free slot right now; otherwise SlotUnavailable.

    For a group profile, `required` (default: the profile's) and `narrowing` decide who
    attends (SPEC §8); the booking's account is the first attendee, its organizer. With
    `verify` (a public booking of a profile that requires it, SPEC §9) the slot is held for
    VERIFICATION_HOLD_MINUTES and the invitee gets one mail to confirm their address; the
    invite, notices, calendar event and webhooks wait for that.
    """
    data = validate_substitution(profile, substitution_data)
    zone_name, language = invitee_locale(timezone_name, language)
    if verify:
        reserve_minutes = settings.VERIFICATION_HOLD_MINUTES
    if reserve_minutes is not None:
        try:
            schedule.RESERVE_MINUTES.check(reserve_minutes, "reserveForMinutes")
        except schedule.RuleError as exc:
            raise InvalidInput("Invalid reserveForMinutes", exc.errors) from exc
    mode = _mode(profile, required)
    found = availability.hosts(profile)
    if profile.is_group:
        check_narrowing(profile, narrowing, found.units)
    _make_fresh(profile, end, now, found)
    hosts = found.ids
    if not hosts:
        raise _not_free(start, end)
    try:
        with transaction.atomic():
            _lock_accounts(hosts)
            now = now or timezone.now()
            profile = Profile.objects.select_related("account", "organization").get(pk=profile.pk)
            if not profile.active:
                raise SlotUnavailable("This profile is not active")
            _expire_reservations(hosts, start, end, now)
            choice = _choose(profile, start, end, now, mode=mode, narrowing=narrowing, found=found)
            reserved = reserve_minutes is not None
            booking = Booking.objects.create(
                account_id=choice.account_ids[0],
                profile=profile,
                start=start,
                end=end,
                status=Booking.Status.RESERVED if reserved else Booking.Status.CONFIRMED,
                expires_at=now + timedelta(minutes=reserve_minutes) if reserved else None,
                name=name,
                email=email,
                substitution_data=data,
                group_mode=mode if profile.is_group else "",
                unit_key=choice.unit_key,
                awaiting_verification=verify,
                timezone=zone_name,
                language=language,
            )
            _add_attendees(booking, choice.account_ids)
            if profile.start_conference:
                booking.conference_url = settings.CONFERENCE_URL_TEMPLATE.format(
                    uid=booking.uid.split("@")[0]
                )
            render(booking, profile)
            if verify:
                booking.mail_state = Delivery.PENDING
                _save(booking)
                retries.enqueue(invites.send_verification, booking.pk)
            elif reserved:
                _save(booking)
                webhooks.emit(booking, "reservation.created")
            else:
                _deliver(booking, Method.REQUEST, Action.WRITE)
                webhooks.emit(booking, "booking.created")
            return booking
    except IntegrityError as exc:
        # The PostgreSQL exclusion constraint caught what the lock should have: still a 409.
        raise SlotUnavailable("The slot was just taken") from exc


def _expire_reservations(
    account_ids: Collection[int], start: datetime, end: datetime, now: datetime
) -> None:
    """Expired reservations stop blocking by themselves; mark the ones in the way so the
    database constraint agrees with the rule."""
    expired = Attendee.objects.filter(
        account_id__in=account_ids,
        status=Booking.Status.RESERVED,
        expires_at__lte=now,
        start__lt=end + timedelta(days=1),
        end__gt=start - timedelta(days=1),
    )
    ids = list(expired.values_list("booking_id", flat=True).distinct())
    if ids:
        cancelled = Booking.Status.CANCELLED
        Booking.objects.filter(pk__in=ids).update(status=cancelled, cancelled_at=now)
        Attendee.objects.filter(booking_id__in=ids).update(status=cancelled)


def _locked_booking(booking_id: int) -> Booking:
    """Lock the booking's hosts (ascending ids), then read it afresh."""
    _lock_accounts(
        Attendee.objects.filter(booking_id=booking_id).values_list("account_id", flat=True)
    )
    return Booking.objects.select_related("account", "profile").get(pk=booking_id)


def confirm(booking: Booking, now: datetime | None = None) -> Booking:
    """A live reservation becomes a confirmed booking."""
    with transaction.atomic():
        booking = _locked_booking(booking.pk)
        now = now or timezone.now()
        if booking.status != Booking.Status.RESERVED:
            raise Conflict(f"Booking {booking.pk} is {booking.status}, not a reservation")
        if not booking.is_live(now):
            raise SlotUnavailable("The reservation has expired")
        verified = booking.awaiting_verification
        booking.status = Booking.Status.CONFIRMED
        booking.expires_at = None
        booking.awaiting_verification = False
        _deliver(booking, Method.REQUEST, Action.WRITE)
        webhooks.emit(booking, "booking.created" if verified else "reservation.confirmed")
        return booking


def verify(booking: Booking, now: datetime | None = None) -> Booking:
    """The invitee confirmed their address: the held booking becomes confirmed (once; a
    second confirmation changes nothing). SlotUnavailable when the hold has expired."""
    if booking.status == Booking.Status.CONFIRMED:
        return booking
    if not booking.awaiting_verification:
        raise Conflict(f"Booking {booking.pk} is {booking.status}; there is nothing to confirm")
    return confirm(booking, now)


def release(booking: Booking, now: datetime | None = None) -> Booking:
    """A reservation is let go (becomes cancelled); confirmed bookings are untouched."""
    with transaction.atomic():
        booking = _locked_booking(booking.pk)
        if booking.status == Booking.Status.CONFIRMED:
            raise Conflict(f"Booking {booking.pk} is confirmed; cancel it instead")
        if booking.status == Booking.Status.RESERVED:
            booking.status = Booking.Status.CANCELLED
            booking.cancelled_at = now or timezone.now()
            _save(booking)
            if not booking.awaiting_verification:
                webhooks.emit(booking, "reservation.released")
        return booking


def cancel(booking: Booking, now: datetime | None = None, *, by_invitee: bool = False) -> Booking:
    """Cancel a booking for every host: CANCEL mail with a higher SEQUENCE, events removed.
    Idempotent. The invitee may do it only until the profile's deadline (TooLate)."""
    with transaction.atomic():
        booking = _locked_booking(booking.pk)
        if booking.status == Booking.Status.CANCELLED:
            return booking
        if by_invitee and invitee_too_late(booking, "cancel", now):
            raise TooLate("The deadline to cancel this booking online has passed")
        was_confirmed = booking.status == Booking.Status.CONFIRMED
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = now or timezone.now()
        if was_confirmed:
            booking.sequence += 1
            _deliver(booking, Method.CANCEL, Action.REMOVE)
            webhooks.emit(booking, "booking.cancelled")
        else:
            _save(booking)
            if not booking.awaiting_verification:
                webhooks.emit(booking, "reservation.released")
        return booking


def reschedule(
    booking: Booking,
    *,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    by_invitee: bool = False,
) -> Booking:
    """Move a confirmed booking to another free slot of its profile; UID kept, SEQUENCE up.

    A group booking keeps its hosts when they are all free at the new time, and otherwise
    chooses again by the rule it was made under (SPEC §8); hosts no longer attending lose the
    event."""
    profile = booking.profile
    found = availability.hosts(profile) if profile is not None else None
    if profile is not None:
        _make_fresh(profile, end, now, found)
    hosts = set(booking.attendee_ids()) | set(found.ids if found else ())
    with transaction.atomic():
        _lock_accounts(hosts)
        booking = Booking.objects.select_related("account", "profile").get(pk=booking.pk)
        now = now or timezone.now()
        if booking.status != Booking.Status.CONFIRMED:
            raise Conflict(f"Booking {booking.pk} is {booking.status}; it cannot be moved")
        if by_invitee and invitee_too_late(booking, "reschedule", now):
            raise TooLate("The deadline to move this booking online has passed")
        profile = booking.profile
        if profile is None:
            raise Conflict("The booking's profile no longer exists")
        _expire_reservations(hosts, start, end, now)
        attendees = booking.attendee_ids()
        choice = group.Choice(tuple(attendees), booking.unit_key)
        if profile.is_group:
            accounts = list(Account.objects.filter(pk__in=attendees).prefetch_related("calendars"))
            free = availability.free_accounts_at(profile, start, end, now, booking.pk, accounts)
            if free is None or not set(attendees) <= free:
                mode = booking.group_mode or profile.required
                choice = _choose(
                    profile,
                    start,
                    end,
                    now,
                    mode=mode,
                    narrowing=Narrowing(),
                    exclude_id=booking.pk,
                    found=found,
                )
        else:
            _check_slot(profile, start, end, now, exclude_id=booking.pk)
        if (booking.start, booking.end) == (start, end) and list(choice.account_ids) == attendees:
            return booking  # its own time: nothing moves, so no new SEQUENCE and no mail
        booking.start, booking.end = start, end
        booking.account_id = choice.account_ids[0]
        booking.unit_key = choice.unit_key
        booking.sequence += 1
        render(booking, profile)
        try:
            with transaction.atomic():
                removed = _set_attendees(booking, choice.account_ids)
                _deliver(booking, Method.REQUEST, Action.WRITE, removed=removed)
                webhooks.emit(booking, "booking.rescheduled")
        except IntegrityError as exc:
            raise SlotUnavailable("The slot was just taken") from exc
        return booking
