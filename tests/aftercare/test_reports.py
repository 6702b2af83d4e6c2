"""The follow-up and engagement reports: hand-computed cases at every boundary, on both engines."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.aftercare import reports
from scheduler.models import (
    Appointment,
    Attendance,
    AuditEvent,
    Discharge,
    GroupSeries,
    Occurrence,
)
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


LATER = datetime(2026, 9, 1, tzinfo=UTC)  # long after every case's windows closed


def totals(ctx, first, last, now=LATER, method="all", by=None) -> dict:
    """The report's totals (and rows when `by`), computed for every patient."""
    return reports.follow_up(ctx, reports.FollowUpQuery(first, last, method), now, by)


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
    assert totals(ctx, DISCHARGE, DISCHARGE) == {
        "discharges": 1, "followed_up_7d": in_7, "followed_up_30d": in_30,
        "rate_7d": float(in_7), "rate_30d": float(in_30)}


@pytest.mark.parametrize("status", ["scheduled", "confirmed", "cancelled", "no_show", "late_cancelled"])
def test_only_attended_appointments_count(ctx, clinic, status):
    pid = clinic.patient(DISCHARGE)
    clinic.appointment(pid, after_discharge(2), status=status)
    assert totals(ctx, DISCHARGE, DISCHARGE)["followed_up_30d"] == 0


@pytest.mark.parametrize("status, counted", [("attended", 1), ("no_show", 0), (None, 0)])
def test_group_attendance_counts_when_attended(ctx, clinic, status, counted):
    pid = clinic.patient(DISCHARGE)
    clinic.group_session(pid, after_discharge(3, hour_utc=23), status=status)
    result = totals(ctx, DISCHARGE, DISCHARGE)
    assert (result["followed_up_7d"], result["followed_up_30d"]) == (counted, counted)


def test_local_date_in_the_patients_zone(ctx, clinic):
    # 03:00 UTC on day 8 is still day 7 in the evening in New York, but day 8 in Berlin.
    ny = clinic.patient(DISCHARGE, tz="America/New_York")
    berlin = clinic.patient(DISCHARGE, tz="Europe/Berlin")
    clinic.appointment(ny, after_discharge(8, hour_utc=3))
    clinic.appointment(berlin, after_discharge(8, hour_utc=4))
    result = totals(ctx, DISCHARGE, DISCHARGE)
    assert (result["discharges"], result["followed_up_7d"], result["followed_up_30d"]) == (2, 1, 2)


def test_discharge_day_late_evening_in_local_time_does_not_count(ctx, clinic):
    # 02:00 UTC on day 1 is 21:00 on the discharge day in New York.
    pid = clinic.patient(DISCHARGE)
    clinic.appointment(pid, after_discharge(1, hour_utc=2))
    assert totals(ctx, DISCHARGE, DISCHARGE)["followed_up_30d"] == 0


def test_counts_discharges_not_people(ctx, clinic):
    second = DISCHARGE + timedelta(days=20)
    pid = clinic.patient(DISCHARGE, second)
    clinic.appointment(pid, after_discharge(22))  # 2 days after the second discharge, 22 after the first
    result = totals(ctx, DISCHARGE, second)
    assert result == {"discharges": 2, "followed_up_7d": 1, "followed_up_30d": 2,
                      "rate_7d": 0.5, "rate_30d": 1.0}


def test_range_is_inclusive_and_rates_round(ctx, clinic):
    a = clinic.patient(DISCHARGE)
    clinic.patient(DISCHARGE + timedelta(days=1))
    clinic.patient(DISCHARGE + timedelta(days=2))
    clinic.patient(DISCHARGE + timedelta(days=3))  # outside the range
    clinic.patient(DISCHARGE - timedelta(days=1))  # outside the range
    clinic.appointment(a, after_discharge(1))
    result = totals(ctx, DISCHARGE, DISCHARGE + timedelta(days=2))
    assert result == {"discharges": 3, "followed_up_7d": 1, "followed_up_30d": 1,
                      "rate_7d": 0.333, "rate_30d": 0.333}


