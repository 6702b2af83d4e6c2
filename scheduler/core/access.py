"""Who may see and change what: the one access policy, shared by the API and the staff pages.

Admins and coordinators see every therapist and patient. A therapist sees and changes only their
own calendar, and sees only the patients in their care. The views call these functions and never
decide access themselves; a refusal is a `Forbidden` the edge turns into its own answer.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.orm import Session

from scheduler.errors import Forbidden
from scheduler.models import Appointment, Enrollment, GroupSeries, Patient, User
from scheduler.models.enums import EnrollmentStatus, Role

STAFF = (Role.ADMIN, Role.COORDINATOR)  # see everyone
EVERYONE = (Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)


def require_role(user: User, *allowed: Role) -> None:
    """Refuse unless the user's role is one of `allowed`."""
    if user.role not in allowed:
        raise Forbidden("your role may not do this")


def sees_everyone(user: User) -> bool:
    """Admins and coordinators see every therapist and patient."""
    return user.role in STAFF


def may_see_therapist(user: User, therapist_id: int) -> bool:
    """A therapist sees only their own calendar; staff see all."""
    return sees_everyone(user) or (user.role == Role.THERAPIST and user.therapist_id == therapist_id)


def require_therapist(user: User, therapist_id: int) -> None:
    """Refuse unless the user may see and change this therapist's calendar."""
    if not may_see_therapist(user, therapist_id):
        raise Forbidden("not your calendar")


def therapist_may_see(session: Session, patient_id: int, therapist_id: int | None) -> bool:
    """A therapist sees a patient they have an appointment with or whose group they facilitate."""
    if therapist_id is None:
        return False
    has_appointment = exists().where(Appointment.patient_id == patient_id,
                                     Appointment.therapist_id == therapist_id)
    in_group = exists().where(Enrollment.patient_id == patient_id,
                              Enrollment.status.in_((EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED)),
                              Enrollment.group_id == GroupSeries.id,
                              GroupSeries.facilitator_id == therapist_id)
    return bool(session.scalar(select(has_appointment | in_group)))


def may_see_patient(session: Session, user: User, patient_id: int) -> bool:
    """Staff see every patient; a therapist only those in their care."""
    return sees_everyone(user) or (user.role == Role.THERAPIST
                                   and therapist_may_see(session, patient_id, user.therapist_id))


def require_patient(session: Session, user: User, patient_id: int) -> None:
    """Refuse unless the user may see this patient."""
    if not may_see_patient(session, user, patient_id):
        raise Forbidden("not a patient in your care")


def visible_patients(user: User) -> ColumnElement[bool]:
    """A WHERE clause on Patient that keeps only the patients this user may see (for lists, search)."""
    if sees_everyone(user):
        return true()
    if user.role != Role.THERAPIST or user.therapist_id is None:
        return ~true()
    has_appointment = exists().where(Appointment.patient_id == Patient.id,
                                     Appointment.therapist_id == user.therapist_id)
    in_group = exists().where(Enrollment.patient_id == Patient.id,
                              Enrollment.status.in_((EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED)),
                              Enrollment.group_id == GroupSeries.id,
                              GroupSeries.facilitator_id == user.therapist_id)
    return has_appointment | in_group
