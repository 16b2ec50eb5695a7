"""Security headers of the pages and admin login throttling (SPEC §6, §11 "Details").

Every HTML response carries `settings.CONTENT_SECURITY_POLICY` (the public pages, admin, the
API's docs page, error pages); no page needs an inline script or style, so the policy allows
none. With `DEBUG=true` error answers go without, so Django's debug pages keep their inline
styles and scripts. Every response under `/bookings/<token>/` is `Cache-Control: no-store`:
it is reached by a booking's secret token, and no shared or browser cache may keep it.

Admin logins are throttled by django-axes (settings: `AXES_*`), through `LoginThrottleBackend`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from scheduler import embed

TOKEN_PAGES = "/bookings/"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        # Django's debug error pages (DEBUG only) style and script themselves inline.
        debug_page = settings.DEBUG and response.status_code >= 400
        # An embedded page (`?embed=1`, scheduler/embed.py) names who may frame it.
        ancestors = embed.frame_ancestors(request)
        if (policy or ancestors) and _is_html(response) and not debug_page:
            policy = _with_frame_ancestors(policy, ancestors)
            response.setdefault("Content-Security-Policy", policy)
        if request.path.startswith(TOKEN_PAGES):
            response["Cache-Control"] = "no-store"
            # Older caches that ignore Cache-Control (HTTP/1.0 proxies).
            response["Pragma"] = "no-cache"
            if response.has_header("Expires"):
                del response["Expires"]
        return response


def _with_frame_ancestors(policy: str, origins: tuple[str, ...]) -> str:
    """`policy` with its `frame-ancestors` replaced by `origins` (unchanged for none)."""
    if not origins:
        return policy
    kept = [
        part.strip()
        for part in policy.split(";")
        if part.strip() and part.split()[0].lower() != "frame-ancestors"
    ]
    return "; ".join([*kept, "frame-ancestors " + " ".join(origins)])


def _is_html(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.split(";", 1)[0].strip().lower() in {"text/html", "application/xhtml+xml"}


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' check, first in `AUTHENTICATION_BACKENDS`: a locked-out username is refused
    before its password is looked at. `authenticate()` without a request (a management command,
    a script on the server) has no login to throttle, so it passes on to the next backend
    instead of failing as axes' own backend does."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
