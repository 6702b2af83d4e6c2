"""Benchmark (not a test): the week page and the patient search at 10,000 and 100,000 patients.

    python bench/pages_scale.py [--engines postgresql,sqlite] [--requests 100] [--reuse]
                                [--pg-prefix bench_pages_scale] [--sqlite-dir /tmp]

Beside bench/pages.py (one busy week, 20,000 patients): here each engine gets two databases
filled by bench/bigdata.py, at scale 0.1 (10,000 patients, about 200,000 appointments) and
scale 1 (100,000 patients, about 2,000,000 appointments), `--reuse` keeping ones already filled.
In-process through the app's test client (server time, no network), signed in as an admin, it
times:

- `GET /calendar?therapist=ID&week=...`: a therapist's week (last week: attended, no-shows,
  cancellations, a group meeting);
- `GET /patients?q=...` (the patients list's search) and `POST /appointments/patients` (the
  booking form's patient finder) for a common name, a rare full name, phone digits and a word
  that matches nobody.

It prints p50 and p95 at each size and the ratio 100k / 10k of the p50s (flat: about 1).
Everything printed was measured in this run; nothing is asserted.
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

SCALES = (("10k", 0.1), ("100k", 1.0))


def _app(url: str, scale: float, reuse: bool):
    from bigdata import build, build_and_fill, show
    from sqlalchemy import func, select

    from scheduler.extensions import db
    from scheduler.models import Patient

    app = build(url)
    with app.app_context():
        filled = db.session.scalar(select(func.count()).select_from(Patient))
        db.session.remove()
    if not (reuse and filled):
        app, info = build_and_fill(url, scale)
        show(info)
    return app


def _probes(app) -> list[tuple[str, str, object]]:
    """(label, method, path or form) for each timed request, picked from the data itself."""
    from sqlalchemy import func, select

    from scheduler.extensions import db
    from scheduler.models import Appointment, Patient

    with app.app_context():
        today = datetime.now(UTC).date()
        monday = today - timedelta(days=today.weekday() + 7)
        lo = datetime.combine(monday, datetime.min.time(), tzinfo=UTC)
        busiest = db.session.execute(
            select(Appointment.therapist_id, func.count()).where(
                Appointment.start_dt >= lo, Appointment.start_dt < lo + timedelta(days=7))
            .group_by(Appointment.therapist_id).order_by(func.count().desc(), Appointment.therapist_id).limit(1)).one()
        sample = db.session.get(Patient, 4321)
        db.session.remove()
    week = f"/calendar?therapist={busiest[0]}&week={monday.isoformat()}"
    rare, digits = sample.name, sample.phone[-7:-1]
    probes = [(f"week page ({busiest[1]} appointments that week)", "get", week)]
    for label, q in (("a common name", "morg"), (f"a full name ({rare})", rare), ("phone digits", digits),
                     ("no match", "zzqx")):
        probes.append((f"/patients?q= {label}", "get", f"/patients?q={q}"))
        probes.append((f"booking form's finder: {label}", "post", {"q": q}))
    return probes


def _time(client, method: str, target, n: int) -> float:
    def call():
        if method == "get":
            return client.get(target)
        return client.post("/appointments/patients", data=target)
    for _ in range(3):
        call()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    return statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)]


def run(engine: str, urls: dict[str, str], args) -> None:
    from bigdata import ADMIN, PASSWORD
    from sqlalchemy import func, select

    from scheduler.extensions import db
    from scheduler.models import Appointment, Patient

    figures = {}
    for label, scale in SCALES:
        app = _app(urls[label], scale, args.reuse)
        client = app.test_client()
        assert client.post("/login", data={"email": ADMIN, "password": PASSWORD}).status_code == 302
        with app.app_context():
            sizes = (db.session.scalar(select(func.count()).select_from(Patient)),
                     db.session.scalar(select(func.count()).select_from(Appointment)))
            db.session.remove()
        print(f"{engine} {label}: {sizes[0]:,} patients, {sizes[1]:,} appointments; "
              f"load average {os.getloadavg()[0]:.2f}")
        for name, method, target in _probes(app):
            figures.setdefault(name.split(" (")[0], {})[label] = _time(client, method, target, args.requests)
        with app.app_context():
            db.engine.dispose()
    print(f"{engine}: p50 / p95 in ms at 10k and 100k patients, and the ratio of the p50s")
    for name, got in figures.items():
        (a50, a95), (b50, b95) = got["10k"], got["100k"]
        print(f"  {name:<46} 10k {a50:6.1f} / {a95:6.1f}   100k {b50:6.1f} / {b95:6.1f}   ratio {b50 / a50:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--reuse", action="store_true", help="keep databases this script already filled")
    parser.add_argument("--pg-prefix", default="bench_pages_scale")
    parser.add_argument("--sqlite-dir", default="/tmp")
    args = parser.parse_args()
    import logging
    logging.disable(logging.INFO)
    for engine in args.engines.split(","):
        if engine == "sqlite":
            urls = {}
            for label, _ in SCALES:
                path = Path(args.sqlite_dir) / f"bench_pages_scale_{label}.sqlite3"
                if not args.reuse and path.exists():
                    path.unlink()
                urls[label] = f"sqlite:///{path}"
            run("sqlite", urls, args)
        elif engine == "postgresql":
            from fresh_db import PG_SERVER, fresh_postgres
            try:
                urls = {label: PG_SERVER + f"{args.pg_prefix}_{label}" if args.reuse
                        else fresh_postgres(f"{args.pg_prefix}_{label}") for label, _ in SCALES}
            except Exception as exc:  # no server here: say so and go on
                print(f"postgresql: skipped ({type(exc).__name__}: PostgreSQL not reachable)")
                continue
            run("postgresql", urls, args)


if __name__ == "__main__":
    main()
