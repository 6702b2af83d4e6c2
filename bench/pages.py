"""Benchmark (not a test): server time of the staff pages that must stay fast as the clinic grows.

    python bench/pages.py [--engines sqlite,postgresql] [--requests 200]

For each engine it builds its own database (a temp SQLite file, or PostgreSQL `bench_pages` on
127.0.0.1:5432, dropped and rebuilt by the migrations; skipped with a message when PostgreSQL does
not answer), seeds 32 therapists, 20,000 patients and a busy therapist's week (40 appointments and
5 group meetings), and times, in-process through the app's test client (server time, no network):

- `GET /calendar?therapist=ID&week=...` (the week view of the busy therapist), with 10,000 and then
  100,000 appointments in the table (aim: p50 < 50 ms, and flat as the table grows);
- `POST /appointments/patients` (the booking dialog's live search), by name and by phone digits,
  with 20,000 patients (aim: p50 < 30 ms).

Everything printed was measured in this run; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = "America/New_York"
THERAPISTS, PATIENTS = 32, 20_000
HOURS = range(8, 19)  # one-hour sessions 08:00-18:00 on weekdays; group meetings at 19:00
SIZES = (10_000, 100_000)
BUSY_APPOINTMENTS, BUSY_MEETINGS = 40, 5
PASSWORD = "bench password"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _monday(weeks_ahead: int) -> date:
    today = datetime.now(ZoneInfo(TZ)).date()
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks_ahead)


def _slots(first_monday: date, weeks: int):
    """Local session starts, week by week, Mon-Fri, every hour in HOURS."""
    for w in range(weeks):
        for day in range(5):
            d = first_monday + timedelta(weeks=w, days=day)
            for hour in HOURS:
                yield datetime.combine(d, wall(hour), tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def _build(url: str):
    from flask_migrate import upgrade

    from scheduler import create_app
    from scheduler.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "SMS_BACKEND": "console", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


def _seed_people(app) -> tuple[int, str]:
    """Therapists with weekday hours, patients, one admin; returns (busy therapist id, admin email)."""
    from werkzeug.security import generate_password_hash

    from scheduler.extensions import db
    from scheduler.models import AvailabilityRule, Patient, Therapist, User

    now = _now()
    with app.app_context():
        therapists = [Therapist(name=f"Therapist {i:02d}", timezone=TZ, created_at=now) for i in range(THERAPISTS)]
        for t in therapists:
            t.rules = [AvailabilityRule(weekday=d, start_time=wall(8), end_time=wall(20)) for d in range(5)]
        db.session.add_all(therapists)
        db.session.add(User(email="admin@bench.test", role="admin", active=True, created_at=now,
                            password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1")))
        db.session.flush()
        first = ["Alex", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Sofia", "Mateo", "Elena", "Quinn"]
        last = ["Reyes", "Lee", "Price", "Chen", "Cruz", "Patel", "Ortiz", "Foster", "Rios", "Vargas"]
        db.session.execute(Patient.__table__.insert(), [
            {"name": f"{first[i % 10]} {last[(i // 10) % 10]} {i}", "phone": f"+1201{5550000 + i:07d}",
             "timezone": TZ, "language": "en", "sms_consent": True, "created_at": now}
            for i in range(PATIENTS)])
        db.session.commit()
        return therapists[0].id, "admin@bench.test"


def _seed_busy_week(app, busy: int, monday: date) -> None:
    """40 appointments and 5 group meetings in the busy therapist's target week."""
    from scheduler.extensions import db
    from scheduler.models import Appointment, GroupSeries, Occurrence

    now = _now()
    starts = list(_slots(monday, 1))[:BUSY_APPOINTMENTS]
    with app.app_context():
        db.session.execute(Appointment.__table__.insert(), [
            {"therapist_id": busy, "patient_id": 1 + i, "start_dt": s, "end_dt": s + timedelta(minutes=50),
             "status": "scheduled", "version": 1, "created_at": now, "updated_at": now}
            for i, s in enumerate(starts)])
        group = GroupSeries(title="Evening group", facilitator_id=busy, capacity=12, duration_minutes=60,
                            timezone=TZ, local_start=datetime.combine(monday, wall(19)),
                            rrule="FREQ=DAILY;COUNT=5", created_at=now)
        db.session.add(group)
        db.session.flush()
        for day in range(BUSY_MEETINGS):
            d = monday + timedelta(days=day)
            s = datetime.combine(d, wall(19), tzinfo=ZoneInfo(TZ)).astimezone(UTC)
            db.session.add(Occurrence(group_id=group.id, local_date=d, start_dt=s,
                                      end_dt=s + timedelta(hours=1), cancelled=False))
        db.session.commit()


