"""The longest-waiting patient keeps their turn while another request holds their record (PostgreSQL)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from scheduler.core.settings import current
from scheduler.errors import Conflict
from scheduler.extensions import db
from scheduler.models import Enrollment
from scheduler.scheduling import groups, roster
from tests.support import NOW

FIRST = datetime(2026, 3, 3, 10, 0)  # Tuesdays 10:00 New York, four times


@pytest.fixture
def line(engine_name, ctx, make_therapist, make_patient):
    """A one-seat group: A holds the seat, B waits first, C second."""
    if engine_name != "postgresql":
        pytest.skip("SQLite serialises writers: no row is ever held by another request")
    a, b, c, d = (make_patient(name=n) for n in "ABCD")
    group = groups.create_group(ctx, title="Morning circle", facilitator_id=make_therapist(), capacity=1,
                                local_start=FIRST, duration_minutes=60, timezone="America/New_York",
                                rrule="FREQ=WEEKLY;COUNT=4", now=NOW, settings=current()).id
    for i, patient in enumerate((a, b, c)):
        roster.enroll(ctx, group, patient, NOW + timedelta(seconds=i), settings=current())
    ctx.commit()
    return {"group": group, "a": a, "b": b, "c": c, "d": d}


def hold(app, patient_id: int, seconds: float | None):
    """Another request holding the patient's row (FOR UPDATE), released after `seconds` (None: by the test)."""
    with app.app_context():
        conn = db.engine.connect()
    conn.execute(text("SELECT id FROM patients WHERE id = :id FOR UPDATE"), {"id": patient_id})
    if seconds is not None:
        threading.Timer(seconds, conn.rollback).start()
    return conn


def seated(ctx, group):
    ctx.rollback()
    return set(ctx.scalars(select(Enrollment.patient_id).where(Enrollment.group_id == group,
                                                               Enrollment.status == "enrolled")))


def test_a_freed_seat_waits_briefly_for_the_first_in_line(app, ctx, line):
    conn = hold(app, line["b"], 0.3)
    _, promoted = roster.drop(ctx, line["group"], line["a"], NOW, settings=current())
    ctx.commit()
    conn.close()
    assert [e.patient_id for e in promoted] == [line["b"]]
    assert seated(ctx, line["group"]) == {line["b"]}


def test_when_the_wait_runs_out_the_seat_stays_free_and_nobody_jumps_the_line(app, ctx, line):
    conn = hold(app, line["b"], None)
    try:
        _, promoted = roster.drop(ctx, line["group"], line["a"], NOW, settings=current())
        ctx.commit()
        assert promoted == [] and seated(ctx, line["group"]) == set()
        with pytest.raises(Conflict):  # a newcomer does not take the seat meanwhile
            roster.enroll(ctx, line["group"], line["d"], NOW, settings=current())
        ctx.rollback()
    finally:
        conn.rollback()
        conn.close()
    # Once the record is free, the next fill starts at the head of the line.
    assert roster.enroll(ctx, line["group"], line["d"], NOW, settings=current()).status == "waitlisted"
    ctx.commit()
    assert seated(ctx, line["group"]) == {line["b"]}
