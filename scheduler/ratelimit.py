"""Who the client is, and per-client counters in the Django cache (SPEC §11).

The client address is REMOTE_ADDR unless that is one of `TRUSTED_PROXIES`; then it is the
rightmost `X-Forwarded-For` address that is not itself a trusted proxy. Counters live in the
Django cache, so every app process shares them (Redis or the database cache in production).
A fixed window: simple, one cache round trip per hit, and a burst at a window edge is at most
twice the limit, which is fine for spam control.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Public bookings: the API's POST /v1/book/{handle}/{name}/meeting and the booking page's POST
# share this scope, so one bucket per (client address, profile) counts both channels.
BOOKING = "public-booking"
# The invitee's reschedule page: its own bucket per (client address, profile), so moving a
# booking does not use up the booking budget, nor junk bookings block a reschedule.
RESCHEDULE = "public-reschedule"

_PLAIN_KEY = re.compile(r"[0-9A-Za-z.:%_-]{1,64}")


def _address(text: str) -> Address | None:
    """An IP address, or None for anything else; IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted_proxies() -> tuple[Network, ...]:
    """`settings.TRUSTED_PROXIES` as networks. Settings parse the environment at start-up;
    this also takes strings (a comma-separated one or a list), as tests override it."""
    value: str | Iterable[str | Network] = getattr(settings, "TRUSTED_PROXIES", ())
    items = value.split(",") if isinstance(value, str) else value
    networks: list[Network] = []
    for item in items:
        if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
            networks.append(item)
        elif str(item).strip():
            try:
                networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
            except ValueError:
                raise ImproperlyConfigured(
                    f"TRUSTED_PROXIES={value!r}: {item!r} is not an IP network"
                ) from None
    return tuple(networks)


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address in network for network in proxies)


def client_ip(request: HttpRequest) -> str:
    """The client's address (rate limits, logs).

    REMOTE_ADDR, unless it is inside a `TRUSTED_PROXIES` network: then `X-Forwarded-For` is
    walked from the right past trusted proxies, and the first address that is not trusted is
    the client. An entry that is not an IP address stops the walk, as does the end of the
    header; when no untrusted address was reached, the client is REMOTE_ADDR. A forged header
    from anyone but a trusted proxy has no effect.
    """
    remote = (request.META.get("REMOTE_ADDR") or "").strip()
    peer = _address(remote)
    if peer is None:
        return remote or "unknown"
    proxies = trusted_proxies()
    if not _trusted(peer, proxies):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR") or ""
    for entry in reversed(forwarded.split(",")):
        hop = _address(entry)
        if hop is None:
            break
        if not _trusted(hop, proxies):
            return str(hop)
    return str(peer)


def _key_part(text: str) -> str:
    """`text` as it is when it is a safe cache-key part (any IP address is), else a digest."""
    if _PLAIN_KEY.fullmatch(text):
        return text
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def hit(scope: str, client: str, limit: int, window_seconds: int = 3600) -> int | None:
    """Count one hit of `client` in `scope`; None while within `limit` hits per window,
    else the seconds until the window ends (the Retry-After value). A limit of 0 or less
    refuses every hit."""
    now = time.time()
    bucket = int(now // window_seconds)
    key = f"ratelimit:{scope}:{_key_part(client)}:{bucket}"
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


def attempt(scope: str, request: HttpRequest, profile_id: int) -> int | None:
    """Count one public attempt (BOOKING or RESCHEDULE) by this request's client on one
    profile: every attempt counts, whatever its outcome. None while within
    `PUBLIC_BOOKING_RATE_LIMIT` per hour for this (client address, profile), else the
    Retry-After seconds."""
    client = client_ip(request)
    return hit(f"{scope}:{profile_id}", client, settings.PUBLIC_BOOKING_RATE_LIMIT)
