"""Care teams: which therapists are in charge of a patient (who may see and book them: core.access).

Coordinators and admins set a patient's team (`therapist_ids`), and booking a patient with a
therapist puts that therapist on it. Nothing a therapist does alone adds anyone.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from scheduler.core.db import insert_ignore
from scheduler.errors import Invalid
from scheduler.models import CareTeamMember, Patient, Therapist, User
from scheduler.models.enums import Role

MAX_TEAM = 50


def parse_ids(value) -> list[int]:
    """A JSON list of therapist ids, deduplicated in order; ValueError naming what is wrong."""
    if not isinstance(value, list):
        raise ValueError("must be a list of therapist ids")
    if len(value) > MAX_TEAM:
        raise ValueError(f"at most {MAX_TEAM} therapists")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise ValueError("must be a list of therapist ids (whole numbers)")
    return list(dict.fromkeys(value))


def _known(session: Session, therapist_ids: list[int]) -> None:
    found = set(session.scalars(select(Therapist.id).where(Therapist.id.in_(therapist_ids))))
    missing = [i for i in therapist_ids if i not in found]
    if missing:
        raise Invalid({"therapist_ids": f"no therapist with id {', '.join(map(str, missing))}"})


def set_team(session: Session, patient: Patient, therapist_ids: list[int], now: datetime,
             user_id: int | None) -> None:
    """Make the patient's care team exactly `therapist_ids` (staff only; the caller checked the role)."""
    _known(session, therapist_ids)
    session.execute(delete(CareTeamMember).where(CareTeamMember.patient_id == patient.id,
                                                 CareTeamMember.therapist_id.not_in(therapist_ids)))
    add(session, patient.id, therapist_ids, now, user_id)
    session.expire(patient, ["care_team"])


def add(session: Session, patient_id: int, therapist_ids: list[int], now: datetime,
        user_id: int | None) -> int:
    """Put therapists on a patient's team (those already there stay as they were); returns rows added."""
    if not therapist_ids:
        return 0
    return insert_ignore(session, CareTeamMember, [
        {"patient_id": patient_id, "therapist_id": t, "added_at": now, "added_by": user_id}
        for t in therapist_ids], ("patient_id", "therapist_id"))


def joins_on_booking(session: Session, user_id: int | None) -> bool:
    """Whether a booking by this user puts the therapist on the patient's team: a coordinator's or an admin's."""
    user = session.get(User, user_id) if user_id is not None else None
    return user is not None and user.role in (Role.ADMIN, Role.COORDINATOR)


def booked_by(session: Session, user_id: int | None, patient_id: int, therapist_id: int,
              now: datetime) -> None:
    """A coordinator or admin booking a patient with a therapist puts the therapist on the team.

    appointments.book does this in its own INSERT on PostgreSQL (joining_statement).
    """
    if joins_on_booking(session, user_id):
        add(session, patient_id, [therapist_id], now, user_id)


def joining_statement(booked, when: str = "joins"):
    """An INSERT putting the booked therapist on the team of the booked patient when the
    parameter `when` is true (see joins_on_booking), from `booked` (a CTE with both ids);
    an existing member stays as they were. PostgreSQL."""
    table = CareTeamMember.__table__
    rows = select(booked.c.patient_id, booked.c.therapist_id, bindparam("at", type_=table.c.added_at.type),
                  bindparam("user_id", type_=table.c.added_by.type)).where(bindparam(when, type_=Boolean))
    return pg_insert(table).from_select(["patient_id", "therapist_id", "added_at", "added_by"], rows) \
        .on_conflict_do_nothing(index_elements=["patient_id", "therapist_id"])
