"""Settings from the environment, validated once at start."""
from __future__ import annotations

import math
import os
import re
import secrets
from datetime import time, timedelta
from pathlib import Path

import phonenumbers

from scheduler.core import timeutil
from scheduler.messaging import texts
from scheduler.messaging.reminders import CalendarDays


class ConfigError(Exception):
    """A missing or invalid setting; its message is the one line the operator sees."""


_OFFSET = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


MAX_OFFSET = timedelta(days=60)


def parse_offsets(text: str) -> list[timedelta]:
    """'48h,2h' -> [48h, 2h], longest first; `d` is the same clock time days before (CalendarDays)."""
    out: dict[timedelta, timedelta] = {}
    for part in text.split(","):
        m = _OFFSET.match(part)
        if not m or int(m.group(1)) == 0:
            raise ConfigError(f"REMINDER_OFFSETS: cannot read {part.strip()!r} (use e.g. 48h,2h)")
        count, unit = int(m.group(1)), m.group(2)
        if count > MAX_OFFSET / timedelta(**{_UNITS[unit]: 1}):
            raise ConfigError(f"REMINDER_OFFSETS: {part.strip()!r} is more than 60 days")
        offset = CalendarDays(count) if unit == "d" else timedelta(**{_UNITS[unit]: count})
        if offset in out and type(out[offset]) is not type(offset):
            raise ConfigError(f"REMINDER_OFFSETS: {part.strip()!r} repeats another lead time")
        out[offset] = offset
    return sorted(out.values(), reverse=True)


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """'20:00-08:00' -> (20:00, 08:00); 'off' or '' -> None."""
    if text.strip().lower() in ("", "off", "none"):
        return None
    m = re.match(r"^\s*(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)\s*$", text)
    try:
        start = time(int(m.group(1)), int(m.group(2)))
        end = time(int(m.group(3)), int(m.group(4)))
    except (AttributeError, ValueError):
        raise ConfigError("QUIET_HOURS: expected HH:MM-HH:MM, e.g. 20:00-08:00") from None
    if start == end:
        raise ConfigError("QUIET_HOURS: start and end are equal")
    return start, end


def _secret_key(instance: Path) -> str:
    """A random key made once per install and kept under instance/."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


# (kind, largest accepted value) of each number setting; every one must be greater than zero.
# The bounds keep every later computation finite (now + lease, 1 / rate): no overflow at dispatch.
LIMITS = {
    "SMS_TIMEOUT_SECONDS": (float, 300),
    "SMS_MAX_PER_SECOND": (float, 1_000_000),
    "SMS_RETRY_SECONDS": (float, 3600),
    "DISPATCH_INTERVAL_SECONDS": (float, 3600),
    "DISPATCH_LEASE_SECONDS": (float, 86_400),
    "DISPATCH_BATCH_SIZE": (int, 10_000),
    "GROUP_HORIZON_WEEKS": (int, 520),
    "SESSION_IDLE_MINUTES": (int, 720),  # never beyond the 12 hours a session lasts in all
}

_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
MAX_PROXIES = 10


def _positive(env, name: str, default: str):
    kind, largest = LIMITS[name]
    raw = env.get(name, default)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if not math.isfinite(value):  # float("nan") passes every comparison; inf overflows timedelta
        raise ConfigError(f"{name}: expected a finite number, got {raw!r}")
    if value <= 0:
        raise ConfigError(f"{name}: must be greater than zero")
    if value > largest:
        raise ConfigError(f"{name}: must be at most {largest}")
    return value


def _switch(env, name: str, default: bool) -> bool:
    """An on/off setting: 1/0, true/false, yes/no, on/off; unset or empty is the default."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in _ON + _OFF:
        raise ConfigError(f"{name}: expected on or off, got {env.get(name)!r}")
    return raw in _ON


def _proxies(env) -> int:
    """TRUSTED_PROXIES: how many proxies' X-Forwarded-* headers to believe (0: none)."""
    raw = env.get("TRUSTED_PROXIES", "0")
    if not raw.strip().isdigit() or not raw.strip().isascii():  # "²".isdigit() is True
        raise ConfigError(f"TRUSTED_PROXIES: expected a whole number from 0 to {MAX_PROXIES}, got {raw!r}")
    if int(raw) > MAX_PROXIES:
        raise ConfigError(f"TRUSTED_PROXIES: must be at most {MAX_PROXIES}")
    return int(raw)


def _clinic_zone(env) -> str:
    """CLINIC_TIMEZONE: the clinic's own zone, first in every zone list."""
    name = (env.get("CLINIC_TIMEZONE") or "America/New_York").strip()
    try:
        timeutil.zone(name)
    except ValueError:
        raise ConfigError(f"CLINIC_TIMEZONE: unknown time zone {name!r} (e.g. America/Chicago)") from None
    return name


def _clinic_region(env) -> str:
    """CLINIC_REGION: the country whose numbers pages show in national form (two letters, e.g. US)."""
    region = (env.get("CLINIC_REGION") or "US").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"CLINIC_REGION: expected a two-letter country code such as US, got {region!r}")
    return region


