"""The authorization matrix, generated from the app's URL map: every route x every principal.

Principals: anonymous, a bad token, an expired token, a revoked token, a deactivated user's
token, admin, coordinator, therapist A (whose records the paths name) and therapist B.
- Without a working token: 401, always the same body.
- B on A's records (patient, calendar, appointment, group, messages; directly and through the
  chains book, enroll, cancel, reschedule, attendance) answers exactly as for a record that does
  not exist (same status, same body: no oracle), and changes nothing.
- Admin, coordinator and A are let through (never 401/403, never a 500).
Routes are picked up automatically: a new /api/v1 route needs only its body in BODIES (or none),
and a path parameter it names in `ids`. Staff pages (non-/api routes of the `web` blueprint,
session auth) are probed as anonymous: never a 200 without a session (see test_pages_need_a_session).
One app per engine, table-driven.
"""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from scheduler.core import auth, clock
from scheduler.extensions import db
from scheduler.models import (
    ApiToken,
    Appointment,
    CareTeamMember,
    Discharge,
    Enrollment,
    GroupSeries,
    Occurrence,
    Patient,
)
from tests.support import NY, Api, next_monday, ny

MISSING = 999_999
REFUSED_TOKENS = ("anonymous", "bad token", "expired token", "revoked token", "deactivated user")
STAFF = ("admin", "coordinator")
PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
NOT_API = ("/static/", "/sms/", "/healthz", "/login")  # static files; webhooks: test_webhook_forgeries; sign-in is public


def api_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every /api/v1 route, from the URL map."""
    return sorted((m, r.rule) for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
                  for m in r.methods - {"HEAD", "OPTIONS"})


def page_routes(app) -> list[str]:
    return sorted(r.rule for r in app.url_map.iter_rules()
                  if not r.rule.startswith(("/api/", *NOT_API)) and "GET" in r.methods)


def world(app, clients) -> dict:
    """Therapists A and B, A's patient (care team), A's appointments and group, B's group; tokens."""
    now = clock.now()
    monday = next_monday()
    with app.app_context():
        s = db.session
        from datetime import time

        from scheduler.models import AvailabilityRule, Therapist
        ts = []
        for name in ("A", "B"):
            t = Therapist(name=f"Therapist {name}", timezone=NY, created_at=now)
            t.rules = [AvailabilityRule(weekday=d, start_time=time(9), end_time=time(17)) for d in range(5)]
            ts.append(t)
        patients = [Patient(name=f"Person {i}", phone=f"+1201555{3000 + i:04d}", timezone=NY, language="en",
                            sms_consent=True, consent_at=now, created_at=now) for i in range(4)]
        s.add_all(ts + patients)
        s.flush()
        a, b = ts
        p_a, p_b, p_new, p_b2 = patients
        s.add(CareTeamMember(patient_id=p_a.id, therapist_id=a.id, added_at=now))
        appts = {}
        for key, start in (("appt", ny(monday, 9)), ("past", now - timedelta(days=1))):
            appt = Appointment(therapist_id=a.id, patient_id=p_a.id, start_dt=start,
                               end_dt=start + timedelta(minutes=50), status="scheduled", version=1,
                               created_at=now, updated_at=now)
            s.add(appt)
            appts[key] = appt
        groups = {}
        for who, facilitator, members in (("A", a, (p_a,)), ("B", b, (p_b, p_b2))):
            first = now - timedelta(days=1)
            g = GroupSeries(title=f"Group {who}", facilitator_id=facilitator.id, capacity=10,
                            duration_minutes=60, timezone=NY,
                            local_start=first.astimezone(clock.UTC).replace(tzinfo=None), created_at=now)
            s.add(g)
            s.flush()
            occ = Occurrence(group_id=g.id, local_date=first.date(), start_dt=first,
                             end_dt=first + timedelta(hours=1), cancelled=False)
            s.add(occ)
            for p in members:
                s.add(Enrollment(group_id=g.id, patient_id=p.id, status="enrolled",
                                 created_at=now - timedelta(days=2), enrolled_at=now - timedelta(days=2)))
            s.flush()
            groups[who] = (g.id, occ.id)
        discharge = Discharge(patient_id=p_a.id, discharge_date=monday - timedelta(days=14))
        s.add(discharge)
        s.flush()
        users = {role: auth.create_user(s, f"{role.replace(' ', '')}@x.test", role, now)
                 for role in ("admin", "coordinator")}
        users["therapist A"] = auth.create_user(s, "ta@x.test", "therapist", now, therapist_id=a.id)
        users["therapist B"] = auth.create_user(s, "tb@x.test", "therapist", now, therapist_id=b.id)
        tokens = {name: auth.issue_token(s, user, now) for name, user in users.items()}
        for name in ("expired token", "revoked token", "deactivated user"):
            user = auth.create_user(s, f"{name.replace(' ', '')}@x.test", "admin", now)
            tokens[name] = auth.issue_token(s, user, now)
            if name == "expired token":
                s.flush()
                s.query(ApiToken).filter(ApiToken.user_id == user.id).update({"expires_at": now - timedelta(seconds=1)})
            elif name == "revoked token":
                auth.revoke_tokens(s, user, now)
            else:
                auth.deactivate(s, user, now)
        s.commit()
        w = {"therapist_id": a.id, "b": b.id, "patient_id": p_a.id, "p_b": p_b.id, "p_new": p_new.id,
             "appointment_id": appts["appt"].id, "past_appointment": appts["past"].id,
             "group_id": groups["A"][0], "occurrence_id": groups["A"][1], "group_b": groups["B"],
             "monday": monday, "discharge_id": discharge.id}
    client = app.test_client()
    clients.update({name: Api(client, token, 0) for name, token in tokens.items()})
    clients["anonymous"] = Api(client, "", 0)
    clients["anonymous"].headers = {}
    clients["bad token"] = Api(client, "not-a-token", 0)
    return w


