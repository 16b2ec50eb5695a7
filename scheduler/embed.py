"""Booking pages inside another site's `<iframe>` (SPEC §10 "Embedding").

`/{handle}/{name}/?embed=1` may be framed by the origins in the account's `embedOrigins`
(CSP `frame-ancestors` lists exactly those; every other page, and every page without
`?embed=1`, keeps `frame-ancestors 'none'` and `X-Frame-Options: DENY`). Pages reached from an
embedded page stay embedded: every link, form and redirect of the flow carries `embed=1` and
`parent=<the embedding origin>` (`Embed.params`).

Booking inside the frame needs no cookie. A cross-site frame gets no first-party cookies
(the CSRF cookie is `SameSite=Lax`, and browsers block or partition third-party cookies), so
the forms of embedded pages carry a signed, short-lived token bound to the page's path
instead of the CSRF token; a POST with a valid one skips the cookie check, one with a bad or
expired one is refused, one without any gets Django's usual CSRF check. The public forms act
for nobody (no session, no login), so the token guards against what CSRF guards against
there: a post that did not come from a page we served recently.

After a booking the confirmation page posts `{type: "booking.created", uid}` to the parent
(static/js/embed.js), with the embedding origin as `targetOrigin`, never `*`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from scheduler.models import Account, Booking, Organization, Profile
from scheduler.rules import origins as origin_rules

EMBED_PARAM = "embed"
PARENT_PARAM = "parent"
TOKEN_FIELD = "embed_token"
TOKEN_SALT = "scheduler.embed.form"
# Chosen language and clock ride along in links: a framed page cannot keep their cookies.
_CARRIED = {
    "lang": re.compile(r"^[A-Za-z]{2}([-_][A-Za-z]{2})?$"),
    "clock": re.compile("^(12|24)$"),
}

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Embed:
    """An embedded page: who may frame it, who does (when known), and what links carry."""

    origins: tuple[str, ...]  # the account's embedOrigins, as CSP frame-ancestors
    parent: str  # the embedding page's origin, one of `origins`; "" when not known
    path: str  # this page's path; its form token is bound to it
    carried: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> dict[str, str]:
        """What every link and redirect of an embedded page adds to its query."""
        params = {EMBED_PARAM: "1"}
        if self.parent:
            params[PARENT_PARAM] = self.parent
        params.update(self.carried)
        return params

    @property
    def suffix(self) -> str:
        """`?embed=1&parent=…`, for a form's `action` on this page's own path."""
        return "?" + urlencode(self.params)

    @property
    def form_token(self) -> str:
        return signing.dumps(self.path, salt=TOKEN_SALT, compress=True)

    @property
    def origins_text(self) -> str:
        return " ".join(self.origins)


def params(request: HttpRequest) -> dict[str, str]:
    """The query an embedded page's links keep (`{}` when the page is not embedded)."""
    found = getattr(request, "embed", None)
    return found.params if found is not None else {}


def frame_ancestors(request: HttpRequest) -> tuple[str, ...]:
    """The origins that may frame this response; () for a page no one may frame."""
    found = getattr(request, "embed", None)
    return found.origins if found is not None else ()


def _owner_origins(owner: Account | Organization | None) -> tuple[str, ...]:
    # Organizations have no embedOrigins (SPEC: it belongs to the account).
    stored = getattr(owner, "embed_origins", None) or ()
    # Only well-formed origins reach the CSP header, whatever was written past the validators.
    return tuple(origin for origin in stored if _well_formed(origin))


def _well_formed(origin: object) -> bool:
    try:
        return origin_rules.check_origin(origin) == origin
    except ValueError:
        return False


def _referer_origin(request: HttpRequest) -> str:
    return origin_rules.origin_of(request.META.get("HTTP_REFERER", ""))


def activate(request: HttpRequest, owner: Account | Organization | None) -> Embed | None:
    """The embedding `request` asks for (`?embed=1`) when `owner` lets any origin frame its
    pages; kept on `request.embed` for links, templates and the security headers."""
    allowed = _owner_origins(owner) if request.GET.get(EMBED_PARAM) == "1" else ()
    if not allowed:
        request.embed = None
        return None
    parent = request.GET.get(PARENT_PARAM, "")
    if parent not in allowed:
        # The first page in the frame learns the parent from the Referer the browser sends
        # (the embedding page's origin); with one allowed origin it can only be that one.
        referer = _referer_origin(request)
        parent = referer if referer in allowed else allowed[0] if len(allowed) == 1 else ""
    carried = tuple(
        (name, request.GET[name])
        for name, pattern in _CARRIED.items()
        if pattern.match(request.GET.get(name, ""))
    )
    request.embed = Embed(allowed, parent, request.path, carried)
    return request.embed


