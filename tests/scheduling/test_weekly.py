"""Weekly individual sessions (repeat_weeks): all or none, the same local time across DST, one
booking text for the series and each session's reminders, and cancelling this one or this and later."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import dispatch
from scheduler.models import Appointment, Message, MessageStatus
from scheduler.scheduling import appointments
from tests.support import at, book, count, next_dst_changes, next_monday, ny


def weekly(api, t, p, start, weeks, minutes=50):
    return api.post("/appointments", json={"therapist_id": t, "patient_id": p, "start": start,
                                           "duration_minutes": minutes, "repeat_weeks": weeks})


def kinds(app, *where):
    with app.app_context():
        return sorted(m.kind for m in db.session.scalars(select(Message).where(*where)))


def test_a_series_books_every_week_with_one_booking_text_and_reminders_each(app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    day = next_monday(weeks=2)
    r = weekly(api, t, p, at(day, 14), 6)
    assert r.status_code == 201, r.json
    booked = r.json["appointments"]
    assert [datetime.fromisoformat(a["start"]) for a in booked] == [ny(day + timedelta(weeks=w), 14) for w in range(6)]
    assert {a["status"] for a in booked} == {"scheduled"}
    ids = [a["id"] for a in booked]
    with app.app_context():
        series = {db.session.get(Appointment, i).series_id for i in ids}
        assert len(series) == 1 and None not in series
        notices = db.session.scalars(select(Message).where(Message.patient_id == p,
                                                           Message.kind != "reminder")).all()
        assert [(m.kind, m.appointment_id) for m in notices] == [("booked_weekly", ids[0])]
        notice_id = notices[0].id
    for appt_id in ids:  # each session its own reminders (48h and 2h)
        assert kinds(app, Message.appointment_id == appt_id, Message.kind == "reminder") == ["reminder"] * 2
    body = _render(app, notice_id)
    assert "Weekly appointments from" in body and f"{day:%b} {day.day} at 2:00 PM" in body


def _render(app, message_id):
    with app.app_context():
        msg = db.session.get(Message, message_id)
        settings = current()
        return dispatch._render(msg, msg_patient(msg), settings, {})


def msg_patient(msg):
    from scheduler.models import Patient

    return db.session.get(Patient, msg.patient_id)


def test_one_clash_in_week_four_books_nothing_and_the_409_lists_it(app, api, make_therapist, make_patient):
    t, p, other = make_therapist(), make_patient(), make_patient(name="Other Person")
    day = next_monday(weeks=2)
    assert book(api, t, other, at(day + timedelta(weeks=3), 14, 30), 30).status_code == 201
    r = weekly(api, t, p, at(day, 14), 6)
    assert r.status_code == 409, r.json
    assert r.json["clashes"] == [{"week": 4, "start": at(day + timedelta(weeks=3), 14),
                                  "error": "the therapist already has a session then", "field": "therapist_id"}]
    assert "nothing was booked" in r.json["error"]
    with app.app_context():
        assert count(db.session, Appointment, Appointment.patient_id == p) == 0
        assert count(db.session, Message, Message.patient_id == p) == 0


def test_every_clash_is_listed(api, make_therapist, make_patient):
    t, colleague, p = make_therapist(), make_therapist(name="Lee Colleague"), make_patient()
    day = next_monday(weeks=2)
    assert book(api, colleague, p, at(day + timedelta(weeks=1), 14), 60).status_code == 201  # the patient is busy
    r = weekly(api, t, p, at(day, 16, 30), 3, minutes=60)  # 16:30-17:30 is past the 17:00 close each week
    assert r.status_code == 409
    assert [c["week"] for c in r.json["clashes"]] == [1, 2, 3]
    r = weekly(api, t, p, at(day, 14), 3)
    assert [(c["week"], c["field"]) for c in r.json["clashes"]] == [(2, "patient_id")]


def test_the_same_local_time_across_a_dst_change(api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    spring, fall = next_dst_changes()
    for change in (spring, fall):
        monday = change - timedelta(days=6 + 7)  # two Mondays before the change, two after
        r = weekly(api, t, p, at(monday, 10), 4)
        assert r.status_code == 201, r.json
        starts = [datetime.fromisoformat(a["start"]) for a in r.json["appointments"]]
        assert [s.strftime("%H:%M") for s in starts] == ["10:00"] * 4
        assert starts[0].utcoffset() != starts[3].utcoffset()
        assert starts == [ny(monday + timedelta(weeks=w), 10) for w in range(4)]


def test_a_week_whose_local_time_does_not_exist_is_a_clash(app, api, make_therapist, make_patient):
    t, p = make_therapist(hours=((6,), "00:00", "00:00")), make_patient()
    spring, _ = next_dst_changes()
    r = weekly(api, t, p, at(spring - timedelta(weeks=1), 2, 30), 3, minutes=30)
    assert r.status_code == 409
    assert r.json["clashes"] == [{"week": 2, "start": at(spring, 2, 30), "field": "start",
                                  "error": "this local time does not exist that day (daylight saving change)"}]
    with app.app_context():
        assert count(db.session, Appointment, Appointment.patient_id == p) == 0


@pytest.mark.parametrize("weeks", [0, 27, -1, "6", 6.0, True])
def test_repeat_weeks_out_of_bounds_is_a_422_naming_it(api, make_therapist, make_patient, weeks):
    t, p = make_therapist(), make_patient()
    r = weekly(api, t, p, at(next_monday(2), 10), weeks)
    assert r.status_code == 422
    assert list(r.json["errors"]) == ["repeat_weeks"]


def test_one_week_is_one_booking_in_a_list(app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    r = weekly(api, t, p, at(next_monday(2), 10), 1)
    assert r.status_code == 201
    (only,) = r.json["appointments"]
    assert kinds(app, Message.appointment_id == only["id"]) == ["booked", "reminder", "reminder"]
    with app.app_context():
        assert db.session.get(Appointment, only["id"]).series_id is None


def _told(app, patient_id):
    """The series' booking text went out."""
    with app.app_context():
        db.session.execute(update(Message).where(Message.patient_id == patient_id, Message.kind == "booked_weekly")
                           .values(status=MessageStatus.SENT))
        db.session.commit()


