"""Dispatch: claims, send-time checks, Twilio outcomes, the pass and the worker's jobs.

Texts go through the real twilio client to a real HTTP stand-in on 127.0.0.1; every domain
call gets a fixed `now`, so each test walks a clinic's calendar minute by minute.
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import update as sa_update

from scheduler import jobs
from scheduler.core import timeutil
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import dispatch, sending, sms
from scheduler.models import Appointment, Message, Occurrence, Patient, Task
from scheduler.scheduling import appointments, groups, roster
from tests.support import ny

UTC = UTC
NY = "America/New_York"
BOOKED_AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
ALL_HOURS = ((0, 1, 2, 3, 4, 5, 6), "06:00", "23:30")


def run(app, now: datetime) -> dict:
    """One dispatch pass at a fixed `now`."""
    with app.app_context():
        return dispatch.run_once(db.session, lambda: now, sms.make_backend(current().sms), settings=current())


def book_direct(app, therapist_id: int, patient_id: int, start: datetime, now: datetime = BOOKED_AT,
         minutes: int = 50) -> int:
    with app.app_context():
        appt = appointments.book(db.session, therapist_id, patient_id, start, minutes, now, settings=current())
        db.session.commit()
        return appt.id


def messages(app, **where) -> list[Message]:
    with app.app_context():
        query = select(Message).where(*(getattr(Message, k) == v for k, v in where.items()))
        rows = db.session.scalars(query.order_by(Message.id)).all()
        db.session.expunge_all()
        return rows


def bodies(standin) -> list[str]:
    return [m["body"] for m in standin.accepted]


# -- the whole life of an appointment ------------------------------------------------------
def test_appointment_life_sends_each_text_once_at_its_time(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient(phone="+12015550123")
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10))  # Thursday 10:00
    run(tapp, BOOKED_AT)
    run(tapp, BOOKED_AT)
    assert [(m["to"], m["body"]) for m in standin.accepted] == [
        ("+12015550123", "Northside Health: Your appointment is set for Thu Mar 5 at 10:00 AM. "
                         "Reply C to confirm, R to reschedule, STOP to opt out. Call 555-0100")]
    assert standin.accepted[0]["messaging_service_sid"] == "MG" + "0" * 32

    run(tapp, ny(3, 9, 59))  # the 48h reminder is due Tuesday 10:00
    assert len(standin.accepted) == 1
    run(tapp, ny(3, 10))
    assert len(standin.accepted) == 2 and "Reminder" in bodies(standin)[1]

    with tapp.app_context():  # Tuesday 11:00: moved to Friday 14:00
        appointments.reschedule(db.session, appt_id, ny(3, 11), start=ny(6, 14), settings=current())
        db.session.commit()
    old_2h = messages(tapp, dedupe_key=f"appt{appt_id}:v1:120m")[0]
    assert old_2h.status == "withdrawn"
    run(tapp, ny(3, 11))
    assert "moved to Fri Mar 6 at 2:00 PM" in bodies(standin)[2]

    for moment, expected in [(ny(4, 13, 59), 3), (ny(4, 14), 4), (ny(5, 8), 4), (ny(5, 10), 4),
                             (ny(6, 11, 59), 4), (ny(6, 12), 5)]:
        run(tapp, moment)  # the old reminder times (Thu 08:00, 10:00) pass silently
        assert len(standin.accepted) == expected, moment
    assert all("Fri Mar 6 at 2:00 PM" in b for b in bodies(standin)[3:5])

    with tapp.app_context():
        appointments.cancel(db.session, appt_id, ny(6, 12, 30), settings=current())
        db.session.commit()
    for moment in (ny(6, 12, 30), ny(6, 12, 31), ny(6, 14), ny(7, 10), ny(9, 10)):
        run(tapp, moment)
    assert len(standin.accepted) == 6
    assert bodies(standin)[5].startswith("Northside Health: Your appointment on Fri Mar 6 at 2:00 PM "
                                         "is cancelled.")
    sent = messages(tapp, appointment_id=appt_id, status="sent")
    assert [m.kind for m in sent] == ["booked", "reminder", "rescheduled", "reminder", "reminder",
                                      "cancelled"]
    assert {m.twilio_sid for m in sent} == {a["sid"] for a in standin.accepted}


# -- a weekly group across the DST change --------------------------------------------------
def _weekly_group(app, facilitator: int, patient_ids: list[int], now: datetime, capacity: int = 8,
                  rrule: str | None = "FREQ=WEEKLY;COUNT=3") -> int:
    """Tuesdays at 18:00 New York from March 3, with these patients enrolled (or waitlisted)."""
    with app.app_context():
        group = groups.create_group(db.session, title="Tuesday evening", facilitator_id=facilitator,
                                    capacity=capacity, local_start=datetime(2026, 3, 3, 18),
                                    duration_minutes=60, timezone=NY, now=now, rrule=rrule, settings=current())
        for pid in patient_ids:
            roster.enroll(db.session, group.id, pid, now, settings=current())
        db.session.commit()
        return group.id


def test_weekly_group_reminders_keep_local_time_across_dst(tapp, standin, make_therapist, make_patient):
    facilitator = make_therapist()
    local = make_patient(phone="+12015550001")
    chicago = make_patient(phone="+12015550002", tz="America/Chicago")
    _weekly_group(tapp, facilitator, [local, chicago], BOOKED_AT)
    # 2h reminders at 16:00 New York (15:00 Chicago); 48h ones on the Sunday before.
    # DST starts Sunday March 8: the UTC instants shift by an hour, the wall times do not.
    schedule = [(ny(3, 16), "Tue Mar 3 at 6:00 PM"), (ny(8, 18), "Tue Mar 10 at 6:00 PM"),
                (ny(10, 16), "Tue Mar 10 at 6:00 PM"), (ny(15, 18), "Tue Mar 17 at 6:00 PM"),
                (ny(17, 16), "Tue Mar 17 at 6:00 PM")]
    assert ny(3, 16).hour == 21 and ny(10, 16).hour == 20
    for due, when in schedule:
        before = len(standin.accepted)
        run(tapp, due - timedelta(minutes=1))
        assert len(standin.accepted) == before
        run(tapp, due)
        got = {m["to"]: m["body"] for m in standin.accepted[before:]}
        assert when in got["+12015550001"]
        assert when.replace("6:00 PM", "5:00 PM") in got["+12015550002"]
    assert len(standin.accepted) == 10


def test_promoted_from_waitlist_text_names_the_next_meeting(tapp, standin, make_therapist, make_patient):
    facilitator = make_therapist()
    first, second = make_patient(phone="+12015550001"), make_patient(phone="+12015550002")
    group_id = _weekly_group(tapp, facilitator, [first, second], BOOKED_AT, capacity=1)
    with tapp.app_context():  # an hour before Tuesday's meeting the seat frees up
        roster.drop(db.session, group_id, first, ny(10, 17), settings=current())
        db.session.commit()
    assert {m.status for m in messages(tapp, patient_id=first, kind="reminder")} >= {"withdrawn"}
    run(tapp, ny(10, 19))  # the dispatcher only gets to it after that meeting began
    promoted = messages(tapp, patient_id=second, kind="waitlist_promoted")[0]
    assert promoted.status == "sent"
    assert [(m["to"], "Tue Mar 17 at 6:00 PM" in m["body"]) for m in standin.accepted] == [
        ("+12015550002", True)]


# -- issue 14 item 1: a cancelled meeting's notice goes out (and its reminders do not) -----
def test_a_cancelled_group_meeting_is_texted_once_to_each_patient_and_never_reminded(
        tapp, standin, make_therapist, make_patient):
    from datetime import date

    from scheduler.scheduling import group_changes
    facilitator = make_therapist()
    patients = [make_patient(phone="+12015550001"), make_patient(phone="+12015550002")]
    group_id = _weekly_group(tapp, facilitator, patients, BOOKED_AT)
    with tapp.app_context():  # Monday: the meeting of Tuesday March 10 is called off
        [occ_id] = db.session.scalars(select(Occurrence.id).where(
            Occurrence.group_id == group_id, Occurrence.local_date == date(2026, 3, 10))).all()
        group_changes.cancel_occurrence(db.session, group_id, occ_id, BOOKED_AT, settings=current())
        db.session.commit()
    for moment in (BOOKED_AT, ny(3, 16), ny(8, 18), ny(10, 16), ny(10, 18)):
        run(tapp, moment)
    about_the_10th = [(m["to"], m["body"]) for m in standin.accepted if "Mar 10" in m["body"]]
    assert sorted(about_the_10th) == [
        (phone, "Northside Health: Your appointment on Tue Mar 10 at 6:00 PM is cancelled. To book again "
                "call 555-0100. Reply STOP to opt out.") for phone in ("+12015550001", "+12015550002")]
    assert {m.status for m in messages(tapp, occurrence_id=occ_id, kind="reminder")} == {"withdrawn"}


# -- issue 14 item 2: never told of a change to something never told of ---------------------
def test_a_booking_cancelled_before_its_held_booking_text_left_sends_nothing(tapp, standin, make_therapist,
                                                                           make_patient):
    therapist, patient = make_therapist(), make_patient()
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10), now=ny(2, 21))  # quiet hours: held for 08:00
    run(tapp, ny(2, 21))
    with tapp.app_context():
        appointments.cancel(db.session, appt_id, ny(2, 22), settings=current())
        db.session.commit()
    for moment in (ny(2, 22), ny(3, 8), ny(3, 10), ny(5, 8)):
        run(tapp, moment)
    assert standin.accepted == []
    assert {m.status for m in messages(tapp, appointment_id=appt_id)} == {"withdrawn"}


def test_a_booking_moved_before_its_held_booking_text_left_is_one_booking_text_for_the_new_time(
        tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10), now=ny(2, 21))
    with tapp.app_context():  # moved twice in the evening, before anything left
        appointments.reschedule(db.session, appt_id, ny(2, 22), start=ny(6, 14), settings=current())
        appointments.reschedule(db.session, appt_id, ny(2, 23), start=ny(6, 15), settings=current())
        db.session.commit()
    run(tapp, ny(2, 23))
    run(tapp, ny(3, 8))
    assert bodies(standin) == ["Northside Health: Your appointment is set for Fri Mar 6 at 3:00 PM. "
                               "Reply C to confirm, R to reschedule, STOP to opt out. Call 555-0100"]
    with tapp.app_context():  # once told, a move is a move
        appointments.reschedule(db.session, appt_id, ny(3, 9), start=ny(6, 16), settings=current())
        db.session.commit()
    run(tapp, ny(3, 9))
    assert len(standin.accepted) == 2 and "moved to Fri Mar 6 at 4:00 PM" in bodies(standin)[1]


def test_a_meeting_called_off_before_a_promoted_patient_heard_of_their_seat_is_not_announced(
        tapp, standin, make_therapist, make_patient):
    from datetime import date

    from scheduler.scheduling import group_changes
    facilitator = make_therapist()
    first, second = make_patient(phone="+12015550001"), make_patient(phone="+12015550002")
    group_id = _weekly_group(tapp, facilitator, [first, second], BOOKED_AT, capacity=1)
    with tapp.app_context():  # Monday 21:00 a seat frees (the notice waits for 08:00); at 22:00
        roster.drop(db.session, group_id, first, ny(9, 21), settings=current())  # Tuesday's meeting is off
        [occ_id] = db.session.scalars(select(Occurrence.id).where(
            Occurrence.group_id == group_id, Occurrence.local_date == date(2026, 3, 10))).all()
        group_changes.cancel_occurrence(db.session, group_id, occ_id, ny(9, 22), settings=current())
        db.session.commit()
    run(tapp, ny(10, 8))
    assert [(m["to"], "Tue Mar 17 at 6:00 PM" in m["body"]) for m in standin.accepted] == [
        ("+12015550002", True)]


def test_horizon_job_adds_meetings_and_their_reminders(tapp, make_therapist, make_patient):
    facilitator, patient = make_therapist(), make_patient()
    group_id = _weekly_group(tapp, facilitator, [patient], BOOKED_AT, rrule="FREQ=WEEKLY")
    with tapp.app_context():
        def count(model, *where):
            return len(db.session.scalars(select(model).where(*where)).all())
        meetings, texts = count(Occurrence, Occurrence.group_id == group_id), count(Message)
        jobs.extend_horizon(db.session, BOOKED_AT + timedelta(weeks=2))
        jobs.extend_horizon(db.session, BOOKED_AT + timedelta(weeks=2))
        assert count(Occurrence, Occurrence.group_id == group_id) == meetings + 2
        assert count(Message) == texts + 4  # 48h and 2h for each new meeting


# -- quiet hours ---------------------------------------------------------------------------
@pytest.mark.parametrize("session_at, expected_due", [
    ((21, 59), (19, 59)),  # due 19:59: sent then
    ((22, 0), (19, 59)),   # due 20:00: moves earlier, just before the window opens
    ((9, 59), (8, 0)),     # due 07:59: moves to 08:00, the session is later
    ((7, 30), None),       # due 05:30: 08:00 is after the start, last evening too early: skipped
])
def test_quiet_hours_edges(twilio_app, standin, make_therapist, make_patient, session_at, expected_due):
    app = twilio_app(REMINDER_OFFSETS=[timedelta(hours=2)])
    therapist, patient = make_therapist(hours=ALL_HOURS), make_patient()
    appt_id = book_direct(app, therapist, patient, ny(4, *session_at))
    run(app, BOOKED_AT)
    assert len(standin.accepted) == 1  # the booking text
    reminder = messages(app, appointment_id=appt_id, kind="reminder")[0]
    if expected_due is None:
        assert (reminder.status, reminder.skip_reason) == ("skipped", "quiet_hours")
        for moment in (ny(3, 19, 59), ny(4, 5, 30), ny(4, 7, 29), ny(4, 8)):
            run(app, moment)
        assert len(standin.accepted) == 1
        return
    due = ny(4, *expected_due)
    assert reminder.due_at == due
    run(app, due - timedelta(minutes=1))
    assert len(standin.accepted) == 1
    run(app, due)
    assert len(standin.accepted) == 2


def test_row_found_due_in_quiet_hours_is_deferred_not_sent(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    appt_id = book_direct(tapp, therapist, patient, ny(6, 10))  # Friday 10:00; 48h reminder due Wed 10:00
    run(tapp, BOOKED_AT)
    run(tapp, ny(4, 21))  # the dispatcher was down all day and comes back at 21:00
    assert len(standin.accepted) == 1
    reminder = messages(tapp, appointment_id=appt_id, kind="reminder", offset_minutes=2880)[0]
    assert (reminder.status, reminder.due_at, reminder.attempts) == ("pending", ny(5, 8), 0)
    run(tapp, ny(5, 7, 59))
    assert len(standin.accepted) == 1
    run(tapp, ny(5, 8))
    assert len(standin.accepted) == 2 and "Fri Mar 6 at 10:00 AM" in bodies(standin)[1]


def test_notice_after_hours_waits_for_morning(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    book_direct(tapp, therapist, patient, ny(6, 10), now=ny(2, 21, 30))
    run(tapp, ny(2, 21, 30))
    run(tapp, ny(3, 7, 59))
    assert standin.accepted == []
    run(tapp, ny(3, 8))
    assert len(standin.accepted) == 1


# -- the patient at send time --------------------------------------------------------------
@pytest.mark.parametrize("change, reason", [
    ({"sms_consent": False}, "no_consent"),
    ({"opted_out_at": BOOKED_AT}, "opted_out"),
])
def test_consent_is_checked_at_send_time(tapp, standin, make_therapist, make_patient, change, reason):
    therapist, patient = make_therapist(), make_patient()
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10))
    with tapp.app_context():
        for key, value in change.items():
            setattr(db.session.get(Patient, patient), key, value)
        db.session.commit()
    counts = run(tapp, BOOKED_AT)
    assert counts["skipped"] == 1 and standin.requests == 0
    booked = messages(tapp, appointment_id=appt_id, kind="booked")[0]
    assert (booked.status, booked.skip_reason, booked.body) == ("skipped", reason, None)
    assert booked.history[-1]["detail"] == reason


def test_stale_reminder_is_skipped(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10))
    run(tapp, ny(5, 7))  # first pass ever, three hours before the session
    reminder = messages(tapp, appointment_id=appt_id, offset_minutes=2880)[0]
    assert (reminder.status, reminder.skip_reason) == ("skipped", "stale")
    assert not any("Reminder" in b for b in bodies(standin))


def test_cancelled_or_moved_session_skips_its_reminder(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10))
    run(tapp, BOOKED_AT)
    with tapp.app_context():  # moved behind reminders' back: the row still names the old time
        appt = db.session.get(Appointment, appt_id)
        appt.start_dt, appt.end_dt = ny(5, 11), ny(5, 12)
        db.session.commit()
    run(tapp, ny(3, 10))
    reminder = messages(tapp, appointment_id=appt_id, offset_minutes=2880)[0]
    assert (reminder.status, reminder.skip_reason) == ("skipped", "time_changed")
    assert len(standin.accepted) == 1


# -- Twilio's answers ----------------------------------------------------------------------
def test_21610_opts_the_patient_out_and_is_never_retried(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient(phone="+12015550777")
    standin.opted_out.add("+12015550777")
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10))
    assert run(tapp, BOOKED_AT)["failed"] == 1
    booked = messages(tapp, appointment_id=appt_id, kind="booked")[0]
    assert (booked.status, booked.error_code) == ("failed", 21610)
    with tapp.app_context():
        assert db.session.get(Patient, patient).opted_out_at == BOOKED_AT
        tasks = db.session.scalars(select(Task)).all()
        assert [(t.kind, t.patient_id, t.message_id) for t in tasks] == [("opt_out", patient, booked.id)]
    for moment in (BOOKED_AT + timedelta(hours=1), ny(3, 10), ny(5, 8)):
        run(tapp, moment)
    assert standin.requests == 1 and standin.accepted == []
    # Withdrawn at once, as a STOP by text would (and START brings back those still due).
    assert {(m.status, m.history[-1].get("detail")) for m in messages(tapp, kind="reminder")} == {
        ("withdrawn", "patient opted out")}


@pytest.mark.parametrize("failure", [("error", 500, 500), ("error", 429, 20429), ("error", 503, 503),
                                     ("refuse",), ("error", 504, 504)])
def test_transient_failure_then_exactly_one_text(tapp, standin, make_therapist, make_patient, failure):
    therapist, patient = make_therapist(), make_patient()
    standin.script(failure)
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10))
    assert run(tapp, BOOKED_AT)["retry"] == 1
    booked = messages(tapp, appointment_id=appt_id, kind="booked")[0]
    assert booked.status == "pending" and BOOKED_AT < booked.due_at <= BOOKED_AT + timedelta(seconds=30)
    run(tapp, BOOKED_AT + timedelta(seconds=5))  # not due yet
    assert standin.requests == 1
    run(tapp, BOOKED_AT + timedelta(seconds=30))
    assert len(standin.accepted) == 1 and standin.requests == 2
    booked = messages(tapp, appointment_id=appt_id, kind="booked")[0]
    # A refused connection or a gateway timeout may not have reached Twilio: only the send counts.
    attempts = 1 if failure[0] == "refuse" or failure[1] == 504 else 2
    assert (booked.status, booked.twilio_sid, booked.attempts) == ("sent", standin.accepted[0]["sid"], attempts)
    assert booked.uncertain is False


def test_connection_refused_is_retried(twilio_app, standin, make_therapist, make_patient):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    down, up = twilio_app(TWILIO_API_BASE_URL=closed), twilio_app()
    therapist, patient = make_therapist(), make_patient()
    appt_id = book_direct(up, therapist, patient, ny(5, 10))
    assert run(down, BOOKED_AT)["retry"] == 1
    booked = messages(up, appointment_id=appt_id, kind="booked")[0]
    assert booked.uncertain is False and booked.due_at == BOOKED_AT + timedelta(seconds=30)
    run(up, BOOKED_AT + timedelta(seconds=30))
    assert len(standin.accepted) == 1 and standin.list_requests == 0


def test_eight_transient_failures_give_up_visibly(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    standin.script(*[("error", 503, 503)] * 8)
    appt_id = book_direct(tapp, therapist, patient, ny(9, 10))
    waits, moment = [], BOOKED_AT
    for _ in range(8):
        run(tapp, moment)
        booked = messages(tapp, appointment_id=appt_id, kind="booked")[0]
        if booked.status == "pending":
            waits.append(booked.due_at - moment)
            moment = booked.due_at
    assert [w.total_seconds() for w in waits] == [30, 60, 120, 240, 480, 900, 900]
    assert (booked.status, booked.attempts) == ("failed", 8)
    assert booked.error.startswith("gave up after 8 attempts")
    run(tapp, moment + timedelta(hours=1))
    assert standin.requests == 8 and standin.accepted == []
    with tapp.app_context():
        assert [t.kind for t in db.session.scalars(select(Task))] == ["sms_failed"]


def test_permanent_error_fails_with_a_task(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    standin.script(("error", 400, 21614))
    appt_id = book_direct(tapp, therapist, patient, ny(5, 10))
    run(tapp, BOOKED_AT)
    booked = messages(tapp, appointment_id=appt_id, kind="booked")[0]
    assert (booked.status, booked.error_code, booked.error) == ("failed", 21614, "HTTP 400: Not a mobile number")
    with tapp.app_context():
        task = db.session.scalars(select(Task)).one()
        assert (task.kind, task.appointment_id) == ("sms_failed", appt_id)
        assert "+1" not in task.detail
    run(tapp, BOOKED_AT + timedelta(hours=1))
    assert standin.requests == 1


def test_timeout_after_twilio_accepted_sends_exactly_once(twilio_app, standin, make_therapist, make_patient):
    app = twilio_app(SMS_TIMEOUT_SECONDS=0.5)
    therapist, patient = make_therapist(), make_patient()
    standin.script(("accept_then_hang", 2))
    appt_id = book_direct(app, therapist, patient, ny(5, 10))
    assert run(app, BOOKED_AT)["retry"] == 1
    booked = messages(app, appointment_id=appt_id, kind="booked")[0]
    assert booked.status == "pending" and booked.uncertain is True
    run(app, BOOKED_AT + timedelta(seconds=10))
    assert len(standin.accepted) == 1 and standin.requests == 1 and standin.list_requests >= 1
    booked = messages(app, appointment_id=appt_id, kind="booked")[0]
    assert (booked.status, booked.twilio_sid) == ("sent", standin.accepted[0]["sid"])
    assert booked.uncertain is False


def test_status_callback_url_is_passed_when_configured(twilio_app, standin, make_therapist, make_patient):
    app = twilio_app(PUBLIC_BASE_URL="https://clinic.example")
    therapist, patient = make_therapist(), make_patient()
    book_direct(app, therapist, patient, ny(5, 10))
    run(app, BOOKED_AT)
    assert standin.accepted[0]["status_callback"] == "https://clinic.example/sms/status"


# -- claims and leases ---------------------------------------------------------------------
def test_claim_takes_each_due_row_once_and_recovers_expired_leases(tapp, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    book_direct(tapp, therapist, patient, ny(5, 10))
    lease = timedelta(seconds=60)
    with tapp.app_context():
        session = db.session
        assert dispatch.claim(session, BOOKED_AT - timedelta(seconds=1), 10, lease) == []
        first = dispatch.claim(session, BOOKED_AT, 10, lease)
        assert len(first) == 1
        assert dispatch.claim(session, BOOKED_AT + timedelta(seconds=59), 10, lease) == []
        again = dispatch.claim(session, BOOKED_AT + timedelta(seconds=61), 10, lease)
        assert again == first
        msg = session.get(Message, first[0])
        assert (msg.status, msg.attempts, msg.uncertain) == ("sending", 0, True)  # claims are not attempts
        assert msg.lease_until == BOOKED_AT + timedelta(seconds=121)
        # The first claimer's token is stale: it may not write the row any more.
        ready, counts = dispatch.prepare(session, first, BOOKED_AT + lease, BOOKED_AT, lease, current())
        assert ready == [] and counts["lost"] == 1
        assert sending.release(session, first, BOOKED_AT + timedelta(seconds=121)) == 1
        session.expire_all()
        assert (msg.status, msg.attempts, msg.lease_until) == ("pending", 0, None)


def test_worker_died_after_sending_is_not_sent_again(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    book_direct(tapp, therapist, patient, ny(5, 10))
    lease = timedelta(seconds=tapp.config["DISPATCH_LEASE_SECONDS"])
    with tapp.app_context():  # a worker claims, prepares, sends ... and dies before recording
        backend = sms.make_backend(current().sms)
        [msg_id] = dispatch.claim(db.session, BOOKED_AT, 10, lease)
        [out], _ = dispatch.prepare(db.session, [msg_id], BOOKED_AT + lease, BOOKED_AT, lease, current())
        backend.send(out.to, out.body)
    run(tapp, BOOKED_AT + lease - timedelta(seconds=1))
    assert len(standin.accepted) == 1
    counts = run(tapp, BOOKED_AT + lease + timedelta(seconds=1))
    assert counts["sent"] == 1 and len(standin.accepted) == 1
    msg = messages(tapp, id=msg_id)[0]
    assert (msg.status, msg.twilio_sid, msg.uncertain) == ("sent", standin.accepted[0]["sid"], False)


def test_worker_died_before_sending_sends_after_lease(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    book_direct(tapp, therapist, patient, ny(5, 10))
    lease = timedelta(seconds=tapp.config["DISPATCH_LEASE_SECONDS"])
    with tapp.app_context():
        [msg_id] = dispatch.claim(db.session, BOOKED_AT, 10, lease)
        dispatch.prepare(db.session, [msg_id], BOOKED_AT + lease, BOOKED_AT, lease, current())
    run(tapp, BOOKED_AT + lease + timedelta(seconds=1))
    assert len(standin.accepted) == 1 and standin.list_requests >= 1
    assert messages(tapp, id=msg_id)[0].status == "sent"


def test_group_record_falls_back_row_by_row(tapp, standin, make_therapist, make_patient, caplog):
    therapist = make_therapist()
    for n in range(3):
        book_direct(tapp, therapist, make_patient(), ny(5, 10 + n))
    lease = timedelta(seconds=tapp.config["DISPATCH_LEASE_SECONDS"])
    with tapp.app_context():
        session = db.session
        ids = dispatch.claim(session, BOOKED_AT, 10, lease)
        ready, _ = dispatch.prepare(session, ids, BOOKED_AT + lease, BOOKED_AT, lease, current())
        taken, duplicated = session.get(Message, ids[1]), session.get(Message, ids[2])
        taken.lease_until = BOOKED_AT + 2 * lease  # another worker took it over, not yet recorded
        duplicated.status, duplicated.twilio_sid = "sent", "SM" + "1" * 32  # recorded by another
        session.commit()
        sent = [sending.Sent(out, f"SM{n:032d}", BOOKED_AT) for n, out in enumerate(ready)]
        assert sending.record_sent_many(session, sent) == {"sent": 2, "lost": 1}
        session.expire_all()
        assert [session.get(Message, i).twilio_sid for i in ids] == [
            f"SM{0:032d}", f"SM{1:032d}", "SM" + "1" * 32]
    assert "reached Twilio twice" in caplog.text


def test_stopping_mid_group_hands_unsent_rows_back(tapp, standin, make_therapist, make_patient):
    import threading

    therapist = make_therapist()
    for n in range(6):
        book_direct(tapp, therapist, make_patient(), ny(5, 10 + n))
    stop = threading.Event()
    with tapp.app_context():
        backend = sms.make_backend(current().sms)
        real_send = backend.send

        def send_then_stop(*args, **kwargs):
            result = real_send(*args, **kwargs)
            stop.set()  # SIGTERM arrives while the first text is out
            return result
        backend.send = send_then_stop
        counts = dispatch.run_once(db.session, lambda: BOOKED_AT, backend, should_stop=stop.is_set, settings=current())
    assert counts["sent"] >= 1 and counts["sent"] + counts["released"] == 6
    booked = messages(tapp, kind="booked")
    assert len([m for m in booked if m.status == "sent"]) == len(standin.accepted) == counts["sent"]
    assert {(m.status, m.attempts, m.lease_until) for m in booked if m.status != "sent"} <= {("pending", 0, None)}


def test_pacer_spaces_sends():
    clock, slept = [0.0], []

    def sleep(seconds):
        slept.append(round(seconds, 6))
        clock[0] += seconds
    pacer = sending.Pacer(4, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert slept == [0.25] * 4
    clock[0] += 10
    pacer.wait()
    assert len(slept) == 4
    unthrottled = sending.Pacer(None, clock=lambda: 0.0, sleep=sleep)
    unthrottled.wait()
    unthrottled.wait()
    assert len(slept) == 4


def test_backoff_doubles_to_a_cap():
    assert [sending.backoff(n).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 900, 900, 900]


# -- the command and the worker's jobs -----------------------------------------------------
def test_reminders_dispatch_command(make_app, make_therapist, make_patient):
    app = make_app(QUIET_HOURS=None)
    therapist, patient = make_therapist(hours=ALL_HOURS), make_patient()
    real_now = datetime.now(UTC).replace(microsecond=0)
    book_direct(app, therapist, patient, timeutil.localize(datetime.combine(
        (real_now + timedelta(days=3)).astimezone(timeutil.zone(NY)).date(), time(12)), NY),
        now=real_now - timedelta(minutes=1))
    result = app.test_cli_runner().invoke(args=["reminders", "dispatch"])
    assert result.exit_code == 0, result.output
    assert "dispatch: claimed=1 sent=1" in result.output
    assert "+1201555" not in result.output and "Sam" not in result.output
    again = app.test_cli_runner().invoke(args=["reminders", "dispatch"])
    assert "claimed=0" in again.output


def test_no_show_followups_once_per_appointment(app, make_therapist, make_patient):
    therapist, patient, other = make_therapist(), make_patient(), make_patient()
    no_show, forgotten = book_direct(app, therapist, patient, ny(3, 10)), book_direct(app, therapist, other, ny(3, 11))
    upcoming = book_direct(app, therapist, patient, ny(5, 10))
    with app.app_context():
        appointments.record_attendance(db.session, no_show, "no_show", ny(3, 11))
        db.session.commit()
        assert jobs.no_show_followups(db.session, ny(4, 11)) == 1  # forgotten: not a day yet
        assert jobs.no_show_followups(db.session, ny(4, 12)) == 1
        assert jobs.no_show_followups(db.session, ny(5, 12)) == 0
        assert jobs.no_show_followups(db.session, ny(6, 12)) == 1  # Thursday's, a day later
        tasks = db.session.scalars(select(Task).order_by(Task.id)).all()
        assert [(t.kind, t.appointment_id) for t in tasks] == [
            ("no_show", no_show), ("attendance_missing", forgotten), ("attendance_missing", upcoming)]


def test_housekeeping_counts_problems(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    standin.script(("error", 400, 21211))
    book_direct(tapp, therapist, patient, ny(5, 10))
    run(tapp, BOOKED_AT)
    with tapp.app_context():
        counts = jobs.housekeeping(db.session, BOOKED_AT + timedelta(hours=1))
    assert counts["failed"] == 1 and counts["overdue"] == 0


def test_worker_jobs_are_configured_to_never_drop_a_run(tapp):
    import threading

    scheduler = jobs.build_scheduler(tapp, threading.Event())
    listed = {job.id: job for job in scheduler.get_jobs()}
    assert set(listed) == {"dispatch", "plan", "horizon", "follow_up", "aftercare_followups", "housekeeping"}
    for job in listed.values():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
    assert not scheduler.running


def test_dispatch_job_stops_early_and_hands_rows_back(tapp, standin, make_therapist, make_patient):
    import threading

    therapist = make_therapist()
    for n in range(3):
        book_direct(tapp, therapist, make_patient(), ny(5, 10 + n))
    stop = threading.Event()
    stop.set()
    with tapp.app_context():
        backend = sms.make_backend(current().sms)
    counts = jobs.dispatch_job(tapp, backend, sending.Pacer(None), stop, now_fn=lambda: BOOKED_AT)
    assert counts["claimed"] == 0 and standin.accepted == []
    counts = jobs.dispatch_job(tapp, backend, sending.Pacer(None), threading.Event(),
                               now_fn=lambda: BOOKED_AT)
    assert counts["sent"] == 3


# -- issue 7 item 1: a lookup never takes another row's text; one row's failure holds up none --
def test_an_unanswered_send_is_not_matched_to_an_identical_earlier_text(tapp, standin, make_therapist,
                                                                         make_patient):
    therapist, patient, other = make_therapist(), make_patient(), make_patient()
    first = book_direct(tapp, therapist, patient, ny(5, 10))
    run(tapp, BOOKED_AT)  # "Your appointment is set for Thu Mar 5 at 10:00 AM..."
    with tapp.app_context():
        appointments.cancel(db.session, first, BOOKED_AT + timedelta(minutes=1), settings=current())
        db.session.commit()
    run(tapp, BOOKED_AT + timedelta(minutes=1))
    again = book_direct(tapp, therapist, patient, ny(5, 10), now=BOOKED_AT + timedelta(minutes=2))
    standin.script(("refuse",))  # the rebooking text's answer is lost: did it arrive?
    run(tapp, BOOKED_AT + timedelta(minutes=2))
    [rebooked] = messages(tapp, appointment_id=again, kind="booked")
    assert rebooked.uncertain and rebooked.status == "pending"
    book_direct(tapp, therapist, other, ny(5, 12), now=BOOKED_AT + timedelta(minutes=2, seconds=5))  # claimed with it
    for seconds in (10, 20, 60):  # no pass crashes; the text goes out once, with the other patient's
        run(tapp, BOOKED_AT + timedelta(minutes=2, seconds=seconds))
    [rebooked] = messages(tapp, appointment_id=again, kind="booked")
    [original] = messages(tapp, appointment_id=first, kind="booked")
    assert rebooked.status == "sent" and rebooked.twilio_sid != original.twilio_sid
    assert [m["body"] for m in standin.accepted].count(rebooked.body) == 2  # first booking + rebooking
    assert {m.status for m in messages(tapp, kind="booked")} == {"sent"}


def test_a_row_that_cannot_be_recorded_holds_up_no_other(tapp, standin, make_therapist, make_patient,
                                                         monkeypatch):
    therapist = make_therapist()
    ids = [book_direct(tapp, therapist, make_patient(), ny(5, 9 + i)) for i in range(3)]
    real = sending.look_up
    with tapp.app_context():  # every row uncertain: each starts with a lookup
        db.session.execute(sa_update(Message).values(uncertain=True))
        db.session.commit()
    [broken] = messages(tapp, appointment_id=ids[1], kind="booked")

    def look_up(session, msg_id, *args):
        if msg_id == broken.id:
            raise RuntimeError("simulated")
        return real(session, msg_id, *args)
    monkeypatch.setattr(sending, "look_up", look_up)
    run(tapp, BOOKED_AT)
    states = {m.appointment_id: m.status for m in messages(tapp, kind="booked")}
    assert states[ids[0]] == states[ids[2]] == "sent" and states[ids[1]] == "pending"
    monkeypatch.setattr(sending, "look_up", real)
    run(tapp, BOOKED_AT + timedelta(minutes=5))
    assert {m.status for m in messages(tapp, kind="booked")} == {"sent"} and len(standin.accepted) == 3


# -- issue 7 item 10: claims are not attempts; a dead worker's texts are taken over in seconds --
def _claimed_by_a_worker(tapp, heartbeat_age: timedelta, lease: timedelta = timedelta(minutes=2)) -> int:
    """A booking text claimed (not sent) by a worker whose last heartbeat was `heartbeat_age` ago."""
    from scheduler.core import clock
    from scheduler.models import Worker
    with tapp.app_context():
        beat = clock.now() - heartbeat_age
        db.session.add(Worker(id="w-other", started_at=beat, heartbeat_at=beat))
        db.session.commit()
        [msg_id] = dispatch.claim(db.session, BOOKED_AT, 10, lease, worker_id="w-other")
        return msg_id


@pytest.mark.parametrize(("age", "taken"), [(timedelta(seconds=1), False), (timedelta(seconds=7), False),
                                            (timedelta(seconds=11), True), (timedelta(hours=3), True)])
def test_a_dead_workers_claims_are_taken_over_long_before_their_lease_ends(tapp, standin, make_therapist,
                                                                          make_patient, age, taken):
    therapist, patient = make_therapist(), make_patient()
    book_direct(tapp, therapist, patient, ny(5, 10))
    msg_id = _claimed_by_a_worker(tapp, age)
    counts = run(tapp, BOOKED_AT + timedelta(seconds=1))  # 119 s of the lease are left
    [msg] = messages(tapp, id=msg_id)
    if taken:
        assert counts["claimed"] == 1 and msg.status == "sent" and len(standin.accepted) == 1
        assert msg.attempts == 1  # the crashed claim cost nothing
    else:
        assert counts["claimed"] == 0 and msg.status == "sending" and standin.accepted == []


def test_a_taken_over_text_that_had_left_is_found_not_resent(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    book_direct(tapp, therapist, patient, ny(5, 10))
    with tapp.app_context():  # a worker prepared and sent it, then died before recording
        [msg_id] = dispatch.claim(db.session, BOOKED_AT, 10, timedelta(minutes=2), worker_id="w-gone")
        ready, _ = dispatch.prepare(db.session, [msg_id], BOOKED_AT + timedelta(minutes=2), BOOKED_AT,
                                    timedelta(minutes=2), current())
        sms.make_backend(current().sms).send(ready[0].to, ready[0].body)
    run(tapp, BOOKED_AT + timedelta(seconds=5))
    [msg] = messages(tapp, id=msg_id)
    assert (msg.status, msg.twilio_sid, msg.attempts) == ("sent", standin.accepted[0]["sid"], 1)
    assert len(standin.accepted) == 1


def test_crashes_before_sending_never_use_up_the_attempts(tapp, standin, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    book_direct(tapp, therapist, patient, ny(5, 10))
    for crash in range(sending.MAX_ATTEMPTS + 2):  # claimed, then the worker died, again and again
        with tapp.app_context():
            dispatch.claim(db.session, BOOKED_AT + timedelta(minutes=crash), 10, timedelta(seconds=30),
                           worker_id=f"w-dead-{crash}")
    run(tapp, BOOKED_AT + timedelta(minutes=20))
    [msg] = messages(tapp, kind="booked")
    assert (msg.status, msg.attempts) == ("sent", 1) and len(standin.accepted) == 1


def test_a_worker_whose_heartbeat_is_stale_stops_sending(tapp, standin, make_therapist, make_patient):
    from scheduler.messaging import workers
    therapist = make_therapist()
    for i in range(3):
        book_direct(tapp, therapist, make_patient(), ny(5, 9 + i))
    with tapp.app_context():
        beat = workers.Heartbeat(db.engine)
        beat.beat()
        beat._last_ok -= workers.SEND_WITHIN  # the database stopped taking its heartbeats
        counts = dispatch.run_once(db.session, lambda: BOOKED_AT, sms.make_backend(current().sms), worker=beat,
                                   settings=current())
    assert standin.requests == 0 and counts["sent"] == 0
    assert {m.status for m in messages(tapp, kind="booked")} == {"pending"}


# -- issue 14 item 3: a worker's own clock does not matter; the database's does ------------
SKEWS = [pytest.param(timedelta(seconds=-30), id="behind"), pytest.param(timedelta(seconds=30), id="ahead")]


def _booked_now(app, make_therapist, make_patient, booked_at: datetime) -> int:
    """A booking text due at `booked_at` (no quiet hours), for a session three days later."""
    therapist, patient = make_therapist(hours=ALL_HOURS), make_patient()
    start = timeutil.localize(datetime.combine(
        (booked_at + timedelta(days=3)).astimezone(timeutil.zone(NY)).date(), time(12)), NY)
    return book_direct(app, therapist, patient, start, now=booked_at)


@pytest.mark.parametrize("skew", SKEWS)
def test_a_worker_whose_clock_is_off_sends_what_is_due_by_the_database_clock(
        twilio_app, standin, make_therapist, make_patient, time_machine, skew):
    app = twilio_app(QUIET_HOURS=None)
    real = datetime.now(UTC)
    # Due 15 s into the worker's wrong clock: not yet due when it runs ahead, overdue when behind.
    _booked_now(app, make_therapist, make_patient, real + skew / 2)
    time_machine.move_to(real + skew, tick=True)
    result = app.test_cli_runner().invoke(args=["reminders", "dispatch"])
    assert result.exit_code == 0, result.output
    assert len(standin.accepted) == (1 if skew < timedelta() else 0)


@pytest.mark.parametrize("skew", SKEWS)
def test_a_live_workers_claims_are_not_taken_over_by_a_worker_whose_clock_differs(
        twilio_app, standin, make_therapist, make_patient, time_machine, skew):
    from scheduler.messaging import workers
    app = twilio_app(QUIET_HOURS=None)
    real = datetime.now(UTC)
    appt_id = _booked_now(app, make_therapist, make_patient, real - timedelta(minutes=1))
    # Worker A runs on the real clock (skew ahead) or 30 s behind it; worker B 30 s ahead of A.
    a_clock = real + min(skew, timedelta())
    time_machine.move_to(a_clock, tick=True)
    with app.app_context():
        a = workers.Heartbeat(db.engine, every=3600).start()  # beats once: alive for 10 s
    try:
        with app.app_context():
            [msg_id] = dispatch.claim(db.session, datetime.now(UTC), 10, timedelta(minutes=2), worker_id=a.id)
        time_machine.move_to(a_clock + timedelta(seconds=30), tick=True)
        result = app.test_cli_runner().invoke(args=["reminders", "dispatch"])
        assert result.exit_code == 0, result.output
    finally:
        a.stop()
    [msg] = messages(app, id=msg_id)
    assert "claimed=0" in result.output and standin.accepted == []
    assert (msg.appointment_id, msg.status, msg.claimed_by) == (appt_id, "sending", a.id)
