"""Periodic work of the background workers, each job once per period across every worker and
host: a job runs only after its `PeriodicRun.next_run_at` has been moved on by a conditional
UPDATE, which one worker wins."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from scheduler import retries
from scheduler.calendars import refresh
from scheduler.models import PeriodicRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: Callable[[], float]  # seconds, read from settings when the job is claimed
    run: Callable[[datetime], int]


JOBS = (
    # Tasks whose worker died: checked often, so they run again soon after their lease ends.
    Job("requeue-abandoned-tasks", lambda: 30, retries.requeue_abandoned),
    # Calendars read ahead of need, so requests answer from fresh copies.
    Job("refresh-calendars", lambda: settings.PERIODIC_REFRESH_SECONDS, refresh.refresh_due),
    Job("prune-finished-tasks", lambda: 3600, retries.prune_finished),
)


def claim(name: str, every: float, now: datetime) -> bool:
    """Whether this worker runs job `name` now (and no other until `every` seconds pass)."""
    try:
        PeriodicRun.objects.get_or_create(name=name, defaults={"next_run_at": now})
    except IntegrityError:
        pass  # another worker created it a moment ago
    due = PeriodicRun.objects.filter(name=name, next_run_at__lte=now)
    return due.update(next_run_at=now + timedelta(seconds=every), last_run_at=now) == 1


def run_due(now: datetime | None = None) -> dict[str, int]:
    """Run every job whose period has come; returns what each one did (jobs run, counts)."""
    now = now or timezone.now()
    done: dict[str, int] = {}
    for job in JOBS:
        if not claim(job.name, job.every(), now):
            continue
        try:
            done[job.name] = job.run(now)
        except Exception:  # noqa: BLE001 - one failing job must not stop the others
            logger.exception("periodic job %s failed", job.name)
    return done
