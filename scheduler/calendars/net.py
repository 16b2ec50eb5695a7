"""HTTP for calendars: pinned, time-bounded and size-capped (SPEC §11).

A `Read` is one whole read of a calendar: an ICS fetch with all its redirects, a CalDAV read
with its expand, fallback and multiget REPORTs, or one PUT or DELETE. Every request made
through it

- goes to an address that the SSRF check (`ssrf.validate_calendar_url`) approved for that
  URL's host within this read, and only there: the connection is opened to the IP literal the
  check returned, never by resolving the name again, so a DNS answer that changes after the
  check (rebinding) cannot send it elsewhere. The name stays in the Host header and, for
  https, in the TLS server name and the certificate check;
- ends by the read's one deadline, `CALENDAR_TIMEOUT_SECONDS` after the read began: the name
  lookup, the connection, the TLS handshake, sending, the status line and headers, and every
  part of the body each wait at most for the time that is left, so a server that trickles
  bytes is cut off at the deadline (DeadlineExceeded, whose message states the limit);
- has its answer capped at `CALENDAR_MAX_BYTES`: a larger declared Content-Length is refused
  before reading, and a body is read in 64 KiB pieces and given up as soon as it passes the cap
  (AnswerTooLarge), so a huge answer never sits in memory.

Plain HTTP/1.1 over the standard library (http.client on a socket we open ourselves), one
connection per request, no proxies from the environment (a proxy would resolve the name
itself), no compression asked for. TLS trusts the system's store (SSL_CERT_FILE/SSL_CERT_DIR
are honoured) and certifi's bundle.
"""

from __future__ import annotations

import base64
import functools
import http.client
import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import certifi
from django.conf import settings

from scheduler.calendars import ssrf

CHUNK_BYTES = 64 * 1024


class UpstreamError(Exception):
    """A calendar server could not be read within the limits; the message says why."""


class DeadlineExceeded(UpstreamError):
    """The read did not finish within CALENDAR_TIMEOUT_SECONDS."""


class AnswerTooLarge(UpstreamError):
    """An answer was larger than CALENDAR_MAX_BYTES."""


class Unreachable(UpstreamError):
    """No connection, a TLS failure, or an answer that is not HTTP or ends early."""


class _Expired(Exception):
    """The read's deadline passed while waiting; turned into DeadlineExceeded by `Read`."""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: `headers` as sent (repeated names kept), `body` None when not read."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    def header(self, name: str, default: str = "") -> str:
        """The header's value; repeated ones joined with ", " (RFC 9110 §5.3)."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ", ".join(values) if values else default


def open_connection(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to exactly `address`, an IP literal (never a name: no DNS here)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # ValueError for a name
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Certificates checked against the host name: the system's store plus certifi's."""
    context = ssl.create_default_context()
    context.load_verify_locations(certifi.where())
    return context


