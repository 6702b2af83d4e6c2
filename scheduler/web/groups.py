"""`/groups`: recurring groups for coordinators and admins (a therapist sees the ones they facilitate).

Create and edit a group with a preview of its meetings' local times (htmx, or the Preview
button without JavaScript); on the group's page, the next meetings, the roster (Enrolled, then
the Waitlist in order), enroll, drop, cancel one meeting, and attendance for a meeting.
"""
from __future__ import annotations

from flask import render_template, request, url_for

from scheduler import schemas
from scheduler.core import access, audit, settings
from scheduler.core.clock import now
from scheduler.extensions import db
from scheduler.messaging import notices
from scheduler.models import ATTENDANCE_STATUSES, EnrollmentStatus, GroupSeries, Occurrence, Patient
from scheduler.scheduling import closures, group_changes, groups, patients, roster, therapists
from scheduler.scheduling.limits import MAX_MEETINGS
from scheduler.schemas.pages import GroupEdit, GroupPreview
from scheduler.web import bp, confirm, roles, user
from scheduler.web.forms import FormState, parse_int, parse_into, record_id, require_id
from scheduler.web.grid import clock as clock_label, day_label
from scheduler.web.helpers import clinic_zone, day, new_form_id, when
from scheduler.web.labels import ATTENDANCE_ACTIONS
from scheduler.web.posts import Done, go, not_done, submit

# The domain's field names -> this form's.
ALIASES = {"start": "first_meeting", "rrule": "meetings", "duration_minutes": "duration",
           "facilitator_id": "facilitator", "patient_id": "patient"}
FACILITATOR_GONE = ("facilitator", "must be one of the therapists listed")


def _facilitators() -> list[tuple[int, str]]:
    return therapists.names(db.session)


def _visible_group(group_id: int) -> GroupSeries:
    """The group, if this user may see it: staff see all, a therapist the ones they facilitate."""
    group = groups.get_group(db.session, group_id)
    access.require_group(user(), group)  # the same answer whether or not it exists
    return group


# --- the list -------------------------------------------------------------------------------


@bp.get("/groups")
@roles(*access.EVERYONE)
def groups_list():
    """Every group (a therapist: those they facilitate) with its next meeting and roster counts."""
    clock = now()
    me = user()
    if access.sees_everyone(me):
        rows = groups.listed(db.session)
    else:
        rows = groups.listed(db.session, me.therapist_id) if me.therapist_id is not None else []
    ids = [g.id for g in rows]
    counts = roster.counts(db.session, ids)
    nexts = groups.next_starts(db.session, ids, clock)
    names = dict(_facilitators())
    listed = [{"group": g, "facilitator": names.get(g.facilitator_id, ""),
               "enrolled": counts.get((g.id, "enrolled"), 0), "waitlisted": counts.get((g.id, "waitlisted"), 0),
               "next": when(nexts.get(g.id), g.timezone)} for g in rows]
    enrolling = _enrolling(request.args.get("patient"))
    if enrolling is not None:  # the patient page's Enroll in group: groups still meeting, free seats first
        listed = sorted((row for row in listed if row["next"]),
                        key=lambda row: row["enrolled"] >= row["group"].capacity)
    return render_template("groups/list.html", rows=listed, may_create=access.sees_everyone(user()),
                           enrolling=enrolling)


def _enrolling(raw: str | None) -> Patient | None:
    """`?patient=ID`: the patient staff are finding a group for (enrolling is for staff only)."""
    if not raw or not access.sees_everyone(user()):
        return None
    return patients.get_patient(db.session, require_id(raw, "patient"))


# --- new and edit ---------------------------------------------------------------------------