def slot(w, i: int) -> str:
    return ny(w["monday"] + timedelta(days=1 + i % 4), 9 + (i // 4) % 8).isoformat()


# A body per (method, rule) that the route's allowed callers may send; `i` varies it per caller.
BODIES = {
    ("POST", "/api/v1/therapists"): lambda w, i: {"name": f"New {i}", "timezone": NY},
    ("PUT", "/api/v1/therapists/<int:therapist_id>/availability"): lambda w, i: {
        "rules": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]},
    ("POST", "/api/v1/patients"): lambda w, i: {"name": "New Person", "phone": f"+1201555{4000 + i:04d}",
                                                "timezone": NY, "sms_consent": True},
    ("PATCH", "/api/v1/patients/<int:patient_id>"): lambda w, i: {"language": "es"},
    ("POST", "/api/v1/appointments"): lambda w, i: {"therapist_id": w["therapist_id"], "patient_id": w["patient_id"],
                                                    "start": slot(w, i), "duration_minutes": 50},
    ("PATCH", "/api/v1/appointments/<int:appointment_id>"): lambda w, i: {"start": slot(w, 10 + i)},
    ("POST", "/api/v1/appointments/<int:appointment_id>/cancel"): lambda w, i: {},
    ("POST", "/api/v1/appointments/<int:appointment_id>/attendance"): lambda w, i: {"status": "attended"},
    ("POST", "/api/v1/groups"): lambda w, i: {"title": f"G{i}", "facilitator_id": w["therapist_id"],
                                              "capacity": 5, "start": f"{w['monday'] + timedelta(days=14)}T19:00",
                                              "duration_minutes": 60, "timezone": NY},
    ("POST", "/api/v1/groups/<int:group_id>/enrollments"): lambda w, i: {"patient_id": w["p_new"]},
    ("POST", "/api/v1/groups/<int:group_id>/occurrences/<int:occurrence_id>/attendance"): lambda w, i: {
        "patient_id": w["patient_id"], "status": "attended"},
    ("POST", "/api/v1/patients/<int:patient_id>/discharges"): lambda w, i: {
        "date": (w["monday"] - timedelta(days=20 + i)).isoformat()},
    ("PATCH", "/api/v1/discharges/<int:discharge_id>"): lambda w, i: {"plan_days": 60},
    ("POST", "/api/v1/discharges/<int:discharge_id>/end"): lambda w, i: {"reason": "moved"},
}
QUERIES = {
    "/api/v1/therapists/<int:therapist_id>/slots": "?from={d}T08:00&to={d}T18:00&duration=50",
    "/api/v1/therapists/<int:therapist_id>/calendar": "?from={d}T00:00&to={d}T23:59",
    "/api/v1/reports/follow-up": "?from=2026-01-01&to=2026-12-31",
    "/api/v1/reports/engagement": "?from=2026-01-01&to=2026-12-31",
}


def path_for(rule: str, ids: dict, w) -> str:
    path = PARAM.sub(lambda m: str(ids[m.group(1)]), rule)
    return path[len("/api/v1"):] + QUERIES.get(rule, "").format(d=w["monday"])


def call(api: Api, method: str, path: str, body):
    kwargs = {"json": body} if body is not None else {}
    r = getattr(api, method.lower())(path, **kwargs)
    return r.status_code, r.get_json(silent=True)


def chains(w) -> list[tuple[str, str, dict, dict]]:
    """B reaching A's patient or calendar through a body: (method, path, body, the same with a missing id)."""
    group_b, occ_b = w["group_b"]
    book = {"therapist_id": w["b"], "patient_id": w["patient_id"], "start": slot(w, 20), "duration_minutes": 50}
    on_a = {**book, "therapist_id": w["therapist_id"], "patient_id": w["p_b"]}
    attend = {"patient_id": w["patient_id"], "status": "attended"}
    return [
        ("POST", "/appointments", book, {**book, "patient_id": MISSING}),
        ("POST", "/appointments", on_a, {**on_a, "therapist_id": MISSING}),
        ("POST", f"/groups/{group_b}/enrollments", {"patient_id": w["patient_id"]}, {"patient_id": MISSING}),
        ("POST", f"/groups/{group_b}/occurrences/{occ_b}/attendance", attend, {**attend, "patient_id": MISSING}),
        ("DELETE", f"/groups/{group_b}/enrollments/{w['patient_id']}", None, None),
        ("POST", f"/appointments/{w['past_appointment']}/attendance", {"status": "no_show"}, None),
    ]


def snapshot(app) -> dict:
    """Row counts of every table a refusal must leave alone (the audit trail records refusals)."""
    with app.app_context():
        return {t.name: db.session.scalar(select(func.count()).select_from(t))
                for t in db.metadata.sorted_tables if t.name not in ("audit_events", "seen_signatures")}


def test_every_route_for_every_principal(make_app, probed):
    app = make_app(API_AUTH_FAILURE_LIMIT="100000 per minute", API_AUTH_TOKEN_FAILURE_LIMIT="100000 per minute")
    clients: dict[str, Api] = {}
    w = world(app, clients)
    routes = api_routes(app)
    assert len(routes) >= 20
    before = snapshot(app)
    failures = []

    # 1. No working token: 401 with one body, everywhere but the public OpenAPI document.
    for method, rule in routes:
        path = path_for(rule, w, w)
        body = BODIES.get((method, rule), lambda w, i: None)(w, 0)
        for name in REFUSED_TOKENS:
            got = call(clients[name], method, path, body)
            want = (200, None) if rule.endswith("/openapi.json") else (401, {"error": "missing or invalid bearer token"})
            if got[0] != want[0] or (want[1] and got[1] != want[1]):
                failures.append((name, method, rule, got))
            probed["routes x principals"] += 1

    # 2. Therapist B on A's records: exactly as missing (status and body), never 2xx.
    missing = {k: MISSING for k in w}
    for method, rule in routes:
        if rule.endswith(("/openapi.json", "/follow-up", "/engagement", "/status", "/tasks")) or (
                method == "POST" and "<" not in rule):
            continue  # no record of A's in the path (POST /appointments etc.: the chains below; /tasks lists B's own)
        body = BODIES.get((method, rule), lambda w, i: None)(w, 90)
        got = call(clients["therapist B"], method, path_for(rule, w, w), body)
        absent = call(clients["therapist B"], method, path_for(rule, missing, w), body)
        if got != absent or got[0] not in (403, 404):
            failures.append(("therapist B", method, rule, got, absent))
        probed["routes x principals"] += 1
    for method, path, body, absent_body in chains(w):
        got = call(clients["therapist B"], method, path, body)
        if absent_body is not None:
            absent = call(clients["therapist B"], method, path, absent_body)
            if got != absent:
                failures.append(("therapist B chain", method, path, got, absent))
        if got[0] not in (403, 404):
            failures.append(("therapist B chain", method, path, got))
        probed["chains"] += 1
    assert snapshot(app) == before, "a refused request changed something"

    # 3. Admin, coordinator and A on A's records: through (never 401/403, and reads never 404).
    for i, name in enumerate(("therapist A", *STAFF)):
        for method, rule in routes:
            if name == "therapist A" and (method, rule) in STAFF_ONLY:
                continue
            if name != "admin" and (method, rule) in ADMIN_ONLY:
                continue
            body = BODIES.get((method, rule), lambda w, i: None)(w, i)
            got = call(clients[name], method, path_for(rule, w, w), body)
            if got[0] in (401, 403) or got[0] >= 500 or (method == "GET" and got[0] == 404):
                failures.append((name, method, rule, got))
            probed["routes x principals"] += 1
    assert failures == []


ADMIN_ONLY = {("GET", "/api/v1/status")}
STAFF_ONLY = {
    ("POST", "/api/v1/therapists"), ("POST", "/api/v1/patients"), ("PATCH", "/api/v1/patients/<int:patient_id>"),
    ("POST", "/api/v1/groups"), ("POST", "/api/v1/groups/<int:group_id>/enrollments"),
    ("DELETE", "/api/v1/groups/<int:group_id>/enrollments/<int:patient_id>"), ("GET", "/api/v1/status"),
    ("POST", "/api/v1/patients/<int:patient_id>/discharges"), ("PATCH", "/api/v1/discharges/<int:discharge_id>"),
    ("POST", "/api/v1/discharges/<int:discharge_id>/end"),
}


def test_therapists_are_refused_staff_only_routes_by_role(make_app):
    """The table above is the contract's: a therapist gets 403 there, whatever the ids."""
    app = make_app()
    clients: dict[str, Api] = {}
    w = world(app, clients)
    for method, rule in sorted(STAFF_ONLY):
        body = BODIES.get((method, rule), lambda w, i: None)(w, 50)
        assert call(clients["therapist A"], method, path_for(rule, w, w), body)[0] == 403, rule


def test_pages_need_a_session(app, probed):
    """Every non-API page (the staff pages as they are added) refuses a stranger: never a 200."""
    client = app.test_client()
    for rule in page_routes(app):
        if PARAM.search(rule):
            rule = PARAM.sub("1", rule)
        r = client.get(rule)
        assert r.status_code in (302, 401, 403, 404), (rule, r.status_code)
        if r.status_code == 302:
            assert "/login" in r.headers["Location"]
        probed["pages x anonymous"] += 1
