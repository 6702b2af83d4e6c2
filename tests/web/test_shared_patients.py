"""What a therapist sees of patients shared with, or handed over from, another therapist (issue 14)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from scheduler.extensions import db
from scheduler.models import Attendance, Enrollment, GroupSeries, Occurrence
from tests.support import add_group


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
