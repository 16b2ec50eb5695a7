"""Bookings with their hosts and delivery state, a cancel that asks first and a reschedule
page of the free times; builtin events.

A staff host sees the bookings they attend: their own, and group bookings that chose them
(SPEC §8); cancelling or moving one does so for every host. Times are shown and taken in the
booking's account's zone (SPEC §10), and both changes go through the booking service, so the
invitee gets the same mails as through the API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from scheduler.admin.base import OwnedAdmin
from scheduler.models import Attendee, Booking, Calendar, Event, Profile
from scheduler.services import availability, bookings
from scheduler.services.errors import InvalidInput, ServiceError, SlotUnavailable

# Days (a week) of free times the reschedule page lists at once.
RESCHEDULE_DAYS = 7


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
            "start": "In the time zone of the profile's account (its organization's, for a "
            "group profile). Must be one of the profile's free times; the end follows from "
            "its length.",
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
        start = in_zone(start, profile_zone(profile))
        data["start"] = start
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


def profile_zone(profile: Profile) -> ZoneInfo:
    """Where admin takes a new booking's time: the zone of the profile's account (of its
    organization, for a group profile)."""
    return ZoneInfo(profile.owner.timezone)


def booking_zone(booking: Booking) -> ZoneInfo:
    """Where admin shows and takes a booking's times: its account's zone."""
    return ZoneInfo(booking.account.timezone)


def in_zone(moment: datetime, zone: ZoneInfo) -> datetime:
    """What was typed into a form's date and time fields (which Django reads in the current
    zone) read as wall time in `zone` instead; fold=0 as in SPEC §3."""
    wall = timezone.make_naive(moment) if timezone.is_aware(moment) else moment
    return wall.replace(tzinfo=zone, fold=0)


def local_when(booking: Booking, *, year: bool = True) -> str:
    """The booking's time in its account's zone: what the host's calendar shows."""
    zone = booking_zone(booking)
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %d %b %H:%M}"
    day = f"{start:%a %d %b %Y}" if year else f"{start:%a %d %b}"
    return f"{day} {start:%H:%M}–{end_text} ({zone.key})"


def booking_title(booking: Booking) -> str:
    """A booking named for a host: its local time and the invitee."""
    return f"{local_when(booking)} · {booking.name or booking.email or booking.uid}"


DELIVERY_MARK = {"pending": "pending", "failed": "FAILED", "none": "none"}


