"""`{{variables}}` in a profile's subject, description and location (SPEC §4).

Pure functions: no Django. `{{var}}` is a required field, `{{var:text}}` has the default
`text`, `{{var:}}` is optional with an empty default. Built-ins are filled by the service.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

BUILTINS = frozenset(
    {
        "name",
        "email",
        "startTime",
        "endTime",
        "openMeetingUrl",
        "cancelUrl",
        "rescheduleUrl",
        "rescheduleToken",
    }
)

# A variable: letters, digits and `_`, then an optional `:default` running to the `}}`.
VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*(?::(.*?))?\}\}", re.DOTALL)


@dataclass(frozen=True)
class Field:
    name: str
    default: str | None  # None: required

    @property
    def required(self) -> bool:
        return self.default is None

    def as_dict(self) -> dict[str, object]:
        """The Aurinko `AdditionalField` shape plus `required`; a null default is left out."""
        out: dict[str, object] = {"name": self.name, "type": "string", "required": self.required}
        if self.default is not None:
            out["default"] = self.default
        return out


def additional_fields(*templates: str) -> list[Field]:
    """Every non-built-in variable once, in order of first appearance across `templates`
    (subject, description, location). The first occurrence decides the default."""
    seen: dict[str, Field] = {}
    for template in templates:
        for match in VARIABLE_RE.finditer(template or ""):
            name, default = match.group(1), match.group(2)
            if name in BUILTINS or name in seen:
                continue
            seen[name] = Field(name, default)
    return list(seen.values())


def missing_required(fields: list[Field], data: Mapping[str, str]) -> list[str]:
    return [f.name for f in fields if f.required and not str(data.get(f.name, "")).strip()]


def unknown_keys(fields: list[Field], data: Mapping[str, str]) -> list[str]:
    known = {f.name for f in fields}
    return [key for key in data if key not in known]


def values_for(fields: list[Field], data: Mapping[str, str]) -> dict[str, str]:
    """The invitee's values with defaults filled in for what they left out."""
    values = {f.name: f.default or "" for f in fields}
    values.update({k: str(v) for k, v in data.items() if k in values and v is not None})
    return values


def render(template: str, values: Mapping[str, str], *, as_html: bool = False) -> str:
    """Replace each `{{var}}`; a value that is missing falls back to the variable's default.
    Plain text escapes nothing; HTML escapes the template text and every value."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = values.get(name)
        if value is None:
            value = default or ""
        return html.escape(value) if as_html else value

    if not as_html:
        return VARIABLE_RE.sub(replace, template or "")
    pieces: list[str] = []
    last = 0
    for match in VARIABLE_RE.finditer(template or ""):
        pieces.append(html.escape(template[last : match.start()]))
        pieces.append(replace(match))
        last = match.end()
    pieces.append(html.escape((template or "")[last:]))
    return "".join(pieces)
