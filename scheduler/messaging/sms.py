"""SMS backends (console, Twilio) behind a registry, with Twilio errors mapped to retry decisions.

Dispatch sees only the SmsBackend protocol; make_backend builds the one SmsSettings names.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple, Protocol, runtime_checkable

import requests
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from scheduler.core.settings import SmsSettings

# The twilio client logs every request's query string at INFO, and a Messages list query
# carries the patient's number in `To`: give it a logger that drops INFO so no number
# reaches the app's logs.
_twilio_http_log = logging.getLogger("scheduler.sms.twilio_http")
_twilio_http_log.setLevel(logging.WARNING)
_NUMBER_RE = re.compile(r"(?:%2B|\+)\d{6,15}")


class _RedactNumbers(logging.Filter):
    """Mask phone numbers in urllib3's DEBUG request lines (the Messages list URL has `To`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _NUMBER_RE.search(message):
            record.msg, record.args = _NUMBER_RE.sub("[number]", message), ()
        return True


_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _RedactNumbers) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(_RedactNumbers())

TRANSIENT = "transient"
AMBIGUOUS = "ambiguous"
OPTED_OUT = "opted_out"
PERMANENT = "permanent"
KINDS = (TRANSIENT, AMBIGUOUS, OPTED_OUT, PERMANENT)

# The console backend keeps at most this many messages in memory.
OUTBOX_LIMIT = 100_000

# Twilio's clock and ours may differ; a match this much older than the attempt still counts.
CLOCK_SKEW = timedelta(minutes=5)

_ERROR_TEXT = {
    20003: "Twilio rejected the account credentials",
    20404: "Twilio resource not found",
    20429: "Twilio rate limit reached",
    21211: "Invalid phone number",
    21408: "Sending to this country or region is not enabled",
    21602: "Message body is missing",
    21606: "Sender number cannot send SMS",
    21610: "Patient opted out of texts (replied STOP)",
    21612: "This sender cannot reach that number",
    21614: "Not a mobile number",
    30001: "Twilio queue overflow",
    30002: "Twilio account suspended",
    30003: "Phone unreachable (off or out of coverage)",
    30004: "Message blocked by the recipient or carrier",
    30005: "Unknown or inactive number",
    30006: "Landline or unreachable carrier",
    30007: "Filtered by the carrier as spam",
    30008: "Unknown delivery error",
    30032: "Toll-free sender not verified",
    30034: "Sender not registered for A2P 10DLC",
}

# Delivery-status error codes after which resending the same text to the same number is
# pointless: staff need to check the number or call instead.
PERMANENT_DELIVERY_CODES = frozenset(
    {21211, 21408, 21610, 21612, 21614, 30003, 30004, 30005, 30006, 30007, 30008, 30032, 30034}
)


def describe_error(code: int | None) -> str:
    """Short staff-facing text for a Twilio error code."""
    if code is None:
        return "Unknown error"
    return _ERROR_TEXT.get(int(code), f"Twilio error {code}")


@dataclass
class SendResult:
    """What the provider said when it accepted a message."""

    sid: str
    status: str


