"""Settings come from the environment and refuse bad values at start-up.

Each case starts a fresh Python with a clean environment, because settings are read once
per process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DUMP = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "ENGINE": db["ENGINE"],
    "NAME": str(db["NAME"]),
    "OPTIONS": db.get("OPTIONS", {}),
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "SITE_URL": settings.SITE_URL,
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "EMAIL_BACKEND": settings.EMAIL_BACKEND,
    "DEFAULT_FROM_EMAIL": settings.DEFAULT_FROM_EMAIL,
    "TASKS": settings.TASKS["default"]["BACKEND"],
    "CALENDAR_REFRESH_SECONDS": settings.CALENDAR_REFRESH_SECONDS,
    "ALLOW_PRIVATE_CALENDAR_URLS": settings.ALLOW_PRIVATE_CALENDAR_URLS,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
}))
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir()}
    clean["DJANGO_SETTINGS_MODULE"] = "booking_site.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_with(**env: str) -> dict:
    result = run_python(DUMP, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_missing_secret_key_without_debug_refuses_to_start():
    result = run_python("import django; django.setup()")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_is_a_strict_boolean():
    result = run_python("import django; django.setup()", DEBUG="maybe", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean; use true or false" in result.stderr
    assert settings_with(DEBUG="false", SECRET_KEY="k")["DEBUG"] is False
    assert settings_with(DEBUG="True", SECRET_KEY="k")["DEBUG"] is True


def test_debug_without_secret_key_uses_a_development_key():
    assert settings_with(DEBUG="true")["SECRET_KEY"].startswith("dev-only")


def test_secret_key_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file-" + "k" * 40 + "\n")
    assert settings_with(SECRET_KEY_FILE=str(secret))["SECRET_KEY"] == "from-a-file-" + "k" * 40


def test_defaults():
    found = settings_with(SECRET_KEY="k")
    assert found["DEBUG"] is False
    assert found["ENGINE"] == "django.db.backends.sqlite3"
    assert found["NAME"] == str(ROOT / "db.sqlite3")
    assert found["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert found["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
    assert found["SITE_URL"] == "http://127.0.0.1:8000"
    assert found["CACHE"] == "django.core.cache.backends.locmem.LocMemCache"
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert found["DEFAULT_FROM_EMAIL"] == "Booking <booking@localhost>"
    assert found["TASKS"] == "django_tasks_db.DatabaseBackend"
    assert found["CALENDAR_REFRESH_SECONDS"] == 300
    assert found["ALLOW_PRIVATE_CALENDAR_URLS"] is False
    assert found["SECURE_SSL_REDIRECT"] is False


def test_values_from_the_environment():
    found = settings_with(
        SECRET_KEY="k",
        DATABASE_URL="postgres://booking:pw@db.internal:5432/booking",
        ALLOWED_HOSTS="book.example.com,www.example.com",
        SITE_URL="https://book.example.com/",
        CACHE_URL="redis://cache.internal:6379/1",
        EMAIL_URL="smtp+tls://user:pw@smtp.example.com:587",
        TASKS_BACKEND="immediate",
        CALENDAR_REFRESH_SECONDS="60",
        ALLOW_PRIVATE_CALENDAR_URLS="true",
    )
    assert found["ENGINE"] == "django.db.backends.postgresql"
    assert "transaction_mode" not in found["OPTIONS"]
    assert found["ALLOWED_HOSTS"] == ["book.example.com", "www.example.com"]
    assert found["SITE_URL"] == "https://book.example.com"
    assert found["SECURE_SSL_REDIRECT"] is True and found["SESSION_COOKIE_SECURE"] is True
    assert found["CACHE"] == "django.core.cache.backends.redis.RedisCache"
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert found["TASKS"] == "django_tasks.backends.immediate.ImmediateBackend"
    assert found["CALENDAR_REFRESH_SECONDS"] == 60
    assert found["ALLOW_PRIVATE_CALENDAR_URLS"] is True


def test_unknown_tasks_backend_refuses_to_start():
    result = run_python("import django; django.setup()", SECRET_KEY="k", TASKS_BACKEND="celery")
    assert result.returncode != 0 and "TASKS_BACKEND='celery'" in result.stderr


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "SITE_URL": "https://book.example.com",
        "ALLOWED_HOSTS": "book.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        # A cache every process shares; a per-process one is an error (tests/test_security.py).
        "CACHE_URL": "redis://127.0.0.1:6379/1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
    }
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
