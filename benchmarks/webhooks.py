"""A hanging webhook receiver leaves bookings as fast as they were (DESIGN.md: "booking while a
webhook receiver hangs — p95 unchanged").

Through gunicorn with the database task backend and a real `db_worker` beside it, one host
books in blocks: without a webhook, then with a webhook to a loopback receiver that never
answers (it holds every request for longer than WEBHOOK_TIMEOUT_SECONDS, so the worker spends
its time waiting on it), and so on in turn. A booking only stores its message and queues the
delivery; the two p95s are printed side by side.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5
BLOCK = 30  # bookings in a row without the hook, then as many with it
WARM_UP = 10
HANG_SECONDS = 30.0

# One host whose profile is open around the clock for 90 days on a 15-minute step: plenty of
# slots that do not overlap, so every booking succeeds.
SEED = r"""
import json
import django
django.setup()
from scheduler.models import Account, ApiToken, Profile
days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
hours = {"timezone": "UTC", "daySchedules": [
    {"dayOfWeek": d, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
    for d in days]}
acc = Account.objects.create(handle="hookhost", name="Hook Host", email="hook@example.com")
_, token = ApiToken.issue(acc, "bench")
p = Profile.objects.create(account=acc, name="intro", availability_step=15,
                           time_available_for="P90D", start_after_minutes=0, work_hours=hours,
                           subject="Intro with {{name}}")
print(json.dumps({"token": token, "profile": p.id}))
"""


class HangingReceiver:
    """A loopback webhook receiver that answers nothing for HANG_SECONDS; counts requests."""

    def __init__(self) -> None:
        self.requests = 0
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                receiver.requests += 1
                receiver.release.wait(HANG_SECONDS)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(int(len(samples) * 0.95) - 1, 0)]


def figure(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples):.1f} ms, p95 {p95(samples):.1f} ms"


def _apart(items: list[dict], n: int) -> list[dict]:
    picks, last_end = [], ""
    for item in items:
        if item["start"] >= last_end and len(picks) < n:
            picks.append(item)
            last_end = item["end"]
    return picks


def _book(session: requests.Session, url: str, slots: list[dict]) -> list[float]:
    samples = []
    for slot in slots:
        body = {
            "time": {"start": slot["start"], "end": slot["end"]},
            "schedulerInfo": {"name": "Bench", "email": "bench-invitee@example.com"},
        }
        began = time.perf_counter()
        answer = session.post(url, json=body, timeout=60)
        samples.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 201, answer.text
    return samples


def measure(
    label: str,
    env: dict[str, str],
    start_gunicorn: Callable,
    stop: Callable,
    record: Callable[[str, str, str, bool], None],
) -> None:
    """Seed the (migrated) database of `env`, serve it with a worker beside, and record the
    booking p95 without a webhook and with one whose receiver hangs."""
    env = {**env, "TASKS_BACKEND": "database", "ALLOW_PRIVATE_CALENDAR_URLS": "true"}
    seeded = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if seeded.returncode:
        raise RuntimeError(f"seeding the webhook host failed:\n{seeded.stderr[-3000:]}")
    ids = json.loads(seeded.stdout.strip().splitlines()[-1])
    receiver = HangingReceiver()
    proc, base = start_gunicorn(env, workers=4)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {ids['token']}"
        meeting = f"{base}/v1/book/account/profiles/{ids['profile']}/meeting"
        items = s.get(meeting, params={"limit": 1000}, timeout=60).json()["items"]
        slots = iter(_apart(items, WARM_UP + 2 * ROUNDS * BLOCK))
        _book(s, meeting, [next(slots) for _ in range(WARM_UP)])  # every gunicorn worker
        made = s.post(
            f"{base}/v1/book/account/webhooks",
            json={"url": receiver.url, "events": ["booking.created"], "active": False},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        hook = f"{base}/v1/book/account/webhooks/{made.json()['id']}"
        # Blocks without and with the hook in turn, so a change in the machine's load
        # (another process, the database growing) weighs on both series alike.
        plain: list[float] = []
        hooked: list[float] = []
        for _ in range(ROUNDS):
            plain += _book(s, meeting, [next(slots) for _ in range(BLOCK)])
            s.patch(hook, json={"active": True}, timeout=30).raise_for_status()
            hooked += _book(s, meeting, [next(slots) for _ in range(BLOCK)])
            s.patch(hook, json={"active": False}, timeout=30).raise_for_status()
        calls = receiver.requests
    finally:
        receiver.stop()
        stop(worker)
        stop(proc)
    unchanged = p95(hooked) <= max(p95(plain) * 1.25, p95(plain) + 5)
    record(
        f"POST …/meeting while a webhook receiver hangs, a worker running [{label}]",
        f"webhook off: {figure(plain)} | on, its receiver hanging: {figure(hooked)} "
        f"({calls} call(s) to the receiver left hanging)",
        "p95 unchanged (within 25 % or 5 ms)",
        unchanged and calls > 0,
    )


def bench(
    label: str,
    database_url: str | None,
    base_env: Callable[[str], dict[str, str]],
    start_gunicorn: Callable,
    stop: Callable,
    record: Callable[[str, str, str, bool], None],
) -> None:
    """`measure` on a fresh, migrated database: `database_url` (an empty PostgreSQL database)
    or, when None, a throw-away SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        env = base_env(database_url or f"sqlite:///{tmp}/webhooks.sqlite3")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        measure(label, env, start_gunicorn, stop, record)


if __name__ == "__main__":
    # `python benchmarks/webhooks.py`: this figure alone, on SQLite.
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import base_env, record
    from tests.fixtures.servers import start_gunicorn
    from tests.fixtures.servers import stop as stop_process

    bench("SQLite", None, base_env, start_gunicorn, stop_process, record)
