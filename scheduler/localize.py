"""The visitor's language and how dates and times are written (SPEC §10).

Pages speak English, German, French or Spanish: `?lang=` (remembered in the language
cookie), else that cookie, else `Accept-Language`, else the site's language. The region of
the visitor's `Accept-Language` entry for that language is kept (`en-US`, `de-AT`), since it
decides how times are written: 12-hour for `en-US`, 24-hour for `de`, `fr`, `es`, `en-GB`,
and for English without a region (the site's own style: "Friday 4 January 2030, 15:30").
`?clock=12|24` (remembered in a cookie) overrides the locale's clock on pages.

Mails are written in the booking's language (`for_invitee`) or the site's (`for_site`).
The admin and the API always speak the site's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from babel.dates import get_day_names, match_skeleton, parse_pattern
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header

LANG_PARAM = "lang"
CLOCK_PARAM = "clock"
CLOCK_COOKIE = "clock"
CLOCKS = ("12", "24")
COOKIE_AGE = 365 * 24 * 3600
# Paths that keep the site's language whatever the visitor asks for.
SITE_LANGUAGE_PATHS = ("/admin/", "/v1/")

# "12", "24", or "" for the locale's own clock; set per request by the middleware.
_clock: ContextVar[str] = ContextVar("clock", default="")

# English without a region: the site's own style, 24-hour (babel's bare "en" is American).
_HOUSE = {
    "time": "HH:mm",
    "time12": "h:mm a",
    "full": "EEEE d MMMM y",
    "day": "EEEE d MMMM",
    "short": "EEE d MMM y",
    "short_day": "EEE d MMM",
    "month": "MMMM y",
    "date": "d MMMM y",
    "join": "{1}, {0}",
}
_SKELETONS = {"day": "MMMMEEEEd", "short": "yMMMEd", "short_day": "MMMEd", "month": "yMMMM"}


def codes() -> tuple[str, ...]:
    return tuple(code for code, _ in settings.LANGUAGES)


@lru_cache(maxsize=256)
def supported(tag: str) -> str:
    """`tag` lower-cased (`de`, `en-us`) when the site speaks its language, else ""."""
    tag = (tag or "").strip().replace("_", "-").lower()
    primary, _, region = tag.partition("-")
    if primary not in codes():
        return ""
    return f"{primary}-{region}" if re.fullmatch(r"[a-z]{2}", region) else primary


def _with_region(language: str, request: HttpRequest) -> str:
    """`en` → `en-us` when the visitor's Accept-Language names that region for English."""
    if "-" in language:
        return language
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    try:
        accepted = parse_accept_lang_header(header[:500])
    except ValueError:
        return language
    for tag, _quality in accepted:
        primary, _, region = tag.partition("-")
        if primary == language and re.fullmatch(r"[a-z]{2}", region):
            return f"{primary}-{region}"
    return language


def site_language() -> str:
    return supported(settings.LANGUAGE_CODE) or "en"


class LanguageMiddleware:
    """Activates the visitor's language and clock for public pages (in place of Django's
    LocaleMiddleware: it also knows `?lang=`, the region and `?clock=`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The language belongs to this request only: once it is answered the thread speaks
        # what it spoke before (code running after it in the thread must not inherit it).
        with translation.override(translation.get_language()):
            return self._answer(request)

    def _answer(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(SITE_LANGUAGE_PATHS):
            translation.activate(site_language())
            request.LANGUAGE_CODE = translation.get_language()
            token = _clock.set("")
            try:
                return self.get_response(request)
            finally:
                _clock.reset(token)
        asked = supported(request.GET.get(LANG_PARAM, ""))
        cookie = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""))
        request.language_chosen = bool(asked or cookie)
        language = asked or cookie or supported(translation.get_language_from_request(request))
        translation.activate(_with_region(language or site_language(), request))
        request.LANGUAGE_CODE = translation.get_language()
        clock_asked = request.GET.get(CLOCK_PARAM, "")
        clock_asked = clock_asked if clock_asked in CLOCKS else ""
        clock = clock_asked or request.COOKIES.get(CLOCK_COOKIE, "")
        token = _clock.set(clock if clock in CLOCKS else "")
        try:
            response = self.get_response(request)
        finally:
            _clock.reset(token)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", translation.get_language())
        if asked:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                asked,
                max_age=COOKIE_AGE,
                path="/",
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        if clock_asked:
            response.set_cookie(
                CLOCK_COOKIE,
                clock_asked,
                max_age=COOKIE_AGE,
                path="/",
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


def prefer(request: HttpRequest, language: str) -> None:
    """A booking's pages speak the booking's language unless the visitor chose one."""
    language = supported(language)
    if language and not getattr(request, "language_chosen", False):
        translation.activate(_with_region(language, request))
        request.LANGUAGE_CODE = translation.get_language()


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Render in `language` (else the site's) with that locale's own clock."""
    token = _clock.set("")
    try:
        with translation.override(supported(language) or site_language()):
            yield
    finally:
        _clock.reset(token)


def for_invitee(language: str) -> AbstractContextManager[None]:
    """The invitee's mails: the booking's language, else the site's."""
    return speaking(language)


