"""Benchmark (not a test): importing a 20,000-row discharge file, on SQLite and PostgreSQL.

    python bench/import_discharges.py [--engines sqlite,postgresql] [--rows 20000]

For each engine it builds its own database (a temp SQLite file, or PostgreSQL `bench_imports` on
127.0.0.1:5432, made anew by bench/fresh_db.py), seeds 4 therapists and 2,000 patients, writes a
generated file of `--rows` rows (phones in mixed formats, M/D/YYYY and ISO dates, a therapist on
half the rows, a date of birth on most; a tenth of the rows are patients already stored, who get a
new discharge) and times, in-process, what `flask import discharges` runs: the dry run, the
import, and the same file again (every row unchanged). Everything printed was measured in this
run; nothing is asserted. The aim (issue 15): well under a minute for 20,000 rows on each engine.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEEDED = 2_000
THERAPISTS = ("tess@clinic.test", "omar@clinic.test", "lin@clinic.test", "ruth@clinic.test")
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
FIRST = ("Ana", "Ben", "Carla", "Dee", "Eli", "Fay", "Gil", "Hana", "Ivan", "Jo", "Kim", "Lee", "Mo", "Nia")
LAST = ("Ruiz", "Ode", "Diaz", "Stone", "Park", "Nguyen", "Smith", "Khan", "Silva", "Moore", "Cohen", "Ito")


def _phone(i: int) -> str:
    """A distinct valid US number for each i (area codes 201/312/415, exchanges 234-999)."""
    area = (201, 312, 415)[i % 3]
    exchange = 234 + (i // 3) // 10_000
    return f"+1{area}{exchange}{(i // 3) % 10_000:04d}"


def _formatted(e164: str, i: int) -> str:
    digits = e164[2:]
    return (e164, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
            digits)[i % 4]


def _file(rows: int, today: date) -> bytes:
    rng = random.Random(15)
    lines = ["name,phone,timezone,discharge_date,plan_days,language,sms_consent,therapist_email,"
             "individual_per_week,groups_per_week,date_of_birth"]
    for i in range(rows):
        # A tenth are patients already stored (the seeded ones), the rest are new.
        n = i % SEEDED if i % 10 == 0 else SEEDED + i
        name = f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]} {n}"
        day = today - timedelta(days=rng.randrange(0, 60))
        when = day.isoformat() if i % 2 else f"{day.month}/{day.day}/{day.year}"
        birth = "" if i % 7 == 0 else date(1950 + n % 50, 1 + n % 12, 1 + n % 28).isoformat()
        lines.append(",".join([name, _formatted(_phone(n), i), ZONES[n % 4], when, ("30", "60", "90")[i % 3],
                               ("en", "es")[i % 5 == 0], ("yes", "no", "1", "true")[i % 4],
                               THERAPISTS[i % 4] if i % 2 == 0 else "", str(i % 3), str(1 + i % 2), birth]))
    return ("\r\n".join(lines) + "\r\n").encode()


def _build(url: str):
    from flask_migrate import upgrade

    from scheduler import create_app
    from scheduler.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "SMS_BACKEND": "console"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


def _seed(app, now: datetime) -> None:
    from scheduler.extensions import db
    from scheduler.models import Patient, Therapist

    with app.app_context():
        db.session.add_all(Therapist(name=email.split("@")[0].title(), email=email, timezone=ZONES[0],
                                     created_at=now) for email in THERAPISTS)
        db.session.add_all(Patient(name=f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]} {n}",
                                   phone=_phone(n), timezone=ZONES[n % 4], language="en", sms_consent=False,
                                   created_at=now) for n in range(SEEDED))
        db.session.commit()


def run(engine: str, url: str, rows: int) -> None:
    from scheduler.aftercare import import_jobs
    from scheduler.core import phones, settings
    from scheduler.extensions import db

    now = datetime.now(UTC).replace(microsecond=0)
    app = _build(url)
    _seed(app, now)
    data = _file(rows, now.date())
    print(f"{engine}: {rows:,} rows, {len(data) / 1e6:.1f} MB, {SEEDED:,} patients stored before, "
          f"load average {os.getloadavg()[0]:.1f}")
    with app.app_context():
        for label, dry in (("dry run", True), ("import", False), ("again (unchanged)", False)):
            phones._e164.cache_clear()  # each command is a process of its own: no number read before
            began = time.perf_counter()
            outcomes = import_jobs.import_file(db.session, data, now, settings=settings.current(),
                                               route="bench", dry_run=dry)
            took = time.perf_counter() - began
            counts = Counter(o.result for o in outcomes)
            print(f"  {label:<18} {took:6.1f} s  {rows / took:7,.0f} rows/s  "
                  + ", ".join(f"{counts[k]} {k}" for k in ("created", "updated", "unchanged", "refused")))
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    import logging
    logging.disable(logging.INFO)
    for engine in args.engines.split(","):
        if engine == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.rows)
        elif engine == "postgresql":
            from fresh_db import fresh_postgres
            try:
                url = fresh_postgres("bench_imports")
            except Exception as exc:  # no server here: say so and go on
                print(f"postgresql: skipped ({type(exc).__name__}: PostgreSQL not reachable)")
                continue
            run("postgresql", url, args.rows)


if __name__ == "__main__":
    main()
