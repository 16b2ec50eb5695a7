"""Background work that survives crashes (SPEC §11): enqueued in the booking's transaction,
run again after its worker died, never sent twice; periodic jobs once per period; a worker
that outlives database errors. Real parts: db_worker processes, an aiosmtpd server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError, transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from scheduler.management.commands.db_worker import ResilientWorker
from scheduler.models import Booking, Calendar, Delivery, PeriodicRun
from scheduler.retries import prune_finished, requeue_abandoned
from scheduler.services import availability, bookings, periodic
from scheduler.services import calendars as calendar_service
from tests.factory import make_account, make_profile
from tests.fixtures.feeds import static
from tests.fixtures.servers import ROOT, server_env
from tests.fixtures.smtp import SmtpServer

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
ALL_DAY = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": d, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
EMPTY_FEED = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nEND:VCALENDAR\r\n"


def _profile():
    account = make_account(handle="ada", email="ada@example.com")
    return make_profile(account, work_hours=ALL_DAY, start_after_minutes=0)


def _book(profile) -> Booking:
    start, end = availability.compute(profile).slots[2]
    return bookings.book(profile, start=start, end=end, name="Bea", email="bea@example.com")


def _tasks(name: str):
    return DBTaskResult.objects.filter(task_path__endswith=name)


# --- enqueued in the booking's own transaction ------------------------------------------------


@override_settings(TASKS=DB_TASKS)
def test_the_invite_task_is_written_in_the_booking_transaction(
    db, django_capture_on_commit_callbacks
):
    profile = _profile()
    with django_capture_on_commit_callbacks() as callbacks:
        booking = _book(profile)
    # Nothing waits for the commit: the task row was written with the booking.
    assert callbacks == []
    assert _tasks(".deliver_mail").get().args_kwargs["args"][0] == booking.pk


@override_settings(TASKS=DB_TASKS)
def test_a_rolled_back_booking_leaves_no_task_behind(db):
    profile = _profile()
    with pytest.raises(RuntimeError), transaction.atomic():
        _book(profile)
        raise RuntimeError("the request failed after booking")
    assert not Booking.objects.exists() and not DBTaskResult.objects.exists()


# --- a task whose worker died runs again, and sends nothing twice ------------------------------


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.start()
    for key, value in server.settings().items():
        setattr(settings, key, value)
    yield server
    server.stop()


@override_settings(TASKS=DB_TASKS, TASK_LEASE_SECONDS=300)
def test_a_task_whose_worker_died_runs_again_after_its_lease(transactional_db, smtp):
    booking = _book(_profile())
    task = _tasks(".deliver_mail").get()
    # A worker claimed it and died (kill -9): RUNNING forever, until the lease runs out.
    DBTaskResult.objects.filter(pk=task.pk).update(
        status="RUNNING", started_at=timezone.now() - timedelta(seconds=100)
    )
    call_command("db_worker", "--batch", verbosity=0)
    assert smtp.messages == []  # still inside its lease
    DBTaskResult.objects.filter(pk=task.pk).update(
        started_at=timezone.now() - timedelta(seconds=301)
    )
    PeriodicRun.objects.update(next_run_at=timezone.now())
    call_command("db_worker", "--batch", verbosity=0)
    booking.refresh_from_db()
    assert booking.mail_state == Delivery.DONE
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == [
        "ada@example.com",
        "bea@example.com",
    ]
    PeriodicRun.objects.update(next_run_at=timezone.now())
    call_command("db_worker", "--batch", verbosity=0)
    assert len(smtp.messages) == 2  # nothing sent twice


class _StallingFirstRecipient:
    """An SMTP handler that never answers the first RCPT: a send that hangs mid-conversation,
    before the server has accepted anything."""

    def __init__(self, server: SmtpServer):
        self.server = server
        self.stalled = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if not self.stalled:
            self.stalled = True
            await asyncio.sleep(60)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        import email
        import email.policy

        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.server.messages.append(message)
        return "250 Message accepted"


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@override_settings(TASKS=DB_TASKS)
def test_kill_9_mid_send_loses_nothing_and_repeats_nothing(transactional_db):
    from aiosmtpd.controller import Controller
    from django.db import connection

    smtp = SmtpServer()
    handler = _StallingFirstRecipient(smtp)
    controller = Controller(handler, hostname=smtp.host, port=smtp.port, ready_timeout=5)
    controller.start()
    try:
        booking = _book(_profile())
        env = server_env(
            connection.settings_dict["NAME"],
            TASKS_BACKEND="database",
            EMAIL_URL=f"smtp://{smtp.host}:{smtp.port}",
            EMAIL_TIMEOUT="120",
            TASK_LEASE_SECONDS="2",
            WORKER_PERIODIC_CHECK_SECONDS="0.5",
        )
        first = _start_worker(env)
        _wait(lambda: handler.stalled, 30, "the first worker to start sending")
        assert DBTaskResult.objects.get(task_path__endswith=".deliver_mail").status == "RUNNING"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        second = _start_worker(env)
        try:
            _wait(
                lambda: Booking.objects.get(pk=booking.pk).mail_state == Delivery.DONE,
                40,
                "the second worker to deliver the mail",
            )
            time.sleep(1.5)  # a repeat, if there were one, would arrive now
        finally:
            second.terminate()
            second.wait(timeout=10)
        assert sorted(m["X-Envelope-To"] for m in smtp.messages) == [
            "ada@example.com",
            "bea@example.com",
        ]
    finally:
        controller.stop()


def test_requeue_abandoned_touches_only_tasks_past_their_lease(db, settings):
    settings.TASK_LEASE_SECONDS = 300
    with override_settings(TASKS=DB_TASKS):
        booking = _book(_profile())
        bookings.cancel(booking)
    old, fresh = DBTaskResult.objects.order_by("enqueued_at")[:2]
    DBTaskResult.objects.filter(pk=old.pk).update(status="RUNNING", started_at=NOW)
    DBTaskResult.objects.filter(pk=fresh.pk).update(
        status="RUNNING", started_at=NOW + timedelta(seconds=250)
    )
    assert requeue_abandoned(NOW + timedelta(seconds=301)) == 1
    assert DBTaskResult.objects.get(pk=old.pk).status == "READY"
    assert DBTaskResult.objects.get(pk=fresh.pk).status == "RUNNING"


def test_prune_deletes_only_old_finished_task_rows(db, settings):
    settings.TASK_RETENTION_DAYS = 7
    with override_settings(TASKS=DB_TASKS):
        _book(_profile())
    row = DBTaskResult.objects.get()
    DBTaskResult.objects.filter(pk=row.pk).update(status="SUCCESSFUL", finished_at=NOW)
    assert prune_finished(NOW + timedelta(days=6)) == 0
    assert prune_finished(NOW + timedelta(days=8)) == 1
    assert not DBTaskResult.objects.exists()


# --- a worker outlives database errors ---------------------------------------------------------


@override_settings(TASKS=DB_TASKS)
def test_the_worker_survives_a_locked_or_restarting_database(
    transactional_db, monkeypatch, mailoutbox
):
    booking = _book(_profile())
    worker = ResilientWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    real = worker._run_one
    failures = iter([OperationalError("database is locked"), OperationalError("server closed")])

    def flaky() -> bool:
        error = next(failures, None)
        if error is not None:
            raise error
        return real()

    monkeypatch.setattr(worker, "_run_one", flaky)
    monkeypatch.setattr("scheduler.management.commands.db_worker.time.sleep", lambda s: None)
    worker.run()  # returns once the queue is empty: it went on after both errors
    booking.refresh_from_db()
    assert booking.mail_state == Delivery.DONE and len(mailoutbox) == 2


# --- periodic work: once per period across workers ---------------------------------------------


def test_a_periodic_job_runs_once_per_period_however_many_workers(db):
    assert periodic.claim("job", 60, NOW)
    assert not periodic.claim("job", 60, NOW)  # a second worker at the same moment
    assert not periodic.claim("job", 60, NOW + timedelta(seconds=59))
    assert periodic.claim("job", 60, NOW + timedelta(seconds=60))


def test_run_due_runs_each_job_once_for_two_workers(db, monkeypatch):
    runs: list[str] = []
    jobs = tuple(
        periodic.Job(name, lambda: 60, lambda now, name=name: runs.append(name) or 0)
        for name in ("a", "b")
    )
    monkeypatch.setattr(periodic, "JOBS", jobs)
    periodic.run_due(NOW)
    periodic.run_due(NOW)
    assert runs == ["a", "b"]


# --- calendars read in the background --------------------------------------------------------


@override_settings(TASKS=DB_TASKS, ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_a_feed_added_is_read_in_the_background_right_away(transactional_db, feed_server):
    host = make_account()
    profile = make_profile(host, work_hours=ALL_DAY)
    url = feed_server.route("/a.ics", static(EMPTY_FEED))
    calendar = calendar_service.add(host, kind="ics", url=url)
    assert _tasks(".refresh_calendar").count() == 1 and feed_server.hits["/a.ics"] == 0
    call_command("db_worker", "--batch", verbosity=0)
    assert Calendar.objects.get(pk=calendar.pk).last_fetched_at is not None
    availability.compute(profile)
    assert feed_server.hits["/a.ics"] == 1  # the request found the copy ready


@override_settings(TASKS=DB_TASKS, ALLOW_PRIVATE_CALENDAR_URLS=True, CALENDAR_REFRESH_SECONDS=300)
def test_calendars_are_read_ahead_of_need(transactional_db, feed_server):
    host = make_account()
    url = feed_server.route("/a.ics", static(EMPTY_FEED))
    calendar = Calendar.objects.create(account=host, kind="ics", role="busy", url=url)
    Calendar.objects.filter(pk=calendar.pk).update(
        last_fetched_at=NOW, last_attempt_at=NOW, busy_until=NOW + timedelta(days=90)
    )
    from scheduler.calendars import refresh

    assert refresh.refresh_due(NOW + timedelta(seconds=200)) == 0  # fresh for a while yet
    assert refresh.refresh_due(NOW + timedelta(seconds=250)) == 1  # stale within a minute
    assert refresh.refresh_due(NOW + timedelta(seconds=251)) == 0  # queued once
    with time_machine.travel(NOW + timedelta(seconds=260), tick=False):
        call_command("db_worker", "--batch", verbosity=0)
    assert Calendar.objects.get(pk=calendar.pk).last_fetched_at == NOW + timedelta(seconds=260)


def test_a_change_never_puts_back_an_older_mail_ledger(db, monkeypatch):
    """The mail task records each accepted message outside the account lock; a cancel saved
    from its own read of the booking must not erase what the task wrote meanwhile (a retry
    would then send that message again)."""
    from scheduler.calendars import sync

    booking = _book(_profile())
    real = sync.is_local

    def task_records_meanwhile(calendar):
        Booking.objects.filter(pk=booking.pk).update(mail_sent=["request:0:invitee"])
        return real(calendar)

    monkeypatch.setattr(sync, "is_local", task_records_meanwhile)
    bookings.cancel(booking)
    assert Booking.objects.get(pk=booking.pk).mail_sent == ["request:0:invitee"]