def test_cancel_this_one_or_this_and_later(app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    ids = [a["id"] for a in weekly(api, t, p, at(next_monday(2), 14), 6).json["appointments"]]
    _told(app, p)
    r = api.post(f"/appointments/{ids[1]}/cancel", json={"scope": "one"})
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    r = api.post(f"/appointments/{ids[3]}/cancel", json={"reason": "moving away", "scope": "later"})
    assert r.status_code == 200, r.json
    with app.app_context():
        statuses = [db.session.get(Appointment, i).status for i in ids]
        assert statuses == ["scheduled", "cancelled", "scheduled", "cancelled", "cancelled", "cancelled"]
        assert db.session.get(Appointment, ids[5]).cancel_reason == "moving away"
        notices = [(m.kind, m.appointment_id) for m in db.session.scalars(select(Message).where(
            Message.patient_id == p, Message.kind.in_(("cancelled", "cancelled_weekly"))).order_by(Message.id))]
        assert notices == [("cancelled", ids[1]), ("cancelled_weekly", ids[3])]  # one text for the lot
        for i in ids[3:]:
            assert {m.status for m in db.session.scalars(select(Message).where(
                Message.appointment_id == i, Message.kind == "reminder"))} == {"withdrawn"}
        live = db.session.scalars(select(Message).where(Message.appointment_id == ids[2],
                                                        Message.kind == "reminder")).all()
        assert {m.status for m in live} == {"pending"}
        notice = db.session.scalars(select(Message).where(Message.kind == "cancelled_weekly")).one().id
    assert "on are cancelled" in _render(app, notice)
    r = api.post(f"/appointments/{ids[0]}/cancel", json={"scope": "sometimes"})
    assert r.status_code == 422 and list(r.json["errors"]) == ["scope"]


def test_cancelled_before_the_patient_was_told_sends_nothing_and_the_text_moves_on(
        app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    ids = [a["id"] for a in weekly(api, t, p, at(next_monday(2), 14), 3).json["appointments"]]
    assert api.post(f"/appointments/{ids[0]}/cancel", json={}).status_code == 200
    assert kinds(app, Message.patient_id == p, Message.kind.in_(("cancelled", "cancelled_weekly"))) == []
    with app.app_context():
        msg = db.session.scalars(select(Message).where(Message.kind == "booked_weekly")).one()
        assert msg.status == MessageStatus.PENDING  # still to tell them of the other two
        patient = msg_patient(msg)
        now = msg.created_at
        verdict = dispatch.check(db.session, msg, patient, now, None)
        assert verdict.skip is None and msg.appointment_id == ids[1]
        first = db.session.get(Appointment, ids[1])
        assert msg.session_start_dt == first.start_dt
        appointments.cancel(db.session, ids[1], now, settings=current(), scope="later")
        assert dispatch.check(db.session, msg, patient, now, None).skip == "no_upcoming_session"
        db.session.rollback()


def test_the_rules_of_a_single_booking_hold_for_each_week(app, api, make_therapist, make_patient):
    """Time off in week 3 is a clash there."""
    from scheduler.models import AvailabilityException

    t, p = make_therapist(), make_patient()
    day = next_monday(weeks=2)
    with app.app_context():
        off = ny(day + timedelta(weeks=2), 0)
        db.session.add(AvailabilityException(therapist_id=t, start_dt=off, end_dt=off + timedelta(days=1)))
        db.session.commit()
    r = weekly(api, t, p, at(day, 11), 4)
    assert [(c["week"], c["error"]) for c in r.json["clashes"]] == [(3, "the therapist is unavailable then (time off)")]




def test_a_race_lost_in_week_three_books_nothing(app, api, make_therapist, make_patient, engine_name, monkeypatch):
    """Past the checks (as when another booking commits between them and the insert), PostgreSQL's
    exclusion constraint refuses the week that overlaps and the whole series rolls back."""
    if engine_name != "postgresql":
        pytest.skip("exclusion constraints exist on PostgreSQL only")
    t, p, other = make_therapist(), make_patient(), make_patient(name="Other Person")
    day = next_monday(weeks=2)
    assert book(api, t, other, at(day + timedelta(weeks=2), 14), 50).status_code == 201
    monkeypatch.setattr(appointments, "clash", lambda *args, **kwargs: None)
    r = weekly(api, t, p, at(day, 14), 4)
    assert r.status_code == 409 and "nothing was saved" in r.json["error"]
    with app.app_context():
        assert count(db.session, Appointment, Appointment.patient_id == p) == 0
        assert count(db.session, Message, Message.patient_id == p) == 0