def test_no_discharges_gives_null_rates(ctx, clinic):
    assert totals(ctx, DISCHARGE, DISCHARGE) == {
        "discharges": 0, "followed_up_7d": 0, "followed_up_30d": 0, "rate_7d": None, "rate_30d": None}


def test_another_patients_session_does_not_count(ctx, clinic):
    clinic.patient(DISCHARGE)
    other = clinic.patient()
    clinic.appointment(other, after_discharge(2))
    assert totals(ctx, DISCHARGE, DISCHARGE)["followed_up_7d"] == 0


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


@pytest.mark.parametrize("role, status", [("admin", 200), ("coordinator", 200), ("therapist", 200)])
def test_roles(make_api, make_therapist, role, status):
    who = make_api(role, make_therapist() if role == "therapist" else None)
    assert who.get("/reports/follow-up?from=2026-03-01&to=2026-03-31").status_code == status


# --- rows and reasons -----------------------------------------------------------------------------

def _reason(ctx, pid, now=LATER, method="all"):
    rows = totals(ctx, DISCHARGE - timedelta(days=60), DISCHARGE, now, method, by="discharge")["rows"]
    return next(r for r in rows if r["patient_id"] == pid and r["date"] == DISCHARGE.isoformat())["reason"]


@pytest.mark.parametrize("sessions, reason", [
    ([(1, "attended")], None),
    ([(7, "attended")], None),
    ([(8, "attended")], "too_late"),
    ([(0, "attended"), (9, "attended")], "too_late"),  # too_late comes before same_day_only
    ([(0, "attended")], "same_day_only"),
    ([(3, "no_show"), (5, "cancelled")], "no_show"),  # no_show comes before cancelled
    ([(4, "late_cancelled")], "no_show"),
    ([(5, "cancelled")], "cancelled"),
    ([(5, "scheduled")], "nothing_booked"),  # booked but never attended nor missed: nothing recorded
    ([], "nothing_booked"),
    ([(3, "no_show"), (12, "attended")], "too_late"),
])
def test_each_reason_and_its_precedence(ctx, clinic, sessions, reason):
    pid = clinic.patient(DISCHARGE)
    for day, status in sessions:
        clinic.appointment(pid, after_discharge(day), status=status)
    assert _reason(ctx, pid) == reason


def test_a_group_no_show_is_a_no_show_reason(ctx, clinic):
    pid = clinic.patient(DISCHARGE)
    clinic.group_session(pid, after_discharge(3, hour_utc=23), status="no_show")
    assert _reason(ctx, pid) == "no_show"


def test_pending_while_day_7_is_not_over(ctx, clinic):
    pid = clinic.patient(DISCHARGE)
    clinic.appointment(pid, after_discharge(0))  # same day only, but there is still time
    day_7_evening = after_discharge(7, hour_utc=23)  # 18:00 in New York on day 7
    assert _reason(ctx, pid, now=day_7_evening) == "pending"
    assert _reason(ctx, pid, now=after_discharge(8, hour_utc=16)) == "same_day_only"


def test_first_attended_is_the_first_session_after_the_discharge_day(ctx, clinic):
    pid = clinic.patient(DISCHARGE)
    clinic.appointment(pid, after_discharge(0))
    clinic.appointment(pid, after_discharge(12))
    clinic.appointment(pid, after_discharge(20))
    row = totals(ctx, DISCHARGE, DISCHARGE, by="discharge")["rows"][0]
    assert row["first_attended"] == (DISCHARGE + timedelta(days=12)).isoformat()
    assert (row["followed_up_7d"], row["followed_up_30d"]) == (False, True)


