"""Bearer-token authentication of the account endpoints."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from scheduler.models import Account, ApiToken


class AccountToken(HttpBearer):
    """`Authorization: Bearer <token>`: the token's account, or None (401)."""

    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        found = ApiToken.authenticate(token.strip())
        return found.account if found is not None else None
