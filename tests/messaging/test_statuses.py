"""Delivery statuses that arrive before their send is recorded (issue 7 item 9).

The stand-in calls back, with a real signature, while the worker is still waiting for its
answer: the app cannot have recorded the sid yet. Such a callback is kept and applied once
the send is recorded, whether by the worker's pass, by the lookup after a crash, or by
housekeeping; and only once.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler import jobs
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import dispatch, sms, statuses
from scheduler.models import AuditEvent, EarlyStatus, Message, Patient, Task
from scheduler.scheduling import appointments
from tests.support import count, ny
from tests.support.webhooks import signed_post

BOOKED_AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
PUBLIC = "https://clinic.example"
TOKEN = "x" * 32  # the twilio_app's auth token


@pytest.fixture
def capp(twilio_app):
    """Texts go to the stand-in; its status callbacks come back signed for PUBLIC."""
    return twilio_app(PUBLIC_BASE_URL=PUBLIC)


def call_back(app, sid: str, state: str, code: int | None = None) -> int:
    params = {"MessageSid": sid, "MessageStatus": state, "AccountSid": "AC" + "0" * 32}
    if code is not None:
        params["ErrorCode"] = str(code)
    return signed_post(app.test_client(), "/sms/status", params, TOKEN, base_url=PUBLIC).status_code


def calls_back_before_answering(standin, app, *states: tuple[str, int | None]) -> list[int]:
    """Each accepted text is reported in `states` before Twilio's answer reaches the worker."""
    answers: list[int] = []

    def hook(record):
        for state, code in states:
            answers.append(call_back(app, record["sid"], state, code))
    standin.on_accept = hook
    return answers


def book(app, therapist: int, patient: int, start: datetime) -> int:
    with app.app_context():
        appt = appointments.book(db.session, therapist, patient, start, 50, BOOKED_AT, settings=current())
        db.session.commit()
        return appt.id


def run(app, now: datetime) -> dict:
    with app.app_context():
        return dispatch.run_once(db.session, lambda: now, sms.make_backend(current().sms), settings=current())


def rows(app, model, *where) -> list:
    with app.app_context():
        found = list(db.session.scalars(select(model).where(*where).order_by(model.id)))
        db.session.expunge_all()
        return found


@pytest.mark.parametrize(("state", "code", "words"), [("undelivered", 30003, "unreachable"),
                                                      ("failed", 30006, "landline")])
def test_a_failure_reported_before_the_send_is_recorded_reaches_staff(capp, standin, make_therapist,
                                                                      make_patient, state, code, words):
    therapist, patient = make_therapist(), make_patient()
    book(capp, therapist, patient, ny(5, 10))
    answers = calls_back_before_answering(standin, capp, (state, code))
    run(capp, BOOKED_AT)
    assert answers == [204]
    [msg] = rows(capp, Message, Message.kind == "booked")
    assert (msg.status, msg.error_code, msg.twilio_sid) == (state, code, standin.accepted[0]["sid"])
    assert words in msg.error.lower()
    assert [h["status"] for h in msg.history][-2:] == ["sent", state]
    [task] = rows(capp, Task)
    assert (task.kind, task.patient_id, task.message_id) == ("sms_failed", patient, msg.id)
    standin.on_accept = None
    run(capp, BOOKED_AT + timedelta(minutes=5))  # nothing is applied twice, nothing resent
    assert len(rows(capp, Task)) == 1 and len(standin.accepted) == 1
    assert rows(capp, EarlyStatus) == []