def for_site() -> AbstractContextManager[None]:
    """The host's notices: the site's language."""
    return speaking("")


# --- writing dates and times ------------------------------------------------------------


def _tag() -> str:
    return supported(translation.get_language() or "") or site_language()


@lru_cache(maxsize=64)
def _locale(tag: str) -> Locale | None:
    """The babel locale of `tag`, or None for the house style (English without region)."""
    if tag == "en":
        return None
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        primary = tag.split("-")[0]
        return None if primary == "en" else Locale.parse(primary)


def _twelve_hour_by_default(locale: Locale | None) -> bool:
    if locale is None:
        return False
    pattern = re.sub(r"'[^']*'", "", locale.time_formats["short"].pattern)
    return "h" in pattern or "K" in pattern


def _skeleton(locale: Locale, skeleton: str) -> str:
    found = match_skeleton(skeleton, locale.datetime_skeletons.keys())
    return locale.datetime_skeletons[found].pattern if found else skeleton


def _date_pattern(locale: Locale | None, kind: str) -> str:
    if locale is None:
        return _HOUSE[kind]
    if kind == "full":
        return locale.date_formats["full"].pattern
    if kind == "date":
        return locale.date_formats["long"].pattern
    pattern = _skeleton(locale, _SKELETONS[kind])
    if kind == "day":  # the weekday written out, as in the full date
        pattern = re.sub(r"(?<!E)E{1,3}(?!E)", "EEEE", pattern)
    return pattern


def _time_pattern(locale: Locale | None, clock: str) -> str:
    twelve = clock == "12" if clock else _twelve_hour_by_default(locale)
    if locale is None:
        return _HOUSE["time12" if twelve else "time"]
    if twelve == _twelve_hour_by_default(locale):
        return locale.time_formats["short"].pattern
    return _skeleton(locale, "hm" if twelve else "Hm")


@lru_cache(maxsize=512)
def _pattern(tag: str, kind: str, clock: str) -> Any:
    locale = _locale(tag)
    date_kind, _, with_time = kind.partition("+")
    if date_kind == "time":
        text = _time_pattern(locale, clock)
    elif date_kind == "month_name":
        text = "LLLL"
    else:
        text = _date_pattern(locale, date_kind)
    if with_time:
        join = _HOUSE["join"] if locale is None else str(locale.datetime_formats["medium"])
        text = join.replace("{1}", text).replace("{0}", _time_pattern(locale, clock))
    return parse_pattern(text)


def write(value: date | datetime | None, kind: str) -> str:
    """`value` written the way the active language writes `kind`: "time", "full" (weekday,
    day, month, year), "day" (weekday, day, month), "short" and "short_day" (abbreviated),
    "month" (month and year), "month_name", "date" (day, month, year); "<kind>+time" adds
    the time. A datetime is written in its own zone (`localtime` converts it first)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        # The patterns name no zone, so the wall time decides the text (and aware datetimes
        # of one instant in two zones must not share a cache entry).
        value = value.replace(tzinfo=None)
    return _written(_tag(), kind, _clock.get(), value)


@lru_cache(maxsize=8192)
def _written(tag: str, kind: str, clock: str, value: date | datetime) -> str:
    written = _pattern(tag, kind, clock).apply(value, _locale(tag) or _english())
    # CLDR puts a narrow no-break space before AM/PM, which some mail clients and fonts
    # show as a box; a plain no-break space keeps "9:00 AM" together just as well.
    return written.replace("\u202f", "\u00a0")


@lru_cache(maxsize=1)
def _english() -> Locale:
    return Locale.parse("en")


def twelve_hour() -> bool:
    """Whether times are written with a 12-hour clock for this visitor."""
    clock = _clock.get()
    return clock == "12" if clock else _twelve_hour_by_default(_locale(_tag()))


def weekdays() -> list[tuple[str, str]]:
    """(short, full) weekday names from Monday, for a month's column heads."""
    locale = _locale(_tag()) or _english()
    short = get_day_names("short", context="stand-alone", locale=locale)
    wide = get_day_names("wide", context="format", locale=locale)
    return [(short[i], wide[i]) for i in range(7)]


# --- the switcher --------------------------------------------------------------------------


def _link(request: HttpRequest, **params: str) -> str:
    query = {k: v for k, v in request.GET.items() if k not in (LANG_PARAM, CLOCK_PARAM)}
    return f"{request.path}?{urlencode({**query, **params})}"


def switcher(request: HttpRequest) -> dict[str, Any]:
    """The language and clock links of a page: plain links, so they work without JavaScript."""
    current = (translation.get_language() or "").split("-")[0]
    twelve = twelve_hour()
    return {
        "languages": [
            {
                "code": code,
                "name": name,
                "url": _link(request, **{LANG_PARAM: code}),
                "current": code == current,
            }
            for code, name in settings.LANGUAGES
        ],
        "clocks": [
            {
                "value": value,
                "url": _link(request, **{CLOCK_PARAM: value}),
                "current": (value == "12") == twelve,
            }
            for value in CLOCKS
        ],
    }
