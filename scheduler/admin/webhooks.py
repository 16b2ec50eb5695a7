"""Webhooks in admin (SPEC §9): each hook with its recent deliveries, and every message with
its attempts. Hooks are made through the API, whose answer shows the signing secret once;
here a host changes the URL and events, or turns a hook back on after it was turned off.
An organization's hooks are the superusers' business, like the organization itself."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from scheduler.admin.base import OwnedAdmin
from scheduler.models import Webhook, WebhookAttempt, WebhookMessage
from scheduler.services import webhooks

RECENT_DELIVERIES = 50


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in Webhook.EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="The changes of a booking this URL is told of.",
    )

    class Meta:
        model = Webhook
        fields = ["url", "events", "active"]
        labels = {"url": "URL"}
        help_texts = {
            "active": "Turned off by a 410 answer or when every retry failed; tick it again "
            "once the receiver works."
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # The API's rules (services/webhooks.py); the URL is checked when it changes.
        changes = {k: data[k] for k in ("url", "events") if k in data}
        if changes.get("url") == self.instance.url:
            changes.pop("url")
        for field, reasons in webhooks.check(changes).items():
            self.add_error(field, reasons)
        return data


@admin.register(Webhook)
class WebhookAdmin(OwnedAdmin):
    form = WebhookForm
    list_display = ["url", "owner", "event_names", "active", "deactivated_reason", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "account__handle", "organization__handle"]
    readonly_fields = [
        "owner",
        "created_at",
        "deactivated_at",
        "deactivated_reason",
        "recent_deliveries",
    ]
    fieldsets = [
        (None, {"fields": ["owner", "url", "events", "active", "created_at"]}),
        ("Turned off", {"fields": ["deactivated_at", "deactivated_reason"]}),
        ("Deliveries", {"fields": ["recent_deliveries"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("account", "organization")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made through the API, whose answer is the one place the secret shows

    @admin.display(description="owner")
    def owner(self, obj: Webhook) -> str:
        return str(obj.account or obj.organization)

    @admin.display(description="events")
    def event_names(self, obj: Webhook) -> str:
        return ", ".join(obj.events)

    @admin.display(description=f"latest {RECENT_DELIVERIES} attempts")
    def recent_deliveries(self, obj: Webhook) -> str:
        attempts = (
            WebhookAttempt.objects.filter(message__webhook=obj)
            .select_related("message")
            .order_by("-at", "-id")[:RECENT_DELIVERIES]
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (a.at, a.message.event, a.message.msg_id, a.status or "—", a.error or "")
                for a in attempts
            ),
        )
        if not rows:
            return "None yet."
        messages = reverse("admin:scheduler_webhookmessage_changelist") + f"?webhook={obj.pk}"
        return format_html(
            "<table><tr><th>at</th><th>event</th><th>webhook-id</th><th>status</th>"
            '<th>error</th></tr>{}</table><p><a href="{}">Every message</a></p>',
            rows,
            messages,
        )

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        # Through the service, as the API does: turning a hook on clears why it was off.
        saved = webhooks.update(Webhook.objects.get(pk=obj.pk), changes)
        obj.deactivated_at = saved.deactivated_at
        obj.deactivated_reason = saved.deactivated_reason


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["at", "status", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookMessage)
class WebhookMessageAdmin(OwnedAdmin):
    """Read-only: what was sent to which hook, and every attempt."""

    owner_path = "webhook__account__owner"
    list_display = ["msg_id", "webhook", "event", "state", "attempts", "created_at"]
    list_filter = ["state", "event"]
    search_fields = ["msg_id", "webhook__url"]
    fields = ["webhook", "msg_id", "event", "state", "attempts", "created_at", "payload"]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("webhook")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