def test_hedis_chain_0_20_40_counts_repeat_counts(ctx, clinic):
    days = [DISCHARGE, DISCHARGE + timedelta(days=20), DISCHARGE + timedelta(days=40)]
    pid = clinic.patient(*days)
    clinic.appointment(pid, after_discharge(41))  # follows up the third only
    last = days[-1]
    everything = totals(ctx, DISCHARGE, last, by="discharge")
    hedis = totals(ctx, DISCHARGE, last, method="hedis", by="discharge")
    assert everything["discharges"] == 3 and [r["reason"] for r in everything["rows"]][1] != "repeat"
    assert [r["reason"] for r in hedis["rows"]] == ["too_late", "repeat", None]  # day 41 of the first
    assert {k: hedis[k] for k in ("discharges", "followed_up_7d", "rate_7d")} == {
        "discharges": 2, "followed_up_7d": 1, "rate_7d": 0.5}


@pytest.mark.parametrize("gap, second_is_repeat", [(10, True), (30, True), (31, False), (40, False)])
def test_hedis_repeat_looks_back_before_from(ctx, clinic, gap, second_is_repeat):
    second = DISCHARGE + timedelta(days=gap)
    clinic.patient(DISCHARGE, second)
    # Only the second discharge is in range; the first, before `from`, still anchors it.
    hedis = totals(ctx, second, second, method="hedis", by="discharge")
    assert hedis["rows"][0]["reason"] == ("repeat" if second_is_repeat else "nothing_booked")
    assert hedis["discharges"] == (0 if second_is_repeat else 1)
    assert totals(ctx, second, second)["discharges"] == 1


def test_month_rows_add_up_to_the_totals(ctx, clinic):
    for offset in (0, 10, 35, 70):
        pid = clinic.patient(DISCHARGE + timedelta(days=offset))
        if offset != 35:
            clinic.appointment(pid, after_discharge(offset + 2))
    report = totals(ctx, DISCHARGE, DISCHARGE + timedelta(days=80), by="month")
    assert [r["month"] for r in report["rows"]] == ["2026-03", "2026-04", "2026-05"]
    for key in ("discharges", "followed_up_7d", "followed_up_30d"):
        assert sum(r[key] for r in report["rows"]) == report[key]
    assert report["rows"][0] == {"month": "2026-03", "discharges": 2, "followed_up_7d": 2, "followed_up_30d": 2,
                                 "rate_7d": 1.0, "rate_30d": 1.0}


def test_therapist_rows_count_a_shared_patient_under_both_and_no_team_under_none(ctx, clinic, make_therapist):
    from scheduler.models import CareTeamMember

    a, b = make_therapist(name="A Therapist"), make_therapist(name="B Therapist")
    shared, solo, nobody = clinic.patient(DISCHARGE), clinic.patient(DISCHARGE), clinic.patient(DISCHARGE)
    for pid, tid in ((shared, a), (shared, b), (solo, a)):
        ctx.add(CareTeamMember(patient_id=pid, therapist_id=tid, added_at=NOW))
    ctx.commit()
    clinic.appointment(shared, after_discharge(3))
    rows = totals(ctx, DISCHARGE, DISCHARGE, by="therapist")["rows"]
    assert rows == [
        {"therapist_id": a, "discharges": 2, "followed_up_7d": 1, "followed_up_30d": 1, "rate_7d": 0.5, "rate_30d": 0.5},
        {"therapist_id": b, "discharges": 1, "followed_up_7d": 1, "followed_up_30d": 1, "rate_7d": 1.0, "rate_30d": 1.0},
    ]
    assert totals(ctx, DISCHARGE, DISCHARGE)["discharges"] == 3  # the one with no team is still counted
    assert nobody


def test_a_therapist_gets_only_their_own_patients_discharges(ctx, clinic, make_api, make_therapist):
    from scheduler.models import CareTeamMember

    mine_tid = make_therapist(name="Mine Therapist")
    mine, other = clinic.patient(DISCHARGE), clinic.patient(DISCHARGE)
    ctx.add(CareTeamMember(patient_id=mine, therapist_id=mine_tid, added_at=NOW))
    ctx.commit()
    therapist = make_api("therapist", mine_tid)
    body = therapist.get("/reports/follow-up?from=2026-03-01&to=2026-03-31&by=discharge").get_json()
    assert body["discharges"] == 1 and [r["patient_id"] for r in body["rows"]] == [mine]
    assert other


