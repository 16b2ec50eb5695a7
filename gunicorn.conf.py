"""gunicorn's settings for this site; gunicorn reads this file from its working directory (the
repository root) by itself, or from `-c gunicorn.conf.py` when started elsewhere. Command-line
options (`-b`, `-w`, …) still win over anything set here.

No `Server` header: gunicorn writes `Server: gunicorn` into every answer and has no setting to
leave it out (its maintainers declined one), and a WSGI application cannot take away a header
the server adds itself. So the response's default headers are wrapped, once, here: the
workers are forked from the process that read this file and inherit the change.
`tests/test_security.py` runs gunicorn and checks that the header is gone.
"""

from __future__ import annotations

from gunicorn.http import wsgi as _gunicorn_wsgi

_default_headers = _gunicorn_wsgi.Response.default_headers


def _without_server_header(self: _gunicorn_wsgi.Response) -> list[str]:
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


if not getattr(_gunicorn_wsgi.Response.default_headers, "drops_server_header", False):
    _without_server_header.drops_server_header = True  # type: ignore[attr-defined]
    _gunicorn_wsgi.Response.default_headers = _without_server_header  # type: ignore[method-assign]
