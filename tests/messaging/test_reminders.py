"""When texts are planned, and what a change to a booking or a patient does to them.

Every domain call gets a fixed `now`; the clinic is in New York unless a test says otherwise.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from scheduler.core import timeutil
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import dispatch, sms
from scheduler.models import Appointment, Message
from scheduler.scheduling import appointments, patients

NY = "America/New_York"
LA = "America/Los_Angeles"
ALL_HOURS = ((0, 1, 2, 3, 4, 5, 6), "00:00", "23:59")


def ny(day: int, hh: int, mm: int = 0, month: int = 3, tz: str = NY) -> datetime:
    """A wall time in 2026 (New York unless `tz`) as an aware UTC instant."""
    return timeutil.localize(datetime(2026, month, day, hh, mm), tz).astimezone(UTC)


def book(app, therapist: int, patient: int, start: datetime, now: datetime, minutes: int = 50) -> int:
    with app.app_context():
        appt = appointments.book(db.session, therapist, patient, start, minutes, now, settings=current())
        db.session.commit()
        return appt.id


def texts_of(app, patient: int) -> list[Message]:
    with app.app_context():
        found = db.session.scalars(select(Message).where(Message.patient_id == patient,
                                                         Message.direction == "out").order_by(Message.id)).all()
        db.session.expunge_all()
        return list(found)


def live(app, patient: int) -> dict[str, tuple[str, datetime]]:
    """The patient's reminders that are still to go out or were skipped: kind:offset -> (status, due)."""
    return {f"{m.kind}:{m.offset_minutes}:{m.session_start_dt.isoformat()}": (m.status, m.due_at)
            for m in texts_of(app, patient) if m.status in ("pending", "skipped")}


def run(app, now: datetime) -> dict:
    with app.app_context():
        return dispatch.run_once(db.session, lambda: now, sms.make_backend(current().sms), settings=current())


def outbox(app) -> list[str]:
    return [entry.body for entry in app.extensions.get("sms_outbox", [])]


@pytest.fixture
def setup(app, make_therapist, make_patient):
    return make_therapist(hours=ALL_HOURS), make_patient()


# -- item 6: only what the patient was told counts as a change ----------------------------------
@pytest.mark.parametrize("change", [dict(duration_minutes=80), dict(duration_minutes=20),
                                    "same start, new length", "same start"])
def test_changing_only_the_length_neither_texts_nor_unconfirms(app, setup, change):
    therapist, patient = setup
    now = ny(2, 10)
    appt_id = book(app, therapist, patient, ny(5, 10), now)
    with app.app_context():  # the booking text went out (a move of something never told is a booking)
        db.session.execute(update(Message).where(Message.appointment_id == appt_id, Message.kind == "booked")
                           .values(status="sent"))
        appointments.confirm(db.session, db.session.get(Appointment, appt_id), now)
        db.session.commit()
    before = [(m.id, m.status, m.due_at) for m in texts_of(app, patient)]
    if change == "same start, new length":
        change = dict(start=ny(5, 10), duration_minutes=30)
    elif change == "same start":
        change = dict(start=ny(5, 10).astimezone(timeutil.zone(LA)))  # the same instant, said otherwise
    with app.app_context():
        appointments.reschedule(db.session, appt_id, ny(2, 11), **change, settings=current())
        db.session.commit()
        appt = db.session.get(Appointment, appt_id)
        assert appt.status == "confirmed"
        if "duration_minutes" in change:
            assert appt.end_dt - appt.start_dt == timedelta(minutes=change["duration_minutes"])
    assert [(m.id, m.status, m.due_at) for m in texts_of(app, patient)] == before


def test_moving_the_start_texts_and_asks_for_a_new_confirmation(app, setup):
    therapist, patient = setup
    now = ny(2, 10)
    appt_id = book(app, therapist, patient, ny(5, 10), now)
    with app.app_context():  # the booking text went out (a move of something never told is a booking)
        db.session.execute(update(Message).where(Message.appointment_id == appt_id, Message.kind == "booked")
                           .values(status="sent"))
        appointments.confirm(db.session, db.session.get(Appointment, appt_id), now)
        appointments.reschedule(db.session, appt_id, ny(2, 11), start=ny(5, 11), duration_minutes=30,
                                settings=current())
        db.session.commit()
        assert db.session.get(Appointment, appt_id).status == "scheduled"
    assert [m.kind for m in texts_of(app, patient) if m.status == "pending"][0] == "rescheduled"


