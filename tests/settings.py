"""Test settings: the real settings module with test-friendly environment defaults."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("TASKS_BACKEND", "immediate")
os.environ.setdefault("SITE_URL", "http://testserver")

from booking_site.settings import *  # noqa: E402,F403

ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
SECURE_SSL_REDIRECT = False

# Parallel runs on one machine (several developers, xdist) must not share a test database.
_suffix = os.environ.get("TEST_DB_SUFFIX", "")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db{_suffix}.sqlite3")}  # noqa: F405
else:
    _base = DATABASES["default"]["NAME"]  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_{_base}{_suffix}"}  # noqa: F405
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405  (WhiteNoise warns about a missing folder)
