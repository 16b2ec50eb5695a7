"""Organizations with their members, group profiles and app keys; app keys are shown once.

Superusers only: an organization is nobody's own account, so a staff host has no say in it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from scheduler.admin.base import CredentialInline, ShownOnceAdmin, SuperuserOnlyAdmin, adopt
from scheduler.models import AppKey, Organization
from scheduler.services import groups


def _add_link(model: str, org: Organization, text: str) -> str:
    url = reverse(f"admin:scheduler_{model}_add") + f"?organization={org.pk}"
    return format_html('<a class="addlink" href="{}">{}</a>', url, text)


class AppKeyInline(CredentialInline):
    model = AppKey
    fields = ["client_id", "name", "state", "created_at", "last_used_at", "revoked_at"]


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["handle", "name", "timezone"]
        help_texts = {
            "handle": "Public group links are SITE_URL/{handle}/{profile}/; accounts and "
            "organizations share one set of handles.",
            "timezone": "IANA zone such as Europe/London: group profiles' default work hours.",
        }


@admin.register(Organization)
class OrganizationAdmin(SuperuserOnlyAdmin):
    form = OrganizationForm
    list_display = ["handle", "name", "timezone", "member_count", "profile_count", "key_count"]
    search_fields = ["handle", "name"]
    inlines = [AppKeyInline]
    readonly_fields = ["members", "group_profiles", "keys", "created_at"]
    fieldsets = [
        (None, {"fields": ["handle", "name", "timezone", "created_at"]}),
        ("Members", {"fields": ["members"]}),
        ("Group profiles", {"fields": ["group_profiles"]}),
        ("App keys", {"fields": ["keys"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_members=Count("accounts", distinct=True),
                n_profiles=Count("profiles", distinct=True),
                n_keys=Count("app_keys", distinct=True),
            )
        )

    @admin.display(description="members", ordering="n_members")
    def member_count(self, obj: Organization) -> int:
        return obj.n_members

    @admin.display(description="group profiles", ordering="n_profiles")
    def profile_count(self, obj: Organization) -> int:
        return obj.n_profiles

    @admin.display(description="app keys", ordering="n_keys")
    def key_count(self, obj: Organization) -> int:
        return obj.n_keys

    @admin.display(description="accounts")
    def members(self, obj: Organization) -> str:
        if not obj.pk:
            return "Save the organization, then make accounts members on their own pages."
        rows = [
            (reverse("admin:scheduler_account_change", args=[a.pk]), str(a), a.email)
            for a in obj.accounts.order_by("handle")
        ]
        how = "An account joins or leaves on its own page (its Team field)."
        if not rows:
            return f"No members yet. {how}"
        items = format_html_join("", '<li><a href="{}">{}</a> — {}</li>', rows)
        return format_html('<ul class="plain-list">{}</ul><p>{}</p>', items, how)

    @admin.display(description="profiles")
    def group_profiles(self, obj: Organization) -> str:
        if not obj.pk:
            return "Save the organization, then add group profiles."
        rows = [
            (reverse("admin:scheduler_profile_change", args=[p.pk]), p.name, p.scheduler_link)
            for p in obj.profiles.order_by("name")
        ]
        if not rows:
            return format_html("<p>None yet.</p><p>{}</p>", _add_link("profile", obj, "Add one"))
        items = format_html_join("", '<li><a href="{}">{}</a> — {}</li>', rows)
        return format_html(
            '<ul class="plain-list">{}</ul><p>{}</p>',
            items,
            _add_link("profile", obj, "Add a group profile"),
        )

    @admin.display(description="for /v1/book/group/*")
    def keys(self, obj: Organization) -> str:
        if not obj.pk:
            return "Save the organization, then issue app keys."
        return format_html(
            "<p>Listed at the bottom of the page. A key's secret is shown once, when it is "
            "issued; only its hash is kept.</p><p>{}</p>",
            _add_link("appkey", obj, "Issue an app key"),
        )

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The form ran the model's checks (the shared handle namespace among them); creating
        # goes through the service as `createorg` does.
        adopt(obj, groups.create_organization(obj.handle, obj.name, obj.timezone))


class AppKeyForm(forms.ModelForm):
    class Meta:
        model = AppKey
        fields = ["organization", "name"]
        help_texts = {"name": "A label, e.g. the client it is for."}


@admin.register(AppKey)
class AppKeyAdmin(ShownOnceAdmin, SuperuserOnlyAdmin):
    """An organization's keys for /v1/book/group/*: `clientId:secret`, the secret shown once
    at creation and only its hash kept (never shown here)."""

    form = AppKeyForm
    list_display = ["client_id", "name", "organization", "created_at", "last_used_at", "revoked"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "organization"]
    search_fields = ["client_id", "name", "organization__handle"]
    list_select_related = ["organization"]
    actions = ["revoke"]

    @admin.display(description="revoked", ordering="revoked_at")
    def revoked(self, obj: AppKey) -> str:
        return f"{obj.revoked_at:%Y-%m-%d %H:%M}" if obj.revoked_at else "—"

    def get_fields(self, request: HttpRequest, obj: AppKey | None = None) -> list[str]:
        if obj is None:
            return ["organization", "name"]
        return ["organization", "name", "client_id", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: AppKey | None = None) -> list[str]:
        if obj is None:
            return []
        return ["organization", "client_id", "created_at", "last_used_at", "revoked_at"]

    def issue(self, obj: AppKey) -> tuple[AppKey, str]:
        return groups.issue_app_key(obj.organization, obj.name)

    def secret_label(self, obj: AppKey) -> str:
        return f"New app key for @{obj.organization.handle} (clientId:secret)"

    @admin.action(description="Revoke the selected app keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        live = list(queryset.filter(revoked_at__isnull=True))
        for key in live:
            groups.revoke_app_key(key)
        self.message_user(request, f"Revoked {len(live)} app key(s).")
