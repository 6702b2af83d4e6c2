"""Benchmark (not a test): the follow-up and engagement reports over a clinic network's data.

    python bench/reports.py [--engines postgresql,sqlite] [--repeat 3] [--pg-db bench_reports]
                            [--sqlite-file /tmp/bench_reports.sqlite3] [--reuse] [--scale 1.0] [--plans]

For each engine it fills a database of its own with bench/bigdata.py (100,000 patients and
discharges over the last 365 days, about 2,000,000 appointments; `--reuse` keeps one already
filled), then calls the very functions the API, the CSV and the page call
(scheduler.aftercare.reports.follow_up / engagement), in-process, with an admin's access clause:

- follow-up with by = none, month, therapist, discharge, and method=hedis (by month);
- engagement by month, therapist and group;

each over a range holding about 10,000 discharges (the last weeks) and over the year (100,000),
`--repeat` times; prints the median and the ratio 100k / 10k next to the ratio of discharges (and
of sessions, for engagement). Aim (issue 16): under one second each on PostgreSQL for the year,
growing no faster than the discharges. Everything printed was measured in this run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SMALL = 10_000  # discharges in the short range


def _ranges(session, today):
    """(label, first, last, discharges, sessions) for the short range and the year."""
    from sqlalchemy import func, select

    from scheduler.models import Appointment, Discharge

    year_first = today - timedelta(days=364)
    nth = session.scalar(select(Discharge.discharge_date).where(Discharge.discharge_date <= today)
                         .order_by(Discharge.discharge_date.desc()).offset(SMALL - 1).limit(1))
    out = []
    for label, first in (("short", nth or year_first), ("year", year_first)):
        n = session.scalar(select(func.count()).select_from(Discharge).where(
            Discharge.discharge_date >= first, Discharge.discharge_date <= today))
        lo = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        sessions = session.scalar(select(func.count()).select_from(Appointment).where(
            Appointment.start_dt >= lo, Appointment.start_dt < datetime.now(UTC)))
        out.append((label, first, today, n, sessions))
    return out


def _time(call, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _cases(session, now):
    from sqlalchemy import true

    from scheduler.aftercare import reports

    def follow_up(by, method="all"):
        return lambda first, last: reports.follow_up(
            session, reports.FollowUpQuery(first, last, method, true()), now, by)

    def engagement(by):
        return lambda first, last: reports.engagement(session, first, last, now, by, true())

    return [("follow-up, totals only", follow_up(None)), ("follow-up by month", follow_up("month")),
            ("follow-up by therapist", follow_up("therapist")), ("follow-up by discharge", follow_up("discharge")),
            ("follow-up by month, method=hedis", follow_up("month", "hedis")),
            ("engagement by month", engagement("month")), ("engagement by therapist", engagement("therapist")),
            ("engagement by group", engagement("group"))]


def _plans(session, first, last, now) -> None:
    """EXPLAIN ANALYZE of the year's follow-up totals and engagement by month (PostgreSQL)."""
    from sqlalchemy import true

    from scheduler.aftercare import reports

    per = reports._per_discharge(session, reports.FollowUpQuery(first, last, "all", true()), now)
    for label, stmt in (("follow-up totals", reports._counted(per)),):
        compiled = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
        print(f"  plan of {label}:")
        for (line,) in session.execute(__import__("sqlalchemy").text(f"EXPLAIN ANALYZE {compiled}")):
            print("    " + line)


def run(engine: str, url: str, args) -> None:
    from bigdata import build, build_and_fill, show
    from sqlalchemy import func, select

    from scheduler.extensions import db
    from scheduler.models import Appointment

    app = build(url)
    with app.app_context():
        filled = db.session.scalar(select(func.count()).select_from(Appointment))
        db.session.remove()
    if not (args.reuse and filled):
        print(f"{engine}: generating (scale {args.scale}) ...")
        app, info = build_and_fill(url, args.scale)
        show(info)
    with app.app_context():
        session = db.session
        now = datetime.now(UTC)
        today = now.date()
        ranges = _ranges(session, today)
        print(f"{engine}: {session.scalar(select(func.count()).select_from(Appointment)):,} appointments; "
              f"load average {os.getloadavg()[0]:.2f}; in-process calls of scheduler.aftercare.reports, "
              f"median of {args.repeat}")
        t0 = time.perf_counter()  # a yardstick of the machine's state: one plain scan of the table
        session.execute(select(func.count()).select_from(Appointment).where(Appointment.version > 0)).scalar()
        print(f"  yardstick: counting the appointments with a full scan took {(time.perf_counter() - t0) * 1000:.0f} ms")
        for label, first, last, n, sessions in ranges:
            print(f"  {label} range {first} .. {last}: {n:,} discharges, {sessions:,} appointments started")
        (_, f1, l1, n1, s1), (_, f2, l2, n2, s2) = ranges
        for name, call in _cases(session, now):
            call(f1, l1)  # warm the caches once
            small, got1 = _time(lambda c=call: c(f1, l1), args.repeat)
            big, got2 = _time(lambda c=call: c(f2, l2), args.repeat)
            session.rollback()
            grows = (s2 / s1) if name.startswith("engagement") else (n2 / n1)
            rows = len(got2.get("rows", [])) if isinstance(got2, dict) else 0
            verdict = "ok" if big < 1 else "OVER"
            print(f"  {name:<34} 10k {small * 1000:7.0f} ms   100k {big * 1000:7.0f} ms   "
                  f"ratio {big / small:5.2f} (data x{grows:4.1f})   {rows:>6,} rows   (aim < 1 s: {verdict})")
        if args.plans and engine == "postgresql":
            _plans(session, f2, l2, now)
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-db", default="bench_reports")
    parser.add_argument("--sqlite-file", default="/tmp/bench_reports.sqlite3")
    parser.add_argument("--reuse", action="store_true", help="keep a database this script already filled")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    import logging
    logging.disable(logging.INFO)
    for engine in args.engines.split(","):
        if engine == "sqlite":
            if not args.reuse and os.path.exists(args.sqlite_file):
                os.remove(args.sqlite_file)
            run("sqlite", f"sqlite:///{args.sqlite_file}", args)
        elif engine == "postgresql":
            from fresh_db import PG_SERVER, fresh_postgres
            try:
                url = PG_SERVER + args.pg_db if args.reuse else fresh_postgres(args.pg_db)
            except Exception as exc:  # no server here: say so and go on
                print(f"postgresql: skipped ({type(exc).__name__}: PostgreSQL not reachable)")
                continue
            run("postgresql", url, args)


if __name__ == "__main__":
    main()
