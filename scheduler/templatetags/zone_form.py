"""`{% zone_form as zf %}`: the time-zone form of whichever page includes it, built from what
the page already has (its zone, its kept query, the request's `?tz=`), so views need not know
about it."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django import template

from scheduler import zone_picker

register = template.Library()


@register.simple_tag(takes_context=True)
def zone_form(context: dict[str, Any]) -> zone_picker.ZoneForm:
    request = context.get("request")
    typed = request.GET.get("tz", "") if request is not None else ""
    selected = context.get("page_zone") or ZoneInfo("UTC")
    return zone_picker.form(typed, selected, context.get("hidden_query") or {})
