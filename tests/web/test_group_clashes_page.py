"""The group form: a facilitator away at some meetings is refused naming them, or the group is
created with those dates called off when the box is ticked."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import AvailabilityException, Occurrence
from tests.support import NY, at, next_monday, ny


def test_the_form_names_the_clashing_meetings_and_can_call_them_off(staff, app):
    tuesday = next_monday(2) + timedelta(days=1)
    with app.app_context():  # Dana is away the whole second week of the group
        away = datetime.combine(tuesday + timedelta(days=6), datetime.min.time())
        db.session.add(AvailabilityException(therapist_id=staff.therapist_id, start_dt=ny(away.date(), 0),
                                             end_dt=ny(away.date() + timedelta(days=3), 0), reason="leave"))
        db.session.commit()
    data = {"title": "Evening circle", "facilitator": str(staff.therapist_id), "capacity": "4",
            "first_meeting": at(tuesday, 18), "duration": "60", "timezone": NY, "meetings": "3", "location": ""}
    refused = staff.coordinator.post("/groups/new", data={**data, "form_id": "c1"})
    second = tuesday + timedelta(weeks=1)
    assert refused.status_code == 409
    assert f"busy or away at 1 meeting: {second:%a %Y-%m-%d} at 18:00" in refused.get_data(as_text=True)
    made = staff.coordinator.post("/groups/new", data={**data, "form_id": "c2", "cancel_clashing": "on"})
    assert made.status_code == 302
    with app.app_context():
        rows = db.session.execute(select(Occurrence.local_date, Occurrence.cancelled).order_by(Occurrence.local_date))
        assert [cancelled for _, cancelled in rows] == [False, True, False]
