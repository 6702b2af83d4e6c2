"""`/groups`: recurring groups for coordinators and admins (a therapist sees the ones they facilitate).

Create and edit a group with a preview of its meetings' local times (htmx, or the Preview
button without JavaScript); on the group's page, the next meetings, the roster (Enrolled, then
the Waitlist in order), enroll, drop, cancel one meeting, and attendance for a meeting.
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import func, select

from scheduler import schemas
from scheduler.core import access, audit, settings, timeutil
from scheduler.core.clock import now
from scheduler.errors import DomainError, Invalid, NotFound
from scheduler.extensions import db
from scheduler.models import ATTENDANCE_STATUSES, Enrollment, GroupSeries, Occurrence, Patient, Therapist
from scheduler.scheduling import group_changes, groups, patients, roster, therapists
from scheduler.web import bp, roles, user
from scheduler.web.forms import FormState, parse_int, parse_into
from scheduler.web.helpers import done_before, new_form_id, remember, when, zone_names

STAFF = ("admin", "coordinator")
# The domain's field names -> this form's.
ALIASES = {"start": "first_meeting", "rrule": "meetings", "duration_minutes": "duration",
           "facilitator_id": "facilitator", "patient_id": "patient"}
ATTENDANCE_LABELS = {"attended": "Attended", "no_show": "No-show", "late_cancelled": "Late cancel"}


def _facilitators() -> list[tuple[int, str]]:
    return therapists.names(db.session)


def _visible_group(group_id: int) -> GroupSeries:
    """The group, if this user may see it: staff see all, a therapist the ones they facilitate."""
    group = groups.get_group(db.session, group_id)
    access.require_group(user(), group)  # the same answer whether or not it exists
    return group


# --- the list -------------------------------------------------------------------------------


@bp.get("/groups")
@roles("admin", "coordinator", "therapist")
def groups_list():
    """Every group (a therapist: those they facilitate) with its next meeting and roster counts."""
    clock = now()
    stmt = select(GroupSeries).order_by(GroupSeries.title, GroupSeries.id)
    if not access.sees_everyone(user()):
        stmt = stmt.where(GroupSeries.facilitator_id == user().therapist_id)
    rows = db.session.scalars(stmt).all()
    ids = [g.id for g in rows]
    counts = {(gid, status): n for gid, status, n in db.session.execute(
        select(Enrollment.group_id, Enrollment.status, func.count()).where(
            Enrollment.group_id.in_(ids), Enrollment.status != "dropped").group_by(Enrollment.group_id,
                                                                                 Enrollment.status))}
    nexts = dict(db.session.execute(select(Occurrence.group_id, func.min(Occurrence.start_dt)).where(
        Occurrence.group_id.in_(ids), Occurrence.cancelled.is_(False), Occurrence.start_dt > clock
    ).group_by(Occurrence.group_id)).all())
    names = dict(_facilitators())
    listed = [{"group": g, "facilitator": names.get(g.facilitator_id, ""),
               "enrolled": counts.get((g.id, "enrolled"), 0), "waitlisted": counts.get((g.id, "waitlisted"), 0),
               "next": when(nexts.get(g.id), g.timezone)} for g in rows]
    return render_template("groups/list.html", rows=listed, may_create=access.sees_everyone(user()))


# --- new and edit ---------------------------------------------------------------------------


def _series_input(state: FormState) -> dict:
    """The new group's fields parsed with the API's schema, every problem beside its field."""
    meetings = parse_int(state, "meetings", 1, group_changes.MAX_MEETINGS)
    data = {"title": state.get("title"), "facilitator_id": state.get("facilitator"),
            "capacity": state.get("capacity"), "start": state.get("first_meeting").strip(),
            "duration_minutes": state.get("duration"), "timezone": state.get("timezone").strip(),
            "location": state.get("location").strip(),
            "rrule": group_changes.weekly_rule(meetings) if meetings else ""}
    body = parse_into(state, schemas.GroupCreate, data)
    if body is None:
        return {}
    if db.session.get(Therapist, body.facilitator_id) is None:
        state.add("facilitator", "must be one of the therapists listed")
    return {"title": body.title, "facilitator_id": body.facilitator_id, "capacity": body.capacity,
            "local_start": groups.wall_time(body.start, body.timezone), "duration_minutes": body.duration_minutes,
            "timezone": body.timezone, "rrule": body.rrule, "location": body.location}


def _preview(state: FormState) -> tuple[list[str], str | None]:
    """The first meetings' local times for what is typed so far, or why there is none yet."""
    probe = FormState(state.data)
    tz = probe.get("timezone").strip()
    try:
        timeutil.zone(tz)
        local = timeutil.parse_datetime_input(probe.get("first_meeting").strip())
    except ValueError:
        return [], "Enter the first meeting and a time zone to see the meetings."
    meetings = parse_int(probe, "meetings", 1, group_changes.MAX_MEETINGS) or 1
    local = groups.wall_time(local, tz)
    starts = group_changes.preview(local, tz, group_changes.weekly_rule(meetings))
    shown = [f"{s:%a %b} {s.day}, {s:%Y}: {s.hour % 12 or 12}:{s:%M} {'AM' if s.hour < 12 else 'PM'} {s:%Z}"
             for s in starts]
    more = meetings - len(shown)
    return shown, (f"and {more} more, weekly at the same local time" if more > 0 else None)


