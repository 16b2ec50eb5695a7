"""Profiles: fieldsets, hours in words beside the JSON, a preview of the next slots; an
organization's group profiles too, with their hosts (group_profiles.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join

from scheduler.admin import group_profiles
from scheduler.admin.base import PREVIEW_SLOTS, OwnedAdmin
from scheduler.admin.hours import OverridesField, WorkHoursField
from scheduler.models import Organization, Profile
from scheduler.rules import variables
from scheduler.rules.availability import format_time_of_day
from scheduler.services import availability, profiles


class ProfileForm(forms.ModelForm):
    work_hours = WorkHoursField(
        required=False,
        label="Work hours",
        help_text="Times of day in the zone above. An end of 00:00 (12:00 AM) is midnight, "
        "the end of the day. Touching intervals (09:00–12:00, 12:00–17:00) are fine; "
        "overlapping ones are refused.",
    )
    availability_intervals = OverridesField(
        required=False,
        label="Date overrides",
        help_text="Days off and special hours, in the same zone as the work hours.",
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

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if "account" in self.fields:
            # A profile has an owner: the account here, or (group profiles) an organization.
            self.fields["account"].required = True
        group = self.instance.organization_id or "organization" in self.fields
        who = "organization" if group else "account"
        owner = self.instance.organization if who == "organization" else self.instance.account
        zone = f" ({owner.timezone})" if getattr(self.instance, f"{who}_id", None) else ""
        self.fields["work_hours"].widget.fallback_zone = f"the {who}'s zone{zone}"


GroupProfileForm = group_profiles.group_form(ProfileForm)


def hhmm(seconds: int) -> str:
    return format_time_of_day(seconds, with_seconds=False)


def _hours_text(hours: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{hhmm(a)}–{hhmm(b)}" for a, b in hours) if hours else "off"


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
    # Narrow enough for a 1280 px screen beside the filter: the link is a short "open".
    list_display = ["name", "owner", "length", "hours_line", "active", "page_link"]
    # Related-only: a host's filter must not list other hosts' accounts.
    list_filter = ["active", ("account", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "subject", "account__handle", "organization__handle"]
    list_select_related = ["account", "organization"]
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
        (
            "Reminders and deadlines",
            {
                "fields": [
                    "reminder_minutes",
                    "cancel_notice_minutes",
                    "reschedule_notice_minutes",
                    "require_email_verification",
                ]
            },
        ),
        ("Hours", {"fields": ["hours_summary", "work_hours", "availability_intervals"]}),
        (f"Next {PREVIEW_SLOTS} free times", {"fields": ["next_slots"]}),
        ("Client data", {"fields": ["context"], "classes": ["collapse"]}),
    ]

    # --- group profiles: an organization's, for superusers -----------------------------

    def is_group(self, request: HttpRequest, obj: Profile | None) -> bool:
        """A group profile's page, or "Add group profile" (`?organization=`, superusers)."""
        if obj is not None:
            return obj.is_group
        return request.user.is_superuser and "organization" in request.GET

    def get_list_filter(self, request: HttpRequest) -> list:
        if not request.user.is_superuser:
            return list(self.list_filter)
        return [*self.list_filter, ("organization", admin.RelatedOnlyFieldListFilter)]

    def get_form(self, request: HttpRequest, obj: Profile | None = None, **kwargs: Any):
        if self.is_group(request, obj):
            kwargs["form"] = GroupProfileForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Profile | None = None) -> list:
        if not self.is_group(request, obj):
            return self.fieldsets
        first, *middle, preview, client = self.fieldsets
        hosts = {
            "fields": ["required", "attached_accounts"],
            "description": "The hosts: attached accounts (one unit each) and groups (one unit "
            "each, in the table below). Only the organization's members; an account may be "
            "one unit only.",
        }
        return [
            (None, {"fields": ["organization", "name", "active", "public_link"]}),
            ("Hosts", hosts),
            *middle,
            (f"Next {PREVIEW_SLOTS} free times, with who would attend", preview[1]),
            (client[0], {**client[1], "fields": ["context", "client_org_id"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Profile | None = None) -> list[str]:
        fixed = list(self.readonly_fields)
        # Another organization's accounts could not be its hosts: the owner stays.
        return [*fixed, "organization"] if obj is not None and obj.is_group else fixed

    def get_inlines(self, request: HttpRequest, obj: Profile | None) -> list:
        return [group_profiles.GroupInline] if self.is_group(request, obj) else []

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Profile, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        org = obj.organization if obj.organization_id else None
        org = org or group_profiles.organization_named(request.GET.get("organization"))
        return {**kwargs, "form_kwargs": {"organization": org}}

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if object_id is None and self.is_group(request, None):
            extra_context = {**(extra_context or {}), "title": "Add group profile"}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: Any, obj: Profile, form: Any, change: bool) -> None:
        # The form ran the model's validators (the same rules the API's service applies);
        # saving goes through the service like every other write.
        profiles.save(obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if not form.instance.is_group:
            super().save_related(request, form, formsets, change)
            return
        form.save_m2m()
        group_profiles.save_hosts(request, form, formsets)

    @admin.display(description="owner")
    def owner(self, obj: Profile) -> str:
        owner = obj.owner
        return f"{owner} — team" if isinstance(owner, Organization) else str(owner)

    @admin.display(description="public link")
    def public_link(self, obj: Profile) -> str:
        if not obj.pk:
            return "—"
        link = obj.scheduler_link
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', link, link)

    @admin.display(description="length", ordering="duration_minutes")
    def length(self, obj: Profile) -> str:
        return f"{obj.duration_minutes} min, every {obj.availability_step}"

    @admin.display(description="page")
    def page_link(self, obj: Profile) -> str:
        link = obj.scheduler_link
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" title="{}">open</a>', link, link
        )

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
            if obj.is_group:
                return group_profiles.preview(obj, PREVIEW_SLOTS)
            slots = availability.compute(obj).slots[:PREVIEW_SLOTS]
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
