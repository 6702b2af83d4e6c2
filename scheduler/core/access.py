"""Who may see and change what: the one access policy, shared by the API and the staff pages.

Admins and coordinators see every therapist and patient. A therapist sees and changes only their
own calendar (its appointments and the groups they facilitate), and sees only the patients in
their care: those on whose care team a coordinator or admin put them (models.CareTeamMember),
and those enrolled in or waitlisted for a group they facilitate. An appointment, even a
cancelled one, grants nothing by itself, so nothing a therapist does alone widens what they see.
Seeing a patient is not seeing all their care: of a patient shared with others, a therapist sees
the appointments on their own calendar, the meetings of groups they facilitate, and the texts
about those or about no session at all (visible_appointments, visible_groups, visible_messages).

A record the caller may not see is answered exactly as a missing one: `Refused` is a
`NotFound` with the missing record's own message, so the answer (404, same body) tells
nothing; the edge still records the refusal in the audit trail (audit.record_refusal).
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.orm import Session

from scheduler.errors import Forbidden, NotFound
from scheduler.models import (
    Appointment,
    CareTeamMember,
    Enrollment,
    GroupSeries,
    Message,
    Occurrence,
    Patient,
    User,
)
from scheduler.models.enums import EnrollmentStatus, Role

STAFF = (Role.ADMIN, Role.COORDINATOR)  # see everyone
EVERYONE = (Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)


class Refused(NotFound):
    """A record the caller may not see: answered as missing, audited as a refusal."""

    def __init__(self, message: str, field: str | None = None, entity: str = "",
                 entity_id: int | None = None):
        super().__init__(message, field=field)
        self.entity, self.entity_id = entity, entity_id


def require_role(user: User, *allowed: Role) -> None:
    """Refuse unless the user's role is one of `allowed` (403: the route, not a record, is refused)."""
    if user.role not in allowed:
        raise Forbidden("your role may not do this")


def sees_everyone(user: User) -> bool:
    """Admins and coordinators see every therapist and patient."""
    return user.role in STAFF


def may_see_therapist(user: User, therapist_id: int) -> bool:
    """A therapist sees only their own calendar; staff see all."""
    return sees_everyone(user) or (user.role == Role.THERAPIST and user.therapist_id == therapist_id)


def require_therapist(user: User, therapist_id: int, missing: str = "therapist not found",
                      field: str | None = None, entity: str = "therapist",
                      entity_id: int | None = None) -> None:
    """Refuse, as if missing, unless the user may see and change this therapist's calendar.

    `missing`/`field` are what the caller answers for a record that does not exist (e.g. an
    appointment on another calendar answers "appointment not found").
    """
    if not may_see_therapist(user, therapist_id):
        raise Refused(missing, field, entity, therapist_id if entity_id is None else entity_id)


def _in_care(patient_id, therapist_id: int) -> ColumnElement[bool]:
    """On the patient's care team, or enrolled/waitlisted in a group the therapist facilitates."""
    on_team = exists().where(CareTeamMember.patient_id == patient_id,
                             CareTeamMember.therapist_id == therapist_id)
    in_group = exists().where(Enrollment.patient_id == patient_id,
                              Enrollment.status.in_((EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED)),
                              Enrollment.group_id == GroupSeries.id,
                              GroupSeries.facilitator_id == therapist_id)
    return on_team | in_group


def therapist_may_see(session: Session, patient_id: int, therapist_id: int | None) -> bool:
    """The patient is in this therapist's care (see the module docstring)."""
    if therapist_id is None:
        return False
    return bool(session.scalar(select(_in_care(patient_id, therapist_id))))


def may_see_patient(session: Session, user: User, patient_id: int) -> bool:
    """Staff see every patient; a therapist only those in their care."""
    return sees_everyone(user) or (user.role == Role.THERAPIST
                                   and therapist_may_see(session, patient_id, user.therapist_id))


def require_patient(session: Session, user: User, patient_id: int, missing: str = "patient not found",
                    field: str | None = None) -> None:
    """Refuse, as if missing, unless the user may see this patient."""
    if not may_see_patient(session, user, patient_id):
        raise Refused(missing, field, "patient", patient_id)


def require_booking(session: Session, user: User, therapist_id: int, patient_id: int) -> None:
    """A therapist books only on their own calendar and only patients in their care.

    Answered as appointments.book answers a missing therapist or patient, so a therapist
    cannot learn that another's patient exists, nor probe when they are busy (the 409s).
    """
    require_therapist(user, therapist_id, "therapist_id not found", "therapist_id")
    require_patient(session, user, patient_id, "patient_id not found", "patient_id")


def require_appointment(user: User, appointment) -> None:
    """An appointment on another therapist's calendar is answered as missing."""
    require_therapist(user, appointment.therapist_id, "appointment not found",
                      entity="appointment", entity_id=appointment.id)


def require_group(user: User, group) -> None:
    """A therapist sees only the groups they facilitate; another's is answered as missing."""
    require_therapist(user, group.facilitator_id, "group not found", entity="group", entity_id=group.id)


def visible_patients(user: User) -> ColumnElement[bool]:
    """A WHERE clause on Patient that keeps only the patients this user may see (for lists, search)."""
    if sees_everyone(user):
        return true()
    if user.role != Role.THERAPIST or user.therapist_id is None:
        return ~true()
    return _in_care(Patient.id, user.therapist_id)


def visible_appointments(user: User) -> ColumnElement[bool]:
    """A WHERE clause on Appointment: staff see all, a therapist those on their own calendar."""
    if sees_everyone(user):
        return true()
    if user.role != Role.THERAPIST or user.therapist_id is None:
        return ~true()
    return Appointment.therapist_id == user.therapist_id


def visible_groups(user: User, group_id) -> ColumnElement[bool]:
    """A WHERE clause on a column holding a group id: staff see all, a therapist the groups they facilitate."""
    if sees_everyone(user):
        return true()
    if user.role != Role.THERAPIST or user.therapist_id is None:
        return ~true()
    return exists().where(GroupSeries.id == group_id, GroupSeries.facilitator_id == user.therapist_id
                          ).correlate_except(GroupSeries)


def visible_messages(user: User) -> ColumnElement[bool]:
    """A WHERE clause on Message: texts about no session, or about a session the user may see.

    A booking text or a reminder names a time: about another therapist's appointment or group it
    would show a therapist that colleague's schedule with a shared patient.
    """
    if sees_everyone(user):
        return true()
    appointment = Message.appointment_id.is_(None) | exists().where(
        Appointment.id == Message.appointment_id, visible_appointments(user))
    meeting = Message.occurrence_id.is_(None) | exists().where(
        Occurrence.id == Message.occurrence_id, visible_groups(user, Occurrence.group_id))
    seat = Message.enrollment_id.is_(None) | exists().where(
        Enrollment.id == Message.enrollment_id, visible_groups(user, Enrollment.group_id))
    return appointment & meeting & seat