def add(url: str, request: HttpRequest) -> str:
    """`url` (a path with or without a query and `#fragment`) with the embedded page's query."""
    extra = params(request)
    if not extra:
        return url
    base, hash_mark, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode(extra)}{hash_mark}{fragment}"


# --- the form token ------------------------------------------------------------------------

_csrf = CsrfViewMiddleware(lambda request: HttpResponse())


def _same_origin(request: HttpRequest) -> bool:
    """No `Origin` header (older browsers, test clients), or this site's own."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return True
    own = f"{request.scheme}://{request.get_host()}"
    return origin == own or origin in settings.CSRF_TRUSTED_ORIGINS


def token_valid(request: HttpRequest) -> bool:
    """The POST carries an unexpired token issued for this very path, from our own page."""
    token = request.POST.get(TOKEN_FIELD, "")
    try:
        path = signing.loads(token, salt=TOKEN_SALT, max_age=settings.EMBED_FORM_TOKEN_SECONDS)
    except signing.BadSignature:  # SignatureExpired included
        return False
    return path == request.path and _same_origin(request)


def _refused(request: HttpRequest) -> HttpResponse:
    """A bad or expired form token: nothing happens; the page offers to start again."""
    context = {
        "title": _("This form has expired"),
        "message": _("The page was open too long. Nothing was booked or changed."),
        "again": add(request.path, request),
    }
    return render(request, "scheduler/form_expired.html", context, status=403)


def embeddable(owner_of: Callable[..., Account | Organization | None]) -> Callable[[View], View]:
    """A public page that may be shown embedded. `owner_of(**url kwargs)` names the account
    whose `embedOrigins` decide (looked up only for `?embed=1` requests).

    GET: the first framed request, whose parent came from its Referer, is redirected to carry
    `parent=` in its address (scripts that rebuild the address keep it from then on).
    POST: a valid form token stands in for the CSRF cookie (see the module's docstring).
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            owner = owner_of(**kwargs) if request.GET.get(EMBED_PARAM) == "1" else None
            found = activate(request, owner)
            if request.method == "POST":
                if TOKEN_FIELD in request.POST:
                    if not token_valid(request):
                        return _finish(request, _refused(request))
                else:
                    refused = _csrf.process_view(request, view, args, kwargs)
                    if refused is not None:
                        return _finish(request, refused)
            elif _parent_from_referer(request, found):
                query = request.GET.copy()
                query[PARENT_PARAM] = found.parent
                return _finish(request, redirect(f"{request.path}?{query.urlencode()}"))
            return _finish(request, view(request, *args, **kwargs))

        return csrf_exempt(wrapped)

    return decorate


def _parent_from_referer(request: HttpRequest, found: Embed | None) -> bool:
    """A GET whose parent was read from its Referer among several allowed origins."""
    return (
        found is not None
        and request.method in ("GET", "HEAD")
        and bool(found.parent)
        and request.GET.get(PARENT_PARAM) != found.parent
        and len(found.origins) > 1
    )


def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if getattr(request, "embed", None) is not None:
        # CSP frame-ancestors names who may frame it (scheduler/security.py).
        response.xframe_options_exempt = True
        patch_vary_headers(response, ["Referer"])
    return response


# --- owners, for `embeddable` ----------------------------------------------------------------


def profile_owner(handle: str, name: str, **_: Any) -> Account | Organization | None:
    profile = Profile.objects.at(handle, name).first()
    return profile.owner if profile is not None else None


def booking_owner(token: str, **_: Any) -> Account | Organization | None:
    booking = Booking.from_manage_token(token)
    if booking is None:
        return None
    return booking.profile.owner if booking.profile is not None else booking.account


# --- admin ---------------------------------------------------------------------------------


class OriginsField(forms.CharField):
    """`embedOrigins` in a form: one origin a line, stored as the model's list."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            _(
                "Sites that may show the booking pages in an iframe (/{handle}/{profile}/"
                "?embed=1), one origin a line, such as https://www.example.com: scheme, host "
                "and port only."
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return origin_rules.as_lines(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            items = list(value)
        else:
            items = origin_rules.lines_of(super().to_python(value) or "")
        try:
            return origin_rules.check_origins(items)
        except origin_rules.OriginError as exc:
            raise forms.ValidationError(exc.problems) from exc

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except forms.ValidationError:
            return True
