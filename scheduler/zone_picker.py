"""The invitee's time-zone picker (SPEC §10): the zones of tzdata's `zone1970.tab` plus UTC, named
as people say them ("Eastern Time – New York (UTC−05:00)") in the page's language, grouped by
region, and what a visitor types ("tokyo", "US/Eastern", "Tokio", "tok") resolved to a zone.

Names come from CLDR through Babel and do not change while the process runs, so they are cached
per language. Offsets do change, so the labelled list is cached per quarter hour: tzdata's
transitions all fall on a quarter hour in UTC (St John's and Lord Howe switch at :30), so a
list is never shown with an offset that is no longer true.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import get_timezone_location, get_timezone_name
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, to_locale

from scheduler.rules import zones

BUCKET_SECONDS = 15 * 60
SUGGESTIONS = 8
# Oceans are no CLDR territory; the continents are, and Babel names them in every language.
_CONTINENTS = {
    "Africa": "002",
    "America": "019",
    "Antarctica": "AQ",
    "Asia": "142",
    "Australia": "009",
    "Europe": "150",
    "Pacific": "009",
}
_PUNCTUATION = re.compile(r"[.'’ʼ]")
_SEPARATORS = re.compile(r"[^\w+:-]+|_")


@dataclass(frozen=True)
class Zone:
    """An offered zone as one language names it."""

    key: str  # "America/New_York"
    name: str  # "Eastern Time – New York"
    cities: tuple[str, ...]  # normalised: the language's city and the IANA one
    country: tuple[str, ...]  # normalised: the zone's main country, in the language and English
    countries: str  # "Deutschland, Dänemark, Norwegen, …": not shown, but found by a search
    search: str  # normalised name, IANA name and countries, for matching


@dataclass(frozen=True)
class Group:
    label: str
    options: tuple[tuple[str, str, str], ...]  # (zone key, label, extra search words)


@dataclass(frozen=True)
class ZoneForm:
    """What the zone form shows: the list, the visitor's zone, and what a typed search found."""

    options: SafeString  # the <optgroup>s and <option>s of the list, the visitor's zone selected
    extra: tuple[str, str] | None  # the visitor's zone when it is not an offered one
    typed: str  # a ?tz= that named no zone, shown back in the search box
    suggestions: tuple[tuple[str, str], ...]  # (label, link) for what `typed` matches


