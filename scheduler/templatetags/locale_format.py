"""Dates and times as the visitor's language writes them (`scheduler.localize`), and the
language and clock switcher.

    {% load locale_format %}
    {{ start|full_date }}, {{ start|time_of_day }}–{{ end|time_of_day }}
    {% locale_switcher %}
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import timezone

from scheduler import localize

register = template.Library()


def _filter(name: str, kind: str) -> None:
    def written(value: date | datetime | None) -> str:
        # As Django's `date` filter: an aware datetime in the template's current zone.
        if isinstance(value, datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return localize.write(value, kind)

    written.__doc__ = f"`value` written as the active language writes a {kind!r}."
    register.filter(name, written)


_filter("time_of_day", "time")  # 15:30 · 3:30 PM
_filter("full_date", "full")  # Friday 4 January 2030 · Freitag, 4. Januar 2030
_filter("day_date", "day")  # Friday 4 January · Freitag, 4. Januar
_filter("short_day", "short_day")  # Fri 4 Jan
_filter("month_year", "month")  # January 2030
_filter("month_name", "month_name")  # January
_filter("day_month_year", "date")  # 4 January 2030
_filter("day_time", "day+time")  # Friday 4 January, 15:30
_filter("full_date_time", "full+time")  # Friday 4 January 2030, 15:30
_filter("short_day_time", "short_day+time")  # Fri 4 Jan, 15:30


@register.simple_tag
def twelve_hour() -> bool:
    """Whether this visitor reads 12-hour times (wider time buttons)."""
    return localize.twelve_hour()


@register.simple_tag
def weekday_names() -> list[tuple[str, str]]:
    """(short, full) weekday names from Monday."""
    return localize.weekdays()


@register.inclusion_tag("scheduler/_locale_switcher.html", takes_context=True)
def locale_switcher(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    if request is None:
        return {}
    return localize.switcher(request)
