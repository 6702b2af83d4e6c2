"""Benchmark (not a test): booking throughput against trivial endpoints, and the week calendar.

    python bench/booking.py [--engines sqlite,postgresql] [--seconds 8] [--clients 4] [--procs 2]

For each engine it builds a separate database (a temp SQLite file, or PostgreSQL `bench` on
127.0.0.1:5432), seeds it, serves it with `gunicorn -w 2` on 127.0.0.1 and drives it from
separate client processes. Everything printed was measured in this run; nothing is asserted.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TZ = "America/New_York"
THERAPISTS, PATIENTS = 32, 3000
WEEKS_BACK, WEEKS_AHEAD = 52, 52       # seeded history and future, around the current week
HOURS = range(8, 20)                   # sessions start on the hour 08:00-19:00, Mon-Fri
SESSION_MINUTES = 50
CAL_WEEK = 2                           # the week the calendar is timed on (weeks from now)
BIG, SMALL = 100_000, 1_000            # appointments in the table for the two calendar runs
SLOTS_PER_WEEK = 5 * len(HOURS)


# ---------------------------------------------------------------- load driver (child processes)

def _client(base: str, work: list[tuple], cycle: bool, headers: dict, start_at: float,
            stop_at: float, expect: int, out: list) -> None:
    """One requests.Session issuing `work` in order until it runs out or the clock stops it.

    gunicorn's sync workers close every connection, so each request connects anew, for every
    endpoint alike.
    """
    import requests

    session = requests.Session()
    session.headers.update(headers)
    i = 0
    while time.time() < start_at:
        time.sleep(0.001)
    while time.time() < stop_at and (cycle or i < len(work)):
        method, path, body = work[i % len(work)]
        i += 1
        began = time.time()
        t0 = time.perf_counter()
        try:
            resp = session.request(method, base + path, json=body, timeout=30)
            status, text = resp.status_code, resp.text
        except requests.RequestException as exc:
            status, text = f"exc:{type(exc).__name__}", str(exc)
        # Bodies are kept only for unexpected answers, to show what went wrong.
        out.append((began, time.perf_counter() - t0, status, text if status != expect else None))


def _client_process(base, works, cycle, headers, start_at, stop_at, expect, queue) -> None:
    """A client process: one thread per entry of `works`; reports every sample."""
    outs = [[] for _ in works]
    threads = [threading.Thread(target=_client, args=(base, w, cycle, headers, start_at, stop_at, expect, o))
               for w, o in zip(works, outs, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put([s for o in outs for s in o])


def drive(base: str, works: list[list[tuple]], *, cycle: bool, seconds: float, warmup: float,
          procs: int, headers: dict, expect: int, skip: int = 0) -> dict:
    """Run the client threads (spread over `procs` processes); stats of requests begun after warm-up
    (and after the first `skip`)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 1.5  # time for the spawned processes to import requests
    stop_at = start_at + warmup + seconds
    groups = [works[i::procs] for i in range(procs) if works[i::procs]]
    children = [ctx.Process(target=_client_process,
                            args=(base, g, cycle, headers, start_at, stop_at, expect, queue)) for g in groups]
    for c in children:
        c.start()
    samples = [s for _ in children for s in queue.get(timeout=seconds + warmup + 120)]
    for c in children:
        c.join()
    samples.sort(key=lambda s: s[0])
    counted = [s for s in samples[skip:] if s[0] >= start_at + warmup]
    # From the end of warm-up (or the first request) to the last answer.
    span = (max(b + lat for b, lat, *_ in counted) - max(start_at + warmup, min(b for b, *_ in counted))
            if counted else 1.0)
    lat = sorted(s[1] for s in counted)
    wrong = {}
    for _, _, status, text in samples:
        if status != expect:
            entry = wrong.setdefault(status, [0, text])
            entry[0] += 1
            entry[1] = entry[1] or text
    return {"n": len(counted), "total": len(samples), "rps": len(counted) / span, "span": span, "lat": lat,
            "p50": pct(lat, 50), "p99": pct(lat, 99), "wrong": wrong}


