"""`manage.py db_worker`: django-tasks-db's worker, made to survive and to keep house.

Beside running tasks it runs the periodic jobs (services/periodic.py: tasks whose worker died
are queued again, calendars are read ahead of need, old task rows are pruned), once per period
across all workers. A database error (SQLite's lock time-out, PostgreSQL restarting) no longer
ends the worker: it waits with back-off and goes on; a task cut off by it is run again after
its lease (TASK_LEASE_SECONDS).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django_tasks_db.management.commands.db_worker import Command as TasksDbCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from scheduler.services import periodic

logger = logging.getLogger("scheduler.worker")
MAX_BACKOFF_SECONDS = 30.0


class ResilientWorker(Worker):
    def run(self) -> None:
        logger.info("worker %s started", self.worker_id)
        backoff = 1.0
        next_periodic = 0.0
        while self.running:
            try:
                if time.monotonic() >= next_periodic:
                    periodic.run_due()
                    next_periodic = time.monotonic() + settings.WORKER_PERIODIC_CHECK_SECONDS
                ran = self._run_one()
                backoff = 1.0
            except DatabaseError as exc:
                logger.warning("database error, retrying in %.0f s: %s", backoff, exc)
                for connection in connections.all():
                    connection.close_if_unusable_or_obsolete()
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if self.batch and not ran:
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            if self.running and not ran:
                time.sleep(self.interval)

    def _run_one(self) -> bool:
        """Claim the next ready task and run it; False when there was none."""
        close_old_connections()
        ready = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            ready = ready.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            ready = ready.exclude(queue_name__in=self.excluded_queue_names)
        with exclusive_transaction(ready.db):
            found = ready.get_locked()
            if found is not None:
                found.claim(self.worker_id)
        if found is None:
            return False
        self.run_task(found)
        return True


class Command(TasksDbCommand):
    help = "Run background tasks and the periodic jobs; survives database errors."

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        worker = ResilientWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        worker.run()
