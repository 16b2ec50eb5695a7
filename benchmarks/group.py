"""Group booking (SPEC §8) figures of DESIGN.md: availability of a group profile whose 10
hosts each have 1,000 busy events over 90 days, and a group booking, through gunicorn with an
app key (HTTP Basic `clientId:secret`)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 10
EVENTS = 1000
DAYS = 90
BOOKINGS = 50

# Two group profiles over the same 10 hosts (each attached account one unit), both with the
# default week (Monday–Friday 09:00–17:00 in the organization's zone), 30-minute meetings on a
# 15-minute step, 90 days ahead. Busy events land at any hour of any day, 15 or 30 minutes
# long (~11 a day per host), on each host's builtin primary calendar.
SEED = (
    r"""
import json, random
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from scheduler.models import Account, AppKey, Event, Organization, Profile
from scheduler.services import groups
now = timezone.now().replace(second=0, microsecond=0)
org = Organization.objects.create(handle="benchteam", name="Bench Team",
                                  timezone="America/New_York")
_, credential = AppKey.issue(org, "bench")
rng = random.Random(5)
hosts = []
for n in range(HOSTS):
    acc = Account.objects.create(handle=f"teamhost{n}", name=f"Team Host {n}",
                                 email=f"teamhost{n}@example.com", timezone="America/New_York",
                                 organization=org)
    cal = acc.primary_calendar()
    events = []
    for i in range(EVENTS):
        s = now + timedelta(minutes=5 * rng.randint(0, DAYS * 288))
        events.append(Event(calendar=cal, uid=f"team{n}-{i}", summary="Busy", start=s,
                            end=s + timedelta(minutes=rng.choice([15, 30]))))
    Event.objects.bulk_create(events, batch_size=500)
    hosts.append(acc)
out = {"credential": credential}
for required in ("all", "one"):
    p = Profile.objects.create(organization=org, name=f"team-{required}", required=required,
                               availability_step=15, time_available_for="P90D",
                               subject="Team meeting with {{name}}")
    groups.attach_accounts(p, [acc.pk for acc in hosts])
    out[required] = p.id
print(json.dumps(out))
""".replace("HOSTS", str(HOSTS))
    .replace("EVENTS", str(EVENTS))
    .replace("DAYS", str(DAYS))
)


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(int(len(samples) * 0.95) - 1, 0)]


def figure(samples: list[float]) -> str:
    return f"p50 {p50(samples):.1f} ms, p95 {p95(samples):.1f} ms, n={len(samples)}"


def timed_gets(session: requests.Session, url: str, n: int) -> tuple[list[float], dict]:
    samples, body = [], {}
    for _ in range(n):
        t = time.perf_counter()
        r = session.get(url, timeout=60)
        samples.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        body = r.json()
    return samples, body


def apart(items: list[dict], n: int) -> list[dict]:
    """Up to `n` slots, none overlapping another, spread over the whole list. The first is
    left out: the clock may pass its start's notice before it is booked."""
    picks, last_end = [], ""
    stride = max(len(items) // (2 * n), 1)
    for item in items[1::stride]:
        if item["start"] >= last_end and len(picks) < n:
            picks.append(item)
            last_end = item["end"]
    return picks


def timed_bookings(session: requests.Session, url: str, slots: list[dict]) -> list[float]:
    samples = []
    for slot in slots:
        body = {
            "time": {"start": slot["start"], "end": slot["end"]},
            "schedulerInfo": {"name": "Bench", "email": "bench-invitee@example.com"},
        }
        t = time.perf_counter()
        r = session.post(url, json=body, timeout=60)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 201, r.text
    return samples


def bench(
    label: str,
    env: dict[str, str],
    start_gunicorn: Callable,
    stop: Callable,
    record: Callable[[str, str, str, bool], None],
    rounds: int = 100,
) -> None:
    """Seed the team into the (migrated) database of `env`, serve it, print the figures."""
    done = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"seeding the team failed:\n{done.stderr[-3000:]}")
    ids = json.loads(done.stdout.strip().splitlines()[-1])
    proc, base = start_gunicorn(env, workers=4)
    try:
        s = requests.Session()
        s.auth = tuple(ids["credential"].split(":", 1))
        urls = {r: f"{base}/v1/book/group/profiles/{ids[r]}/meeting" for r in ("all", "one")}
        answers = {}
        for required in ("all", "one"):
            timed_gets(s, urls[required], 10)  # warm-up: every worker
            samples, answers[required] = timed_gets(s, urls[required], rounds)
            record(
                f"group GET …/meeting, required={required}, {HOSTS} hosts × {EVENTS:,} busy "
                f"events, 90 d ({answers[required]['totalSize']} slots) [{label}]",
                figure(samples),
                "p50 ≤ 40 ms",
                p50(samples) <= 40,
            )
        # Bookings, each a different free slot: under `one` (round robin picks one host),
        # then under `all` (every host attends) from the availability left after those.
        samples = timed_bookings(s, urls["one"], apart(answers["one"]["items"], BOOKINGS))
        record(
            f"group POST …/meeting, required=one (mail and calendar deferred) [{label}]",
            figure(samples),
            "p50 ≤ 40 ms",
            p50(samples) <= 40,
        )
        items = s.get(urls["all"], timeout=60).json()["items"]
        samples = timed_bookings(s, urls["all"], apart(items, BOOKINGS))
        record(
            f"group POST …/meeting, required=all, {HOSTS} attendees each [{label}]",
            figure(samples),
            "p50 ≤ 40 ms",
            p50(samples) <= 40,
        )
    finally:
        stop(proc)