def merge(parts: list[dict]) -> dict:
    """Several rounds of one load as one result."""
    lat = sorted(x for p in parts for x in p["lat"])
    wrong = {}
    for p in parts:
        for status, (k, text) in p["wrong"].items():
            entry = wrong.setdefault(status, [0, text])
            entry[0] += k
    n, span = sum(p["n"] for p in parts), sum(p["span"] for p in parts)
    return {"n": n, "total": sum(p["total"] for p in parts), "rps": n / span, "span": span, "lat": lat,
            "p50": pct(lat, 50), "p99": pct(lat, 99), "wrong": wrong}


def pct(sorted_values: list[float], p: float) -> float:
    """The p-th percentile in milliseconds (nearest rank)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k] * 1000


# ---------------------------------------------------------------- the clinic's schedule

def week_zero() -> date:
    """Monday of the current week in the clinic's zone."""
    today = datetime.now(UTC).astimezone(_zone()).date()
    return today - timedelta(days=today.weekday())


def _zone():
    from zoneinfo import ZoneInfo
    return ZoneInfo(TZ)


def slot_start(s: int, monday: date) -> datetime:
    """Slot index s (week-major from WEEKS_BACK ago, then weekday, then hour) as an aware local time."""
    week, rest = divmod(s, SLOTS_PER_WEEK)
    day, hour = divmod(rest, len(HOURS))
    local_day = monday + timedelta(weeks=week - WEEKS_BACK, days=day)
    return datetime.combine(local_day, wall(HOURS[hour]), tzinfo=_zone())


def patient_for(s: int, t: int) -> int:
    """At one instant every therapist gets a different patient, so nobody is double-booked."""
    return (s * THERAPISTS + t) % PATIENTS


