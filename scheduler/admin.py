"""Django admin for every model: accounts with their calendars and tokens, profiles with a
preview of their next slots, bookings with their delivery state, and builtin events.

Staff users who are not superusers see only the accounts they own (`Account.owner`) and what
hangs off them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from scheduler import booking as booking_ops
from scheduler import variables
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


def calendar_state(calendar: Calendar) -> str:
    """One line on where a calendar's busy time comes from and whether that works."""
    if not calendar.pk:
        return "Not saved yet."
    if calendar.kind == Calendar.Kind.BUILTIN:
        return f"Built-in: {calendar.events.count()} event(s) stored here."
    if calendar.last_error:
        kept = (
            f"busy time still comes from the copy of {_ago(calendar.last_fetched_at)}"
            if calendar.last_fetched_at
            else "there is no copy yet"
        )
        return (
            f"Last fetch failed ({_ago(calendar.last_attempt_at)}): {calendar.last_error} — {kept}."
        )
    if calendar.last_fetched_at is None:
        return "Not fetched yet: it is read before the next availability answer."
    return (
        f"OK: fetched {_ago(calendar.last_fetched_at)}, "
        f"{_busy_count(calendar)} busy interval(s) in the copy."
    )


def calendar_state_short(calendar: Calendar) -> str:
    """A few words for the account page's calendar rows; the calendar's page says more."""
    if not calendar.pk:
        return "new"
    if calendar.kind == Calendar.Kind.BUILTIN:
        return f"{calendar.events.count()} event(s)"
    if calendar.last_error:
        return f"FAILED {_ago(calendar.last_attempt_at)}; copy of {_ago(calendar.last_fetched_at)}"
    if calendar.last_fetched_at is None:
        return "not fetched yet"
    return f"OK, fetched {_ago(calendar.last_fetched_at)}"


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return f"{timesince(moment, timezone.now(), depth=1)} ago"


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
    fields = ["name", "prefix", "state", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A token needs its raw value shown once: the "Issue a new API token" button above
        # does that, an inline row cannot.
        return False

    @admin.display(description="state")
    def state(self, obj: ApiToken) -> str:
        return _token_state(obj)


def _token_state(token: ApiToken) -> str:
    return "revoked" if token.revoked_at else "active"


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["account", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(OwnedAdmin):
    form = ApiTokenForm
    list_display = ["prefix", "name", "account", "state", "created_at", "last_used_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "account__handle"]
    list_select_related = ["account"]
    actions = ["revoke"]

    @admin.display(description="state", ordering="revoked_at")
    def state(self, obj: ApiToken) -> str:
        return _token_state(obj)

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


class AccountForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ["handle", "name", "email", "timezone", "owner"]
        help_texts = {
            "handle": "Public links are SITE_URL/{handle}/{profile}/: letters, digits, - and _.",
            "email": "The organizer of every booking; host notices go here.",
            "timezone": "IANA zone such as Europe/London: profiles' default work hours and the "
            "times in host notices.",
        }


@admin.register(Account)
class AccountAdmin(OwnedAdmin):
    form = AccountForm
    owner_path = "owner"
    owned_foreign_keys: dict[str, str] = {}
    list_display = ["handle", "name", "email", "timezone", "owner", "profile_count"]
    search_fields = ["handle", "name", "email"]
    list_select_related = ["owner"]
    inlines = [CalendarInline, ApiTokenInline]
    actions = ["issue_token"]
    fieldsets = [
        (None, {"fields": ["handle", "name", "email", "timezone"]}),
        ("Booking profiles", {"fields": ["profile_links"]}),
        ("Access", {"fields": ["owner", "created_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(n_profiles=Count("profiles"))

    @admin.display(description="profiles", ordering="n_profiles")
    def profile_count(self, obj: Account) -> int:
        return obj.n_profiles

    @admin.display(description="profiles")
    def profile_links(self, obj: Account) -> str:
        if not obj.pk:
            return "Save the account, then add profiles under Profiles."
        rows = [
            (
                reverse("admin:scheduler_profile_change", args=[p.pk]),
                p.name,
                p.scheduler_link,
                p.scheduler_link,
                "" if p.active else " (inactive)",
            )
            for p in obj.profiles.all()
        ]
        if not rows:
            return "No profiles yet."
        items = format_html_join("", '<li><a href="{}">{}</a> — <a href="{}">{}</a>{}</li>', rows)
        return format_html('<ul class="plain-list">{}</ul>', items)

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> list[str]:
        # Only a superuser hands an account to someone else.
        fixed = ["profile_links", "created_at"]
        return fixed if request.user.is_superuser else [*fixed, "owner"]

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if not change and not request.user.is_superuser:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.issue_token_view)
        return [
            path("<int:pk>/issue-token/", view, name="scheduler_account_issue_token"),
            *super().get_urls(),
        ]

    def issue_token_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The "Issue a new API token" button of an account's page (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        account = self.get_queryset(request).filter(pk=pk).first()
        if account is None or not self.has_change_permission(request, account):
            raise Http404(f"No account {pk} that you may change")
        name = (request.POST.get("name") or "").strip()[:100]
        _, raw = ApiToken.issue(account, name=name or f"admin {timezone.now():%Y-%m-%d}")
        _show_token_once(request, account, raw)
        return HttpResponseRedirect(reverse("admin:scheduler_account_change", args=[pk]))

    @admin.action(description="Issue a new API token (shown once)")
    def issue_token(self, request: HttpRequest, queryset: QuerySet) -> None:
        for account in queryset:
            _, raw = ApiToken.issue(account, name=f"admin {timezone.now():%Y-%m-%d}")
            _show_token_once(request, account, raw)


# --- profiles ----------------------------------------------------------------------------


class NullableJSONField(forms.JSONField):
    """Shows a stored null as an empty box rather than the word `null`; empty saves null."""

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""
        return super().prepare_value(value)


HOURS_EXAMPLE = (
    'e.g. {"timezone": "Europe/London", "daySchedules": [{"dayOfWeek": "monday", '
    '"workingIntervals": [{"start": "09:00", "end": "17:00"}]}]}'
)
OVERRIDES_EXAMPLE = (
    'e.g. {"intervals": [{"dateStartInclusive": "2026-12-24", "dateEndInclusive": '
    '"2026-12-26", "hours": []}]} — [] is a day off'
)


class ProfileForm(forms.ModelForm):
    work_hours = NullableJSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80, "class": "vLargeTextField"}),
        help_text=f"Empty: Monday–Friday 09:00–17:00 in the account's time zone. {HOURS_EXAMPLE}",
    )
    availability_intervals = NullableJSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80, "class": "vLargeTextField"}),
        help_text=f"Dates whose hours replace the weekly ones. {OVERRIDES_EXAMPLE}",
    )

    class Meta:
        model = Profile
        fields = [
            "account",
            "name",
            "active",
            "subject",
            "description",
            "location",
            "open_meeting_url",
            "start_conference",
            "duration_minutes",
            "availability_step",
            "buffer_between_minutes",
            "start_after_minutes",
            "time_available_for",
            "max_bookings_per_day",
            "start_time",
            "end_time",
            "work_hours",
            "availability_intervals",
            "context",
        ]
        labels = {
            "name": "Name (in the link)",
            "start_time": "Bookable from",
            "end_time": "Bookable until",
            "open_meeting_url": "Meeting URL",
            "start_conference": "A new video room per booking",
        }
        help_texts = {
            "name": "A slug, unique for the account: the public page is /{handle}/{name}/.",
            "active": "Inactive: no free times; the public page says so.",
            "subject": "May hold {{variables}} the invitee fills, e.g. {{topic}} (required) or "
            "{{company:}} (optional); {{name}}, {{email}}, {{startTime}} are filled in.",
            "open_meeting_url": "The same conference link for every booking ({{openMeetingUrl}}).",
            "start_conference": "Each booking gets its own room from CONFERENCE_URL_TEMPLATE "
            "(default Jitsi), used as its meeting URL.",
            "duration_minutes": "Meeting length, 5–720 minutes.",
            "availability_step": "Minutes between possible start times: 5, 10, 15, 20, 30 or 60.",
            "buffer_between_minutes": "Free time needed before and after each meeting (0–240).",
            "start_after_minutes": "Minimum notice: nothing can be booked sooner than this.",
            "time_available_for": "How far ahead people can book, an ISO 8601 period: P30D, P4W, "
            "P3M.",
            "max_bookings_per_day": "Per local day for this profile; empty = no limit.",
            "start_time": "Optional: no slots before this instant.",
            "end_time": "Optional: no slots from this instant on.",
            "context": "Free text for API clients, stored and returned untouched.",
        }