def load(instance_path: str, env=os.environ) -> dict:
    """Read and check every setting; raise ConfigError naming the first bad one."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'scheduler.sqlite3'}"
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
        raise ConfigError("DATABASE_URL: expected sqlite:///path or postgresql+psycopg://...")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    cfg = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": env.get("SECRET_KEY") or _secret_key(instance),
        # Sign-in throttling counts: memory:// is per process; redis://... shares them.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "SMS_BACKEND": env.get("SMS_BACKEND", "console"),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID", ""),
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_MESSAGING_SERVICE_SID": env.get("TWILIO_MESSAGING_SERVICE_SID", ""),
        "TWILIO_FROM_NUMBER": env.get("TWILIO_FROM_NUMBER", ""),
        "TWILIO_API_BASE_URL": env.get("TWILIO_API_BASE_URL", "https://api.twilio.com").rstrip("/"),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "").rstrip("/"),
        "CLINIC_SMS_NAME": env.get("CLINIC_SMS_NAME", "Northside Health"),
        "CLINIC_PHONE": env.get("CLINIC_PHONE", "555-0100"),
        "REMINDER_OFFSETS": parse_offsets(env.get("REMINDER_OFFSETS", "48h,2h")),
        "QUIET_HOURS": parse_quiet_hours(env.get("QUIET_HOURS", "20:00-08:00")),
        "SMS_TIMEOUT_SECONDS": _positive(env, "SMS_TIMEOUT_SECONDS", "10"),
        "SMS_MAX_PER_SECOND": _positive(env, "SMS_MAX_PER_SECOND", "10"),
        "SMS_RETRY_SECONDS": _positive(env, "SMS_RETRY_SECONDS", "30"),
        "DISPATCH_INTERVAL_SECONDS": _positive(env, "DISPATCH_INTERVAL_SECONDS", "5"),
        "DISPATCH_BATCH_SIZE": _positive(env, "DISPATCH_BATCH_SIZE", "100"),
        "DISPATCH_LEASE_SECONDS": _positive(env, "DISPATCH_LEASE_SECONDS", "120"),
        "GROUP_HORIZON_WEEKS": _positive(env, "GROUP_HORIZON_WEEKS", "26"),
        "SESSION_IDLE_MINUTES": _positive(env, "SESSION_IDLE_MINUTES", "30"),
        "TRUSTED_PROXIES": _proxies(env),
        "CALENDAR_FEEDS": env.get("CALENDAR_FEEDS", "off").strip().lower(),
        "DEMO_REPLIES": _switch(env, "DEMO_REPLIES", False),
        "CLINIC_TIMEZONE": _clinic_zone(env),
        "CLINIC_REGION": _clinic_region(env),
    }
    if cfg["CALENDAR_FEEDS"] not in ("off", "on", "initials"):
        raise ConfigError("CALENDAR_FEEDS: expected off, on or initials")
    if cfg["SMS_BACKEND"] not in ("console", "twilio"):
        raise ConfigError("SMS_BACKEND: expected console or twilio")
    if cfg["DEMO_REPLIES"] and cfg["SMS_BACKEND"] != "console":
        # A reply typed by staff must never stand beside real patients' texts in the log.
        raise ConfigError("DEMO_REPLIES: on only with SMS_BACKEND=console (simulated replies are for trying the demo)")
    if cfg["SMS_BACKEND"] == "twilio":
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            if not cfg[name]:
                raise ConfigError(f"{name}: required when SMS_BACKEND=twilio")
        if not (cfg["TWILIO_MESSAGING_SERVICE_SID"] or cfg["TWILIO_FROM_NUMBER"]):
            raise ConfigError(
                "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER: one is required with twilio"
            )
        if not cfg["PUBLIC_BASE_URL"]:
            # Webhook signatures are checked against it alone, never against the Host header.
            raise ConfigError("PUBLIC_BASE_URL: required when SMS_BACKEND=twilio (webhooks are verified against it)")
    try:
        texts.validate_settings(cfg["CLINIC_SMS_NAME"], cfg["CLINIC_PHONE"])
    except ValueError as exc:
        # e.g. a name that says "Recovery", or so long that no text fits one segment.
        raise ConfigError(f"CLINIC_SMS_NAME/CLINIC_PHONE: {exc}") from None
    if cfg["PUBLIC_BASE_URL"] and not re.match(r"^https?://", cfg["PUBLIC_BASE_URL"]):
        raise ConfigError("PUBLIC_BASE_URL: expected an http(s):// URL")
    https = cfg["PUBLIC_BASE_URL"].startswith("https://")
    # The staff cookie goes over HTTPS only when the app is served over it (or the operator says so).
    cfg["SESSION_COOKIE_SECURE"] = _switch(env, "SESSION_COOKIE_SECURE", https)
    cfg["PREFERRED_URL_SCHEME"] = "https" if https else "http"  # links built outside a request
    return cfg
