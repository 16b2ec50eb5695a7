"""Authentication: account tokens for /v1/book/account/*, app keys for /v1/book/group/*."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBasicAuth, HttpBearer

from scheduler.models import Account, ApiToken, AppKey, Organization


class AccountToken(HttpBearer):
    """`Authorization: Bearer <token>`: the token's account, or None (401)."""

    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        found = ApiToken.authenticate(token.strip())
        return found.account if found is not None else None


class AppKeyBasic(HttpBasicAuth):
    """Aurinko's AppAuth: `Authorization: Basic base64(clientId:secret)`."""

    def authenticate(
        self, request: HttpRequest, username: str, password: str
    ) -> Organization | None:
        found = AppKey.authenticate(password, client_id=username)
        return found.organization if found is not None else None


class AppKeyBearer(HttpBearer):
    """`Authorization: Bearer <secret>`: the app key's secret alone."""

    def authenticate(self, request: HttpRequest, token: str) -> Organization | None:
        found = AppKey.authenticate(token.strip())
        return found.organization if found is not None else None