def _render_form(state: FormState, group: GroupSeries | None = None, status: int = 200):
    shown, note = _preview(state) if group is None else ([], None)
    return render_template("groups/form.html", form=state, group=group, facilitators=_facilitators(),
                           zones=zone_names(), preview=shown, preview_note=note), status


@bp.get("/groups/new")
@roles(*STAFF)
def group_new():
    state = FormState({"timezone": "America/New_York", "duration": "60", "meetings": "12",
                       "capacity": "10", "form_id": new_form_id()})
    return _render_form(state)[0]


@bp.get("/groups/preview")
@roles(*STAFF)
def group_preview():
    """The live preview (htmx): the meetings' local times for the fields as typed."""
    shown, note = _preview(FormState(request.args))
    return render_template("groups/_preview.html", preview=shown, preview_note=note)


@bp.post("/groups/new")
@roles(*STAFF)
def group_create():
    """Create the group, or show the form again with a message beside each wrong field."""
    state = FormState(request.form, ALIASES)
    if request.form.get("action") == "preview":
        return _render_form(state)
    earlier = done_before(state.get("form_id"))
    if earlier:
        return redirect(earlier)
    clock = now()
    try:
        values = _series_input(state)
        if not state.ok:
            return _render_form(state, status=422)
        group = groups.create_group(db.session, now=clock, settings=settings.current(), **values,
                                    cancel_clashing=state.get("cancel_clashing") == "on")
    except DomainError as exc:
        db.session.rollback()
        return _render_form(state.fail(exc), status=exc.status if exc.status != 404 else 422)
    location = url_for("web.group_page", group_id=group.id)
    audit.commit(db.session, "create", "group", group.id, clock)
    remember(state.get("form_id"), location)
    return redirect(location)


def _edit_state(group: GroupSeries) -> FormState:
    return FormState({"title": group.title, "facilitator": str(group.facilitator_id),
                      "capacity": str(group.capacity), "location": group.location or ""})


@bp.get("/groups/<int:group_id>/edit")
@roles(*STAFF)
def group_edit(group_id: int):
    group = groups.get_group(db.session, group_id)
    return _render_form(_edit_state(group), group)[0]