def test_early_statuses_out_of_order_still_end_delivered(capp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    book(capp, therapist, patient, ny(5, 10))
    calls_back_before_answering(standin, capp, ("delivered", None), ("sent", None))
    run(capp, BOOKED_AT)
    [msg] = rows(capp, Message, Message.kind == "booked")
    assert msg.status == "delivered"
    assert [h["status"] for h in msg.history][-2:] == ["sent", "delivered"]
    assert rows(capp, Task) == []


def test_every_text_of_a_batch_gets_its_early_status(capp, standin, make_therapist, make_patient):
    therapist = make_therapist()
    for hour in (9, 10, 11, 13, 14):  # sent together by the pass's sending threads
        book(capp, therapist, make_patient(), ny(5, hour))
    answers = calls_back_before_answering(standin, capp, ("delivered", None))
    run(capp, BOOKED_AT)
    assert answers == [204] * 5
    assert [m.status for m in rows(capp, Message, Message.kind == "booked")] == ["delivered"] * 5


def test_a_carriers_stop_reported_early_opts_the_patient_out_at_once(capp, standin, make_therapist,
                                                                      make_patient):
    therapist, patient = make_therapist(), make_patient()
    book(capp, therapist, patient, ny(5, 10))
    calls_back_before_answering(standin, capp, ("failed", 21610))
    run(capp, BOOKED_AT)
    with capp.app_context():
        assert db.session.get(Patient, patient).opted_out_at is not None
        assert count(db.session, AuditEvent, AuditEvent.action == "opt_out",
                     AuditEvent.entity_id == patient) == 1
    assert {m.status for m in rows(capp, Message, Message.kind == "reminder")} == {"withdrawn"}
    standin.on_accept = None
    for moment in (ny(3, 10), ny(5, 8)):
        run(capp, moment)
    assert len(standin.accepted) == 1  # the reminders never go out


def test_an_early_status_waits_for_the_lookup_after_a_crash(capp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    book(capp, therapist, patient, ny(5, 10))
    calls_back_before_answering(standin, capp, ("undelivered", 30003))
    with capp.app_context():  # a worker sent it, was told of the failure, and died before recording
        [msg_id] = dispatch.claim(db.session, BOOKED_AT, 10, timedelta(minutes=2), worker_id="w-gone")
        ready, _ = dispatch.prepare(db.session, [msg_id], BOOKED_AT + timedelta(minutes=2), BOOKED_AT,
                                    timedelta(minutes=2), current())
        sms.make_backend(current().sms).send(ready[0].to, ready[0].body)
    assert len(rows(capp, EarlyStatus)) == 1
    standin.on_accept = None
    run(capp, BOOKED_AT + timedelta(seconds=15))  # taken over, found at Twilio, not resent
    [msg] = rows(capp, Message, Message.id == msg_id)
    assert (msg.status, msg.error_code) == ("undelivered", 30003) and len(standin.accepted) == 1
    assert [t.message_id for t in rows(capp, Task)] == [msg_id]


def _recorded_without_its_early_status(app, therapist: int, patient: int, received: datetime) -> int:
    """A send recorded by a worker that crashed before applying the status that came first."""
    book(app, therapist, patient, ny(5, 10))
    sid = sms.new_sid()
    with app.app_context():
        db.session.add(EarlyStatus(twilio_sid=sid, status="undelivered", error_code=30003, received_at=received))
        db.session.execute(update(Message).where(Message.kind == "booked")
                           .values(status="sent", twilio_sid=sid, sent_at=received))
        db.session.commit()
        return db.session.scalar(select(Message.id).where(Message.kind == "booked"))


def test_housekeeping_applies_what_a_crash_left_and_forgets_only_unclaimed_old_ones(
        app, make_therapist, make_patient):
    # Older than the week kept callbacks are forgotten after: its send is recorded, so it counts.
    msg_id = _recorded_without_its_early_status(app, make_therapist(), make_patient(),
                                                BOOKED_AT - timedelta(days=8))
    with app.app_context():
        db.session.add_all([  # statuses for sends never recorded here: kept a week, then forgotten
            EarlyStatus(twilio_sid=sms.new_sid(), status="delivered", received_at=BOOKED_AT - timedelta(days=8)),
            EarlyStatus(twilio_sid=sms.new_sid(), status="delivered", received_at=BOOKED_AT - timedelta(days=6))])
        db.session.commit()
        first = jobs.housekeeping(db.session, BOOKED_AT + timedelta(hours=1))
        again = jobs.housekeeping(db.session, BOOKED_AT + timedelta(hours=2))
    assert (first["early_statuses_applied"], first["early_statuses_forgotten"]) == (1, 1)
    assert (again["early_statuses_applied"], again["early_statuses_forgotten"]) == (0, 0)
    [msg] = rows(app, Message, Message.id == msg_id)
    assert msg.status == "undelivered"
    assert [t.message_id for t in rows(app, Task)] == [msg_id]
    assert [e.received_at for e in rows(app, EarlyStatus)] == [BOOKED_AT - timedelta(days=6)]


def test_a_send_recorded_while_the_webhook_keeps_its_status_is_still_told(app, engine_name, make_patient,
                                                                            monkeypatch):
    """The webhook finds no send and keeps the status; before it commits, the worker records the
    send and looks for kept statuses (none yet). Only the webhook's second look can apply it."""
    if engine_name == "sqlite":
        pytest.skip("SQLite serialises writers: the webhook's transaction cannot interleave so")
    app.config.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC)
    patient, sid = make_patient(), sms.new_sid()
    with app.app_context():
        db.session.add(Message(patient_id=patient, direction="out", kind="reminder", status="sending",
                               body="x", attempts=0, created_at=BOOKED_AT, history=[]))
        db.session.commit()
    keep = statuses.handle

    def keep_then_worker_records(session, *args):
        outcome = keep(session, *args)
        assert outcome == statuses.KEPT
        with Session(db.engine) as worker:  # another connection: the webhook has not committed
            worker.execute(update(Message).values(status="sent", twilio_sid=sid))
            worker.commit()
            assert statuses.apply_early(worker, [sid]) == 0  # the kept row is not visible yet
        return outcome
    monkeypatch.setattr(statuses, "handle", keep_then_worker_records)
    assert call_back(app, sid, "undelivered", 30003) == 204
    [msg] = rows(app, Message)
    assert (msg.status, msg.error_code) == ("undelivered", 30003)
    assert [t.message_id for t in rows(app, Task)] == [msg.id] and rows(app, EarlyStatus) == []


def test_a_kept_status_is_applied_once_when_both_sides_take_it_at_once(app, make_therapist, make_patient):
    msg_id = _recorded_without_its_early_status(app, make_therapist(), make_patient(), BOOKED_AT)
    start, applied, errors = threading.Barrier(2), [], []

    def take():
        try:
            with app.app_context():
                start.wait()
                applied.append(statuses.apply_early(db.session))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and sorted(applied) == [0, 1]
    assert [t.message_id for t in rows(app, Task)] == [msg_id]
