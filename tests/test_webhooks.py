"""Webhooks (SPEC §9): which hooks hear of a change, the signed body a receiver gets, retries
with back-off and the same `webhook-id`, turning a hook off (410, or the last retry failing)
and mailing its owner, the time-out, the SSRF rule at send time, and a hanging receiver that
never slows a booking.

Real parts: a loopback receiver that verifies every signature with `standardwebhooks`
(tests/fixtures/webhooks.py), `db_worker` processes for the timing of retries, aiosmtpd for
the owner's mail. The immediate task backend (the tests' default) sends at commit, so tests
that watch a delivery happen use `transactional_db`; tests with the database backend run the
task themselves (`deliver_webhook.call`) or start a worker.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from scheduler import webhooks as delivery
from scheduler.models import Booking, Organization, Webhook, WebhookAttempt, WebhookMessage
from scheduler.services import availability, bookings, groups, profiles, webhooks
from scheduler.services.errors import InvalidInput
from scheduler.services.representation import booking_json
from tests.api.helpers import ApiClient
from tests.factory import make_account, make_profile, make_token
from tests.fixtures.servers import ROOT, server_env
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.webhooks import HANG, Receiver

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
ALL_DAY = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": d, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ada(db):
    return make_account(handle="ada", name="Ada Host", email="ada@example.com")


@pytest.fixture
def profile(ada):
    return make_profile(ada, name="intro", work_hours=ALL_DAY, start_after_minutes=0)


def hook_mails(outbox) -> list:
    """The mails about webhooks among every mail sent (bookings send their own)."""
    return [m for m in outbox if "X-Webhook" in m.extra_headers]


def hook_for(owner, receiver: Receiver, events=Webhook.EVENTS) -> Webhook:
    hook = webhooks.create(owner, url=receiver.url, events=list(events))
    receiver.secret = hook.secret
    return hook


def at(hour: int, minute: int = 0) -> tuple[datetime, datetime]:
    start = NOW.replace(hour=hour, minute=minute)
    return start, start + timedelta(minutes=30)


def book(profile, hour: int = 9, **kw) -> Booking:
    start, end = at(hour)
    return bookings.book(profile, start=start, end=end, name="Bea", email="bea@example.com", **kw)


def tasks(name: str):
    return DBTaskResult.objects.filter(task_path__endswith=name).order_by("enqueued_at")


def retries_at() -> list[datetime]:
    """When the queued retries of deliveries may run (a task to run at once has none)."""
    deferred = tasks(".deliver_webhook").exclude(run_after__year=9999)
    return sorted(deferred.values_list("run_after", flat=True))


# --- the signature ---------------------------------------------------------------------------


def test_each_attempt_is_signed_per_standard_webhooks():
    secret = Webhook.new_secret()
    assert secret.startswith("whsec_")
    body = '{"type":"booking.created"}'
    with time_machine.travel(NOW, tick=False):
        headers = delivery.signed_headers(secret, "msg_abc", body, NOW)
        assert headers["webhook-id"] == "msg_abc"
        assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
        assert headers["webhook-signature"].startswith("v1,")
        assert Verifier(secret).verify(body, headers) == {"type": "booking.created"}
        with pytest.raises(WebhookVerificationError):
            Verifier(Webhook.new_secret()).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Verifier(secret).verify(body.replace("created", "cancelled"), headers)


# --- who hears of what -----------------------------------------------------------------------


def test_only_active_hooks_of_the_booking_s_hosts_subscribed_to_the_event_get_a_message(
    profile, ada, settings, frozen
):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    url = "http://127.0.0.1:9/hook"
    cancels = webhooks.create(ada, url=url, events=["booking.cancelled"])
    everything = webhooks.create(ada, url=url, events=list(Webhook.EVENTS))
    webhooks.create(ada, url=url, events=list(Webhook.EVENTS), active=False)
    webhooks.create(make_account(), url=url, events=list(Webhook.EVENTS))  # not a host here

    booking = book(profile)
    assert [(m.webhook, m.event) for m in WebhookMessage.objects.all()] == [
        (everything, "booking.created")
    ]
    bookings.cancel(booking)
    cancelled = WebhookMessage.objects.filter(event="booking.cancelled")
    assert sorted(m.webhook_id for m in cancelled) == [cancels.pk, everything.pk]
    assert len({m.msg_id for m in WebhookMessage.objects.all()}) == 3


def test_the_body_is_the_booking_as_the_api_answers_it(profile, ada, settings, frozen, client):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    webhooks.create(ada, url="http://127.0.0.1:9/hook", events=list(Webhook.EVENTS))
    booking = book(profile)
    message = WebhookMessage.objects.get()
    assert message.msg_id.startswith("msg_")
    assert message.payload["type"] == "booking.created"
    assert message.payload["timestamp"] == "2030-01-07T08:00:00Z"
    answer = ApiClient(client, make_token(ada))("GET", f"/v1/book/account/bookings/{booking.pk}")
    assert message.payload["data"] == answer.json()
    assert message.payload["data"]["start"] == "2030-01-07T09:00:00Z"


def test_a_group_booking_tells_the_organization_and_every_attending_host(db, settings, frozen):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    url = "http://127.0.0.1:9/hook"
    org = Organization.objects.create(handle="acme", name="Acme")
    amy, bob, cat = (
        make_account(handle=name, email=f"{name}@acme.example", organization=org)
        for name in ("amy", "bob", "cat")
    )
    team = profiles.create(
        org, {"name": "team", "workHours": ALL_DAY, "startAfterMinutes": 0, "required": "all"}
    )
    groups.attach_accounts(team, [amy.pk, bob.pk])
    hooks = {
        owner: webhooks.create(owner, url=url, events=["booking.created"])
        for owner in (org, amy, bob, cat)
    }
    booking = book(team)
    told = {m.webhook_id for m in WebhookMessage.objects.all()}
    assert told == {hooks[org].pk, hooks[amy].pk, hooks[bob].pk}
    data = WebhookMessage.objects.first().payload["data"]
    assert data["groupProfileId"] == team.pk and data["accountIds"] == sorted([amy.pk, bob.pk])
    assert data == booking_json(booking)


# --- delivery --------------------------------------------------------------------------------


def test_a_booking_through_the_api_reaches_the_receiver_signed(
    transactional_db, ada, profile, receiver, frozen, client
):
    hook = hook_for(ada, receiver)
    api = ApiClient(client, make_token(ada))
    start, end = at(9)
    made = api(
        "POST",
        f"/v1/book/account/profiles/{profile.pk}/meeting",
        {
            "time": {"start": start.isoformat(), "end": end.isoformat()},
            "schedulerInfo": {"name": "Bea", "email": "bea@example.com"},
        },
    )
    assert made.status_code == 201, made.content
    [payload] = receiver.verified()
    assert payload["type"] == "booking.created"
    assert payload["timestamp"] == "2030-01-07T08:00:00Z"
    assert payload["data"]["id"] == made.json()["id"]
    assert payload["data"]["status"] == "confirmed"
    message = WebhookMessage.objects.get(webhook=hook)
    assert receiver.deliveries[0].msg_id == message.msg_id
    assert message.state == WebhookMessage.State.DONE and message.attempts == 1
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status, attempt.error, attempt.at) == (200, "", NOW)


def test_every_change_sends_its_event_with_the_booking_as_it_reads_after_it(
    transactional_db, ada, profile, receiver, frozen
):
    hook_for(ada, receiver)
    booking = book(profile, 9)
    start, end = at(11)
    bookings.reschedule(booking, start=start, end=end)
    bookings.cancel(booking)
    held = book(profile, 13, reserve_minutes=10)
    bookings.confirm(held)
    released = book(profile, 15, reserve_minutes=10)
    bookings.release(released)

    got = [(p["type"], p["data"]["id"], p["data"]["status"]) for p in receiver.verified()]
    assert got == [
        ("booking.created", str(booking.pk), "confirmed"),
        ("booking.rescheduled", str(booking.pk), "confirmed"),
        ("booking.cancelled", str(booking.pk), "cancelled"),
        ("reservation.created", str(held.pk), "reserved"),
        ("reservation.confirmed", str(held.pk), "confirmed"),
        ("reservation.created", str(released.pk), "reserved"),
        ("reservation.released", str(released.pk), "cancelled"),
    ]
    moved = receiver.verified()[1]["data"]
    assert (moved["start"], moved["sequence"]) == ("2030-01-07T11:00:00Z", 1)
    assert len({d.msg_id for d in receiver.deliveries}) == 7


def test_a_delivered_message_is_not_sent_again_and_an_off_hook_records_nothing(
    transactional_db, ada, profile, receiver, frozen
):
    hook = hook_for(ada, receiver)
    book(profile)
    message = WebhookMessage.objects.get()
    assert delivery.deliver_webhook.call(message.pk) == WebhookMessage.State.DONE
    assert len(receiver.deliveries) == 1 and WebhookAttempt.objects.count() == 1

    with override_settings(TASKS=DB_TASKS):  # queued, not sent at once
        book(profile, 10)
    later = WebhookMessage.objects.exclude(pk=message.pk).get()
    webhooks.update(hook, {"active": False})
    assert delivery.deliver_webhook.call(later.pk) == "inactive"
    assert len(receiver.deliveries) == 1 and WebhookAttempt.objects.count() == 1
    assert WebhookMessage.objects.get(pk=later.pk).state == WebhookMessage.State.PENDING


@override_settings(TASKS=DB_TASKS, WEBHOOK_RETRY_DELAYS=[5, 300])
def test_a_failure_is_retried_after_each_delay_with_the_same_webhook_id(
    ada, profile, receiver, frozen
):
    hook = hook_for(ada, receiver)
    book(profile)
    message = WebhookMessage.objects.get()
    assert tasks(".deliver_webhook").get().args_kwargs["args"] == [message.pk]
    receiver.cue(500, 503, 500)

    assert delivery.deliver_webhook.call(message.pk) == "retry"
    assert retries_at() == [NOW + timedelta(seconds=5)]
    frozen.shift(5)
    assert delivery.deliver_webhook.call(message.pk) == "retry"
    assert retries_at() == [NOW + timedelta(seconds=5), NOW + timedelta(seconds=5 + 300)]
    frozen.shift(300)
    # One attempt and one retry per delay: the third failure is the last.
    assert delivery.deliver_webhook.call(message.pk) == "deactivated"

    attempts = list(WebhookAttempt.objects.values_list("status", "error"))
    assert attempts == [
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
        (500, "HTTP 500 Internal Server Error"),
    ]
    assert {d.msg_id for d in receiver.deliveries} == {message.msg_id}
    assert len({d.headers["webhook-timestamp"] for d in receiver.deliveries}) == 3
    receiver.verified()
    hook.refresh_from_db()
    assert not hook.active and hook.deactivated_at == NOW + timedelta(seconds=305)
    assert "all 3 attempts failed" in hook.deactivated_reason
    assert tasks(".mail_deactivation").get().args_kwargs["args"] == [hook.pk]
    assert tasks(".deliver_webhook").count() == 3  # no fourth


def test_a_410_turns_the_hook_off_and_mails_the_host_naming_its_url(
    transactional_db, ada, profile, receiver, frozen, mailoutbox
):
    hook = hook_for(ada, receiver)
    receiver.cue(410)
    book(profile)
    hook.refresh_from_db()
    assert not hook.active and hook.deactivated_at == NOW
    assert "410" in hook.deactivated_reason
    assert WebhookMessage.objects.get().state == WebhookMessage.State.FAILED
    [mail] = hook_mails(mailoutbox)
    assert mail.to == ["ada@example.com"]
    assert receiver.url in mail.subject and receiver.url in mail.body
    assert receiver.url in mail.alternatives[0][0]
    assert "410" in mail.body

    book(profile, 10)  # an off hook hears nothing more
    assert len(receiver.deliveries) == 1 and WebhookMessage.objects.count() == 1
    assert delivery.mail_deactivation.call(hook.pk) == "sent"  # a repeat tells again, harmlessly
    webhooks.update(hook, {"active": True})
    assert delivery.mail_deactivation.call(hook.pk) == "nothing to tell"


@override_settings(WEBHOOK_RETRY_DELAYS=[])
def test_an_organization_hook_turned_off_mails_every_member(
    transactional_db, receiver, frozen, mailoutbox
):
    org = Organization.objects.create(handle="acme", name="Acme")
    for name in ("amy", "bob"):
        make_account(handle=name, email=f"{name}@acme.example", organization=org)
    make_account(handle="olga", email="olga@elsewhere.example")
    hook = hook_for(org, receiver)
    message = WebhookMessage.objects.create(
        webhook=hook, msg_id="msg_x", event="booking.created", payload={"type": "x"}
    )
    receiver.cue(500)
    # No retries configured: the first attempt is the last.
    assert delivery.deliver_webhook.call(message.pk) == "deactivated"
    [mail] = hook_mails(mailoutbox)
    assert sorted(mail.to) == ["amy@acme.example", "bob@acme.example"]
    assert receiver.url in mail.body and "/v1/book/group/webhooks/" in mail.body


@override_settings(WEBHOOK_RETRY_DELAYS=[5])
def test_without_a_deferring_backend_a_failure_is_final_and_the_hook_stays_on(
    transactional_db, ada, profile, receiver, frozen, mailoutbox
):
    hook = hook_for(ada, receiver)
    receiver.cue(500)
    book(profile)
    assert WebhookMessage.objects.get().state == WebhookMessage.State.FAILED
    hook.refresh_from_db()
    assert hook.active and hook_mails(mailoutbox) == []


@override_settings(WEBHOOK_TIMEOUT_SECONDS=1)
def test_a_receiver_that_does_not_answer_is_cut_off_at_the_time_out(ada, profile, receiver, frozen):
    hook_for(ada, receiver)
    with override_settings(TASKS=DB_TASKS):
        book(profile)
    receiver.cue(HANG)
    began = time.monotonic()
    assert delivery.deliver_webhook.call(WebhookMessage.objects.get().pk) == "failed"
    assert time.monotonic() - began < 3
    attempt = WebhookAttempt.objects.get()
    assert attempt.status is None and "did not answer within 1 s" in attempt.error


def test_a_url_that_turns_private_is_refused_at_send_time(ada, profile, receiver, settings, frozen):
    hook_for(ada, receiver)
    with override_settings(TASKS=DB_TASKS):
        book(profile, 10)
    settings.ALLOW_PRIVATE_CALENDAR_URLS = False
    delivery.deliver_webhook.call(WebhookMessage.objects.get().pk)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status is None and "loopback, private" in attempt.error
    assert receiver.deliveries == []


def test_a_hook_deleted_while_its_message_waits_is_nothing_to_send(ada, profile, receiver, frozen):
    hook = hook_for(ada, receiver)
    with override_settings(TASKS=DB_TASKS):
        book(profile, 10)
    message = WebhookMessage.objects.get()
    webhooks.delete(hook)
    assert delivery.deliver_webhook.call(message.pk) == "gone"
    assert receiver.deliveries == []


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("http://127.0.0.1:9/hook", ["booking.created"], "url"),
        ("http://10.1.2.3/hook", ["booking.created"], "url"),
        ("http://169.254.169.254/latest", ["booking.created"], "url"),
        ("http://[::1]/hook", ["booking.created"], "url"),
        ("ftp://1.1.1.1/hook", ["booking.created"], "url"),
        ("not a url", ["booking.created"], "url"),
        ("https://1.1.1.1/hook", ["booking.made"], "events"),
        ("https://1.1.1.1/hook", [], "events"),
        ("https://1.1.1.1/hook", ["booking.created", "booking.created"], "events"),
    ],
)
def test_bad_hooks_are_refused_naming_the_field(ada, url, events, field):
    with pytest.raises(InvalidInput) as caught:
        webhooks.create(ada, url=url, events=events)
    assert set(caught.value.fields) == {field}
    assert not Webhook.objects.exists()


def test_a_non_public_address_is_allowed_only_with_the_private_url_switch(ada, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    hook = webhooks.create(ada, url="http://127.0.0.1:9/hook", events=["booking.created"])
    assert hook.active and hook.secret.startswith("whsec_")


def test_emit_refuses_an_unknown_event(profile):
    with pytest.raises(ValueError, match="booking.made"):
        webhooks.emit(Booking(account=profile.account, profile=profile), "booking.made")


# --- real workers ----------------------------------------------------------------------------


def _start_worker(**env: str) -> subprocess.Popen:
    environment = server_env(
        connection.settings_dict["NAME"],
        TASKS_BACKEND="database",
        ALLOW_PRIVATE_CALENDAR_URLS="true",
        WORKER_PERIODIC_CHECK_SECONDS="60",
        **env,
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=5)


def _tasks_text() -> str:
    """The queue, for a failure's message: what the worker did and did not do."""
    rows = DBTaskResult.objects.order_by("enqueued_at")
    return "\n".join(
        f"{r.task_path} {r.status} {r.args_kwargs} -> {r.return_value!r} {r.traceback[-500:]}"
        for r in rows
    )


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{_tasks_text()}"
        time.sleep(0.05)


