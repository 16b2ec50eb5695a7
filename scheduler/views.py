"""Public pages: a profile's booking page and the invitee's manage/cancel/reschedule pages.

Thin views: availability comes from `services.availability.compute` (through `picker.build`,
once per request) and every change goes through `services.bookings`. Every page works without
JavaScript; POST → redirect → GET keeps refreshes safe.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from scheduler import embed, localize, picker, ratelimit
from scheduler.calendars import links as calendar_links
from scheduler.forms import BookingForm, parse_slot
from scheduler.invites import booking_ics
from scheduler.models import VERIFY_SALT, Account, Booking, Organization, Profile
from scheduler.rules import variables
from scheduler.services import bookings
from scheduler.services.errors import Conflict, InvalidInput, SlotUnavailable

TAKEN_MESSAGE = gettext_lazy(
    "Sorry, that time was just taken or is no longer available. Please pick another."
)
SPAM_MESSAGE = gettext_lazy("We could not accept this form. Please try again.")
CORRECT_MESSAGE = gettext_lazy("Please correct the fields marked below.")
# A booking's status as its pages name it ("This booking is cancelled").
STATUS_LABELS = {
    Booking.Status.RESERVED: gettext_lazy("Reserved"),
    Booking.Status.CONFIRMED: gettext_lazy("Confirmed"),
    Booking.Status.CANCELLED: gettext_lazy("Cancelled"),
}


def _not_found(request: HttpRequest, title: str, message: str) -> HttpResponse:
    return render(
        request, "scheduler/not_found.html", {"title": title, "message": message}, status=404
    )


def _rate_limited(request: HttpRequest, scope: str, profile: Profile) -> HttpResponse | None:
    """Count this POST for (client address, profile) in `scope` (ratelimit.BOOKING is shared
    with the API); a 429 page with Retry-After once the client is over the limit."""
    retry_after = ratelimit.attempt(scope, request, profile.pk)
    if retry_after is None:
        return None
    minutes = max(1, round(retry_after / 60))
    response = render(request, "scheduler/rate_limited.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _placeholder(name: str) -> str:
    """A variable as a visitor reads it before booking: its name in brackets."""
    words = {
        "name": _("name"),
        "email": _("email"),
        "startTime": _("start time"),
        "endTime": _("end time"),
    }.get(name) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower()
    return f"[{words}]"


def _placeholder_values(profile: Profile) -> dict[str, str]:
    """What each variable shows before booking (SPEC §10): a placeholder for what the
    invitee fills in, defaults as they are, and nothing for links that exist only once
    booked (so a line holding only such a link and its label disappears)."""
    fields = variables.additional_fields(profile.subject, profile.description, profile.location)
    values = {name: "" for name in variables.BUILTINS}
    values.update({n: _placeholder(n) for n in ("name", "email", "startTime", "endTime")})
    values.update({f.name: _placeholder(f.name) if f.required else f.default for f in fields})
    values["openMeetingUrl"] = profile.open_meeting_url or ""
    return values


def _profile_summary(profile: Profile) -> dict[str, str]:
    """Subject, description and location as a visitor sees them before booking."""
    values = _placeholder_values(profile)
    subject = variables.preview(profile.subject, values).strip()
    return {
        "subject": subject or _("Meeting with %(host)s") % {"host": profile.host_name},
        "description": variables.preview(profile.description, values).strip(),
        "location": variables.preview(profile.location, values).strip()
        or (_("Video call (link in the invite)") if profile.start_conference else ""),
    }


@require_http_methods(["GET", "HEAD"])
def index(request: HttpRequest) -> HttpResponse:
    """`/`: what this site is (SPEC §10)."""
    return render(request, "scheduler/index.html", {"site_url": settings.SITE_URL})


@require_http_methods(["GET", "HEAD"])
def host_page(request: HttpRequest, handle: str) -> HttpResponse:
    """`/{handle}/`: the active profiles of an account, or of an organization (SPEC §10)."""
    owner = Account.objects.filter(handle=handle).first()
    rows = Profile.objects.filter(account=owner)
    if owner is None:
        owner = Organization.objects.filter(handle=handle).first()
        rows = Profile.objects.filter(organization=owner)
    if owner is None:
        return _not_found(
            request,
            _("This page is not available"),
            _("There is no host at this address; the link may be mistyped."),
        )
    profiles = [
        {
            "profile": p,
            "summary": _profile_summary(p),
            "url": reverse("profile-page", kwargs={"handle": handle, "name": p.name}),
        }
        for p in rows.filter(active=True).select_related("account", "organization").order_by("name")
    ]
    return render(request, "scheduler/host.html", {"owner": owner, "profiles": profiles})


def _find_profile(handle: str, name: str) -> Profile | None:
    return Profile.objects.at(handle, name).first()


@require_http_methods(["GET", "HEAD", "POST"])
@embed.embeddable(embed.profile_owner)
def profile_page(request: HttpRequest, handle: str, name: str) -> HttpResponse:
    """`/{handle}/{name}/`: month view, day's times, and the booking form for a chosen time."""
    profile = _find_profile(handle, name)
    if profile is None:
        return _not_found(
            request,
            _("This booking page is not available"),
            _("There is no booking page at this address; the link may be mistyped."),
        )
    if not profile.active:
        return _not_found(
            request,
            _("This booking page is not available"),
            _("%(host)s is not taking bookings through this page at the moment.")
            % {"host": profile.host_name},
        )
    fields = variables.additional_fields(profile.subject, profile.description, profile.location)
    query = request.GET.copy()
    status, message, form = 200, "", None
    if request.method == "POST":
        limited = _rate_limited(request, ratelimit.BOOKING, profile)
        if limited:
            return limited
        form = BookingForm(request.POST, variables=fields)
        query["slot"] = request.POST.get("slot", "")
        if request.POST.get("tz"):
            query["tz"] = request.POST["tz"]
        zone = picker.visitor_zone(query, profile.timezone)
        outcome = _submit_booking(profile, form, zone.key, get_language() or "")
        if isinstance(outcome, Booking):
            target = reverse("booking-manage", args=[outcome.manage_token()])
            zone = picker.visitor_zone(query, profile.timezone)
            return redirect(picker.link(target, zone, "", done="booked", **embed.params(request)))
        status, message = outcome
    path = request.path
    pick = picker.build(profile, query, path, timezone.now(), keep=embed.params(request))
    if form is None and pick.chosen:
        initial = {"slot": picker.iso(pick.chosen[0])}
        form = BookingForm(initial=initial, variables=fields)
    elif pick.asked and not pick.chosen and not message:
        message, status = TAKEN_MESSAGE, 200
    context = _page_context(request, profile, pick, form, message)
    return render(request, "scheduler/profile.html", context, status=status)


