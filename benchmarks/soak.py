"""A two-minute mixed soak at a fixed request rate: availability, public pages, bookings,
cancels and reschedules against gunicorn (4 workers) with one db_worker sending real mail to
a local SMTP server. Prints the rate reached, p50, p99, errors, and mails received against
mails expected (none lost, none twice)."""

from __future__ import annotations

import email
import email.policy
import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
RATE = 60.0  # requests per second, sent on schedule whatever the answers' speed
SECONDS = 120.0
HOSTS = 4

SEED = r"""
import json
import django
django.setup()
from scheduler.models import Account, ApiToken, Profile
out = []
for n in range(HOSTS):
    acc = Account.objects.create(handle=f"soak{n}", name=f"Soak {n}", email=f"host{n}@example.com",
                                 timezone="UTC")
    _, token = ApiToken.issue(acc, "soak")
    # A usual profile: the default week (Monday-Friday 09:00-17:00), 30-minute meetings.
    p = Profile.objects.create(account=acc, name="intro", duration_minutes=30,
                               availability_step=30, start_after_minutes=0,
                               time_available_for="P30D", subject="Soak with {{name}}")
    out.append({"token": token, "profile": p.id, "handle": acc.handle})
print(json.dumps(out))
""".replace("HOSTS", str(HOSTS))


LEDGER = r"""
import json
import django
django.setup()
from scheduler.models import Booking
rows = list(Booking.objects.values_list("mail_state", "mail_sent"))
print(json.dumps({
    "recorded": sum(len(sent or []) for _, sent in rows),
    "undelivered": sum(1 for state, _ in rows if state not in ("done", "none")),
}))
"""


class Mailbox:
    """aiosmtpd handler that counts messages by the booking change they tell of."""

    def __init__(self) -> None:
        self.keys: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.keys[(rcpt, str(message.get("X-Booking", "")))] += 1
        return "250 OK"


class Soak:
    def __init__(self, base: str, hosts: list[dict]) -> None:
        self.base, self.hosts = base, hosts
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.expected_mails = 0
        self.bookings: list[tuple[dict, str]] = []  # (host, booking id), confirmed and live
        self.lock = threading.Lock()
        self.rng = random.Random(7)
        self.local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def _slots(self, host: dict) -> list[dict]:
        url = f"{self.base}/v1/book/{host['handle']}/intro/meeting?limit=1000"
        return self._session().get(url, timeout=30).json()["items"]

    def _call(self, kind: str, method: str, url: str, **kwargs) -> requests.Response | None:
        started = time.perf_counter()
        try:
            answer = self._session().request(method, url, timeout=30, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors[f"{kind}: {type(exc).__name__}"] += 1
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies.append(elapsed)
            self.statuses[f"{kind} {answer.status_code}"] += 1
            if answer.status_code >= 500:
                self.errors[f"{kind}: HTTP {answer.status_code}"] += 1
        return answer

    def one(self, n: int) -> None:
        host = self.hosts[n % len(self.hosts)]
        auth = {"Authorization": f"Bearer {host['token']}"}
        account = f"{self.base}/v1/book/account"
        roll = self.rng.random()
        if roll < 0.45:
            self._call(
                "availability", "GET", f"{account}/profiles/{host['profile']}/meeting", headers=auth
            )
        elif roll < 0.70:
            self._call("page", "GET", f"{self.base}/{host['handle']}/intro/")
        elif roll < 0.88 or not self.bookings:
            slot = self.rng.choice(host["slots"])
            body = {"time": slot, "schedulerInfo": {"name": "Soak", "email": f"i{n}@example.com"}}
            answer = self._call(
                "book",
                "POST",
                f"{account}/profiles/{host['profile']}/meeting",
                json=body,
                headers=auth,
            )
            if answer is not None and answer.status_code == 201:
                with self.lock:
                    self.expected_mails += 2
                    self.bookings.append((host, answer.json()["id"]))
        else:
            with self.lock:
                if not self.bookings:
                    return
                owner, booking = self.bookings.pop(self.rng.randrange(len(self.bookings)))
            owner_auth = {"Authorization": f"Bearer {owner['token']}"}
            if roll < 0.94:
                answer = self._call(
                    "cancel", "DELETE", f"{account}/bookings/{booking}", headers=owner_auth
                )
                if answer is not None and answer.status_code == 200:
                    with self.lock:
                        self.expected_mails += 2
            else:
                slot = self.rng.choice(owner["slots"])
                answer = self._call(
                    "reschedule",
                    "POST",
                    f"{account}/bookings/{booking}/reschedule",
                    json={"time": slot},
                    headers=owner_auth,
                )
                with self.lock:
                    if answer is not None and answer.status_code == 200:
                        self.expected_mails += 2
                    self.bookings.append((owner, booking))

    def run(self) -> float:
        for host in self.hosts:
            host["slots"] = self._slots(host)
        total = int(RATE * SECONDS)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=48) as pool:
            for n in range(total):
                delay = started + n / RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.one, n)
        return total / (time.perf_counter() - started)


def soak(label: str, env: dict[str, str], start_gunicorn, stop, record, free_port) -> None:
    """Run the soak against a migrated database in `env` and record its figures."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    env = {**env, "EMAIL_URL": f"smtp://127.0.0.1:{port}", "TASKS_BACKEND": "database"}
    seeded = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    hosts = json.loads(seeded.stdout.strip().splitlines()[-1])
    proc, base = start_gunicorn(env, workers=4)
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--interval",
            "0.1",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run = Soak(base, hosts)
        rate = run.run()
        load_done = time.monotonic()
        # The worker drains its queue after the load stops; a mail counts as lost only when
        # nothing has arrived for 30 s and it still has not come.
        received, quiet_since = -1, time.monotonic()
        while sum(mailbox.keys.values()) < run.expected_mails:
            now_received = sum(mailbox.keys.values())
            if now_received != received:
                received, quiet_since = now_received, time.monotonic()
            elif time.monotonic() - quiet_since > 30:
                break
            time.sleep(0.5)
        drain = time.monotonic() - load_done
        time.sleep(2)
    finally:
        stop(worker)
        stop(proc)
        controller.stop()
    samples = sorted(run.latencies)
    p50 = samples[len(samples) // 2]
    p99 = samples[int(len(samples) * 0.99) - 1]
    errors = sum(run.errors.values())
    received = sum(mailbox.keys.values())
    # What the service itself recorded: each message the SMTP server accepted, per booking,
    # and each booking's delivery state. A change superseded before its mail went out (booked,
    # then cancelled while the invite was queued) rightly sends only the newer message.
    ledger = json.loads(
        subprocess.run(
            [sys.executable, "-c", LEDGER],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    twice = sum(count - 1 for count in mailbox.keys.values() if count > 1)
    twice += max(0, received - ledger["recorded"])
    lost = ledger["undelivered"] + max(0, ledger["recorded"] - received)
    record(
        f"two-minute mixed soak [{label}]",
        f"{rate:.1f} req/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms, {errors} errors"
        + (f" ({dict(run.errors)})" if errors else "")
        + f"; mails {received} received ({run.expected_mails} changes made),"
        f" {lost} lost, {twice} twice (queue drained {drain:.0f} s after the load)",
        "60 req/s, p99 ≤ 250 ms, 0 errors, 0 lost or duplicated mails",
        rate >= 59 and p99 <= 250 and errors == 0 and lost == 0 and twice == 0,
    )
