"""Django admin for every model: accounts with their calendars and tokens, profiles with a
preview of their next slots, bookings with their delivery state, and builtin events.

Staff users who are not superusers see only the accounts they own (`Account.owner`) and what
hangs off them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from scheduler import booking as booking_ops
from scheduler.models import Account, ApiToken, Booking, Calendar, Event, Profile

PREVIEW_SLOTS = 10


class OwnedAdmin(admin.ModelAdmin):
    """Limits a non-superuser staff user to the rows of accounts they own.

    `owner_path` is the lookup from this model to `Account.owner`.
    """

    owner_path = "account__owner"
    # Foreign keys whose choices must be limited too, with the lookup to the owner.
    owned_foreign_keys: dict[str, str] = {"account": "owner"}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{self.owner_path: request.user})

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        lookup = self.owned_foreign_keys.get(db_field.name)
        if lookup and not request.user.is_superuser:
            kwargs["queryset"] = db_field.remote_field.model.objects.filter(
                **{lookup: request.user}
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- calendars ---------------------------------------------------------------------------


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

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url") or ""
        # Checked when it changes: the fetcher checks again before every request anyway.
        if url and url != self.instance.url:
            from scheduler.calendars.ssrf import validate_calendar_url

            try:
                validate_calendar_url(url)
            except ValueError as exc:
                raise ValidationError(str(exc).removeprefix("url: ")) from exc
        return url

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
        return data


def _busy_count(calendar: Calendar) -> int:
    return len(calendar.busy_intervals or ())


FETCH_STATE = (
    "last_fetched_at",
    "last_attempt_at",
    "etag",
    "last_modified",
    "last_error",
    "busy_interval_count",
)


class CalendarInline(admin.StackedInline):
    model = Calendar
    form = CalendarForm
    extra = 0
    fields = ["name", "kind", "role", "url", "username", "password", "clear_password", *FETCH_STATE]
    readonly_fields = FETCH_STATE
    show_change_link = True

    @admin.display(description="busy intervals")
    def busy_interval_count(self, obj: Calendar) -> int:
        return _busy_count(obj)


@admin.register(Calendar)
class CalendarAdmin(OwnedAdmin):
    form = CalendarForm
    list_display = ["__str__", "account", "kind", "role", "last_fetched_at", "error_summary"]
    list_filter = ["kind", "role"]
    search_fields = ["name", "url", "account__handle"]
    list_select_related = ["account"]
    readonly_fields = FETCH_STATE
    fieldsets = [
        (None, {"fields": ["account", "name", "kind", "role"]}),
        ("Connection", {"fields": ["url", "username", "password", "clear_password"]}),
        ("Fetch state", {"fields": FETCH_STATE}),
    ]
    actions = ["refresh_now"]

    @admin.display(description="busy intervals")
    def busy_interval_count(self, obj: Calendar) -> int:
        return _busy_count(obj)

    @admin.display(description="last error")
    def error_summary(self, obj: Calendar) -> str:
        return (obj.last_error or "")[:80]

    @admin.action(description="Refresh the selected calendars now")
    def refresh_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        from scheduler import tasks

        external = queryset.exclude(kind=Calendar.Kind.BUILTIN)
        for calendar in external:
            tasks.refresh_calendar.enqueue(calendar.pk)
        self.message_user(request, f"Queued a refresh of {external.count()} calendar(s).")


# --- tokens ------------------------------------------------------------------------------


def _show_token_once(request: HttpRequest, account: Account, raw: str) -> None:
    messages.warning(
        request,
        f"New API token for @{account.handle}: {raw} — copy it now, it is not shown again.",
    )


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A token needs its raw value shown once: the account's "issue token" action or the
        # token admin's add page do that, an inline row cannot.
        return False


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["account", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(OwnedAdmin):
    form = ApiTokenForm
    list_display = ["prefix", "name", "account", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "account__handle"]
    list_select_related = ["account"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return []
        return ["account", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return ["account", "name"]
        return ["account", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = ApiToken.issue(obj.account, obj.name)
        # Admin goes on with `obj` (log entry, redirect): make it the issued row.
        obj.pk, obj.prefix, obj.token_hash = token.pk, token.prefix, token.token_hash
        obj.created_at = token.created_at
        obj._state.adding, obj._state.db = False, token._state.db
        _show_token_once(request, obj.account, raw)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).")


# --- accounts ----------------------------------------------------------------------------


@admin.register(Account)
class AccountAdmin(OwnedAdmin):
    owner_path = "owner"
    owned_foreign_keys: dict[str, str] = {}
    list_display = ["handle", "name", "email", "timezone", "owner", "profile_count"]
    search_fields = ["handle", "name", "email"]
    list_select_related = ["owner"]
    inlines = [CalendarInline, ApiTokenInline]
    actions = ["issue_token"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(n_profiles=Count("profiles"))

    @admin.display(description="profiles", ordering="n_profiles")
    def profile_count(self, obj: Account) -> int:
        return obj.n_profiles

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> list[str]:
        # Only a superuser hands an account to someone else.
        return [] if request.user.is_superuser else ["owner"]

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if not change and not request.user.is_superuser:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Issue a new API token (shown once)")
    def issue_token(self, request: HttpRequest, queryset: QuerySet) -> None:
        for account in queryset:
            _, raw = ApiToken.issue(account, name=f"admin {timezone.now():%Y-%m-%d}")
            _show_token_once(request, account, raw)


# --- profiles ----------------------------------------------------------------------------


@admin.register(Profile)
class ProfileAdmin(OwnedAdmin):
    list_display = ["name", "account", "duration_minutes", "availability_step", "active"]
    list_filter = ["active", "account"]
    search_fields = ["name", "subject", "account__handle"]
    list_select_related = ["account"]
    readonly_fields = ["public_link", "next_slots"]
    fieldsets = [
        (None, {"fields": ["account", "name", "active", "public_link"]}),
        ("Invitation", {"fields": ["subject", "description", "location", "open_meeting_url"]}),
        ("Conference", {"fields": ["start_conference"]}),
        (
            "Timing",
            {
                "fields": [
                    "duration_minutes",
                    "availability_step",
                    "buffer_between_minutes",
                    "start_after_minutes",
                    "time_available_for",
                    "max_bookings_per_day",
                    ("start_time", "end_time"),
                ]
            },
        ),
        ("Hours", {"fields": ["work_hours", "availability_intervals"]}),
        ("Client data", {"fields": ["context"], "classes": ["collapse"]}),
        (f"Next {PREVIEW_SLOTS} free slots", {"fields": ["next_slots"]}),
    ]

    @admin.display(description="public link")
    def public_link(self, obj: Profile) -> str:
        if not obj.pk:
            return "—"
        link = obj.scheduler_link
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', link, link)

    @admin.display(description="free slots")
    def next_slots(self, obj: Profile) -> str:
        if not obj.pk:
            return "Save the profile to see its slots."
        if not obj.active:
            return "The profile is inactive: it offers no slots."
        try:
            slots = booking_ops.compute(obj).slots[:PREVIEW_SLOTS]
        except Exception as exc:  # noqa: BLE001 - a preview must never break the page
            return f"Could not compute slots: {type(exc).__name__}: {exc}"
        if not slots:
            return "No free slots in the horizon."
        zone = obj.rules().zone
        rows = (
            (
                start.astimezone(zone).strftime("%a %Y-%m-%d %H:%M"),
                end.astimezone(zone).strftime("%H:%M"),
            )
            for start, end in slots
        )
        items = format_html_join("", "<li>{} – {}</li>", rows)
        return format_html("<p>Times in {}</p><ul>{}</ul>", obj.timezone, items)


# --- bookings ----------------------------------------------------------------------------


class BookingForm(forms.ModelForm):
    class Meta:
        model = Booking
        fields = [
            "account",
            "profile",
            "status",
            "start",
            "end",
            "expires_at",
            "name",
            "email",
            "substitution_data",
            "subject",
            "description",
            "location",
            "conference_url",
            "sequence",
            "created_at",
            "cancelled_at",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        account, start, end = data.get("account"), data.get("start"), data.get("end")
        profile = data.get("profile")
        if profile and account and profile.account_id != account.pk:
            self.add_error("profile", f"{profile} belongs to another account than {account}")
        live = data.get("status") in (Booking.Status.CONFIRMED, Booking.Status.RESERVED)
        if account and start and end and live and not self.instance.pk:
            clash = Booking.objects.filter(account=account).live().overlapping(start, end)
            if clash.exists():
                self.add_error("start", f"overlaps booking {clash.first()} of {account}")
        return data


DELIVERY = ("mail_state", "mail_attempts", "mail_error")
CALENDAR_DELIVERY = ("calendar_state", "calendar_attempts", "calendar_error")


@admin.register(Booking)
class BookingAdmin(OwnedAdmin):
    form = BookingForm
    list_display = [
        "id",
        "start",
        "end",
        "profile",
        "name",
        "email",
        "status",
        "mail_state",
        "calendar_state",
    ]
    list_filter = [
        "status",
        "profile",
        ("start", admin.DateFieldListFilter),
        "mail_state",
        "calendar_state",
    ]
    search_fields = ["name", "email", "uid", "subject"]
    date_hierarchy = "start"
    list_select_related = ["profile", "profile__account", "account"]
    actions = ["cancel_bookings"]
    owned_foreign_keys = {"account": "owner", "profile": "account__owner"}

    def get_fieldsets(self, request: HttpRequest, obj: Booking | None = None) -> list:
        return [
            (None, {"fields": ["account", "profile", "status", "start", "end", "expires_at"]}),
            ("Invitee", {"fields": ["name", "email", "substitution_data"]}),
            ("Invitation", {"fields": ["subject", "description", "location", "conference_url"]}),
            ("Mail delivery", {"fields": DELIVERY}),
            ("Calendar delivery", {"fields": CALENDAR_DELIVERY}),
            ("Identity", {"fields": ["uid", "sequence", "created_at", "cancelled_at"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Booking | None = None) -> list[str]:
        always = ["uid", *DELIVERY, *CALENDAR_DELIVERY]
        if obj is None:
            return always
        # Moving or cancelling goes through booking.py so invites and calendars follow.
        return [
            *always,
            "account",
            "profile",
            "status",
            "start",
            "end",
            "expires_at",
            "substitution_data",
            "conference_url",
            "sequence",
            "created_at",
            "cancelled_at",
        ]

    @admin.action(description="Cancel the selected bookings (sends cancellations)")
    def cancel_bookings(self, request: HttpRequest, queryset: QuerySet) -> None:
        live = queryset.exclude(status=Booking.Status.CANCELLED)
        count = 0
        for row in live:
            booking_ops.cancel(row)
            count += 1
        self.message_user(request, f"Cancelled {count} booking(s).")


# --- events ------------------------------------------------------------------------------


@admin.register(Event)
class EventAdmin(OwnedAdmin):
    owner_path = "calendar__account__owner"
    owned_foreign_keys = {"calendar": "account__owner", "booking": "account__owner"}
    list_display = ["summary", "calendar", "start", "end", "transparent", "cancelled", "booking"]
    list_filter = ["transparent", "cancelled", ("start", admin.DateFieldListFilter)]
    search_fields = ["summary", "uid"]
    date_hierarchy = "start"
    list_select_related = ["calendar", "calendar__account", "booking"]
    raw_id_fields = ["booking"]

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        if db_field.name == "calendar":
            # Events live only on builtin calendars; others are read from their servers.
            kwargs["queryset"] = Calendar.objects.filter(kind=Calendar.Kind.BUILTIN)
            if not request.user.is_superuser:
                kwargs["queryset"] = kwargs["queryset"].filter(account__owner=request.user)
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
