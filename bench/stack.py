"""Benchmark (not a test): booking through the production layout against a trivial endpoint on it.

    python bench/stack.py [--seconds 16] [--rounds 4] [--clients 6] [--procs 2] [--web-workers 2]
                          [--appointments 100000] [--database bench_stack] [--against DIR] [--profile N]

The layout is deploy/prove.py's, brought up by its own functions: nginx terminating TLS (a
self-signed certificate made here) in front of two gunicorn instances, on PostgreSQL (database
`bench_stack` on 127.0.0.1:5432 by default, dropped and created anew, never the test one). The
data and the loads are bench/booking.py's: 32 therapists, 3,000 patients, 1,000 or 100,000
appointments; clients keep their TLS connections to nginx open (as an API client would) and
alternate between GET /healthz, GET /api/v1/openapi.json, an authenticated GET that answers 404
and POST /api/v1/appointments (each a distinct free slot: every answer should be 201).

`--against DIR` serves the code in DIR as well (say a `git worktree add` of the commit before a
change), on the same database, and the two stacks take turns round by round: on a shared machine
whose load drifts, that is the fair before/after. `--profile N` then books N more slots in-process and lists the round trips to PostgreSQL of one
request of each kind (the pool's ping, BEGIN and COMMIT included) and where the time goes.
Everything printed was measured in this run; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

# Only the standard library at the top: the client processes are spawned and import this module.
import booking  # noqa: E402  (bench/booking.py: the data, the loads and the in-process profile)

BOOK = "POST /api/v1/appointments (book)"


def seed(url: str, appointments: int) -> tuple[dict, list, object]:
    """booking.py's therapists, patients and appointments; (ids, free future cells, app)."""
    from scheduler import create_app
    from scheduler.extensions import db

    now, monday = datetime.now(UTC), booking.week_zero()
    small, rest, free = booking.plan(monday)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        t0 = time.perf_counter()
        ids = booking.seed(app, small, monday, now)
        if appointments > len(small):
            booking.insert_appointments(app, rest[:appointments - len(small)], monday, now, ids)
        print(f"seeded {booking.THERAPISTS} therapists, {booking.PATIENTS} patients, "
              f"{min(appointments, len(small) + len(rest)):,} appointments in {time.perf_counter() - t0:.1f} s",
              flush=True)
        db.engine.dispose()  # the stack's processes have the database to themselves
    return ids, free, app


def round_trips(app, headers: dict, work: list[tuple]) -> None:
    """Every command one request of each kind sends PostgreSQL, as psycopg sends it."""
    import psycopg
    from psycopg import _connection_base

    sent: list[str] = []
    execute, many = psycopg.Cursor.execute, psycopg.Cursor.executemany
    command = _connection_base.BaseConnection._exec_command

    # Listed once sent: psycopg sends its BEGIN first, from inside execute().
    def on_execute(cursor, query, params=None, **kw):
        try:
            return execute(cursor, query, params, **kw)
        finally:
            sent.append(" ".join(str(query).split())[:80])

    def on_many(cursor, query, params, **kw):
        params = list(params)
        try:
            return many(cursor, query, params, **kw)
        finally:
            sent.append(f"[{len(params)} rows, pipelined] " + " ".join(str(query).split())[:60])

    def on_command(conn, cmd, *args):
        sent.append(cmd.decode() if isinstance(cmd, bytes) else str(cmd))
        return command(conn, cmd, *args)

    client = app.test_client()
    calls = [("GET /healthz", lambda: client.get("/healthz")),
             ("GET /api/v1/appointments/0", lambda: client.get("/api/v1/appointments/0", headers=headers)),
             ("POST /api/v1/appointments", lambda: client.post(work[0][1], json=work[0][2], headers=headers))]
    # No app context held here: each request has its own, and so its own session, as in gunicorn.
    client.get("/healthz")  # the pool's first connection is made outside what is listed
    psycopg.Cursor.execute, psycopg.Cursor.executemany = on_execute, on_many
    _connection_base.BaseConnection._exec_command = on_command
    try:
        for name, call in calls:
            sent.clear()
            status = call().status_code
            print(f"{name} ({status}): {len(sent)} round trips to PostgreSQL")
            for line in sent:
                print(f"    {line}")
    finally:
        psycopg.Cursor.execute, psycopg.Cursor.executemany = execute, many
        _connection_base.BaseConnection._exec_command = command


