"""Twilio webhooks through the test client with real signatures: replies, opt-out, status callbacks."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import texts
from scheduler.messaging.sms import new_sid
from scheduler.models import (
    Appointment,
    Attendance,
    EarlyStatus,
    Enrollment,
    GroupSeries,
    Message,
    Occurrence,
    Patient,
    Task,
)
from scheduler.scheduling import appointments
from tests.support import NOW, count
from tests.support.webhooks import sign, signed_post

TOKEN = "test-twilio-auth-token"
PUBLIC = "https://clinic.example.org"
NY = "America/New_York"
LA = "America/Los_Angeles"
PHONE = "+12015550101"
CLINIC_NUMBER = "+15005550006"


@pytest.fixture
def app(make_app):
    """The app behind a proxy: Twilio signs https://clinic.example.org/..., we see http://localhost."""
    return make_app(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC)


def post(client, path, params, token=TOKEN, signed_for=PUBLIC, base_url="http://localhost", sent=None):
    """POST `params` (or `sent`, to tamper) to `path`, signed as Twilio would for `signed_for`."""
    return client.post(path, data=dict(sent if sent is not None else params), base_url=base_url,
                       headers={"X-Twilio-Signature": sign(signed_for + path, params, token)})


def inbound_params(body, phone=PHONE, sid=None):
    return {"From": phone, "To": CLINIC_NUMBER, "Body": body, "MessageSid": sid or new_sid(),
            "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}


def answers(resp) -> list[str]:
    """The texts in a TwiML answer; each must be sendable as it stands."""
    assert resp.status_code == 200
    assert resp.mimetype == "text/xml"
    root = ET.fromstring(resp.data)
    assert root.tag == "Response"
    bodies = [m.text for m in root.iter("Message")]
    for body in bodies:
        texts.check(body)
    return bodies


def text_in(client, body, phone=PHONE, sid=None) -> list[str]:
    """The patient texts `body`; return our answers."""
    return answers(post(client, "/sms/inbound", inbound_params(body, phone, sid)))


def count_in(app, model, *where) -> int:
    with app.app_context():
        return count(db.session, model, *where)


def rows(app, model, *where, order=None) -> list:
    with app.app_context():
        found = db.session.scalars(select(model).where(*where).order_by(order or model.id)).all()
        db.session.expunge_all()
        return list(found)


def weekday(days_ahead: int) -> date:
    """A Mon-Fri date at least `days_ahead` days after today (real clock: the views read it)."""
    day = datetime.now(ZoneInfo(NY)).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@pytest.fixture
def patient(make_patient):
    return make_patient(phone=PHONE, tz=LA)


@pytest.fixture
def book_appointment(app, make_therapist):
    """Book an appointment at 10:00 New York time on a weekday `days_ahead` from now."""
    therapist = make_therapist()

    def make(patient_id: int, days_ahead: int = 3, hour: int = 10) -> int:
        day = weekday(days_ahead)
        with app.app_context():
            start = datetime(day.year, day.month, day.day, hour)
            appt = appointments.book(db.session, therapist, patient_id, start, 50, datetime.now(UTC), settings=current())
            db.session.commit()
            return appt.id
    return make


def add_group_meeting(app, facilitator_id: int, patient_id: int, start: datetime) -> int:
    """A group with one meeting at `start` and the patient enrolled; returns the occurrence id."""
    local = start.astimezone(ZoneInfo(NY))
    with app.app_context():
        group = GroupSeries(title="Evening circle", facilitator_id=facilitator_id, capacity=10,
                            duration_minutes=60, timezone=NY, local_start=local.replace(tzinfo=None),
                            created_at=NOW)
        db.session.add(group)
        db.session.flush()
        occ = Occurrence(group_id=group.id, local_date=local.date(), start_dt=start,
                         end_dt=start + timedelta(hours=1), cancelled=False)
        db.session.add_all([occ, Enrollment(group_id=group.id, patient_id=patient_id, status="enrolled",
                                            created_at=NOW, enrolled_at=NOW)])
        db.session.commit()
        return occ.id


def status(app, appt_id: int) -> str:
    with app.app_context():
        return db.session.get(Appointment, appt_id).status


def render(kind, language="en", **kw) -> str:
    return texts.render(kind, language, clinic_name="Northside Health", clinic_phone="555-0100", **kw)


# --- signatures -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/sms/inbound", "/sms/status"])
def test_unsigned_webhook_is_refused_and_changes_nothing(app, client, patient, book_appointment, path):
    book_appointment(patient)
    before = count_in(app, Message)
    resp = client.post(path, data=inbound_params("STOP"), base_url="http://localhost")
    assert resp.status_code == 403
    assert count_in(app, Message) == before
    assert count_in(app, Task) == 0
    assert rows(app, Patient)[0].opted_out_at is None


@pytest.mark.parametrize("how", ["other token", "tampered body", "added field", "wrong url", "local url"])
def test_wrongly_signed_webhook_is_refused_and_changes_nothing(app, client, patient, how):
    params = inbound_params("HELP")
    kwargs = {
        "other token": {"token": "not-the-token"},
        "tampered body": {"sent": {**params, "Body": "STOP"}},
        "added field": {"sent": {**params, "OptOutType": "STOP"}},
        "wrong url": {"signed_for": "https://evil.example.com"},
        # Behind the proxy only the public URL is trusted, not the one the request arrived at.
        "local url": {"signed_for": "http://localhost"},
    }[how]
    resp = post(client, "/sms/inbound", params, **kwargs)
    assert resp.status_code == 403
    assert count_in(app, Message) == 0
    assert rows(app, Patient)[0].opted_out_at is None


def test_wrongly_signed_status_callback_changes_nothing(app, client, patient):
    sid = add_outbound(app, patient, "sent")
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    assert post(client, "/sms/status", params, token="other").status_code == 403
    assert post(client, "/sms/status", params, sent={**params, "MessageStatus": "failed"}).status_code == 403
    assert rows(app, Message)[0].status == "sent"


def test_signature_checked_against_public_url_behind_a_proxy(app, client, patient):
    # Arrives at http://localhost/sms/inbound, signed by Twilio for https://clinic.example.org.
    assert text_in(client, "HELP") == [render("help")]
    # And a request that arrives at the public URL itself, as without a proxy.
    resp = signed_post(client, "/sms/inbound", inbound_params("INFO"), TOKEN, base_url=PUBLIC)
    assert answers(resp) == [render("help")]


def test_without_public_base_url_every_webhook_is_refused(make_app, make_patient):
    """The Host header is never trusted: with no PUBLIC_BASE_URL there is nothing to check against."""
    app = make_app(TWILIO_AUTH_TOKEN=TOKEN)
    make_patient(phone=PHONE)
    client = app.test_client()
    assert signed_post(client, "/sms/inbound", inbound_params("STOP"), TOKEN).status_code == 403
    assert post(client, "/sms/inbound", inbound_params("STOP")).status_code == 403
    assert count_in(app, Message) == 0


def test_without_an_auth_token_every_webhook_is_refused(make_app, make_patient):
    app = make_app(TWILIO_AUTH_TOKEN="", PUBLIC_BASE_URL=PUBLIC)
    make_patient(phone=PHONE)
    client = app.test_client()
    assert post(client, "/sms/inbound", inbound_params("STOP"), token="").status_code == 403
    assert client.post("/sms/inbound", data=inbound_params("STOP")).status_code == 403
    assert count_in(app, Message) == 0


# --- replies ----------------------------------------------------------------------------------

OPT_OUT_TEXTS = ["STOP", " stop ", "StopAll", "UNSUBSCRIBE", "Cancel", " CANCEL ", "end", "Quit",
                 "rEvOkE", "OPTOUT", "stop texting me", "Please stop texting me."]


def test_every_opt_out_word_opts_out_at_once(app, client, make_patient, book_appointment):
    # One patient per word, in one test: a fresh app per word would make the file slow.
    for i, word in enumerate(OPT_OUT_TEXTS):
        phone = f"+1201555{2000 + i:04d}"
        patient = make_patient(phone=phone, tz=LA)
        appt = book_appointment(patient, days_ahead=3 + 7 * (i // 7), hour=9 + i % 7)
        pending = [m.id for m in rows(app, Message, Message.patient_id == patient, Message.status == "pending")]
        assert len(pending) >= 2, word  # the booking text and a reminder
        assert text_in(client, word, phone=phone) == [render("opt_out_ack")], word
        p = rows(app, Patient, Patient.id == patient)[0]
        assert p.opted_out_at is not None and p.sms_consent, word  # consent stays as recorded
        assert count_in(app, Message, Message.patient_id == patient, Message.status == "pending") == 0, word
        withdrawn = rows(app, Message, Message.id.in_(pending))
        assert {(m.status, m.history[-1]["status"]) for m in withdrawn} == {("withdrawn", "withdrawn")}, word
        [task] = rows(app, Task, Task.patient_id == patient)
        assert (task.kind, task.appointment_id) == ("opt_out", appt), word
        assert status(app, appt) == "scheduled", word  # CANCEL is an opt-out, never a cancellation
        [inbound] = rows(app, Message, Message.patient_id == patient, Message.direction == "in")
        assert (inbound.kind, inbound.body, inbound.status) == ("opt_out", word, "received"), word
        assert task.message_id == inbound.id, word


def test_opted_out_number_gets_only_help_and_opt_in_answers(app, client, patient, book_appointment):
    appt = book_appointment(patient)
    assert text_in(client, "STOP") == [render("opt_out_ack")]
    assert text_in(client, "STOP") == []  # the one confirmation was already sent
    assert text_in(client, "R") == []
    assert text_in(client, "what time is it") == []
    assert text_in(client, "C") == []
    assert text_in(client, "HELP") == [render("help")]
    assert count_in(app, Task, Task.kind == "opt_out") == 1
    assert count_in(app, Task, Task.kind == "reschedule_request") == 1
    assert count_in(app, Task, Task.kind == "unrecognized_reply") == 1
    assert count_in(app, Message, Message.direction == "in") == 6  # every text is in the log
    assert status(app, appt) == "confirmed"  # C still confirms, silently
    assert text_in(client, " unstop ") == [render("opt_in_ack")]
    assert rows(app, Patient)[0].opted_out_at is None
    assert text_in(client, "R") == [render("reschedule_ack")]


@pytest.mark.parametrize("word", ["START", " Start ", "unstop"])
def test_start_opts_back_in(app, client, patient, word):
    text_in(client, "STOP")
    assert text_in(client, word) == [render("opt_in_ack")]
    p = rows(app, Patient)[0]
    assert p.opted_out_at is None and p.can_text
    assert count_in(app, Task, Task.kind == "consent_needed") == 0


def test_start_without_recorded_consent_asks_staff_to_take_it(app, client, make_patient):
    make_patient(phone=PHONE, consent=False)
    assert text_in(client, "START") == [render("opt_in_ack")]
    assert count_in(app, Task, Task.kind == "consent_needed") == 1
    assert not rows(app, Patient)[0].sms_consent
    assert text_in(client, "hello?") == []  # no consent: only help and opt-in/out are answered


@pytest.mark.parametrize("word", ["HELP", " help ", "Info"])
def test_help_names_the_clinic_phone_and_how_to_stop(app, client, patient, word):
    [reply] = text_in(client, word)
    assert "Northside Health" in reply and "555-0100" in reply and "STOP" in reply
    [out] = rows(app, Message, Message.direction == "out")
    assert (out.kind, out.status, out.body, out.twilio_sid) == ("reply_help", "sent", reply, None)


def test_spanish_patient_is_answered_in_spanish(app, client, make_patient):
    make_patient(phone=PHONE, language="es")
    assert text_in(client, "ayuda") == [render("help", "es")]
    assert text_in(client, "STOP") == [render("opt_out_ack", "es")]


def test_c_confirms_the_next_appointment(app, client, patient, book_appointment):
    later = book_appointment(patient, days_ahead=8)
    first = book_appointment(patient, days_ahead=3)
    start = rows(app, Appointment, Appointment.id == first)[0].start_dt
    # The time is named in the patient's zone (Los Angeles), not the therapist's.
    assert text_in(client, " c ") == [render("confirm_ack", start_dt=start, tz=LA)]
    assert "7:00 AM" in render("confirm_ack", start_dt=start, tz=LA)
    assert (status(app, first), status(app, later)) == ("confirmed", "scheduled")
    [inbound] = rows(app, Message, Message.direction == "in")
    assert (inbound.kind, inbound.appointment_id) == ("confirm", first)
    # Confirming twice is harmless and says the same.
    assert text_in(client, "C") == [render("confirm_ack", start_dt=start, tz=LA)]
    assert status(app, later) == "scheduled"


def test_c_confirms_a_group_meeting_when_it_comes_first(app, client, patient, book_appointment, make_therapist):
    appt = book_appointment(patient, days_ahead=8)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    occ = add_group_meeting(app, make_therapist(name="Lee Park"), patient, start)
    assert text_in(client, "C") == [render("confirm_ack", start_dt=start, tz=LA)]
    [attendance] = rows(app, Attendance)
    assert (attendance.occurrence_id, attendance.patient_id) == (occ, patient)
    assert attendance.confirmed_at is not None and attendance.status is None
    assert status(app, appt) == "scheduled"


def test_c_with_nothing_upcoming(app, client, patient, book_appointment, make_therapist):
    appt = book_appointment(patient)
    with app.app_context():
        appointments.cancel(db.session, appt, datetime.now(UTC), settings=current())
        db.session.commit()
    past = datetime.now(UTC) - timedelta(hours=1)
    add_group_meeting(app, make_therapist(name="Lee Park"), patient, past)
    assert text_in(client, "C") == [render("nothing_to_confirm")]
    assert count_in(app, Attendance) == 0


def test_r_asks_staff_and_keeps_the_appointment(app, client, patient, book_appointment):
    appt = book_appointment(patient)
    assert text_in(client, "r") == [render("reschedule_ack")]
    [task] = rows(app, Task)
    assert (task.kind, task.patient_id, task.appointment_id) == ("reschedule_request", patient, appt)
    assert status(app, appt) == "scheduled"
    assert count_in(app, Message, Message.appointment_id == appt, Message.status == "pending") >= 1


def test_anything_else_gets_a_neutral_answer_and_a_task(app, client, patient):
    assert text_in(client, "Can I bring my sister?") == [render("unrecognized")]
    [task] = rows(app, Task)
    assert task.kind == "unrecognized_reply"
    [inbound, reply] = rows(app, Message)
    assert (inbound.direction, inbound.kind, inbound.body) == ("in", "other", "Can I bring my sister?")
    assert (reply.direction, reply.kind, reply.status) == ("out", "reply_unrecognized", "sent")


def test_unknown_number_changes_nothing(app, client, patient, book_appointment):
    book_appointment(patient)
    before = count_in(app, Message)
    for body in ("STOP", "C", "HELP", "hello"):
        assert text_in(client, body, phone="+12015559999") == []
    assert text_in(client, "STOP", phone="not a number") == []
    assert count_in(app, Message) == before
    assert count_in(app, Task) == 0
    assert rows(app, Patient)[0].opted_out_at is None


def test_a_repeated_message_sid_acts_once(app, client, patient, book_appointment):
    appt = book_appointment(patient)
    sid = new_sid()
    first = text_in(client, "R", sid=sid)
    assert text_in(client, "R", sid=sid) == first == [render("reschedule_ack")]
    assert count_in(app, Task) == 1
    assert count_in(app, Message, Message.direction == "in") == 1
    assert count_in(app, Message, Message.kind == "reply_reschedule_ack") == 1
    stop = new_sid()
    assert text_in(client, "STOP", sid=stop) == text_in(client, "STOP", sid=stop) == [render("opt_out_ack")]
    assert count_in(app, Task, Task.kind == "opt_out") == 1
    assert status(app, appt) == "scheduled"


def test_the_same_message_sid_arriving_at_once_acts_once(app, patient, book_appointment):
    book_appointment(patient)
    params = inbound_params("R")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: post(app.test_client(), "/sms/inbound", params), range(4)))
    assert [answers(r) for r in results] == [[render("reschedule_ack")]] * 4
    assert count_in(app, Task) == 1
    assert count_in(app, Message, Message.direction == "in") == 1


# --- status callbacks -------------------------------------------------------------------------

def add_outbound(app, patient_id: int, state: str) -> str:
    """An outbound text Twilio accepted, with its sid."""
    sid = new_sid()
    with app.app_context():
        db.session.add(Message(patient_id=patient_id, direction="out", kind="reminder", status=state,
                               twilio_sid=sid, body="x", attempts=1, created_at=NOW, sent_at=NOW,
                               history=[{"status": state, "at": NOW.isoformat()}]))
        db.session.commit()
    return sid


def callback(client, sid, state, code=None):
    params = {"MessageSid": sid, "MessageStatus": state, "AccountSid": "AC" + "0" * 32}
    if code is not None:
        params["ErrorCode"] = str(code)
    resp = post(client, "/sms/status", params)
    assert resp.status_code in (200, 204) and not resp.data
    return resp


def test_status_only_moves_forward(app, client, patient):
    sid = add_outbound(app, patient, "sent")
    for state in ("queued", "delivered", "sent", "delivered", "sending", "undelivered", "failed"):
        callback(client, sid, state, 30003 if state in ("undelivered", "failed") else None)
    [msg] = rows(app, Message)
    assert msg.status == "delivered" and msg.error_code is None
    assert [h["status"] for h in msg.history] == ["sent", "delivered"]
    assert count_in(app, Task) == 0


def test_status_steps_through_sent_to_delivered(app, client, patient):
    sid = add_outbound(app, patient, "sending")
    callback(client, sid, "sent")
    callback(client, sid, "sent")
    callback(client, sid, "delivered")
    [msg] = rows(app, Message)
    assert [h["status"] for h in msg.history] == ["sending", "sent", "delivered"]


def test_undelivered_records_the_error_and_asks_staff(app, client, patient):
    sid = add_outbound(app, patient, "sent")
    callback(client, sid, "undelivered", 30003)
    callback(client, sid, "undelivered", 30003)
    [msg] = rows(app, Message)
    assert (msg.status, msg.error_code) == ("undelivered", 30003)
    assert "unreachable" in msg.error
    assert [h["status"] for h in msg.history] == ["sent", "undelivered"]
    [task] = rows(app, Task)
    assert (task.kind, task.patient_id, task.message_id) == ("sms_failed", patient, msg.id)
    assert rows(app, Patient)[0].opted_out_at is None


def test_failed_with_21610_opts_the_patient_out(app, client, patient, book_appointment):
    book_appointment(patient)
    sid = add_outbound(app, patient, "sent")
    callback(client, sid, "failed", 21610)
    assert rows(app, Patient)[0].opted_out_at is not None
    assert count_in(app, Message, Message.status == "pending") == 0
    assert count_in(app, Task, Task.kind == "sms_failed") == 1


def test_unknown_sid_or_status_changes_nothing(app, client, patient):
    sid = add_outbound(app, patient, "sent")
    early = {"MessageSid": new_sid(), "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    assert post(client, "/sms/status", early).status_code == 204
    callback(client, sid, "no-such-status")
    assert rows(app, Message)[0].status == "sent"
    # An unknown sid may be a send not yet recorded: kept once (a replay keeps nothing more).
    assert post(client, "/sms/status", early).status_code == 204
    assert [e.status for e in rows(app, EarlyStatus)] == ["delivered"]
    # Without a well-formed MessageSid it is refused outright (a re-split replay looks like this).
    assert post(client, "/sms/status", {"MessageSid": "", "MessageStatus": "delivered"}).status_code == 403
    assert post(client, "/sms/status", {}).status_code == 403


# --- NUL characters (PostgreSQL text cannot hold them) ----------------------------------------

@pytest.mark.parametrize("body", ["C\x00", "\x00", "stop\x00 texting me", "hello\x00world"])
def test_a_nul_in_an_inbound_text_is_read_without_it(app, client, patient, book_appointment, body):
    book_appointment(patient)
    reply = text_in(client, body)
    [inbound] = rows(app, Message, Message.direction == "in")
    assert inbound.body == body.replace("\x00", "")
    expected = {"C\x00": "confirm", "\x00": "other", "stop\x00 texting me": "opt_out"}
    assert inbound.kind == expected.get(body, "other") and reply


@pytest.mark.parametrize("field", ["From", "MessageSid", "To"])
def test_a_nul_in_other_inbound_fields_changes_nothing_and_is_no_500(app, client, patient, field):
    params = inbound_params("C")
    params[field] = params[field][:5] + "\x00" + params[field][5:]
    resp = post(client, "/sms/inbound", params)
    assert resp.status_code in (200, 400, 403)  # a malformed MessageSid is refused (issue 8)
    if field != "To":
        assert count_in(app, Message, Message.direction == "in") == 0


@pytest.mark.parametrize("field", ["MessageSid", "MessageStatus", "ErrorCode"])
def test_a_nul_in_a_status_callback_is_no_500(app, client, patient, field):
    params = {"MessageSid": new_sid(), "MessageStatus": "failed", "ErrorCode": "30003"}
    params[field] = params[field][:3] + "\x00" + params[field][3:]
    assert post(client, "/sms/status", params).status_code in (204, 400, 403)  # a malformed sid is refused


# --- plain-language revocations (issue 7 item 4) ------------------------------------------------

@pytest.mark.parametrize(("body", "unclear"), [
    ("I don't want these texts anymore", False), ("I no longer want to receive texts", False),
    ("No quiero recibir mensajes", False), ("take me off your list", False),
    ("I can't stop by today", True), ("cancel my appointment please", True),
    # issue 14 item 4
    ("Por favor paren", False), ("No más, gracias", False), ("No quiero que me escriban", False),
    ("Unsub", False), ("I do not consent", False), ("Don't send me these anymore", False),
    ("salir de la lista", False), ("stop by at 5?", True),
])
def test_a_revocation_in_plain_words_opts_out_once_with_a_task(app, client, patient, book_appointment, body, unclear):
    appt = book_appointment(patient)
    assert text_in(client, body) == [render("opt_out_ack")]
    assert count_in(app, Message, Message.patient_id == patient, Message.status == "pending") == 0
    [task] = rows(app, Task, Task.patient_id == patient)
    assert (task.kind, task.appointment_id) == ("opt_out", appt)
    assert ("check what they meant" in task.detail) == unclear
    assert status(app, appt) == "scheduled"
    assert text_in(client, body) == []  # the single allowed confirmation was sent


@pytest.mark.parametrize("body", ["Thanks for the text!", "I don't want to miss my appointment",
                                  "No puedo ir mañana", "no, gracias, el martes está bien",
                                  "No me mandaron la dirección"])
def test_a_reply_about_something_else_keeps_the_texts_coming(app, client, patient, book_appointment, body):
    book_appointment(patient)
    assert text_in(client, body) == [render("unrecognized")]
    assert rows(app, Patient)[0].opted_out_at is None


# --- STOP from a number before it is a patient's (issue 7 item 5) -------------------------------

NEW_PATIENT = {"name": "Ana Ruiz", "timezone": NY, "sms_consent": True}


@pytest.mark.parametrize("stop", ["STOP", "please stop texting me", "No quiero recibir mensajes"])
def test_stop_from_an_unknown_number_binds_a_patient_registered_later(app, client, make_api, stop):
    api = make_api("admin")
    assert text_in(client, stop, phone="+12015550177") == []  # an unknown number learns nothing
    r = api.post("/patients", json={**NEW_PATIENT, "phone": "(201) 555-0177"})
    assert r.status_code == 201 and r.json["opted_out"] is True  # staff see it on the record
    pid = r.json["id"]
    [task] = rows(app, Task, Task.patient_id == pid)
    assert task.kind == "opt_out" and "START" in task.detail
    assert not rows(app, Patient, Patient.id == pid)[0].can_text
    assert text_in(client, "START", phone="+12015550177") == [render("opt_in_ack")]
    assert rows(app, Patient, Patient.id == pid)[0].can_text


def test_start_from_an_unknown_number_lifts_its_earlier_stop(app, client, make_api):
    api = make_api("admin")
    text_in(client, "STOP", phone="+12015550178")
    text_in(client, "START", phone="+12015550178")
    r = api.post("/patients", json={**NEW_PATIENT, "phone": "+12015550178"})
    assert r.json["opted_out"] is False and count_in(app, Task) == 0


def test_a_number_is_remembered_when_its_patient_moves_away_from_it(app, client, make_api, patient):
    api = make_api("admin")
    text_in(client, "STOP")  # the patient with PHONE opts out, then gets a new number
    assert api.patch(f"/patients/{patient}", json={"phone": "+12015550179"}).status_code == 200
    other = api.post("/patients", json={**NEW_PATIENT, "phone": PHONE}).json
    assert other["opted_out"] is True  # whoever has the number now said STOP from it


def test_moving_a_patient_to_an_opted_out_number_opts_them_out(app, client, make_api, make_patient):
    api = make_api("admin")
    pid = make_patient(phone="+12015550180")
    text_in(client, "STOP", phone="+12015550181")
    r = api.patch(f"/patients/{pid}", json={"phone": "+12015550181"})
    assert r.status_code == 200 and r.json["opted_out"] is True
