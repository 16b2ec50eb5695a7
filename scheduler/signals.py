"""Keep the builtin calendars' cached busy copies honest."""

from __future__ import annotations

from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from scheduler.models import Calendar, Event


def touch_events(calendar_id: int) -> None:
    """A builtin calendar's own events changed: its cached busy copy is stale from now on.

    Code that changes events with `bulk_create`, `update()` or raw SQL (no signals) must call
    this itself.
    """
    Calendar.objects.filter(pk=calendar_id).update(events_version=F("events_version") + 1)


@receiver(post_save, sender=Event)
@receiver(post_delete, sender=Event)
def _event_changed(sender, instance: Event, **kwargs) -> None:
    # Events that mirror bookings are not in the copy (bookings are read directly).
    if instance.booking_id is None:
        touch_events(instance.calendar_id)