def _submit_booking(
    profile: Profile, form: BookingForm, zone_name: str, language: str
) -> Booking | tuple[int, str]:
    """Book from a posted form: the booking, or (status, message) for the page to show."""
    if form.is_spam:
        return 400, SPAM_MESSAGE
    if not form.is_valid():
        if "slot" in form.errors:  # a tampered hidden time: offer the picker again
            return 400, TAKEN_MESSAGE
        return 400, CORRECT_MESSAGE
    start = form.cleaned_data["slot"]
    end = start + timedelta(minutes=profile.duration_minutes)
    try:
        return bookings.book(
            profile,
            start=start,
            end=end,
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            substitution_data=form.substitution_data(),
            verify=profile.require_email_verification,
            timezone_name=zone_name,  # the page's zone is the invitee's (SPEC §10)
            language=language,
        )
    except InvalidInput as exc:
        form.add_booking_errors(exc.fields)
        return 400, CORRECT_MESSAGE
    except SlotUnavailable:
        return 409, TAKEN_MESSAGE


def _page_context(
    request: HttpRequest,
    profile: Profile,
    pick: picker.Picker,
    form: BookingForm | None,
    message: str,
) -> dict[str, Any]:
    taken = bool(message == TAKEN_MESSAGE and pick.asked)
    chosen = pick.chosen if form is not None and not taken else None
    nearest = pick.nearest(pick.asked) if taken else []
    # A taken slot after a POST: the same form again, typed values kept, with the nearest
    # free times to pick from instead of the lost one.
    retry = [(picker.iso(slot[0]), slot) for slot, _ in nearest] if form is not None else []
    return {
        "profile": profile,
        "account": profile.owner,
        "summary": _profile_summary(profile),
        "page_zone": pick.zone,
        "zone_label": pick.zone_label,
        "taken": taken,
        "pick": pick,
        "form": form if chosen or retry else None,
        "chosen": chosen,
        "retry_slots": retry,
        "message": message,
        "nearest": [] if retry else nearest,
        "detect_zone": request.method == "GET" and "tz" not in request.GET,
        "hidden_query": {
            **{k: v for k, v in request.GET.items() if k in ("month", "date", "slot")},
            **embed.params(request),
        },
    }


