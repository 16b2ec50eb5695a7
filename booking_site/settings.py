"""Settings, read only from the environment (and an optional `.env` beside manage.py)."""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _strict_bool(name: str, default: bool) -> bool:
    """A boolean that must be spelled as one; `DEBUG=yes please` stops the process."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false")


env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = _strict_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and os.environ.get("SECRET_KEY_FILE"):
    SECRET_KEY = Path(os.environ["SECRET_KEY_FILE"]).read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) in the environment or "
            ".env, or set DEBUG=true for a development-only default."
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    # Admin login throttling (SPEC §11): failed logins per username, in the database.
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Before django_tasks_db, so its `db_worker` command is ours (a worker that survives
    # database errors and runs the periodic jobs).
    "scheduler",
    "django_tasks",
    "django_tasks_db",
    # Listed so /v1/docs loads ninja's bundled Swagger UI from our static files, not a CDN.
    "ninja",
    "corsheaders",
]

MIDDLEWARE = [
    # CORS on the public meeting endpoints (CORS_URLS_REGEX): first, so it answers preflights
    # itself and its headers reach every answer there, the API's own 413/415/429 included.
    "corsheaders.middleware.CorsMiddleware",
    # Outermost but CORS, so it also sees CommonMiddleware's APPEND_SLASH redirects on /v1/.
    "scheduler.api.middleware.JsonApiErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every HTML page; no-store on a booking's token pages.
    "scheduler.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Where Django's LocaleMiddleware goes (after sessions, before common): the visitor's
    # language (`?lang=`, its cookie, Accept-Language) and clock (`?clock=12|24`), SPEC §10.
    "scheduler.localize.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused admin login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "booking_site.urls"
WSGI_APPLICATION = "booking_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes writers queue on the database lock instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # Keep server connections open between requests (no TCP and auth handshake per request);
    # a connection that died meanwhile is replaced before it is used. SQLite opens a file,
    # which costs nothing worth keeping, and keeps its connections per request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Booking <booking@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# MAIL_DIR: write each message to a file there instead (`make run` sets var/mail).
MAIL_DIR = env.str("MAIL_DIR", default="")
if MAIL_DIR:
    EMAIL_BACKEND = "booking_site.mail.FileEmailBackend"
    EMAIL_FILE_PATH = MAIL_DIR

TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
if TASKS_BACKEND not in {"database", "immediate"}:
    raise ImproperlyConfigured(f"TASKS_BACKEND={TASKS_BACKEND!r}: use database or immediate")
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_db.DatabaseBackend"
            if TASKS_BACKEND == "database"
            else "django_tasks.backends.immediate.ImmediateBackend"
        ),
        "QUEUES": ["default"],
    }
}

# A task whose worker died (kill -9, out of memory) runs again after this long.
TASK_LEASE_SECONDS = env.int("TASK_LEASE_SECONDS", default=300)
# Finished task rows are pruned after this many days (the outcome is kept on the booking).
TASK_RETENTION_DAYS = env.int("TASK_RETENTION_DAYS", default=7)
# How often workers look for periodic jobs that are due, and read calendars ahead of need.
WORKER_PERIODIC_CHECK_SECONDS = env.float("WORKER_PERIODIC_CHECK_SECONDS", default=5.0)
PERIODIC_REFRESH_SECONDS = env.int("PERIODIC_REFRESH_SECONDS", default=60)


# Notifications (SPEC §9).
def _delays(name: str, default: str) -> list[float]:
    text = env.str(name, default=default)
    try:
        delays = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        delays = [-1.0]
    if any(d < 0 for d in delays):
        raise ImproperlyConfigured(f"{name}={text!r}: use comma-separated seconds, e.g. {default}")
    return delays


# One attempt, then one retry after each of these delays (seconds).
WEBHOOK_RETRY_DELAYS = _delays("WEBHOOK_RETRY_DELAYS", "5,300,1800,7200,18000,36000")
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# How long a public booking waits for the invitee to confirm their address.
VERIFICATION_HOLD_MINUTES = env.int("VERIFICATION_HOLD_MINUTES", default=15)
# Cancellations the bookings feed keeps showing (STATUS:CANCELLED).
FEED_CANCELLED_DAYS = 30
FEED_FREEBUSY_DAYS = 90

CALENDAR_REFRESH_SECONDS = env.int("CALENDAR_REFRESH_SECONDS", default=300)
ALLOW_PRIVATE_CALENDAR_URLS = _strict_bool("ALLOW_PRIVATE_CALENDAR_URLS", False)
CALENDAR_MAX_BYTES = env.int("CALENDAR_MAX_BYTES", default=10 * 1024 * 1024)
CALENDAR_TIMEOUT_SECONDS = env.float("CALENDAR_TIMEOUT_SECONDS", default=10.0)
CONFERENCE_URL_TEMPLATE = env.str("CONFERENCE_URL_TEMPLATE", default="https://meet.jit.si/{uid}")
PUBLIC_BOOKING_RATE_LIMIT = env.int("PUBLIC_BOOKING_RATE_LIMIT", default=10)  # per hour


def _networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs (a bare address is a /32 or /128); a bad one stops the process."""
    raw = os.environ.get(name, "")
    networks = []
    for part in raw.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ImproperlyConfigured(
                    f"{name}={raw!r}: {part.strip()!r} is not an IP network; "
                    "use comma-separated CIDRs such as 10.0.0.0/8,2001:db8::/32"
                ) from None
    return tuple(networks)