def _hhmm(seconds: int) -> str:
    return "24:00" if seconds >= 24 * 3600 else f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _hours_text(hours: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in hours) if hours else "off"


def week_summary(weekly: dict[int, tuple[tuple[int, int], ...]]) -> list[str]:
    """Runs of consecutive weekdays with the same hours: ["Mon–Fri 09:00–17:00", "Sat off"]."""
    lines: list[str] = []
    day = 0
    while day < 7:
        hours = tuple(weekly.get(day, ()))
        last = day
        while last + 1 < 7 and tuple(weekly.get(last + 1, ())) == hours:
            last += 1
        span = WEEKDAYS[day] if last == day else f"{WEEKDAYS[day]}–{WEEKDAYS[last]}"
        lines.append(f"{span} {_hours_text(hours)}")
        day = last + 1
    return lines


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@admin.register(Profile)
class ProfileAdmin(OwnedAdmin):
    form = ProfileForm
    list_display = [
        "name",
        "account",
        "duration_minutes",
        "availability_step",
        "hours_line",
        "active",
        "public_link",
    ]
    # Related-only: a host's filter must not list other hosts' accounts.
    list_filter = ["active", ("account", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "subject", "account__handle"]
    list_select_related = ["account"]
    readonly_fields = ["public_link", "invitee_fields", "hours_summary", "next_slots"]
    fieldsets = [
        (None, {"fields": ["account", "name", "active", "public_link"]}),
        (
            "What the invitee sees",
            {
                "fields": [
                    "subject",
                    "description",
                    "location",
                    "invitee_fields",
                    "open_meeting_url",
                    "start_conference",
                ]
            },
        ),
        (
            "Length and notice",
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
        ("Hours", {"fields": ["hours_summary", "work_hours", "availability_intervals"]}),
        (f"Next {PREVIEW_SLOTS} free times", {"fields": ["next_slots"]}),
        ("Client data", {"fields": ["context"], "classes": ["collapse"]}),
    ]

    @admin.display(description="public link")
    def public_link(self, obj: Profile) -> str:
        if not obj.pk:
            return "—"
        link = obj.scheduler_link
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', link, link)

    @admin.display(description="invitee fills in")
    def invitee_fields(self, obj: Profile) -> str:
        fields = variables.additional_fields(obj.subject, obj.description, obj.location)
        extra = ", ".join(f"{f.name} ({'required' if f.required else 'optional'})" for f in fields)
        return f"name, email{', ' + extra if extra else ''}"

    @admin.display(description="hours")
    def hours_line(self, obj: Profile) -> str:
        try:
            rules = obj.rules()
        except Exception:  # noqa: BLE001 - a list column must never break the page
            return "invalid hours"
        return f"{'; '.join(week_summary(dict(rules.weekly)))} ({rules.timezone})"

    @admin.display(description="in words")
    def hours_summary(self, obj: Profile) -> str:
        if not obj.pk:
            return "Save the profile to see its hours in words."
        try:
            rules = obj.rules()
        except Exception as exc:  # noqa: BLE001 - a summary must never break the page
            return f"The stored hours cannot be read: {exc}"
        source = "set here" if obj.work_hours else "the default, as no work hours are set"
        rows = [(line,) for line in week_summary(dict(rules.weekly))]
        overrides = [
            (
                f"{o.first:%a %d %b %Y}"
                + ("" if o.last == o.first else f" – {o.last:%a %d %b %Y}")
                + f": {_hours_text(o.hours)}",
            )
            for o in rules.overrides
        ]
        return format_html(
            '<p>Every week, in {} ({}):</p><ul class="plain-list">{}</ul>{}',
            rules.timezone,
            source,
            format_html_join("", "<li>{}</li>", rows),
            format_html(
                '<p>Date overrides:</p><ul class="plain-list">{}</ul>',
                format_html_join("", "<li>{}</li>", overrides),
            )
            if overrides
            else "",
        )

    @admin.display(description="free times")
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
        return format_html(
            '<p>Times in {}, as the public page offers them now:</p><ul class="plain-list">{}</ul>',
            obj.timezone,
            items,
        )


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


class WhenFilter(admin.SimpleListFilter):
    """Upcoming or past, the question a host asks first."""

    title = "when"
    parameter_name = "when"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("upcoming", "Upcoming"), ("past", "Past")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(end__gt=now).order_by("start", "id")
        if self.value() == "past":
            return queryset.filter(end__lte=now)
        return queryset


def local_when(booking: Booking) -> str:
    """The booking's time in its account's zone: what the host's calendar shows."""
    zone = ZoneInfo(booking.account.timezone)
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %d %b %H:%M}"
    return f"{start:%a %d %b %Y %H:%M}–{end_text} ({zone.key})"


DELIVERY_MARK = {"pending": "pending", "failed": "FAILED", "none": "none"}


@admin.register(Booking)
class BookingAdmin(OwnedAdmin):
    form = BookingForm
    list_display = ["when", "profile", "invitee", "status", "delivery"]
    # `date_hierarchy` and "when" cover dates; a date filter too would only crowd the column.
    list_filter = [
        WhenFilter,
        "status",
        ("profile", admin.RelatedOnlyFieldListFilter),  # a host sees only their profiles
        "mail_state",
        "calendar_state",
    ]
    search_fields = ["name", "email", "uid", "subject"]
    date_hierarchy = "start"
    ordering = ["-start", "-id"]
    list_select_related = ["profile", "profile__account", "account"]
    actions = ["cancel_bookings"]
    owned_foreign_keys = {"account": "owner", "profile": "account__owner"}

    @admin.display(description="when", ordering="start")
    def when(self, obj: Booking) -> str:
        return local_when(obj)

    @admin.display(description="invitee", ordering="name")
    def invitee(self, obj: Booking) -> str:
        return f"{obj.name} <{obj.email}>" if obj.email else obj.name or "—"

    @admin.display(description="mail / calendar")
    def delivery(self, obj: Booking) -> str:
        mail = "sent" if obj.mail_state == "done" else DELIVERY_MARK.get(obj.mail_state, "?")
        calendar = (
            "written"
            if obj.calendar_state == "done"
            else DELIVERY_MARK.get(obj.calendar_state, "?")
        )
        return f"mail {mail} · calendar {calendar}"

    def get_fieldsets(self, request: HttpRequest, obj: Booking | None = None) -> list:
        first = ["account", "profile", "status", "start", "end", "expires_at"]
        return [
            (None, {"fields": ["when", *first] if obj else first}),
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
            "when",
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

    @admin.action(description="Cancel the selected bookings (emails the invitees)")
    def cancel_bookings(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        live = list(queryset.exclude(status=Booking.Status.CANCELLED))
        # Cancelling mails every invitee and cannot be undone: ask first, as delete does.
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Cancel bookings?",
                "opts": self.model._meta,
                "bookings": [(b, local_when(b)) for b in live],
                "skipped": queryset.count() - len(live),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/scheduler/booking/cancel_confirmation.html", context
            )
        for row in live:
            booking_ops.cancel(row)
        self.message_user(request, f"Cancelled {len(live)} booking(s); the invitees are told.")
        return None


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
