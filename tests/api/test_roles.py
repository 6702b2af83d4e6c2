"""Every API route x every caller: no token, bad token, admin, coordinator, own and other therapist.

A role refused is a 403; another therapist's record is a 404, exactly as a missing one.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.extensions import db
from scheduler.models import Appointment, Discharge, Enrollment, GroupSeries, Occurrence, Patient
from scheduler.models.enums import Role
from tests.support import NOW, Api

NY = ZoneInfo("America/New_York")
CALLERS = ("none", "bad", "admin", "coordinator", "own", "other")
STAFF = {"admin", "coordinator"}
OWN = STAFF | {"own"}
ALL = set(CALLERS)
SIGNED_IN = OWN | {"other"}


def _first_monday_ahead(days: int = 7) -> date:
    day = datetime.now(UTC).astimezone(NY).date() + timedelta(days=days)
    return day + timedelta(days=-day.weekday() % 7)


@dataclass
class World:
    """Records the table's requests point at; most mutations get one target per allowed caller."""

    t1: int  # the "own" therapist
    t2: int  # the "other" therapist
    patient: int  # has an appointment with t1 and a seat in t1's group
    appt: int
    moves: dict[str, int]  # caller -> appointment to reschedule
    cancels: dict[str, int]
    attendance: dict[str, int]  # past appointments
    group: int
    past_occurrence: int
    drops: dict[str, int]  # caller -> enrolled patient to remove
    newcomers: dict[str, int]  # caller -> patient not yet in the group
    attendees: dict[str, int]
    monday: date
    discharge: int = 0  # the patient's, in the past
    ends: dict[str, int] | None = None  # caller -> a discharge whose plan to end

    def slot(self, i: int) -> str:
        """The i-th free 50-minute slot inside t1's Mon-Fri 09:00-17:00 week, as local time with offset."""
        day = self.monday + timedelta(days=i // 7)
        return datetime.combine(day, time(9 + i % 7), tzinfo=NY).isoformat()


@pytest.fixture
def world(app, make_therapist) -> World:
    t1, t2 = make_therapist("Own"), make_therapist("Other")
    monday = _first_monday_ahead()
    real_now = datetime.now(UTC)
    counter = iter(range(100))
    with app.app_context():
        # One transaction for everything: the per-record factories would commit 25 times.
        patients = [Patient(name="P", phone=f"+1201555{2000 + i:04d}", timezone="America/New_York",
                            language="en", sms_consent=True, consent_at=NOW, created_at=NOW)
                    for i in range(21)]
        db.session.add_all(patients)
        db.session.flush()
        people = iter(p.id for p in patients)
        w = World(t1=t1, t2=t2, patient=next(people), appt=0, moves={}, cancels={}, attendance={},
                  group=0, past_occurrence=0, drops={}, newcomers={}, attendees={}, monday=monday)

        def appointment(start: datetime, patient: int | None = None) -> int:
            a = Appointment(therapist_id=t1, patient_id=patient or next(people), start_dt=start,
                            end_dt=start + timedelta(minutes=50), status="scheduled", version=1,
                            created_at=NOW, updated_at=NOW)
            db.session.add(a)
            db.session.flush()
            return a.id

        def future() -> datetime:
            return datetime.fromisoformat(w.slot(next(counter)))

        w.appt = appointment(future(), w.patient)
        for caller in OWN:
            w.moves[caller] = appointment(future())
            w.cancels[caller] = appointment(future())
        for i, caller in enumerate(sorted(OWN)):
            w.attendance[caller] = appointment(real_now - timedelta(days=2 + i, hours=1))
        # Slots 0..12 are taken above; the table books and reschedules into slots 20 and up.
        # Evenings, so the group never meets at a slot the table books into.
        first = datetime.combine(real_now.astimezone(NY).date() - timedelta(days=2), time(19),
                                 tzinfo=NY).astimezone(UTC)
        group = GroupSeries(title="Evening", facilitator_id=t1, capacity=20, duration_minutes=60,
                            timezone="America/New_York",
                            local_start=first.astimezone(NY).replace(tzinfo=None),
                            rrule="FREQ=WEEKLY;COUNT=6", created_at=NOW)
        db.session.add(group)
        db.session.flush()
        for week in range(6):
            start = first + timedelta(weeks=week)
            occ = Occurrence(group_id=group.id, local_date=start.astimezone(NY).date(), start_dt=start,
                             end_dt=start + timedelta(hours=1), cancelled=False)
            db.session.add(occ)
            db.session.flush()
            if week == 0:
                w.past_occurrence = occ.id
        w.group = group.id

        def seat(patient: int) -> int:
            db.session.add(Enrollment(group_id=group.id, patient_id=patient, status="enrolled",
                                      created_at=NOW, enrolled_at=NOW))
            return patient

        seat(w.patient)
        past = monday - timedelta(days=14)
        discharges = [Discharge(patient_id=w.patient, discharge_date=past)] + [
            Discharge(patient_id=next(people), discharge_date=past) for _ in STAFF]
        db.session.add_all(discharges)
        db.session.flush()
        w.discharge = discharges[0].id
        w.ends = dict(zip(sorted(STAFF), (d.id for d in discharges[1:]), strict=True))
        for caller in STAFF:
            w.drops[caller] = seat(next(people))
            w.newcomers[caller] = next(people)
        for caller in OWN:
            w.attendees[caller] = seat(next(people))
        db.session.commit()
    return w


@pytest.fixture
def callers(client, make_api, world) -> dict[str, Api]:
    return {
        "none": Api(client, "", 0),
        "bad": Api(client, "not-a-token", 0),
        "admin": make_api("admin"),
        "coordinator": make_api("coordinator"),
        "own": make_api("therapist", world.t1),
        "other": make_api("therapist", world.t2),
    }


@dataclass
class Route:
    method: str
    rule: str  # the route as the contract writes it
    path: Callable[[World, str], str]
    allowed: set[str]
    ok: int = 200
    body: Callable[[World, str], dict] | None = None

    def __str__(self):
        return f"{self.method.upper()} {self.rule}"


def fixed(text: str) -> Callable[[World, str], str]:
    return lambda w, caller: text.format(w=w)


def per_caller(text: str, table: str) -> Callable[[World, str], str]:
    """A path whose target differs per allowed caller; refused callers aim at another's record."""
    def path(w, caller):
        targets = getattr(w, table)
        return text.format(w=w, target=targets.get(caller) or next(iter(targets.values())))
    return path


def _slot_for(caller: str, base: int) -> int:
    return base + CALLERS.index(caller)


ROUTES = [
    Route("post", "/therapists", fixed("/therapists"), STAFF, 201,
          lambda w, c: {"name": f"New {c}", "timezone": "America/Chicago"}),
    Route("put", "/therapists/{id}/availability", fixed("/therapists/{w.t1}/availability"), OWN, 200,
          lambda w, c: {"rules": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]}),
    Route("get", "/therapists/{id}/slots",
          fixed("/therapists/{w.t1}/slots?from={w.monday}T08:00&to={w.monday}T18:00&duration=50"), OWN),
    Route("get", "/therapists/{id}/calendar",
          fixed("/therapists/{w.t1}/calendar?from={w.monday}T00:00&to={w.monday}T23:59"), OWN),
    Route("post", "/patients", fixed("/patients"), STAFF, 201,
          lambda w, c: {"name": "New Person", "phone": f"+1201555{9000 + CALLERS.index(c):04d}",
                        "timezone": "America/New_York", "sms_consent": True}),
    Route("get", "/patients/{id}", fixed("/patients/{w.patient}"), OWN),
    Route("patch", "/patients/{id}", fixed("/patients/{w.patient}"), STAFF, 200,
          lambda w, c: {"language": "es"}),
    Route("get", "/patients/{id}/messages", fixed("/patients/{w.patient}/messages"), OWN),
    Route("post", "/appointments", fixed("/appointments"), OWN, 201,
          lambda w, c: {"therapist_id": w.t1, "patient_id": w.patient, "start": w.slot(_slot_for(c, 20)),
                        "duration_minutes": 50}),
    Route("get", "/appointments/{id}", fixed("/appointments/{w.appt}"), OWN),
    Route("patch", "/appointments/{id}", per_caller("/appointments/{target}", "moves"), OWN, 200,
          lambda w, c: {"start": w.slot(_slot_for(c, 27))}),
    Route("post", "/appointments/{id}/cancel",
          per_caller("/appointments/{target}/cancel", "cancels"), OWN, 200,
          lambda w, c: {"reason": "asked by phone"}),
    Route("post", "/appointments/{id}/attendance",
          per_caller("/appointments/{target}/attendance", "attendance"), OWN, 200,
          lambda w, c: {"status": "attended"}),
    Route("post", "/groups", fixed("/groups"), STAFF, 201,
          lambda w, c: {"title": f"Morning {c}", "facilitator_id": w.t2, "capacity": 8,
                        "start": f"{w.monday + timedelta(days=14 + CALLERS.index(c))}T18:00",
                        "duration_minutes": 60, "timezone": "America/New_York",
                        "rrule": "FREQ=WEEKLY;COUNT=4"}),
    Route("get", "/groups/{id}", fixed("/groups/{w.group}"), OWN),
    Route("post", "/groups/{id}/enrollments", fixed("/groups/{w.group}/enrollments"), STAFF, 201,
          lambda w, c: {"patient_id": w.newcomers.get(c, w.newcomers["admin"])}),
    Route("delete", "/groups/{id}/enrollments/{id}",
          per_caller("/groups/{w.group}/enrollments/{target}", "drops"), STAFF),
    Route("post", "/groups/{id}/occurrences/{id}/attendance",
          fixed("/groups/{w.group}/occurrences/{w.past_occurrence}/attendance"), OWN, 200,
          lambda w, c: {"patient_id": w.attendees.get(c, w.attendees["own"]), "status": "attended"}),
    Route("post", "/patients/{id}/discharges", fixed("/patients/{w.patient}/discharges"), STAFF, 201,
          lambda w, c: {"date": (w.monday - timedelta(days=20 + CALLERS.index(c))).isoformat()}),
    Route("get", "/patients/{id}/discharges", fixed("/patients/{w.patient}/discharges"), OWN),
    Route("patch", "/discharges/{id}", fixed("/discharges/{w.discharge}"), STAFF, 200,
          lambda w, c: {"plan_days": 60}),
    Route("post", "/discharges/{id}/end", per_caller("/discharges/{target}/end", "ends"), STAFF, 200,
          lambda w, c: {"reason": "moved"}),
    Route("get", "/discharges/{id}/first-slots", fixed("/discharges/{w.discharge}/first-slots"), OWN),
    Route("get", "/tasks", fixed("/tasks"), OWN | {"other"}),
    # A therapist gets the reports too, counting only the patients in their care.
    Route("get", "/reports/follow-up", fixed("/reports/follow-up?from=2026-01-01&to=2026-12-31"), SIGNED_IN),
    Route("get", "/reports/engagement", fixed("/reports/engagement?from=2026-01-01&to=2026-12-31"), SIGNED_IN),
    Route("get", "/status", fixed("/status"), {"admin"}),
    Route("get", "/openapi.json", fixed("/openapi.json"), ALL),
]


