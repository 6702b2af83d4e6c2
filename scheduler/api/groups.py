"""Group routes: create a recurring group, read it, enrol and drop patients, record attendance."""
from __future__ import annotations

from flask import g

from scheduler.api import bp, now, roles
from scheduler.api.validate import (
    Form,
    datetime_input,
    integer,
    json_body,
    one_of,
    text,
    timezone_name,
)
from scheduler.core import access, audit, timeutil
from scheduler.extensions import db
from scheduler.models import (
    ATTENDANCE_STATUSES,
    Attendance,
    Enrollment,
    GroupSeries,
    Occurrence,
)
from scheduler.scheduling import groups

LOCAL = "%Y-%m-%dT%H:%M"


def occurrence_json(occ: Occurrence, tz: str) -> dict:
    """One meeting: its instants with the group zone's offset, and its local start."""
    return {"id": occ.id, "start": timeutil.iso(occ.start_dt, tz),
            "start_local": occ.start_dt.astimezone(timeutil.zone(tz)).strftime(LOCAL),
            "end": timeutil.iso(occ.end_dt, tz), "cancelled": occ.cancelled}


def group_json(group: GroupSeries, counts: dict[str, int], occurrences: list[Occurrence]) -> dict:
    """A group with roster counts and its next meetings."""
    return {
        "id": group.id, "title": group.title, "facilitator_id": group.facilitator_id,
        "capacity": group.capacity, "location": group.location,
        "duration_minutes": group.duration_minutes, "timezone": group.timezone, "rrule": group.rrule,
        "start": group.local_start.strftime(LOCAL),
        "enrolled": counts["enrolled"], "waitlisted": counts["waitlisted"],
        "next_occurrences": [occurrence_json(o, group.timezone) for o in occurrences],
    }


def enrollment_json(enrollment: Enrollment) -> dict:
    """Enrolled, or waitlisted with a 1-based position."""
    body = {"status": enrollment.status, "enrollment_id": enrollment.id,
            "group_id": enrollment.group_id, "patient_id": enrollment.patient_id}
    if enrollment.status == "waitlisted":
        body["position"] = groups.waitlist_position(db.session, enrollment)
    return body


def attendance_json(row: Attendance) -> dict:
    return {"id": row.id, "occurrence_id": row.occurrence_id, "patient_id": row.patient_id,
            "status": row.status, "confirmed_at": timeutil.iso(row.confirmed_at),
            "recorded_at": timeutil.iso(row.recorded_at)}


@bp.post("/groups")
@roles("admin", "coordinator")
def create_group():
    """Create a recurring group; `start` is the first meeting's wall time in the group's zone."""
    clock = now()
    form = Form(json_body(), ("title", "facilitator_id", "capacity", "start", "duration_minutes",
                              "timezone", "rrule", "location"))
    title = form.get("title", text(200))
    facilitator_id = form.get("facilitator_id", integer(1))
    capacity = form.get("capacity", integer(1, groups.MAX_CAPACITY))
    start = form.get("start", datetime_input)
    minutes = form.get("duration_minutes", integer(groups.MIN_MINUTES, groups.MAX_MINUTES))
    tz = form.get("timezone", timezone_name)
    rule = form.get("rrule", text(500), required=False)
    location = form.get("location", text(200), required=False)
    local_start = None
    if start is not None and tz is not None:
        local_start = groups.wall_time(start, tz)
        errors = groups.series_errors(local_start, tz, rule, clock)
        form.errors.update({k: v for k, v in errors.items() if k not in form.errors})
    form.check()
    group = groups.create_group(db.session, title=title, facilitator_id=facilitator_id,
                                capacity=capacity, local_start=local_start, duration_minutes=minutes,
                                timezone=tz, rrule=rule, location=location, now=clock)
    body = group_json(group, groups.roster_counts(db.session, group.id),
                      groups.next_occurrences(db.session, group, clock))
    audit.record(db.session, "create", "group", group.id, clock)
    body = body, 201
    db.session.commit()
    return body


@bp.get("/groups/<int:group_id>")
@roles("admin", "coordinator", "therapist")
def get_group(group_id: int):
    """A group with roster counts (audited: it describes patients) and its next meetings."""
    clock = now()
    group = groups.get_group(db.session, group_id)
    access.require_group(g.user, group)
    body = group_json(group, groups.roster_counts(db.session, group.id),
                      groups.next_occurrences(db.session, group, clock))
    audit.record(db.session, "read", "group", group.id, clock)
    body = body
    db.session.commit()
    return body


@bp.post("/groups/<int:group_id>/enrollments")
@roles("admin", "coordinator")
def enroll_patient(group_id: int):
    """Enrol a patient, or waitlist them when the group is full."""
    clock = now()
    form = Form(json_body(), ("patient_id",))
    patient_id = form.get("patient_id", integer(1))
    form.check()
    enrollment = groups.enroll(db.session, group_id, patient_id, clock)
    body = enrollment_json(enrollment)
    audit.record(db.session, "create", "enrollment", enrollment.id, clock)
    body = body, 201
    db.session.commit()
    return body


@bp.delete("/groups/<int:group_id>/enrollments/<int:patient_id>")
@roles("admin", "coordinator")
def drop_enrollment(group_id: int, patient_id: int):
    """Drop a patient; a freed seat goes to the first waitlisted patient, who is told by text."""
    clock = now()
    dropped, promoted = groups.drop(db.session, group_id, patient_id, clock)
    body = {"status": "dropped", "enrollment_id": dropped.id,
            "promoted_patient_ids": [e.patient_id for e in promoted]}
    audit.record(db.session, "delete", "enrollment", dropped.id, clock)
    for enrollment in promoted:
        audit.record(db.session, "update", "enrollment", enrollment.id, clock)
    body = body
    db.session.commit()
    return body


@bp.post("/groups/<int:group_id>/occurrences/<int:occurrence_id>/attendance")
@roles("admin", "coordinator", "therapist")
def record_occurrence_attendance(group_id: int, occurrence_id: int):
    """Record a patient's attended / no_show / late_cancelled for a meeting that has started."""
    clock = now()
    form = Form(json_body(), ("patient_id", "status"))
    patient_id = form.get("patient_id", integer(1))
    status = form.get("status", one_of(*ATTENDANCE_STATUSES))
    form.check()
    access.require_group(g.user, groups.get_group(db.session, group_id))
    access.require_patient(db.session, g.user, patient_id, "patient_id not found", "patient_id")
    row = groups.record_attendance(db.session, group_id, occurrence_id, patient_id, status, clock,
                                   g.user.id)
    body = attendance_json(row)
    audit.record(db.session, "update", "attendance", row.id, clock)
    body = body
    db.session.commit()
    return body
