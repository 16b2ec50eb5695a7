"""Per-client counters in the Django cache, so every app process shares them (Redis in
production). A fixed window: simple, one cache round trip per hit, and a burst at a window
edge is at most twice the limit, which is fine for spam control."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR; a proxy in front must set it (forwarded headers are forgeable)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def hit(scope: str, client: str, limit: int, window_seconds: int = 3600) -> int | None:
    """Count one hit of `client` in `scope`; None while within `limit` hits per window,
    else the seconds until the window ends (the Retry-After value)."""
    now = time.time()
    bucket = int(now // window_seconds)
    key = f"ratelimit:{scope}:{client}:{bucket}"
    # add() is atomic and only sets a missing key, so concurrent first hits do not reset it.
    cache.add(key, 0, timeout=window_seconds + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add() and incr()
        cache.set(key, 1, timeout=window_seconds + 60)
        count = 1
    if count <= limit:
        return None
    return max(1, int((bucket + 1) * window_seconds - now))