def _series_input(state: FormState) -> dict:
    """The new group's fields parsed with the API's schema, every problem beside its field."""
    meetings = parse_int(state, "meetings", 1, MAX_MEETINGS)
    data = {"title": state.get("title"), "facilitator_id": state.get("facilitator"),
            "capacity": state.get("capacity"), "start": state.get("first_meeting").strip(),
            "duration_minutes": state.get("duration"), "timezone": state.get("timezone").strip(),
            "location": state.get("location").strip(),
            "rrule": group_changes.weekly_rule(meetings) if meetings else ""}
    body = parse_into(state, schemas.GroupCreate, data)
    if body is None:
        return {}
    return {"title": body.title, "facilitator_id": body.facilitator_id, "capacity": body.capacity,
            "local_start": groups.wall_time(body.start, body.timezone), "duration_minutes": body.duration_minutes,
            "timezone": body.timezone, "rrule": body.rrule, "location": body.location}


def _preview(state: FormState) -> tuple[list[str], str | None, str | None]:
    """The first meetings' local times for what is typed so far, or why there is none yet; and a
    warning when the first is already past, or when meetings fall on days the clinic marked closed
    (only a warning: a group may still meet then, or have those meetings cancelled)."""
    probe = FormState(state.data)
    meetings = parse_int(probe, "meetings", 1, MAX_MEETINGS) or 1
    body = parse_into(probe, GroupPreview, {"start": probe.get("first_meeting").strip(),
                                            "timezone": probe.get("timezone").strip(), "meetings": str(meetings)})
    if body is None:
        return [], "Enter the first meeting and a time zone to see the meetings.", None
    local = groups.wall_time(body.start, body.timezone)
    every = group_changes.preview(local, body.timezone, group_changes.weekly_rule(body.meetings),
                                  limit=max(body.meetings, groups.SHOWN_OCCURRENCES))
    starts = every[:groups.SHOWN_OCCURRENCES]
    closed = closures.on_days(db.session, [s.date() for s in every])
    clock = now()
    shown = [f"{day(s)}: {clock_label(s)} {s:%Z}"
             + (" (in the past)" if s <= clock else "")
             + (f" — the clinic is closed ({closed[s.date()]})" if s.date() in closed else "") for s in starts]
    past = sum(s <= clock for s in starts)
    warnings = [f"{'The first meeting is' if past == 1 else f'{past} of these meetings are'} in the past: "
                "a group starts from now on. Choose a later first meeting."] if past else []
    on_closed = [f"{day_label(s)} — the clinic is closed ({closed[s.date()]})"
                 for s in every if s.date() in closed]
    if on_closed:
        warnings.append("; ".join(on_closed) + ". This is a warning only: you can still create the group, "
                        "and cancel those meetings on its page once it exists.")
    more = body.meetings - len(shown)
    note = f"and {more} more, weekly at the same local time" if more > 0 else None
    return shown, note, " ".join(warnings) or None


def _render_form(state: FormState, group: GroupSeries | None = None, status: int = 200):
    shown, note, warning = _preview(state) if group is None else ([], None, None)
    return render_template("groups/form.html", form=state, group=group, facilitators=_facilitators(),
                           preview=shown, preview_note=note, preview_warning=warning), status


@bp.get("/groups/new")
@roles(*access.STAFF)
def group_new():
    state = FormState({"timezone": clinic_zone(), "duration": "60", "meetings": "12",
                       "capacity": "10", "form_id": new_form_id()})
    return _render_form(state)[0]


@bp.get("/groups/preview")
@roles(*access.STAFF)
def group_preview():
    """The live preview (htmx): the meetings' local times for the fields as typed."""
    shown, note, warning = _preview(FormState(request.args))
    return render_template("groups/_preview.html", preview=shown, preview_note=note, preview_warning=warning)


