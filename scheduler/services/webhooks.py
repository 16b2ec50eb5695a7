"""Webhooks (SPEC §9): hooks of accounts and organizations, and the messages each booking
event sends them. (Being built: `emit` is the one entry point the booking service calls.)"""

from __future__ import annotations

from scheduler.models import Booking


def emit(booking: Booking, event: str) -> None:
    """Queue `event` for every active hook subscribed to it among the booking's hosts' (and, for
    a group booking, its organization's) webhooks, in the caller's transaction."""
