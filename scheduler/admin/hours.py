"""Work hours and date overrides as form fields (SPEC §10), not JSON.

The weekly hours are a time zone, a choice between the default (Monday–Friday 09:00–17:00)
and a table of weekdays with a few start–end intervals each; date overrides are rows of a
first date, an optional last date, and either intervals or "unavailable all day". Each field
turns what was typed into the wire shape of SPEC §1 and checks it with the one validator
(`normalize_work_hours`, `normalize_availability_intervals`); every error is shown above the
table, naming the day or row, and again beside the input that caused it.

An end of 00:00 is midnight at the end of the day (the wire's `24:00`), since a browser's time
input cannot hold 24:00. Overlapping intervals of one day or row are refused here: the API
merges them, but in a form they are nearly always a typing mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from scheduler.rules import zones
from scheduler.rules.availability import DAY_NAMES, format_time_of_day, parse_time_of_day
from scheduler.rules.schedule import (
    RuleError,
    default_work_hours,
    normalize_availability_intervals,
    normalize_work_hours,
)

DAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Interval inputs per day (per override row); one more appears when stored hours fill them.
SLOTS = 3
OVERRIDE_SLOTS = 2
# Blank override rows offered below the stored ones (saving offers more).
EXTRA_ROWS = 2
DEFAULT, CUSTOM = "default", "custom"
ORDINALS = ("1st", "2nd", "3rd")

Pair = tuple[str, str]


def _ordinal(k: int) -> str:
    return ORDINALS[k] if k < len(ORDINALS) else f"{k + 1}th"


def shown_time(text: Any, *, end: bool = False) -> str:
    """A stored time (`09:00:00`, `24:00:00`) as a time input holds it: `09:00`; the end of
    the day as `00:00`; seconds only when there are some."""
    if not text:
        return ""
    try:
        seconds = parse_time_of_day(str(text), allow_end_of_day=end)
    except ValueError:
        return str(text)  # typed, not stored: shown back as it was
    seconds %= 24 * 3600
    return format_time_of_day(seconds, with_seconds=bool(seconds % 60))


def wire_end(start: str, end: str) -> str:
    """An end as the rules read it: 00:00 after a start is the end of the day (24:00)."""
    if end.strip() in ("00:00", "00:00:00") and start.strip():
        return "24:00"
    return end.strip()


def _used(pairs: list[Pair]) -> int:
    """How many of a day's (row's) slots are in use: up to the last one typed in."""
    filled = [k for k, (start, end) in enumerate(pairs) if start.strip() or end.strip()]
    return filled[-1] + 1 if filled else 0


def _slot_count(rows: Iterable[list[Pair]], least: int = SLOTS) -> int:
    """Slots for every day (row): `least`, or one spare beyond the most used."""
    longest = max((_used(r) for r in rows), default=0)
    return least if longest < least else longest + 1


def _pairs(data: Mapping[str, Any], prefix: str) -> list[Pair]:
    """The (start, end) inputs `prefix-<k>-start` / `-end` of one day or row, in order."""
    found = {
        int(m.group(1))
        for key in data
        if (m := re.fullmatch(rf"{re.escape(prefix)}-(\d{{1,2}})-(?:start|end)", key))
    }
    return [
        (str(data.get(f"{prefix}-{k}-start", "")), str(data.get(f"{prefix}-{k}-end", "")))
        for k in sorted(found)
    ]


def _overlaps(intervals: list[tuple[int, int, str]]) -> dict[str, str]:
    """Cells whose interval overlaps one that starts before it (or with it) → why.
    Touching is not overlapping: 09:00–12:00 and 12:00–17:00 are fine."""
    out: dict[str, str] = {}
    latest: tuple[int, int] | None = None  # the interval so far that ends last
    for start, end, cell in sorted(intervals):
        if latest is not None and start < latest[1]:
            other = format_time_of_day(latest[0], with_seconds=False)
            other += "–" + format_time_of_day(latest[1], with_seconds=False)
            out[cell] = f"overlaps {other}"
        if latest is None or end > latest[1]:
            latest = (start, end)
    return out


def _seconds(interval: Mapping[str, str]) -> tuple[int, int]:
    return (
        parse_time_of_day(interval["start"]),
        parse_time_of_day(interval["end"], allow_end_of_day=True),
    )


@dataclass
class Problems:
    """Errors by cell (shown beside the inputs) and as sentences (shown above the table)."""

    cells: dict[str, list[str]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def add(self, cell: str, where: str, why: str) -> None:
        self.cells.setdefault(cell, []).append(why)
        self.lines.append(f"{where}: {why}")


class TableWidget(forms.Widget):
    """A widget drawn by a template under templates/admin (the project's templates, which the
    default form renderer does not search), with errors per input."""

    template_name = ""
    cell_errors: dict[str, list[str]]

    def __init__(self, attrs: dict[str, Any] | None = None):
        super().__init__(attrs)
        self.cell_errors = {}

    def __deepcopy__(self, memo: dict) -> TableWidget:
        copy = super().__deepcopy__(memo)
        copy.cell_errors = {}
        return copy

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False

    def cell(self, name: str, key: str, start: str, end: str, label: str) -> dict[str, Any]:
        return {
            "start_name": f"{name}-{key}-start",
            "end_name": f"{name}-{key}-end",
            "start": start,
            "end": end,
            "label": label,
            "errors": self.cell_errors.get(key, []),
        }


# --- weekly hours ----------------------------------------------------------------------------


def week_as_typed(value: Any) -> dict[str, Any]:
    """What the weekly-hours inputs hold for `value`: a stored wire dict, None (the default,
    whose hours are put in the table as a starting point) or inputs already read."""
    if isinstance(value, Mapping) and "mode" in value:
        return dict(value)
    if not isinstance(value, Mapping):
        value, mode = default_work_hours(), DEFAULT
    else:
        mode = CUSTOM
    days: list[list[Pair]] = [[] for _ in DAY_NAMES]
    for schedule in value.get("daySchedules") or []:
        day = str(schedule.get("dayOfWeek", "")).lower()
        if day in DAY_NAMES:
            days[DAY_NAMES.index(day)].extend(
                (shown_time(i.get("start")), shown_time(i.get("end"), end=True))
                for i in schedule.get("workingIntervals") or []
            )
    return {"mode": mode, "timezone": value.get("timezone") or "", "days": days}


class WorkHoursWidget(TableWidget):
    template_name = "admin/scheduler/widgets/work_hours.html"
    # Set by the form: who the zone falls back to ("the account's zone (Europe/London)").
    fallback_zone = "the account's zone"

    def id_for_label(self, id_: str) -> str:
        return f"{id_}-timezone" if id_ else id_

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, Any]:
        return {
            "mode": data.get(f"{name}-mode", DEFAULT),
            "timezone": data.get(f"{name}-timezone", ""),
            "days": [_pairs(data, f"{name}-{day}") for day in DAY_NAMES],
        }

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        typed = week_as_typed(value)
        slots = _slot_count(typed["days"])
        zone = typed["timezone"]
        offered = zones.offered()
        choices = [("", f"Not set: {self.fallback_zone}")]
        if zone and zone not in offered:
            choices.append((zone, zone))
        choices += [(z, z) for z in offered]
        rows = []
        for d, day in enumerate(DAY_NAMES):
            pairs = (typed["days"][d] + [("", "")] * slots)[:slots]
            rows.append(
                {
                    "label": DAY_LABELS[d],
                    "cells": [
                        self.cell(name, f"{day}-{k}", s, e, f"{DAY_LABELS[d]}, interval {k + 1}")
                        for k, (s, e) in enumerate(pairs)
                    ],
                }
            )
        context["hours"] = {
            "name": name,
            "id": context["widget"]["attrs"].get("id") or f"id_{name}",
            "mode": typed["mode"],
            "zone": zone,
            "zones": choices,
            "zone_errors": self.cell_errors.get("timezone", []),
            "slots": range(1, slots + 1),
            "rows": rows,
            "default": DEFAULT,
            "custom": CUSTOM,
        }
        return context


class WorkHoursField(forms.Field):
    """The weekly hours: None (the default) or `normalize_work_hours`'s wire form."""

    widget = WorkHoursWidget

    def clean(self, value: Any) -> dict[str, Any] | None:
        hours, problems = read_week(value)
        self.widget.cell_errors = problems.cells
        if problems.lines:
            raise ValidationError(problems.lines)
        return hours

    def has_changed(self, initial: Any, data: Any) -> bool:
        hours, problems = read_week(data)
        return bool(problems.lines) or hours != (
            read_week(initial)[0] if isinstance(initial, Mapping) else None
        )