# -- item 3: one function decides a reminder's moment; the sender honours it ------------------
QUIET = (datetime.strptime("20:00", "%H:%M").time(), datetime.strptime("08:00", "%H:%M").time())


@pytest.mark.parametrize("offset", ["30m", "2h", "5h", "48h", "2d"])
def test_every_planned_reminder_is_sent_at_its_planned_moment(offset):
    """For sessions every 5 minutes of a day: whatever the planner decides, the sender agrees with."""
    from scheduler.config import parse_offsets
    from scheduler.messaging import reminders
    [lead] = parse_offsets(offset)
    for minutes in range(0, 24 * 60, 5):
        start = ny(10, 0) + timedelta(minutes=minutes)
        due, why = reminders.reminder_due(start, lead, NY, QUIET)
        if due is None:
            assert why == "quiet_hours"
            assert reminders.timing(start, lead, NY, QUIET, start - lead) == ("quiet_hours", None)
            continue
        assert not reminders.in_quiet_hours(due, NY, QUIET), start
        for late in (timedelta(), timedelta(seconds=30), (start - due) / 3):
            if reminders.in_quiet_hours(due + late, NY, QUIET):
                reason, defer = reminders.timing(start, lead, NY, QUIET, due + late)
                assert reason == "quiet_hours" or not reminders.in_quiet_hours(defer, NY, QUIET)
            else:
                assert reminders.timing(start, lead, NY, QUIET, due + late) == (None, None), (start, late)
        # Far later than planned (a worker was down): skipped, and stored as late, whatever the hour.
        assert reminders.timing(start, lead, NY, QUIET, start - (start - due) / 4) == ("stale", None), start


def test_a_2h_reminder_for_0815_goes_out_at_0800_when_quiet_hours_end(app, setup):
    therapist, patient = setup
    appt = book(app, therapist, patient, ny(5, 8, 15), ny(2, 10))
    [reminder] = [m for m in texts_of(app, patient) if m.offset_minutes == 120]
    assert reminder.due_at == ny(5, 8)
    run(app, ny(2, 10))  # the booking text
    run(app, ny(5, 8))
    [reminder] = [m for m in texts_of(app, patient) if m.offset_minutes == 120]
    assert (reminder.status, reminder.skip_reason) == ("sent", None), appt


def test_a_reminder_sent_too_late_records_that_it_was_late(app, setup):
    therapist, patient = setup
    book(app, therapist, patient, ny(5, 15), ny(2, 10))
    run(app, ny(2, 10))
    run(app, ny(5, 14, 30))  # the 2h reminder was due 13:00; the worker was down until 14:30
    [reminder] = [m for m in texts_of(app, patient) if m.offset_minutes == 120]
    assert (reminder.status, reminder.skip_reason) == ("skipped", "stale")


# -- item 7: a reminder whose moment passed before the booking is not created -----------------
@pytest.mark.parametrize(("booked", "start", "expect"), [
    ((5, 7, 50), (5, 9, 30), None),          # 2h moment 07:30 passed; quiet hours would move it to 08:00
    ((5, 7, 29), (5, 9, 30), "pending"),     # moment 07:30 still ahead: goes at 08:00 as quiet hours end
    ((5, 6, 0), (5, 8, 0), None),            # moment 06:00 passed (booked at 06:00 exactly)
    ((4, 21, 0), (5, 9, 30), "pending"),     # booked the evening before
    ((5, 12, 0), (5, 13, 59), None),         # inside the lead time, no quiet hours involved
    ((5, 5, 0), (5, 7, 30), "skipped"),      # moment 05:30 ahead, but nowhere to put it: skipped, recorded
])
def test_a_reminder_is_created_only_when_its_moment_is_still_ahead(app, setup, booked, start, expect):
    therapist, patient = setup
    book(app, therapist, patient, ny(*start), ny(*booked))
    two_hour = [m for m in texts_of(app, patient) if m.offset_minutes == 120]
    assert [m.status for m in two_hour] == ([expect] if expect else [])
    [notice] = [m for m in texts_of(app, patient) if m.kind == "booked"]
    run(app, max(ny(*booked), notice.due_at))
    with app.app_context():  # the planner's safety net agrees later on
        dispatch.plan(db.session, max(ny(*booked), notice.due_at), current())
    assert len([m for m in texts_of(app, patient) if m.offset_minutes == 120]) == (1 if expect else 0)


