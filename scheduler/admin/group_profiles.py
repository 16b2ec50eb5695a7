"""Group profiles in admin (SPEC §8): an organization's profile whose hosts are attached
accounts and groups, changed through the group service, and a preview of the next free times
with who would attend.

The hosts are checked as a whole before anything is saved, with the service's rules (only the
organization's members, an account in one unit only, no empty group, one `extId` per group),
so a bad choice is an error beside its field; the service checks them again as it writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from scheduler.models import Account, Organization, Profile, Unit
from scheduler.services import availability, bookings, groups
from scheduler.services.errors import InvalidInput
from scheduler.services.groups import GroupSpec


def organization_named(value: Any) -> Organization | None:
    """The organization a form's initial data (`?organization=<id>`) names, if any."""
    if isinstance(value, Organization):
        return value
    text = str(value or "")
    return Organization.objects.filter(pk=int(text)).first() if text.isdigit() else None


def host_choices(org: Organization | None, bound: bool) -> QuerySet:
    """The accounts a hosts field offers: the organization's members. A submitted form takes
    any account, so an outsider is refused by name (`outsiders`) rather than as an unknown
    choice."""
    if bound:
        return Account.objects.all()
    if org is None:
        return Account.objects.filter(organization__isnull=False)
    return Account.objects.filter(organization=org)


def outsiders(org: Organization, accounts: Iterable[Account]) -> list[str]:
    return [
        f"@{a.handle} is not a member of @{org.handle}"
        for a in accounts
        if a.organization_id != org.pk
    ]


# --- the profile's own form ------------------------------------------------------------------


def group_form(base: type[forms.ModelForm]) -> type[forms.ModelForm]:
    """The personal profile form `base` made a group profile's: the organization instead of
    the account, `required`, `clientOrgId` and the attached accounts."""

    class GroupProfileForm(base):
        attached_accounts = forms.ModelMultipleChoiceField(
            queryset=Account.objects.none(),
            required=False,
            widget=FilteredSelectMultiple("accounts", is_stacked=False),
            help_text="Each attached account is a unit of its own. Groups are in the table "
            "below the form.",
        )

        class Meta(base.Meta):
            fields = [
                "organization",
                "required",
                "client_org_id",
                *(f for f in base.Meta.fields if f != "account"),
            ]
            labels = {
                **base.Meta.labels,
                "required": "Who must be free",
                "client_org_id": "clientOrgId",
            }
            help_texts = {
                **base.Meta.help_texts,
                "name": "A slug, unique for the organization: the public page is "
                "/{organization's handle}/{name}/.",
                "required": "All: a time is offered when every unit is free, and every unit "
                "attends. One: when at least one is, and one unit attends, taking turns. A "
                "request may say otherwise.",
                "client_org_id": "Client data, stored and returned untouched.",
            }

        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            org = self.instance.organization if self.instance.organization_id else None
            org = org or organization_named(self.initial.get("organization"))
            if "organization" in self.fields:
                self.fields["organization"].required = True
            field = self.fields["attached_accounts"]
            field.queryset = host_choices(org, self.is_bound)
            if self.instance.pk:
                self.initial["attached_accounts"] = groups.attached_accounts(self.instance)

        def clean(self) -> dict[str, Any]:
            data = super().clean()
            org = data.get("organization") or (
                self.instance.organization if self.instance.organization_id else None
            )
            if org is None:
                return data
            name = data.get("name")
            others = Profile.objects.filter(organization=org, name=name)
            if name and others.exclude(pk=self.instance.pk).exists():
                self.add_error("name", f"@{org.handle} already has a profile named {name!r}")
            bad = outsiders(org, data.get("attached_accounts") or ())
            if bad:
                self.add_error("attached_accounts", bad)
            return data

    return GroupProfileForm


# --- groups, one row each ------------------------------------------------------------------


class GroupForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        queryset=Account.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={"required": "A group needs at least one account."},
        help_text="Hold down Ctrl (⌘ on a Mac) to choose more than one.",
    )

    class Meta:
        model = Unit
        fields = ["ext_id", "required"]
        labels = {"ext_id": "extId", "required": "Who attends"}
        help_texts = {"ext_id": "The group's name in the API (groupXids)."}

    def __init__(self, *args: Any, organization: Organization | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["ext_id"].required = True
        self.fields["members"].queryset = host_choices(organization, self.is_bound)
        if self.instance.pk:
            ids = self.instance.members.values_list("account_id", flat=True)
            self.initial["members"] = sorted(ids)

    def _get_validation_exclusions(self) -> set[str]:
        # One extId per profile is checked across the rows by the formset (a swap of two
        # names is not a clash), and the profile may not be saved yet.
        return {*super()._get_validation_exclusions(), "profile"}


def _ids(values: Iterable[str]) -> set[int]:
    return {int(v) for v in values if str(v).isdigit()}


class GroupFormSet(BaseInlineFormSet):
    """The groups; `clean` checks them together and against the attached accounts."""

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().exclude(ext_id="").order_by("id")

    def kept_forms(self) -> list[GroupForm]:
        """The rows that stay: not deleted, and not an untouched blank row."""
        return [
            f
            for f in self.forms
            if f.cleaned_data and not (self.can_delete and self._should_delete_form(f))
        ]

    def clean(self) -> None:
        super().clean()
        profile = self.instance
        org = profile.organization if profile.organization_id else None
        # The attached accounts chosen in the same submission, above the groups.
        attached = _ids(self.data.getlist("attached_accounts"))
        names: set[str] = set()
        group_of: dict[int, str] = {}
        for form in self.kept_forms():
            ext_id = form.cleaned_data.get("ext_id")
            if ext_id in names:
                form.add_error("ext_id", f"{ext_id!r} is another group's extId too")
            names.add(ext_id)
            errors = outsiders(org, form.cleaned_data.get("members") or ()) if org else []
            for account in form.cleaned_data.get("members") or ():
                if account.pk in attached:
                    errors.append(
                        f"@{account.handle} is an attached account too: an account may be "
                        "one unit of a profile only"
                    )
                elif account.pk in group_of:
                    errors.append(f"@{account.handle} is in group {group_of[account.pk]!r} too")
                group_of[account.pk] = ext_id
            if errors:
                form.add_error("members", errors)

    def groups_wanted(self) -> list[GroupSpec]:
        return [
            GroupSpec(
                f.cleaned_data["ext_id"],
                sorted(a.pk for a in f.cleaned_data["members"]),
                f.cleaned_data["required"],
            )
            for f in self.kept_forms()
        ]


class GroupInline(admin.TabularInline):
    model = Unit
    form = GroupForm
    formset = GroupFormSet
    fields = ["ext_id", "required", "members"]
    extra = 1
    verbose_name = "group"
    verbose_name_plural = "groups (each one unit: all its members attend, or one of them)"


# --- saving --------------------------------------------------------------------------------


def apply_hosts(profile: Profile, attached: Sequence[int], wanted: Sequence[GroupSpec]) -> None:
    """Make the profile's hosts exactly `attached` and `wanted` through the group service.

    The service refuses an account in two units, so what leaves goes first: detached
    accounts, then groups no longer wanted; then each group that stays is replaced in place
    (keeping its place in attach order) by the members already free to be in it, which frees
    those it loses for the others; then the rest arrives. Only a group all of whose members
    are swapped with another group's in one change goes and comes back last."""
    where = {a: "" for a in groups.attached_accounts(profile)}  # account → its unit's extId
    for current in groups.attached_groups(profile):
        where.update(dict.fromkeys(current["accountIds"], current["extId"]))
    leaving = sorted(a for a, unit in where.items() if unit == "" and a not in attached)
    if leaving:
        groups.detach_accounts(profile, leaving)
    names = {spec.ext_id for spec in wanted}
    gone = sorted({unit for unit in where.values() if unit and unit not in names})
    if gone:
        groups.detach_groups(profile, [GroupSpec(name, None) for name in gone])
    where = {a: unit for a, unit in where.items() if a not in leaving and unit not in gone}
    for spec in wanted:
        if spec.ext_id not in where.values():
            continue  # a new group: added at the end
        ready = [a for a in spec.account_ids or () if where.get(a, spec.ext_id) == spec.ext_id]
        if ready:
            groups.attach_groups(profile, [GroupSpec(spec.ext_id, ready, spec.required)])
        else:
            groups.detach_groups(profile, [GroupSpec(spec.ext_id, None)])
        where = {a: unit for a, unit in where.items() if unit != spec.ext_id}
        where.update(dict.fromkeys(ready, spec.ext_id))
    if wanted:
        groups.attach_groups(profile, wanted)
    arriving = sorted(set(attached) - {a for a, unit in where.items() if unit == ""})
    if arriving:
        groups.attach_accounts(profile, arriving)


def save_hosts(request: HttpRequest, form: forms.ModelForm, formsets: Sequence) -> None:
    """After the profile is saved: its hosts, as the form and the groups' rows say."""
    (rows,) = [f for f in formsets if isinstance(f, GroupFormSet)]
    attached = sorted(a.pk for a in form.cleaned_data.get("attached_accounts") or ())
    try:
        with transaction.atomic():
            apply_hosts(form.instance, attached, rows.groups_wanted())
    except InvalidInput as exc:
        # Only when the organization changed between the check and the save.
        why = "; ".join(f"{field}: {', '.join(reasons)}" for field, reasons in exc.fields.items())
        messages.error(request, f"The hosts were left as they were: {why or exc.message}")
    # The change message reads these; the service, not the formset, saved the rows.
    rows.new_objects, rows.changed_objects, rows.deleted_objects = [], [], []


# --- preview -------------------------------------------------------------------------------


def preview(profile: Profile, count: int) -> str:
    """The next `count` free times with the hosts free then, and who a booking made now
    would get (SPEC §8's choice under the profile's `required`)."""
    if not profile.group_units():
        return "No hosts yet: attach accounts or add groups, then save."
    found = availability.compute(profile, required=profile.required).items or []
    found = found[:count]
    if not found:
        return "No free slots in the horizon."
    chosen = bookings.likely_attendees(profile, found)
    ids = {a for item in found for a in item.account_ids}
    ids |= {a for choice in chosen if choice for a in choice.account_ids}
    names = {a.pk: f"{a.name} (@{a.handle})" for a in Account.objects.filter(pk__in=ids)}
    zone = profile.rules().zone

    def who(account_ids: Iterable[int]) -> str:
        return ", ".join(names.get(a, f"#{a}") for a in account_ids) or "—"

    rows = [
        (
            item.start.astimezone(zone).strftime("%a %Y-%m-%d %H:%M"),
            item.end.astimezone(zone).strftime("%H:%M"),
            who(item.account_ids),
            ", ".join(item.group_xids) or "—",
            who(choice.account_ids) if choice else "—",
        )
        for item, choice in zip(found, chosen, strict=True)
    ]
    body = format_html_join("", "<tr><td>{} – {}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
    return format_html(
        "<p>Times in {}, with required={} (the profile's), as the API offers them now:</p>"
        '<table class="group-preview"><thead><tr><th>time</th><th>hosts free</th>'
        "<th>groups free</th><th>would attend</th></tr></thead><tbody>{}</tbody></table>",
        profile.timezone,
        profile.required,
        body,
    )
