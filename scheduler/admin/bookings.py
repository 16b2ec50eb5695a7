"""Bookings with their hosts and delivery state and a cancel that asks first; builtin events.

A staff host sees the bookings they attend: their own, and group bookings that chose them
(SPEC §8); cancelling one cancels it for every host."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.template.response import TemplateResponse
from django.utils import timezone

from scheduler.admin.base import OwnedAdmin
from scheduler.models import Attendee, Booking, Calendar, Event
from scheduler.services import bookings
from scheduler.services.errors import InvalidInput, SlotUnavailable


class BookingForm(forms.ModelForm):
    """A booking's own page: only the invitee's details and the invitation's text change
    here; moving and cancelling go through the booking service (the cancel action)."""

    class Meta:
        model = Booking
        fields = ["name", "email", "subject", "description", "location"]


class BookForInviteeForm(forms.ModelForm):
    """ "Add booking" books through the same service as the API and the public page: the slot
    must be free under the profile's rules (hours, buffer, notice, bookings), the invitee is
    mailed the same invite, and the booking lands on the host's calendar."""

    class Meta:
        model = Booking
        fields = ["profile", "start", "name", "email", "substitution_data"]
        labels = {"start": "Start (a free time of the profile)"}
        help_texts = {
            "start": "Must be one of the profile's free times; the end follows from its length.",
            "substitution_data": 'Answers to the profile\'s variables, e.g. {"topic": "Pricing"}.',
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["profile"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        profile, start = data.get("profile"), data.get("start")
        if self.errors or profile is None or start is None:
            return data
        try:
            self.instance = bookings.book(
                profile,
                start=start,
                end=start + timedelta(minutes=profile.duration_minutes),
                name=data.get("name") or "",
                email=data.get("email") or "",
                substitution_data=data.get("substitution_data") or {},
            )
        except SlotUnavailable as exc:
            self.add_error("start", f"Not a free time of {profile}: {exc}")
        except InvalidInput as exc:
            for field, reasons in exc.fields.items():
                self.add_error(
                    "substitution_data" if field.startswith("substitutionData") else None,
                    f"{field}: {', '.join(reasons)}",
                )
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
    list_display = ["when", "profile", "invitee", "hosts", "status", "delivery"]
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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        attendees = Attendee.objects.select_related("account").order_by("position", "id")
        qs = admin.ModelAdmin.get_queryset(self, request).prefetch_related(
            Prefetch("attendees", queryset=attendees)
        )
        if request.user.is_superuser:
            return qs
        # Every host a booking chose is an attendee (its organizer too); `account` is checked
        # as well for a booking saved before attendees existed.
        attends = Attendee.objects.filter(booking=OuterRef("pk"), account__owner=request.user)
        return qs.filter(Q(account__owner=request.user) | Exists(attends))

    @admin.display(description="hosts")
    def hosts(self, obj: Booking) -> str:
        """Every host attending, the organizer first."""
        names = [f"@{a.account.handle}" for a in obj.attendees.all()]
        return ", ".join(names) or f"@{obj.account.handle}"

    @admin.display(description="hosts attending")
    def hosts_detail(self, obj: Booking) -> str:
        names = [str(a.account) for a in obj.attendees.all()] or [str(obj.account)]
        text = f"{names[0]} (organizer)" + "".join(f", {n}" for n in names[1:])
        if not obj.group_mode:
            return text
        chosen = f", chosen group {obj.group_xid!r}" if obj.group_xid else ""
        return f"{text} — group booking, required={obj.group_mode}{chosen}"

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

    def get_form(self, request: HttpRequest, obj: Booking | None = None, **kwargs: Any):
        if obj is None:
            kwargs["form"] = BookForInviteeForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request: HttpRequest, obj: Booking, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        # A new booking was made by the booking service while the form was checked.

    def get_fieldsets(self, request: HttpRequest, obj: Booking | None = None) -> list:
        if obj is None:
            return [(None, {"fields": ["profile", "start", "name", "email", "substitution_data"]})]
        first = ["hosts_detail", "profile", "status", "start", "end", "expires_at"]
        return [
            (None, {"fields": ["when", *first]}),
            ("Invitee", {"fields": ["name", "email", "substitution_data"]}),
            ("Invitation", {"fields": ["subject", "description", "location", "conference_url"]}),
            ("Mail delivery", {"fields": DELIVERY}),
            ("Calendar delivery", {"fields": CALENDAR_DELIVERY}),
            ("Identity", {"fields": ["uid", "sequence", "created_at", "cancelled_at"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Booking | None = None) -> list[str]:
        always = ["uid", *DELIVERY, *CALENDAR_DELIVERY]
        if obj is None:
            return []
        # Moving or cancelling goes through the booking service so invites and calendars follow.
        return [
            *always,
            "when",
            "hosts_detail",
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
            bookings.cancel(row)
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