def test_csv_parses_back_equal_to_the_json(ctx, clinic, api):
    import csv
    import io

    for offset, day in ((0, 2), (3, 9), (5, None)):
        pid = clinic.patient(DISCHARGE + timedelta(days=offset))
        if day is not None:
            clinic.appointment(pid, after_discharge(offset + day))
    query = "/reports/follow-up?from=2026-03-01&to=2026-03-31&by=discharge"
    as_json = api.get(query).get_json()["rows"]
    r = api.get(query, headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    parsed = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))

    def text(value):
        return "" if value is None else ("true" if value is True else "false" if value is False else str(value))
    assert parsed == [{k: text(v) for k, v in row.items()} for row in as_json]


def test_the_csv_escapes_formula_cells():
    from scheduler.core.spreadsheet import to_csv

    out = to_csv(("a", "b"), [{"a": "=HYPERLINK(\"x\")", "b": "-2"}, {"a": "@SUM", "b": "plain"}])
    assert out.splitlines() == ["a,b", "\"'=HYPERLINK(\"\"x\"\")\",'-2", "'@SUM,plain"]


def test_follow_up_query_names_bad_by_and_method(api):
    r = api.get("/reports/follow-up?from=2026-03-01&to=2026-03-31&by=week&method=nope")
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"by", "method"}


# --- engagement -----------------------------------------------------------------------------------

def _engagement(ctx, by="month", first=DISCHARGE, last=DISCHARGE + timedelta(days=30)):
    return reports.engagement(ctx, first, last, LATER, by)["rows"]


def test_engagement_counts_sessions_and_rates(ctx, clinic):
    pid = clinic.patient()
    for day, status in ((1, "attended"), (2, "no_show"), (3, "late_cancelled"), (4, "scheduled"),
                        (5, "cancelled")):  # the clinic's cancellation is left out
        clinic.appointment(pid, after_discharge(day), status=status)
    clinic.group_session(pid, after_discharge(6, hour_utc=23), status="attended")
    rows = _engagement(ctx)
    assert rows == [{"month": "2026-03", "sessions": 5, "attended": 2, "no_show": 1, "late_cancelled": 1,
                     "attendance_rate": 0.4, "no_show_rate": 0.2, "confirmed_by_reply_rate": 0.0,
                     "delivered_rate": None}]  # no texts sent: null, not 0


def test_engagement_by_group_puts_appointments_under_null(ctx, clinic):
    pid = clinic.patient()
    clinic.appointment(pid, after_discharge(1))
    clinic.group_session(pid, after_discharge(2, hour_utc=23), status="no_show")
    rows = {r["group_id"]: r for r in _engagement(ctx, by="group")}
    assert rows[None]["sessions"] == 1 and rows[None]["attended"] == 1
    (group_id,) = [k for k in rows if k is not None]
    assert rows[group_id]["no_show"] == 1 and rows[group_id]["no_show_rate"] == 1.0


def test_engagement_with_nothing_due_has_no_rows(ctx, clinic):
    clinic.patient()
    assert _engagement(ctx) == []


def test_engagement_over_http_and_csv(ctx, clinic, api):
    pid = clinic.patient()
    clinic.appointment(pid, after_discharge(1))
    r = api.get("/reports/engagement?from=2026-03-01&to=2026-03-31&by=therapist")
    assert r.status_code == 200
    body = r.get_json()
    assert body["by"] == "therapist" and body["rows"][0]["sessions"] == 1
    csv_text = api.get("/reports/engagement?from=2026-03-01&to=2026-03-31&by=therapist",
                       headers={"Accept": "text/csv"}).get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("therapist_id,sessions,attended")


@pytest.mark.parametrize("query", ["by=", "method=", "by=&method=hedis"])
def test_an_empty_query_parameter_is_refused_not_defaulted(api, query):
    r = api.get(f"/reports/follow-up?from=2026-03-01&to=2026-03-31&{query}")
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == {name.split("=")[0] for name in query.split("&") if name.endswith("=")}
    assert api.get("/reports/engagement?from=2026-03-01&to=2026-03-31&by=").status_code == 422
