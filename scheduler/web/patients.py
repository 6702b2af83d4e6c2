"""`/patients`: the list with search, a patient's page, and new/edit for coordinators and admins.

A therapist sees only the patients in their care (core.access.visible_patients / require_patient),
and on a patient's page only their own appointments. Reading a patient's page is audited.
"""
from __future__ import annotations

from flask import render_template, request, url_for

from scheduler import schemas
from scheduler.core import access, audit, phones, settings
from scheduler.core.clock import now
from scheduler.core.db import lock
from scheduler.extensions import db
from scheduler.models import Language, Patient
from scheduler.models.enums import PlanEndReason
from scheduler.scheduling import patient_record, patients, therapists
from scheduler.web import aftercare, bp, is_htmx, roles, user
from scheduler.web.forms import FormState, parse_into, record_id
from scheduler.web.helpers import clinic_zone, day, new_form_id, phone, when
from scheduler.web.labels import choices
from scheduler.web.posts import Done, submit

ALIASES = {"sms_consent": "consent", "therapist_ids": "care_team"}
THERAPIST_GONE = ("care_team", "must be one of the therapists listed")


def _source() -> str:
    return f"web:user {user().id}"


def _readable(patient_id: int) -> Patient:
    """The patient, if this user may see them (the same 404 whether or not they exist)."""
    access.require_patient(db.session, user(), patient_id)  # hidden: audited as a refusal
    return patients.get_patient(db.session, patient_id)


# --- list and search ------------------------------------------------------------------------


@bp.get("/patients")
@roles(*access.EVERYONE)
def patients_list():
    """Patients by name; Search finds a name or a phone number (live with htmx)."""
    query = request.args.get("q", "").replace("\x00", "").strip()[:100]
    found = patients.search(db.session, query, access.visible_patients(user()), limit=50)
    template = "patients/_results.html" if is_htmx() else "patients/list.html"
    return render_template(template, found=found, query=query, may_create=access.sees_everyone(user()))


@bp.get("/patients/pick")
@roles(*access.EVERYONE)
def patient_pick():
    """The live Patient field of a form: matching patients as radio buttons (htmx fragment)."""
    query = (request.args.get("patient") or request.args.get("q") or "").replace("\x00", "").strip()[:100]
    matches = patients.search(db.session, query, access.visible_patients(user()), limit=10) if query else []
    return render_template("patients/_pick.html", matches=matches, query=query)


# --- new and edit ---------------------------------------------------------------------------


def _typed_phone(e164: str) -> str:
    """The number as the clinic writes it, where the Phone field reads it back the same."""
    shown = phone(e164)
    return shown if phones.normalize_or_none(shown) == e164 else e164


def _ids(values: list[str]) -> list:
    """Ticked therapist ids as numbers; anything else is left for the schema to refuse beside the field."""
    return list(dict.fromkeys(v if record_id(v) is None else record_id(v) for v in values))


def _team(state: FormState, current: list[int]) -> list:
    """The team after this edit: the boxes the person changed, applied to the team as it is now.

    The form shows the team as it was when opened (`care_team_shown`); a therapist added since
    (a coordinator's booking) stays unless their box was there and was cleared.
    """
    ticked, shown = _ids(state.values("care_team")), _ids(state.get("care_team_shown").split())
    cleared = [i for i in shown if i not in ticked]
    return [i for i in current if i not in cleared] + [i for i in ticked if i not in current]


def _details(state: FormState, creating: bool, current_team: list[int] | None = None) -> dict:
    """The form parsed with the API's own schema (the same rules), every problem beside its field."""
    data = {"name": state.get("name"), "phone": state.get("phone"), "timezone": state.get("timezone").strip(),
            "language": state.get("language") or "en", "discharge_date": state.get("discharge_date").strip(),
            "date_of_birth": state.get("date_of_birth").strip(),
            "sms_consent": "true" if state.get("consent") in ("on", "true", "1") else "false"}
    if creating:
        if state.values("care_team"):
            data["therapist_ids"] = _ids(state.values("care_team"))
    else:
        data["therapist_ids"] = _team(state, current_team or [])
    model = schemas.PatientCreate if creating else schemas.PatientUpdate
    body = parse_into(state, model, data)
    if body is None:
        return {}
    if creating:
        return dict(body)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if not data["date_of_birth"]:  # an emptied Date of birth clears it
        changes["date_of_birth"] = None
    return changes


def _form(state: FormState, patient: Patient | None = None, status: int = 200, matches=()):
    return render_template("patients/form.html", form=state, patient=patient, matches=matches,
                           languages=choices(Language), day=day, therapists=therapists.names(db.session)), status


