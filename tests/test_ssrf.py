"""The SSRF guard: calendar URLs into the server's own network are refused, at every hop, and
every request connects to the address its check approved (no second DNS lookup)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from scheduler.calendars import caldav, fetch, net, ssrf
from scheduler.models import Calendar
from tests.factory import make_account
from tests.fixtures.feeds import FeedServer, redirect, static

PUBLIC_IP = "93.184.215.14"
LO, HI = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC)
OTHER_PUBLIC_IP = "93.184.215.15"
FEED = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


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
    # The approved addresses are returned: requests connect to exactly these.
    assert ssrf.validate_calendar_url("https://cal.example.com/basic.ics") == [PUBLIC_IP]


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
    # Adding a calendar resolves nothing (a LAN name may not resolve here yet) …
    assert ssrf.validate_calendar_url("http://no-such-host.invalid/ada/cal/") == []
    # … a request resolves it, and is pinned to the answer all the same.
    assert ssrf.validate_calendar_url("http://127.0.0.1:5232/ada/cal/", connect=True) == [
        "127.0.0.1"
    ]
    with pytest.raises(ValueError, match="use http or https"):
        ssrf.validate_calendar_url("file:///etc/passwd")  # schemes are still checked


class FakeInternet:
    """Where connections go: each (address, port) asked of net.open_connection is recorded;
    `routes` sends some public addresses to loopback servers, standing in for hosts on the
    internet (a test machine has none); every other address is connected to for real."""

    def __init__(self, monkeypatch) -> None:
        self.connections: list[tuple[str, int]] = []
        self.routes: dict[tuple[str, int], tuple[str, int]] = {}
        real = net.open_connection

        def open_connection(address: str, port: int, timeout: float) -> socket.socket:
            self.connections.append((address, port))
            target = self.routes.get((address, port))
            if target is None and not address.startswith("127."):
                raise ConnectionRefusedError(f"{address} is not reachable from a test")
            return real(*(target or (address, port)), timeout)

        monkeypatch.setattr(net, "open_connection", open_connection)


def _rebinding_resolver(first: dict[str, str], then: dict[str, str], lookups: list[str]):
    """A DNS server under an attacker's control: one answer for the first lookup of a name,
    another for every later one. Every lookup of those names is recorded in `lookups`."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in first:
            answer = first[host] if host not in lookups else then[host]
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port or 80))]
        return real(host, port, *args, **kwargs)

    return getaddrinfo


def test_a_redirect_from_a_public_host_to_a_private_one_is_not_followed(feed_server, monkeypatch):
    """The first hop is public (a public address routed to the loopback server); its redirect
    points at 127.0.0.1, which the guard checks and refuses."""
    port = feed_server.httpd.server_port
    private = feed_server.route("/internal.ics", static(FEED))
    feed_server.route("/feed.ics", redirect(private))
    internet = FakeInternet(monkeypatch)
    internet.routes[(PUBLIC_IP, port)] = ("127.0.0.1", port)
    monkeypatch.setattr(socket, "getaddrinfo", _fake_resolver({"feeds.example.com": PUBLIC_IP}))
    with pytest.raises(ValueError, match="127.0.0.1"):
        fetch.fetch_feed(f"http://feeds.example.com:{port}/feed.ics")
    assert feed_server.hits["/feed.ics"] == 1
    assert feed_server.hits["/internal.ics"] == 0
    assert internet.connections == [(PUBLIC_IP, port)]


