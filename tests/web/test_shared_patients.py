"""What a therapist sees of patients shared with, or handed over from, another therapist (issue 14)."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update

from scheduler.core import auth
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Attendance, CareTeamMember, Enrollment, GroupSeries, Message, Occurrence, User
from scheduler.scheduling import appointments, groups, roster
from tests.support import NOW, NY, Api, add_group, next_monday


def test_after_a_handover_the_sheet_shows_and_marks_only_patients_in_the_new_facilitators_care(
        staff, app, make_patient):
    ana, bo = make_patient(name="Ana Uno"), make_patient(name="Bo Dos")
    with app.app_context():  # Marcus ran a meeting two hours ago; Bo left after it; then Dana took over
        start = datetime.now(UTC).replace(microsecond=0, second=0) - timedelta(hours=2)
        gid = add_group(db.session, staff.other_therapist_id, start, enrolled=(ana, bo))
        occ = db.session.scalar(select(Occurrence.id).where(Occurrence.group_id == gid))
        db.session.execute(update(Enrollment).where(Enrollment.patient_id == bo).values(
            status="dropped", dropped_at=start + timedelta(hours=1)))
        db.session.execute(update(GroupSeries).where(GroupSeries.id == gid).values(
            facilitator_id=staff.therapist_id))
        db.session.commit()
    path = f"/groups/{gid}/meetings/{occ}"
    html = staff.therapist.text(path)
    assert "Ana Uno" in html and "Bo Dos" not in html and html.count('value="no_show"') == 1
    assert "Bo Dos" in staff.coordinator.text(path)  # staff still see everyone who held a seat
    assert staff.therapist.post(path, data={f"status-{bo}": "no_show"}).status_code == 422
    assert staff.therapist.post(path, data={f"status-{ana}": "attended", f"status-{bo}": "no_show"}).status_code == 302
    with app.app_context():
        assert dict(db.session.execute(select(Attendance.patient_id, Attendance.status)).all()) == {ana: "attended"}


def test_a_shared_patients_page_and_log_show_a_therapist_only_their_own_sessions_and_texts(
        staff, app, make_patient):
    patient = make_patient(name="Ana Uno")
    monday = next_monday(2)
    with app.app_context():
        for therapist in (staff.therapist_id, staff.other_therapist_id):
            db.session.add(CareTeamMember(patient_id=patient, therapist_id=therapist, added_at=NOW))
        db.session.commit()
        clock, config = datetime.now(UTC), current()
        mine = appointments.book(db.session, staff.therapist_id, patient, datetime.combine(monday, time(11)),
                                 50, clock, settings=config).id
        theirs = appointments.book(db.session, staff.other_therapist_id, patient,
                                   datetime.combine(monday + timedelta(days=1), time(14)), 50, clock,
                                   settings=config).id
        group = groups.create_group(db.session, title="Marcus circle", facilitator_id=staff.other_therapist_id,
                                    capacity=5, local_start=datetime.combine(monday + timedelta(days=2), time(18)),
                                    duration_minutes=60, timezone=NY, now=clock, rrule="FREQ=WEEKLY;COUNT=3",
                                    settings=config)
        roster.enroll(db.session, group.id, patient, clock, settings=config)
        db.session.commit()
        everything = db.session.execute(select(Message.id, Message.appointment_id, Message.occurrence_id,
                                               Message.enrollment_id)).all()
    others = {m.id for m in everything if m.appointment_id == theirs or m.occurrence_id or m.enrollment_id}
    own = {m.id for m in everything} - others
    assert others and own  # the booking texts and reminders of both, and the group's texts

    html = staff.therapist.text(f"/patients/{patient}")
    assert "Appointment with Dana Reyes" in html
    assert "Appointment with Marcus Lee" not in html and "Marcus circle" not in html
    log = html.split('id="messages-title"')[1]
    assert log.count("<tr>") - 1 == len(own)  # less the header row
    with app.app_context():
        user = db.session.scalar(select(User).where(User.therapist_id == staff.therapist_id))
        dana = Api(app.test_client(), auth.issue_token(db.session, user, datetime.now(UTC)), user.id)
        db.session.commit()
    listed = dana.get(f"/patients/{patient}/messages").json["messages"]
    assert {m["id"] for m in listed} == own and {m["appointment_id"] for m in listed} <= {mine, None}
    staff_page = staff.coordinator.text(f"/patients/{patient}")  # staff see all of it
    assert "Appointment with Marcus Lee" in staff_page and "Marcus circle" in staff_page
    assert staff_page.split('id="messages-title"')[1].count("<tr>") - 1 == len(everything)