def _booking_or_404(token: str) -> Booking | None:
    return Booking.from_manage_token(token)


def _manage_links(token: str) -> dict[str, str]:
    return {
        "manage_path": reverse("booking-manage", args=[token]),
        "cancel_path": reverse("booking-cancel", args=[token]),
        "reschedule_path": reverse("booking-reschedule", args=[token]),
        "ics_path": reverse("booking-ics", args=[token]),
    }


def _booking_context(request: HttpRequest, booking: Booking, token: str) -> dict[str, Any]:
    # The zone and language the invitee booked in, until they pick others (SPEC §10).
    localize.prefer(request, booking.language)
    default_zone = booking.invitee_zone.key
    cancelled = booking.status == Booking.Status.CANCELLED
    meeting = booking.meeting_url()
    zone = picker.visitor_zone(request.GET, default_zone)
    return {
        "booking": booking,
        "account": booking.account,
        "profile": booking.profile,
        "zone": zone,
        "page_zone": zone,
        "zone_label": picker.zone_label(zone, booking.start),
        "start": booking.start.astimezone(zone),
        "end": booking.end.astimezone(zone),
        # A cancelled booking shows no way to join it (SPEC §10).
        "meeting_url": "" if cancelled else meeting,
        "location": "" if cancelled and booking.location == meeting else booking.location,
        "confirmed": booking.status == Booking.Status.CONFIRMED,
        "status_label": STATUS_LABELS.get(booking.status, booking.status),
        "waiting": booking.awaiting_verification and booking.is_live(),
        "hold_until": booking.expires_at.astimezone(zone) if booking.expires_at else None,
        "google_url": calendar_links.google_calendar_url(booking),
        "outlook_url": calendar_links.outlook_calendar_url(booking),
        "cancel_late": bookings.invitee_too_late(booking, "cancel"),
        "reschedule_late": bookings.invitee_too_late(booking, "reschedule"),
        "tz_query": _keep_query(request, {"tz": zone.key} if zone.key != default_zone else {}),
        "detect_zone": request.method == "GET" and "tz" not in request.GET,
        "hidden_query": embed.params(request),
        **_manage_links(token),
    }


def _keep_query(request: HttpRequest, params: dict[str, str]) -> str:
    """`?…` holding `params` and what an embedded page's links keep; "" for nothing."""
    params = {**params, **embed.params(request)}
    return "?" + urlencode(params) if params else ""


_GONE = (
    gettext_lazy("This link is not valid"),
    gettext_lazy("The booking link is mistyped or no longer exists."),
)


@require_http_methods(["GET", "HEAD"])
@embed.embeddable(embed.booking_owner)
def booking_page(request: HttpRequest, token: str) -> HttpResponse:
    """`/bookings/<token>/`: the confirmation and manage page (GET only shows)."""
    booking = _booking_or_404(token)
    if booking is None:
        return _not_found(request, *_GONE)
    context = _booking_context(request, booking, token)
    context["done"] = request.GET.get("done", "")
    return render(request, "scheduler/booking.html", context)


@require_http_methods(["GET", "HEAD"])
def booking_ics_download(request: HttpRequest, token: str) -> HttpResponse:
    """The booking as an `.ics` file for "add to calendar"."""
    booking = _booking_or_404(token)
    if booking is None:
        return _not_found(request, *_GONE)
    method = "cancel" if booking.status == Booking.Status.CANCELLED else "publish"
    response = HttpResponse(booking_ics(booking, method), content_type="text/calendar")
    response["Content-Disposition"] = 'attachment; filename="invite.ics"'
    return response


