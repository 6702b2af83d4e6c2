"""`/patients`: list and search by role, new and edit with the API's validation, a patient's page."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import AuditEvent, Message, Patient
from scheduler.scheduling import care_teams
from tests.support import NOW, NY, add_group, next_monday, ny
from tests.support.racing import run_together
from tests.support.web import Pages, add_user

ROLES = ("admin", "coordinator", "therapist")


def form(**overrides) -> dict:
    return {"name": "Rosa Diaz", "phone": "(201) 555-0199", "timezone": NY, "language": "es",
            "discharge_date": "", "consent": "on", "form_id": overrides.pop("form_id", "p1"), **overrides}


@pytest.fixture
def in_care(app, staff, make_patient):
    """A patient in the therapist's care (enrolled in a group they facilitate) and one who is not."""
    mine, other = make_patient(name="Ana Mine", phone="+12015550111"), make_patient(name="Bo Other")
    with app.app_context():
        add_group(db.session, staff.therapist_id, ny(next_monday(2), 18), enrolled=(mine,))
    return mine, other


@pytest.mark.parametrize(("path", "allowed"), [
    ("/patients", ROLES), ("/patients/new", ("admin", "coordinator")), ("/patients/pick?patient=ana", ROLES)])
def test_pages_by_role(staff, pages, path, allowed):
    for role in ROLES:
        assert getattr(staff, role).get(path).status_code == (200 if role in allowed else 403), role
    assert "/login" in pages.get(path).location


def test_a_therapist_sees_only_patients_in_their_care(staff, pages, in_care):
    mine, other = in_care
    listing = staff.therapist.get("/patients").get_data(as_text=True)
    assert "Ana Mine" in listing and "Bo Other" not in listing
    assert staff.therapist.get(f"/patients/{mine}").status_code == 200
    assert staff.therapist.get(f"/patients/{other}").status_code == 404  # the same as no patient
    assert staff.therapist.get("/patients/999999").status_code == 404
    assert staff.therapist.get(f"/patients/{mine}/edit").status_code == 403
    for role in ("admin", "coordinator"):
        assert getattr(staff, role).get(f"/patients/{other}").status_code == 200
    assert "/login" in pages.get(f"/patients/{mine}").location


def test_pages_audit_their_refusals_as_the_api_does(app, staff, in_care):
    mine, other = in_care
    with app.app_context():
        therapist_user = db.session.scalar(select(AuditEvent.user_id).where(AuditEvent.action == "login")
                                           .order_by(AuditEvent.id.desc()))
    assert staff.therapist.get(f"/patients/{other}").status_code == 404  # hidden: refused, audited
    assert staff.therapist.get("/patients/999999").status_code == 404  # not in their care either
    assert staff.therapist.get(f"/patients/{mine}/edit").status_code == 403  # the role: audited
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.entity, AuditEvent.entity_id, AuditEvent.user_id)
                                  .where(AuditEvent.action == "refused").order_by(AuditEvent.id)).all()
    assert rows == [("patient", other, therapist_user), ("patient", 999999, therapist_user),
                    ("patients", mine, therapist_user)]


