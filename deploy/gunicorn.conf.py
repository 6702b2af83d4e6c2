"""gunicorn settings for the clinic's web processes (docs/DEPLOY.md): `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

The access log never holds a calendar feed's token: a feed URL is its own secret, and logs are
read by more people (and kept longer) than the database.
"""
import re

from gunicorn.glogging import Logger

_FEED = re.compile(r"^/feeds/[^/?]*")


class MaskingLogger(Logger):
    """gunicorn's logger with /feeds/<token> written as /feeds/**** in every access-log field."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "{raw_uri}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = _mask(atoms[key])
        return atoms


def _mask(text: str) -> str:
    method, space, rest = text.partition(" ")
    if space:  # "GET /feeds/x.ics HTTP/1.1"
        return f"{method} {_FEED.sub('/feeds/****', rest)}"
    return _FEED.sub("/feeds/****", text)


logger_class = MaskingLogger
# Behind nginx on the same host: the proxy is the only client; TRUSTED_PROXIES tells the app.
forwarded_allow_ips = "127.0.0.1"
timeout = 60
graceful_timeout = 30
