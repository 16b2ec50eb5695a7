"""System checks of this site's own production rules (shown by `manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# Backends whose data lives in one process: each gunicorn worker would count rate limits and
# keep cached copies of its own, so limits multiply by the number of processes.
PER_PROCESS_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """With DEBUG off, the default cache must be one every process shares (SPEC §11)."""
    if settings.DEBUG:
        return []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in PER_PROCESS_CACHES:
        return []
    return [
        Error(
            f"The default cache ({backend.rsplit('.', 1)[-1]}) lives in one process, so rate "
            "limits and cached calendar copies are not shared between processes.",
            hint="Set CACHE_URL to a cache every process shares: redis://host:6379/1, or "
            "dbcache://cache_table after `python manage.py createcachetable`.",
            id="scheduler.E001",
        )
    ]