def expected(route: Route, caller: str) -> int:
    if caller in route.allowed:
        return route.ok
    if caller in ("none", "bad"):
        return 401
    # A therapist's route refused for another therapist's record: answered as if missing.
    return 404 if caller == "other" and "own" in route.allowed else 403


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_by_caller(route, world, callers):
    # Refused callers go first: a refusal must change nothing the allowed ones then rely on.
    order = sorted(CALLERS, key=lambda c: c in route.allowed)
    got, want = {}, {}
    for caller in order:
        kwargs = {"json": route.body(world, caller)} if route.body else {}
        r = getattr(callers[caller], route.method)(route.path(world, caller), **kwargs)
        got[caller] = r.status_code if r.status_code == expected(route, caller) else (
            r.status_code, r.get_json(silent=True))
        want[caller] = expected(route, caller)
    assert got == want


def test_table_covers_every_api_route(app):
    """A new route must get a row here, and every row must be served."""
    from tests.support import served

    def shape(path: str) -> str:
        return re.sub(r"{[^}]+}", "{id}", path)

    assert {(shape(p), m) for p, m in served(app)} == {(r.rule, r.method) for r in ROUTES}


@pytest.mark.parametrize("allowed", [("admin",), (Role.ADMIN, "coordinator"), (), (None,)])
def test_roles_takes_only_role_members_when_it_decorates(allowed):
    """A misspelt or plain-string role would refuse everyone silently: refused at import time instead."""
    from scheduler.api import roles

    with pytest.raises(TypeError):
        roles(*allowed)


def test_every_api_route_names_its_roles_as_role_members(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("/openapi.json"):
            assert view.allowed_roles and all(isinstance(r, Role) for r in view.allowed_roles), rule.rule
