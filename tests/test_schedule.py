"""Wire-format weekly hours and date overrides: validation with field paths, normalisation,
and the `Rules` built from them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from scheduler.rules.availability import DateOverride, Period
from scheduler.rules.schedule import (
    RuleError,
    build_rules,
    default_work_hours,
    is_timezone,
    normalize_availability_intervals,
    normalize_work_hours,
    validate_period,
    validate_step,
)


def errors_of(fn, value) -> dict[str, list[str]]:
    with pytest.raises(RuleError) as caught:
        fn(value)
    return caught.value.errors


def interval(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


def test_work_hours_are_normalised():
    value = {
        "timezone": "Asia/Kathmandu",
        "daySchedules": [
            {"dayOfWeek": "Monday", "workingIntervals": [interval("09:00", "12:30:15")]},
            {"dayOfWeek": "sunday", "workingIntervals": [interval("22:00", "24:00")]},
        ],
    }
    assert normalize_work_hours(value) == {
        "timezone": "Asia/Kathmandu",
        "daySchedules": [
            {"dayOfWeek": "monday", "workingIntervals": [interval("09:00:00", "12:30:15")]},
            {"dayOfWeek": "sunday", "workingIntervals": [interval("22:00:00", "24:00:00")]},
        ],
    }


def test_work_hours_errors_name_every_bad_field():
    value = {
        "timezone": "Mars/Olympus",
        "colour": "red",
        "daySchedules": [
            {"dayOfWeek": "funday", "workingIntervals": []},
            {
                "dayOfWeek": "monday",
                "workingIntervals": [
                    interval("10:00", "09:00"),
                    interval("24:00", "24:00"),
                    interval("9am", "10:00"),
                    interval("09:00", "25:00"),
                    {"start": "09:00", "end": "10:00", "extra": 1},
                    "09:00-10:00",
                ],
            },
        ],
    }
    errors = errors_of(normalize_work_hours, value)
    assert "'Mars/Olympus' is not an IANA time zone" in errors["workHours.timezone"][0]
    assert errors["workHours.colour"] == ["unknown field"]
    assert "'funday' is not one of monday" in errors["workHours.daySchedules[0].dayOfWeek"][0]
    base = "workHours.daySchedules[1].workingIntervals"
    assert errors[f"{base}[0].end"] == ["must be after start (10:00:00)"]
    assert errors[f"{base}[1].start"] == ["24:00 may only end an interval"]
    assert "'9am' is not a time of day" in errors[f"{base}[2].start"][0]
    assert "'25:00'" in errors[f"{base}[3].end"][0]
    assert errors[f"{base}[4].extra"] == ["unknown field"]
    assert errors[f"{base}[5]"] == ["must be an object {start, end}"]


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ([], "workHours"),
        ({"daySchedules": {}}, "workHours.daySchedules"),
        ({"daySchedules": ["monday"]}, "workHours.daySchedules[0]"),
        ({"daySchedules": [{"dayOfWeek": 1}]}, "workHours.daySchedules[0].dayOfWeek"),
        (
            {"daySchedules": [{"dayOfWeek": "monday", "workingIntervals": "all day"}]},
            "workHours.daySchedules[0].workingIntervals",
        ),
    ],
)
def test_work_hours_shape_errors(value, path):
    assert path in errors_of(normalize_work_hours, value)


def test_availability_intervals_normalised_and_end_defaults_to_start():
    value = {
        "intervals": [
            {"dateStartInclusive": "2026-12-24", "hours": []},
            {
                "dateStartInclusive": "2026-12-28",
                "dateEndInclusive": "2026-12-31",
                "hours": [interval("10:00", "12:00")],
            },
        ]
    }
    assert normalize_availability_intervals(value) == {
        "intervals": [
            {"dateStartInclusive": "2026-12-24", "dateEndInclusive": "2026-12-24", "hours": []},
            {
                "dateStartInclusive": "2026-12-28",
                "dateEndInclusive": "2026-12-31",
                "hours": [interval("10:00:00", "12:00:00")],
            },
        ]
    }
    assert normalize_availability_intervals(None) == {"intervals": []}


def test_availability_intervals_errors():
    value = {
        "intervals": [
            {"dateStartInclusive": "2026-12-31", "dateEndInclusive": "2026-12-01", "hours": []},
            {"dateStartInclusive": "31/12/2026", "hours": [interval("12:00", "11:00")]},
            {"dateStartInclusive": "2026-01-01", "note": "x"},
        ],
        "other": 1,
    }
    errors = errors_of(normalize_availability_intervals, value)
    assert errors["availabilityIntervals.intervals[0].dateEndInclusive"] == [
        "must not be before dateStartInclusive"
    ]
    assert (
        "'31/12/2026' is not a date"
        in (errors["availabilityIntervals.intervals[1].dateStartInclusive"][0])
    )
    assert "availabilityIntervals.intervals[1].hours[0].end" in errors
    assert errors["availabilityIntervals.intervals[2].note"] == ["unknown field"]
    assert errors["availabilityIntervals.other"] == ["unknown field"]
    assert "availabilityIntervals" in errors_of(normalize_availability_intervals, [1])


def test_rule_error_message_names_fields():
    error = RuleError({"a.b": ["x", "y"], "c": ["z"]})
    assert str(error) == "a.b: x, y; c: z"


@pytest.mark.parametrize("name", ["Europe/London", "Asia/Kathmandu", "UTC", "America/New_York"])
def test_real_zones(name):
    assert is_timezone(name)


@pytest.mark.parametrize(
    "name", ["", None, 5, "Mars/Olympus", "europe/london ", "../../etc/passwd", "/etc/localtime"]
)
def test_not_zones(name):
    assert not is_timezone(name)


def test_period_and_step_validation():
    assert validate_period("P4W") == "P4W"
    with pytest.raises(RuleError) as caught:
        validate_period("4 weeks")
    assert "timeAvailableFor" in caught.value.errors
    assert validate_step(15) == 15
    for bad in (7, "15", 0, 15.0, None):
        with pytest.raises(RuleError, match="availabilityStep"):
            validate_step(bad)


def test_default_work_hours_monday_to_friday_nine_to_five():
    hours = default_work_hours("Europe/Paris")
    assert hours["timezone"] == "Europe/Paris"
    assert [d["dayOfWeek"] for d in hours["daySchedules"]] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
    assert {d["workingIntervals"][0]["end"] for d in hours["daySchedules"]} == {"17:00:00"}
    assert "timezone" not in default_work_hours()


def _rules(**kw):
    args = {
        "account_timezone": "Europe/London",
        "work_hours": None,
        "availability_intervals": None,
        "duration_minutes": 45,
        "step_minutes": 15,
        "buffer_minutes": 10,
        "start_after_minutes": 120,
        "time_available_for": "P3M",
        "active_from": None,
        "active_until": None,
        "max_bookings_per_day": 3,
    }
    args.update(kw)
    return build_rules(**args)


def test_build_rules_defaults_to_weekdays_in_the_account_zone():
    rules = _rules()
    assert rules.timezone == "Europe/London"
    assert rules.weekly == {d: ((9 * 3600, 17 * 3600),) for d in range(5)}
    assert (rules.duration_minutes, rules.step_minutes, rules.buffer_minutes) == (45, 15, 10)
    assert rules.horizon == Period(months=3)
    assert rules.max_bookings_per_day == 3


def test_build_rules_reads_zone_hours_and_overrides():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rules = _rules(
        work_hours=normalize_work_hours(
            {
                "timezone": "America/New_York",
                "daySchedules": [
                    {"dayOfWeek": "saturday", "workingIntervals": [interval("10:00", "24:00")]},
                    {"dayOfWeek": "saturday", "workingIntervals": [interval("08:00", "09:00")]},
                ],
            }
        ),
        availability_intervals=normalize_availability_intervals(
            {"intervals": [{"dateStartInclusive": "2026-12-25", "hours": []}]}
        ),
        active_from=start,
    )
    assert rules.timezone == "America/New_York"
    assert rules.weekly == {5: ((10 * 3600, 24 * 3600), (8 * 3600, 9 * 3600))}
    assert rules.overrides == (DateOverride(date(2026, 12, 25), date(2026, 12, 25), ()),)
    assert rules.active_from == start