def _real_slot(profile, index: int = 2) -> tuple[datetime, datetime]:
    """A free slot at the real time: a worker process runs on the wall clock."""
    return availability.compute(profile).slots[index]


@pytest.mark.slow
@override_settings(TASKS=DB_TASKS)
def test_a_worker_retries_after_the_configured_delays_with_the_same_webhook_id(
    transactional_db, ada, profile, receiver
):
    hook = hook_for(ada, receiver)
    receiver.cue(500, 500)
    start, end = _real_slot(profile)
    bookings.book(profile, start=start, end=end, name="Bea", email="bea@example.com")
    worker = _start_worker(WEBHOOK_RETRY_DELAYS="1,2,30")
    try:
        first, second, third = receiver.wait_for(3, seconds=30)
    finally:
        _stop(worker)
    assert first.msg_id == second.msg_id == third.msg_id
    assert second.at - first.at >= 1.0 and third.at - second.at >= 2.0
    assert third.at - first.at < 10
    assert [p["type"] for p in receiver.verified()] == ["booking.created"] * 3
    message = WebhookMessage.objects.get(webhook=hook)
    assert (message.state, message.attempts) == (WebhookMessage.State.DONE, 3)
    statuses = list(WebhookAttempt.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [500, 500, 200]


@pytest.mark.slow
@override_settings(TASKS=DB_TASKS)
def test_a_worker_turns_the_hook_off_after_the_last_retry_and_mails_the_host(
    transactional_db, ada, profile, receiver
):
    hook = hook_for(ada, receiver)
    receiver.default = 500
    smtp = SmtpServer()
    smtp.start()
    start, end = _real_slot(profile)
    bookings.book(profile, start=start, end=end, name="Bea", email="bea@example.com")
    worker = _start_worker(
        WEBHOOK_RETRY_DELAYS="0.5,0.5",
        EMAIL_URL=f"smtp://{smtp.host}:{smtp.port}",
        EMAIL_TIMEOUT="30",
    )
    try:
        _wait(lambda: not Webhook.objects.get(pk=hook.pk).active, 30, "the hook to turn off")
        _wait(
            lambda: any(m["X-Webhook"] == str(hook.pk) for m in smtp.messages),
            60,
            "the host's mail",
        )
    finally:
        _stop(worker)
        smtp.stop()
    assert len(receiver.deliveries) == 3
    [mail] = [m for m in smtp.messages if m["X-Webhook"]]
    assert mail["X-Envelope-To"] == "ada@example.com"
    assert receiver.url in mail["Subject"]
    assert receiver.url in mail.get_body(("plain",)).get_content()


@pytest.mark.slow
@override_settings(TASKS=DB_TASKS)
def test_a_hanging_receiver_never_slows_a_booking(transactional_db, ada, profile, receiver, client):
    """While a worker waits on a receiver that does not answer, bookings of the same host go
    through at full speed: the worker holds no lock while it calls out."""
    hook_for(ada, receiver)
    receiver.default = HANG
    api = ApiClient(client, make_token(ada))
    path = f"/v1/book/account/profiles/{profile.pk}/meeting"
    slots = availability.compute(profile).slots

    def book_slot(index: int) -> float:
        start, end = slots[index]
        body = {
            "time": {"start": start.isoformat(), "end": end.isoformat()},
            "schedulerInfo": {"name": "Bea", "email": "bea@example.com"},
        }
        began = time.monotonic()
        answer = api("POST", path, body)
        assert answer.status_code == 201, answer.content
        return time.monotonic() - began

    book_slot(2)
    worker = _start_worker(WEBHOOK_TIMEOUT_SECONDS="10")
    try:
        receiver.wait_for(1, seconds=20)  # the worker now waits on the receiver
        times = [book_slot(i) for i in (4, 6, 8)]
        assert len(receiver.deliveries) == 1  # still hanging: one worker, one call at a time
    finally:
        receiver.release()
        _stop(worker)
    assert max(times) < 2, times
    assert WebhookMessage.objects.count() == 4