def read_week(value: Any) -> tuple[dict[str, Any] | None, Problems]:
    """The weekly hours typed (or stored) as `value`, in wire form, and what is wrong."""
    typed = week_as_typed(value)
    problems = Problems()
    zone = str(typed.get("timezone") or "")
    schedules: list[dict[str, Any]] = []
    cells: list[list[str]] = []  # the cell of each interval of each schedule
    if typed.get("mode") == CUSTOM:
        for d, day in enumerate(DAY_NAMES):
            intervals, mine = [], []
            for k, (start, end) in enumerate(typed["days"][d]):
                start, end = start.strip(), end.strip()
                if start and end:
                    intervals.append({"start": start, "end": wire_end(start, end)})
                    mine.append(f"{day}-{k}")
                elif start or end:
                    where = f"{DAY_LABELS[d]}, {_ordinal(k)} interval"
                    problems.add(f"{day}-{k}", where, "give both a start and an end")
            if intervals:
                schedules.append({"dayOfWeek": day, "workingIntervals": intervals})
                cells.append(mine)
    elif not zone:
        return None, problems
    else:
        # The default week, in a zone of its own.
        schedules = default_work_hours()["daySchedules"]
    wire: dict[str, Any] = {"daySchedules": schedules}
    if zone:
        wire["timezone"] = zone
    try:
        hours = normalize_work_hours(wire)
    except RuleError as exc:
        for path, reasons in exc.errors.items():
            cell, where = _week_cell(path, cells)
            for why in reasons:
                problems.add(cell, where, why)
        return None, problems
    for s, schedule in enumerate(hours["daySchedules"] if cells else ()):
        spans = [
            (*_seconds(i), c) for i, c in zip(schedule["workingIntervals"], cells[s], strict=True)
        ]
        for cell, why in _overlaps(spans).items():
            day, k = cell.rsplit("-", 1)
            problems.add(
                cell, f"{DAY_LABELS[DAY_NAMES.index(day)]}, {_ordinal(int(k))} interval", why
            )
    return (None if problems.lines else hours), problems


