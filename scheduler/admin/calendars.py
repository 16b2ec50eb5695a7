"""Calendars in admin: fetch state in plain words, write-only passwords."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
)

from scheduler.admin.base import OwnedAdmin, ago
from scheduler.calendars.refresh import queue_refresh
from scheduler.models import Calendar
from scheduler.services import calendars
from scheduler.services.errors import Conflict, InvalidInput

CALENDAR_HELP = {
    "kind": "Built-in: events stored here. ICS feed: a read-only URL such as Google's or "
    "Outlook's secret address. CalDAV: a calendar collection URL (Fastmail, iCloud, Nextcloud).",
    "role": "One primary per account (bookings are written there; built-in or CalDAV). "
    "Busy sources are only read, to block time.",
    "url": "Needed for ICS and CalDAV; left empty for the built-in calendar.",
}


class CalendarForm(forms.ModelForm):
    """The password is write-only: never rendered back, kept when left blank."""

    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep the stored password.",
    )
    clear_password = forms.BooleanField(required=False, help_text="Remove the stored password.")

    class Meta:
        model = Calendar
        fields = ["account", "name", "kind", "role", "url", "username", "password"]
        help_texts = CALENDAR_HELP
        labels = {"url": "URL"}

    def clean_password(self) -> str:
        value = self.cleaned_data.get("password") or ""
        if not value and self.instance.pk:
            return self.instance.password
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("clear_password"):
            data["password"] = ""
            self.instance.password = ""
        kind, role, url = data.get("kind"), data.get("role"), data.get("url") or ""
        if kind and role:
            # The same rules as the API's (services/calendars.py); the URL is checked when it
            # changes, and the fetcher checks it again before every request anyway.
            errors = calendars.check(kind, role, url)
            if url == self.instance.url and self.instance.pk:
                errors.pop("url", None)
            for field, reasons in errors.items():
                self.add_error(field if field in self.fields else None, reasons)
        return data

    def _get_validation_exclusions(self) -> set[str]:
        # "One primary per account" (a constraint on `account`) is not an error here: the
        # calendar service lets a new primary replace the old one, as the API does.
        return {*super()._get_validation_exclusions(), "account"}


def save_calendar(calendar: Calendar, form: forms.ModelForm) -> Calendar:
    """Save an admin form's calendar through the calendar service: a new primary replaces the
    old one, exactly as when it is added through the API."""
    if calendar.pk is None:
        return calendars.add(
            calendar.account,
            kind=calendar.kind,
            role=calendar.role,
            name=calendar.name,
            url=calendar.url,
            username=calendar.username,
            password=calendar.password,
        )
    return calendars.change(calendar, url_changed="url" in form.changed_data)


def remove_calendars(request: HttpRequest, admin_site: admin.ModelAdmin, rows: Any) -> None:
    """Remove calendars through the service; the builtin primary stays, with a message."""
    for calendar in rows:
        try:
            calendars.remove(calendar)
        except Conflict as exc:
            admin_site.message_user(request, f"{calendar}: {exc}", messages.ERROR)


def _busy_count(calendar: Calendar) -> int:
    return len(calendar.busy_intervals or ())


def calendar_state(calendar: Calendar) -> str:
    """One line on where a calendar's busy time comes from and whether that works."""
    if not calendar.pk:
        return "Not saved yet."
    if calendar.kind == Calendar.Kind.BUILTIN:
        return f"Built-in: {calendar.events.count()} event(s) stored here."
    if calendar.last_error:
        kept = (
            f"busy time still comes from the copy of {ago(calendar.last_fetched_at)}"
            if calendar.last_fetched_at
            else "there is no copy yet"
        )
        return (
            f"Last fetch failed ({ago(calendar.last_attempt_at)}): {calendar.last_error} — {kept}."
        )
    if calendar.last_fetched_at is None:
        return "Not fetched yet: it is read before the next availability answer."
    return (
        f"OK: fetched {ago(calendar.last_fetched_at)}, "
        f"{_busy_count(calendar)} busy interval(s) in the copy."
    )


def calendar_state_short(calendar: Calendar) -> str:
    """A few words for the account page's calendar rows; the calendar's page says more."""
    if not calendar.pk:
        return "new"
    if calendar.kind == Calendar.Kind.BUILTIN:
        return f"{calendar.events.count()} event(s)"
    if calendar.last_error:
        return f"FAILED {ago(calendar.last_attempt_at)}; copy of {ago(calendar.last_fetched_at)}"
    if calendar.last_fetched_at is None:
        return "not fetched yet"
    return f"OK, fetched {ago(calendar.last_fetched_at)}"


FETCH_STATE = (
    "last_fetched_at",
    "last_attempt_at",
    "etag",
    "last_modified",
    "last_error",
    "busy_interval_count",
)


class CalendarInlineForm(CalendarForm):
    class Meta(CalendarForm.Meta):
        widgets = {
            "name": forms.TextInput(attrs={"size": 16}),
            "url": forms.URLInput(attrs={"size": 36}),
        }


class CalendarInline(admin.TabularInline):
    """One compact row a calendar; its own page (the "Change" link) has the username,
    password and every fetch detail."""

    model = Calendar
    form = CalendarInlineForm
    extra = 0
    fields = ["name", "kind", "role", "url", "state"]
    readonly_fields = ["state"]
    show_change_link = True

    @admin.display(description="state")
    def state(self, obj: Calendar) -> str:
        return calendar_state_short(obj)


@admin.register(Calendar)
class CalendarAdmin(OwnedAdmin):
    form = CalendarForm
    list_display = ["__str__", "account", "kind", "role_short", "state"]
    list_filter = ["kind", "role"]
    search_fields = ["name", "url", "account__handle"]
    list_select_related = ["account"]
    readonly_fields = ["state", *FETCH_STATE]
    fieldsets = [
        (None, {"fields": ["account", "name", "kind", "role"]}),
        ("Connection", {"fields": ["url", "username", "password", "clear_password"]}),
        ("Fetch state", {"fields": ["state"]}),
        ("Fetch details", {"fields": FETCH_STATE, "classes": ["collapse"]}),
    ]
    actions = ["refresh_now"]

    @admin.display(description="role", ordering="role")
    def role_short(self, obj: Calendar) -> str:
        return obj.role

    @admin.display(description="state")
    def state(self, obj: Calendar) -> str:
        return calendar_state(obj)

    @admin.display(description="busy intervals")
    def busy_interval_count(self, obj: Calendar) -> int:
        return _busy_count(obj)

    def save_model(self, request: HttpRequest, obj: Calendar, form: Any, change: bool) -> None:
        try:
            saved = save_calendar(obj, form)
        except (Conflict, InvalidInput) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Calendar) -> None:
        remove_calendars(request, self, [obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        remove_calendars(request, self, list(queryset))

    @admin.action(description="Refresh the selected calendars now")
    def refresh_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        external = queryset.exclude(kind=Calendar.Kind.BUILTIN)
        for calendar in external:
            queue_refresh(calendar)
        self.message_user(request, f"Queued a refresh of {external.count()} calendar(s).")


# --- tokens ------------------------------------------------------------------------------
