"""Organizations, their app keys and members, and the hosts of group profiles (SPEC §8).

A group profile's hosts are units: attached accounts (one unit each) and groups
`{extId, accountIds, required}`. An account is in at most one unit of a profile, and only
accounts of the profile's organization may be hosts. Every change runs in one transaction:
a request with any bad part changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scheduler.models import Account, AppKey, Organization, Profile, Unit, UnitMember
from scheduler.services import availability
from scheduler.services.errors import InvalidInput


def create_organization(handle: str, name: str, timezone_name: str) -> Organization:
    """A new organization; errors name the field (`handle` shares the accounts' namespace)."""
    org = Organization(handle=handle, name=name or handle, timezone=timezone_name)
    try:
        org.full_clean()
    except ValidationError as exc:
        raise InvalidInput.of(exc.message_dict) from exc
    org.save()
    return org


def issue_app_key(org: Organization, name: str = "") -> tuple[AppKey, str]:
    """A new app key; `clientId:secret` is answered once, only the secret's hash is kept."""
    return AppKey.issue(org, name)


def revoke_app_key(key: AppKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def join(account: Account, org: Organization | None) -> None:
    """Make `account` a member of `org` (or of none). Leaving takes it off the group
    profiles of its former organization."""
    with transaction.atomic():
        if account.organization_id and account.organization_id != (org.pk if org else None):
            _drop_members(UnitMember.objects.filter(account=account))
        account.organization = org
        account.save(update_fields=["organization"])


# --- units ---------------------------------------------------------------------------------


def _lock(profile: Profile) -> None:
    """Serialise changes to one profile's units. By primary key: `first()` would order by the
    model's ordering, which joins the nullable `account` (an outer join PostgreSQL cannot lock)."""
    Profile.objects.select_for_update().filter(pk=profile.pk).order_by("pk").first()


def _org_accounts(profile: Profile, ids: Sequence[int], field: str) -> dict[str, list[str]]:
    """Errors naming each id (by position) that is not an account of the organization."""
    # Only ids a 64-bit column can hold reach the query (SQLite's driver overflows on more).
    storable = [i for i in ids if 0 < i < 2**63]
    rows = Account.objects.filter(organization_id=profile.organization_id, pk__in=storable)
    known = set(rows.values_list("pk", flat=True))
    errors: dict[str, list[str]] = {}
    seen: set[int] = set()
    for i, account_id in enumerate(ids):
        if account_id not in known:
            errors[f"{field}[{i}]"] = [f"account {account_id} is not in this organization"]
        elif account_id in seen:
            errors[f"{field}[{i}]"] = [f"account {account_id} is listed twice"]
        seen.add(account_id)
    return errors


def _drop_members(members) -> None:
    """Remove memberships; a unit left with no accounts is removed too."""
    unit_ids = set(members.values_list("unit_id", flat=True))
    members.delete()
    Unit.objects.filter(pk__in=unit_ids, members__isnull=True).delete()


def _unit_of(profile: Profile) -> dict[int, Unit]:
    """Each host account of the profile → its unit."""
    return {
        m.account_id: m.unit
        for m in UnitMember.objects.filter(profile=profile).select_related("unit")
    }


def attached_accounts(profile: Profile) -> list[int]:
    """The attached accounts (not group members), ascending."""
    rows = UnitMember.objects.filter(profile=profile, unit__ext_id="")
    return sorted(rows.values_list("account_id", flat=True))


def attached_groups(profile: Profile) -> list[dict]:
    """The groups in attach order, members ascending."""
    out = []
    for unit in profile.units.exclude(ext_id="").order_by("id").prefetch_related("members"):
        ids = sorted(m.account_id for m in unit.members.all())
        out.append({"extId": unit.ext_id, "accountIds": ids, "required": unit.required})
    return out


def attach_accounts(profile: Profile, ids: Sequence[int]) -> None:
    """Attach accounts, each one unit; attaching one already attached changes nothing."""
    with transaction.atomic():
        _lock(profile)
        errors = _org_accounts(profile, ids, "accountIds")
        units = _unit_of(profile)
        for i, account_id in enumerate(ids):
            unit = units.get(account_id)
            if unit is not None and unit.is_group and f"accountIds[{i}]" not in errors:
                errors[f"accountIds[{i}]"] = [
                    f"account {account_id} is already in group {unit.ext_id!r} of this profile"
                ]
        if errors:
            raise InvalidInput.of(errors)
        for account_id in ids:
            if account_id not in units:
                unit = Unit.objects.create(profile=profile, ext_id="")
                UnitMember.objects.create(unit=unit, profile=profile, account_id=account_id)


def detach_accounts(profile: Profile, ids: Sequence[int]) -> None:
    """Detach attached accounts; one not attached changes nothing."""
    with transaction.atomic():
        _lock(profile)
        errors = _org_accounts(profile, ids, "accountIds")
        if errors:
            raise InvalidInput.of(errors)
        _drop_members(
            UnitMember.objects.filter(profile=profile, unit__ext_id="", account_id__in=ids)
        )


@dataclass(frozen=True)
class GroupSpec:
    ext_id: str
    account_ids: Sequence[int] | None
    required: str = "all"


def attach_groups(profile: Profile, groups: Sequence[GroupSpec]) -> None:
    """Add groups, or replace the one with the same `extId` (it keeps its place in attach
    order). A group needs accounts, and an account may be one unit of the profile only."""
    with transaction.atomic():
        _lock(profile)
        units = _unit_of(profile)
        errors: dict[str, list[str]] = {}
        taken: dict[int, str] = {}
        seen_ext: set[str] = set()
        for g, spec in enumerate(groups):
            field = f"groups[{g}]"
            if spec.ext_id in seen_ext:
                errors[f"{field}.extId"] = [f"{spec.ext_id!r} is listed twice"]
            seen_ext.add(spec.ext_id)
            ids = list(spec.account_ids or ())
            if not ids:
                errors[f"{field}.accountIds"] = ["a group needs at least one account"]
                continue
            errors.update(_org_accounts(profile, ids, f"{field}.accountIds"))
            for i, account_id in enumerate(ids):
                key = f"{field}.accountIds[{i}]"
                unit = units.get(account_id)
                if key in errors:
                    continue
                if unit is not None and unit.ext_id != spec.ext_id:
                    where = f"group {unit.ext_id!r}" if unit.is_group else "an attached account"
                    errors[key] = [f"account {account_id} is already {where} of this profile"]
                elif account_id in taken and taken[account_id] != spec.ext_id:
                    errors[key] = [f"account {account_id} is also in group {taken[account_id]!r}"]
                taken[account_id] = spec.ext_id
        if errors:
            raise InvalidInput.of(errors)
        for spec in groups:
            unit, _ = Unit.objects.get_or_create(profile=profile, ext_id=spec.ext_id)
            unit.required = spec.required
            unit.save(update_fields=["required"])
            unit.members.all().delete()
            UnitMember.objects.bulk_create(
                UnitMember(unit=unit, profile=profile, account_id=a) for a in spec.account_ids
            )


def detach_groups(profile: Profile, groups: Sequence[GroupSpec]) -> None:
    """Remove the accounts given from each group, or the whole group when none are given;
    a group left with no accounts is removed. What is not there changes nothing."""
    with transaction.atomic():
        _lock(profile)
        errors: dict[str, list[str]] = {}
        for g, spec in enumerate(groups):
            if spec.account_ids:
                errors.update(_org_accounts(profile, spec.account_ids, f"groups[{g}].accountIds"))
        if errors:
            raise InvalidInput.of(errors)
        for spec in groups:
            members = UnitMember.objects.filter(profile=profile, unit__ext_id=spec.ext_id)
            if spec.account_ids:
                members = members.filter(account_id__in=spec.account_ids)
            _drop_members(members)
            if not spec.account_ids:
                Unit.objects.filter(profile=profile, ext_id=spec.ext_id).delete()


# --- dynamic availability ---------------------------------------------------------------


def available_profiles(
    org: Organization,
    *,
    time_min: datetime,
    time_max: datetime,
    ids: Iterable[int] = (),
    names: Iterable[str] = (),
    required: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """The organization's group profiles (named by id or name; others' are ignored) with at
    least one slot inside `[time_min, time_max)`, ascending."""
    if time_max <= time_min:
        raise InvalidInput.of({"timeMax": ["must be after timeMin"]})
    ids, names = list(ids), list(names)
    named = Q(pk__in=[i for i in ids if 0 < i < 2**63]) | Q(name__in=names)
    chosen = Profile.objects.filter(named, organization=org).select_related("organization")
    found = []
    for profile in chosen.order_by("pk"):
        if availability.compute(profile, now, time_min, time_max, required=required).slots:
            found.append(profile.pk)
    return found


def group_profile(org: Organization, pk: int) -> Profile | None:
    return Profile.objects.select_related("organization").filter(organization=org, pk=pk).first()
