"""What every model admin here shares: a staff host sees only the accounts they own; secrets
are shown once; organizations are the superusers' business."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
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


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Rows no host owns (organizations, their app keys): a staff host who is not a superuser
    neither sees nor changes them, whatever permissions they were given."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


def adopt(obj: Model, saved: Model) -> None:
    """Make the unsaved `obj` an admin form built into the row a service saved, so admin goes
    on with it (log entry, redirect, message) as if it had saved `obj` itself."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding, obj._state.db = False, saved._state.db


def show_secret_once(request: HttpRequest, label: str, raw: str) -> None:
    """Only a hash is stored: this message is the one time anybody sees `raw`."""
    messages.warning(request, f"{label}: {raw} — copy it now, it is not shown again.")


class ShownOnceAdmin(admin.ModelAdmin):
    """ "Add" issues a credential (API token, app key) through `issue` and shows its raw value
    once, in a message; changing one afterwards edits only what the form holds (its name)."""

    def issue(self, obj: Any) -> tuple[Model, str]:
        """The saved row for the form's unsaved `obj`, and the raw secret."""
        raise NotImplementedError

    def secret_label(self, obj: Any) -> str:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued, raw = self.issue(obj)
        adopt(obj, issued)
        show_secret_once(request, self.secret_label(obj), raw)


def credential_state(credential: Any) -> str:
    """An API token's or app key's state as admin lists it."""
    return "revoked" if credential.revoked else "active"


class CredentialInline(admin.TabularInline):
    """Credentials (API tokens, app keys) listed under their owner, read-only: a new one needs
    its raw value shown once, which its own "add" page does and an inline row cannot."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.fields)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="state")
    def state(self, obj: Any) -> str:
        return credential_state(obj)


# --- calendars ---------------------------------------------------------------------------


def ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return f"{timesince(moment, timezone.now(), depth=1)} ago"
