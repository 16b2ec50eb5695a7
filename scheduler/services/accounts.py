"""The account's own settings (SPEC §10 "Details"): `name`, `timezone` and `embedOrigins`,
changed by the API (`PATCH /v1/book/account`); admin edits the same fields through the
model's validators, which share these rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from scheduler.models import Account
from scheduler.rules import origins, zones
from scheduler.services.errors import InvalidInput

NAME_MAX = 200
# SPEC's field name → the model's.
FIELDS = {"name": "name", "timezone": "timezone", "embedOrigins": "embed_origins"}


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty text")
    if len(value.strip()) > NAME_MAX:
        raise ValueError(f"at most {NAME_MAX} characters")
    return value.strip()


def _timezone(value: Any) -> str:
    found = zones.canonical(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/London")
    return found  # an alias (US/Eastern) is kept under its canonical name


def update(account: Account, changes: Mapping[str, Any]) -> Account:
    """Apply `changes` (SPEC's names) all at once, or none of them: InvalidInput names every
    bad field."""
    unknown = sorted(set(changes) - set(FIELDS))
    errors: dict[str, list[str]] = {field: ["unknown field"] for field in unknown}
    values: dict[str, Any] = {}
    checks = {"name": _name, "timezone": _timezone}
    for field, value in changes.items():
        if field in unknown:
            continue
        try:
            if field == "embedOrigins":
                values[FIELDS[field]] = origins.check_origins(value)
            else:
                values[FIELDS[field]] = checks[field](value)
        except origins.OriginError as exc:
            errors[field] = exc.problems
        except ValueError as exc:
            errors[field] = [str(exc)]
    if errors:
        raise InvalidInput.of(errors)
    if values:
        with transaction.atomic():
            for attribute, value in values.items():
                setattr(account, attribute, value)
            account.save(update_fields=list(values))
    return account
