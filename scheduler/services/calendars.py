"""Adding and removing an account's calendars: the rules the API and admin share.

- an ICS feed is read-only (busy only); the builtin calendar can only be the primary;
- ICS and CalDAV need an http(s) URL that passes the SSRF check and holds no password
  (passwords go in `password`, which is never shown again);
- one primary per account: a new primary replaces the old one (a CalDAV primary stays as a
  busy source; a builtin one has nothing to read, so it goes);
- the builtin primary can't be removed: add another primary to replace it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from scheduler import retries
from scheduler.calendars import refresh
from scheduler.calendars.ssrf import validate_calendar_url
from scheduler.models import Account, Calendar
from scheduler.services.errors import Conflict, InvalidInput


def check(kind: str, role: str, url: str) -> dict[str, list[str]]:
    """The errors of a calendar's kind, role and URL, by field name."""
    errors: dict[str, list[str]] = {}
    if kind == Calendar.Kind.ICS and role == Calendar.Role.PRIMARY:
        errors["role"] = ["an ics feed is read-only; it can only be 'busy'"]
    if kind == Calendar.Kind.BUILTIN and role == Calendar.Role.BUSY:
        errors["role"] = ["the builtin calendar can only be 'primary'"]
    if kind in (Calendar.Kind.ICS, Calendar.Kind.CALDAV):
        try:
            check_url(url, kind)
        except ValueError as exc:
            errors["url"] = [str(exc)]
    return errors


def check_url(url: str, kind: str) -> None:
    """ValueError unless `url` is an http(s) URL without a password that passes SSRF."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http(s) URL; a {kind} calendar needs one")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ValueError(f"{url!r} is not an http(s) URL") from exc
    if urlsplit(url).password is not None:
        raise ValueError(
            f"{Calendar.mask_secrets(url)!r} holds a password; "
            "send it as 'password' instead, which is never returned"
        )
    validate_calendar_url(url)


def _retire_primary(account_id: int, keep: Calendar | None = None) -> None:
    others = Calendar.objects.filter(account_id=account_id, role=Calendar.Role.PRIMARY)
    if keep is not None:
        others = others.exclude(pk=keep.pk)
    for old in others:
        if old.kind == Calendar.Kind.CALDAV:
            old.role = Calendar.Role.BUSY
            old.save(update_fields=["role"])
        else:
            old.delete()


def add(
    account: Account,
    *,
    kind: str,
    role: str = Calendar.Role.BUSY,
    name: str = "",
    url: str = "",
    username: str = "",
    password: str = "",
) -> Calendar:
    """A new calendar of `account`; a new primary replaces the old one."""
    errors = check(kind, role, url)
    if errors:
        raise InvalidInput.of(errors)
    with transaction.atomic():
        Account.objects.select_for_update().get(pk=account.pk)
        current = account.calendars.filter(role=Calendar.Role.PRIMARY).first()
        if kind == Calendar.Kind.BUILTIN and current and current.kind == Calendar.Kind.BUILTIN:
            raise Conflict("The builtin calendar is already the primary")
        if role == Calendar.Role.PRIMARY:
            _retire_primary(account.pk)
        external = kind != Calendar.Kind.BUILTIN
        calendar = Calendar.objects.create(
            # Marked as attempted now: its first read is queued below.
            last_attempt_at=timezone.now() if external else None,
            account=account,
            kind=kind,
            role=role,
            name=name,
            url=url if kind != Calendar.Kind.BUILTIN else "",
            username=username,
            password=password,
        )
        if external:
            # Read in the background right away, so no request waits on a first read.
            retries.enqueue(refresh.refresh_calendar, calendar.pk)
        return calendar


def change(calendar: Calendar, *, url_changed: bool) -> Calendar:
    """Save an edited calendar under the same rules as a new one (admin's change form). The
    URL is checked when it changed; the fetcher checks it again before every request anyway."""
    errors = check(calendar.kind, calendar.role, calendar.url)
    if not url_changed:
        errors.pop("url", None)
    if errors:
        raise InvalidInput.of(errors)
    with transaction.atomic():
        Account.objects.select_for_update().get(pk=calendar.account_id)
        if calendar.role == Calendar.Role.PRIMARY:
            _retire_primary(calendar.account_id, keep=calendar)
        if url_changed:
            # The copy was read from the old address: it says nothing about the new one.
            calendar.busy_intervals, calendar.busy_from, calendar.busy_until = [], None, None
            calendar.last_fetched_at, calendar.etag, calendar.last_modified = None, "", ""
        calendar.save()
        if url_changed and calendar.kind != Calendar.Kind.BUILTIN:
            retries.enqueue(refresh.refresh_calendar, calendar.pk)
    return calendar


def remove(calendar: Calendar) -> None:
    """Remove a calendar; without a primary the builtin one becomes primary again."""
    if calendar.kind == Calendar.Kind.BUILTIN and calendar.role == Calendar.Role.PRIMARY:
        raise Conflict(
            "The builtin calendar is the default primary; add another primary to replace it"
        )
    with transaction.atomic():
        calendar.delete()
