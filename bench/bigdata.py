"""A clinic network's worth of data, fast: for the benchmarks at scale (reports, week page, search).

    python bench/bigdata.py URL [--scale 1.0]   # fills an empty, migrated database (or builds it)

At scale 1: 100,000 patients in five zones, 100,000 discharges over the last 365 days (5,000
people discharged twice, some within 30 days: HEDIS repeats), 1,000 therapists with care teams
(a second therapist for one patient in five), about 2,000,000 individual appointments (about 20
per discharge, the first on day 0-30, then every 3-6 days; past ones attended, no-show, late
cancelled, cancelled or left unrecorded; future ones scheduled, confirmed or cancelled), 400
weekly groups with enrollments and attendance rows, reminder texts for one appointment in four
and confirmation events. No double booking: every therapist and every patient holds at most one
session per hour slot (appointments 13:00-22:50 UTC, groups at 19:00 New York time), so the
PostgreSQL exclusion constraints hold. Deterministic for a given scale and day (seeded).

Big tables go in by PostgreSQL COPY (psycopg) or by the DBAPI's executemany on SQLite; the
small ones through the ORM. `--scale 0.1` gives a tenth of everything (the 10k comparison).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password"
ADMIN = "admin@bench.test"
ZONES = (("America/New_York", 45), ("America/Chicago", 25), ("America/Denver", 10),
         ("America/Los_Angeles", 15), ("America/Phoenix", 5))
FIRST = ("Alex Jordan Casey Riley Morgan Taylor Sofia Mateo Elena Quinn Ana Luis Maya Noah Emma Liam Olivia Ethan "
         "Ava Lucas Mia Mason Zoe Logan Lily Owen Chloe Caleb Nora Isaac Ruby Leo Ivy Miles Hazel Ezra Aria Jude "
         "Stella Felix Iris Hugo Vera Omar Lena Tariq Nadia Ravi Priya Kenji Yuki Amara Kofi Ines Pablo Rosa "
         "Dmitri Sasha Marta").split()
LAST = ("Reyes Lee Price Chen Cruz Patel Ortiz Foster Rios Vargas Smith Johnson Brown Garcia Miller Davis Wilson "
        "Anderson Thomas Moore Martin Jackson White Harris Clark Lewis Walker Hall Allen Young King Wright Lopez "
        "Hill Scott Green Adams Baker Nelson Carter Mitchell Perez Roberts Turner Phillips Campbell Parker Evans "
        "Edwards Collins Stewart Sanchez Morris Rogers Reed Cook Morgan Bell Murphy Bailey Rivera Cooper Richardson "
        "Cox Howard Ward Torres Peterson Gray Ramirez James Watson Brooks Kelly Sanders Nguyen Kim").split()
SLOT_HOURS = range(13, 23)  # UTC hours of individual sessions (50 minutes each)
GROUP_ZONE = ZoneInfo("America/New_York")


@lru_cache(maxsize=1 << 16)
def _instant(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _iso(value) -> object:
    """A value as SQLite stores it through the app's types (naive UTC text for instants)."""
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, wall):
        return value.strftime("%H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


class Loader:
    """Bulk rows into one table: COPY on PostgreSQL, executemany on SQLite; a batch at a time."""

    def __init__(self, engine):
        self.raw = engine.raw_connection()
        self.pg = engine.dialect.name == "postgresql"

    def put(self, table: str, columns: tuple[str, ...], rows) -> int:
        count = 0
        cur = self.raw.cursor()
        if self.pg:
            rebuild = self._set_aside(cur, table)
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            for statement in rebuild:  # one bulk build each, which also checks every row
                cur.execute(statement)
        else:
            cur.execute("BEGIN")  # the app's connections autocommit otherwise: one commit per row
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            batch = []
            for row in rows:
                batch.append(tuple(_iso(v) for v in row))
                if len(batch) == 20000:
                    cur.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            cur.executemany(sql, batch)
            count += len(batch)
            cur.execute("COMMIT")
        self.raw.commit()
        return count

    @staticmethod
    def _set_aside(cur, table: str) -> list[str]:
        """Drop the table's secondary indexes, unique, exclusion and foreign-key constraints (a GiST exclusion
        index grows row by row far slower than it builds, and a foreign key checks row by row); the statements that put
        them back."""
        cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype IN ('u', 'x', 'f')", (table,))
        constraints = cur.fetchall()
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                    "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", (table, table))
        indexes = cur.fetchall()
        for name, _ in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        return ([f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
                + [definition for _, definition in indexes])

    def finish(self, tables) -> None:
        cur = self.raw.cursor()
        if self.pg:  # ids were given explicitly: move the sequences past them
            for table in tables:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))")
        self.raw.commit()
        self.raw.close()


def _weekly(first: date, last: date, weekday: int):
    day = first + timedelta(days=(weekday - first.weekday()) % 7)
    while day <= last:
        yield day
        day += timedelta(days=7)


