"""Creating and changing booking profiles (SPEC §1): one set of rules for every adapter.

Changes are keyed by SPEC's field names (the names errors must use); each is checked with the
rules in rules/schedule.py, then the whole profile (stored values plus changes) is checked
once more for what spans fields (the active period), and saved under the one-name-per-account
rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from scheduler.models import Account, Organization, Profile
from scheduler.rules import schedule
from scheduler.rules.schedule import RuleError
from scheduler.services.errors import Conflict, InvalidInput

# SPEC's name of each field → the model's column.
COLUMNS = {
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
    "reminderMinutes": "reminder_minutes",
    "cancelNoticeMinutes": "cancel_notice_minutes",
    "rescheduleNoticeMinutes": "reschedule_notice_minutes",
    "requireEmailVerification": "require_email_verification",
}
# Group profiles' own fields (SPEC §8).
GROUP_COLUMNS = {**COLUMNS, "clientOrgId": "client_org_id", "required": "required"}
# Fields that may be null (meaning "none"); the others must hold a value when sent.
NULLABLE = frozenset(
    {
        "startTime",
        "endTime",
        "openMeetingUrl",
        "workHours",
        "availabilityIntervals",
        "maxBookingsPerDay",
        "cancelNoticeMinutes",
        "rescheduleNoticeMinutes",
    }
)
_LIMITS = {
    "durationMinutes": schedule.DURATION_MINUTES,
    "bufferBetweenMinutes": schedule.BUFFER_MINUTES,
    "startAfterMinutes": schedule.NOTICE_MINUTES,
    "maxBookingsPerDay": schedule.BOOKINGS_PER_DAY,
    "cancelNoticeMinutes": schedule.DEADLINE_MINUTES,
    "rescheduleNoticeMinutes": schedule.DEADLINE_MINUTES,
}


def _checked(field: str, value: Any) -> Any:
    """One field's value as stored; RuleError naming the field when it breaks a rule."""
    if value is None:
        if field not in NULLABLE:
            raise RuleError({field: ["may not be null"]})
        return None
    if field == "workHours":
        hours = dict(value)
        if "daySchedules" not in hours:  # the default week, in the zone given
            hours["daySchedules"] = schedule.default_work_hours()["daySchedules"]
        return schedule.normalize_work_hours(hours)
    if field == "availabilityIntervals":
        return schedule.normalize_availability_intervals(value)
    if field == "timeAvailableFor":
        return schedule.check_horizon(value)
    if field == "availabilityStep":
        return schedule.validate_step(value)
    if field == "reminderMinutes":
        return schedule.check_reminders(value)
    if field in _LIMITS:
        return _LIMITS[field].check(value, field)
    if field == "required" and value not in ("one", "all"):
        raise RuleError({field: [f"{value!r} is not one of one, all"]})
    return value


def _apply(profile: Profile, changes: Mapping[str, Any]) -> None:
    columns = GROUP_COLUMNS if profile.is_group else COLUMNS
    errors: dict[str, list[str]] = {}
    for field in sorted(changes):
        if field not in columns:
            errors[field] = ["unknown field"]
            continue
        try:
            setattr(profile, columns[field], _checked(field, changes[field]))
        except RuleError as exc:
            errors.update(exc.errors)
    if not errors:
        try:
            schedule.check_active_period(profile.start_time, profile.end_time)
        except RuleError as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput.of(errors)


def save(profile: Profile) -> Profile:
    """Save under the one-name-per-owner rule (Conflict when the name is taken)."""
    try:
        with transaction.atomic():
            clash = Profile.objects.filter(
                account_id=profile.account_id,
                organization_id=profile.organization_id,
                name=profile.name,
            )
            if clash.exclude(pk=profile.pk).exists():
                raise IntegrityError
            profile.save()
    except IntegrityError as exc:
        owner = "organization" if profile.is_group else "account"
        raise Conflict(f"The {owner} already has a profile named {profile.name!r}") from exc
    return profile


def create(owner: Account | Organization, changes: Mapping[str, Any]) -> Profile:
    """A new profile of an account, or a group profile of an organization: the fields
    given, defaults for the rest."""
    if isinstance(owner, Organization):
        profile = Profile(organization=owner)
    else:
        profile = Profile(account=owner)
    _apply(profile, changes)
    return save(profile)


def update(profile: Profile, changes: Mapping[str, Any]) -> Profile:
    """Change the fields given; the others keep their stored values."""
    _apply(profile, changes)
    return save(profile)


def delete(profile: Profile) -> None:
    """Remove a profile; its bookings stay (with no profile), so the host keeps their history."""
    profile.delete()
