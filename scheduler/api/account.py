"""The account itself (SPEC §10 "Details"): `GET`, `PATCH /v1/book/account` with its token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from scheduler.api.errors import ERRORS, ApiError
from scheduler.api.routers import account
from scheduler.api.schemas import AccountOut, AccountPatch
from scheduler.models import Account
from scheduler.services import accounts

# Fields a GET answers but nobody sets here; sent back unchanged they are ignored.
OUTPUT_ONLY = ("id", "handle", "email")


def account_out(found: Account) -> dict[str, Any]:
    return {
        "id": found.pk,
        "handle": found.handle,
        "name": found.name,
        "email": found.email,
        "timezone": found.timezone,
        "embedOrigins": list(found.embed_origins or []),
    }


@account.get("", response={200: AccountOut, **ERRORS}, operation_id="get_account")
def get_account(request: HttpRequest) -> dict[str, Any]:
    """The token's account: its name, time zone and the origins that may embed its pages."""
    return account_out(request.auth)


@account.patch("", response={200: AccountOut, **ERRORS}, operation_id="update_account")
def update_account(request: HttpRequest, payload: AccountPatch) -> dict[str, Any]:
    """Change `name`, `timezone` (an IANA zone; an alias is stored under its canonical name)
    or `embedOrigins` (origins such as `https://example.com`, no path); the account."""
    sent = set(payload.model_fields_set)
    stored = account_out(request.auth)
    changed = {
        field: ["is read-only"]
        for field in OUTPUT_ONLY
        if field in sent and getattr(payload, field) != stored[field]
    }
    if changed:
        raise ApiError.invalid(changed)
    changes = {field: getattr(payload, field) for field in sent - set(OUTPUT_ONLY)}
    return account_out(accounts.update(request.auth, changes))
