"""Web origins a host lets frame their booking pages (SPEC §10, the account's `embedOrigins`).

An origin is what a browser calls one: `scheme://host[:port]`, nothing more. Each is written
the way browsers serialize origins (lowercase, an internationalized name in punycode, no
default port), because that exact text goes into CSP `frame-ancestors` and is compared with
the embedding page's origin before a `postMessage` is sent to it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

MAX_ORIGINS = 20
MAX_LENGTH = 255
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class OriginError(ValueError):
    """One or more bad origins; `problems` holds one sentence for each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _host(raw: str) -> str | None:
    """The host as a browser writes it in an origin, or None when it is no host name."""
    if raw.startswith("[") and raw.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(raw[1:-1]).compressed}]"
        except ValueError:
            return None
    try:
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if not host or len(host) > 253:
        return None
    labels = host.split(".")
    if all(label.isdigit() for label in labels):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            return None
    return host if all(_LABEL.match(label) for label in labels) else None


def check_origin(value: object) -> str:
    """`value` as an origin (`https://example.com`, `http://127.0.0.1:8080`); ValueError says
    what is wrong with anything else (a path, a wildcard, another scheme…)."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a text such as https://example.com")
    text = value.strip()
    example = "write it as scheme://host[:port], such as https://example.com"
    if not text or len(text) > MAX_LENGTH or any(c.isspace() or c in ",;'\"*" for c in text):
        raise ValueError(f"{value!r} is not an origin; {example}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} is not an origin; {example}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"{value!r}: only http and https pages can embed; {example}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text:
        raise ValueError(f"{value!r} has a path or query; an origin is {example}")
    if parts.username is not None or "@" in parts.netloc:
        raise ValueError(f"{value!r} holds a user name; {example}")
    netloc = parts.netloc
    raw_host = netloc.rsplit(":", 1)[0] if port is not None or netloc.endswith(":") else netloc
    host = _host(raw_host)
    if host is None:
        raise ValueError(f"{value!r} does not name a host; {example}")
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def check_origins(values: object) -> list[str]:
    """A list of origins, each written as `check_origin` writes it, duplicates dropped;
    OriginError names every bad entry."""
    if not isinstance(values, list | tuple):
        raise OriginError(['must be a list of origins such as ["https://example.com"]'])
    if len(values) > MAX_ORIGINS:
        raise OriginError([f"at most {MAX_ORIGINS} origins"])
    found: list[str] = []
    problems: list[str] = []
    for value in values:
        try:
            origin = check_origin(value)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if origin not in found:
            found.append(origin)
    if problems:
        raise OriginError(problems)
    return found


def origin_of(url: str) -> str:
    """The origin of an absolute http(s) URL (a Referer), or "" when it has none."""
    try:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
        return check_origin(origin) if origin else ""
    except ValueError:
        return ""


def lines_of(text: str) -> list[str]:
    """Origins typed one a line (or separated by spaces or commas), blanks dropped."""
    return [part for part in re.split(r"[\s,]+", text) if part]


def as_lines(origins: Iterable[str]) -> str:
    return "\n".join(origins)
