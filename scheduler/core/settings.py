"""The settings domain functions use, as one frozen object built once from app.config.

Domain functions are given `settings` (or the one value they need) as an argument; only the
edges (views, webhooks, commands, jobs) fetch it, with current(). So a CSV import, a report
job or a shell can call the domain with a Settings of their own, no request needed.
Secrets (Twilio credentials, SECRET_KEY) stay in app.config: the SMS backend reads them there.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta

from flask import Flask, current_app

_KEY = "scheduler.settings"


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
