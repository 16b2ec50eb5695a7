"""The SSRF guard: calendar URLs into the server's own network are refused, at every hop."""

from __future__ import annotations

import socket

import pytest
from django.test import override_settings

from scheduler.calendars import fetch, ssrf
from tests.fixtures.feeds import redirect, static

PUBLIC_IP = "93.184.215.14"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed.ics",
        "http://127.8.9.10:8080/feed.ics",
        "http://10.1.2.3/feed.ics",
        "http://172.16.0.1/feed.ics",
        "http://192.168.1.20/feed.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/feed.ics",
        "http://[::ffff:127.0.0.1]/feed.ics",
        "http://[fe80::1]/feed.ics",
        "http://0.0.0.0/feed.ics",
        "http://224.0.0.1/feed.ics",
        "http://localhost/feed.ics",
        "https://localhost:8443/feed.ics",
    ],
)
def test_private_addresses_are_refused(url):
    with pytest.raises(ValueError, match="url: host .* resolves to"):
        ssrf.validate_calendar_url(url)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/feed.ics", "gopher://x/", "javascript:alert(1)"],
)
def test_other_schemes_are_refused(url):
    with pytest.raises(ValueError, match="use http or https"):
        ssrf.validate_calendar_url(url)


@pytest.mark.parametrize("url", ["http:///feed.ics", "http://[::1/feed.ics", "not a url"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(ValueError, match="url: "):
        ssrf.validate_calendar_url(url)


def _fake_resolver(mapping: dict[str, str]):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in mapping:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (mapping[host], port or 80))]
        return real(host, port, *args, **kwargs)

    return getaddrinfo


def test_a_public_address_is_allowed(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _fake_resolver({"cal.example.com": PUBLIC_IP}))
    assert ssrf.validate_calendar_url("https://cal.example.com/basic.ics") is None


def test_a_host_resolving_to_any_private_address_is_refused(monkeypatch):
    # DNS under an attacker's control can answer with a public and a private address at once.
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "mixed.example.com":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(ValueError, match="10.0.0.5"):
        ssrf.validate_calendar_url("https://mixed.example.com/feed.ics")


def test_unresolvable_hosts_are_refused():
    with pytest.raises(ValueError, match="does not resolve"):
        ssrf.validate_calendar_url("http://no-such-host.invalid/feed.ics")


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_private_addresses_are_allowed_when_configured():
    assert ssrf.validate_calendar_url("http://127.0.0.1:5232/ada/cal/") is None
    with pytest.raises(ValueError, match="use http or https"):
        ssrf.validate_calendar_url("file:///etc/passwd")  # schemes are still checked


def test_a_redirect_from_a_public_host_to_a_private_one_is_not_followed(feed_server, monkeypatch):
    """The first hop is "public" (the guard is told so; the socket really reaches loopback);
    its redirect points at 127.0.0.1, which the guard checks again and refuses."""
    port = feed_server.httpd.server_port
    private = feed_server.route("/internal.ics", static(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
    feed_server.route("/feed.ics", redirect(private))
    real_resolve = ssrf._resolve

    def guard_resolve(host: str, port_: int) -> list[str]:
        return [PUBLIC_IP] if host == "feeds.example.com" else real_resolve(host, port_)

    monkeypatch.setattr(ssrf, "_resolve", guard_resolve)
    monkeypatch.setattr(socket, "getaddrinfo", _fake_resolver({"feeds.example.com": "127.0.0.1"}))
    with pytest.raises(ValueError, match="127.0.0.1"):
        fetch.fetch_feed(f"http://feeds.example.com:{port}/feed.ics")
    assert feed_server.hits["/feed.ics"] == 1
    assert feed_server.hits["/internal.ics"] == 0


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_redirects_are_followed_at_most_five_times(feed_server):
    for n in range(7):
        feed_server.route(f"/hop{n}", redirect(f"/hop{n + 1}"))
    feed_server.route("/hop7", static(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
    with pytest.raises(fetch.FetchError, match="redirected more than 5 times"):
        fetch.fetch_feed(feed_server.base + "/hop0")
    assert feed_server.hits["/hop5"] == 1 and feed_server.hits["/hop6"] == 0
    assert fetch.fetch_feed(feed_server.base + "/hop3").body.startswith(b"BEGIN:VCALENDAR")
