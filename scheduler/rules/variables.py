"""`{{variables}}` in a profile's subject, description and location (SPEC §4).

Pure functions: no Django. `{{var}}` is a required field, `{{var:text}}` has the default
`text`, `{{var:}}` is optional with an empty default. Built-ins are filled by the service.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

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

# The longest value an invitee may give a variable (SPEC §11), on every database alike.
MAX_VALUE_LENGTH = 1000

# The start of a variable: `{{`, a name of letters, digits and `_` (whitespace around it
# allowed), then `}}` (no default) or `:` (a default running to the first `}}` after it).
_HEAD = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*(\}\}|:)")


class _Match(NamedTuple):
    start: int
    end: int
    name: str
    default: str | None


def _variables(template: str) -> Iterator[_Match]:
    """Every `{{var}}` / `{{var:default}}` in `template`, left to right, without overlaps.

    Linear in the text's length (SPEC §11): a head cannot run past the next `{`, and the
    closing `}}` a default looks for is remembered, so text such as `{{a:` repeated thousands
    of times (no `}}` anywhere) is not scanned to its end once per `{{`, as a lazy `.*?`
    under DOTALL would.
    """
    closing: int | None = None  # the first `}}` at or after the last place looked from
    searched_from = 0
    position = 0
    while (head := _HEAD.search(template, position)) is not None:
        if head.group(2) == "}}":
            yield _Match(head.start(), head.end(), head.group(1), None)
            position = head.end()
            continue
        after = head.end()
        if closing is None or (closing != -1 and closing < after) or after < searched_from:
            searched_from, closing = after, template.find("}}", after)
        if closing == -1:
            # No `}}` anywhere after: this head has no end; a later `{{name}}` still may.
            position = head.start() + 1
            continue
        yield _Match(head.start(), closing + 2, head.group(1), template[after:closing])
        position = closing + 2


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
        for match in _variables(template or ""):
            if match.name in BUILTINS or match.name in seen:
                continue
            seen[match.name] = Field(match.name, match.default)
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
    template = template or ""
    escape = html.escape if as_html else _same
    pieces: list[str] = []
    last = 0
    for match in _variables(template):
        value = values.get(match.name)
        if value is None:
            value = match.default or ""
        pieces.append(escape(template[last : match.start]))
        pieces.append(escape(value))
        last = match.end
    pieces.append(escape(template[last:]))
    return "".join(pieces)


def _same(text: str) -> str:
    return text


# A line that holds nothing but a label once its empty variables are gone ("Company:").
_LABEL_ONLY = re.compile(r"^[^:\n]{0,60}:$")


def preview(template: str, shown: Mapping[str, str]) -> str:
    """`template` as a visitor reads it before booking (SPEC §10): each variable as
    `shown[name]` (its default when not given), and a line whose variables all show nothing
    and that holds nothing else but a label (`Company: {{company:}}`) left out."""
    lines = []
    for line in (template or "").split("\n"):
        matches = list(_variables(line))
        pieces: list[str] = []
        rest: list[str] = []
        last = 0
        for match in matches:
            value = shown.get(match.name)
            if value is None:
                value = match.default or ""
            pieces.append(line[last : match.start])
            rest.append(line[last : match.start])
            pieces.append(value)
            last = match.end
        pieces.append(line[last:])
        rest.append(line[last:])
        empty = all(
            not (shown.get(m.name) if shown.get(m.name) is not None else m.default or "")
            for m in matches
        )
        leftover = "".join(rest).strip()
        if matches and empty and (not leftover or _LABEL_ONLY.match(leftover)):
            continue
        lines.append("".join(pieces))
    return "\n".join(lines)
