"""Refusing calendar URLs that point into the server's own network (SSRF).

A calendar URL is supplied by an account holder, and the service fetches it from inside the
operator's network, so a URL naming loopback, a private range or the cloud metadata address
(169.254.169.254) would let a user read internal services. Every address the host resolves to
is checked, because an attacker controls their own DNS. The check runs when a calendar is added
and again before every read and every redirect (DNS answers can change between creation and
fetch), and it returns the addresses it approved: `scheduler.calendars.net` connects to exactly
those, so a second DNS answer (rebinding) never decides where a request goes.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")


class LookupTimedOut(ValueError):
    """The host name did not resolve within the time allowed (a `url:` error, like a refusal)."""


def _is_forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 reaches 127.0.0.1; 64:ff9b::/96 (NAT64) and 6to4 can wrap one too.
        if address.ipv4_mapped is not None:
            return _is_forbidden(address.ipv4_mapped)
        if address.sixtofour is not None:
            return _is_forbidden(address.sixtofour)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValueError(f"url: host {host!r} does not resolve ({exc})") from exc
    found: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in found:
            found.append(address)
    return found


def _resolve_within(host: str, port: int, seconds: float) -> list[str]:
    """`_resolve`, given up after `seconds`: a name server that never answers (an attacker's
    own, say) must not hold the caller longer than its deadline. The lookup runs in a thread
    of its own (no shared pool that slow lookups could fill); one that is given up on ends when
    the system resolver gives up, and its answer is dropped."""
    if seconds <= 0:
        raise LookupTimedOut(f"url: host {host!r} did not resolve in time")
    outcome: dict[str, object] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome["addresses"] = _resolve(host, port)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=lookup, name="calendar-dns", daemon=True).start()
    if not done.wait(seconds):
        raise LookupTimedOut(f"url: host {host!r} did not resolve within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["addresses"]  # type: ignore[return-value]


def validate_calendar_url(
    url: str, *, connect: bool = False, timeout: float | None = None
) -> list[str]:
    """Raise ValueError naming the URL when it may not be fetched; otherwise return the
    addresses the host resolved to, every one approved: the only addresses a request for `url`
    may connect to.

    Refused: schemes other than http/https, URLs without a host, and hosts that resolve to any
    loopback, private, link-local, multicast, unspecified or reserved address — unless
    settings.ALLOW_PRIVATE_CALENDAR_URLS is true (tests, calendars on the same LAN). With that
    setting any address is approved and the name is resolved only when `connect` is true (a
    request is about to be made, and is pinned to the answer all the same); otherwise [] is
    returned, so a calendar on a name that does not resolve here yet can still be added.

    The lookup is given up after `timeout` seconds (default CALENDAR_TIMEOUT_SECONDS) with
    LookupTimedOut, a ValueError.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"url: {url!r} is not a valid URL ({exc})") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValueError(
            f"url: scheme {parts.scheme!r} of {url!r} is not allowed; use http or https"
        )
    host = parts.hostname
    if not host:
        raise ValueError(f"url: {url!r} has no host name")
    private_allowed = settings.ALLOW_PRIVATE_CALENDAR_URLS
    if private_allowed and not connect:
        return []
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    seconds = settings.CALENDAR_TIMEOUT_SECONDS if timeout is None else timeout
    addresses = _resolve_within(host, port, seconds)
    if private_allowed:
        return addresses
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%", 1)[0])  # drop an IPv6 scope id
        if _is_forbidden(address):
            raise ValueError(
                f"url: host {host!r} of {url!r} resolves to {address}, a loopback, private, "
                "link-local or reserved address; only public addresses may be fetched"
            )
    return addresses
