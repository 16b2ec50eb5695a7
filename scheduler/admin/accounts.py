"""Accounts with their calendars and tokens inline; tokens are shown once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from scheduler.admin.base import (
    CredentialInline,
    OwnedAdmin,
    ShownOnceAdmin,
    credential_state,
    show_secret_once,
)
from scheduler.admin.calendars import CalendarInline, remove_calendars, save_calendar
from scheduler.embed import OriginsField
from scheduler.models import Account, ApiToken, Calendar
from scheduler.services import feeds, groups


def _show_token_once(request: HttpRequest, account: Account, raw: str) -> None:
    show_secret_once(request, f"New API token for @{account.handle}", raw)


class ApiTokenInline(CredentialInline):
    model = ApiToken
    fields = ["name", "prefix", "state", "created_at", "last_used_at", "revoked_at"]


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["account", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(ShownOnceAdmin, OwnedAdmin):
    form = ApiTokenForm
    list_display = ["prefix", "name", "account", "state", "created_at", "last_used_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "account__handle"]
    list_select_related = ["account"]
    actions = ["revoke"]

    @admin.display(description="state", ordering="revoked_at")
    def state(self, obj: ApiToken) -> str:
        return credential_state(obj)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return []
        return ["account", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return ["account", "name"]
        return ["account", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def issue(self, obj: ApiToken) -> tuple[ApiToken, str]:
        return ApiToken.issue(obj.account, obj.name)

    def secret_label(self, obj: ApiToken) -> str:
        return f"New API token for @{obj.account.handle}"

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).")


# --- accounts ----------------------------------------------------------------------------


class AccountForm(forms.ModelForm):
    embed_origins = OriginsField(label="Embed origins")

    class Meta:
        model = Account
        fields = ["handle", "name", "email", "timezone", "embed_origins", "organization", "owner"]
        help_texts = {
            "organization": "The team whose group profiles may book this host. An account "
            "belongs to at most one; leaving takes it off that team's group profiles.",
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
    list_display = ["handle", "name", "email", "timezone", "organization", "owner", "profile_count"]
    search_fields = ["handle", "name", "email", "organization__handle"]
    list_select_related = ["owner", "organization"]
    inlines = [CalendarInline, ApiTokenInline]
    actions = ["issue_token", "rotate_feed_key"]
    fieldsets = [
        (None, {"fields": ["handle", "name", "email", "timezone"]}),
        ("Booking profiles", {"fields": ["profile_links"]}),
        ("Team", {"fields": ["organization"]}),
        ("Access", {"fields": ["owner", "created_at"]}),
        ("Embedding", {"fields": ["embed_origins"]}),
        ("Calendar feeds", {"fields": ["feed_links"]}),
    ]

    def get_list_filter(self, request: HttpRequest) -> list:
        # Organizations are the superusers' business (organizations.py).
        return (
            [("organization", admin.RelatedOnlyFieldListFilter)]
            if request.user.is_superuser
            else []
        )

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
        # Only a superuser hands an account to someone else, or puts it in a team.
        fixed = ["profile_links", "created_at", "feed_links"]
        return fixed if request.user.is_superuser else [*fixed, "owner", "organization"]

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if not change and not request.user.is_superuser:
            obj.owner = request.user
        if "organization" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        # Membership changes through the service, which takes an account that leaves off its
        # former organization's group profiles: save the rest with the stored membership first.
        joining = obj.organization
        stored = Account.objects.filter(pk=obj.pk).values_list("organization_id", flat=True)
        obj.organization_id = stored.first() if change else None
        super().save_model(request, obj, form, change)
        groups.join(obj, joining)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Calendar:
            super().save_formset(request, form, formset, change)
            return
        # Calendars follow the calendar service's rules, as on their own page and in the API.
        rows = formset.save(commit=False)
        remove_calendars(request, self, formset.deleted_objects)
        for calendar in rows:
            row_form = next(f for f in formset.forms if f.instance is calendar)
            save_calendar(calendar, row_form)

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

    @admin.display(description="feed links")
    def feed_links(self, obj: Account) -> str:
        """The account's two calendar feeds (SPEC §9), with the key that opens them."""
        if not obj.pk:
            return "Save the account first."
        links = feeds.links(obj)
        rows = [("Bookings", links.bookings_url), ("Free/busy", links.freebusy_url)]
        items = format_html_join("", "<li>{}: <code>{}</code></li>", rows)
        return format_html('<ul class="plain-list">{}</ul>', items)

    @admin.action(description="Rotate feed key (old feed links stop working)")
    def rotate_feed_key(self, request: HttpRequest, queryset: QuerySet) -> None:
        for account in queryset:
            feeds.rotate_key(account)
        self.message_user(
            request,
            f"New feed key for {len(queryset)} account(s): their old feed links answer 404; "
            "the new links are on each account's page.",
        )


# --- profiles ----------------------------------------------------------------------------
