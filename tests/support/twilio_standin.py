"""A real HTTP stand-in for the parts of Twilio's REST API that the official client calls."""
from __future__ import annotations

import base64
import json
import random
import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlencode, urlsplit

API = "/2010-04-01"

_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "The 'To' number is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region of the 'To' number.",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


def _rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format, e.g. 'Tue, 10 Mar 2026 18:00:00 +0000'."""
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000") if moment else None


def _parse_filter_date(value: str) -> datetime:
    """DateSent filters arrive as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (the twilio 9 client)."""
    value = value.strip().lstrip("<>=")
    if len(value) == 10:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    return datetime.strptime(value.rstrip("Z"), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


class TwilioStandin:
    """Local Twilio Messages API on 127.0.0.1 with scriptable failures; also a context manager."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str | None = None):
        self.account_sid = account_sid
        self.auth_token = auth_token  # None: any password is accepted
        self.accepted: list[dict] = []
        self.requests = 0  # create attempts, including scripted failures
        self.list_requests = 0
        self.opted_out: set[str] = set()  # numbers that answer 21610, like a real STOP
        # Called with each accepted message before the create is answered: a status callback
        # sent from here reaches the app before it can have recorded the send.
        self.on_accept: Callable[[dict], None] | None = None
        self._script: deque[tuple] = deque()
        self._chaos: tuple[float, float, float, random.Random] | None = None
        self._latency: tuple[float, float, random.Random] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> TwilioStandin:
        """Listen on a free port and serve from a daemon thread."""
        handler = type("Handler", (_Handler,), {"standin": self})
        server = _QuietServer(("127.0.0.1", 0), handler, bind_and_activate=False)
        server.request_queue_size = 128  # the benchmark opens many keep-alive connections
        server.daemon_threads = True
        server.server_bind()
        server.server_activate()
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="twilio-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any scripted hang."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- scripting -----------------------------------------------------------------------
    def script(self, *behaviours: tuple) -> None:
        """Queue behaviours for the next create requests: ok, error, accept_then_hang, refuse."""
        for behaviour in behaviours:
            if behaviour[0] not in ("ok", "error", "accept_then_hang", "refuse"):
                raise ValueError(f"unknown behaviour {behaviour!r}")
        with self._lock:
            self._script.extend(behaviours)

    def chaos(self, fail: float, stall: float, stall_seconds: float, seed: int = 7) -> None:
        """Unscripted creates fail with 500 at rate `fail`, or are accepted and then stall at rate `stall`."""
        self._chaos = (fail, stall, stall_seconds, random.Random(seed))

    def latency(self, low: float, high: float, seed: int = 11) -> None:
        """Every create is answered after a pause drawn from [low, high] seconds, as Twilio's take
        tens of milliseconds: senders working in parallel then show it (benchmarks)."""
        self._latency = (low, high, random.Random(seed))

    def _pause(self) -> float:
        if self._latency is None:
            return 0.0
        low, high, rng = self._latency
        with self._lock:
            return rng.uniform(low, high)

    def _next_behaviour(self) -> tuple:
        with self._lock:
            self.requests += 1
            if self._script:
                return self._script.popleft()
            if self._chaos is not None:
                fail, stall, seconds, rng = self._chaos
                draw = rng.random()
                if draw < fail:
                    return ("error", 500, 500)
                if draw < fail + stall:
                    return ("accept_then_hang", seconds)
            return ("ok",)

    # -- resources -----------------------------------------------------------------------
    def _store(self, form: dict[str, str]) -> dict:
        """Accept a message the way Twilio does: queued with a sender, accepted with a service."""
        now = datetime.now(UTC)
        service = form.get("MessagingServiceSid")
        record = {
            "sid": "SM" + secrets.token_hex(16),
            "to": form["To"],
            "body": form["Body"],
            "from": form.get("From"),
            "messaging_service_sid": service,
            "status_callback": form.get("StatusCallback"),
            "status": "accepted" if service and not form.get("From") else "queued",
            "date_created": now,
        }
        with self._lock:
            self.accepted.append(record)
        return record

    def resource(self, record: dict, *, listed: bool = False) -> dict:
        """The JSON message resource; listed messages look sent (date_sent set)."""
        uri = f"{API}/Accounts/{self.account_sid}/Messages/{record['sid']}.json"
        created = _rfc2822(record["date_created"])
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": record["body"],
            "date_created": created,
            "date_sent": created if listed else None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": record["from"],
            "messaging_service_sid": record["messaging_service_sid"],
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": record["sid"],
            "status": "sent" if listed else record["status"],
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": record["to"],
            "uri": uri,
        }

    def error_body(self, status: int, code: int) -> dict:
        """Twilio's legacy error document (no RFC 9457 'type'/'title', as the Messages API sends)."""
        return {
            "code": code,
            "message": _ERROR_MESSAGES.get(code, f"Error {code}"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    def list_page(self, query: dict[str, str], path: str) -> dict:
        """One page of messages, newest first, filtered by To/From/DateSent like Twilio."""
        with self._lock:
            self.list_requests += 1
            records = list(self.accepted)
        if "To" in query:
            records = [r for r in records if r["to"] == query["To"]]
        if "From" in query:
            records = [r for r in records if r["from"] == query["From"]]
        # "DateSent>=2026-03-10" on the wire is the key "DateSent>" with the value "2026-03-10".
        if "DateSent>" in query:
            floor = _parse_filter_date(query["DateSent>"])
            records = [r for r in records if r["date_created"].replace(microsecond=0) >= floor]
        if "DateSent<" in query:
            ceiling = _parse_filter_date(query["DateSent<"])
            if len(query["DateSent<"].strip()) == 10:
                ceiling = ceiling.replace(hour=23, minute=59, second=59)
            records = [r for r in records if r["date_created"].replace(microsecond=0) <= ceiling]
        if "DateSent" in query:
            day = _parse_filter_date(query["DateSent"]).date()
            records = [r for r in records if r["date_created"].date() == day]
        records.reverse()
        size = max(1, min(int(query.get("PageSize", 50)), 1000))
        page = int(query.get("Page", 0))
        chunk = records[page * size:(page + 1) * size]
        base = {k: v for k, v in query.items() if k not in ("Page", "PageToken")}

        def page_uri(n: int) -> str:
            return f"{path}?{urlencode({**base, 'PageSize': size, 'Page': n})}"
        more = (page + 1) * size < len(records)
        return {
            "messages": [self.resource(r, listed=True) for r in chunk],
            "end": page * size + max(len(chunk) - 1, 0),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) + f"&PageToken=PA{page + 1}" if more else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": page * size,
            "uri": page_uri(page),
        }


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client killed mid-request (the chaos benchmark does that) is not an error here."""


class _Handler(BaseHTTPRequestHandler):
    """Routes the few endpoints the client uses; HTTP/1.1 so the client keeps connections open."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body leave in one write, flushed after each request
    timeout = 60  # an idle keep-alive connection frees its thread eventually
    standin: TwilioStandin

    def log_message(self, format, *args):
        """Silent: request lines carry phone numbers."""

    def _send_json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        token = self.standin.auth_token
        return user == self.standin.account_sid and (token is None or password == token)

    def _route(self) -> tuple[str, str, dict[str, str]] | None:
        """(path, what, query) for known URLs, answering 401/404 itself otherwise."""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        prefix = f"{API}/Accounts/{self.standin.account_sid}/Messages"
        if not self._authorized():
            self._send_json(401, self.standin.error_body(401, 20003))
            return None
        if parts.path == prefix + ".json":
            return parts.path, "messages", query
        if parts.path.startswith(prefix + "/") and parts.path.endswith(".json"):
            return parts.path, parts.path[len(prefix) + 1:-5], query
        self._send_json(404, self.standin.error_body(404, 20404))
        return None

    def do_GET(self):
        routed = self._route()
        if routed is None:
            return
        path, what, query = routed
        if what == "messages":
            self._send_json(200, self.standin.list_page(query, path))
            return
        with self.standin._lock:
            found = [r for r in self.standin.accepted if r["sid"] == what]
        if found:
            self._send_json(200, self.standin.resource(found[0], listed=True))
        else:
            self._send_json(404, self.standin.error_body(404, 20404))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        routed = self._route()
        if routed is None:
            return
        _, what, _ = routed
        if what != "messages":
            self._send_json(404, self.standin.error_body(404, 20404))
            return
        form = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        pause = self.standin._pause()
        if pause:
            self.standin._stopping.wait(pause)
        behaviour = self.standin._next_behaviour()
        kind = behaviour[0]
        if kind == "refuse":
            # Drop the connection with no answer, as a crashed proxy would.
            self.close_connection = True
            return
        if kind == "error":
            status, code = int(behaviour[1]), int(behaviour[2])
            self._send_json(status, self.standin.error_body(status, code))
            return
        invalid = self._validate(form)
        if invalid:
            self._send_json(400, self.standin.error_body(400, invalid))
            return
        record = self.standin._store(form)
        if self.standin.on_accept is not None:
            self.standin.on_accept(record)
        if kind == "accept_then_hang":
            self.standin._stopping.wait(float(behaviour[1]))
            self.close_connection = True
        try:
            self._send_json(201, self.standin.resource(record))
        except OSError:
            pass  # the client gave up waiting, which is the point of the hang

    def _validate(self, form: dict[str, str]) -> int | None:
        """The checks Twilio makes before accepting, as error codes."""
        if not form.get("To"):
            return 21604
        if not form.get("Body"):
            return 21602
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return 21603
        to = form["To"]
        if not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
            return 21211
        if to in self.standin.opted_out:
            return 21610
        return None
