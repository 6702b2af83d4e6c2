"""Numbers that opted out, remembered apart from patients: STOP binds the number, not the record.

A STOP from a number no patient has yet, or a carrier's 21610, is kept here; a patient
registered later with that number (or moved to it) starts opted out until they text START.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scheduler.core import audit
from scheduler.core.db import insert_ignore
from scheduler.messaging import reminders
from scheduler.models import Direction, Message, OptedOutNumber, Patient, Task, TaskKind


def opt_out(session: Session, patient: Patient, now: datetime) -> bool:
    """Stop all texts to the patient at once: mark opted out, withdraw pending ones, audit it.

    False if already opted out. Every way a STOP arrives (a reply, the carrier's 21610 as an
    answer or as a delivery status) comes through here.
    """
    if patient.opted_out_at is not None:
        return False
    patient.opted_out_at = now
    remember(session, patient.phone, now)
    reminders.withdraw(session, now, Message.patient_id == patient.id, Message.direction == Direction.OUT,
                       why="patient opted out")
    audit.record(session, "opt_out", "patient", patient.id, now)  # no user: the patient did it
    return True


def opt_in(session: Session, patient: Patient, now: datetime) -> bool:
    """The patient texted START: texts may go to them again (the caller replans). True if they were opted out."""
    was_out = patient.opted_out_at is not None
    patient.opted_out_at = None
    forget(session, patient.phone)
    if was_out:
        audit.record(session, "opt_in", "patient", patient.id, now)
    return was_out


def remember(session: Session, phone: str | None, now: datetime) -> None:
    """Record that `phone` (E.164) opted out; the first record is kept."""
    if phone:
        insert_ignore(session, OptedOutNumber, [{"phone": phone, "opted_out_at": now}], "phone")


def forget(session: Session, phone: str | None) -> None:
    """The number texted START: it may be texted again."""
    if phone:
        session.execute(delete(OptedOutNumber).where(OptedOutNumber.phone == phone))


def apply_to(session: Session, patient: Patient, now: datetime) -> bool:
    """A patient given a number that opted out starts opted out, and staff are told; True if so."""
    since = session.scalar(select(OptedOutNumber.opted_out_at).where(OptedOutNumber.phone == patient.phone))
    if since is None or patient.opted_out_at is not None:
        return False
    patient.opted_out_at = since
    session.flush()  # the task needs the patient's id
    session.add(Task(patient_id=patient.id, kind=TaskKind.OPT_OUT, created_at=now,
                     detail="This number texted STOP before it was given to this patient: "
                            "no texts until the patient texts START"))
    return True