@bp.post("/groups/new")
@roles(*access.STAFF)
def group_create():
    """Create the group, or show the form again with a message beside each wrong field."""
    state = FormState(request.form, ALIASES)
    if request.form.get("action") == "preview":  # shows the meetings; nothing is posted
        return _render_form(state)
    values = _series_input(state)

    def act(clock):
        group = groups.create_group(db.session, now=clock, settings=settings.current(), **values,
                                    cancel_clashing=state.get("cancel_clashing") == "on")
        return Done(url_for("web.group_page", group_id=group.id), ("create", "group", group.id))
    return submit(state, act, lambda state, status: _render_form(state, status=status), once_only=True,
                  missing=FACILITATOR_GONE)


def _edit_state(group: GroupSeries) -> FormState:
    return FormState({"title": group.title, "facilitator": str(group.facilitator_id),
                      "capacity": str(group.capacity), "location": group.location or ""})


@bp.get("/groups/<id:group_id>/edit")
@roles(*access.STAFF)
def group_edit(group_id: int):
    group = groups.get_group(db.session, group_id)
    return _render_form(_edit_state(group), group)[0]


@bp.post("/groups/<id:group_id>/edit")
@roles(*access.STAFF)
def group_update(group_id: int):
    """Change title, facilitator, capacity or location; the meetings keep their times."""
    group = groups.get_group(db.session, group_id)
    state = FormState(request.form, ALIASES)
    body = parse_into(state, GroupEdit, {"title": state.get("title"), "facilitator_id": state.get("facilitator"),
                                         "capacity": state.get("capacity"),
                                         "location": state.get("location").strip()})

    def act(clock):
        _, promoted = group_changes.update_group(db.session, group.id, {
            "title": body.title, "facilitator_id": body.facilitator_id, "capacity": body.capacity,
            "location": body.location}, clock, settings=settings.current(),
            cancel_clashing=state.get("cancel_clashing") == "on")
        return Done(url_for("web.group_page", group_id=group_id), ("update", "group", group_id),
                    also=tuple(("update", "enrollment", e.id) for e in promoted),
                    flash=" ".join(("Group saved.", *_moved_up(promoted, group_id, clock))))

    def refused(state, status):
        return _render_form(state, groups.get_group(db.session, group_id), status)
    return submit(state, act, refused, missing=FACILITATOR_GONE)


# --- the group's page -----------------------------------------------------------------------


def _page(group: GroupSeries, enroll_form: FormState | None = None, matches=(), status: int = 200):
    clock = now()
    occurrences = groups.next_occurrences(db.session, group, clock)
    past = groups.past_occurrences(db.session, group.id, clock)
    enrolled, waiting = roster.members(db.session, group.id)
    facilitator = therapists.get(db.session, group.facilitator_id)
    html = render_template(
        "groups/group.html", group=group, facilitator=facilitator, when=when, clock=clock,
        occurrences=occurrences, past=past, enrolled=enrolled, waiting=waiting,
        manage=access.sees_everyone(user()), form=enroll_form or FormState({"form_id": new_form_id()}),
        matches=matches)
    audit.commit(db.session, "read", "group", group.id, clock)
    return html, status


@bp.get("/groups/<id:group_id>")
@roles(*access.EVERYONE)
def group_page(group_id: int):
    """The next meetings, the roster, and for staff: enroll (`?patient=ID` preselects), drop, cancel."""
    group = _visible_group(group_id)
    chosen = _enrolling(request.args.get("patient"))
    if chosen is None:
        return _page(group)
    form = FormState({"form_id": new_form_id(), "patient": chosen.name, "patient_id": str(chosen.id)})
    return _page(group, form, [chosen])


def _find_patient(state: FormState) -> tuple[int | None, list[Patient]]:
    """The patient picked (a radio from the live search) or typed (name or phone, one match)."""
    picked = state.get("patient_id").strip()
    if picked:
        if record_id(picked) is None:
            state.add("patient", "matches nobody")
        return record_id(picked), []
    query = state.get("patient").strip()
    if not query:
        state.add("patient", "is required: type a name or phone number")
        return None, []
    found = patients.search(db.session, query, access.visible_patients(user()), limit=10)
    if len(found) == 1:
        return found[0].id, []
    state.add("patient", "matches nobody" if not found else "matches several patients: pick one")
    return None, found