def test_a_feed_is_fetched_from_the_address_its_check_approved(monkeypatch):
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1 to any
    later lookup. The request goes to the approved address, with the name as its Host."""
    internal, public = FeedServer(), FeedServer()
    try:
        port = internal.httpd.server_port  # what 127.0.0.1 at the URL's port would reach
        internal.route("/feed.ics", static(b"BEGIN:VCALENDAR\r\nX-SECRET:internal\r\n"))
        public.route("/feed.ics", static(FEED))
        internet = FakeInternet(monkeypatch)
        internet.routes[(PUBLIC_IP, port)] = ("127.0.0.1", public.httpd.server_port)
        lookups: list[str] = []
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            _rebinding_resolver(
                {"rebind.example.com": PUBLIC_IP}, {"rebind.example.com": "127.0.0.1"}, lookups
            ),
        )

        fetched = fetch.fetch_feed(f"http://rebind.example.com:{port}/feed.ics")

        assert fetched.body == FEED
        assert internal.hits["/feed.ics"] == 0
        assert lookups == ["rebind.example.com"]  # one lookup: the check's
        assert internet.connections == [(PUBLIC_IP, port)]
        assert public.requests[0]["Host"] == f"rebind.example.com:{port}"
    finally:
        internal.close()
        public.close()


def test_each_redirect_target_is_checked_and_pinned(monkeypatch):
    internal, public = FeedServer(), FeedServer()
    try:
        port = internal.httpd.server_port
        internal.route("/feed.ics", static(b"BEGIN:VCALENDAR\r\nX-SECRET:internal\r\n"))
        public.route("/start.ics", redirect(f"http://moved.example.com:{port}/feed.ics"))
        public.route("/feed.ics", static(FEED))
        internet = FakeInternet(monkeypatch)
        internet.routes[(PUBLIC_IP, port)] = ("127.0.0.1", public.httpd.server_port)
        internet.routes[(OTHER_PUBLIC_IP, port)] = ("127.0.0.1", public.httpd.server_port)
        lookups: list[str] = []
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            _rebinding_resolver(
                {"feeds.example.com": PUBLIC_IP, "moved.example.com": OTHER_PUBLIC_IP},
                {"feeds.example.com": "127.0.0.1", "moved.example.com": "127.0.0.1"},
                lookups,
            ),
        )

        fetched = fetch.fetch_feed(f"http://feeds.example.com:{port}/start.ics")

        assert fetched.body == FEED
        assert lookups == ["feeds.example.com", "moved.example.com"]
        assert internet.connections == [(PUBLIC_IP, port), (OTHER_PUBLIC_IP, port)]
        assert internal.hits["/feed.ics"] == 0
        assert [r["Host"] for r in public.requests] == [
            f"feeds.example.com:{port}",
            f"moved.example.com:{port}",
        ]
    finally:
        internal.close()
        public.close()


@pytest.mark.django_db
def test_caldav_requests_connect_to_the_approved_address(radicale_calendar, monkeypatch):
    """A whole CalDAV read and a write: one lookup each, every connection to its answer."""
    url, username, password = radicale_calendar
    port = int(url.split(":")[2].split("/")[0])
    internet = FakeInternet(monkeypatch)
    internet.routes[(PUBLIC_IP, port)] = ("127.0.0.1", port)  # the public host is Radicale
    lookups: list[str] = []
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        _rebinding_resolver(
            {"dav.example.com": PUBLIC_IP}, {"dav.example.com": "127.0.0.1"}, lookups
        ),
    )
    dav_url = url.replace("127.0.0.1", "dav.example.com")
    calendar = Calendar.objects.create(
        account=make_account(), kind="caldav", url=dav_url, username=username, password=password
    )

    assert caldav.read_objects(calendar, LO, HI) == ([], "server")
    assert lookups == ["dav.example.com"]
    assert len(internet.connections) == 2  # the 401, then the authorised REPORT
    assert set(internet.connections) == {(PUBLIC_IP, port)}

    with pytest.raises(ValueError, match="127.0.0.1"):
        caldav.read_objects(calendar, LO, HI)  # a new read, a new check: now refused
    assert len(lookups) == 2 and len(internet.connections) == 2


def _openssl(command: str, root) -> None:
    args = command.format(root=root, key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes")
    subprocess.run(["openssl", *args.split()], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and a certificate it signed for cal.example.com (openssl's command line)."""
    root = tmp_path_factory.mktemp("tls")
    (root / "ext.cnf").write_text(
        "subjectAltName=DNS:cal.example.com\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
    )
    _openssl(
        "req -x509 {key} -keyout {root}/ca.key -out {root}/ca.pem -days 2 -subj /CN=Test-CA "
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
        root,
    )
    _openssl(
        "req {key} -keyout {root}/leaf.key -out {root}/leaf.csr -subj /CN=cal.example.com", root
    )
    _openssl(
        "x509 -req -in {root}/leaf.csr -CA {root}/ca.pem -CAkey {root}/ca.key -CAcreateserial "
        "-days 2 -extfile {root}/ext.cnf -out {root}/leaf.pem",
        root,
    )
    return root


@pytest.fixture
def tls_server(certificates, monkeypatch):
    """An HTTPS feed server on 127.0.0.1 with the cal.example.com certificate, trusted through
    SSL_CERT_FILE (as an operator would add a CA); yields (port, server names it was sent)."""
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Length", str(len(FEED)))
            self.end_headers()
            self.wfile.write(FEED)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            sock, address = super().get_request()
            return context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            ), address

        def handle_error(self, request, client_address) -> None:
            pass  # a handshake the client broke off

    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates / "ca.pem"))
    net.tls_context.cache_clear()
    yield httpd.server_port, names
    net.tls_context.cache_clear()
    httpd.shutdown()
    httpd.server_close()


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_https_keeps_the_name_for_tls_while_connecting_to_the_address(tls_server, monkeypatch):
    port, names = tls_server
    resolver = _fake_resolver({"cal.example.com": "127.0.0.1", "other.example.com": "127.0.0.1"})
    monkeypatch.setattr(socket, "getaddrinfo", resolver)

    assert fetch.fetch_feed(f"https://cal.example.com:{port}/feed.ics").body == FEED
    assert names == ["cal.example.com"]  # the server name sent in the handshake

    # The same address under a name the certificate does not carry is refused.
    with pytest.raises(fetch.FetchError, match="certificate"):
        fetch.fetch_feed(f"https://other.example.com:{port}/feed.ics")
    assert names[-1] == "other.example.com"


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_redirects_are_followed_at_most_five_times(feed_server):
    for n in range(7):
        feed_server.route(f"/hop{n}", redirect(f"/hop{n + 1}"))
    feed_server.route("/hop7", static(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
    with pytest.raises(fetch.FetchError, match="redirected more than 5 times"):
        fetch.fetch_feed(feed_server.base + "/hop0")
    assert feed_server.hits["/hop5"] == 1 and feed_server.hits["/hop6"] == 0
    assert fetch.fetch_feed(feed_server.base + "/hop3").body.startswith(b"BEGIN:VCALENDAR")
