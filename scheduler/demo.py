"""A believable demo clinic for an empty database: therapists, discharged patients, a group, a week booked."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler import demo_history
from scheduler.aftercare import followups
from scheduler.core import auth, timeutil
from scheduler.core.settings import Settings
from scheduler.errors import DomainError
from scheduler.models import (
    GroupSeries,
    Language,
    Patient,
    Role,
    Therapist,
    User,
)
from scheduler.scheduling import appointments, groups, patients, replies, roster, therapists

TZ, SESSION_MINUTES = demo_history.TZ, demo_history.SESSION_MINUTES

# (name, email, weekdays Mon=0, start, end): fictional clinicians with ordinary weekly hours.
THERAPISTS = (
    ("Dana Reyes", "dana.reyes@demo.clinic", (0, 1, 2, 3, 4), "09:00", "17:00"),
    ("Marcus Lee", "marcus.lee@demo.clinic", (6, 0, 1, 2, 3), "12:00", "20:00"),  # Sundays too: someone is always in
    ("Priya Natarajan", "priya.natarajan@demo.clinic", (1, 2, 3, 4, 5), "08:00", "16:00"),
)
PATIENT_NAMES = (
    "Alex Morgan", "Lucia Fernandez", "Jordan Price", "Mateo Alvarez", "Casey Brooks",
    "Sofia Romero", "Taylor Nguyen", "Diego Castillo", "Riley Chen", "Valentina Cruz",
    "Morgan Patel", "Javier Ortiz", "Jamie Foster", "Camila Herrera", "Avery Collins",
    "Andres Molina", "Quinn Harper", "Gabriela Rios", "Drew Sullivan", "Elena Vargas",
)
GROUP = {"title": "Tuesday evening group", "weekday": 1, "start": time(18, 0), "minutes": 90,
         "capacity": 8, "rrule": "FREQ=WEEKLY", "location": "Room 2"}
ENROLLED, WAITLISTED = 8, 3


class NotEmpty(DomainError):
    """The demo fills only an empty database."""


@dataclass
class DemoResult:
    """What the operator needs to try the demo: logins and one admin API token."""

    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, email, password)
    admin_token: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def is_empty(session: Session) -> bool:
    """True when no staff, therapist, patient or group exists yet."""
    return not any(session.scalar(select(func.count()).select_from(model))
                   for model in (User, Therapist, Patient, GroupSeries))


def _password() -> str:
    # Random per install: a demo database that ends up reachable must not have known logins.
    return secrets.token_urlsafe(12)


def _staff(session: Session, result: DemoResult, email: str, role: str, now: datetime,
           therapist_id: int | None = None) -> User:
    password = _password()
    user = auth.create_user(session, email, role, now, password=password, therapist_id=therapist_id)
    result.logins.append((role, email, password))
    return user


def _therapists(session: Session, result: DemoResult, now: datetime) -> list[Therapist]:
    out = []
    for name, email, days, start, end in THERAPISTS:
        t = therapists.create(session, name, email, TZ, now)
        rules = [(day, time.fromisoformat(start), time.fromisoformat(end)) for day in days]
        therapists.set_availability(session, t.id, rules, None, now)
        _staff(session, result, email, Role.THERAPIST, now, therapist_id=t.id)
        out.append(t)
    return out


def _patients(session: Session, now: datetime) -> list[Patient]:
    today = timeutil.local_date_of(now, TZ)
    out = []
    for i, name in enumerate(PATIENT_NAMES):
        out.append(patients.create_patient(
            session, name=name, phone=f"+1201555{101 + i:04d}", timezone=TZ, sms_consent=True,
            now=now, source="demo", language=Language.ES if i % 3 == 1 else Language.EN,
            discharge_date=today - timedelta(days=1 + i)))  # the last three weeks, one a day
    return out


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7 or 7)


def _group(session: Session, facilitator: Therapist, members: list[Patient], now: datetime,
           settings: Settings) -> GroupSeries:
    """The weekly evening group: the first members fill its seats, the rest wait in order."""
    first = _next_weekday(timeutil.local_date_of(now, TZ), GROUP["weekday"])
    group = groups.create_group(
        session, title=GROUP["title"], facilitator_id=facilitator.id, capacity=GROUP["capacity"],
        local_start=datetime.combine(first, GROUP["start"]), duration_minutes=GROUP["minutes"],
        timezone=TZ, rrule=GROUP["rrule"], location=GROUP["location"], now=now,
        settings=settings)
    for i, patient in enumerate(members):
        # A microsecond apart, so the waitlist has a clear first-come order.
        roster.enroll(session, group.id, patient.id, now + timedelta(microseconds=i), settings=settings)
    return group


def _local(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm))


def _week_of_appointments(session: Session, staff: list[Therapist], people: list[Patient],
                          now: datetime, booked_by: int, settings: Settings) -> int:
    """Everyone's weekly session over the next seven days, inside their therapist's hours; the first
    ones later today, so today's page has sessions still to come."""
    today = timeutil.local_date_of(now, TZ)
    slots = []
    for therapist, (_, _, days, start, end) in zip(staff, THERAPISTS, strict=False):
        if today.weekday() in days:
            later = [_local(today, f"{hour:02d}:00") for hour in range(int(start[:2]), int(end[:2]))]
            slots += [(therapist, at) for at in later if timeutil.localize(at, TZ) > now + timedelta(minutes=30)][:2]
    for offset in range(1, 8):
        day = today + timedelta(days=offset)
        for therapist, (_, _, days, start, _end) in zip(staff, THERAPISTS, strict=False):
            if day.weekday() in days:
                first = int(start[:2]) + 1
                slots += [(therapist, _local(day, f"{hour:02d}:00")) for hour in (first, first + 3)]
    booked = 0
    for patient in people:
        while slots:
            therapist, start = slots.pop(0)
            try:
                appointments.book(session, therapist.id, patient.id, start, SESSION_MINUTES, now,
                                  booked_by, settings=settings)
            except DomainError:
                continue  # that person is busy then (their group): try the next free slot
            booked += 1
            break
    return booked