def _grow(app, busy: int, target: date, total: int, week: int) -> tuple[int, int]:
    """Add whole weeks of sessions (every therapist, every hour) from `week` (weeks from now) until
    the table holds at least `total` rows; returns (rows, the next week to fill)."""
    from sqlalchemy import func, select

    from scheduler.extensions import db
    from scheduler.models import Appointment

    now = _now()
    with app.app_context():
        need = total - db.session.scalar(select(func.count()).select_from(Appointment))
        rows = []
        while len(rows) < need:
            monday = _monday(week)
            week += 1
            if monday == target:
                continue  # the busy therapist's week is as seeded
            for k, start in enumerate(_slots(monday, 1)):
                for t in range(1, THERAPISTS + 1):
                    rows.append({"therapist_id": t, "patient_id": 1 + (k * THERAPISTS + t) % PATIENTS,
                                 "start_dt": start, "end_dt": start + timedelta(minutes=50),
                                 "status": "attended" if start < now else "scheduled", "version": 1,
                                 "created_at": now, "updated_at": now})
        for i in range(0, len(rows), 5000):
            db.session.execute(Appointment.__table__.insert(), rows[i:i + 5000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        return db.session.scalar(select(func.count()).select_from(Appointment)), week


def _signed_in(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def _time(client, n: int, call) -> dict:
    for _ in range(5):  # warm caches and the connection pool
        call(client)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = call(client)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1], "max": times[-1]}


def _show(label: str, figures: dict, aim: float) -> None:
    verdict = "ok" if figures["p50"] < aim else "OVER"
    print(f"  {label:<58} p50 {figures['p50']:6.1f} ms  p95 {figures['p95']:6.1f} ms  "
          f"max {figures['max']:6.1f} ms  (aim p50 < {aim:.0f} ms: {verdict})")


def run(engine: str, url: str, requests: int) -> None:
    app = _build(url)
    busy, admin = _seed_people(app)
    target = _monday(2)
    _seed_busy_week(app, busy, target)
    client = _signed_in(app, admin)
    week = f"/calendar?therapist={busy}&week={(target + timedelta(days=2)).isoformat()}"
    html = client.get(week).get_data(as_text=True)
    shown = (len(re.findall(r'href="/appointments/\d+"', html)) // 2, len(re.findall(r'href="/groups/\d+"', html)) // 2)
    print(f"{engine}: the busy week shows {shown[0]} appointments and {shown[1]} group meetings "
          f"({html.count('Book ') // 2} free slots); load average {os.getloadavg()[0]:.2f}")
    next_week = -60  # history first; the table grows into the past and the coming months
    for size in SIZES:
        rows, next_week = _grow(app, busy, target, size, next_week)
        _show(f"week view, {rows:,} appointments in the table", _time(client, requests, lambda c: c.get(week)), 50)
    for label, query in (("name", "morg"), ("phone digits", "555 123"), ("a rare name", "Quinn Vargas 99")):
        _show(f"patient search by {label}, {PATIENTS:,} patients",
              _time(client, requests, lambda c, q=query: c.post("/appointments/patients", data={"q": q})), 30)
    with app.app_context():
        from scheduler.extensions import db
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    import logging
    logging.disable(logging.INFO)
    for engine in args.engines.split(","):
        if engine == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.requests)
        elif engine == "postgresql":
            from fresh_db import fresh_postgres
            try:
                url = fresh_postgres("bench_pages")
            except Exception as exc:  # no server here: say so and go on
                print(f"postgresql: skipped ({type(exc).__name__}: PostgreSQL not reachable)")
                continue
            run("postgresql", url, args.requests)


if __name__ == "__main__":
    main()