def plan(monday: date) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]:
    """(t, s) cells: seeded for the small table, the rest of the big table, and free future ones."""
    weeks = WEEKS_BACK + WEEKS_AHEAD
    cells = THERAPISTS * weeks * SLOTS_PER_WEEK
    taken = set(random.Random(7).sample(range(cells), BIG))  # ~30 of 60 slots a therapist-week
    small, rest = [], []
    for c in sorted(taken):
        s, t = divmod(c, THERAPISTS)
        (small if s // SLOTS_PER_WEEK - WEEKS_BACK == CAL_WEEK else rest).append((t, s))
    random.Random(8).shuffle(rest)
    top_up = max(0, SMALL - len(small))
    small, rest = small + rest[:top_up], rest[top_up:]
    free = [(c % THERAPISTS, c // THERAPISTS) for c in range(cells)
            if c not in taken and c // THERAPISTS // SLOTS_PER_WEEK - WEEKS_BACK >= 1]
    return small, rest, free


# ---------------------------------------------------------------- database and server

def prepare_database(engine: str, tmp: Path, name: str = "bench") -> str | None:
    """A fresh, migrated database for this run (never the test database); None when unreachable."""
    import sqlalchemy as sa
    from fresh_db import fresh_postgres

    if engine == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    else:
        try:
            url = fresh_postgres(name)
        except sa.exc.OperationalError as exc:
            print(f"PostgreSQL does not answer at 127.0.0.1:5432 ({type(exc.orig).__name__}); "
                  "skipping it", flush=True)
            return None
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"flask db upgrade failed:\n{done.stderr[-3000:]}")
    return url


def seed(app, small: list, monday: date, now: datetime) -> dict:
    """Admin token, therapists (domain functions), patients, and the small table's appointments."""
    from scheduler.core import auth
    from scheduler.extensions import db
    from scheduler.models import Patient
    from scheduler.scheduling import therapists

    session = db.session
    user = auth.create_user(session, "bench-admin@clinic.test", "admin", now)
    token = auth.issue_token(session, user, now)
    hours = [(d, wall(HOURS[0]), wall(HOURS[-1] + 1)) for d in range(5)]
    tids = []
    for t in range(THERAPISTS):
        therapist = therapists.create(session, f"Therapist {t}", None, TZ, now)
        therapists.set_availability(session, therapist.id, hours, None, now)
        tids.append(therapist.id)
    people = [Patient(name=f"Patient {p}", phone=f"+1201555{p:04d}", timezone=TZ, language="en",
                      sms_consent=True, consent_at=now, consent_source="bench", created_at=now)
              for p in range(PATIENTS)]
    session.add_all(people)
    session.flush()
    pids = [p.id for p in people]  # read before commit: a refresh would hold SQLite's write lock
    session.commit()
    ids = {"token": token, "tids": tids, "pids": pids}
    insert_appointments(app, small, monday, now, ids)
    return ids


def insert_appointments(app, cells: list, monday: date, now: datetime, ids: dict) -> None:
    """Bulk insert (SQLAlchemy core, batches of 5,000); none overlaps per therapist or patient."""
    from sqlalchemy import insert, text

    from scheduler.extensions import db
    from scheduler.models import Appointment

    rng = random.Random(len(cells))
    rows = []
    for t, s in cells:
        start = slot_start(s, monday).astimezone(UTC)
        if start < now:
            status = rng.choices(("attended", "no_show", "cancelled", "late_cancelled"), (80, 10, 5, 5))[0]
        else:
            status = rng.choice(("scheduled", "confirmed"))
        rows.append({"therapist_id": ids["tids"][t], "patient_id": ids["pids"][patient_for(s, t)],
                     "start_dt": start, "end_dt": start + timedelta(minutes=SESSION_MINUTES),
                     "status": status, "version": 1, "created_at": now, "updated_at": now})
    with db.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(Appointment.__table__), rows[i:i + 5000])
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn -w 2 on a free 127.0.0.1 port; returns once /healthz answers."""
    import requests

    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SMS_BACKEND": "console"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                             "wsgi:app"], cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop_server(proc)
    raise SystemExit(f"gunicorn did not come up; its log:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the group of the gunicorn we started (master + workers)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---------------------------------------------------------------- measurements

def week_bounds(monday: date) -> tuple[datetime, datetime]:
    """The timed week, local midnight to local midnight."""
    start = datetime.combine(monday + timedelta(weeks=CAL_WEEK), wall(0), tzinfo=_zone())
    return start, start + timedelta(days=7)


def calendar_paths(ids: dict, monday: date, n: int) -> list[tuple]:
    """n week-view requests for the timed week, rotating over the therapists."""
    start, end = week_bounds(monday)
    query = urlencode({"from": start.isoformat(), "to": end.isoformat()})
    return [("GET", f"/api/v1/therapists/{ids['tids'][i % THERAPISTS]}/calendar?{query}", None)
            for i in range(n)]


def time_calendar(base: str, ids: dict, monday: date, headers: dict, n: int) -> dict:
    """Sequential week views over HTTP from one client process (after 20 unmeasured ones)."""
    import requests

    sizes = [len(requests.get(base + p, headers=headers, timeout=30).json()["appointments"])
             for _, p, _ in calendar_paths(ids, monday, THERAPISTS)]
    result = drive(base, [calendar_paths(ids, monday, n + 20)], cycle=False, seconds=120, warmup=0,
                   procs=1, headers=headers, expect=200, skip=20)
    result["note"] = f"{min(sizes)}-{max(sizes)} appts/week"
    return result


def time_calendar_call(ids: dict, monday: date, n: int) -> dict:
    """therapists.calendar() itself, in this process: the database's part without HTTP."""
    from scheduler.extensions import db
    from scheduler.scheduling import therapists

    start, end = week_bounds(monday)
    lat = []
    for i in range(n + 20):
        t0 = time.perf_counter()
        therapists.calendar(db.session, therapists.get(db.session, ids["tids"][i % THERAPISTS]), start, end)
        lat.append(time.perf_counter() - t0)
        db.session.rollback()  # forget loaded rows: each call reads from the database
    lat = sorted(lat[20:])
    return {"n": n, "rps": n / sum(lat), "p50": pct(lat, 50), "p99": pct(lat, 99), "wrong": {}}


def explain(call, marker: str = "FROM appointments") -> list[str]:
    """The plan of the first appointments query that `call(session)` sends, exactly as sent."""
    from sqlalchemy import event

    from scheduler.extensions import db

    seen = []

    def grab(_conn, _cursor, statement, params, *_):
        seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        call(db.session)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
        db.session.rollback()
    statement, params = next((s, p) for s, p in seen if marker in s)
    prefix = "EXPLAIN ANALYZE " if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, params).all()
        conn.rollback()
    return [" | ".join(str(v) for v in r) if len(r) > 1 else str(r[0]) for r in rows]


