"""The follow-up report: discharges followed by an attended session 1-7 and 1-30 days later."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.models import (
    Appointment,
    Attendance,
    AuditEvent,
    Discharge,
    GroupSeries,
    Occurrence,
)
from scheduler.outcomes import follow_up as reports
from tests.support import NOW

DISCHARGE = date(2026, 3, 1)
UTC = UTC


@pytest.fixture
def clinic(ctx, make_therapist, make_patient):
    """Helpers that write discharges, appointments and group attendance straight to the database."""
    therapist = make_therapist()
    group = GroupSeries(title="Evening", facilitator_id=therapist, capacity=8, duration_minutes=60,
                        timezone="America/New_York", local_start=datetime(2026, 3, 3, 18),
                        rrule="FREQ=WEEKLY", created_at=NOW)
    ctx.add(group)
    ctx.commit()

    class Clinic:
        def patient(self, *discharges, tz="America/New_York"):
            pid = make_patient(tz=tz)
            for day in discharges:
                ctx.add(Discharge(patient_id=pid, discharge_date=day))
            ctx.commit()
            return pid

        def appointment(self, pid, start, status="attended"):
            ctx.add(Appointment(therapist_id=therapist, patient_id=pid, start_dt=start,
                                end_dt=start + timedelta(minutes=50), status=status,
                                created_at=NOW, updated_at=NOW))
            ctx.commit()

        def group_session(self, pid, start, status="attended"):
            occ = ctx.scalar(select(Occurrence).where(Occurrence.start_dt == start))
            if occ is None:
                occ = Occurrence(group_id=group.id, local_date=start.date(), start_dt=start,
                                 end_dt=start + timedelta(hours=1))
                ctx.add(occ)
                ctx.flush()
            ctx.add(Attendance(occurrence_id=occ.id, patient_id=pid, status=status))
            ctx.commit()

    return Clinic()


def after_discharge(day_offset: int, hour_utc: int = 15) -> datetime:
    """An instant `day_offset` days after DISCHARGE at `hour_utc` UTC (10:00 or 11:00 in New York)."""
    return datetime.combine(DISCHARGE + timedelta(days=day_offset), datetime.min.time(),
                            tzinfo=UTC).replace(hour=hour_utc)


@pytest.mark.parametrize("day, in_7, in_30", [
    (0, 0, 0),    # the discharge day itself does not count
    (1, 1, 1),
    (7, 1, 1),
    (8, 0, 1),
    (30, 0, 1),
    (31, 0, 0),
    (-2, 0, 0),   # before the discharge
])
def test_window_edges(ctx, clinic, day, in_7, in_30):
    pid = clinic.patient(DISCHARGE)
    clinic.appointment(pid, after_discharge(day))
    assert reports.follow_up(ctx, DISCHARGE, DISCHARGE) == {
        "discharges": 1, "followed_up_7d": in_7, "followed_up_30d": in_30,
        "rate_7d": float(in_7), "rate_30d": float(in_30)}


@pytest.mark.parametrize("status", ["scheduled", "confirmed", "cancelled", "no_show", "late_cancelled"])
def test_only_attended_appointments_count(ctx, clinic, status):
    pid = clinic.patient(DISCHARGE)
    clinic.appointment(pid, after_discharge(2), status=status)
    assert reports.follow_up(ctx, DISCHARGE, DISCHARGE)["followed_up_30d"] == 0


@pytest.mark.parametrize("status, counted", [("attended", 1), ("no_show", 0), (None, 0)])
def test_group_attendance_counts_when_attended(ctx, clinic, status, counted):
    pid = clinic.patient(DISCHARGE)
    clinic.group_session(pid, after_discharge(3, hour_utc=23), status=status)
    result = reports.follow_up(ctx, DISCHARGE, DISCHARGE)
    assert (result["followed_up_7d"], result["followed_up_30d"]) == (counted, counted)


def test_local_date_in_the_patients_zone(ctx, clinic):
    # 03:00 UTC on day 8 is still day 7 in the evening in New York, but day 8 in Berlin.
    ny = clinic.patient(DISCHARGE, tz="America/New_York")
    berlin = clinic.patient(DISCHARGE, tz="Europe/Berlin")
    clinic.appointment(ny, after_discharge(8, hour_utc=3))
    clinic.appointment(berlin, after_discharge(8, hour_utc=4))
    result = reports.follow_up(ctx, DISCHARGE, DISCHARGE)
    assert (result["discharges"], result["followed_up_7d"], result["followed_up_30d"]) == (2, 1, 2)


def test_discharge_day_late_evening_in_local_time_does_not_count(ctx, clinic):
    # 02:00 UTC on day 1 is 21:00 on the discharge day in New York.
    pid = clinic.patient(DISCHARGE)
    clinic.appointment(pid, after_discharge(1, hour_utc=2))
    assert reports.follow_up(ctx, DISCHARGE, DISCHARGE)["followed_up_30d"] == 0


def test_counts_discharges_not_people(ctx, clinic):
    second = DISCHARGE + timedelta(days=20)
    pid = clinic.patient(DISCHARGE, second)
    clinic.appointment(pid, after_discharge(22))  # 2 days after the second discharge, 22 after the first
    result = reports.follow_up(ctx, DISCHARGE, second)
    assert result == {"discharges": 2, "followed_up_7d": 1, "followed_up_30d": 2,
                      "rate_7d": 0.5, "rate_30d": 1.0}


def test_range_is_inclusive_and_rates_round(ctx, clinic):
    a = clinic.patient(DISCHARGE)
    clinic.patient(DISCHARGE + timedelta(days=1))
    clinic.patient(DISCHARGE + timedelta(days=2))
    clinic.patient(DISCHARGE + timedelta(days=3))  # outside the range
    clinic.patient(DISCHARGE - timedelta(days=1))  # outside the range
    clinic.appointment(a, after_discharge(1))
    result = reports.follow_up(ctx, DISCHARGE, DISCHARGE + timedelta(days=2))
    assert result == {"discharges": 3, "followed_up_7d": 1, "followed_up_30d": 1,
                      "rate_7d": 0.333, "rate_30d": 0.333}


def test_no_discharges_gives_null_rates(ctx, clinic):
    assert reports.follow_up(ctx, DISCHARGE, DISCHARGE) == {
        "discharges": 0, "followed_up_7d": 0, "followed_up_30d": 0, "rate_7d": None, "rate_30d": None}


def test_another_patients_session_does_not_count(ctx, clinic):
    clinic.patient(DISCHARGE)
    other = clinic.patient()
    clinic.appointment(other, after_discharge(2))
    assert reports.follow_up(ctx, DISCHARGE, DISCHARGE)["followed_up_7d"] == 0


# --- through the API ---------------------------------------------------------------------------

def test_report_over_http_is_audited(app, ctx, clinic, make_api):
    pid = clinic.patient(DISCHARGE)
    clinic.group_session(pid, after_discharge(5))
    coordinator = make_api("coordinator")
    r = coordinator.get("/reports/follow-up?from=2026-03-01&to=2026-03-31")
    assert r.status_code == 200
    assert r.get_json() == {"from": "2026-03-01", "to": "2026-03-31", "discharges": 1,
                            "followed_up_7d": 1, "followed_up_30d": 1, "rate_7d": 1.0, "rate_30d": 1.0}
    ctx.expire_all()
    event = ctx.scalar(select(AuditEvent))
    assert (event.action, event.entity, event.entity_id, event.user_id) == (
        "read", "report", None, coordinator.user_id)
    assert event.route == "GET /api/v1/reports/follow-up"


def test_same_day_range_allowed(api):
    assert api.get("/reports/follow-up?from=2026-03-01&to=2026-03-01").status_code == 200


@pytest.mark.parametrize("query, fields", [
    ("", {"from", "to"}),
    ("?from=2026-03-01", {"to"}),
    ("?to=2026-03-01", {"from"}),
    ("?from=&to=", {"from", "to"}),
    ("?from=2026-02-30&to=2026-03-01", {"from"}),
    ("?from=March&to=2026-03-01", {"from"}),
    ("?from=2026-03-01&to=2026-03-01T10:00:00", {"to"}),
    ("?from=2026-03-02&to=2026-03-01", {"to"}),  # from after to
])
def test_query_validation(api, query, fields):
    r = api.get(f"/reports/follow-up{query}")
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == fields


@pytest.mark.parametrize("role, status", [("admin", 200), ("coordinator", 200), ("therapist", 403)])
def test_roles(make_api, make_therapist, role, status):
    who = make_api(role, make_therapist() if role == "therapist" else None)
    assert who.get("/reports/follow-up?from=2026-03-01&to=2026-03-31").status_code == status