def _duplicates(state: FormState, values: dict, patient: Patient | None = None) -> list[Patient]:
    """Who this may already be (patients.possible_duplicates, the import's rule too), when the
    details that tell people apart are new or changed.

    A shared phone is refused by the domain (beside Phone, as the API's 409); the others are a
    warning: nothing is saved until "Save anyway" acknowledges exactly these people.
    """
    keys = ("name", "phone", "date_of_birth")
    if not values or (patient is not None and all(values.get(k, getattr(patient, k)) == getattr(patient, k)
                                                  for k in keys)):
        return []
    current = {k: values.get(k, getattr(patient, k, None)) for k in keys}
    matches = patients.possible_duplicates(db.session, **current, exclude_id=patient.id if patient else None)
    shared_phone = any(p.phone == current["phone"] for p in matches)
    acknowledged = state.get("save_anyway") == " ".join(str(p.id) for p in matches)
    if matches and not shared_phone and not acknowledged:
        state.message = ("This may be a patient who is already registered. Check the "
                         f"{'match' if len(matches) == 1 else 'matches'} below; nothing was saved.")
    return matches


def _posted() -> FormState:
    """The form as typed; the Care team boxes are a list (one value per ticked therapist)."""
    state = FormState(request.form, ALIASES)
    state.data["care_team"] = request.form.getlist("care_team")
    return state


@bp.get("/patients/new")
@roles(*access.STAFF)
def patient_new():
    return _form(FormState({"timezone": clinic_zone(), "language": "en", "form_id": new_form_id()}))[0]


@bp.post("/patients/new")
@roles(*access.STAFF)
def patient_create():
    """Register a patient, or show the form again with what was typed and a message per field."""
    state = _posted()
    values = _details(state, creating=True)
    matches = _duplicates(state, values)

    def act(clock):
        patient = patients.create_patient(db.session, now=clock, source=_source(), user_id=user().id, **values)
        return Done(url_for("web.patient_page", patient_id=patient.id), ("create", "patient", patient.id))
    return submit(state, act, lambda state, status: _form(state, status=status, matches=matches), once_only=True,
                  missing=THERAPIST_GONE)


@bp.get("/patients/<id:patient_id>/edit")
@roles(*access.STAFF)
def patient_edit(patient_id: int):
    patient = patients.get_patient(db.session, patient_id)
    state = FormState({"name": patient.name, "phone": _typed_phone(patient.phone), "timezone": patient.timezone,
                       "date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else "",
                       "language": patient.language, "consent": "on" if patient.sms_consent else "",
                       "care_team": [str(i) for i in patient.therapist_ids],
                       "care_team_shown": " ".join(str(i) for i in patient.therapist_ids)})
    html = _form(state, patient)[0]
    audit.commit(db.session, "read", "patient", patient.id, now())
    return html


@bp.post("/patients/<id:patient_id>/edit")
@roles(*access.STAFF)
def patient_update(patient_id: int):
    """Change the details; a date in Discharge date adds a discharge (earlier ones are kept)."""
    # Locked before its team is read: a booking adding a therapist meanwhile waits, not vanishes.
    patient = lock(db.session, Patient, patient_id, "patient")
    state = _posted()
    changes = _details(state, creating=False, current_team=patient.therapist_ids)
    matches = _duplicates(state, changes, patient)

    def act(clock):
        patients.update_patient(db.session, patient_id, changes, clock, _source(), settings=settings.current(),
                                user_id=user().id)
        return Done(url_for("web.patient_page", patient_id=patient_id), ("update", "patient", patient_id))
    return submit(state, act, lambda state, status: _form(state, patients.get_patient(db.session, patient_id),
                                                          status, matches), missing=THERAPIST_GONE)


# --- a patient's page -----------------------------------------------------------------------


def _book_link(patient: Patient, manage: bool) -> str:
    """Book: the calendar with this patient preselected, a therapist's own or the first of the care team's."""
    if not manage or not patient.therapist_ids:
        return url_for("web.calendar", patient=patient.id)
    return url_for("web.calendar", therapist=patient.therapist_ids[0], patient=patient.id)


@bp.get("/patients/<id:patient_id>")
@roles(*access.EVERYONE)
def patient_page(patient_id: int):
    """Discharges, consent and opt-out, upcoming sessions, attendance and the Messages log."""
    patient = _readable(patient_id)
    clock = now()
    manage = access.sees_everyone(user())
    html = render_template(
        "patients/patient.html", patient=patient, when=when, day=day, manage=manage,
        upcoming=patient_record.upcoming(db.session, patient.id, clock, user()),
        history=patient_record.history(db.session, patient.id, clock, user()),
        messages=patients.message_log(db.session, patient.id, user()), book=_book_link(patient, manage),
        aftercare=aftercare.section(patient, clock), end_reasons=choices(PlanEndReason))
    audit.commit(db.session, "read", "patient", patient.id, clock)
    return html
