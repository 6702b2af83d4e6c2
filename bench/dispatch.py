"""Benchmark (not a test): how fast due texts leave, and how late, through the real twilio client.

    python bench/dispatch.py [--rows 3000] [--workers 1,2,3] [--latency-ms 50-100]
                             [--stream-seconds 30] [--stream-rate 50] [--database bench_dispatch]

Throughput: ROWS reminders due at once, sent unthrottled by 1, 2 and 3 workers (`flask worker`,
started and polling before the texts come due) to a local Twilio stand-in that answers each
create after a pause drawn from LATENCY-MS, as Twilio takes tens of milliseconds (0-0: at once);
on PostgreSQL, then 1 worker on SQLite. Printed: texts/s for each (from the moment they came due
to the last one sent), and each count's rate over one worker's. Lateness: a `flask worker` (poll interval 1 s) runs while reminders come
due at a steady rate; lateness is sent_at - due_at. Databases are the benchmark's own: PostgreSQL
`bench_dispatch` on 127.0.0.1:5432 (dropped and created anew each time) and a temp SQLite file.
Everything printed was measured in this run; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from fresh_db import fresh_postgres  # noqa: E402

from scheduler import create_app  # noqa: E402
from scheduler.extensions import db  # noqa: E402
from scheduler.models import Appointment, Message, Patient, Therapist  # noqa: E402
from tests.support.twilio_standin import TwilioStandin  # noqa: E402

UTC = UTC
TZ = "America/New_York"
SLOTS_PER_THERAPIST = 100
POLL_SECONDS = 1.0


def _app(url: str):
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
    return app


def _seed(app, patients: int, now: datetime) -> tuple[list[int], list[int]]:
    """Therapists, patients and one appointment each, six days out (beyond the planner's window)."""
    with app.app_context():
        conn = db.session.connection()
        therapists = -(-patients // SLOTS_PER_THERAPIST)
        conn.execute(sa.insert(Therapist), [dict(name=f"T{i}", timezone=TZ, created_at=now)
                                            for i in range(therapists)])
        conn.execute(sa.insert(Patient), [
            dict(name=f"P{i}", phone=f"+1201{i:07d}", timezone=TZ, language="es" if i % 5 == 0 else "en",
                 sms_consent=True, consent_at=now, created_at=now) for i in range(patients)])
        t_ids = list(db.session.scalars(sa.select(Therapist.id).order_by(Therapist.id)))
        p_ids = list(db.session.scalars(sa.select(Patient.id).order_by(Patient.id)))
        first = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=6)
        conn.execute(sa.insert(Appointment), [
            dict(therapist_id=t_ids[i // SLOTS_PER_THERAPIST], patient_id=pid,
                 start_dt=first + timedelta(hours=i % SLOTS_PER_THERAPIST),
                 end_dt=first + timedelta(hours=i % SLOTS_PER_THERAPIST, minutes=50),
                 status="scheduled", version=1, created_at=now, updated_at=now)
            for i, pid in enumerate(p_ids)])
        appts = list(db.session.scalars(sa.select(Appointment.id).order_by(Appointment.patient_id)))
        db.session.commit()
        return p_ids, appts


def _reminders(app, p_ids: list[int], appts: list[int], due: list[datetime], tag: str, now: datetime) -> None:
    """One pending 48h reminder per appointment, due at the given instants."""
    with app.app_context():
        starts = dict(db.session.execute(sa.select(Appointment.id, Appointment.start_dt)).all())
        db.session.connection().execute(sa.insert(Message), [
            dict(patient_id=pid, direction="out", kind="reminder", dedupe_key=f"{tag}:{aid}",
                 appointment_id=aid, session_start_dt=starts[aid], offset_minutes=2880, due_at=d,
                 status="pending", attempts=0, uncertain=False, created_at=now,
                 history=[{"status": "pending", "at": now.isoformat()}])
            for pid, aid, d in zip(p_ids, appts, due, strict=True)])
        db.session.commit()


def _env(url: str, standin: TwilioStandin, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "FLASK_"))}
    env.update(DATABASE_URL=url, SECRET_KEY="bench", SMS_BACKEND="twilio", QUIET_HOURS="off",
               TWILIO_ACCOUNT_SID=standin.account_sid, TWILIO_AUTH_TOKEN="x" * 32,
               TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32, TWILIO_API_BASE_URL=standin.base_url,
               SMS_MAX_PER_SECOND="1000000", SMS_TIMEOUT_SECONDS="10",
               PUBLIC_BASE_URL="https://clinic.example")  # required with twilio; the stand-in calls no callback
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _flask(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _sent(app, tag: str) -> list[tuple]:
    with app.app_context():
        return db.session.execute(sa.select(Message.due_at, Message.send_started_at, Message.sent_at)
                                  .where(Message.dedupe_key.like(f"{tag}:%"), Message.status == "sent")).all()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def throughput(label: str, url: str, rows: int, processes: int, latency: tuple[float, float]) -> float:
    """`processes` workers started and idle, then ROWS reminders due at once; prints the rate and
    duplicates, returns texts/s from the moment they came due to the last one sent."""
    app = _app(url)
    now = datetime.now(UTC)
    p_ids, appts = _seed(app, rows, now)
    with TwilioStandin() as standin, tempfile.TemporaryDirectory() as logs:
        if latency[1] > 0:
            standin.latency(*latency)
        env = _env(url, standin, DISPATCH_BATCH_SIZE=100, DISPATCH_INTERVAL_SECONDS=0.5)
        procs = []
        for n in range(processes):
            with open(f"{logs}/worker{n}.log", "w") as out:
                procs.append(subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT,
                                              env=env, stdout=out, stderr=subprocess.STDOUT))
        # Started and polling (their start-up is not what is measured): each has logged its id.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
                "worker: id" in Path(f"{logs}/worker{n}.log").read_text(errors="replace") for n in range(processes)):
            time.sleep(0.2)
        due = datetime.now(UTC)
        _reminders(app, p_ids, appts, [due - timedelta(minutes=1)] * rows, "burst", due)
        came_due = datetime.now(UTC)  # committed: from here every worker may claim them
        deadline = time.monotonic() + 600
        while len(_sent(app, "burst")) < rows and time.monotonic() < deadline:
            time.sleep(0.5)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        accepted = list(standin.accepted)
    sent = _sent(app, "burst")
    last = max(t for _, _, t in sent)
    duplicates = len(accepted) - len({a["to"] for a in accepted})
    rate = len(sent) / (last - came_due).total_seconds()
    print(f"{label:<11} {processes} worker{'s' if processes > 1 else ' '}  sent {len(sent):>5}/{rows}  "
          f"accepted {len(accepted):>5}  duplicates {duplicates}  {rate:6.0f} texts/s "
          f"({(last - came_due).total_seconds():.1f} s from due to the last sent)  "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with app.app_context():
        db.engine.dispose()
    return rate


def lateness(label: str, url: str, seconds: float, rate: float) -> None:
    """A worker polling every second while reminders come due at `rate` per second."""
    app = _app(url)
    count = int(seconds * rate)
    now = datetime.now(UTC)
    p_ids, appts = _seed(app, count, now)
    with TwilioStandin() as standin:
        worker = _flask(["worker"], _env(url, standin, DISPATCH_INTERVAL_SECONDS=POLL_SECONDS))
        time.sleep(3)  # started and idle
        start = datetime.now(UTC) + timedelta(seconds=2)
        due = [start + timedelta(seconds=i / rate) for i in range(count)]
        _reminders(app, p_ids, appts, due, "stream", datetime.now(UTC))
        deadline = time.monotonic() + seconds + 60
        while len(_sent(app, "stream")) < count and time.monotonic() < deadline:
            time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
        accepted = list(standin.accepted)
    sent = _sent(app, "stream")
    late = [(s - d).total_seconds() for d, _, s in sent]
    duplicates = len(accepted) - len({a["to"] for a in accepted})
    print(f"{label:<28} worker, poll {POLL_SECONDS:.0f} s, {rate:.0f}/s for {seconds:.0f} s: sent {len(sent)}/{count}  "
          f"duplicates {duplicates}  lateness p50 {_percentile(late, 0.5):.2f} s  "
          f"p99 {_percentile(late, 0.99):.2f} s  max {max(late, default=float('nan')):.2f} s", flush=True)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,3", help="workers at once, for each run on PostgreSQL")
    parser.add_argument("--latency-ms", default="50-100", help="the stand-in's pause before each answer (low-high)")
    parser.add_argument("--stream-seconds", type=float, default=30)
    parser.add_argument("--stream-rate", type=float, default=50)
    parser.add_argument("--database", default="bench_dispatch", help="the PostgreSQL database to (re)create")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: sqlite, lateness")
    args = parser.parse_args()
    low, _, high = args.latency_ms.partition("-")
    latency = (float(low) / 1000, float(high or low) / 1000)
    skip = set(args.skip.split(","))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; stand-in (answering after "
          f"{args.latency_ms} ms), database and dispatchers all on this machine", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        rates = {n: throughput("PostgreSQL", fresh_postgres(args.database), args.rows, n, latency)
                 for n in map(int, args.workers.split(","))}
        first = rates[min(rates)]
        print("PostgreSQL texts/s by workers: " + ", ".join(
            f"{n}: {r:.0f} ({r / first:.2f}x {min(rates)})" for n, r in rates.items()), flush=True)
        if "sqlite" not in skip:
            throughput("SQLite", f"sqlite:///{tmp}/burst.sqlite3", args.rows, 1, latency)
        if "lateness" not in skip:
            lateness("PostgreSQL", fresh_postgres(args.database), args.stream_seconds, args.stream_rate)
            lateness("SQLite", f"sqlite:///{tmp}/stream.sqlite3", args.stream_seconds, args.stream_rate)


if __name__ == "__main__":
    main()
