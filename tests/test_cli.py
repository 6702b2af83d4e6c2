"""flask commands: demo, users create, users token; and a bad setting stopping the app in one line."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash

from scheduler.aftercare import reports
from scheduler.core import timeutil
from scheduler.extensions import db
from scheduler.models import (
    ApiToken,
    Appointment,
    Attendance,
    Discharge,
    Enrollment,
    GroupSeries,
    Message,
    Occurrence,
    Patient,
    Task,
    Therapist,
    User,
)
from scheduler.scheduling import availability, therapists
from tests.support import count

ROOT = Path(__file__).resolve().parents[1]


def printed_logins(output: str) -> dict[str, str]:
    """email -> password from the demo's login lines."""
    logins = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("admin", "coordinator", "therapist"):
            logins[parts[1]] = parts[2]
    return logins


# --- demo ------------------------------------------------------------------------------------

def test_demo_fills_an_empty_database(app, runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    logins = printed_logins(result.output)
    assert {"admin@demo.clinic", "coordinator@demo.clinic"} <= set(logins)
    assert len(logins) == 5
    token = result.output.strip().splitlines()[-1].split()[-1]
    with app.app_context():
        users = {u.email: u for u in db.session.scalars(select(User))}
        for email, password in logins.items():
            assert check_password_hash(users[email].password_hash, password)
        assert sorted(u.role for u in users.values()) == ["admin", "coordinator"] + ["therapist"] * 3
        assert all(u.therapist_id for u in users.values() if u.role == "therapist")
        assert count(db.session, Therapist) == 3 and count(db.session, Patient) == 68
        for t in db.session.scalars(select(Therapist)):
            assert t.timezone == "America/New_York" and t.rules
        patients = db.session.scalars(select(Patient)).all()
        assert all(p.phone.startswith("+120155") and bool(p.consent_at) == p.sms_consent for p in patients)
        assert sum(p.sms_consent for p in patients) >= 60
        assert {p.language for p in patients} == {"en", "es"}
        today = timeutil.local_date_of(users["admin@demo.clinic"].created_at, "America/New_York")
        ages = sorted((today - d.discharge_date).days for d in db.session.scalars(select(Discharge)))
        assert ages[0] >= 1 and 180 <= ages[-1] <= 7 * 31
        group = db.session.scalar(select(GroupSeries))
        assert (group.capacity, group.rrule, group.local_start.hour, group.local_start.weekday()) == (
            8, "FREQ=WEEKLY", 18, 1)
        assert count(db.session, Enrollment, Enrollment.status == "enrolled") == 8
        assert count(db.session, Enrollment, Enrollment.status == "waitlisted") == 3
        assert count(db.session, Occurrence) >= 12
        created = users["admin@demo.clinic"].created_at
        upcoming = db.session.scalars(select(Appointment).where(Appointment.status == "scheduled",
                                                                Appointment.start_dt > created)).all()
        assert len(upcoming) >= 10
        for appt in upcoming:
            assert created < appt.start_dt < created + timedelta(days=8)
            rules = therapists.weekly_rules(appt.therapist)
            assert availability.is_available(rules, appt.therapist.timezone, [], appt.start_dt, appt.end_dt)
    r = client.get("/api/v1/reports/follow-up?from=2000-01-01&to=2100-01-01",
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.get_json()["discharges"] == 71


def test_demo_shows_aftercare_in_every_state(app, runner, client):
    """Seven months of discharges: followed up, late, nothing booked, slipping away, ended, pending."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1].split()[-1]
    with app.app_context():
        now = db.session.scalar(select(User.created_at).where(User.email == "admin@demo.clinic"))
        today = timeutil.local_date_of(now, "America/New_York")
        months = today.year * 12 + today.month - 1 - 5  # the last 6 months through today, as /reports
        first = date(months // 12, months % 12 + 1, 1)
        report = reports.follow_up(db.session, reports.FollowUpQuery(first, today), now, by="month")
        assert report["discharges"] > 20 and 0 < report["rate_7d"] < 1 and report["rate_7d"] < report["rate_30d"]
        assert len(report["rows"]) == 6
        for row in report["rows"][:-1]:  # each whole month has believable, non-trivial figures
            assert row["discharges"] >= 5 and 0.3 <= row["rate_7d"] <= 0.8, row
        rows = reports.follow_up(db.session, reports.FollowUpQuery(first, today), now, by="discharge")["rows"]
        reasons = {row["reason"] for row in rows}
        assert {None, "too_late", "nothing_booked", "no_show", "pending"} <= reasons
        ended = {d.ended_reason for d in db.session.scalars(select(Discharge))}
        assert {None, "readmitted", "transferred", "moved", "declined"} <= ended
        tasks = {t.kind for t in db.session.scalars(select(Task))}
        assert tasks == {"no_booking_3d", "no_attendance_7d", "missed_twice", "quiet_14d",
                         "reschedule_request", "unrecognized_reply"}  # the last two: patients' replies
        assert count(db.session, Attendance, Attendance.status == "attended") > 20
        assert count(db.session, Attendance, Attendance.status == "no_show") > 0
        assert count(db.session, Appointment, Appointment.status == "no_show", Appointment.start_dt < now) > 5
        past = (select(Message.id).outerjoin(Appointment, Appointment.id == Message.appointment_id)
                .outerjoin(Occurrence, Occurrence.id == Message.occurrence_id)
                .where(or_(Appointment.start_dt < now, Occurrence.start_dt < now)))
        assert db.session.scalars(past).all() == []  # nothing is, or was, texted about the past
    dispatched = runner.invoke(args=["reminders", "dispatch"])
    assert dispatched.exit_code == 0, dispatched.output
    with app.app_context():
        assert db.session.scalars(past).all() == []
    headers = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/v1/tasks?kind=no_booking_3d", headers=headers)
    assert r.status_code == 200 and r.get_json()["tasks"]


def test_demo_refuses_a_database_with_data(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    again = runner.invoke(args=["demo"])
    assert again.exit_code != 0
    assert "already has data" in again.output
    with app.app_context():
        assert count(db.session, Patient) == 68 and count(db.session, User) == 5


def test_demo_refuses_when_only_a_user_exists(app, runner):
    assert runner.invoke(args=["users", "create", "--email", "a@x.test", "--role", "admin"]).exit_code == 0
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    with app.app_context():
        assert count(db.session, Patient) == 0


# --- users create ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_users_create_staff(app, runner, role):
    result = runner.invoke(args=["users", "create", "--email", "Staff@Clinic.test", "--role", role,
                                 "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.email, user.role, user.therapist_id) == ("staff@clinic.test", role, None)
        assert check_password_hash(user.password_hash, "s3cret-pass")


def test_users_create_therapist_links_by_email(app, runner, make_therapist):
    tid = make_therapist(email="dana@clinic.test")
    result = runner.invoke(args=["users", "create", "--email", "dana@clinic.test", "--role", "therapist"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User)).therapist_id == tid


def test_users_create_therapist_without_record_fails(app, runner):
    result = runner.invoke(args=["users", "create", "--email", "nobody@clinic.test", "--role", "therapist"])
    assert result.exit_code != 0
    assert "no therapist record" in result.output
    with app.app_context():
        assert count(db.session, User) == 0


@pytest.mark.parametrize("args", [
    ["--email", "x@clinic.test", "--role", "superuser"],
    ["--email", "x@clinic.test"],
    ["--email", "not-an-email", "--role", "admin"],
])
def test_users_create_refuses_bad_input(app, runner, args):
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code != 0
    with app.app_context():
        assert count(db.session, User) == 0


def test_users_create_duplicate_email_fails(runner):
    assert runner.invoke(args=["users", "create", "--email", "a@x.test", "--role", "admin"]).exit_code == 0
    result = runner.invoke(args=["users", "create", "--email", "A@x.test", "--role", "coordinator"])
    assert result.exit_code != 0 and "already exists" in result.output


# --- users token -------------------------------------------------------------------------------

def test_users_token_prints_one_working_line_and_stores_only_its_hash(app, runner, client):
    runner.invoke(args=["users", "create", "--email", "c@x.test", "--role", "coordinator"])
    result = runner.invoke(args=["users", "token", "--email", "c@x.test"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 1
    token = lines[0].strip()
    r = client.get("/api/v1/reports/follow-up?from=2026-01-01&to=2026-01-31",
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr([c for c in db.session.execute(select(ApiToken)).one()])


def test_users_token_for_unknown_email_fails(runner):
    result = runner.invoke(args=["users", "token", "--email", "ghost@x.test"])
    assert result.exit_code != 0 and "no user" in result.output


# --- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("env, name", [
    ({"SMS_BACKEND": "twilio"}, "TWILIO_ACCOUNT_SID"),
    ({"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"},
     "TWILIO_MESSAGING_SERVICE_SID"),
    ({"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
      "TWILIO_FROM_NUMBER": "+15005550006"}, "PUBLIC_BASE_URL"),
    ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND"),
    ({"REMINDER_OFFSETS": "abc"}, "REMINDER_OFFSETS"),
    ({"QUIET_HOURS": "late"}, "QUIET_HOURS"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
])
def test_bad_setting_stops_the_app_with_one_line(tmp_path, env, name):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("TWILIO_", "SMS_", "REMINDER_", "QUIET_", "DATABASE_URL", "PUBLIC_"))}
    clean.update({"SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", **env})
    proc = subprocess.run([sys.executable, "-c", "from scheduler import create_app; create_app()"],
                          cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0]
