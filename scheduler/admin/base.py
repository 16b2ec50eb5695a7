"""What every model admin here shares: a staff host sees only the accounts they own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
)
from django.utils import timezone
from django.utils.timesince import timesince

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


def ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return f"{timesince(moment, timezone.now(), depth=1)} ago"