def profile(app, ids: dict, free: list, headers: dict, n: int) -> None:
    """Round trips of one request of each kind, then booking.py's in-process profile of n bookings."""
    monday = booking.week_zero()
    work = booking.booking_requests(ids, free[:n + 1], monday)
    round_trips(app, headers, work[:1])
    booking.profile_booking(app, work[1:], headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=16.0, help="measured seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds the seconds are split into")
    parser.add_argument("--clients", type=int, default=6, help="concurrent client threads")
    parser.add_argument("--procs", type=int, default=2, help="client processes the threads are spread over")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes in each of the two instances")
    parser.add_argument("--appointments", type=int, default=100_000, help="appointments in the table")
    parser.add_argument("--max-bookings", type=int, default=20_000, help="distinct free slots prepared")
    parser.add_argument("--database", default="bench_stack", help="the PostgreSQL database to (re)create")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="also serve the code in DIR (e.g. a `git worktree` of an older commit) the same "
                             "way, on the same database, and alternate rounds between the two")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="afterwards, round trips per request and an in-process profile of N bookings")
    parser.add_argument("--keep", action="store_true", help="leave the scratch folder (logs) behind")
    args = parser.parse_args()
    from deploy.prove import bring_up, need_nginx, scratch

    os.environ["SMS_BACKEND"] = "console"  # this process seeds; it never sends
    need_nginx()
    run = scratch()
    before = os.getloadavg()[0]
    stacks = []
    try:
        url = booking.prepare_database("postgresql", run, args.database)
        if url is None:
            raise SystemExit("PostgreSQL is needed")
        ids, free, app = seed(url, args.appointments)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32), "SMS_BACKEND": "console",
               "TRUSTED_PROXIES": "1", "PYTHONUNBUFFERED": "1"}
        codes = {"this checkout": (ROOT, run)}
        if args.against:
            other = run / "against"
            (other / "tmp").mkdir(parents=True)
            for name in ("cert.pem", "key.pem"):  # one certificate: the clients trust one file
                shutil.copy(run / name, other / name)
            codes[str(args.against)] = (args.against.resolve(), other)
        bases = {}
        for label, (root, folder) in codes.items():
            stack, port, web_ports = bring_up(folder, env, web_workers=args.web_workers, workers=0, root=root)
            stacks.append(stack)
            bases[label] = f"https://127.0.0.1:{port}"
            print(f"stack up ({label}): nginx (TLS) {bases[label]} -> gunicorn {web_ports} x "
                  f"{args.web_workers} processes; PostgreSQL {args.database}", flush=True)
        os.environ["REQUESTS_CA_BUNDLE"] = str(run / "cert.pem")  # the client processes trust the cert made here
        headers = {"Authorization": f"Bearer {ids['token']}"}
        results = measure(bases, ids, free[:args.max_bookings], headers, args)
        for stack in stacks:
            stack.stop()
        stacks = []
        for label, result in results.items():
            report(label, result, args, (before, os.getloadavg()[0]))
        if args.profile:
            profile(app, ids, free[args.max_bookings:], headers, args.profile)
    finally:
        for stack in stacks:
            stack.stop()
        if not args.keep:
            shutil.rmtree(run, ignore_errors=True)


def measure(bases: dict[str, str], ids: dict, free: list, headers: dict, args) -> dict[str, dict]:
    """booking.measure_load on each stack, a round at a time, the stacks taking turns: a change
    in the machine's load lands on both alike. Each round books slots of its own."""
    one = argparse.Namespace(**{**vars(args), "rounds": 1, "seconds": args.seconds / args.rounds})
    share = len(free) // (args.rounds * len(bases))
    parts: dict[str, dict[str, list]] = {label: {} for label in bases}
    turn = 0
    for r in range(args.rounds):
        for label, base in bases.items():
            cells = free[turn * share:(turn + 1) * share]
            turn += 1
            for name, result in booking.measure_load(base, ids, booking.week_zero(), cells, headers, one).items():
                parts[label].setdefault(name, []).append(result)
        print(f"round {r + 1} of {args.rounds} done on {len(bases)} stack(s)", flush=True)
    return {label: {name: booking.merge(p) for name, p in by_name.items()} for label, by_name in parts.items()}


def report(label: str, results: dict, args, load: tuple[float, float]) -> None:
    """The table, and the ratio the issue asks for."""
    for name, r in results.items():
        for status, (k, text) in r["wrong"].items():
            print(f"!! {name}: {k} x {status}: {(text or '')[:300]}")
    healthz = results["GET /healthz"]["rps"] or float("nan")
    print(f"\nResults, {label} (nginx TLS -> 2 gunicorn x {args.web_workers} sync processes -> PostgreSQL; "
          f"{args.clients} client threads in {args.procs} processes, keep-alive to nginx; {args.seconds:g} s per "
          f"endpoint in {args.rounds} alternating rounds, each after 1 s warm-up; load average {load[0]:.1f} "
          f"before, {load[1]:.1f} after; {os.cpu_count()} CPUs shared by clients, nginx, gunicorn and PostgreSQL)")
    head = f"{'endpoint':<42}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'n':>8}{'bad':>6}  ratio"
    print(head)
    print("-" * (len(head) + 20))
    for name, r in results.items():
        bad = sum(k for k, _ in r["wrong"].values())
        print(f"{name:<42}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['n']:>8}{bad:>6}  "
              f"{r['rps'] / healthz:.2f} of healthz")
    print(f"booking / healthz through the stack ({label}): {results[BOOK]['rps'] / healthz:.2f} (aim: 0.25 or more)")


if __name__ == "__main__":
    main()
