"""What services raise. Adapters turn each into their own answer (a JSON error, a form
error, an admin message); services never know which adapter called them."""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    """Bad input; `fields` names each bad field (SPEC's names) with the reasons."""

    def __init__(self, message: str, fields: Mapping[str, list[str]] | None = None):
        super().__init__(message)
        self.fields = dict(fields or {})

    @classmethod
    def of(cls, fields: Mapping[str, list[str]]) -> InvalidInput:
        return cls("Invalid input: " + ", ".join(fields), fields)


class SlotUnavailable(ServiceError):
    """The requested time is not (or no longer) a free slot."""


class Conflict(ServiceError):
    """The change does not fit the current state (a cancelled booking, a taken name…)."""
