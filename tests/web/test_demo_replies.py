"""DEMO_REPLIES: staff send a reply as a patient from their page; it is handled as a real inbound text."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from scheduler import config
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment, AuditEvent, Message, Patient, Task
from scheduler.scheduling import appointments, care_teams
from tests.support import next_monday, ny
from tests.support.web import Pages, add_user

FORM_ID = re.compile(r'action="/patients/\d+/reply">\s*<input[^>]*>\s*<input type="hidden" name="form_id" value="([^"]+)"')


@pytest.fixture
def app(make_app):
    """The app with DEMO_REPLIES on (the console backend is the tests' default)."""
    return make_app(DEMO_REPLIES=True)


@pytest.fixture
def booked(app, staff, make_patient):
    """A patient with an appointment next Monday at 10:00 with the staff's therapist."""
    patient = make_patient(name="Rosa Diaz")
    with app.app_context():
        appt = appointments.book(db.session, staff.therapist_id, patient, ny(next_monday(), 10), 50,
                                 datetime.now(UTC), settings=current())
        care_teams.add(db.session, patient, [staff.therapist_id], datetime.now(UTC), None)
        db.session.commit()
        return patient, appt.id


def _send(pages: Pages, patient_id: int, reply: str):
    page = pages.text(f"/patients/{patient_id}")
    form_id = FORM_ID.search(page).group(1)
    return pages.post(f"/patients/{patient_id}/reply", {"reply": reply, "form_id": form_id})


def _log(app, patient_id: int) -> list[Message]:
    with app.app_context():
        rows = db.session.scalars(select(Message).where(Message.patient_id == patient_id).order_by(Message.id)).all()
        db.session.expunge_all()
        return rows


def _tasks(app, patient_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Task.kind).where(Task.patient_id == patient_id)))


def test_the_patient_page_offers_send_as_patient_to_coordinators_and_admins(staff, booked):
    patient, _ = booked
    for role in ("coordinator", "admin"):
        page = getattr(staff, role).text(f"/patients/{patient}")
        assert '<label for="f-reply">Reply</label>' in page
        assert ">Send as patient</button>" in page


def test_c_confirms_the_next_session_as_a_text_from_their_phone_would(app, staff, booked):
    patient, appt = booked
    answer = _send(staff.coordinator, patient, " c ")
    assert answer.status_code == 302 and answer.location.endswith(f"/patients/{patient}#messages-title")
    with app.app_context():
        assert db.session.get(Appointment, appt).status == "confirmed"
    inbound, reply = [m for m in _log(app, patient) if m.kind in ("confirm", "reply_confirm_ack")]
    assert inbound.direction == "in" and inbound.simulated and inbound.appointment_id == appt
    assert reply.direction == "out" and reply.simulated and reply.status == "sent" and reply.twilio_sid is None
    page = staff.coordinator.text(f"/patients/{patient}")
    assert "Reply sent as the patient (simulated)" in page and reply.body in page
    assert page.count("(simulated)</small>") == 2  # both marked in Messages
    with app.app_context():
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "simulate")).one()
        assert (audit.entity, audit.entity_id) == ("message", inbound.id)
        assert audit.route == "POST /patients/<id:patient_id>/reply"


def test_stop_opts_the_patient_out_and_raises_a_task(app, staff, booked):
    patient, _ = booked
    assert _send(staff.coordinator, patient, "STOP").status_code == 302
    with app.app_context():
        assert db.session.get(Patient, patient).opted_out_at is not None
    assert _tasks(app, patient) == ["opt_out"]
    assert "Opted out" in staff.coordinator.text(f"/patients/{patient}")
    assert [m.kind for m in _log(app, patient) if m.simulated] == ["opt_out", "reply_opt_out_ack"]


def test_help_is_answered_with_the_clinic_and_its_number(app, staff, booked):
    patient, _ = booked
    assert _send(staff.admin, patient, "help").status_code == 302
    (answer,) = [m for m in _log(app, patient) if m.kind == "reply_help"]
    assert "Northside Health" in answer.body and "555-0100" in answer.body and "STOP" in answer.body
    assert _tasks(app, patient) == []


