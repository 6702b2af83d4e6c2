"""The settings domain functions use, as one frozen object built once from app.config.

Domain functions are given `settings` (or the one value they need) as an argument; only the
edges (views, webhooks, commands, jobs) fetch it, with current(). So a CSV import, a report
job or a shell can call the domain with a Settings of their own, no request needed.
The SMS backend is built from `settings.sms` (SmsSettings), Twilio credentials included; they
are kept out of its repr so a logged Settings never shows them. SECRET_KEY stays in app.config.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta

from flask import Flask, current_app

_KEY = "scheduler.settings"


@dataclass(frozen=True)
class SmsSettings:
    """Which SMS backend sends the texts, and how it reaches Twilio (see sms.make_backend)."""

    backend: str = "console"
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)
    messaging_service_sid: str = ""
    from_number: str = ""
    api_base_url: str = "https://api.twilio.com"
    timeout_seconds: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping) -> SmsSettings:
        """The SMS settings in a Flask config (missing keys take the defaults above)."""
        return cls(
            backend=config.get("SMS_BACKEND") or "console",
            account_sid=config.get("TWILIO_ACCOUNT_SID") or "",
            auth_token=config.get("TWILIO_AUTH_TOKEN") or "",
            messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID") or "",
            from_number=config.get("TWILIO_FROM_NUMBER") or "",
            api_base_url=(config.get("TWILIO_API_BASE_URL") or cls.api_base_url).rstrip("/"),
            timeout_seconds=float(config.get("SMS_TIMEOUT_SECONDS") or cls.timeout_seconds),
        )


@dataclass(frozen=True)
class Settings:
    """Clinic-wide settings, already checked by config.load (see the README's Configuration)."""

    reminder_offsets: tuple[timedelta, ...]  # longest first
    quiet_hours: tuple[time, time] | None  # the patient's local night; None: texts at any hour
    clinic_sms_name: str
    clinic_phone: str
    group_horizon_weeks: int
    dispatch_batch_size: int
    dispatch_lease_seconds: float
    dispatch_interval_seconds: float
    sms_max_per_second: float
    sms_timeout_seconds: float
    public_base_url: str = ""  # no trailing slash; "" when not behind a public URL
    sms_retry_seconds: float = 30.0  # the first retry's wait; it doubles, at most 15 minutes
    calendar_feeds: str = "off"  # off, on, initials: the default until an admin changes it on /admin
    sms: SmsSettings = SmsSettings()
    demo_replies: bool = False  # staff may send a reply as a patient (console backend only)

    @classmethod
    def from_config(cls, config: Mapping) -> Settings:
        """The settings in a Flask config (or any mapping with config.load's keys)."""
        return cls(
            reminder_offsets=tuple(config["REMINDER_OFFSETS"]),
            quiet_hours=config["QUIET_HOURS"],
            clinic_sms_name=config["CLINIC_SMS_NAME"],
            clinic_phone=config["CLINIC_PHONE"],
            group_horizon_weeks=int(config["GROUP_HORIZON_WEEKS"]),
            dispatch_batch_size=int(config["DISPATCH_BATCH_SIZE"]),
            dispatch_lease_seconds=float(config["DISPATCH_LEASE_SECONDS"]),
            dispatch_interval_seconds=float(config["DISPATCH_INTERVAL_SECONDS"]),
            sms_max_per_second=float(config["SMS_MAX_PER_SECOND"]),
            sms_timeout_seconds=float(config["SMS_TIMEOUT_SECONDS"]),
            public_base_url=(config.get("PUBLIC_BASE_URL") or "").rstrip("/"),
            sms_retry_seconds=float(config.get("SMS_RETRY_SECONDS") or 30),
            calendar_feeds=config.get("CALENDAR_FEEDS") or "off",
            sms=SmsSettings.from_config(config),
            # Checked by config.load; a test's config that skips it still never mixes with Twilio.
            demo_replies=bool(config.get("DEMO_REPLIES")) and (config.get("SMS_BACKEND") or "console") == "console",
        )


def init_app(app: Flask) -> None:
    """Build the app's settings once, after its config is final."""
    app.extensions[_KEY] = Settings.from_config(app.config)


def of(app: Flask) -> Settings:
    """The settings of `app` (outside a request: workers, tests)."""
    return app.extensions[_KEY]


def current() -> Settings:
    """The settings of the app handling this request or command: for edges only."""
    return of(current_app)
