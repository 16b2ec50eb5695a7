"""Refusing calendar URLs that point into the server's own network (SSRF).

A calendar URL is supplied by an account holder, and the service fetches it from inside the
operator's network, so a URL naming loopback, a private range or the cloud metadata address
(169.254.169.254) would let a user read internal services. Every address the host resolves to
is checked, because an attacker controls their own DNS; the check is repeated before every
fetch and every redirect (DNS answers can change between creation and fetch).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")


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
    return [str(info[4][0]) for info in infos]


def validate_calendar_url(url: str) -> None:
    """Raise ValueError naming the URL when it may not be fetched; return None when it may.

    Refused: schemes other than http/https, URLs without a host, and hosts that resolve to any
    loopback, private, link-local, multicast, unspecified or reserved address — unless
    settings.ALLOW_PRIVATE_CALENDAR_URLS is true (tests, calendars on the same LAN).
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
    if settings.ALLOW_PRIVATE_CALENDAR_URLS:
        return
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    for raw in _resolve(host, port):
        address = ipaddress.ip_address(raw.split("%", 1)[0])  # drop an IPv6 scope id
        if _is_forbidden(address):
            raise ValueError(
                f"url: host {host!r} of {url!r} resolves to {address}, a loopback, private, "
                "link-local or reserved address; only public addresses may be fetched"
            )
