"""Webhooks (SPEC §9): an account's under /v1/book/account/webhooks (its token), an
organization's under /v1/book/group/webhooks (an app key). The two areas are the same
operations on hooks of another owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from scheduler.api.access import get_or_404
from scheduler.api.errors import ERRORS
from scheduler.api.routers import account, group
from scheduler.api.schemas import (
    MAX_OFFSET,
    StatusOk,
    WebhookCreatedOut,
    WebhookDeliveryPage,
    WebhookIn,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
)
from scheduler.api.serializers import page, webhook_delivery_out, webhook_out
from scheduler.models import Webhook, WebhookAttempt
from scheduler.services import webhooks

OK = {"status": "Ok"}
Limit = Query(50, ge=1, le=200)
Offset = Query(0, ge=0, le=MAX_OFFSET)


@dataclass(frozen=True)
class Area:
    """Where an owner's hooks are served: the router and the Webhook field naming the owner."""

    router: Router
    owner_field: str
    name: str


def hooks_of(request: HttpRequest, area: Area) -> QuerySet[Webhook]:
    return Webhook.objects.filter(**{area.owner_field: request.auth})


def own_hook(request: HttpRequest, area: Area, pk: int) -> Webhook:
    """The caller's hook; another owner's is 404, as if it did not exist."""
    return get_or_404(hooks_of(request, area), pk, "webhook")


def add_routes(area: Area) -> None:
    router, name = area.router, area.name

    @router.get(
        "/webhooks",
        response={200: WebhookPage, **ERRORS},
        exclude_none=True,
        operation_id=f"{name}_list_webhooks",
    )
    def list_webhooks(request: HttpRequest, limit: int = Limit, offset: int = Offset) -> dict:
        """The hooks, oldest first; secrets are never shown again."""
        rows = hooks_of(request, area).order_by("id")
        return page([webhook_out(h) for h in rows[offset : offset + limit]], offset, rows.count())

    @router.post(
        "/webhooks",
        response={201: WebhookCreatedOut, **ERRORS},
        exclude_none=True,
        operation_id=f"{name}_create_webhook",
    )
    def create_webhook(request: HttpRequest, payload: WebhookIn) -> Status:
        """A new hook; the answer carries its signing `secret`, shown this once."""
        hook = webhooks.create(
            request.auth, url=payload.url, events=payload.events, active=payload.active
        )
        return Status(201, {**webhook_out(hook), "secret": hook.secret})

    @router.get(
        "/webhooks/{id}",
        response={200: WebhookOut, **ERRORS},
        exclude_none=True,
        operation_id=f"{name}_get_webhook",
    )
    def get_webhook(request: HttpRequest, id: int) -> dict:
        return webhook_out(own_hook(request, area, id))

    @router.patch(
        "/webhooks/{id}",
        response={200: WebhookOut, **ERRORS},
        exclude_none=True,
        operation_id=f"{name}_update_webhook",
    )
    def update_webhook(request: HttpRequest, id: int, payload: WebhookPatch) -> dict:
        """Change `url`, `events` or `active`; `active: true` turns a hook on again."""
        hook = own_hook(request, area, id)
        changes = {field: getattr(payload, field) for field in payload.model_fields_set}
        return webhook_out(webhooks.update(hook, changes))

    @router.delete(
        "/webhooks/{id}",
        response={200: StatusOk, **ERRORS},
        operation_id=f"{name}_delete_webhook",
    )
    def delete_webhook(request: HttpRequest, id: int) -> dict:
        webhooks.delete(own_hook(request, area, id))
        return OK

    @router.get(
        "/webhooks/{id}/deliveries",
        response={200: WebhookDeliveryPage, **ERRORS},
        exclude_none=True,
        operation_id=f"{name}_list_webhook_deliveries",
    )
    def list_deliveries(
        request: HttpRequest, id: int, limit: int = Limit, offset: int = Offset
    ) -> dict[str, Any]:
        """Every attempt to send the hook's messages, the latest first."""
        hook = own_hook(request, area, id)
        rows = (
            WebhookAttempt.objects.filter(message__webhook=hook)
            .select_related("message")
            .order_by("-at", "-id")
        )
        records = [webhook_delivery_out(a) for a in rows[offset : offset + limit]]
        return page(records, offset, rows.count())


for _area in (Area(account, "account", "account"), Area(group, "organization", "group")):
    add_routes(_area)