def _week_cell(path: str, cells: list[list[str]]) -> tuple[str, str]:
    """The cell and the words for a rule error's path (`workHours.daySchedules[0]...`)."""
    m = re.match(r"workHours\.daySchedules\[(\d+)\]\.workingIntervals\[(\d+)\]", path)
    if m and int(m.group(1)) < len(cells) and int(m.group(2)) < len(cells[int(m.group(1))]):
        cell = cells[int(m.group(1))][int(m.group(2))]
        day, k = cell.rsplit("-", 1)
        return cell, f"{DAY_LABELS[DAY_NAMES.index(day)]}, {_ordinal(int(k))} interval"
    return "timezone", "Time zone"


# --- date overrides --------------------------------------------------------------------------


def overrides_as_typed(value: Any) -> list[dict[str, Any]]:
    """What the override rows hold for `value`: stored wire data, None, or rows already read."""
    if isinstance(value, list):
        return value
    rows = []
    for item in (value or {}).get("intervals") or [] if isinstance(value, Mapping) else []:
        first = str(item.get("dateStartInclusive") or "")
        last = str(item.get("dateEndInclusive") or "")
        hours = item.get("hours") or []
        rows.append(
            {
                "first": first,
                "last": "" if last == first else last,
                "off": not hours,
                "hours": [
                    (shown_time(h.get("start")), shown_time(h.get("end"), end=True)) for h in hours
                ],
            }
        )
    return rows


class OverridesWidget(TableWidget):
    template_name = "admin/scheduler/widgets/overrides.html"

    def id_for_label(self, id_: str) -> str:
        return f"{id_}-0-first" if id_ else id_

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[dict[str, Any]]:
        found = {
            int(m.group(1))
            for key in data
            if (m := re.fullmatch(rf"{re.escape(name)}-(\d{{1,3}})-[\w-]+", key))
        }
        return [
            {
                "first": str(data.get(f"{name}-{i}-first", "")),
                "last": str(data.get(f"{name}-{i}-last", "")),
                "off": bool(data.get(f"{name}-{i}-off")),
                "hours": _pairs(data, f"{name}-{i}"),
            }
            for i in sorted(found)
        ]

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        typed = [r for r in overrides_as_typed(value) if _filled(r)]
        typed += [{"first": "", "last": "", "off": False, "hours": []}] * EXTRA_ROWS
        slots = _slot_count((r["hours"] for r in typed), OVERRIDE_SLOTS)
        rows = []
        for i, row in enumerate(typed):
            pairs = (list(row["hours"]) + [("", "")] * slots)[:slots]
            rows.append(
                {
                    "prefix": f"{name}-{i}",
                    "number": i + 1,
                    "first": row["first"],
                    "last": row["last"],
                    "off": row["off"],
                    "errors": self.cell_errors.get(f"{i}", []),
                    "first_errors": self.cell_errors.get(f"{i}-first", []),
                    "last_errors": self.cell_errors.get(f"{i}-last", []),
                    "cells": [
                        self.cell(name, f"{i}-{k}", s, e, f"Override {i + 1}, interval {k + 1}")
                        for k, (s, e) in enumerate(pairs)
                    ],
                }
            )
        context["overrides"] = {
            "name": name,
            "id": context["widget"]["attrs"].get("id") or f"id_{name}",
            "rows": rows,
            "slots": range(1, slots + 1),
        }
        return context