# What three patients texted back about their coming session, taken in as the webhook takes a text in
# (scheduling.replies.handle) and marked simulated: no phone took part.
REPLIES = ("C", "R", "Running late from work, is 15 min ok?")


def _replies(session: Session, people: list[Patient], now: datetime, settings: Settings) -> int:
    """The last booked patients' replies: a C confirms, an R and a question become tasks for staff."""
    for patient, body in zip(reversed(people), REPLIES, strict=False):
        replies.handle(session, patient.phone, body, None, now, settings, simulated=True)
    return len(REPLIES)


def _past_hours(therapist: tuple) -> tuple[tuple[int, ...], int, int]:
    """Weekdays and whole starting hours for past sessions: inside the hours, before the evening group."""
    _, _, days, start, end = therapist
    return days, int(start[:2]), min(int(end[:2]) - 1, GROUP["start"].hour - 2)


def seed(session: Session, now: datetime, settings: Settings) -> DemoResult:
    """Fill an EMPTY database with the demo clinic; NotEmpty otherwise. The caller commits."""
    if not is_empty(session):
        raise NotEmpty("the database already has data; the demo only fills an empty database")
    result = DemoResult()
    admin = _staff(session, result, "admin@demo.clinic", Role.ADMIN, now)
    coordinator = _staff(session, result, "coordinator@demo.clinic", Role.COORDINATOR, now)
    staff = _therapists(session, result, now)
    people = _patients(session, now)
    # Those with nothing booked stay out of the group and the coming week: the follow-up pass flags them.
    booked_people = [p for i, p in enumerate(people) if i not in demo_history.NO_FUTURE]
    group = _group(session, staff[1], booked_people[:ENROLLED + WAITLISTED], now, settings)
    # Booked by the coordinator, which puts each therapist on their patients' care teams.
    booked = _week_of_appointments(session, staff, booked_people, now, coordinator.id, settings)
    history = demo_history.seed(session, staff, [_past_hours(t) for t in THERAPISTS], people, group, now)
    texted = _replies(session, booked_people, now, settings)
    tasks = followups.run(session, now)
    result.admin_token = auth.issue_token(session, admin, now)
    result.counts = {"therapists": len(staff), "patients": len(people) + history["older_discharges"],
                     "group": group.id, "appointments": booked, **history, "replies": texted,
                     "tasks": sum(tasks.values())}
    return result