def _too_late(request: HttpRequest, booking: Booking, token: str, action: str) -> HttpResponse:
    """Past the profile's deadline (SPEC §9): the booking and how to reach the host; a POST
    is refused (403) and changes nothing."""
    context = _booking_context(request, booking, token)
    context["action"] = action
    status = 403 if request.method == "POST" else 200
    return render(request, "scheduler/too_late.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@embed.embeddable(embed.booking_owner)
def cancel_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners follow links); POST cancels."""
    booking = _booking_or_404(token)
    if booking is None:
        return _not_found(request, *_GONE)
    confirmed = booking.status == Booking.Status.CONFIRMED
    if confirmed and bookings.invitee_too_late(booking, "cancel"):
        return _too_late(request, booking, token, "cancel")
    if request.method == "POST" and booking.status != Booking.Status.CANCELLED:
        try:
            bookings.cancel(booking, by_invitee=True)
        except bookings.TooLate:
            return _too_late(request, booking, token, "cancel")
        target = reverse("booking-manage", args=[token])
        return redirect(target + _tz_suffix(request, "cancelled"))
    context = _booking_context(request, booking, token)
    return render(request, "scheduler/cancel.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def verify_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the address-check mail (SPEC §9): GET shows the held booking and a button
    (mail scanners follow links), POST confirms it; an expired hold changes nothing."""
    booking = Booking.from_manage_token(token, salt=VERIFY_SALT)
    if booking is None:
        return _not_found(request, *_GONE)
    token = booking.manage_token()  # the booking's own pages from here on
    if request.method == "POST" and booking.awaiting_verification and booking.is_live():
        try:
            bookings.verify(booking)
        except (SlotUnavailable, Conflict):
            pass
        else:
            target = reverse("booking-manage", args=[token])
            return redirect(target + _tz_suffix(request, "booked"))
    booking.refresh_from_db()
    context = _booking_context(request, booking, token)
    context["expired"] = booking.awaiting_verification and not booking.is_live()
    return render(request, "scheduler/verify.html", context)


def _tz_suffix(request: HttpRequest, done: str) -> str:
    tz = picker.known_zone(request.POST.get("tz") or request.GET.get("tz") or "")
    params = {"tz": tz} if tz else {}
    return "?" + urlencode({**params, "done": done, **embed.params(request)})


@require_http_methods(["GET", "HEAD", "POST"])
@embed.embeddable(embed.booking_owner)
def reschedule_page(request: HttpRequest, token: str) -> HttpResponse:
    """Pick another free time of the same profile; POST moves the booking."""
    booking = _booking_or_404(token)
    if booking is None:
        return _not_found(request, *_GONE)
    context = _booking_context(request, booking, token)
    profile = booking.profile
    if booking.status != Booking.Status.CONFIRMED or profile is None or not profile.active:
        context["closed"] = True
        return render(request, "scheduler/reschedule.html", context)
    if context["reschedule_late"]:
        return _too_late(request, booking, token, "reschedule")
    query = request.GET.copy()
    message, status = "", 200
    if request.method == "POST":
        limited = _rate_limited(request, ratelimit.RESCHEDULE, profile)
        if limited:
            return limited
        query["slot"] = request.POST.get("slot", "")
        if request.POST.get("tz"):
            query["tz"] = request.POST["tz"]
        start = parse_slot(query["slot"])
        if start is not None:
            try:
                end = start + timedelta(minutes=profile.duration_minutes)
                bookings.reschedule(booking, start=start, end=end, by_invitee=True)
            except bookings.TooLate:
                return _too_late(request, booking, token, "reschedule")
            except (SlotUnavailable, Conflict):
                pass
            else:
                target = reverse("booking-manage", args=[token])
                return redirect(target + _tz_suffix(request, "rescheduled"))
        message, status = TAKEN_MESSAGE, 409
    if not query.get("tz"):  # the zone the invitee booked in, until they pick another
        query["tz"] = booking.invitee_zone.key
    pick = picker.build(
        profile,
        query,
        request.path,
        timezone.now(),
        exclude_booking_id=booking.pk,
        keep=embed.params(request),
    )
    if pick.asked and not pick.chosen:
        message = TAKEN_MESSAGE
    context.update(
        {
            "pick": pick,
            "chosen": pick.chosen if not message else None,
            "chosen_iso": picker.iso(pick.chosen[0]) if pick.chosen else "",
            "page_zone": pick.zone,
            "taken": bool(message),
            "message": message,
            "nearest": pick.nearest(pick.asked) if message and pick.asked else [],
            "summary": _profile_summary(profile),
            "detect_zone": request.method == "GET" and "tz" not in request.GET,
            "hidden_query": {
                **{k: v for k, v in request.GET.items() if k in ("month", "date")},
                **embed.params(request),
            },
        }
    )
    return render(request, "scheduler/reschedule.html", context, status=status)