def print_plans(ids: dict, monday: date, first_free: tuple[int, int]) -> None:
    """Plans of the calendar query and of the booking's therapist-busy check, on the big table."""
    from scheduler.scheduling import busy, therapists

    start, end = week_bounds(monday)
    print("plan of the calendar's appointment query (therapists.calendar):")
    for line in explain(lambda session: therapists.calendar(
            session, therapists.get(session, ids["tids"][0]), start, end)):
        print("   ", line)
    t, s = first_free
    slot = slot_start(s, monday)
    print("plan of the booking's therapist check (busy.therapist_intervals), first booked slot:")
    for line in explain(lambda session: busy.therapist_intervals(
            session, ids["tids"][t], slot, slot + timedelta(minutes=SESSION_MINUTES))):
        print("   ", line)


def booking_requests(ids: dict, cells: list, monday: date) -> list[tuple]:
    """POST /appointments for free future cells, start given as the therapist's local wall time."""
    return [("POST", "/api/v1/appointments", {
        "therapist_id": ids["tids"][t], "patient_id": ids["pids"][patient_for(s, t)],
        "start": slot_start(s, monday).replace(tzinfo=None).isoformat(timespec="minutes"),
        "duration_minutes": SESSION_MINUTES}) for t, s in cells]


def profile_booking(app, work: list[tuple], headers: dict) -> None:
    """Book through the app in-process: time per SQL statement, then the same under cProfile."""
    import cProfile
    import pstats
    from collections import Counter

    from sqlalchemy import event

    from scheduler.extensions import db

    client = app.test_client()
    spent, calls, began = Counter(), Counter(), [0.0]

    def before(*_):
        began[0] = time.perf_counter()

    def after(_conn, _cursor, statement, *_):
        key = " ".join(statement.split())[:90]
        spent[key] += time.perf_counter() - began[0]
        calls[key] += 1

    half = len(work) // 2
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        t0 = time.perf_counter()
        codes = [client.post(path, json=body, headers=headers).status_code for _, path, body in work[:half]]
        took = (time.perf_counter() - t0) / half * 1000
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    print(f"profile: {half} bookings in-process, {took:.1f} ms each, {sum(calls.values()) / half:.1f} SQL "
          f"statements each taking {sum(spent.values()) / half * 1000:.1f} ms in the driver; "
          f"statuses {sorted(set(codes))}; slowest statements (ms per booking, calls per booking):")
    for key, seconds in spent.most_common(8):
        print(f"  {seconds / half * 1000:7.2f} ms  x{calls[key] / half:.0f}  {key}")
    prof = cProfile.Profile()
    prof.enable()
    for _, path, body in work[half:]:
        client.post(path, json=body, headers=headers)
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(r"scheduler[/\\]", 25)
    stats.sort_stats("tottime").print_stats(12)


def measure_load(base: str, ids: dict, monday: date, free: list, headers: dict, args) -> dict:
    """Trivial endpoints and booking, in alternating rounds so that a change in machine load
    between them does not show up as a difference between endpoints."""
    load = {"seconds": args.seconds / args.rounds, "warmup": 1.0, "procs": args.procs, "headers": headers}
    trivial = [("GET /healthz", "/healthz", 200),
               ("GET /api/v1/openapi.json", "/api/v1/openapi.json", 200),
               ("GET /api/v1/appointments/0 (auth, 404)", "/api/v1/appointments/0", 404)]
    parts = {name: [] for name, _, _ in trivial}
    book = "POST /api/v1/appointments (book)"
    parts[book] = []
    share = len(free) // args.rounds
    for r in range(args.rounds):
        for name, path, expect in trivial:
            parts[name].append(drive(base, [[("GET", path, None)]] * args.clients, cycle=True,
                                     expect=expect, **load))
        work = booking_requests(ids, free[r * share:(r + 1) * share], monday)
        parts[book].append(drive(base, [work[i::args.clients] for i in range(args.clients)], cycle=False,
                                 expect=201, **load))
        print(f"load round {r + 1} of {args.rounds} done", flush=True)
    return {name: merge(p) for name, p in parts.items()}