# Reverse proxies whose X-Forwarded-For names the client (SPEC §11); none by default, so the
# client is REMOTE_ADDR. Rate limits count per client address (scheduler/ratelimit.py).
TRUSTED_PROXIES = _networks("TRUSTED_PROXIES")
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Admin login throttling (SPEC §11 "Details"): 10 failed logins for one username within 15
# minutes refuse that username, from every address and even with the right password, for
# 15 minutes; other usernames are unaffected. Counted by django-axes in the database, so every
# process and host shares the count.
AUTHENTICATION_BACKENDS = [
    "scheduler.security.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Attempts refused during a lockout do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "scheduler.ratelimit.client_ip"  # recorded, not counted
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not recorded
AXES_VERBOSE = False
# axes.W006 asks to lock out by address as well; SPEC counts per username only, so a visitor
# sharing an attacker's address (an office, a carrier's NAT) can still log in.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The site's language (host notices, admin, API): English without a region, written the
# site's way ("Friday 4 January 2030, 15:30"); en-US visitors get 12-hour times.
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Pages and the invitee's mail speak these (SPEC §10).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
# Compiled by `make install` (compilemessages); the .mo files are not committed.
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Not the manifest variant: pages render even before `collectstatic` has run.
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# Once `collectstatic` has run, serve its copy: it carries the compressed variants that the
# apps' own folders lack. Before that (and in development) read the apps' folders directly.
WHITENOISE_USE_FINDERS = _strict_bool(
    "STATIC_USE_FINDERS", DEBUG or not (STATIC_ROOT / "admin").is_dir()
)

# Production hardening; each can be relaxed from the environment for plain-HTTP installs.
SECURE_SSL_REDIRECT = _strict_bool(
    "SECURE_SSL_REDIRECT", not DEBUG and SITE_URL.startswith("https")
)
SESSION_COOKIE_SECURE = _strict_bool("SESSION_COOKIE_SECURE", SITE_URL.startswith("https"))
CSRF_COOKIE_SECURE = _strict_bool("CSRF_COOKIE_SECURE", SITE_URL.startswith("https"))
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _strict_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _strict_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if _strict_bool("BEHIND_HTTPS_PROXY", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Only `?embed=1` pages of an account with `embedOrigins` may be framed, by those origins
# (scheduler/embed.py; CSP frame-ancestors). Their forms carry a signed token instead of
# relying on the CSRF cookie, which a cross-site frame does not get (SameSite=Lax, and
# browsers block third-party cookies): the cookies stay Lax.
EMBED_FORM_TOKEN_SECONDS = env.int("EMBED_FORM_TOKEN_SECONDS", default=2 * 3600)
# CORS (SPEC §10): browsers on any origin may call the public meeting endpoints, without
# credentials; the account and group endpoints answer no CORS at all.
CORS_URLS_REGEX = r"^/v1/book/(?!account/|group/)[^/]+/[^/]+/meeting$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS", "POST"]
CORS_ALLOW_HEADERS = ["accept", "accept-language", "content-type"]
CORS_EXPOSE_HEADERS = ["Retry-After"]
# Sent with every HTML response (scheduler/security.py). No page has an inline script or
# style; `data:` images are the empty favicon and Swagger UI's icons.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    ),
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # Records that propagate up from `django.*` skip the root's level; the handler's holds.
            "level": env.str("LOG_LEVEL", default="WARNING"),
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