def normalise(text: str) -> str:
    """Lower case, no accents or punctuation, single spaces: "St. John’s" → "st johns"."""
    text = unicodedata.normalize("NFKD", text.replace("−", "-"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(_SEPARATORS.sub(" ", _PUNCTUATION.sub("", text)).split())


def utc_offset(zone: ZoneInfo, at: datetime | None = None) -> str:
    """`UTC+05:45` style offset of `zone` at `at` (now by default)."""
    offset = (at or datetime.now(UTC)).astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def locale() -> Locale:
    """The Babel locale of the active language, English when Babel does not know it."""
    try:
        return _locale(to_locale(get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        return _locale("en")


@cache
def _locale(identifier: str) -> Locale:
    return Locale.parse(identifier)


def _observes_dst(zone: ZoneInfo) -> bool:
    year = datetime.now(UTC).year
    return any(zone.dst(datetime(year, month, 1)) for month in (1, 7))


@lru_cache(maxsize=2048)
def zone_name(key: str, loc: Locale) -> tuple[str, str]:
    """(name, city) of a zone in `loc`: ("Eastern Time – New York", "New York")."""
    zone = ZoneInfo(key)
    if key == zones.UTC_NAME:
        return get_timezone_name(zone, "long", zone_variant="standard", locale=loc), ""
    territory = get_global("zone_territories").get(key, "ZZ")
    if territory == "ZZ":  # Etc/GMT+5: a bare offset, no place
        return key.replace("_", " "), ""
    city = get_timezone_location(zone, locale=loc, return_city=True)
    # What CLDR says when it has no name: "Cuba Time", "Kazakhstan (Almaty) Time".
    fallback = get_timezone_location(zone, locale=loc)
    name = get_timezone_name(zone, "long", zone_variant="generic", locale=loc)
    if name == fallback and city in name and not _observes_dst(zone):
        # CLDR often names only the standard time of a zone without DST ("Hawaii Time").
        name = get_timezone_name(zone, "long", zone_variant="standard", locale=loc)
    if name == fallback and city in name:
        # The fallback holds the city already; "world (Troll Station) Time" reads worse
        # than the station's name alone.
        return (city if territory == "001" else name), city
    return f"{name} – {city}", city


def label(key: str, at: datetime | None = None) -> str:
    """What a visitor reads for a zone in the active language, with its offset at `at`."""
    name, _ = zone_name(key, locale())
    return f"{name} ({utc_offset(ZoneInfo(key), at)})"


def _region(key: str, loc: Locale) -> str:
    if key == zones.UTC_NAME:
        return "UTC"
    prefix = key.split("/")[0]
    if prefix == "Atlantic":
        return gettext("Atlantic Ocean")
    if prefix == "Indian":
        return gettext("Indian Ocean")
    territory = _CONTINENTS.get(prefix)
    return loc.territories.get(territory, prefix) if territory else prefix


@lru_cache(maxsize=8)
def _named(loc: Locale) -> tuple[Zone, ...]:
    """Every offered zone named in `loc` (a fraction of a second of Babel look-ups, once a
    language and process)."""
    english = _locale("en")
    found = []
    for key in zones.offered():
        name, city = zone_name(key, loc)
        codes = zones.countries().get(key, ())
        countries = ", ".join(loc.territories.get(c, c) for c in codes)  # the main one first
        in_english = " ".join(english.territories.get(c, c) for c in codes)
        main = [t.territories.get(codes[0], "") for t in (loc, english)] if codes else []
        found.append(
            Zone(
                key=key,
                name=name,
                cities=_distinct(city, key.rsplit("/", 1)[-1]),
                country=_distinct(*main),
                countries=countries,
                search=normalise(f"{name} {key} {countries} {in_english}"),
            )
        )
    return tuple(found)


def _distinct(*names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalise(n) for n in names if n))


@lru_cache(maxsize=32)
def _groups_at(loc: Locale, bucket: int) -> tuple[Group, ...]:
    at = datetime.fromtimestamp(bucket * BUCKET_SECONDS, UTC)
    grouped: dict[str, list[tuple[timedelta, str, str, str, str]]] = {}
    for zone in _named(loc):
        tz = ZoneInfo(zone.key)
        offset = at.astimezone(tz).utcoffset() or timedelta(0)
        text = f"{zone.name} ({utc_offset(tz, at)})"
        grouped.setdefault(_region(zone.key, loc), []).append(
            (offset, normalise(text), text, zone.key, zone.countries)
        )
    # UTC first, then the regions alphabetically; west to east inside each.
    order = sorted(grouped, key=lambda region: (region != "UTC", normalise(region)))
    return tuple(
        Group(region, tuple((key, text, extra) for *_, text, key, extra in sorted(grouped[region])))
        for region in order
    )


def _bucket() -> int:
    return int(datetime.now(UTC).timestamp() // BUCKET_SECONDS)


def groups() -> tuple[Group, ...]:
    """The offered zones in the active language, by region, labelled with their offsets now."""
    return _groups_at(locale(), _bucket())


@lru_cache(maxsize=32)
def _options_at(loc: Locale, bucket: int) -> str:
    # Some 300 options: written once per quarter hour and language rather than by the
    # template engine on every page (a few milliseconds each time).
    parts = []
    for group in _groups_at(loc, bucket):
        parts.append(f'<optgroup label="{escape(group.label)}">')
        for key, text, countries in group.options:
            extra = f' data-countries="{escape(countries)}"' if countries else ""
            parts.append(f'<option value="{escape(key)}"{extra}>{escape(text)}</option>')
        parts.append("</optgroup>\n")
    return "".join(parts)


def options(selected: str) -> SafeString:
    """The list's HTML with `selected` chosen (when it is one of the offered zones)."""
    html = _options_at(locale(), _bucket())
    mark = f'<option value="{escape(selected)}"'
    return mark_safe(html.replace(mark, f"{mark} selected", 1))  # escaped in _options_at


def _rank(zone: Zone, query: str) -> int:
    """0 when a city's name starts with `query`, 1 when the zone's main country's does."""
    if any(c.startswith(query) for c in zone.cities):
        return 0
    return 1 if any(c.startswith(query) for c in zone.country) else 2


def _ranked(text: str, loc: Locale) -> list[tuple[int, Zone]]:
    """Offered zones matching every word of `text`, best first, with their rank."""
    query = normalise(text)
    words = query.split()
    found = [z for z in _named(loc) if words and all(word in z.search for word in words)]
    return sorted(((_rank(z, query), z) for z in found), key=lambda pair: pair[0])


def resolve(text: str) -> str | None:
    """The zone a visitor means by `text`: an IANA name or alias, a city in the page's language
    or in English, or the one zone whose city or main country starts with it; None when it
    names no zone or several."""
    if not isinstance(text, str) or not text.strip() or len(text) > 64:
        return None
    key = zones.canonical(text.strip())
    if key is not None:
        return key
    loc = locale()
    query = normalise(text)
    exact = [z for z in _named(loc) if query in z.cities]
    if len(exact) == 1:
        return exact[0].key
    found = _ranked(text, loc)
    best = [zone for rank, zone in found if rank == found[0][0]] if found else []
    return best[0].key if len(best) == 1 else None


def form(typed: str, selected: ZoneInfo, keep: Mapping[str, str]) -> ZoneForm:
    """The zone form for a page shown in `selected`; `typed` is the raw `?tz=`, `keep` the
    query parameters its links keep (month, date, slot)."""
    offered = zones.offered()
    extra = None if selected.key in offered else (selected.key, label(selected.key))
    unmatched = typed.strip() if typed.strip() and resolve(typed) is None else ""
    suggestions = tuple(
        (
            f"{z.name} ({utc_offset(ZoneInfo(z.key))})",
            "?" + urlencode({**keep, "tz": z.key}),
        )
        for _, z in _ranked(unmatched, locale())[:SUGGESTIONS]
    )
    return ZoneForm(options(selected.key), extra, unmatched[:64], suggestions)