@pytest.mark.parametrize(("reply", "task"), [("can we do Tuesday instead?", "unrecognized_reply"),
                                             ("R", "reschedule_request")])
def test_free_text_and_r_become_tasks_for_staff(app, staff, booked, reply, task):
    patient, appt = booked
    assert _send(staff.coordinator, patient, reply).status_code == 302
    assert _tasks(app, patient) == [task]
    with app.app_context():
        assert db.session.get(Appointment, appt).status == "scheduled"  # the appointment stays
    assert "Rosa Diaz" in staff.coordinator.text("/tasks")


def test_an_empty_reply_is_answered_beside_the_field_and_nothing_is_stored(app, staff, booked):
    patient, _ = booked
    before = len(_log(app, patient))
    answer = _send(staff.coordinator, patient, "   ")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert 'id="f-reply"' in page and 'aria-invalid="true"' in page and 'id="e-reply"' in page
    assert len(_log(app, patient)) == before


def test_the_same_form_sent_twice_acts_once(app, staff, booked):
    patient, _ = booked
    page = staff.coordinator.text(f"/patients/{patient}")
    form_id = FORM_ID.search(page).group(1)
    for _ in range(2):
        assert staff.coordinator.post(f"/patients/{patient}/reply",
                                      {"reply": "R", "form_id": form_id}).status_code == 302
    assert _tasks(app, patient) == ["reschedule_request"]


def test_a_therapist_gets_no_control_and_the_route_refuses(app, staff, booked):
    patient, _ = booked
    page = staff.therapist.text(f"/patients/{patient}")  # in their care: they booked with them
    assert "Send as patient" not in page
    assert staff.therapist.post(f"/patients/{patient}/reply", {"reply": "C"}).status_code == 403
    assert not any(m.simulated for m in _log(app, patient))


def test_the_api_message_log_says_which_texts_were_simulated(app, staff, booked, make_api):
    patient, _ = booked
    _send(staff.coordinator, patient, "HELP")
    log = make_api("coordinator").get(f"/patients/{patient}/messages").get_json()["messages"]
    assert {m["kind"] for m in log if m["simulated"]} == {"help", "reply_help"}
    assert {m["kind"] for m in log if not m["simulated"]} >= {"booked"}


def test_off_the_control_is_absent_and_the_route_is_not_there(make_app, booked):
    patient, _ = booked
    off = make_app()  # the same database, DEMO_REPLIES at its default
    pages = Pages(off.test_client())
    assert pages.sign_in(add_user(off, "coordinator")).status_code == 302
    page = pages.text(f"/patients/{patient}")
    assert "Send as patient" not in page and 'name="reply"' not in page
    assert pages.post(f"/patients/{patient}/reply", {"reply": "STOP"}).status_code == 404
    with off.app_context():
        assert db.session.get(Patient, patient).opted_out_at is None
        assert not db.session.scalars(select(Message).where(Message.simulated)).all()


def test_demo_replies_with_twilio_stops_start_up_naming_the_setting(tmp_path):
    env = {"DEMO_REPLIES": "on", "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "TWILIO_AUTH_TOKEN": "x", "TWILIO_FROM_NUMBER": "+12015550100", "PUBLIC_BASE_URL": "https://c.example"}
    with pytest.raises(config.ConfigError, match=r"^DEMO_REPLIES: on only with SMS_BACKEND=console"):
        config.load(str(tmp_path), env=env)
    assert config.load(str(tmp_path), env={"DEMO_REPLIES": "on"})["DEMO_REPLIES"] is True
    assert config.load(str(tmp_path), env={})["DEMO_REPLIES"] is False
    with pytest.raises(config.ConfigError, match=r"^DEMO_REPLIES: expected on or off"):
        config.load(str(tmp_path), env={"DEMO_REPLIES": "maybe"})
