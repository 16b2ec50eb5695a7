"""The stored busy copy of an external calendar (Calendar.busy_intervals) and reading it back.

Each entry is a JSON list:

- `[start, end]`: an event with a fixed instant (UTC or a TZID), POSIX seconds;
- `[start, end, "local"]`: an all-day or floating event, kept as *wall-clock* seconds (the local
  date and time written as if it were UTC). SPEC §3 reads these "in tz", the zone of the profile
  asking, so they are resolved per request with that zone instead of once at parse time: one
  copy serves profiles in different zones and survives a change of the account's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo

from scheduler.rules.intervals import merge

LOCAL = "local"
# A wall-clock time is at most 26 hours (UTC-12 … UTC+14) from the same digits read as UTC.
_LOCAL_SLACK = 26 * 3600


def local_seconds(value: datetime) -> float:
    """Wall-clock seconds of a naive datetime: its digits read as if in UTC."""
    return value.replace(tzinfo=UTC).timestamp()


def resolve_local(seconds: float, zone: tzinfo) -> float:
    """The instant of wall-clock `seconds` in `zone` (fold=0: gaps land after, overlaps first)."""
    wall = datetime.fromtimestamp(seconds, UTC).replace(tzinfo=zone)
    return wall.timestamp()


def encode(absolute: Iterable[tuple[float, float]], local: Iterable[tuple[float, float]]) -> list:
    """The JSON copy: merged fixed intervals, then merged wall-clock ones."""
    return [[s, e] for s, e in merge(absolute)] + [[s, e, LOCAL] for s, e in merge(local)]


def read(
    entries: Iterable[Sequence], lo: float, hi: float, zone: tzinfo
) -> list[tuple[float, float]]:
    """Busy intervals of a stored copy that overlap `[lo, hi)`, wall-clock ones read in `zone`."""
    found: list[tuple[float, float]] = []
    for entry in entries:
        start, end = entry[0], entry[1]
        if len(entry) > 2:
            if end <= lo - _LOCAL_SLACK or start >= hi + _LOCAL_SLACK:
                continue
            start, end = resolve_local(start, zone), resolve_local(end, zone)
        if end > lo and start < hi and end > start:
            found.append((start, end))
    return found
