"""Patients: SMS consent, discharges, who may see a record, and the SMS log."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.aftercare import plans
from scheduler.core import access, timeutil
from scheduler.core.db import lock
from scheduler.core.settings import Settings
from scheduler.errors import Conflict, Invalid, NotFound
from scheduler.messaging import optouts, reminders
from scheduler.models import Discharge, Language, Message, MessageStatus, Patient, SkipReason, User
from scheduler.scheduling import care_teams

# A discharge may be entered a little ahead (aftercare is planned before someone leaves),
# but not so far that it is surely a typo.
DISCHARGE_MAX_AHEAD = timedelta(days=30)
DISCHARGE_EARLIEST = date(2000, 1, 1)


def get_patient(session: Session, patient_id: int) -> Patient:
    """The patient, or NotFound."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("patient not found")
    return patient


def _phone_free(session: Session, phone: str, patient_id: int | None = None) -> None:
    """Inbound texts are matched by number, so two patients may never share one."""
    query = select(Patient.id).where(Patient.phone == phone)
    if patient_id is not None:
        query = query.where(Patient.id != patient_id)
    if session.scalar(query) is not None:
        raise Conflict("another patient already has this phone number", field="phone")


def _check_discharge(day: date, tz: str, now: datetime) -> None:
    today = timeutil.local_date_of(now, tz)
    if day < DISCHARGE_EARLIEST:
        raise Invalid({"discharge_date": "is too far in the past"})
    if day > today + DISCHARGE_MAX_AHEAD:
        raise Invalid({"discharge_date": "must not be more than 30 days ahead"})


def add_discharge(session: Session, patient: Patient, day: date, now: datetime) -> bool:
    """Record a discharge on `day`; the same date twice is one discharge. True when added."""
    _check_discharge(day, patient.timezone, now)
    if any(d.discharge_date == day for d in patient.discharges):
        return False
    patient.discharges.append(Discharge(discharge_date=day))
    plans.readmit_older(patient, now)  # a newer discharge ends the older plan as readmitted
    return True


def set_consent(patient: Patient, consent: bool, now: datetime, source: str) -> None:
    """Consent is recorded with when and through what it was given; withdrawing keeps the old record."""
    if consent and not patient.sms_consent:
        patient.consent_at = now
        patient.consent_source = source[:100]
    patient.sms_consent = consent


def birth_date_valid(day: date | None, now: datetime) -> None:
    """A date of birth is a past day of a living person's life (a day's slack for time zones)."""
    if day is not None and not date(1900, 1, 1) <= day <= (now + timedelta(days=1)).date():
        raise Invalid({"date_of_birth": "must be from 1900-01-01 to today"})


def create_patient(session: Session, *, name: str, phone: str, timezone: str, sms_consent: bool,
                   now: datetime, source: str, language: str = Language.EN,
                   discharge_date: date | None = None, therapist_ids: list[int] | None = None,
                   user_id: int | None = None, date_of_birth: date | None = None) -> Patient:
    """Register a patient (phone already E.164), with consent, an optional discharge and care team."""
    _phone_free(session, phone)
    birth_date_valid(date_of_birth, now)
    patient = Patient(name=name, phone=phone, timezone=timezone, language=language,
                      date_of_birth=date_of_birth, sms_consent=False, created_at=now)
    set_consent(patient, sms_consent, now, source)
    if discharge_date is not None:
        add_discharge(session, patient, discharge_date, now)
    session.add(patient)
    session.flush()
    if therapist_ids:
        care_teams.set_team(session, patient, therapist_ids, now, user_id)
    optouts.apply_to(session, patient, now)  # a number that texted STOP stays opted out
    return patient


def update_patient(session: Session, patient_id: int, changes: dict, now: datetime,
                   source: str, *, settings: Settings, user_id: int | None = None) -> Patient:
    """Apply the given changes: name, phone, timezone, language, sms_consent, discharge_date, therapist_ids."""
    patient = lock(session, Patient, patient_id, "patient")
    texted = (patient.phone, patient.timezone, patient.language, patient.sms_consent)
    if "phone" in changes and changes["phone"] != patient.phone:
        _phone_free(session, changes["phone"], patient.id)
        patient.phone = changes["phone"]
        optouts.apply_to(session, patient, now)
    if "name" in changes:
        patient.name = changes["name"]
    if "language" in changes:
        patient.language = changes["language"]
    if "date_of_birth" in changes:
        birth_date_valid(changes["date_of_birth"], now)
        patient.date_of_birth = changes["date_of_birth"]
    if "discharge_date" in changes:
        add_discharge(session, patient, changes["discharge_date"], now)
    if "sms_consent" in changes:
        # A STOP the patient texted stays in force: only their START lifts it (opted_out_at).
        set_consent(patient, changes["sms_consent"], now, source)
    if "timezone" in changes:
        patient.timezone = changes["timezone"]
    if (patient.phone, patient.timezone, patient.language, patient.sms_consent) != texted:
        # Quiet hours are the patient's local night, and consent decides whether texts exist.
        reminders.replan_patient(session, patient, now, settings=settings)
    if "therapist_ids" in changes:
        care_teams.set_team(session, patient, changes["therapist_ids"], now, user_id)
    session.flush()
    return patient


