"""Group routes: create a recurring group, read it, enrol and drop patients, record attendance."""
from __future__ import annotations

from flask import g

from scheduler import schemas
from scheduler.api import audited, bp, endpoint, now, roles
from scheduler.core import access, settings
from scheduler.extensions import db
from scheduler.models import Enrollment, GroupSeries
from scheduler.models.enums import EnrollmentStatus, Role
from scheduler.scheduling import groups, roster


def _series_errors(data: dict) -> dict[str, str]:
    """The start and rule checks, when start and timezone are valid on their own."""
    fields = schemas.valid_fields(schemas.GroupCreate, data, ("start", "timezone", "rrule"))
    if "start" not in fields or "timezone" not in fields:
        return {}
    local_start = groups.wall_time(fields["start"], fields["timezone"])
    return groups.series_errors(local_start, fields["timezone"], fields.get("rrule"), now())


def _with_roster(group: GroupSeries, clock) -> schemas.Record:
    """The group with its roster counts (enrolled, waitlisted) and its next meetings."""
    counts = roster.roster_counts(db.session, group.id)
    return schemas.Record(group, enrolled=counts[EnrollmentStatus.ENROLLED],
                          waitlisted=counts[EnrollmentStatus.WAITLISTED],
                          next_occurrences=groups.next_occurrences(db.session, group, clock))


def _placed(enrollment: Enrollment) -> Enrollment | schemas.Record:
    """A waitlisted enrollment with its 1-based place in line."""
    if enrollment.status != EnrollmentStatus.WAITLISTED:
        return enrollment
    return schemas.Record(enrollment, position=roster.waitlist_position(db.session, enrollment))


@bp.post("/groups")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Group, body=schemas.GroupCreate, status=201, conflict=True, cross_check=_series_errors)
def create_group(body: schemas.GroupCreate):
    """Create a recurring group; `start` is the first meeting's wall time in the group's zone."""
    clock = now()
    group = groups.create_group(db.session, title=body.title, facilitator_id=body.facilitator_id,
                                capacity=body.capacity, local_start=groups.wall_time(body.start, body.timezone),
                                duration_minutes=body.duration_minutes, timezone=body.timezone,
                                rrule=body.rrule, location=body.location, now=clock, settings=settings.current(),
                                cancel_clashing=body.cancel_clashing)
    return audited("create", "group", group.id, _with_roster(group, clock), group.timezone)


@bp.get("/groups/<int:group_id>")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Group)
def get_group(group_id: int):
    """A group with roster counts (audited: it describes patients) and its next meetings."""
    group = groups.get_group(db.session, group_id)
    access.require_group(g.user, group)
    return audited("read", "group", group.id, _with_roster(group, now()), group.timezone)


@bp.post("/groups/<int:group_id>/enrollments")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Enrollment, body=schemas.EnrollmentCreate, status=201, conflict=True)
def enroll_patient(group_id: int, body: schemas.EnrollmentCreate):
    """Enrol a patient, or waitlist them when the group is full."""
    enrollment = roster.enroll(db.session, group_id, body.patient_id, now(), settings=settings.current())
    return audited("create", "enrollment", enrollment.id, _placed(enrollment))


@bp.delete("/groups/<int:group_id>/enrollments/<int:patient_id>")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Dropped, conflict=True)
def drop_enrollment(group_id: int, patient_id: int):
    """Drop a patient; a freed seat goes to the first waitlisted patient, who is told by text."""
    dropped, promoted = roster.drop(db.session, group_id, patient_id, now(), settings=settings.current())
    body = {"status": "dropped", "enrollment_id": dropped.id,
            "promoted_patient_ids": [e.patient_id for e in promoted]}
    return audited("delete", "enrollment", dropped.id, body,
                   also=tuple(("update", "enrollment", e.id) for e in promoted))


@bp.post("/groups/<int:group_id>/occurrences/<int:occurrence_id>/attendance")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Attendance, body=schemas.OccurrenceAttendance, conflict=True)
def record_occurrence_attendance(group_id: int, occurrence_id: int, body: schemas.OccurrenceAttendance):
    """Record a patient's attended / no_show / late_cancelled for a meeting that has started."""
    access.require_group(g.user, groups.get_group(db.session, group_id))
    access.require_patient(db.session, g.user, body.patient_id, "patient_id not found", "patient_id")
    row = roster.record_attendance(db.session, group_id, occurrence_id, body.patient_id, body.status,
                                   now(), g.user.id)
    return audited("update", "attendance", row.id, row)