def _filled(row: Mapping[str, Any]) -> bool:
    return bool(
        str(row.get("first", "")).strip()
        or str(row.get("last", "")).strip()
        or row.get("off")
        or any(s.strip() or e.strip() for s, e in row.get("hours") or [])
    )


class OverridesField(forms.Field):
    """Date overrides: None (none) or `normalize_availability_intervals`'s wire form."""

    widget = OverridesWidget

    def clean(self, value: Any) -> dict[str, Any] | None:
        wire, problems = read_overrides(value)
        self.widget.cell_errors = problems.cells
        if problems.lines:
            raise ValidationError(problems.lines)
        return wire

    def has_changed(self, initial: Any, data: Any) -> bool:
        wire, problems = read_overrides(data)
        return bool(problems.lines) or wire != (
            read_overrides(initial)[0] if isinstance(initial, Mapping) else None
        )


def read_overrides(value: Any) -> tuple[dict[str, Any] | None, Problems]:
    """The date overrides typed (or stored) as `value`, in wire form, and what is wrong.

    Blank rows are dropped first, so the keys of the errors follow the rows as they are shown
    again."""
    typed = [r for r in overrides_as_typed(value) if _filled(r)]
    problems = Problems()
    items: list[dict[str, Any]] = []
    rows: list[int] = []  # the row of each item
    cells: list[list[str]] = []  # the cell of each of its intervals
    for i, row in enumerate(typed):
        where = f"Override {i + 1}"
        first, last = str(row["first"]).strip(), str(row["last"]).strip()
        hours, mine, broken = [], [], False
        for k, (start, end) in enumerate(row["hours"]):
            start, end = start.strip(), end.strip()
            if start and end:
                hours.append({"start": start, "end": wire_end(start, end)})
                mine.append(f"{i}-{k}")
            elif start or end:
                problems.add(
                    f"{i}-{k}", f"{where}, {_ordinal(k)} interval", "give both a start and an end"
                )
                broken = True
        if not first:
            problems.add(f"{i}-first", where, "give the date it starts on")
        elif row["off"] and hours:
            problems.add(f"{i}", where, "either hours or “unavailable all day”, not both")
        elif not row["off"] and not hours and not broken:
            problems.add(f"{i}", where, "give its hours, or tick “unavailable all day”")
        else:
            items.append(
                {"dateStartInclusive": first, "dateEndInclusive": last or first, "hours": hours}
            )
            rows.append(i)
            cells.append(mine)
    if not typed:
        return None, problems
    try:
        wire = normalize_availability_intervals({"intervals": items})
    except RuleError as exc:
        for path, reasons in exc.errors.items():
            cell, where = _override_cell(path, rows, cells)
            for why in reasons:
                problems.add(cell, where, _plain(why))
        return None, problems
    for j, item in enumerate(wire["intervals"]):
        spans = [(*_seconds(h), c) for h, c in zip(item["hours"], cells[j], strict=True)]
        for cell, why in _overlaps(spans).items():
            i, k = (int(n) for n in cell.split("-"))
            problems.add(cell, f"Override {i + 1}, {_ordinal(k)} interval", why)
    return (None if problems.lines else wire), problems


def _override_cell(path: str, rows: list[int], cells: list[list[str]]) -> tuple[str, str]:
    m = re.match(r"availabilityIntervals\.intervals\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\])?", path)
    if not m or int(m.group(1)) >= len(rows):
        return "", "Date overrides"
    j = int(m.group(1))
    i, part = rows[j], m.group(2)
    where = f"Override {i + 1}"
    if part == "dateStartInclusive":
        return f"{i}-first", where
    if part == "dateEndInclusive":
        return f"{i}-last", where
    if part == "hours" and m.group(3) is not None and int(m.group(3)) < len(cells[j]):
        cell = cells[j][int(m.group(3))]
        return cell, f"{where}, {_ordinal(int(cell.split('-')[1]))} interval"
    return f"{i}", where


def _plain(why: str) -> str:
    """A rule's message in the form's words (its field names are the API's)."""
    return why.replace("dateStartInclusive", "the first date")
