"""Time zones as people name them (SPEC §10): the canonical zones offered to invitees, and the
canonical name of any zone a client sends (an alias such as `US/Eastern` becomes
`America/New_York`; a city such as `Tokyo` becomes `Asia/Tokyo`).

Reads tzdata's own tables (data shipped with the `tzdata` package), never the network.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from zoneinfo import available_timezones

UTC_NAME = "UTC"
_UTC_ALIASES = frozenset(
    {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "ZULU", "UNIVERSAL", "GREENWICH"}
)
# Names tzdata ships that are no place's time.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules", "posix", "right"})


def _rows(name: str) -> list[list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def _table(name: str) -> list[str]:
    return [row[2] for row in _rows(name)]


@cache
def offered() -> tuple[str, ...]:
    """The zones an invitee picks from: tzdata's `zone1970.tab` plus UTC, sorted."""
    return tuple(sorted({*_table("zone1970.tab"), UTC_NAME}))


@cache
def countries() -> dict[str, tuple[str, ...]]:
    """The ISO 3166 codes of the countries each offered zone serves (`zone1970.tab`:
    `Europe/Berlin` → DE, DK, NO, SE, SJ, whose clocks have agreed since 1970); UTC has none."""
    return {row[2]: tuple(row[0].split(",")) for row in _rows("zone1970.tab")}


@cache
def _country_zones() -> frozenset[str]:
    """Zones that are some country's own (`zone.tab`), kept under their own name."""
    return frozenset(_table("zone.tab"))


def _data(name: str) -> bytes | None:
    try:
        parts = name.split("/")
        return resources.files("tzdata").joinpath("zoneinfo", *parts).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError):
        return None


@cache
def _by_data() -> dict[bytes, str]:
    """Each offered zone's compiled rules → its name (links are copies of their target)."""
    found: dict[bytes, str] = {}
    for name in offered():
        data = _data(name)
        if data is not None:
            found.setdefault(data, name)
    return found


@cache
def _by_city() -> dict[str, str]:
    return {name.rsplit("/", 1)[-1].replace("_", " ").casefold(): name for name in offered()}


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def canonical(name: str) -> str | None:
    """The canonical name of the zone `name` names (an IANA name, an alias or a city), or
    None when it names no zone."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    if name in offered() or name in _country_zones():
        return name
    if name in _known() and name.split("/")[0] not in _NOT_ZONES:
        data = _data(name)
        if data is not None and data in _by_data():
            return _by_data()[data]
        if name.rsplit("/", 1)[-1].upper() in _UTC_ALIASES:
            return UTC_NAME
        return name
    return _by_city().get(name.replace("_", " ").strip().casefold())