@bp.post("/groups/<int:group_id>/edit")
@roles(*STAFF)
def group_update(group_id: int):
    """Change title, facilitator, capacity or location; the meetings keep their times."""
    group = groups.get_group(db.session, group_id)
    state = FormState(request.form, ALIASES)
    title = state.get("title").strip()
    if not title or len(title) > 200:
        state.add("title", "is required" if not title else "must be at most 200 characters")
    facilitator = parse_int(state, "facilitator", 1)
    if facilitator is not None and db.session.get(Therapist, facilitator) is None:
        state.add("facilitator", "must be one of the therapists listed")
    capacity = parse_int(state, "capacity", 1, groups.MAX_CAPACITY)
    location = state.get("location").strip() or None
    if location and len(location) > 200:
        state.add("location", "must be at most 200 characters")
    if not state.ok:
        return _render_form(state, group, 422)
    clock = now()
    try:
        _, promoted = group_changes.update_group(db.session, group.id, {
            "title": title, "facilitator_id": facilitator, "capacity": capacity, "location": location},
            clock, settings=settings.current(), cancel_clashing=state.get("cancel_clashing") == "on")
    except DomainError as exc:
        db.session.rollback()
        return _render_form(state.fail(exc), groups.get_group(db.session, group_id), 409 if exc.status == 409 else 422)
    for enrollment in promoted:
        audit.record(db.session, "update", "enrollment", enrollment.id, clock)
    audit.commit(db.session, "update", "group", group_id, clock)
    return redirect(url_for("web.group_page", group_id=group_id))


# --- the group's page -----------------------------------------------------------------------


def _page(group: GroupSeries, enroll_form: FormState | None = None, matches=(), status: int = 200):
    clock = now()
    occurrences = groups.next_occurrences(db.session, group, clock)
    past = db.session.scalars(select(Occurrence).where(
        Occurrence.group_id == group.id, Occurrence.start_dt <= clock, Occurrence.cancelled.is_(False)
    ).order_by(Occurrence.start_dt.desc()).limit(6)).all()
    enrolled, waiting = roster.members(db.session, group.id)
    facilitator = db.session.get(Therapist, group.facilitator_id)
    html = render_template(
        "groups/group.html", group=group, facilitator=facilitator, when=when, clock=clock,
        occurrences=occurrences, past=past, enrolled=enrolled, waiting=waiting,
        manage=access.sees_everyone(user()), form=enroll_form or FormState({"form_id": new_form_id()}),
        matches=matches)
    audit.commit(db.session, "read", "group", group.id, clock)
    return html, status


@bp.get("/groups/<int:group_id>")
@roles("admin", "coordinator", "therapist")
def group_page(group_id: int):
    """The next meetings, the roster, and for staff: enroll, drop, cancel a meeting."""
    return _page(_visible_group(group_id))


def _find_patient(state: FormState) -> tuple[int | None, list[Patient]]:
    """The patient picked (a radio from the live search) or typed (name or phone, one match)."""
    picked = state.get("patient_id").strip()
    if picked.isdigit():
        return int(picked), []
    query = state.get("patient").strip()
    if not query:
        state.add("patient", "is required: type a name or phone number")
        return None, []
    found = patients.search(db.session, query, access.visible_patients(user()), limit=10)
    if len(found) == 1:
        return found[0].id, []
    state.add("patient", "matches nobody" if not found else "matches several patients: pick one")
    return None, found


@bp.post("/groups/<int:group_id>/enroll")
@roles(*STAFF)
def group_enroll(group_id: int):
    """Give the patient a seat, or a place on the waitlist when the group is full."""
    group = groups.get_group(db.session, group_id)
    state = FormState(request.form, ALIASES)
    earlier = done_before(state.get("form_id"))
    if earlier:
        return redirect(earlier)
    patient_id, matches = _find_patient(state)
    if patient_id is None:
        return _page(group, state, matches, 422)
    clock = now()
    try:
        enrollment = roster.enroll(db.session, group.id, patient_id, clock, settings=settings.current())
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, NotFound):
            exc = Invalid({"patient": "matches nobody"})
        return _page(groups.get_group(db.session, group_id), state.fail(exc), (), exc.status)
    location = url_for("web.group_page", group_id=group_id) + "#roster"
    audit.commit(db.session, "create", "enrollment", enrollment.id, clock)
    remember(state.get("form_id"), location)
    return redirect(location)