def generate(engine, scale: float = 1.0, now: datetime | None = None, seed: int = 16) -> dict:
    """Fill a migrated, empty database; returns the counts and the seconds each table took."""
    from werkzeug.security import generate_password_hash

    rnd = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    today = now.date()
    n_patients, n_therapists, n_groups = int(100_000 * scale), max(int(1_000 * scale), 10), max(int(400 * scale), 4)
    n_twice = int(5_000 * scale)
    first_day = today - timedelta(days=364)  # discharges fall in the last 365 days
    origin = first_day - timedelta(days=30)  # slot 0's day
    load, took, counts = Loader(engine), {}, {}

    def timed(name, columns, rows):
        t0 = time.perf_counter()
        counts[name] = counts.get(name, 0) + load.put(name, columns, rows)
        took[name] = took.get(name, 0) + time.perf_counter() - t0

    zones = [z for z, w in ZONES for _ in range(w)]
    timed("therapists", ("id", "name", "timezone", "created_at"),
          ((t, f"Therapist {t:04d}", "America/New_York", now) for t in range(1, n_therapists + 1)))
    timed("availability_rules", ("therapist_id", "weekday", "start_time", "end_time"),
          ((t, d, wall(7), wall(20)) for t in range(1, n_therapists + 1) for d in range(7)))
    timed("users", ("email", "role", "password_hash", "active", "created_at", "session_version"),
          [(ADMIN, "admin", generate_password_hash(PASSWORD, method="scrypt:1024:8:1"), True, now, 0)])
    patient_zone = {}

    def patients():
        for p in range(1, n_patients + 1):
            patient_zone[p] = zone = zones[rnd.randrange(len(zones))]
            name = f"{FIRST[rnd.randrange(len(FIRST))]} {LAST[rnd.randrange(len(LAST))]}"
            yield p, name, f"+1{2_010_000_000 + p * 7}", zone, "en" if p % 5 else "es", p % 10 != 0, now, now
    timed("patients", ("id", "name", "phone", "timezone", "language", "sms_consent", "consent_at", "created_at"),
          patients())
    team = {p: [1 + rnd.randrange(n_therapists)] for p in range(1, n_patients + 1)}
    for p in range(1, n_patients + 1, 5):
        other = 1 + rnd.randrange(n_therapists)
        if other != team[p][0]:
            team[p].append(other)
    timed("care_team", ("patient_id", "therapist_id", "added_at"),
          ((p, t, now) for p, ts in team.items() for t in ts))

    # Discharges: one for most patients, two for n_twice of them; the last people have none.
    discharges = []  # (id, patient, date)
    once = n_patients - 2 * n_twice
    for p in range(1, once + 1):
        discharges.append((len(discharges) + 1, p, first_day + timedelta(days=rnd.randrange(365))))
    for p in range(once + 1, once + n_twice + 1):
        d1 = first_day + timedelta(days=rnd.randrange(300))
        discharges.append((len(discharges) + 1, p, d1))
        discharges.append((len(discharges) + 1, p, d1 + timedelta(days=rnd.choice((10, 20, 25, 35, 45, 60)))))
    timed("discharges", ("id", "patient_id", "discharge_date"), discharges)

    # Individual appointments: a slot is (day since origin) * 10 + hour; one per therapist and
    # per patient in any slot.
    held_t, held_p, appts = set(), set(), []
    n_slots = ((today + timedelta(days=150)) - origin).days * len(SLOT_HOURS)
    for _did, p, d in discharges:
        u = rnd.random()
        first = 0 if u < 0.05 else rnd.randint(1, 7) if u < 0.70 else rnd.randint(8, 14) if u < 0.85 else rnd.randint(15, 30)
        day = (d - origin).days + first
        for _ in range(rnd.randint(17, 23)):
            t = team[p][0] if len(team[p]) == 1 or rnd.random() < 0.7 else team[p][1]
            slot = day * 10 + rnd.randrange(10)
            while (t * n_slots + slot) in held_t or (p * n_slots + slot) in held_p:
                slot += 1
            if slot >= n_slots:
                break
            held_t.add(t * n_slots + slot)
            held_p.add(p * n_slots + slot)
            appts.append((t, p, slot))
            day = slot // 10 + rnd.randint(3, 6)
    del held_t, held_p
    rnd.shuffle(appts)  # ids in booking order, not by patient

    def appointment_rows():
        for i, (t, p, slot) in enumerate(appts, 1):
            start = datetime.combine(origin + timedelta(days=slot // 10), wall(13 + slot % 10), tzinfo=UTC)
            u = rnd.random()
            if start < now:
                status = ("attended" if u < 0.68 else "no_show" if u < 0.80 else "late_cancelled" if u < 0.86
                          else "cancelled" if u < 0.96 else "scheduled")
            else:
                status = "scheduled" if u < 0.75 else "confirmed" if u < 0.90 else "cancelled"
            appt_status.append(status)
            created = min(start, now) - timedelta(days=7)
            yield i, t, p, start, start + timedelta(minutes=50), status, 1, created, created
    appt_status = []
    timed("appointments", ("id", "therapist_id", "patient_id", "start_dt", "end_dt", "status", "version",
                           "created_at", "updated_at"), appointment_rows())

    def events():
        for i, (_t, _p, slot) in enumerate(appts, 1):
            if appt_status[i - 1] == "confirmed" or (appt_status[i - 1] == "attended" and i % 5 == 0):
                start = datetime.combine(origin + timedelta(days=slot // 10), wall(13 + slot % 10), tzinfo=UTC)
                yield i, min(start, now) - timedelta(days=1), "confirmed"
    timed("appointment_events", ("appointment_id", "at", "status"), events())

    def texts():
        for i, (_t, p, slot) in enumerate(appts, 1):
            if i % 4:
                continue
            start = datetime.combine(origin + timedelta(days=slot // 10), wall(13 + slot % 10), tzinfo=UTC)
            due = start - timedelta(days=1)
            u = rnd.random()
            status = "pending" if due > now else ("delivered" if u < 0.85 else "sent" if u < 0.9
                                                   else "undelivered" if u < 0.95 else "failed")
            yield (p, "out", "reminder", i, start, 1440, due, status, 0 if status == "pending" else 1, False,
                   f"+1{2_010_000_000 + p * 7}", due - timedelta(days=6), None if status == "pending" else due, "[]")
    timed("messages", ("patient_id", "direction", "kind", "appointment_id", "session_start_dt", "offset_minutes",
                       "due_at", "status", "attempts", "uncertain", "to_phone", "created_at", "sent_at", "history"),
          texts())
    del appts, appt_status

    # Groups: weekly at 19:00 New York time, after every individual slot has ended.
    timed("group_series", ("id", "title", "facilitator_id", "capacity", "duration_minutes", "timezone",
                           "local_start", "rrule", "materialized_until", "created_at"),
          ((g, f"Group {g:03d}", 1 + (g * 37) % n_therapists, 12, 60, "America/New_York",
            datetime.combine(origin, wall(19)), f"FREQ=WEEKLY;BYDAY={'MO TU WE TH FR'.split()[g % 5]}",
            today + timedelta(days=90), now) for g in range(1, n_groups + 1)))
    meetings = {}  # group -> [(occurrence id, local date, start)]
    occ_rows = []
    for g in range(1, n_groups + 1):
        for d in _weekly(origin, today + timedelta(days=90), g % 5):
            start = datetime.combine(d, wall(19), tzinfo=GROUP_ZONE).astimezone(UTC)
            occ_rows.append((len(occ_rows) + 1, g, d, start, start + timedelta(hours=1), rnd.random() < 0.03))
            meetings.setdefault(g, []).append((len(occ_rows), d, start))
    timed("occurrences", ("id", "group_id", "local_date", "start_dt", "end_dt", "cancelled"), occ_rows)
    enrolled, seats, seen = [], [], set()
    for _did, p, d in discharges:
        if p in seen or rnd.random() > 0.3:
            continue  # one enrollment per person, for three discharges in ten
        seen.add(p)
        g = 1 + rnd.randrange(n_groups)
        joined = datetime.combine(d, wall(12), tzinfo=UTC)
        left = joined + timedelta(days=60)
        enrolled.append((g, p, "dropped" if left < now else "enrolled", joined, joined, left if left < now else None))
        for _occ, _day, start in meetings[g]:
            if joined <= start < min(left, now):
                u = rnd.random()
                status = "attended" if u < 0.7 else "no_show" if u < 0.9 else "late_cancelled" if u < 0.95 else None
                seats.append((_occ, p, status, start - timedelta(days=1) if u < 0.3 else None,
                              start + timedelta(hours=1) if status else None))
    timed("enrollments", ("group_id", "patient_id", "status", "created_at", "enrolled_at", "dropped_at"), enrolled)
    timed("attendance", ("occurrence_id", "patient_id", "status", "confirmed_at", "recorded_at"), seats)
    load.finish(("therapists", "patients", "discharges", "appointments", "group_series", "occurrences"))
    raw = engine.raw_connection()  # planner statistics; without them SQLite picks poor indexes
    raw.cursor().execute("ANALYZE")
    raw.commit()
    raw.close()
    return {"counts": counts, "seconds": took, "today": today}


def build(url: str):
    """A Flask app on `url`, migrated to the head (the database must exist and be empty)."""
    from flask_migrate import upgrade

    from scheduler import create_app
    from scheduler.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "SMS_BACKEND": "console", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


def build_and_fill(url: str, scale: float) -> tuple[object, dict]:
    from scheduler.extensions import db

    app = build(url)
    with app.app_context():
        t0 = time.perf_counter()
        info = generate(db.engine, scale)
        info["total_seconds"] = time.perf_counter() - t0
        db.engine.dispose()
    return app, info


def show(info: dict) -> None:
    for table, n in info["counts"].items():
        print(f"  {table:<20} {n:>10,} rows  {info['seconds'][table]:7.1f} s")
    print(f"  generated in {info['total_seconds']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="an empty database: sqlite:///path or postgresql+psycopg://...")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    import logging
    logging.disable(logging.INFO)
    _app, info = build_and_fill(args.url, args.scale)
    show(info)


if __name__ == "__main__":
    main()