@bp.post("/groups/<id:group_id>/enroll")
@roles(*access.STAFF)
def group_enroll(group_id: int):
    """Give the patient a seat, or a place on the waitlist when the group is full."""
    group = groups.get_group(db.session, group_id)
    state = FormState(request.form, ALIASES)
    patient_id, matches = _find_patient(state)

    def act(clock):
        enrollment = roster.enroll(db.session, group.id, patient_id, clock, settings=settings.current())
        name = enrollment.patient.name
        if enrollment.status == EnrollmentStatus.WAITLISTED:
            said = (f"{group.title} is full: {name} is on the waitlist, "
                    f"No. {roster.waitlist_position(db.session, enrollment)} in line.")
        else:
            said = (f"{name} is enrolled in {group.title} and will be reminded by text before each meeting."
                    if enrollment.patient.can_text else
                    f"{name} is enrolled in {group.title}; they get no reminders (no consent to texts, or opted out).")
        # Enrolling first seats anyone already waiting who can now attend: a newcomer never jumps the line.
        return Done(url_for("web.group_page", group_id=group_id) + "#roster",
                    ("create", "enrollment", enrollment.id),
                    flash=" ".join((*confirm.texts(notices.written(db.session, clock), user(), clock), said)))

    def refused(state, status):
        return _page(groups.get_group(db.session, group_id), state, matches if status == 422 else (), status)
    return submit(state, act, refused, once_only=True, missing=("patient", "matches nobody"))


def _moved_up(promoted, group_id: int, clock) -> list[str]:
    """Who took a seat from a waitlist, and the texts that tell them."""
    lines = [f"{confirm.name_for(user(), e.patient)} moves up from the waitlist"
             + (" into the freed seat." if e.group_id == group_id else f" of {e.group.title}.") for e in promoted]
    return lines + confirm.texts(notices.written(db.session, clock), user(), clock)


@bp.post("/groups/<id:group_id>/drop/<id:patient_id>")
@roles(*access.STAFF)
def group_drop(group_id: int, patient_id: int):
    """Drop a patient once confirmed (web/confirm.py); the first waitlisted patient who can attend
    takes the freed seat and is told by text."""
    roster_url = url_for("web.group_page", group_id=group_id) + "#roster"
    preview = not confirm.confirmed()

    def act(clock):
        group = groups.get_group(db.session, group_id)
        line = [e.patient_id for e in roster.members(db.session, group_id)[1]]
        dropped, promoted = roster.drop(db.session, group_id, patient_id, clock, settings=settings.current())
        name = dropped.patient.name
        if dropped.enrolled_at is not None:
            said = [f"{name} leaves {group.title}: their seat is freed and their reminders for its meetings are "
                    "withdrawn; they are not texted."]
            if not any(e.group_id == group_id for e in promoted):
                said.append("Nobody moves up: the waitlist is empty." if not line else
                            "Nobody moves up: everyone waiting has another session at a meeting's time "
                            "(staff get a task).")
        else:
            said = [f"{name} leaves the waitlist of {group.title} (No. {line.index(patient_id) + 1} in line); "
                    "they are not texted."]
        said += _moved_up(promoted, group_id, clock)
        if preview:
            question = confirm.Ask(f"Drop {name}?", tuple(said), f"Yes, drop {name}", f"Keep {name}", roster_url)
            return Done("", ("delete", "enrollment", dropped.id), answer=lambda: confirm.ask(question))
        return Done(roster_url, ("delete", "enrollment", dropped.id),
                    also=tuple(("update", "enrollment", e.id) for e in promoted), flash=" ".join(said))
    # Not enrolled (a second click, dropped already): nothing more to do.
    return submit(FormState(request.form), act, lambda state, status: go(roster_url),
                  missing=("patient", "is not in this group"), preview=preview)