@bp.post("/groups/<int:group_id>/drop/<int:patient_id>")
@roles(*STAFF)
def group_drop(group_id: int, patient_id: int):
    """Drop a patient; the first waitlisted patient takes the freed seat and is told by text."""
    clock = now()
    try:
        dropped, promoted = roster.drop(db.session, group_id, patient_id, clock, settings=settings.current())
    except NotFound:
        db.session.rollback()  # dropped already (a second click): nothing more to do
        return redirect(url_for("web.group_page", group_id=group_id) + "#roster")
    for enrollment in promoted:
        audit.record(db.session, "update", "enrollment", enrollment.id, clock)
    audit.commit(db.session, "delete", "enrollment", dropped.id, clock)
    return redirect(url_for("web.group_page", group_id=group_id) + "#roster")


@bp.post("/groups/<int:group_id>/meetings/<int:occurrence_id>/cancel")
@roles(*STAFF)
def meeting_cancel(group_id: int, occurrence_id: int):
    """Call one meeting off: reminders withdrawn, each enrolled patient told by text."""
    clock = now()
    occ, _told = group_changes.cancel_occurrence(db.session, group_id, occurrence_id, clock,
                                                    settings=settings.current())
    audit.commit(db.session, "update", "occurrence", occ.id, clock)
    return redirect(url_for("web.group_page", group_id=group_id))


# --- attendance for one meeting -------------------------------------------------------------


def _attendance_page(group: GroupSeries, occ: Occurrence, state: FormState | None = None, status: int = 200):
    clock = now()
    sheet = roster.attendance_sheet(db.session, occ, user())
    html = render_template("groups/attendance.html", group=group, occ=occ, sheet=sheet, when=when,
                           started=occ.start_dt <= clock, labels=ATTENDANCE_LABELS,
                           form=state or FormState({}))
    audit.commit(db.session, "read", "occurrence", occ.id, clock)
    return html, status


@bp.get("/groups/<int:group_id>/meetings/<int:occurrence_id>")
@roles("admin", "coordinator", "therapist")
def meeting_attendance(group_id: int, occurrence_id: int):
    """Everyone who held a seat at this meeting, with a choice per person."""
    group = _visible_group(group_id)
    return _attendance_page(group, groups.get_occurrence(db.session, group.id, occurrence_id))


@bp.post("/groups/<int:group_id>/meetings/<int:occurrence_id>")
@roles("admin", "coordinator", "therapist")
def meeting_attendance_save(group_id: int, occurrence_id: int):
    """Record the choices made; rows left unchosen stay as they were. All or nothing."""
    group = _visible_group(group_id)
    occ = groups.get_occurrence(db.session, group.id, occurrence_id)
    state = FormState(request.form)
    sheet = roster.attendance_sheet(db.session, occ, user())
    chosen = {}
    for patient, _status in sheet:
        value = state.get(f"status-{patient.id}")
        if value and value not in ATTENDANCE_STATUSES:
            state.add(f"status-{patient.id}", "choose one of the options")
        elif value:
            chosen[patient.id] = value
    if not state.ok:
        return _attendance_page(group, occ, state, 422)
    if not chosen:
        state.message = "Choose Attended, No-show or Late cancel for at least one person."
        return _attendance_page(group, occ, state, 422)
    clock = now()
    try:
        for patient_id, value in chosen.items():
            row = roster.record_attendance(db.session, group.id, occ.id, patient_id, value, clock, user().id)
            audit.record(db.session, "update", "attendance", row.id, clock)
    except DomainError as exc:
        db.session.rollback()
        state.message = exc.message
        return _attendance_page(groups.get_group(db.session, group_id),
                                groups.get_occurrence(db.session, group_id, occurrence_id), state, exc.status)
    audit.commit(db.session, "update", "occurrence", occ.id, clock)
    return redirect(url_for("web.meeting_attendance", group_id=group_id, occurrence_id=occurrence_id) + "?saved=1")
