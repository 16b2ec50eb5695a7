"""Proven, not assumed (SPEC §11): nginx (deploy/nginx/booking.conf) in front of two gunicorn
servers and two db_workers on one database and one Redis.

- 40 bookings racing for one slot through both servers give one booking;
- a worker killed with kill -9 mid-send loses and repeats nothing (the other worker sends it
  after the lease);
- the address nginx forwards drives the rate limit.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from requests.adapters import HTTPAdapter

from scheduler.models import Booking, Delivery
from tests.factory import make_account, make_profile, make_token
from tests.fixtures.servers import (
    ROOT,
    free_port,
    server_env,
    start_gunicorn,
    stop,
    wait_for_http,
)
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx" / "booking.conf"
REDIS_URL = "redis://127.0.0.1:6379/3"
RATE_LIMIT = 3
ALL_DAY = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": d, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}


class _Smtp:
    """Accepts mail; `stall_next` makes the next RCPT hang (a send cut off mid-conversation,
    before the server accepted anything)."""

    def __init__(self) -> None:
        self.server = SmtpServer()
        self.messages = self.server.messages
        self.stall_next = False
        self.stalled = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.stall_next:
            self.stall_next = False
            self.stalled.set()
            await asyncio.sleep(120)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"


def _nginx_conf(tmp: Path, port: int, upstreams: list[str]) -> Path:
    """The shipped site file with this test's ports, inside a minimal main configuration."""
    site = SITE.read_text()
    servers = "".join(f"    server {u} max_fails=0;\n" for u in upstreams)
    site = re.sub(
        r"(upstream booking_app \{\n)(?:\s*#[^\n]*\n)*(?:\s*server [^\n]*\n)+",
        r"\1" + servers,
        site,
    )
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / name).mkdir()
        (tmp / name).chmod(0o777)
    (tmp / "site.conf").write_text(site)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""
    )
    return conf


def _worker(env: dict[str, str], name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--interval",
            "0.2",
            "--no-startup-delay",
            "--worker-id",
            name,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def cluster(transactional_db, tmp_path):
    from django.db import connection

    redis.Redis.from_url(REDIS_URL).flushdb()
    smtp = _Smtp()
    controller = Controller(smtp, hostname=smtp.server.host, port=smtp.server.port, ready_timeout=5)
    controller.start()
    env = server_env(
        connection.settings_dict["NAME"],
        TASKS_BACKEND="database",
        CACHE_URL=REDIS_URL,
        TRUSTED_PROXIES="127.0.0.1/32",
        PUBLIC_BOOKING_RATE_LIMIT=str(RATE_LIMIT),
        EMAIL_URL=f"smtp://{smtp.server.host}:{smtp.server.port}",
        EMAIL_TIMEOUT="180",
        TASK_LEASE_SECONDS="3",
        WORKER_PERIODIC_CHECK_SECONDS="0.5",
    )
    processes: list[subprocess.Popen] = []
    try:
        bases = []
        for _ in range(2):
            proc, base = start_gunicorn(env, workers=2)
            processes.append(proc)
            bases.append(base.removeprefix("http://"))
        port = free_port()
        nginx = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", str(_nginx_conf(tmp_path, port, bases))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(nginx)
        proxy = f"http://127.0.0.1:{port}"
        wait_for_http(proxy + "/v1/openapi.json")
        workers = {name: _worker(env, name) for name in ("node-a", "node-b")}
        processes.extend(workers.values())
        yield {"proxy": proxy, "servers": bases, "smtp": smtp, "workers": workers}
    finally:
        for proc in reversed(processes):
            stop(proc)
        controller.stop()


def _slot(base: str, token: str, profile_id: int, index: int = 3) -> dict:
    answer = requests.get(
        f"{base}/v1/book/account/profiles/{profile_id}/meeting?limit={index + 1}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["items"][index]


def test_racing_bookings_through_both_servers_give_one_booking(cluster):
    account = make_account()
    token = make_token(account)
    profile = make_profile(account, work_hours=ALL_DAY, start_after_minutes=0)
    slot = _slot(cluster["proxy"], token, profile.pk)
    racers = 40
    barrier = threading.Barrier(racers)

    def book(_: int) -> int:
        barrier.wait(timeout=30)
        answer = requests.post(
            f"{cluster['proxy']}/v1/book/account/profiles/{profile.pk}/meeting",
            json={"time": slot, "schedulerInfo": {"name": "Racer"}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=racers) as pool:
        statuses = Counter(pool.map(book, range(racers)))
    assert statuses == Counter({201: 1, 409: racers - 1})
    assert Booking.objects.filter(account=account).count() == 1


def test_a_worker_killed_mid_send_loses_and_repeats_nothing(cluster):
    smtp, workers = cluster["smtp"], cluster["workers"]
    account = make_account(email="host@example.com")
    token = make_token(account)
    profile = make_profile(account, work_hours=ALL_DAY, start_after_minutes=0)
    smtp.stall_next = True
    made = requests.post(
        f"{cluster['proxy']}/v1/book/account/profiles/{profile.pk}/meeting",
        json={
            "time": _slot(cluster["proxy"], token, profile.pk),
            "schedulerInfo": {"name": "Bea", "email": "bea@example.com"},
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    assert smtp.stalled.wait(timeout=30), "no worker started sending"
    booking = Booking.objects.get(pk=int(made.json()["id"]))
    # The worker stuck in the send is the one whose id the task records; kill it hard.
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.get(task_path__endswith=".deliver_mail")
    stuck = task.worker_ids[-1]
    os.kill(workers[stuck].pid, signal.SIGKILL)
    workers[stuck].wait(timeout=10)

    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if Booking.objects.get(pk=booking.pk).mail_state == Delivery.DONE:
            break
        time.sleep(0.2)
    assert Booking.objects.get(pk=booking.pk).mail_state == Delivery.DONE
    time.sleep(2)  # a repeat, if there were one, would arrive now
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == [
        "bea@example.com",
        "host@example.com",
    ]
    other = next(name for name in workers if name != stuck)
    assert DBTaskResult.objects.get(pk=task.pk).worker_ids[-1] == other


class _FromAddress(HTTPAdapter):
    """Connects from a chosen loopback address, as another client machine would."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _client(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def test_the_address_nginx_forwards_drives_the_rate_limit(cluster):
    account = make_account(handle="ada")
    make_profile(account, name="intro", work_hours=ALL_DAY)
    url = f"{cluster['proxy']}/v1/book/ada/intro/meeting"
    junk = {"time": {"start": "2030-01-07T09:00:00Z", "end": "2030-01-07T09:01:00Z"}}
    spammer, neighbour = _client("127.0.0.2"), _client("127.0.0.3")
    # A forged X-Forwarded-For is overwritten by nginx: it cannot dodge the limit.
    statuses = [
        spammer.post(url, json=junk, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
        for n in range(RATE_LIMIT + 1)
    ]
    assert statuses[:RATE_LIMIT] == [409] * RATE_LIMIT and statuses[-1] == 429
    # Another client, through the same proxy and the other server, is not limited.
    assert neighbour.post(url, json=junk).status_code == 409
    assert spammer.post(url, json=junk).status_code == 429  # on both servers: Redis is shared
