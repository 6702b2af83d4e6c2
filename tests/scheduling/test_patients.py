"""Patients: registration, phone numbers, consent, discharges, access, the SMS log, the audit trail."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import (
    Appointment,
    AuditEvent,
    CareTeamMember,
    Enrollment,
    GroupSeries,
    Message,
    Patient,
)
from scheduler.scheduling import patients
from tests.support import NOW

VALID = {"name": "Ana Ruiz", "phone": "(201) 555-0142", "timezone": "America/New_York",
         "sms_consent": True}


@pytest.fixture
def coordinator(make_api):
    return make_api("coordinator")


def audit_rows(app, entity=None):
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if entity:
            query = query.where(AuditEvent.entity == entity)
        return [(e.action, e.entity, e.entity_id, e.user_id, e.route) for e in db.session.scalars(query)]


# --- create -----------------------------------------------------------------------------

def test_create_stores_e164_consent_and_discharge(app, coordinator):
    r = coordinator.post("/patients", json={**VALID, "discharge_date": "2026-02-27", "language": "es"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["phone"] == "+12015550142"
    assert body["language"] == "es"
    assert body["sms_consent"] is True and body["consent_at"] is not None
    assert body["opted_out"] is False and body["opted_out_at"] is None
    assert body["discharges"] == ["2026-02-27"]
    with app.app_context():
        p = db.session.get(Patient, body["id"])
        assert p.consent_source == f"api:user {coordinator.user_id}"
        assert p.consent_at.tzinfo is not None


def test_create_without_consent_or_language(app, api):
    r = api.post("/patients", json={**VALID, "sms_consent": False})
    assert r.status_code == 201
    body = r.get_json()
    assert body["sms_consent"] is False and body["consent_at"] is None
    assert body["language"] == "en" and body["discharges"] == []


def test_duplicate_phone_is_a_conflict_on_phone(api):
    assert api.post("/patients", json=VALID).status_code == 201
    r = api.post("/patients", json={**VALID, "name": "Someone Else", "phone": "+1 201 555 0142"})
    assert r.status_code == 409
    assert r.get_json()["field"] == "phone"


def test_create_is_audited_with_ids_only(app, api):
    r = api.post("/patients", json=VALID)
    pid = r.get_json()["id"]
    rows = audit_rows(app, "patient")
    assert rows == [("create", "patient", pid, api.user_id, "POST /api/v1/patients")]


CREATE_ERRORS = [  # (change to a valid body, the one field reported); None removes the field
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": 12}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"phone": None}, "phone"),
    ({"phone": "555"}, "phone"),
    ({"phone": "not a phone"}, "phone"),
    ({"phone": 2015550142}, "phone"),
    ({"timezone": None}, "timezone"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "EST5EDT "}, "timezone"),
    ({"timezone": 5}, "timezone"),
    ({"sms_consent": None}, "sms_consent"),
    ({"sms_consent": "yes"}, "sms_consent"),
    ({"sms_consent": 1}, "sms_consent"),
    ({"language": "fr"}, "language"),
    ({"language": "EN"}, "language"),
    ({"language": 1}, "language"),
    ({"discharge_date": "2026-02-30"}, "discharge_date"),
    ({"discharge_date": "yesterday"}, "discharge_date"),
    ({"discharge_date": 20260227}, "discharge_date"),
    ({"discharge_date": "1999-12-31"}, "discharge_date"),
    ({"discharge_date": (date.today() + timedelta(days=60)).isoformat()}, "discharge_date"),
    ({"email": "a@b.test"}, "email"),
]


def test_create_validation(api):
    # One app for the whole table (each case is one request): fast on both engines.
    got = {}
    for change, _field in CREATE_ERRORS:
        body = {k: v for k, v in {**VALID, **change}.items() if v is not None}
        r = api.post("/patients", json=body)
        got[repr(change)] = (r.status_code, list((r.get_json() or {}).get("errors", {})))
    assert got == {repr(change): (422, [field]) for change, field in CREATE_ERRORS}


def test_create_reports_every_missing_field_at_once(api):
    r = api.post("/patients", json={})
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == {"name", "phone", "timezone", "sms_consent"}


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ('"text"', "application/json"),
    ("name=Ana", "application/x-www-form-urlencoded"),
])
def test_malformed_body_is_400(api, data, content_type):
    r = api.post("/patients", data=data, headers={"Content-Type": content_type})
    assert r.status_code == 400
    r = api.patch("/patients/1", data=data, headers={"Content-Type": content_type})
    assert r.status_code == 400


def test_nothing_saved_on_validation_error(app, api):
    api.post("/patients", json={**VALID, "language": "fr"})
    with app.app_context():
        assert db.session.scalar(select(Patient)) is None
        assert db.session.scalar(select(AuditEvent)) is None


# --- read and update ------------------------------------------------------------------------

def test_get_is_audited(app, api, make_patient):
    pid = make_patient()
    r = api.get(f"/patients/{pid}")
    assert r.status_code == 200
    assert set(r.get_json()) == {"id", "name", "phone", "timezone", "date_of_birth", "language", "sms_consent",
                                 "consent_at", "opted_out", "opted_out_at", "discharges", "therapist_ids"}
    assert audit_rows(app) == [("read", "patient", pid, api.user_id, "GET /api/v1/patients/<int:patient_id>")]


def test_missing_patient_is_404(api):
    assert api.get("/patients/999").status_code == 404
    assert api.patch("/patients/999", json={"name": "X"}).status_code == 404
    assert api.get("/patients/999/messages").status_code == 404


def test_patch_changes_fields_and_adds_discharges(app, api, make_patient):
    pid = make_patient()
    r = api.patch(f"/patients/{pid}", json={"name": "New Name", "phone": "201-555-0177",
                                            "language": "es", "discharge_date": "2026-01-10"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["name"], body["phone"], body["language"]) == ("New Name", "+12015550177", "es")
    api.patch(f"/patients/{pid}", json={"discharge_date": "2026-02-20"})
    r = api.patch(f"/patients/{pid}", json={"discharge_date": "2026-01-10"})  # same date: one discharge
    assert r.get_json()["discharges"] == ["2026-01-10", "2026-02-20"]
    assert [a[0] for a in audit_rows(app)] == ["update", "update", "update"]


def test_patch_to_another_patients_phone_is_409(api, make_patient):
    make_patient(phone="+12015550150")
    pid = make_patient(phone="+12015550151")
    r = api.patch(f"/patients/{pid}", json={"phone": "+12015550150"})
    assert r.status_code == 409 and r.get_json()["field"] == "phone"
    assert api.patch(f"/patients/{pid}", json={"phone": "+12015550151"}).status_code == 200


def test_consent_withdrawn_and_given_again(app, api, make_patient):
    pid = make_patient()
    r = api.patch(f"/patients/{pid}", json={"sms_consent": False})
    assert r.get_json()["sms_consent"] is False
    r = api.patch(f"/patients/{pid}", json={"sms_consent": True})
    body = r.get_json()
    assert body["sms_consent"] is True
    assert datetime.fromisoformat(body["consent_at"]) > NOW  # a new consent, given now
    with app.app_context():
        assert db.session.get(Patient, pid).consent_source == f"api:user {api.user_id}"


def test_consent_again_keeps_a_patients_stop(app, api, make_patient):
    pid = make_patient()
    with app.app_context():
        db.session.get(Patient, pid).opted_out_at = NOW
        db.session.commit()
    api.patch(f"/patients/{pid}", json={"sms_consent": False})
    body = api.patch(f"/patients/{pid}", json={"sms_consent": True}).get_json()
    assert body["opted_out"] is True and body["opted_out_at"] is not None


PATCH_ERRORS = [  # explicit nulls are errors too: a field is changed or left out
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"phone": "123"}, "phone"),
    ({"phone": None}, "phone"),
    ({"timezone": "Nowhere/City"}, "timezone"),
    ({"language": "de"}, "language"),
    ({"language": None}, "language"),
    ({"sms_consent": "false"}, "sms_consent"),
    ({"sms_consent": None}, "sms_consent"),
    ({"discharge_date": "2026-13-01"}, "discharge_date"),
    ({"discharge_date": None}, "discharge_date"),
    ({"opted_out": False}, "opted_out"),
    ({"id": 5}, "id"),
]


def test_patch_validation(app, api, make_patient):
    pid = make_patient()
    got = {}
    for change, _field in PATCH_ERRORS:
        r = api.patch(f"/patients/{pid}", json=change)
        got[repr(change)] = (r.status_code, list((r.get_json() or {}).get("errors", {})))
    assert got == {repr(change): (422, [field]) for change, field in PATCH_ERRORS}
    with app.app_context():
        assert db.session.scalar(select(AuditEvent)) is None  # nothing changed, nothing recorded


@pytest.mark.parametrize("start_utc_hour, status, due_utc_hour", [
    (17, "pending", 16),   # 09:00 in Los Angeles: 07:00 is quiet, so it goes out at 08:00
    (15, "skipped", None),  # 07:00 in Los Angeles: no allowed moment close enough before it
])
def test_new_timezone_replans_pending_reminders(ctx, make_therapist, make_patient, start_utc_hour, status,
                                                due_utc_hour):
    from scheduler.scheduling import appointments
    pid = make_patient(tz="America/New_York")
    therapist = make_therapist(hours=((0, 1, 2, 3, 4, 5, 6), "00:00", "23:59"))
    start = datetime(2026, 3, 5, start_utc_hour, 0, tzinfo=UTC)
    appointments.book(ctx, therapist, pid, start, 50, NOW, settings=current())
    ctx.commit()
    patients.update_patient(ctx, pid, {"timezone": "America/Los_Angeles"}, NOW, "test", settings=current())
    ctx.commit()
    msg = ctx.scalar(select(Message).where(Message.offset_minutes == 120))
    assert msg.status == status
    if due_utc_hour is not None:
        assert msg.due_at == start.replace(hour=due_utc_hour)
    else:
        assert msg.skip_reason == "quiet_hours"


# --- therapists see only their own patients ---------------------------------------------------

@pytest.fixture
def related(app, make_therapist, make_patient, make_api):
    """Therapist A with patient 1 on their care team, B facilitating patient 2's group; A's
    cancelled appointment with patient 4 grants nothing."""
    a, b = make_therapist("A"), make_therapist("B")
    p1, p2, p3, p4 = make_patient(), make_patient(), make_patient(), make_patient()
    with app.app_context():
        start = NOW + timedelta(days=1)
        db.session.add(CareTeamMember(patient_id=p1, therapist_id=a, added_at=NOW))
        db.session.add(Appointment(therapist_id=a, patient_id=p4, start_dt=start,
                                   end_dt=start + timedelta(minutes=50), status="cancelled",
                                   created_at=NOW, updated_at=NOW))
        group = GroupSeries(title="Evening", facilitator_id=b, capacity=8, duration_minutes=60,
                            timezone="America/New_York", local_start=datetime(2026, 3, 3, 18),
                            rrule="FREQ=WEEKLY", created_at=NOW)
        db.session.add(group)
        db.session.flush()
        db.session.add(Enrollment(group_id=group.id, patient_id=p2, status="waitlisted",
                                  created_at=NOW, waitlisted_at=NOW))
        db.session.add(Enrollment(group_id=group.id, patient_id=p3, status="dropped",
                                  created_at=NOW, dropped_at=NOW))
        db.session.commit()
    return {"a": make_api("therapist", a), "b": make_api("therapist", b), "p1": p1, "p2": p2, "p3": p3,
            "p4": p4}


@pytest.mark.parametrize("who, patient, status", [
    ("a", "p1", 200), ("b", "p1", 404),
    ("a", "p2", 404), ("b", "p2", 200),
    ("a", "p3", 404), ("b", "p3", 404),  # left the group: no longer theirs to see
    ("a", "p4", 404), ("b", "p4", 404),  # a cancelled appointment A made grants nothing
])
def test_therapist_sees_only_related_patients(related, who, patient, status):
    therapist, pid = related[who], related[patient]
    assert therapist.get(f"/patients/{pid}").status_code == status
    assert therapist.get(f"/patients/{pid}/messages").status_code == status


def test_therapist_may_not_change_or_create(related):
    assert related["a"].patch(f"/patients/{related['p1']}", json={"name": "X"}).status_code == 403
    assert related["a"].post("/patients", json=VALID).status_code == 403


def test_therapist_gets_404_for_unknown_patient(related):
    assert related["a"].get("/patients/999").status_code == 404


def test_denied_read_leaves_only_a_refusal_in_the_audit(app, related):
    related["b"].get(f"/patients/{related['p1']}")
    assert audit_rows(app) == [("refused", "patient", related["p1"], related["b"].user_id,
                                "GET /api/v1/patients/<int:patient_id>")]


# --- the SMS log ------------------------------------------------------------------------------

def test_messages_newest_first_with_statuses(app, api, make_patient):
    pid, other = make_patient(), make_patient()
    with app.app_context():
        db.session.add_all([
            Message(patient_id=pid, kind="booked", status="sent", attempts=1, due_at=NOW,
                    sent_at=NOW, to_phone="+12015551000", body="Northside Health: booked",
                    twilio_sid="SM1", created_at=NOW,
                    history=[{"status": "pending", "at": NOW.isoformat()}]),
            Message(patient_id=pid, direction="in", kind="confirm", status="received", attempts=0,
                    body="C", created_at=NOW + timedelta(minutes=5), history=[]),
            Message(patient_id=other, kind="booked", status="pending", attempts=0, due_at=NOW,
                    created_at=NOW, history=[]),
        ])
        db.session.commit()
    r = api.get(f"/patients/{pid}/messages")
    assert r.status_code == 200
    rows = r.get_json()["messages"]
    assert [m["direction"] for m in rows] == ["in", "out"]
    out = rows[1]
    assert out["status"] == "sent" and out["to"] == "+12015551000" and out["twilio_sid"] == "SM1"
    assert out["history"][0]["status"] == "pending"
    assert set(out) >= {"id", "direction", "kind", "status", "body", "to", "due_at", "sent_at",
                        "twilio_sid", "error_code", "error", "skip_reason", "history",
                        "appointment_id", "occurrence_id"}
    assert audit_rows(app, "patient_messages") == [
        ("read", "patient_messages", pid, api.user_id, "GET /api/v1/patients/<int:patient_id>/messages")]


def test_audit_never_holds_patient_data(app, api):
    pid = api.post("/patients", json=VALID).get_json()["id"]
    api.get(f"/patients/{pid}")
    api.patch(f"/patients/{pid}", json={"name": "Other Name"})
    api.get(f"/patients/{pid}/messages")
    rows = audit_rows(app)
    assert [r[0] for r in rows] == ["create", "read", "update", "read"]
    flat = repr(rows)
    for secret in ("Ana", "Ruiz", "Other Name", "555", "0142"):
        assert secret not in flat


# --- domain functions called directly ----------------------------------------------------------

def test_domain_create_and_discharge_rules(ctx):
    p = patients.create_patient(ctx, name="Lee", phone="+12015550190", timezone="America/Chicago",
                                sms_consent=True, now=NOW, source="test",
                                discharge_date=date(2026, 3, 1))
    assert p.consent_at == NOW and p.discharges[0].discharge_date == date(2026, 3, 1)
    assert patients.add_discharge(ctx, p, date(2026, 3, 1), NOW) is False
    assert patients.add_discharge(ctx, p, date(2026, 3, 31), NOW) is True  # 30 days ahead: allowed
    with pytest.raises(Exception) as exc:
        patients.add_discharge(ctx, p, date(2026, 4, 2), NOW)
    assert exc.value.errors == {"discharge_date": "must not be more than 30 days ahead"}
    ctx.commit()
    assert [d.discharge_date for d in ctx.get(Patient, p.id).discharges] == [
        date(2026, 3, 1), date(2026, 3, 31)]



def test_search_by_name_or_phone_digits_and_only_visible(app, make_patient):
    from sqlalchemy import false, true

    a = make_patient(name="Maria Lopez", phone="+12015550111")
    make_patient(name="Sam O'Neil", phone="+12015550222")
    with app.app_context():
        found = lambda q, vis=true(): [p.id for p in patients.search(db.session, q, vis)]  # noqa: E731, B008
        assert found("lopez") == [a]
        assert found("(201) 555-0111") == [a]
        assert found("o'neil") != [] and found("%") == []  # LIKE wildcards are literal
        assert found("lopez", false()) == []
        assert len(found("")) == 2


def test_date_of_birth_is_optional_kept_and_bounded(coordinator):
    created = coordinator.post("/patients", json={**VALID, "date_of_birth": "1988-02-29"})
    assert created.status_code == 201 and created.json["date_of_birth"] == "1988-02-29"
    without = coordinator.post("/patients", json={**VALID, "phone": "(201) 555-0143"})
    assert without.status_code == 201 and without.json["date_of_birth"] is None
    for bad in ("2100-01-01", "1899-12-31", "1990-02-30"):
        answer = coordinator.patch(f"/patients/{without.json['id']}", json={"date_of_birth": bad})
        assert answer.status_code == 422 and "date_of_birth" in answer.get_data(as_text=True), bad
    cleared = coordinator.patch(f"/patients/{created.json['id']}", json={"date_of_birth": None})
    assert cleared.status_code == 200 and cleared.json["date_of_birth"] is None


def test_possible_duplicates_same_phone_or_same_name_and_birth_date(ctx):
    def make(name, phone, dob):
        return patients.create_patient(ctx, name=name, phone=phone, timezone="America/Chicago", sms_consent=False,
                                       now=NOW, source="test", date_of_birth=dob)
    ana = make("Ana Ruiz", "+12015550190", date(1990, 5, 1))
    make("Ana Ruiz", "+12015550191", date(1991, 5, 1))  # a namesake, told apart by birth date
    ctx.flush()

    def found(name, phone, dob, exclude_id=None):
        return [p.id for p in patients.possible_duplicates(ctx, name=name, phone=phone, date_of_birth=dob,
                                                           exclude_id=exclude_id)]
    assert found("  ana   RUIZ ", "+12015550199", date(1990, 5, 1)) == [ana.id]
    assert found("Someone Else", "+12015550190", None) == [ana.id]
    assert found("Ana Ruiz", "+12015550199", None) == []  # a name alone is not enough
    assert found("Ana Ruiz", "+12015550190", date(1990, 5, 1), exclude_id=ana.id) == []
    assert patients.same_name("Ana  Ruiz", "ana ruiz") and not patients.same_name("Ana Ruiz", "Ana Ruíz")
