"""Care teams: who puts a therapist in charge of a patient, and what that opens (issue 8)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from scheduler.extensions import db
from scheduler.models import CareTeamMember
from tests.support import NOW, at, book, next_monday


def team(app, patient_id: int) -> list[int]:
    with app.app_context():
        return sorted(db.session.scalars(sa.select(CareTeamMember.therapist_id)
                                         .where(CareTeamMember.patient_id == patient_id)))


VALID = {"name": "Ana Ruiz", "phone": "+12015550199", "timezone": "America/New_York", "sms_consent": True}


def test_coordinator_sets_the_team_on_create_and_patch(app, make_api, make_therapist):
    coordinator = make_api("coordinator")
    a, b = make_therapist("A"), make_therapist("B")
    r = coordinator.post("/patients", json={**VALID, "therapist_ids": [b, a, b]})
    assert r.status_code == 201, r.json
    pid = r.json["id"]
    assert r.json["therapist_ids"] == sorted([a, b]) == team(app, pid)
    r = coordinator.patch(f"/patients/{pid}", json={"therapist_ids": [a]})
    assert (r.status_code, r.json["therapist_ids"]) == (200, [a])
    assert coordinator.patch(f"/patients/{pid}", json={"therapist_ids": []}).json["therapist_ids"] == []


def test_unknown_or_malformed_therapist_ids_are_422_naming_the_field(app, api, make_therapist):
    a = make_therapist()
    for bad in ([a, 999999], "1", [True], [0], None):
        r = api.post("/patients", json={**VALID, "therapist_ids": bad})
        if bad is None:  # absent and null are the same on create: no team
            assert r.status_code == 201
            api.patch(f"/patients/{r.json['id']}", json={"phone": "+12015550198"})
            continue
        assert r.status_code == 422, (bad, r.json)
        assert set(r.json["errors"]) == {"therapist_ids"}


def test_therapists_may_not_set_a_team(make_api, make_therapist, make_patient):
    t = make_therapist()
    therapist = make_api("therapist", t)
    assert therapist.patch(f"/patients/{make_patient()}", json={"therapist_ids": [t]}).status_code == 403


def test_staff_booking_adds_the_therapist_a_therapist_booking_grants_nothing(
        app, make_api, make_therapist, make_patient):
    a, b = make_therapist("A"), make_therapist("B")
    p = make_patient()
    coordinator, therapist_b = make_api("coordinator"), make_api("therapist", b)
    assert book(coordinator, a, p, at(next_monday(), 10)).status_code == 201
    assert team(app, p) == [a]
    # B cannot book A's patient, nor read them, nor learn whether A's patient is busy then.
    assert book(therapist_b, b, p, at(next_monday(), 10)).json == {"error": "patient_id not found",
                                                                   "field": "patient_id"}
    assert therapist_b.get(f"/patients/{p}").status_code == 404
    assert team(app, p) == [a]


def test_migration_gives_todays_patients_a_team_from_staff_bookings(app, capsys):
    """0003 on data written under 0001: staff bookings grant, a therapist's own booking does not."""
    with app.app_context():
        downgrade(revision="0001")
        conn = db.session.connection()
        x = sa.text
        conn.execute(x("INSERT INTO therapists (id, name, timezone, created_at) VALUES "
                       "(1, 'A', 'UTC', :t), (2, 'B', 'UTC', :t)"), {"t": NOW})
        conn.execute(x("INSERT INTO users (id, email, role, therapist_id, active, created_at) VALUES "
                       "(1, 'c@x.test', 'coordinator', NULL, true, :t), (2, 'b@x.test', 'therapist', 2, true, :t)"),
                     {"t": NOW})
        conn.execute(x("INSERT INTO patients (id, name, phone, timezone, language, sms_consent, created_at) "
                       "VALUES (1, 'P1', '+12015550101', 'UTC', 'en', true, :t), "
                       "(2, 'P2', '+12015550102', 'UTC', 'en', true, :t)"), {"t": NOW})
        for appt, therapist, patient, user in ((1, 1, 1, 1), (2, 2, 2, 2), (3, 2, 1, None)):
            conn.execute(x("INSERT INTO appointments (id, therapist_id, patient_id, start_dt, end_dt, status, "
                           "version, created_at, updated_at) VALUES (:a, :th, :p, :s, :e, 'cancelled', 1, :t, :t)"),
                         {"a": appt, "th": therapist, "p": patient, "s": NOW, "e": NOW.replace(hour=13), "t": NOW})
            conn.execute(x("INSERT INTO appointment_events (appointment_id, at, status, user_id, note) "
                           "VALUES (:a, :t, 'scheduled', :u, 'booked')"), {"a": appt, "t": NOW, "u": user})
        db.session.commit()
        capsys.readouterr()
        upgrade()
        rows = sorted(db.session.execute(sa.select(CareTeamMember.patient_id, CareTeamMember.therapist_id)))
        if db.engine.dialect.name == "postgresql":
            for table in ("appointments", "patients", "therapists", "users"):
                db.session.execute(x(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))
            db.session.commit()
    assert rows == [(1, 1)]
    assert "1 patient-therapist pairs for 1 patients from 1 bookings by coordinators or admins; " \
           "2 other bookings granted nothing" in capsys.readouterr().out