def search(session: Session, query: str, visible, limit: int = 20) -> list[Patient]:
    """Patients whose name contains `query`, or whose phone contains its digits, by name.

    `visible` is the caller's access clause (core.access.visible_patients): search never
    reveals a patient the caller may not see.
    """
    query = (query or "").replace("\x00", "").strip()[:100]  # PostgreSQL text cannot hold a NUL
    stmt = select(Patient).where(visible).order_by(Patient.name, Patient.id).limit(limit)
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        by_name = func.lower(Patient.name).contains(query.lower(), autoescape=True)
        stmt = stmt.where(by_name | Patient.phone.contains(digits, autoescape=True) if len(digits) >= 3 else by_name)
    return list(session.scalars(stmt))


def same_name(a: str, b: str) -> bool:
    """One person's name typed twice: case and spacing aside ("ana  ruiz" is "Ana Ruiz")."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def possible_duplicates(session: Session, *, name: str, phone: str | None, date_of_birth: date | None,
                        exclude_id: int | None = None) -> list[Patient]:
    """Patients who may be this person: the same phone, or the same name and date of birth.

    The one rule the form warns by and the import refuses by, so the two never disagree.
    """
    same_phone = Patient.phone == phone if phone else None
    same_birth = Patient.date_of_birth == date_of_birth if date_of_birth is not None else None
    clauses = [c for c in (same_phone, same_birth) if c is not None]
    if not clauses:
        return []
    stmt = select(Patient).where(clauses[0] if len(clauses) == 1 else clauses[0] | clauses[1])
    if exclude_id is not None:
        stmt = stmt.where(Patient.id != exclude_id)
    found = session.scalars(stmt.order_by(Patient.id)).all()
    return [p for p in found if (phone and p.phone == phone)
            or (date_of_birth is not None and p.date_of_birth == date_of_birth and same_name(p.name, name))]


def by_ids(session: Session, ids) -> dict[int, Patient]:
    """The patients with these ids, in one query (they land in the identity map)."""
    ids = set(ids)
    return {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))} if ids else {}


# Texts that were never going to matter: withdrawn, or skipped because what they were about
# changed (cancelled, moved, dropped, booked again). A skip the patient should have had a text
# for (no consent, opted out, quiet hours, a worker too late) stays in the log.
SUPERSEDED = (SkipReason.CANCELLED, SkipReason.NOT_CANCELLED, SkipReason.TIME_CHANGED, SkipReason.DROPPED,
              SkipReason.NO_UPCOMING_SESSION, SkipReason.NO_SESSION, SkipReason.NOT_MISSED,
              SkipReason.BOOKED_AGAIN)


def message_log(session: Session, patient_id: int, viewer: User, limit: int = 100) -> list[Message]:
    """The patient's page's Messages: newest first by when each text went, is due or came in,
    without the texts withdrawn or superseded before they were sent (`viewer` as messages())."""
    get_patient(session, patient_id)
    moment = func.coalesce(Message.sent_at, Message.due_at, Message.created_at)
    superseded = func.coalesce(Message.skip_reason, "").in_([str(reason) for reason in SUPERSEDED])
    noise = (Message.status == MessageStatus.WITHDRAWN) | ((Message.status == MessageStatus.SKIPPED) & superseded)
    return list(session.scalars(select(Message).where(Message.patient_id == patient_id, ~noise,
                                                      access.visible_messages(viewer))
                                .order_by(moment.desc(), Message.id.desc()).limit(limit)))


def messages(session: Session, patient_id: int, viewer: User, limit: int | None = None) -> list[Message]:
    """The patient's texts `viewer` may see (access.visible_messages), in and out, newest first
    (the newest `limit` of them, if given)."""
    get_patient(session, patient_id)
    return list(session.scalars(select(Message).where(Message.patient_id == patient_id,
                                                      access.visible_messages(viewer))
                                .order_by(Message.id.desc()).limit(limit)))
