"""Every security header of the app, and the limits on what a request may send, in one place.

One after_request hook (registered by create_app) sets, on every response:
- `X-Content-Type-Options: nosniff`;
- `Cache-Control: no-store` on everything but static files: API answers and pages carry
  patient data, and no browser or proxy cache may keep them;
- for HTML pages: a strict Content-Security-Policy (own origin only, no framing, no plugins),
  `Referrer-Policy: same-origin` and `X-Frame-Options: DENY`;
- `Strict-Transport-Security` when the request came over https;
- a `Server` banner that names no versions (the development server would name Werkzeug's
  and Python's; gunicorn already sends a bare "gunicorn").
Requests: a body over MAX_BODY is a 413 before anything reads it (MAX_CONTENT_LENGTH; a
declared length is refused even before authentication), and
JSON nested too deeply to parse is a 400, not a RecursionError and a 500.
"""
from __future__ import annotations

from flask import Flask, Response, abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.serving import WSGIRequestHandler

MAX_BODY = 1024 * 1024  # 1 MB
# The one form that takes a file: a discharge file of up to 10 MB, with the form around it.
UPLOADS = {"/imports": 10 * 1024 * 1024 + 64 * 1024}
CSP = ("default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
       "object-src 'none'")
HSTS = "max-age=31536000; includeSubDomains"


class _JSON(DefaultJSONProvider):
    """Flask's JSON, but a document nested past Python's recursion limit is malformed input (400)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def secure(response: Response) -> Response:
    """Add the headers above to one response."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    if response.mimetype == "text/html":
        headers["Content-Security-Policy"] = CSP
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    return response


def _bare_banner(_handler) -> str:
    return "aftercare"


def refuse_large_bodies() -> None:
    """A declared length over the limit is refused before authentication or parsing."""
    if request.method == "POST" and request.path in UPLOADS:
        request.max_content_length = UPLOADS[request.path]
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)


def init_app(app: Flask) -> None:
    """Register the hooks and the request limits."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is None: no limit
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    # The development server (flask run) writes its banner itself, after the app's headers.
    WSGIRequestHandler.version_string = _bare_banner
    app.json = _JSON(app)
    app.before_request(refuse_large_bodies)
    app.after_request(secure)