class SmsError(Exception):
    """A send or lookup failed; `kind` tells the caller whether and how to retry."""

    def __init__(self, kind: str, detail: str, code: int | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown SmsError kind {kind!r}")
        super().__init__(f"{kind}: {detail}" + (f" (code {code})" if code is not None else ""))
        self.kind = kind
        self.detail = detail
        self.code = code

    @property
    def retryable(self) -> bool:
        """True when the same message may be sent again later (after find_sent if ambiguous)."""
        return self.kind in (TRANSIENT, AMBIGUOUS)


@runtime_checkable
class SmsBackend(Protocol):
    """What dispatch needs from a provider: send a text, and find one an unanswered send left."""

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        """Hand one text to the provider; raise SmsError (with a retry-relevant kind) on failure."""
        ...

    def find_sent(self, to: str, body: str, since: datetime,
                  exclude: frozenset[str] = frozenset()) -> str | None:
        """Sid of a text to `to` with exactly `body` accepted at or after `since`, not in `exclude`."""
        ...


class OutboxEntry(NamedTuple):
    """One message the console backend 'sent'."""

    to: str
    body: str
    sid: str


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped sid: prefix plus 32 hex characters."""
    return prefix + secrets.token_hex(16)


def mask_number(number: str) -> str:
    """Hide all but the country prefix and last four digits, e.g. +1******4567."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 6) + number[-4:]


class ConsoleBackend:
    """Default backend: records messages in memory and prints them; never touches the network."""

    def __init__(self, settings: SmsSettings | None = None):
        self.outbox: list[OutboxEntry] = []
        self._sent_at: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        """Record the message and print one line with the number masked."""
        sid = new_sid()
        with self._lock:
            self.outbox.append(OutboxEntry(to, body, sid))
            self._sent_at[sid] = datetime.now(UTC)  # Twilio's clock, not ours (see find_sent)
            if len(self.outbox) > OUTBOX_LIMIT:
                # A long-running worker on the default backend must not grow without bound.
                half = OUTBOX_LIMIT // 2
                dropped, self.outbox[:] = self.outbox[:half], self.outbox[half:]
                for entry in dropped:
                    self._sent_at.pop(entry.sid, None)
        # Bodies are neutral by contract (texts.check), so printing them is safe; numbers are not.
        print(f"[sms console] {sid} to {mask_number(to)}: {body}", flush=True)
        return SendResult(sid=sid, status="sent")

    def find_sent(self, to: str, body: str, since: datetime, exclude: frozenset[str] = frozenset()) -> str | None:
        """Sid of the newest recorded message with this recipient and body at or after `since`.

        Sids in `exclude` (already recorded for other texts) never match.
        """
        floor = _aware(since) - CLOCK_SKEW
        with self._lock:
            for entry in reversed(self.outbox):
                if (entry.to == to and entry.body == body and entry.sid not in exclude
                        and self._sent_at[entry.sid] >= floor):
                    return entry.sid
        return None


class TwilioBackend:
    """Sends through the official twilio client, with a timeout and a configurable API base URL."""

    def __init__(self, settings: SmsSettings):
        sid, token = settings.account_sid, settings.auth_token
        if not sid:
            raise ValueError("TWILIO_ACCOUNT_SID: required when SMS_BACKEND=twilio")
        if not token:
            raise ValueError("TWILIO_AUTH_TOKEN: required when SMS_BACKEND=twilio")
        self.messaging_service_sid = settings.messaging_service_sid or None
        self.from_number = settings.from_number or None
        if not (self.messaging_service_sid or self.from_number):
            raise ValueError(
                "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER: one is required with twilio"
            )
        timeout = settings.timeout_seconds
        if timeout <= 0:
            raise ValueError("SMS_TIMEOUT_SECONDS: must be positive")
        base_url = settings.api_base_url.rstrip("/")
        # requests re-reads proxy and CA settings from the environment on every request (about
        # a sixth of a worker's CPU per text): read them once here, for the API host, instead.
        http = TwilioHttpClient(timeout=timeout, logger=_twilio_http_log, proxy=_proxies_for(base_url))
        http.session.trust_env = False
        http.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.client = Client(sid, token, http_client=http)
        # TWILIO_EDGE / TWILIO_REGION from the environment would rewrite the host and send
        # traffic somewhere other than TWILIO_API_BASE_URL: the configured URL wins.
        self.client.edge = None
        self.client.region = None
        self.client.api.base_url = base_url

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        """Create one message; raise SmsError with a retry-relevant kind on failure."""
        kwargs: dict = {"to": to, "body": body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except Exception as exc:
            raise _map_exception(exc, creating=True) from exc
        return SendResult(sid=message.sid, status=str(message.status or "queued"))

    def find_sent(self, to: str, body: str, since: datetime, exclude: frozenset[str] = frozenset()) -> str | None:
        """Sid of a message to `to` with exactly `body` created at or after `since`, else None.

        Sids in `exclude` (already recorded for other texts: the same words sent earlier) never match.
        """
        since = _aware(since)
        floor = since - CLOCK_SKEW
        # Twilio's DateSent filter has day granularity: ask from the start of that UTC day.
        day = datetime.combine(floor.astimezone(UTC).date(), time(), tzinfo=UTC)
        try:
            # Bounded by the day filter, so read every page: a busy number must not hide a match.
            found = self._match(
                self.client.messages.stream(to=to, date_sent_after=day, page_size=100), body, floor, exclude
            )
            if found is None:
                # A message still queued has no date_sent yet and may be missing from the
                # filtered list: also look at the newest messages to that number.
                found = self._match(self.client.messages.stream(to=to, limit=50), body, floor, exclude)
        except Exception as exc:
            raise _map_exception(exc, creating=False) from exc
        return found

    @staticmethod
    def _match(messages, body: str, floor: datetime, exclude: frozenset[str] = frozenset()) -> str | None:
        """Newest message with this body not older than `floor` (undated counts as newest), not excluded."""
        newest = datetime.max.replace(tzinfo=UTC)
        best: tuple[datetime, str] | None = None
        for msg in messages:
            created = msg.date_created if isinstance(msg.date_created, datetime) else newest
            if (msg.body == body and created >= floor and msg.sid not in exclude
                    and (best is None or created > best[0])):
                best = (created, msg.sid)
        return best[1] if best else None


def _proxies_for(url: str) -> dict[str, str]:
    """The environment's proxies (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) for url, none if NO_PROXY covers it."""
    return {scheme: proxy for scheme, proxy in requests.utils.get_environ_proxies(url).items()
            if scheme != "no"}


def _aware(moment: datetime) -> datetime:
    """Refuse naive datetimes: their meaning depends on the machine's zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("since must be timezone-aware")
    return moment


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the request cannot have reached Twilio (refused, DNS, connect timeout, TLS)."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    # requests wraps urllib3's MaxRetryError for failures while connecting; a drop after the
    # request was written arrives as ProtocolError(RemoteDisconnected / reset) instead.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _map_exception(exc: Exception, *, creating: bool) -> SmsError:
    """Turn a client/transport exception into an SmsError without any patient data in it."""
    if isinstance(exc, SmsError):
        return exc
    unsure = AMBIGUOUS if creating else TRANSIENT
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return SmsError(unsure, "timed out waiting for Twilio's answer")
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _never_connected(exc):
            return SmsError(TRANSIENT, "could not connect to Twilio")
        # The connection dropped after the request went out: Twilio may have accepted it.
        return SmsError(unsure, "connection to Twilio dropped before an answer")
    cut_off = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    if isinstance(exc, cut_off):
        return SmsError(unsure, "Twilio's answer was cut off")
    if isinstance(exc, requests.exceptions.RequestException):
        return SmsError(TRANSIENT, f"HTTP error talking to Twilio ({type(exc).__name__})")
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        return _map_http_error(int(exc.status or 0), _int_or_none(exc.code), creating)
    if isinstance(exc, (ValueError, TwilioException)):
        # e.g. a 201 whose JSON could not be parsed: the message exists but we lost its sid.
        return SmsError(unsure, f"unreadable answer from Twilio ({type(exc).__name__})")
    return SmsError(unsure, f"unexpected error ({type(exc).__name__})")


def _map_http_error(status: int, code: int | None, creating: bool) -> SmsError:
    """Classify an HTTP error answer; Twilio's own message is dropped as it may quote the number."""
    if code == 21610:
        return SmsError(OPTED_OUT, describe_error(code), code)
    if code == status:
        code = None  # the client fills code with the HTTP status when the body had none
    detail = f"HTTP {status}: {describe_error(code)}" if code else f"HTTP {status}"
    if status == 504 and creating:
        # A gateway timeout is a timeout: the message may have been accepted behind it.
        return SmsError(AMBIGUOUS, detail, code)
    if status == 429 or status >= 500:
        return SmsError(TRANSIENT, detail, code)
    if 400 <= status < 500:
        return SmsError(PERMANENT, detail, code)
    return SmsError(TRANSIENT, detail, code)


def _int_or_none(value) -> int | None:
    """Twilio codes are ints, but be lenient about strings and absent values."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


SMS_BACKENDS = {"console": ConsoleBackend, "twilio": TwilioBackend}


def make_backend(settings: SmsSettings) -> SmsBackend:
    """Build the backend `settings.backend` names (SMS_BACKEND: console or twilio)."""
    try:
        backend_cls = SMS_BACKENDS[settings.backend]
    except KeyError:
        raise ValueError(f"SMS_BACKEND: expected one of {', '.join(SMS_BACKENDS)}") from None
    return backend_cls(settings)