# -- decide and document: `d` keeps the local clock time, `h` and `m` are elapsed time ------------
@pytest.mark.parametrize(("offsets", "start", "due"), [
    ("2d", (9, 10), (7, 10)),                      # spring forward: Sat 10:00 EST, 47 h before
    ("48h", (9, 10), (7, 9)),                      # 48 elapsed hours: Sat 09:00 EST
    ("2d", (2, 10, 0, 11), (31, 10, 0, 10)),       # fall back: Sat 10:00 EDT, 49 h before
    ("48h", (2, 10, 0, 11), (31, 11, 0, 10)),      # 48 elapsed hours: Sat 11:00 EDT
    ("1d", (8, 10), (7, 10)),                      # on the DST day itself: 23 h before
    ("24h", (8, 10), (7, 9)),
    ("90m", (8, 3, 30), (8, 1, 0)),                # elapsed across the gap: 03:30 EDT - 90 min = 01:00 EST
])
def test_day_offsets_keep_the_clock_time_hour_offsets_are_elapsed(make_app, make_therapist, make_patient,
                                                                  offsets, start, due):
    from scheduler.config import parse_offsets
    app = make_app(REMINDER_OFFSETS=parse_offsets(offsets), QUIET_HOURS=None)
    therapist, patient = make_therapist(hours=ALL_HOURS), make_patient()
    start_at, due_at = ny(*start[:3], month=start[3] if len(start) > 3 else 3), \
        ny(*due[:3], month=due[3] if len(due) > 3 else 3)
    book(app, therapist, patient, start_at, start_at - timedelta(days=5))
    [reminder] = [m for m in texts_of(app, patient) if m.kind == "reminder"]
    assert reminder.due_at == due_at
    run(app, start_at - timedelta(days=5))
    run(app, due_at)
    [reminder] = [m for m in texts_of(app, patient) if m.kind == "reminder"]
    assert reminder.status == "sent"


# -- items 2 and 8: a change that moves a patient's texts replans every upcoming one ------------
def text_in(app, patient: int, body: str, now: datetime) -> str | None:
    from scheduler.messaging import inbound
    from scheduler.models import Patient
    from scheduler.scheduling import replies
    with app.app_context():
        phone = db.session.get(Patient, patient).phone
        received = inbound.receive(db.session, phone, body, sms.new_sid(), now, current())
        replies.act(db.session, received, now)  # as the webhook runs them
        answer = inbound.answer(db.session, received, now, current())
        db.session.commit()
        return answer


def with_group(app, therapist: int, patient: int, starts: list[datetime]) -> None:
    from scheduler.models import Enrollment, GroupSeries, Occurrence
    from tests.support import NOW
    with app.app_context():
        group = GroupSeries(title="Evening circle", facilitator_id=therapist, capacity=10, duration_minutes=60,
                            timezone=NY, local_start=starts[0].astimezone(timeutil.zone(NY)).replace(tzinfo=None),
                            created_at=NOW)
        db.session.add(group)
        db.session.flush()
        occs = [Occurrence(group_id=group.id, local_date=s.astimezone(timeutil.zone(NY)).date(), start_dt=s,
                           end_dt=s + timedelta(hours=1), cancelled=False) for s in starts]
        enrollment = Enrollment(group_id=group.id, patient_id=patient, status="enrolled", created_at=NOW,
                                enrolled_at=NOW)
        db.session.add_all([*occs, enrollment])
        db.session.flush()
        from scheduler.messaging import reminders
        reminders.enrolled(db.session, enrollment, ny(2, 9), settings=current())
        db.session.commit()


