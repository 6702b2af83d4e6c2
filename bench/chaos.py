"""Chaos benchmark (and, with --check, a test): texts come due while workers are killed and Twilio misbehaves.

    python bench/chaos.py [--texts 1000] [--spread 30] [--kill-every 4] [--url URL] [--check]

TEXTS reminders come due over SPREAD seconds. Three `flask worker` processes send them to a
local Twilio stand-in that fails 20% of requests with HTTP 500 and accepts 5% and then stalls
past the client's timeout. Every KILL_EVERY seconds one worker is killed with SIGKILL and a new
one started. The lease is left long (120 s): takeover must come from the heartbeats. Printed:
texts expected, sent, duplicates (Twilio accepted a text twice), lost (never sent, or recorded
with a sid Twilio never accepted), lateness (Twilio's acceptance minus the planned moment) p50
and p99, and for each kill how long until the killed worker's claimed texts were taken over.
Default database: PostgreSQL `bench_chaos` on 127.0.0.1:5432 (wiped each run). With --check
the exit status is 1 unless duplicates and lost are 0 and every takeover took at most 30 s.
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

TZ = "America/New_York"
WORKERS = 3
TAKEOVER_LIMIT = 30.0


def _seed(app, count: int, first_due: datetime, spread: float) -> dict[str, datetime]:
    """`count` patients, each with one appointment six days out and one reminder coming due."""
    now = datetime.now(UTC)
    with app.app_context():
        conn = db.session.connection()
        conn.execute(sa.insert(Therapist), [dict(name=f"T{i}", timezone=TZ, created_at=now)
                                            for i in range(-(-count // 100))])
        conn.execute(sa.insert(Patient), [dict(name=f"P{i}", phone=f"+1202{i:07d}", timezone=TZ, language="en",
                                               sms_consent=True, consent_at=now, created_at=now)
                                          for i in range(count)])
        therapists = list(db.session.scalars(sa.select(Therapist.id).order_by(Therapist.id)))
        patients = list(db.session.execute(sa.select(Patient.id, Patient.phone).order_by(Patient.id)))
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=6)
        conn.execute(sa.insert(Appointment), [
            dict(therapist_id=therapists[i // 100], patient_id=pid, start_dt=start + timedelta(hours=i % 100),
                 end_dt=start + timedelta(hours=i % 100, minutes=50), status="scheduled", version=1,
                 created_at=now, updated_at=now) for i, (pid, _) in enumerate(patients)])
        appts = dict(db.session.execute(sa.select(Appointment.patient_id, Appointment.id)).all())
        due = {phone: first_due + timedelta(seconds=spread * i / count) for i, (_, phone) in enumerate(patients)}
        conn.execute(sa.insert(Message), [
            dict(patient_id=pid, direction="out", kind="reminder", dedupe_key=f"chaos:{pid}",
                 appointment_id=appts[pid], session_start_dt=start + timedelta(hours=i % 100), offset_minutes=2880,
                 due_at=due[phone], status="pending", attempts=0, uncertain=False, created_at=now,
                 history=[{"status": "pending", "at": now.isoformat()}])
            for i, (pid, phone) in enumerate(patients)])
        db.session.commit()
    return due


def _env(url: str, standin: TwilioStandin) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "FLASK_"))}
    env.update(DATABASE_URL=url, SECRET_KEY="bench", SMS_BACKEND="twilio", QUIET_HOURS="off",
               PUBLIC_BASE_URL="https://clinic.example",  # required with twilio; the stand-in calls no callback
               TWILIO_ACCOUNT_SID=standin.account_sid, TWILIO_AUTH_TOKEN="x" * 32,
               TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32, TWILIO_API_BASE_URL=standin.base_url,
               SMS_MAX_PER_SECOND="200", SMS_TIMEOUT_SECONDS="1", SMS_RETRY_SECONDS="1",
               DISPATCH_INTERVAL_SECONDS="0.5", DISPATCH_BATCH_SIZE="20", DISPATCH_LEASE_SECONDS="120")
    return env


class _Worker:
    def __init__(self, env: dict, log: Path):
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT,
                                         env=env, stdout=out, stderr=subprocess.STDOUT)

    def worker_id(self) -> str | None:
        for line in self.log.read_text(errors="replace").splitlines():
            if "worker: id " in line:
                return line.split("worker: id ", 1)[1].strip()
        return None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(url: str, texts: int, spread: float, kill_every: float, logs: Path, deadline_s: float) -> dict:
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
    engine_sent = sa.select(sa.func.count()).select_from(Message).where(
        Message.dedupe_key.like("chaos:%"), Message.status.in_(("sent", "delivered")))
    with TwilioStandin() as standin:
        standin.chaos(fail=0.20, stall=0.05, stall_seconds=3)
        env = _env(url, standin)
        workers = [_Worker(env, logs / f"worker{n}.log") for n in range(WORKERS)]
        time.sleep(2.5)  # started
        due = _seed(app, texts, datetime.now(UTC) + timedelta(seconds=1), spread)
        kills: list[dict] = []  # {at, rows, taken}
        began = time.monotonic()
        next_kill, restarts = began + kill_every, 0
        done = False
        while time.monotonic() - began < deadline_s:
            now = time.monotonic()
            with app.app_context():
                sent = db.session.scalar(engine_sent)
                for kill in kills:
                    if kill["taken"] is None:
                        held = db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(
                            Message.id.in_(kill["rows"]), Message.status == "sending",
                            Message.claimed_by == kill["worker"]))
                        if not held:
                            kill["taken"] = now - kill["at"]
                db.session.rollback()
            if sent >= texts and all(k["taken"] is not None for k in kills):
                done = True
                break
            if now >= next_kill and sent < texts:
                victim = workers[restarts % WORKERS]
                victim_id = victim.worker_id()
                victim.proc.send_signal(signal.SIGKILL)
                victim.proc.wait()
                at = time.monotonic()
                with app.app_context():
                    rows = list(db.session.scalars(sa.select(Message.id).where(
                        Message.status == "sending", Message.claimed_by == victim_id)))
                    db.session.rollback()
                kills.append(dict(at=at, worker=victim_id, rows=rows, taken=None if rows else 0.0))
                restarts += 1
                workers[(restarts - 1) % WORKERS] = _Worker(env, logs / f"worker{WORKERS + restarts}.log")
                next_kill = at + kill_every
            time.sleep(0.2)
        for worker in workers:
            worker.proc.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
        accepted = list(standin.accepted)
        requests = standin.requests
    with app.app_context():
        recorded = dict(db.session.execute(sa.select(Message.to_phone, Message.twilio_sid).where(
            Message.dedupe_key.like("chaos:%"), Message.status.in_(("sent", "delivered")))).all())
        db.engine.dispose()
    by_sid = {a["sid"]: a for a in accepted}
    per_number: dict[str, int] = {}
    for a in accepted:
        per_number[a["to"]] = per_number.get(a["to"], 0) + 1
    duplicates = sum(n - 1 for n in per_number.values())
    good = {phone for phone, sid in recorded.items() if sid in by_sid and by_sid[sid]["to"] == phone}
    late = [(by_sid[recorded[p]]["date_created"] - due[p]).total_seconds() for p in good]
    takeovers = [k["taken"] for k in kills if k["rows"]]
    return dict(expected=texts, sent=len(good), duplicates=duplicates, lost=texts - len(good), requests=requests,
                kills=len(kills), kills_holding=len(takeovers), p50=_percentile(late, 0.5),
                p99=_percentile(late, 0.99), takeover_max=max((t for t in takeovers if t is not None), default=0.0),
                takeover_unfinished=sum(t is None for t in takeovers), finished=done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=30)
    parser.add_argument("--kill-every", type=float, default=4)
    parser.add_argument("--deadline", type=float, default=300, help="give up after this many seconds")
    parser.add_argument("--url", help="database URL (default: a fresh PostgreSQL database)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless 0 duplicates, 0 lost, takeover <= 30 s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.url or fresh_postgres("bench_chaos"), args.texts, args.spread, args.kill_every, Path(tmp), args.deadline)
    print(f"texts expected {r['expected']}  sent {r['sent']}  duplicates {r['duplicates']}  lost {r['lost']}  "
          f"(Twilio requests {r['requests']}, 20% failed with 500, 5% accepted then stalled)", flush=True)
    print(f"lateness p50 {r['p50']:.2f} s  p99 {r['p99']:.2f} s", flush=True)
    print(f"workers killed {r['kills']} ({r['kills_holding']} holding claimed texts); takeover after a kill: "
          f"max {r['takeover_max']:.1f} s" + (f", {r['takeover_unfinished']} never taken over"
                                               if r["takeover_unfinished"] else ""), flush=True)
    ok = (r["duplicates"] == 0 and r["lost"] == 0 and r["takeover_unfinished"] == 0
          and r["takeover_max"] <= TAKEOVER_LIMIT)
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
