"""Shared test helpers: the pinned clock, an API client, dates by the real clock, small builders."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from scheduler.core import timeutil
from scheduler.models import Enrollment, GroupSeries, Occurrence

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, before the US DST change
PREFIX = "/api/v1"

BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test",
    "SMS_BACKEND": "console",
    "CLINIC_SMS_NAME": "Northside Health",
    "CLINIC_PHONE": "555-0100",
}


class Api:
    """The test client with a bearer token for one staff user."""

    def __init__(self, client, token: str, user_id: int):
        self.client, self.user_id = client, user_id
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, verb):
        method = getattr(self.client, verb)

        def call(path, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return method(f"/api/v1{path}", headers=headers, **kwargs)
        return call


NY = "America/New_York"


def next_monday(weeks: int = 1) -> date:
    """A Monday in the future by the real clock (views read it): next week's, or later."""
    today = datetime.now(ZoneInfo(NY)).date()
    return today + timedelta(days=7 - today.weekday() + 7 * (weeks - 1))


def at(day: date, hh: int, mm: int = 0) -> str:
    """A local wall time without offset, as a client would send it."""
    return f"{day.isoformat()}T{hh:02d}:{mm:02d}"


def ny(day: date | int, hh: int, mm: int = 0, month: int = 3) -> datetime:
    """A New York wall time as an aware UTC instant; an int `day` is that day of `month` 2026."""
    if isinstance(day, int):
        day = date(2026, month, day)
    return timeutil.localize(datetime(day.year, day.month, day.day, hh, mm), NY).astimezone(UTC)


def count(session, model, *where) -> int:
    """How many rows of `model` match `where`."""
    return session.scalar(select(func.count()).select_from(model).where(*where))


def next_dst_changes(tz: str = NY) -> tuple[date, date]:
    """The next spring-forward and fall-back Sundays in `tz`, by the real clock."""
    z = ZoneInfo(tz)
    day = datetime.now(z).date() + timedelta(days=1)
    spring = fall = None
    while spring is None or fall is None:
        before = datetime(day.year, day.month, day.day, 0, tzinfo=z).utcoffset()
        after = datetime(day.year, day.month, day.day, 12, tzinfo=z).utcoffset()
        if after > before and spring is None:
            spring = day
        if after < before and fall is None:
            fall = day
        day += timedelta(days=1)
    return spring, fall


def add_group(session, facilitator_id: int, start: datetime, minutes: int = 60,
              enrolled: tuple[int, ...] = (), waitlisted: tuple[int, ...] = ()) -> int:
    """One group with a single occurrence at `start`, built directly with the models."""
    local = start.astimezone(ZoneInfo(NY))
    group = GroupSeries(title="Evening circle", facilitator_id=facilitator_id, capacity=10,
                        duration_minutes=minutes, timezone=NY, local_start=local.replace(tzinfo=None),
                        created_at=NOW)
    session.add(group)
    session.flush()
    session.add(Occurrence(group_id=group.id, local_date=local.date(), start_dt=start,
                           end_dt=start + timedelta(minutes=minutes), cancelled=False))
    for pid in enrolled:
        session.add(Enrollment(group_id=group.id, patient_id=pid, status="enrolled", created_at=NOW,
                               enrolled_at=NOW))
    for pid in waitlisted:
        session.add(Enrollment(group_id=group.id, patient_id=pid, status="waitlisted", created_at=NOW,
                               waitlisted_at=NOW))
    session.commit()
    return group.id


def book(api, therapist_id, patient_id, start, minutes=60):
    return api.post("/appointments", json={"therapist_id": therapist_id, "patient_id": patient_id,
                                           "start": start, "duration_minutes": minutes})


# --- booking through the API --------------------------------------------------------------


def served(app) -> set[tuple[str, str]]:
    """(path with {params}, method) of every /api/v1 route."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        out |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