def test_search_by_name_or_phone_with_htmx_fragment(staff, in_care):
    html = staff.coordinator.get("/patients?q=555-0111").get_data(as_text=True)
    assert "Ana Mine" in html and "Bo Other" not in html
    fragment = staff.coordinator.get("/patients?q=bo", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Bo Other" in fragment and "<html" not in fragment
    assert '<label for="f-q">Search</label>' in staff.coordinator.get("/patients").get_data(as_text=True)


def test_new_patient_form_names_its_fields(staff):
    html = staff.coordinator.get("/patients/new").get_data(as_text=True)
    for label in ("Name", "Phone", "Time zone", "Discharge date", "Language"):
        assert f">{label}</label>" in html, label
    assert "Consent to texts" in html and ">Save</button>" in html


def test_create_then_edit(staff, app):
    response = staff.coordinator.post("/patients/new", data=form())
    assert response.status_code == 302
    pid = int(response.location.rsplit("/", 1)[1])
    with app.app_context():
        p = db.session.get(Patient, pid)
        assert (p.phone, p.language, p.sms_consent) == ("+12015550199", "es", True)
    edited = staff.coordinator.post(f"/patients/{pid}/edit", data=form(name="Rosa M. Diaz", consent="",
                                                                      discharge_date=NOW.date().isoformat()))
    assert edited.status_code == 302, edited.get_data(as_text=True)[-3000:]
    with app.app_context():
        p = db.session.get(Patient, pid)
        assert (p.name, p.sms_consent, len(p.discharges)) == ("Rosa M. Diaz", False, 1)


def test_the_care_team_is_set_on_the_form_and_decides_who_sees_the_patient(staff, app):
    dana, marcus = staff.therapist_id, staff.other_therapist_id
    html = staff.coordinator.get("/patients/new").get_data(as_text=True)
    assert "<legend>Care team</legend>" in html
    assert f'<label for="f-care_team-{dana}">' in html and "Dana Reyes" in html and "Marcus Lee" in html
    created = staff.coordinator.post("/patients/new", data={**form(), "care_team": [str(dana)]})
    assert created.status_code == 302
    pid = int(created.location.rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get(Patient, pid).therapist_ids == [dana]
    page = staff.therapist.get(f"/patients/{pid}")  # Dana's own patient now
    assert page.status_code == 200 and "<dt>Care team</dt><dd>Dana Reyes</dd>" in page.get_data(as_text=True)
    edit = staff.coordinator.get(f"/patients/{pid}/edit").get_data(as_text=True)
    assert f'value="{dana}" checked' in edit and f'value="{marcus}" checked' not in edit
    shown = {"care_team_shown": str(dana)}  # what the edit form carries: the team as it was shown
    moved = staff.coordinator.post(f"/patients/{pid}/edit", data={**form(), **shown, "care_team": [str(marcus)]})
    assert moved.status_code == 302
    assert staff.therapist.get(f"/patients/{pid}").status_code == 404  # no longer in Dana's care
    for tampered in (["999999"], ["\u00b2"], ["9" * 5000], ["abc"]):
        answer = staff.coordinator.post(f"/patients/{pid}/edit", data={**form(), "care_team": tampered})
        assert answer.status_code == 422, tampered
        assert 'id="e-care_team"' in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Patient, pid).therapist_ids == [marcus]  # nothing half-written
    emptied = staff.coordinator.post(f"/patients/{pid}/edit", data={**form(), "care_team_shown": str(marcus)})
    assert emptied.status_code == 302  # Marcus's box shown and cleared
    with app.app_context():
        assert db.session.get(Patient, pid).therapist_ids == []


def test_saving_the_form_keeps_a_therapist_added_since_it_was_opened(staff, app, make_patient):
    dana, marcus = staff.therapist_id, staff.other_therapist_id
    pid = make_patient(name="Rosa Diaz", phone="(201) 555-0199")
    with app.app_context():
        care_teams.add(db.session, pid, [dana], NOW, None)
        db.session.commit()
    edit = staff.coordinator.get(f"/patients/{pid}/edit").get_data(as_text=True)
    assert f'name="care_team_shown" value="{dana}"' in edit
    with app.app_context():  # meanwhile a coordinator books Rosa with Marcus
        care_teams.add(db.session, pid, [marcus], NOW, None)
        db.session.commit()
    saved = staff.coordinator.post(f"/patients/{pid}/edit", data={
        **form(name="Rosa M. Diaz"), "care_team": [str(dana)], "care_team_shown": str(dana)})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(Patient, pid).therapist_ids == [dana, marcus]
    for bad in (["\u00b2"], ["9" * 5000]):  # and on a new patient's form too: an answer, never a 500
        answer = staff.coordinator.post("/patients/new", data={**form(phone="(201) 555-0142"), "care_team": bad})
        assert answer.status_code == 422 and 'id="e-care_team"' in answer.get_data(as_text=True)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "", "Name is required"),
    ("phone", "12", "Phone "),
    ("timezone", "Moon/Base", "Time zone must be a time zone from the list"),
    ("discharge_date", "2026-02-30", "Discharge date is not a real calendar date"),
    ("discharge_date", "1999-01-01", "Discharge date is too far in the past"),
    ("language", "fr", "Language must be one of"),
])
def test_bad_input_is_answered_beside_the_field(staff, app, field, value, message):
    response = staff.coordinator.post("/patients/new", data=form(**{field: value}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html, html[-2500:]
    assert f'id="e-{field}"' in html
    assert 'value="Rosa Diaz"' in html or field == "name"  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 0


def test_a_taken_phone_is_refused_beside_it(staff, make_patient):
    make_patient(phone="+12015550199")
    response = staff.coordinator.post("/patients/new", data=form())
    assert response.status_code == 409 and "another patient already has this phone number" in response.get_data(
        as_text=True)


def test_a_double_submit_creates_one_patient(staff, app):
    first = staff.coordinator.post("/patients/new", data=form(form_id="twice"))
    second = staff.coordinator.post("/patients/new", data=form(form_id="twice"))
    assert second.status_code == 302 and second.location == first.location
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 1


def test_two_simultaneous_submits_of_one_form_create_one_patient(app, make_therapist):
    # A double-click on Save: two requests with the same form id at the same moment (two
    # connections, so the session cookie cannot tell them apart). The claim on the server makes
    # the second wait for the first and lead where it led; before, PostgreSQL answered a 500.
    email = add_user(app, "coordinator")
    clients = [Pages(app.test_client()) for _ in range(2)]
    for client in clients:
        assert client.sign_in(email).status_code == 302
        client.post("/patients/new", data={"form_id": "warm-up"})  # CSRF token fetched beforehand
    outcomes = run_together(app, lambda i: clients[i].post("/patients/new", data=form(form_id="dbl-click")), 2)
    assert [o.status_code for o in outcomes] == [302, 302], outcomes
    assert outcomes[0].location == outcomes[1].location
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 1


def test_patient_page_shows_state_sessions_and_messages_and_is_audited(staff, app, in_care):
    mine, _ = in_care
    with app.app_context():
        db.session.add(Message(patient_id=mine, direction="in", kind="reschedule", status="received",
                               body="R", created_at=NOW, history=[]))
        db.session.commit()
    html = staff.therapist.get(f"/patients/{mine}").get_data(as_text=True)
    assert ">Messages</h2>" in html and "Received" in html and "Consented" in html
    assert "Evening circle" in html  # the upcoming group meeting
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "read", AuditEvent.entity == "patient", AuditEvent.entity_id == mine)) == 1
