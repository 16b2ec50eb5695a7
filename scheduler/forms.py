"""The public booking form: name, email, one input per `additionalFields` entry, a honeypot."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scheduler.rules.variables import MAX_VALUE_LENGTH, Field

VAR_PREFIX = "var_"
HONEYPOT = "website"


def _label(name: str) -> str:
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


def parse_slot(value: str) -> datetime | None:
    """An aware ISO 8601 instant as UTC, or None for anything else."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if parsed.tzinfo is None or not 2000 <= parsed.year <= 2200:
        return None
    return parsed.astimezone(UTC)


class SlotField(forms.CharField):
    """The chosen slot's start as an ISO instant (a hidden input)."""

    widget = forms.HiddenInput

    def to_python(self, value: str | None) -> datetime | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        parsed = parse_slot(text)
        if parsed is None:
            raise forms.ValidationError(
                f"slot {text!r} is not an ISO 8601 instant with an offset, such as "
                "2026-03-02T09:00:00Z"
            )
        return parsed


class BookingForm(forms.Form):
    """Built per profile: `fields` are its additional fields (SPEC §4)."""

    slot = SlotField(error_messages={"required": gettext_lazy("Choose a time from the list.")})
    name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=200,
        error_messages={"required": gettext_lazy("Enter your name.")},
    )
    email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        error_messages={
            "required": gettext_lazy("Enter your email address."),
            "invalid": gettext_lazy("Enter an email address in the form name@example.com."),
        },
    )
    # Humans never see this input; bots that fill every field do.
    website = forms.CharField(
        label=gettext_lazy("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(
        self, *args: object, variables: list[Field] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update({"autocomplete": "name"})
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})
        self.variables = list(variables or [])
        for var in self.variables:
            label = _label(var.name)
            self.fields[VAR_PREFIX + var.name] = forms.CharField(
                label=label,
                required=var.required,
                initial=var.default or "",
                max_length=MAX_VALUE_LENGTH,
                error_messages={"required": _("Enter a value for %(label)s.") % {"label": label}},
            )

    @property
    def variable_fields(self) -> list[forms.BoundField]:
        return [self[VAR_PREFIX + var.name] for var in self.variables]

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get(HONEYPOT, "").strip())

    def substitution_data(self) -> dict[str, str]:
        """The filled-in variable values by name; an emptied input falls back to its default."""
        values = {
            var.name: self.cleaned_data.get(VAR_PREFIX + var.name, "") for var in self.variables
        }
        return {name: value for name, value in values.items() if value}

    def add_booking_errors(self, fields: Mapping[str, list[str]]) -> None:
        """Put errors named the API way (`substitutionData.topic`) beside their inputs."""
        for key, messages in fields.items():
            name = key.removeprefix("substitutionData.")
            target = VAR_PREFIX + name if VAR_PREFIX + name in self.fields else None
            if key in ("name", "email"):
                target = key
            for message in messages:
                self.add_error(target, message if target else f"{name}: {message}")
