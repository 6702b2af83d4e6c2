"""Appointments: booking rules at the edges, DST, reschedule, cancel, attendance, validation, roles."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from scheduler.core.settings import current
from scheduler.errors import Conflict, Invalid
from scheduler.extensions import db
from scheduler.models import (
    Appointment,
    AuditEvent,
    AvailabilityException,
    Message,
)
from scheduler.scheduling import appointments
from tests.support import NOW, add_group, at, book, next_dst_changes, next_monday, ny


def test_book_returns_appointment_with_text_reminders_event_and_audit(app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    day = next_monday(weeks=2)  # far enough ahead that both reminders (48h, 2h) are still to come
    r = book(api, t, p, at(day, 10), 50)
    assert r.status_code == 201, r.json
    body = r.json
    assert body["status"] == "scheduled"
    assert datetime.fromisoformat(body["start"]) == ny(day, 10)
    assert datetime.fromisoformat(body["end"]) == ny(day, 10, 50)
    assert body["start"].startswith(at(day, 10))  # shown in the therapist's zone
    assert (body["therapist_id"], body["patient_id"]) == (t, p)
    with app.app_context():
        kinds = sorted(m.kind for m in db.session.scalars(
            select(Message).where(Message.appointment_id == body["id"])))
        assert kinds == ["booked", "reminder", "reminder"]
        appt = db.session.get(Appointment, body["id"])
        assert [e.status for e in appt.events] == ["scheduled"]
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "appointment", AuditEvent.action == "create",
            AuditEvent.entity_id == body["id"])) == 1


def test_book_with_offset_is_the_same_instant(api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    day = next_monday()
    instant = ny(day, 11).astimezone(UTC).isoformat()
    r = book(api, t, p, instant)
    assert r.status_code == 201
    assert datetime.fromisoformat(r.json["start"]) == ny(day, 11)


# Existing session 10:00-11:00; the new one starts at (hh, mm) and lasts `minutes`.
EDGES = [
    ("back to back after", (11, 0), 60, 201),
    ("back to back before", (9, 0), 60, 201),
    ("one minute overlap at the end", (10, 59), 30, 409),
    ("one minute overlap at the start", (9, 1), 60, 409),
    ("same time", (10, 0), 60, 409),
    ("inside", (10, 15), 15, 409),
    ("around", (9, 30), 120, 409),
]


@pytest.mark.parametrize("who", ["therapist", "patient"])
@pytest.mark.parametrize("case, hhmm, minutes, status", EDGES)
def test_overlap_edges(api, make_therapist, make_patient, who, case, hhmm, minutes, status):
    t1, t2 = make_therapist(), make_therapist(name="Lee Park")
    p1, p2 = make_patient(), make_patient()
    day = next_monday()
    assert book(api, t1, p1, at(day, 10)).status_code == 201
    # The therapist clash: same therapist, another patient. The patient clash: the other way.
    therapist, patient = (t1, p2) if who == "therapist" else (t2, p1)
    r = book(api, therapist, patient, at(day, *hhmm), minutes)
    assert r.status_code == status, (case, r.json)
    if status == 409:
        assert r.json["field"] == f"{who}_id"


@pytest.mark.parametrize("case, hhmm, status", [
    ("during the group", (13, 30), 409),
    ("ending as it starts", (12, 0), 201),
    ("starting as it ends", (14, 0), 201),
    ("one minute into it", (12, 1), 409),
])
@pytest.mark.parametrize("who", ["facilitator", "enrolled patient"])
def test_group_occurrence_blocks_facilitator_and_enrolled_patient(
        app, api, make_therapist, make_patient, who, case, hhmm, status):
    t, other_t, p, other_p = make_therapist(), make_therapist(name="Lee Park"), make_patient(), make_patient()
    day = next_monday()
    with app.app_context():
        if who == "facilitator":  # the therapist runs a group 13:00-14:00
            add_group(db.session, t, ny(day, 13))
        else:  # the patient sits in someone else's group 13:00-14:00
            add_group(db.session, other_t, ny(day, 13), enrolled=(p,))
    patient = other_p if who == "facilitator" else p
    r = book(api, t, patient, at(day, *hhmm), 60)
    assert r.status_code == status, r.json


def test_waitlisted_patient_is_not_busy_in_the_group(app, api, make_therapist, make_patient):
    t, facilitator, p = make_therapist(), make_therapist(name="Lee Park"), make_patient()
    day = next_monday()
    with app.app_context():
        add_group(db.session, facilitator, ny(day, 13), waitlisted=(p,))
    assert book(api, t, p, at(day, 13)).status_code == 201


@pytest.mark.parametrize("case, weekday_offset, hhmm, minutes", [
    ("saturday", 5, (10, 0), 60),
    ("before opening", 0, (8, 30), 60),
    ("running past closing", 0, (16, 30), 60),
    ("after closing", 0, (17, 0), 30),
])
def test_outside_hours_is_409(api, make_therapist, make_patient, case, weekday_offset, hhmm, minutes):
    t, p = make_therapist(), make_patient()
    day = next_monday() + timedelta(days=weekday_offset)
    r = book(api, t, p, at(day, *hhmm), minutes)
    assert r.status_code == 409, case
    assert "working hours" in r.json["error"]


@pytest.mark.parametrize("hhmm, minutes, status", [
    ((12, 0), 60, 409),   # inside the time off
    ((11, 30), 60, 409),  # runs into it
    ((11, 0), 60, 201),   # ends as it begins
    ((14, 0), 60, 201),   # starts as it ends
])
def test_time_off_exception(app, api, make_therapist, make_patient, hhmm, minutes, status):
    t, p = make_therapist(), make_patient()
    day = next_monday()
    with app.app_context():
        db.session.add(AvailabilityException(therapist_id=t, start_dt=ny(day, 12), end_dt=ny(day, 14),
                                             reason="training"))
        db.session.commit()
    r = book(api, t, p, at(day, *hhmm), minutes)
    assert r.status_code == status, r.json
    if status == 409:
        assert "time off" in r.json["error"]


def test_start_in_the_past_is_422(api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    r = book(api, t, p, "2020-01-06T10:00:00-05:00")
    assert r.status_code == 422
    assert "start" in r.json["errors"]


@pytest.mark.parametrize("start", ["2026-03-08T02:30", "NEXT_GAP"])
def test_nonexistent_local_time_is_422_on_start(api, make_therapist, make_patient, start):
    t = make_therapist(hours=((0, 1, 2, 3, 4, 5, 6), "00:00", "23:59"))
    p = make_patient()
    if start == "NEXT_GAP":  # the same gap, but in the future by the real clock
        start = at(next_dst_changes()[0], 2, 30)
    r = book(api, t, p, start)
    assert r.status_code == 422
    assert "daylight" in r.json["errors"]["start"]


# --- DST: domain with a fixed clock, and the API on the next real changes --------------------


@pytest.mark.parametrize("day, utc_hour", [
    (date(2026, 3, 2), 14),   # EST, before spring-forward
    (date(2026, 3, 9), 13),   # the Monday after spring-forward: EDT
    (date(2026, 10, 26), 13),  # EDT, before fall-back
    (date(2026, 11, 2), 14),  # the Monday after fall-back: EST
])
def test_nine_local_is_the_right_instant_across_dst(app, make_therapist, make_patient, day, utc_hour):
    t, p = make_therapist(), make_patient()
    now = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=3)
    with app.app_context():
        appt = appointments.book(db.session, t, p, datetime(day.year, day.month, day.day, 9), 50, now, settings=current())
        db.session.commit()
        assert appt.start_dt == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)


@pytest.mark.parametrize("change", ["spring", "fall"])
def test_api_booking_on_monday_after_next_dst_change(api, make_therapist, make_patient, change):
    t, p = make_therapist(), make_patient()
    spring, fall = next_dst_changes()
    monday = (spring if change == "spring" else fall) + timedelta(days=1)
    r = book(api, t, p, at(monday, 9))
    assert r.status_code == 201, r.json
    offset = "-04:00" if change == "spring" else "-05:00"
    assert r.json["start"] == f"{at(monday, 9)}:00{offset}"


# --- reschedule, cancel, attendance, confirm ---------------------------------------------------


def test_reschedule_rechecks_and_frees_the_old_time(app, api, make_therapist, make_patient):
    t, p1, p2, p3 = make_therapist(), make_patient(), make_patient(), make_patient()
    day = next_monday(weeks=2)  # both reminders of the new time are still to come
    first = book(api, t, p1, at(day, 10)).json
    assert book(api, t, p2, at(day, 13)).status_code == 201
    # Onto the other booking: refused, and nothing changed.
    r = api.patch(f"/appointments/{first['id']}", json={"start": at(day, 13, 30)})
    assert r.status_code == 409
    # Extending into its own old time is fine (it is excluded from the check).
    r = api.patch(f"/appointments/{first['id']}", json={"start": at(day, 10, 30)})
    assert r.status_code == 200, r.json
    assert r.json["version"] == 2 and r.json["status"] == "scheduled"
    assert datetime.fromisoformat(r.json["start"]) == ny(day, 10, 30)
    # 09:30-10:30 clashed with the old 10:00-11:00 and is free now.
    assert book(api, t, p3, at(day, 9, 30)).status_code == 201
    with app.app_context():
        msgs = db.session.scalars(select(Message).where(Message.appointment_id == first["id"])).all()
        live = sorted(m.kind for m in msgs if m.status == "pending")
        # No text had left yet: the patient is told of a booking at the new time, not of a move.
        assert live == ["booked", "reminder", "reminder"]
        # The texts about the old time are withdrawn.
        old = [m for m in msgs if m.kind == "reminder" and m.session_start_dt == ny(day, 10)]
        assert old and all(m.status == "withdrawn" for m in old)


def test_reschedule_frees_old_slot_for_another_patient(api, make_therapist, make_patient):
    t, p1, p2 = make_therapist(), make_patient(), make_patient()
    day = next_monday()
    appt = book(api, t, p1, at(day, 10)).json
    assert book(api, t, p2, at(day, 10)).status_code == 409
    assert api.patch(f"/appointments/{appt['id']}", json={"start": at(day, 15)}).status_code == 200
    assert book(api, t, p2, at(day, 10)).status_code == 201


def test_reschedule_resets_confirmation_and_refuses_cancelled(app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    day = next_monday()
    appt_id = book(api, t, p, at(day, 10)).json["id"]
    with app.app_context():
        assert appointments.confirm(db.session, db.session.get(Appointment, appt_id), NOW) is True
        db.session.commit()
    r = api.patch(f"/appointments/{appt_id}", json={"duration_minutes": 30})
    assert r.status_code == 200  # the patient was told only the start: still confirmed
    assert r.json["status"] == "confirmed" and r.json["duration_minutes"] == 30
    r = api.patch(f"/appointments/{appt_id}", json={"start": at(day, 11)})
    assert r.status_code == 200
    assert r.json["status"] == "scheduled" and r.json["duration_minutes"] == 30
    assert [h["status"] for h in r.json["history"]] == ["scheduled", "confirmed", "confirmed", "scheduled"]
    assert api.post(f"/appointments/{appt_id}/cancel", json={}).status_code == 200
    assert api.patch(f"/appointments/{appt_id}", json={"start": at(day, 12)}).status_code == 409


def test_reschedule_and_cancel_refused_once_started(app, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    with app.app_context():
        appt = appointments.book(db.session, t, p, datetime(2026, 3, 3, 10), 60, NOW, settings=current())
        db.session.commit()
        later = ny(date(2026, 3, 3), 10, 5)
        with pytest.raises(Conflict):
            appointments.reschedule(db.session, appt.id, later, start=datetime(2026, 3, 4, 10), settings=current())
        db.session.rollback()
        with pytest.raises(Conflict):
            appointments.cancel(db.session, appt.id, later, settings=current())
        db.session.rollback()


def test_cancel_frees_the_slot_and_texts_once(app, api, make_therapist, make_patient):
    t, p1, p2 = make_therapist(), make_patient(), make_patient()
    day = next_monday()
    appt_id = book(api, t, p1, at(day, 10)).json["id"]
    with app.app_context():  # the booking text went out: the patient knows of it, so is told it is off
        db.session.execute(update(Message).where(Message.appointment_id == appt_id, Message.kind == "booked")
                           .values(status="sent"))
        db.session.commit()
    r = api.post(f"/appointments/{appt_id}/cancel", json={"reason": "patient asked"})
    assert r.status_code == 200
    assert r.json["status"] == "cancelled" and r.json["cancel_reason"] == "patient asked"
    assert api.post(f"/appointments/{appt_id}/cancel").status_code == 409  # empty body is fine
    assert book(api, t, p2, at(day, 10)).status_code == 201
    with app.app_context():
        msgs = db.session.scalars(select(Message).where(Message.appointment_id == appt_id)).all()
        assert [m.kind for m in msgs].count("cancelled") == 1
        assert not [m for m in msgs if m.kind == "reminder" and m.status == "pending"]


def test_attendance_only_after_start(api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    appt_id = book(api, t, p, at(next_monday(), 10)).json["id"]
    r = api.post(f"/appointments/{appt_id}/attendance", json={"status": "attended"})
    assert r.status_code == 409
    assert "started" in r.json["error"]


@pytest.mark.parametrize("status", ["attended", "no_show", "late_cancelled"])
def test_attendance_after_start(app, make_therapist, make_patient, status):
    t, p = make_therapist(), make_patient()
    with app.app_context():
        appt = appointments.book(db.session, t, p, datetime(2026, 3, 3, 10), 60, NOW, settings=current())
        db.session.commit()
        appointments.record_attendance(db.session, appt.id, status, ny(date(2026, 3, 3), 10), user_id=None)
        db.session.commit()
        assert appt.status == status
        assert [e.status for e in appt.events] == ["scheduled", status]


def test_late_cancellation_frees_the_rest_of_the_slot(app, make_therapist, make_patient):
    t, p1, p2 = make_therapist(), make_patient(), make_patient()
    day = date(2026, 3, 3)
    with app.app_context():
        s = db.session
        appt = appointments.book(s, t, p1, datetime(2026, 3, 3, 10), 120, NOW, settings=current())
        s.commit()
        during = ny(day, 10, 30)
        with pytest.raises(Conflict):
            appointments.book(s, t, p2, datetime(2026, 3, 3, 11), 60, during, settings=current())
        s.rollback()
        appointments.record_attendance(s, appt.id, "late_cancelled", during)
        s.commit()
        appointments.book(s, t, p2, datetime(2026, 3, 3, 11), 60, during, settings=current())
        s.commit()
        # Taking the late cancellation back would now double-book the therapist.
        with pytest.raises(Conflict):
            appointments.record_attendance(s, appt.id, "attended", during)
        s.rollback()


def test_attendance_refused_for_cancelled(app, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    with app.app_context():
        appt = appointments.book(db.session, t, p, datetime(2026, 3, 3, 10), 60, NOW, settings=current())
        appointments.cancel(db.session, appt.id, NOW, settings=current())
        db.session.commit()
        with pytest.raises(Conflict):
            appointments.record_attendance(db.session, appt.id, "no_show", NOW + timedelta(days=2))
        db.session.rollback()


def test_confirm(app, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    with app.app_context():
        appt = appointments.book(db.session, t, p, datetime(2026, 3, 3, 10), 60, NOW, settings=current())
        db.session.commit()
        assert appointments.confirm(db.session, appt, NOW) is True
        assert appointments.confirm(db.session, appt, NOW) is False
        db.session.commit()
        assert appt.status == "confirmed"
        assert [e.status for e in appt.events] == ["scheduled", "confirmed"]
        appointments.cancel(db.session, appt.id, NOW, settings=current())
        with pytest.raises(Conflict):
            appointments.confirm(db.session, appt, NOW)
        db.session.rollback()


def test_domain_validation(app, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    with app.app_context():
        for minutes in (4, 481):
            with pytest.raises(Invalid) as exc:
                appointments.book(db.session, t, p, datetime(2026, 3, 3, 10), minutes, NOW, settings=current())
            assert "duration_minutes" in exc.value.errors
            db.session.rollback()
        with pytest.raises(Invalid) as exc:
            appointments.book(db.session, t, p, datetime(2026, 3, 2, 6), 60, NOW, settings=current())  # 11:00 UTC < NOW
        assert "start" in exc.value.errors
        db.session.rollback()


# --- reading, roles, not found ---------------------------------------------------------------


def test_get_returns_history_and_is_audited(app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    appt_id = book(api, t, p, at(next_monday(), 10)).json["id"]
    r = api.get(f"/appointments/{appt_id}")
    assert r.status_code == 200
    assert set(r.json) >= {"id", "therapist_id", "patient_id", "start", "end", "status", "cancel_reason",
                           "history"}
    booked = r.json["history"]
    assert booked == [{"at": booked[0]["at"], "status": "scheduled", "user_id": api.user_id, "note": "booked",
                       "start": r.json["start"], "end": r.json["end"]}]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "read", AuditEvent.entity == "appointment",
            AuditEvent.entity_id == appt_id)) == 1


@pytest.mark.parametrize("method, path, body", [
    ("get", "/appointments/{id}", None),
    ("patch", "/appointments/{id}", {"duration_minutes": 30}),
    ("post", "/appointments/{id}/cancel", {}),
    ("post", "/appointments/{id}/attendance", {"status": "attended"}),
])
def test_therapist_acts_only_on_own_appointments(api, make_api, make_therapist, make_patient, method, path, body):
    mine, theirs, p = make_therapist(), make_therapist(name="Lee Park"), make_patient()
    appt_id = book(api, theirs, p, at(next_monday(), 10)).json["id"]
    therapist = make_api("therapist", therapist_id=mine)
    kwargs = {"json": body} if body is not None else {}
    refused = getattr(therapist, method)(path.format(id=appt_id), **kwargs)
    missing = getattr(therapist, method)(path.format(id=999999), **kwargs)
    # Another therapist's appointment answers exactly as a missing one.
    assert (refused.status_code, refused.json) == (missing.status_code, missing.json) == (
        404, {"error": "appointment not found"})


def test_therapist_books_for_self_only(api, make_api, make_therapist, make_patient):
    mine, theirs, p = make_therapist(), make_therapist(name="Lee Park"), make_patient()
    therapist = make_api("therapist", therapist_id=mine)
    day = next_monday()
    assert book(therapist, theirs, p, at(day, 10)).status_code == 404
    # Not in their care yet: answered as a patient that does not exist.
    assert book(therapist, mine, p, at(day, 10)).json == book(therapist, mine, 999999, at(day, 10)).json
    assert api.patch(f"/patients/{p}", json={"therapist_ids": [mine]}).status_code == 200
    r = book(therapist, mine, p, at(day, 10))
    assert r.status_code == 201
    assert therapist.get(f"/appointments/{r.json['id']}").status_code == 200


@pytest.mark.parametrize("field", ["therapist_id", "patient_id"])
def test_unknown_therapist_or_patient_is_404(api, make_therapist, make_patient, field):
    ids = {"therapist_id": make_therapist(), "patient_id": make_patient(), field: 999999}
    r = book(api, ids["therapist_id"], ids["patient_id"], at(next_monday(), 10))
    assert r.status_code == 404


# --- validation: every field of every endpoint ----------------------------------------------

GOOD = {"therapist_id": "T", "patient_id": "P", "start": "START", "duration_minutes": 50}


def _without(key):
    return {k: v for k, v in GOOD.items() if k != key}


BOOK_CASES = [
    ("missing therapist_id", _without("therapist_id"), "therapist_id"),
    ("missing patient_id", _without("patient_id"), "patient_id"),
    ("missing start", _without("start"), "start"),
    ("missing duration", _without("duration_minutes"), "duration_minutes"),
    ("null start", {**GOOD, "start": None}, "start"),
    ("therapist_id as text", {**GOOD, "therapist_id": "1"}, "therapist_id"),
    ("therapist_id as bool", {**GOOD, "therapist_id": True}, "therapist_id"),
    ("patient_id as float", {**GOOD, "patient_id": 1.5}, "patient_id"),
    ("patient_id zero", {**GOOD, "patient_id": 0}, "patient_id"),
    ("start as number", {**GOOD, "start": 1700000000}, "start"),
    ("start garbage", {**GOOD, "start": "next tuesday"}, "start"),
    ("duration as text", {**GOOD, "duration_minutes": "50"}, "duration_minutes"),
    ("duration too short", {**GOOD, "duration_minutes": 4}, "duration_minutes"),
    ("duration too long", {**GOOD, "duration_minutes": 481}, "duration_minutes"),
    ("unknown field", {**GOOD, "room": "3B"}, "room"),
]


@pytest.mark.parametrize("case, body, field", BOOK_CASES)
def test_book_validation(api, make_therapist, make_patient, case, body, field):
    fill = {"T": make_therapist(), "P": make_patient(), "START": at(next_monday(), 10)}
    body = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    r = api.post("/appointments", json=body)
    assert r.status_code == 422, (case, r.json)
    assert field in r.json["errors"]


@pytest.mark.parametrize("method, path, body, field", [
    ("patch", "/appointments/{id}", {"start": "soon"}, "start"),
    ("patch", "/appointments/{id}", {"start": 5}, "start"),
    ("patch", "/appointments/{id}", {"duration_minutes": 0}, "duration_minutes"),
    ("patch", "/appointments/{id}", {"duration_minutes": "30"}, "duration_minutes"),
    ("patch", "/appointments/{id}", {"therapist_id": 2}, "therapist_id"),
    ("patch", "/appointments/{id}", {}, "start"),
    ("patch", "/appointments/{id}", {"start": "2026-03-08T02:30"}, "start"),
    ("patch", "/appointments/{id}", {"start": "2020-01-06T10:00:00-05:00"}, "start"),
    ("post", "/appointments/{id}/cancel", {"reason": 7}, "reason"),
    ("post", "/appointments/{id}/cancel", {"reason": "x" * 501}, "reason"),
    ("post", "/appointments/{id}/cancel", {"why": "x"}, "why"),
    ("post", "/appointments/{id}/attendance", {}, "status"),
    ("post", "/appointments/{id}/attendance", {"status": "present"}, "status"),
    ("post", "/appointments/{id}/attendance", {"status": 1}, "status"),
    ("post", "/appointments/{id}/attendance", {"status": "attended", "note": "x"}, "note"),
])
def test_change_validation(api, make_therapist, make_patient, method, path, body, field):
    appt_id = book(api, make_therapist(), make_patient(), at(next_monday(), 10)).json["id"]
    r = getattr(api, method)(path.format(id=appt_id), json=body)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]


@pytest.mark.parametrize("method, path, data", [
    ("post", "/appointments", "{not json"),
    ("post", "/appointments", "[1, 2]"),
    ("post", "/appointments", '"text"'),
    ("post", "/appointments", ""),
    ("patch", "/appointments/{id}", "{not json"),
    ("patch", "/appointments/{id}", "[]"),
    ("post", "/appointments/{id}/cancel", "{not json"),
    ("post", "/appointments/{id}/cancel", "[]"),
    ("post", "/appointments/{id}/attendance", "{not json"),
    ("post", "/appointments/{id}/attendance", ""),
])
def test_malformed_json_is_400(api, make_therapist, make_patient, method, path, data):
    appt_id = book(api, make_therapist(), make_patient(), at(next_monday(), 10)).json["id"]
    r = getattr(api, method)(path.format(id=appt_id), data=data, content_type="application/json")
    assert r.status_code == 400