@admin.register(Booking)
class BookingAdmin(OwnedAdmin):
    form = BookingForm
    # Narrow enough for a 1280 px screen beside the filter (the hosts name the account).
    list_display = ["when", "profile_name", "invitee", "hosts", "status", "delivery"]
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
    actions = ["cancel_bookings", "reschedule_booking"]
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

    @admin.display(description="conference URL")
    def join_link(self, obj: Booking) -> str:
        """The booking's own video room; none once it is cancelled (SPEC §10)."""
        if obj.status == Booking.Status.CANCELLED:
            return "— (the booking is cancelled)" if obj.conference_url else "—"
        return obj.conference_url or "—"

    @admin.display(description="when", ordering="start")
    def when(self, obj: Booking) -> str:
        return local_when(obj)

    @admin.display(description="profile", ordering="profile__name")
    def profile_name(self, obj: Booking) -> str:
        return obj.profile.name if obj.profile else "—"

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

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        booking = self.get_object(request, object_id) if object_id else None
        if booking is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        # Every time on the page (start, end, created…) in the account's zone: rendered while
        # that zone is the current one, as the template response renders lazily.
        # The page's subtitle and breadcrumb name the booking by its local time too.
        extra_context = {**(extra_context or {}), "subtitle": booking_title(booking)}
        with timezone.override(booking_zone(booking)):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if isinstance(response, TemplateResponse):
                response.render()
        return response

    def get_fieldsets(self, request: HttpRequest, obj: Booking | None = None) -> list:
        if obj is None:
            return [(None, {"fields": ["profile", "start", "name", "email", "substitution_data"]})]
        first = ["hosts_detail", "profile", "status", "start", "end", "expires_at"]
        zone = booking_zone(obj).key
        return [
            (
                None,
                {
                    "fields": ["when", *first],
                    "description": f"Times in {zone}, the account's time zone.",
                },
            ),
            ("Invitee", {"fields": ["name", "email", "substitution_data"]}),
            ("Invitation", {"fields": ["subject", "description", "location", "join_link"]}),
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
            "join_link",
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

    @admin.action(description="Reschedule the selected booking (pick a free time)")
    def reschedule_booking(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, "Select one booking to reschedule.", messages.WARNING)
            return None
        return HttpResponseRedirect(self.reschedule_url(chosen[0]))

    # --- reschedule: a page of the profile's free times --------------------------------

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.reschedule_view)
        return [
            path("<int:pk>/reschedule/", view, name="scheduler_booking_reschedule"),
            *super().get_urls(),
        ]

    def reschedule_url(self, booking: Booking) -> str:
        return reverse("admin:scheduler_booking_reschedule", args=[booking.pk])

    def reschedule_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The free times of the booking's profile (its own time counted free), a week at a
        time, in the account's zone; choosing one moves the booking through the booking
        service: the same checks and mails as the API's reschedule (UID kept, SEQUENCE up)."""
        booking = self.get_queryset(request).filter(pk=pk).first()
        if booking is None or not self.has_change_permission(request, booking):
            raise Http404(f"No booking {pk} that you may change")
        back = reverse("admin:scheduler_booking_change", args=[booking.pk])
        if booking.status != Booking.Status.CONFIRMED or booking.profile is None:
            why = "it has no profile" if booking.profile is None else f"it is {booking.status}"
            self.message_user(request, f"This booking cannot be moved: {why}.", messages.ERROR)
            return HttpResponseRedirect(back)
        zone = booking_zone(booking)
        error = ""
        if request.method == "POST":
            moved, error = self._move(booking, request.POST.get("start", ""), zone)
            if moved is not None:
                note = "the invitee is sent the updated invitation"
                if not self.get_queryset(request).filter(pk=moved.pk).exists():
                    # A group booking that chose other hosts is no longer this host's.
                    note += "; other hosts attend it now"
                    back = reverse("admin:scheduler_booking_changelist")
                self.message_user(request, f"Moved to {local_when(moved)}; {note}.")
                return HttpResponseRedirect(back)
        days, earlier, later = self._free_days(booking, zone, request.GET.get("from", ""))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reschedule: {booking.name or booking.email or booking.uid}",
            "booking_title": booking_title(booking),
            "opts": self.model._meta,
            "original": booking,
            "when": local_when(booking),
            "zone": zone.key,
            "days": days,
            "earlier": earlier,
            "later": later,
            "error": error,
            "typed": request.POST.get("start", "") if error else "",
            "current": booking.start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            "back": back,
        }
        return TemplateResponse(request, "admin/scheduler/booking/reschedule.html", context)

    def _move(self, booking: Booking, typed: str, zone: ZoneInfo) -> tuple[Booking | None, str]:
        """Move `booking` to the start `typed` (`YYYY-MM-DDTHH:MM`, wall time in `zone`)."""
        try:
            wall = datetime.fromisoformat(typed.strip())
        except ValueError:
            return None, f"{typed!r} is not a date and time such as 2026-03-02T10:00."
        if wall.tzinfo is not None:
            return None, "Give the time without an offset: it is read in the account's zone."
        start = wall.replace(tzinfo=zone, fold=0)
        end = start + timedelta(minutes=booking.profile.duration_minutes)
        try:
            moved = bookings.reschedule(booking, start=start, end=end)
        except SlotUnavailable as exc:
            return None, f"{wall:%a %d %b %Y %H:%M} ({zone.key}) is not a free time: {exc}"
        except ServiceError as exc:
            return None, exc.message
        return moved, ""

    def _free_days(
        self, booking: Booking, zone: ZoneInfo, first: str
    ) -> tuple[list[tuple[date, list[tuple[str, str, bool]]]], str, str]:
        """The free times of RESCHEDULE_DAYS days from the day `first` (or the first free
        one): [(day, [(value, "10:00–10:30", is its time now)])], and the `from` of the
        earlier and later pages ("" when there are none)."""
        profile = booking.profile
        mode = (booking.group_mode or profile.required) if profile.is_group else None
        slots = availability.compute(profile, exclude_booking_id=booking.pk, required=mode).slots
        by_day: dict[date, list[tuple[str, str, bool]]] = {}
        for start, end in slots:
            local, local_end = start.astimezone(zone), end.astimezone(zone)
            label = f"{local:%H:%M}–{local_end:%H:%M}"
            by_day.setdefault(local.date(), []).append(
                (f"{local:%Y-%m-%dT%H:%M}", label, start == booking.start)
            )
        all_days = sorted(by_day)
        try:
            since = date.fromisoformat(first)
        except ValueError:
            since = all_days[0] if all_days else timezone.now().astimezone(zone).date()
        until = since + timedelta(days=RESCHEDULE_DAYS)
        shown = [d for d in all_days if since <= d < until]
        before = [d for d in all_days if d < since]
        after = [d for d in all_days if d >= until]
        earlier = max(before[0], since - timedelta(days=RESCHEDULE_DAYS)) if before else None
        later = after[0].isoformat() if after else ""
        earlier = earlier.isoformat() if earlier else ""
        return [(d, by_day[d]) for d in shown], earlier, later


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