@bp.post("/groups/<id:group_id>/meetings/<id:occurrence_id>/cancel")
@roles(*access.STAFF)
def meeting_cancel(group_id: int, occurrence_id: int):
    """Call one meeting off once confirmed: reminders withdrawn, each enrolled patient told by text."""
    preview = not confirm.confirmed()
    page_url = url_for("web.group_page", group_id=group_id)

    def act(clock):
        occ, _told = group_changes.cancel_occurrence(db.session, group_id, occurrence_id, clock,
                                                     settings=settings.current())
        at = when(occ.start_dt, groups.get_group(db.session, group_id).timezone)
        told = confirm.texts(notices.written(db.session, clock), user(), clock)
        said = [f"The meeting on {at} is called off and its reminders withdrawn; the other meetings stay.",
                *(told or ["Nobody is texted: no one holding a seat had been told of this meeting yet."])]
        if preview:
            question = confirm.Ask(f"Cancel the meeting on {at}?", tuple(said), "Yes, cancel meeting",
                                   "Keep the meeting", page_url)
            return Done("", ("update", "occurrence", occ.id), answer=lambda: confirm.ask(question))
        return Done(page_url, ("update", "occurrence", occ.id), flash=" ".join(said))

    return submit(FormState(request.form), act, confirm.refused(not_done) if preview else not_done, preview=preview)


# --- attendance for one meeting -------------------------------------------------------------


def _attendance_page(group: GroupSeries, occ: Occurrence, state: FormState | None = None, status: int = 200):
    clock = now()
    sheet = roster.attendance_sheet(db.session, occ, user())
    html = render_template("groups/attendance.html", group=group, occ=occ, sheet=sheet, when=when,
                           started=occ.start_dt <= clock, labels=ATTENDANCE_ACTIONS,
                           form=state or FormState({}))
    audit.commit(db.session, "read", "occurrence", occ.id, clock)
    return html, status


@bp.get("/groups/<id:group_id>/meetings/<id:occurrence_id>")
@roles(*access.EVERYONE)
def meeting_attendance(group_id: int, occurrence_id: int):
    """Everyone who held a seat at this meeting, with a choice per person."""
    group = _visible_group(group_id)
    return _attendance_page(group, groups.get_occurrence(db.session, group.id, occurrence_id))


@bp.post("/groups/<id:group_id>/meetings/<id:occurrence_id>")
@roles(*access.EVERYONE)
def meeting_attendance_save(group_id: int, occurrence_id: int):
    """Record the choices made; rows left unchosen stay as they were. All or nothing."""
    group = _visible_group(group_id)
    occ = groups.get_occurrence(db.session, group.id, occurrence_id)
    # The domain's refusals name no field of this sheet: they become the form's message.
    state = FormState(request.form, dict.fromkeys(("status", "patient_id", "occurrence"), ""))
    sheet = roster.attendance_sheet(db.session, occ, user())
    chosen = {}
    for patient, _status in sheet:
        value = state.get(f"status-{patient.id}")
        if value and value not in ATTENDANCE_STATUSES:
            state.add(f"status-{patient.id}", "choose one of the options")
        elif value:
            chosen[patient.id] = value
    if state.ok and not chosen:
        state.message = "Choose Attended, No-show or Late cancel for at least one person."

    def act(clock):
        rows = [roster.record_attendance(db.session, group.id, occ.id, patient_id, value, clock, user().id)
                for patient_id, value in chosen.items()]
        return Done(url_for("web.meeting_attendance", group_id=group_id, occurrence_id=occurrence_id) + "?saved=1",
                    ("update", "occurrence", occ.id), also=tuple(("update", "attendance", r.id) for r in rows))

    def refused(state, status):
        return _attendance_page(groups.get_group(db.session, group_id),
                                groups.get_occurrence(db.session, group_id, occurrence_id), state, status)
    return submit(state, act, refused)