class Read:
    """One whole read of a calendar: one deadline, a size cap per answer, pinned addresses."""

    def __init__(self, seconds: float | None = None, max_bytes: int | None = None) -> None:
        self.seconds = float(settings.CALENDAR_TIMEOUT_SECONDS if seconds is None else seconds)
        self.max_bytes = int(settings.CALENDAR_MAX_BYTES if max_bytes is None else max_bytes)
        self.deadline = time.monotonic() + self.seconds
        self._approved: dict[tuple[str, str, int], list[str]] = {}

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def approve(self, url: str) -> list[str]:
        """The addresses the SSRF check approves for `url`'s host, looked up once per read;
        ValueError (from the check) when the URL may not be fetched."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        key = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
        if key not in self._approved:
            try:
                addresses = ssrf.validate_calendar_url(url, connect=True, timeout=self.remaining())
            except ssrf.LookupTimedOut as exc:
                raise DeadlineExceeded(f"{url} did not answer within {self.seconds:g} s") from exc
            if not addresses:
                raise Unreachable(f"{url} could not be reached: its host has no address")
            self._approved[key] = addresses
        return self._approved[key]

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        read_body: Callable[[int], bool] = lambda status: True,
    ) -> Answer:
        """Send one request and return its answer; its body is read (capped) when
        `read_body(status)` is true. Raises ValueError when the SSRF check refuses the URL and
        an UpstreamError (DeadlineExceeded, AnswerTooLarge, Unreachable) on any other failure."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        addresses = self.approve(url)
        host = parts.hostname or ""
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
        port = parts.port or (443 if scheme == "https" else 80)
        target = quote(parts.path or "/", safe="/%;:@&=+$,!~*'()-._")
        if parts.query:
            target += "?" + quote(parts.query, safe="/%;:@&=+$,!~*'()-._?")
        sent = {key: value for key, value in (headers or {}).items() if value is not None}
        lowered = {key.lower() for key in sent}
        if parts.username is not None and "authorization" not in lowered:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            sent["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        for name in [key for key in sent if key.lower() in ("accept-encoding", "connection")]:
            del sent[name]
        sent["Accept-Encoding"] = "identity"
        sent["Connection"] = "close"
        if isinstance(body, str):
            body = body.encode("utf-8")
        connection = _Connection(host, port, addresses, self, tls=scheme == "https")
        answered = False
        try:
            connection.request(method, target, body=body, headers=sent)
            response = connection.getresponse()
            answered = True
            payload = self._body(response, url) if read_body(response.status) else None
            return Answer(response.status, response.reason, tuple(response.getheaders()), payload)
        except _Expired as exc:
            what = "finish" if answered else "answer"
            raise DeadlineExceeded(f"{url} did not {what} within {self.seconds:g} s") from exc
        except ssl.SSLCertVerificationError as exc:
            raise Unreachable(f"{url}: TLS certificate refused ({exc.verify_message})") from exc
        except (OSError, http.client.HTTPException) as exc:
            what = "failed while answering" if answered else "could not be reached"
            raise Unreachable(f"{url} {what}: {str(exc) or type(exc).__name__}") from exc
        finally:
            connection.close()
            connection.release()

    def _body(self, response: http.client.HTTPResponse, url: str) -> bytes:
        declared = (response.getheader("Content-Length") or "").strip()
        length = int(declared) if declared.isdigit() and not response.chunked else None
        if length is not None and length > self.max_bytes:
            raise AnswerTooLarge(f"{url} declares {declared} bytes; the limit is {self.max_bytes}")
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read(CHUNK_BYTES):
            size += len(chunk)
            if size > self.max_bytes:
                raise AnswerTooLarge(
                    f"{url} sent more than {self.max_bytes} bytes; the limit is {self.max_bytes}"
                )
            chunks.append(chunk)
        if length is not None and size != length:
            raise Unreachable(f"{url} failed while answering: {size} of {length} bytes came")
        return b"".join(chunks)


class _Connection(http.client.HTTPConnection):
    """http.client, connected to the approved address instead of the name."""

    def __init__(self, host: str, port: int, addresses: list[str], read: Read, tls: bool):
        super().__init__(host, port)
        self.default_port = 443 if tls else 80  # the Host header names the port only if other
        self._addresses = addresses
        self._read = read
        self._tls = tls
        self._socket: socket.socket | None = None

    def release(self) -> None:
        """Close the socket; http.client's own close leaves it to us (see _DeadlineSocket)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def connect(self) -> None:
        sock = self._open()
        try:
            if self._tls:
                wait = self._read.remaining()
                if wait <= 0:
                    raise _Expired
                sock.settimeout(wait)  # the whole handshake, not each step (Python ≥ 3.5)
                sock = tls_context().wrap_socket(sock, server_hostname=self.host)
        except TimeoutError as exc:
            sock.close()
            raise _Expired from exc
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        self.sock = _DeadlineSocket(sock, self._read)  # type: ignore[assignment]

    def _open(self) -> socket.socket:
        failure: OSError | None = None
        for address in self._addresses:
            wait = self._read.remaining()
            if wait <= 0:
                raise _Expired
            try:
                return open_connection(address, self.port, wait)
            except TimeoutError as exc:
                raise _Expired from exc
            except OSError as exc:  # refused, unreachable: the next approved address
                failure = exc
        raise failure or OSError("no address to connect to")


class _DeadlineSocket:
    """The parts of a socket http.client uses, each wait cut to the time the read has left."""

    def __init__(self, sock: socket.socket, read: Read) -> None:
        self._sock = sock
        self._read = read

    def _arm(self) -> None:
        wait = self._read.remaining()
        if wait <= 0:
            raise _Expired
        self._sock.settimeout(wait)

    def sendall(self, data: bytes) -> None:
        self._arm()
        try:
            self._sock.sendall(data)  # the timeout bounds the whole call (Python ≥ 3.5)
        except TimeoutError as exc:
            raise _Expired from exc

    def recv_into(self, buffer: memoryview, nbytes: int = 0) -> int:
        self._arm()
        try:
            return self._sock.recv_into(buffer, nbytes)
        except TimeoutError as exc:
            raise _Expired from exc

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self), CHUNK_BYTES)

    def close(self) -> None:
        """Nothing: http.client closes the connection as soon as it has the headers of a
        `Connection: close` answer, while the body is still to be read from the socket (a real
        socket defers that until its file is closed). `_Connection.release` closes it."""


class _Reader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._sock.recv_into(buffer)