def run_engine(engine: str, args, tmp: Path) -> list[tuple]:
    """Seed, serve and measure one engine; returns table rows."""
    from sqlalchemy import func, select

    from scheduler import create_app
    from scheduler.extensions import db
    from scheduler.models import Appointment

    print(f"\n== {engine}", flush=True)
    url = prepare_database(engine, tmp, args.database)
    if url is None:
        return []
    now = datetime.now(UTC)
    monday = week_zero()
    small, rest, free = plan(monday)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    n = args.calendar_requests
    with app.app_context():
        def count() -> int:
            n = db.session.scalar(select(func.count()).select_from(Appointment))
            db.session.rollback()  # on SQLite an open transaction holds the write lock
            return n

        t0 = time.perf_counter()
        ids = seed(app, small, monday, now)
        headers = {"Authorization": f"Bearer {ids['token']}"}
        small_count = count()
        print(f"seeded {THERAPISTS} therapists, {PATIENTS} patients, {small_count:,} appointments "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        proc, base = start_server(url, tmp / f"gunicorn-{engine}.log")
        try:
            cal = {"small": time_calendar(base, ids, monday, headers, n),
                   "small_call": time_calendar_call(ids, monday, n)}
            t0 = time.perf_counter()
            insert_appointments(app, rest, monday, now, ids)
            big_count = count()
            print(f"bulk-inserted up to {big_count:,} appointments in {time.perf_counter() - t0:.1f} s",
                  flush=True)
            cal["big"] = time_calendar(base, ids, monday, headers, n)
            cal["big_call"] = time_calendar_call(ids, monday, n)
            print_plans(ids, monday, free[0])
            results = measure_load(base, ids, monday, free[:args.max_bookings], headers, args)
            booked = results["POST /api/v1/appointments (book)"]
            print(f"booked {booked['total']:,} appointments ({booked['n']:,} after warm-up); "
                  f"table now {count():,}", flush=True)
            db.session.rollback()
        finally:
            stop_server(proc)
        if args.profile:
            profile_booking(app, booking_requests(
                ids, free[args.max_bookings:args.max_bookings + args.profile], monday), headers)
        db.engine.dispose()
    healthz = results["GET /healthz"]["rps"]
    rows = [(engine, name, r, f"{r['rps'] / healthz:.2f} of healthz") for name, r in results.items()]
    for size, total in (("small", small_count), ("big", big_count)):
        rows.append((engine, f"GET calendar 1 week, {total:,} appts", cal[size], cal[size]["note"]))
    ratio = cal["big"]["p50"] / cal["small"]["p50"]
    rows[-1] = (*rows[-1][:3], f"{cal['big']['note']}; p50 {ratio:.2f}x the {small_count:,} one")
    rows.append((engine, f"calendar() in-process, {small_count:,} appts", cal["small_call"], ""))
    ratio = cal["big_call"]["p50"] / cal["small_call"]["p50"]
    rows.append((engine, f"calendar() in-process, {big_count:,} appts", cal["big_call"],
                 f"p50 {ratio:.2f}x the {small_count:,} one"))
    for _, name, r, _ in rows:
        for status, (k, text) in r["wrong"].items():
            print(f"!! {engine} {name}: {k} x {status}: {(text or '')[:300]}")
    return rows


def print_table(rows: list[tuple], args, load: tuple) -> None:
    print(f"\nResults (gunicorn -w 2 sync workers on 127.0.0.1; {args.clients} client threads in "
          f"{args.procs} processes, {args.seconds:g} s each in {args.rounds} alternating rounds, each after 1 s "
          f"warm-up; calendar: "
          f"{args.calendar_requests} sequential requests; load average {load[0]:.1f} before, "
          f"{load[1]:.1f} after, {os.cpu_count()} CPUs)")
    head = f"{'engine':<11}{'endpoint':<42}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'n':>8}{'bad':>6}  ratio"
    print(head)
    print("-" * (len(head) + 30))
    for engine, name, r, ratio in rows:
        bad = sum(k for k, _ in r["wrong"].values())
        print(f"{engine:<11}{name:<42}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['n']:>8}{bad:>6}  "
              f"{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds the seconds are split into")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--procs", type=int, default=2, help="client processes the threads are spread over")
    parser.add_argument("--database", default="bench", help="the PostgreSQL database to (re)create")
    parser.add_argument("--calendar-requests", type=int, default=200)
    parser.add_argument("--max-bookings", type=int, default=20_000, help="distinct free slots prepared")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="afterwards, profile N more bookings in-process with cProfile")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ["SMS_BACKEND"] = "console"  # this process seeds; it never sends
    before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for engine in args.engines.split(","):
            rows += run_engine(engine.strip(), args, Path(tmp))
    print_table(rows, args, (before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