def reminder_state(app, patient: int) -> dict[str, tuple[str, datetime]]:
    return {m.dedupe_key: (m.status, m.due_at) for m in texts_of(app, patient) if m.kind == "reminder"}


def test_stop_then_start_restores_exactly_the_reminders_still_due(app, setup):
    therapist, patient = setup
    book(app, therapist, patient, ny(5, 15), ny(2, 9))
    with_group(app, therapist, patient, [ny(3, 18), ny(10, 18), ny(17, 18, month=3)])
    before = reminder_state(app, patient)
    assert len(before) == 7 and {s for s, _ in before.values()} == {"pending"}  # 48h before Tue: past
    run(app, ny(2, 9))  # the booking text
    assert text_in(app, patient, "STOP", ny(2, 10))
    assert {s for s, _ in reminder_state(app, patient).values()} == {"withdrawn"}
    # Tuesday 19:00: the reminders of Tuesday's meeting (due Sunday, Tuesday 16:00) have passed.
    assert "again" in text_in(app, patient, "START", ny(3, 19))
    after = reminder_state(app, patient)
    gone = {k for k, (_, due) in before.items() if due <= ny(3, 19)}
    assert gone and {after[k][0] for k in gone} == {"withdrawn"}
    assert {k: v for k, v in after.items() if k not in gone} == {k: v for k, v in before.items() if k not in gone}
    for _ in range(2):  # a second STOP and START restores them again, still once each
        text_in(app, patient, "STOP", ny(3, 20))
        text_in(app, patient, "START", ny(3, 20))
    assert reminder_state(app, patient) == after
    for moment in sorted(due for k, (_, due) in before.items() if k not in gone):
        run(app, moment)
    sent = [m for m in texts_of(app, patient) if m.kind == "reminder" and m.status == "sent"]
    assert len(sent) == len(before) - len(gone) and len({m.dedupe_key for m in sent}) == len(sent)


def test_correcting_the_zone_brings_back_reminders_skipped_for_quiet_hours(app, make_therapist, make_patient):
    therapist, patient = make_therapist(hours=ALL_HOURS), make_patient(tz=LA)
    book(app, therapist, patient, ny(5, 10, 30), ny(2, 9))  # 07:30 in Los Angeles
    with_group(app, therapist, patient, [ny(6, 10, 30)])
    skipped = {k for k, (s, _) in reminder_state(app, patient).items() if s == "skipped"}
    assert len(skipped) == 2  # the 2h reminders would land at 05:30 in Los Angeles
    with app.app_context():
        patients.update_patient(db.session, patient, {"timezone": NY}, ny(2, 10), "test", settings=current())
        db.session.commit()
    state = reminder_state(app, patient)
    assert {state[k] for k in skipped} == {("pending", ny(5, 8, 30)), ("pending", ny(6, 8, 30))}
    run(app, ny(5, 8, 30))
    assert [m.status for m in texts_of(app, patient) if m.due_at == ny(5, 8, 30)] == ["sent"]


@pytest.mark.parametrize("change", ["sms_consent", "phone", "language"])
def test_every_change_that_moves_texts_replans_them(app, setup, change):
    therapist, patient = setup
    book(app, therapist, patient, ny(5, 15), ny(2, 9))
    before = reminder_state(app, patient)
    with app.app_context():
        if change == "sms_consent":
            patients.update_patient(db.session, patient, {"sms_consent": False}, ny(2, 10), "test", settings=current())
            db.session.commit()
            assert {s for s, _ in reminder_state(app, patient).values()} == {"withdrawn"}
            patients.update_patient(db.session, patient, {"sms_consent": True}, ny(2, 11), "test", settings=current())
        else:
            value = "+12015559999" if change == "phone" else "es"
            patients.update_patient(db.session, patient, {change: value}, ny(2, 10), "test", settings=current())
        db.session.commit()
    assert reminder_state(app, patient) == before
    run(app, ny(3, 15))
    [sent] = [m for m in texts_of(app, patient) if m.status == "sent" and m.kind == "reminder"]
    if change == "phone":
        assert sent.to_phone == "+12015559999"
    if change == "language":
        assert sent.body.startswith("Northside Health: Recuerde")
